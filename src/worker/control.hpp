#pragma once

// Requests made to a running worker from outside its loop (signals, another thread).
// Each request is an atomic flag plus a write to a wake-up pipe, so an idle worker
// blocked in poll() reacts at once.

#include <atomic>
#include <chrono>

namespace resque::worker {

class Control {
   public:
    Control();
    ~Control();
    Control(const Control&) = delete;
    Control& operator=(const Control&) = delete;

    void request_graceful_stop() noexcept;  // QUIT
    void request_stop_now() noexcept;       // TERM, INT
    void request_abort_job() noexcept;      // USR1
    void set_paused(bool paused) noexcept;  // USR2 / CONT

    [[nodiscard]] bool stopping() const noexcept { return graceful_ || now_; }
    [[nodiscard]] bool stop_now() const noexcept { return now_; }
    [[nodiscard]] bool paused() const noexcept { return paused_; }
    /// Returns true once per USR1.
    [[nodiscard]] bool take_abort() noexcept { return abort_.exchange(false); }
    /// When stop_now was requested (for the shutdown grace period).
    [[nodiscard]] std::chrono::steady_clock::time_point stop_requested_at() const noexcept;

    /// Read end of the wake-up pipe (readable after any request).
    [[nodiscard]] int wake_fd() const noexcept { return pipe_[0]; }
    /// Empties the wake-up pipe.
    void drain() noexcept;
    void wake() noexcept;

   private:
    std::atomic<bool> graceful_{false}, now_{false}, abort_{false}, paused_{false};
    std::atomic<long long> stop_at_{0};
    int pipe_[2] = {-1, -1};
};

}  // namespace resque::worker
