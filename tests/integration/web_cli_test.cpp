// `resque web` as an operator runs it: a child process on a free port, stopped by
// SIGTERM, with its secret from the environment or a file and never in its log.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "redis_server.hpp"
#include "web_fixture.hpp"

namespace resque {
namespace {

class WebCli : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = std::make_unique<test::RedisServer>(); }
    static void TearDownTestSuite() { server_.reset(); }

    static std::unique_ptr<test::RedisServer> server_;
};

std::unique_ptr<test::RedisServer> WebCli::server_;

TEST_F(WebCli, ServesOnLoopbackWithABearerSecretFromTheEnvironmentAndStopsOnSigterm) {
    const std::string secret = "s3cret-from-env-9f2";
    test::WebProcess web(*server_, {"--auth", "bearer"}, {"RESQUE_WEB_SECRET=" + secret});
    httplib::Client client("127.0.0.1", web.port());

    EXPECT_EQ(client.Get("/api/overview")->status, 401);
    auto allowed = client.Get("/api/overview", {{"Authorization", "Bearer " + secret}});
    ASSERT_TRUE(allowed);
    EXPECT_EQ(allowed->status, 200);
    EXPECT_EQ(web.stop(), 0);

    const std::string log = web.log();
    EXPECT_NE(log.find("listening address=http://127.0.0.1:"), std::string::npos);
    EXPECT_EQ(log.find(secret), std::string::npos) << log;
}

TEST_F(WebCli, ReadsABasicAuthPasswordFromASecretFile) {
    test::TempDir dir;
    const auto path = dir.path() / "secret";
    std::ofstream(path) << "file-password\n";
    test::WebProcess web(*server_, {"--auth", "basic", "--secret-file", path.string()});
    httplib::Client client("127.0.0.1", web.port());
    client.set_basic_auth("anyone", "file-password");

    auto response = client.Get("/api/stats");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(web.log().find("file-password"), std::string::npos);
}

TEST_F(WebCli, AuthWithoutASecretIsRefusedWithExitStatus4) {
    const auto result = test::run_process(
        {test::cli_path(), "web", "--redis", server_->url(), "--port", "0", "--auth", "basic"},
        {"RESQUE_WEB_SECRET="}, {}, std::chrono::seconds(20));
    EXPECT_EQ(result.exit_code, 4);
    EXPECT_NE(result.err.find("RESQUE_WEB_SECRET"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace resque
