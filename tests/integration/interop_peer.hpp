#pragma once

// node-resque as a live peer for the interop tests (interop_*_test.cpp): runs the role
// scripts in tests/interop/ (pinned by its package-lock.json, installed by
// `scripts/setup --test-peers`) against the test's private redis-server, plus the
// small readers those tests share. docs/compatibility-notes.md records what they found.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "redis/connection.hpp"
#include "redis_server.hpp"
#include "resque/client.hpp"

namespace resque::test {

/// tests/interop in the source tree.
inline std::filesystem::path interop_dir() { return RESQUE_SOURCE_DIR "/tests/interop"; }

/// Empty when node and the pinned node-resque are installed; otherwise why not, so a
/// test can skip with that reason (scripts/test always installs them).
inline std::string node_peer_missing() {
    if (!std::filesystem::exists(interop_dir() / "node_modules/node-resque/package.json")) {
        return "node-resque is not installed in tests/interop: run scripts/setup --test-peers";
    }
    if (run_process({"node", "--version"}, {}, {}, std::chrono::seconds(10)).exit_code != 0) {
        return "node is not installed: run scripts/setup --test-peers";
    }
    return {};
}

#define RESQUE_SKIP_WITHOUT_NODE_PEER()                                                          \
    do {                                                                                         \
        if (const std::string missing = ::resque::test::node_peer_missing(); !missing.empty()) { \
            GTEST_SKIP() << missing;                                                             \
        }                                                                                        \
    } while (false)

/// argv for `node tests/interop/<script>.js <args...>`.
inline std::vector<std::string> node_argv(const std::string& script,
                                          const std::vector<std::string>& args) {
    std::vector<std::string> argv{"node", (interop_dir() / (script + ".js")).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

/// Runs a peer script to completion and returns its stdout parsed as JSON (the last
/// line). Fails the test (throws) when it exits non-zero or prints no JSON.
inline nlohmann::json run_node_json(const std::string& script, const std::vector<std::string>& args,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const ProcessResult result = run_process(node_argv(script, args), {}, {}, timeout);
    if (result.exit_code != 0) {
        throw std::runtime_error(script + ".js exited " + std::to_string(result.exit_code) + ": " +
                                 result.err);
    }
    const auto end = result.out.find_last_not_of('\n');
    const auto start = end == std::string::npos ? 0 : result.out.rfind('\n', end);
    const std::string last =
        result.out.substr(start == std::string::npos ? 0 : start + 1, end - start);
    return nlohmann::json::parse(last);
}

/// Runs our CLI with `--redis <url>` appended and returns the result.
inline ProcessResult run_cli(const std::string& url, std::vector<std::string> args) {
    std::vector<std::string> argv{cli_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--redis");
    argv.push_back(url);
    return run_process(argv, {}, {}, std::chrono::seconds(30));
}

/// Runs our CLI and parses its stdout as JSON; throws when it fails.
inline nlohmann::json run_cli_json(const std::string& url, std::vector<std::string> args) {
    const ProcessResult result = run_cli(url, std::move(args));
    if (result.exit_code != 0) {
        throw std::runtime_error("resque exited " + std::to_string(result.exit_code) + ": " +
                                 result.err);
    }
    return nlohmann::json::parse(result.out);
}

/// A background child (a node-resque worker or scheduler, or one of our workers) that
/// the test owns: stop() sends SIGTERM and reaps it, the destructor SIGKILLs what is
/// left. Its output goes to a log file in a temp dir, printed when a test asks.
class PeerProcess {
 public:
    explicit PeerProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {})
        : log_(dir_.path() / "out.log"), pid_(spawn_process(argv, env, log_)) {}
    ~PeerProcess() {
        if (pid_ > 0) {
            ::kill(-pid_, SIGKILL);
            detail::reap(pid_);
        }
    }
    PeerProcess(const PeerProcess&) = delete;
    PeerProcess& operator=(const PeerProcess&) = delete;

    [[nodiscard]] int pid() const noexcept { return pid_; }

    /// Sends `signal`, waits at most `deadline` for the exit and returns its code, or -1
    /// when it had to be killed.
    int stop(int signal = SIGTERM, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, signal);
        const auto code = detail::reap_within(pid_, deadline);
        if (!code) {
            ::kill(-pid_, SIGKILL);
            detail::reap(pid_);
        }
        pid_ = -1;
        return code.value_or(-1);
    }

    /// Kills the whole process group at once, as a crash would, and reaps it.
    void crash() {
        if (pid_ <= 0) return;
        ::kill(-pid_, SIGKILL);
        detail::reap(pid_);
        pid_ = -1;
    }

    /// Whether it has exited (reaps it if so).
    bool exited() {
        if (pid_ <= 0) return true;
        if (detail::reap_within(pid_, std::chrono::milliseconds(0))) {
            pid_ = -1;
            return true;
        }
        return false;
    }

    [[nodiscard]] std::string log() const {
        std::ifstream in(log_);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

 private:
    TempDir dir_;
    std::filesystem::path log_;
    int pid_ = -1;
};

/// Every element of a list (the harness's command() joins them with '\n').
inline std::vector<std::string> list_of(const RedisServer& server, const std::string& key) {
    redis::Connection redis(parse_redis_url(server.url()));
    return redis.command({"LRANGE", key, "0", "-1"}).as_strings();
}

/// Members of a set, sorted.
inline std::set<std::string> set_of(const RedisServer& server, const std::string& key) {
    redis::Connection redis(parse_redis_url(server.url()));
    const auto members = redis.command({"SMEMBERS", key}).as_strings();
    return {members.begin(), members.end()};
}

/// Writes every key of a captured Ruby fixture's "redis" section into the database of
/// `url` (TTLs are not reproduced).
inline void load_fixture(const std::string& url, const nlohmann::json& fixture) {
    redis::Connection redis(parse_redis_url(url));
    for (const auto& [key, entry] : fixture.at("redis").items()) {
        const std::string type = entry.at("type");
        const nlohmann::json& value = entry.at("value");
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
        } else if (type == "zset") {
            command = {"ZADD", key};
            for (const auto& pair : value) {
                command.push_back(pair.at(1).get<std::string>());
                command.push_back(pair.at(0).get<std::string>());
            }
        } else {
            throw std::runtime_error("fixture key " + key + " has unsupported type " + type);
        }
        redis.command(command);
    }
}

}  // namespace resque::test
