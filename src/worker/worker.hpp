#pragma once

#include <functional>
#include <memory>
#include <string>

#include "resque/worker.hpp"
#include "worker/control.hpp"

namespace resque::worker {

/// One worker: one Resque registration, one Redis connection for jobs, one for its
/// heartbeat, one subscription for wake-ups. Runs in the calling thread.
///
/// Duties, in order:
///  1. Connect (retrying with backoff), prune dead workers, register, heartbeat.
///  2. Loop: settle the last job and reserve the next in one atomic step; perform it;
///     when idle, sleep until a queue changes (keyspace notification) or `idle_poll`.
///  3. Honour Control: pause, graceful stop (after the job), stop now (the job gets
///     `shutdown_grace`, then is requeued and the process exits).
///  4. Settle the last job, unregister, run the stop hooks.
///
/// Redis outages are retried, logged once per outage; an outcome reached during an
/// outage is recorded after it.
class Worker {
   public:
    using TitleSetter = std::function<void(const std::string&)>;

    Worker(const RedisOptions& redis, const WorkerOptions& options,
           const HandlerRegistry& handlers, const Hooks& hooks, Control& control,
           TitleSetter title = {});
    ~Worker();

    /// Runs until stopped or (until_empty) drained. Returns the worker id it used.
    std::string run();

   private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace resque::worker
