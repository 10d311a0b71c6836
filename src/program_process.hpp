#pragma once

// Starting the external program of a job as a child process: descriptors, pipes, the
// fork/exec itself and the child's process group. run_program (program_handler.cpp)
// drives the started program; this file only starts, signals and reaps it.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resque/handler.hpp"

namespace resque::detail {

/// The `exception` of every failure a program run records.
inline constexpr const char* kProgramFailedClass = "Resque::ProgramFailed";

/// A file descriptor with one owner: closed by the destructor, movable.
class Fd {
   public:
    Fd() noexcept = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    /// The descriptor, or -1 (which poll() skips) when none is open.
    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool open() const noexcept { return fd_ >= 0; }
    /// Closes the descriptor. Not retried on EINTR: on Linux it is gone either way.
    void reset() noexcept;

   private:
    int fd_ = -1;
};

/// The two ends of a pipe.
struct Pipe {
    Fd read;
    Fd write;
};

/// A close-on-exec pipe whose ends are above 2, so a child can dup2 any of them onto
/// stdin, stdout or stderr without clobbering another. Throws std::system_error.
Pipe make_pipe();

/// Makes reads and writes on `fd` return EAGAIN instead of blocking. Throws
/// std::system_error.
void set_nonblocking(const Fd& fd);

/// write(2) that cannot raise SIGPIPE in the process: when the reader is gone it returns
/// -1 with errno EPIPE, and the worker's SIGPIPE disposition is never consulted.
/// Thread-safe (it changes only the calling thread's signal mask, and restores it).
ssize_t write_without_sigpipe(const Fd& fd, std::string_view bytes);

/// Everything the child needs to exec a job's program, allocated before fork (between
/// fork and exec a threaded process may only make async-signal-safe calls). Not
/// copyable or movable: argv and envp point into its own strings.
///
/// The environment is the worker's, then `spec.env`, then RESQUE_CLASS, RESQUE_QUEUE,
/// RESQUE_WORKER and (when known) RESQUE_ENQUEUED_AT. A program name without '/' is
/// looked up on that environment's PATH here, never by a shell. Throws JobFailure
/// `cannot run <argv0>: <reason>` when no executable is found.
struct ExecPlan {
    ExecPlan(const ProgramSpec& spec, const JobContext& context);
    ExecPlan(const ExecPlan&) = delete;
    ExecPlan& operator=(const ExecPlan&) = delete;

    std::vector<std::string> arguments;  ///< argv as configured; argv[0] names the program
    std::string working_dir;             ///< empty: the worker's
    ResourceLimits limits;               ///< set in the child before exec
    std::string program;                 ///< the path given to execve
    std::vector<std::string> environment;
    std::vector<char*> argv;  ///< null-terminated, into `arguments`
    std::vector<char*> envp;  ///< null-terminated, into `environment`
};

/// Sets every signal but SIGKILL and SIGSTOP to its default action and empties the
/// signal mask: for a child after fork (async-signal-safe). The caller forks with all
/// signals blocked, so that no worker handler runs in the child before this.
void restore_default_signals() noexcept;

/// A started program, leader of its own process group (pgid == pid). Until it is reaped
/// its zombie holds the pid and the group id, so signalling the group never reaches a
/// process that reused the number. If it is destroyed unreaped, the destructor SIGKILLs
/// the group and reaps, so no error path leaves a program behind. Movable; one thread
/// uses it.
class ChildProcess {
   public:
    explicit ChildProcess(pid_t pid) noexcept;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;
    ~ChildProcess();

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// Becomes readable when the child exits; not open when the kernel lacks pidfd_open
    /// (Linux < 5.3), and then callers poll exited() on a short interval.
    [[nodiscard]] const Fd& pidfd() const noexcept { return pidfd_; }
    /// Sends `signal` to the whole process group; nothing once reaped.
    void signal_group(int signal) const noexcept;
    /// Whether the child has exited, without reaping it.
    [[nodiscard]] bool exited() const noexcept;
    /// Waits for the child to exit and returns its wait status; nullopt when something
    /// else in the worker reaped it first.
    std::optional<int> reap() noexcept;

   private:
    pid_t pid_;
    Fd pidfd_;
    bool reaped_ = false;
};

/// A program that has exec'd, and the parent's ends of its stdio pipes (close-on-exec,
/// non-blocking).
struct StartedProgram {
    ChildProcess child;
    Fd stdin_pipe;
    Fd stdout_pipe;
    Fd stderr_pipe;
};

/// Forks and execs `plan`: the child leads a new process group, has the pipes as stdin,
/// stdout and stderr, default signal handling and an empty signal mask, and runs in
/// `plan.working_dir`. Returns once the exec has happened. Throws JobFailure `cannot
/// run <argv0>: <reason>` when the child cannot change directory or exec (the failed
/// child is reaped), std::system_error when pipes or fork fail. Thread-safe.
StartedProgram start_program(const ExecPlan& plan);

}  // namespace resque::detail
