// Live Schedulers against a real Redis, driven by a clock the test sets: a cron minute
// under two schedulers and across a takeover gap (FC-03), an hourly New York cron across
// the fall-back day on a host in another zone (FC-11), hash args in the order written,
// enqueue hooks for recurring runs and moved delayed jobs, and the overdue signal clearing
// once a scheduler runs (FC-16).
//
// Each step sets the clock, then waits for the scheduler to record what that time makes
// due, so no run is late because the test moved on before the scheduler looked.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "resque/delayed.hpp"
#include "resque/logging.hpp"
#include "resque/schedule.hpp"
#include "resque/scheduler.hpp"

namespace resque {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::system_clock;

// A clock the test sets; read by scheduler threads.
class TestClock {
 public:
    explicit TestClock(SysSeconds start) : now_(start.time_since_epoch().count()) {}
    void set(SysSeconds time) { now_ = time.time_since_epoch().count(); }
    [[nodiscard]] SysSeconds now() const { return SysSeconds(seconds(now_.load())); }
    [[nodiscard]] std::function<system_clock::time_point()> function() const {
        return [this] { return system_clock::time_point(seconds(now_.load())); };
    }

 private:
    std::atomic<long long> now_;
};

// A scheduler on its own thread, stopped and joined on destruction.
class RunningScheduler {
 public:
    RunningScheduler(RedisOptions redis, SchedulerOptions options)
        : scheduler_(std::move(redis), std::move(options)), thread_([this] { scheduler_.run(); }) {}
    ~RunningScheduler() { stop(); }
    void stop() {
        scheduler_.stop();
        if (thread_.joinable()) thread_.join();
    }
    [[nodiscard]] bool leader() const { return scheduler_.leader(); }

 private:
    Scheduler scheduler_;
    std::jthread thread_;
};

// Sets the process's zone (TZ) for the life of the object.
class HostZone {
 public:
    explicit HostZone(const char* zone) {
        if (const char* old = ::getenv("TZ")) saved_ = old;
        ::setenv("TZ", zone, 1);
        ::tzset();
    }
    ~HostZone() {
        if (saved_) {
            ::setenv("TZ", saved_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    HostZone(const HostZone&) = delete;
    HostZone& operator=(const HostZone&) = delete;

 private:
    std::optional<std::string> saved_;
};

class SchedulerClock : public ::testing::Test {
 protected:
    SchedulerClock() { configure_logging("warn"); }

    RedisOptions options() const { return parse_redis_url(server_.url()); }

    SchedulerOptions scheduler_options(const TestClock& clock, std::vector<Schedule> schedules,
                                       std::string identity = "clock-test:1") const {
        SchedulerOptions scheduler;
        scheduler.schedules = std::move(schedules);
        scheduler.identity = std::move(identity);
        scheduler.lock_ttl = std::chrono::milliseconds(1000);
        scheduler.max_sleep = std::chrono::milliseconds(5);
        scheduler.clock = clock.function();
        return scheduler;
    }

    std::string command(const std::vector<std::string>& argv) { return server_.command(argv); }

    // The recorded last run of `name` (epoch seconds as text, "(nil)" when none).
    std::string record(const std::string& name) {
        return command({"HGET", "resque:cpp:schedule_runs", name});
    }

    // Sets the clock to `time` and waits until the scheduler has recorded `expected`.
    ::testing::AssertionResult step(TestClock& clock, SysSeconds time, const std::string& name,
                                    SysSeconds expected) {
        clock.set(time);
        const std::string want = std::to_string(expected.time_since_epoch().count());
        if (test::wait_until([&] { return record(name) == want; }, seconds(10))) {
            return ::testing::AssertionSuccess();
        }
        return ::testing::AssertionFailure()
               << "at " << time.time_since_epoch().count() << " the record of " << name << " is "
               << record(name) << ", expected " << want;
    }

    test::RedisServer server_;
};

Schedule schedule(const std::string& name, const std::string& json) {
    return parse_schedule(name, OrderedJson::parse(json));
}

// FC-03: a `* * * * *` entry under two schedulers enqueues each minute once; after the
// leader stops and no scheduler runs for three minutes, the new leader skips the minutes
// that fell in the gap (policy skip) and enqueues the one still within the missed-run
// window once.
TEST_F(SchedulerClock, CronMinuteIsEnqueuedOnceUnderTwoSchedulersAndAfterAGap) {
    const auto tick =
        schedule("tick", R"({"cron":"* * * * *","class":"Marker","queue":"sched","args":["t"]})");
    const SysSeconds start = parse_time("2030-01-01T00:00:30Z");
    TestClock clock(start);
    auto first =
        std::make_unique<RunningScheduler>(options(), scheduler_options(clock, {tick}, "host-a:1"));
    auto second =
        std::make_unique<RunningScheduler>(options(), scheduler_options(clock, {tick}, "host-b:2"));
    ASSERT_TRUE(test::wait_until([&] { return record("tick") != "(nil)"; }, seconds(10)));
    EXPECT_EQ(record("tick"), std::to_string(start.time_since_epoch().count()));  // baseline

    // Three minute boundaries in 10-second steps: one enqueue each.
    for (SysSeconds now = start + seconds(10); now <= start + minutes(3); now += seconds(10)) {
        ASSERT_TRUE(step(clock, now, "tick",
                         std::max(start, SysSeconds(std::chrono::floor<minutes>(now)))));
    }
    EXPECT_EQ(command({"LLEN", "resque:queue:sched"}), "3");

    // Both stop (the leader releases the lock); three minutes pass with none running.
    first.reset();
    second.reset();
    clock.set(start + minutes(6) + seconds(10));  // 00:06:40: 00:04, 00:05 missed
    RunningScheduler survivor(options(), scheduler_options(clock, {tick}, "host-b:3"));
    ASSERT_TRUE(step(clock, clock.now(), "tick", parse_time("2030-01-01T00:06:00Z")));
    ASSERT_TRUE(step(clock, parse_time("2030-01-01T00:07:00Z"), "tick",
                     parse_time("2030-01-01T00:07:00Z")));
    survivor.stop();
    // 00:01-00:03, then 00:06 (40 s late, within the 60 s window) and 00:07; never twice.
    EXPECT_EQ(command({"LLEN", "resque:queue:sched"}), "5");
    EXPECT_EQ(command({"LRANGE", "resque:queue:sched", "0", "0"}),
              R"({"class":"Marker","args":["t"]})");
}

// FC-11 through Redis: hourly in New York across 2025-11-02 (25 local hours) fires 25
// times, on a host whose own zone is neither UTC nor New York.
TEST_F(SchedulerClock, HourlyNewYorkCronFires25TimesOnFallBackDayWhateverTheHostZone) {
    const HostZone host_zone("Australia/Lord_Howe");

    const auto hourly = schedule(
        "hourly",
        R"({"cron":"0 * * * * America/New_York","class":"Marker","queue":"q","args":["h"]})");
    // The local day runs from 04:00Z on Nov 2 to 05:00Z on Nov 3.
    const SysSeconds start = parse_time("2025-11-02T03:50:00Z");
    const SysSeconds end = parse_time("2025-11-03T04:50:00Z");
    TestClock clock(start);
    {
        RunningScheduler scheduler(options(), scheduler_options(clock, {hourly}));
        ASSERT_TRUE(step(clock, start, "hourly", start));  // baseline
        SysSeconds last_hour = start;
        for (SysSeconds now = start + minutes(10); now <= end; now += minutes(10)) {
            if (now == std::chrono::floor<std::chrono::hours>(now)) last_hour = now;
            ASSERT_TRUE(step(clock, now, "hourly", last_hour));
        }
    }
    EXPECT_EQ(command({"LLEN", "resque:queue:q"}), "25");
}

// A hash argument is enqueued with its keys in the order written (YAML and persisted
// JSON alike), as resque-scheduler enqueues a Ruby hash, not sorted.
TEST_F(SchedulerClock, HashArgsAreEnqueuedWithKeysInTheOrderWritten) {
    const auto from_yaml = parse_schedule_yaml(
        "yaml_hash:\n  every: 10s\n  class: Marker\n  queue: ordered\n"
        "  args: {zeta: 1, alpha: 2, mid: {z: [1.5, null], a: 'x'}}\n",
        "schedule.yml");
    ScheduleStore(options()).set(schedule(
        "json_hash",
        R"({"every":"10s","class":"Marker","queue":"ordered",)"
        R"("args":[{"b":1,"a":{"y":2,"x":3}}]})"));
    const SysSeconds start = parse_time("2030-01-01T00:00:00Z");
    TestClock clock(start);
    RunningScheduler scheduler(options(), scheduler_options(clock, from_yaml));
    ASSERT_TRUE(step(clock, start, "yaml_hash", start));
    ASSERT_TRUE(step(clock, start, "json_hash", start));
    ASSERT_TRUE(step(clock, start + seconds(10), "yaml_hash", start + seconds(10)));
    ASSERT_TRUE(step(clock, start + seconds(10), "json_hash", start + seconds(10)));

    std::string queued = command({"LRANGE", "resque:queue:ordered", "0", "-1"});
    std::vector<std::string> payloads;
    for (std::size_t at = 0; at <= queued.size();) {
        const auto end = std::min(queued.find('\n', at), queued.size());
        payloads.push_back(queued.substr(at, end - at));
        at = end + 1;
    }
    std::sort(payloads.begin(), payloads.end());
    EXPECT_EQ(
        payloads,
        (std::vector<std::string>{
            R"({"class":"Marker","args":[{"b":1,"a":{"y":2,"x":3}}]})",
            R"({"class":"Marker","args":[{"zeta":1,"alpha":2,"mid":{"z":[1.5,null],"a":"x"}}]})"}));
}

// Hooks a Resque user registers run for what the scheduler enqueues: recurring runs and
// due delayed jobs, with vetoes honoured and the batched move kept.
TEST_F(SchedulerClock, EnqueueHooksRunForRecurringRunsAndMovedDelayedJobs) {
    std::mutex mutex;  // guards seen
    std::vector<std::string> seen;
    const auto note = [&](const std::string& what, const Job& job) {
        std::lock_guard lock(mutex);
        seen.push_back(what + " " + job.args.dump());
    };
    Hooks hooks;
    hooks.before_delayed_enqueue(
        [&](std::string_view, const Job& job) { note("before_delayed", job); });
    hooks.before_enqueue([&](std::string_view, const Job& job) {
        note("before", job);
        if (job.args.at(0) == "boom") throw std::runtime_error("hook failed");
        return job.args.at(0) != "veto";
    });
    hooks.after_enqueue([&](std::string_view queue, const Job& job) {
        note(std::string("after ") + std::string(queue), job);
    });

    const SysSeconds start = parse_time("2030-01-01T00:00:00Z");
    const auto due = start + seconds(5);
    DelayedQueue delayed(options(), [start] { return system_clock::time_point(start); });
    for (const char* arg : {"keep1", "veto", "boom", "keep2"}) {
        delayed.enqueue_at("later", due, Job{"Marker", Json::array({arg})});
    }
    const auto runs =
        schedule("runs", R"({"every":"5s","class":"Marker","queue":"now","args":["r"]})");
    const auto vetoed =
        schedule("vetoed", R"({"every":"5s","class":"Marker","queue":"now","args":["veto"]})");

    TestClock clock(start);
    auto scheduler_settings = scheduler_options(clock, {runs, vetoed});
    scheduler_settings.hooks = hooks;
    {
        RunningScheduler scheduler(options(), scheduler_settings);
        ASSERT_TRUE(step(clock, start, "runs", start));
        ASSERT_TRUE(step(clock, start, "vetoed", start));
        ASSERT_TRUE(step(clock, due, "runs", due));
        ASSERT_TRUE(step(clock, due, "vetoed", due));
        ASSERT_TRUE(test::wait_until(
            [&] {
                return command({"EXISTS", "resque:delayed_queue_schedule"}) == "0";
            },
            seconds(10)));
    }

    // Delayed: kept jobs moved in order, the vetoed one gone, the throwing one set aside.
    EXPECT_EQ(command({"LRANGE", "resque:queue:later", "0", "-1"}),
              "{\"class\":\"Marker\",\"args\":[\"keep1\"]}\n"
              "{\"class\":\"Marker\",\"args\":[\"keep2\"]}");
    EXPECT_EQ(command({"LRANGE", "resque:cpp:delayed_invalid", "0", "-1"}),
              R"({"class":"Marker","args":["boom"],"queue":"later"})");
    EXPECT_EQ(command({"KEYS", "resque:timestamps:*"}), "");
    // Recurring: the vetoed run is recorded as done but not enqueued.
    EXPECT_EQ(command({"LRANGE", "resque:queue:now", "0", "-1"}),
              R"({"class":"Marker","args":["r"]})");
    EXPECT_EQ(command({"HEXISTS", "resque:delayed:last_enqueued_at", "vetoed"}), "0");
    EXPECT_EQ(command({"HEXISTS", "resque:delayed:last_enqueued_at", "runs"}), "1");

    std::lock_guard lock(mutex);
    const auto count = [&](const std::string& entry) {
        return std::count(seen.begin(), seen.end(), entry);
    };
    for (const char* arg : {"keep1", "veto", "boom", "keep2"}) {
        const std::string args = Json::array({arg}).dump();
        EXPECT_EQ(count("before_delayed " + args), 1) << arg;
        EXPECT_EQ(count("before " + args), arg == std::string("veto") ? 2 : 1) << arg;
    }
    EXPECT_EQ(count("before [\"r\"]"), 1);
    EXPECT_EQ(count("after later [\"keep1\"]"), 1);
    EXPECT_EQ(count("after later [\"keep2\"]"), 1);
    EXPECT_EQ(count("after now [\"r\"]"), 1);
    EXPECT_EQ(seen.size(), 4u + 6u + 3u);
}

// FC-16: due work left by a missing scheduler is reported as overdue, and the report
// clears once a scheduler starts and moves it.
TEST_F(SchedulerClock, OverdueDelayedWorkClearsOnceASchedulerMovesIt) {
    const SysSeconds start = parse_time("2030-01-01T00:00:00Z");
    TestClock clock(start);
    DelayedQueue delayed(options(), clock.function());
    delayed.enqueue_at("retry", start + seconds(5), Job{"Flaky", Json::array({1})});
    clock.set(start + seconds(35));
    ASSERT_TRUE(delayed.overdue());
    EXPECT_EQ(*delayed.overdue(), seconds(30));

    RunningScheduler scheduler(options(), scheduler_options(clock, {}));
    ASSERT_TRUE(test::wait_until([&] { return !delayed.overdue(); }, seconds(10)));
    EXPECT_EQ(command({"LRANGE", "resque:queue:retry", "0", "-1"}),
              R"({"class":"Flaky","args":[1]})");
}

}  // namespace
}  // namespace resque
