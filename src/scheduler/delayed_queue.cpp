// DelayedQueue: resque-scheduler's delayed-job client API (../shared/PROTOCOL.md 3.1)
// over the layout of 3.2.

#include <fmt/format.h>

#include <map>
#include <set>

#include "json/ruby_json.hpp"
#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/delayed.hpp"
#include "resque/errors.hpp"
#include "scheduler/delayed_queue_state.hpp"
#include "scheduler/delayed_store.hpp"

namespace resque {

using redis::Command;
using std::chrono::system_clock;

namespace {

long long epoch_of(system_clock::time_point at) {
    return std::chrono::floor<std::chrono::seconds>(at.time_since_epoch()).count();
}

void require_queue(std::string_view queue) {
    if (queue.empty()) throw UsageError("queue name must not be empty");
}

// Every (timestamp, entry) pair, oldest first, in pipelined groups of 100 timestamps.
template <typename Visit>
void for_each_entry(redis::Connection& redis, const redis::Keys& keys, Visit&& visit) {
    const auto times = redis.command({"ZRANGE", keys.delayed_schedule(), "0", "-1"}).as_strings();
    for (std::size_t start = 0; start < times.size(); start += 100) {
        std::vector<Command> reads;
        std::vector<long long> epochs;
        for (std::size_t i = start; i < times.size() && i < start + 100; ++i) {
            try {
                epochs.push_back(std::stoll(times[i]));
            } catch (const std::exception&) {
                continue;  // a member that is not a time holds no list of ours
            }
            reads.push_back({"LRANGE", keys.delayed(epochs.back()), "0", "-1"});
        }
        const auto replies = redis.pipeline(reads);
        for (std::size_t i = 0; i < replies.size(); ++i) {
            for (auto& entry : replies[i].as_strings()) visit(epochs[i], entry);
        }
    }
}

std::size_t remove_every_copy(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                              const std::string& entry) {
    const std::vector<std::string> key_list{keys.delayed(epoch), keys.delayed_timestamps(entry),
                                            keys.delayed_schedule()};
    const std::vector<std::string> args{std::to_string(epoch), entry};
    return static_cast<std::size_t>(
        redis.eval("delayed_remove_at.lua", key_list, args).as_integer());
}

// SADD + RPUSH per run of jobs [begin, end) bound for one queue, as Client::enqueue_many
// sends them. Payloads are moved into the commands.
std::vector<Command> push_commands(const redis::Keys& keys,
                                   std::vector<std::pair<std::string_view, std::string>>& jobs,
                                   std::size_t begin, std::size_t end) {
    std::vector<Command> commands;
    for (std::size_t i = begin; i < end;) {
        const std::string_view queue = jobs[i].first;
        commands.push_back({"SADD", keys.queues(), std::string(queue)});
        Command push{"RPUSH", keys.queue(queue)};
        for (; i < end && jobs[i].first == queue; ++i) push.push_back(std::move(jobs[i].second));
        commands.push_back(std::move(push));
    }
    return commands;
}

}  // namespace

DelayedQueue::DelayedQueue(RedisOptions options, Clock clock)
    : state_(std::make_unique<State>(std::move(options), std::move(clock))) {}

DelayedQueue::~DelayedQueue() = default;

std::string DelayedQueue::encode_entry(std::string_view queue, const Job& job) {
    // Ruby encodes {"class","args","queue"}: the payload with the queue appended.
    std::string entry = encode_payload(job);
    entry.pop_back();
    entry += ",\"queue\":";
    json::append_string(entry, queue);
    entry += '}';
    return entry;
}

DelayOutcome DelayedQueue::enqueue_at(std::string_view queue, system_clock::time_point at,
                                      const Job& job) {
    return enqueue_raw_at(queue, at, encode_payload(job));
}

DelayOutcome DelayedQueue::enqueue_raw_at(std::string_view queue, system_clock::time_point at,
                                          std::string_view raw) {
    require_queue(queue);
    (void)decode_payload(raw);  // a valid job, or PayloadError naming the problem
    const std::string payload = json::canonicalize(raw);
    const long long epoch = epoch_of(at);
    if (epoch <= epoch_of(state_->clock())) {
        // resque-scheduler enqueues a job whose time has come at once.
        state_->with_connection([&](redis::Connection& redis) {
            const std::vector<Command> push{{"SADD", state_->keys.queues(), std::string(queue)},
                                            {"RPUSH", state_->keys.queue(queue), payload}};
            redis.pipeline(push);
        });
        return DelayOutcome::kEnqueuedNow;
    }
    // Ruby's entry is {"class","args","queue"}: the payload with the queue appended.
    std::string entry = payload;
    entry.pop_back();
    entry += ",\"queue\":";
    json::append_string(entry, queue);
    entry += '}';
    state_->with_connection([&](redis::Connection& redis) {
        scheduler::push_delayed(redis, state_->keys, epoch, entry);
    });
    return DelayOutcome::kDelayed;
}

DelayCounts DelayedQueue::enqueue_many_at(std::span<const TimedJob> jobs, std::size_t batch_size) {
    if (batch_size == 0 || batch_size > scheduler::kMaxPushBatch) {
        throw UsageError(
            fmt::format("enqueue_many_at: batch_size must be 1 to {}", scheduler::kMaxPushBatch));
    }
    // Encode everything before the first write; group by due time, keeping order.
    const long long now = epoch_of(state_->clock());
    std::map<long long, std::vector<std::string>> delayed;
    std::vector<std::pair<std::string_view, std::string>> due_now;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (jobs[i].queue.empty()) throw UsageError(fmt::format("job {}: empty queue name", i));
        try {
            const long long epoch = epoch_of(jobs[i].at);
            if (epoch <= now) {
                due_now.emplace_back(jobs[i].queue, encode_payload(jobs[i].job));
            } else {
                delayed[epoch].push_back(encode_entry(jobs[i].queue, jobs[i].job));
            }
        } catch (const PayloadError& error) {
            throw PayloadError(fmt::format("job {}: {}", i, error.what()));
        }
    }

    DelayCounts counts{jobs.size() - due_now.size(), due_now.size()};
    for (const auto& [epoch, entries] : delayed) {
        for (std::size_t begin = 0; begin < entries.size(); begin += batch_size) {
            const auto batch =
                std::span(entries).subspan(begin, std::min(batch_size, entries.size() - begin));
            state_->with_connection([&](redis::Connection& redis) {
                scheduler::push_delayed_many(redis, state_->keys, epoch, batch);
            });
        }
    }
    for (std::size_t begin = 0; begin < due_now.size(); begin += batch_size) {
        const std::size_t end = std::min(due_now.size(), begin + batch_size);
        const auto commands = push_commands(state_->keys, due_now, begin, end);
        state_->with_connection([&](redis::Connection& redis) { redis.pipeline(commands); });
    }
    return counts;
}

DelayOutcome DelayedQueue::enqueue_in(std::string_view queue, system_clock::duration delay,
                                      const Job& job) {
    return enqueue_at(queue, state_->clock() + delay, job);
}

std::size_t DelayedQueue::remove(std::string_view queue, const Job& job) {
    require_queue(queue);
    const std::string entry = encode_entry(queue, job);
    return state_->with_connection([&](redis::Connection& redis) {
        const auto members =
            redis.command({"SMEMBERS", state_->keys.delayed_timestamps(entry)}).as_strings();
        std::size_t removed = 0;
        for (const std::string& member : members) {
            // Members read `delayed:<epoch>`, without the namespace.
            try {
                removed +=
                    remove_every_copy(redis, state_->keys, std::stoll(member.substr(8)), entry);
            } catch (const std::logic_error&) {
                continue;  // not a timestamp member; nothing of ours to remove
            }
        }
        redis.command({"DEL", state_->keys.delayed_timestamps(entry)});
        return removed;
    });
}

std::size_t DelayedQueue::remove_class(std::string_view class_name) {
    return state_->with_connection([&](redis::Connection& redis) {
        std::set<std::pair<long long, std::string>> matches;
        for_each_entry(redis, state_->keys, [&](long long epoch, const std::string& entry) {
            if (scheduler::decode_entry(epoch, entry).job.class_name == class_name) {
                matches.emplace(epoch, entry);
            }
        });
        std::size_t removed = 0;
        for (const auto& [epoch, entry] : matches) {
            removed += remove_every_copy(redis, state_->keys, epoch, entry);
        }
        return removed;
    });
}

std::size_t DelayedQueue::clear() {
    return state_->with_connection([&](redis::Connection& redis) {
        std::set<std::string> doomed;
        std::size_t count = 0;
        for_each_entry(redis, state_->keys, [&](long long epoch, const std::string& entry) {
            doomed.insert(state_->keys.delayed(epoch));
            doomed.insert(state_->keys.delayed_timestamps(entry));
            ++count;
        });
        doomed.insert(state_->keys.delayed_schedule());
        for (const std::string& key : doomed) redis.command({"DEL", key});
        return count;
    });
}

long long DelayedQueue::count() {
    return state_->with_connection([&](redis::Connection& redis) {
        const auto times =
            redis.command({"ZRANGE", state_->keys.delayed_schedule(), "0", "-1"}).as_strings();
        std::vector<Command> lengths;
        for (const auto& time : times)
            lengths.push_back({"LLEN", state_->keys.key("delayed:" + time)});
        long long total = 0;
        for (const auto& reply : redis.pipeline(lengths)) total += reply.as_integer();
        return total;
    });
}

long long DelayedQueue::timestamp_count() {
    return state_->with_connection([&](redis::Connection& redis) {
        return redis.command({"ZCARD", state_->keys.delayed_schedule()}).as_integer();
    });
}

std::vector<DelayedJob> DelayedQueue::list(long long offset, std::size_t limit) {
    return state_->with_connection([&](redis::Connection& redis) {
        std::vector<DelayedJob> jobs;
        for (long long start = offset; jobs.size() < limit; start += 20) {
            const auto times = redis
                                   .command({"ZRANGE", state_->keys.delayed_schedule(),
                                             std::to_string(start), std::to_string(start + 19)})
                                   .as_strings();
            if (times.empty()) break;
            for (const auto& time : times) {
                long long epoch = 0;
                try {
                    epoch = std::stoll(time);
                } catch (const std::exception&) {
                    continue;
                }
                const auto left = static_cast<long long>(limit - jobs.size());
                if (left <= 0) break;
                for (auto& raw : redis
                                     .command({"LRANGE", state_->keys.delayed(epoch), "0",
                                               std::to_string(left - 1)})
                                     .as_strings()) {
                    jobs.push_back(scheduler::decode_entry(epoch, std::move(raw)));
                }
            }
        }
        return jobs;
    });
}

std::vector<SysSeconds> DelayedQueue::times_of(std::string_view queue, const Job& job) {
    require_queue(queue);
    const std::string entry = encode_entry(queue, job);
    return state_->with_connection([&](redis::Connection& redis) {
        std::vector<SysSeconds> times;
        for (const auto& member :
             redis.command({"SMEMBERS", state_->keys.delayed_timestamps(entry)}).as_strings()) {
            try {
                times.emplace_back(std::chrono::seconds{std::stoll(member.substr(8))});
            } catch (const std::logic_error&) {
                continue;
            }
        }
        std::sort(times.begin(), times.end());
        return times;
    });
}

std::optional<SysSeconds> DelayedQueue::next_time() {
    return state_->with_connection([&](redis::Connection& redis) -> std::optional<SysSeconds> {
        if (auto epoch = scheduler::earliest_time(redis, state_->keys)) {
            return SysSeconds{std::chrono::seconds{*epoch}};
        }
        return std::nullopt;
    });
}

std::optional<std::chrono::seconds> DelayedQueue::overdue() {
    const auto next = next_time();
    const auto now = std::chrono::floor<std::chrono::seconds>(state_->clock());
    if (!next || *next > now) return std::nullopt;
    return now - *next;
}

}  // namespace resque
