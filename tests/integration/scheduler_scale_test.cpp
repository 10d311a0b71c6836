// FC-17 at full scale: 500,000 delayed jobs over 50 due times (10,000 per second) moved
// by two live Schedulers, the leader stopped halfway, while a stale leader (a process
// that still believes it leads) keeps moving the same timestamps. Asserts exactly-once
// delivery and a clean layout afterwards; how fast it goes is measured in
// bench/scheduler_lag.cpp, never asserted here.
//
// The schedulers run on a clock five times faster than real time, starting just before
// the first due time, so the 50 seconds of due times pass in about ten and the moves race
// the bulk enqueue that is still writing later timestamps.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "redis_server.hpp"
#include "resque/delayed.hpp"
#include "resque/logging.hpp"
#include "resque/scheduler.hpp"
#include "scheduler/delayed_store.hpp"

namespace resque {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

constexpr long long kJobs = 500'000;
constexpr long long kTimestamps = 50;
constexpr long long kPerTimestamp = kJobs / kTimestamps;
constexpr long long kFirstDue = 1'900'000'000;  // the jobs' first due time (epoch s)

// A clock that starts a second before the first due time and runs `speed` times faster
// than the steady clock. A pure function of the steady clock: safe from any thread.
auto fast_clock(int speed) {
    const auto start = std::chrono::steady_clock::now();
    return [start, speed] {
        const auto elapsed = std::chrono::steady_clock::now() - start;
        return system_clock::time_point(seconds(kFirstDue - 1)) +
               std::chrono::duration_cast<system_clock::duration>(elapsed * speed);
    };
}

// The index each `{"class":"Marker","args":[<index>]}` payload carries, or -1.
long long index_of(const std::string& payload) {
    constexpr std::string_view kPrefix = R"({"class":"Marker","args":[)";
    if (!payload.starts_with(kPrefix) || !payload.ends_with("]}")) return -1;
    long long index = -1;
    const char* begin = payload.data() + kPrefix.size();
    const auto [end, error] = std::from_chars(begin, payload.data() + payload.size() - 2, index);
    return error == std::errc{} && end == payload.data() + payload.size() - 2 ? index : -1;
}

// Schedulers running on their own threads; stopped and joined on destruction, also when
// an assertion ends the test early.
struct RunningSchedulers {
    std::vector<std::unique_ptr<Scheduler>> schedulers;
    std::vector<std::jthread> threads;

    void start(RedisOptions redis, SchedulerOptions options) {
        schedulers.push_back(std::make_unique<Scheduler>(std::move(redis), std::move(options)));
        threads.emplace_back([scheduler = schedulers.back().get()] { scheduler->run(); });
    }
    // Stops the one holding the lock, if one does; true when one did.
    bool stop_leader() {
        for (std::size_t i = 0; i < schedulers.size(); ++i) {
            if (!schedulers[i]->leader()) continue;
            schedulers[i]->stop();
            threads[i].join();
            return true;
        }
        return false;
    }
    void stop_all() {
        for (auto& scheduler : schedulers) scheduler->stop();
        threads.clear();
    }
    ~RunningSchedulers() { stop_all(); }
};

class SchedulerScale : public ::testing::Test {
 protected:
    SchedulerScale() { configure_logging("warn"); }

    RedisOptions options() const { return parse_redis_url(server_.url()); }

    SchedulerOptions scheduler_options(std::string identity) const {
        SchedulerOptions scheduler;
        scheduler.identity = std::move(identity);
        scheduler.lock_ttl = std::chrono::seconds(2);
        scheduler.batch_size = 1000;
        // The fast clock makes a real sleep five times longer than planned; wake often.
        scheduler.max_sleep = std::chrono::milliseconds(20);
        scheduler.clock = fast_clock(5);
        return scheduler;
    }

    long long queue_length() { return std::stoll(server_.command({"LLEN", "resque:queue:fc17"})); }

    // How many keys match `pattern` (a count, so a failure does not print them all).
    long long key_count(const std::string& pattern) {
        const std::string keys = server_.command({"KEYS", pattern});
        return keys.empty() ? 0 : 1 + std::count(keys.begin(), keys.end(), '\n');
    }

    test::RedisServer server_;
};

TEST_F(SchedulerScale, FiveHundredThousandDelayedJobsOverFiftySecondsArriveExactlyOnce) {
    // Two schedulers from the start, so moves race the enqueue below.
    RunningSchedulers running;
    running.start(options(), scheduler_options("scale-a:1"));
    running.start(options(), scheduler_options("scale-b:2"));
    // A stale leader: moves whatever is due without holding the lock.
    std::jthread stale([this, clock = fast_clock(5)](std::stop_token stop) {
        redis::Connection redis(options());
        const redis::Keys keys("resque");
        while (!stop.stop_requested()) {
            const auto now = std::chrono::floor<seconds>(clock()).time_since_epoch().count();
            (void)scheduler::move_due(redis, keys, now, 700);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });

    // 10,000 jobs per second over 50 seconds, written through the bulk path. The queue's
    // clock stands before the first due time, so every job is delayed, however slow the
    // machine.
    std::vector<TimedJob> jobs;
    jobs.reserve(kJobs);
    for (long long i = 0; i < kJobs; ++i) {
        const auto due = system_clock::time_point(seconds(kFirstDue + i / kPerTimestamp));
        jobs.push_back(TimedJob{"fc17", due, Job{"Marker", nlohmann::json::array({i})}});
    }
    DelayedQueue delayed(options(),
                         [] { return system_clock::time_point(seconds(kFirstDue - 60)); });
    const DelayCounts counts = delayed.enqueue_many_at(jobs);
    EXPECT_EQ(counts.delayed, static_cast<std::size_t>(kJobs));
    EXPECT_EQ(counts.enqueued_now, 0u);

    // Halfway, the leader stops (releasing the lock) and the other takes over.
    ASSERT_TRUE(test::wait_until([&] { return queue_length() >= kJobs / 2; }, seconds(120)));
    const bool handed_over = running.stop_leader();
    const bool drained = test::wait_until(
        [&] {
            return queue_length() >= kJobs &&
                   server_.command({"EXISTS", "resque:delayed_queue_schedule"}) == "0";
        },
        seconds(120));
    stale.request_stop();
    stale.join();
    running.stop_all();
    ASSERT_TRUE(drained) << queue_length() << " of " << kJobs << " jobs arrived";

    // Every job exactly once: count each index.
    redis::Connection redis(options());
    std::vector<int> seen(kJobs, 0);
    long long unreadable = 0;
    long long total = 0;
    for (long long start = 0;; start += 50'000) {
        const auto chunk = redis
                               .command({"LRANGE", "resque:queue:fc17", std::to_string(start),
                                         std::to_string(start + 49'999)})
                               .as_strings();
        if (chunk.empty()) break;
        for (const std::string& payload : chunk) {
            const long long index = index_of(payload);
            if (index < 0 || index >= kJobs) {
                ++unreadable;
            } else {
                ++seen[static_cast<std::size_t>(index)];
            }
            ++total;
        }
    }
    EXPECT_EQ(total, kJobs);
    EXPECT_EQ(unreadable, 0);
    long long missing = 0;
    long long doubled = 0;
    for (const int count : seen) {
        missing += count == 0 ? 1 : 0;
        doubled += count > 1 ? 1 : 0;
    }
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(doubled, 0);

    // Nothing left behind: no timestamp lists, no timestamps indexes, nothing set aside.
    EXPECT_EQ(key_count("resque:delayed:*"), 0);
    EXPECT_EQ(key_count("resque:timestamps:*"), 0);
    EXPECT_EQ(server_.command({"EXISTS", "resque:cpp:delayed_invalid"}), "0");
    EXPECT_EQ(delayed.count(), 0);
    EXPECT_EQ(server_.command({"SMEMBERS", "resque:queues"}), "fc17");
    RecordProperty("leader_stopped_halfway", handed_over ? "yes" : "no");
}

}  // namespace
}  // namespace resque
