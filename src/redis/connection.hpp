#pragma once

// The one place that talks to hiredis. Every hiredis failure becomes a typed exception
// here (ConnectionError, TimeoutError, ReplyError, ProtocolError), and no hiredis pointer
// leaves this file's implementation.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "redis/reply.hpp"
#include "resque/redis_options.hpp"

struct redisContext;

namespace resque::redis {

/// A command as a list of arguments (binary-safe).
using Command = std::vector<std::string>;

/// One synchronous connection to Redis. Not thread-safe: one thread uses a Connection at a
/// time (each worker has its own).
///
/// A command that fails because the connection dropped throws ConnectionError (or
/// TimeoutError) and marks the connection broken; the next command reconnects first
/// (one attempt, then throws). Retrying with backoff is the caller's policy.
class Connection {
 public:
    explicit Connection(RedisOptions options);
    ~Connection();
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;

    /// Sends one command and waits for its reply.
    Reply command(std::span<const std::string_view> argv);
    Reply command(std::initializer_list<std::string_view> argv);
    Reply command(const Command& argv);

    /// Sends every command back to back, then reads every reply (not a transaction).
    /// An error reply for one command is thrown after all replies were read.
    std::vector<Reply> pipeline(std::span<const Command> commands);

    /// Sends one command now without waiting for its reply (written to the socket at
    /// once). Its reply is read, and discarded, before the next command's; an error
    /// reply to it is counted in deferred_errors(), a dropped connection surfaces on the
    /// next command. For writes whose outcome the caller does not act on.
    void send(const Command& argv);
    /// send() for several commands, written together in one write(): Redis runs them
    /// back to back, before any other client's command, unless the socket splits them.
    void send(std::span<const Command> commands);
    /// Reads the reply to the oldest send() command still unread, waiting for it (a
    /// caller of a blocking command polls socket() first). An error reply throws.
    Reply read_sent();
    /// The connected socket, to poll while a blocking command sent with send() waits;
    /// -1 when not connected.
    [[nodiscard]] int socket() const noexcept;
    /// send() of the embedded script `name` by EVALSHA (loaded first if needed, which
    /// waits). A server that lost its scripts meanwhile makes it a deferred error.
    void send_eval(std::string_view name, std::span<const std::string> keys,
                   std::span<const std::string> args);
    /// Error replies to send() commands seen so far.
    [[nodiscard]] long long deferred_errors() const noexcept { return deferred_errors_; }

    /// Runs the embedded Lua script `name` (file name under src/redis/scripts) with
    /// EVALSHA, loading it on first use and again after NOSCRIPT (e.g. after a restart).
    Reply eval(std::string_view name, std::span<const std::string> keys,
               std::span<const std::string> args);

    /// Sets the read timeout for the next commands (for blocking commands); `nullopt`
    /// restores the configured command timeout.
    void set_read_timeout(std::optional<std::chrono::milliseconds> timeout);

    /// Drops the connection now; the next command reconnects.
    void disconnect() noexcept;
    /// Connects if not connected (AUTH, SELECT included). Throws ConnectionError.
    void ensure_connected();
    [[nodiscard]] bool connected() const noexcept { return context_ != nullptr; }
    /// Hands the hiredis context to the caller (only src/redis uses this, to turn a
    /// connected, authenticated connection into a subscription). Leaves this disconnected.
    [[nodiscard]] redisContext* release_context() noexcept;

    [[nodiscard]] const RedisOptions& options() const noexcept { return options_; }

 private:
    struct ContextDeleter {
        void operator()(redisContext* context) const noexcept;
    };

    void connect();
    Reply read_reply(std::string_view what);
    void append(std::span<const std::string_view> argv, std::string_view what);
    void discard_deferred();
    [[noreturn]] void fail_io(std::string_view what);
    std::string_view load_script(std::string_view name);

    RedisOptions options_;
    std::unique_ptr<redisContext, ContextDeleter> context_;
    std::unordered_map<std::string, std::string> script_shas_;  // name -> sha1
    int deferred_ = 0;                                          // replies to send() not yet read
    long long deferred_errors_ = 0;
};

/// Text of the embedded script `name`; throws std::logic_error if there is none.
std::string_view embedded_script(std::string_view name);

}  // namespace resque::redis
