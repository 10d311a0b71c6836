// An idle worker on one queue waits in a blocking pop (BLMOVE into its landing list):
// the job pushed next runs exactly once and is recorded like any other; a signal, the
// pause key or a new queue interrupts the pop; a worker that dies with a landed job
// gives it back.

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "redis/keys.hpp"
#include "redis_server.hpp"
#include "worker/registry.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

class IdlePop : public ::testing::Test {
 protected:
    RedisServer server;
    Journal journal;

    HandlerRegistry echo_handlers() { return test::echo_handlers(journal); }
    std::string cmd(const std::vector<std::string>& argv) { return server.command(argv); }
    // How many clients are blocked in a BLMOVE right now.
    int blocked_pops() {
        std::string list = cmd({"CLIENT", "LIST"});
        int count = 0;
        for (auto at = list.find("cmd=blmove"); at != std::string::npos;
             at = list.find("cmd=blmove", at + 1)) {
            ++count;
        }
        return count;
    }
    void foreign_push(const std::string& queue, const std::string& payload) {
        cmd({"SADD", "resque:queues", queue});
        cmd({"RPUSH", "resque:queue:" + queue, payload});
    }
    long long processed() {
        auto value = cmd({"GET", "resque:stat:processed"});
        return value == "(nil)" ? 0 : std::stoll(value);
    }
};

TEST_F(IdlePop, AJobPushedToAnIdleWorkerRunsOnceAndIsSettledLikeAnyOther) {
    foreign_push("q", R"({"class":"Echo","args":[0]})");
    RunningWorker worker(server, fast_options({"q"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1 && blocked_pops() == 1; }));
    for (int i = 1; i <= 20; ++i) {
        foreign_push("q", R"({"class":"Echo","args":[)" + std::to_string(i) + "]}");
        ASSERT_TRUE(wait_until([&] { return processed() == i + 1 && blocked_pops() == 1; }));
    }
    worker.stop();
    EXPECT_EQ(journal.size(), 21u);
    EXPECT_EQ(journal.entries().back(), "q:[20]");
    EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight"}), "0");
    EXPECT_EQ(cmd({"KEYS", "resque:cpp:landing*"}), "");
    EXPECT_EQ(cmd({"KEYS", "resque:worker:*"}), "");
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "0");
}

TEST_F(IdlePop, TheRunningLandedJobIsNamedInTheWorkerRecord) {
    std::atomic<bool> release{false};
    HandlerRegistry handlers;
    handlers.add("Hold", [&](const JobContext&) {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
    RunningWorker worker(server, fast_options({"q"}), std::move(handlers));
    ASSERT_TRUE(wait_until([&] { return blocked_pops() == 1; }));
    foreign_push("q", R"({"class":"Hold","args":["x"]})");
    std::string record;
    ASSERT_TRUE(wait_until([&] {
        record = cmd({"GET", "resque:worker:" + cmd({"SRANDMEMBER", "resque:workers"})});
        return record.find("Hold") != std::string::npos;
    }));
    auto parsed = nlohmann::json::parse(record);
    EXPECT_EQ(parsed["queue"], "q");
    EXPECT_EQ(parsed["payload"]["args"][0], "x");
    EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight"}), "1");
    release = true;
    ASSERT_TRUE(wait_until([&] { return processed() == 1; }));
}

TEST_F(IdlePop, StoppingAnIdleWorkerCancelsItsPopSoALaterJobStaysQueued) {
    RunningWorker worker(server, fast_options({"q"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return blocked_pops() == 1; }));
    worker.stop();
    foreign_push("q", R"({"class":"Echo","args":[1]})");
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "1");
    EXPECT_EQ(blocked_pops(), 0);
    EXPECT_EQ(cmd({"KEYS", "resque:cpp:landing*"}), "");
    EXPECT_TRUE(journal.entries().empty());
}

// Pausing all workers (Resque's pause-all-workers key) interrupts the pop, so a job
// pushed while paused waits for the resume.
TEST_F(IdlePop, PauseAllWorkersInterruptsThePopUntilResumed) {
    RunningWorker worker(server, fast_options({"q"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return blocked_pops() == 1; }));
    cmd({"SET", "resque:pause-all-workers", "true"});
    ASSERT_TRUE(wait_until([&] { return blocked_pops() == 0; }));
    foreign_push("q", R"({"class":"Echo","args":[1]})");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "1");
    cmd({"DEL", "resque:pause-all-workers"});
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1; }));
}

// Under `*` the pop waits on the one registered queue; a job on a queue registered
// later still runs (the queue-set change interrupts the pop).
TEST_F(IdlePop, ANewQueueUnderAWildcardInterruptsThePop) {
    foreign_push("a", R"({"class":"Echo","args":[1]})");
    RunningWorker worker(server, fast_options({"*"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1 && blocked_pops() == 1; }));
    foreign_push("b", R"({"class":"Echo","args":[2]})");
    ASSERT_TRUE(wait_until([&] { return journal.size() == 2; }));
    EXPECT_EQ(journal.entries().back(), "b:[2]");
}

// A server without BLMOVE (renamed away here; Redis < 6.2 lacks it) leaves the
// notification wake-up in charge.
TEST(IdlePopFallback, WithoutBlmoveJobsStillRun) {
    RedisServer server({.extra = {"--rename-command", "BLMOVE", "\"\""}});
    Journal journal;
    HandlerRegistry handlers;
    handlers.add("Echo", [&](const JobContext& ctx) { journal.add(std::string(ctx.args_json)); });
    RunningWorker worker(server, fast_options({"q"}), std::move(handlers));
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        server.command({"RPUSH", "resque:queue:q", R"({"class":"Echo","args":[7]})"});
    }
    ASSERT_TRUE(wait_until([&] { return journal.size() == 3; }));
}

// A worker that died with a job in its landing list (popped, not yet in a batch): the
// job goes back to the head of its queue, also when Ruby's pruner already unregistered
// the worker.
TEST_F(IdlePop, ALandedJobOfADeadWorkerGoesBackToTheHeadOfItsQueue) {
    for (bool registered : {true, false}) {
        std::string dead = worker::local_hostname() + ":99999" + (registered ? "1" : "2") + ":q";
        cmd({"RPUSH", "resque:queue:q", R"({"class":"Later","args":[]})"});
        if (registered) cmd({"SADD", "resque:workers", dead});
        cmd({"HSET", "resque:cpp:landing", dead, "\"q\""});
        cmd({"RPUSH", "resque:cpp:landing:" + dead, R"({"class":"Landed","args":[]})"});
        EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 1);
        EXPECT_EQ(cmd({"LRANGE", "resque:queue:q", "0", "-1"}),
                  "{\"class\":\"Landed\",\"args\":[]}\n{\"class\":\"Later\",\"args\":[]}");
        EXPECT_EQ(cmd({"EXISTS", "resque:cpp:landing:" + dead}), "0");
        EXPECT_EQ(cmd({"HEXISTS", "resque:cpp:landing", dead}), "0");
        cmd({"DEL", "resque:queue:q"});
    }
}

}  // namespace
}  // namespace resque::test
