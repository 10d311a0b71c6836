#pragma once

// The scheduler process: moves due delayed jobs to their queues and enqueues recurring
// schedules, with one leader among any number of scheduler processes (C++ or Ruby's
// resque-scheduler) sharing a Redis.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resque/hooks.hpp"
#include "resque/redis_options.hpp"
#include "resque/schedule.hpp"

namespace resque {

/// What a new leader does with recurring runs that fell due while no scheduler ran.
enum class MissedRunPolicy {
    kSkip,     ///< log them and go on from the next run (resque-scheduler's behaviour)
    kRunOnce,  ///< log them and enqueue one run now, however many were missed
};

/// How a scheduler runs.
struct SchedulerOptions {
    /// Static schedules (e.g. from load_schedule_file). Persisted schedules in Redis
    /// (ScheduleStore) are added to these; a persisted entry wins on a name clash.
    std::vector<Schedule> schedules;
    /// Zone for cron expressions without one (an IANA name).
    std::string default_zone = "UTC";
    /// Leader lock expiry (resque-scheduler: 180 s). The leader renews it every third of
    /// this; a follower takes over at most this long after the leader dies.
    std::chrono::milliseconds lock_ttl{std::chrono::seconds(30)};
    /// Extra segment of the lock key (RESQUE_SCHEDULER_MASTER_LOCK_PREFIX).
    std::string lock_prefix;
    /// Delayed jobs moved per script call (DELAYED_REQUEUE_BATCH_SIZE; Ruby's default is
    /// 100). A call of 1,000 holds Redis for a few milliseconds and moves a dense second
    /// about twice as fast as 100 (bench/scheduler_lag, docs/performance.md).
    std::size_t batch_size = 1000;
    /// A recurring run overdue by more than this counts as missed (see policy); a run
    /// overdue by less (a leader change, a busy moment) is enqueued, late but once.
    std::chrono::seconds missed_after{60};
    MissedRunPolicy missed_runs = MissedRunPolicy::kSkip;
    /// Longest sleep between looks at Redis when nothing is due and no notification
    /// arrives (a safety net; wake-ups come from the earliest due time and notifications).
    std::chrono::milliseconds max_sleep{std::chrono::seconds(1)};
    /// Lock value; empty means `<hostname>:<pid>` as resque-scheduler writes it.
    std::string identity;
    /// "Now" (injectable for tests); default: the system clock.
    std::function<std::chrono::system_clock::time_point()> clock;
    /// Enqueue hooks, run on the scheduler's thread as resque-scheduler runs a loaded
    /// class's hooks (the `resque scheduler` command has none):
    ///  - a recurring run: before_enqueue (a veto records the run as done, nothing is
    ///    enqueued), then after_enqueue once it is in its queue. A run another scheduler
    ///    took first ran the before hooks here too, but not after_enqueue.
    ///  - a due delayed job: before_delayed_enqueue, then before_enqueue (a veto drops
    ///    the job, as Ruby's popped-then-vetoed job is gone), after_enqueue once moved.
    ///    Hooks run per job around the batched move, which stays one script call per
    ///    batch; before hooks run again for a batch that lost a race and is re-read.
    ///  A before hook that throws counts as a veto for a recurring run (Ruby logs and
    ///  loses that run too) and sets a delayed job aside in `<ns>:cpp:delayed_invalid`;
    ///  an after_enqueue that throws is logged. Neither stops the scheduler.
    /// Without enqueue hooks nothing is decoded and moves cost no more.
    Hooks hooks;
};

/// One scheduler process's loop.
///
/// Duties, every turn:
///  1. Take or renew the leader lock `<ns>:<ns>:[<prefix>:]resque_scheduler_master_lock`
///     (SET NX PX; renewed by a compare-and-extend script). Followers only wait.
///  2. As leader, reload schedules when `schedules_changed` says so (and on gaining
///     the lead).
///  3. As leader, move every due delayed job to its queue, a batch per script call;
///     the script pops only the entries it was shown, so two schedulers never move one
///     entry twice.
///  4. As leader, enqueue each due recurring run together with its run record
///     (`<ns>:cpp:schedule_runs`, compare-and-set on the run time), so no run is
///     enqueued twice and a new leader continues where the old one stopped.
///  5. Sleep until the earliest of: the next due delayed time, the next recurring run,
///     the lock renewal, a keyspace notification that a delayed time was added, or
///     `max_sleep`.
/// On stop: release the lock if it is still ours (compare-and-delete).
///
/// Redis outages are logged once and retried; the lock is given up meanwhile.
class Scheduler {
 public:
    /// Throws ConfigError for unusable options (zero TTL, zero batch size).
    Scheduler(RedisOptions redis, SchedulerOptions options);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Runs until stop() is called. Blocks.
    void run();
    /// Ends run() after the current step. Safe from any thread or a signal watcher.
    void stop() noexcept;
    /// Installs TERM, INT and QUIT handlers that call stop() (a signal-watching thread;
    /// call before run()).
    void handle_signals();

    /// Whether this process held the lock at its last look.
    [[nodiscard]] bool leader() const noexcept;

 private:
    struct State;
    std::unique_ptr<State> state_;
};

/// The next `count` run times of `schedule` after `after` (for `resque schedule next`).
/// `last_run` anchors `every` schedules; without it they count from `after`.
[[nodiscard]] std::vector<SysSeconds> next_runs(const Schedule& schedule, SysSeconds after,
                                                std::size_t count,
                                                std::optional<SysSeconds> last_run = {});

}  // namespace resque
