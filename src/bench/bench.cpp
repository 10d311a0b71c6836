// `resque bench`: the phases run in order against a namespace of their own.
//  1. enqueue `jobs` no-op jobs one call at a time (one client), then clear them;
//  2. enqueue `jobs` again with enqueue_many, spread over `queues` queues;
//  3. fork a pool of `workers` worker processes on `*` and time the drain of that
//     backlog (counting Redis commands with INFO commandstats);
//  4. with the pool idle, enqueue `pickup_jobs` one at a time, paced, each carrying its
//     enqueue time; the handler (in the worker process) records start - enqueue into
//     shared memory;
//  5. read the workers' peak RSS, stop the pool with QUIT, delete the namespace.

#include "resque/bench.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "redis/connection.hpp"
#include "resque/client.hpp"
#include "resque/errors.hpp"
#include "resque/version.hpp"
#include "resque/worker.hpp"

namespace resque {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kNoop = "Resque::Bench::Noop";
constexpr const char* kPickup = "Resque::Bench::Pickup";
constexpr int kMaxPickup = 100000;
constexpr int kRssBaseJobs = 10000;  // the "after 10k jobs" memory baseline

// Written by the worker processes, read by the bench process.
struct SharedLatencies {
    std::atomic<int> count;
    double ms[kMaxPickup];
};

long long wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string queue_name(int i) { return fmt::format("bench_{}", i); }

// Calls summed over INFO commandstats. Redis counts the commands a script runs as well
// as the script call itself, so `all` is the server's work and `top_level` (the commands
// a worker or the bench sends on the wire) approximates round trips.
struct CommandCounts {
    long long all = 0;
    long long top_level = 0;
    long long usec = 0;  // server time spent in them (script calls include their commands)
};

CommandCounts command_counts(redis::Connection& redis) {
    std::string info = redis.command({"INFO", "commandstats"}).as_string();
    std::istringstream lines(info);
    std::string line;
    CommandCounts counts;
    while (std::getline(lines, line)) {
        if (line.rfind("cmdstat_", 0) != 0) continue;
        auto at = line.find("calls=");
        if (at == std::string::npos) continue;
        long long calls = std::stoll(line.substr(at + 6));
        std::string name = line.substr(8, line.find(':') - 8);
        counts.all += calls;
        if (auto usec = line.find(",usec="); usec != std::string::npos) {
            counts.usec += std::stoll(line.substr(usec + 6));
        }
        // Inside take.lua only these run; a worker sends EVALSHA, and the idle wait
        // and the bench's own polling use the rest.
        if (name == "evalsha" || name == "eval" || name == "get" || name == "smembers" ||
            name == "ping" || name == "info")
            counts.top_level += calls;
    }
    return counts;
}

HandlerRegistry bench_handlers(SharedLatencies* shared) {
    HandlerRegistry handlers;
    handlers.add(kNoop, [](const JobContext&) {});
    handlers.add(kPickup, [shared](const JobContext& job) {
        long long now = wall_us();
        long long sent = job.job.args.at(0).get<long long>();
        int slot = shared->count.fetch_add(1);
        if (slot < kMaxPickup) shared->ms[slot] = static_cast<double>(now - sent) / 1000.0;
    });
    return handlers;
}

pid_t start_pool(const RedisOptions& redis, const BenchOptions& options, SharedLatencies* shared) {
    pid_t pid = ::fork();
    if (pid < 0) throw Error("bench: fork failed");
    if (pid > 0) return pid;
    // The pool process: no state of the parent's connections is used here.
    try {
        WorkerOptions worker_options;
        worker_options.queues = {"*"};
        worker_options.concurrency = options.workers;
        worker_options.prefetch_budget = options.prefetch_budget;
        WorkerPool pool(redis, worker_options, bench_handlers(shared));
        pool.handle_signals();
        pool.run();
        ::_exit(0);
    } catch (...) {
        ::_exit(1);
    }
}

void stop_pool(pid_t pid) {
    ::kill(pid, SIGQUIT);
    int status = 0;
    ::waitpid(pid, &status, 0);
}

// One GET per look, so the bench's own polling barely shows in the command counts.
long long processed(redis::Connection& redis, const std::string& key) {
    auto value = redis.command({"GET", key}).as_optional_string();
    return value ? std::stoll(*value) : 0;
}

void wait_processed(redis::Connection& redis, const std::string& key, long long target,
                    std::chrono::seconds limit) {
    auto start = Clock::now();
    while (processed(redis, key) < target) {
        if (Clock::now() - start > limit) {
            throw Error(fmt::format("bench: workers processed {} of {} jobs in {} s; giving up",
                                    processed(redis, key), target, limit.count()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

std::vector<pid_t> children_of(pid_t parent) {
    std::ifstream file(fmt::format("/proc/{}/task/{}/children", parent, parent));
    std::vector<pid_t> pids;
    pid_t pid = 0;
    while (file >> pid) pids.push_back(pid);
    if (pids.empty()) pids.push_back(parent);  // one worker runs in the pool process
    return pids;
}

// A `/proc/<pid>/status` size field (e.g. "VmHWM:", "VmRSS:") in MB.
double status_mb(pid_t pid, const std::string& field) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;
    }
    return 0;
}

double peak_rss_mb(pid_t pid) { return status_mb(pid, "VmHWM:"); }

std::map<pid_t, double> rss_by_worker(pid_t pool) {
    std::map<pid_t, double> sizes;
    for (pid_t pid : children_of(pool)) sizes[pid] = status_mb(pid, "VmRSS:");
    return sizes;
}

// Proportional set size: shared pages count once across the processes sharing them.
double pss_mb(pid_t pid) {
    std::ifstream rollup(fmt::format("/proc/{}/smaps_rollup", pid));
    std::string line;
    while (std::getline(rollup, line)) {
        if (line.rfind("Pss:", 0) == 0) return std::stod(line.substr(4)) / 1024.0;
    }
    return 0;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

void delete_namespace(redis::Connection& redis, const std::string& ns) {
    std::string cursor = "0";
    do {
        auto reply = redis.command({"SCAN", cursor, "MATCH", ns + ":*", "COUNT", "1000"});
        cursor = reply.elements.at(0).as_string();
        auto found = reply.elements.at(1).as_strings();
        if (!found.empty()) {
            redis::Command del{"DEL"};
            del.insert(del.end(), found.begin(), found.end());
            redis.command(del);
        }
    } while (cursor != "0");
}

}  // namespace

BenchResult run_bench(const RedisOptions& redis_options, const BenchOptions& options,
                      const std::function<void(const std::string&)>& progress) {
    if (options.jobs < 1 || options.workers < 1 || options.queues < 1 || options.pickup_jobs < 1 ||
        options.pickup_jobs > kMaxPickup) {
        throw UsageError("bench: jobs, workers and queues must be at least 1, pickup jobs 1.." +
                         std::to_string(kMaxPickup));
    }
    auto say = [&](const std::string& line) {
        if (progress) progress(line);
    };
    RedisOptions bench_redis = redis_options;
    bench_redis.key_namespace = redis_options.key_namespace + ":bench";
    redis::Connection admin(bench_redis);
    delete_namespace(admin, bench_redis.key_namespace);
    Client client(bench_redis);
    const std::string processed_key = bench_redis.key_namespace + ":stat:processed";
    BenchResult result;
    result.system = fmt::format("resque-cpp {}, {} worker processes", kVersion, options.workers);

    // 1. one job per call
    auto start = Clock::now();
    for (int i = 0; i < options.jobs; ++i) client.enqueue(queue_name(0), {kNoop, {i}});
    result.enqueue_jobs_per_s = options.jobs / seconds_since(start);
    say(fmt::format("enqueue (1 client, 1 job per call): {:.0f} jobs/s",
                    result.enqueue_jobs_per_s));
    client.clear_queue(queue_name(0));

    // 2. bulk
    std::vector<QueuedJob> backlog;
    backlog.reserve(options.jobs);
    for (int i = 0; i < options.jobs; ++i) {
        backlog.push_back({queue_name(i % options.queues), {kNoop, {i}}});
    }
    start = Clock::now();
    client.enqueue_many(backlog);
    result.bulk_enqueue_jobs_per_s = options.jobs / seconds_since(start);
    say(fmt::format("bulk enqueue (enqueue_many): {:.0f} jobs/s", result.bulk_enqueue_jobs_per_s));

    // 3. drain
    void* memory = ::mmap(nullptr, sizeof(SharedLatencies), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw Error("bench: mmap failed");
    auto* shared = new (memory) SharedLatencies{};
    CommandCounts before = command_counts(admin);
    start = Clock::now();
    pid_t pool = start_pool(bench_redis, options, shared);
    try {
        // Memory is sampled once the workers have run kRssBaseJobs jobs, and at the end.
        std::map<pid_t, double> rss_base;
        if (options.jobs >= 2 * kRssBaseJobs) {
            wait_processed(admin, processed_key, kRssBaseJobs, std::chrono::seconds(600));
            rss_base = rss_by_worker(pool);
        }
        wait_processed(admin, processed_key, options.jobs, std::chrono::seconds(3600));
        double seconds = seconds_since(start);
        for (const auto& [pid, mb] : rss_by_worker(pool)) {
            if (rss_base.contains(pid)) {
                result.rss_growth_mb = std::max(result.rss_growth_mb, mb - rss_base[pid]);
            }
        }
        CommandCounts after = command_counts(admin);
        result.drain_jobs_per_s = options.jobs / seconds;
        result.redis_commands_per_job = static_cast<double>(after.all - before.all) / options.jobs;
        result.round_trips_per_job =
            static_cast<double>(after.top_level - before.top_level) / options.jobs;
        result.redis_usec_per_job = static_cast<double>(after.usec - before.usec) / options.jobs;
        say(
            fmt::format("drain ({} workers, {} queues): {:.0f} jobs/s, {:.2f} Redis commands "
                        "and {:.2f} round trips per job (including the bench's polling), {:.2f} "
                        "µs of Redis time per job",
                        options.workers, options.queues, result.drain_jobs_per_s,
                        result.redis_commands_per_job, result.round_trips_per_job,
                        result.redis_usec_per_job));

        // 4. pick-up latency, idle workers, paced
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        long long target = processed(admin, processed_key) + options.pickup_jobs;
        for (int i = 0; i < options.pickup_jobs; ++i) {
            client.enqueue(queue_name(0), {kPickup, {wall_us()}});
            std::this_thread::sleep_for(std::chrono::microseconds(options.pickup_gap_us));
        }
        wait_processed(admin, processed_key, target, std::chrono::seconds(60));
        std::vector<double> latencies(shared->ms,
                                      shared->ms + std::min(shared->count.load(), kMaxPickup));
        result.pickup_p50_ms = percentile(latencies, 0.50);
        result.pickup_p99_ms = percentile(latencies, 0.99);
        result.pickup_max_ms = percentile(latencies, 1.0);
        say(fmt::format(
            "pick-up (enqueue -> start, idle workers, {} jobs): p50 {:.3f} ms, "
            "p99 {:.3f} ms, max {:.3f} ms",
            latencies.size(), result.pickup_p50_ms, result.pickup_p99_ms, result.pickup_max_ms));

        // 5. memory
        for (pid_t pid : children_of(pool))
            result.rss_mb = std::max(result.rss_mb, peak_rss_mb(pid));
        say(fmt::format("peak RSS of a worker process: {:.1f} MB", result.rss_mb));
        if (options.jobs >= 2 * kRssBaseJobs) {
            say(fmt::format("worker RSS growth from {} jobs to {} jobs: {:.2f} MB", kRssBaseJobs,
                            options.jobs, result.rss_growth_mb));
        }
    } catch (...) {
        stop_pool(pool);
        ::munmap(memory, sizeof(SharedLatencies));
        throw;
    }
    stop_pool(pool);

    // 6. an idle pool's memory, all processes together
    if (options.idle_workers > 0) {
        BenchOptions idle = options;
        idle.workers = options.idle_workers;
        pid_t idle_pool = start_pool(bench_redis, idle, shared);
        auto registered = [&] {
            return admin.command({"SCARD", bench_redis.key_namespace + ":workers"}).as_integer();
        };
        auto start_wait = Clock::now();
        while (registered() < options.idle_workers && seconds_since(start_wait) < 30) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        result.idle_pool_pss_mb = pss_mb(idle_pool);
        for (pid_t pid : children_of(idle_pool)) {
            if (pid != idle_pool) result.idle_pool_pss_mb += pss_mb(pid);
        }
        stop_pool(idle_pool);
        say(fmt::format("idle pool of {} workers: {:.1f} MB PSS in all", options.idle_workers,
                        result.idle_pool_pss_mb));
    }
    ::munmap(memory, sizeof(SharedLatencies));
    delete_namespace(admin, bench_redis.key_namespace);
    return result;
}

}  // namespace resque
