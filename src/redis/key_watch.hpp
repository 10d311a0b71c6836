#pragma once

// Wake-ups on changes to a few named keys, through Redis keyspace notifications: the
// scheduler sleeps until its next due time but wakes at once when any client (Ruby's
// enqueue_at included) adds a delayed time or changes a schedule. A notification only
// wakes; the caller then reads Redis. If the server refuses CONFIG SET, `enabled()` is
// false and the caller relies on its bounded sleep instead.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "resque/redis_options.hpp"

struct redisContext;

namespace resque::redis {

class KeyWatch {
 public:
    /// Subscribes to the keyspace channels of `keys` (full key names). `event_flags` are
    /// the notify-keyspace-events classes needed besides `K` (e.g. "zs" for zsets and
    /// sets); they are added to the server's setting when missing. Throws
    /// ConnectionError if Redis is unreachable.
    KeyWatch(const RedisOptions& options, const std::vector<std::string>& keys,
             std::string_view event_flags, int wake_fd);
    ~KeyWatch();
    KeyWatch(const KeyWatch&) = delete;
    KeyWatch& operator=(const KeyWatch&) = delete;

    [[nodiscard]] bool enabled() const noexcept { return context_ != nullptr; }

    /// Waits until a watched key changed, `wake_fd` became readable, or `timeout`
    /// passed; returns true if a key changed (notifications drained). Throws
    /// ConnectionError if the subscription dropped (the caller re-creates it).
    bool wait(std::chrono::milliseconds timeout);

 private:
    struct ContextDeleter {
        void operator()(redisContext* context) const noexcept;
    };

    RedisOptions options_;
    std::unique_ptr<redisContext, ContextDeleter> context_;
    int wake_fd_;
};

}  // namespace resque::redis
