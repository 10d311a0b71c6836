// `resque scheduler`: run a scheduler process (delayed jobs, recurring schedules, one
// leader among all schedulers on the Redis).

#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <string>

#include "commands.hpp"
#include "resque/errors.hpp"
#include "resque/schedule.hpp"
#include "resque/scheduler.hpp"

namespace resque::cli {
namespace {

struct SchedulerArgs {
    std::string schedule_file;
    std::string zone = "UTC";
    double lock_ttl_seconds = 30;
    std::string lock_prefix;
    std::size_t batch_size = 1000;
    std::string missed_runs = "skip";
    double missed_after_seconds = 60;
    std::string identity;
};

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

void run_scheduler(const GlobalOptions& globals, const SchedulerArgs& args) {
    SchedulerOptions options;
    options.default_zone = args.zone;
    if (!args.schedule_file.empty()) {
        options.schedules = load_schedule_file(args.schedule_file, args.zone);
    }
    options.lock_ttl = to_ms(args.lock_ttl_seconds);
    options.lock_prefix = args.lock_prefix;
    options.batch_size = args.batch_size;
    options.missed_runs =
        args.missed_runs == "run-once" ? MissedRunPolicy::kRunOnce : MissedRunPolicy::kSkip;
    options.missed_after = std::chrono::seconds(std::llround(args.missed_after_seconds));
    options.identity = args.identity;

    Scheduler scheduler(globals.redis(), std::move(options));
    scheduler.handle_signals();
    scheduler.run();
}

}  // namespace

void add_scheduler_command(CLI::App& app, GlobalOptions& globals) {
    auto args = std::make_shared<SchedulerArgs>();
    CLI::App* command = app.add_subcommand(
        "scheduler", "Move due delayed jobs to their queues and enqueue recurring schedules");
    command->footer(
        "Any number of schedulers may run against one Redis: one leads (the lock "
        "<ns>:<ns>:resque_scheduler_master_lock), the others take over when it stops. "
        "TERM, INT and QUIT stop it and release the lock.");
    command
        ->add_option("--schedule", args->schedule_file,
                     "YAML file of recurring schedules (resque-scheduler's format)")
        ->check(CLI::ExistingFile);
    command->add_option("--zone", args->zone, "time zone for cron entries without one")
        ->capture_default_str();
    command
        ->add_option("--lock-ttl", args->lock_ttl_seconds,
                     "leader lock expiry in seconds (a follower takes over within it)")
        ->check(number_in(0.3, 86400))
        ->capture_default_str();
    command->add_option("--lock-prefix", args->lock_prefix,
                        "extra lock key segment (RESQUE_SCHEDULER_MASTER_LOCK_PREFIX)");
    command->add_option("--batch-size", args->batch_size, "delayed jobs moved per script call")
        ->check(number_in(1, 100000))
        ->capture_default_str();
    command
        ->add_option("--missed-runs", args->missed_runs,
                     "recurring runs missed while no scheduler ran: skip or run-once")
        ->check(CLI::IsMember({"skip", "run-once"}))
        ->capture_default_str();
    command
        ->add_option("--missed-after", args->missed_after_seconds,
                     "seconds overdue after which a run counts as missed")
        ->check(number_in(1, 1e7))
        ->capture_default_str();
    command->add_option("--identity", args->identity, "lock value (default host:pid)");
    command->callback([&globals, args] { run_scheduler(globals, *args); });
}

}  // namespace resque::cli
