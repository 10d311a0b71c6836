#include "worker/perform.hpp"

#include <chrono>

#include "json/ruby_json.hpp"
#include "log.hpp"
#include "resque/errors.hpp"
#include "ruby_time.hpp"
#include "worker/payload_field.hpp"

namespace resque::worker {
namespace {

struct Failed {
    std::string exception, error;
    std::vector<std::string> backtrace;
};

Settlement failed(const Reservation& job, const std::string& worker_id, const Failed& why) {
    Settlement out{Settlement::Kind::kFailed, job.token, job.queue, {}};
    out.failure_json = make_failure(job, worker_id, why.exception, why.error, why.backtrace);
    return out;
}

// Runs the handler inside the hooks; returns the failure, if any.
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

}  // namespace

std::string make_failure(const Reservation& job, const std::string& worker_id,
                         const std::string& exception, const std::string& error,
                         const std::vector<std::string>& backtrace) {
    FailureRecord record;
    record.failed_at = ruby_time::failure_time(ruby_time::Clock::now());
    record.payload_json = payload_field(job.payload);
    record.exception = exception;
    record.error = error;
    record.backtrace = backtrace;
    record.worker = worker_id;
    record.queue = job.queue;
    return record.encode();
}

Settlement perform(const PerformContext& context, const Reservation& job) {
    auto log = log::worker();
    Job decoded;
    try {
        decoded = decode_payload(job.payload);
    } catch (const PayloadError& error) {
        log->warn("bad payload: {} queue={} bytes={}", error.what(), job.queue,
                  job.payload.size());
        return failed(job, context.worker_id, {"Resque::PayloadError", error.what(), {}});
    }

    const Handler* handler = context.handlers.find(decoded.class_name);
    if (handler == nullptr) {
        log->warn("job failed: unknown class queue={} class={}", job.queue, decoded.class_name);
        auto why = Failed{"NameError", "uninitialized constant " + decoded.class_name, {}};
        context.hooks.run_on_failure(job.queue, decoded, {why.exception, why.error});
        return failed(job, context.worker_id, why);
    }

    auto started = std::chrono::steady_clock::now();
    std::string args(json::raw_member(job.payload, "args"));
    JobContext job_context{job.queue, context.worker_id, decoded, job.payload,
                           args.empty() ? "[]" : args, context.stop};
    auto failure = run_handler(context, *handler, job_context);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started).count();
    if (!failure) {
        log->debug("job done queue={} class={} ms={}", job.queue, decoded.class_name, ms);
        return Settlement{Settlement::Kind::kDone, job.token, job.queue, {}};
    }
    log->warn("job failed: {}: {} queue={} class={} worker={} ms={}", failure->exception,
              failure->error, job.queue, decoded.class_name, context.worker_id, ms);
    context.hooks.run_on_failure(job.queue, decoded, {failure->exception, failure->error});
    return failed(job, context.worker_id, *failure);
}

}  // namespace resque::worker
