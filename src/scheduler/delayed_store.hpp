#pragma once

// The delayed-job commands shared by DelayedQueue (the client API) and the Scheduler
// (which moves due jobs), over a caller-owned connection. Layout: resque/delayed.hpp.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/delayed.hpp"
#include "resque/hooks.hpp"

namespace resque::scheduler {

/// Writes `entry` (a `{"class","args","queue"}` text) due at `epoch`, atomically.
void push_delayed(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                  const std::string& entry);

/// Most entries one push_delayed_many call takes (delayed_push_many.lua unpacks them).
inline constexpr std::size_t kMaxPushBatch = 1000;

/// Writes `entries` due at `epoch` in one script call, as push_delayed writes each.
/// At most kMaxPushBatch entries.
void push_delayed_many(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                       std::span<const std::string> entries);

/// What one pass over the due timestamps did.
struct MoveResult {
    std::size_t moved = 0;    ///< entries pushed onto their queues
    std::size_t invalid = 0;  ///< entries set aside in `cpp:delayed_invalid`
    std::size_t vetoed = 0;   ///< entries dropped because a before_enqueue hook said no
};

/// Moves every entry due at or before `now_epoch` to its queue, `batch` entries per
/// script call, oldest timestamp first. Safe to run in several processes at once: an
/// entry is moved by exactly one of them. Returns when nothing due is left.
///
/// With `hooks` holding enqueue hooks, each entry's job is decoded and its
/// before_delayed_enqueue and before_enqueue hooks run before the script call (a veto
/// drops the entry), after_enqueue after it. Before-hooks can run again for an entry
/// whose batch lost a race to another scheduler (it is read and offered again);
/// after_enqueue runs once, in the process that moved it.
MoveResult move_due(redis::Connection& redis, const redis::Keys& keys, long long now_epoch,
                    std::size_t batch, const Hooks* hooks = nullptr);

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
