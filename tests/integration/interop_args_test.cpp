// Our library and our CLI enqueue; a node-resque worker runs the jobs and records the
// args exactly as node-resque handed them to the job (re-encoded with JSON.stringify).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "interop_peer.hpp"

namespace resque {
namespace {

using nlohmann::json;

class InteropNodeRuns : public ::testing::Test {
 protected:
    void SetUp() override { RESQUE_SKIP_WITHOUT_NODE_PEER(); }

    // Runs a node-resque worker on `queues` until it has done `jobs` jobs; returns what
    // the Record jobs received, in order, as the JSON text node wrote.
    std::vector<std::string> run_node_worker(const std::string& queues, std::size_t jobs) {
        const test::ProcessResult result = test::run_process(
            test::node_argv("worker", {server_.url(), queues, "--jobs", std::to_string(jobs)}), {},
            {}, std::chrono::seconds(30));
        EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
        return test::list_of(server_, "interop:received");
    }

    test::RedisServer server_;
};

// Every kind of JSON value whose meaning both sides can hold exactly.
std::vector<json> exact_args() {
    return {
        json::array({"ünïcødé", "☃", "𝄞 astral 😀", "\u2028\u2029", ""}),
        json::array({"quote\" backslash\\ slash/ tab\t nl\n cr\r ctl\x01\x1f del\x7f"}),
        json::array({json{{"a", {{"b", json::array({1, json{{"c", nullptr}}})}}}},
                     json{{"ключ", "значение"}}}),
        json::array({0, -1, 42, 9007199254740991LL, -9007199254740991LL}),
        json::array({1.5, -0.25, 3.141592653589793, 1e-7, 6.02e23, 2.5e-300}),
        json::array({true, false, nullptr}),
        json::array({json::array(), json::object(), json::array({json::array()})}),
        json::array(),
    };
}

// Library and CLI jobs reach a node-resque worker with every value intact.
TEST_F(InteropNodeRuns, NodeWorkerReceivesArgsWeEnqueueIntact) {
    const std::vector<json> args = exact_args();
    Client client(parse_redis_url(server_.url()));
    for (const auto& one : args) ASSERT_TRUE(client.enqueue("from_lib", Job{"Record", one}));
    for (const auto& one : args) {
        const test::ProcessResult result =
            test::run_cli(server_.url(), {"enqueue", "from_cli", "Record", one.dump()});
        ASSERT_EQ(result.exit_code, 0) << result.err;
    }

    const auto received = run_node_worker("from_lib,from_cli", 2 * args.size());
    ASSERT_EQ(received.size(), 2 * args.size());
    for (std::size_t i = 0; i < received.size(); ++i) {
        EXPECT_EQ(json::parse(received[i]), args[i % args.size()])
            << "job " << i << " node received " << received[i];
    }
    EXPECT_EQ(server_.command({"LLEN", "resque:failed"}), "0");
    EXPECT_EQ(server_.command({"GET", "resque:stat:processed"}), std::to_string(2 * args.size()));
}

// Where JavaScript numbers cannot hold what we (like Ruby) write, node-resque's jobs see
// the nearest double: integers past 2^53 lose digits; integral floats, written "1.0" as
// Ruby writes them, arrive as integers; -0.0 arrives as 0. docs/compatibility-notes.md.
TEST_F(InteropNodeRuns, NodeWorkerSeesJavaScriptNumbersForBigIntegersAndIntegralFloats) {
    Client client(parse_redis_url(server_.url()));
    ASSERT_TRUE(client.enqueue("numbers", Job{"Record", json::parse("[12345678901234567890]")}));
    ASSERT_TRUE(client.enqueue("numbers", Job{"Record", json::array({1.0, 100.0, -0.0, 1e20})}));
    EXPECT_EQ(test::list_of(server_, "resque:queue:numbers"),
              (std::vector<std::string>{R"({"class":"Record","args":[12345678901234567890]})",
                                        R"({"class":"Record","args":[1.0,100.0,-0.0,1.0e+20]})"}));

    const auto received = run_node_worker("numbers", 2);
    EXPECT_EQ(received, (std::vector<std::string>{"[12345678901234567000]",
                                                  "[1,100,0,100000000000000000000]"}));
}

// node-resque's workers do not read `pause-all-workers`: `resque pause` stops Resque's
// and our workers, not theirs.
TEST_F(InteropNodeRuns, NodeWorkerIgnoresPauseAllWorkers) {
    Client client(parse_redis_url(server_.url()));
    client.set_paused(true);
    ASSERT_TRUE(client.enqueue("paused", Job{"Record", json::array({"still runs"})}));
    EXPECT_EQ(run_node_worker("paused", 1), std::vector<std::string>{R"(["still runs"])"});
    EXPECT_TRUE(client.paused());
}

}  // namespace
}  // namespace resque
