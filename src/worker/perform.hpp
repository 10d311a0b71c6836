#pragma once

// Turning a reserved job into its settlement: decode, find the handler, run it with the
// perform hooks in its isolation mode (thread, fork or exec), and describe whatever
// happened (return, throw, crash, timeout, unknown class, bad payload) as a Settlement
// with a Resque failure record. Nothing thrown by a job escapes.

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>

#include "resque/handler.hpp"
#include "resque/hooks.hpp"
#include "resque/worker.hpp"
#include "worker/reservation.hpp"

namespace resque::worker {

/// The worker-wide settings a job's class may override (WorkerOptions).
struct JobDefaults {
    Isolation isolation = Isolation::kThread;
    std::optional<std::chrono::milliseconds> timeout;
    std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
};

/// The defaults `options` sets.
JobDefaults job_defaults(const WorkerOptions& options);

struct PerformContext {
    const HandlerRegistry& handlers;
    const Hooks& hooks;
    const std::string& worker_id;
    std::stop_token stop = {};
    JobDefaults defaults = {};
};

/// Performs `job` and returns how it ended (kDone or kFailed).
Settlement perform(const PerformContext& context, const Reservation& job);

/// A failure record for `job` with the given exception class and message.
std::string make_failure(const Reservation& job, const std::string& worker_id,
                         const std::string& exception, const std::string& error,
                         const std::vector<std::string>& backtrace = {});

}  // namespace resque::worker
