#pragma once

// A worker's presence in Redis, in Resque's layout: registration (`workers`,
// `worker:<id>:started`), heartbeat (`workers:heartbeat`), unregistration, and pruning
// of workers found dead, whose in-flight jobs are requeued or failed exactly once.

#include <chrono>
#include <string>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/worker.hpp"

namespace resque::worker {

/// `host:pid:queues` for this process.
std::string make_worker_id(const std::string& hostname, const std::string& queue_part);
/// gethostname(), as Ruby's Socket.gethostname.
std::string local_hostname();

/// Rules for deciding that a registered worker is dead.
struct PruneRules {
    std::string hostname;                   ///< this host (for the pid check)
    std::chrono::milliseconds prune_after;  ///< heartbeat age (Redis clock)
    RecoveryPolicy recovery = RecoveryPolicy::kRequeue;
    std::string pruner_id;                  ///< our id, stored in the prune lock
};

/// SADD workers + SET worker:<id>:started, pipelined, as Ruby does at startup.
void register_worker(redis::Connection& redis, const redis::Keys& keys, const std::string& id);
/// HSET workers:heartbeat with Redis's clock in Ruby's format; also re-adds the id to
/// `workers` (idempotent), so a worker whose Redis lost its data re-registers itself.
void heartbeat(redis::Connection& redis, const redis::Keys& keys, const std::string& id);
/// Removes every key of the worker (Resque's six-key cleanup) and its in-flight entry,
/// in one atomic step. Call only when no job is held.
void unregister_worker(redis::Connection& redis, const redis::Keys& keys, const std::string& id);

/// Takes the cluster-wide prune lock that Ruby workers also honour
/// (`pruning_dead_workers_in_progress`, SET NX), finds dead workers (heartbeat older
/// than `prune_after` by Redis time, or on this host with a pid that no longer exists),
/// settles each one's job and unregisters it, then releases the lock. Returns how many
/// workers were pruned; 0 when another process holds the lock.
int prune_dead_workers(redis::Connection& redis, const redis::Keys& keys,
                       const PruneRules& rules);

/// Settles one dead worker (used by prune_dead_workers and `resque workers --remove`).
/// Returns true if it acted, false if the worker's state changed meanwhile.
bool recover_worker(redis::Connection& redis, const redis::Keys& keys, const std::string& id,
                    RecoveryPolicy policy);

}  // namespace resque::worker
