// The Redis states captured from Ruby Resque 3.0 and resque-scheduler 5.0
// (../shared/fixtures/resque-3.0) read three ways: what Ruby's API reported at capture
// time (each fixture's "api_view_after_step"), node-resque's Queue API, and our Client
// and CLI. Every fixture goes into its own database of one redis-server and one node
// process reads them all. Where node-resque cannot agree, the assertion states what
// docs/compatibility-notes.md says it does instead.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "interop_peer.hpp"

namespace resque {
namespace {

using nlohmann::json;

struct Fixture {
    std::string name;
    json data;
    std::string key_namespace;  // the prefix of its keys: "resque", or e.g. "myapp"
};

// Fixtures holding a database (NN-name.json with a "redis" section), in file order.
std::vector<Fixture> database_fixtures() {
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(test::fixtures_dir())) {
        const std::string name = entry.path().filename().string();
        if (std::regex_match(name, std::regex(R"(\d\d-.*\.json)"))) paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());

    std::vector<Fixture> fixtures;
    for (const auto& path : paths) {
        std::ifstream in(path);
        json data = json::parse(in);
        if (!data.contains("redis")) continue;
        std::string ns = "resque";
        const auto& keys = data.at("redis");
        const bool has_resque =
            std::any_of(keys.items().begin(), keys.items().end(),
                        [](const auto& item) { return item.key().starts_with("resque:"); });
        if (!has_resque && !keys.empty())
            ns = keys.items().begin().key().substr(0, keys.items().begin().key().find(':'));
        fixtures.push_back({path.stem().string(), std::move(data), ns});
    }
    return fixtures;
}

std::string db_url(const test::RedisServer& server, std::size_t db) {
    return "redis://127.0.0.1:" + std::to_string(server.port()) + "/" + std::to_string(db);
}

// node-resque answers counters as strings and leaves out keys that do not exist.
long long node_counter(const json& stats, const std::string& name) {
    return stats.contains(name) ? std::stoll(stats.at(name).get<std::string>()) : 0;
}

// node-resque holds every number as a double (docs/compatibility-notes.md, entry 2):
// Ruby's 12345678901234567890 reads as 12345678901234567000 there. Values are compared
// after the same conversion on both sides.
json as_javascript_numbers(json value) {
    if (value.is_number()) return value.get<double>();
    if (value.is_structured()) {
        for (auto& item : value) item = as_javascript_numbers(item);
    }
    return value;
}

std::set<std::string> as_set(const json& array) {
    std::set<std::string> out;
    for (const auto& item : array) out.insert(item.get<std::string>());
    return out;
}

// What each reader agrees on for one fixture; `theirs` is node-resque's snapshot.
void compare_queues(Client& ours, const json& ruby, const json& theirs) {
    const json& info = ruby.at("Resque.info (servers omitted)");
    const std::vector<std::string> queues = ours.queues();
    EXPECT_EQ(json(queues), ruby.at("Resque.queues"));
    EXPECT_EQ(theirs.at("queues"), ruby.at("Resque.queues"));

    long long node_pending = 0;
    for (const auto& queue : queues) {
        const long long size = ours.queue_size(queue);
        EXPECT_EQ(theirs.at("lengths").at(queue), size) << queue;
        node_pending += theirs.at("lengths").at(queue).get<long long>();
        json payloads = json::array();
        for (const auto& raw : ours.peek(queue, 0, size)) payloads.push_back(json::parse(raw));
        EXPECT_EQ(as_javascript_numbers(theirs.at("queued").at(queue)),
                  as_javascript_numbers(payloads))
            << queue;
    }
    EXPECT_EQ(node_pending, info.at("pending").get<long long>());
}

void compare_workers(Client& ours, const json& ruby, const json& theirs) {
    std::set<std::string> our_ids, our_working, their_ids;
    for (const auto& worker : ours.workers()) {
        our_ids.insert(worker.id);
        if (worker.working()) our_working.insert(worker.id);
        // Per-worker counters are Resque's keys on both sides.
        EXPECT_EQ(node_counter(theirs.at("stats"), "processed:" + worker.id), worker.processed);
        EXPECT_EQ(node_counter(theirs.at("stats"), "failed:" + worker.id), worker.failed);
    }
    for (const auto& [name, queues] : theirs.at("workers").items()) {
        their_ids.insert(name + ":" + queues.get<std::string>());
    }
    EXPECT_EQ(our_ids, as_set(ruby.at("Resque.workers")));
    EXPECT_EQ(their_ids, our_ids);
    EXPECT_EQ(our_working, as_set(ruby.at("Resque.working")));

    // node-resque files a running job under the record's "worker" field, which Resque's
    // record lacks: every worker shows as "started", the job (if any) as "undefined".
    const json& working_on = theirs.at("workingOn");
    for (const auto& [name, queues] : theirs.at("workers").items()) {
        EXPECT_EQ(working_on.at(name), "started") << name;
    }
    EXPECT_EQ(working_on.contains("undefined"), !our_working.empty());
}

void compare_failures(Client& ours, const json& ruby, const json& theirs) {
    const long long count = ours.failure_count("failed");
    EXPECT_EQ(theirs.at("failedCount"), count);
    EXPECT_EQ(ruby.at("Resque::Failure.count"), count);  // no fixture mixes backends there

    const auto entries = ours.failures(0, count);
    ASSERT_EQ(theirs.at("failed").size(), entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const FailureRecord& record = entries[i].record;
        const json& node = theirs.at("failed")[i];
        EXPECT_EQ(node.at("failed_at"), record.failed_at) << i;
        EXPECT_EQ(node.at("exception"), record.exception) << i;
        EXPECT_EQ(node.at("error"), record.error) << i;
        EXPECT_EQ(node.at("worker"), record.worker) << i;
        EXPECT_EQ(node.at("queue"), record.queue) << i;
        EXPECT_EQ(node.at("backtrace"), json(record.backtrace)) << i;
        EXPECT_EQ(as_javascript_numbers(node.at("payload")),
                  as_javascript_numbers(json::parse(record.payload_json)))
            << i;
    }
}

void compare_stats(Client& ours, const std::string& url, const std::string& ns, const json& ruby,
                   const json& theirs) {
    const json& info = ruby.at("Resque.info (servers omitted)");
    const Stats stats = ours.stats();
    EXPECT_EQ(stats.processed, info.at("processed").get<long long>());
    EXPECT_EQ(stats.failed, info.at("failed").get<long long>());
    EXPECT_EQ(stats.pending, info.at("pending").get<long long>());
    EXPECT_EQ(stats.queues, info.at("queues").get<long long>());
    EXPECT_EQ(stats.workers, info.at("workers").get<long long>());
    EXPECT_EQ(stats.working, info.at("working").get<long long>());
    EXPECT_EQ(node_counter(theirs.at("stats"), "processed"), stats.processed);
    EXPECT_EQ(node_counter(theirs.at("stats"), "failed"), stats.failed_stat);

    const json cli = test::run_cli_json(url, {"stats", "--json", "--namespace", ns});
    EXPECT_EQ(cli.at("processed"), stats.processed);
    EXPECT_EQ(cli.at("failed"), stats.failed);
    EXPECT_EQ(cli.at("pending"), stats.pending);
}

// Delayed jobs as node-resque reads resque-scheduler's layout: one timestamp (in ms) per
// `delayed:<epoch>` list, plus a NaN (JSON null) for the `delayed:last_enqueued_at`
// hash, which its key pattern also matches.
void compare_delayed(const json& fixture, const std::string& ns, const json& theirs) {
    std::multiset<long long> expected;
    std::size_t not_timestamps = 0;
    json lists = json::object();
    const std::regex delayed_key("^" + ns + R"(:delayed:(.*)$)");
    for (const auto& [key, entry] : fixture.at("redis").items()) {
        std::smatch match;
        if (!std::regex_match(key, match, delayed_key)) continue;
        const std::string suffix = match[1];
        if (suffix.find_first_not_of("0123456789") != std::string::npos) {
            ++not_timestamps;
            continue;
        }
        expected.insert(std::stoll(suffix) * 1000);
        json tasks = json::array();
        for (const auto& raw : entry.at("value"))
            tasks.push_back(json::parse(raw.get<std::string>()));
        lists[std::to_string(std::stoll(suffix) * 1000)] = tasks;
    }

    std::multiset<long long> timestamps;
    std::size_t nans = 0;
    for (const auto& value : theirs.at("timestamps")) {
        if (value.is_null()) {
            ++nans;
        } else {
            timestamps.insert(value.get<long long>());
        }
    }
    EXPECT_EQ(timestamps, expected);
    EXPECT_EQ(nans, not_timestamps);
    for (const auto& [at, tasks] : lists.items())
        EXPECT_EQ(theirs.at("delayed").at(at), tasks) << at;
}

TEST(InteropFixtures, RubyNodeAndWeReadEveryCapturedStateAlike) {
    RESQUE_SKIP_WITHOUT_NODE_PEER();
    const std::vector<Fixture> fixtures = database_fixtures();
    ASSERT_GE(fixtures.size(), 50u);
    test::RedisServer server(
        test::RedisServerOptions{.extra = {"--databases", std::to_string(fixtures.size())}});

    std::string namespaces;
    for (std::size_t i = 0; i < fixtures.size(); ++i) {
        test::load_fixture(db_url(server, i), fixtures[i].data);
        namespaces += (i ? "," : "") + fixtures[i].key_namespace;
    }
    const json node = test::run_node_json(
        "queue", {db_url(server, 0), "snapshot-dbs", std::to_string(fixtures.size()), namespaces});
    ASSERT_EQ(node.at("dbs").size(), fixtures.size());
    EXPECT_EQ(node.at("errors"), json::array());

    for (std::size_t i = 0; i < fixtures.size(); ++i) {
        const Fixture& fixture = fixtures[i];
        SCOPED_TRACE(fixture.name);
        RedisOptions options = parse_redis_url(db_url(server, i));
        options.key_namespace = fixture.key_namespace;
        Client ours(options);
        const json& ruby = fixture.data.at("api_view_after_step");
        const json& theirs = node.at("dbs")[i];

        compare_queues(ours, ruby, theirs);
        compare_workers(ours, ruby, theirs);
        compare_failures(ours, ruby, theirs);
        compare_stats(ours, db_url(server, i), fixture.key_namespace, ruby, theirs);
        compare_delayed(fixture.data, fixture.key_namespace, theirs);
    }
}

// resque-scheduler writes delayed payloads as {"class","args","queue"} and indexes them
// by those exact bytes; node-resque searches by {"class","queue","args"}, so its
// scheduledAt/delDelayed find nothing that Ruby (or a Ruby-compatible writer) scheduled.
TEST(InteropFixtures, NodeCannotFindDelayedJobsByArgsThatResqueSchedulerWrote) {
    RESQUE_SKIP_WITHOUT_NODE_PEER();
    std::ifstream in(test::fixtures_dir() / "50-delayed-jobs-enqueued.json");
    const json fixture = json::parse(in);
    test::RedisServer server;
    test::load_fixture(server.url(), fixture);
    const std::string index =
        R"(resque:timestamps:{"class":"SimpleJob","args":[1,"delayed"],"queue":"high"})";
    ASSERT_EQ(test::set_of(server, index),
              (std::set<std::string>{"delayed:1796309100", "delayed:1796309220"}));

    const json at = test::run_node_json(
        "queue", {server.url(), "scheduledAt", "high", "SimpleJob", R"([1,"delayed"])"});
    EXPECT_EQ(at.at("timestamps"), json::array());
    const json removed = test::run_node_json(
        "queue", {server.url(), "delDelayed", "high", "SimpleJob", R"([1,"delayed"])"});
    EXPECT_EQ(removed.at("timestamps"), json::array());
    EXPECT_EQ(server.command({"LLEN", "resque:delayed:1796309100"}), "2");
}

}  // namespace
}  // namespace resque
