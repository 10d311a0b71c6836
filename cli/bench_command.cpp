// `resque bench`: runs the built-in benchmark (include/resque/bench.hpp) against the
// configured Redis and prints one line per phase; --json adds the figures as one JSON
// object on the last line, the contract scripts/bench reads.

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "output.hpp"
#include "resque/bench.hpp"

namespace resque::cli {

void add_bench_command(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<BenchOptions>();
    auto json_output = std::make_shared<bool>(false);
    CLI::App* command =
        app.add_subcommand("bench", "Measure enqueue, drain and pick-up with no-op jobs");
    command->footer(
        "Runs in the namespace <namespace>:bench of the configured Redis and deletes it\n"
        "afterwards; queues and counters outside it are not touched.");
    command->add_option("--jobs", options->jobs, "jobs per phase")
        ->check(number_in(1, 10'000'000))
        ->capture_default_str();
    command->add_option("--workers", options->workers, "worker processes")
        ->check(number_in(1, 256))
        ->capture_default_str();
    command->add_option("--queues", options->queues, "queues the backlog is spread over")
        ->check(number_in(1, 100'000))
        ->capture_default_str();
    command->add_option("--pickup-jobs", options->pickup_jobs, "jobs in the latency phase")
        ->check(number_in(1, 100'000))
        ->capture_default_str();
    command->add_option("--idle-workers", options->idle_workers,
                        "idle pool whose memory is measured (0: skip)")
        ->check(number_in(0, 256))
        ->capture_default_str();
    auto budget_ms = std::make_shared<int>(2);
    command->add_option("--prefetch-budget-ms", *budget_ms,
                        "work a worker's batch may hold (raise under a profiler)")
        ->check(number_in(1, 60'000))
        ->capture_default_str();
    command->add_flag("--json", *json_output, "also print the figures as JSON on the last line");
    command->callback([&globals, options, json_output, budget_ms] {
        options->prefetch_budget = std::chrono::milliseconds(*budget_ms);
        auto result = run_bench(globals.redis(), *options, [](const std::string& line) {
            std::printf("%s\n", line.c_str());
            std::fflush(stdout);
        });
        if (!*json_output) return;
        print_json({{"system", result.system},
                    {"enqueue_jobs_per_s", result.enqueue_jobs_per_s},
                    {"bulk_enqueue_jobs_per_s", result.bulk_enqueue_jobs_per_s},
                    {"drain_jobs_per_s", result.drain_jobs_per_s},
                    {"pickup_p50_ms", result.pickup_p50_ms},
                    {"pickup_p99_ms", result.pickup_p99_ms},
                    {"pickup_max_ms", result.pickup_max_ms},
                    {"rss_mb", result.rss_mb},
                    {"rss_growth_mb", result.rss_growth_mb},
                    {"redis_usec_per_job", result.redis_usec_per_job},
                    {"idle_pool_pss_mb", result.idle_pool_pss_mb},
                    {"redis_commands_per_job", result.redis_commands_per_job},
                    {"round_trips_per_job", result.round_trips_per_job}});
    });
}

}  // namespace resque::cli
