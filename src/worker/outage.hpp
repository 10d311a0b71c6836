#pragma once

// Riding out Redis outages: retry a step with exponential backoff (50 ms doubling to
// 5 s), log one warning when an outage starts and one info line with its length when
// it ends, never one line per attempt. Once a stop was requested, give up after the
// shutdown grace instead of retrying forever.

#include <chrono>
#include <stdexcept>
#include <string>

#include "redis/connection.hpp"
#include "resque/errors.hpp"
#include "worker/control.hpp"

namespace resque::worker {

class Outage {
   public:
    /// Thrown by retry() when stopping and Redis stayed unreachable past the grace.
    class GaveUp : public std::runtime_error {
       public:
        using std::runtime_error::runtime_error;
    };

    Outage(Control& control, std::chrono::milliseconds grace, std::string who);

    /// Runs `step` until it completes without a connection error. ReplyError and other
    /// exceptions propagate at once.
    template <class Step>
    auto retry(redis::Connection& redis, Step step) -> decltype(step()) {
        for (;;) {
            try {
                auto result = step();
                succeeded();
                return result;
            } catch (const ConnectionError& error) {
                failed(error.what());
            } catch (const TimeoutError& error) {
                failed(error.what());
            }
            redis.disconnect();
            backoff();
        }
    }

    /// Records a failed attempt (logs only the first of an outage).
    void failed(const std::string& what);
    /// Records success (logs the end of an outage, if one was under way).
    void succeeded();
    /// Sleeps for the current backoff (woken early by control requests); throws GaveUp
    /// when stopping and the outage outlasted the grace.
    void backoff();
    [[nodiscard]] bool in_outage() const noexcept { return in_outage_; }

   private:
    Control& control_;
    std::chrono::milliseconds grace_;
    std::string who_;
    bool in_outage_ = false;
    std::chrono::steady_clock::time_point started_;
    std::chrono::milliseconds delay_{50};
    std::string last_error_;
};

}  // namespace resque::worker
