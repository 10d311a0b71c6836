#include "child_run.hpp"

#include <poll.h>
#include <signal.h>
#include <string.h>  // sigabbrev_np
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <vector>

#include "jobs_file.hpp"
#include "log.hpp"
#include "program_output.hpp"

namespace resque::detail {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kAbortCheck = 20;            // ms between checks of the job's stop_token
constexpr auto kDrainAfterExit = 100ms;    // reading on after exit, for escaped children
constexpr auto kExitCheckInterval = 10ms;  // only when pidfd_open is unavailable
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kReportCap = 1 << 20;

std::size_t index(OutputStream stream) { return static_cast<std::size_t>(stream); }

// One watch of one child; see child_run.hpp for its steps.
class ChildWatch {
 public:
    ChildWatch(ChildProcess& child, ChildPipes pipes, std::string_view input,
               std::optional<std::chrono::milliseconds> timeout, const JobContext& context,
               std::string_view name);
    ChildEnd run();

 private:
    [[nodiscard]] bool finished(Clock::time_point now) const;
    void enforce_timeout(Clock::time_point now);
    void enforce_abort();
    [[nodiscard]] int poll_timeout(Clock::time_point now) const;
    void pump(int timeout_ms);
    void feed_stdin();
    void read_output(OutputStream stream);
    void read_report();
    void note_exit(Clock::time_point now);
    void stop_reading();

    ChildProcess& child_;
    const JobContext& context_;
    std::string_view name_;
    std::string_view input_;  // still to write
    ProgramOutput output_;
    std::vector<char> buffer_ = std::vector<char>(kReadChunk);
    Fd stdin_;
    std::array<Fd, 2> outputs_;  // indexed by OutputStream
    Fd report_pipe_;
    Clock::time_point started_ = Clock::now();
    std::optional<Clock::time_point> term_at_;
    std::optional<Clock::time_point> kill_at_;
    std::optional<Clock::time_point> exited_at_;
    ChildEnd end_;
};

ChildWatch::ChildWatch(ChildProcess& child, ChildPipes pipes, std::string_view input,
                       std::optional<std::chrono::milliseconds> timeout, const JobContext& context,
                       std::string_view name)
    : child_(child),
      context_(context),
      name_(name),
      input_(input),
      output_(context),
      stdin_(std::move(pipes.stdin_pipe)),
      outputs_{std::move(pipes.stdout_pipe), std::move(pipes.stderr_pipe)},
      report_pipe_(std::move(pipes.report_pipe)) {
    if (timeout) term_at_ = started_ + *timeout;
    if (input_.empty()) stdin_.reset();
}

ChildEnd ChildWatch::run() {
    for (auto now = Clock::now(); !finished(now); now = Clock::now()) {
        enforce_timeout(now);
        enforce_abort();
        // Capped so an abort request (a stop_token, not a descriptor) is seen quickly.
        const int wait = poll_timeout(now);
        pump(wait < 0 ? kAbortCheck : std::min(wait, kAbortCheck));
        if (!exited_at_ && child_.exited()) note_exit(Clock::now());
    }
    stop_reading();
    end_.status = child_.reap();
    end_.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(*exited_at_ - started_);
    end_.stderr_tail = output_.stderr_tail();
    return std::move(end_);
}

// Done once the child has exited and its pipes are closed, or the drain time is up.
bool ChildWatch::finished(Clock::time_point now) const {
    if (!exited_at_) return false;
    const bool pipes_closed = !outputs_[0].open() && !outputs_[1].open() && !report_pipe_.open();
    return pipes_closed || now >= *exited_at_ + kDrainAfterExit;
}

void ChildWatch::enforce_abort() {
    if (exited_at_ || end_.aborted || !context_.stop.stop_requested()) return;
    end_.aborted = true;
    child_.signal_group(SIGKILL);
    log::worker()->info("job aborted, child killed: {} pid={} class={} worker={}", name_,
                        child_.pid(), context_.job.class_name, context_.worker_id);
}

void ChildWatch::enforce_timeout(Clock::time_point now) {
    if (exited_at_) return;
    if (term_at_ && !end_.timed_out && now >= *term_at_) {
        end_.timed_out = true;
        kill_at_ = now + context_.kill_grace;
        child_.signal_group(SIGTERM);
        log::worker()->debug("job timed out, sent SIGTERM: {} pid={} class={} worker={}", name_,
                             child_.pid(), context_.job.class_name, context_.worker_id);
    }
    if (kill_at_ && now >= *kill_at_) {
        kill_at_.reset();
        end_.killed_after_grace = true;
        child_.signal_group(SIGKILL);
    }
}

// Milliseconds until the next deadline, rounded up; -1 when poll may wait indefinitely.
int ChildWatch::poll_timeout(Clock::time_point now) const {
    std::optional<Clock::time_point> next;
    const auto consider = [&next](std::optional<Clock::time_point> when) {
        if (when && (!next || *when < *next)) next = when;
    };
    if (exited_at_) {
        consider(*exited_at_ + kDrainAfterExit);
    } else {
        if (!end_.timed_out) consider(term_at_);
        consider(kill_at_);
        if (!child_.pidfd().open()) consider(now + kExitCheckInterval);
    }
    if (!next) return -1;

    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
    return static_cast<int>(std::clamp<decltype(wait)>(wait, 0, INT_MAX));
}

void ChildWatch::pump(int timeout_ms) {
    // Closed descriptors are -1, which poll() skips.
    std::array<pollfd, 5> watched{{
        {stdin_.get(), POLLOUT, 0},
        {outputs_[index(OutputStream::kStdout)].get(), POLLIN, 0},
        {outputs_[index(OutputStream::kStderr)].get(), POLLIN, 0},
        {report_pipe_.get(), POLLIN, 0},
        {exited_at_ ? -1 : child_.pidfd().get(), POLLIN, 0},
    }};
    // EINTR and timeouts fall through: the caller re-checks deadlines and exit.
    if (::poll(watched.data(), watched.size(), timeout_ms) <= 0) return;

    if (watched[0].revents != 0) feed_stdin();
    if (watched[1].revents != 0) read_output(OutputStream::kStdout);
    if (watched[2].revents != 0) read_output(OutputStream::kStderr);
    if (watched[3].revents != 0) read_report();
}

void ChildWatch::feed_stdin() {
    const ssize_t written = write_without_sigpipe(stdin_, input_);
    if (written >= 0) {
        input_.remove_prefix(static_cast<std::size_t>(written));
    } else if (errno != EAGAIN && errno != EINTR) {
        // EPIPE: the child closed stdin or never reads it. Not a failure; its exit
        // status decides.
        input_ = {};
    }
    // Closing tells the child the input is complete.
    if (input_.empty()) stdin_.reset();
}

void ChildWatch::read_output(OutputStream stream) {
    Fd& fd = outputs_[index(stream)];
    const ssize_t received = ::read(fd.get(), buffer_.data(), buffer_.size());
    if (received > 0) {
        output_.append(stream, {buffer_.data(), static_cast<std::size_t>(received)});
        return;
    }
    if (received < 0 && (errno == EAGAIN || errno == EINTR)) return;

    // EOF, or an error another read would only repeat.
    output_.close(stream);
    fd.reset();
}

void ChildWatch::read_report() {
    const ssize_t received = ::read(report_pipe_.get(), buffer_.data(), buffer_.size());
    if (received > 0) {
        const auto room = kReportCap - std::min(kReportCap, end_.report.size());
        end_.report.append(buffer_.data(), std::min(room, static_cast<std::size_t>(received)));
        return;
    }
    if (received < 0 && (errno == EAGAIN || errno == EINTR)) return;
    report_pipe_.reset();
}

void ChildWatch::note_exit(Clock::time_point now) {
    exited_at_ = now;
    // Background children (`cmd &`, a forked helper) would otherwise outlive the job
    // and keep the output pipes open.
    child_.signal_group(SIGKILL);
    stdin_.reset();
}

void ChildWatch::stop_reading() {
    for (const auto stream : {OutputStream::kStdout, OutputStream::kStderr}) {
        Fd& fd = outputs_[index(stream)];
        if (!fd.open()) continue;
        log::worker()->debug(
            "job child exited but its {} stays open (a child outside its process group?); "
            "stopped reading class={} worker={}",
            stream == OutputStream::kStdout ? "stdout" : "stderr", context_.job.class_name,
            context_.worker_id);
        output_.close(stream);
        fd.reset();
    }
    output_.finish();
    report_pipe_.reset();
}

bool mentions(std::string_view text, std::initializer_list<std::string_view> needles) {
    return std::any_of(needles.begin(), needles.end(), [text](std::string_view needle) {
        return text.find(needle) != std::string_view::npos;
    });
}

}  // namespace

ChildEnd watch_child(ChildProcess& child, ChildPipes pipes, std::string_view input,
                     std::optional<std::chrono::milliseconds> timeout, const JobContext& context,
                     std::string_view name) {
    return ChildWatch(child, std::move(pipes), input, timeout, context, name).run();
}

std::string describe_duration(std::chrono::milliseconds duration) {
    const auto ms = duration.count();
    if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms > 0 && ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
    return std::to_string(ms) + "ms";
}

std::string describe_elapsed(std::chrono::milliseconds elapsed) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f s", static_cast<double>(elapsed.count()) / 1000.0);
    return text;
}

std::string signal_name(int number) {
    const char* abbreviation = ::sigabbrev_np(number);
    return abbreviation == nullptr ? "unknown" : std::string("SIG") + abbreviation;
}

std::string limit_hit(const ResourceLimits& limits, std::optional<int> status,
                      std::string_view stderr_tail) {
    const int signal = status && WIFSIGNALED(*status) ? WTERMSIG(*status) : 0;
    if (limits.cpu && signal == SIGXCPU) {
        return "CPU limit of " + std::to_string(limits.cpu->count()) + " s exceeded";
    }
    if (limits.memory_bytes) {
        const bool died =
            signal == SIGKILL || signal == SIGSEGV || signal == SIGBUS || signal == SIGABRT;
        if (died || mentions(stderr_tail, {"MemoryError", "bad_alloc", "Cannot allocate memory",
                                           "out of memory"})) {
            return "memory limit " + describe_bytes(*limits.memory_bytes) + " probably exceeded";
        }
    }
    if (limits.open_files && mentions(stderr_tail, {"Too many open files"})) {
        return "open files limit of " + std::to_string(*limits.open_files) + " reached";
    }
    return "";
}

bool apply_limits(const ResourceLimits& limits) noexcept {
    // A value above the current hard limit would need privilege; it is clamped to it.
    const auto set = [](int resource, rlim_t soft, rlim_t extra) {
        rlimit limit{};
        if (::getrlimit(resource, &limit) != 0) return false;
        const rlim_t ceiling = limit.rlim_max;
        limit.rlim_cur = std::min(soft, ceiling);
        limit.rlim_max = std::min(soft + extra, ceiling);
        return ::setrlimit(resource, &limit) == 0;
    };
    if (limits.memory_bytes && !set(RLIMIT_AS, *limits.memory_bytes, 0)) return false;
    // The hard CPU limit one second later: SIGXCPU first (nameable), SIGKILL if ignored.
    if (limits.cpu && !set(RLIMIT_CPU, static_cast<rlim_t>(limits.cpu->count()), 1)) {
        return false;
    }
    if (limits.open_files && !set(RLIMIT_NOFILE, *limits.open_files, 0)) return false;
    return true;
}

}  // namespace resque::detail
