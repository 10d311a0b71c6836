#include "program_output.hpp"

#include <algorithm>

#include "log.hpp"

namespace resque::detail {
namespace {

std::size_t index(OutputStream stream) { return static_cast<std::size_t>(stream); }

std::string_view name(OutputStream stream) {
    return stream == OutputStream::kStdout ? "stdout" : "stderr";
}

}  // namespace

ProgramOutput::ProgramOutput(const JobContext& context, OutputLimits limits)
    : context_(context), limits_(limits), log_(log::worker()) {}

void ProgramOutput::append(OutputStream stream, std::string_view bytes) {
    std::string& partial = partial_[index(stream)];
    while (!bytes.empty()) {
        // partial stays shorter than line_bytes, so there is always room.
        const std::size_t room = limits_.line_bytes - partial.size();
        const std::size_t newline = bytes.substr(0, room + 1).find('\n');
        if (newline == std::string_view::npos && bytes.size() < room) {
            partial.append(bytes);
            return;
        }

        // Either a line ends here, or it has grown to line_bytes and is cut.
        const std::size_t length = newline == std::string_view::npos ? room : newline;
        if (partial.empty()) {
            take_line(stream, bytes.substr(0, length));
        } else {
            partial.append(bytes.substr(0, length));
            take_line(stream, partial);
            partial.clear();
        }
        bytes.remove_prefix(newline == std::string_view::npos ? length : length + 1);
    }
}

void ProgramOutput::close(OutputStream stream) {
    std::string& partial = partial_[index(stream)];
    if (!partial.empty()) take_line(stream, partial);
    partial.clear();
}

std::string ProgramOutput::stderr_tail() const {
    std::string joined;
    for (const auto& line : tail_) {
        if (!joined.empty()) joined += '\n';
        joined += line;
    }
    return joined;
}

void ProgramOutput::take_line(OutputStream stream, std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    log_line(stream, line);
    if (stream == OutputStream::kStderr) keep_in_tail(line);
}

void ProgramOutput::finish() {
    if (!truncated_) return;
    log_->debug("program output truncated: {} bytes dropped class={} queue={} worker={}",
                dropped_bytes_, context_.job.class_name, context_.queue, context_.worker_id);
}

void ProgramOutput::log_line(OutputStream stream, std::string_view line) {
    if (truncated_) {
        dropped_bytes_ += line.size() + 1;
        return;
    }
    if (logged_lines_ >= limits_.logged_lines ||
        logged_bytes_ + line.size() > limits_.logged_bytes) {
        // One notice, then silence: a chatty program must not flood the worker's log.
        truncated_ = true;
        dropped_bytes_ += line.size() + 1;
        log_->debug(
            "program output truncated after {} lines ({} bytes) class={} queue={} "
            "worker={}",
            logged_lines_, logged_bytes_, context_.job.class_name, context_.queue,
            context_.worker_id);
        return;
    }

    ++logged_lines_;
    logged_bytes_ += line.size();
    log_->debug("{} class={} queue={} worker={} stream={}", line, context_.job.class_name,
                context_.queue, context_.worker_id, name(stream));
}

void ProgramOutput::keep_in_tail(std::string_view line) {
    // Blank lines would only push the informative ones out of the message.
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;

    tail_.emplace_back(line.substr(line.size() - std::min(line.size(), limits_.tail_bytes)));
    tail_size_ += tail_.back().size();
    while (tail_.size() > limits_.tail_lines || tail_size_ > limits_.tail_bytes) {
        tail_size_ -= tail_.front().size();
        tail_.pop_front();
    }
}

}  // namespace resque::detail
