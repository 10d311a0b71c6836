// FC-13 at the HTTP level: with 100,000 failure records the failed page reads only the
// page it shows (LRANGE with offsets, LLEN for the total), a filter scans a bounded
// stretch per request and resumes where it stopped, and "clear all" empties the list.
// Outcomes only; the timings are measured by bench/web_failures.cpp.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis_server.hpp"
#include "web/api.hpp"
#include "web_fixture.hpp"

namespace resque {
namespace {

using nlohmann::json;

constexpr int kFailures = 100000;
// Where the only two "Rare" failures sit: far apart, one past the first scan window.
constexpr int kRareA = 50000;
constexpr int kRareB = kFailures - 1;

std::string entry(int i) {
    const std::string klass =
        (i == kRareA || i == kRareB) ? "Rare" : "Job" + std::to_string(i % 20);
    return json{{"failed_at", "2026/12/03 12:00:00 UTC"},
                {"payload", {{"class", klass}, {"args", json::array({i, std::string(120, 'x')})}}},
                {"exception", "RuntimeError"},
                {"error", "failure number " + std::to_string(i)},
                {"backtrace", json::array({"worker.rb:1", "worker.rb:2"})},
                {"worker", "host:1:q"},
                {"queue", "q" + std::to_string(i % 7)}}
        .dump();
}

void load_failures(const test::RedisServer& server) {
    redis::Connection redis(parse_redis_url(server.url()));
    std::vector<redis::Command> batch;
    for (int first = 0; first < kFailures; first += 1000) {
        redis::Command push{"RPUSH", "resque:failed"};
        for (int i = first; i < first + 1000; ++i) push.push_back(entry(i));
        batch.push_back(std::move(push));
    }
    redis.pipeline(batch);
}

TEST(WebScale, HundredThousandFailuresArePagedFilteredAndClearedWithoutLoadingThemAll) {
    test::RedisServer server;
    load_failures(server);
    test::RunningDashboard web(server);

    const json first = web.get_json("/api/failed?offset=0&count=20");
    EXPECT_EQ(first["total"], kFailures);
    ASSERT_EQ(first["failures"].size(), 20u);
    EXPECT_EQ(first["failures"][0]["index"], 0);

    const json last = web.get_json("/api/failed?offset=99980&count=20");
    ASSERT_EQ(last["failures"].size(), 20u);
    EXPECT_EQ(last["failures"][19]["index"], kFailures - 1);
    EXPECT_EQ(last["next_offset"], -1);

    // A rare class: each request scans at most kMaxFailureScan entries, then hands back
    // the offset to resume from, so no request walks the whole list.
    std::vector<long long> found;
    long long offset = 0;
    int requests = 0;
    while (offset >= 0 && requests < 100) {
        const json page =
            web.get_json("/api/failed?class=Rare&count=20&offset=" + std::to_string(offset));
        for (const auto& row : page["failures"]) found.push_back(row["index"].get<long long>());
        const long long next = page["next_offset"].get<long long>();
        if (next >= 0) {
            EXPECT_LE(next - offset, web::kMaxFailureScan);
        }
        offset = next;
        ++requests;
    }
    EXPECT_EQ(found, (std::vector<long long>{kRareA, kRareB}));
    EXPECT_GE(requests, kFailures / web::kMaxFailureScan);

    // A common class fills its first page from the first stretch.
    const json common = web.get_json("/api/failed?class=Job3&count=20");
    ASSERT_EQ(common["failures"].size(), 20u);
    EXPECT_EQ(common["failures"][0]["index"], 3);

    auto cleared = web.post("failed/clear", json::object());
    ASSERT_TRUE(cleared);
    EXPECT_EQ(json::parse(cleared->body)["removed"], kFailures);
    EXPECT_EQ(server.command({"EXISTS", "resque:failed"}), "0");
}

}  // namespace
}  // namespace resque
