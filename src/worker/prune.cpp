#include <unistd.h>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/worker.hpp"
#include "worker/registry.hpp"

namespace resque {

int prune_dead_workers(const RedisOptions& redis, RecoveryPolicy recovery,
                       std::chrono::milliseconds prune_after) {
    redis::Connection connection(redis);
    redis::Keys keys(redis.key_namespace);
    std::string host = worker::local_hostname();
    // Not a worker: the lock holder id names this process and says what it is.
    std::string pruner = host + ":" + std::to_string(::getpid()) + ":prune";
    return worker::prune_dead_workers(connection, keys, {host, prune_after, recovery, pruner});
}

}  // namespace resque
