#include "worker/fork_runner.hpp"

#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "child_run.hpp"
#include "jobs_file.hpp"
#include "log.hpp"
#include "program_process.hpp"

namespace resque::worker {
namespace {

using detail::ChildEnd;
using detail::Fd;
using nlohmann::json;

constexpr const char* kDirtyExit = "Resque::DirtyExit";
constexpr const char* kTimeout = "Resque::JobTimeout";
constexpr std::string_view kCrashMark = "CRASH\n";

// ---- in the child -----------------------------------------------------------------

// The report descriptor, for the crash handler. Set only in the child, after the fork.
int crash_report_fd = -1;

// Writes the backtrace of the crash to the report pipe, then lets the signal do what it
// would have done. backtrace() was primed before the handler ran, so it does not load
// libgcc (which allocates) here.
void on_crash(int signal) {
    constexpr int kFrames = 64;
    void* frames[kFrames];
    const int count = ::backtrace(frames, kFrames);
    [[maybe_unused]] ssize_t written =
        ::write(crash_report_fd, kCrashMark.data(), kCrashMark.size());
    ::backtrace_symbols_fd(frames, count, crash_report_fd);
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

void install_crash_handler(int report_fd) {
    crash_report_fd = report_fd;
    void* prime[1];
    ::backtrace(prime, 1);

    // Its own stack, so that a stack overflow can still be reported.
    static char alternate_stack[64 * 1024];
    stack_t stack{};
    stack.ss_sp = alternate_stack;
    stack.ss_size = sizeof alternate_stack;
    ::sigaltstack(&stack, nullptr);

    struct sigaction action {};
    action.sa_handler = on_crash;
    action.sa_flags = SA_ONSTACK | SA_RESETHAND;
    for (const int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
        ::sigaction(signal, &action, nullptr);
    }
}

json failure_report(std::string exception, std::string error,
                    const std::vector<std::string>& backtrace = {}) {
    return {{"outcome", "failed"},
            {"exception", std::move(exception)},
            {"error", std::move(error)},
            {"backtrace", backtrace}};
}

// Runs the job's hooks and handler; the report to send.
json perform_in_child(const Hooks& hooks, const Handler& handler, const JobContext& context) {
    try {
        hooks.run_after_fork(context.queue, context.job);
        hooks.run_perform(context.queue, context.job, [&] { handler(context); });
        return {{"outcome", "done"}};
    } catch (const DontPerform&) {
        return {{"outcome", "done"}};  // Resque: skipped quietly, still processed
    } catch (const JobFailure& error) {
        return failure_report(error.exception_class(), error.what(), error.backtrace());
    } catch (const std::bad_alloc& error) {
        return failure_report("NoMemoryError",
                              std::string("failed to allocate memory (") + error.what() + ")");
    } catch (const std::exception& error) {
        return failure_report("RuntimeError", error.what());
    } catch (...) {
        return failure_report("RuntimeError",
                              "unknown exception (not derived from std::exception)");
    }
}

void write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t written = ::write(fd, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        bytes.remove_prefix(static_cast<std::size_t>(written));
    }
}

struct ChildFds {
    int null_in;
    int out;
    int err;
    int report;
};

[[noreturn]] void become_job_child(const Hooks& hooks, const Handler& handler,
                                   const JobContext& parent_context, const ResourceLimits& limits,
                                   ChildFds fds) noexcept {
    ::setpgid(0, 0);
    detail::restore_default_signals();
    if (::dup2(fds.null_in, STDIN_FILENO) < 0 || ::dup2(fds.out, STDOUT_FILENO) < 0 ||
        ::dup2(fds.err, STDERR_FILENO) < 0) {
        ::_exit(126);
    }

    std::string report;
    if (!detail::apply_limits(limits)) {
        report = failure_report("Resque::ForkFailed",
                                std::string("cannot set resource limits: ") + std::strerror(errno))
                     .dump();
    } else {
        install_crash_handler(fds.report);
        // Nothing in the child can request this job's stop: the worker kills the child.
        JobContext context = parent_context;
        context.stop = {};
        json outcome = perform_in_child(hooks, handler, context);
        if (outcome["outcome"] == "failed") {
            hooks.run_on_failure(
                context.queue, context.job,
                {outcome["exception"].get<std::string>(), outcome["error"].get<std::string>()});
        }
        report = outcome.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    write_all(fds.report, report);
    ::_exit(0);
}

// ---- in the worker ------------------------------------------------------------------

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        if (end != 0) lines.emplace_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

std::string with_stderr(std::string message, const ChildEnd& end) {
    if (!end.stderr_tail.empty()) message += ": " + end.stderr_tail;
    return message;
}

std::string signal_text(pid_t pid, int number) {
    return "Child process received unhandled signal pid " + std::to_string(pid) + " " +
           detail::signal_name(number) + " (signal " + std::to_string(number) + ")";
}

// A child that did not report: killed, crashed, or left by exit().
FailureCause dirty_exit(pid_t pid, const ChildEnd& end, const ResourceLimits& limits) {
    FailureCause cause{kDirtyExit, "", {}};
    if (end.report.starts_with(kCrashMark)) {
        cause.backtrace = lines_of(std::string_view(end.report).substr(kCrashMark.size()));
    }
    if (!end.status) {
        cause.error =
            "Child process was reaped elsewhere in the worker; its exit status is "
            "unknown";
    } else if (WIFSIGNALED(*end.status)) {
        cause.error = signal_text(pid, WTERMSIG(*end.status));
    } else {
        cause.error = "Child process exited with status " +
                      std::to_string(WEXITSTATUS(*end.status)) + " without reporting";
    }
    const std::string limit = detail::limit_hit(limits, end.status, end.stderr_tail);
    if (!limit.empty()) cause.error += " (" + limit + ")";
    cause.error = with_stderr(std::move(cause.error), end);
    return cause;
}

ForkOutcome judge(pid_t pid, const ChildEnd& end, const JobContext& context,
                  const ResourceLimits& limits) {
    if (end.aborted) {
        return {FailureCause{kDirtyExit,
                             with_stderr(signal_text(pid, SIGKILL) +
                                             ": aborted by the worker (USR1 or shutdown)",
                                         end),
                             {}},
                false};
    }
    if (end.timed_out) {
        std::string error =
            "timed out after " + detail::describe_duration(*context.timeout) + " (ran " +
            detail::describe_elapsed(end.elapsed) + ", ended by " +
            (end.killed_after_grace ? "SIGKILL after ignoring SIGTERM" : "SIGTERM") + ")";
        return {FailureCause{kTimeout, with_stderr(std::move(error), end), {}}, false};
    }

    const json report = json::parse(end.report, nullptr, false);
    if (!report.is_object() || !report.contains("outcome")) {
        return {dirty_exit(pid, end, limits), false};
    }
    if (report["outcome"] == "done") return {std::nullopt, false};

    FailureCause cause{report.value("exception", "RuntimeError"), report.value("error", ""),
                       report.value("backtrace", std::vector<std::string>{})};
    if (cause.exception == "NoMemoryError" && limits.memory_bytes) {
        cause.error += " (memory limit " + detail::describe_bytes(*limits.memory_bytes) + ")";
    }
    return {std::move(cause), true};
}

Fd open_null() {
    Fd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_in.open()) throw std::system_error(errno, std::generic_category(), "/dev/null");
    return null_in;
}

}  // namespace

ForkOutcome run_forked(const Hooks& hooks, const Handler& handler, const JobContext& context,
                       const ResourceLimits& limits) {
    try {
        hooks.run_before_fork(context.queue, context.job);
    } catch (const std::exception& error) {
        return {FailureCause{
                    "RuntimeError", std::string("before_fork hook raised: ") + error.what(), {}},
                false};
    }

    const Fd null_in = open_null();
    detail::Pipe out = detail::make_pipe();
    detail::Pipe err = detail::make_pipe();
    detail::Pipe report = detail::make_pipe();

    sigset_t all;
    sigset_t previous;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    const pid_t pid = ::fork();
    if (pid == 0) {
        become_job_child(hooks, handler, context, limits,
                         {null_in.get(), out.write.get(), err.write.get(), report.write.get()});
    }
    const int fork_error = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (pid < 0) throw std::system_error(fork_error, std::generic_category(), "fork");

    detail::ChildProcess child(pid);
    // Only the child may hold the write ends, or EOF would never come.
    out.write.reset();
    err.write.reset();
    report.write.reset();
    detail::set_nonblocking(out.read);
    detail::set_nonblocking(err.read);
    detail::set_nonblocking(report.read);
    log::worker()->debug("job child forked pid={} class={} queue={} worker={}", pid,
                         context.job.class_name, context.queue, context.worker_id);

    const ChildEnd end = detail::watch_child(
        child, {Fd{}, std::move(out.read), std::move(err.read), std::move(report.read)}, "",
        context.timeout, context, context.job.class_name);
    return judge(pid, end, context, limits);
}

}  // namespace resque::worker
