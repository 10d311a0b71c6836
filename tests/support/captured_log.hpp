#pragma once

// Takes over the output of named loggers (by default `worker`), at debug, for the lifetime
// of a CapturedLog, so that a test can read what a job's output and the worker logged.

#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "log.hpp"

namespace resque::test {

/// Formatted lines kept in memory; readable while other threads log.
class StringSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
    [[nodiscard]] std::string text() {
        std::lock_guard lock(mutex_);
        return text_;
    }

 protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(message, formatted);
        text_.append(formatted.data(), formatted.size());
    }
    void flush_() override {}

 private:
    std::string text_;  // guarded by the base class's mutex_
};

class CapturedLog {
 public:
    /// Captures every logger in `names` into one stream, in the order lines are logged.
    explicit CapturedLog(const std::vector<std::string>& names = {"worker"})
        : sink_(std::make_shared<StringSink>()) {
        for (const auto& name : names) {
            auto logger = log::get(name);
            saved_.push_back({logger, logger->sinks(), logger->level()});
            logger->sinks() = {sink_};
            logger->set_level(spdlog::level::debug);
        }
    }
    ~CapturedLog() {
        for (auto& saved : saved_) {
            saved.logger->set_level(saved.level);
            saved.logger->sinks() = saved.sinks;
        }
    }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;

    /// Everything logged so far. Thread-safe.
    [[nodiscard]] std::string text() const { return sink_->text(); }

 private:
    struct Saved {
        std::shared_ptr<spdlog::logger> logger;
        std::vector<spdlog::sink_ptr> sinks;
        spdlog::level::level_enum level;
    };

    std::shared_ptr<StringSink> sink_;
    std::vector<Saved> saved_;
};

}  // namespace resque::test
