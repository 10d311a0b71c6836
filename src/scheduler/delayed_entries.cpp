// DelayedQueue, the dashboard's side: due times listed a page at a time with their first
// jobs, and single stored entries found, removed or enqueued now by their exact content
// (FC-12: a position in a timestamp list shifts whenever the scheduler or another
// operator takes an entry out of it).

#include <string>
#include <vector>

#include "resque/delayed.hpp"
#include "resque/errors.hpp"
#include "scheduler/delayed_queue_state.hpp"
#include "scheduler/delayed_store.hpp"

namespace resque {

using redis::Command;

namespace {

// Jobs a due time holds, and its entries from `offset`, in one round trip.
DelayedTime read_time(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                      long long offset, long long count) {
    const std::string list = keys.delayed(epoch);
    const std::vector<Command> reads{
        {"LLEN", list},
        {"LRANGE", list, std::to_string(offset), std::to_string(offset + count - 1)}};
    const auto replies = redis.pipeline(reads);
    DelayedTime time{SysSeconds{std::chrono::seconds{epoch}}, replies[0].as_integer(), {}};
    for (auto& raw : replies[1].as_strings()) {
        time.jobs.push_back(scheduler::decode_entry(epoch, std::move(raw)));
    }
    return time;
}

// Runs delayed_take.lua: one copy of `raw` out of time `epoch`, pushed to `move.queue`
// unless that is empty.
bool take(redis::Connection& redis, const redis::Keys& keys, long long epoch, std::string_view raw,
          const scheduler::Move& move) {
    const std::string entry(raw);
    const std::vector<std::string> key_list{keys.delayed(epoch), keys.delayed_timestamps(entry),
                                            keys.delayed_schedule(), keys.queues(),
                                            keys.queue(move.queue)};
    const std::vector<std::string> args{std::to_string(epoch), entry, move.queue, move.payload};
    return redis.eval("delayed_take.lua", key_list, args).as_integer() == 1;
}

long long epoch_of(SysSeconds at) { return at.time_since_epoch().count(); }

}  // namespace

std::vector<DelayedTime> DelayedQueue::times(long long offset, long long count,
                                             std::size_t jobs_per_time) {
    if (offset < 0 || count <= 0) return {};
    return state_->with_connection([&](redis::Connection& redis) {
        const auto members =
            redis
                .command({"ZRANGE", state_->keys.delayed_schedule(), std::to_string(offset),
                          std::to_string(offset + count - 1)})
                .as_strings();
        std::vector<DelayedTime> times;
        for (const auto& member : members) {
            long long epoch = 0;
            try {
                epoch = std::stoll(member);
            } catch (const std::logic_error&) {
                continue;  // not a time: it names no list of ours
            }
            times.push_back(
                read_time(redis, state_->keys, epoch, 0, static_cast<long long>(jobs_per_time)));
        }
        return times;
    });
}

DelayedTime DelayedQueue::jobs_at(SysSeconds at, long long offset, long long count) {
    if (offset < 0 || count <= 0) return {at, 0, {}};
    return state_->with_connection([&](redis::Connection& redis) {
        return read_time(redis, state_->keys, epoch_of(at), offset, count);
    });
}

std::optional<DelayedJob> DelayedQueue::find_at(SysSeconds at, std::string_view digest) {
    const std::vector<std::string> key_list{state_->keys.delayed(epoch_of(at))};
    const std::vector<std::string> args{std::string(digest)};
    auto raw = state_->with_connection([&](redis::Connection& redis) {
        return redis.eval("delayed_find.lua", key_list, args).as_optional_string();
    });
    if (!raw) return std::nullopt;
    return scheduler::decode_entry(epoch_of(at), std::move(*raw));
}

bool DelayedQueue::remove_at(SysSeconds at, std::string_view raw) {
    return state_->with_connection(
        [&](redis::Connection& redis) { return take(redis, state_->keys, epoch_of(at), raw, {}); });
}

bool DelayedQueue::enqueue_now_at(SysSeconds at, std::string_view raw) {
    const scheduler::Move move = scheduler::plan_move(std::string(raw));
    if (move.queue.empty()) {
        throw PayloadError(
            "delayed entry is not a job with a class and a queue; "
            "it can only be removed");
    }
    return state_->with_connection([&](redis::Connection& redis) {
        return take(redis, state_->keys, epoch_of(at), raw, move);
    });
}

std::size_t DelayedQueue::enqueue_all_now_at(SysSeconds at) {
    return state_->with_connection([&](redis::Connection& redis) {
        // The scheduler's own batch size; each batch is one script call.
        return scheduler::move_time(redis, state_->keys, epoch_of(at), 100).moved;
    });
}

}  // namespace resque
