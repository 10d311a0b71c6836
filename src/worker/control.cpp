#include "worker/control.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <system_error>

namespace resque::worker {

Control::Control() {
    if (::pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe2");
    }
}

Control::~Control() {
    ::close(pipe_[0]);
    ::close(pipe_[1]);
}

void Control::wake() noexcept {
    char byte = 1;
    [[maybe_unused]] auto n = ::write(pipe_[1], &byte, 1);  // full pipe: already awake
}

void Control::drain() noexcept {
    char buf[64];
    while (::read(pipe_[0], buf, sizeof buf) > 0) {
    }
}

void Control::request_graceful_stop() noexcept {
    graceful_ = true;
    wake();
}

void Control::request_stop_now() noexcept {
    if (!now_.exchange(true)) {
        stop_at_ = std::chrono::steady_clock::now().time_since_epoch().count();
    }
    wake();
}

void Control::request_abort_job() noexcept {
    abort_ = true;
    wake();
}

void Control::set_paused(bool paused) noexcept {
    paused_ = paused;
    wake();
}

std::chrono::steady_clock::time_point Control::stop_requested_at() const noexcept {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(stop_at_));
}

}  // namespace resque::worker
