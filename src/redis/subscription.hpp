#pragma once

// Wake-ups for idle workers without polling: a connection subscribed to Redis keyspace
// notifications for the namespace's queue keys. Any client's RPUSH/LPUSH to a queue
// (Ruby, node-resque, redis-cli) produces a notification, so enqueuers need no
// cooperation. One subscription per worker process; notifications only wake the
// worker, which then reserves atomically (a notification is never taken as a job).

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "resque/redis_options.hpp"

struct redisContext;

namespace resque::redis {

class Subscription {
   public:
    /// Connects and subscribes. If the server's `notify-keyspace-events` lacks the
    /// classes needed it tries `CONFIG SET` to add them; if that is refused, `enabled()` is false
    /// and callers fall back to polling. Throws ConnectionError if Redis is unreachable.
    Subscription(const RedisOptions& options, int wake_fd);
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    /// Whether notifications will arrive (false: the server refused CONFIG SET).
    [[nodiscard]] bool enabled() const noexcept { return enabled_; }
    /// The subscribed socket, to poll beside others; -1 when not subscribed.
    [[nodiscard]] int socket() const noexcept;

    /// Waits until a queue changed, `wake_fd` became readable, or `timeout` passed
    /// (0: only drains what has arrived). Drains pending notifications. Returns true if
    /// a queue-set change (SADD/SREM on `<ns>:queues`) was seen, so glob expansions can
    /// be refreshed. Throws ConnectionError if the subscription dropped (the caller
    /// re-creates it).
    bool wait(std::chrono::milliseconds timeout);

    /// Names of the queues that may have gained jobs (any list event but a pop, trim
    /// or removal) since the last call, in arrival order, possibly repeated.
    std::vector<std::string> take_pushed() { return std::exchange(pushed_, {}); }
    /// Whether `<ns>:pause-all-workers` changed since the last call.
    bool take_pause_changed() { return std::exchange(pause_changed_, false); }

   private:
    struct ContextDeleter {
        void operator()(redisContext* context) const noexcept;
    };
    bool drain();

    RedisOptions options_;
    std::unique_ptr<redisContext, ContextDeleter> context_;
    int wake_fd_;
    bool enabled_ = false;
    std::string queues_channel_;
    std::string queue_channel_prefix_;  // `__keyspace@<db>__:<ns>:queue:`
    std::string pause_channel_;
    std::vector<std::string> pushed_;
    bool pause_changed_ = false;
};

}  // namespace resque::redis
