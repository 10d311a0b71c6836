#pragma once

// Starting and reaping child processes, shared by run_process, spawn_process and
// RedisServer.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace resque::test::detail {

/// Descriptors the child gets as stdin, stdout and stderr. The caller keeps ownership;
/// descriptors should be close-on-exec so that no other child inherits them.
struct ChildStdio {
    int in = -1;
    int out = -1;
    int err = -1;
};

/// Forks and execs `argv` (PATH lookup when argv[0] has no '/') with the inherited
/// environment plus `env` ("K=V", overriding), in a new process group whose id is the
/// child's pid. The child gets SIGKILL when the calling thread exits, default signal
/// dispositions for SIGPIPE and an empty signal mask, and no descriptor other than its
/// stdio. Returns once the exec has happened; throws std::runtime_error naming the
/// program when the fork or the exec fails (the failed child is reaped).
int start_child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                ChildStdio stdio);

/// Waits for `pid` to exit and returns its exit status, or 128 + signal; -1 when `pid`
/// is not a child of ours (already reaped).
int reap(int pid) noexcept;

/// Waits at most `deadline` for `pid` to exit; returns the exit code as reap() does, or
/// nullopt when it is still running.
std::optional<int> reap_within(int pid, std::chrono::milliseconds deadline) noexcept;

}  // namespace resque::test::detail
