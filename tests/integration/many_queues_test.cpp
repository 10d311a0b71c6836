// Workers over many queues: a take names only the queues that may hold jobs (those not
// popped dry since the last push notification), a few at a time, in priority order.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

#include "redis_server.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

class ManyQueues : public ::testing::Test {
 protected:
    Journal journal;

    HandlerRegistry echo_handlers() { return test::echo_handlers(journal); }
    static std::string name(int i) { return fmt::format("q{:04}", i); }
    static void enqueue(const RedisServer& server, const std::vector<QueuedJob>& jobs) {
        Client client(options_for(server));
        ASSERT_EQ(client.enqueue_many(jobs), jobs.size());
    }
};

// 1,000 queues under `*`, three jobs each, pushed before the worker starts: every job
// runs once, queue by queue in alphabetical order (Resque's expansion of `*`), each
// queue's jobs in push order.
TEST_F(ManyQueues, WildcardOverAThousandQueuesRunsEveryJobInPriorityOrder) {
    RedisServer server;
    std::vector<QueuedJob> jobs;
    std::vector<std::string> expected;
    for (int i = 999; i >= 0; --i) {
        for (int n = 0; n < 3; ++n) {
            jobs.push_back({name(i), Job{"Echo", nlohmann::json::array({n})}});
        }
    }
    for (int i = 0; i < 1000; ++i) {
        for (int n = 0; n < 3; ++n) expected.push_back(fmt::format("{}:[{}]", name(i), n));
    }
    enqueue(server, jobs);
    RunningWorker worker(server, fast_options({"*"}), echo_handlers());
    ASSERT_TRUE(wait_until([&] { return journal.size() >= 3000; }, std::chrono::seconds(60)));
    worker.stop();
    EXPECT_EQ(journal.entries(), expected);
}

// A queue popped dry earlier is looked at again as soon as a job is pushed to it, even
// while the worker is busy with a lower-priority queue: the next job it takes is the
// higher-priority one, not the rest of the lower queue.
TEST_F(ManyQueues, AQueueFoundEmptyEarlierIsTakenAgainBeforeLowerPriorityQueues) {
    RedisServer server;
    std::atomic<bool> release{false};
    HandlerRegistry handlers = echo_handlers();
    handlers.add("Hold", [&](const JobContext& ctx) {
        journal.record(ctx);
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
    WorkerOptions options = fast_options({"*"});
    options.prefetch = 1;  // strict priority between every two jobs
    options.idle_poll = std::chrono::seconds(30);  // no safety-net rescan during the test
    enqueue(server, {{"a", Job{"Echo", nlohmann::json::array({1})}}});
    RunningWorker worker(server, options, handlers);
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1; }));
    enqueue(server, {{"b", Job{"Hold", nlohmann::json::array({1})}},
                     {"b", Job{"Echo", nlohmann::json::array({2})}},
                     {"b", Job{"Echo", nlohmann::json::array({3})}}});
    ASSERT_TRUE(wait_until([&] { return journal.size() == 2; }));
    enqueue(server, {{"a", Job{"Echo", nlohmann::json::array({4})}}});
    release = true;
    ASSERT_TRUE(wait_until([&] { return journal.size() == 5; }));
    EXPECT_EQ(journal.entries(), (std::vector<std::string>{"a:[1]", "b:[1]", "a:[4]", "b:[2]",
                                                           "b:[3]"}));
}

// A server that refuses CONFIG SET cannot be asked for keyspace notifications: idle
// workers then look at every queue on each `idle_poll`, so jobs pushed to any of many
// queues after the worker went idle still run.
TEST_F(ManyQueues, WithoutNotificationsJobsPushedToAnyQueueLaterStillRun) {
    RedisServer server({.extra = {"--rename-command", "CONFIG", "\"\""}});
    WorkerOptions options = fast_options({"*"});
    options.idle_poll = std::chrono::milliseconds(50);
    std::vector<QueuedJob> first;
    for (int i = 0; i < 100; ++i) {
        first.push_back({name(i), Job{"Echo", nlohmann::json::array({i})}});
    }
    enqueue(server, first);
    RunningWorker worker(server, options, echo_handlers());
    ASSERT_TRUE(wait_until([&] { return journal.size() == 100; }, std::chrono::seconds(30)))
        << journal.size() << " of 100 ran";
    std::vector<QueuedJob> later;
    for (int i = 99; i >= 0; i -= 7) {
        later.push_back({name(i), Job{"Echo", nlohmann::json::array({1000 + i})}});
    }
    enqueue(server, later);
    ASSERT_TRUE(wait_until([&] { return journal.size() == 100 + later.size(); },
                           std::chrono::seconds(30)));
    auto entries = journal.entries();
    for (const auto& job : later) {
        auto entry = fmt::format("{}:[{}]", job.queue, job.job.args[0].get<int>());
        EXPECT_NE(std::find(entries.begin(), entries.end(), entry), entries.end()) << entry;
    }
}

}  // namespace
}  // namespace resque::test
