// run_program: performs a job by running the external program configured for its class.
//
// One run, in order:
//  1. Prepare everything the child needs (program path, argv, environment) before
//     forking, then fork and exec it in its own process group with three pipes as
//     stdin, stdout and stderr (program_process.hpp). An exec failure comes back over
//     a close-on-exec pipe, so "not found" is told apart from a program that exited 127.
//  2. One poll() loop feeds the args JSON to stdin, reads both output pipes (a program
//     writing megabytes never blocks on a full pipe), and enforces the timeout: SIGTERM
//     to the group, SIGKILL after a grace period.
//  3. When the program exits, SIGKILL its group so that background children it left die
//     with it, drain the pipes briefly, reap it, and judge its status.
//
// SIGPIPE: a library must not change process-wide signal dispositions, so the worker's
// are left alone. Instead SIGPIPE is blocked in the writing thread around each write to
// the program's stdin, and one raised by that write is consumed before unblocking.

#include <poll.h>
#include <signal.h>
#include <string.h>  // sigabbrev_np
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "log.hpp"
#include "program_output.hpp"
#include "program_process.hpp"
#include "resque/errors.hpp"
#include "resque/handler.hpp"

namespace resque {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using detail::ChildProcess;
using detail::ExecPlan;
using detail::Fd;
using detail::OutputStream;

constexpr auto kKillGrace = 5s;            // SIGTERM to SIGKILL after a timeout
constexpr int kAbortCheck = 20;           // ms between checks of the job's stop_token
constexpr auto kDrainAfterExit = 100ms;    // reading on after exit, for escaped children
constexpr auto kExitCheckInterval = 10ms;  // only when pidfd_open is unavailable
constexpr std::size_t kReadChunk = 64 * 1024;

std::string describe(std::chrono::milliseconds duration) {
    const auto ms = duration.count();
    if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms > 0 && ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
    return std::to_string(ms) + "ms";
}

std::string signal_name(int number) {
    const char* abbreviation = ::sigabbrev_np(number);
    return abbreviation == nullptr ? "unknown" : std::string("SIG") + abbreviation;
}

std::size_t index(OutputStream stream) { return static_cast<std::size_t>(stream); }

// One run of one program for one job; see the file comment for its steps.
class ProgramRun {
   public:
    ProgramRun(const ProgramSpec& spec, const JobContext& context);
    void run();

   private:
    void start(const ExecPlan& plan);
    [[nodiscard]] bool finished(Clock::time_point now) const;
    void enforce_timeout(Clock::time_point now);
    void enforce_abort();
    [[nodiscard]] int poll_timeout(Clock::time_point now) const;
    void pump(int timeout_ms);
    void feed_stdin();
    void read_output(OutputStream stream);
    void note_exit(Clock::time_point now);
    void stop_reading();
    void judge(std::optional<int> status) const;

    const ProgramSpec& spec_;
    const JobContext& context_;
    std::string fallback_input_;
    std::string_view input_;  // the args JSON still to write
    detail::ProgramOutput output_;
    std::vector<char> buffer_ = std::vector<char>(kReadChunk);
    std::optional<ChildProcess> child_;
    Fd stdin_;
    std::array<Fd, 2> outputs_;  // indexed by OutputStream
    std::optional<Clock::time_point> term_at_;
    std::optional<Clock::time_point> kill_at_;
    std::optional<Clock::time_point> exited_at_;
    bool timed_out_ = false;
    bool aborted_ = false;
};

ProgramRun::ProgramRun(const ProgramSpec& spec, const JobContext& context)
    : spec_(spec), context_(context), output_(context) {
    // A caller that did not fill args_json still gets the args (in nlohmann's encoding).
    if (context.args_json.empty()) fallback_input_ = context.job.args.dump();
    input_ = context.args_json.empty() ? std::string_view(fallback_input_)
                                       : std::string_view(context.args_json);
}

void ProgramRun::run() {
    const ExecPlan plan(spec_, context_);
    start(plan);
    if (spec_.timeout) term_at_ = Clock::now() + *spec_.timeout;

    for (auto now = Clock::now(); !finished(now); now = Clock::now()) {
        enforce_timeout(now);
        enforce_abort();
        // Capped so an abort request (a stop_token, not a descriptor) is seen quickly.
        pump(std::min(poll_timeout(now) < 0 ? kAbortCheck : poll_timeout(now), kAbortCheck));
        if (!exited_at_ && child_->exited()) note_exit(Clock::now());
    }
    stop_reading();
    judge(child_->reap());
}

void ProgramRun::start(const ExecPlan& plan) {
    detail::StartedProgram started = detail::start_program(plan);
    child_.emplace(std::move(started.child));
    stdin_ = std::move(started.stdin_pipe);
    outputs_ = {std::move(started.stdout_pipe), std::move(started.stderr_pipe)};
    log::worker()->debug("program started: {} pid={} class={} queue={} worker={}",
                         spec_.command.front(), child_->pid(), context_.job.class_name,
                         context_.queue, context_.worker_id);
}

// Done once the program has exited and its pipes are closed, or the drain time is up
// (a child that escaped the process group may hold them open indefinitely).
bool ProgramRun::finished(Clock::time_point now) const {
    if (!exited_at_) return false;
    const bool pipes_closed = !outputs_[0].open() && !outputs_[1].open();
    return pipes_closed || now >= *exited_at_ + kDrainAfterExit;
}

void ProgramRun::enforce_abort() {
    if (exited_at_ || aborted_ || !context_.stop.stop_requested()) return;
    aborted_ = true;
    child_->signal_group(SIGKILL);
    log::worker()->info("program aborted: {} pid={} class={} worker={}", spec_.command.front(),
                        child_->pid(), context_.job.class_name, context_.worker_id);
}

void ProgramRun::enforce_timeout(Clock::time_point now) {
    if (exited_at_) return;
    if (term_at_ && !timed_out_ && now >= *term_at_) {
        timed_out_ = true;
        kill_at_ = now + kKillGrace;
        child_->signal_group(SIGTERM);
        log::worker()->debug("program timed out, sent SIGTERM: {} pid={} class={} worker={}",
                             spec_.command.front(), child_->pid(), context_.job.class_name,
                             context_.worker_id);
    }
    if (kill_at_ && now >= *kill_at_) {
        kill_at_.reset();
        child_->signal_group(SIGKILL);
    }
}

// Milliseconds until the next deadline, rounded up; -1 when poll may wait indefinitely.
int ProgramRun::poll_timeout(Clock::time_point now) const {
    std::optional<Clock::time_point> next;
    const auto consider = [&next](std::optional<Clock::time_point> when) {
        if (when && (!next || *when < *next)) next = when;
    };
    if (exited_at_) {
        consider(*exited_at_ + kDrainAfterExit);
    } else {
        if (!timed_out_) consider(term_at_);
        consider(kill_at_);
        if (!child_->pidfd().open()) consider(now + kExitCheckInterval);
    }
    if (!next) return -1;

    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
    return static_cast<int>(std::clamp<decltype(wait)>(wait, 0, INT_MAX));
}

void ProgramRun::pump(int timeout_ms) {
    // Closed descriptors are -1, which poll() skips.
    std::array<pollfd, 4> watched{{
        {stdin_.get(), POLLOUT, 0},
        {outputs_[index(OutputStream::kStdout)].get(), POLLIN, 0},
        {outputs_[index(OutputStream::kStderr)].get(), POLLIN, 0},
        {exited_at_ ? -1 : child_->pidfd().get(), POLLIN, 0},
    }};
    // EINTR and timeouts fall through: the caller re-checks deadlines and exit.
    if (::poll(watched.data(), watched.size(), timeout_ms) <= 0) return;

    if (watched[0].revents != 0) feed_stdin();
    if (watched[1].revents != 0) read_output(OutputStream::kStdout);
    if (watched[2].revents != 0) read_output(OutputStream::kStderr);
}

void ProgramRun::feed_stdin() {
    const ssize_t written = detail::write_without_sigpipe(stdin_, input_);
    if (written >= 0) {
        input_.remove_prefix(static_cast<std::size_t>(written));
    } else if (errno != EAGAIN && errno != EINTR) {
        // EPIPE: the program closed stdin or never reads it. Not a failure; its exit
        // status decides.
        input_ = {};
    }
    // Closing tells the program the args are complete.
    if (input_.empty()) stdin_.reset();
}

void ProgramRun::read_output(OutputStream stream) {
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

void ProgramRun::note_exit(Clock::time_point now) {
    exited_at_ = now;
    // Background children the program left (`cmd &`) would otherwise outlive the job
    // and keep the output pipes open.
    child_->signal_group(SIGKILL);
    stdin_.reset();
}

void ProgramRun::stop_reading() {
    for (const auto stream : {OutputStream::kStdout, OutputStream::kStderr}) {
        Fd& fd = outputs_[index(stream)];
        if (!fd.open()) continue;
        log::worker()->debug(
            "program exited but its {} stays open (a child outside its "
            "process group?); stopped reading class={} worker={}",
            stream == OutputStream::kStdout ? "stdout" : "stderr", context_.job.class_name,
            context_.worker_id);
        output_.close(stream);
        fd.reset();
    }
}

void ProgramRun::judge(std::optional<int> status) const {
    const std::string& program = spec_.command.front();
    std::string message;
    if (aborted_) {
        message = program + " aborted by the worker (USR1 or shutdown)";
    } else if (timed_out_) {
        message = program + " timed out after " + describe(*spec_.timeout);
    } else if (!status) {
        message = program + " was reaped elsewhere in the worker; its exit status is unknown";
    } else if (WIFEXITED(*status)) {
        if (WEXITSTATUS(*status) == 0) return;
        message = program + " exited with status " + std::to_string(WEXITSTATUS(*status));
    } else {
        const int number = WTERMSIG(*status);
        message = program + " killed by signal " + std::to_string(number) + " (" +
                  signal_name(number) + ")";
    }

    const std::string tail = output_.stderr_tail();
    if (!tail.empty()) message += ": " + tail;
    throw JobFailure(detail::kProgramFailedClass, std::move(message));
}

}  // namespace

void run_program(const ProgramSpec& spec, const JobContext& context) {
    if (spec.command.empty() || spec.command.front().empty()) {
        throw ConfigError("no program configured for job class \"" + context.job.class_name +
                          "\" (empty command)");
    }
    ProgramRun(spec, context).run();
}

}  // namespace resque
