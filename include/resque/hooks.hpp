#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "resque/job.hpp"

namespace resque {

/// Raised by a before_perform hook to skip a job quietly: no perform, no failure; the job
/// still counts as processed (Resque's `Resque::Job::DontPerform`).
class DontPerform : public std::exception {
 public:
    const char* what() const noexcept override { return "DontPerform"; }
};

/// What a failed job is handed to `on_failure` hooks with.
struct FailureInfo {
    std::string exception;  ///< class-like name: `RuntimeError`, `Resque::DirtyExit`, ...
    std::string error;      ///< message
};

/// Named extension points, run with Resque's semantics (docs/hooks.md):
///
/// - `before_enqueue`: all run; any returning false vetoes the push (nothing written).
/// - `after_enqueue`, `after_dequeue`: run after the Redis write; exceptions propagate.
/// - `before_delayed_enqueue` (resque-scheduler's): before a scheduler moves a due
///   delayed job to its queue, ahead of that move's before_enqueue hooks; cannot veto.
///   A Scheduler given these Hooks runs the enqueue hooks for the jobs it moves and the
///   recurring runs it enqueues (see resque/scheduler.hpp for when they may repeat).
/// - `before_dequeue`: any returning false vetoes the removal.
/// - `before_perform`: throwing DontPerform skips the job; any other exception fails it.
/// - `around_perform`: the first registered is outermost; each must call `next()`, or
///   perform is skipped (after_perform still runs, as in Resque).
/// - `after_perform`: only after a successful perform; an exception fails the job.
/// - `on_failure`: whenever a failure is recorded for the job by this process.
/// - worker hooks: `worker_start` (after registration), `worker_stop` (after
///   unregistering), `before_pause`, `after_pause`, `queue_empty`, `shutdown`.
/// - fork hooks (Resque's, PROTOCOL.md 1.6): `before_first_fork` once per worker at
///   startup, after pruning and before registering (in every mode, as Resque does);
///   `before_fork` in the worker before each fork-mode job's child is forked (an
///   exception fails the job, nothing is forked); `after_fork` in the child, before the
///   perform hooks (an exception fails the job). Thread and exec jobs run neither.
///
/// Hooks of one kind run in registration order. Register hooks before starting workers;
/// running hooks is then thread-safe (registration is not).
class Hooks {
 public:
    using JobPredicate = std::function<bool(std::string_view queue, const Job&)>;
    using JobAction = std::function<void(std::string_view queue, const Job&)>;
    using Around =
        std::function<void(std::string_view queue, const Job&, const std::function<void()>& next)>;
    using FailureAction =
        std::function<void(std::string_view queue, const Job&, const FailureInfo&)>;
    using WorkerAction = std::function<void(std::string_view worker_id)>;

    void before_enqueue(JobPredicate hook) { before_enqueue_.push_back(std::move(hook)); }
    void after_enqueue(JobAction hook) { after_enqueue_.push_back(std::move(hook)); }
    void before_delayed_enqueue(JobAction hook) {
        before_delayed_enqueue_.push_back(std::move(hook));
    }
    void before_dequeue(JobPredicate hook) { before_dequeue_.push_back(std::move(hook)); }
    void after_dequeue(JobAction hook) { after_dequeue_.push_back(std::move(hook)); }
    void before_perform(JobAction hook) { before_perform_.push_back(std::move(hook)); }
    void around_perform(Around hook) { around_perform_.push_back(std::move(hook)); }
    void after_perform(JobAction hook) { after_perform_.push_back(std::move(hook)); }
    void on_failure(FailureAction hook) { on_failure_.push_back(std::move(hook)); }
    void worker_start(WorkerAction hook) { worker_start_.push_back(std::move(hook)); }
    void worker_stop(WorkerAction hook) { worker_stop_.push_back(std::move(hook)); }
    void before_pause(WorkerAction hook) { before_pause_.push_back(std::move(hook)); }
    void after_pause(WorkerAction hook) { after_pause_.push_back(std::move(hook)); }
    void queue_empty(WorkerAction hook) { queue_empty_.push_back(std::move(hook)); }
    void shutdown(WorkerAction hook) { shutdown_.push_back(std::move(hook)); }
    void before_first_fork(WorkerAction hook) { before_first_fork_.push_back(std::move(hook)); }
    void before_fork(JobAction hook) { before_fork_.push_back(std::move(hook)); }
    void after_fork(JobAction hook) { after_fork_.push_back(std::move(hook)); }

    /// True unless a before_enqueue hook returned false. All hooks run (as in Resque).
    [[nodiscard]] bool run_before_enqueue(std::string_view queue, const Job& job) const;
    void run_after_enqueue(std::string_view queue, const Job& job) const;
    void run_before_delayed_enqueue(std::string_view queue, const Job& job) const;
    /// Whether any before/after_enqueue or before_delayed_enqueue hook is registered
    /// (the scheduler decodes moved jobs only when one is).
    [[nodiscard]] bool has_enqueue_hooks() const noexcept {
        return !before_enqueue_.empty() || !after_enqueue_.empty() ||
               !before_delayed_enqueue_.empty();
    }
    [[nodiscard]] bool run_before_dequeue(std::string_view queue, const Job& job) const;
    void run_after_dequeue(std::string_view queue, const Job& job) const;
    /// Runs before hooks, the around chain wrapping `perform`, then after hooks.
    /// Exceptions propagate (DontPerform included) for the worker to record.
    void run_perform(std::string_view queue, const Job& job,
                     const std::function<void()>& perform) const;
    /// Runs every on_failure hook; an exception from one is logged, not thrown, so the
    /// original failure is still recorded.
    void run_on_failure(std::string_view queue, const Job& job,
                        const FailureInfo& failure) const noexcept;
    enum class WorkerEvent {
        kStart,
        kStop,
        kBeforePause,
        kAfterPause,
        kQueueEmpty,
        kShutdown,
        kBeforeFirstFork
    };
    void run_worker(WorkerEvent event, std::string_view worker_id) const;
    /// Runs the before_fork (in the worker) or after_fork (in the child) hooks; the first
    /// exception propagates.
    void run_before_fork(std::string_view queue, const Job& job) const;
    void run_after_fork(std::string_view queue, const Job& job) const;

 private:
    std::vector<JobPredicate> before_enqueue_, before_dequeue_;
    std::vector<JobAction> after_enqueue_, before_delayed_enqueue_, after_dequeue_,
        before_perform_, after_perform_, before_fork_, after_fork_;
    std::vector<Around> around_perform_;
    std::vector<FailureAction> on_failure_;
    std::vector<WorkerAction> worker_start_, worker_stop_, before_pause_, after_pause_,
        queue_empty_, shutdown_, before_first_fork_;
};

}  // namespace resque
