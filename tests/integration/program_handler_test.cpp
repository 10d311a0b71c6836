// run_program against real child processes: small sh and python3 scripts written into a
// temporary directory. No Redis. Deadlines are generous; the tests assert what happened,
// not how fast.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "captured_log.hpp"
#include "redis_server.hpp"
#include "resque/errors.hpp"
#include "resque/handler.hpp"

namespace resque {
namespace {

using namespace std::chrono_literals;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr auto kPrompt = 15s;  // "returns promptly", with room for a loaded machine

std::string read_file(const std::filesystem::path& path) {
    std::ifstream input(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(input), {});
}

// True once `pid` is gone or a zombie (its new parent may be slow to reap it).
bool process_ended(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    if (text.empty()) return true;
    const auto state = text.find(") ");
    return state != std::string::npos && text[state + 2] == 'Z';
}

using test::CapturedLog;

class ProgramHandler : public ::testing::Test {
   protected:
    // Writes an executable script `name` into the temp dir and returns its path.
    std::string script(const std::string& name, const std::string& body) {
        const auto path = dir_.path() / name;
        std::ofstream(path) << body;
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        return path.string();
    }

    std::string path_of(const std::string& name) const { return (dir_.path() / name).string(); }

    void run(const ProgramSpec& spec, const std::string& args_json = R"([1,"two"])") {
        const Job job{"Archive", nlohmann::json::parse(args_json)};
        JobContext context{"mail", "host:42:mail", job, "", args_json};
        context.kill_grace = 500ms;  // SIGTERM to SIGKILL, for the programs that ignore TERM
        run_program(spec, context);
    }

    // The JobFailure running `spec` throws; fails the test if it succeeds.
    JobFailure failure_of(const ProgramSpec& spec) {
        try {
            run(spec);
        } catch (const JobFailure& failure) {
            return failure;
        }
        ADD_FAILURE() << "expected a JobFailure";
        return JobFailure("", "");
    }

    test::TempDir dir_;
};

ProgramSpec command(std::vector<std::string> argv) {
    ProgramSpec spec;
    spec.command = std::move(argv);
    return spec;
}

TEST_F(ProgramHandler, PassesArgsOnStdinAndJobVariablesInTheEnvironment) {
    const auto program = script("record.sh", R"(#!/bin/sh
cat > "$OUT/stdin"
printf '%s|%s|%s|%s|%s\n' "$RESQUE_CLASS" "$RESQUE_QUEUE" "$RESQUE_WORKER" "$EXTRA" \
    "$RESQUE_TEST_INHERITED" > "$OUT/env"
pwd > "$OUT/cwd"
)");
    std::filesystem::create_directory(path_of("work"));
    ::setenv("RESQUE_TEST_INHERITED", "from-worker", 1);
    ProgramSpec spec = command({program});
    spec.env = {{"OUT", dir_.path().string()}, {"EXTRA", "from jobs file"}};
    spec.working_dir = path_of("work");

    const std::string args = R"([12345678901234567890,"caf\u00e9 ü",{"a":[1.5,null]}])";
    run(spec, args);

    EXPECT_EQ(read_file(path_of("stdin")), args);
    EXPECT_EQ(read_file(path_of("env")), "Archive|mail|host:42:mail|from jobs file|from-worker\n");
    EXPECT_EQ(read_file(path_of("cwd")),
              std::filesystem::canonical(path_of("work")).string() + "\n");
}

TEST_F(ProgramHandler, PassesArgumentsLiterallyWithoutAShell) {
    const auto program = script("argv.py", R"(import json, sys
json.dump(sys.argv[1:], open(sys.argv[1], "w"))
)");
    run(command({"python3", program, path_of("argv.json"), "$HOME", "a b; echo x", "*"}));
    EXPECT_EQ(nlohmann::json::parse(read_file(path_of("argv.json"))),
              nlohmann::json({path_of("argv.json"), "$HOME", "a b; echo x", "*"}));
}

TEST_F(ProgramHandler, FindsABareProgramNameOnThePathFromTheJobsFile) {
    std::filesystem::create_directory(path_of("bin"));
    script("bin/resque-test-tool", "#!/bin/sh\necho ran > \"$OUT/ran\"\n");
    ProgramSpec spec = command({"resque-test-tool"});
    spec.env = {{"OUT", dir_.path().string()},
                {"PATH", path_of("bin") + ":" + std::getenv("PATH")}};

    run(spec);
    EXPECT_EQ(read_file(path_of("ran")), "ran\n");
}

TEST_F(ProgramHandler, NonZeroExitFailsWithStatusAndStderrTail) {
    const auto program = script("fail.sh", R"(#!/bin/sh
echo "reading input" >&2
echo "bad input: no such order" >&2
exit 3
)");
    const JobFailure failure = failure_of(command({program}));
    EXPECT_EQ(failure.exception_class(), "Resque::ProgramFailed");
    EXPECT_EQ(std::string(failure.what()),
              program + " exited with status 3: reading input\nbad input: no such order");
}

TEST_F(ProgramHandler, FailureMessageKeepsOnlyTheLastStderrLines) {
    const auto program = script("noisy.py", R"(import sys
for i in range(100):
    print(f"line {i:03}", file=sys.stderr)
sys.exit(1)
)");
    const std::string message = failure_of(command({"python3", program})).what();
    EXPECT_THAT(message, StartsWith("python3 exited with status 1: line 080\n"));
    EXPECT_THAT(message, EndsWith("line 099"));
    EXPECT_THAT(message, Not(HasSubstr("line 079")));
}

TEST_F(ProgramHandler, KilledBySignalNamesTheSignal) {
    const auto program = script("suicide.sh", "#!/bin/sh\necho dying >&2\nkill -KILL $$\n");
    EXPECT_EQ(std::string(failure_of(command({program})).what()),
              program + " killed by signal 9 (SIGKILL): dying");
}

TEST_F(ProgramHandler, TimeoutTerminatesTheProgram) {
    const auto program = script("slow.sh", "#!/bin/sh\nsleep 30\n");
    ProgramSpec spec = command({program});
    spec.timeout = 300ms;

    const auto started = std::chrono::steady_clock::now();
    const std::string message = failure_of(spec).what();
    EXPECT_THAT(message, StartsWith(program + " timed out after 300ms (ran "));
    EXPECT_THAT(message, EndsWith(" s, ended by SIGTERM)"));
    EXPECT_LT(std::chrono::steady_clock::now() - started, kPrompt);
}

TEST_F(ProgramHandler, TimeoutKillsAProgramThatIgnoresTerm) {
    const auto program = script("stubborn.sh", R"(#!/bin/sh
trap '' TERM
echo "ignoring TERM" >&2
sleep 30
)");
    ProgramSpec spec = command({program});
    spec.timeout = 300ms;

    const auto started = std::chrono::steady_clock::now();
    const std::string message = failure_of(spec).what();
    EXPECT_THAT(message, StartsWith(program + " timed out after 300ms (ran "));
    EXPECT_THAT(message, EndsWith(" s, ended by SIGKILL after ignoring SIGTERM): ignoring TERM"));
    EXPECT_LT(std::chrono::steady_clock::now() - started, kPrompt);
}

TEST_F(ProgramHandler, PythonProgramIgnoringTermIsKilledToo) {
    const auto program = script("stubborn.py", R"(import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(30)
)");
    ProgramSpec spec = command({"python3", program});
    spec.timeout = 300ms;
    EXPECT_THAT(failure_of(spec).what(), StartsWith("python3 timed out after 300ms"));
}

TEST_F(ProgramHandler, MegabytesOfOutputNeitherBlockNorFloodTheLog) {
    const auto program = script("chatty.py", R"(import sys
line = "x" * 99 + "\n"
for _ in range(50_000):
    sys.stdout.write(line)
sys.stderr.write(line * 10_000)
)");
    const CapturedLog log;
    ProgramSpec spec = command({"python3", program});
    spec.timeout = 60s;  // a blocked pipe would show as a timeout, not a hang

    run(spec);
    const std::string text = log.text();
    std::size_t logged = 0;
    for (auto at = text.find(" stream="); at != std::string::npos;
         at = text.find(" stream=", at + 1)) {
        ++logged;
    }
    EXPECT_LE(logged, 200u);
    EXPECT_THAT(text, HasSubstr("program output truncated"));
}

TEST_F(ProgramHandler, LogsEachOutputLineTaggedWithTheJob) {
    const auto program = script("talk.sh", "#!/bin/sh\necho hello\necho oops >&2\nprintf tail\n");
    const CapturedLog log;
    run(command({program}));

    const std::string text = log.text();
    EXPECT_THAT(text,
                HasSubstr("hello class=Archive queue=mail worker=host:42:mail stream=stdout"));
    EXPECT_THAT(text, HasSubstr("oops class=Archive queue=mail worker=host:42:mail stream=stderr"));
    EXPECT_THAT(text, HasSubstr("tail class=Archive queue=mail worker=host:42:mail stream=stdout"));
}

TEST_F(ProgramHandler, ProgramThatClosesStdinAtOnceSucceeds) {
    // Args far larger than a pipe buffer, so that writing them meets the closed pipe:
    // EPIPE, and a SIGPIPE that must not end this process.
    const std::string args = nlohmann::json::array({std::string(4 << 20, 'a')}).dump();
    const auto program = script("deaf.sh", "#!/bin/sh\nexec 0<&-\nsleep 0.2\necho done\n");
    run(command({program}), args);

    const auto python = script("deaf.py", "import os, time\nos.close(0)\ntime.sleep(0.2)\n");
    run(command({"python3", python}), args);
}

TEST_F(ProgramHandler, BackgroundGrandchildDoesNotDelayTheResultAndIsKilled) {
    const auto program = script("spawner.sh", R"(#!/bin/sh
sleep 60 &
echo $! > "$OUT/pid"
echo started
)");
    ProgramSpec spec = command({program});
    spec.env = {{"OUT", dir_.path().string()}};

    const auto started = std::chrono::steady_clock::now();
    run(spec);
    EXPECT_LT(std::chrono::steady_clock::now() - started, kPrompt);

    const pid_t grandchild = std::stoi(read_file(path_of("pid")));
    EXPECT_TRUE(test::wait_until([&] { return process_ended(grandchild); }, 10s));
}

TEST_F(ProgramHandler, ChildOutsideTheGroupHoldingThePipesDoesNotDelayTheResult) {
    const auto program = script("escape.py", R"(import os, sys, time
pid = os.fork()
if pid == 0:
    os.setsid()
    time.sleep(60)
    os._exit(0)
open(sys.argv[1], "w").write(str(pid))
)");
    const auto started = std::chrono::steady_clock::now();
    run(command({"python3", program, path_of("pid")}));
    EXPECT_LT(std::chrono::steady_clock::now() - started, kPrompt);

    ::kill(std::stoi(read_file(path_of("pid"))), SIGKILL);
}

TEST_F(ProgramHandler, MissingProgramFailsClearly) {
    const JobFailure failure = failure_of(command({"resque-no-such-program"}));
    EXPECT_EQ(failure.exception_class(), "Resque::ProgramFailed");
    EXPECT_EQ(std::string(failure.what()),
              "cannot run resque-no-such-program: No such file or directory");

    const auto absent = path_of("absent");
    EXPECT_EQ(std::string(failure_of(command({absent})).what()),
              "cannot run " + absent + ": No such file or directory");
}

TEST_F(ProgramHandler, FileThatIsNotExecutableFailsClearly) {
    const auto program = script("plain.sh", "#!/bin/sh\nexit 0\n");
    std::filesystem::permissions(
        program, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    EXPECT_EQ(std::string(failure_of(command({program})).what()),
              "cannot run " + program + ": Permission denied");
}

TEST_F(ProgramHandler, MissingWorkingDirFailsClearly) {
    ProgramSpec spec = command({"true"});
    spec.working_dir = path_of("absent");
    EXPECT_EQ(std::string(failure_of(spec).what()), "cannot run true: cannot change directory to " +
                                                        path_of("absent") +
                                                        ": No such file or directory");
}

TEST_F(ProgramHandler, ConcurrentRunsEachGetTheirOwnArgs) {
    const auto program = script("copy.sh", "#!/bin/sh\ncat > \"$1\"\n");
    std::vector<std::future<void>> runs;
    for (int i = 0; i < 8; ++i) {
        runs.push_back(std::async(std::launch::async, [&, i] {
            run(command({program, path_of("out" + std::to_string(i))}),
                "[" + std::to_string(i) + "]");
        }));
    }
    for (auto& result : runs) result.get();
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(read_file(path_of("out" + std::to_string(i))), "[" + std::to_string(i) + "]");
    }
}

TEST_F(ProgramHandler, JobsFileProgramRunsThroughTheRegistry) {
    const auto program = script("job.py", R"(import json, os, sys
args = json.load(sys.stdin)
open(os.environ["OUT"], "w").write(str(sum(args)))
)");
    std::ofstream(path_of("jobs.yml"))
        << "jobs:\n  Sum:\n    command: [python3, " << program
        << "]\n    timeout: 30s\n    env: {OUT: " << path_of("sum") << "}\n";
    const auto registry = HandlerRegistry::from_jobs_file(path_of("jobs.yml"));

    const Job job{"Sum", {1, 2, 3}};
    (*registry.find("Sum"))(JobContext{"math", "host:42:math", job, "", "[1,2,3]"});
    EXPECT_EQ(read_file(path_of("sum")), "6");
}

}  // namespace
}  // namespace resque
