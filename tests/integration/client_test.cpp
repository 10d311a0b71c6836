// Client against a real redis-server: what enqueue, dequeue and the inspection calls
// write and read, compared byte for byte with what Ruby Resque writes.

#include "resque/client.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "redis_server.hpp"
#include "resque/errors.hpp"

namespace resque {
namespace {

using nlohmann::json;

class ClientIntegration : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = std::make_unique<test::RedisServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override { server_->flush(); }

    static RedisOptions options() { return parse_redis_url(server_->url()); }
    static Client make_client(Hooks hooks = {}) { return Client(options(), std::move(hooks)); }

    // Exact list contents (the harness's text rendering would merge elements with '\n').
    static std::vector<std::string> list(const std::string& key) {
        redis::Connection redis(options());
        return redis.command({"LRANGE", key, "0", "-1"}).as_strings();
    }
    static std::string run(const std::vector<std::string>& argv) { return server_->command(argv); }

    static std::unique_ptr<test::RedisServer> server_;
};

std::unique_ptr<test::RedisServer> ClientIntegration::server_;

TEST_F(ClientIntegration, EnqueueWritesResqueExactPayloadAndRegistersQueue) {
    Client client = make_client();
    EXPECT_TRUE(client.enqueue("high", Job{"SimpleJob", json::array({1, "two"})}));

    EXPECT_EQ(list("resque:queue:high"),
              std::vector<std::string>{R"({"class":"SimpleJob","args":[1,"two"]})"});
    EXPECT_EQ(run({"SMEMBERS", "resque:queues"}), "high");
}

TEST_F(ClientIntegration, EnqueueUsesTheConfiguredNamespace) {
    RedisOptions custom = options();
    custom.key_namespace = "myapp";
    Client client(custom);
    ASSERT_TRUE(client.enqueue("q", Job{"Echo", json::array()}));

    EXPECT_EQ(list("myapp:queue:q"), std::vector<std::string>{R"({"class":"Echo","args":[]})"});
    EXPECT_EQ(run({"EXISTS", "resque:queue:q"}), "0");
}

TEST_F(ClientIntegration, PeeksJobPushedRawInResqueFormat) {
    const std::string ruby = R"({"class":"Deep::Nested::NamespacedJob","args":["x",{"k":1}]})";
    run({"SADD", "resque:queues", "nested"});
    run({"RPUSH", "resque:queue:nested", ruby});
    Client client = make_client();

    EXPECT_EQ(client.queue_size("nested"), 1);
    ASSERT_EQ(client.peek("nested"), std::vector<std::string>{ruby});
    const Job job = decode_payload(client.peek("nested").at(0));
    EXPECT_EQ(job.class_name, "Deep::Nested::NamespacedJob");
    EXPECT_EQ(job.args, json::parse(R"(["x",{"k":1}])"));
    EXPECT_TRUE(client.peek("nested", 1, 5).empty());
}

TEST_F(ClientIntegration, PushRawStoresPayloadVerbatim) {
    Client client = make_client();
    client.push_raw("raw", R"({"class":"SimpleJob","args":[42],"extra":true})");
    EXPECT_EQ(list("resque:queue:raw"),
              std::vector<std::string>{R"({"class":"SimpleJob","args":[42],"extra":true})"});
    EXPECT_EQ(run({"SMEMBERS", "resque:queues"}), "raw");
}

// FC-05 (e): a client must refuse, not store, what it cannot encode.
TEST_F(ClientIntegration, EnqueueRejectsInvalidUtf8AndNanWritingNothing) {
    Client client = make_client();
    EXPECT_THROW(client.enqueue("q", Job{"Echo", json::array({std::string("\xC3\x28")})}),
                 PayloadError);
    EXPECT_THROW(client.enqueue("q", Job{"Echo", json::array({std::nan("")})}), PayloadError);
    EXPECT_THROW(
        client.enqueue("q", Job{"Echo", json::array({std::numeric_limits<double>::infinity()})}),
        PayloadError);
    EXPECT_THROW(client.enqueue("q", Job{"Echo", json::object()}), PayloadError);
    EXPECT_THROW(client.enqueue("q", Job{"", json::array()}), PayloadError);
    EXPECT_THROW(client.enqueue("", Job{"Echo", json::array()}), UsageError);
    EXPECT_EQ(run({"DBSIZE"}), "0");
}

TEST_F(ClientIntegration, EnqueueKeepsValidNonAsciiAndControlCharactersRubyStyle) {
    Client client = make_client();
    ASSERT_TRUE(client.enqueue(
        "q", Job{"Echo", json::array({"Zürich", "日本", "\xF0\x9F\x98\x80", "a/b\t\x01"})}));
    EXPECT_EQ(list("resque:queue:q").at(0),
              "{\"class\":\"Echo\",\"args\":[\"Zürich\",\"日本\",\"\xF0\x9F\x98\x80\","
              "\"a/b\\t\\u0001\"]}");
}

// FC-07 (a): an oversized job is refused with its size named, and nothing is pushed.
TEST_F(ClientIntegration, EnqueueRejectsTwentyMebibyteArgumentNamingItsSize) {
    Client client = make_client();
    const std::string huge(20 * 1024 * 1024, 'x');
    try {
        client.enqueue("q", Job{"Echo", json::array({huge})});
        FAIL() << "expected PayloadError";
    } catch (const PayloadError& error) {
        EXPECT_NE(std::string(error.what()).find("bytes"), std::string::npos) << error.what();
        EXPECT_NE(std::string(error.what()).find("20971"), std::string::npos) << error.what();
    }
    EXPECT_EQ(run({"DBSIZE"}), "0");
}

TEST_F(ClientIntegration, EnqueueManyRejectsBatchWithOneBadJobNamingItsIndex) {
    Client client = make_client();
    std::vector<QueuedJob> jobs;
    for (int i = 0; i < 30; ++i) jobs.push_back({"q", Job{"Echo", json::array({i})}});
    jobs[17].job.args = json::array({std::nan("")});
    try {
        (void)client.enqueue_many(jobs);
        FAIL() << "expected PayloadError";
    } catch (const PayloadError& error) {
        EXPECT_EQ(std::string(error.what()).rfind("job 17: ", 0), 0u) << error.what();
    }
    EXPECT_EQ(run({"DBSIZE"}), "0");
}

TEST_F(ClientIntegration, EnqueueManyPushesEveryJobInOrderAcrossQueuesAndBatches) {
    Client client = make_client();
    std::vector<QueuedJob> jobs;
    for (int i = 0; i < 2500; ++i) {
        jobs.push_back({(i / 7) % 2 == 0 ? "even" : "odd", Job{"Echo", json::array({i})}});
    }
    EXPECT_EQ(client.enqueue_many(jobs, 1000), 2500u);

    std::vector<std::string> even, odd;
    for (const auto& queued : jobs) {
        (queued.queue == "even" ? even : odd).push_back(encode_payload(queued.job));
    }
    EXPECT_EQ(list("resque:queue:even"), even);
    EXPECT_EQ(list("resque:queue:odd"), odd);
    EXPECT_EQ(client.queues(), (std::vector<std::string>{"even", "odd"}));
}

TEST_F(ClientIntegration, EnqueueManyRunsHooksPerJobAndSkipsVetoed) {
    Hooks hooks;
    int after = 0;
    hooks.before_enqueue([](std::string_view, const Job& job) { return job.args[0] != 2; });
    hooks.after_enqueue([&](std::string_view, const Job&) { ++after; });
    Client client = make_client(std::move(hooks));
    std::vector<QueuedJob> jobs;
    for (int i = 0; i < 5; ++i) jobs.push_back({"q", Job{"Echo", json::array({i})}});

    EXPECT_EQ(client.enqueue_many(jobs, 2), 4u);
    EXPECT_EQ(after, 4);
    EXPECT_EQ(list("resque:queue:q"),
              (std::vector<std::string>{
                  R"({"class":"Echo","args":[0]})", R"({"class":"Echo","args":[1]})",
                  R"({"class":"Echo","args":[3]})", R"({"class":"Echo","args":[4]})"}));
}

TEST_F(ClientIntegration, BeforeEnqueueVetoWritesNothingAndSkipsAfterHooks) {
    Hooks hooks;
    int before = 0, after = 0;
    hooks.before_enqueue([&](std::string_view, const Job&) {
        ++before;
        return false;
    });
    hooks.before_enqueue([&](std::string_view, const Job&) {
        ++before;
        return true;
    });
    hooks.after_enqueue([&](std::string_view, const Job&) { ++after; });
    Client client = make_client(std::move(hooks));

    EXPECT_FALSE(client.enqueue("q", Job{"Echo", json::array({1})}));
    EXPECT_EQ(before, 2);  // every before hook runs, as in Resque
    EXPECT_EQ(after, 0);
    EXPECT_EQ(run({"DBSIZE"}), "0");
}

TEST_F(ClientIntegration, HooksMayUseTheSameClient) {
    Hooks hooks;
    Client* self = nullptr;
    hooks.after_enqueue([&](std::string_view queue, const Job&) {
        if (queue == "first") self->push_raw("audit", R"({"class":"Audit","args":[]})");
    });
    Client client = make_client(std::move(hooks));
    self = &client;
    ASSERT_TRUE(client.enqueue("first", Job{"Echo", json::array()}));
    EXPECT_EQ(client.queue_size("audit"), 1);
}

// Fixtures 13 and 14: dequeue with args removes byte-identical copies; without args,
// every payload of the class.
TEST_F(ClientIntegration, DequeueMatchesResqueFixtures13And14) {
    Client client = make_client();
    client.enqueue("high", Job{"SimpleJob", json::array({1, "a"})});
    client.enqueue("high", Job{"SimpleJob", json::array({1, "a"})});
    client.enqueue("high", Job{"SimpleJob", json::array({2, "b"})});
    client.enqueue("high", Job{"OtherJob", json::array({1, "a"})});
    client.enqueue("high", Job{"OtherJob", json::array({3})});

    EXPECT_EQ(client.dequeue("high", "SimpleJob", json::array({1, "a"})), 2u);
    EXPECT_EQ(client.dequeue("high", "OtherJob"), 2u);
    EXPECT_EQ(list("resque:queue:high"),
              std::vector<std::string>{R"({"class":"SimpleJob","args":[2,"b"]})"});
    EXPECT_EQ(client.dequeue("high", "SimpleJob", json::array({9})), 0u);
}

TEST_F(ClientIntegration, DequeueWithoutArgsSkipsUndecodableEntries) {
    run({"RPUSH", "resque:queue:q", "not-json", R"({"class":"Other","args":[1]})",
         R"({"class":"Echo","args":{"a":1}})", R"({"class":"Echo")"});
    Client client = make_client();
    EXPECT_EQ(client.dequeue("q", "Echo"), 1u);
    EXPECT_EQ(list("resque:queue:q"),
              (std::vector<std::string>{"not-json", R"({"class":"Other","args":[1]})",
                                        R"({"class":"Echo")"}));
}

TEST_F(ClientIntegration, BeforeDequeueVetoRemovesNothing) {
    Hooks hooks;
    int after = 0;
    hooks.before_dequeue([](std::string_view, const Job& job) { return job.class_name != "Keep"; });
    hooks.after_dequeue([&](std::string_view, const Job&) { ++after; });
    Client client = make_client(std::move(hooks));
    client.enqueue("q", Job{"Keep", json::array()});
    client.enqueue("q", Job{"Drop", json::array()});

    EXPECT_EQ(client.dequeue("q", "Keep"), 0u);
    EXPECT_EQ(client.dequeue("q", "Drop", json::array()), 1u);
    EXPECT_EQ(after, 1);
    EXPECT_EQ(list("resque:queue:q"), std::vector<std::string>{R"({"class":"Keep","args":[]})"});
}

TEST_F(ClientIntegration, QueuesAreSortedWithSizes) {
    Client client = make_client();
    client.enqueue("zeta", Job{"Echo", json::array()});
    client.enqueue("alpha", Job{"Echo", json::array()});
    client.enqueue("alpha", Job{"Echo", json::array()});
    run({"SADD", "resque:queues", "empty"});

    EXPECT_EQ(client.queues(), (std::vector<std::string>{"alpha", "empty", "zeta"}));
    const std::map<std::string, long long> sizes{{"alpha", 2}, {"empty", 0}, {"zeta", 1}};
    EXPECT_EQ(client.queue_sizes(), sizes);
}

TEST_F(ClientIntegration, RemoveQueueUnregistersAndDeletesJobs) {
    Client client = make_client();
    client.enqueue("gone", Job{"Echo", json::array()});
    client.enqueue("kept", Job{"Echo", json::array()});
    client.remove_queue("gone");
    EXPECT_EQ(client.queues(), std::vector<std::string>{"kept"});
    EXPECT_EQ(run({"EXISTS", "resque:queue:gone"}), "0");
}

TEST_F(ClientIntegration, ClearQueueReturnsCountAndKeepsQueueRegistered) {
    Client client = make_client();
    for (int i = 0; i < 3; ++i) client.enqueue("q", Job{"Echo", json::array({i})});
    EXPECT_EQ(client.clear_queue("q"), 3);
    EXPECT_EQ(client.queue_size("q"), 0);
    EXPECT_EQ(client.queues(), std::vector<std::string>{"q"});
    EXPECT_EQ(client.clear_queue("q"), 0);
}

TEST_F(ClientIntegration, WorkersReadsEveryRecordAndSplitsIdIntoThreeParts) {
    const std::string busy = "vm:18714:slow";
    const std::string odd = "host:42:a:b,c";
    const std::string job = R"({"queue":"slow","run_at":"2026-12-03T12:38:03Z",)"
                            R"("payload":{"class":"SlowJob","args":[]}})";
    run({"SADD", "resque:workers", busy, odd});
    run({"SET", "resque:worker:" + busy, job});
    run({"SET", "resque:worker:" + busy + ":started", "2026-12-03 12:38:03 +0000"});
    run({"HSET", "resque:workers:heartbeat", busy, "2026-12-03T12:38:03+00:00"});
    run({"SET", "resque:stat:processed:" + busy, "7"});
    run({"SET", "resque:stat:failed:" + busy, "2"});

    const auto workers = make_client().workers();
    ASSERT_EQ(workers.size(), 2u);
    const WorkerInfo& w = workers[1];
    EXPECT_EQ(w.id, busy);
    EXPECT_EQ(w.host, "vm");
    EXPECT_EQ(w.pid, "18714");
    EXPECT_EQ(w.queues, "slow");
    EXPECT_EQ(w.job_json, job);
    EXPECT_TRUE(w.working());
    EXPECT_EQ(w.started, "2026-12-03 12:38:03 +0000");
    EXPECT_EQ(w.heartbeat, "2026-12-03T12:38:03+00:00");
    EXPECT_EQ(w.processed, 7);
    EXPECT_EQ(w.failed, 2);

    const WorkerInfo& idle = workers[0];
    EXPECT_EQ(idle.id, odd);
    EXPECT_EQ(idle.pid, "42");
    EXPECT_EQ(idle.queues, "a:b,c");
    EXPECT_FALSE(idle.working());
    EXPECT_EQ(idle.processed, 0);
}

TEST_F(ClientIntegration, StatsAddUpAsResqueInfoDoes) {
    Client client = make_client();
    client.enqueue("a", Job{"Echo", json::array()});
    client.enqueue("a", Job{"Echo", json::array()});
    client.enqueue("b", Job{"Echo", json::array()});
    run({"SADD", "resque:workers", "vm:1:a", "vm:2:b"});
    run({"SET", "resque:worker:vm:1:a", R"({"queue":"a","run_at":"x","payload":{}})"});
    run({"SET", "resque:stat:processed", "9"});
    run({"SET", "resque:stat:failed", "4"});
    run({"RPUSH", "resque:failed", "{}", "{}"});

    const Stats stats = client.stats();
    EXPECT_EQ(stats.pending, 3);
    EXPECT_EQ(stats.processed, 9);
    EXPECT_EQ(stats.failed, 2);
    EXPECT_EQ(stats.failed_stat, 4);
    EXPECT_EQ(stats.queues, 2);
    EXPECT_EQ(stats.workers, 2);
    EXPECT_EQ(stats.working, 1);
}

TEST_F(ClientIntegration, StatsOfAnEmptyDatabaseAreZero) {
    const Stats stats = make_client().stats();
    EXPECT_EQ(stats.pending + stats.processed + stats.failed + stats.failed_stat, 0);
    EXPECT_EQ(stats.queues + stats.workers + stats.working, 0);
}

TEST_F(ClientIntegration, PauseFlagIsWhatRubyWorkersRead) {
    Client client = make_client();
    EXPECT_FALSE(client.paused());
    client.set_paused(true);
    EXPECT_EQ(run({"GET", "resque:pause-all-workers"}), "true");
    EXPECT_TRUE(client.paused());

    run({"SET", "resque:pause-all-workers", "  TRUE\n"});
    EXPECT_TRUE(client.paused());
    run({"SET", "resque:pause-all-workers", "yes"});
    EXPECT_FALSE(client.paused());

    client.set_paused(false);
    EXPECT_EQ(run({"EXISTS", "resque:pause-all-workers"}), "0");
}

TEST_F(ClientIntegration, OneClientServesSeveralThreads) {
    Client client = make_client();
    constexpr int kThreads = 8;
    constexpr int kPerThread = 200;
    {
        std::vector<std::jthread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&client, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    client.enqueue("q", Job{"Echo", json::array({t, i})});
                    (void)client.queue_size("q");
                }
            });
        }
    }
    EXPECT_EQ(client.queue_size("q"), kThreads * kPerThread);
}

}  // namespace
}  // namespace resque
