// Schedule entries: validation of one config object, the job a run enqueues, and YAML
// schedule files read the way resque-scheduler's YAML (Psych) reads them.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <regex>
#include <sstream>

#include "json/ruby_json.hpp"
#include "resque/errors.hpp"
#include "resque/schedule.hpp"

namespace resque {
namespace {

using OrderedJson = nlohmann::ordered_json;

// Keys resque-scheduler gives meaning to that we do not implement; refusing them beats a
// schedule that silently behaves differently from Ruby's.
constexpr const char* kRefusedKeys[] = {"rails_env", "env", "custom_job_class"};

std::string string_member(std::string_view name, const OrderedJson& config, const char* key) {
    const auto found = config.find(key);
    if (found == config.end() || found->is_null()) return {};
    if (!found->is_string()) {
        throw ConfigError(fmt::format("schedule \"{}\": \"{}\" must be a string (got {})", name,
                                      key, found->type_name()));
    }
    return found->get<std::string>();
}

// `every` may be "30s" or rufus' ["30s", {options}]; options are not supported.
std::string every_text(std::string_view name, const OrderedJson& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_array() && !value.empty() && value.front().is_string()) {
        if (value.size() > 1) {
            throw ConfigError(fmt::format(
                "schedule \"{}\": \"every\" options ({}) are not supported; use a plain duration",
                name, value[1].dump()));
        }
        return value.front().get<std::string>();
    }
    throw ConfigError(
        fmt::format("schedule \"{}\": \"every\" must be a duration string such as \"30s\"", name));
}

// --- YAML to JSON, with Psych's scalar typing --------------------------------------

OrderedJson scalar_value(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") return text;  // quoted: always a string
    static const std::regex kInteger(R"([-+]?[0-9]+)");
    static const std::regex kFloat(R"([-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)");
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
        return nullptr;
    }
    if (text == "true" || text == "True" || text == "TRUE" || text == "yes" || text == "on") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE" || text == "no" || text == "off") {
        return false;
    }
    if (std::regex_match(text, kInteger)) {
        long long value = 0;
        const char* begin = text.data() + (text.front() == '+' ? 1 : 0);
        const auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
        if (error == std::errc{} && end == text.data() + text.size()) return value;
        throw ConfigError(
            fmt::format("line {}: integer {} does not fit in 64 bits", node.Mark().line + 1, text));
    }
    if (std::regex_match(text, kFloat)) return std::stod(text);
    return text;
}

OrderedJson to_json(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Scalar:
            return scalar_value(node);
        case YAML::NodeType::Sequence: {
            OrderedJson array = OrderedJson::array();
            for (const auto& item : node) array.push_back(to_json(item));
            return array;
        }
        case YAML::NodeType::Map: {
            OrderedJson object = OrderedJson::object();
            for (const auto& item : node)
                object[item.first.as<std::string>()] = to_json(item.second);
            return object;
        }
    }
    return nullptr;
}

nlohmann::json to_plain(const OrderedJson& value) { return nlohmann::json::parse(value.dump()); }

}  // namespace

// resque-scheduler's rule for `args`: an array is the argument list, anything else
// (a hash, a scalar) is one argument, missing or null means none.
OrderedJson Schedule::ordered_args() const {
    OrderedJson args = OrderedJson::array();
    const auto found = config.find("args");
    if (found == config.end() || found->is_null()) return args;
    if (found->is_array()) return *found;
    args.push_back(*found);
    return args;
}

Job Schedule::job() const { return Job{class_name, to_plain(ordered_args())}; }

std::string Schedule::payload() const {
    // Encoded from the ordered config, not from job(): a hash argument keeps its keys in
    // the order written, as a Ruby hash does, where job().args would sort them.
    std::string out = "{\"class\":";
    try {
        json::append_string(out, class_name);
        out += ",\"args\":";
        json::append_value(out, ordered_args());
    } catch (const PayloadError& error) {
        throw PayloadError(fmt::format("schedule \"{}\": {}", name, error.what()));
    }
    out += '}';
    return out;
}

std::optional<SysSeconds> Schedule::next_after(SysSeconds after,
                                               std::optional<SysSeconds> anchor) const {
    if (cron) return cron->next_after(after);
    if (!every) return std::nullopt;
    // Runs fall at anchor + k * every; without an anchor, one interval from `after`.
    if (!anchor || *anchor > after) return (anchor ? *anchor : after) + *every;
    const auto elapsed = after - *anchor;
    return *anchor + (elapsed / *every + 1) * *every;
}

std::string Schedule::describe_timing() const {
    if (cron) return "cron: " + cron->text();
    if (every) {
        const auto& text = config.at("every");
        return "every: " +
               (text.is_string() ? text.get<std::string>() : text.front().get<std::string>());
    }
    return "(manual only)";
}

Schedule parse_schedule(std::string_view name, const OrderedJson& config,
                        std::string_view default_zone) {
    if (name.empty()) throw ConfigError("a schedule needs a non-empty name");
    if (!config.is_object()) {
        throw ConfigError(
            fmt::format("schedule \"{}\" must be a mapping (got {})", name, config.type_name()));
    }
    for (const char* key : kRefusedKeys) {
        if (config.contains(key)) {
            throw ConfigError(
                fmt::format("schedule \"{}\": \"{}\" is not supported by resque-cpp", name, key));
        }
    }

    Schedule schedule;
    schedule.name = std::string(name);
    schedule.config = config;
    schedule.config.erase("persist");
    schedule.class_name = string_member(name, config, "class");
    if (schedule.class_name.empty()) schedule.class_name = schedule.name;
    schedule.queue = string_member(name, config, "queue");
    if (schedule.queue.empty()) {
        throw ConfigError(fmt::format(
            "schedule \"{}\": \"queue\" is required (resque-cpp cannot ask a class for it)", name));
    }
    schedule.description = string_member(name, config, "description");

    const std::string cron = string_member(name, config, "cron");
    if (!cron.empty()) {
        try {
            schedule.cron.emplace(cron, default_zone);
        } catch (const ConfigError& error) {
            throw ConfigError(fmt::format("schedule \"{}\": {}", name, error.what()));
        }
    } else if (const auto every = config.find("every");
               every != config.end() && !every->is_null()) {
        try {
            schedule.every = parse_every(every_text(name, *every));
        } catch (const ConfigError& error) {
            throw ConfigError(fmt::format("schedule \"{}\": {}", name, error.what()));
        }
    }
    // The job must be encodable, or every run would fail later.
    (void)schedule.payload();
    return schedule;
}

std::vector<Schedule> parse_schedule_yaml(std::string_view yaml, std::string_view source,
                                          std::string_view default_zone) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& error) {
        throw ConfigError(fmt::format("{}:{}: {}", source, error.mark.line + 1, error.msg));
    }
    std::vector<Schedule> schedules;
    if (root.IsNull()) return schedules;
    if (!root.IsMap()) {
        throw ConfigError(
            fmt::format("{}: expected a mapping of schedule names to entries", source));
    }
    for (const auto& entry : root) {
        const int line = entry.first.Mark().line + 1;
        try {
            const std::string name = entry.first.as<std::string>();
            schedules.push_back(parse_schedule(name, to_json(entry.second), default_zone));
        } catch (const Error& error) {
            throw ConfigError(fmt::format("{}:{}: {}", source, line, error.what()));
        } catch (const YAML::Exception& error) {
            throw ConfigError(fmt::format("{}:{}: {}", source, line, error.msg));
        }
    }
    return schedules;
}

std::vector<Schedule> load_schedule_file(const std::filesystem::path& path,
                                         std::string_view default_zone) {
    std::ifstream in(path);
    if (!in) throw ConfigError(fmt::format("cannot open schedule file {}", path.string()));
    std::stringstream text;
    text << in.rdbuf();
    return parse_schedule_yaml(text.str(), path.string(), default_zone);
}

}  // namespace resque
