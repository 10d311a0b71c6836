#pragma once

// What retrying a failure writes, as pure functions (no Redis): the fresh payload pushed
// back onto the job's queue, and the entry rewritten with `retried_at`. Resque's
// Failure::Redis.requeue writes the same (../shared/PROTOCOL.md section 1.7, fixture 06).

#include <optional>
#include <string>
#include <string_view>

#include "resque/failure.hpp"
#include "ruby_time.hpp"

namespace resque::detail {

/// Where a failure goes back to, and the payload that goes there.
struct Requeue {
    std::string queue;
    std::string payload;  ///< `{"class":...,"args":[...]}`, args byte for byte (FC-06)
};

/// The requeue for stored failure entry `raw`: its queue, and a fresh payload with the
/// payload's class and its args re-encoded in Ruby's form without changing any number
/// (extra payload keys are dropped, as Resque drops them). Throws PayloadError when the
/// entry is not a record, or names no queue, no class, or args that are not an array.
[[nodiscard]] Requeue requeue_of(std::string_view raw);

/// requeue_of, or nullopt for an entry that names no job.
[[nodiscard]] std::optional<Requeue> try_requeue_of(std::string_view raw);

/// `retried_at` as `backend` writes it at `when`: `2026/12/03 12:38:00 UTC` for
/// Failure::Redis, `2026/12/03 12:38:00` (no zone) for RedisMultiQueue.
[[nodiscard]] std::string retried_at(ruby_time::Clock::time_point when, FailureBackendKind backend);

/// Stored entry `raw` with `retried_at` set to `stamp`: replaced in place when present,
/// else appended as the last member; every other byte is kept, which is what Ruby writes
/// for any record it wrote itself. An entry with invalid UTF-8 is re-encoded from its
/// decoded fields instead (scrubbed, FC-05). Throws PayloadError if `raw` is not JSON.
[[nodiscard]] std::string with_retried_at(std::string_view raw, std::string_view stamp);

}  // namespace resque::detail
