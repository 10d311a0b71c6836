#include "worker/held_batch.hpp"

#include <charconv>

namespace resque::worker {

std::optional<HeldBatch> parse_held_batch(std::string_view stored) {
    auto line_end = stored.find('\n');
    if (line_end == std::string_view::npos) return std::nullopt;
    HeldBatch batch;
    batch.token = std::string(stored.substr(0, line_end));
    std::size_t pos = line_end + 1;
    while (pos < stored.size()) {
        auto queue_end = stored.find('\n', pos);
        if (queue_end == std::string_view::npos) return std::nullopt;
        auto length_end = stored.find('\n', queue_end + 1);
        if (length_end == std::string_view::npos) return std::nullopt;
        std::size_t length = 0;
        auto digits = stored.substr(queue_end + 1, length_end - queue_end - 1);
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
        if (length > stored.size() - length_end - 1) return std::nullopt;
        batch.entries.push_back({std::string(stored.substr(pos, queue_end - pos)),
                                 std::string(stored.substr(length_end + 1, length))});
        pos = length_end + 1 + length;
    }
    return batch;
}

std::string encode_held_batch(const HeldBatch& batch) {
    std::string out = batch.token + "\n";
    for (const auto& entry : batch.entries) {
        out += entry.queue;
        out += '\n';
        out += std::to_string(entry.payload.size());
        out += '\n';
        out += entry.payload;
    }
    return out;
}

}  // namespace resque::worker
