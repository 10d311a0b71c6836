#pragma once

// Turning on the keyspace notifications a waiter needs (`notify-keyspace-events`),
// shared by the workers' queue subscription and the scheduler's key watch.

#include <functional>
#include <string_view>

#include "redis/connection.hpp"

struct redisContext;
struct redisReply;

namespace resque::redis {

/// Adds `K` and each class in `needed` (e.g. "ls" for lists and sets) to the server's
/// notify-keyspace-events when missing, keeping what is set. Returns false, after a
/// warning on `logger` naming the refusal and saying `fallback`, when the server
/// refuses CONFIG (a managed Redis, a renamed command).
bool enable_keyspace_events(Connection& connection, std::string_view needed,
                            std::string_view logger, std::string_view fallback);

/// Reads what has arrived on a subscribed connection (call when its socket is
/// readable) and hands each message to `on_message`. Throws ConnectionError, naming
/// `options`' server, when the connection dropped or broke the protocol; the context
/// is unusable afterwards.
void read_messages(redisContext* context, const RedisOptions& options,
                   const std::function<void(const redisReply&)>& on_message);

}  // namespace resque::redis
