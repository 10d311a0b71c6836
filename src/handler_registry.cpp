// HandlerRegistry, and the jobs file that fills one with external programs.
//
// The jobs file grammar (YAML):
//
//     jobs:
//       <ClassName>:
//         command: [program, arg, ...]   # required; a list, never split by a shell
//         timeout: 30s                   # optional: <n>ms|s|m|h, or a number of seconds
//         cwd: /srv/app                  # optional
//         env: {KEY: value}              # optional, added to the worker's environment
//         limits: {memory: 512M, cpu: 30s, files: 256}   # optional setrlimit values
//         isolation: exec                # optional; programs only run as exec
//       <CppClass>:                      # no command: a C++ handler registered in code
//         isolation: fork                # thread | fork
//         timeout: 10s
//         limits: {memory: 1G}
//
// Anything else is an error naming `file:line`, so a typo never silently drops a job.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <utility>

#include "jobs_file.hpp"
#include "resque/errors.hpp"
#include "resque/handler.hpp"

namespace resque {

std::string_view to_string(Isolation isolation) noexcept {
    switch (isolation) {
        case Isolation::kThread:
            return "thread";
        case Isolation::kFork:
            return "fork";
        case Isolation::kExec:
            return "exec";
    }
    return "unknown";
}

std::optional<Isolation> parse_isolation(std::string_view text) noexcept {
    for (const auto mode : {Isolation::kThread, Isolation::kFork, Isolation::kExec}) {
        if (text == to_string(mode)) return mode;
    }
    return std::nullopt;
}

namespace {

// The reason `settings` cannot apply to a handler of this kind, or "".
std::string misfit(const JobSettings& settings, bool program) {
    if (!settings.isolation) return "";
    if (program && *settings.isolation != Isolation::kExec) {
        return "a program always runs with exec isolation (got " +
               std::string(to_string(*settings.isolation)) + ")";
    }
    if (!program && *settings.isolation == Isolation::kExec) {
        return "exec isolation is for programs; a C++ handler runs as thread or fork";
    }
    return "";
}

}  // namespace

void HandlerRegistry::add(std::string class_name, Handler handler, JobSettings settings) {
    if (auto problem = misfit(settings, false); !problem.empty()) {
        throw ConfigError("job class \"" + class_name + "\": " + problem);
    }
    handlers_.insert_or_assign(std::move(class_name),
                               Entry{std::move(handler), std::move(settings), false});
}

void HandlerRegistry::add_program(std::string class_name, ProgramSpec spec) {
    JobSettings settings{Isolation::kExec, spec.timeout, spec.limits};
    Handler handler = [spec = std::move(spec)](const JobContext& context) {
        run_program(spec, context);
    };
    handlers_.insert_or_assign(std::move(class_name),
                               Entry{std::move(handler), std::move(settings), true});
}

void HandlerRegistry::configure(std::string_view class_name, JobSettings settings) {
    const auto found = handlers_.find(class_name);
    if (found == handlers_.end()) {
        throw ConfigError("job class \"" + std::string(class_name) + "\" is not registered");
    }
    if (auto problem = misfit(settings, found->second.program); !problem.empty()) {
        throw ConfigError("job class \"" + std::string(class_name) + "\": " + problem);
    }
    found->second.settings = std::move(settings);
}

const Handler* HandlerRegistry::find(std::string_view class_name) const {
    const auto found = handlers_.find(class_name);
    return found == handlers_.end() ? nullptr : &found->second.handler;
}

const JobSettings* HandlerRegistry::settings(std::string_view class_name) const {
    const auto found = handlers_.find(class_name);
    return found == handlers_.end() ? nullptr : &found->second.settings;
}

std::vector<std::string> HandlerRegistry::class_names() const {
    std::vector<std::string> names;
    names.reserve(handlers_.size());
    for (const auto& [name, handler] : handlers_) names.push_back(name);
    return names;
}

namespace {

// Reads one jobs file; every error names the file as the caller gave it and a 1-based line.
class JobsFileReader {
 public:
    explicit JobsFileReader(std::string file) : file_(std::move(file)) {}

    std::map<std::string, detail::JobsFileEntry> read(std::string_view text) const;

 private:
    [[noreturn]] void fail(const YAML::Mark& mark, std::string_view problem) const;
    [[noreturn]] void fail(const YAML::Node& node, std::string_view problem) const {
        fail(node.Mark(), problem);
    }

    YAML::Node parse(std::string_view text) const;
    YAML::Node jobs_mapping(const YAML::Node& root) const;
    detail::JobsFileEntry entry(const YAML::Node& name_node, const YAML::Node& value) const;
    void set_field(detail::JobsFileEntry& entry, const YAML::Node& key,
                   const YAML::Node& value) const;
    ResourceLimits limits(const YAML::Node& value, const YAML::Mark& at) const;
    Isolation isolation(const YAML::Node& value, const YAML::Mark& at) const;
    std::vector<std::string> command(const YAML::Node& value, const YAML::Mark& at) const;
    std::chrono::milliseconds timeout(const YAML::Node& value, const YAML::Mark& at) const;
    std::map<std::string, std::string> env(const YAML::Node& value, const YAML::Mark& at) const;
    std::string class_name(const YAML::Node& key) const;

    std::string file_;
};

// A scalar that is neither null (`~`, empty) nor a collection.
bool is_text(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }

}  // namespace

std::optional<std::chrono::milliseconds> detail::parse_duration(std::string_view text) {
    constexpr double kMaxMilliseconds = 1e12;  // ~30 years; keeps llround in range
    double amount = 0;
    const char* end = text.data() + text.size();
    const auto [rest, error] = std::from_chars(text.data(), end, amount, std::chars_format::fixed);
    if (error != std::errc{}) return std::nullopt;

    const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    constexpr std::array<std::pair<std::string_view, double>, 5> kMillisecondsPer{
        {{"", 1000}, {"s", 1000}, {"ms", 1}, {"m", 60'000}, {"h", 3'600'000}}};
    const auto found = std::find_if(kMillisecondsPer.begin(), kMillisecondsPer.end(),
                                    [unit](const auto& entry) { return entry.first == unit; });
    if (found == kMillisecondsPer.end()) return std::nullopt;

    const double milliseconds = amount * found->second;
    if (!(milliseconds >= 1 && milliseconds <= kMaxMilliseconds)) return std::nullopt;
    return std::chrono::milliseconds(std::llround(milliseconds));
}

std::optional<std::uint64_t> detail::parse_byte_size(std::string_view text) {
    std::uint64_t amount = 0;
    const char* end = text.data() + text.size();
    const auto [rest, error] = std::from_chars(text.data(), end, amount);
    if (error != std::errc{} || amount == 0) return std::nullopt;

    const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    constexpr std::string_view kUnits = "KMGT";
    if (unit.empty()) return amount;
    const std::size_t power = kUnits.find(unit.size() == 1 ? unit[0] : '?');
    if (power == std::string_view::npos) return std::nullopt;
    const unsigned shift = 10 * static_cast<unsigned>(power + 1);
    if (amount > (UINT64_MAX >> shift)) return std::nullopt;
    return amount << shift;
}

std::string detail::describe_bytes(std::uint64_t bytes) {
    constexpr std::string_view kUnits = "TGMK";
    for (std::size_t i = 0; i < kUnits.size(); ++i) {
        const unsigned shift = 10 * static_cast<unsigned>(kUnits.size() - i);
        const std::uint64_t unit = std::uint64_t{1} << shift;
        if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes >> shift) + kUnits[i];
    }
    return std::to_string(bytes);
}

namespace {

std::string in_quotes(std::string_view text) {
    constexpr std::size_t kShown = 60;
    std::string shown(text.substr(0, kShown));
    if (text.size() > kShown) shown += "...";
    return "\"" + shown + "\"";
}

void JobsFileReader::fail(const YAML::Mark& mark, std::string_view problem) const {
    // Nodes that do not exist carry a null mark (line -1); report line 1 for them.
    const int line = mark.line < 0 ? 1 : mark.line + 1;
    throw ConfigError(file_ + ":" + std::to_string(line) + ": " + std::string(problem));
}

YAML::Node JobsFileReader::parse(std::string_view text) const {
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::ParserException& error) {
        fail(error.mark, "invalid YAML: " + error.msg);
    }
}

std::map<std::string, detail::JobsFileEntry> JobsFileReader::read(std::string_view text) const {
    const YAML::Node jobs = jobs_mapping(parse(text));

    std::map<std::string, detail::JobsFileEntry> programs;
    std::map<std::string, int> first_line;
    for (auto it = jobs.begin(); it != jobs.end(); ++it) {
        std::string name = class_name(it->first);
        const int line = it->first.Mark().line + 1;
        if (const auto [seen, inserted] = first_line.emplace(name, line); !inserted) {
            fail(it->first, "job " + in_quotes(name) + " is defined twice (first on line " +
                                std::to_string(seen->second) + ")");
        }
        programs.emplace(std::move(name), entry(it->first, it->second));
    }
    return programs;
}

YAML::Node JobsFileReader::jobs_mapping(const YAML::Node& root) const {
    if (!root.IsMap()) fail(root, "expected a mapping with a \"jobs\" key");

    std::optional<YAML::Mark> jobs_key;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string key = it->first.Scalar();
        if (key != "jobs")
            fail(it->first, "unknown key " + in_quotes(key) + " (expected \"jobs\")");
        jobs_key = it->first.Mark();
    }
    if (!jobs_key) fail(root, "missing \"jobs\" mapping");

    const YAML::Node jobs = root["jobs"];
    if (!jobs.IsMap()) {
        fail(*jobs_key, "\"jobs\" must be a mapping of job class names to programs");
    }
    return jobs;
}

std::string JobsFileReader::class_name(const YAML::Node& key) const {
    if (!is_text(key) || key.Scalar().empty()) {
        fail(key, "a job class name must be a non-empty string");
    }
    return key.Scalar();
}

detail::JobsFileEntry JobsFileReader::entry(const YAML::Node& name_node,
                                            const YAML::Node& value) const {
    const std::string job = in_quotes(name_node.Scalar());
    if (!value.IsMap()) fail(name_node, "job " + job + " must be a mapping with a \"command\"");

    detail::JobsFileEntry entry;
    entry.line = name_node.Mark().line + 1;
    for (auto it = value.begin(); it != value.end(); ++it) set_field(entry, it->first, it->second);
    if (entry.program.command.empty()) {
        // Settings for a C++ handler: what only a program can use is refused here.
        const bool exec = entry.isolation == Isolation::kExec;
        if (exec || !entry.program.working_dir.empty() || !entry.program.env.empty()) {
            fail(name_node, "job " + job + " has no \"command\" (" +
                                (exec ? "isolation exec applies" : "cwd and env apply") +
                                " to programs only)");
        }
    } else if (entry.isolation && *entry.isolation != Isolation::kExec) {
        fail(name_node, "job " + job +
                            " has a \"command\": a program always runs with exec "
                            "isolation (got " +
                            std::string(to_string(*entry.isolation)) + ")");
    }
    return entry;
}

void JobsFileReader::set_field(detail::JobsFileEntry& entry, const YAML::Node& key,
                               const YAML::Node& value) const {
    ProgramSpec& spec = entry.program;
    // A null value (`timeout:` and nothing) carries the mark of whatever follows it,
    // often the next line; the key's line is the one to blame.
    const YAML::Mark at = value.IsNull() ? key.Mark() : value.Mark();
    const std::string& name = key.Scalar();
    if (name == "command") {
        spec.command = command(value, at);
    } else if (name == "timeout") {
        spec.timeout = timeout(value, at);
    } else if (name == "cwd") {
        if (!is_text(value) || value.Scalar().empty()) {
            fail(at, "\"cwd\" must be a non-empty string");
        }
        spec.working_dir = value.Scalar();
    } else if (name == "env") {
        spec.env = env(value, at);
    } else if (name == "limits") {
        spec.limits = limits(value, at);
    } else if (name == "isolation") {
        entry.isolation = isolation(value, at);
    } else {
        fail(key, "unknown key " + in_quotes(name) +
                      " (expected command, timeout, cwd, env, limits or isolation)");
    }
}

Isolation JobsFileReader::isolation(const YAML::Node& value, const YAML::Mark& at) const {
    std::optional<Isolation> parsed;
    if (is_text(value)) parsed = parse_isolation(value.Scalar());
    if (!parsed) fail(at, "\"isolation\" must be thread, fork or exec");
    return *parsed;
}

ResourceLimits JobsFileReader::limits(const YAML::Node& value, const YAML::Mark& at) const {
    if (!value.IsMap())
        fail(at, "\"limits\" must be a mapping: {memory: 512M, cpu: 30s, files: 256}");

    ResourceLimits limits;
    for (auto it = value.begin(); it != value.end(); ++it) {
        const YAML::Node name = it->first;
        const YAML::Node amount = it->second;
        const std::string text = is_text(amount) ? amount.Scalar() : "";
        const YAML::Mark where = amount.IsNull() ? name.Mark() : amount.Mark();
        if (name.Scalar() == "memory") {
            limits.memory_bytes = detail::parse_byte_size(text);
            if (!limits.memory_bytes) {
                fail(where, "limits \"memory\" must be a size like 512M, 2G or 1048576K (got " +
                                in_quotes(text) + ")");
            }
        } else if (name.Scalar() == "cpu") {
            // RLIMIT_CPU counts whole seconds; a fraction rounds up, never to zero.
            const auto duration = detail::parse_duration(text);
            if (!duration) {
                fail(where, "limits \"cpu\" must be a duration like 30s or 5m (got " +
                                in_quotes(text) + ")");
            }
            limits.cpu = std::chrono::ceil<std::chrono::seconds>(*duration);
        } else if (name.Scalar() == "files") {
            limits.open_files = detail::parse_byte_size(text);
            if (!limits.open_files || text.find_first_not_of("0123456789") != std::string::npos) {
                fail(where, "limits \"files\" must be a positive whole number (got " +
                                in_quotes(text) + ")");
            }
        } else {
            fail(name,
                 "unknown limit " + in_quotes(name.Scalar()) + " (expected memory, cpu or files)");
        }
    }
    return limits;
}

std::vector<std::string> JobsFileReader::command(const YAML::Node& value,
                                                 const YAML::Mark& at) const {
    constexpr std::string_view kProblem = "\"command\" must be a non-empty list of strings";
    // A plain string is refused rather than split: splitting would need a shell's
    // quoting rules, and a command line is exactly what the list form avoids.
    if (!value.IsSequence() || value.size() == 0) fail(at, kProblem);

    std::vector<std::string> argv;
    for (const auto& element : value) {
        if (!is_text(element)) fail(element, kProblem);
        argv.push_back(element.Scalar());
    }
    if (argv.front().empty()) fail(value[0], "\"command\" must start with a program name");
    return argv;
}

std::chrono::milliseconds JobsFileReader::timeout(const YAML::Node& value,
                                                  const YAML::Mark& at) const {
    std::optional<std::chrono::milliseconds> parsed;
    if (is_text(value)) parsed = detail::parse_duration(value.Scalar());
    if (!parsed) {
        std::string problem =
            "\"timeout\" must be a positive duration like 30s, 5m, 500ms or 1h, or a number "
            "of seconds";
        if (is_text(value)) problem += " (got " + in_quotes(value.Scalar()) + ")";
        fail(at, problem);
    }
    return *parsed;
}

std::map<std::string, std::string> JobsFileReader::env(const YAML::Node& value,
                                                       const YAML::Mark& at) const {
    if (!value.IsMap()) fail(at, "\"env\" must be a mapping of variable names to strings");

    std::map<std::string, std::string> variables;
    for (auto it = value.begin(); it != value.end(); ++it) {
        // A copy, not a reference: `it->` yields a temporary that dies with the statement.
        const YAML::Node name = it->first;
        if (!is_text(name) || name.Scalar().empty() ||
            name.Scalar().find('=') != std::string::npos) {
            fail(name, "an \"env\" variable name must be a non-empty string without '='");
        }
        if (!is_text(it->second)) {
            fail(it->second.IsNull() ? name : it->second,
                 "\"env\" value of " + in_quotes(name.Scalar()) + " must be a string");
        }
        variables.insert_or_assign(name.Scalar(), it->second.Scalar());
    }
    return variables;
}

}  // namespace

std::map<std::string, detail::JobsFileEntry> detail::parse_jobs_file(std::string_view text,
                                                                     std::string_view file) {
    return JobsFileReader(std::string(file)).read(text);
}

std::map<std::string, detail::JobsFileEntry> detail::read_jobs_file(
    const std::filesystem::path& path) {
    // A directory opens fine and reads as nothing; say what is wrong instead.
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored)) {
        throw ConfigError("cannot read jobs file " + path.string() + ": " + std::strerror(EISDIR));
    }

    std::ifstream input(path, std::ios::binary);
    if (!input) {
        // std::ifstream leaves the failed open(2)'s errno in place on Linux.
        const int error = errno;
        throw ConfigError("cannot read jobs file " + path.string() + ": " + std::strerror(error));
    }
    const std::string text{std::istreambuf_iterator<char>(input), {}};
    if (input.bad()) throw ConfigError("cannot read jobs file " + path.string());
    return parse_jobs_file(text, path.string());
}

void HandlerRegistry::load_jobs_file(const std::filesystem::path& path) {
    auto entries = detail::read_jobs_file(path);

    // Check every settings entry first, so that an error leaves the registry unchanged.
    for (const auto& [class_name, entry] : entries) {
        if (!entry.program.command.empty()) continue;
        const auto found = handlers_.find(class_name);
        if (found == handlers_.end() || found->second.program) {
            throw ConfigError(path.string() + ":" + std::to_string(entry.line) + ": job \"" +
                              class_name +
                              "\" has no \"command\" and no C++ handler of that name is "
                              "registered");
        }
    }
    for (auto& [class_name, entry] : entries) {
        if (entry.program.command.empty()) {
            handlers_.find(class_name)->second.settings = {entry.isolation, entry.program.timeout,
                                                           entry.program.limits};
        } else {
            add_program(class_name, std::move(entry.program));
        }
    }
}

HandlerRegistry HandlerRegistry::from_jobs_file(const std::filesystem::path& path) {
    HandlerRegistry registry;
    registry.load_jobs_file(path);
    return registry;
}

}  // namespace resque
