// Isolation modes against a real worker and redis-server: programs (exec) in sh and
// python3 that succeed, fail, crash, hang, flood their output, ignore TERM, leave
// grandchildren, close or ignore stdin, or hit a resource limit; C++ handlers in fork
// mode that segfault, abort, exit() or throw; thread-mode timeouts; fork hooks. After
// each the worker goes on to the next job, and the failure record names what happened.
// Timeouts are short (0.3 s) so the whole file stays within a few seconds per test.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "captured_log.hpp"
#include "redis_server.hpp"
#include "resque/errors.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::filesystem::path kData = RESQUE_SOURCE_DIR "/tests/data/isolation";

std::string read_file(const std::filesystem::path& path) {
    std::ifstream input(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(input), {});
}

// True once `pid` is gone or a zombie.
bool process_ended(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    if (text.empty()) return true;
    const auto state = text.find(") ");
    return state != std::string::npos && text[state + 2] == 'Z';
}

// Bytes of address space this process uses now (VmSize), which a forked child inherits.
std::uint64_t address_space_now() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
    }
    return 0;
}

void segfault() {
    static volatile std::uintptr_t zero = 0;
    *reinterpret_cast<volatile int*>(zero) = 1;
}

class IsolationTest : public ::testing::Test {
 protected:
    RedisServer server;
    TempDir dir;

    std::string cmd(const std::vector<std::string>& argv) { return server.command(argv); }
    void push(const std::string& job_class, const std::string& args = "[]") {
        cmd({"SADD", "resque:queues", "q"});
        cmd({"RPUSH", "resque:queue:q", R"({"class":")" + job_class + R"(","args":)" + args + "}"});
    }
    long long stat(const std::string& name) {
        auto value = cmd({"GET", "resque:stat:" + name});
        return value == "(nil)" ? 0 : std::stoll(value);
    }
    // Waits until `count` jobs were processed (done or failed).
    void await_processed(long long count, std::chrono::seconds deadline = 30s) {
        ASSERT_TRUE(wait_until([&] { return stat("processed") >= count; }, deadline))
            << "processed " << stat("processed") << " of " << count;
    }
    // The failure records, by job class.
    std::map<std::string, json> failures() {
        std::map<std::string, json> out;
        const auto n = std::stoll(cmd({"LLEN", "resque:failed"}));
        for (long long i = 0; i < n; ++i) {
            json record = json::parse(cmd({"LINDEX", "resque:failed", std::to_string(i)}));
            out[record["payload"]["class"].get<std::string>()] = record;
        }
        return out;
    }
    std::string out() const { return dir.path().string(); }

    // A jobs file: `entries` is the YAML under `jobs:`; "$DATA" and "$OUT" are replaced.
    HandlerRegistry programs(std::string entries, HandlerRegistry registry = {}) {
        for (const auto& [from, to] :
             {std::pair<std::string, std::string>{"$DATA", kData.string()}, {"$OUT", out()}}) {
            for (auto at = entries.find(from); at != std::string::npos; at = entries.find(from)) {
                entries.replace(at, from.size(), to);
            }
        }
        const auto path = dir.path() / "jobs.yml";
        std::ofstream(path) << "jobs:\n" << entries;
        registry.load_jobs_file(path);
        return registry;
    }
    static WorkerOptions options() {
        WorkerOptions options = fast_options({"q"});
        options.kill_grace = 300ms;
        return options;
    }
};

TEST_F(IsolationTest, ProgramsThatMisbehaveBecomeFailuresAndTheWorkerGoesOn) {
    auto handlers = programs(R"(
  OkSh: {command: [$DATA/ok.sh], env: {OUT: $OUT}, cwd: $OUT}
  OkPy: {command: [python3, $DATA/ok.py], env: {OUT: $OUT, EXTRA: from-jobs-file}}
  FailSh: {command: [$DATA/fail.sh]}
  FailPy: {command: [python3, $DATA/fail.py]}
  CrashSh: {command: [$DATA/crash.sh]}
  CrashPy: {command: [python3, $DATA/crash.py]}
  HangSh: {command: [$DATA/hang.sh], timeout: 300ms}
  HangPy: {command: [python3, $DATA/hang.py], timeout: 0.3}
  IgnoreTermSh: {command: [$DATA/ignore_term.sh], timeout: 1s}
  IgnoreTermPy: {command: [python3, $DATA/ignore_term.py], timeout: 3s}
  FloodSh: {command: [$DATA/flood.sh], timeout: 60s}
  FloodPy: {command: [python3, $DATA/flood.py], timeout: 60s}
  GrandchildSh: {command: [$DATA/grandchild.sh], env: {OUT: $OUT}}
  GrandchildPy: {command: [python3, $DATA/grandchild.py], env: {OUT: $OUT}}
  CloseStdin: {command: [$DATA/close_stdin.sh]}
  NoStdin: {command: [python3, $DATA/no_stdin.py]}
)");
    // Large args: writing them meets a closed or unread stdin (EPIPE, SIGPIPE).
    const std::string big = json::array({std::string(1 << 20, 'a')}).dump();
    const std::vector<std::pair<std::string, std::string>> jobs{
        {"OkSh", R"([{"job_class":"Archive","enqueued_at":"2026-12-03T10:00:00Z"},1])"},
        {"FailSh", "[]"},
        {"FailPy", "[]"},
        {"CrashSh", "[]"},
        {"CrashPy", "[]"},
        {"HangSh", "[]"},
        {"HangPy", "[]"},
        {"IgnoreTermSh", "[]"},
        {"IgnoreTermPy", "[]"},
        {"FloodSh", "[]"},
        {"FloodPy", "[]"},
        {"GrandchildSh", "[]"},
        {"GrandchildPy", "[]"},
        {"CloseStdin", big},
        {"NoStdin", big},
        {"OkPy", R"(["last"])"}};
    for (const auto& [job_class, args] : jobs) push(job_class, args);

    const CapturedLog log;
    RunningWorker worker(server, options(), std::move(handlers));
    await_processed(static_cast<long long>(jobs.size()), 60s);

    // Every job ran in order, and the last one still succeeded.
    EXPECT_EQ(read_file(dir.path() / "OkPy"), "[\"last\"]|from-jobs-file\n");
    const std::string ok_sh = read_file(dir.path() / "OkSh");
    EXPECT_THAT(
        ok_sh,
        StartsWith(R"([{"job_class":"Archive","enqueued_at":"2026-12-03T10:00:00Z"},1]|OkSh|q|)"));
    EXPECT_THAT(ok_sh, HasSubstr("|2026-12-03T10:00:00Z|" +
                                 std::filesystem::canonical(dir.path()).string() + "\n"));

    auto failed = failures();
    EXPECT_EQ(failed.size(), 8u);
    const auto error = [&](const std::string& job_class) {
        return failed[job_class]["error"].get<std::string>();
    };
    EXPECT_EQ(failed["FailSh"]["exception"], "Resque::ProgramFailed");
    EXPECT_EQ(error("FailSh"), kData.string() +
                                   "/fail.sh exited with status 1: checking order\n"
                                   "order 42 not found");
    EXPECT_EQ(error("FailPy"), "python3 exited with status 2: order 43 not found");
    EXPECT_EQ(error("CrashSh"),
              kData.string() + "/crash.sh killed by signal 11 (SIGSEGV): about to crash");
    EXPECT_EQ(error("CrashPy"), "python3 killed by signal 6 (SIGABRT): aborting");
    EXPECT_THAT(error("HangSh"),
                StartsWith(kData.string() + "/hang.sh timed out after 300ms (ran "));
    EXPECT_THAT(error("HangSh"), HasSubstr("ended by SIGTERM)"));
    EXPECT_THAT(error("HangPy"), StartsWith("python3 timed out after 300ms (ran "));
    EXPECT_THAT(error("IgnoreTermSh"), HasSubstr("ended by SIGKILL after ignoring SIGTERM): "
                                                 "ignoring TERM"));
    EXPECT_THAT(error("IgnoreTermPy"), HasSubstr("ended by SIGKILL after ignoring SIGTERM): "
                                                 "ignoring TERM"));
    for (const char* job_class : {"FloodSh", "FloodPy", "GrandchildSh", "GrandchildPy",
                                  "CloseStdin", "NoStdin", "OkSh", "OkPy"}) {
        EXPECT_EQ(failed.count(job_class), 0u) << job_class << ": " << failed[job_class].dump();
    }

    // Output is logged, tagged and bounded; the floods were cut short.
    const std::string text = log.text();
    EXPECT_THAT(text, HasSubstr("ok.sh done class=OkSh queue=q worker="));
    EXPECT_THAT(text, HasSubstr("program output truncated after"));
    EXPECT_THAT(text, HasSubstr("bytes dropped class=FloodSh"));
    EXPECT_LT(text.size(), 2u << 20);

    // Grandchildren did not survive their job.
    const pid_t in_group = std::stoi(read_file(dir.path() / "grandchild.sh.pid"));
    EXPECT_TRUE(wait_until([&] { return process_ended(in_group); }, 10s));
    ::kill(std::stoi(read_file(dir.path() / "grandchild.py.pid")), SIGKILL);
}

TEST_F(IsolationTest, ProgramResourceLimitsAreAppliedAndNamed) {
    auto handlers = programs(R"(
  Memory: {command: [python3, $DATA/memory.py], limits: {memory: 200M}}
  Cpu: {command: [$DATA/cpu.sh], limits: {cpu: 1s}, timeout: 30s}
  Files: {command: [python3, $DATA/files.py], limits: {files: 16}}
  Ok: {command: [$DATA/ok.sh], env: {OUT: $OUT}}
)");
    for (const char* job_class : {"Memory", "Cpu", "Files", "Ok"}) push(job_class);
    RunningWorker worker(server, options(), std::move(handlers));
    await_processed(4);

    auto failed = failures();
    EXPECT_EQ(failed.size(), 3u);
    EXPECT_THAT(failed["Memory"]["error"].get<std::string>(),
                StartsWith("python3 exited with status 1 (memory limit 200M probably exceeded)"));
    EXPECT_THAT(failed["Memory"]["error"].get<std::string>(), HasSubstr("MemoryError"));
    EXPECT_EQ(failed["Cpu"]["error"],
              kData.string() + "/cpu.sh killed by signal 24 (SIGXCPU) (CPU limit of 1 s exceeded)");
    EXPECT_THAT(failed["Files"]["error"].get<std::string>(),
                StartsWith("python3 exited with status 1 (open files limit of 16 reached)"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "Ok"));
}

// C++ handlers for fork-mode tests; each records where it ran in a file.
HandlerRegistry forked_handlers(const std::filesystem::path& out) {
    HandlerRegistry handlers;
    const JobSettings fork{Isolation::kFork, {}, {}};
    handlers.add(
        "Segfault", [](const JobContext&) { segfault(); }, fork);
    handlers.add(
        "Abort", [](const JobContext&) { std::abort(); }, fork);
    handlers.add(
        "Exit3", [](const JobContext&) { std::exit(3); }, fork);
    handlers.add(
        "Throw", [](const JobContext&) { throw std::invalid_argument("bad order 7"); }, fork);
    handlers.add(
        "Named",
        [](const JobContext&) {
            throw JobFailure("Billing::Declined", "card declined", {"billing.cpp:12"});
        },
        fork);
    handlers.add("Hang", [](const JobContext&) { std::this_thread::sleep_for(30s); },
                 {Isolation::kFork, 300ms, {}});
    handlers.add("IgnoreTerm",
                 [](const JobContext&) {
                     std::signal(SIGTERM, SIG_IGN);
                     std::this_thread::sleep_for(30s);
                 },
                 {Isolation::kFork, 1s, {}});  // time to ignore TERM on a loaded machine
    handlers.add(
        "Talk",
        [](const JobContext& job) {
            std::printf("hello from the child of %s\n", job.job.class_name.c_str());
            std::fprintf(stderr, "a warning on stderr\n");
        },
        fork);
    handlers.add("Greedy",
                 [](const JobContext&) {
                     std::vector<std::unique_ptr<char[]>> leak;
                     for (int i = 0; i < 64; ++i) leak.emplace_back(new char[64 << 20]);
                 },
                 {Isolation::kFork, {}, {address_space_now() + (512u << 20), {}, {}}});
    handlers.add(
        "Record",
        [out](const JobContext& job) {
            std::ofstream(out / ("pid-" + std::string(job.args_json))) << ::getpid();
        },
        fork);
    return handlers;
}

TEST_F(IsolationTest, ForkedCppHandlersThatCrashExitOrThrowBecomeFailuresAndTheWorkerGoesOn) {
    const std::vector<std::string> jobs{"Segfault", "Abort",      "Exit3", "Throw", "Named",
                                        "Hang",     "IgnoreTerm", "Talk",  "Greedy"};
    push("Record", "[1]");
    for (const auto& job_class : jobs) push(job_class);
    push("Record", "[2]");

    const CapturedLog log;
    RunningWorker worker(server, options(), forked_handlers(dir.path()));
    await_processed(static_cast<long long>(jobs.size()) + 2);

    // Both records ran, each in a child of its own, and the worker survived in between.
    const std::string first = read_file(dir.path() / "pid-[1]");
    const std::string last = read_file(dir.path() / "pid-[2]");
    EXPECT_NE(first, std::to_string(::getpid()));
    EXPECT_NE(last, std::to_string(::getpid()));
    EXPECT_NE(first, last);

    auto failed = failures();
    EXPECT_EQ(failed.size(), 8u);  // all but Talk
    EXPECT_EQ(failed["Segfault"]["exception"], "Resque::DirtyExit");
    EXPECT_THAT(failed["Segfault"]["error"].get<std::string>(),
                StartsWith("Child process received unhandled signal pid "));
    EXPECT_THAT(failed["Segfault"]["error"].get<std::string>(), HasSubstr(" SIGSEGV (signal 11)"));
    EXPECT_FALSE(failed["Segfault"]["backtrace"].empty()) << "the crash handler's frames";
    EXPECT_THAT(failed["Abort"]["error"].get<std::string>(), HasSubstr(" SIGABRT (signal 6)"));
    EXPECT_EQ(failed["Exit3"]["error"], "Child process exited with status 3 without reporting");
    EXPECT_EQ(failed["Throw"]["exception"], "RuntimeError");
    EXPECT_EQ(failed["Throw"]["error"], "bad order 7");
    EXPECT_EQ(failed["Named"]["exception"], "Billing::Declined");
    EXPECT_EQ(failed["Named"]["error"], "card declined");
    EXPECT_EQ(failed["Named"]["backtrace"], json::array({"billing.cpp:12"}));
    EXPECT_EQ(failed["Hang"]["exception"], "Resque::JobTimeout");
    EXPECT_THAT(failed["Hang"]["error"].get<std::string>(),
                StartsWith("timed out after 300ms (ran "));
    EXPECT_THAT(failed["Hang"]["error"].get<std::string>(), HasSubstr("ended by SIGTERM)"));
    EXPECT_THAT(failed["IgnoreTerm"]["error"].get<std::string>(),
                HasSubstr("ended by SIGKILL after ignoring SIGTERM)"));
    EXPECT_EQ(failed["Greedy"]["exception"], "NoMemoryError");
    EXPECT_THAT(failed["Greedy"]["error"].get<std::string>(), HasSubstr("(memory limit "));

    const std::string text = log.text();
    EXPECT_THAT(text, HasSubstr("hello from the child of Talk class=Talk queue=q worker="));
    EXPECT_THAT(text, HasSubstr("a warning on stderr class=Talk"));
}

TEST_F(IsolationTest, ForkHooksRunWithResqueSemantics) {
    const auto journal = dir.path() / "hooks";
    const auto note = [journal](const std::string& text) {
        std::ofstream(journal, std::ios::app) << text << " " << ::getpid() << "\n";
    };
    Hooks hooks;
    hooks.before_first_fork([note](std::string_view) { note("before_first_fork"); });
    hooks.before_fork(
        [note](std::string_view, const Job& job) { note("before_fork " + job.class_name); });
    hooks.after_fork(
        [note](std::string_view, const Job& job) { note("after_fork " + job.class_name); });
    hooks.on_failure([note](std::string_view, const Job& job, const FailureInfo& info) {
        note("on_failure " + job.class_name + " " + info.exception);
    });
    HandlerRegistry handlers = forked_handlers(dir.path());
    push("Record", "[1]");
    push("Throw");
    push("Segfault");

    WorkerOptions thread_default = options();
    RunningWorker worker(server, thread_default, std::move(handlers), std::move(hooks));
    await_processed(3);
    worker.stop();

    std::vector<std::string> lines;
    std::istringstream text(read_file(journal));
    for (std::string line; std::getline(text, line);) lines.push_back(line);
    const std::string parent = std::to_string(::getpid());
    const std::string record_child = read_file(dir.path() / "pid-[1]");
    ASSERT_EQ(lines.size(), 9u) << read_file(journal);
    EXPECT_EQ(lines[0], "before_first_fork " + parent);
    EXPECT_EQ(lines[1], "before_fork Record " + parent);
    EXPECT_EQ(lines[2], "after_fork Record " + record_child);
    EXPECT_EQ(lines[3], "before_fork Throw " + parent);
    EXPECT_THAT(lines[4], StartsWith("after_fork Throw "));
    EXPECT_NE(lines[4], "after_fork Throw " + parent);
    // A failure the child raised: on_failure ran in the child; a crash: in the worker.
    EXPECT_THAT(lines[5], StartsWith("on_failure Throw RuntimeError "));
    EXPECT_NE(lines[5], "on_failure Throw RuntimeError " + parent);
    EXPECT_EQ(lines[6], "before_fork Segfault " + parent);
    EXPECT_THAT(lines[7], StartsWith("after_fork Segfault "));
    EXPECT_EQ(lines[8], "on_failure Segfault Resque::DirtyExit " + parent);
}

TEST_F(IsolationTest, WorkerDefaultIsolationAndTimeoutApplyToClassesWithoutTheirOwn) {
    HandlerRegistry handlers;
    handlers.add("Pid",
                 [&](const JobContext&) { std::ofstream(dir.path() / "pid") << ::getpid(); });
    handlers.add("Slow", [](const JobContext&) { std::this_thread::sleep_for(30s); });
    handlers.add("InThread",
                 [&](const JobContext&) { std::ofstream(dir.path() / "thread-pid") << ::getpid(); },
                 {Isolation::kThread, {}, {}});
    push("Pid");
    push("Slow");
    push("InThread");

    WorkerOptions forking = options();
    forking.isolation = Isolation::kFork;
    forking.job_timeout = 300ms;
    RunningWorker worker(server, forking, std::move(handlers));
    await_processed(3);

    EXPECT_NE(read_file(dir.path() / "pid"), std::to_string(::getpid()));
    EXPECT_EQ(read_file(dir.path() / "thread-pid"), std::to_string(::getpid()));
    auto failed = failures();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed["Slow"]["exception"], "Resque::JobTimeout");
}

TEST_F(IsolationTest, ThreadModeTimeoutAsksTheHandlerToStopAndIsRecorded) {
    HandlerRegistry handlers;
    std::atomic<bool> saw_stop{false};
    handlers.add("Cooperative",
                 [&](const JobContext& job) {
                     while (!job.stop.stop_requested()) std::this_thread::sleep_for(5ms);
                     saw_stop = true;
                 },
                 {Isolation::kThread, 200ms, {}});
    handlers.add("Deaf", [](const JobContext&) { std::this_thread::sleep_for(500ms); },
                 {Isolation::kThread, 100ms, {}});
    handlers.add("Quick", [](const JobContext&) {}, {Isolation::kThread, 10s, {}});
    push("Cooperative");
    push("Deaf");
    push("Quick");
    RunningWorker worker(server, options(), std::move(handlers));
    await_processed(3);

    EXPECT_TRUE(saw_stop);
    auto failed = failures();
    ASSERT_EQ(failed.size(), 2u);
    EXPECT_EQ(failed["Cooperative"]["exception"], "Resque::JobTimeout");
    EXPECT_THAT(failed["Cooperative"]["error"].get<std::string>(),
                StartsWith("timed out after 200ms (ran "));
    EXPECT_THAT(failed["Cooperative"]["error"].get<std::string>(),
                HasSubstr("asked to stop through its stop_token and returned)"));
    EXPECT_EQ(failed["Deaf"]["exception"], "Resque::JobTimeout");
}

TEST_F(IsolationTest, CliWorkTimeoutAppliesToProgramsWithoutTheirOwn) {
    const auto jobs = dir.path() / "cli-jobs.yml";
    std::ofstream(jobs) << "jobs:\n  Hang: {command: [" << (kData / "hang.sh").string()
                        << "]}\n  Quick: {command: [true]}\n";
    push("Hang");
    push("Quick");
    const ProcessResult result = run_process(
        {cli_path(), "--redis", server.url(), "work", "--queues", "q", "--jobs", jobs.string(),
         "--until-empty", "--timeout", "300ms", "--kill-grace", "0.3", "--isolation", "fork"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(stat("processed"), 2);
    auto failed = failures();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_THAT(failed["Hang"]["error"].get<std::string>(),
                StartsWith((kData / "hang.sh").string() + " timed out after 300ms (ran "));

    const ProcessResult bad = run_process(
        {cli_path(), "--redis", server.url(), "work", "--queues", "q", "--timeout", "soon"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_THAT(bad.err, HasSubstr("--timeout must be a positive duration"));
}

TEST_F(IsolationTest, WorkerRefusesExecAsItsDefaultIsolation) {
    WorkerOptions exec = options();
    exec.isolation = Isolation::kExec;
    EXPECT_THROW(WorkerPool(options_for(server), exec, HandlerRegistry{}), ConfigError);
}

}  // namespace
}  // namespace resque::test
