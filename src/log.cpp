#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

#include "resque/errors.hpp"
#include "resque/logging.hpp"

namespace resque {
namespace {

std::mutex& registry_mutex() {
    static std::mutex mutex;  // guards logger creation and reconfiguration
    return mutex;
}

spdlog::level::level_enum& current_level() {
    static spdlog::level::level_enum level = spdlog::level::info;
    return level;
}

std::string& current_pattern() {
    static std::string pattern = "%Y-%m-%dT%H:%M:%S.%eZ %l %n %v";
    return pattern;
}

}  // namespace

std::shared_ptr<spdlog::logger> log::get(std::string_view name) {
    std::lock_guard lock(registry_mutex());
    if (auto existing = spdlog::get(std::string(name))) return existing;
    auto logger = std::make_shared<spdlog::logger>(
        std::string(name), std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern(current_pattern(), spdlog::pattern_time_type::utc);
    logger->set_level(current_level());
    spdlog::register_logger(logger);
    return logger;
}

void configure_logging(std::string_view level, bool json) {
    auto parsed = spdlog::level::from_str(std::string(level));
    if (parsed == spdlog::level::off && level != "off") {
        throw ConfigError("unknown log level \"" + std::string(level) +
                          "\" (use trace, debug, info, warn, error or off)");
    }
    std::lock_guard lock(registry_mutex());
    current_level() = parsed;
    current_pattern() = json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%v"})"
                             : "%Y-%m-%dT%H:%M:%S.%eZ %l %n %v";
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
        logger->set_level(parsed);
        logger->set_pattern(current_pattern(), spdlog::pattern_time_type::utc);
    });
}

}  // namespace resque
