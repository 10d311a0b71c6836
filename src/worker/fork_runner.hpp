#pragma once

// Fork isolation: a C++ handler performed in a child process forked for the job, as Ruby
// Resque does, so that whatever the handler does (segfault, abort, exit(), a leak, a
// hang) ends only the child and becomes a failure record.
//
// One job, in order:
//  1. In the worker: before_fork hooks; pipes for the child's stdout, stderr and report;
//     fork with every signal blocked.
//  2. In the child: its own process group, default signals, stdin from /dev/null, the
//     class's resource limits, a crash handler that writes a backtrace to the report
//     pipe; then after_fork hooks, the perform hooks around the handler, on_failure hooks
//     if it failed; the outcome is written to the report pipe as JSON and the child
//     leaves with _exit (no atexit handlers, no static destructors of the worker's).
//  3. In the worker: watch the child (child_run.hpp: output logged, timeout, USR1),
//     then turn its report, or its death, into the outcome.
//
// Rules for code in the child (the worker has other threads, which do not exist there):
// the handler and the hooks may allocate, but must not use anything another worker
// thread might have held locked at the fork (the worker's loggers while the heartbeat
// logs, for example: rare, and then the child hangs until its timeout), nor the worker's
// Redis connections: a handler that needs Redis opens its own connection (an after_fork
// hook is the place). The child never touches the worker's hiredis contexts.

#include <optional>
#include <string>
#include <vector>

#include "resque/handler.hpp"
#include "resque/hooks.hpp"

namespace resque::worker {

/// A job's failure as its failure record will state it.
struct FailureCause {
    std::string exception;
    std::string error;
    std::vector<std::string> backtrace;
};

/// How a forked job ended.
struct ForkOutcome {
    std::optional<FailureCause> failure;  ///< nullopt: done
    /// The child ran the on_failure hooks itself (a failure the handler raised); the
    /// worker runs them only for what the child could not report (crash, timeout).
    bool failure_hooks_ran = false;
};

/// Performs `context.job` with `handler` in a forked child (steps in the file comment),
/// stopping it at `context.timeout` (SIGTERM, SIGKILL after `context.kill_grace`) or
/// when `context.stop` is requested (SIGKILL). Blocks until the child is gone. Throws
/// only std::system_error when pipes or fork fail (nothing was run then).
ForkOutcome run_forked(const Hooks& hooks, const Handler& handler, const JobContext& context,
                       const ResourceLimits& limits);

}  // namespace resque::worker
