// node-resque workers and ours on the same queues of one Redis: every job runs once,
// each side lists the other's workers, and neither side's pruning removes the other's
// live workers. Where node-resque's view of our workers is wrong, the test asserts what
// docs/compatibility-notes.md describes.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "interop_peer.hpp"
#include "resque/job.hpp"
#include "worker_fixture.hpp"

namespace resque {
namespace {

using nlohmann::json;

std::string hostname() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}

class InteropWorkers : public ::testing::Test {
 protected:
    void SetUp() override { RESQUE_SKIP_WITHOUT_NODE_PEER(); }

    std::set<std::string> registered() const { return test::set_of(server_, "resque:workers"); }

    // Ids from `resque workers --json`.
    std::set<std::string> our_listing() const {
        std::set<std::string> ids;
        for (const auto& worker : test::run_cli_json(server_.url(), {"workers", "--json"})) {
            ids.insert(worker.at("id").get<std::string>());
        }
        return ids;
    }

    // node-resque's queue.workers(): `host:pid` -> queues, joined back into ids.
    std::set<std::string> node_listing() const {
        std::set<std::string> ids;
        const json snapshot = test::run_node_json("queue", {server_.url(), "snapshot"});
        for (const auto& [name, queues] : snapshot.at("workers").items()) {
            ids.insert(name + ":" + queues.get<std::string>());
        }
        return ids;
    }

    // Both sides' pruning, as an operator would run it: `resque prune` and node-resque's
    // cleanOldWorkers with a one-minute age. Neither may remove anything here.
    void prune_from_both_sides() const {
        const test::ProcessResult ours = test::run_cli(server_.url(), {"prune"});
        EXPECT_EQ(ours.exit_code, 0) << ours.err;
        EXPECT_EQ(ours.out, "pruned 0 dead workers\n");
        const json theirs =
            test::run_node_json("queue", {server_.url(), "cleanOldWorkers", "60000"});
        EXPECT_EQ(theirs.at("cleaned"), json::object());
    }

    test::RedisServer server_;
};

// Two node-resque workers and two of ours on queues a,b; 400 jobs that take ~5 ms each.
TEST_F(InteropWorkers, BothPoolsShareQueuesAndEveryJobRunsExactlyOnce) {
    const std::string host = hostname();
    std::vector<std::unique_ptr<test::PeerProcess>> node, ours;
    for (int i = 0; i < 2; ++i) {
        node.push_back(std::make_unique<test::PeerProcess>(
            test::node_argv("worker", {server_.url(), "a,b", "--timeout", "100"})));
        ours.push_back(std::make_unique<test::PeerProcess>(
            std::vector<std::string>{RESQUE_MARKER_WORKER_PATH, server_.url(), "a,b", "5"}));
    }
    std::set<std::string> ids;
    for (const auto& peer : node) ids.insert(host + ":" + std::to_string(peer->pid()) + ":a,b");
    for (const auto& peer : ours) ids.insert(host + ":" + std::to_string(peer->pid()) + ":a,b");
    ASSERT_TRUE(test::wait_until([&] { return registered() == ids; }, std::chrono::seconds(15)))
        << node[0]->log() << ours[0]->log();

    EXPECT_EQ(our_listing(), ids);
    EXPECT_EQ(node_listing(), ids);
    prune_from_both_sides();
    EXPECT_EQ(registered(), ids);

    constexpr int kJobs = 400;
    std::vector<QueuedJob> jobs;
    for (int i = 0; i < kJobs; ++i) {
        jobs.push_back(
            {i % 2 ? "a" : "b", Job{"Marker", json::array({"m-" + std::to_string(i), 5})}});
    }
    // node-resque's workers ignore pause-all-workers and ours honour it: pausing ours
    // while the jobs arrive lets node's take the first ones however fast ours reserve,
    // so both sides are sure to work; then ours resume beside them.
    Client client(parse_redis_url(server_.url()));
    client.set_paused(true);
    ASSERT_EQ(client.enqueue_many(jobs), static_cast<std::size_t>(kJobs));
    const auto markers = [&] { return std::stoi(server_.command({"LLEN", "test:exec"})); };
    ASSERT_TRUE(test::wait_until([&] { return markers() >= 10; }, std::chrono::seconds(15)))
        << node[0]->log();
    for (const auto& marker : test::list_of(server_, "test:exec")) {
        EXPECT_TRUE(marker.starts_with("node:")) << marker;
    }
    client.set_paused(false);

    // Prune again from both sides while jobs are running on both.
    const auto ours_ran = [&] {
        for (const auto& marker : test::list_of(server_, "test:exec")) {
            if (!marker.starts_with("node:")) return true;
        }
        return false;
    };
    ASSERT_TRUE(test::wait_until(ours_ran, std::chrono::seconds(15))) << ours[0]->log();
    prune_from_both_sides();
    EXPECT_EQ(registered(), ids);

    ASSERT_TRUE(test::wait_until([&] { return markers() >= kJobs; }, std::chrono::seconds(40)))
        << node[0]->log();
    for (auto& peer : node) EXPECT_EQ(peer->stop(SIGTERM), 0) << peer->log();
    for (auto& peer : ours) EXPECT_EQ(peer->stop(SIGQUIT), 0) << peer->log();

    std::map<std::string, int> runs;
    int by_node = 0;
    for (std::string marker : test::list_of(server_, "test:exec")) {
        if (marker.starts_with("node:")) {
            marker.erase(0, 5);
            ++by_node;
        }
        ++runs[marker];
    }
    EXPECT_EQ(runs.size(), static_cast<std::size_t>(kJobs));
    for (const auto& [marker, count] : runs) EXPECT_EQ(count, 1) << marker;
    EXPECT_GT(by_node, 0);
    EXPECT_LT(by_node, kJobs);
    EXPECT_EQ(server_.command({"GET", "resque:stat:processed"}), std::to_string(kJobs));

    // Both kinds unregistered cleanly: no registration and no running-job record is left.
    EXPECT_TRUE(registered().empty());
    EXPECT_EQ(server_.command({"KEYS", "resque:worker:*"}), "");
}

// node-resque reads a busy worker's record expecting its own extra "worker" field; ours
// (Resque's three fields) lacks it, so queue.allWorkingOn() shows our worker as
// "started" and files its job under "undefined", and cleanOldWorkers() then cleans a
// worker named "undefined": it cannot touch ours, but it increments stat:failed.
TEST_F(InteropWorkers, NodeCannotAttributeOurBusyWorkersJobAndCleaningItLeavesOursAlone) {
    std::atomic<bool> release{false};
    HandlerRegistry handlers;
    handlers.add("Slow", [&](const JobContext&) {
        test::wait_until([&] { return release.load(); }, std::chrono::seconds(20));
    });
    test::RunningWorker worker(server_, test::fast_options({"slow"}), std::move(handlers));
    Client client(parse_redis_url(server_.url()));
    ASSERT_TRUE(client.enqueue("slow", Job{"Slow", json::array({1})}));

    const std::string id = hostname() + ":" + std::to_string(::getpid()) + ":slow";
    ASSERT_TRUE(test::wait_until([&] {
        return server_.command({"EXISTS", "resque:worker:" + id}) == "1";
    }));

    const json snapshot = test::run_node_json("queue", {server_.url(), "snapshot"});
    const std::string name = hostname() + ":" + std::to_string(::getpid());
    EXPECT_EQ(snapshot.at("workers").at(name), "slow");
    EXPECT_EQ(snapshot.at("workingOn").at(name), "started");
    EXPECT_EQ(snapshot.at("workingOn").at("undefined").at("payload").at("class"), "Slow");
    EXPECT_EQ(snapshot.at("workingOn").at("undefined").at("queue"), "slow");

    const json cleaned = test::run_node_json("queue", {server_.url(), "cleanOldWorkers", "0"});
    EXPECT_EQ(cleaned.at("cleaned"), json::object());
    EXPECT_EQ(cleaned.at("errors"),
              json::array({"force-cleaning worker undefined, but cannot find queues"}));
    EXPECT_EQ(registered(), std::set<std::string>{id});
    EXPECT_EQ(server_.command({"EXISTS", "resque:worker:" + id}), "1");
    EXPECT_EQ(server_.command({"GET", "resque:stat:failed"}), "1");
    EXPECT_EQ(server_.command({"LLEN", "resque:failed"}), "0");

    release = true;
    ASSERT_TRUE(test::wait_until([&] {
        return server_.command({"GET", "resque:stat:processed"}) == "1";
    }));
    EXPECT_EQ(server_.command({"LLEN", "resque:failed"}), "0");
}

// A busy node-resque worker shows as working in `resque workers`; `resque prune` keeps
// it while its process lives and, once it is killed, recovers its job from node's
// record (written by node-resque's Lua script through cjson) back onto the queue, with
// the changes cjson made to the args.
TEST_F(InteropWorkers, WeListNodesBusyWorkerKeepItAliveAndRecoverItsJobWhenItDies) {
    test::PeerProcess node(test::node_argv("worker", {server_.url(), "slow", "--timeout", "100"}));
    const std::string name = hostname() + ":" + std::to_string(node.pid());
    const std::string id = name + ":slow";
    Client client(parse_redis_url(server_.url()));
    ASSERT_TRUE(client.enqueue(
        "slow", Job{"Slow", json::array({20000, "ü/x", 3.141592653589793, json::array()})}));
    ASSERT_TRUE(test::wait_until(
        [&] {
            return server_.command({"EXISTS", "resque:worker:" + id}) == "1";
        },
        std::chrono::seconds(15)))
        << node.log();

    const json listing = test::run_cli_json(server_.url(), {"workers", "--json"});
    ASSERT_EQ(listing.size(), 1u);
    EXPECT_EQ(listing[0].at("id"), id);
    EXPECT_EQ(listing[0].at("state"), "working");
    EXPECT_EQ(listing[0].at("queue"), "slow");
    EXPECT_EQ(listing[0].at("class"), "Slow");
    EXPECT_EQ(listing[0].at("heartbeat"), "");  // node-resque keeps worker:ping:<name> instead
    EXPECT_NE(listing[0].at("run_at"), "");     // a JavaScript Date string
    EXPECT_TRUE(listing[0].at("started").get<std::string>().find_first_not_of("0123456789") ==
                std::string::npos);  // epoch seconds, not Ruby's Time#to_s

    EXPECT_EQ(test::run_cli(server_.url(), {"prune"}).out, "pruned 0 dead workers\n");
    EXPECT_EQ(registered(), std::set<std::string>{id});

    node.crash();
    EXPECT_EQ(test::run_cli(server_.url(), {"prune"}).out, "pruned 1 dead workers\n");
    EXPECT_TRUE(registered().empty());
    EXPECT_EQ(server_.command({"EXISTS", "resque:worker:" + id}), "0");
    const auto queued = test::list_of(server_, "resque:queue:slow");
    ASSERT_EQ(queued.size(), 1u);
    const Job recovered = decode_payload(queued[0]);
    EXPECT_EQ(recovered.class_name, "Slow");
    // The only copy of a job node-resque holds is its record, which Redis's cjson
    // re-encoded: 14 significant digits, and an empty array turned into an object.
    EXPECT_EQ(recovered.args, json::array({20000, "ü/x", 3.1415926535898, json::object()}));
    // node-resque's own keys for that worker are not Resque's; our prune leaves them.
    EXPECT_EQ(server_.command({"EXISTS", "resque:worker:ping:" + name}), "1");
}

}  // namespace
}  // namespace resque
