// The scheduler against a live Redis: resque-scheduler's layout replayed from fixtures
// 50-60, delayed jobs moved by a running `resque scheduler`, the CLI, and two
// schedulers with the leader SIGKILLed mid-run (FC-03, FC-17): every delayed job and
// every recurring run enqueued exactly once.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "redis_server.hpp"
#include "resque/delayed.hpp"
#include "resque/schedule.hpp"
#include "scheduler/delayed_store.hpp"

namespace resque {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;
using std::chrono::system_clock;

Json read_fixture(const std::string& name) {
    std::ifstream in(test::fixtures_dir() / (name + ".json"));
    if (!in) throw std::runtime_error("cannot open fixture " + name);
    return Json::parse(in);
}

system_clock::time_point epoch(long long value) { return system_clock::time_point(seconds(value)); }

class SchedulerIntegration : public ::testing::Test {
 protected:
    RedisOptions options() const { return parse_redis_url(server_.url()); }

    // Writes a fixture's keys, zsets included (TTLs are not reproduced).
    void load(const Json& fixture) {
        redis::Connection redis(options());
        for (const auto& [key, entry] : fixture.at("redis").items()) {
            const std::string type = entry.at("type");
            const Json& value = entry.at("value");
            redis::Command command;
            if (type == "string") {
                command = {"SET", key, value.get<std::string>()};
            } else if (type == "list" || type == "set") {
                command = {type == "list" ? "RPUSH" : "SADD", key};
                for (const auto& item : value) command.push_back(item);
            } else if (type == "zset") {
                command = {"ZADD", key};
                for (const auto& pair : value) {
                    command.push_back(pair[1].get<std::string>());
                    command.push_back(pair[0].get<std::string>());
                }
            } else if (type == "hash") {
                command = {"HSET", key};
                for (const auto& [field, text] : value.items()) {
                    command.push_back(field);
                    command.push_back(text);
                }
            }
            redis.command(command);
        }
    }

    // key -> {type, value}, the fixtures' shape (zset members as [member, score]).
    Json dump() {
        redis::Connection redis(options());
        Json state = Json::object();
        for (const auto& key : redis.command({"KEYS", "*"}).as_strings()) {
            const std::string type = redis.command({"TYPE", key}).as_string();
            Json value;
            if (type == "string") {
                value = redis.command({"GET", key}).as_string();
            } else if (type == "list") {
                value = redis.command({"LRANGE", key, "0", "-1"}).as_strings();
            } else if (type == "set") {
                auto members = redis.command({"SMEMBERS", key}).as_strings();
                std::sort(members.begin(), members.end());
                value = members;
            } else if (type == "zset") {
                const auto flat =
                    redis.command({"ZRANGE", key, "0", "-1", "WITHSCORES"}).as_strings();
                value = Json::array();
                for (std::size_t i = 0; i + 1 < flat.size(); i += 2)
                    value.push_back({flat[i], flat[i + 1]});
            } else if (type == "hash") {
                const auto flat = redis.command({"HGETALL", key}).as_strings();
                value = Json::object();
                for (std::size_t i = 0; i + 1 < flat.size(); i += 2) value[flat[i]] = flat[i + 1];
            }
            state[key] = {{"type", type}, {"value", value}};
        }
        return state;
    }

    static Json expected(const Json& fixture) {
        Json state = Json::object();
        for (const auto& [key, entry] : fixture.at("redis").items()) {
            state[key] = {{"type", entry.at("type")}, {"value", entry.at("value")}};
        }
        return state;
    }

    std::string redis_command(const std::vector<std::string>& argv) {
        return server_.command(argv);
    }

    test::ProcessResult cli(std::vector<std::string> args) {
        std::vector<std::string> argv{test::cli_path(), "--redis", server_.url()};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::run_process(argv, {}, {}, std::chrono::seconds(20));
    }

    test::RedisServer server_;
    test::TempDir dir_;
};

// Fixture 50: enqueue_at / enqueue_at_with_queue / enqueue_in, byte for byte.
TEST_F(SchedulerIntegration, Fixture50DelayedLayoutMatchesResqueScheduler) {
    DelayedQueue delayed(options(), [] { return epoch(1796301529); });  // capture time
    delayed.enqueue_at("high", epoch(1796309100), Job{"SimpleJob", Json::array({1, "delayed"})});
    delayed.enqueue_at("high", epoch(1796309100), Job{"SimpleJob", Json::array({2})});
    delayed.enqueue_at("high", epoch(1796309220) + std::chrono::milliseconds(750),
                       Job{"SimpleJob", Json::array({1, "delayed"})});
    delayed.enqueue_at("special", epoch(1796309160),
                       Job{"SimpleJob", Json::array({"custom queue"})});
    delayed.enqueue_in("high", seconds(7200), Job{"OtherJob", Json::array({{{"a", 1}}})});
    // Hash args keep Ruby's key order ("n" before "deep") only through the raw API.
    delayed.enqueue_raw_at("echo", epoch(1796301529 + 7200),
                           "{\"class\":\"ArgsEchoJob\",\"args\":[\"\u00fcn\u00ef \u2603\","
                           "{\"n\":1.5,\"deep\":[null,true]}]}");

    EXPECT_EQ(dump(), expected(read_fixture("50-delayed-jobs-enqueued")));
    EXPECT_EQ(delayed.timestamp_count(), 4);
    EXPECT_EQ(delayed.count(), 6);
    const auto times = delayed.times_of("high", Job{"SimpleJob", Json::array({1, "delayed"})});
    EXPECT_EQ(times, (std::vector<SysSeconds>{SysSeconds(seconds(1796309100)),
                                              SysSeconds(seconds(1796309220))}));
}

// Fixtures 50 -> 51. Difference by design: we drop a timestamp whose list became empty,
// where Ruby's remove_delayed leaves it in the zset for its scheduler to clean later.
TEST_F(SchedulerIntegration, Fixture51RemovalMatchesExceptEmptyTimestampsAreDropped) {
    load(read_fixture("50-delayed-jobs-enqueued"));
    DelayedQueue delayed(options());
    EXPECT_EQ(delayed.remove("high", Job{"SimpleJob", Json::array({1, "delayed"})}), 2u);
    EXPECT_EQ(delayed.remove("high", Job{"SimpleJob", Json::array({"custom queue"})}), 0u);
    EXPECT_EQ(delayed.remove("special", Job{"SimpleJob", Json::array({"custom queue"})}), 1u);
    EXPECT_EQ(delayed.remove("high", Job{"SimpleJob", Json::array({2})}), 1u);

    Json theirs = expected(read_fixture("51-delayed-removed"));
    theirs["resque:delayed_queue_schedule"]["value"] = Json::array({{"1796308729", "1796308729"}});
    EXPECT_EQ(dump(), theirs);
    EXPECT_EQ(delayed.count(), 2);
}

// Fixtures 52 -> 53: what Ruby's scheduler moved at 12:38:56, we move identically
// (`queue` dropped, class-only payloads, later timestamps untouched).
TEST_F(SchedulerIntegration, Fixture53DueJobsMovedAsResqueSchedulerMovesThem) {
    load(read_fixture("52-delayed-due-before-scheduler"));
    redis::Connection redis(options());
    const auto moved = scheduler::move_due(redis, redis::Keys("resque"), 1796301536, 2);
    EXPECT_EQ(moved.moved, 4u);

    Json theirs = expected(read_fixture("53-scheduler-moved-due-jobs"));
    theirs.erase("resque:resque:resque_scheduler_master_lock");  // the running Ruby's lock
    EXPECT_EQ(dump(), theirs);
}

// Fixture 57: set_schedule(..., persist: true) stores the config as Ruby does.
TEST_F(SchedulerIntegration, Fixture57PersistedSchedulesMatchSetSchedule) {
    ScheduleStore store(options());
    store.set(
        parse_schedule("dyn_persisted", nlohmann::ordered_json::parse(
                                            R"({"class":"SimpleJob","every":"1s","queue":"dynq",
                                                      "args":["dyn"],"description":"persisted dynamic schedule",
                                                      "persist":true})")));
    store.set(
        parse_schedule("dyn_cron", nlohmann::ordered_json::parse(
                                       R"({"class":"OtherJob","cron":"0 3 * * * Europe/Stockholm",
                                                 "queue":"dynq","persist":true})")));
    const Json theirs = expected(read_fixture("57-dynamic-schedule-set"));
    const Json ours = dump();
    EXPECT_EQ(ours["resque:persistent_schedules"], theirs["resque:persistent_schedules"]);
    EXPECT_EQ(ours["resque:schedules_changed"]["value"],
              Json::array({"dyn_cron", "dyn_persisted"}));
    EXPECT_EQ(store.all().size(), 2u);
}

// Fixture 60: the lock key carries the namespace twice, plus the prefix.
TEST_F(SchedulerIntegration, Fixture60LockKeyNamesNamespaceTwiceAndPrefix) {
    const Json fixture = read_fixture("60-custom-namespace-and-lock-prefix");
    EXPECT_TRUE(fixture.at("redis").contains(redis::Keys("myapp").scheduler_lock("MyApp")));
    EXPECT_EQ(redis::Keys("resque").scheduler_lock(""),
              "resque:resque:resque_scheduler_master_lock");
}

// FC-16: with no scheduler running, due work is visible as overdue, never silent.
TEST_F(SchedulerIntegration, OverdueDelayedWorkIsReportedWhenNoSchedulerRuns) {
    system_clock::time_point now = epoch(1800000000);
    DelayedQueue delayed(options(), [&now] { return now; });
    EXPECT_FALSE(delayed.overdue());
    delayed.enqueue_in("q", seconds(5), Job{"Flaky", Json::array({1})});
    EXPECT_FALSE(delayed.overdue());
    now += seconds(12);
    ASSERT_TRUE(delayed.overdue());
    EXPECT_EQ(*delayed.overdue(), seconds(7));
}

TEST_F(SchedulerIntegration, PastTimeEnqueuesAtOnceAsResqueSchedulerDoes) {
    DelayedQueue delayed(options());
    EXPECT_EQ(delayed.enqueue_at("q", system_clock::now() - seconds(10), Job{"J", Json::array()}),
              DelayOutcome::kEnqueuedNow);
    EXPECT_EQ(redis_command({"LRANGE", "resque:queue:q", "0", "-1"}), R"({"class":"J","args":[]})");
    EXPECT_EQ(delayed.count(), 0);
}

// A running `resque scheduler` moves a delayed job once it is due, not before.
TEST_F(SchedulerIntegration, RunningSchedulerMovesDueJobNotBefore) {
    const auto log = dir_.path() / "scheduler.log";
    const int pid = test::spawn_process(
        {test::cli_path(), "--redis", server_.url(), "scheduler", "--lock-ttl", "2"}, {}, log);
    ASSERT_TRUE(test::wait_until([&] {
        return redis_command({"EXISTS", "resque:resque:resque_scheduler_master_lock"}) == "1";
    }));

    DelayedQueue delayed(options());
    const auto due = std::chrono::floor<seconds>(system_clock::now()) + seconds(2);
    delayed.enqueue_at("soon", due, Job{"Soon", Json::array({1})});
    bool early = false;
    const bool arrived = test::wait_until(
        [&] {
            if (redis_command({"LLEN", "resque:queue:soon"}) != "1") return false;
            early = system_clock::now() < due;
            return true;
        },
        std::chrono::seconds(15));
    ::kill(pid, SIGTERM);
    const auto status = test::detail::reap_within(pid, std::chrono::seconds(10));

    std::ifstream in(log);
    const std::string output((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    EXPECT_TRUE(arrived) << output;
    EXPECT_FALSE(early) << "moved before its time";
    EXPECT_EQ(delayed.count(), 0);
    ASSERT_TRUE(status.has_value()) << output;
    EXPECT_EQ(*status, 0) << output;
    // The lock was released on TERM, not left to expire.
    EXPECT_EQ(redis_command({"EXISTS", "resque:resque:resque_scheduler_master_lock"}), "0");
    EXPECT_NE(output.find("became leader"), std::string::npos) << output;
}

TEST_F(SchedulerIntegration, CliDelaysFindsListsAndRemovesJobs) {
    auto result = cli({"enqueue", "--in", "90s", "q", "Later", "[1]"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    result = cli({"enqueue", "--at", "2027-01-01T05:00:00Z", "q", "Later", "[2]", "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find(R"("at":"2027-01-01T05:00:00Z")"), std::string::npos) << result.out;
    EXPECT_EQ(redis_command({"LRANGE", "resque:delayed:1798779600", "0", "-1"}),
              R"({"class":"Later","args":[2],"queue":"q"})");

    result = cli({"delayed", "find", "q", "Later", "[2]"});
    EXPECT_EQ(result.out, "2027-01-01T05:00:00Z\n");
    result = cli({"delayed", "list", "--json"});
    const Json listed = Json::parse(result.out);
    ASSERT_EQ(listed.size(), 2u) << result.out;
    EXPECT_EQ(listed[0].at("entry"), Json::parse(R"({"class":"Later","args":[1],"queue":"q"})"));
    EXPECT_EQ(listed[1].at("at"), "2027-01-01T05:00:00Z");
    result = cli({"delayed", "remove", "Later", "[2]", "--queue", "q"});
    EXPECT_EQ(result.out, "removed 1 delayed jobs\n");
    result = cli({"delayed", "remove", "Later", "--all"});
    EXPECT_EQ(result.out, "removed 1 delayed jobs\n");
    EXPECT_EQ(redis_command({"EXISTS", "resque:delayed_queue_schedule"}), "0");

    result = cli({"enqueue", "--in", "soon", "q", "Later"});
    EXPECT_EQ(result.exit_code, 4);
    EXPECT_NE(result.err.find("every \"soon\""), std::string::npos) << result.err;
    result = cli({"enqueue", "--at", "tomorrow", "q", "Later"});
    EXPECT_EQ(result.exit_code, 4);
    EXPECT_NE(result.err.find("time \"tomorrow\""), std::string::npos) << result.err;
}

TEST_F(SchedulerIntegration, CliAddsListsShowsNextAndRemovesSchedules) {
    auto result = cli({"schedule", "add", "nightly", "--cron", "30 2 * * * Europe/Berlin",
                       "--queue", "q", "--class", "Nightly", "--args", "{\"k\":1}"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(
        redis_command({"HGET", "resque:persistent_schedules", "nightly"}),
        R"({"class":"Nightly","cron":"30 2 * * * Europe/Berlin","queue":"q","args":{"k":1}})");

    result = cli({"schedule", "next", "nightly", "--count", "3", "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const Json next = Json::parse(result.out);
    ASSERT_EQ(next.at(0).at("next").size(), 3u);
    for (const auto& time : next.at(0).at("next")) {
        // 02:30 Berlin is 00:30Z or 01:30Z depending on the season (01:00Z on the gap day).
        const std::string text = time.get<std::string>();
        EXPECT_TRUE(text.ends_with("T00:30:00Z") || text.ends_with("T01:30:00Z") ||
                    text.ends_with("T01:00:00Z"))
            << text;
    }
    result = cli({"schedule", "list"});
    EXPECT_NE(result.out.find("cron: 30 2 * * * Europe/Berlin"), std::string::npos) << result.out;

    result = cli({"schedule", "add", "bad", "--cron", "61 * * * *", "--queue", "q"});
    EXPECT_EQ(result.exit_code, 4);
    EXPECT_NE(result.err.find("minute 61 is out of range"), std::string::npos) << result.err;

    result = cli({"schedule", "remove", "nightly"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(redis_command({"HEXISTS", "resque:persistent_schedules", "nightly"}), "0");
    result = cli({"schedule", "remove", "nightly"});
    EXPECT_EQ(result.exit_code, 1);
}

// FC-03 / FC-17: two schedulers, 1,000 delayed jobs due in the same second, a recurring
// every-second schedule; the leader is SIGKILLed while it works. The survivor takes over
// within a few lock TTLs; every delayed job arrives once and every recurring run between
// two observations is enqueued exactly once.
TEST_F(SchedulerIntegration, LeaderKilledMidRunLosesAndDoublesNothing) {
    const auto schedule_file = dir_.path() / "schedule.yml";
    std::ofstream(schedule_file) << "tick:\n  every: 1s\n  class: Marker\n  queue: ticks\n"
                                    "  args: [t]\n";
    std::vector<int> pids;
    for (int i = 0; i < 2; ++i) {
        pids.push_back(test::spawn_process(
            {test::cli_path(), "--redis", server_.url(), "scheduler", "--schedule",
             schedule_file.string(), "--lock-ttl", "1.5", "--batch-size", "50"},
            {}, dir_.path() / ("scheduler" + std::to_string(i) + ".log")));
    }
    const auto logs = [&] {
        std::string text;
        for (int i = 0; i < 2; ++i) {
            std::ifstream in(dir_.path() / ("scheduler" + std::to_string(i) + ".log"));
            text +=
                std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        }
        return text;
    };
    const std::string lock = "resque:resque:resque_scheduler_master_lock";
    const auto holder_pid = [&]() -> int {
        const std::string value = redis_command({"GET", lock});
        const auto colon = value.rfind(':');
        return colon == std::string::npos ? 0 : std::atoi(value.c_str() + colon + 1);
    };
    ASSERT_TRUE(test::wait_until([&] { return holder_pid() != 0; })) << logs();
    ASSERT_TRUE(test::wait_until([&] {
        return redis_command({"HEXISTS", "resque:cpp:schedule_runs", "tick"}) == "1";
    })) << logs();

    // Observation 1: the run record and the enqueued runs, read together.
    const auto observe = [&] {
        redis::Connection redis(options());
        redis.command({"MULTI"});
        redis.command({"HGET", "resque:cpp:schedule_runs", "tick"});
        redis.command({"LLEN", "resque:queue:ticks"});
        const auto replies = redis.command({"EXEC"});
        return std::make_pair(std::stoll(replies.elements.at(0).as_string()),
                              replies.elements.at(1).as_integer());
    };
    const auto [first_run, first_count] = observe();

    // 1,000 jobs due in the same second, two seconds from now.
    DelayedQueue delayed(options());
    const auto due = std::chrono::floor<seconds>(system_clock::now()) + seconds(2);
    for (int i = 0; i < 1000; ++i) {
        delayed.enqueue_at("sched", due, Job{"Marker", Json::array({"d" + std::to_string(i)})});
    }

    // Kill the leader as the jobs fall due (while it moves them, if the timing allows).
    std::this_thread::sleep_until(due - std::chrono::milliseconds(20));
    const int leader = holder_pid();
    ASSERT_TRUE(leader == pids[0] || leader == pids[1]) << "lock held by " << leader;
    ::kill(leader, SIGKILL);
    test::detail::reap(leader);
    const int survivor = leader == pids[0] ? pids[1] : pids[0];

    EXPECT_TRUE(test::wait_until([&] { return holder_pid() == survivor; }, seconds(10))) << logs();
    EXPECT_TRUE(test::wait_until(
        [&] {
            return redis_command({"LLEN", "resque:queue:sched"}) == "1000";
        },
        seconds(15)))
        << logs();
    // A few more runs after the takeover.
    EXPECT_TRUE(test::wait_until([&] { return observe().first >= first_run + 6; }, seconds(15)))
        << logs();
    ::kill(survivor, SIGTERM);
    test::detail::reap_within(survivor, seconds(10));
    const auto [last_run, last_count] = observe();

    // Every delayed job once.
    const std::string queued = redis_command({"LRANGE", "resque:queue:sched", "0", "-1"});
    std::set<std::string> distinct;
    std::size_t lines = 0;
    for (std::size_t start = 0; start < queued.size();) {
        const auto end = std::min(queued.find('\n', start), queued.size());
        distinct.insert(queued.substr(start, end - start));
        ++lines;
        start = end + 1;
    }
    EXPECT_EQ(lines, 1000u);
    EXPECT_EQ(distinct.size(), 1000u);
    EXPECT_EQ(delayed.count(), 0);
    // Every one-second run between the observations once: as many jobs as seconds.
    EXPECT_EQ(last_count - first_count, last_run - first_run) << logs();
}

}  // namespace
}  // namespace resque
