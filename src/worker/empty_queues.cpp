#include "worker/empty_queues.hpp"

#include <algorithm>

namespace resque::worker {

void EmptyQueues::clear() {
    empty_.clear();
    cleared_ = std::chrono::steady_clock::now();
}

std::vector<std::string> EmptyQueues::window(const std::vector<std::string>& candidates,
                                             std::size_t limit) {
    if (std::chrono::steady_clock::now() - cleared_ > max_age_) clear();
    std::vector<std::string> out;
    for (const auto& queue : candidates) {
        if (out.size() >= limit) break;
        if (!empty_.contains(queue)) out.push_back(queue);
    }
    return out;
}

void EmptyQueues::observe(const std::vector<std::string>& tried, std::size_t wanted,
                          std::size_t taken, const std::string& last_queue) {
    for (const auto& queue : tried) {
        if (taken >= wanted && queue == last_queue) break;  // it may hold more
        empty_.insert(queue);
    }
}

std::size_t take_window(int reserve) {
    return static_cast<std::size_t>(std::clamp(reserve, 8, 32));
}

}  // namespace resque::worker
