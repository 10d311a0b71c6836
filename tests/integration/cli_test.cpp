// The `resque` executable against a real redis-server: what each command writes to
// Redis and prints, and how every kind of error ends (one line, a documented status).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <set>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "redis_server.hpp"
#include "resque/version.hpp"

namespace resque {
namespace {

using nlohmann::json;
using test::ProcessResult;

constexpr const char* kFailureOne =
    R"({"failed_at":"2026/12/03 12:25:30 UTC","payload":{"class":"Echo","args":[1]},)"
    R"("exception":"RuntimeError","error":"boom","backtrace":["echo.rb:3","worker.rb:9"],)"
    R"("worker":"host:1:mail","queue":"mail"})";
constexpr const char* kFailureTwo =
    R"({"failed_at":"2026/12/03 12:26:00 UTC","payload":{"class":"Archive","args":["x"]},)"
    R"("exception":"IOError","error":"disk full","backtrace":[],)"
    R"("worker":"host:1:files","queue":"files"})";

class CliIntegration : public ::testing::Test {
   protected:
    static void SetUpTestSuite() { server_ = std::make_unique<test::RedisServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override { server_->flush(); }

    // Runs `resque` with no --redis of its own and REDIS_URL cleared.
    static ProcessResult resque_raw(const std::vector<std::string>& args,
                                    const std::string& input = {}) {
        std::vector<std::string> argv{test::cli_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::run_process(argv, {"REDIS_URL="}, input);
    }
    // Runs `resque --redis <test server> args...`.
    static ProcessResult resque(const std::vector<std::string>& args,
                                const std::string& input = {}) {
        std::vector<std::string> argv{"--redis", server_->url()};
        argv.insert(argv.end(), args.begin(), args.end());
        return resque_raw(argv, input);
    }
    static std::string redis(const std::vector<std::string>& argv) {
        return server_->command(argv);
    }
    static void push_failures() { redis({"RPUSH", "resque:failed", kFailureOne, kFailureTwo}); }

    static std::unique_ptr<test::RedisServer> server_;
};

std::unique_ptr<test::RedisServer> CliIntegration::server_;

// One line on stderr, `resque: ...`, and nothing on stdout.
void expect_one_error_line(const ProcessResult& result) {
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_EQ(result.err.rfind("resque: ", 0), 0u) << result.err;
    EXPECT_EQ(result.out, "");
}

std::string write_file(const test::TempDir& dir, const std::string& name, const std::string& text) {
    const std::string path = (dir.path() / name).string();
    std::ofstream(path) << text;
    return path;
}

// ---- enqueue ----------------------------------------------------------------------

TEST_F(CliIntegration, EnqueueWritesResqueExactPayloadAndPrintsNothing) {
    const ProcessResult result = resque({"enqueue", "q", "Echo", R"([1,"two"])"});

    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(redis({"LRANGE", "resque:queue:q", "0", "-1"}),
              R"({"class":"Echo","args":[1,"two"]})");
    EXPECT_EQ(redis({"SMEMBERS", "resque:queues"}), "q");
}

TEST_F(CliIntegration, EnqueueDefaultsToNoArgsAndHonoursNamespace) {
    const ProcessResult result = resque({"--namespace", "myapp", "enqueue", "q", "Echo"});

    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(redis({"LRANGE", "myapp:queue:q", "0", "-1"}), R"({"class":"Echo","args":[]})");
}

TEST_F(CliIntegration, EnqueueWithJsonPrintsQueueAndClass) {
    const ProcessResult result = resque({"enqueue", "q", "Echo", "[]", "--json"});

    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(json::parse(result.out), json({{"queue", "q"}, {"class", "Echo"}}));
}

TEST_F(CliIntegration, EnqueueInvalidJsonExitsFourNamingTheProblem) {
    const ProcessResult result = resque({"enqueue", "q", "C", "not json"});

    EXPECT_EQ(result.exit_code, 4);
    expect_one_error_line(result);
    EXPECT_NE(result.err.find("JSON"), std::string::npos) << result.err;
    EXPECT_EQ(redis({"EXISTS", "resque:queue:q"}), "0");
}

TEST_F(CliIntegration, EnqueueArgsThatAreNotAnArrayExitFour) {
    const ProcessResult result = resque({"enqueue", "q", "C", R"({"a":1})"});

    EXPECT_EQ(result.exit_code, 4);
    expect_one_error_line(result);
    EXPECT_NE(result.err.find("array"), std::string::npos) << result.err;
}

TEST_F(CliIntegration, EnqueueRefusesIntegersWiderThanSixtyFourBitsInsteadOfRounding) {
    const ProcessResult result = resque({"enqueue", "q", "C", "[12345678901234567890123]"});

    EXPECT_EQ(result.exit_code, 4);
    expect_one_error_line(result);
    EXPECT_NE(result.err.find("12345678901234567890123"), std::string::npos) << result.err;
    EXPECT_EQ(redis({"EXISTS", "resque:queue:q"}), "0");
}

TEST_F(CliIntegration, EnqueueFromFileValidatesEveryLineBeforePushing) {
    test::TempDir dir;
    const std::string path = write_file(dir, "jobs.jsonl",
                                        R"({"queue":"a","class":"Echo","args":[1]})"
                                        "\n"
                                        R"({"queue":"b","class":"Echo","args":[2]})"
                                        "\n"
                                        R"({"queue":"a","class":"Echo","args":"oops"})"
                                        "\n");

    const ProcessResult result = resque({"enqueue", "--from", path});

    EXPECT_EQ(result.exit_code, 4);
    expect_one_error_line(result);
    EXPECT_NE(result.err.find(path + ":3:"), std::string::npos) << result.err;
    EXPECT_EQ(redis({"KEYS", "*"}), "");
}

TEST_F(CliIntegration, EnqueueFromStdinPushesAllAndPrintsSummary) {
    const std::string input = R"({"queue":"a","class":"Echo","args":[1]})"
                              "\n\n"
                              R"({"queue":"b","class":"Echo","args":[2]})"
                              "\n"
                              R"({"queue":"a","class":"Echo"})"
                              "\n";

    const ProcessResult result = resque({"enqueue", "--from", "-"}, input);

    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out.rfind("enqueued 3 jobs on 2 queues in ", 0), 0u) << result.out;
    EXPECT_NE(result.out.find(" jobs/s)\n"), std::string::npos) << result.out;
    EXPECT_EQ(redis({"LRANGE", "resque:queue:a", "0", "-1"}),
              "{\"class\":\"Echo\",\"args\":[1]}\n{\"class\":\"Echo\",\"args\":[]}");
    EXPECT_EQ(redis({"LLEN", "resque:queue:b"}), "1");
}

// ---- errors and usage -------------------------------------------------------------

TEST_F(CliIntegration, UnknownCommandExitsTwoWithOneLine) {
    const ProcessResult result = resque({"frobnicate"});

    EXPECT_EQ(result.exit_code, 2);
    expect_one_error_line(result);
    EXPECT_NE(result.err.find("resque --help"), std::string::npos) << result.err;
}

TEST_F(CliIntegration, MissingCommandAndBadOptionExitTwo) {
    EXPECT_EQ(resque({}).exit_code, 2);
    EXPECT_EQ(resque({"peek"}).exit_code, 2);
    EXPECT_EQ(resque({"peek", "q", "--count", "0"}).exit_code, 2);
    const ProcessResult result = resque({"queues", "--no-such-option"});
    EXPECT_EQ(result.exit_code, 2);
    expect_one_error_line(result);
}

TEST_F(CliIntegration, UnreachableRedisExitsThreeWithOneLine) {
    const ProcessResult result = resque_raw({"--redis", "redis://127.0.0.1:1/0", "queues"});

    EXPECT_EQ(result.exit_code, 3);
    expect_one_error_line(result);
}

TEST_F(CliIntegration, BadRedisUrlIsOneLineAndHidesThePassword) {
    const ProcessResult result = resque_raw({"--redis", "http://user:secret@x:99999/0", "stats"});

    EXPECT_EQ(result.exit_code, 4);
    expect_one_error_line(result);
    EXPECT_EQ(result.err.find("secret"), std::string::npos) << result.err;
}

TEST_F(CliIntegration, RedisUrlComesFromEnvironmentWhenNotGiven) {
    const ProcessResult result =
        test::run_process({test::cli_path(), "stats", "--json"}, {"REDIS_URL=" + server_->url()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(CliIntegration, HelpWorksForEveryCommandAndListsExitCodes) {
    const std::vector<std::vector<std::string>> commands = {{},
                                                            {"enqueue"},
                                                            {"work"},
                                                            {"queues"},
                                                            {"peek"},
                                                            {"clear"},
                                                            {"remove-queue"},
                                                            {"workers"},
                                                            {"prune"},
                                                            {"stats"},
                                                            {"pause"},
                                                            {"resume"},
                                                            {"failed"},
                                                            {"failed", "list"},
                                                            {"failed", "show"},
                                                            {"failed", "retry"},
                                                            {"failed", "remove"},
                                                            {"failed", "clear"},
                                                            {"failed", "clear-retried"}};
    for (auto command : commands) {
        command.push_back("--help");
        const ProcessResult result = resque_raw(command);
        EXPECT_EQ(result.exit_code, 0) << command.front() << ": " << result.err;
        EXPECT_NE(result.out.find("Usage"), std::string::npos) << result.out;
    }
    EXPECT_NE(resque_raw({"--help"}).out.find("Exit status"), std::string::npos);
}

TEST_F(CliIntegration, VersionPrintsTheLibraryVersion) {
    const ProcessResult result = resque_raw({"--version"});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_NE(result.out.find(std::string(kVersion)), std::string::npos) << result.out;
}

// ---- queues, stats, pause ---------------------------------------------------------

TEST_F(CliIntegration, QueuesJsonListsSortedNamesAndSizes) {
    ASSERT_EQ(resque({"enqueue", "b", "Echo"}).exit_code, 0);
    ASSERT_EQ(resque({"enqueue", "a", "Echo"}).exit_code, 0);
    ASSERT_EQ(resque({"enqueue", "a", "Echo", "[2]"}).exit_code, 0);

    const ProcessResult result = resque({"queues", "--json"});

    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(json::parse(result.out),
              json::parse(R"([{"name":"a","size":2},{"name":"b","size":1}])"));
}

TEST_F(CliIntegration, PeekPrintsRawPayloadsAndJsonArray) {
    redis({"RPUSH", "resque:queue:q", R"({"class":"A","args":[12345678901234567890123]})",
           R"({"class":"B","args":[]})"});

    const ProcessResult text = resque({"peek", "q", "--count", "1"});
    EXPECT_EQ(text.out, "{\"class\":\"A\",\"args\":[12345678901234567890123]}\n");

    const ProcessResult as_json = resque({"peek", "q", "--offset", "1", "--json"});
    EXPECT_EQ(as_json.out, "[{\"class\":\"B\",\"args\":[]}]\n");
}

TEST_F(CliIntegration, ClearKeepsQueueAndRemoveQueueDropsIt) {
    ASSERT_EQ(resque({"enqueue", "q", "Echo"}).exit_code, 0);

    EXPECT_EQ(resque({"clear", "q"}).out, "cleared 1 jobs from queue q\n");
    EXPECT_EQ(redis({"SMEMBERS", "resque:queues"}), "q");
    EXPECT_EQ(resque({"remove-queue", "q"}).exit_code, 0);
    EXPECT_EQ(redis({"SMEMBERS", "resque:queues"}), "");
}

TEST_F(CliIntegration, StatsJsonHasEveryCounter) {
    redis({"SET", "resque:stat:processed", "7"});
    push_failures();

    const ProcessResult result = resque({"stats", "--json"});

    ASSERT_EQ(result.exit_code, 0) << result.err;
    const json stats = json::parse(result.out);
    EXPECT_EQ(stats["processed"], 7);
    EXPECT_EQ(stats["failed"], 2);
    for (const char* key : {"pending", "queues", "workers", "working"}) {
        EXPECT_TRUE(stats.contains(key)) << key;
    }
}

TEST_F(CliIntegration, PauseAndResumeSetTheSharedSwitch) {
    ASSERT_EQ(resque({"pause"}).exit_code, 0);
    EXPECT_EQ(redis({"GET", "resque:pause-all-workers"}), "true");
    ASSERT_EQ(resque({"resume"}).exit_code, 0);
    EXPECT_NE(redis({"GET", "resque:pause-all-workers"}), "true");
}

// A pid that is certainly not running: a child of ours, already reaped.
int dead_pid(const test::TempDir& dir) {
    const int pid = test::spawn_process({"/bin/true"}, {}, dir.path() / "true.log");
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

TEST_F(CliIntegration, PruneUnregistersDeadWorkerAndRequeuesItsJob) {
    test::TempDir dir;
    char host[256] = {};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    const std::string id = std::string(host) + ":" + std::to_string(dead_pid(dir)) + ":q";
    redis({"SADD", "resque:workers", id});
    redis({"SET", "resque:worker:" + id + ":started", "2026-12-03 12:25:25 +0000"});
    redis(
        {"SET", "resque:worker:" + id,
         R"({"queue":"q","run_at":"2026-12-03T12:25:29Z","payload":{"class":"Echo","args":[1]}})"});

    const ProcessResult result = resque({"prune"});

    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "pruned 1 dead workers\n");
    EXPECT_EQ(redis({"SMEMBERS", "resque:workers"}), "");
    EXPECT_EQ(redis({"LRANGE", "resque:queue:q", "0", "-1"}), R"({"class":"Echo","args":[1]})");
}

// ---- failed -----------------------------------------------------------------------

TEST_F(CliIntegration, FailedListShowsEntriesAndFilters) {
    push_failures();

    const ProcessResult all = resque({"failed", "list", "--json"});
    ASSERT_EQ(all.exit_code, 0) << all.err;
    const json entries = json::parse(all.out);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[1]["index"], 1);
    EXPECT_EQ(entries[1]["exception"], "IOError");

    const ProcessResult filtered = resque({"failed", "list", "--class", "Archive", "--json"});
    const json matches = json::parse(filtered.out);
    ASSERT_EQ(matches.size(), 1u);
    EXPECT_EQ(matches[0]["queue"], "files");

    const ProcessResult text = resque({"failed", "list"});
    EXPECT_NE(text.out.find("disk full"), std::string::npos) << text.out;
}

TEST_F(CliIntegration, FailedShowPrintsWholeRecordWithBacktrace) {
    push_failures();

    const ProcessResult text = resque({"failed", "show", "0"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("echo.rb:3"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("worker.rb:9"), std::string::npos) << text.out;

    const json record = json::parse(resque({"failed", "show", "0", "--json"}).out);
    EXPECT_EQ(record["backtrace"], json::array({"echo.rb:3", "worker.rb:9"}));
    EXPECT_EQ(record["payload"], json::parse(R"({"class":"Echo","args":[1]})"));
}

TEST_F(CliIntegration, FailedShowOfMissingIndexExitsOne) {
    const ProcessResult result = resque({"failed", "show", "5"});
    EXPECT_EQ(result.exit_code, 1);
    expect_one_error_line(result);
}

TEST_F(CliIntegration, FailedRetryRequeuesAndMarksTheRecord) {
    push_failures();

    const ProcessResult result = resque({"failed", "retry", "0"});

    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(redis({"LRANGE", "resque:queue:mail", "0", "-1"}), R"({"class":"Echo","args":[1]})");
    const json record = json::parse(redis({"LINDEX", "resque:failed", "0"}));
    EXPECT_TRUE(record.contains("retried_at"));
    EXPECT_EQ(redis({"LLEN", "resque:failed"}), "2");
}

TEST_F(CliIntegration, FailedRemoveDeletesOneEntry) {
    push_failures();

    ASSERT_EQ(resque({"failed", "remove", "0"}).exit_code, 0);

    EXPECT_EQ(redis({"LRANGE", "resque:failed", "0", "-1"}), kFailureTwo);
}

TEST_F(CliIntegration, FailedRetryAllRequeuesEveryFailure) {
    push_failures();

    ASSERT_EQ(resque({"failed", "retry", "--all"}).exit_code, 0);
    EXPECT_EQ(redis({"LLEN", "resque:queue:mail"}), "1");
    EXPECT_EQ(redis({"LLEN", "resque:queue:files"}), "1");
}

TEST_F(CliIntegration, FailedClearRetriedKeepsTheOthers) {
    push_failures();
    ASSERT_EQ(resque({"failed", "retry", "1"}).exit_code, 0);

    const ProcessResult result = resque({"failed", "clear-retried"});

    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(redis({"LRANGE", "resque:failed", "0", "-1"}), kFailureOne);
}

TEST_F(CliIntegration, FailedClearEmptiesTheList) {
    push_failures();

    const ProcessResult result = resque({"failed", "clear"});

    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "cleared 2 failures\n");
    EXPECT_EQ(redis({"LLEN", "resque:failed"}), "0");
}

TEST_F(CliIntegration, FailedRetryNeedsIndexOrAll) {
    const ProcessResult result = resque({"failed", "retry"});
    EXPECT_EQ(result.exit_code, 2);
    expect_one_error_line(result);
}

// ---- work -------------------------------------------------------------------------

class CliWork : public CliIntegration {
   protected:
    void SetUp() override {
        CliIntegration::SetUp();
        jobs_file_ = write_file(dir_, "jobs.yml", "jobs:\n  Echo:\n    command: [/bin/true]\n");
    }
    test::TempDir dir_;
    std::string jobs_file_;
};

TEST_F(CliWork, UntilEmptyPerformsAJobPushedInResqueFormat) {
    redis({"SADD", "resque:queues", "q"});
    redis({"RPUSH", "resque:queue:q", R"({"class":"Echo","args":[1,"two"]})"});

    const ProcessResult result =
        resque({"work", "--queues", "q", "--jobs", jobs_file_, "--until-empty"});

    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(redis({"GET", "resque:stat:processed"}), "1");
    EXPECT_EQ(redis({"LLEN", "resque:queue:q"}), "0");
    EXPECT_EQ(redis({"LLEN", "resque:failed"}), "0");
}

std::string read_cmdline(int pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/cmdline");
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

TEST_F(CliWork, RunningWorkerTitlesItsCommandLineForRubyPruner) {
    const int pid = test::spawn_process({test::cli_path(), "--redis", server_->url(), "work",
                                         "--queues", "q", "--jobs", jobs_file_},
                                        {"REDIS_URL="}, dir_.path() / "worker.log");

    EXPECT_TRUE(test::wait_until([&] { return read_cmdline(pid).rfind("resque-", 0) == 0; }))
        << read_cmdline(pid);
    EXPECT_TRUE(test::wait_until([&] {
        return json::parse(resque({"workers", "--json"}).out).size() == 1;
    }));

    ::kill(pid, SIGTERM);
    int status = 0;
    const bool exited = test::wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    EXPECT_TRUE(exited);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// --concurrency N: N worker processes, each registered as a Resque worker of its own
// with its own pid, all unregistered after QUIT.
TEST_F(CliWork, ConcurrencyStartsSeparatelyRegisteredWorkersThatDrainTogether) {
    const int pid = test::spawn_process({test::cli_path(), "--redis", server_->url(), "work",
                                         "--queues", "q", "--concurrency", "3", "--jobs",
                                         jobs_file_},
                                        {"REDIS_URL="}, dir_.path() / "pool.log");
    ASSERT_TRUE(test::wait_until([&] { return redis({"SCARD", "resque:workers"}) == "3"; }));
    auto workers = json::parse(resque({"workers", "--json"}).out);
    std::set<std::string> pids;
    for (const auto& worker : workers) {
        std::string id = worker["id"];
        pids.insert(id.substr(id.find(':') + 1, id.rfind(':') - id.find(':') - 1));
    }
    EXPECT_EQ(pids.size(), 3u);

    for (int i = 0; i < 30; ++i) {
        redis({"RPUSH", "resque:queue:q", R"({"class":"Echo","args":[)" + std::to_string(i) + "]}"});
    }
    EXPECT_TRUE(test::wait_until([&] { return redis({"GET", "resque:stat:processed"}) == "30"; }));

    ::kill(pid, SIGQUIT);
    int status = 0;
    const bool exited = test::wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    EXPECT_TRUE(exited);
    EXPECT_EQ(redis({"SCARD", "resque:workers"}), "0");
}

}  // namespace
}  // namespace resque
