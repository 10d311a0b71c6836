#pragma once

// A worker pool running in a background thread of the test process, against the test's
// private redis-server, with C++ handlers the test registers.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "resque/client.hpp"
#include "resque/worker.hpp"

namespace resque::test {

inline RedisOptions options_for(const RedisServer& server) {
    return parse_redis_url(server.url());
}

/// Runs a WorkerPool (concurrency 1, in this process) until stop() or destruction.
class RunningWorker {
   public:
    RunningWorker(const RedisServer& server, WorkerOptions options, HandlerRegistry handlers,
                  Hooks hooks = {})
        : pool_(std::make_unique<WorkerPool>(options_for(server), std::move(options),
                                             std::move(handlers), std::move(hooks))),
          thread_([this] { pool_->run(); }) {}
    ~RunningWorker() { stop(); }

    void stop() {
        if (!thread_.joinable()) return;
        pool_->stop_gracefully();
        thread_.join();
    }
    WorkerPool& pool() { return *pool_; }

   private:
    std::unique_ptr<WorkerPool> pool_;
    std::thread thread_;
};

/// Records what handlers saw, thread-safely.
class Journal {
   public:
    void add(std::string entry) {
        std::lock_guard lock(mutex_);
        entries_.push_back(std::move(entry));
    }
    std::vector<std::string> entries() const {
        std::lock_guard lock(mutex_);
        return entries_;
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return entries_.size();
    }
    /// Records a job as `<queue>:<args JSON>`.
    void record(const JobContext& job) { add(job.queue + ":" + std::string(job.args_json)); }

   private:
    mutable std::mutex mutex_;  // guards entries_
    std::vector<std::string> entries_;
};

/// Handlers with one class, "Echo", that records each job in `journal`.
inline HandlerRegistry echo_handlers(Journal& journal) {
    HandlerRegistry handlers;
    handlers.add("Echo", [&journal](const JobContext& job) { journal.record(job); });
    return handlers;
}

inline WorkerOptions fast_options(std::vector<std::string> queues) {
    WorkerOptions options;
    options.queues = std::move(queues);
    options.idle_poll = std::chrono::milliseconds(200);
    options.heartbeat_interval = std::chrono::milliseconds(500);
    options.shutdown_grace = std::chrono::seconds(2);
    return options;
}

}  // namespace resque::test
