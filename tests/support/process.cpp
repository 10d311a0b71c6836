// Child processes for tests: run_process (run to completion, capturing output),
// spawn_process (run in the background) and the fork/exec underneath both.

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "child_process.hpp"
#include "redis_server.hpp"
#include "unique_fd.hpp"

extern char** environ;

namespace resque::test {

namespace {

using detail::UniqueFd;
using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string_view key_of(std::string_view assignment) {
    return assignment.substr(0, assignment.find('='));
}

// The inherited environment with `extra` ("K=V") added, replacing inherited values.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
    std::vector<std::string> merged;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view inherited(*entry);
        const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const auto& e) {
            return key_of(e) == key_of(inherited);
        });
        if (!replaced) {
            merged.emplace_back(inherited);
        }
    }
    merged.insert(merged.end(), extra.begin(), extra.end());
    return merged;
}

std::vector<char*> null_terminated(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (const auto& s : strings) {
        pointers.push_back(const_cast<char*>(s.c_str()));  // exec never writes to them
    }
    pointers.push_back(nullptr);
    return pointers;
}

// Everything the child needs after fork(), built before it: the child of a
// multithreaded parent may only call async-signal-safe functions, and malloc is not one.
struct ExecImage {
    ExecImage(const std::vector<std::string>& argv_in, const std::vector<std::string>& env)
        : environment(merged_environment(env)),
          argv(null_terminated(argv_in)),
          envp(null_terminated(environment)) {}

    std::vector<std::string> environment;
    std::vector<char*> argv;
    std::vector<char*> envp;
};

void redirect(int fd, int target) noexcept {
    if (fd == target) {
        ::fcntl(fd, F_SETFD, 0);  // dup2 onto itself would keep close-on-exec
    } else if (fd >= 0) {
        ::dup2(fd, target);
    }
}

void reset_signals() noexcept {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &default_action, nullptr);
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_in_child(const ExecImage& image, detail::ChildStdio stdio, pid_t parent,
                                int status_fd) noexcept {
    ::setpgid(0, 0);

    // If the parent died before prctl(), no signal will come: we were already reparented.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
        ::_exit(127);
    }

    redirect(stdio.in, STDIN_FILENO);
    redirect(stdio.out, STDOUT_FILENO);
    redirect(stdio.err, STDERR_FILENO);
    reset_signals();

    // Descriptors the test process opened without close-on-exec (hiredis sockets, other
    // children's pipes) must not leak: a leaked pipe end would keep a reader from EOF.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

    ::execvpe(image.argv[0], image.argv.data(), image.envp.data());
    const int error = errno;
    [[maybe_unused]] auto written = ::write(status_fd, &error, sizeof error);
    ::_exit(127);
}

std::pair<UniqueFd, UniqueFd> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        fail("cannot create pipe");
    }
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Reads the errno the child sends when exec fails; end of file means exec succeeded.
int read_exec_error(int status_fd) noexcept {
    int error = 0;
    ssize_t n;
    do {
        n = ::read(status_fd, &error, sizeof error);
    } while (n < 0 && errno == EINTR);
    return n == sizeof error ? error : 0;
}

int exit_code_of(int status) noexcept {
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

// Writing to a child that closed its stdin raises SIGPIPE, which would kill the test
// process. Blocking it in this thread (ignoring it process-wide would race with other
// threads) turns it into EPIPE; a SIGPIPE left pending is consumed before unblocking.
class SigpipeBlocked {
   public:
    SigpipeBlocked() noexcept {
        sigemptyset(&sigpipe_);
        sigaddset(&sigpipe_, SIGPIPE);
        ::pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
    }
    ~SigpipeBlocked() {
        if (!sigismember(&previous_, SIGPIPE)) {
            const timespec no_wait{};
            while (::sigtimedwait(&sigpipe_, nullptr, &no_wait) > 0) {
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

   private:
    sigset_t sigpipe_;
    sigset_t previous_;
};

// Feeds the child's stdin and drains its stdout and stderr together: doing one after
// the other deadlocks as soon as the child blocks on a full pipe nobody reads.
class ChildIo {
   public:
    ChildIo(UniqueFd in, UniqueFd out, UniqueFd err, std::string_view input)
        : in_(std::move(in)), out_(std::move(out)), err_(std::move(err)), input_(input) {
        if (input_.empty()) {
            in_.reset();
        } else {
            // Non-blocking, so that a write after POLLOUT never waits for the reader.
            ::fcntl(in_.get(), F_SETFL, ::fcntl(in_.get(), F_GETFL) | O_NONBLOCK);
        }
    }

    // Returns false when `deadline` passed before the child closed stdout and stderr.
    bool run(Clock::time_point deadline) {
        while (in_.valid() || out_.valid() || err_.valid()) {
            const auto now = Clock::now();
            if (now >= deadline) {
                return false;
            }
            if (!poll_once(deadline - now)) {
                return false;
            }
        }
        return true;
    }

    std::string out;
    std::string err;

   private:
    bool poll_once(Clock::duration remaining) {
        // poll() skips negative descriptors, so closed streams need no bookkeeping.
        pollfd fds[] = {{in_.get(), POLLOUT, 0}, {out_.get(), POLLIN, 0}, {err_.get(), POLLIN, 0}};
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(remaining).count();
        const int ready = ::poll(fds, 3, static_cast<int>(ms));
        if (ready < 0) {
            // Nothing sensible to do on a poll failure but give up, as on a timeout.
            return errno == EINTR;
        }

        if (fds[0].revents != 0) write_input();
        if (fds[1].revents != 0) read_into(out_, out);
        if (fds[2].revents != 0) read_into(err_, err);
        return true;
    }

    void write_input() {
        const auto chunk = std::min<std::size_t>(input_.size() - written_, 64 * 1024);
        const ssize_t n = ::write(in_.get(), input_.data() + written_, chunk);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        // EPIPE: the child stopped reading; the rest of the input is dropped, as a
        // shell pipeline would.
        written_ = n < 0 ? input_.size() : written_ + static_cast<std::size_t>(n);
        if (written_ == input_.size()) {
            in_.reset();  // end of file for the child
        }
    }

    static void read_into(UniqueFd& fd, std::string& sink) {
        char buffer[16 * 1024];
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n > 0) {
            sink.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            fd.reset();
        }
    }

    UniqueFd in_;
    UniqueFd out_;
    UniqueFd err_;
    std::string_view input_;
    std::size_t written_ = 0;
};

}  // namespace

namespace detail {

int start_child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                ChildStdio stdio) {
    if (argv.empty()) {
        throw std::invalid_argument("start_child: empty argv");
    }
    const ExecImage image(argv, env);
    auto [status_read, status_write] = make_pipe();

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        fail("cannot fork to run " + argv[0]);
    }
    if (pid == 0) {
        exec_in_child(image, stdio, parent, status_write.get());
    }

    // The status pipe is close-on-exec, so end of file arrives once the child has
    // exec'd: by then it is in its own process group and a group kill reaches it.
    status_write.reset();
    if (const int error = read_exec_error(status_read.get()); error != 0) {
        reap(pid);
        errno = error;
        fail("cannot run " + argv[0]);
    }
    return pid;
}

int reap(int pid) noexcept {
    int status = 0;
    pid_t result;
    do {
        result = ::waitpid(pid, &status, 0);
    } while (result < 0 && errno == EINTR);
    return result < 0 ? -1 : exit_code_of(status);
}

std::optional<int> reap_within(int pid, std::chrono::milliseconds deadline) noexcept {
    std::optional<int> exit_code;
    wait_until(
        [&] {
            int status = 0;
            const pid_t result = ::waitpid(pid, &status, WNOHANG);
            if (result == pid) {
                exit_code = exit_code_of(status);
            } else if (result < 0 && errno != EINTR) {
                exit_code = -1;  // not our child (any more)
            }
            return exit_code.has_value();
        },
        deadline);
    return exit_code;
}

}  // namespace detail

ProcessResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          const std::string& input, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto [in_read, in_write] = make_pipe();
    auto [out_read, out_write] = make_pipe();
    auto [err_read, err_write] = make_pipe();
    const SigpipeBlocked sigpipe_blocked;

    const int pid =
        detail::start_child(argv, env, {in_read.get(), out_write.get(), err_write.get()});
    in_read.reset();
    out_write.reset();
    err_write.reset();

    ChildIo io(std::move(in_write), std::move(out_read), std::move(err_read), input);
    std::optional<int> exit_code;
    if (io.run(deadline)) {
        // Closing its output is not exiting: the child still gets only what is left.
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        exit_code = detail::reap_within(pid, std::max(left, std::chrono::milliseconds(0)));
    }
    if (!exit_code) {
        // The whole group: a grandchild holding the pipes open would otherwise survive.
        ::kill(-pid, SIGKILL);
        exit_code = detail::reap(pid);
    }
    return {*exit_code, std::move(io.out), std::move(io.err)};
}

int spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const std::filesystem::path& log_path) {
    const UniqueFd null_input(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_input.valid()) {
        fail("cannot open /dev/null");
    }
    const UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log.valid()) {
        fail("cannot open " + log_path.string());
    }
    return detail::start_child(argv, env, {null_input.get(), log.get(), log.get()});
}

}  // namespace resque::test
