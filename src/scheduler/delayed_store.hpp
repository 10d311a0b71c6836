#pragma once

// The delayed-job commands shared by DelayedQueue (the client API) and the Scheduler
// (which moves due jobs), over a caller-owned connection. Layout: resque/delayed.hpp.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/delayed.hpp"

namespace resque::scheduler {

/// Writes `entry` (a `{"class","args","queue"}` text) due at `epoch`, atomically.
void push_delayed(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                  const std::string& entry);

/// What one pass over the due timestamps did.
struct MoveResult {
    std::size_t moved = 0;    ///< entries pushed onto their queues
    std::size_t invalid = 0;  ///< entries set aside in `cpp:delayed_invalid`
};

/// Moves every entry due at or before `now_epoch` to its queue, `batch` entries per
/// script call, oldest timestamp first. Safe to run in several processes at once: an
/// entry is moved by exactly one of them. Returns when nothing due is left.
MoveResult move_due(redis::Connection& redis, const redis::Keys& keys, long long now_epoch,
                    std::size_t batch);

/// Moves every entry due at `epoch` to its queue, whatever the time, `batch` per script
/// call, until the list is gone (the dashboard's "enqueue now" for one time).
MoveResult move_time(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                     std::size_t batch);

/// An entry ready to move: its queue ("" when unusable) and the `{"class","args"}`
/// payload resque-scheduler rebuilds when it enqueues (the `queue` key dropped).
struct Move {
    std::string queue;
    std::string payload;
};
Move plan_move(const std::string& entry);

/// The earliest due time in the zset, if any.
std::optional<long long> earliest_time(redis::Connection& redis, const redis::Keys& keys);

/// Decodes a stored entry; `queue` is empty and `job.class_name` empty when it is not
/// a usable entry.
DelayedJob decode_entry(long long epoch, std::string raw);

}  // namespace resque::scheduler
