#pragma once

// What to do next for one recurring schedule, given its last recorded run and the time:
// pure logic, so DST days, leap days and missed-run policies are tested by driving a
// fake clock (tests/unit/schedule_planner_test.cpp) without Redis or waiting.

#include <chrono>
#include <optional>

#include "resque/schedule.hpp"
#include "resque/scheduler.hpp"

namespace resque::scheduler {

struct RunDecision {
    enum class Kind {
        kWait,        ///< nothing due; `run` is the next run time (none: never)
        kBaseline,    ///< no record yet: record `run` (now) without enqueueing
        kEnqueue,     ///< enqueue the run at `run` and record it
        kRecordSkip,  ///< record `run` as done without enqueueing (missed, policy skip)
    };
    Kind kind = Kind::kWait;
    std::optional<SysSeconds> run;
    /// Runs that fell due more than `missed_after` ago and will not be enqueued
    /// (`missed_capped`: at least this many; counting stopped).
    long long missed = 0;
    bool missed_capped = false;
};

/// Decides the next step for `schedule` whose last run (enqueued, skipped or baseline)
/// is `last`. A run overdue by at most `missed_after` is enqueued (a late run, e.g.
/// across a leader change); runs overdue by more are missed: with kSkip the latest is
/// recorded as skipped, with kRunOnce the latest is enqueued, the others counted.
/// Call again after carrying out a decision until it says kWait.
RunDecision plan_run(const Schedule& schedule, std::optional<SysSeconds> last, SysSeconds now,
                     std::chrono::seconds missed_after, MissedRunPolicy policy);

}  // namespace resque::scheduler
