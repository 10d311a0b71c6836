#pragma once

// Reserving and settling jobs: one call of take.lua settles the batch a worker held
// (successes, failure records, requeues) and reserves the next batch, atomically, so
// no instant exists at which a killed worker leaves a job nowhere
// (docs/architecture.md). A batch is one job while jobs are slow; fast jobs are taken
// a few at a time (Prefetch), which is what makes a job cost a fraction of a round trip.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/failure.hpp"

namespace resque::worker {

/// A job taken from a queue and held by this worker.
struct Reservation {
    std::string token;  ///< the token of the batch it came in
    std::string queue;
    std::string payload;  ///< exact bytes from the queue
};

/// How one held job ends.
struct Settlement {
    enum class Kind { kNone, kDone, kFailed, kRequeue };
    Kind kind = Kind::kNone;
    std::string token;
    std::string queue;
    std::string failure_json;  ///< the encoded record, for kFailed
};

/// How a held batch ends: one settlement per job, in batch order.
struct BatchSettlement {
    std::string token;  ///< empty: nothing held
    std::vector<Settlement> outcomes;
};

/// What take() found.
struct TakeResult {
    enum class Kind { kJob, kEmpty, kPaused, kWrongType, kFinished };
    Kind kind = Kind::kEmpty;
    std::string token;              ///< for kJob
    std::vector<Reservation> jobs;  ///< for kJob: the batch, in order (at least one)
    std::string bad_queue;          ///< for kWrongType
    bool settlement_lost = false;   ///< the settled batch was no longer ours
};

/// The per-worker reservation state: keys and ids computed once.
class Reserver {
 public:
    Reserver(redis::Keys keys, std::string worker_id, FailureBackendKind backend);

    /// Settles `settle` (if it names a batch) and takes up to `reserve` jobs (0: none)
    /// from `queues`, in priority order. Idempotent under retry after a lost reply.
    TakeResult take(redis::Connection& redis, const BatchSettlement& settle, int reserve,
                    const std::vector<std::string>& queues);

    /// For a job an idle blocking pop moved to this worker's landing list from `queue`:
    /// sends (without waiting) the take.lua call that makes it this worker's batch and
    /// names it in `worker:<id>`, and returns that batch, so the job can start at once.
    TakeResult adopt_landed(redis::Connection& redis, const std::string& queue,
                            std::string payload);

    /// Makes job `index` of the held batch the running one, so `worker:<id>` names it:
    /// sent without waiting for the reply (no round trip).
    void mark_running(redis::Connection& redis, const Reservation& job, std::size_t index);

    [[nodiscard]] const std::string& worker_id() const noexcept { return id_; }
    [[nodiscard]] const redis::Keys& keys() const noexcept { return keys_; }

 private:
    std::string next_token();
    struct Call {
        std::vector<std::string> keys;
        std::vector<std::string> args;
    };
    Call take_call(const BatchSettlement& settle, int reserve,
                   const std::vector<std::string>& queues);

    redis::Keys keys_;
    std::string id_;
    FailureBackendKind backend_;
    unsigned long long sequence_ = 0;
    std::string pending_token_;  // token of a reservation whose reply may have been lost
};

/// How many jobs to take at once: one while jobs are slow, more while each takes a
/// small part of `budget`, so a batch holds about `budget` of work. Growth doubles per
/// batch (a burst of slow jobs after fast ones is held by one worker for at most about
/// twice the budget); a slow job shrinks it at once.
class Prefetch {
 public:
    Prefetch(int limit, std::chrono::microseconds budget) : limit_(limit), budget_(budget) {}
    [[nodiscard]] int next() const noexcept { return size_; }
    void observe(std::size_t jobs, std::chrono::steady_clock::duration took);

 private:
    int limit_;
    std::chrono::microseconds budget_;
    int size_ = 1;
};

}  // namespace resque::worker
