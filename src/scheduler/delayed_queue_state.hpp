#pragma once

// DelayedQueue's private state, shared by its two files: delayed_queue.cpp (adding,
// removing by job, counting) and delayed_entries.cpp (listing and acting on single
// stored entries for the dashboard).

#include <functional>
#include <mutex>
#include <utility>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/delayed.hpp"

namespace resque {

struct DelayedQueue::State {
    State(RedisOptions options, Clock clock_function)
        : keys(options.key_namespace),
          clock(clock_function ? std::move(clock_function)
                               : [] { return std::chrono::system_clock::now(); }),
          connection(std::move(options)) {}

    template <typename Use>
    decltype(auto) with_connection(Use&& use) {
        std::lock_guard lock(mutex);
        return std::forward<Use>(use)(connection);
    }

    redis::Keys keys;
    Clock clock;
    std::mutex mutex;  // guards connection: hiredis contexts are single-threaded
    redis::Connection connection;
};

}  // namespace resque
