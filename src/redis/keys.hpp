#pragma once

// Every Redis key resque-cpp touches is built here, so the layout in
// docs/redis-layout.md has exactly one implementation. Names follow Resque 3.0
// (../shared/PROTOCOL.md section 2.2); keys of our own carry a `cpp:` segment.

#include <string>
#include <string_view>

namespace resque::redis {

/// How long a per-minute counter lives: two days of throughput graphs.
inline constexpr long long kStatMinuteTtlSeconds = 172800;

class Keys {
 public:
    explicit Keys(std::string key_namespace);

    [[nodiscard]] const std::string& ns() const noexcept { return ns_; }
    /// `<ns>:` followed by `suffix`: any key by its un-namespaced name.
    [[nodiscard]] std::string key(std::string_view suffix) const;

    [[nodiscard]] std::string queues() const { return key("queues"); }
    [[nodiscard]] std::string queue(std::string_view name) const;
    /// The prefix of every queue key, `<ns>:queue:`.
    [[nodiscard]] std::string queue_prefix() const { return key("queue:"); }
    [[nodiscard]] std::string workers() const { return key("workers"); }
    [[nodiscard]] std::string worker(std::string_view id) const;
    [[nodiscard]] std::string worker_started(std::string_view id) const;
    [[nodiscard]] std::string heartbeats() const { return key("workers:heartbeat"); }
    [[nodiscard]] std::string prune_lock() const { return key("pruning_dead_workers_in_progress"); }
    [[nodiscard]] std::string pause_all() const { return key("pause-all-workers"); }
    [[nodiscard]] std::string stat(std::string_view name) const;
    [[nodiscard]] std::string stat(std::string_view name, std::string_view worker_id) const;
    /// Our per-minute counter `<ns>:cpp:stat:<name>:<unix_minute>` (unix_minute =
    /// floor(unix seconds / 60) by Redis's clock), kept two days (kStatMinuteTtlSeconds).
    [[nodiscard]] std::string stat_minute(std::string_view name, long long unix_minute) const;
    /// The same key without its minute, `<ns>:cpp:stat:<name>:`; scripts append it.
    [[nodiscard]] std::string stat_minute_prefix(std::string_view name) const;
    [[nodiscard]] std::string failed() const { return key("failed"); }
    [[nodiscard]] std::string failed_queues() const { return key("failed_queues"); }
    /// Our in-flight hash: worker id -> the batch of jobs it holds (see
    /// worker/held_batch.hpp for the format; exact payload bytes).
    [[nodiscard]] std::string inflight() const { return key("cpp:inflight"); }
    /// Worker id -> index (in its held batch) of the job it is running; absent = 0.
    [[nodiscard]] std::string running_index() const { return key("cpp:inflight:running"); }
    /// An idle worker's landing list: its blocking pop moves a job here, and the next
    /// take.lua call makes it the worker's batch (worker/idle_pop.hpp).
    [[nodiscard]] std::string landing(std::string_view id) const;
    /// Worker id -> JSON-encoded name of the queue its landing list is fed from.
    [[nodiscard]] std::string landing_queues() const { return key("cpp:landing"); }
    /// RedisMultiQueue failure list for `queue`: `<ns>:<queue>_failed`.
    [[nodiscard]] std::string queue_failed(std::string_view queue) const;
    /// A failure list by the name Resque's failure API uses for it: `failed` (the
    /// Failure::Redis list) or a `<queue>_failed` member of `failed_queues`.
    [[nodiscard]] std::string failure_list(std::string_view name) const { return key(name); }

    // ---- resque-scheduler (../shared/PROTOCOL.md section 3.2) -----------------------

    /// Zset of every epoch second that has delayed jobs (member = score).
    [[nodiscard]] std::string delayed_schedule() const { return key("delayed_queue_schedule"); }
    /// List of `{"class","args","queue"}` entries due at `epoch`: `<ns>:delayed:<epoch>`.
    [[nodiscard]] std::string delayed(long long epoch) const;
    /// `<ns>:timestamps:<entry>`: the `delayed:<epoch>` names (no namespace) holding it.
    [[nodiscard]] std::string delayed_timestamps(std::string_view entry) const;
    /// Hash schedule name -> Ruby Time#to_s of its last enqueue (beside the lists!).
    [[nodiscard]] std::string last_enqueued_at() const { return key("delayed:last_enqueued_at"); }
    [[nodiscard]] std::string persistent_schedules() const { return key("persistent_schedules"); }
    [[nodiscard]] std::string schedules_changed() const { return key("schedules_changed"); }
    /// The leader lock: the namespace twice, as resque-scheduler's redis-namespace use
    /// makes it, `<ns>:<ns>:[<prefix>:]resque_scheduler_master_lock`.
    [[nodiscard]] std::string scheduler_lock(std::string_view prefix) const;
    /// Our hash schedule name -> epoch second of its last run enqueued (or skipped).
    [[nodiscard]] std::string schedule_runs() const { return key("cpp:schedule_runs"); }
    /// Our list of delayed entries that could not be moved (not JSON, no queue).
    [[nodiscard]] std::string delayed_invalid() const { return key("cpp:delayed_invalid"); }

   private:
    std::string ns_;
    std::string prefix_;  // ns_ + ":"
};

}  // namespace resque::redis
