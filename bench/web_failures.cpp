// FC-13 timings: the failed list at scale, through the library and over HTTP.
// Loads N failures (~1 KiB each, 20 classes) into namespace "bench" of a private Redis,
// reports p50/p95 of a page of 20 through Client::failures (first, middle, last), then
// starts the dashboard in-process on a free port and reports the first page, the last
// page, the first request of a class filter, and one "clear all".
//
//   web_failures REDIS_URL [N=200000]   (writes to namespace "bench"; clears its list)

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "resque/client.hpp"
#include "resque/logging.hpp"
#include "web/server.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::string failure(int i) {
    return nlohmann::json{
        {"failed_at", "2026/12/03 12:00:00 UTC"},
        {"payload",
         {{"class", "Job" + std::to_string(i % 20)}, {"args", {i, std::string(800, 'x')}}}},
        {"exception", "RuntimeError"},
        {"error", "failure " + std::to_string(i)},
        {"backtrace", {"a.rb:1", "b.rb:2"}},
        {"worker", "host:1:q"},
        {"queue", "q"}}
        .dump();
}

void load(resque::redis::Connection& redis, int count) {
    redis.command({"DEL", "bench:failed"});
    for (int first = 0; first < count; first += 1000) {
        resque::redis::Command push{"RPUSH", "bench:failed"};
        for (int i = first; i < std::min(count, first + 1000); ++i) push.push_back(failure(i));
        redis.command(push);
    }
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void print_times(const char* label, std::vector<double> times) {
    std::sort(times.begin(), times.end());
    std::printf("%-28s p50 %7.2f ms   p95 %7.2f ms\n", label, times[times.size() / 2],
                times[times.size() * 95 / 100]);
}

void report_library(resque::Client& client, const char* label, long long offset) {
    std::vector<double> times;
    for (int i = 0; i < 50; ++i) {
        const auto start = Clock::now();
        auto page = client.failures(offset, 20);
        times.push_back(ms_since(start));
        if (page.size() != 20) {
            std::fprintf(stderr, "%s: got %zu entries\n", label, page.size());
            return;
        }
    }
    print_times(label, std::move(times));
}

void report(httplib::Client& client, const char* label, const std::string& path) {
    std::vector<double> times;
    for (int i = 0; i < 50; ++i) {
        const auto start = Clock::now();
        auto response = client.Get(path.c_str());
        times.push_back(ms_since(start));
        if (!response || response->status != 200) {
            std::fprintf(stderr, "%s: request failed\n", label);
            return;
        }
    }
    print_times(label, std::move(times));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: web_failures REDIS_URL [N]\n");
        return 2;
    }
    auto options = resque::parse_redis_url(argv[1]);
    options.key_namespace = "bench";
    const int count = argc > 2 ? std::stoi(argv[2]) : 200000;
    resque::configure_logging("warn");

    resque::redis::Connection redis(options);
    load(redis, count);

    std::printf("%d failures\n", count);
    resque::Client library(options);
    report_library(library, "library: first page", 0);
    report_library(library, "library: middle page", count / 2);
    report_library(library, "library: last page", count - 20);

    resque::web::WebOptions web_options;
    web_options.port = 0;
    resque::web::WebServer server(options, web_options);
    const int port = server.bind();
    std::thread serving([&] { server.serve(); });
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(std::chrono::seconds(60));

    report(client, "first page", "/api/failed?offset=0&count=20");
    report(client, "last page", "/api/failed?offset=" + std::to_string(count - 20) + "&count=20");
    report(client, "class filter, first request", "/api/failed?class=Job7&count=20");
    report(client, "rare filter, one scan window", "/api/failed?class=None&count=20");

    auto token_page = client.Get("/");
    const std::string& body = token_page->body;
    const auto at = body.find("csrf-token\" content=\"") + 21;
    const std::string token = body.substr(at, 64);
    const auto start = Clock::now();
    auto cleared =
        client.Post("/api/failed/clear", {{"X-CSRF-Token", token}}, "{}", "application/json");
    std::printf("%-28s %7.2f ms (status %d)\n", "clear all", ms_since(start),
                cleared ? cleared->status : 0);

    server.stop();
    serving.join();
    return 0;
}
