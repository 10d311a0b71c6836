#include "worker/perform.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "child_run.hpp"
#include "json/ruby_json.hpp"
#include "log.hpp"
#include "resque/errors.hpp"
#include "ruby_time.hpp"
#include "worker/fork_runner.hpp"
#include "worker/payload_field.hpp"

namespace resque::worker {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Failed = FailureCause;

FailureRecord record_of(const Reservation& job, const std::string& worker_id, const Failed& why) {
    FailureRecord record;
    record.failed_at = ruby_time::failure_time(ruby_time::Clock::now());
    record.exception = why.exception;
    record.error = why.error;
    record.backtrace = why.backtrace;
    record.worker = worker_id;
    record.queue = job.queue;
    return record;
}

// The failure of a job whose payload could not be decoded: its payload field is whatever
// payload_field() makes of the bytes.
Settlement failed(const Reservation& job, const std::string& worker_id, const Failed& why) {
    Settlement out{Settlement::Kind::kFailed, job.token, job.queue, {}};
    out.failure_json = make_failure(job, worker_id, why.exception, why.error, why.backtrace);
    return out;
}

// The failure of a job whose payload decoded: the payload is a JSON object already and is
// spliced in as it is, not parsed again, so a 64 MiB job is not decoded twice to record
// that it failed (FC-07).
Settlement failed_decoded(const Reservation& job, const std::string& worker_id,
                          const Failed& why) {
    FailureRecord record = record_of(job, worker_id, why);
    record.payload_json = job.payload;
    return Settlement{Settlement::Kind::kFailed, job.token, job.queue, record.encode()};
}

// Runs the handler inside the hooks, in this thread; returns the failure, if any.
std::optional<Failed> run_handler(const PerformContext& context, const Handler& handler,
                                  const JobContext& job_context) {
    try {
        context.hooks.run_perform(job_context.queue, job_context.job,
                                  [&] { handler(job_context); });
        return std::nullopt;
    } catch (const DontPerform&) {
        return std::nullopt;  // Resque: skipped quietly, still counted as processed
    } catch (const JobFailure& error) {
        return Failed{error.exception_class(), error.what(), error.backtrace()};
    } catch (const std::exception& error) {
        return Failed{"RuntimeError", error.what(), {}};
    } catch (...) {
        return Failed{"RuntimeError", "unknown exception (not derived from std::exception)", {}};
    }
}

// The time limit of a thread-mode job. Limitation: a handler in the worker's own thread
// cannot be stopped from outside; at the deadline its stop_token is requested (which it
// may check), and whenever it returns after the deadline the job is recorded as a
// Resque::JobTimeout failure, even if it succeeded. Use fork isolation for a hard limit.
class ThreadDeadline {
 public:
    // Forwards `outer` (USR1, shutdown) to the token handed to the handler.
    ThreadDeadline(std::stop_token outer, std::optional<std::chrono::milliseconds> timeout)
        : forward_(std::move(outer), [this] { source_.request_stop(); }) {
        if (!timeout) return;
        timer_ = std::jthread([this, limit = *timeout](std::stop_token done) {
            std::mutex mutex;  // only for the wait
            std::unique_lock lock(mutex);
            std::condition_variable_any().wait_for(lock, done, limit, [] { return false; });
            if (done.stop_requested()) return;
            expired_ = true;
            source_.request_stop();
        });
    }
    ~ThreadDeadline() { timer_.request_stop(); }
    ThreadDeadline(const ThreadDeadline&) = delete;
    ThreadDeadline& operator=(const ThreadDeadline&) = delete;

    [[nodiscard]] std::stop_token token() const { return source_.get_token(); }
    // Stops the timer; true when the deadline had passed.
    bool finish() {
        timer_.request_stop();
        if (timer_.joinable()) timer_.join();
        return expired_;
    }

 private:
    std::stop_source source_;
    std::stop_callback<std::function<void()>> forward_;
    std::atomic<bool> expired_{false};
    std::jthread timer_;
};

std::optional<Failed> run_in_thread(const PerformContext& context, const Handler& handler,
                                    JobContext job_context) {
    if (!job_context.timeout) return run_handler(context, handler, job_context);

    ThreadDeadline deadline(job_context.stop, job_context.timeout);
    job_context.stop = deadline.token();
    const auto started = SteadyClock::now();
    auto failure = run_handler(context, handler, job_context);
    if (!deadline.finish()) return failure;

    const auto ran =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    std::string error = "timed out after " + detail::describe_duration(*job_context.timeout) +
                        " (ran " + detail::describe_elapsed(ran) +
                        "; thread isolation: the handler was asked to stop through its "
                        "stop_token and ";
    error += failure ? "then failed: " + failure->exception + ": " + failure->error
                     : std::string("returned");
    error += ")";
    return Failed{"Resque::JobTimeout", std::move(error), {}};
}

// When the job was enqueued, if its payload says: a top-level `enqueued_at` (some
// enqueuers add one) or ActiveJob's `args[0].enqueued_at`.
std::string enqueued_at(std::string_view payload, const Job& job) {
    std::string_view raw = json::raw_member(payload, "enqueued_at");
    if (raw.size() >= 2 && raw.front() == '"') return std::string(raw.substr(1, raw.size() - 2));
    if (!raw.empty()) return std::string(raw);
    if (job.args.is_array() && !job.args.empty() && job.args[0].is_object()) {
        const auto found = job.args[0].find("enqueued_at");
        if (found != job.args[0].end() && found->is_string()) return found->get<std::string>();
    }
    return "";
}

Isolation isolation_of(const JobSettings* settings, const JobDefaults& defaults) {
    if (settings != nullptr && settings->isolation) return *settings->isolation;
    return defaults.isolation;
}

}  // namespace

JobDefaults job_defaults(const WorkerOptions& options) {
    return {options.isolation, options.job_timeout, options.kill_grace};
}

std::string make_failure(const Reservation& job, const std::string& worker_id,
                         const std::string& exception, const std::string& error,
                         const std::vector<std::string>& backtrace) {
    FailureRecord record = record_of(job, worker_id, {exception, error, backtrace});
    record.payload_json = payload_field(job.payload);
    return record.encode();
}

Settlement perform(const PerformContext& context, const Reservation& job) {
    auto log = log::worker();
    Job decoded;
    try {
        decoded = decode_payload(job.payload);
    } catch (const PayloadError& error) {
        log->warn("bad payload: {} queue={} bytes={}", error.what(), job.queue, job.payload.size());
        return failed(job, context.worker_id, {"Resque::PayloadError", error.what(), {}});
    }

    const Handler* handler = context.handlers.find(decoded.class_name);
    if (handler == nullptr) {
        log->warn("job failed: unknown class queue={} class={}", job.queue, decoded.class_name);
        auto why = Failed{"NameError", "uninitialized constant " + decoded.class_name, {}};
        context.hooks.run_on_failure(job.queue, decoded, {why.exception, why.error});
        decoded.args = nullptr;  // as below
        return failed_decoded(job, context.worker_id, why);
    }

    const JobSettings* settings = context.handlers.settings(decoded.class_name);
    const Isolation mode = isolation_of(settings, context.defaults);
    auto started = SteadyClock::now();
    // The payload may be tens of MiB (FC-07): the args are shown as the slice of it they
    // are, never copied.
    std::string_view args = json::raw_member(job.payload, "args");
    if (args.empty()) args = "[]";
    JobContext job_context{job.queue, context.worker_id, decoded, job.payload, args, context.stop};
    job_context.timeout =
        settings != nullptr && settings->timeout ? settings->timeout : context.defaults.timeout;
    job_context.kill_grace = context.defaults.kill_grace;
    job_context.enqueued_at = enqueued_at(job.payload, decoded);

    std::optional<Failed> failure;
    bool failure_hooks_ran = false;
    try {
        if (mode == Isolation::kFork) {
            const ResourceLimits none;
            ForkOutcome outcome = run_forked(context.hooks, *handler, job_context,
                                             settings != nullptr ? settings->limits : none);
            failure = std::move(outcome.failure);
            failure_hooks_ran = outcome.failure_hooks_ran;
        } else if (mode == Isolation::kThread) {
            failure = run_in_thread(context, *handler, std::move(job_context));
        } else {
            // A program enforces its own timeout and limits in its child.
            failure = run_handler(context, *handler, job_context);
        }
    } catch (const std::exception& error) {
        // Only starting the job can throw here (pipes, fork, the timer thread).
        failure = Failed{"Resque::ForkFailed",
                         "cannot start the job (" + std::string(to_string(mode)) +
                             " isolation): " + error.what(),
                         {}};
    }

    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count();
    if (!failure) {
        log->debug("job done queue={} class={} isolation={} ms={}", job.queue, decoded.class_name,
                   to_string(mode), ms);
        return Settlement{Settlement::Kind::kDone, job.token, job.queue, {}};
    }
    log->warn("job failed: {}: {} queue={} class={} worker={} isolation={} ms={}",
              failure->exception, failure->error, job.queue, decoded.class_name, context.worker_id,
              to_string(mode), ms);
    if (!failure_hooks_ran) {
        context.hooks.run_on_failure(job.queue, decoded, {failure->exception, failure->error});
    }
    // The record copies the payload: the decoded args, as large, are let go first (FC-07).
    decoded.args = nullptr;
    return failed_decoded(job, context.worker_id, *failure);
}

}  // namespace resque::worker
