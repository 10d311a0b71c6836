// The scheduler page over HTTP against a real redis-server: what /api/scheduler,
// /api/delayed and /api/delayed_job report (paged, cut, escaped), and that "Run now",
// "Enqueue now" and "Remove" change exactly what they name (FC-07, FC-12, FC-14, FC-16).

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis_server.hpp"
#include "resque/delayed.hpp"
#include "resque/schedule.hpp"
#include "web/api.hpp"
#include "web_fixture.hpp"

namespace resque {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using std::chrono::system_clock;

long long epoch_now() {
    return std::chrono::duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// An hour ahead, so no scheduler (there is none) and no clock tick makes it due.
long long later(long long offset = 0) { return epoch_now() + 3600 + offset; }

system_clock::time_point at(long long epoch) { return system_clock::time_point(seconds(epoch)); }

class WebScheduler : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = std::make_unique<test::RedisServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        server_->flush();
        start(web::WebOptions{});
    }
    void TearDown() override { dashboard_.reset(); }

    void start(web::WebOptions options) {
        dashboard_.reset();
        dashboard_ = std::make_unique<test::RunningDashboard>(*server_, options);
    }
    std::string run(const std::vector<std::string>& argv) { return server_->command(argv); }
    std::vector<std::string> list(const std::string& key) {
        redis::Connection redis(parse_redis_url(server_->url()));
        return redis.command({"LRANGE", key, "0", "-1"}).as_strings();
    }
    RedisOptions options() { return parse_redis_url(server_->url()); }
    // A delayed entry written as resque-scheduler's delayed_push writes it, at any time
    // (DelayedQueue pushes a past time straight onto the queue, as Ruby does).
    void delay_raw(long long epoch, const std::string& entry) {
        const std::string t = std::to_string(epoch);
        run({"RPUSH", "resque:delayed:" + t, entry});
        run({"SADD", "resque:timestamps:" + entry, "delayed:" + t});
        run({"ZADD", "resque:delayed_queue_schedule", t, t});
    }
    test::RunningDashboard& web() { return *dashboard_; }

    static std::unique_ptr<test::RedisServer> server_;
    std::unique_ptr<test::RunningDashboard> dashboard_;
};

std::unique_ptr<test::RedisServer> WebScheduler::server_;

std::string entry(const std::string& klass, const json& args, const std::string& queue) {
    return json{{"class", klass}, {"args", args}, {"queue", queue}}.dump();
}

TEST_F(WebScheduler, ListsDelayedJobsByTimeSchedulesAndTheLeader) {
    test::TempDir dir;
    const auto file = dir.path() / "schedule.yml";
    std::ofstream(file) << "cleanup:\n  every: 1h\n  class: Cleanup\n  queue: low\n"
                           "  description: sweep temp files\n";
    web::WebOptions web_options;
    web_options.schedules.file = file;
    start(web_options);

    const long long t1 = later();
    const long long t2 = later(60);
    DelayedQueue delayed(options());
    delayed.enqueue_at("mail", at(t1), Job{"Mailer", json::array({1})});
    delayed.enqueue_at("mail", at(t1), Job{"Mailer", json::array({2})});
    delayed.enqueue_at("reports", at(t2), Job{"Report", json::array({"weekly"})});
    ScheduleStore store(options());
    store.set(parse_schedule("nightly", nlohmann::ordered_json::parse(
                                            R"({"cron":"30 2 * * *","class":"Nightly",
                                                "queue":"reports","args":{"full":true}})")));
    run({"HSET", "resque:persistent_schedules", "broken", R"({"cron":"99 * * * *","queue":"q"})"});
    run({"HSET", "resque:delayed:last_enqueued_at", "nightly", "2026-12-03 02:30:00 +0000"});
    run({"SET", "resque:resque:resque_scheduler_master_lock", "sched-host:4242"});

    const json page = web().get_json("/api/scheduler");

    EXPECT_EQ(page["leader"], "sched-host:4242");
    EXPECT_TRUE(page["overdue_seconds"].is_null());
    EXPECT_FALSE(page["overdue_warning"]);
    EXPECT_EQ(page["delayed"]["total"], 3);
    EXPECT_EQ(page["delayed"]["timestamps"], 2);
    const json& times = page["delayed"]["times"];
    ASSERT_EQ(times.size(), 2u);
    EXPECT_EQ(times[0]["at"], t1);
    EXPECT_EQ(times[0]["size"], 2);
    EXPECT_FALSE(times[0]["due"]);
    ASSERT_EQ(times[0]["jobs"].size(), 2u);
    EXPECT_EQ(times[0]["jobs"][0]["queue"], "mail");
    EXPECT_EQ(times[0]["jobs"][0]["class"], "Mailer");
    EXPECT_EQ(times[0]["jobs"][0]["args"], "[1]");
    EXPECT_EQ(times[0]["jobs"][0]["digest"].get<std::string>().size(), 40u);
    EXPECT_EQ(times[1]["jobs"][0]["args"], R"(["weekly"])");

    const json& schedules = page["schedules"];
    ASSERT_EQ(schedules.size(), 2u);
    EXPECT_EQ(page["schedule_total"], 2);
    EXPECT_EQ(schedules[0]["name"], "cleanup");
    EXPECT_FALSE(schedules[0]["persisted"]);
    EXPECT_EQ(schedules[0]["timing"], "every: 1h");
    EXPECT_EQ(schedules[0]["description"], "sweep temp files");
    EXPECT_TRUE(schedules[0]["last_enqueued_at"].is_null());
    EXPECT_EQ(schedules[1]["name"], "nightly");
    EXPECT_TRUE(schedules[1]["persisted"]);
    EXPECT_EQ(schedules[1]["class"], "Nightly");
    EXPECT_EQ(schedules[1]["queue"], "reports");
    EXPECT_EQ(schedules[1]["args"], R"([{"full":true}])");  // a hash is one argument
    EXPECT_EQ(schedules[1]["timing"], "cron: 30 2 * * *");
    EXPECT_EQ(schedules[1]["last_enqueued_at"], "2026-12-03 02:30:00 +0000");
    ASSERT_EQ(schedules[1]["next"].size(), 3u);
    EXPECT_NE(schedules[1]["next"][0].get<std::string>().find("T02:30:00Z"), std::string::npos);
    ASSERT_EQ(page["schedule_errors"].size(), 1u);
    EXPECT_NE(page["schedule_errors"][0].get<std::string>().find("broken"), std::string::npos);
}

TEST_F(WebScheduler, DelayedTimesAndTheJobsOfOneTimeArePaged) {
    const long long first = later();
    DelayedQueue delayed(options());
    for (int i = 0; i < 30; ++i) {
        delayed.enqueue_at("q", at(first + i), Job{"Tick", json::array({i})});
    }
    for (int i = 0; i < 12; ++i) {
        delayed.enqueue_at("q", at(first), Job{"Crowd", json::array({i})});
    }

    const json page = web().get_json("/api/scheduler?offset=20&count=5");
    EXPECT_EQ(page["delayed"]["timestamps"], 30);
    EXPECT_EQ(page["delayed"]["total"], 42);
    EXPECT_EQ(page["delayed"]["offset"], 20);
    ASSERT_EQ(page["delayed"]["times"].size(), 5u);
    EXPECT_EQ(page["delayed"]["times"][0]["at"], first + 20);
    EXPECT_EQ(page["delayed"]["times"][4]["at"], first + 24);

    // The crowded first time shows its size but only the first few of its jobs.
    const json head = web().get_json("/api/scheduler?offset=0&count=1")["delayed"]["times"][0];
    EXPECT_EQ(head["size"], 13);
    EXPECT_EQ(head["jobs"].size(), web::kJobsPerTime);

    const json rest =
        web().get_json("/api/delayed?at=" + std::to_string(first) + "&offset=10&count=5");
    EXPECT_EQ(rest["size"], 13);
    EXPECT_EQ(rest["offset"], 10);
    ASSERT_EQ(rest["jobs"].size(), 3u);
    EXPECT_EQ(rest["jobs"][0]["args"], "[9]");
    EXPECT_EQ(rest["jobs"][2]["args"], "[11]");
    EXPECT_EQ(web().get_json("/api/delayed", 400)["error"], "parameter \"at\" is required");
}

TEST_F(WebScheduler, RunNowEnqueuesTheSchedulesJobOntoItsQueue) {
    test::TempDir dir;
    const auto file = dir.path() / "schedule.yml";
    std::ofstream(file) << "hourly_sync:\n  cron: \"0 * * * *\"\n  class: Sync\n"
                           "  queue: sync\n  args: [\"all\", 3]\n";
    web::WebOptions web_options;
    web_options.schedules.file = file;
    start(web_options);
    ScheduleStore store(options());
    store.set(parse_schedule("digest", nlohmann::ordered_json::parse(
                                           R"({"every":"1d","class":"Digest","queue":"mail",
                                               "args":{"to":"ops"}})")));

    auto from_file = web().post("schedule/run_now", {{"name", "hourly_sync"}});
    auto persisted = web().post("schedule/run_now", {{"name", "digest"}});
    auto unknown = web().post("schedule/run_now", {{"name", "nope"}});

    ASSERT_TRUE(from_file && persisted && unknown);
    EXPECT_EQ(from_file->status, 200) << from_file->body;
    EXPECT_EQ(persisted->status, 200) << persisted->body;
    EXPECT_EQ(unknown->status, 404);
    EXPECT_EQ(list("resque:queue:sync"),
              (std::vector<std::string>{R"({"class":"Sync","args":["all",3]})"}));
    EXPECT_EQ(list("resque:queue:mail"),
              (std::vector<std::string>{R"({"class":"Digest","args":[{"to":"ops"}]})"}));
    EXPECT_EQ(run({"SISMEMBER", "resque:queues", "sync"}), "1");
    EXPECT_EQ(run({"SISMEMBER", "resque:queues", "mail"}), "1");
    // A manual run is not a scheduled run: the scheduler's records stay as they were.
    EXPECT_EQ(run({"HLEN", "resque:delayed:last_enqueued_at"}), "0");
}

TEST_F(WebScheduler, EnqueueNowMovesExactlyTheNamedDelayedJob) {
    const long long t = later();
    const std::string a = entry("Mailer", json::array({"a"}), "mail");
    const std::string b = entry("Mailer", json::array({"b"}), "mail");
    delay_raw(t, a);
    delay_raw(t, b);
    const json jobs = web().get_json("/api/scheduler")["delayed"]["times"][0]["jobs"];
    const std::string digest_b = jobs[1]["digest"];

    auto moved = web().post("delayed/enqueue_now", {{"at", t}, {"digest", digest_b}});
    auto again = web().post("delayed/enqueue_now", {{"at", t}, {"digest", digest_b}});

    ASSERT_TRUE(moved && again);
    EXPECT_EQ(moved->status, 200) << moved->body;
    EXPECT_EQ(json::parse(moved->body)["enqueued"], 1);
    EXPECT_EQ(again->status, 409);
    EXPECT_EQ(list("resque:queue:mail"),
              (std::vector<std::string>{R"({"class":"Mailer","args":["b"]})"}));
    EXPECT_EQ(list("resque:delayed:" + std::to_string(t)), (std::vector<std::string>{a}));
    EXPECT_EQ(run({"EXISTS", "resque:timestamps:" + b}), "0");
    EXPECT_EQ(run({"SISMEMBER", "resque:timestamps:" + a, "delayed:" + std::to_string(t)}), "1");
    EXPECT_EQ(run({"ZSCORE", "resque:delayed_queue_schedule", std::to_string(t)}),
              std::to_string(t));
}

TEST_F(WebScheduler, EnqueueNowForATimeMovesAllItsJobsAndDropsTheTime) {
    const long long t = later();
    const long long other = later(5);
    for (int i = 0; i < 3; ++i) delay_raw(t, entry("Batch", json::array({i}), "batch"));
    delay_raw(other, entry("Batch", json::array({99}), "batch"));

    auto moved = web().post("delayed/enqueue_now", {{"at", t}});

    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->status, 200) << moved->body;
    EXPECT_EQ(json::parse(moved->body)["enqueued"], 3);
    EXPECT_EQ(list("resque:queue:batch"),
              (std::vector<std::string>{R"({"class":"Batch","args":[0]})",
                                        R"({"class":"Batch","args":[1]})",
                                        R"({"class":"Batch","args":[2]})"}));
    EXPECT_EQ(run({"EXISTS", "resque:delayed:" + std::to_string(t)}), "0");
    EXPECT_EQ(run({"ZCARD", "resque:delayed_queue_schedule"}), "1");
    EXPECT_EQ(list("resque:delayed:" + std::to_string(other)).size(), 1u);
}

TEST_F(WebScheduler, RemoveNamesTheJobByContentSoAShiftedListNeverLosesANeighbour) {
    const long long t = later();
    const std::string a = entry("Job", json::array({"a"}), "q");
    const std::string b = entry("Job", json::array({"b"}), "q");
    const std::string c = entry("Job", json::array({"c"}), "q");
    for (const auto& e : {a, b, c}) delay_raw(t, e);
    // Operator A renders the list; then operator B removes `a`, shifting b and c up.
    const json shown = web().get_json("/api/scheduler")["delayed"]["times"][0]["jobs"];
    ASSERT_EQ(shown.size(), 3u);
    auto by_other = web().post("delayed/remove", {{"at", t}, {"raw", a}});
    ASSERT_TRUE(by_other);
    ASSERT_EQ(by_other->status, 200) << by_other->body;

    // A removes the row labelled "c" (shown third, now second): c goes, b stays.
    ASSERT_EQ(shown[2]["args"], R"(["c"])");
    auto removed = web().post("delayed/remove", {{"at", t}, {"digest", shown[2]["digest"]}});
    auto stale = web().post("delayed/remove", {{"at", t}, {"digest", shown[0]["digest"]}});
    auto wrong_time = web().post("delayed/remove", {{"at", t + 1}, {"digest", shown[1]["digest"]}});
    auto no_target = web().post("delayed/remove", {{"at", t}});

    ASSERT_TRUE(removed && stale && wrong_time && no_target);
    EXPECT_EQ(removed->status, 200) << removed->body;
    EXPECT_EQ(stale->status, 409);
    EXPECT_EQ(wrong_time->status, 409);
    EXPECT_EQ(no_target->status, 400);
    EXPECT_EQ(list("resque:delayed:" + std::to_string(t)), (std::vector<std::string>{b}));
    EXPECT_EQ(run({"EXISTS", "resque:timestamps:" + c}), "0");
    EXPECT_EQ(run({"EXISTS", "resque:queue:q"}), "0");  // removed, not enqueued
}

TEST_F(WebScheduler, AHugeDelayedArgIsCutInListsAndWholeOnItsOwnPage) {
    const long long t = later();
    const std::string big(4 * 1024 * 1024, 'x');
    DelayedQueue delayed(options());
    delayed.enqueue_at("bulk", at(t), Job{"Import", json::array({big})});
    for (int i = 0; i < 4; ++i) {
        delayed.enqueue_at("bulk", at(t), Job{"Import", json::array({big + std::to_string(i)})});
    }

    auto response = web().client().Get("/api/scheduler");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    EXPECT_LT(response->body.size(), 64u * 1024u);  // five 4 MiB jobs listed
    const json job = json::parse(response->body)["delayed"]["times"][0]["jobs"][0];
    EXPECT_TRUE(job["truncated"]);
    EXPECT_LE(job["args"].get<std::string>().size(), web::kMaxListedText);
    EXPECT_GT(job["bytes"].get<std::size_t>(), big.size());
    auto one_time = web().client().Get(("/api/delayed?at=" + std::to_string(t)).c_str());
    ASSERT_TRUE(one_time);
    EXPECT_LT(one_time->body.size(), 64u * 1024u);

    const std::string digest = job["digest"];
    const json whole =
        web().get_json("/api/delayed_job?at=" + std::to_string(t) + "&digest=" + digest);
    EXPECT_EQ(whole["args"], json::array({big}).dump());

    auto moved = web().post("delayed/enqueue_now", {{"at", t}, {"digest", digest}});
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->status, 200) << moved->body.substr(0, 200);
    const auto queued = list("resque:queue:bulk");
    ASSERT_EQ(queued.size(), 1u);
    EXPECT_EQ(queued[0], R"({"class":"Import","args":[")" + big + R"("]})");
}

TEST_F(WebScheduler, OverdueDelayedJobsRaiseTheWarningOnOverviewAndSchedulerPage) {
    const json calm = web().get_json("/api/overview")["delayed"];
    EXPECT_TRUE(calm["overdue_seconds"].is_null());
    EXPECT_FALSE(calm["overdue_warning"]);

    // Due a minute ago and still there: no scheduler is moving delayed jobs.
    delay_raw(epoch_now() - 60, entry("Retry", json::array({1}), "q"));

    const json overview = web().get_json("/api/overview")["delayed"];
    EXPECT_GE(overview["overdue_seconds"].get<long long>(), 60);
    EXPECT_TRUE(overview["overdue_warning"]);
    const json page = web().get_json("/api/scheduler");
    EXPECT_TRUE(page["overdue_warning"]);
    EXPECT_TRUE(page["delayed"]["times"][0]["due"]);
    EXPECT_TRUE(page["leader"].is_null());
}

TEST_F(WebScheduler, ActionsRefuseGetAndPostsWithoutTheCsrfToken) {
    const long long t = later();
    const std::string e = entry("Job", json::array({1}), "q");
    delay_raw(t, e);
    ScheduleStore store(options());
    store.set(parse_schedule(
        "s", nlohmann::ordered_json::parse(R"({"every":"1h","class":"S","queue":"q"})")));
    const std::string digest =
        web().get_json("/api/scheduler")["delayed"]["times"][0]["jobs"][0]["digest"];
    auto client = web().client();
    const std::vector<std::pair<std::string, json>> actions{
        {"schedule/run_now", {{"name", "s"}}},
        {"delayed/enqueue_now", {{"at", t}}},
        {"delayed/enqueue_now", {{"at", t}, {"digest", digest}}},
        {"delayed/remove", {{"at", t}, {"digest", digest}}}};

    for (const auto& [action, body] : actions) {
        const std::string path = "/api/" + action;
        auto no_token = client.Post(path.c_str(), body.dump(), "application/json");
        auto wrong = client.Post(path.c_str(), {{"X-CSRF-Token", std::string(64, '0')}},
                                 body.dump(), "application/json");
        auto by_get = client.Get(path.c_str());
        ASSERT_TRUE(no_token && wrong && by_get) << action;
        EXPECT_EQ(no_token->status, 403) << action;
        EXPECT_EQ(wrong->status, 403) << action;
        EXPECT_EQ(by_get->status, 405) << action;
    }
    EXPECT_EQ(list("resque:delayed:" + std::to_string(t)), (std::vector<std::string>{e}));
    EXPECT_EQ(run({"EXISTS", "resque:queue:q"}), "0");
}

TEST_F(WebScheduler, HostileDelayedAndScheduleArgsStayEscapedInJson) {
    const long long t = later();
    const json hostile_args =
        json::array({"<script>alert(1)</script>", "\"><img src=x onerror=alert(2)>"});
    const std::string hostile = entry("<svg onload=alert(3)>", hostile_args, "<q>");
    delay_raw(t, hostile);
    const std::string name = "<img src=x onerror=alert(7)>";
    run({"HSET", "resque:persistent_schedules", name,
         json{{"every", "1h"},
              {"class", "<script>X</script>"},
              {"queue", "<q>"},
              {"args", hostile_args},
              {"description", "<iframe src=javascript:alert(8)>"}}
             .dump()});
    run({"SET", "resque:resque:resque_scheduler_master_lock", "<script>host</script>:1"});
    const json listed = web().get_json("/api/scheduler");
    const std::string digest = listed["delayed"]["times"][0]["jobs"][0]["digest"];

    auto client = web().client();
    for (const std::string& path :
         {std::string("/api/scheduler"), "/api/delayed?at=" + std::to_string(t),
          "/api/delayed_job?at=" + std::to_string(t) + "&digest=" + digest, std::string("/")}) {
        auto response = client.Get(path.c_str());
        ASSERT_TRUE(response) << path;
        ASSERT_EQ(response->status, 200) << path;
        if (path == "/") continue;  // the shell's own script tags
        for (const char* marker : {"<script", "<img", "<svg", "<iframe", "<q>"}) {
            EXPECT_EQ(response->body.find(marker), std::string::npos)
                << path << " contains " << marker;
        }
    }
    // Escaped, not altered: the JSON decodes to the exact bytes.
    const json job = listed["delayed"]["times"][0]["jobs"][0];
    EXPECT_EQ(job["class"], "<svg onload=alert(3)>");
    EXPECT_EQ(job["queue"], "<q>");
    EXPECT_EQ(json::parse(job["args"].get<std::string>()), hostile_args);
    ASSERT_EQ(listed["schedules"].size(), 1u);
    EXPECT_EQ(listed["schedules"][0]["name"], name);
    EXPECT_EQ(json::parse(listed["schedules"][0]["args"].get<std::string>()), hostile_args);
    EXPECT_EQ(listed["leader"], "<script>host</script>:1");
}

}  // namespace
}  // namespace resque
