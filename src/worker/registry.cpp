#include "worker/registry.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>

#include "json/ruby_json.hpp"
#include "log.hpp"
#include "resque/errors.hpp"
#include "resque/failure.hpp"
#include "ruby_time.hpp"
#include "worker/held_batch.hpp"
#include "worker/payload_field.hpp"

namespace resque::worker {
namespace {

using Clock = ruby_time::Clock;

Clock::time_point redis_now(redis::Connection& redis) {
    auto parts = redis.command({"TIME"}).as_strings();
    return ruby_time::from_redis_time(std::stoll(parts.at(0)), std::stoll(parts.at(1)));
}

struct IdParts {
    std::string host, pid;
};

IdParts split_id(const std::string& id) {
    auto first = id.find(':');
    if (first == std::string::npos) return {id, ""};
    auto second = id.find(':', first + 1);
    return {id.substr(0, first), id.substr(first + 1, second - first - 1)};
}

bool pid_gone(const std::string& pid) {
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return false;
    long value = std::stol(pid);
    if (value <= 0) return false;
    return ::kill(static_cast<pid_t>(value), 0) != 0 && errno == ESRCH;
}

// The job a foreign (Ruby or other) dead worker held, from its Resque record, whose
// payload Ruby re-encoded canonically. Our own workers' jobs come from the in-flight
// batch instead (exact bytes).
struct HeldJob {
    std::string queue, payload;
};

std::optional<HeldJob> job_in_record(const std::string& record) {
    if (record.empty()) return std::nullopt;
    try {
        auto parsed = json::parse(record, "worker record");
        std::string queue = parsed.value("queue", "");
        auto payload = json::raw_member(record, "payload");
        if (queue.empty() || payload.empty()) return std::nullopt;
        if (payload.front() == '"') return HeldJob{queue, parsed["payload"].get<std::string>()};
        return HeldJob{queue, json::canonicalize(payload)};
    } catch (const std::exception& error) {
        log::worker()->warn("unreadable job record of dead worker: {}", error.what());
        return std::nullopt;
    }
}

std::string dirty_exit_record(const std::string& id, const HeldJob& job) {
    FailureRecord record;
    record.failed_at = ruby_time::failure_time(Clock::now());
    record.payload_json = payload_field(job.payload);
    record.exception = "Resque::PruneDeadWorkerDirtyExit";
    record.error =
        "Worker " + id + " did not gracefully exit while processing " + class_of(job.payload);
    record.worker = id;
    record.queue = job.queue;
    return record.encode();
}

std::vector<std::string> worker_keys(const redis::Keys& keys, const std::string& id) {
    return {keys.workers(),
            keys.worker(id),
            keys.worker_started(id),
            keys.heartbeats(),
            keys.stat("processed", id),
            keys.stat("failed", id),
            keys.inflight(),
            keys.running_index(),
            keys.failed(),
            keys.queues(),
            keys.landing(id),
            keys.landing_queues()};
}

}  // namespace

std::string local_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

std::string make_worker_id(const std::string& hostname, const std::string& queue_part) {
    return hostname + ":" + std::to_string(::getpid()) + ":" + queue_part;
}

void register_worker(redis::Connection& redis, const redis::Keys& keys, const std::string& id) {
    std::vector<redis::Command> commands{
        {"SADD", keys.workers(), id},
        {"SET", keys.worker_started(id), ruby_time::time_to_s(Clock::now())},
    };
    redis.pipeline(commands);
}

void heartbeat(redis::Connection& redis, const redis::Keys& keys, const std::string& id) {
    std::string beat = ruby_time::iso8601_local(redis_now(redis));
    std::vector<redis::Command> commands{
        {"HSET", keys.heartbeats(), id, beat},
        {"SADD", keys.workers(), id},
        {"SET", keys.worker_started(id), ruby_time::time_to_s(Clock::now()), "NX"},
    };
    redis.pipeline(commands);
}

void unregister_worker(redis::Connection& redis, const redis::Keys& keys, const std::string& id) {
    // Expect "no job": the caller holds none. If a record or batch is still there the
    // script would refuse, so say so and recover it instead of dropping it.
    auto record = redis.command({"GET", keys.worker(id)}).as_optional_string();
    auto inflight = redis.command({"HGET", keys.inflight(), id}).as_optional_string();
    if (record || inflight) {
        log::worker()->error("worker {} unregistering while still holding a job; recovering it",
                             id);
        recover_worker(redis, keys, id, RecoveryPolicy::kRequeue);
        return;
    }
    auto key_list = worker_keys(keys, id);
    std::vector<std::string> args{id, "", "", "", "none", "", keys.queue_prefix(), "", ""};
    redis.eval("recover.lua", key_list, args);
}

bool recover_worker(redis::Connection& redis, const redis::Keys& keys, const std::string& id,
                    RecoveryPolicy policy) {
    std::vector<redis::Command> reads{{"HGET", keys.inflight(), id},
                                      {"HGET", keys.running_index(), id},
                                      {"GET", keys.worker(id)}};
    auto replies = redis.pipeline(reads);
    std::string stored = replies[0].as_optional_string().value_or("");
    std::string running = replies[1].as_optional_string().value_or("");
    std::string record = replies[2].as_optional_string().value_or("");

    // The running job: the entry the running index names in our batch, or the job in a
    // foreign worker's record. With our batch and no record, another pruner settled it.
    std::optional<HeldJob> job;
    std::size_t held = 0;
    if (!stored.empty()) {
        auto batch = parse_held_batch(stored);
        if (!batch) {
            log::worker()->error(
                "unreadable in-flight batch of worker {} ({} bytes); leaving "
                "it for inspection",
                id, stored.size());
            return false;
        }
        held = batch->entries.size();
        std::size_t index = running.empty() ? 0 : std::stoul(running);
        if (!record.empty() && index < batch->entries.size()) {
            job = HeldJob{batch->entries[index].queue, batch->entries[index].payload};
        }
    } else {
        job = job_in_record(record);
        held = job ? 1 : 0;
    }

    std::string action = held == 0                            ? "none"
                         : policy == RecoveryPolicy::kRequeue ? "requeue"
                                                              : "fail";
    std::vector<std::string> args{id,
                                  stored,
                                  running,
                                  record,
                                  action,
                                  job && action == "fail" ? dirty_exit_record(id, *job) : "",
                                  keys.queue_prefix(),
                                  job && stored.empty() ? job->payload : "",
                                  job && stored.empty() ? job->queue : ""};
    auto key_list = worker_keys(keys, id);
    bool acted = redis.eval("recover.lua", key_list, args).as_integer() == 1;
    if (acted) {
        log::worker()->info("pruned dead worker worker={} held_jobs={} running_job={}", id, held,
                            job ? action + " queue=" + job->queue : std::string("none"));
    }
    return acted;
}

int prune_dead_workers(redis::Connection& redis, const redis::Keys& keys, const PruneRules& rules) {
    const redis::Command take_lock{"SET", keys.prune_lock(), rules.pruner_id, "NX", "EX", "60"};
    auto lock = redis.command(take_lock);
    if (lock.is_nil()) {
        // A pruner killed mid-prune would keep every other from recovering anything for
        // the lock's 60 s. A lock whose holder is a process of this host that is gone is
        // released (only if it still names that holder) and taken once more.
        auto holder = redis.command({"GET", keys.prune_lock()}).as_optional_string();
        if (!holder) return 0;
        auto parts = split_id(*holder);
        if (parts.host != rules.hostname || !pid_gone(parts.pid)) return 0;
        std::vector<std::string> k{keys.prune_lock()}, a{*holder};
        redis.eval("release_lock.lua", k, a);
        log::worker()->info("released the prune lock of dead worker {}", *holder);
        lock = redis.command(take_lock);
        if (lock.is_nil()) return 0;
    }

    int pruned = 0;
    try {
        auto now = redis_now(redis);
        auto members = redis.command({"SMEMBERS", keys.workers()}).as_strings();
        auto flat = redis.command({"HGETALL", keys.heartbeats()}).as_strings();
        std::map<std::string, std::string> beats;
        for (std::size_t i = 0; i + 1 < flat.size(); i += 2) beats[flat[i]] = flat[i + 1];

        std::set<std::string> candidates(members.begin(), members.end());
        for (const auto& [id, beat] : beats) candidates.insert(id);
        // A batch whose holder is neither registered nor beating was orphaned: Ruby's
        // pruner unregistered a dead worker of ours (settling at most the job its record
        // named) without knowing about the rest of the batch.
        std::set<std::string> orphans;
        for (const auto& hash : {keys.inflight(), keys.landing_queues()}) {
            for (auto& id : redis.command({"HKEYS", hash}).as_strings()) {
                if (!candidates.contains(id)) orphans.insert(id);
            }
        }
        candidates.insert(orphans.begin(), orphans.end());
        for (const auto& id : candidates) {
            if (id == rules.pruner_id) continue;
            bool dead = orphans.contains(id);
            if (auto beat = beats.find(id); beat != beats.end()) {
                auto at = ruby_time::parse_heartbeat(beat->second);
                if (!at) {
                    log::worker()->warn("unreadable heartbeat \"{}\" worker={}; not pruning by age",
                                        beat->second, id);
                } else {
                    dead = now - *at > rules.prune_after;
                }
            }
            auto parts = split_id(id);
            bool local = parts.host == rules.hostname;
            if (local && orphans.contains(id)) dead = pid_gone(parts.pid);
            dead = dead || (local && pid_gone(parts.pid));
            if (dead && recover_worker(redis, keys, id, rules.recovery)) ++pruned;
        }
    } catch (...) {
        std::vector<std::string> k{keys.prune_lock()}, a{rules.pruner_id};
        redis.eval("release_lock.lua", k, a);
        throw;
    }
    std::vector<std::string> k{keys.prune_lock()}, a{rules.pruner_id};
    redis.eval("release_lock.lua", k, a);
    return pruned;
}

}  // namespace resque::worker
