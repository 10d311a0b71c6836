#pragma once

// The test harness's private redis-server: started on a free loopback port in its own
// temporary directory, stopped (and the directory removed) by the destructor, also when
// the test that owns it fails. Nothing here ever touches a Redis on port 6379.

#include <chrono>
#include <concepts>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "paths.hpp"

namespace resque::test {

/// Options for a private redis-server.
struct RedisServerOptions {
    bool append_only = false;        ///< `appendonly yes`, `appendfsync always`.
    std::vector<std::string> extra;  ///< Extra `--name value` pairs, passed verbatim.
};

/// A redis-server child process owned by a test. Not copyable; movable (the moved-from
/// object owns nothing). Not thread-safe: one test thread drives it, though command()
/// and flush() may be called from any thread while the server runs.
///
/// The constructor throws std::runtime_error, quoting the end of the server's log, when
/// the server cannot be started or does not answer PING within 10 seconds. The child
/// runs in its own process group and dies with the thread that started it (it gets
/// SIGKILL if that thread exits, also when the test process crashes).
class RedisServer {
   public:
    explicit RedisServer(RedisServerOptions options = {});
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;
    RedisServer(RedisServer&& other) noexcept;
    RedisServer& operator=(RedisServer&& other) noexcept;

    /// Port the server listens on (127.0.0.1).
    [[nodiscard]] int port() const noexcept { return port_; }
    /// `redis://127.0.0.1:<port>/0`.
    [[nodiscard]] std::string url() const;
    /// Directory holding the server's files (AOF, RDB, log).
    [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

    /// Stops the server with SIGKILL (no save), as a crash would, and reaps it. Does
    /// nothing when the server is not running.
    void kill();
    /// Stops the server cleanly (`SHUTDOWN NOSAVE` semantics via SIGTERM) and reaps it;
    /// falls back to SIGKILL after 10 seconds. Does nothing when it is not running.
    void stop();
    /// Starts the server again on the same port and directory (keeps AOF data). Retries
    /// for a few seconds while the port is still taken; throws like the constructor.
    void start();
    /// Runs one command with a fresh connection and returns the reply rendered as text
    /// (integers as decimal, nil as "(nil)", arrays joined by '\n'). Throws
    /// std::runtime_error when the server cannot be reached or replies with an error.
    std::string command(const std::vector<std::string>& argv) const;
    /// FLUSHALL.
    void flush() const;

   private:
    enum class Launch { kReady, kPortTaken };
    void start_on_free_port();
    Launch launch();
    void reap_or_kill(std::chrono::milliseconds grace) noexcept;
    void remove_dir() noexcept;

    RedisServerOptions options_;
    std::filesystem::path dir_;
    int port_ = 0;
    int pid_ = -1;
};

/// A TCP proxy on a free loopback port forwarding to 127.0.0.1:`target_port`, in a
/// background thread. `cut()` closes every proxied connection and refuses new ones until
/// `restore()`; used to simulate network drops between a worker and Redis.
///
/// Every member is safe to call from any thread. The destructor stops the thread and
/// closes every connection. A client whose target cannot be reached is closed at once.
class TcpProxy {
   public:
    /// Listens at once; throws std::runtime_error when no socket can be set up.
    explicit TcpProxy(int target_port);
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    /// Port the proxy listens on (127.0.0.1).
    [[nodiscard]] int port() const noexcept;
    /// `redis://127.0.0.1:<port>/0`.
    [[nodiscard]] std::string url() const;
    /// Closes every proxied connection; returns once they are closed. Until restore(),
    /// new connections are accepted and closed immediately.
    void cut();
    /// Forwards new connections again.
    void restore();

   private:
    struct State;
    std::unique_ptr<State> state_;  // pimpl keeps <thread> and <mutex> out of tests
};

/// A fresh temporary directory (under std::filesystem::temp_directory_path()) removed
/// recursively by the destructor. The constructor throws std::runtime_error on failure.
class TempDir {
   public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

   private:
    std::filesystem::path path_;
};

/// Polls `condition` every few milliseconds until it returns true or `deadline` passes;
/// returns the final value. Tests assert on the result instead of sleeping.
template <std::predicate Condition>
bool wait_until(Condition condition,
                std::chrono::milliseconds deadline = std::chrono::seconds(10));

/// Result of running a child process to completion.
struct ProcessResult {
    int exit_code = -1;  ///< exit status, or 128 + signal
    std::string out;
    std::string err;
};

/// Runs `argv` (argv[0] is a path, or a name looked up in PATH), with extra environment
/// `env` ("K=V", overriding inherited values), feeding `input` on stdin, and waits at
/// most `timeout` (then SIGKILL to the child's process group, and the result is what
/// was read until then). Never uses a shell. Throws std::runtime_error when the program
/// cannot be started. Safe to call from several threads.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env = {},
                          const std::string& input = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Starts `argv` in the background in its own process group (pgid = pid), stdin from
/// /dev/null; returns the pid. Output goes to `log_path` (stdout and stderr, appended).
/// The caller owns the child: it must signal and reap it (waitpid). The child gets
/// SIGKILL if the calling thread exits first. Throws std::runtime_error when the
/// program cannot be started.
int spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const std::filesystem::path& log_path);

}  // namespace resque::test

#include "wait_until.ipp"
