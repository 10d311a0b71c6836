// A worker process for fault-injection tests: class `Marker` appends its first argument
// to the list `test:exec` (retrying through outages, so a marker is never dropped by the
// handler itself), optionally sleeping first (SLEEP_MS, or the job's second argument).
// QUEUES is one queue or a comma-separated list in priority order. ISOLATION (thread or
// fork) is where Marker runs; JOBS_FILE adds programs. For large-payload tests, class `Size`
// appends `size:<bytes>` of its first argument (a string, not copied) and class `Fail`
// throws. MARKER_HEARTBEAT_MS sets the heartbeat interval (default 200).
//
//   marker_worker REDIS_URL QUEUES [SLEEP_MS [ISOLATION [JOBS_FILE]]]

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "redis/connection.hpp"
#include "resque/errors.hpp"
#include "resque/logging.hpp"
#include "resque/worker.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: marker_worker REDIS_URL QUEUES [SLEEP_MS]\n";
        return 2;
    }
    auto redis = resque::parse_redis_url(argv[1]);
    int sleep_ms = argc > 3 ? std::stoi(argv[3]) : 0;
    resque::configure_logging("warn");

    resque::redis::Connection marker_redis(redis);
    resque::HandlerRegistry handlers;
    handlers.add("Marker", [&](const resque::JobContext& job) {
        const int sleep_for = job.job.args.size() > 1 ? job.job.args.at(1).get<int>() : sleep_ms;
        if (sleep_for > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_for));
        std::string marker = job.job.args.at(0).get<std::string>();
        for (;;) {
            try {
                marker_redis.command({"RPUSH", "test:exec", marker});
                return;
            } catch (const resque::RedisError&) {
                marker_redis.disconnect();
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
    });
    handlers.add("Size", [&](const resque::JobContext& job) {
        const auto& text = job.job.args.at(0).get_ref<const std::string&>();
        marker_redis.command({"RPUSH", "test:exec", "size:" + std::to_string(text.size())});
    });
    handlers.add("Fail", [](const resque::JobContext&) {
        throw resque::JobFailure("TestFailure", "failed on purpose");
    });
    if (argc > 5) handlers.load_jobs_file(argv[5]);
    resque::WorkerOptions options;
    if (argc > 4) {
        const auto isolation = resque::parse_isolation(argv[4]);
        if (!isolation) {
            std::cerr << "marker_worker: ISOLATION must be thread or fork\n";
            return 2;
        }
        options.isolation = *isolation;
    }
    std::istringstream queues(argv[2]);
    for (std::string queue; std::getline(queues, queue, ',');) options.queues.push_back(queue);
    const char* heartbeat_ms = std::getenv("MARKER_HEARTBEAT_MS");
    options.heartbeat_interval =
        std::chrono::milliseconds(heartbeat_ms != nullptr ? std::stoi(heartbeat_ms) : 200);
    options.idle_poll = std::chrono::milliseconds(200);
    options.shutdown_grace = std::chrono::seconds(2);
    resque::WorkerPool pool(redis, options, std::move(handlers));
    pool.handle_signals();
    pool.run();
    return 0;
}
