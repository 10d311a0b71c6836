#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace resque {

/// Where failures are kept, as Resque's FAILURE_BACKEND names them.
enum class FailureBackendKind {
    kRedis,            ///< one list `<ns>:failed` (Resque's default)
    kRedisMultiQueue,  ///< `<ns>:<queue>_failed` lists named in `<ns>:failed_queues`
};

/// One failure record, in Resque's format (../shared/PROTOCOL.md section 2.3). Field
/// order when written: failed_at, payload, exception, error, backtrace, worker, queue,
/// then retried_at if present.
struct FailureRecord {
    std::string failed_at;  ///< `2026/12/03 12:25:30 UTC`
    /// The job payload exactly as it was taken from the queue (raw JSON text when it was
    /// a JSON object; otherwise a JSON string literal holding the original bytes).
    std::string payload_json;
    std::string exception;  ///< `RuntimeError`, `Resque::DirtyExit`, ...
    std::string error;
    std::vector<std::string> backtrace;
    std::string worker;
    std::string queue;
    std::optional<std::string> retried_at;

    /// The whole record as Resque's JSON (the exact bytes stored in the list).
    [[nodiscard]] std::string encode() const;
    /// Reads a stored entry; tolerant of missing fields (they stay empty). Throws
    /// PayloadError if `text` is not a JSON object.
    [[nodiscard]] static FailureRecord decode(std::string_view text);
    /// The payload's class name, or empty when the payload has none.
    [[nodiscard]] std::string class_name() const;
};

/// A failure as listed: its position in the list and its record. `raw` is the exact
/// stored text; admin actions pass it back so they act on this entry and no other
/// (FC-12: indexes shift when others edit the list).
struct FailureEntry {
    std::size_t index = 0;
    std::string failure_queue;  ///< the list it lives in: `failed` or `<q>_failed`
    std::string raw;
    FailureRecord record;
};

/// Filters for listing failures; empty strings match everything.
struct FailureFilter {
    std::string class_name;
    std::string queue;
    std::string exception;
};

}  // namespace resque
