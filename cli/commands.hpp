#pragma once

// The commands of the `resque` tool. main.cpp builds the CLI11 app, and each
// add_<x>_command() adds one command (or a group) with its options and a callback that
// runs it. Callbacks run after the whole command line has been parsed and the global
// options applied; they report failure by throwing (see main.cpp for the exit codes).

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "process_title.hpp"
#include "resque/redis_options.hpp"
#include "resque/worker.hpp"

namespace resque::cli {

/// Options every command accepts, filled in by CLI11 before any command runs.
struct GlobalOptions {
    std::string redis_url;
    std::string key_namespace = "resque";
    std::string log_level = "info";
    std::string log_format = "text";
    /// The process's title area; only `work` rewrites it.
    ProcessTitle* title = nullptr;

    /// The Redis address and namespace to use. Throws ConfigError for a bad URL.
    [[nodiscard]] RedisOptions redis() const;
};

/// A CLI11 check that an option is a finite number in [minimum, maximum]; the error
/// reads `--count: must be at least 1 (got 0)`.
CLI::Validator number_in(double minimum, double maximum);

/// How dead workers are judged and settled; shared by `work` and `prune`.
struct DeadWorkerOptions {
    std::string recovery = "requeue";
    double prune_after_seconds = 300;

    /// Adds `--recovery` and `--prune-after` to `command`.
    void add_to(CLI::App& command);
    [[nodiscard]] RecoveryPolicy policy() const;
    [[nodiscard]] std::chrono::milliseconds prune_after() const;
};

/// The `cli` logger (stderr, configured by --log-level and --log-format).
std::shared_ptr<spdlog::logger> cli_logger();

void add_enqueue_command(CLI::App& app, GlobalOptions& globals);
void add_work_command(CLI::App& app, GlobalOptions& globals);
/// queues, peek, clear, remove-queue.
void add_queues_commands(CLI::App& app, GlobalOptions& globals);
/// workers, prune.
void add_workers_commands(CLI::App& app, GlobalOptions& globals);
/// pause, resume.
void add_pause_commands(CLI::App& app, GlobalOptions& globals);
void add_stats_command(CLI::App& app, GlobalOptions& globals);
/// failed list|show|retry|remove|clear|clear-retried.
void add_failed_command(CLI::App& app, GlobalOptions& globals);
void add_bench_command(CLI::App& app, GlobalOptions& globals);
/// scheduler (the process), schedule list|add|remove|next, delayed list|find|remove.
void add_scheduler_command(CLI::App& app, GlobalOptions& globals);
void add_schedule_command(CLI::App& app, GlobalOptions& globals);
void add_delayed_command(CLI::App& app, GlobalOptions& globals);
/// web: the dashboard.
void add_web_command(CLI::App& app, GlobalOptions& globals);

}  // namespace resque::cli
