#pragma once

// A dashboard (web::WebServer) serving in a background thread of the test process on a
// free port, against the test's private redis-server, plus an HTTP client that speaks
// to it the way the browser app does (JSON API, CSRF header on POST).

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "resque/redis_options.hpp"
#include "web/server.hpp"

namespace resque::test {

/// A WebServer bound to 127.0.0.1:<free port>, serving until destroyed.
class RunningDashboard {
 public:
    RunningDashboard(const RedisServer& redis, web::WebOptions options = {}) {
        options.bind = "127.0.0.1";
        options.port = 0;
        prefix_ = web::normalize_prefix(options.prefix);
        server_ = std::make_unique<web::WebServer>(parse_redis_url(redis.url()), options);
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->serve(); });
    }
    ~RunningDashboard() {
        server_->stop();
        thread_.join();
    }
    RunningDashboard(const RunningDashboard&) = delete;
    RunningDashboard& operator=(const RunningDashboard&) = delete;

    [[nodiscard]] int port() const noexcept { return port_; }
    /// A client for the server (its own connection; use one per thread).
    [[nodiscard]] httplib::Client client() const {
        httplib::Client client("127.0.0.1", port_);
        client.set_read_timeout(std::chrono::seconds(30));
        return client;
    }
    /// `path` under the configured prefix.
    [[nodiscard]] std::string at(const std::string& path) const { return prefix_ + path; }

    /// The CSRF token from the page shell, as the browser app reads it.
    [[nodiscard]] std::string csrf_token(const httplib::Headers& headers = {}) const {
        auto response = client().Get(at("/").c_str(), headers);
        if (!response || response->status != 200) throw std::runtime_error("no page shell");
        std::smatch match;
        static const std::regex meta(R"re(name="csrf-token" content="([0-9a-f]+)")re");
        if (!std::regex_search(response->body, match, meta)) {
            throw std::runtime_error("page shell has no csrf-token meta tag");
        }
        return match[1];
    }

    /// GET `path` and parse the JSON body; throws unless the status is `expected`.
    [[nodiscard]] nlohmann::json get_json(const std::string& path, int expected = 200) const {
        auto response = client().Get(at(path).c_str());
        if (!response) throw std::runtime_error("no response for " + path);
        if (response->status != expected) {
            throw std::runtime_error("GET " + path + ": status " +
                                     std::to_string(response->status) + ": " + response->body);
        }
        return nlohmann::json::parse(response->body);
    }

    /// POST a JSON body to an action with the CSRF token; returns the response.
    [[nodiscard]] httplib::Result post(const std::string& action,
                                       const nlohmann::json& body) const {
        const httplib::Headers headers{{"X-CSRF-Token", csrf_token()}};
        return client().Post(at("/api/" + action).c_str(), headers, body.dump(),
                             "application/json");
    }

 private:
    std::unique_ptr<web::WebServer> server_;
    std::thread thread_;
    std::string prefix_;
    int port_ = 0;
};

/// `resque web --port 0 ...` as a child process; the port is read from its log line.
/// SIGTERM and reaped by the destructor (or by stop()).
class WebProcess {
 public:
    WebProcess(const RedisServer& redis, std::vector<std::string> extra_args,
               std::vector<std::string> env = {})
        : log_(dir_.path() / "web.log") {
        std::vector<std::string> argv{cli_path(), "web", "--redis", redis.url(), "--port", "0"};
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        pid_ = spawn_process(argv, env, log_);
        static const std::regex listening(R"(listening address=http://127\.0\.0\.1:(\d+)/)");
        wait_until([&] {
            std::smatch match;
            const std::string text = log();
            if (!std::regex_search(text, match, listening)) return false;
            port_ = std::stoi(match[1]);
            return true;
        });
        if (port_ == 0) throw std::runtime_error("resque web did not start: " + log());
    }
    ~WebProcess() { stop(); }
    WebProcess(const WebProcess&) = delete;
    WebProcess& operator=(const WebProcess&) = delete;

    [[nodiscard]] int port() const noexcept { return port_; }
    [[nodiscard]] std::string url() const {
        return "http://127.0.0.1:" + std::to_string(port_) + "/";
    }
    [[nodiscard]] std::string log() const {
        std::ifstream file(log_);
        return std::string(std::istreambuf_iterator<char>(file), {});
    }
    /// SIGTERM, then waits; returns the exit status (128 + signal if killed).
    int stop() {
        if (pid_ <= 0) return status_;
        ::kill(pid_, SIGTERM);
        int raw = 0;
        bool reaped = wait_until([&] { return ::waitpid(pid_, &raw, WNOHANG) == pid_; });
        if (!reaped) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, &raw, 0);
        }
        pid_ = -1;
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        return status_;
    }

 private:
    TempDir dir_;
    std::filesystem::path log_;
    int pid_ = -1;
    int port_ = 0;
    int status_ = -1;
};

}  // namespace resque::test
