#pragma once

// Which of a worker's queues it knows to be empty, so that a take names only queues that
// may hold jobs, a few at a time. Without it a worker on `*` over 1,000 queues passes all
// 1,000 keys to every take and pops each in turn.
//
// A queue becomes known empty when a take popped it dry; it stops being so when a
// keyspace notification says something was pushed to it. Notifications are a hint, not
// a source of jobs: a missed one (an event class we do not subscribe to, such as RENAME
// onto a queue key) is covered by forgetting everything every `max_age`, and a spurious
// one costs one take that finds nothing. Priority order is kept: the window is always the
// first candidates in the worker's order that are not known empty.

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

namespace resque::worker {

class EmptyQueues {
 public:
    explicit EmptyQueues(std::chrono::steady_clock::duration max_age) : max_age_(max_age) {}

    /// Forgets what is known (no notifications, a new subscription, a retried take).
    void clear();
    /// A push notification: `queue` may hold jobs now.
    void pushed(const std::string& queue) { empty_.erase(queue); }

    /// Up to `limit` of `candidates` (in priority order) not known to be empty.
    [[nodiscard]] std::vector<std::string> window(const std::vector<std::string>& candidates,
                                                  std::size_t limit);

    /// Learns from a take over `tried` that asked for `wanted` jobs and got `taken`, the
    /// last of them from `last_queue`: a queue before the last one popped from gave all it
    /// had, and when fewer than `wanted` came, every queue tried is empty.
    void observe(const std::vector<std::string>& tried, std::size_t wanted, std::size_t taken,
                 const std::string& last_queue);

 private:
    std::chrono::steady_clock::duration max_age_;
    std::chrono::steady_clock::time_point cleared_ = std::chrono::steady_clock::now();
    std::unordered_set<std::string> empty_;
};

/// How many queues one take names: enough to fill a batch of `reserve` from queues
/// holding one job each, within bounds that keep a take's argument list small.
[[nodiscard]] std::size_t take_window(int reserve);

}  // namespace resque::worker
