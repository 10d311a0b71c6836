// Scheduler promotion lag (FC-17). JOBS delayed jobs over TIMESTAMPS consecutive due
// seconds are written with DelayedQueue::enqueue_many_at and moved by a live Scheduler in
// this process. An observer samples `TIME` and `LLEN` together (MULTI/EXEC) about once a
// millisecond; a job's arrival is the first sample whose length covers its position, and
// its lag is arrival minus the start of its due second, both in Redis time.
//
// Then idle pick-up: with nothing else due, one job at a time is delayed to the next
// whole second but one; the lag is Redis `TIME` right after `BLPOP` returns it, minus
// its due second.
//
//   scheduler_lag REDIS_URL [JOBS] [TIMESTAMPS] [IDLE_SAMPLES] [BATCH]
//
// Use a private redis-server: it writes to namespace "bench" and deletes its queues and
// delayed keys first.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "resque/delayed.hpp"
#include "resque/logging.hpp"
#include "resque/scheduler.hpp"

namespace {

using resque::redis::Connection;
using std::chrono::seconds;
using std::chrono::system_clock;

constexpr const char* kQueue = "bench:queue:lag";

struct Sample {
    long long length;
    long long time_us;  // Redis TIME, microseconds since the epoch
};

long long redis_time_us(const resque::redis::Reply& time) {
    return std::stoll(time.elements.at(0).as_string()) * 1'000'000 +
           std::stoll(time.elements.at(1).as_string());
}

Sample sample(Connection& redis) {
    const std::vector<resque::redis::Command> commands{
        {"MULTI"}, {"TIME"}, {"LLEN", kQueue}, {"EXEC"}};
    const auto replies = redis.pipeline(commands);
    const auto& exec = replies.back();
    return {exec.elements.at(1).as_integer(), redis_time_us(exec.elements.at(0))};
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

long long index_of(const std::string& payload) {
    constexpr std::string_view kPrefix = R"({"class":"Lag","args":[)";
    long long index = -1;
    if (!payload.starts_with(kPrefix)) return -1;
    std::from_chars(payload.data() + kPrefix.size(), payload.data() + payload.size(), index);
    return index;
}

void clean(Connection& redis) {
    const auto keys = redis.command({"KEYS", "bench:*"}).as_strings();
    for (const auto& key : keys) redis.command({"DEL", key});
}

// Lag of every job, in ms, from the samples and the queue's final contents.
std::vector<double> lags(Connection& redis, const std::vector<Sample>& samples, long long first_due,
                         long long per_second, long long& unreadable) {
    std::vector<double> result;
    std::size_t cursor = 0;
    long long position = 0;
    for (;; position += 10'000) {
        const auto chunk = redis
                               .command({"LRANGE", kQueue, std::to_string(position),
                                         std::to_string(position + 9'999)})
                               .as_strings();
        if (chunk.empty()) break;
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            const long long at = position + static_cast<long long>(i);
            while (cursor < samples.size() && samples[cursor].length <= at) ++cursor;
            const long long index = index_of(chunk[i]);
            if (index < 0 || cursor == samples.size()) {
                ++unreadable;
                continue;
            }
            const long long due_us = (first_due + index / per_second) * 1'000'000;
            result.push_back(static_cast<double>(samples[cursor].time_us - due_us) / 1000.0);
        }
    }
    return result;
}

std::vector<double> idle_pickup(const resque::RedisOptions& options, int count) {
    resque::DelayedQueue delayed(options);
    Connection redis(options);
    std::vector<double> result;
    for (int i = 0; i < count; ++i) {
        const auto due = std::chrono::floor<seconds>(system_clock::now()) + seconds(2);
        delayed.enqueue_at("idle", due, resque::Job{"Idle", nlohmann::json::array({i})});
        redis.set_read_timeout(std::chrono::milliseconds(10'000));
        const auto popped = redis.command({"BLPOP", "bench:queue:idle", "8"});
        redis.set_read_timeout(std::nullopt);
        const long long now_us = redis_time_us(redis.command({"TIME"}));
        if (popped.is_nil()) {
            std::fprintf(stderr, "idle job %d did not arrive within 8 s\n", i);
            continue;
        }
        const long long due_us = due.time_since_epoch().count() * 1'000'000;
        result.push_back(static_cast<double>(now_us - due_us) / 1000.0);
    }
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: scheduler_lag REDIS_URL [JOBS] [TIMESTAMPS] [IDLE_SAMPLES] "
                     "[BATCH]\n");
        return 2;
    }
    auto options = resque::parse_redis_url(argv[1]);
    options.key_namespace = "bench";
    const long long jobs = argc > 2 ? std::stoll(argv[2]) : 500'000;
    const long long timestamps = argc > 3 ? std::stoll(argv[3]) : 50;
    const int idle_samples = argc > 4 ? std::stoi(argv[4]) : 20;
    resque::SchedulerOptions scheduler_options;
    if (argc > 5) scheduler_options.batch_size = std::stoul(argv[5]);
    const long long per_second = (jobs + timestamps - 1) / timestamps;
    resque::configure_logging("warn");

    Connection redis(options);
    clean(redis);
    scheduler_options.identity = "scheduler_lag";
    scheduler_options.lock_ttl = seconds(10);
    resque::Scheduler scheduler(options, scheduler_options);
    std::jthread running([&] { scheduler.run(); });
    while (!scheduler.leader()) std::this_thread::sleep_for(std::chrono::milliseconds(10));

    // Due times start far enough ahead for the enqueue to finish first (about 50,000 jobs
    // a second here); the figures say if it did not.
    const long long first_due =
        std::chrono::floor<seconds>(system_clock::now()).time_since_epoch().count() + 3 +
        jobs / 40'000;
    std::vector<resque::TimedJob> batch;
    batch.reserve(static_cast<std::size_t>(jobs));
    for (long long i = 0; i < jobs; ++i) {
        const auto due = system_clock::time_point(seconds(first_due + i / per_second));
        batch.push_back({"lag", due, resque::Job{"Lag", nlohmann::json::array({i})}});
    }
    resque::DelayedQueue delayed(options);
    const auto enqueue_start = std::chrono::steady_clock::now();
    const auto counts = delayed.enqueue_many_at(batch);
    const double enqueue_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - enqueue_start).count();
    const long long enqueued_at_us = redis_time_us(redis.command({"TIME"}));
    batch.clear();

    std::vector<Sample> samples;
    for (;;) {
        samples.push_back(sample(redis));
        if (samples.back().length >= jobs) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    long long unreadable = 0;
    const auto lag = lags(redis, samples, first_due, per_second, unreadable);
    const double spread_s =
        static_cast<double>(samples.back().time_us - first_due * 1'000'000) / 1e6;

    std::printf("scheduler promotion lag: %lld jobs over %lld due seconds, batch %zu\n", jobs,
                timestamps, scheduler_options.batch_size);
    std::printf(
        "  enqueue_many_at: %.2f s (%.0f jobs/s), %zu delayed, %zu pushed at once; "
        "finished %.2f s before the first due time\n",
        enqueue_s, static_cast<double>(jobs) / enqueue_s, counts.delayed, counts.enqueued_now,
        static_cast<double>(first_due * 1'000'000 - enqueued_at_us) / 1e6);
    std::printf("  lag (due second -> seen in queue): p50 %.1f ms  p99 %.1f ms  max %.1f ms\n",
                percentile(lag, 0.5), percentile(lag, 0.99), percentile(lag, 1.0));
    std::printf(
        "  last job in queue %.2f s after the first due time; %zu samples; "
        "%lld unreadable\n",
        spread_s, samples.size(), unreadable);

    const auto idle = idle_pickup(options, idle_samples);
    std::printf("idle pick-up (due second -> BLPOP returns), %d jobs: p50 %.1f ms  max %.1f ms\n",
                idle_samples, percentile(idle, 0.5), percentile(idle, 1.0));
    scheduler.stop();
    return unreadable == 0 ? 0 : 1;
}
