#pragma once

// Watching one child process that runs one job, until it has exited: shared by programs
// (exec isolation, program_handler.cpp) and forked C++ handlers (fork isolation,
// worker/fork_runner.cpp).
//
// One poll() loop:
//  1. feeds the job's input to the child's stdin (if it has one) and closes it;
//  2. reads stdout and stderr as they come (a child writing megabytes never blocks on a
//     full pipe), logging lines through ProgramOutput within its per-job budget, and
//     collects the report pipe (fork mode) whole, up to a cap;
//  3. enforces the timeout (SIGTERM to the child's process group, SIGKILL after
//     `kill_grace`) and the job's stop_token (SIGKILL at once: USR1, shutdown);
//  4. once the child has exited, SIGKILLs its group so that background children die with
//     it, drains the pipes for at most a short time (a child that left the group may
//     hold them open for ever), and reaps it.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "program_process.hpp"
#include "resque/handler.hpp"

namespace resque::detail {

/// The descriptors of a started child, parent's ends (non-blocking). Any may be closed.
struct ChildPipes {
    Fd stdin_pipe;
    Fd stdout_pipe;
    Fd stderr_pipe;
    Fd report_pipe;  ///< fork mode: the child's report (JSON, or a crash backtrace)
};

/// How a watched child ended.
struct ChildEnd {
    std::optional<int> status;             ///< wait status; nullopt when reaped elsewhere
    bool timed_out = false;                ///< the timeout passed and SIGTERM was sent
    bool killed_after_grace = false;       ///< ... and it was still there after kill_grace
    bool aborted = false;                  ///< the stop_token asked for it; SIGKILL sent
    std::chrono::milliseconds elapsed{0};  ///< from watch() to the child's exit
    std::string stderr_tail;               ///< the last stderr lines (ProgramOutput::stderr_tail)
    std::string report;                    ///< bytes read from report_pipe (capped at 1 MiB)
};

/// Watches `child` as the file comment describes, until it has exited and been reaped.
/// `input` is written to stdin_pipe; `timeout` (if any) counts from now; `name` names
/// the child in log lines. Never throws for what the child does; std::bad_alloc only.
ChildEnd watch_child(ChildProcess& child, ChildPipes pipes, std::string_view input,
                     std::optional<std::chrono::milliseconds> timeout, const JobContext& context,
                     std::string_view name);

/// "300ms", "30s", "5m", "1h": the largest unit that divides `duration` exactly.
std::string describe_duration(std::chrono::milliseconds duration);
/// "1.234 s": a time taken, for messages.
std::string describe_elapsed(std::chrono::milliseconds elapsed);
/// "SIGSEGV" for 11, "unknown" when the number has no name.
std::string signal_name(int number);

/// The ending of a failure message about a child that hit one of `limits`, or "" when
/// nothing suggests it did. Heuristic, stated in README: SIGXCPU with a CPU limit; with
/// a memory limit, death by SIGKILL, SIGSEGV, SIGBUS or SIGABRT, or an allocation
/// failure on stderr (MemoryError, bad_alloc, "Cannot allocate memory", "out of
/// memory"); with a files limit, "Too many open files" on stderr.
std::string limit_hit(const ResourceLimits& limits, std::optional<int> status,
                      std::string_view stderr_tail);

/// Sets `limits` on the calling process with setrlimit (soft and hard). Async-signal-
/// safe: for the child between fork and exec. Returns false (errno set) on failure.
bool apply_limits(const ResourceLimits& limits) noexcept;

}  // namespace resque::detail
