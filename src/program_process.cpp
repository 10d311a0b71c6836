#include "program_process.hpp"

#include "child_run.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>

namespace resque::detail {
namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

[[noreturn]] void throw_errno(const char* call) {
    throw std::system_error(errno, std::generic_category(), call);
}

std::string error_text(int error) { return std::generic_category().message(error); }

// The child dup2()s its pipe ends onto 0, 1 and 2. An end that already is one of those
// (a worker started with stdin closed) would be overwritten by another end's dup2.
Fd above_stdio(Fd fd) {
    if (fd.get() > STDERR_FILENO) return fd;
    Fd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
    if (!moved.open()) throw_errno("fcntl");
    return moved;
}

}  // namespace

// Close-on-exec, so that no other program the worker starts inherits either end.
Pipe make_pipe() {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe2");
    Fd read(ends[0]);
    Fd write(ends[1]);
    return Pipe{above_stdio(std::move(read)), above_stdio(std::move(write))};
}

void set_nonblocking(const Fd& fd) {
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl");
}

// SIGPIPE from a write goes to the writing thread, so blocking it in this thread
// suffices; if this write raised it, it is taken off the pending set before the previous
// mask returns. A SIGPIPE already pending is left for its owner.
ssize_t write_without_sigpipe(const Fd& fd, std::string_view bytes) {
    sigset_t sigpipe_only;
    sigset_t previous;
    ::sigemptyset(&sigpipe_only);
    ::sigaddset(&sigpipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &sigpipe_only, &previous);
    sigset_t pending;
    ::sigpending(&pending);
    const bool was_pending = ::sigismember(&pending, SIGPIPE) == 1;

    const ssize_t written = ::write(fd.get(), bytes.data(), bytes.size());
    const int error = errno;
    if (written < 0 && error == EPIPE && !was_pending) {
        const timespec no_wait{};
        while (::sigtimedwait(&sigpipe_only, nullptr, &no_wait) < 0 && errno == EINTR) {
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    errno = error;
    return written;
}

void Fd::reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

namespace {

// ---- what the child runs ----------------------------------------------------------

JobFailure cannot_run(const std::string& program, std::string_view problem) {
    return JobFailure(kProgramFailedClass, "cannot run " + program + ": " + std::string(problem));
}

// The worker's environment, then the jobs file's `env`, then the job's own variables.
std::map<std::string, std::string> child_environment(const ProgramSpec& spec,
                                                     const JobContext& context) {
    std::map<std::string, std::string> variables;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const std::size_t equals = text.find('=');
        if (equals != std::string_view::npos) {
            variables.emplace(text.substr(0, equals), text.substr(equals + 1));
        }
    }
    for (const auto& [name, value] : spec.env) variables.insert_or_assign(name, value);
    variables.insert_or_assign("RESQUE_CLASS", context.job.class_name);
    variables.insert_or_assign("RESQUE_QUEUE", context.queue);
    variables.insert_or_assign("RESQUE_WORKER", context.worker_id);
    if (!context.enqueued_at.empty()) {
        variables.insert_or_assign("RESQUE_ENQUEUED_AT", context.enqueued_at);
    }
    return variables;
}

// execvp's search, done here rather than in the child: it allocates, and glibc's execvp
// would fall back to running a file without a `#!` line through /bin/sh. The PATH
// searched is the program's own (the jobs file may set it).
std::string find_program(const std::string& name, std::string_view path) {
    if (name.find('/') != std::string::npos) return name;

    int error = ENOENT;
    while (true) {
        const std::size_t colon = path.find(':');
        const std::string_view dir = path.substr(0, colon);
        // An empty PATH entry means the current directory; it is made absolute because
        // the child may change directory before exec.
        const auto candidate = std::filesystem::absolute(
            std::filesystem::path(dir.empty() ? "." : std::string(dir)) / name);
        if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate)) {
            return candidate.string();
        }
        if (::access(candidate.c_str(), F_OK) == 0) error = EACCES;
        if (colon == std::string_view::npos) break;
        path.remove_prefix(colon + 1);
    }
    throw cannot_run(name, error_text(error));
}

std::vector<char*> null_terminated(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (auto& text : strings) pointers.push_back(text.data());
    pointers.push_back(nullptr);
    return pointers;
}

}  // namespace

ExecPlan::ExecPlan(const ProgramSpec& spec, const JobContext& context)
    : arguments(spec.command), working_dir(spec.working_dir.string()), limits(spec.limits) {
    const auto variables = child_environment(spec, context);
    const auto path = variables.find("PATH");
    program =
        find_program(spec.command.front(), path == variables.end() ? kDefaultPath : path->second);
    for (const auto& [name, value] : variables) environment.push_back(name + "=" + value);
    argv = null_terminated(arguments);
    envp = null_terminated(environment);
}

namespace {

// What the child could not do, sent to the parent instead of exec'ing.
enum class ChildStep : int { kStdio, kWorkingDir, kLimits, kExec };
struct ChildReport {
    ChildStep step;
    int error;
};

struct ChildStdio {
    int in;
    int out;
    int err;
};

[[noreturn]] void report_and_exit(int report_fd, ChildStep step) noexcept {
    const ChildReport report{step, errno};
    // Smaller than PIPE_BUF, so written whole or not at all; nothing to do if not.
    [[maybe_unused]] const ssize_t written = ::write(report_fd, &report, sizeof report);
    ::_exit(127);
}

}  // namespace

// Ignored signals stay ignored across exec (a worker may ignore SIGPIPE or SIGINT), and
// the program should start as it would from a shell. All signals arrive blocked from
// fork_program, so no worker handler runs here first. A signal sent to the worker's
// process group between fork and the child's setpgid (`kill -TERM -<pgid>`, meant for
// the worker, which then lets the job finish within its grace) is pending here: setting
// each signal to SIG_IGN first discards it, so the child does not die of it.
void restore_default_signals() noexcept {
    struct sigaction ignore_action {};
    ignore_action.sa_handler = SIG_IGN;
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int number = 1; number < NSIG; ++number) {
        if (number == SIGKILL || number == SIGSTOP) continue;
        ::sigaction(number, &ignore_action, nullptr);
        ::sigaction(number, &default_action, nullptr);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

namespace {

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void become_program(const ExecPlan& plan, ChildStdio stdio, int report_fd) noexcept {
    ::setpgid(0, 0);
    restore_default_signals();
    if (::dup2(stdio.in, STDIN_FILENO) < 0 || ::dup2(stdio.out, STDOUT_FILENO) < 0 ||
        ::dup2(stdio.err, STDERR_FILENO) < 0) {
        report_and_exit(report_fd, ChildStep::kStdio);
    }
    if (!plan.working_dir.empty() && ::chdir(plan.working_dir.c_str()) != 0) {
        report_and_exit(report_fd, ChildStep::kWorkingDir);
    }
    if (!apply_limits(plan.limits)) report_and_exit(report_fd, ChildStep::kLimits);
    ::execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
    report_and_exit(report_fd, ChildStep::kExec);
}

pid_t fork_program(const ExecPlan& plan, ChildStdio stdio, int report_fd) {
    sigset_t all;
    sigset_t previous;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    const pid_t pid = ::fork();
    if (pid == 0) become_program(plan, stdio, report_fd);
    const int error = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);

    if (pid < 0) throw std::system_error(error, std::generic_category(), "fork");
    return pid;
}

// A descriptor that becomes readable when `pid` exits (Linux 5.3), or none. Called
// through syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++.
Fd open_pidfd(pid_t pid) noexcept {
    return Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

}  // namespace

ChildProcess::ChildProcess(pid_t pid) noexcept : pid_(pid), pidfd_(open_pidfd(pid)) {
    // The child does the same; whichever runs first, the group exists before the parent
    // could signal it.
    ::setpgid(pid, pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_),
      pidfd_(std::move(other.pidfd_)),
      reaped_(std::exchange(other.reaped_, true)) {}

ChildProcess::~ChildProcess() {
    if (reaped_) return;
    signal_group(SIGKILL);
    reap();
}

void ChildProcess::signal_group(int signal) const noexcept {
    if (!reaped_) ::kill(-pid_, signal);
}

bool ChildProcess::exited() const noexcept {
    siginfo_t info{};
    int result = 0;
    do {
        result = ::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT);
    } while (result < 0 && errno == EINTR);
    // ECHILD: something else in the worker reaped it (a waitpid(-1) elsewhere).
    return result < 0 || info.si_pid != 0;
}

std::optional<int> ChildProcess::reap() noexcept {
    int status = 0;
    pid_t result = 0;
    do {
        result = ::waitpid(pid_, &status, 0);
    } while (result < 0 && errno == EINTR);
    reaped_ = true;
    return result == pid_ ? std::optional<int>(status) : std::nullopt;
}

namespace {

// Returns once the child has exec'd (exec closes the report pipe); throws when the
// child reports a step it could not take.
void await_exec(ChildProcess& child, const Fd& report, const ExecPlan& plan) {
    ChildReport failure{};
    ssize_t received = 0;
    do {
        received = ::read(report.get(), &failure, sizeof failure);
    } while (received < 0 && errno == EINTR);
    if (received != static_cast<ssize_t>(sizeof failure)) return;

    child.reap();
    const std::string& program = plan.arguments.front();
    switch (failure.step) {
        case ChildStep::kStdio:
            throw cannot_run(program, "cannot set up stdio: " + error_text(failure.error));
        case ChildStep::kWorkingDir:
            throw cannot_run(program, "cannot change directory to " + plan.working_dir + ": " +
                                          error_text(failure.error));
        case ChildStep::kLimits:
            throw cannot_run(program, "cannot set resource limits: " + error_text(failure.error));
        case ChildStep::kExec:
            break;
    }
    throw cannot_run(program, error_text(failure.error));
}

}  // namespace

StartedProgram start_program(const ExecPlan& plan) {
    Pipe in = make_pipe();
    Pipe out = make_pipe();
    Pipe err = make_pipe();
    Pipe report = make_pipe();
    ChildProcess child(
        fork_program(plan, {in.read.get(), out.write.get(), err.write.get()}, report.write.get()));

    // Only the child may hold these ends: EOF on the outputs and on the report pipe, and
    // EPIPE on stdin, all depend on it.
    in.read.reset();
    out.write.reset();
    err.write.reset();
    report.write.reset();
    await_exec(child, report.read, plan);

    StartedProgram started{std::move(child), std::move(in.write), std::move(out.read),
                           std::move(err.read)};
    set_nonblocking(started.stdin_pipe);
    set_nonblocking(started.stdout_pipe);
    set_nonblocking(started.stderr_pipe);
    return started;
}

}  // namespace resque::detail
