#include "scheduler/delayed_store.hpp"

#include <fmt/format.h>

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

// Limitation: no enqueue hooks run for moved jobs (resque-scheduler runs the class's
// before_delayed_enqueue and enqueue hooks); the scheduler process has no job classes.

// One script call for up to `batch` entries at the head of timestamp `epoch`. Returns
// the entries handled, or nullopt when another scheduler changed the list meanwhile.
std::optional<MoveResult> move_batch(redis::Connection& redis, const redis::Keys& keys,
                                     long long epoch, std::size_t batch) {
    const std::string list = keys.delayed(epoch);
    const auto entries =
        redis.command({"LRANGE", list, "0", std::to_string(batch - 1)}).as_strings();

    MoveResult result;
    std::vector<std::string> args{std::to_string(epoch), keys.key("")};
    for (const std::string& entry : entries) {
        Move move = plan_move(entry);
        if (move.queue.empty()) {
            ++result.invalid;
            log::get("scheduler")
                ->warn("delayed entry is not a job with a queue; set aside in {} at={} bytes={}",
                       keys.delayed_invalid(), epoch, entry.size());
        } else {
            ++result.moved;
        }
        args.push_back(entry);
        args.push_back(std::move(move.queue));
        args.push_back(std::move(move.payload));
    }
    const std::vector<std::string> key_list{list, keys.delayed_schedule(), keys.queues(),
                                            keys.delayed_invalid()};
    if (redis.eval("delayed_move.lua", key_list, args).as_integer() < 0) return std::nullopt;
    return result;
}

}  // namespace

void push_delayed(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                  const std::string& entry) {
    const std::vector<std::string> key_list{keys.delayed(epoch), keys.delayed_timestamps(entry),
                                            keys.delayed_schedule()};
    const std::vector<std::string> args{entry, std::to_string(epoch)};
    redis.eval("delayed_push.lua", key_list, args);
}

MoveResult move_due(redis::Connection& redis, const redis::Keys& keys, long long now_epoch,
                    std::size_t batch) {
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
        // Batches until the timestamp is gone; a lost race just means reading again.
        if (auto moved = move_batch(redis, keys, epoch, batch)) {
            total.moved += moved->moved;
            total.invalid += moved->invalid;
        }
    }
}

MoveResult move_time(redis::Connection& redis, const redis::Keys& keys, long long epoch,
                     std::size_t batch) {
    MoveResult total;
    for (;;) {
        // An empty batch still runs the script: it drops the emptied timestamp.
        const auto moved = move_batch(redis, keys, epoch, batch);
        if (!moved) continue;  // the list changed meanwhile: read it again
        if (moved->moved + moved->invalid == 0) return total;
        total.moved += moved->moved;
        total.invalid += moved->invalid;
    }
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
