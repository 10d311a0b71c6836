#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace resque {

/// Where and how to reach Redis, and which key namespace to use.
struct RedisOptions {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string unix_path;  ///< non-empty: connect to this unix socket instead of TCP
    int db = 0;
    std::string username;  ///< ACL user (Redis 6+); empty for the default user
    std::string password;  ///< never logged; see `describe()`
    std::chrono::milliseconds connect_timeout{2000};
    /// Read/write timeout for ordinary commands. Blocking commands pass their own.
    std::chrono::milliseconds command_timeout{5000};
    /// Key prefix, as redis-namespace applies it (`<ns>:queue:high`). Default `resque`.
    std::string key_namespace = "resque";

    /// The address without the password, for logs and error messages:
    /// `redis://127.0.0.1:6379/0` or `unix:///run/redis.sock?db=0`.
    [[nodiscard]] std::string describe() const;
};

/// The URL used when neither `--redis` nor `REDIS_URL` is given.
inline constexpr std::string_view kDefaultRedisUrl = "redis://127.0.0.1:6379/0";

/// Parses `redis://[user:password@]host[:port][/db]`, `unix:///path/to.sock[?db=N]` and
/// `unix:/path` (also `redis+unix://`). Percent-escapes in the user and password are
/// decoded. Throws ConfigError naming the URL (with any password replaced by `***`) and
/// the part that is wrong.
[[nodiscard]] RedisOptions parse_redis_url(std::string_view url);

/// `REDIS_URL` from the environment if set and non-empty, else kDefaultRedisUrl.
[[nodiscard]] std::string default_redis_url();

}  // namespace resque
