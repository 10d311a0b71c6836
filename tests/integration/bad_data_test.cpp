// Bad data in Redis (issue #3, FC-05, FC-07, FC-10): each bad item is attempted once and
// ends as a valid failure record; the worker goes on; an emptied Redis is re-joined.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "redis_server.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

using nlohmann::json;

class BadData : public ::testing::Test {
 protected:
    RedisServer server;
    Journal journal;

    HandlerRegistry handlers() {
        HandlerRegistry out;
        out.add("Echo", [this](const JobContext& ctx) {
            journal.add(std::string(ctx.args_json.substr(0, 40)));
        });
        return out;
    }
    std::string cmd(const std::vector<std::string>& argv) { return server.command(argv); }
    long long processed() {
        auto value = cmd({"GET", "resque:stat:processed"});
        return value == "(nil)" ? 0 : std::stoll(value);
    }
};

TEST_F(BadData, InvalidUtf8AndLoneSurrogatesFailOnceWithValidUtf8Records) {
    cmd({"RPUSH", "resque:queue:q", std::string("{\"class\":\"Echo\",\"args\":[\"\xC3\x28\"]}"),
         R"({"class":"Echo","args":["\ud800"]})",
         R"({"class":"Echo","args":["Zürich","日本","\ud83d\ude00"]})"});
    RunningWorker worker(server, fast_options({"q"}), handlers());
    ASSERT_TRUE(wait_until([&] { return processed() == 3; }));
    EXPECT_EQ(journal.entries(),
              std::vector<std::string>{R"(["Zürich","日本","\ud83d\ude00"])"});
    ASSERT_EQ(cmd({"LLEN", "resque:failed"}), "2");
    for (int i = 0; i < 2; ++i) {
        auto record = json::parse(cmd({"LINDEX", "resque:failed", std::to_string(i)}));
        EXPECT_EQ(record["exception"], "Resque::PayloadError");
    }
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "0");
}

TEST_F(BadData, TenMegabytePayloadAndDeepNestingAreHandledAndTheNextJobRuns) {
    std::string big =
        R"({"class":"Echo","args":[")" + std::string(10 * 1024 * 1024, 'x') + R"("]})";
    std::string deep =
        R"({"class":"Echo","args":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
    cmd({"RPUSH", "resque:queue:q", big, deep, R"({"class":"Echo","args":["small"]})"});
    RunningWorker worker(server, fast_options({"q"}), handlers());
    ASSERT_TRUE(wait_until([&] { return processed() == 3; }, std::chrono::seconds(30)));
    auto seen = journal.entries();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1], R"(["small"])");
    ASSERT_EQ(cmd({"LLEN", "resque:failed"}), "1");
    auto record = json::parse(cmd({"LINDEX", "resque:failed", "0"}));
    EXPECT_EQ(record["exception"], "Resque::PayloadError");
    EXPECT_NE(record["error"].get<std::string>().find("deeper"), std::string::npos);
}

// FC-10: Redis restarted empty: the worker re-registers and processes new jobs.
TEST_F(BadData, WorkerRejoinsARedisThatRestartedEmpty) {
    RunningWorker worker(server, fast_options({"q"}), handlers());
    ASSERT_TRUE(wait_until([&] { return cmd({"SCARD", "resque:workers"}) == "1"; }));
    server.kill();
    server.start();
    ASSERT_TRUE(wait_until(
        [&] {
            return cmd({"SCARD", "resque:workers"}) == "1";
        },
        std::chrono::seconds(20)));
    EXPECT_EQ(cmd({"HLEN", "resque:workers:heartbeat"}), "1");
    cmd({"RPUSH", "resque:queue:q", R"({"class":"Echo","args":["after"]})"});
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1; }, std::chrono::seconds(20)));
}

}  // namespace
}  // namespace resque::test
