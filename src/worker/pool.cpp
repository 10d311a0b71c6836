// WorkerPool: one worker in this process, or one forked process per worker with this
// process supervising them (a worker id names a pid, so each worker needs its own).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "log.hpp"
#include "resque/errors.hpp"
#include "resque/worker.hpp"
#include "worker/control.hpp"
#include "worker/worker.hpp"

namespace resque {
namespace {

const int kHandledSignals[] = {SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGCONT};

sigset_t handled_set() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kHandledSignals) sigaddset(&set, sig);
    return set;
}

// Applies a signal's Resque meaning to `control`.
void apply_signal(worker::Control& control, int sig) {
    switch (sig) {
        case SIGQUIT: control.request_graceful_stop(); break;
        case SIGTERM:
        case SIGINT: control.request_stop_now(); break;
        case SIGUSR1: control.request_abort_job(); break;
        case SIGUSR2: control.set_paused(true); break;
        case SIGCONT: control.set_paused(false); break;
        default: break;
    }
}

// Waits for the handled signals (blocked in every thread) and calls `on_signal`.
std::jthread start_signal_thread(std::function<void(int)> on_signal) {
    return std::jthread([on_signal = std::move(on_signal)](std::stop_token stop) {
        sigset_t set = handled_set();
        timespec tick{0, 100 * 1000 * 1000};
        while (!stop.stop_requested()) {
            int sig = ::sigtimedwait(&set, nullptr, &tick);
            if (sig > 0) on_signal(sig);
        }
    });
}

}  // namespace

struct WorkerPool::State {
    RedisOptions redis;
    WorkerOptions options;
    HandlerRegistry handlers;
    Hooks hooks;
    worker::Control control;
    bool handle_signals = false;
    std::function<void(const std::string&)> title;
    std::mutex children_mutex;  // guards children (signal thread vs supervisor)
    std::map<pid_t, int> children;  // pid -> slot

    void run_single();
    pid_t spawn(int slot);
    void supervise();
    void forward(int sig);
};

void WorkerPool::State::run_single() {
    std::jthread signals;
    if (handle_signals) {
        signals = start_signal_thread([this](int sig) { apply_signal(control, sig); });
    }
    worker::Worker worker(redis, options, handlers, hooks, control, title);
    worker.run();
}

pid_t WorkerPool::State::spawn(int slot) {
    pid_t pid = ::fork();
    if (pid < 0) throw Error(std::string("cannot fork a worker process: ") + std::strerror(errno));
    if (pid == 0) {
        int code = 0;
        try {
            run_single();
        } catch (const std::exception& error) {
            log::worker()->error("worker process failed: {}", error.what());
            code = 1;
        }
        std::_Exit(code);
    }
    std::lock_guard lock(children_mutex);
    children[pid] = slot;
    return pid;
}

void WorkerPool::State::forward(int sig) {
    apply_signal(control, sig);
    std::lock_guard lock(children_mutex);
    for (const auto& [pid, slot] : children) ::kill(pid, sig);
}

void WorkerPool::State::supervise() {
    for (;;) {
        {
            std::lock_guard lock(children_mutex);
            if (children.empty()) break;
        }
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        int slot = 0;
        {
            std::lock_guard lock(children_mutex);
            auto found = children.find(pid);
            if (found == children.end()) continue;
            slot = found->second;
            children.erase(found);
        }
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (clean || control.stopping()) continue;
        std::string how = WIFSIGNALED(status)
                              ? "killed by signal " + std::to_string(WTERMSIG(status))
                              : "exited with status " + std::to_string(WEXITSTATUS(status));
        log::worker()->warn("worker process {}; starting a new one pid={} slot={}", how, pid,
                            slot);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (!control.stopping()) spawn(slot);
    }
}

WorkerPool::WorkerPool(RedisOptions redis, WorkerOptions options, HandlerRegistry handlers,
                       Hooks hooks)
    : state_(std::make_unique<State>()) {
    if (options.concurrency < 1) throw ConfigError("concurrency must be at least 1");
    if (options.isolation == Isolation::kExec) {
        throw ConfigError("worker isolation must be thread or fork (exec is for programs, "
                          "which always use it)");
    }
    state_->redis = std::move(redis);
    state_->options = std::move(options);
    state_->handlers = std::move(handlers);
    state_->hooks = std::move(hooks);
}

WorkerPool::~WorkerPool() = default;

void WorkerPool::handle_signals() {
    state_->handle_signals = true;
    sigset_t set = handled_set();
    // Blocked here, inherited by every thread and forked worker, taken by sigtimedwait.
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void WorkerPool::set_title_function(std::function<void(const std::string&)> title) {
    state_->title = std::move(title);
}

void WorkerPool::run() {
    State& s = *state_;
    if (s.options.concurrency == 1) {
        s.run_single();
        return;
    }
    for (int slot = 0; slot < s.options.concurrency; ++slot) s.spawn(slot);
    std::jthread signals;
    if (s.handle_signals) signals = start_signal_thread([&s](int sig) { s.forward(sig); });
    s.supervise();
}

void WorkerPool::stop_gracefully() noexcept { state_->forward(SIGQUIT); }
void WorkerPool::stop_now() noexcept { state_->forward(SIGTERM); }
void WorkerPool::abort_current_jobs() noexcept { state_->forward(SIGUSR1); }
void WorkerPool::pause() noexcept { state_->forward(SIGUSR2); }
void WorkerPool::resume() noexcept { state_->forward(SIGCONT); }

}  // namespace resque
