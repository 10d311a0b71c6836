#pragma once

// The leader lock shared with resque-scheduler (../shared/PROTOCOL.md 3.3): one key whose
// value names the holder (`host:pid`), with an expiry. Taken with SET NX PX, renewed by
// a compare-and-extend script, released by compare-and-delete, so a process only ever
// extends or deletes its own lock, never one a successor took after ours expired.

#include <chrono>
#include <string>

#include "redis/connection.hpp"

namespace resque::scheduler {

class LeaderLock {
 public:
    LeaderLock(std::string key, std::string identity, std::chrono::milliseconds ttl);

    /// Takes the lock if free, or renews it if ours. Returns whether we hold it.
    bool acquire_or_renew(redis::Connection& redis);
    /// Deletes the lock if it is still ours. Returns whether it was.
    bool release(redis::Connection& redis);
    /// Who holds the lock now (the key's value), if anyone.
    [[nodiscard]] std::optional<std::string> holder(redis::Connection& redis) const;

    [[nodiscard]] const std::string& key() const noexcept { return key_; }
    [[nodiscard]] const std::string& identity() const noexcept { return identity_; }

 private:
    std::string key_;
    std::string identity_;
    std::chrono::milliseconds ttl_;
};

/// `<hostname>:<pid>`, the lock value resque-scheduler writes.
std::string default_identity();

}  // namespace resque::scheduler
