#pragma once

// The scheduler as the dashboard sees it: one DelayedQueue and one ScheduleStore per
// server (each one Redis connection, opened once, not per request), the static
// schedules of the file the scheduler runs with, and the leader lock's prefix.

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "resque/delayed.hpp"
#include "resque/redis_options.hpp"
#include "resque/schedule.hpp"

namespace resque::web {

/// What the dashboard needs to show the same schedules the scheduler runs: its YAML
/// file (`resque scheduler --schedule`), zone and lock prefix.
struct ScheduleSource {
    std::filesystem::path file;  ///< empty: persisted schedules only
    std::string zone = "UTC";
    std::string lock_prefix;
};

/// One schedule as listed: where it came from, when it last ran.
struct ListedSchedule {
    Schedule schedule;
    bool persisted = false;                    ///< from Redis (dynamic), else the file
    std::optional<std::string> last_enqueued;  ///< Ruby's `delayed:last_enqueued_at`
    std::optional<SysSeconds> last_run;        ///< our run record (anchors `every`)
};

/// A bounded list of schedules.
struct ScheduleListing {
    std::vector<ListedSchedule> shown;
    std::size_t total = 0;
};

/// Thread safety: every member may be called from any of the server's threads.
class SchedulerView {
 public:
    /// Reads the schedule file now; throws ConfigError naming the file and line when it
    /// does not parse (the dashboard refuses to start rather than show a wrong list).
    SchedulerView(const RedisOptions& redis, ScheduleSource source);

    /// The delayed jobs (DelayedQueue is itself thread-safe).
    [[nodiscard]] DelayedQueue& delayed() noexcept { return delayed_; }
    /// The first `limit` of the static and persisted schedules, a persisted one winning
    /// a name clash (as in the scheduler), sorted by name, with their run records, and
    /// how many there are. Persisted entries that do not parse are reported in
    /// `errors` (name and reason), never hidden.
    [[nodiscard]] ScheduleListing schedules(std::vector<std::string>& errors, std::size_t limit);
    /// The schedule named `name`, if the scheduler would run one by that name.
    [[nodiscard]] std::optional<Schedule> find(const std::string& name);
    /// The leader lock's holder, if a scheduler leads.
    [[nodiscard]] std::optional<std::string> leader();

 private:
    std::vector<ListedSchedule> merged(std::vector<std::string>& errors);

    ScheduleSource source_;
    std::vector<Schedule> static_schedules_;
    DelayedQueue delayed_;
    std::mutex store_mutex_;  // guards store_: a ScheduleStore is one thread at a time
    ScheduleStore store_;
};

}  // namespace resque::web
