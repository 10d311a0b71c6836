// Signals with Resque's meanings on a real worker process (FC-02, FC-09): QUIT finishes
// the job then exits; TERM (even sent to the whole process group) lets the job finish
// within the grace period, else requeues it exactly once; USR2 pauses, CONT resumes.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

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
    void start(int sleep_ms) {
        pid =
            spawn_process({RESQUE_MARKER_WORKER_PATH, server.url(), "q", std::to_string(sleep_ms)},
                          {}, logs.path() / "worker.log");
        ASSERT_TRUE(wait_until([&] { return cmd({"SCARD", "resque:workers"}) == "1"; }));
    }
    void push(const std::string& marker) {
        cmd({"RPUSH", "resque:queue:q", R"({"class":"Marker","args":[")" + marker + R"("]})"});
    }
    bool job_running() { return !cmd({"KEYS", "resque:worker:*:q"}).empty(); }
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

}  // namespace
}  // namespace resque::test
