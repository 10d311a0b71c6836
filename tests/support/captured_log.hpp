#pragma once

// Takes over the `worker` logger's output, at debug, for the lifetime of a CapturedLog,
// so that a test can read what a job's output and the worker logged.

#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "log.hpp"

namespace resque::test {

class CapturedLog {
 public:
    CapturedLog()
        : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_)),
          previous_sinks_(log_->sinks()),
          previous_level_(log_->level()) {
        log_->sinks() = {sink_};
        log_->set_level(spdlog::level::debug);
    }
    ~CapturedLog() {
        log_->set_level(previous_level_);
        log_->sinks() = previous_sinks_;
    }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;

    /// Everything logged so far. Thread-safe (the sink locks; this reads under it).
    [[nodiscard]] std::string text() const {
        sink_->flush();
        return stream_.str();
    }

 private:
    std::shared_ptr<spdlog::logger> log_ = log::worker();
    std::ostringstream stream_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
    std::vector<spdlog::sink_ptr> previous_sinks_;
    spdlog::level::level_enum previous_level_;
};

}  // namespace resque::test
