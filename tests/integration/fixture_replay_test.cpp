// Replays steps captured from Ruby Resque 3.0 (../shared/fixtures/resque-3.0): load the
// database a fixture recorded before a step, perform the step's client calls through our
// Client, and compare the whole database with what Resque left, byte for byte.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis_server.hpp"
#include "resque/client.hpp"

namespace resque {
namespace {

using Json = nlohmann::json;

Json read_fixture(const std::string& name) {
    std::ifstream in(test::fixtures_dir() / (name + ".json"));
    if (!in) throw std::runtime_error("cannot open fixture " + name);
    return Json::parse(in);
}

// retried_at holds the time of the retry, which no replay can reproduce: every stored
// string has its value replaced.
Json mask_retried_at(Json value) {
    static const std::regex kRetriedAt(R"re("retried_at":"[^"]*")re");
    if (value.is_string()) {
        return std::regex_replace(value.get<std::string>(), kRetriedAt, R"("retried_at":"<time>")");
    }
    if (value.is_structured()) {
        for (auto& item : value) item = mask_retried_at(item);
    }
    return value;
}

class FixtureReplay : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = std::make_unique<test::RedisServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override { server_->flush(); }

    static RedisOptions options() { return parse_redis_url(server_->url()); }

    // Writes every key of a fixture's "redis" section (TTLs are not reproduced).
    static void load(const Json& fixture) {
        redis::Connection redis(options());
        for (const auto& [key, entry] : fixture.at("redis").items()) {
            const std::string type = entry.at("type");
            const Json& value = entry.at("value");
            redis::Command command;
            if (type == "string") {
                command = {"SET", key, value.get<std::string>()};
            } else if (type == "list" || type == "set") {
                command = {type == "list" ? "RPUSH" : "SADD", key};
                for (const auto& item : value) command.push_back(item);
            } else if (type == "hash") {
                command = {"HSET", key};
                for (const auto& [field, text] : value.items()) {
                    command.push_back(field);
                    command.push_back(text);
                }
            } else {
                FAIL() << "fixture key " << key << " has unsupported type " << type;
            }
            redis.command(command);
        }
    }

    // The whole database in the fixtures' shape: key -> {type, value}.
    static Json dump(bool mask) {
        redis::Connection redis(options());
        Json state = Json::object();
        for (const auto& key : redis.command({"KEYS", "*"}).as_strings()) {
            const std::string type = redis.command({"TYPE", key}).as_string();
            Json value;
            if (type == "string") {
                value = redis.command({"GET", key}).as_string();
            } else if (type == "list") {
                value = redis.command({"LRANGE", key, "0", "-1"}).as_strings();
            } else if (type == "set") {
                auto members = redis.command({"SMEMBERS", key}).as_strings();
                std::sort(members.begin(), members.end());
                value = members;
            } else if (type == "hash") {
                const auto flat = redis.command({"HGETALL", key}).as_strings();
                value = Json::object();
                for (std::size_t i = 0; i + 1 < flat.size(); i += 2) value[flat[i]] = flat[i + 1];
            } else {
                value = "<" + type + ">";
            }
            state[key] = {{"type", type}, {"value", value}};
        }
        return mask ? mask_retried_at(state) : state;
    }

    // The fixture's database without TTLs, in the shape `dump` returns.
    static Json expected_state(const Json& fixture, bool mask) {
        Json state = Json::object();
        for (const auto& [key, entry] : fixture.at("redis").items()) {
            state[key] = {{"type", entry.at("type")}, {"value", entry.at("value")}};
        }
        return mask ? mask_retried_at(state) : state;
    }

    static void expect_state(const Json& fixture, bool mask = false) {
        const Json ours = dump(mask);
        const Json theirs = expected_state(fixture, mask);
        for (const auto& [key, entry] : theirs.items()) {
            ASSERT_TRUE(ours.contains(key)) << "missing key " << key;
            EXPECT_EQ(ours[key], entry) << "key " << key;
        }
        for (const auto& [key, entry] : ours.items()) {
            EXPECT_TRUE(theirs.contains(key)) << "extra key " << key << " = " << entry.dump();
        }
    }

    Client client_{options()};
    static std::unique_ptr<test::RedisServer> server_;
};

std::unique_ptr<test::RedisServer> FixtureReplay::server_;

// Fixture 01: Resque.enqueue / enqueue_to / push onto five queues. Ruby takes the queue
// from the class; here the same queue names are given explicitly.
TEST_F(FixtureReplay, Fixture01EnqueueTwoQueues) {
    const Json fixture = read_fixture("01-enqueue-two-queues");
    ASSERT_EQ(fixture.at("actions").size(), 5u);

    client_.enqueue("high", Job{"SimpleJob", Json::array({1, "two"})});
    client_.enqueue("low", Job{"SimpleJob", Json::array({{{"k", "v"}, {"sym_key", "sym_value"}}})});
    client_.enqueue("nested", Job{"Deep::Nested::NamespacedJob", Json::array({"x"})});
    client_.enqueue("from_method", Job{"MethodQueueJob", Json::array()});
    client_.push_raw("raw", R"({"class":"SimpleJob","args":[42]})");

    expect_state(fixture);
}

// Fixtures 13 -> 14: Resque.dequeue(SimpleJob, 1, 'a') => 2; Resque.dequeue(OtherJob) => 2.
TEST_F(FixtureReplay, Fixture14Dequeued) {
    load(read_fixture("13-before-dequeue"));
    EXPECT_EQ(client_.dequeue("high", "SimpleJob", Json::array({1, "a"})), 2u);
    EXPECT_EQ(client_.dequeue("high", "OtherJob"), 2u);
    expect_state(read_fixture("14-dequeued"));
}

// Fixtures 05 -> 06: Resque::Failure.requeue(0).
TEST_F(FixtureReplay, Fixture06FailureRetried) {
    load(read_fixture("05-job-failed"));
    ASSERT_TRUE(client_.retry_failure(0));
    expect_state(read_fixture("06-failure-retried"), /*mask=*/true);
}

// Fixtures 07 -> 08: Resque::Failure.clear_retried.
TEST_F(FixtureReplay, Fixture08ClearRetried) {
    load(read_fixture("07-failed-again"));
    EXPECT_EQ(client_.clear_retried_failures(), 1);
    expect_state(read_fixture("08-failure-clear-retried"));
}

// Fixtures 08 -> 09: Resque::Failure.remove(0).
TEST_F(FixtureReplay, Fixture09FailureRemoved) {
    load(read_fixture("08-failure-clear-retried"));
    ASSERT_TRUE(client_.remove_failure(0));
    expect_state(read_fixture("09-failure-removed"));
}

// Fixtures 25 -> 26: enqueue_to('doomed'), remove_queue('doomed'), remove_queue('high').
TEST_F(FixtureReplay, Fixture26RemoveQueue) {
    load(read_fixture("25-unpaused-processed"));
    client_.enqueue("doomed", Job{"SimpleJob", Json::array({"x"})});
    client_.remove_queue("doomed");
    client_.remove_queue("high");
    expect_state(read_fixture("26-remove-queue"));
}

// Fixtures 27 -> 28: RedisMultiQueue requeue(0, 'high_failed'), retried_at without zone.
TEST_F(FixtureReplay, Fixture28MultiQueueFailureRequeued) {
    load(read_fixture("27-redis-multi-queue-failure"));
    ASSERT_TRUE(client_.retry_failure(0, std::nullopt, "high_failed"));
    expect_state(read_fixture("28-multi-queue-failure-requeued"), /*mask=*/true);
    EXPECT_EQ(client_.failure_count("high_failed"), 1);
}

}  // namespace
}  // namespace resque
