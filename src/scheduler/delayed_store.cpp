#include "scheduler/delayed_store.hpp"

#include <fmt/format.h>

#include <cassert>
#include <string>
#include <vector>

#include "json/ruby_json.hpp"
#include "log.hpp"
#include "resque/errors.hpp"

namespace resque::scheduler {

Move plan_move(const std::string& entry) {
    try {
        const nlohmann::json decoded = json::parse(entry, "delayed entry");
        const auto queue = decoded.find("queue");
        const auto class_name = decoded.find("class");
        if (!decoded.is_object() || queue == decoded.end() || !queue->is_string() ||
            queue->get_ref<const std::string&>().empty() || class_name == decoded.end() ||
            !class_name->is_string() || class_name->get_ref<const std::string&>().empty()) {
            return {};
        }
        // Args are copied digit for digit (canonicalize), never through a double.
        const std::string_view args = json::raw_member(entry, "args");
        std::string payload = "{\"class\":";
        json::append_string(payload, class_name->get_ref<const std::string&>());
        payload += ",\"args\":";
        payload += args.empty() || args == "null" ? "[]" : json::canonicalize(args);
        payload += '}';
        return {queue->get<std::string>(), std::move(payload)};
    } catch (const PayloadError&) {
        return {};
    }
}

namespace {

// Runs the before hooks for one planned move. A veto empties the payload (the script
// drops the entry); a throwing hook empties the queue instead, so the entry is set aside
// in `cpp:delayed_invalid` where it can be found, rather than lost or retried forever.
void run_before_hooks(const Hooks& hooks, Move& move, long long epoch) {
    try {
        const Job job = decode_payload(move.payload);
        hooks.run_before_delayed_enqueue(move.queue, job);
        if (!hooks.run_before_enqueue(move.queue, job)) move.payload.clear();
    } catch (const std::exception& error) {
        log::get("scheduler")
            ->error("enqueue hook raised for a due delayed job; set aside: {} queue={} at={}",
                    error.what(), move.queue, epoch);
        move.queue.clear();
    }
}

// Runs after_enqueue for the jobs a script call pushed. The jobs are in their queues
// already, so a throwing hook is logged and the others still run.
void run_after_hooks(const Hooks& hooks, const std::vector<Move>& moves) {
    for (const Move& move : moves) {
        if (move.queue.empty() || move.payload.empty()) continue;
        try {
            hooks.run_after_enqueue(move.queue, decode_payload(move.payload));
        } catch (const std::exception& error) {
            log::get("scheduler")
                ->error("after_enqueue hook raised for a moved delayed job: {} queue={}",
                        error.what(), move.queue);
        }
    }
}

// What one script call did: the counts, and how many entries remain at the timestamp.
struct BatchOutcome {
    MoveResult result;
    long long left = 0;
};

// One script call for up to `batch` entries at the head of timestamp `epoch`. Returns
// nullopt when another scheduler changed the list meanwhile.
std::optional<BatchOutcome> move_batch(redis::Connection& redis, const redis::Keys& keys,
                                       long long epoch, std::size_t batch, const Hooks* hooks) {
    const std::string list = keys.delayed(epoch);
    const auto entries =
        redis.command({"LRANGE", list, "0", std::to_string(batch - 1)}).as_strings();
    const bool with_hooks = hooks != nullptr && hooks->has_enqueue_hooks();

    BatchOutcome outcome;
    std::vector<Move> moves;
    moves.reserve(entries.size());
    for (const std::string& entry : entries) {
        Move move = plan_move(entry);
        const bool usable = !move.queue.empty();
        if (with_hooks && usable) run_before_hooks(*hooks, move, epoch);
        if (move.queue.empty()) {
            ++outcome.result.invalid;
            // A throwing hook was logged already, with its reason.
            if (!usable) {
                log::get("scheduler")
                    ->warn("delayed entry is not a job with a queue; set aside in {} at={} "
                           "bytes={}",
                           keys.delayed_invalid(), epoch, entry.size());
            }
        } else if (move.payload.empty()) {
            ++outcome.result.vetoed;
        } else {
            ++outcome.result.moved;
        }
        moves.push_back(std::move(move));
    }

    std::vector<std::string> args{std::to_string(epoch), keys.key("")};
    args.reserve(2 + 3 * entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        args.push_back(entries[i]);
        args.push_back(moves[i].queue);
        args.push_back(moves[i].payload);
    }
    const std::vector<std::string> key_list{list, keys.delayed_schedule(), keys.queues(),
                                            keys.delayed_invalid()};
    outcome.left = redis.eval("delayed_move.lua", key_list, args).as_integer();
    if (outcome.left < 0) return std::nullopt;
    if (with_hooks) run_after_hooks(*hooks, moves);
    return outcome;
}

// Moves timestamp `epoch` batch by batch until its list is gone.
void drain_timestamp(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                     std::size_t batch, const Hooks* hooks, MoveResult& total) {
    for (;;) {
        // A lost race (nullopt) just means reading the head again.
        const auto outcome = move_batch(redis, keys, epoch, batch, hooks);
        if (!outcome) continue;
        total.moved += outcome->result.moved;
        total.invalid += outcome->result.invalid;
        total.vetoed += outcome->result.vetoed;
        if (outcome->left == 0) return;
    }
}

}  // namespace

void push_delayed(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                  const std::string& entry) {
    const std::vector<std::string> key_list{keys.delayed(epoch), keys.delayed_timestamps(entry),
                                            keys.delayed_schedule()};
    const std::vector<std::string> args{entry, std::to_string(epoch)};
    redis.eval("delayed_push.lua", key_list, args);
}

void push_delayed_many(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                       std::span<const std::string> entries) {
    assert(entries.size() <= kMaxPushBatch);
    if (entries.empty()) return;
    const std::vector<std::string> key_list{keys.delayed(epoch), keys.delayed_schedule()};
    std::vector<std::string> args{std::to_string(epoch), keys.key("")};
    args.insert(args.end(), entries.begin(), entries.end());
    redis.eval("delayed_push_many.lua", key_list, args);
}

MoveResult move_due(redis::Connection& redis, const redis::Keys& keys, long long now_epoch,
                    std::size_t batch, const Hooks* hooks) {
    MoveResult total;
    for (;;) {
        const auto due = redis
                             .command({"ZRANGEBYSCORE", keys.delayed_schedule(), "-inf",
                                       std::to_string(now_epoch), "LIMIT", "0", "1"})
                             .as_strings();
        if (due.empty()) return total;
        long long epoch = 0;
        try {
            epoch = std::stoll(due.front());
        } catch (const std::exception&) {
            // Not ours to interpret, and it would block every later timestamp.
            log::get("scheduler")
                ->warn("removing non-numeric member \"{}\" from {}", due.front(),
                       keys.delayed_schedule());
            redis.command({"ZREM", keys.delayed_schedule(), due.front()});
            continue;
        }
        drain_timestamp(redis, keys, epoch, batch, hooks, total);
    }
}

MoveResult move_time(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                     std::size_t batch) {
    MoveResult total;
    drain_timestamp(redis, keys, epoch, batch, nullptr, total);
    return total;
}

std::optional<long long> earliest_time(redis::Connection& redis, const redis::Keys& keys) {
    const auto first =
        redis.command({"ZRANGE", keys.delayed_schedule(), "0", "0", "WITHSCORES"}).as_strings();
    if (first.size() < 2) return std::nullopt;
    try {
        return static_cast<long long>(std::stod(first[1]));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

DelayedJob decode_entry(long long epoch, std::string raw) {
    DelayedJob job{SysSeconds{std::chrono::seconds{epoch}}, {}, {}, std::move(raw)};
    try {
        const nlohmann::json decoded = json::parse(job.raw, "delayed entry");
        if (!decoded.is_object()) return job;
        if (auto queue = decoded.find("queue"); queue != decoded.end() && queue->is_string()) {
            job.queue = queue->get<std::string>();
        }
        job.job = decode_payload(job.raw);
    } catch (const PayloadError&) {
        job.job = Job{};
    }
    return job;
}

}  // namespace resque::scheduler
