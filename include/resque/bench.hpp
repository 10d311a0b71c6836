#pragma once

// The built-in benchmark behind `resque bench`: measures this build against the
// configured Redis with no-op jobs, in a namespace of its own (`<ns>:bench`, deleted
// afterwards), so a production deployment's queues and counters are not touched.

#include <chrono>
#include <functional>
#include <string>

#include "resque/redis_options.hpp"

namespace resque {

struct BenchOptions {
    int jobs = 20000;          ///< jobs per phase (single enqueue, bulk enqueue + drain)
    int workers = 2;           ///< worker processes draining, each forked
    int queues = 1;            ///< queues the drained jobs are spread over (workers use `*`)
    int pickup_jobs = 400;     ///< jobs enqueued one at a time for the latency phase
    int pickup_gap_us = 2000;  ///< pause between two of them, so every job finds idle workers
    int idle_workers = 16;     ///< size of the idle pool whose memory is measured (0: skip)
    /// WorkerOptions::prefetch_budget of the workers (raise it to keep batches full under
    /// a profiler, which makes every job look slow).
    std::chrono::microseconds prefetch_budget{2000};
};

/// What one run measured. Rates are jobs per second of wall time.
struct BenchResult {
    double enqueue_jobs_per_s = 0;       ///< Client::enqueue, one call per job, one client
    double bulk_enqueue_jobs_per_s = 0;  ///< Client::enqueue_many (pipelined batches)
    double drain_jobs_per_s = 0;         ///< backlog of `jobs`, from workers forked to all done
    double pickup_p50_ms = 0, pickup_p99_ms = 0, pickup_max_ms = 0;  ///< enqueue -> start
    double rss_mb = 0;                  ///< peak RSS (VmHWM) of the largest worker process
    double rss_growth_mb = 0;  ///< most any worker's RSS grew from 10k jobs drained to the end
    double idle_pool_pss_mb = 0;         ///< PSS summed over an idle pool of idle_workers
    double redis_commands_per_job = 0;  ///< INFO commandstats calls during the drain / jobs
    double round_trips_per_job = 0;     ///< top-level commands (script calls count once)
    double redis_usec_per_job = 0;      ///< server time in commands during the drain / jobs
    std::string system;                 ///< e.g. "resque-cpp 0.1.0, 2 worker processes"
};

/// Runs every phase in order; `progress` receives one human-readable line per phase.
/// Throws ConnectionError when Redis cannot be reached, UsageError for bad options.
BenchResult run_bench(const RedisOptions& redis, const BenchOptions& options,
                      const std::function<void(const std::string&)>& progress = {});

}  // namespace resque
