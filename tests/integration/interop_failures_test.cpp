// Failures across implementations: node-resque's records through our CLI (list, show,
// retry, remove), ours through node-resque's failure API, and the stats both report.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "interop_peer.hpp"
#include "resque/errors.hpp"
#include "worker_fixture.hpp"

namespace resque {
namespace {

using nlohmann::json;

std::string hostname() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}

class InteropFailures : public ::testing::Test {
 protected:
    void SetUp() override { RESQUE_SKIP_WITHOUT_NODE_PEER(); }

    json node(const std::vector<std::string>& args) {
        std::vector<std::string> all{server_.url()};
        all.insert(all.end(), args.begin(), args.end());
        return test::run_node_json("queue", all);
    }
    json cli(const std::vector<std::string>& args) {
        return test::run_cli_json(server_.url(), args);
    }
    std::string cli_text(const std::vector<std::string>& args) {
        const test::ProcessResult result = test::run_cli(server_.url(), args);
        EXPECT_EQ(result.exit_code, 0) << result.err;
        return result.out;
    }

    test::RedisServer server_;
};

// node-resque writes `failed_at` with JavaScript's Date#toString.
const std::regex kJavaScriptDate(
    R"([A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4} \(.+\))");
// We write Ruby's `%Y/%m/%d %H:%M:%S %Z`.
const std::regex kRubyFailureTime(R"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} [A-Z]+)");

TEST_F(InteropFailures, NodeFailuresAreListedShownRetriedAndRemovedByOurCli) {
    Client client(parse_redis_url(server_.url()));
    ASSERT_TRUE(client.enqueue("risky", Job{"Boom", json::array({"kaputt ünï /x"})}));
    ASSERT_TRUE(client.enqueue("risky", Job{"Boom", json::array({"second", json{{"n", 1}}})}));
    const test::ProcessResult ran =
        test::run_process(test::node_argv("worker", {server_.url(), "risky", "--jobs", "2"}), {},
                          {}, std::chrono::seconds(30));
    ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
    const std::string node_name = hostname() + ":";

    const json listed = cli({"failed", "list", "--json"});
    ASSERT_EQ(listed.size(), 2u);
    const json& first = listed[0];
    EXPECT_EQ(first.at("exception"), "Error");
    EXPECT_EQ(first.at("error"), "kaputt ünï /x");
    EXPECT_EQ(first.at("queue"), "risky");
    const std::string worker_name = first.at("worker");
    EXPECT_TRUE(worker_name.starts_with(node_name)) << worker_name;
    // node-resque records `host:pid`, without the queues.
    EXPECT_EQ(std::count(worker_name.begin(), worker_name.end(), ':'), 1) << worker_name;
    // The payload as node-resque popped it: ours, so Resque's two keys.
    EXPECT_EQ(first.at("payload"), json::parse(R"({"class":"Boom","args":["kaputt ünï /x"]})"));
    EXPECT_TRUE(std::regex_match(first.at("failed_at").get<std::string>(), kJavaScriptDate))
        << first.at("failed_at");
    ASSERT_FALSE(first.at("backtrace").empty());
    EXPECT_TRUE(first.at("backtrace")[0].get<std::string>().starts_with("    at "));
    EXPECT_EQ(cli({"failed", "show", "0", "--json"}), first);
    EXPECT_NE(cli_text({"failed", "show", "1"}).find("class:      Boom"), std::string::npos);

    // Retry: a Resque payload (class, args) goes back on the queue; the entry stays,
    // marked retried_at, and node-resque still reads it.
    EXPECT_EQ(cli_text({"failed", "retry", "0"}), "retried failure 0 (Boom on queue risky)\n");
    EXPECT_EQ(test::list_of(server_, "resque:queue:risky"),
              std::vector<std::string>{R"({"class":"Boom","args":["kaputt ünï /x"]})"});
    json theirs = node({"snapshot"});
    EXPECT_EQ(theirs.at("failedCount"), 2);
    EXPECT_TRUE(std::regex_match(theirs.at("failed")[0].at("retried_at").get<std::string>(),
                                 kRubyFailureTime));
    EXPECT_EQ(theirs.at("failed")[0].at("error"), "kaputt ünï /x");

    EXPECT_EQ(cli_text({"failed", "remove", "1"}), "removed failure 1\n");
    theirs = node({"snapshot"});
    EXPECT_EQ(theirs.at("failedCount"), 1);
    EXPECT_EQ(theirs.at("failed")[0].at("payload").at("args"), json::array({"kaputt ünï /x"}));

    // node-resque counts a failed job in stat:failed only, never in stat:processed
    // (Resque and we count it in both).
    EXPECT_FALSE(theirs.at("stats").contains("processed"));
    EXPECT_EQ(theirs.at("stats").at("failed"), "2");
    const json ours = cli({"stats", "--json"});
    EXPECT_EQ(ours.at("processed"), 0);
    EXPECT_EQ(ours.at("failed"), theirs.at("failedCount"));
    EXPECT_EQ(client.stats().failed_stat, 2);
}

TEST_F(InteropFailures, OurFailuresAreReadRemovedAndRetriedByNodeResque) {
    HandlerRegistry handlers;
    handlers.add("Boom", [](const JobContext& job) {
        throw JobFailure("ArgumentError", "bad input " + job.job.args.dump(), {"app/jobs.cpp:1"});
    });
    test::RunningWorker worker(server_, test::fast_options({"risky"}), std::move(handlers));
    Client client(parse_redis_url(server_.url()));
    ASSERT_TRUE(client.enqueue("risky", Job{"Boom", json::array({"a/ü"})}));
    ASSERT_TRUE(client.enqueue("risky", Job{"Boom", json::array({"b"})}));
    ASSERT_TRUE(client.enqueue("risky", Job{"Boom", json::array({2.0})}));
    ASSERT_TRUE(test::wait_until([&] { return client.stats().failed_stat == 3; }));
    worker.stop();
    const std::string id = hostname() + ":" + std::to_string(::getpid()) + ":risky";

    json theirs = node({"snapshot"});
    EXPECT_EQ(theirs.at("failedCount"), 3);
    const json& first = theirs.at("failed")[0];
    EXPECT_EQ(first.at("exception"), "ArgumentError");
    EXPECT_EQ(first.at("error"), R"(bad input ["a/ü"])");
    EXPECT_EQ(first.at("queue"), "risky");
    EXPECT_EQ(first.at("worker"), id);
    EXPECT_EQ(first.at("payload"), json::parse(R"({"class":"Boom","args":["a/ü"]})"));
    EXPECT_EQ(first.at("backtrace"), json::array({"app/jobs.cpp:1"}));
    EXPECT_TRUE(std::regex_match(first.at("failed_at").get<std::string>(), kRubyFailureTime));
    // Stats agree: Resque's counting (a failure is also processed) on both sides' reads.
    EXPECT_EQ(theirs.at("stats").at("processed"), "3");
    EXPECT_EQ(theirs.at("stats").at("failed"), "3");
    const json ours = cli({"stats", "--json"});
    EXPECT_EQ(ours.at("processed"), 3);
    EXPECT_EQ(ours.at("failed"), 3);

    // removeFailed finds our record by re-encoding it with JSON.stringify: identical bytes.
    EXPECT_EQ(node({"removeFailed", "0"}).at("removed"), 1);
    EXPECT_EQ(node({"retryAndRemoveFailed", "0"}).at("retried"), true);
    // node-resque re-enqueues with its own payload layout (an extra "queue" key).
    EXPECT_EQ(test::list_of(server_, "resque:queue:risky"),
              std::vector<std::string>{R"({"class":"Boom","queue":"risky","args":["b"]})"});

    // Our 2.0 (Ruby's float form) re-encodes as 2 in JavaScript, so node-resque cannot
    // find that record to remove or retry it; our CLI can.
    EXPECT_EQ(node({"removeFailed", "0"}).at("removed"), 0);
    EXPECT_EQ(node({"retryAndRemoveFailed", "0"}).at("error"), "This job is not in failed queue");
    EXPECT_EQ(cli_text({"failed", "remove", "0"}), "removed failure 0\n");
    EXPECT_EQ(node({"snapshot"}).at("failedCount"), 0);
}

}  // namespace
}  // namespace resque
