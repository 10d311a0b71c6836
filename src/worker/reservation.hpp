#pragma once

// Reserving and settling jobs: one call of take.lua settles the job a worker held
// (success, failure record, or requeue) and reserves the next, atomically, so no
// instant exists at which a killed worker leaves a job nowhere (docs/architecture.md).

#include <optional>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/failure.hpp"

namespace resque::worker {

/// A job taken from a queue and held by this worker.
struct Reservation {
    std::string token;    ///< identifies this reservation in the in-flight entry
    std::string queue;
    std::string payload;  ///< exact bytes from the queue
};

/// How a held job ends.
struct Settlement {
    enum class Kind { kNone, kDone, kFailed, kRequeue };
    Kind kind = Kind::kNone;
    std::string token;
    std::string queue;
    std::string failure_json;  ///< the encoded record, for kFailed
};

/// What take() found.
struct TakeResult {
    enum class Kind { kJob, kEmpty, kPaused, kWrongType, kFinished };
    Kind kind = Kind::kEmpty;
    Reservation job;         ///< for kJob
    std::string bad_queue;   ///< for kWrongType
    bool settlement_lost = false;  ///< the settled job was no longer ours
};

/// The per-worker reservation state: keys and ids computed once.
class Reserver {
   public:
    Reserver(redis::Keys keys, std::string worker_id, FailureBackendKind backend);

    /// Settles `settle` (if any) and, when `reserve`, takes the next job from `queues`
    /// in order. Idempotent under retry after a lost reply (see take.lua).
    TakeResult take(redis::Connection& redis, const Settlement& settle, bool reserve,
                    const std::vector<std::string>& queues);

    [[nodiscard]] const std::string& worker_id() const noexcept { return id_; }
    [[nodiscard]] const redis::Keys& keys() const noexcept { return keys_; }

   private:
    std::string next_token();

    redis::Keys keys_;
    std::string id_;
    FailureBackendKind backend_;
    unsigned long long sequence_ = 0;
    std::string pending_token_;  // token of a reservation whose reply may have been lost
};

}  // namespace resque::worker
