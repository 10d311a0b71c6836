// The dashboard's guards over HTTP: CSRF and POST-only actions, authentication, the
// path prefix for reverse proxies, and FC-14 (stored and reflected XSS): no response
// ever carries markup that came from Redis or from the URL.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "redis_server.hpp"
#include "resque/errors.hpp"
#include "web_fixture.hpp"

namespace resque {
namespace {

using nlohmann::json;

class WebSecurity : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = std::make_unique<test::RedisServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override { server_->flush(); }

    std::string run(const std::vector<std::string>& argv) { return server_->command(argv); }

    static std::unique_ptr<test::RedisServer> server_;
};

std::unique_ptr<test::RedisServer> WebSecurity::server_;

const char* const kFailure =
    R"({"failed_at":"2026/01/01 00:00:00 UTC","payload":{"class":"X","args":[1]},"exception":"E","error":"e","backtrace":[],"worker":"h:1:q","queue":"q"})";

TEST_F(WebSecurity, PageShellCarriesAStrictContentSecurityPolicy) {
    test::RunningDashboard web(*server_);
    auto response = web.client().Get("/");

    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    const std::string csp = response->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
    EXPECT_EQ(response->get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(response->body.find("<script>"), std::string::npos);  // no inline script
    EXPECT_EQ(web.csrf_token().size(), 64u);
}

TEST_F(WebSecurity, ActionsRefuseGetAndPostsWithoutTheCsrfToken) {
    test::RunningDashboard web(*server_);
    run({"RPUSH", "resque:failed", kFailure});
    auto client = web.client();

    auto by_get = client.Get("/api/failed/clear");
    auto no_token = client.Post("/api/failed/clear", "{}", "application/json");
    auto wrong_token = client.Post("/api/failed/clear", {{"X-CSRF-Token", std::string(64, 'a')}},
                                   "{}", "application/json");
    auto form_post =
        client.Post("/api/failed/clear", "list=failed", "application/x-www-form-urlencoded");

    ASSERT_TRUE(by_get && no_token && wrong_token && form_post);
    EXPECT_EQ(by_get->status, 405);
    EXPECT_EQ(by_get->get_header_value("Allow"), "POST");
    EXPECT_EQ(no_token->status, 403);
    EXPECT_EQ(wrong_token->status, 403);
    EXPECT_EQ(form_post->status, 403);
    EXPECT_EQ(run({"LLEN", "resque:failed"}), "1");

    auto with_token = web.post("failed/clear", json::object());
    ASSERT_TRUE(with_token);
    EXPECT_EQ(with_token->status, 200);
    EXPECT_EQ(run({"LLEN", "resque:failed"}), "0");
}

TEST_F(WebSecurity, BasicAuthGuardsEveryRouteIncludingMetrics) {
    web::WebOptions options;
    options.auth = web::AuthMode::kBasic;
    options.secret = "correct horse";
    test::RunningDashboard web(*server_, options);

    auto anonymous = web.client().Get("/");
    auto metrics = web.client().Get("/metrics");
    auto wrong = web.client();
    wrong.set_basic_auth("ops", "battery staple");
    auto right = web.client();
    right.set_basic_auth("ops", "correct horse");

    ASSERT_TRUE(anonymous && metrics);
    EXPECT_EQ(anonymous->status, 401);
    EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate").rfind("Basic realm=", 0), 0u);
    EXPECT_EQ(anonymous->body.find("correct horse"), std::string::npos);
    EXPECT_EQ(metrics->status, 401);
    EXPECT_EQ(wrong.Get("/api/overview")->status, 401);
    EXPECT_EQ(right.Get("/api/overview")->status, 200);
    EXPECT_EQ(right.Get("/metrics")->status, 200);
}

TEST_F(WebSecurity, BearerAuthAcceptsOnlyTheToken) {
    web::WebOptions options;
    options.auth = web::AuthMode::kBearer;
    options.secret = "t0ken-value";
    test::RunningDashboard web(*server_, options);

    auto client = web.client();
    EXPECT_EQ(client.Get("/api/stats")->status, 401);
    EXPECT_EQ(client.Get("/api/stats", {{"Authorization", "Bearer wrong"}})->status, 401);
    EXPECT_EQ(client.Get("/api/stats", {{"Authorization", "Basic dDBrZW4tdmFsdWU="}})->status, 401);
    EXPECT_EQ(client.Get("/api/stats", {{"Authorization", "Bearer t0ken-value"}})->status, 200);
}

TEST_F(WebSecurity, AuthWithoutASecretIsAConfigurationError) {
    web::WebOptions options;
    options.auth = web::AuthMode::kBearer;
    EXPECT_THROW(test::RunningDashboard dashboard(*server_, options), ConfigError);
}

TEST_F(WebSecurity, ServesUnderAPathPrefixWithRelativeUrlsOnly) {
    web::WebOptions options;
    options.prefix = "/ops/resque/";
    test::RunningDashboard web(*server_, options);
    auto client = web.client();

    auto shell = client.Get("/ops/resque/");
    auto bare = client.Get("/ops/resque");
    auto api = client.Get("/ops/resque/api/overview");
    auto asset = client.Get("/ops/resque/assets/app.js");
    auto outside = client.Get("/api/overview");

    ASSERT_TRUE(shell && bare && api && asset && outside);
    EXPECT_EQ(shell->status, 200);
    // Every URL in the page is relative, so a proxy may add further prefixes.
    EXPECT_EQ(shell->body.find("src=\"/"), std::string::npos);
    EXPECT_EQ(shell->body.find("href=\"/"), std::string::npos);
    EXPECT_EQ(bare->status, 302);
    EXPECT_EQ(bare->get_header_value("Location"), "resque/");
    EXPECT_EQ(api->status, 200);
    EXPECT_EQ(asset->status, 200);
    EXPECT_EQ(asset->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(outside->status, 404);
    EXPECT_EQ(web.post("pause", {{"paused", true}})->status, 200);
    EXPECT_EQ(run({"GET", "resque:pause-all-workers"}), "true");
}

// FC-14: hostile names and payloads everywhere Redis data reaches a page.
TEST_F(WebSecurity, NoResponseCarriesMarkupFromRedisOrTheUrl) {
    const std::string queue = R"("><img src=x onerror=alert(1)>)";
    run({"SADD", "resque:queues", queue});
    run({"RPUSH", "resque:queue:" + queue,
         R"({"class":"<script>alert(2)</script>","args":["</td><svg onload=alert(3)>"]})"});
    run({"RPUSH", "resque:failed",
         R"({"failed_at":"2026/01/01 00:00:00 UTC","payload":{"class":"<b>X</b>","args":["<iframe src=javascript:alert(4)>"]},"exception":"<script>","error":"<img src=x onerror=alert(5)>","backtrace":["<svg/onload=alert(6)>"],"worker":"h:1:<q>","queue":"<q>"})"});
    run({"SADD", "resque:workers", "evil<script>:1:q"});
    run({"SET", "resque:worker:evil<script>:1:q",
         R"({"queue":"<q>","run_at":"<img src=x onerror=alert(7)>","payload":{"class":"<script>","args":[]}})"});
    test::RunningDashboard web(*server_);
    auto client = web.client();

    const std::vector<std::string> paths{
        "/api/overview",
        "/api/queues",
        "/api/workers",
        "/api/failed",
        "/api/failure?index=0",
        "/api/stats",
        "/api/history",
        "/metrics",
        "/stats.txt",
        "/api/queue?name=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "/api/queue?name=%22%3E%3Csvg%20onload=alert(10)%3E",
        "/api/failed?class=%3Cscript%3Ealert(8)%3C/script%3E",
        "/overview/x'onmouseover='alert(9)",
        "/queues/%22%3E%3Csvg%20onload=alert(10)%3E",
        "/api/failure?index=%3Csvg%20onload=alert(11)%3E",
        "/delayed/jobs/%3Csvg%20onload=alert(11)%3E"};
    // The page shell carries no data at all (it has only its own script tags).
    EXPECT_EQ(client.Get("/")->body.find("alert("), std::string::npos);
    int answered = 0;
    for (const auto& path : paths) {
        auto response = client.Get(path.c_str());
        ASSERT_TRUE(response) << path;
        ++answered;
        const std::string& body = response->body;
        const std::string type = response->get_header_value("Content-Type");
        EXPECT_EQ(type.find("text/html"), std::string::npos) << path << " is served as HTML";
        if (type.rfind("text/plain", 0) == 0) {
            // Prometheus needs the exact queue names; text/plain with nosniff is never
            // rendered as a page.
            EXPECT_EQ(response->get_header_value("X-Content-Type-Options"), "nosniff") << path;
            continue;
        }
        for (const char* marker : {"<script", "<img", "<svg", "<iframe", "<b>", "</td>", "<q>"}) {
            EXPECT_EQ(body.find(marker), std::string::npos) << path << " contains " << marker;
        }
        EXPECT_EQ(body.find("'onmouseover="), std::string::npos) << path;
    }
    EXPECT_EQ(answered, static_cast<int>(paths.size()));

    // The data is all there, escaped: the JSON decodes back to the exact bytes.
    const json queues = web.get_json("/api/queues")["queues"];
    ASSERT_EQ(queues.size(), 1u);
    EXPECT_EQ(queues[0]["name"], queue);
    EXPECT_EQ(web.get_json("/api/failure?index=0")["backtrace"][0], "<svg/onload=alert(6)>");
    EXPECT_EQ(client.Get("/stats.txt")->get_header_value("Content-Type"),
              "text/plain; charset=utf-8");
}

}  // namespace
}  // namespace resque
