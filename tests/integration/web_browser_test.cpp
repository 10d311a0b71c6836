// The dashboard in a real browser: seeds Redis, starts `resque web`, and runs
// tests/browser/dashboard.js (playwright-core driving Debian's headless Chromium),
// which clicks through every page and saves screenshots under the build directory
// (browser-screenshots/, or $RESQUE_SCREENSHOT_DIR).

#include <gtest/gtest.h>

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

// What dashboard.js expects: hostile names (FC-14), five Mailer failures f0..f4, a
// queue "live" of three jobs, and some processed/failed jobs for the graph.
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
}

}  // namespace
}  // namespace resque
