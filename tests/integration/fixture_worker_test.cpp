// Our workers take over Redis states captured from real Resque 3.0: every job queued in
// a fixture (and every job held by a dead Ruby worker in it) is processed, with its
// payload bytes intact.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "redis_server.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

using nlohmann::json;

json read_fixture(const std::filesystem::path& path) {
    std::ifstream in(path);
    return json::parse(in);
}

// Writes every key of the captured state into `server`.
void load_state(RedisServer& server, const json& redis) {
    for (const auto& [key, entry] : redis.items()) {
        const std::string type = entry["type"];
        const json& value = entry["value"];
        if (type == "string") {
            server.command({"SET", key, value.get<std::string>()});
        } else if (type == "list" || type == "set") {
            std::vector<std::string> argv{type == "list" ? "RPUSH" : "SADD", key};
            for (const auto& item : value) argv.push_back(item.get<std::string>());
            server.command(argv);
        } else if (type == "hash") {
            for (const auto& [field, v] : value.items()) {
                server.command({"HSET", key, field, v.get<std::string>()});
            }
        } else if (type == "zset") {
            for (const auto& pair : value) {
                std::string score =
                    pair[1].is_string() ? pair[1].get<std::string>() : pair[1].dump();
                server.command({"ZADD", key, score, pair[0].get<std::string>()});
            }
        }
    }
}

std::vector<std::string> queued_payloads(const json& redis, const std::string& ns) {
    std::vector<std::string> out;
    for (const auto& [key, entry] : redis.items()) {
        if (key.rfind(ns + ":queue:", 0) != 0 || entry["type"] != "list") continue;
        for (const auto& item : entry["value"]) out.push_back(item.get<std::string>());
    }
    return out;
}

std::set<std::string> classes_of(const std::vector<std::string>& payloads) {
    std::set<std::string> out;
    for (const auto& payload : payloads) {
        auto parsed = json::parse(payload, nullptr, false);
        if (parsed.is_object() && parsed.contains("class")) out.insert(parsed["class"]);
    }
    return out;
}

class FixtureWorker : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureWorker, ProcessesEveryJobQueuedByRubyResque) {
    json fixture = read_fixture(fixtures_dir() / GetParam());
    std::string ns = GetParam().rfind("6", 0) == 0 && GetParam().find("custom") != std::string::npos
                         ? "myapp"
                         : "resque";
    RedisServer server;
    load_state(server, fixture["redis"]);
    auto expected = queued_payloads(fixture["redis"], ns);
    ASSERT_FALSE(expected.empty());

    Journal journal;
    HandlerRegistry handlers;
    for (const auto& name : classes_of(expected)) {
        handlers.add(name,
                     [&journal](const JobContext& ctx) { journal.add(std::string(ctx.payload)); });
    }
    auto options = fast_options({"*"});
    options.until_empty = true;
    auto redis = options_for(server);
    redis.key_namespace = ns;
    server.command({"DEL", ns + ":pause-all-workers"});
    WorkerPool(redis, options, std::move(handlers)).run();

    auto seen = journal.entries();
    std::multiset<std::string> seen_set(seen.begin(), seen.end());
    for (const auto& payload : expected) {
        EXPECT_EQ(seen_set.count(payload), std::count(expected.begin(), expected.end(), payload))
            << payload;
    }
    EXPECT_EQ(server.command({"KEYS", ns + ":queue:*"}), "");
}

std::vector<std::string> fixtures_with_jobs() {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir())) {
        auto name = entry.path().filename().string();
        if (entry.path().extension() != ".json" || name[0] < '0' || name[0] > '9') continue;
        json fixture = read_fixture(entry.path());
        if (!fixture.contains("redis")) continue;
        std::string ns = name.find("custom") != std::string::npos ? "myapp" : "resque";
        if (!queued_payloads(fixture["redis"], ns).empty()) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

INSTANTIATE_TEST_SUITE_P(Resque30, FixtureWorker, ::testing::ValuesIn(fixtures_with_jobs()),
                         [](const auto& info) {
                             std::string name = info.param.substr(0, info.param.size() - 5);
                             for (auto& c : name)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return name;
                         });

}  // namespace
}  // namespace resque::test
