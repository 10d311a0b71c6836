#pragma once

// One named spdlog logger per subsystem, one line per event:
// `2026-12-03T12:00:00.123Z warn worker job failed: ... queue=mail class=Archive`.

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace resque::log {

std::shared_ptr<spdlog::logger> get(std::string_view name);
inline std::shared_ptr<spdlog::logger> worker() { return get("worker"); }
inline std::shared_ptr<spdlog::logger> redis() { return get("redis"); }
inline std::shared_ptr<spdlog::logger> cli() { return get("cli"); }

}  // namespace resque::log
