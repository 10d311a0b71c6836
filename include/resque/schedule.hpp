#pragma once

// Recurring schedules in resque-scheduler's format (../shared/PROTOCOL.md section 3.4):
// a name mapped to `cron` or `every`, `class`, `queue`, `args`, `description`. Parsing
// and next-run arithmetic are pure (no Redis); ScheduleStore keeps the persisted
// (dynamic) schedules in Redis where Ruby's scheduler and its web tab read them.

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resque/job.hpp"
#include "resque/redis_options.hpp"

namespace resque {

/// Whole seconds on the system clock (UTC); schedules and delayed jobs never need more.
using SysSeconds = std::chrono::sys_seconds;

/// A cron expression as rufus-scheduler/fugit read it: five fields (minute hour
/// day-of-month month day-of-week) or six (seconds first), each a `*`, number, name
/// (`JAN`, `MON`), range `a-b`, step `*/n` or `a-b/n`, or a comma list of those;
/// optionally followed by an IANA zone name (`0 5 * * * Europe/Berlin`). `@hourly`,
/// `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually` are accepted.
/// Without a zone the expression is read in `default_zone` (the scheduler's zone).
///
/// Day-of-month and day-of-week combine as in Vixie cron: when both are restricted a day
/// matching either counts. Daylight saving (FC-11): a local time skipped by a
/// spring-forward gap fires once, at the end of the gap; a local time repeated at
/// fall-back fires once, at its first occurrence, unless the hour field is `*` (then
/// each real hour fires, so `0 * * * *` runs 25 times on a 25-hour day). Leap seconds
/// do not exist here (system time has none).
class CronExpression {
 public:
    /// Parses `text`. Throws ConfigError naming the field and the value that is wrong
    /// (`cron "61 * * * *": minute 61 is out of range 0-59`) or the unknown zone.
    explicit CronExpression(std::string_view text, std::string_view default_zone = "UTC");
    ~CronExpression();
    CronExpression(const CronExpression&);
    CronExpression& operator=(const CronExpression&);
    CronExpression(CronExpression&&) noexcept;
    CronExpression& operator=(CronExpression&&) noexcept;

    /// The first firing strictly after `after`, or nullopt when none exists within eight
    /// years (e.g. `0 0 30 2 *`).
    [[nodiscard]] std::optional<SysSeconds> next_after(SysSeconds after) const;
    /// The expression as given.
    [[nodiscard]] const std::string& text() const noexcept;
    /// The zone the fields are read in (the trailing name, else the default).
    [[nodiscard]] std::string zone_name() const;

 private:
    struct Fields;
    std::unique_ptr<Fields> fields_;
};

/// Parses a rufus duration: `30s`, `5m`, `1h`, `1d`, `2w`, combinations such as `1h30m`,
/// or a plain number of seconds. Throws ConfigError for anything else, for zero, and for
/// sub-second parts (`500ms`), which the scheduler cannot honour.
[[nodiscard]] std::chrono::seconds parse_every(std::string_view text);

/// Parses an absolute time: ISO-8601 `2027-01-01T05:00:00Z`, with an offset
/// (`2027-01-01T06:00:00+01:00`), with a space instead of `T`, or a number of epoch
/// seconds. Throws ConfigError quoting the text otherwise.
[[nodiscard]] SysSeconds parse_time(std::string_view text);

/// One recurring entry. `config` keeps the entry exactly as given (key order too), so
/// persisting it writes what Ruby's `set_schedule` would.
struct Schedule {
    std::string name;
    std::string class_name;
    std::string queue;
    std::string description;
    std::optional<CronExpression> cron;         ///< takes precedence over `every`
    std::optional<std::chrono::seconds> every;  ///< when no cron
    nlohmann::ordered_json config = nlohmann::ordered_json::object();

    /// The job one run enqueues, with resque-scheduler's rule for `args`: an array is
    /// the argument list, an object or scalar is one argument, missing means none.
    /// Job args are nlohmann::json, whose objects sort their keys; payload() keeps them.
    [[nodiscard]] Job job() const;
    /// The payload one run enqueues, `{"class":...,"args":[...]}` in Ruby's encoding with
    /// every hash's keys in the order written (YAML or stored JSON), as resque-scheduler
    /// enqueues it. Throws PayloadError (naming the schedule) for text that is not UTF-8.
    [[nodiscard]] std::string payload() const;
    /// Whether the entry fires by itself (has cron or every).
    [[nodiscard]] bool recurring() const noexcept { return cron || every; }
    /// The next run strictly after `after`. `anchor` is the run an `every` schedule
    /// counts from (its last run); cron ignores it. nullopt: never.
    [[nodiscard]] std::optional<SysSeconds> next_after(SysSeconds after,
                                                       std::optional<SysSeconds> anchor) const;
    /// `cron: 0 5 * * *` or `every: 30s`, for listings.
    [[nodiscard]] std::string describe_timing() const;

 private:
    [[nodiscard]] nlohmann::ordered_json ordered_args() const;
};

/// Builds a schedule from one config object. `class` defaults to the name (as
/// `Resque.schedule=` does); `queue` is required, since we cannot ask a Ruby class for
/// it. Throws ConfigError naming the schedule and the key at fault. `rails_env`/`env`
/// and `custom_job_class` are refused with a clear error rather than silently ignored.
[[nodiscard]] Schedule parse_schedule(std::string_view name, const nlohmann::ordered_json& config,
                                      std::string_view default_zone = "UTC");

/// Reads a YAML schedule file (a mapping of name to config, as resque-scheduler loads).
/// Throws ConfigError naming the file, line and schedule when something is wrong.
[[nodiscard]] std::vector<Schedule> load_schedule_file(const std::filesystem::path& path,
                                                       std::string_view default_zone = "UTC");

/// Parses YAML text of the same shape; `source` names it in errors.
[[nodiscard]] std::vector<Schedule> parse_schedule_yaml(std::string_view yaml,
                                                        std::string_view source,
                                                        std::string_view default_zone = "UTC");

/// The persisted (dynamic) schedules in Redis: `<ns>:persistent_schedules` (name → JSON
/// config) with every change announced in `<ns>:schedules_changed`, exactly as Ruby's
/// `set_schedule(name, config.merge(persist: true))` and `remove_schedule` do, so a
/// running Ruby or C++ scheduler picks the change up.
///
/// Thread safety: one thread at a time. Errors: the RedisError family; ConfigError for a
/// stored entry that does not parse (naming it).
class ScheduleStore {
 public:
    explicit ScheduleStore(RedisOptions options, std::string default_zone = "UTC");
    ~ScheduleStore();
    ScheduleStore(const ScheduleStore&) = delete;
    ScheduleStore& operator=(const ScheduleStore&) = delete;

    /// Validates and stores `schedule.config` under its name (HSET + SADD). A `persist`
    /// key is dropped as Ruby drops it.
    void set(const Schedule& schedule);
    /// Removes the stored entry; false when there was none.
    bool remove(std::string_view name);
    /// Every stored schedule, by name. An entry that does not parse is skipped and
    /// reported in `invalid` (name and error) instead of hiding the others.
    [[nodiscard]] std::vector<Schedule> all(std::vector<std::string>* invalid = nullptr);
    /// `HGET <ns>:delayed:last_enqueued_at name`: when it was last enqueued, as Ruby's
    /// scheduler and ours record it (`2026-12-03 12:39:01 +0000`).
    [[nodiscard]] std::optional<std::string> last_enqueued_at(std::string_view name);
    /// When our scheduler last ran (or skipped) `name`, from `<ns>:cpp:schedule_runs`:
    /// what an `every` schedule counts its next run from. nullopt when never.
    [[nodiscard]] std::optional<SysSeconds> last_run(std::string_view name);
    /// Who holds the scheduler leader lock now (its value, `host:pid`, as Ruby's
    /// resque-scheduler or ours wrote it), with the lock prefix the schedulers were
    /// given; nullopt when no scheduler leads.
    [[nodiscard]] std::optional<std::string> leader(std::string_view lock_prefix = {});

 private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace resque
