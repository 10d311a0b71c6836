// The integration-test harness itself: private redis-servers, the TCP proxy, child
// processes, temporary directories and waits.

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "redis_server.hpp"

namespace resque::test {
namespace {

using namespace std::chrono_literals;

struct ContextDeleter {
    void operator()(redisContext* context) const noexcept { redisFree(context); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

// A connection the test keeps open across proxy cuts (RedisServer::command() connects
// anew each time).
Context connect(int port) {
    Context context(redisConnectWithTimeout("127.0.0.1", port, timeval{5, 0}));
    if (context) {
        redisSetTimeout(context.get(), timeval{5, 0});
    }
    return context;
}

// The reply to `argv` rendered as text, or "error: ..." when there is none.
std::string ask(redisContext& context, const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto& arg : argv) {
        args.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(&context, static_cast<int>(args.size()), args.data(), lengths.data()));
    if (reply == nullptr) {
        return std::string("error: ") + context.errstr;
    }
    std::string text = reply->str ? std::string(reply->str, reply->len) : "";
    freeReplyObject(reply);
    return text;
}

RedisServerOptions append_only() {
    RedisServerOptions options;
    options.append_only = true;
    return options;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), {}};
}

TEST(HarnessRedisServer, AnswersPingAndStoresValues) {
    RedisServer server;

    EXPECT_EQ(server.command({"PING"}), "PONG");
    EXPECT_EQ(server.command({"SET", "greeting", "hello world"}), "OK");
    EXPECT_EQ(server.command({"GET", "greeting"}), "hello world");
    EXPECT_EQ(server.command({"GET", "missing"}), "(nil)");
    EXPECT_EQ(server.command({"RPUSH", "list", "a", "b"}), "2");
    EXPECT_EQ(server.command({"LRANGE", "list", "0", "-1"}), "a\nb");
    EXPECT_EQ(server.url(), "redis://127.0.0.1:" + std::to_string(server.port()) + "/0");
    EXPECT_NE(server.port(), 6379);
}

TEST(HarnessRedisServer, ErrorReplyThrows) {
    RedisServer server;

    EXPECT_THROW(server.command({"NOSUCHCOMMAND"}), std::runtime_error);
    EXPECT_THROW(server.command({"INCR", "greeting", "extra"}), std::runtime_error);
}

TEST(HarnessRedisServer, TwoServersGetDifferentPortsAndData) {
    RedisServer first;
    RedisServer second;

    EXPECT_NE(first.port(), second.port());
    EXPECT_NE(first.dir(), second.dir());
    first.command({"SET", "key", "first"});
    EXPECT_EQ(second.command({"GET", "key"}), "(nil)");
}

TEST(HarnessRedisServer, FlushEmptiesTheDatabase) {
    RedisServer server;
    server.command({"SET", "key", "value"});

    server.flush();

    EXPECT_EQ(server.command({"DBSIZE"}), "0");
}

TEST(HarnessRedisServer, AppendOnlyDataSurvivesKillAndStart) {
    RedisServer server(append_only());
    const int port = server.port();
    server.command({"SET", "durable", "yes"});

    server.kill();
    EXPECT_THROW(server.command({"PING"}), std::runtime_error);
    server.start();

    EXPECT_EQ(server.port(), port);
    EXPECT_EQ(server.command({"GET", "durable"}), "yes");
}

TEST(HarnessRedisServer, StopThenStartServesOnTheSamePort) {
    RedisServer server;
    const int port = server.port();

    server.stop();
    EXPECT_THROW(server.command({"PING"}), std::runtime_error);
    server.start();

    EXPECT_EQ(server.port(), port);
    EXPECT_EQ(server.command({"PING"}), "PONG");
}

TEST(HarnessRedisServer, ExtraOptionsReachTheServer) {
    RedisServer server(RedisServerOptions{.extra = {"--databases", "3"}});

    EXPECT_EQ(server.command({"CONFIG", "GET", "databases"}), "databases\n3");
}

TEST(HarnessRedisServer, BadOptionThrowsWithServerOutput) {
    try {
        RedisServer server(RedisServerOptions{.extra = {"--no-such-option", "1"}});
        FAIL() << "the server started";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string_view(error.what()).find("no-such-option"), std::string::npos)
            << error.what();
    }
}

TEST(HarnessRedisServer, DestructorRemovesTheDirectory) {
    std::filesystem::path dir;
    {
        RedisServer server(append_only());
        server.command({"SET", "key", "value"});
        dir = server.dir();
        ASSERT_TRUE(std::filesystem::exists(dir / "redis.log"));
    }

    EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(HarnessRedisServer, MoveTransfersOwnership) {
    RedisServer first;
    const int port = first.port();

    RedisServer second(std::move(first));

    EXPECT_EQ(second.port(), port);
    EXPECT_EQ(second.command({"PING"}), "PONG");
}

TEST(HarnessTcpProxy, ForwardsCommandsBothWays) {
    RedisServer server;
    TcpProxy proxy(server.port());
    const Context client = connect(proxy.port());
    ASSERT_TRUE(client && client->err == 0);

    EXPECT_EQ(ask(*client, {"PING"}), "PONG");

    // Larger than the proxy's buffers and the socket buffers, in both directions.
    const std::string big(3 * 1024 * 1024, 'x');
    EXPECT_EQ(ask(*client, {"SET", "big", big}), "OK");
    EXPECT_EQ(ask(*client, {"GET", "big"}), big);
    EXPECT_EQ(proxy.url(), "redis://127.0.0.1:" + std::to_string(proxy.port()) + "/0");
}

TEST(HarnessTcpProxy, CutBreaksOpenConnectionsAndRefusesNewOnes) {
    RedisServer server;
    TcpProxy proxy(server.port());
    const Context open = connect(proxy.port());
    ASSERT_EQ(ask(*open, {"PING"}), "PONG");

    proxy.cut();

    EXPECT_NE(ask(*open, {"PING"}), "PONG");
    const Context during_cut = connect(proxy.port());
    if (during_cut && during_cut->err == 0) {
        EXPECT_NE(ask(*during_cut, {"PING"}), "PONG");
    }
}

TEST(HarnessTcpProxy, RestoreLetsNewConnectionsThrough) {
    RedisServer server;
    TcpProxy proxy(server.port());
    proxy.cut();

    proxy.restore();

    const Context client = connect(proxy.port());
    ASSERT_TRUE(client && client->err == 0);
    EXPECT_EQ(ask(*client, {"PING"}), "PONG");
}

TEST(HarnessTcpProxy, ClientOfUnreachableTargetIsClosed) {
    std::optional<RedisServer> server(std::in_place);
    TcpProxy proxy(server->port());
    server.reset();

    const Context client = connect(proxy.port());
    if (client && client->err == 0) {
        EXPECT_NE(ask(*client, {"PING"}), "PONG");
    }
}

TEST(HarnessRunProcess, CapturesExitCodeOutputAndFeedsInput) {
    const ProcessResult result =
        run_process({"/bin/sh", "-c", "cat; echo oops >&2; exit 3"}, {}, "hello\n");

    EXPECT_EQ(result.exit_code, 3);
    EXPECT_EQ(result.out, "hello\n");
    EXPECT_EQ(result.err, "oops\n");
}

TEST(HarnessRunProcess, PassesExtraEnvironment) {
    const ProcessResult result =
        run_process({"/bin/sh", "-c", "printf %s \"$HARNESS_VALUE\""}, {"HARNESS_VALUE=42"});

    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.out, "42");
}

TEST(HarnessRunProcess, LargeInputAndOutputDoNotDeadlock) {
    const std::string input(4 * 1024 * 1024, 'y');

    const ProcessResult result = run_process({"/bin/cat"}, {}, input);

    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.out.size(), input.size());
    EXPECT_EQ(result.out, input);
}

TEST(HarnessRunProcess, ChildThatIgnoresInputDoesNotKillTheTest) {
    const std::string input(4 * 1024 * 1024, 'z');

    const ProcessResult result = run_process({"/bin/true"}, {}, input);

    EXPECT_EQ(result.exit_code, 0);
}

TEST(HarnessRunProcess, TimeoutKillsTheChild) {
    const auto started = std::chrono::steady_clock::now();

    const ProcessResult result = run_process({"sleep", "30"}, {}, {}, 200ms);

    EXPECT_EQ(result.exit_code, 128 + SIGKILL);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
}

TEST(HarnessRunProcess, TimeoutAlsoKillsGrandchildrenHoldingOutput) {
    const ProcessResult result =
        run_process({"/bin/sh", "-c", "echo started; sleep 30; echo never"}, {}, {}, 2000ms);

    EXPECT_EQ(result.exit_code, 128 + SIGKILL);
    EXPECT_EQ(result.out, "started\n");
}

TEST(HarnessRunProcess, SignalledChildReports128PlusSignal) {
    const ProcessResult result = run_process({"/bin/sh", "-c", "kill -TERM $$"});

    EXPECT_EQ(result.exit_code, 128 + SIGTERM);
}

TEST(HarnessRunProcess, MissingProgramThrows) {
    EXPECT_THROW(run_process({"/nonexistent/program"}), std::runtime_error);
    EXPECT_THROW(run_process({"no-such-program-in-path"}), std::runtime_error);
}

TEST(HarnessSpawnProcess, WritesOutputToLogInItsOwnProcessGroup) {
    const TempDir dir;
    const auto log = dir.path() / "child.log";

    const int pid =
        spawn_process({"/bin/sh", "-c", "echo out; echo err >&2; read x"}, {"HARNESS_X=1"}, log);
    EXPECT_EQ(::getpgid(pid), pid);
    EXPECT_TRUE(wait_until([&] { return read_file(log) == "out\nerr\n"; }));

    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);  // read hits end of file on /dev/null
    EXPECT_TRUE(WIFEXITED(status));
}

TEST(HarnessTempDir, DestructorRemovesDirectoryAndContents) {
    std::filesystem::path path;
    {
        const TempDir dir;
        path = dir.path();
        ASSERT_TRUE(std::filesystem::is_directory(path));
        std::filesystem::create_directory(path / "sub");
        std::ofstream(path / "sub" / "file.txt") << "content";
    }

    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(HarnessWaitUntil, ReturnsTrueOnceConditionHolds) {
    int calls = 0;

    EXPECT_TRUE(wait_until([&] { return ++calls == 5; }));
    EXPECT_EQ(calls, 5);
}

TEST(HarnessWaitUntil, ReturnsFalseAtTheDeadline) {
    EXPECT_FALSE(wait_until([] { return false; }, 20ms));
}

TEST(HarnessPaths, PointAtTheBuiltCliAndTheSharedFixtures) {
    EXPECT_FALSE(cli_path().empty());
    EXPECT_TRUE(std::filesystem::is_directory(fixtures_dir())) << fixtures_dir();
}

}  // namespace
}  // namespace resque::test
