// Pick-up latency: time from a foreign client's plain RPUSH to the start of the job on an
// idle worker, over loopback. Also measures a PING round trip in the same run, as the
// floor any Redis client pays.
//
//   pickup_latency REDIS_URL [JOBS]      (use a private redis-server; it flushes nothing
//                                        but writes to namespace "bench")

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "resque/logging.hpp"
#include "resque/worker.hpp"

namespace {

using Clock = std::chrono::system_clock;

long long now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    return values[static_cast<std::size_t>(p * (values.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: pickup_latency REDIS_URL [JOBS]\n");
        return 2;
    }
    auto options = resque::parse_redis_url(argv[1]);
    options.key_namespace = "bench";
    int jobs = argc > 2 ? std::stoi(argv[2]) : 1000;
    resque::configure_logging("warn");

    std::mutex mutex;  // guards latencies
    std::vector<double> latencies;
    resque::HandlerRegistry handlers;
    handlers.add("Stamp", [&](const resque::JobContext& job) {
        double ms = (now_ns() - job.job.args.at(0).get<long long>()) / 1e6;
        std::lock_guard lock(mutex);
        latencies.push_back(ms);
    });
    resque::WorkerOptions worker_options;
    worker_options.queues = {"latency"};
    resque::WorkerPool pool(options, worker_options, std::move(handlers));
    std::thread worker([&] { pool.run(); });

    resque::redis::Connection client(options);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::vector<double> pings;
    for (int i = 0; i < jobs; ++i) {
        auto start = now_ns();
        client.command({"PING"});
        pings.push_back((now_ns() - start) / 1e6);
        std::string payload = R"({"class":"Stamp","args":[)" + std::to_string(now_ns()) + "]}";
        client.command({"RPUSH", "bench:queue:latency", payload});
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // worker idle again
    }
    while (true) {
        std::lock_guard lock(mutex);
        if (static_cast<int>(latencies.size()) >= jobs) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pool.stop_gracefully();
    worker.join();
    std::printf("pick-up latency (RPUSH by a foreign client -> job start), %d jobs:\n", jobs);
    std::printf("  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", percentile(latencies, 0.5),
                percentile(latencies, 0.99), percentile(latencies, 1.0));
    std::printf("PING round trip in the same run: p50 %.3f ms  p99 %.3f ms\n",
                percentile(pings, 0.5), percentile(pings, 0.99));
    return 0;
}
