// Fault injection under load, bounded in time, loopback only (issue #3): workers
// SIGKILLed at random moments, redis-server killed and restarted with AOF, connections
// cut by a proxy. After each: every job enqueued ran at least once; duplicates are
// reported, never a loss.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <random>
#include <set>
#include <thread>

#include "redis_server.hpp"
#include "resque/client.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

constexpr int kJobs = 1500;

class FaultInjection : public ::testing::Test {
   protected:
    TempDir logs;
    std::vector<int> workers;

    ~FaultInjection() override {
        for (int pid : workers) stop(pid, SIGKILL);
    }
    static void stop(int pid, int sig) {
        ::kill(pid, sig);
        ::waitpid(pid, nullptr, 0);
    }
    int start_worker(const std::string& url, int sleep_ms = 1) {
        static int n = 0;
        return spawn_process({RESQUE_MARKER_WORKER_PATH, url, "q", std::to_string(sleep_ms)}, {},
                             logs.path() / ("worker-" + std::to_string(n++) + ".log"));
    }
    static void enqueue_markers(RedisServer& server, int jobs_total = kJobs) {
        Client client(options_for(server));
        std::vector<QueuedJob> jobs;
        for (int i = 0; i < jobs_total; ++i) {
            jobs.push_back({"q", {"Marker", {"m" + std::to_string(i)}}});
        }
        client.enqueue_many(jobs);
    }
    // Waits until the queue is drained and nothing is held, then checks every marker.
    // A job an idle worker's blocking pop has just moved sits in its landing list, in
    // neither the queue nor a batch, until the worker adopts it: that counts as held.
    static void expect_every_job_ran(RedisServer& server, const std::string& what,
                                     int jobs_total = kJobs) {
        ASSERT_TRUE(wait_until(
            [&] {
                return server.command({"LLEN", "resque:queue:q"}) == "0" &&
                       server.command({"HLEN", "resque:cpp:inflight"}) == "0" &&
                       server.command({"KEYS", "resque:cpp:landing:*"}).empty();
            },
            std::chrono::seconds(60)))
            << what << ": queue " << server.command({"LLEN", "resque:queue:q"}) << " held "
            << server.command({"HLEN", "resque:cpp:inflight"}) << " by ["
            << server.command({"HKEYS", "resque:cpp:inflight"}) << "]; registered workers ["
            << server.command({"SMEMBERS", "resque:workers"}) << "]; landing ["
            << server.command({"KEYS", "resque:cpp:landing:*"}) << "]";
        std::string all = server.command({"LRANGE", "test:exec", "0", "-1"});
        std::multiset<std::string> ran;
        std::size_t start = 0;
        while (start < all.size()) {
            auto end = all.find('\n', start);
            ran.insert(all.substr(start, end - start));
            if (end == std::string::npos) break;
            start = end + 1;
        }
        int missing = 0;
        for (int i = 0; i < jobs_total; ++i) missing += ran.count("m" + std::to_string(i)) == 0;
        EXPECT_EQ(missing, 0) << what;
        EXPECT_EQ(server.command({"LLEN", "resque:failed"}), "0") << what;
        std::cout << "[ fault    ] " << what << ": " << jobs_total << " jobs, " << ran.size()
                  << " executions, " << ran.size() - (jobs_total - missing) << " duplicates, "
                  << missing << " lost\n";
    }
};

TEST_F(FaultInjection, WorkersKilledAtRandomMomentsLoseNoJob) {
    RedisServer server;
    enqueue_markers(server);
    for (int i = 0; i < 2; ++i) workers.push_back(start_worker(server.url()));

    std::mt19937 random(12345);
    for (int round = 0; round < 15; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 200));
        auto& victim = workers[random() % workers.size()];
        stop(victim, SIGKILL);
        victim = start_worker(server.url());
    }
    expect_every_job_ran(server, "SIGKILL x15");
}

// Jobs that take no time are taken in batches of up to 64: a worker killed mid-batch
// leaves every job of its batch to recovery.
TEST_F(FaultInjection, WorkersKilledWhileHoldingPrefetchedBatchesLoseNoJob) {
    constexpr int kFastJobs = 20000;
    RedisServer server;
    enqueue_markers(server, kFastJobs);
    for (int i = 0; i < 2; ++i) workers.push_back(start_worker(server.url(), 0));

    std::mt19937 random(6789);
    for (int round = 0; round < 8; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20 + random() % 80));
        auto& victim = workers[random() % workers.size()];
        stop(victim, SIGKILL);
        victim = start_worker(server.url(), 0);
    }
    expect_every_job_ran(server, "SIGKILL x8 during batched drain", kFastJobs);
}

TEST_F(FaultInjection, RedisKilledAndRestartedWithAofLosesNoJob) {
    RedisServer server(RedisServerOptions{.append_only = true, .extra = {}});
    enqueue_markers(server);
    for (int i = 0; i < 2; ++i) workers.push_back(start_worker(server.url()));
    for (int round = 0; round < 3; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        server.kill();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        server.start();
    }
    expect_every_job_ran(server, "redis SIGKILL+restart x3");
}

TEST_F(FaultInjection, ConnectionsCutByProxyLoseNoJob) {
    RedisServer server;
    TcpProxy proxy(server.port());
    enqueue_markers(server);
    for (int i = 0; i < 2; ++i) workers.push_back(start_worker(proxy.url()));
    for (int round = 0; round < 5; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        proxy.cut();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        proxy.restore();
    }
    expect_every_job_ran(server, "proxy cut x5");
}

}  // namespace
}  // namespace resque::test
