// Failure records and failure-list administration against a real redis-server: the
// stored format (fixture 05), retry and removal (fixtures 06, 08, 09, 28), and the field
// cases where Resque hits the wrong entry or changes numbers (FC-05, FC-06, FC-12, FC-13).

#include "resque/failure.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "failure_requeue.hpp"
#include "json/ruby_json.hpp"
#include "redis/connection.hpp"
#include "redis_server.hpp"
#include "resque/client.hpp"
#include "resque/errors.hpp"

namespace resque {
namespace {

using Json = nlohmann::json;

Json read_fixture(const std::string& name) {
    std::ifstream in(test::fixtures_dir() / name);
    if (!in) throw std::runtime_error("cannot open fixture " + name);
    return Json::parse(in);
}

// The one entry fixture 05 stored in resque:failed.
std::string fixture05_entry() {
    return read_fixture("05-job-failed.json")["redis"]["resque:failed"]["value"][0];
}

FailureRecord record_for(std::string payload, std::string queue = "q") {
    FailureRecord record;
    record.failed_at = "2026/12/03 12:37:59 UTC";
    record.payload_json = std::move(payload);
    record.exception = "RuntimeError";
    record.error = "boom";
    record.backtrace = {"app/jobs.rb:1:in `perform'"};
    record.worker = "vm:1:" + queue;
    record.queue = std::move(queue);
    return record;
}

// Failure F<i> of FC-12: a job whose only argument is "f<i>".
std::string numbered(int i) {
    return record_for(R"({"class":"Echo","args":["f)" + std::to_string(i) + R"("]})").encode();
}

const std::regex kZonedTime(R"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d [A-Z+\-0-9]+)");
const std::regex kZonelessTime(R"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)");

// ---- the record format, no Redis ------------------------------------------------------

TEST(FailureRecordFormat, EncodeMatchesFixture05StoredBytes) {
    const std::string stored = fixture05_entry();
    FailureRecord record;
    record.failed_at = "2026/12/03 12:37:59 UTC";
    record.payload_json = R"({"class":"FailingJob","args":["bad",7]})";
    record.exception = "ArgumentError";
    record.error = "boom: bad input ünïcødé [\"bad\", 7]";
    record.backtrace = {"app/jobs.rb:26:in `perform'"};
    record.worker = "vm:18708:high";
    record.queue = "high";
    EXPECT_EQ(record.encode(), stored);
}

TEST(FailureRecordFormat, DecodeThenEncodeReproducesFixture05) {
    const std::string stored = fixture05_entry();
    const FailureRecord record = FailureRecord::decode(stored);
    EXPECT_EQ(record.failed_at, "2026/12/03 12:37:59 UTC");
    EXPECT_EQ(record.payload_json, R"({"class":"FailingJob","args":["bad",7]})");
    EXPECT_EQ(record.class_name(), "FailingJob");
    EXPECT_EQ(record.exception, "ArgumentError");
    EXPECT_EQ(record.worker, "vm:18708:high");
    EXPECT_EQ(record.queue, "high");
    EXPECT_FALSE(record.retried_at);
    EXPECT_EQ(record.encode(), stored);
}

TEST(FailureRecordFormat, RetriedAtComesLast) {
    FailureRecord record = record_for(R"({"class":"A","args":[]})");
    record.retried_at = "2026/12/03 12:38:00 UTC";
    const std::string text = record.encode();
    EXPECT_TRUE(text.ends_with(R"(,"queue":"q","retried_at":"2026/12/03 12:38:00 UTC"})")) << text;
    EXPECT_EQ(FailureRecord::decode(text).retried_at, "2026/12/03 12:38:00 UTC");
}

// FC-05 (c): an error message with invalid bytes is stored as valid UTF-8 JSON.
TEST(FailureRecordFormat, InvalidUtf8IsReplacedSoTheRecordIsValidJson) {
    FailureRecord record = record_for(R"({"class":"A","args":[]})");
    record.error = "bad \xFF\xFE bytes";
    record.backtrace = {"frame \xC3\x28"};
    record.worker = "vm:1:\x80";
    const std::string text = record.encode();

    EXPECT_TRUE(json::is_valid_utf8(text));
    const Json parsed = Json::parse(text);
    EXPECT_NE(parsed["error"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
    EXPECT_EQ(FailureRecord::decode(text).error, parsed["error"].get<std::string>());
}

TEST(FailureRecordFormat, PayloadThatIsNotJsonIsStoredAsAString) {
    const FailureRecord record = record_for("{\"class\":\"Echo\",\"args\":");
    const std::string text = record.encode();
    const Json parsed = Json::parse(text);
    EXPECT_EQ(parsed["payload"], "{\"class\":\"Echo\",\"args\":");
    EXPECT_EQ(FailureRecord::decode(text).class_name(), "");
}

TEST(FailureRecordFormat, PayloadKeepsBigIntegersAndFloatsAsWritten) {
    const std::string payload =
        R"({"class":"A","args":[9007199254740993,18446744073709551616,1.0,1.5e-07]})";
    const std::string text = record_for(payload).encode();
    EXPECT_NE(text.find(payload), std::string::npos) << text;
    EXPECT_EQ(FailureRecord::decode(text).payload_json, payload);
}

TEST(FailureRecordFormat, DecodeToleratesMissingAndOddFields) {
    const FailureRecord record =
        FailureRecord::decode(R"({"failed_at":1796308500,"payload":"raw","backtrace":[1]})");
    EXPECT_EQ(record.failed_at, "1796308500");
    EXPECT_EQ(record.payload_json, R"("raw")");
    EXPECT_EQ(record.backtrace, std::vector<std::string>{"1"});
    EXPECT_EQ(record.worker, "");
    EXPECT_EQ(record.class_name(), "");
    EXPECT_THROW((void)FailureRecord::decode("[1]"), PayloadError);
    EXPECT_THROW((void)FailureRecord::decode("not json"), PayloadError);
}

TEST(FailureRequeue, RetriedAtFollowsTheBackendFormat) {
    const auto now = ruby_time::Clock::now();
    EXPECT_TRUE(std::regex_match(detail::retried_at(now, FailureBackendKind::kRedis), kZonedTime));
    EXPECT_TRUE(std::regex_match(detail::retried_at(now, FailureBackendKind::kRedisMultiQueue),
                                 kZonelessTime));
}

TEST(FailureRequeue, WithRetriedAtAppendsOrReplacesKeepingOtherBytes) {
    EXPECT_EQ(detail::with_retried_at(R"({"a":1, "b" : [2]})", "T1"),
              R"({"a":1, "b" : [2],"retried_at":"T1"})");
    EXPECT_EQ(detail::with_retried_at(R"({"retried_at":"T0","z":null})", "T1"),
              R"({"retried_at":"T1","z":null})");
    EXPECT_EQ(detail::with_retried_at("{}", "T1"), R"({"retried_at":"T1"})");
}

TEST(FailureRequeue, PayloadKeepsClassAndArgsOnly) {
    const auto requeue = detail::requeue_of(
        record_for(R"({"args":[1.0, 18446744073709551616],"class":"A::B","x":1})", "mail")
            .encode());
    EXPECT_EQ(requeue.queue, "mail");
    EXPECT_EQ(requeue.payload, R"({"class":"A::B","args":[1.0,18446744073709551616]})");
    EXPECT_EQ(detail::requeue_of(record_for(R"({"class":"A"})").encode()).payload,
              R"({"class":"A","args":[]})");
    EXPECT_FALSE(detail::try_requeue_of(record_for(R"({"class":"A","args":{}})").encode()));
    EXPECT_FALSE(detail::try_requeue_of(record_for(R"({"class":"A","args":[]})", "").encode()));
}

// ---- failure lists in Redis -----------------------------------------------------------

class FailureAdmin : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = std::make_unique<test::RedisServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override { server_->flush(); }

    static RedisOptions options() { return parse_redis_url(server_->url()); }
    static std::vector<std::string> list(const std::string& key) {
        redis::Connection redis(options());
        return redis.command({"LRANGE", key, "0", "-1"}).as_strings();
    }
    static void push(const std::string& key, const std::vector<std::string>& entries) {
        redis::Connection redis(options());
        std::vector<std::string> argv{"RPUSH", key};
        argv.insert(argv.end(), entries.begin(), entries.end());
        redis.command(argv);
    }
    static std::string run(const std::vector<std::string>& argv) { return server_->command(argv); }
    static void push_numbered(int count) {
        std::vector<std::string> entries;
        for (int i = 0; i < count; ++i) entries.push_back(numbered(i));
        push("resque:failed", entries);
    }

    Client client_{options()};
    static std::unique_ptr<test::RedisServer> server_;
};

std::unique_ptr<test::RedisServer> FailureAdmin::server_;

// Fixture 06: the entry stays with retried_at added; a fresh payload is queued.
TEST_F(FailureAdmin, RetryKeepsEntryWithRetriedAtAndQueuesFreshPayload) {
    const std::string stored = fixture05_entry();
    push("resque:failed", {stored});

    ASSERT_TRUE(client_.retry_failure(0));
    EXPECT_EQ(list("resque:queue:high"),
              std::vector<std::string>{R"({"class":"FailingJob","args":["bad",7]})"});
    EXPECT_EQ(run({"SISMEMBER", "resque:queues", "high"}), "1");

    const std::string updated = list("resque:failed").at(0);
    const std::string prefix = stored.substr(0, stored.size() - 1) + R"(,"retried_at":")";
    ASSERT_EQ(updated.rfind(prefix, 0), 0u) << updated;
    const std::string stamp = updated.substr(prefix.size(), updated.size() - prefix.size() - 2);
    EXPECT_TRUE(std::regex_match(stamp, kZonedTime)) << stamp;
    EXPECT_TRUE(updated.ends_with("\"}"));

    // A second retry rewrites retried_at in place rather than adding another.
    ASSERT_TRUE(client_.retry_failure(0));
    const std::string again = list("resque:failed").at(0);
    EXPECT_EQ(again.rfind(prefix, 0), 0u) << again;
    EXPECT_EQ(Json::parse(again).size(), 8u);
    EXPECT_EQ(client_.queue_size("high"), 2);
}

// FC-06: big integers and float spellings survive a retry byte for byte.
TEST_F(FailureAdmin, BigIntegersSurviveRetryByteForByte) {
    const std::string args =
        "[9007199254740993,-9223372036854775808,18446744073709551615,1480696115606304699,1.0,"
        "0.1]";
    push("resque:failed", {record_for(R"({"class":"AlwaysRaise","args":)" + args + "}").encode()});

    ASSERT_TRUE(client_.retry_failure(0));
    EXPECT_EQ(list("resque:queue:q"),
              std::vector<std::string>{R"({"class":"AlwaysRaise","args":)" + args + "}"});
    const auto entry = client_.failure_at(0);
    ASSERT_TRUE(entry);
    EXPECT_NE(entry->raw.find(args), std::string::npos) << entry->raw;
}

TEST_F(FailureAdmin, RetryDropsExtraPayloadKeysAndRecanonicalizesArgs) {
    push("resque:failed",
         {record_for(R"({"class":"A", "args": [ 1 , {"b":2, "a":"\u00fc"} ], "jid":"x"})")
              .encode()});
    ASSERT_TRUE(client_.retry_failure(0));
    EXPECT_EQ(list("resque:queue:q"),
              std::vector<std::string>{R"({"class":"A","args":[1,{"b":2,"a":"ü"}]})"});
}

TEST_F(FailureAdmin, RetryOfAnEntryNamingNoJobThrowsAndWritesNothing) {
    push("resque:failed", {record_for("not-json").encode(), "garbage"});
    EXPECT_THROW(client_.retry_failure(0), PayloadError);
    EXPECT_THROW(client_.retry_failure(1), PayloadError);
    EXPECT_EQ(run({"EXISTS", "resque:queue:q"}), "0");
    EXPECT_FALSE(client_.retry_failure(2));  // past the end
}

// Fixtures 27 and 28: the multi-queue backend's lists and its zoneless retried_at.
TEST_F(FailureAdmin, MultiQueueListsAreListedAndRetriedWithoutZone) {
    push("resque:high_failed", {record_for(R"({"class":"A","args":["multi"]})", "high").encode()});
    run({"SADD", "resque:failed_queues", "high_failed"});

    EXPECT_EQ(client_.failure_queues(), (std::vector<std::string>{"failed", "high_failed"}));
    EXPECT_EQ(client_.failure_count("high_failed"), 1);
    EXPECT_EQ(client_.failure_count(), 0);

    ASSERT_TRUE(client_.retry_failure(0, std::nullopt, "high_failed"));
    const auto retried = FailureRecord::decode(list("resque:high_failed").at(0)).retried_at;
    ASSERT_TRUE(retried);
    EXPECT_TRUE(std::regex_match(*retried, kZonelessTime)) << *retried;
    EXPECT_EQ(list("resque:queue:high"),
              std::vector<std::string>{R"({"class":"A","args":["multi"]})"});
}

TEST_F(FailureAdmin, RefusesNamesThatAreNotFailureLists) {
    EXPECT_THROW((void)client_.failures(0, 10, "queues"), UsageError);
    EXPECT_THROW((void)client_.clear_failures("queue:high"), UsageError);
    EXPECT_THROW((void)client_.failure_count("_failed"), UsageError);
}

TEST_F(FailureAdmin, ListsPagesWithIndexesAndRawTextIncludingUnreadableEntries) {
    push_numbered(3);
    push("resque:failed", {"not json"});

    const auto page = client_.failures(1, 10);
    ASSERT_EQ(page.size(), 3u);
    EXPECT_EQ(page[0].index, 1u);
    EXPECT_EQ(page[0].raw, numbered(1));
    EXPECT_EQ(page[0].failure_queue, "failed");
    EXPECT_EQ(page[0].record.payload_json, R"({"class":"Echo","args":["f1"]})");
    EXPECT_EQ(page[2].raw, "not json");
    EXPECT_EQ(page[2].record.failed_at, "");

    EXPECT_EQ(client_.failure_at(3)->raw, "not json");
    EXPECT_FALSE(client_.failure_at(4));
    EXPECT_EQ(client_.failure_count(), 4);
}

// FC-13: a class filter scans with bounded work per call and resumes from a cursor.
TEST_F(FailureAdmin, FindFailuresScansInBoundedChunksAndResumes) {
    std::vector<std::string> entries;
    const char* classes[] = {"A", "B", "C"};
    for (int i = 0; i < 1200; ++i) {
        entries.push_back(record_for(std::string(R"({"class":")") + classes[i % 3] +
                                     R"(","args":[)" + std::to_string(i) + "]}")
                              .encode());
    }
    push("resque:failed", entries);
    const FailureFilter only_b{"B", "", ""};

    auto [first, next] = client_.find_failures(only_b, 0, 10);
    ASSERT_EQ(first.size(), 10u);
    EXPECT_EQ(first[0].index, 1u);
    EXPECT_EQ(first[9].index, 28u);
    EXPECT_EQ(next, 29);

    auto [bounded, after_limit] = client_.find_failures(only_b, 29, 1000, 100);
    EXPECT_EQ(bounded.size(), 33u);  // indexes 31, 34, ... 127
    EXPECT_EQ(after_limit, 129);

    auto [rest, done] = client_.find_failures(only_b, 129, 1000);
    EXPECT_EQ(rest.size(), 357u);
    EXPECT_EQ(done, -1);
    EXPECT_EQ(first.size() + bounded.size() + rest.size(), 400u);

    const FailureFilter none{"B", "other-queue", ""};
    EXPECT_TRUE(client_.find_failures(none, 0, 10).first.empty());
}

// FC-12, first scenario: operator A rendered page 2, operator B removed index 3, then A
// retries the row labelled f25 (rendered index 25, now holding f26).
TEST_F(FailureAdmin, RetryWithStaleIndexIsRefusedAndNeverHitsTheNeighbour) {
    push_numbered(30);
    const auto page = client_.failures(20, 10);
    ASSERT_EQ(page[5].raw, numbered(25));

    ASSERT_TRUE(client_.remove_failure(3, numbered(3)));
    EXPECT_FALSE(client_.retry_failure(25, page[5].raw));
    EXPECT_EQ(run({"EXISTS", "resque:queue:q"}), "0");
    EXPECT_EQ(list("resque:failed").at(25), numbered(26));  // untouched

    // At its new index the same identity check succeeds, and f25 is what gets queued.
    ASSERT_TRUE(client_.retry_failure(24, page[5].raw));
    EXPECT_EQ(list("resque:queue:q"),
              std::vector<std::string>{R"({"class":"Echo","args":["f25"]})"});
}

TEST_F(FailureAdmin, RemoveChecksIdentityAndRemovesExactlyThatEntry) {
    push_numbered(30);
    EXPECT_FALSE(client_.remove_failure(3, numbered(4)));
    EXPECT_EQ(client_.failure_count(), 30);

    EXPECT_TRUE(client_.remove_failure(3, numbered(3)));
    EXPECT_TRUE(client_.remove_failure(27));  // f28, without a check, as Resque does
    std::vector<std::string> expected;
    for (int i = 0; i < 30; ++i) {
        if (i != 3 && i != 28) expected.push_back(numbered(i));
    }
    EXPECT_EQ(list("resque:failed"), expected);
    EXPECT_FALSE(client_.remove_failure(28));
}

// Fixture 09 removes with an empty-string placeholder; ours must not eat a real "" entry.
TEST_F(FailureAdmin, RemoveLeavesEqualLookingEntriesAlone) {
    push("resque:failed", {"", numbered(1), "", numbered(1)});
    EXPECT_TRUE(client_.remove_failure(3, numbered(1)));
    EXPECT_EQ(list("resque:failed"), (std::vector<std::string>{"", numbered(1), ""}));
}

// FC-12, second scenario: new failures arriving during "retry all" stay in the list.
TEST_F(FailureAdmin, RetryAllRequeuesEachPresentEntryOnceAndKeepsNewcomers) {
    constexpr int kPresent = 5000;
    push_numbered(kPresent);

    long long requeued = 0;
    std::jthread operator_a([&] { requeued = client_.retry_all_failures(); });
    // Newcomers are pushed once retrying has begun, i.e. after the entries were counted.
    ASSERT_TRUE(test::wait_until([&] { return run({"EXISTS", "resque:queue:q"}) == "1"; }));
    std::vector<std::string> newcomers;
    for (int i = 0; i < 5; ++i) newcomers.push_back(numbered(100000 + i));
    push("resque:failed", newcomers);
    operator_a.join();

    EXPECT_EQ(requeued, kPresent);
    EXPECT_EQ(list("resque:failed"), newcomers);
    const auto queued = list("resque:queue:q");
    ASSERT_EQ(queued.size(), static_cast<std::size_t>(kPresent));
    for (int i = 0; i < kPresent; ++i) {
        ASSERT_EQ(queued[i], R"({"class":"Echo","args":["f)" + std::to_string(i) + R"("]})");
    }
}

// Another operator keeps removing entries near the head while "retry all" runs: each
// entry ends up exactly once requeued, removed by the other operator, or kept.
TEST_F(FailureAdmin, RetryAllCompletesWhileAnotherOperatorRemovesNearTheHead) {
    constexpr int kPresent = 3000;
    std::vector<std::string> entries{"garbage"};
    for (int i = 1; i < kPresent; ++i) entries.push_back(numbered(i));
    push("resque:failed", entries);

    std::vector<std::string> removed;
    std::jthread operator_b([&](std::stop_token stop) {
        Client other(options());
        while (!stop.stop_requested()) {
            for (long long index : {1, 2, 7}) {
                const auto entry = other.failure_at(index);
                if (entry && other.remove_failure(index, entry->raw)) removed.push_back(entry->raw);
            }
        }
    });
    const long long requeued = client_.retry_all_failures();
    operator_b.request_stop();
    operator_b.join();

    EXPECT_EQ(list("resque:failed"), std::vector<std::string>{"garbage"});
    const auto queued = list("resque:queue:q");
    EXPECT_EQ(requeued, static_cast<long long>(queued.size()));
    EXPECT_EQ(queued.size() + removed.size(), static_cast<std::size_t>(kPresent - 1));
    std::set<std::string> seen;
    for (const auto& raw : removed) {
        EXPECT_TRUE(seen.insert(FailureRecord::decode(raw).payload_json).second) << raw;
    }
    for (const auto& payload : queued) EXPECT_TRUE(seen.insert(payload).second) << payload;
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kPresent - 1));
}

// The entries "retry all" keeps gather at the head; another operator removing them
// meanwhile must not make it skip or repeat any job.
TEST_F(FailureAdmin, RetryAllCopesWithKeptEntriesRemovedMeanwhile) {
    constexpr int kJobs = 3000;
    std::vector<std::string> entries;
    for (int i = 0; i < 40; ++i) entries.push_back("garbage-" + std::to_string(i));
    for (int i = 0; i < kJobs; ++i) entries.push_back(numbered(i));
    push("resque:failed", entries);

    std::jthread operator_b([&](std::stop_token stop) {
        Client other(options());
        while (!stop.stop_requested()) {
            const auto entry = other.failure_at(0);
            if (entry && entry->raw.starts_with("garbage")) other.remove_failure(0, entry->raw);
        }
    });
    EXPECT_EQ(client_.retry_all_failures(), kJobs);
    operator_b.request_stop();
    operator_b.join();

    for (const auto& left : list("resque:failed")) EXPECT_TRUE(left.starts_with("garbage"));
    const auto queued = list("resque:queue:q");
    ASSERT_EQ(queued.size(), static_cast<std::size_t>(kJobs));
    for (int i = 0; i < kJobs; ++i) {
        ASSERT_EQ(queued[i], R"({"class":"Echo","args":["f)" + std::to_string(i) + R"("]})");
    }
}

TEST_F(FailureAdmin, RetryAllKeepsEntriesNamingNoJobInOrder) {
    push("resque:failed", {"garbage", numbered(1), record_for("not-json").encode(), numbered(3)});
    EXPECT_EQ(client_.retry_all_failures(), 2);
    EXPECT_EQ(list("resque:failed"),
              (std::vector<std::string>{"garbage", record_for("not-json").encode()}));
    EXPECT_EQ(client_.queue_size("q"), 2);
    EXPECT_EQ(client_.retry_all_failures(), 0);
}

TEST_F(FailureAdmin, ClearFailuresReturnsCountAndEmptiesTheList) {
    push_numbered(1200);
    EXPECT_EQ(client_.clear_failures(), 1200);
    EXPECT_EQ(run({"EXISTS", "resque:failed"}), "0");
    EXPECT_EQ(client_.clear_failures(), 0);
}

// Fixture 08: entries having retried_at are removed, the others stay in order.
TEST_F(FailureAdmin, ClearRetriedRemovesOnlyRetriedEntries) {
    push_numbered(1100);
    for (int index : {0, 499, 500, 501, 1099}) ASSERT_TRUE(client_.retry_failure(index));

    EXPECT_EQ(client_.clear_retried_failures(), 5);
    std::vector<std::string> expected;
    for (int i = 0; i < 1100; ++i) {
        if (i != 0 && i != 499 && i != 500 && i != 501 && i != 1099) {
            expected.push_back(numbered(i));
        }
    }
    EXPECT_EQ(list("resque:failed"), expected);
    EXPECT_EQ(client_.clear_retried_failures(), 0);
}

}  // namespace
}  // namespace resque
