// The dashboard's JSON API against a real redis-server: what each page's endpoint
// reports, and that every action does exactly what it names (FC-12: by content, never
// by a position that has shifted).

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "redis_server.hpp"
#include "resque/client.hpp"
#include "web_fixture.hpp"
#include "worker_fixture.hpp"

namespace resque {
namespace {

using nlohmann::json;

std::string failure_entry(int i, const std::string& klass = "Mailer",
                          const std::string& queue = "mail") {
    return json{{"failed_at", "2026/12/03 12:00:00 UTC"},
                {"payload", {{"class", klass}, {"args", json::array({"f" + std::to_string(i)})}}},
                {"exception", "RuntimeError"},
                {"error", "boom " + std::to_string(i)},
                {"backtrace", json::array({"app/jobs/mailer.rb:12:in `perform'", "line two"})},
                {"worker", "host:1:mail"},
                {"queue", queue}}
        .dump();
}

std::string utc_now_iso8601() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    return text;
}

class WebApi : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = std::make_unique<test::RedisServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        server_->flush();
        dashboard_ = std::make_unique<test::RunningDashboard>(*server_);
    }
    void TearDown() override { dashboard_.reset(); }

    std::string run(const std::vector<std::string>& argv) { return server_->command(argv); }
    std::vector<std::string> list(const std::string& key) {
        redis::Connection redis(parse_redis_url(server_->url()));
        return redis.command({"LRANGE", key, "0", "-1"}).as_strings();
    }
    void push_failures(int count) {
        for (int i = 0; i < count; ++i) run({"RPUSH", "resque:failed", failure_entry(i)});
    }
    test::RunningDashboard& web() { return *dashboard_; }

    static std::unique_ptr<test::RedisServer> server_;
    std::unique_ptr<test::RunningDashboard> dashboard_;
};

std::unique_ptr<test::RedisServer> WebApi::server_;

// A stop() that comes at any moment relative to serve() (before it is called, while
// httplib is starting to listen, or after) makes serve() return: a dashboard shut down
// right after it started must not serve on forever.
TEST_F(WebApi, StopAtAnyMomentAroundServeEndsIt) {
    const auto redis = parse_redis_url(server_->url());
    for (int round = 0; round < 60; ++round) {
        web::WebOptions options;
        options.bind = "127.0.0.1";
        options.port = 0;
        web::WebServer server(redis, options);
        ASSERT_GT(server.bind(), 0);
        if (round % 3 == 0) server.stop();  // before serve() is even called
        std::thread serving([&] { EXPECT_TRUE(server.serve()); });
        if (round % 3 == 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        server.stop();
        serving.join();  // a missed stop hangs here, and ctest's timeout fails the test
    }
}

TEST_F(WebApi, OverviewReportsQueuesWithSizesCountersAndWorkingWorkers) {
    run({"SADD", "resque:queues", "mail", "reports"});
    run({"RPUSH", "resque:queue:mail", R"({"class":"Mailer","args":[1]})",
         R"({"class":"Mailer","args":[2]})"});
    run({"SET", "resque:stat:processed", "41"});
    // A Ruby Resque worker busy with a job, registered as Ruby registers it.
    const std::string id = "ruby-host:777:mail,reports";
    run({"SADD", "resque:workers", id});
    run({"SET", "resque:worker:" + id + ":started", "2026-12-03 12:00:00 +0000"});
    run({"SET", "resque:worker:" + id,
         R"({"queue":"mail","run_at":"2026-12-03T12:00:05Z",)"
         R"("payload":{"class":"Mailer","args":[9]}})"});

    const json overview = web().get_json("/api/overview");

    EXPECT_EQ(overview["stats"]["processed"], 41);
    EXPECT_EQ(overview["stats"]["pending"], 2);
    ASSERT_EQ(overview["queues"].size(), 2u);
    EXPECT_EQ(overview["queues"][0]["name"], "mail");
    EXPECT_EQ(overview["queues"][0]["size"], 2);
    EXPECT_EQ(overview["queues"][1]["name"], "reports");
    ASSERT_EQ(overview["working"].size(), 1u);
    EXPECT_EQ(overview["working"][0]["host"], "ruby-host");
    EXPECT_EQ(overview["working"][0]["pid"], "777");
    EXPECT_EQ(overview["working"][0]["job"]["class"], "Mailer");
    EXPECT_EQ(overview["working"][0]["job"]["args"], "[9]");
    EXPECT_EQ(overview["history"]["processed"].size(), 60u);
}

TEST_F(WebApi, QueueLatencyIsTheAgeOfTheOldestJobWhenItsPayloadCarriesATime) {
    run({"SADD", "resque:queues", "timed", "plain"});
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    run({"RPUSH", "resque:queue:timed",
         json{{"class", "A"}, {"args", json::array()}, {"enqueued_at", now - 120}}.dump()});
    run({"RPUSH", "resque:queue:plain", R"({"class":"A","args":[]})"});

    const json queues = web().get_json("/api/queues")["queues"];

    ASSERT_EQ(queues.size(), 2u);
    EXPECT_TRUE(queues[0]["oldest_age_seconds"].is_null());  // plain: Resque stores no time
    EXPECT_GE(queues[1]["oldest_age_seconds"].get<double>(), 119.0);
    EXPECT_LT(queues[1]["oldest_age_seconds"].get<double>(), 3600.0);
}

TEST_F(WebApi, QueuePagePeeksWithPaging) {
    run({"SADD", "resque:queues", "bulk"});
    for (int i = 0; i < 50; ++i) {
        run({"RPUSH", "resque:queue:bulk", json{{"class", "Bulk"}, {"args", {i}}}.dump()});
    }

    const json page = web().get_json("/api/queue?name=bulk&offset=20&count=20");

    EXPECT_EQ(page["size"], 50);
    ASSERT_EQ(page["jobs"].size(), 20u);
    EXPECT_EQ(page["jobs"][0]["index"], 20);
    EXPECT_EQ(page["jobs"][0]["args"], "[20]");
    EXPECT_EQ(page["jobs"][19]["args"], "[39]");
    EXPECT_EQ(web().get_json("/api/queue?name=bulk&offset=abc", 400)["error"],
              "parameter \"offset\" must be an integer");
}

TEST_F(WebApi, RemovesAQueuedJobByItsContentOnlyOnce) {
    run({"SADD", "resque:queues", "q"});
    const std::string a = R"({"class":"A","args":[1]})";
    const std::string b = R"({"class":"B","args":[2]})";
    run({"RPUSH", "resque:queue:q", a, b});

    auto first = web().post("queue/remove_job", {{"queue", "q"}, {"raw", a}});
    auto again = web().post("queue/remove_job", {{"queue", "q"}, {"raw", a}});

    ASSERT_TRUE(first && again);
    EXPECT_EQ(first->status, 200);
    EXPECT_EQ(again->status, 409);
    EXPECT_EQ(list("resque:queue:q"), std::vector<std::string>{b});
}

TEST_F(WebApi, ClearsAndDeletesQueues) {
    run({"SADD", "resque:queues", "a", "b"});
    run({"RPUSH", "resque:queue:a", R"({"class":"A","args":[]})"});
    run({"RPUSH", "resque:queue:b", R"({"class":"B","args":[]})"});

    auto cleared = web().post("queue/clear", {{"queue", "a"}});
    auto deleted = web().post("queue/delete", {{"queue", "b"}});

    ASSERT_TRUE(cleared && deleted);
    EXPECT_EQ(json::parse(cleared->body)["removed"], 1);
    EXPECT_EQ(deleted->status, 200);
    EXPECT_EQ(run({"LLEN", "resque:queue:a"}), "0");
    EXPECT_EQ(run({"SMEMBERS", "resque:queues"}), "a");
    EXPECT_EQ(run({"EXISTS", "resque:queue:b"}), "0");
}

TEST_F(WebApi, WorkersPageListsOursAndRubyResqueWorkers) {
    const std::string ruby = "ruby-box:4242:critical,default";
    run({"SADD", "resque:workers", ruby});
    run({"SET", "resque:worker:" + ruby + ":started", "2026-12-03 11:00:00 +0000"});
    // A fresh heartbeat, so our worker's start-up prune leaves it alone.
    const std::string heartbeat = utc_now_iso8601();
    run({"HSET", "resque:workers:heartbeat", ruby, heartbeat});
    run({"SET", "resque:stat:processed:" + ruby, "12"});

    HandlerRegistry handlers;
    handlers.add("Noop", [](const JobContext&) {});
    test::RunningWorker ours(*server_, test::fast_options({"ours"}), std::move(handlers));
    ASSERT_TRUE(
        test::wait_until([&] { return web().get_json("/api/workers")["workers"].size() == 2; }));

    const json workers = web().get_json("/api/workers")["workers"];
    const json& theirs = workers[0]["host"] == "ruby-box" ? workers[0] : workers[1];
    const json& mine = workers[0]["host"] == "ruby-box" ? workers[1] : workers[0];
    EXPECT_EQ(theirs["pid"], "4242");
    EXPECT_EQ(theirs["queues"], "critical,default");
    EXPECT_EQ(theirs["started"], "2026-12-03 11:00:00 +0000");
    EXPECT_EQ(theirs["heartbeat"], heartbeat);
    EXPECT_EQ(theirs["processed"], 12);
    EXPECT_EQ(mine["queues"], "ours");
    EXPECT_EQ(mine["pid"], std::to_string(::getpid()));
    EXPECT_FALSE(mine["started"].get<std::string>().empty());
}

TEST_F(WebApi, WorkerWritesPerMinuteCountersThatTheHistoryReports) {
    run({"SADD", "resque:queues", "q"});
    run({"RPUSH", "resque:queue:q", R"({"class":"Ok","args":[]})", R"({"class":"Ok","args":[]})",
         R"({"class":"Bad","args":[]})"});
    HandlerRegistry handlers;
    handlers.add("Ok", [](const JobContext&) {});
    handlers.add("Bad", [](const JobContext&) { throw std::runtime_error("no"); });
    test::RunningWorker worker(*server_, test::fast_options({"q"}), std::move(handlers));
    ASSERT_TRUE(test::wait_until([&] { return run({"GET", "resque:stat:processed"}) == "3"; }));
    worker.stop();

    const json history = web().get_json("/api/history?minutes=5");
    long long processed = 0;
    long long failed = 0;
    for (const auto& n : history["processed"]) processed += n.get<long long>();
    for (const auto& n : history["failed"]) failed += n.get<long long>();
    EXPECT_EQ(processed, 3);
    EXPECT_EQ(failed, 1);

    // The counters are strings keyed by the unix minute, and expire after two days.
    const std::string keys = run({"KEYS", "resque:cpp:stat:processed:*"});
    const std::string key = keys.substr(0, keys.find('\n'));
    const long long minute = std::stoll(key.substr(key.rfind(':') + 1));
    EXPECT_GE(minute, history["first_minute"].get<long long>());
    const long long ttl = std::stoll(run({"TTL", key}));
    EXPECT_GT(ttl, 172000);
    EXPECT_LE(ttl, 172800);
}

TEST_F(WebApi, FailedPageListsAPageAndTheTotal) {
    push_failures(45);

    const json page = web().get_json("/api/failed?offset=40&count=20");

    EXPECT_EQ(page["total"], 45);
    ASSERT_EQ(page["failures"].size(), 5u);
    EXPECT_EQ(page["failures"][0]["index"], 40);
    EXPECT_EQ(page["failures"][0]["args"], R"(["f40"])");
    EXPECT_EQ(page["failures"][0]["raw"], failure_entry(40));
    EXPECT_EQ(page["next_offset"], -1);
}

TEST_F(WebApi, ShowsOneFailureWithItsBacktrace) {
    push_failures(3);

    const json one = web().get_json("/api/failure?index=1");

    EXPECT_EQ(one["error"], "boom 1");
    EXPECT_EQ(one["backtrace"], json::array({"app/jobs/mailer.rb:12:in `perform'", "line two"}));
    EXPECT_EQ(web().get_json("/api/failure?index=9", 404)["error"], "no failure at index 9");
}

// FC-12: operator A renders page 2, operator B removes index 3, A retries the row
// labelled f25 at its old index 25. The dashboard must refuse, and act on nothing else.
TEST_F(WebApi, RetryOfAShiftedEntryIsRefusedAndNeverHitsItsNeighbour) {
    push_failures(30);
    const json page_two = web().get_json("/api/failed?offset=20&count=10");
    const json row = page_two["failures"][5];
    ASSERT_EQ(row["args"], R"(["f25"])");
    const json third = web().get_json("/api/failed?offset=3&count=1")["failures"][0];
    ASSERT_EQ(web().post("failed/remove", {{"index", 3}, {"raw", third["raw"]}})->status, 200);

    auto stale = web().post("failed/retry", {{"index", row["index"]}, {"raw", row["raw"]}});

    ASSERT_TRUE(stale);
    EXPECT_EQ(stale->status, 409);
    EXPECT_NE(json::parse(stale->body)["error"].get<std::string>().find("that entry changed"),
              std::string::npos);
    EXPECT_EQ(run({"LLEN", "resque:queue:mail"}), "0");  // f26 was not retried
    EXPECT_EQ(run({"LLEN", "resque:failed"}), "29");

    // Reloaded, the same entry is at index 24 and the retry goes through.
    const json fresh = web().get_json("/api/failed?offset=24&count=1")["failures"][0];
    ASSERT_EQ(fresh["args"], R"(["f25"])");
    EXPECT_EQ(web().post("failed/retry", {{"index", 24}, {"raw", fresh["raw"]}})->status, 200);
    EXPECT_EQ(list("resque:queue:mail"),
              std::vector<std::string>{R"({"class":"Mailer","args":["f25"]})"});
}

TEST_F(WebApi, RemoveOfAShiftedEntryIsRefused) {
    push_failures(5);
    const json row = web().get_json("/api/failed?offset=2&count=1")["failures"][0];
    run({"LPOP", "resque:failed"});

    auto stale = web().post("failed/remove", {{"index", 2}, {"raw", row["raw"]}});

    ASSERT_TRUE(stale);
    EXPECT_EQ(stale->status, 409);
    EXPECT_EQ(run({"LLEN", "resque:failed"}), "4");
}

TEST_F(WebApi, RetryAllRequeuesEveryFailureAndClearEmptiesTheList) {
    push_failures(12);

    auto retried = web().post("failed/retry_all", json::object());
    ASSERT_TRUE(retried);
    EXPECT_EQ(json::parse(retried->body)["retried"], 12);
    EXPECT_EQ(run({"LLEN", "resque:queue:mail"}), "12");

    push_failures(3);
    auto cleared = web().post("failed/clear", json::object());
    ASSERT_TRUE(cleared);
    EXPECT_EQ(json::parse(cleared->body)["removed"], 3);
    EXPECT_EQ(run({"EXISTS", "resque:failed"}), "0");
}

TEST_F(WebApi, FiltersFailuresByClassQueueAndException) {
    for (int i = 0; i < 30; ++i) {
        run({"RPUSH", "resque:failed",
             failure_entry(i, i % 3 == 0 ? "Billing" : "Mailer", i % 2 == 0 ? "even" : "odd")});
    }

    const json billing = web().get_json("/api/failed?class=Billing&count=100");
    const json both = web().get_json("/api/failed?class=Billing&queue=odd&count=100");
    const json none = web().get_json("/api/failed?exception=KeyError");

    EXPECT_EQ(billing["failures"].size(), 10u);
    EXPECT_EQ(billing["next_offset"], -1);
    ASSERT_EQ(both["failures"].size(), 5u);
    EXPECT_EQ(both["failures"][0]["index"], 3);
    EXPECT_TRUE(none["failures"].empty());
}

TEST_F(WebApi, BadActionsAreRefusedWithAReason) {
    push_failures(1);

    auto missing = web().post("failed/retry", {{"index", 0}});
    auto unknown = web().post("failed/explode", json::object());
    auto not_object = web().post("failed/clear", json::array());

    ASSERT_TRUE(missing && unknown && not_object);
    EXPECT_EQ(missing->status, 400);
    EXPECT_EQ(json::parse(missing->body)["error"],
              "failed/retry: missing or invalid field \"raw\"");
    EXPECT_EQ(unknown->status, 404);
    EXPECT_EQ(not_object->status, 400);
    EXPECT_EQ(run({"LLEN", "resque:failed"}), "1");
}

TEST_F(WebApi, BadRecordsAreShownRawAndNeverBreakAPage) {
    push_failures(1);
    run({"RPUSH", "resque:failed", "not json at all"});
    run({"SADD", "resque:queues", "q"});
    run({"RPUSH", "resque:queue:q", "{broken"});
    run({"SADD", "resque:workers", "odd:1:q"});
    run({"SET", "resque:worker:odd:1:q", R"({"queue":7,"run_at":null,"payload":"x"})"});

    const json failed = web().get_json("/api/failed");
    const json queue = web().get_json("/api/queue?name=q");
    const json workers = web().get_json("/api/workers");

    ASSERT_EQ(failed["failures"].size(), 2u);
    EXPECT_EQ(failed["failures"][1]["args"], "not json at all");
    EXPECT_EQ(failed["failures"][1]["valid"], false);
    EXPECT_EQ(queue["jobs"][0]["args"], "{broken");
    EXPECT_EQ(queue["jobs"][0]["valid"], false);
    EXPECT_EQ(workers["workers"][0]["job"]["queue"], "");
    EXPECT_EQ(workers["workers"][0]["job"]["raw"], R"({"queue":7,"run_at":null,"payload":"x"})");

    // The unreadable failure can still be removed by its content.
    auto removed = web().post("failed/remove", {{"index", 1}, {"raw", "not json at all"}});
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->status, 200);
    EXPECT_EQ(run({"LLEN", "resque:failed"}), "1");
}

TEST_F(WebApi, MetricsExposeQueueSizesCountersWorkersAndLatency) {
    run({"SADD", "resque:queues", "mail", R"(we"ird)"});
    run({"RPUSH", "resque:queue:mail",
         json{{"class", "A"}, {"args", json::array()}, {"enqueued_at", 1}}.dump()});
    run({"RPUSH", R"(resque:queue:we"ird)", R"({"class":"A","args":[]})"});
    run({"SET", "resque:stat:processed", "7"});
    run({"SET", "resque:stat:failed", "2"});

    auto response = web().client().Get("/metrics");

    ASSERT_TRUE(response);
    EXPECT_EQ(response->get_header_value("Content-Type"), "text/plain; version=0.0.4");
    const std::string& body = response->body;
    EXPECT_NE(body.find("resque_jobs_processed_total 7\n"), std::string::npos);
    EXPECT_NE(body.find("resque_jobs_failed_total 2\n"), std::string::npos);
    EXPECT_NE(body.find("resque_queue_size{queue=\"mail\"} 1\n"), std::string::npos);
    EXPECT_NE(body.find("resque_queue_size{queue=\"we\\\"ird\"} 1\n"), std::string::npos);
    EXPECT_NE(body.find("resque_queue_latency_seconds{queue=\"mail\"} "), std::string::npos);
    EXPECT_NE(body.find("resque_workers 0\n"), std::string::npos);
}

// FC-16: a delayed job past its time with no scheduler to move it shows in /metrics.
TEST_F(WebApi, MetricsReportOverdueDelayedJobsWhenNoSchedulerMovesThem) {
    auto body = [&] { return web().client().Get("/metrics")->body; };
    EXPECT_NE(body().find("resque_delayed_overdue_seconds 0\n"), std::string::npos);
    // Due times are judged by the host clock (the scheduler's; injectable in the library).
    const std::string due = std::to_string(static_cast<long long>(std::time(nullptr)) - 120);
    run({"ZADD", "resque:delayed_queue_schedule", due, due});
    run({"RPUSH", "resque:delayed:" + due, R"({"class":"Late","args":[],"queue":"q"})"});
    const std::string text = body();
    EXPECT_NE(text.find("resque_delayed_jobs 1\n"), std::string::npos) << text;
    auto at = text.find("\nresque_delayed_overdue_seconds ");  // the sample, not # HELP
    ASSERT_NE(at, std::string::npos);
    EXPECT_GE(std::stoll(text.substr(at + 32)), 119) << text;
}

TEST_F(WebApi, StatsPageReportsRedisAndTheNamespacesKeys) {
    run({"SADD", "resque:queues", "q"});
    run({"RPUSH", "resque:queue:q", "x", "y"});
    run({"SET", "other:key", "not ours"});

    const json stats = web().get_json("/api/stats");

    EXPECT_FALSE(stats["redis"]["redis_version"].get<std::string>().empty());
    EXPECT_EQ(stats["db_keys"], 3);
    ASSERT_EQ(stats["keys"].size(), 2u);
    EXPECT_EQ(stats["keys"][0], (json{{"key", "queue:q"}, {"type", "list"}, {"size", 2}}));
    EXPECT_EQ(stats["keys"][1], (json{{"key", "queues"}, {"type", "set"}, {"size", 1}}));
    EXPECT_FALSE(stats["keys_truncated"]);
}

}  // namespace
}  // namespace resque
