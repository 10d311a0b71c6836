// Once-per-outage logging (issue #3, FC-10): while redis-server is down for a few
// seconds, each part that talks to Redis (a worker's loop, its heartbeat thread, the
// scheduler) retries with backoff and logs one line when it loses Redis, naming the
// error, and one when Redis is back; never a line per attempt.

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "captured_log.hpp"
#include "redis_server.hpp"
#include "resque/scheduler.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A Scheduler running in a background thread until destruction.
class RunningScheduler {
   public:
    RunningScheduler(const RedisServer& server, SchedulerOptions options)
        : scheduler_(options_for(server), std::move(options)),
          thread_([this] { scheduler_.run(); }) {}
    ~RunningScheduler() {
        scheduler_.stop();
        thread_.join();
    }
    RunningScheduler(const RunningScheduler&) = delete;
    RunningScheduler& operator=(const RunningScheduler&) = delete;

    [[nodiscard]] bool leader() const noexcept { return scheduler_.leader(); }

   private:
    Scheduler scheduler_;
    std::thread thread_;
};

std::vector<std::string> lines_with(const std::string& text, const std::string& part,
                                    const std::string& phrase) {
    std::vector<std::string> found;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.find(part) != std::string::npos && line.find(phrase) != std::string::npos) {
            found.push_back(line);
        }
    }
    return found;
}

// The parts of this process that talk to Redis, as their outage lines name them.
struct Part {
    std::string marker;  // text that tells its lines apart
    std::string lost;    // phrase of the line at the start of an outage
    std::string back;    // phrase of the line at its end
};

TEST(OutageLog, WorkerHeartbeatAndSchedulerLogOneLostAndOneBackLinePerOutage) {
    const CapturedLog log({"worker", "redis", "scheduler"});
    RedisServer server;
    Journal journal;
    HandlerRegistry handlers;
    handlers.add("Echo", [&](const JobContext& job) { journal.add(std::string(job.args_json)); });
    RunningWorker worker(server, fast_options({"q"}), std::move(handlers));
    SchedulerOptions scheduler_options;
    scheduler_options.max_sleep = milliseconds(200);
    scheduler_options.lock_ttl = seconds(2);
    RunningScheduler scheduler(server, scheduler_options);
    ASSERT_TRUE(wait_until([&] {
        return server.command({"SCARD", "resque:workers"}) == "1" && scheduler.leader();
    }));
    const std::string id = server.command({"SMEMBERS", "resque:workers"});

    // Three seconds is several backoff steps (50 ms doubling) for every part.
    server.stop();
    std::this_thread::sleep_for(seconds(3));
    server.start();

    // Each part shows it is back by doing its duty again on the emptied server.
    server.command({"RPUSH", "resque:queue:q", R"({"class":"Echo","args":["after"]})"});
    ASSERT_TRUE(wait_until([&] { return journal.size() == 1; }, seconds(15))) << log.text();
    ASSERT_TRUE(wait_until(
        [&] {
            return server.command({"HEXISTS", "resque:workers:heartbeat", id}) == "1" &&
                   scheduler.leader();
        },
        seconds(15)))
        << log.text();

    const std::vector<Part> parts{
        {"who=\"worker " + id + "\"", "Redis unreachable", "Redis reachable again"},
        {"who=\"heartbeat " + id + "\"", "Redis unreachable", "Redis reachable again"},
        {"[scheduler]", "Redis unreachable", "Redis reachable again"},
    };
    // A part logs its line after the step that succeeded, so wait for all of them.
    ASSERT_TRUE(wait_until([&] {
        const std::string text = log.text();
        return std::all_of(parts.begin(), parts.end(), [&](const Part& part) {
            return !lines_with(text, part.marker, part.back).empty();
        });
    }))
        << log.text();
    const std::string text = log.text();
    for (const auto& part : parts) {
        const auto lost = lines_with(text, part.marker, part.lost);
        const auto back = lines_with(text, part.marker, part.back);
        EXPECT_EQ(lost.size(), 1u) << part.marker << "\n" << text;
        EXPECT_EQ(back.size(), 1u) << part.marker << "\n" << text;
        if (lost.empty()) continue;
        // The line says what went wrong: the error after "backoff: ", not just "failed".
        const auto detail = lost[0].find("backoff: ");
        ASSERT_NE(detail, std::string::npos) << lost[0];
        EXPECT_GT(lost[0].size(), detail + 20) << lost[0];
        std::cout << "[ outage   ] " << lost[0] << "\n[ outage   ] " << back.at(0) << "\n";
    }
}

}  // namespace
}  // namespace resque::test
