// The dashboard in a real browser: seeds Redis, starts `resque web`, and runs
// tests/browser/dashboard.js (playwright-core driving Debian's headless Chromium),
// which clicks through every page and saves screenshots under the build directory
// (browser-screenshots/, or $RESQUE_SCREENSHOT_DIR).

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "redis_server.hpp"
#include "resque/client.hpp"
#include "web_fixture.hpp"
#include "worker_fixture.hpp"

namespace resque {
namespace {

using nlohmann::json;

std::string chromium_path() {
    const char* from_env = std::getenv("CHROMIUM");
    return from_env && *from_env ? from_env : "/usr/bin/chromium";
}

std::filesystem::path screenshot_dir() {
    const char* from_env = std::getenv("RESQUE_SCREENSHOT_DIR");
    std::filesystem::path dir = from_env && *from_env
                                    ? std::filesystem::path(from_env)
                                    : std::filesystem::current_path() / "browser-screenshots";
    std::filesystem::create_directories(dir);
    return dir;
}

// A delayed entry as resque-scheduler's delayed_push writes it, due at `epoch`.
void delay_raw(const test::RedisServer& server, long long epoch, const std::string& entry) {
    const std::string t = std::to_string(epoch);
    server.command({"RPUSH", "resque:delayed:" + t, entry});
    server.command({"SADD", "resque:timestamps:" + entry, "delayed:" + t});
    server.command({"ZADD", "resque:delayed_queue_schedule", t, t});
}

// For the scheduler page: a schedule and a delayed job with hostile args (FC-14), and a
// job due two minutes ago that no scheduler moved (FC-16: the warning must show).
void seed_scheduler(const test::RedisServer& server) {
    const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    server.command(
        {"HSET", "resque:persistent_schedules", "weekly_report",
         json{{"cron", "0 6 * * 1"},
              {"class", "WeeklyReport"},
              {"queue", "reports"},
              {"args", {"<script>alert(12)</script>", "\"><img src=x onerror=alert(13)>"}},
              {"description", "Monday's report"}}
             .dump()});
    delay_raw(server, now + 3600,
              json{{"class", "Reminder"},
                   {"args", {"\"><img src=x onerror=alert(14)>"}},
                   {"queue", "reminders"}}
                  .dump());
    delay_raw(server, now - 120,
              json{{"class", "Retry"}, {"args", {1}}, {"queue", "retries"}}.dump());
}

// What dashboard.js expects: hostile names (FC-14), five Mailer failures f0..f4, a
// queue "live" of three jobs, some processed/failed jobs for the graph, and the
// scheduler's data (seed_scheduler).
void seed(const test::RedisServer& server) {
    auto run = [&](const std::vector<std::string>& argv) { server.command(argv); };
    const std::string queue = R"("><img src=x onerror=alert(1)>)";
    run({"SADD", "resque:queues", queue, "live"});
    run({"RPUSH", "resque:queue:" + queue,
         R"({"class":"<script>alert(2)</script>","args":["</td><svg onload=alert(3)>"]})"});
    run({"RPUSH", "resque:queue:live", R"({"class":"A","args":[1]})", R"({"class":"A","args":[2]})",
         R"({"class":"A","args":[3]})"});
    for (int i = 0; i < 5; ++i) {
        run({"RPUSH", "resque:failed",
             json{{"failed_at", "2026/12/03 12:00:00 UTC"},
                  {"payload", {{"class", "Mailer"}, {"args", {"f" + std::to_string(i)}}}},
                  {"exception", "Net::SMTPAuthenticationError"},
                  {"error", "535 authentication failed"},
                  {"backtrace", {"app/jobs/mailer.rb:12:in `perform'"}},
                  {"worker", "mail-1:311:mail"},
                  {"queue", "mail"}}
                 .dump()});
    }
    run({"RPUSH", "resque:failed",
         R"({"failed_at":"2026/01/01 00:00:00 UTC","payload":{"class":"<b>X</b>","args":["<iframe src=javascript:alert(4)>"]},"exception":"<script>","error":"<img src=x onerror=alert(5)>","backtrace":["<svg/onload=alert(6)>"],"worker":"h:1:<q>","queue":"<q>"})"});
    run({"SADD", "resque:workers", "evil<script>:1:q"});
    run({"SET", "resque:worker:evil<script>:1:q",
         R"({"queue":"<q>","run_at":"<img src=x onerror=alert(7)>","payload":{"class":"<script>","args":[]}})"});
    seed_scheduler(server);
}

void process_some_jobs(const test::RedisServer& server) {
    Client client(test::options_for(server));
    for (int i = 0; i < 30; ++i) {
        (void)client.enqueue("graph", Job{i % 10 == 0 ? "Flaky" : "Quick", json::array({i})});
    }
    HandlerRegistry handlers;
    handlers.add("Quick", [](const JobContext&) {});
    handlers.add("Flaky", [](const JobContext&) { throw std::runtime_error("flaky"); });
    test::RunningWorker worker(server, test::fast_options({"graph"}), std::move(handlers));
    test::wait_until([&] { return client.queue_size("graph") == 0; });
    worker.stop();
    (void)client.clear_failures();  // the Flaky failures: dashboard.js expects its own six
}

TEST(WebBrowser, EveryPageWorksAndHostileDataStaysInertInHeadlessChromium) {
    if (!std::filesystem::exists(chromium_path())) {
        GTEST_SKIP() << "no Chromium at " << chromium_path()
                     << " (install Debian's chromium: scripts/setup --test-peers)";
    }
    const std::filesystem::path browser_dir = RESQUE_SOURCE_DIR "/tests/browser";
    ASSERT_TRUE(std::filesystem::exists(browser_dir / "node_modules/playwright-core"))
        << "playwright-core is not installed: run scripts/setup --test-peers";

    test::RedisServer server;
    process_some_jobs(server);
    seed(server);
    test::WebProcess web(server, {});
    const auto shots = screenshot_dir();
    std::filesystem::remove(shots / "overview.png");  // proves this run wrote it

    const auto result = test::run_process(
        {"node", (browser_dir / "dashboard.js").string(), web.url(), shots.string()}, {}, {},
        std::chrono::seconds(120));
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err << "\nweb log:\n" << web.log();
    EXPECT_TRUE(std::filesystem::exists(shots / "overview.png"));
    // "Run now" on the scheduler page went through to Redis.
    EXPECT_EQ(server.command({"LLEN", "resque:queue:reports"}), "1");
}

}  // namespace
}  // namespace resque
