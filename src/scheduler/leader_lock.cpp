#include "scheduler/leader_lock.hpp"

#include <unistd.h>

#include <array>
#include <vector>

namespace resque::scheduler {

LeaderLock::LeaderLock(std::string key, std::string identity, std::chrono::milliseconds ttl)
    : key_(std::move(key)), identity_(std::move(identity)), ttl_(ttl) {}

bool LeaderLock::acquire_or_renew(redis::Connection& redis) {
    const std::string ttl = std::to_string(ttl_.count());
    const std::vector<std::string> keys{key_};
    const std::vector<std::string> args{identity_, ttl};
    // Renew first: the common case for a leader, and a no-op for anyone else.
    if (redis.eval("lock_extend.lua", keys, args).as_integer() == 1) return true;
    return !redis.command({"SET", key_, identity_, "NX", "PX", ttl}).is_nil();
}

bool LeaderLock::release(redis::Connection& redis) {
    const std::vector<std::string> keys{key_};
    const std::vector<std::string> args{identity_};
    return redis.eval("release_lock.lua", keys, args).as_integer() == 1;
}

std::optional<std::string> LeaderLock::holder(redis::Connection& redis) const {
    return redis.command({"GET", key_}).as_optional_string();
}

std::string default_identity() {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) != 0)
        host = {'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't'};
    return std::string(host.data()) + ":" + std::to_string(::getpid());
}

}  // namespace resque::scheduler
