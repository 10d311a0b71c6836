// Client: registered workers, counters and the global pause flag, read as Resque's own
// tools read them (../shared/PROTOCOL.md sections 1.8, 2.4, 2.5 and Resque.info).

#include <algorithm>
#include <cctype>
#include <charconv>

#include "client_state.hpp"
#include "pause_value.hpp"

namespace resque {
namespace {

using redis::Command;

// Resque's counters are decimal strings; anything else (or nothing) reads as 0.
long long counter(const redis::Reply& reply) {
    if (reply.is_nil()) return 0;
    if (reply.type == redis::Reply::Type::kInteger) return reply.integer;
    long long value = 0;
    const std::string& text = reply.str;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size() ? value : 0;
}

// `host:pid:queues`, split into at most three parts as Resque's lookups do; the queue
// part keeps any further ':'.
void split_worker_id(WorkerInfo& worker) {
    const std::string_view id = worker.id;
    const auto first = id.find(':');
    worker.host = std::string(id.substr(0, first));
    if (first == std::string_view::npos) return;

    const auto second = id.find(':', first + 1);
    worker.pid = std::string(id.substr(first + 1, second - (first + 1)));
    if (second != std::string_view::npos) worker.queues = std::string(id.substr(second + 1));
}

// The five reads behind one worker's row, in the order `make_worker` consumes them.
void append_worker_reads(const redis::Keys& keys, const std::string& id,
                         std::vector<Command>& commands) {
    commands.push_back({"GET", keys.worker(id)});
    commands.push_back({"GET", keys.worker_started(id)});
    commands.push_back({"HGET", keys.heartbeats(), id});
    commands.push_back({"GET", keys.stat("processed", id)});
    commands.push_back({"GET", keys.stat("failed", id)});
}

WorkerInfo make_worker(std::string id, std::span<const redis::Reply, 5> replies) {
    WorkerInfo worker;
    worker.id = std::move(id);
    split_worker_id(worker);
    worker.job_json = replies[0].as_optional_string().value_or("");
    worker.started = replies[1].as_optional_string().value_or("");
    worker.heartbeat = replies[2].as_optional_string().value_or("");
    worker.processed = counter(replies[3]);
    worker.failed = counter(replies[4]);
    return worker;
}

}  // namespace

std::vector<WorkerInfo> Client::workers() {
    const auto& keys = state_->keys();
    return state_->with_connection([&](redis::Connection& redis) {
        auto ids = redis.command({"SMEMBERS", keys.workers()}).as_strings();
        std::sort(ids.begin(), ids.end());
        if (ids.empty()) return std::vector<WorkerInfo>{};

        std::vector<Command> reads;
        for (const auto& id : ids) append_worker_reads(keys, id, reads);
        const auto replies = redis.pipeline(reads);

        std::vector<WorkerInfo> workers;
        workers.reserve(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const std::span<const redis::Reply, 5> row(replies.data() + 5 * i, 5);
            workers.push_back(make_worker(std::move(ids[i]), row));
        }
        return workers;
    });
}

Stats Client::stats() {
    const auto& keys = state_->keys();
    const std::vector<Command> first{
        {"SMEMBERS", keys.queues()},  {"SMEMBERS", keys.workers()}, {"GET", keys.stat("processed")},
        {"GET", keys.stat("failed")}, {"LLEN", keys.failed()},
    };
    return state_->with_connection([&](redis::Connection& redis) {
        const auto replies = redis.pipeline(first);
        const auto queues = replies[0].as_strings();
        const auto workers = replies[1].as_strings();

        // Second round: every queue's length, then every worker's running-job record.
        std::vector<Command> second;
        for (const auto& queue : queues) second.push_back({"LLEN", keys.queue(queue)});
        for (const auto& id : workers) second.push_back({"GET", keys.worker(id)});
        const auto sizes = second.empty() ? std::vector<redis::Reply>{} : redis.pipeline(second);

        Stats stats;
        stats.queues = static_cast<long long>(queues.size());
        stats.workers = static_cast<long long>(workers.size());
        stats.processed = counter(replies[2]);
        stats.failed_stat = counter(replies[3]);
        stats.failed = replies[4].as_integer();
        for (std::size_t i = 0; i < queues.size(); ++i) stats.pending += sizes[i].as_integer();
        for (std::size_t i = queues.size(); i < sizes.size(); ++i) {
            if (!sizes[i].as_optional_string().value_or("").empty()) ++stats.working;
        }
        return stats;
    });
}

void Client::set_paused(bool paused) {
    const std::string key = state_->keys().pause_all();
    state_->with_connection([&](redis::Connection& redis) {
        if (paused) {
            redis.command({"SET", key, "true"});
        } else {
            redis.command({"DEL", key});
        }
    });
}

bool Client::paused() {
    const std::string key = state_->keys().pause_all();
    const auto value = state_->with_connection([&](redis::Connection& redis) {
        return redis.command({"GET", key}).as_optional_string();
    });
    return pauses_workers(value);
}

}  // namespace resque
