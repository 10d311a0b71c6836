#pragma once

// Turning on the keyspace notifications a waiter needs (`notify-keyspace-events`),
// shared by the workers' queue subscription and the scheduler's key watch.

#include <string_view>

#include "redis/connection.hpp"

namespace resque::redis {

/// Adds `K` and each class in `needed` (e.g. "ls" for lists and sets) to the server's
/// notify-keyspace-events when missing, keeping what is set. Returns false, after a
/// warning on `logger` naming the refusal and saying `fallback`, when the server
/// refuses CONFIG (a managed Redis, a renamed command).
bool enable_keyspace_events(Connection& connection, std::string_view needed,
                            std::string_view logger, std::string_view fallback);

}  // namespace resque::redis
