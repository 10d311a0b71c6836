#pragma once

// Definition of resque::test::wait_until, declared in redis_server.hpp.

#include <chrono>
#include <concepts>
#include <thread>

namespace resque::test {

template <std::predicate Condition>
bool wait_until(Condition condition, std::chrono::milliseconds deadline) {
    constexpr auto kPollInterval = std::chrono::milliseconds(2);
    const auto end = std::chrono::steady_clock::now() + deadline;

    // The condition is checked once more after the last sleep, so a condition that
    // becomes true just at the deadline still counts.
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= end) {
            return false;
        }
        std::this_thread::sleep_for(kPollInterval);
    }
    return true;
}

}  // namespace resque::test
