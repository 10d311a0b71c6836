#pragma once

// How an idle worker whose queue list comes down to one queue waits: a blocking pop
// (BLMOVE) moves the next job pushed to that queue into the worker's landing list,
// atomically, so Redis hands each job to exactly one idle worker and the job starts one
// network hop after its push. Waiting on a keyspace notification and then taking costs
// two hops and wakes every idle worker. The take.lua call that makes the landed job the
// worker's batch (and names it in `worker:<id>`) is sent without waiting for its reply.
//
// A signal, a change of the pause key or of the queue set cancels the pop by dropping
// the connection; a job that landed in that instant joins the next take's batch. A
// worker that dies with a job in its landing list is recovered like one holding a
// batch (recover.lua). Servers without BLMOVE (Redis < 6.2) fall back to notifications.

#include <chrono>
#include <optional>
#include <string>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "redis/subscription.hpp"
#include "worker/reservation.hpp"

namespace resque::worker {

class IdlePop {
 public:
    IdlePop(redis::Keys keys, std::string worker_id);

    /// False once the server has refused BLMOVE.
    [[nodiscard]] bool supported() const noexcept { return supported_; }

    /// What stopped the wait.
    enum class Outcome {
        kJob,          ///< a job landed: `landed` holds the batch to run
        kNothing,      ///< timed out, the queue key is not a list, or workers are paused
        kInterrupted,  ///< the wake fd, the pause key or the queue set changed
    };

    /// Waits up to `timeout` for a job on `queue`; `subscription` is watched meanwhile
    /// (its pushes are noted for the caller to read with take_pushed()). Throws
    /// RedisError when the connection drops.
    Outcome wait(redis::Connection& redis, redis::Subscription& subscription, int wake_fd,
                 Reserver& reserver, const std::string& queue, std::chrono::milliseconds timeout,
                 std::optional<TakeResult>& landed);

 private:
    /// The poll loop; nullopt when the pop must be cancelled.
    std::optional<Outcome> await(redis::Connection& redis, redis::Subscription& subscription,
                                 int wake_fd, Reserver& reserver, const std::string& queue,
                                 std::chrono::milliseconds timeout,
                                 std::optional<TakeResult>& landed);

    redis::Keys keys_;
    std::string id_;
    bool supported_ = true;
};

}  // namespace resque::worker
