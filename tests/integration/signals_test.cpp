// Signals with Resque's meanings on a real worker process (FC-02, FC-09): QUIT finishes
// the job then exits; TERM (even sent to the whole process group) lets the job finish
// within the grace period, else requeues it exactly once; USR2 pauses, CONT resumes.
// The same hold in fork and exec isolation, where USR1 also kills the job's child.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "redis_server.hpp"

namespace resque::test {
namespace {

class Signals : public ::testing::Test {
 protected:
    RedisServer server;
    TempDir logs;
    int pid = -1;

    ~Signals() override {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    std::string cmd(const std::vector<std::string>& argv) { return server.command(argv); }
    void start(int sleep_ms, const std::string& isolation = "thread",
               const std::string& jobs_file = "") {
        std::vector<std::string> argv{RESQUE_MARKER_WORKER_PATH, server.url(), "q",
                                      std::to_string(sleep_ms), isolation};
        if (!jobs_file.empty()) argv.push_back(jobs_file);
        pid = spawn_process(argv, {}, logs.path() / "worker.log");
        ASSERT_TRUE(wait_until([&] { return cmd({"SCARD", "resque:workers"}) == "1"; }));
    }
    void push(const std::string& marker) {
        cmd({"RPUSH", "resque:queue:q", R"({"class":"Marker","args":[")" + marker + R"("]})"});
    }
    void push_slow(const std::string& marker, int sleep_ms) {
        cmd({"RPUSH", "resque:queue:q",
             R"({"class":"Marker","args":[")" + marker + R"(",)" + std::to_string(sleep_ms) +
                 "]}"});
    }
    bool job_running() { return !cmd({"KEYS", "resque:worker:*:q"}).empty(); }
    // The worker's child processes (a forked job, a program), from /proc.
    std::vector<pid_t> children_of_worker() {
        std::vector<pid_t> children;
        for (const auto& task :
             std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
            std::ifstream list(task.path() / "children");
            for (pid_t child = 0; list >> child;) children.push_back(child);
        }
        return children;
    }
    static bool process_ended(pid_t child) {
        std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), {});
        const auto state = text.find(") ");
        return text.empty() || (state != std::string::npos && text[state + 2] == 'Z');
    }
    nlohmann::json only_failure() {
        EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "1");
        return nlohmann::json::parse(cmd({"LINDEX", "resque:failed", "0"}));
    }
    // Waits for the worker process to exit; returns its exit status (or -1).
    int wait_exit(std::chrono::seconds deadline = std::chrono::seconds(20)) {
        int status = 0;
        bool done = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, deadline);
        if (!done) return -1;
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    void expect_unregistered() {
        EXPECT_EQ(cmd({"SCARD", "resque:workers"}), "0");
        EXPECT_EQ(cmd({"HLEN", "resque:workers:heartbeat"}), "0");
        EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight"}), "0");
    }
};

TEST_F(Signals, QuitFinishesTheRunningJobThenExits) {
    start(800);
    push("m-1");
    ASSERT_TRUE(wait_until([&] { return job_running(); }));
    ::kill(pid, SIGQUIT);
    EXPECT_EQ(wait_exit(), 0);
    EXPECT_EQ(cmd({"LRANGE", "test:exec", "0", "-1"}), "m-1");
    EXPECT_EQ(cmd({"GET", "resque:stat:processed"}), "1");
    expect_unregistered();
}

TEST_F(Signals, TermToWholeProcessGroupLetsAShortJobFinishWithinGrace) {
    start(1000);  // the worker's grace is 2 s
    push("done");
    ASSERT_TRUE(wait_until([&] { return job_running(); }));
    ::kill(-pid, SIGTERM);
    ::kill(-pid, SIGTERM);  // a platform may repeat it
    EXPECT_EQ(wait_exit(), 0);
    EXPECT_EQ(cmd({"LRANGE", "test:exec", "0", "-1"}), "done");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
    expect_unregistered();
}

TEST_F(Signals, TermRequeuesAJobStillRunningAfterGraceExactlyOnce) {
    start(30000);
    push("m-1");
    ASSERT_TRUE(wait_until([&] { return job_running(); }));
    ::kill(pid, SIGTERM);
    EXPECT_NE(wait_exit(), -1);
    // In exactly one place: back at the head of its queue, not failed, not run.
    EXPECT_EQ(cmd({"LRANGE", "resque:queue:q", "0", "-1"}), R"({"class":"Marker","args":["m-1"]})");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
    EXPECT_EQ(cmd({"LLEN", "test:exec"}), "0");
    expect_unregistered();
}

TEST_F(Signals, Usr2PausesTakingJobsAndContResumes) {
    start(0);
    ::kill(pid, SIGUSR2);
    // The pause takes effect at once; give the worker time to wrongly take a job.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    push("held");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "1");
    ::kill(pid, SIGCONT);
    ASSERT_TRUE(wait_until([&] { return cmd({"LLEN", "test:exec"}) == "1"; }));
    ::kill(pid, SIGQUIT);
    EXPECT_EQ(wait_exit(), 0);
}

TEST_F(Signals, Usr1KillsTheForkedChildRecordsItAndTheWorkerGoesOn) {
    start(0, "fork");
    push_slow("slow", 30000);
    ASSERT_TRUE(wait_until([&] { return job_running() && !children_of_worker().empty(); }));
    const pid_t child = children_of_worker().front();
    ::kill(pid, SIGUSR1);
    ASSERT_TRUE(wait_until([&] { return cmd({"LLEN", "resque:failed"}) == "1"; }));
    const auto failure = only_failure();
    EXPECT_EQ(failure["exception"], "Resque::DirtyExit");
    EXPECT_EQ(failure["error"], "Child process received unhandled signal pid " +
                                    std::to_string(child) +
                                    " SIGKILL (signal 9): aborted by the worker (USR1 or "
                                    "shutdown)");
    EXPECT_TRUE(process_ended(child));

    push("after");
    ASSERT_TRUE(wait_until([&] { return cmd({"LRANGE", "test:exec", "0", "-1"}) == "after"; }));
    ::kill(pid, SIGQUIT);
    EXPECT_EQ(wait_exit(), 0);
}

TEST_F(Signals, Usr1KillsTheRunningProgramAndTheWorkerGoesOn) {
    const auto jobs = logs.path() / "jobs.yml";
    std::ofstream(jobs) << "jobs:\n  Sleep: {command: [sleep, '30']}\n";
    start(0, "thread", jobs.string());
    cmd({"RPUSH", "resque:queue:q", R"({"class":"Sleep","args":[]})"});
    ASSERT_TRUE(wait_until([&] { return job_running() && !children_of_worker().empty(); }));
    const pid_t child = children_of_worker().front();
    ::kill(pid, SIGUSR1);
    ASSERT_TRUE(wait_until([&] { return cmd({"LLEN", "resque:failed"}) == "1"; }));
    const auto failure = only_failure();
    EXPECT_EQ(failure["exception"], "Resque::ProgramFailed");
    EXPECT_EQ(failure["error"], "sleep aborted by the worker (USR1 or shutdown)");
    EXPECT_TRUE(process_ended(child));

    push("after");
    ASSERT_TRUE(wait_until([&] { return cmd({"LRANGE", "test:exec", "0", "-1"}) == "after"; }));
    ::kill(pid, SIGQUIT);
    EXPECT_EQ(wait_exit(), 0);
}

TEST_F(Signals, QuitWaitsForTheForkedChildToFinish) {
    start(800, "fork");
    push("m-1");
    ASSERT_TRUE(wait_until([&] { return job_running(); }));
    ::kill(pid, SIGQUIT);
    EXPECT_EQ(wait_exit(), 0);
    EXPECT_EQ(cmd({"LRANGE", "test:exec", "0", "-1"}), "m-1");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
    expect_unregistered();
}

TEST_F(Signals, TermLetsAForkedJobFinishWithinGrace) {
    start(1000, "fork");  // the worker's grace is 2 s
    push("done");
    ASSERT_TRUE(wait_until([&] { return job_running(); }));
    ::kill(-pid, SIGTERM);  // the whole process group; the child has its own
    EXPECT_EQ(wait_exit(), 0);
    EXPECT_EQ(cmd({"LRANGE", "test:exec", "0", "-1"}), "done");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
    expect_unregistered();
}

TEST_F(Signals, TermPastGraceKillsTheForkedChildAndRequeuesItsJobOnce) {
    start(0, "fork");
    push_slow("m-1", 30000);
    ASSERT_TRUE(wait_until([&] { return job_running() && !children_of_worker().empty(); }));
    const pid_t child = children_of_worker().front();
    ::kill(pid, SIGTERM);
    EXPECT_NE(wait_exit(), -1);
    EXPECT_TRUE(wait_until([&] { return process_ended(child); }, std::chrono::seconds(5)));
    EXPECT_EQ(cmd({"LRANGE", "resque:queue:q", "0", "-1"}),
              R"({"class":"Marker","args":["m-1",30000]})");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
    EXPECT_EQ(cmd({"LLEN", "test:exec"}), "0");
    expect_unregistered();
}

}  // namespace
}  // namespace resque::test
