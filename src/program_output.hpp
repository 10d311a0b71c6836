#pragma once

// What a program run for a job writes on stdout and stderr: split into lines, logged at
// debug on the `worker` logger within a per-job budget, and the end of stderr kept for
// the failure message. Used by run_program (program_handler.cpp).

#include <spdlog/spdlog.h>

#include <array>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "resque/handler.hpp"

namespace resque::detail {

enum class OutputStream { kStdout = 0, kStderr = 1 };

/// Bounds on what one job's program output may cost.
struct OutputLimits {
    std::size_t logged_lines = 200;        ///< lines logged per job, both streams together
    std::size_t logged_bytes = 64 * 1024;  ///< bytes logged per job, both streams together
    std::size_t tail_lines = 20;           ///< stderr lines kept for the failure message
    std::size_t tail_bytes = 4 * 1024;     ///< stderr bytes kept for the failure message
    std::size_t line_bytes = 4 * 1024;     ///< a longer line is cut into pieces this long
};

/// Collects one job's program output. Memory stays bounded however much the program
/// writes: one partial line per stream and the stderr tail. Not thread-safe; one run
/// owns it. `context` must outlive it.
class ProgramOutput {
   public:
    explicit ProgramOutput(const JobContext& context, OutputLimits limits = {});

    /// Takes the next bytes the program wrote on `stream`; complete lines are logged.
    void append(OutputStream stream, std::string_view bytes);
    /// Ends `stream` (EOF, or the run gave up reading): a last unterminated line is
    /// handled like a complete one.
    void close(OutputStream stream);
    /// Ends the job's output: when lines were dropped, logs how many bytes were.
    void finish();
    /// The last stderr lines, joined by '\n' (empty when the program wrote none).
    [[nodiscard]] std::string stderr_tail() const;

   private:
    void take_line(OutputStream stream, std::string_view line);
    void log_line(OutputStream stream, std::string_view line);
    void keep_in_tail(std::string_view line);

    const JobContext& context_;
    OutputLimits limits_;
    std::shared_ptr<spdlog::logger> log_;
    std::array<std::string, 2> partial_;  // unterminated line per stream
    std::deque<std::string> tail_;        // last stderr lines, oldest first
    std::size_t tail_size_ = 0;           // bytes in tail_
    std::size_t logged_lines_ = 0;
    std::size_t logged_bytes_ = 0;
    bool truncated_ = false;
    std::size_t dropped_bytes_ = 0;  // of lines not logged after truncation
};

}  // namespace resque::detail
