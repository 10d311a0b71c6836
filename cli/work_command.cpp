// `resque work`: runs a pool of workers on the given queues until stopped by a signal
// (QUIT, TERM, INT, with Resque's meanings) or, with --until-empty, until the queues
// are drained.

#include <sys/prctl.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "jobs_file.hpp"
#include "resque/errors.hpp"
#include "resque/handler.hpp"
#include "resque/worker.hpp"

namespace resque::cli {
namespace {

struct WorkArgs {
    std::vector<std::string> queues;
    int concurrency = 1;
    int prefetch = WorkerOptions{}.prefetch;
    std::string jobs_file;
    bool until_empty = false;
    double shutdown_grace = 10;
    DeadWorkerOptions dead;
    std::string failure_backend = "redis";
    double heartbeat = 10;
    std::string isolation = "thread";
    std::string timeout;
    double kill_grace = 5;
};

std::chrono::milliseconds from_seconds(double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

std::vector<std::string> queue_list(const std::vector<std::string>& given) {
    std::vector<std::string> queues;
    for (const std::string& name : given) {
        const auto first = name.find_first_not_of(" \t");
        if (first == std::string::npos) throw UsageError("--queues has an empty queue name");
        queues.push_back(name.substr(first, name.find_last_not_of(" \t") - first + 1));
    }
    return queues;
}

WorkerOptions worker_options(const WorkArgs& args) {
    WorkerOptions options;
    options.queues = queue_list(args.queues);
    options.concurrency = args.concurrency;
    options.prefetch = args.prefetch;
    options.until_empty = args.until_empty;
    options.shutdown_grace = from_seconds(args.shutdown_grace);
    options.heartbeat_interval = from_seconds(args.heartbeat);
    options.prune_after = args.dead.prune_after();
    options.recovery = args.dead.policy();
    options.isolation = *parse_isolation(args.isolation);
    if (!args.timeout.empty()) {
        options.job_timeout = detail::parse_duration(args.timeout);
        if (!options.job_timeout) {
            throw UsageError("--timeout must be a positive duration like 30s, 5m or 500ms (got \"" +
                             args.timeout + "\")");
        }
    }
    options.kill_grace = from_seconds(args.kill_grace);
    options.failure_backend = args.failure_backend == "redis_multi_queue"
                                  ? FailureBackendKind::kRedisMultiQueue
                                  : FailureBackendKind::kRedis;
    return options;
}

HandlerRegistry load_handlers(const std::string& jobs_file) {
    if (jobs_file.empty()) {
        cli_logger()->warn("no --jobs file given: every job will fail as an unknown class");
        return {};
    }
    return HandlerRegistry::from_jobs_file(jobs_file);
}

void run_workers(const GlobalOptions& globals, const WorkArgs& args) {
    WorkerOptions options = worker_options(args);
    HandlerRegistry handlers = load_handlers(args.jobs_file);
    WorkerPool pool(globals.redis(), std::move(options), std::move(handlers));

    // Ruby Resque's pruner looks for `resque-<digit>` in our command line (see
    // process_title.hpp); the short name is what top and pgrep show.
    ::prctl(PR_SET_NAME, "resque-worker", 0, 0, 0);
    ProcessTitle* title = globals.title;
    if (title != nullptr) {
        title->set("Starting");
        pool.set_title_function([title](const std::string& status) { title->set(status); });
    }

    pool.handle_signals();
    pool.run();
}

}  // namespace

void add_work_command(CLI::App& app, GlobalOptions& globals) {
    auto args = std::make_shared<WorkArgs>();
    CLI::App* command = app.add_subcommand("work", "Run workers on queues");

    command->add_option("--queues", args->queues, "queues in priority order: a,b or * or mail-*")
        ->delimiter(',')
        ->envname("QUEUES")
        ->required();
    command->add_option("--concurrency", args->concurrency, "worker processes")
        ->check(number_in(1, 1024))
        ->capture_default_str();
    command
        ->add_option("--prefetch", args->prefetch,
                     "most jobs taken at once while jobs are fast (1: strict priority)")
        ->check(number_in(1, 1000))
        ->capture_default_str();
    command->add_option("--jobs", args->jobs_file, "jobs file mapping job classes to programs")
        ->check(CLI::ExistingFile);
    command->add_flag("--until-empty", args->until_empty, "stop once every queue is empty");
    command
        ->add_option("--shutdown-grace", args->shutdown_grace,
                     "seconds a running job gets on TERM/INT before it is stopped")
        ->check(number_in(0, 1e7))
        ->capture_default_str();
    args->dead.add_to(*command);
    command->add_option("--failure-backend", args->failure_backend, "redis or redis_multi_queue")
        ->check(CLI::IsMember({"redis", "redis_multi_queue"}))
        ->capture_default_str();
    command
        ->add_option("--isolation", args->isolation,
                     "where C++ handlers run: thread or fork (programs always exec)")
        ->check(CLI::IsMember({"thread", "fork"}))
        ->capture_default_str();
    command->add_option("--timeout", args->timeout,
                        "time limit of jobs whose class sets none: 30s, 5m, 500ms (default: none)");
    command
        ->add_option("--kill-grace", args->kill_grace,
                     "seconds a timed-out job's process gets between SIGTERM and SIGKILL")
        ->check(number_in(0, 1e7))
        ->capture_default_str();
    command->add_option("--heartbeat", args->heartbeat, "seconds between heartbeats")
        ->check(number_in(0.1, 1e7))
        ->capture_default_str();

    command->callback([&globals, args] { run_workers(globals, *args); });
}

}  // namespace resque::cli
