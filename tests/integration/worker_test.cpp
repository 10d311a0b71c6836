// Workers against a real redis-server: processing, failures, priority, pause, bad data.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "redis_server.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

using nlohmann::json;

class WorkerIntegration : public ::testing::Test {
 protected:
    RedisServer server;
    Journal journal;

    HandlerRegistry echo_handlers() {
        HandlerRegistry handlers = test::echo_handlers(journal);
        handlers.add("AlwaysRaise",
                     [](const JobContext&) { throw std::runtime_error("boom: bad input"); });
        return handlers;
    }
    std::string cmd(const std::vector<std::string>& argv) { return server.command(argv); }
    void push(const std::string& queue, const std::string& payload) {
        cmd({"SADD", "resque:queues", queue});
        cmd({"RPUSH", "resque:queue:" + queue, payload});
    }
    long long stat(const std::string& name) {
        auto value = cmd({"GET", "resque:stat:" + name});
        return value == "(nil)" ? 0 : std::stoll(value);
    }
    std::vector<json> failures() {
        std::vector<json> out;
        auto n = std::stoll(cmd({"LLEN", "resque:failed"}));
        for (long long i = 0; i < n; ++i) {
            out.push_back(json::parse(cmd({"LINDEX", "resque:failed", std::to_string(i)})));
        }
        return out;
    }
};

TEST_F(WorkerIntegration, ProcessesJobPushedInResqueFormatAndCountsIt) {
    push("high", R"({"class":"Echo","args":[1,"two",{"k":null}]})");
    RunningWorker worker(server, fast_options({"high"}), echo_handlers());

    ASSERT_TRUE(wait_until([&] { return stat("processed") == 1; }));
    EXPECT_EQ(journal.entries(), std::vector<std::string>{R"(high:[1,"two",{"k":null}])"});
    ASSERT_TRUE(wait_until([&] { return cmd({"KEYS", "resque:worker:*:high"}).empty(); }));
    worker.stop();
    EXPECT_EQ(cmd({"SMEMBERS", "resque:workers"}), "");
    EXPECT_EQ(cmd({"HLEN", "resque:workers:heartbeat"}), "0");
    EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight"}), "0");
}

TEST_F(WorkerIntegration, RegistersWithResqueFormatIdStartedTimeAndHeartbeat) {
    RunningWorker worker(server, fast_options({"high", "low"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return !cmd({"SMEMBERS", "resque:workers"}).empty(); }));
    std::string id = cmd({"SMEMBERS", "resque:workers"});
    EXPECT_NE(id.find(":" + std::to_string(::getpid()) + ":high,low"), std::string::npos) << id;
    std::string started = cmd({"GET", "resque:worker:" + id + ":started"});
    EXPECT_EQ(started.size(), std::string("2026-12-03 12:25:25 +0000").size()) << started;
    ASSERT_TRUE(wait_until([&] {
        return cmd({"HGET", "resque:workers:heartbeat", id}) != "(nil)";
    }));
    std::string beat = cmd({"HGET", "resque:workers:heartbeat", id});
    EXPECT_EQ(beat.size(), std::string("2026-12-03T12:25:25+00:00").size()) << beat;
    EXPECT_EQ(beat[10], 'T');
    EXPECT_EQ(beat[22], ':');
}

TEST_F(WorkerIntegration, UnknownClassBecomesNameErrorFailureAndWorkerContinues) {
    push("q", R"({"class":"Remote","args":["x"]})");
    push("q", R"({"class":"Echo","args":["after"]})");
    RunningWorker worker(server, fast_options({"q"}), echo_handlers());

    ASSERT_TRUE(wait_until([&] { return stat("processed") == 2; }));
    auto failed = failures();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0]["exception"], "NameError");
    EXPECT_EQ(failed[0]["error"], "uninitialized constant Remote");
    EXPECT_EQ(failed[0]["payload"], json::parse(R"({"class":"Remote","args":["x"]})"));
    EXPECT_EQ(failed[0]["queue"], "q");
    EXPECT_EQ(journal.entries(), std::vector<std::string>{R"(q:["after"])"});
    EXPECT_EQ(stat("failed"), 1);
}

TEST_F(WorkerIntegration, FailureRecordHasEveryResqueFieldInOrder) {
    push("q", R"({"class":"AlwaysRaise","args":["bad",7]})");
    RunningWorker worker(server, fast_options({"q"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return cmd({"LLEN", "resque:failed"}) == "1"; }));

    std::string raw = cmd({"LINDEX", "resque:failed", "0"});
    auto ordered = nlohmann::ordered_json::parse(raw);
    std::vector<std::string> keys;
    for (auto& [key, value] : ordered.items()) keys.push_back(key);
    EXPECT_EQ(keys, (std::vector<std::string>{"failed_at", "payload", "exception", "error",
                                              "backtrace", "worker", "queue"}));
    EXPECT_NE(raw.find(R"("payload":{"class":"AlwaysRaise","args":["bad",7]})"), std::string::npos);
    EXPECT_EQ(ordered["error"], "boom: bad input");
    std::string failed_at = ordered["failed_at"];
    EXPECT_EQ(failed_at[4], '/');
    EXPECT_EQ(failed_at.substr(19), " UTC");
    ASSERT_TRUE(wait_until([&] { return stat("processed") == 1; }));
    EXPECT_EQ(stat("failed"), 1);
}

// FC-04: every kind of malformed entry is recorded once, verbatim, and the worker lives.
TEST_F(WorkerIntegration, MalformedPayloadsBecomeFailuresKeptVerbatimAndWorkerGoesOn) {
    std::vector<std::string> bad{"not-json",
                                 R"({"class":"Echo","args":)",
                                 R"({"args":[1]})",
                                 R"({"class":"#<struct Foo id=1>","args":[]})",
                                 R"({"class":"Echo","args":{"a":1}})",
                                 "[]"};
    for (const auto& payload : bad) push("q", payload);
    push("q", R"({"class":"Echo","args":["ok"]})");
    RunningWorker worker(server, fast_options({"q"}), echo_handlers());

    ASSERT_TRUE(wait_until([&] { return stat("processed") == 7; }));
    EXPECT_EQ(journal.entries(), std::vector<std::string>{R"(q:["ok"])"});
    auto failed = failures();
    ASSERT_EQ(failed.size(), 6u);
    for (std::size_t i = 0; i < bad.size(); ++i) {
        std::string stored = failed[i]["payload"].is_string()
                                 ? failed[i]["payload"].get<std::string>()
                                 : failed[i]["payload"].dump();
        EXPECT_EQ(json::parse(stored, nullptr, false).is_discarded() ? stored
                                                                     : json::parse(stored).dump(),
                  json::parse(bad[i], nullptr, false).is_discarded() ? bad[i]
                                                                     : json::parse(bad[i]).dump());
        // The struct-inspect class name is a valid payload naming an unknown class.
        std::string expected = i == 3 ? "NameError" : "Resque::PayloadError";
        EXPECT_EQ(failed[i]["exception"], expected) << bad[i];
    }
    EXPECT_EQ(stat("failed"), 6);
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "0");
}

TEST_F(WorkerIntegration, QueueKeyOfWrongTypeIsSkippedAndOtherQueuesStillWork) {
    cmd({"SADD", "resque:queues", "broken"});
    cmd({"SET", "resque:queue:broken", "i am a string"});
    push("good", R"({"class":"Echo","args":[1]})");
    RunningWorker worker(server, fast_options({"broken", "good"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return stat("processed") == 1; }));
    EXPECT_EQ(cmd({"GET", "resque:queue:broken"}), "i am a string");
}

TEST_F(WorkerIntegration, ReservesFromQueuesInListedPriorityOrder) {
    push("low", R"({"class":"Echo","args":["l1"]})");
    push("high", R"({"class":"Echo","args":["h1"]})");
    push("low", R"({"class":"Echo","args":["l2"]})");
    push("high", R"({"class":"Echo","args":["h2"]})");
    RunningWorker worker(server, fast_options({"high", "low"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return journal.size() == 4; }));
    EXPECT_EQ(journal.entries(), (std::vector<std::string>{R"(high:["h1"])", R"(high:["h2"])",
                                                           R"(low:["l1"])", R"(low:["l2"])"}));
}

// Fixture 34: QUEUES=critical,*,!low* processes critical, then the rest alphabetically.
TEST_F(WorkerIntegration, WildcardAndNegationFollowResqueOrder) {
    for (std::string q : {"zeta", "low-1", "beta", "critical", "alpha", "lower"}) {
        push(q, R"({"class":"Echo","args":[")" + q + R"("]})");
    }
    RunningWorker worker(server, fast_options({"critical", "*", "!low*"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return journal.size() == 4; }));
    EXPECT_EQ(journal.entries(),
              (std::vector<std::string>{R"(critical:["critical"])", R"(alpha:["alpha"])",
                                        R"(beta:["beta"])", R"(zeta:["zeta"])"}));
    EXPECT_EQ(cmd({"LLEN", "resque:queue:low-1"}), "1");
    EXPECT_NE(cmd({"SMEMBERS", "resque:workers"}).find(":critical,*"), std::string::npos);
}

// Fast jobs are taken several at a time; whichever of them runs, `worker:<id>` (what
// Resque's tools show) names that job, and the in-flight batch holds the rest.
TEST_F(WorkerIntegration, WorkerRecordNamesTheRunningJobInsideAPrefetchedBatch) {
    std::atomic<bool> release{false};
    HandlerRegistry handlers = echo_handlers();
    handlers.add("Block", [&](const JobContext& ctx) {
        journal.record(ctx);
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
    // Batches grow 1, 2, 4: [e1] [e2 e3] [e4 Block e5], so Block runs second in its batch.
    for (int i = 1; i <= 4; ++i)
        push("q", R"({"class":"Echo","args":["e)" + std::to_string(i) + "\"]}");
    push("q", R"({"class":"Block","args":["block"]})");
    push("q", R"({"class":"Echo","args":["e5"]})");
    RunningWorker worker(server, fast_options({"q"}), handlers);

    ASSERT_TRUE(wait_until([&] { return journal.size() == 5; }));
    std::string id = cmd({"SMEMBERS", "resque:workers"});
    ASSERT_TRUE(wait_until([&] {
        auto record = cmd({"GET", "resque:worker:" + id});
        return record != "(nil)" && json::parse(record)["payload"]["args"][0] == "block";
    }));
    EXPECT_EQ(json::parse(cmd({"GET", "resque:worker:" + id}))["queue"], "q");
    EXPECT_EQ(cmd({"HGET", "resque:cpp:inflight:running", id}), "1");
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "0");
    EXPECT_NE(cmd({"HGET", "resque:cpp:inflight", id}).find(R"(["e5"])"), std::string::npos);

    release = true;
    ASSERT_TRUE(wait_until([&] { return stat("processed") == 6; }));
    ASSERT_TRUE(wait_until([&] { return cmd({"GET", "resque:worker:" + id}) == "(nil)"; }));
    EXPECT_EQ(journal.entries().back(), R"(q:["e5"])");
    EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight:running"}), "0");
}

// With prefetch 1 a job from a higher-priority queue pushed while a lower one runs is
// next, as in Resque.
TEST_F(WorkerIntegration, PrefetchOneKeepsStrictPriorityBetweenEveryTwoJobs) {
    std::atomic<bool> release{false};
    HandlerRegistry handlers = echo_handlers();
    handlers.add("Block", [&](const JobContext& ctx) {
        journal.record(ctx);
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
    for (int i = 0; i < 3; ++i) push("low", R"({"class":"Echo","args":["l"]})");
    push("low", R"({"class":"Block","args":["b"]})");
    push("low", R"({"class":"Echo","args":["after"]})");
    auto options = fast_options({"high", "low"});
    options.prefetch = 1;
    RunningWorker worker(server, options, handlers);
    ASSERT_TRUE(wait_until([&] { return journal.size() == 4; }));
    push("high", R"({"class":"Echo","args":["urgent"]})");
    release = true;
    ASSERT_TRUE(wait_until([&] { return journal.size() == 6; }));
    EXPECT_EQ(journal.entries()[4], R"(high:["urgent"])");
}

TEST_F(WorkerIntegration, IdleWorkerWakesForJobPushedLaterByForeignClient) {
    RunningWorker worker(server, fast_options({"q"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return !cmd({"SMEMBERS", "resque:workers"}).empty(); }));
    push("q", R"({"class":"Echo","args":["late"]})");
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1; }));
}

TEST_F(WorkerIntegration, PauseAllWorkersKeyStopsReservationUntilRemoved) {
    cmd({"SET", "resque:pause-all-workers", " TRUE "});
    push("q", R"({"class":"Echo","args":["held"]})");
    RunningWorker worker(server, fast_options({"q"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return !cmd({"SMEMBERS", "resque:workers"}).empty(); }));
    // Give the worker several chances to (wrongly) take the job, then check it did not.
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "1");
    cmd({"DEL", "resque:pause-all-workers"});
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1; }));
}

TEST_F(WorkerIntegration, HooksRunInResqueOrderAndFailingBeforeHookFailsJob) {
    Hooks hooks;
    hooks.before_perform([&](std::string_view, const Job& job) {
        journal.add("before");
        if (job.args.at(0) == "veto") throw std::runtime_error("before hook says no");
    });
    hooks.around_perform([&](std::string_view, const Job&, const std::function<void()>& next) {
        journal.add("outer-start");
        next();
        journal.add("outer-end");
    });
    hooks.after_perform([&](std::string_view, const Job&) { journal.add("after"); });
    hooks.on_failure([&](std::string_view, const Job&, const FailureInfo& info) {
        journal.add("failure:" + info.error);
    });
    push("q", R"({"class":"Echo","args":["ok"]})");
    push("q", R"({"class":"Echo","args":["veto"]})");
    RunningWorker worker(server, fast_options({"q"}), echo_handlers(), hooks);
    ASSERT_TRUE(wait_until([&] { return stat("processed") == 2; }));
    EXPECT_EQ(journal.entries(),
              (std::vector<std::string>{"before", "outer-start", R"(q:["ok"])", "outer-end",
                                        "after", "before", "failure:before hook says no"}));
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "1");
}

TEST_F(WorkerIntegration, UntilEmptyDrainsAndReturns) {
    for (int i = 0; i < 50; ++i)
        push("q", R"({"class":"Echo","args":[)" + std::to_string(i) + "]}");
    auto options = fast_options({"q"});
    options.until_empty = true;
    WorkerPool pool(options_for(server), options, echo_handlers());
    pool.run();
    EXPECT_EQ(journal.size(), 50u);
    EXPECT_EQ(stat("processed"), 50);
    EXPECT_EQ(cmd({"SCARD", "resque:workers"}), "0");
}

TEST_F(WorkerIntegration, AbortKillsTheRunningProgramRecordsFailureAndWorkerGoesOn) {
    HandlerRegistry handlers = echo_handlers();
    handlers.add_program("Slow", ProgramSpec{{"sleep", "30"}, {}, {}, {}, {}});
    push("q", R"({"class":"Slow","args":[]})");
    push("q", R"({"class":"Echo","args":["next"]})");
    RunningWorker worker(server, fast_options({"q"}), std::move(handlers));
    ASSERT_TRUE(wait_until([&] { return !cmd({"KEYS", "resque:worker:*:q"}).empty(); }));

    worker.pool().abort_current_jobs();
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1; }));
    auto failed = failures();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_NE(failed[0]["error"].get<std::string>().find("aborted"), std::string::npos)
        << failed[0]["error"];
    EXPECT_EQ(failed[0]["exception"], "Resque::ProgramFailed");
}

TEST_F(WorkerIntegration, MultiQueueFailureBackendWritesPerQueueList) {
    push("high", R"({"class":"AlwaysRaise","args":[]})");
    auto options = fast_options({"high"});
    options.failure_backend = FailureBackendKind::kRedisMultiQueue;
    RunningWorker worker(server, options, echo_handlers());
    ASSERT_TRUE(wait_until([&] { return cmd({"LLEN", "resque:high_failed"}) == "1"; }));
    EXPECT_EQ(cmd({"SMEMBERS", "resque:failed_queues"}), "high_failed");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
}

}  // namespace
}  // namespace resque::test
