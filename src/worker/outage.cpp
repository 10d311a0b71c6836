#include "worker/outage.hpp"

#include <algorithm>
#include <thread>

#include "log.hpp"

namespace resque::worker {

using SteadyClock = std::chrono::steady_clock;

Outage::Outage(Control& control, std::chrono::milliseconds grace, std::string who)
    : control_(control), grace_(grace), who_(std::move(who)) {}

void Outage::failed(const std::string& what) {
    last_error_ = what;
    if (in_outage_) return;
    in_outage_ = true;
    started_ = SteadyClock::now();
    delay_ = std::chrono::milliseconds(50);
    log::redis()->warn("Redis unreachable, retrying with backoff: {} who=\"{}\"", what, who_);
}

void Outage::succeeded() {
    if (!in_outage_) return;
    in_outage_ = false;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started_);
    log::redis()->info("Redis reachable again after {} ms who=\"{}\"", ms.count(), who_);
}

void Outage::backoff() {
    if (control_.stopping() && SteadyClock::now() - started_ > grace_) {
        throw GaveUp("Redis unreachable while stopping: " + last_error_);
    }
    // Sleep in short slices rather than on the wake-up pipe, which belongs to the
    // worker loop: a stop request still ends the wait early.
    bool was_stopping = control_.stopping();
    auto until = SteadyClock::now() + delay_;
    while (SteadyClock::now() < until && control_.stopping() == was_stopping) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    delay_ = std::min<std::chrono::milliseconds>(delay_ * 2, std::chrono::seconds(5));
}

}  // namespace resque::worker
