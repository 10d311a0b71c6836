// Redis load of idle workers: starts WORKERS worker processes (one WorkerPool, default
// WorkerOptions: heartbeat every 10 s, idle wait of at most 1 s) on queues that stay
// empty, lets them settle, then counts what Redis runs over a window of SECONDS from
// INFO commandstats (commands run inside scripts included) and prints the rate of each
// command. Our own INFO calls are left out.
//
//   idle_load REDIS_URL [WORKERS [SECONDS [QUEUES]]]
//
// Use a private redis-server: the counts are server-wide. Writes to namespace "idle".
// QUEUES is a comma-separated list (default "idle"; "*" makes every worker read the
// queue set too).

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "redis/connection.hpp"
#include "resque/logging.hpp"
#include "resque/worker.hpp"

namespace {

using Counts = std::map<std::string, long long>;

Counts command_calls(resque::redis::Connection& redis) {
    Counts counts;
    std::istringstream lines(redis.command({"INFO", "commandstats"}).as_string());
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("cmdstat_", 0) != 0) continue;
        auto at = line.find("calls=");
        if (at == std::string::npos) continue;
        counts[line.substr(8, line.find(':') - 8)] = std::stoll(line.substr(at + 6));
    }
    return counts;
}

bool wait_for_workers(resque::redis::Connection& redis, int workers) {
    for (int i = 0; i < 600; ++i) {
        if (redis.command({"SCARD", "idle:workers"}).as_integer() == workers) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

void print_rates(const Counts& before, const Counts& after, int workers, int seconds) {
    long long total = 0;
    std::printf("%-16s %10s %12s\n", "command", "calls", "per second");
    for (const auto& [name, calls] : after) {
        auto earlier = before.find(name);
        long long delta = calls - (earlier == before.end() ? 0 : earlier->second);
        if (name == "info" || delta == 0) continue;
        total += delta;
        std::printf("%-16s %10lld %12.1f\n", name.c_str(), delta,
                    static_cast<double>(delta) / seconds);
    }
    std::printf("%-16s %10lld %12.1f   (%.2f per worker per second)\n", "all", total,
                static_cast<double>(total) / seconds,
                static_cast<double>(total) / seconds / workers);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: idle_load REDIS_URL [WORKERS [SECONDS [QUEUES]]]\n");
        return 2;
    }
    auto redis = resque::parse_redis_url(argv[1]);
    redis.key_namespace = "idle";
    const int workers = argc > 2 ? std::stoi(argv[2]) : 16;
    const int seconds = argc > 3 ? std::stoi(argv[3]) : 10;
    resque::configure_logging("warn");

    resque::WorkerOptions options;
    std::istringstream queues(argc > 4 ? argv[4] : "idle");
    for (std::string queue; std::getline(queues, queue, ',');) options.queues.push_back(queue);
    options.concurrency = workers;
    resque::WorkerPool pool(redis, options, resque::HandlerRegistry{});
    std::thread running([&] { pool.run(); });

    resque::redis::Connection client(redis);
    if (!wait_for_workers(client, workers)) {
        std::fprintf(stderr, "idle_load: the workers did not all register within 60 s\n");
        pool.stop_now();
        running.join();
        return 1;
    }
    // Past every worker's start-up (registration, first prune) before counting.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const Counts before = command_calls(client);
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    const Counts after = command_calls(client);

    std::printf("%d idle workers on %s, %d s window, heartbeat %lld ms, idle wait %lld ms\n",
                workers, argc > 4 ? argv[4] : "idle", seconds,
                static_cast<long long>(options.heartbeat_interval.count()),
                static_cast<long long>(options.idle_poll.count()));
    print_rates(before, after, workers, seconds);
    pool.stop_gracefully();
    running.join();
    return 0;
}
