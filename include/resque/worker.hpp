#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resque/failure.hpp"
#include "resque/handler.hpp"
#include "resque/hooks.hpp"
#include "resque/redis_options.hpp"

namespace resque {

/// What happens to the job of a worker found dead.
enum class RecoveryPolicy {
    kRequeue,  ///< back at the head of its queue (default; at-least-once)
    kFail,     ///< a `Resque::DirtyExit` failure record, as Ruby Resque does
};

/// How one worker (or a pool of them) runs.
struct WorkerOptions {
    /// Queue list in priority order. `*` and globs (`mail-*`) expand against
    /// `<ns>:queues` on every reservation, each expansion sorted; `!pattern` excludes.
    std::vector<std::string> queues;
    /// Number of workers. Each runs in a process of its own (forked by run()), because
    /// Resque's tools identify a worker by `host:pid:queues` and Ruby's pruner checks
    /// that pid; threads would share one id.
    int concurrency = 1;
    /// Stop when every queue is empty (after finishing in-flight work).
    bool until_empty = false;
    /// Heartbeat period (Ruby writes every 60 s) and the age after which a worker of any
    /// host counts as dead (Ruby: 300 s).
    std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(10)};
    std::chrono::milliseconds prune_after{std::chrono::seconds(300)};
    /// Longest idle wait before looking at the queues again even without a wake-up.
    std::chrono::milliseconds idle_poll{std::chrono::seconds(1)};
    /// Longest blocking pop of an idle worker with one queue (see docs/architecture.md).
    /// Redis hands the pop every push, whatever command made it, and signals, pauses and
    /// queue-set changes cut it short, so it needs no safety net and waits longer than
    /// idle_poll: each end of the wait costs a few commands (Ruby Resque polls every 5 s).
    std::chrono::milliseconds idle_block{std::chrono::seconds(5)};
    /// How long TERM/INT let a running job finish before it is stopped and recorded.
    std::chrono::milliseconds shutdown_grace{std::chrono::seconds(10)};
    /// Most jobs a worker takes from its queues at once. Jobs are taken one at a time
    /// while they are slow; while each takes a small part of `prefetch_budget`, more are
    /// taken together (up to this many) to save round trips. All held jobs are recorded
    /// against the worker atomically and recovered like the running one. 1 = one at a
    /// time always (strict queue priority between every two jobs).
    int prefetch = 64;
    /// About how much work one batch holds (see prefetch).
    std::chrono::microseconds prefetch_budget{2000};
    /// Where C++ handlers run unless their class says otherwise (JobSettings): kThread or
    /// kFork (kExec is for programs only; WorkerPool throws ConfigError). Programs always
    /// run as kExec.
    Isolation isolation = Isolation::kThread;
    /// Time limit of jobs whose class sets none; unset means unlimited.
    std::optional<std::chrono::milliseconds> job_timeout;
    /// After a timed-out child gets SIGTERM, how long before SIGKILL (Resque's
    /// RESQUE_TERM_TIMEOUT, default 4 s there).
    std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
    RecoveryPolicy recovery = RecoveryPolicy::kRequeue;
    FailureBackendKind failure_backend = FailureBackendKind::kRedis;
    /// Host name used in worker ids; empty means gethostname().
    std::string hostname;
};

/// A pool of `concurrency` workers. With one, the worker runs in the calling process;
/// with more, run() forks one process per worker, supervises them (a worker process
/// that dies is replaced) and forwards stop signals.
///
/// Duties, in order:
///  1. Prune dead workers (Resque's rules) and recover their in-flight jobs.
///  2. Register every worker (`workers`, `worker:<id>:started`, heartbeat).
///  3. Loop: reserve the next job atomically (queue and worker record in one step),
///     perform it with hooks, record the outcome (stats, failure), repeat; idle workers
///     sleep until Redis tells them a queue changed.
///  4. On stop: finish or stop the job in flight (per signal), unregister, run stop hooks.
///
/// Invariant: from the moment a job leaves its queue until its outcome is recorded it is
/// in `worker:<id>`; recovery moves it back (or to `failed`) exactly once.
class WorkerPool {
 public:
    WorkerPool(RedisOptions redis, WorkerOptions options, HandlerRegistry handlers,
               Hooks hooks = {});
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Runs until stopped (or, with until_empty, until the queues are drained). Blocks.
    /// Throws ConfigError for unusable options; Redis outages are retried, not thrown.
    void run();

    /// Finish the job in flight, then stop (QUIT). Safe from any thread or a signal
    /// watcher.
    void stop_gracefully() noexcept;
    /// Stop now: a job in flight gets `shutdown_grace`, then is recorded (TERM, INT).
    void stop_now() noexcept;
    /// Abort the current jobs (USR1); workers go on.
    void abort_current_jobs() noexcept;
    /// Stop / resume taking jobs (USR2 / CONT).
    void pause() noexcept;
    void resume() noexcept;

    /// Installs handlers for QUIT, TERM, INT, USR1, USR2 and CONT with Resque's meanings
    /// (a signal-watching thread; call before run()).
    void handle_signals();

    /// Called in the worker process with Resque-style status text ("Starting",
    /// "Waiting for high,low", "Processing high since 1764765000", "Paused") whenever its
    /// state changes; the CLI rewrites the process title with it. Optional.
    void set_title_function(std::function<void(const std::string& status)> title);

 private:
    struct State;
    std::unique_ptr<State> state_;
};

/// Prunes dead workers now, as a starting worker does (see WorkerPool, duty 1): takes
/// Resque's prune lock, unregisters workers whose heartbeat is older than `prune_after`
/// (Redis clock) or whose pid on this host is gone, and requeues or fails each one's
/// in-flight job exactly once. Returns how many were pruned (0 if another process holds
/// the lock). Throws RedisError when Redis cannot be reached.
int prune_dead_workers(const RedisOptions& redis, RecoveryPolicy recovery,
                       std::chrono::milliseconds prune_after = std::chrono::seconds(300));

}  // namespace resque
