#pragma once

// The four time formats Resque writes (../shared/PROTOCOL.md section 2.3). We write
// them in the process's local zone, exactly as Ruby would, so Ruby's Time.parse and
// DateTime.parse read them.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace resque::ruby_time {

using Clock = std::chrono::system_clock;

/// `run_at`: `2026-12-03T12:25:34Z` (always UTC).
std::string iso8601_utc(Clock::time_point t);
/// `worker:<id>:started`: Ruby Time#to_s in local time, `2026-12-03 12:25:25 +0000`.
std::string time_to_s(Clock::time_point t);
/// Heartbeat: local ISO-8601 with a colon offset, `2026-12-03T12:25:25+00:00`.
std::string iso8601_local(Clock::time_point t);
/// `failed_at` / `retried_at`: `2026/12/03 12:25:30 UTC` (zone abbreviation).
std::string failure_time(Clock::time_point t);

/// Parses the timestamps Ruby accepts for heartbeats (ISO-8601 with `Z` or a numeric
/// offset, with or without `T`, optional fraction). nullopt if unreadable.
std::optional<Clock::time_point> parse_heartbeat(std::string_view text);

/// Converts a Redis TIME reply (seconds, microseconds) to a time point.
Clock::time_point from_redis_time(long long seconds, long long micros);

}  // namespace resque::ruby_time
