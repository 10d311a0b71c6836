// run_program: performs a job by running the external program configured for its class.
//
// One run, in order:
//  1. Prepare everything the child needs (program path, argv, environment, limits)
//     before forking, then fork and exec it in its own process group with three pipes as
//     stdin, stdout and stderr (program_process.hpp). An exec failure comes back over
//     a close-on-exec pipe, so "not found" is told apart from a program that exited 127.
//  2. Watch it until it has exited (child_run.hpp): args fed to stdin, output drained and
//     logged, timeout and abort enforced, left-over children killed, reaped.
//  3. Judge its status.
//
// SIGPIPE: a library must not change process-wide signal dispositions, so the worker's
// are left alone. Instead SIGPIPE is blocked in the writing thread around each write to
// the program's stdin, and one raised by that write is consumed before unblocking.

#include <sys/wait.h>

#include <string>
#include <utility>

#include "child_run.hpp"
#include "log.hpp"
#include "program_process.hpp"
#include "resque/errors.hpp"
#include "resque/handler.hpp"

namespace resque {
namespace {

using detail::ChildEnd;

std::string timeout_message(const std::string& program, std::chrono::milliseconds timeout,
                            const ChildEnd& end) {
    return program + " timed out after " + detail::describe_duration(timeout) + " (ran " +
           detail::describe_elapsed(end.elapsed) + ", ended by " +
           (end.killed_after_grace ? "SIGKILL after ignoring SIGTERM" : "SIGTERM") + ")";
}

// Throws the JobFailure `end` describes; returns when the program succeeded.
void judge(const ProgramSpec& spec, std::optional<std::chrono::milliseconds> timeout,
           const ChildEnd& end) {
    const std::string& program = spec.command.front();
    const auto& status = end.status;
    std::string message;
    if (end.aborted) {
        message = program + " aborted by the worker (USR1 or shutdown)";
    } else if (end.timed_out) {
        message = timeout_message(program, *timeout, end);
    } else if (!status) {
        message = program + " was reaped elsewhere in the worker; its exit status is unknown";
    } else if (WIFEXITED(*status)) {
        if (WEXITSTATUS(*status) == 0) return;
        message = program + " exited with status " + std::to_string(WEXITSTATUS(*status));
    } else {
        const int number = WTERMSIG(*status);
        message = program + " killed by signal " + std::to_string(number) + " (" +
                  detail::signal_name(number) + ")";
    }

    if (!end.aborted && !end.timed_out) {
        const std::string limit = detail::limit_hit(spec.limits, status, end.stderr_tail);
        if (!limit.empty()) message += " (" + limit + ")";
    }
    if (!end.stderr_tail.empty()) message += ": " + end.stderr_tail;
    throw JobFailure(detail::kProgramFailedClass, std::move(message));
}

}  // namespace

void run_program(const ProgramSpec& spec, const JobContext& context) {
    if (spec.command.empty() || spec.command.front().empty()) {
        throw ConfigError("no program configured for job class \"" + context.job.class_name +
                          "\" (empty command)");
    }
    // A caller that did not fill args_json still gets the args (in nlohmann's encoding).
    const std::string fallback = context.args_json.empty() ? context.job.args.dump() : "";
    const std::string_view input = context.args_json.empty() ? std::string_view(fallback)
                                                             : std::string_view(context.args_json);
    const auto timeout = spec.timeout ? spec.timeout : context.timeout;

    const detail::ExecPlan plan(spec, context);
    detail::StartedProgram started = detail::start_program(plan);
    log::worker()->debug("program started: {} pid={} class={} queue={} worker={}",
                         spec.command.front(), started.child.pid(), context.job.class_name,
                         context.queue, context.worker_id);

    detail::ChildPipes pipes{std::move(started.stdin_pipe),
                             std::move(started.stdout_pipe),
                             std::move(started.stderr_pipe),
                             {}};
    // An empty input would close stdin at once; "[]" is never empty, so the program
    // always sees its args.
    const ChildEnd end = detail::watch_child(started.child, std::move(pipes), input, timeout,
                                             context, spec.command.front());
    judge(spec, timeout, end);
}

}  // namespace resque
