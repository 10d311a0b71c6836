// FC-07 (b) and (c), very large payloads (issue #3): a foreign client pushes a 64 MiB
// job straight onto a queue, with a small job behind it. The worker runs as a process of
// its own (tests/tools/marker_worker) so that its peak RSS is its own. Asserted: the
// heartbeat never pauses for two intervals while the big job is taken, decoded and
// performed; the worker's peak RSS stays under 3x the payload (the reply as hiredis
// reads it and our copy of it, then the payload and its decoded args while the handler
// runs); the small job still runs; and when the big job fails, its failure record holds
// the payload once.

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "json/ruby_json.hpp"
#include "redis_server.hpp"

namespace resque::test {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kArgBytes = 64 * 1024 * 1024;
// Redis itself is busy while take.lua copies a 64 MiB job into the in-flight batch and
// the worker record and back (about 0.9 s in all on a loaded 2-core machine, with no
// decode of payloads over 1 MiB); every client waits, heartbeats included. The interval
// leaves room for that, not for a stalled worker.
constexpr milliseconds kHeartbeat{3000};

std::string big_payload(const std::string& class_name) {
    return R"({"class":")" + class_name + R"(","args":[")" + std::string(kArgBytes, 'x') +
           R"("]})";
}

// A field of /proc/<pid>/status in KiB (VmHWM: peak resident set), or -1.
long status_kib(int pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    }
    return -1;
}

// Records when Redis applies each write to the heartbeat hash, from keyspace
// notifications: the time a heartbeat lands, whatever the worker thinks it sent.
class HeartbeatWatch {
   public:
    HeartbeatWatch(const RedisServer& server, const std::string& key) {
        server.command({"CONFIG", "SET", "notify-keyspace-events", "Khls"});
        context_.reset(redisConnect("127.0.0.1", server.port()));
        if (!context_ || context_->err) throw std::runtime_error("cannot connect the watch");
        const std::string channel = "__keyspace@0__:" + key;
        void* reply = redisCommand(context_.get(), "SUBSCRIBE %b", channel.data(), channel.size());
        if (reply == nullptr) throw std::runtime_error("cannot subscribe to " + channel);
        freeReplyObject(reply);
        thread_ = std::jthread([this](std::stop_token stop) { read_until(stop); });
    }
    ~HeartbeatWatch() { thread_.request_stop(); }
    HeartbeatWatch(const HeartbeatWatch&) = delete;
    HeartbeatWatch& operator=(const HeartbeatWatch&) = delete;

    [[nodiscard]] std::vector<SteadyClock::time_point> beats() const {
        std::lock_guard lock(mutex_);
        return beats_;
    }

   private:
    struct Free {
        void operator()(redisContext* context) const noexcept { redisFree(context); }
    };

    void read_until(const std::stop_token& stop) {
        while (!stop.stop_requested()) {
            pollfd fd{context_->fd, POLLIN, 0};
            if (::poll(&fd, 1, 20) <= 0) continue;
            if (redisBufferRead(context_.get()) != REDIS_OK) return;
            void* raw = nullptr;
            while (redisGetReplyFromReader(context_.get(), &raw) == REDIS_OK && raw != nullptr) {
                freeReplyObject(raw);
                std::lock_guard lock(mutex_);
                beats_.push_back(SteadyClock::now());
            }
        }
    }

    std::unique_ptr<redisContext, Free> context_;
    mutable std::mutex mutex_;  // guards beats_
    std::vector<SteadyClock::time_point> beats_;
    std::jthread thread_;
};

class LargePayload : public ::testing::Test {
   protected:
    RedisServer server;
    TempDir logs;
    int worker_pid = -1;

    ~LargePayload() override {
        if (worker_pid <= 0) return;
        ::kill(worker_pid, SIGKILL);
        ::waitpid(worker_pid, nullptr, 0);
    }
    void start_worker() {
        worker_pid = spawn_process(
            {RESQUE_MARKER_WORKER_PATH, server.url(), "q"},
            {"MARKER_HEARTBEAT_MS=" + std::to_string(kHeartbeat.count())}, logs.path() / "w.log");
        ASSERT_TRUE(wait_until([&] { return server.command({"SCARD", "resque:workers"}) == "1"; }));
    }
    std::string worker_log() const {
        std::ifstream in(logs.path() / "w.log");
        return {std::istreambuf_iterator<char>(in), {}};
    }
    // Pushes the big job and a small Marker job behind it in one RPUSH, as a foreign
    // client would, and waits until the marker ran.
    void push_and_wait(const std::string& big) {
        server.command({"RPUSH", "resque:queue:q", big, R"({"class":"Marker","args":["small"]})"});
        ASSERT_TRUE(wait_until(
            [&] {
                auto ran = server.command({"LRANGE", "test:exec", "0", "-1"});
                return ran.find("small") != std::string::npos;
            },
            std::chrono::seconds(30)))
            << worker_log();
    }
};

TEST_F(LargePayload, SixtyFourMebibyteJobKeepsHeartbeatsAndMemoryBoundedAndNextJobRuns) {
    HeartbeatWatch watch(server, "resque:workers:heartbeat");
    start_worker();
    const long before_kib = status_kib(worker_pid, "VmHWM");
    const auto started = SteadyClock::now();
    push_and_wait(big_payload("Size"));
    // One more beat after the small job, so a pause at the very end would show too.
    const auto done = SteadyClock::now();
    ASSERT_TRUE(wait_until([&] { return watch.beats().back() > done; }, kHeartbeat * 3));

    EXPECT_EQ(server.command({"LRANGE", "test:exec", "0", "-1"}),
              "size:" + std::to_string(kArgBytes) + "\nsmall");
    EXPECT_EQ(server.command({"LLEN", "resque:failed"}), "0");

    // From the last beat before the push to the first after the small job.
    auto beats = watch.beats();
    auto last_before = std::find_if(beats.rbegin(), beats.rend(), [&](auto at) {
        return at <= started;
    });
    if (last_before != beats.rend()) beats.erase(beats.begin(), std::prev(last_before.base()));
    milliseconds longest{0};
    for (std::size_t i = 1; i < beats.size(); ++i) {
        const auto gap = std::chrono::duration_cast<milliseconds>(beats[i] - beats[i - 1]);
        longest = std::max(longest, gap);
    }
    const long peak_kib = status_kib(worker_pid, "VmHWM");
    const long payload_kib = static_cast<long>(big_payload("Size").size() / 1024);
    std::cout << "[ fc-07    ] 64 MiB job: longest heartbeat gap " << longest.count()
              << " ms (interval " << kHeartbeat.count() << " ms, " << beats.size()
              << " beats); worker VmHWM " << before_kib / 1024 << " MiB before, "
              << peak_kib / 1024 << " MiB after (payload " << payload_kib / 1024 << " MiB)\n";
    ASSERT_GE(beats.size(), 2u);
    EXPECT_LT(longest, kHeartbeat * 2);
    EXPECT_LT(peak_kib, 3 * payload_kib);
}

TEST_F(LargePayload, FailedSixtyFourMebibyteJobIsStoredOnceInItsFailureRecord) {
    start_worker();
    const std::string big = big_payload("Fail");
    push_and_wait(big);
    const long peak_kib = status_kib(worker_pid, "VmHWM");
    std::cout << "[ fc-07    ] failed 64 MiB job: worker VmHWM " << peak_kib / 1024
              << " MiB (payload " << big.size() / 1024 / 1024 << " MiB)\n";
    // The payload, its failure record and the command carrying the record: 3x plus the
    // process's own few MiB (the reply of the take that adopted the job used to bring
    // the payload back once more: 4x). Limitation: FC-07 asks ~3x for (b) only; holding
    // the record once less would need the command built without a separate record.
    EXPECT_LT(peak_kib, 7 * static_cast<long>(big.size() / 1024) / 2);

    ASSERT_EQ(server.command({"LLEN", "resque:failed"}), "1");
    const std::string record = server.command({"LINDEX", "resque:failed", "0"});
    // The payload, byte for byte, in the payload field; the other fields stay small.
    EXPECT_TRUE(json::raw_member(record, "payload") == big);
    EXPECT_LT(record.size(), big.size() + 4096) << "record is " << record.size() << " bytes";
    EXPECT_EQ(json::raw_member(record, "exception"), R"("TestFailure")");
    EXPECT_EQ(json::raw_member(record, "error"), R"("failed on purpose")");
    EXPECT_EQ(server.command({"GET", "resque:stat:failed"}), "1");
}

}  // namespace
}  // namespace resque::test
