#pragma once

// What a resque::Client holds, shared by the files that implement it (client.cpp for
// queues, client_stats.cpp for workers and stats, failure_admin.cpp for failures).

#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/client.hpp"
#include "resque/hooks.hpp"
#include "resque/redis_options.hpp"

namespace resque::detail {

/// A Client's connection, key names and hooks. Commands go through `with_connection`,
/// which holds the mutex for the whole call, so one Client may serve several threads.
/// Hooks run outside the lock: a hook may call back into the same Client.
class ClientState {
 public:
    ClientState(RedisOptions options, Hooks hooks);

    /// Runs `use(connection)` while holding the connection mutex.
    template <typename Use>
    decltype(auto) with_connection(Use&& use) {
        std::lock_guard lock(mutex_);
        return std::forward<Use>(use)(connection_);
    }

    [[nodiscard]] const RedisOptions& options() const noexcept { return options_; }
    [[nodiscard]] const Hooks& hooks() const noexcept { return hooks_; }
    [[nodiscard]] const redis::Keys& keys() const noexcept { return keys_; }
    /// A value no real failure entry equals, used to delete list entries by position
    /// (LSET to it, then LREM it) inside one script.
    [[nodiscard]] const std::string& tombstone() const noexcept { return tombstone_; }
    /// The key of failure list `name` (`failed` or `<queue>_failed`). Throws UsageError
    /// for any other name, so admin calls cannot touch unrelated keys.
    [[nodiscard]] std::string failure_list(std::string_view name) const;

 private:
    RedisOptions options_;
    Hooks hooks_;
    redis::Keys keys_;
    std::string tombstone_;
    std::mutex mutex_;  // guards connection_: hiredis contexts are single-threaded
    redis::Connection connection_;
};

/// Throws UsageError when `queue` cannot name a queue (empty).
void require_queue_name(std::string_view queue);

}  // namespace resque::detail

namespace resque {

// The pimpl is the shared state itself; helpers in the implementation files take the
// base type, since Client::State is private to Client.
struct Client::State : detail::ClientState {
    using ClientState::ClientState;
};

}  // namespace resque
