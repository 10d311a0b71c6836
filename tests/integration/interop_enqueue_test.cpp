// node-resque enqueues (directly, and delayed through its scheduler API and Scheduler),
// our workers run the jobs: every job arrives on the right queue with its args intact.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "interop_peer.hpp"
#include "worker_fixture.hpp"

namespace resque {
namespace {

using nlohmann::json;

class InteropNodeEnqueues : public ::testing::Test {
 protected:
    void SetUp() override { RESQUE_SKIP_WITHOUT_NODE_PEER(); }

    // Writes `jobs` for enqueue.js and runs it.
    json enqueue_with_node(const json& jobs) {
        const auto file = dir_.path() / "jobs.json";
        std::ofstream(file) << jobs.dump();
        return test::run_node_json("enqueue", {server_.url(), file.string()});
    }

    test::RedisServer server_;
    test::TempDir dir_;
};

// Args covering what JSON can carry, all exactly representable in JavaScript.
json sample_args() {
    return json::array({
        json::array({1, "two", 3.5, true, false, nullptr}),
        json::array({"ünïcødé ☃ 𝄞 😀", "quote\" backslash\\ slash/ tab\t nl\n ctl\x01 del\x7f"}),
        json::array({json{{"nested", {{"deeper", json::array({1, json{{"k", "v"}}})}}}}}),
        json::array({json::array(), json::object(), -42, 9007199254740991LL, 0.001}),
        json::array(),
    });
}

// The payloads node-resque writes carry a third key, "queue"; our worker decodes them
// like Resque's (class and args) and records what it ran.
TEST_F(InteropNodeEnqueues, OurWorkerRunsNodeJobsFromSeveralQueuesWithArgsIntact) {
    const json args = sample_args();
    json jobs = json::array();
    const std::vector<std::string> queues{"high", "low", "mail"};
    for (std::size_t i = 0; i < args.size(); ++i) {
        jobs.push_back(
            {{"queue", queues[i % queues.size()]}, {"class", "Record"}, {"args", args[i]}});
    }
    EXPECT_EQ(enqueue_with_node(jobs).at("enqueued"), args.size());

    // What node wrote, before anyone runs it: Resque's layout plus "queue".
    const auto raw = test::list_of(server_, "resque:queue:high");
    ASSERT_FALSE(raw.empty());
    EXPECT_EQ(raw.front(),
              R"({"class":"Record","queue":"high","args":[1,"two",3.5,true,false,null]})");
    EXPECT_EQ(test::set_of(server_, "resque:queues"),
              (std::set<std::string>{"high", "low", "mail"}));
    // node-resque checks each connection by writing a key of its own.
    EXPECT_EQ(server_.command({"GET", "resque:connection_test_key"}), "ok");

    test::Journal journal;
    HandlerRegistry handlers;
    handlers.add("Record", [&](const JobContext& job) {
        journal.add(json{{"queue", job.queue}, {"args", job.job.args}}.dump());
    });
    test::RunningWorker worker(server_, test::fast_options({"high", "low", "mail"}),
                               std::move(handlers));
    ASSERT_TRUE(test::wait_until([&] { return journal.size() == args.size(); }));
    worker.stop();

    std::multiset<std::string> ran, expected;
    for (const auto& entry : journal.entries()) ran.insert(entry);
    for (std::size_t i = 0; i < args.size(); ++i) {
        expected.insert(json{{"queue", queues[i % queues.size()]}, {"args", args[i]}}.dump());
    }
    EXPECT_EQ(ran, expected);
    EXPECT_EQ(server_.command({"GET", "resque:stat:processed"}), std::to_string(args.size()));
    EXPECT_EQ(server_.command({"LLEN", "resque:failed"}), "0");
}

// enqueueAt (a time already past) and enqueueIn (a little ahead) write resque-scheduler's
// layout; node-resque's Scheduler moves them when due and our worker runs them.
TEST_F(InteropNodeEnqueues, NodeSchedulerMovesDelayedJobsThatOurWorkerRuns) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const json jobs = json::array({
        {{"queue", "later"}, {"class", "Record"}, {"args", {"at", 1}}, {"at", now_ms - 60'000}},
        {{"queue", "later"}, {"class", "Record"}, {"args", {"at", 2}}, {"at", now_ms - 60'000}},
        {{"queue", "soon"}, {"class", "Record"}, {"args", {"in", json{{"ü", 1.25}}}}, {"in", 1500}},
    });
    EXPECT_EQ(enqueue_with_node(jobs).at("delayed"), 3);

    // resque-scheduler's three structures, with node's key order in the payload.
    const std::string past = std::to_string((now_ms - 60'000 + 500) / 1000);
    EXPECT_EQ(server_.command({"ZCARD", "resque:delayed_queue_schedule"}), "2");
    EXPECT_EQ(test::list_of(server_, "resque:delayed:" + past).front(),
              R"({"class":"Record","queue":"later","args":["at",1]})");
    EXPECT_EQ(server_.command(
                  {"SMEMBERS",
                   R"(resque:timestamps:{"class":"Record","queue":"later","args":["at",1]})"}),
              "delayed:" + past);

    test::Journal journal;
    HandlerRegistry handlers;
    handlers.add("Record", [&](const JobContext& job) {
        journal.add(json{{"queue", job.queue}, {"args", job.job.args}}.dump());
    });
    test::RunningWorker worker(server_, test::fast_options({"later", "soon"}), std::move(handlers));
    test::PeerProcess scheduler(test::node_argv("scheduler", {server_.url(), "--timeout", "100"}));

    ASSERT_TRUE(test::wait_until([&] { return journal.size() == 3; }, std::chrono::seconds(15)))
        << scheduler.log();
    scheduler.stop();
    worker.stop();

    const auto entries = journal.entries();
    const std::multiset<std::string> ran(entries.begin(), entries.end());
    const std::multiset<std::string> expected{
        json{{"queue", "later"}, {"args", {"at", 1}}}.dump(),
        json{{"queue", "later"}, {"args", {"at", 2}}}.dump(),
        json{{"queue", "soon"}, {"args", {"in", json{{"ü", 1.25}}}}}.dump(),
    };
    EXPECT_EQ(ran, expected);
    // The scheduler cleaned up after itself: nothing delayed is left.
    EXPECT_EQ(server_.command({"EXISTS", "resque:delayed_queue_schedule"}), "0");
    // node-resque's leader lock is not resque-scheduler's (docs/compatibility-notes.md).
    EXPECT_EQ(server_.command({"EXISTS", "resque:resque:resque_scheduler_master_lock"}), "0");
}

// The same delayed jobs, moved by our scheduler instead of node-resque's: it reads the
// entries node wrote (with node's "queue" key) and our worker runs them.
TEST_F(InteropNodeEnqueues, OurSchedulerMovesNodeDelayedJobsThatOurWorkerRuns) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const json jobs = json::array({
        {{"queue", "later"}, {"class", "Record"}, {"args", {"past", 1}}, {"at", now_ms - 60'000}},
        {{"queue", "soon"}, {"class", "Record"}, {"args", {"in", json{{"ü", 1.25}}}}, {"in", 1500}},
    });
    EXPECT_EQ(enqueue_with_node(jobs).at("delayed"), 2);

    test::Journal journal;
    HandlerRegistry handlers;
    handlers.add("Record", [&](const JobContext& job) {
        journal.add(json{{"queue", job.queue}, {"args", job.job.args}}.dump());
    });
    test::RunningWorker worker(server_, test::fast_options({"later", "soon"}), std::move(handlers));
    test::PeerProcess scheduler({test::cli_path(), "--redis", server_.url(), "scheduler"});

    ASSERT_TRUE(test::wait_until([&] { return journal.size() == 2; }, std::chrono::seconds(15)))
        << scheduler.log();
    scheduler.stop();
    worker.stop();

    const auto entries = journal.entries();
    const std::multiset<std::string> ran(entries.begin(), entries.end());
    const std::multiset<std::string> expected{
        json{{"queue", "later"}, {"args", {"past", 1}}}.dump(),
        json{{"queue", "soon"}, {"args", {"in", json{{"ü", 1.25}}}}}.dump(),
    };
    EXPECT_EQ(ran, expected);
    EXPECT_EQ(server_.command({"EXISTS", "resque:delayed_queue_schedule"}), "0");
    EXPECT_EQ(server_.command({"KEYS", "resque:timestamps:*"}), "");
}

// Removing a job by its args compares encoded bytes on both sides (Resque.dequeue's
// rule). node-resque encodes {"class","queue","args"} and we encode Ruby's
// {"class","args"}, so each side's dequeue-by-args finds only its own jobs; our
// dequeue by class alone finds both.
TEST_F(InteropNodeEnqueues, DequeueByArgsFindsOnlyJobsInTheRemoversOwnLayout) {
    Client client(parse_redis_url(server_.url()));
    const json args = json::array({1, "a"});
    const json node_job = json::array({{{"queue", "q"}, {"class", "Record"}, {"args", args}}});
    enqueue_with_node(node_job);
    ASSERT_TRUE(client.enqueue("q", Job{"Record", args}));

    const json removed =
        test::run_node_json("queue", {server_.url(), "del", "q", "Record", args.dump()});
    EXPECT_EQ(removed.at("removed"), 1);
    EXPECT_EQ(test::list_of(server_, "resque:queue:q"),
              std::vector<std::string>{R"({"class":"Record","args":[1,"a"]})"});

    enqueue_with_node(node_job);
    EXPECT_EQ(client.dequeue("q", "Record", args), 1u);
    EXPECT_EQ(test::list_of(server_, "resque:queue:q"),
              std::vector<std::string>{R"({"class":"Record","queue":"q","args":[1,"a"]})"});
    EXPECT_EQ(client.dequeue("q", "Record"), 1u);
    EXPECT_EQ(client.queue_size("q"), 0);
}

}  // namespace
}  // namespace resque
