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

void HandlerRegistry::add(std::string class_name, Handler handler) {
    handlers_.insert_or_assign(std::move(class_name), std::move(handler));
}

void HandlerRegistry::add_program(std::string class_name, ProgramSpec spec) {
    add(std::move(class_name),
        [spec = std::move(spec)](const JobContext& context) { run_program(spec, context); });
}

const Handler* HandlerRegistry::find(std::string_view class_name) const {
    const auto found = handlers_.find(class_name);
    return found == handlers_.end() ? nullptr : &found->second;
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

    std::map<std::string, ProgramSpec> read(std::string_view text) const;

   private:
    [[noreturn]] void fail(const YAML::Mark& mark, std::string_view problem) const;
    [[noreturn]] void fail(const YAML::Node& node, std::string_view problem) const {
        fail(node.Mark(), problem);
    }

    YAML::Node parse(std::string_view text) const;
    YAML::Node jobs_mapping(const YAML::Node& root) const;
    ProgramSpec program(const YAML::Node& name_node, const YAML::Node& entry) const;
    void set_field(ProgramSpec& spec, const YAML::Node& key, const YAML::Node& value) const;
    std::vector<std::string> command(const YAML::Node& value, const YAML::Mark& at) const;
    std::chrono::milliseconds timeout(const YAML::Node& value, const YAML::Mark& at) const;
    std::map<std::string, std::string> env(const YAML::Node& value, const YAML::Mark& at) const;
    std::string class_name(const YAML::Node& key) const;

    std::string file_;
};

// A scalar that is neither null (`~`, empty) nor a collection.
bool is_text(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }

// Parses `30s`, `5m`, `500ms`, `1h`, or a bare number of seconds (`30`, `0.5`).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
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

std::map<std::string, ProgramSpec> JobsFileReader::read(std::string_view text) const {
    const YAML::Node jobs = jobs_mapping(parse(text));

    std::map<std::string, ProgramSpec> programs;
    std::map<std::string, int> first_line;
    for (auto it = jobs.begin(); it != jobs.end(); ++it) {
        std::string name = class_name(it->first);
        const int line = it->first.Mark().line + 1;
        if (const auto [seen, inserted] = first_line.emplace(name, line); !inserted) {
            fail(it->first, "job " + in_quotes(name) + " is defined twice (first on line " +
                                std::to_string(seen->second) + ")");
        }
        programs.emplace(std::move(name), program(it->first, it->second));
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

ProgramSpec JobsFileReader::program(const YAML::Node& name_node, const YAML::Node& entry) const {
    const std::string job = in_quotes(name_node.Scalar());
    if (!entry.IsMap()) fail(name_node, "job " + job + " must be a mapping with a \"command\"");

    ProgramSpec spec;
    for (auto it = entry.begin(); it != entry.end(); ++it) set_field(spec, it->first, it->second);
    if (spec.command.empty()) fail(name_node, "job " + job + " has no \"command\"");
    return spec;
}

void JobsFileReader::set_field(ProgramSpec& spec, const YAML::Node& key,
                               const YAML::Node& value) const {
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
    } else {
        fail(key, "unknown key " + in_quotes(name) + " (expected command, timeout, cwd or env)");
    }
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
    if (is_text(value)) parsed = parse_duration(value.Scalar());
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

std::map<std::string, ProgramSpec> detail::parse_jobs_file(std::string_view text,
                                                           std::string_view file) {
    return JobsFileReader(std::string(file)).read(text);
}

std::map<std::string, ProgramSpec> detail::read_jobs_file(const std::filesystem::path& path) {
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

HandlerRegistry HandlerRegistry::from_jobs_file(const std::filesystem::path& path) {
    HandlerRegistry registry;
    for (auto& [class_name, spec] : detail::read_jobs_file(path)) {
        registry.add_program(class_name, std::move(spec));
    }
    return registry;
}

}  // namespace resque
