#include "scheduler/planner.hpp"

namespace resque::scheduler {
namespace {

// Counting missed runs stops here; a scheduler down for a year with an every-second
// schedule must not spend minutes counting before it resumes.
constexpr long long kMaxCounted = 10000;

}  // namespace

RunDecision plan_run(const Schedule& schedule, std::optional<SysSeconds> last, SysSeconds now,
                     std::chrono::seconds missed_after, MissedRunPolicy policy) {
    using Kind = RunDecision::Kind;
    if (!schedule.recurring()) return {Kind::kWait, std::nullopt};
    // A schedule seen for the first time starts counting now: recording that start lets
    // a later leader tell a run it missed from one never due.
    if (!last) return {Kind::kBaseline, now};

    const auto first = schedule.next_after(*last, last);
    if (!first || *first > now) return {Kind::kWait, first};
    const SysSeconds window_start = now - missed_after;
    if (*first > window_start) return {Kind::kEnqueue, first};

    // Runs at or before window_start were missed: count them and find the latest.
    RunDecision decision;
    SysSeconds latest = *first;
    decision.missed = 1;
    for (auto next = schedule.next_after(latest, latest); next && *next <= window_start;
         next = schedule.next_after(latest, latest)) {
        latest = *next;
        if (++decision.missed >= kMaxCounted) {
            decision.missed_capped = true;
            break;
        }
    }
    decision.run = latest;
    // A capped count has not reached the latest missed run yet: skip ahead, and let the
    // next call (which continues from here) decide about running once.
    if (policy == MissedRunPolicy::kRunOnce && !decision.missed_capped) {
        decision.kind = Kind::kEnqueue;
        decision.missed -= 1;
    } else {
        decision.kind = Kind::kRecordSkip;
    }
    return decision;
}

}  // namespace resque::scheduler
