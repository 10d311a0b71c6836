#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "resque/failure.hpp"
#include "resque/hooks.hpp"
#include "resque/job.hpp"
#include "resque/redis_options.hpp"

namespace resque {

/// A job to push onto a named queue (used by enqueue_many).
struct QueuedJob {
    std::string queue;
    Job job;
};

/// A registered worker as Resque's tools see it.
struct WorkerInfo {
    std::string id;        ///< `host:pid:queues`
    std::string host;
    std::string pid;
    std::string queues;    ///< the queue part of the id, comma-separated
    std::string started;   ///< `worker:<id>:started`, raw
    std::string heartbeat; ///< `workers:heartbeat` field, raw (empty if none)
    /// `worker:<id>` raw JSON (`{"queue","run_at","payload"}`) when working, else empty.
    std::string job_json;
    long long processed = 0;
    long long failed = 0;
    [[nodiscard]] bool working() const noexcept { return !job_json.empty(); }
};

/// Counters and sizes, as Resque.info reports them.
struct Stats {
    long long pending = 0;    ///< sum of all queue lengths
    long long processed = 0;  ///< stat:processed
    long long failed = 0;     ///< LLEN failed (what resque-web shows)
    long long failed_stat = 0;///< stat:failed
    long long queues = 0;
    long long workers = 0;
    long long working = 0;
};

/// A queue as the dashboard lists it.
struct QueueSummary {
    std::string name;
    long long size = 0;
    /// Seconds since the job at the head was enqueued, when its payload says so (a
    /// top-level `enqueued_at`, epoch seconds or ISO 8601, or ActiveJob's
    /// `args[0].enqueued_at`). Plain Resque payloads carry no time: then nullopt.
    std::optional<double> oldest_age_seconds;
};

/// Processed and failed jobs per minute, oldest minute first (from the
/// `<ns>:cpp:stat:<name>:<unix_minute>` counters our workers keep for two days).
struct StatHistory {
    long long first_minute = 0;  ///< unix minute (seconds / 60) of element 0
    std::vector<long long> processed;
    std::vector<long long> failed;
};

/// What the dashboard shows of the Redis server: selected INFO fields and key counts.
struct RedisSummary {
    std::map<std::string, std::string> info;  ///< INFO field -> value (selected fields)
    long long db_keys = 0;                    ///< DBSIZE of the selected database
};

/// One key under the namespace, as the stats page lists it.
struct KeySummary {
    std::string key;   ///< without the `<ns>:` prefix
    std::string type;  ///< Redis type name
    long long size = 0;  ///< elements (list/set/zset/hash), length (string)
};

/// A bounded listing of the namespace's keys.
struct KeyListing {
    std::vector<KeySummary> keys;
    bool truncated = false;  ///< more keys exist than were listed
};

/// The read and write API over one Redis: enqueue, dequeue, inspect queues, workers,
/// stats and failures. The CLI and the dashboard use only this.
///
/// Thread safety: a Client owns one connection and serialises its use with a mutex, so
/// it may be shared between threads (one command at a time). For parallel throughput use
/// one Client per thread.
///
/// Errors: ConnectionError/TimeoutError when Redis cannot be reached (the next call
/// reconnects), ReplyError for Redis errors (e.g. WRONGTYPE), PayloadError for jobs
/// that cannot be encoded.
class Client {
   public:
    explicit Client(RedisOptions options, Hooks hooks = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    [[nodiscard]] const RedisOptions& options() const noexcept;
    [[nodiscard]] const Hooks& hooks() const noexcept;

    // ---- queues -------------------------------------------------------------------

    /// Puts `job` at the tail of `queue` and adds the queue to `<ns>:queues`, as
    /// Resque.enqueue_to does (SADD + RPUSH). Runs before/after_enqueue hooks; returns
    /// false (writing nothing) when a before hook vetoes. Throws PayloadError for a job
    /// that cannot be encoded (nothing written) and UsageError for an empty queue name.
    bool enqueue(std::string_view queue, const Job& job);
    /// Pushes an already-encoded payload verbatim (Resque.push). No hooks, no checks
    /// beyond the queue name.
    void push_raw(std::string_view queue, std::string_view payload);
    /// Validates and encodes every job first (nothing is written if one is bad, and the
    /// PayloadError names its index), then pushes in pipelined batches. Hooks run per
    /// job. Returns how many were pushed (vetoed jobs are not).
    std::size_t enqueue_many(std::span<const QueuedJob> jobs, std::size_t batch_size = 1000);
    /// Removes jobs of `class_name` from `queue` (Resque.dequeue): with `args`, every
    /// byte-identical payload (one LREM); without, every payload of that class. Runs
    /// before/after_dequeue hooks. Returns the number removed.
    std::size_t dequeue(std::string_view queue, std::string_view class_name,
                        const std::optional<nlohmann::json>& args = std::nullopt);
    [[nodiscard]] long long queue_size(std::string_view queue);
    /// Raw payloads from `offset`, at most `count`.
    [[nodiscard]] std::vector<std::string> peek(std::string_view queue, long long offset = 0,
                                                long long count = 1);
    /// Names in `<ns>:queues`, sorted.
    [[nodiscard]] std::vector<std::string> queues();
    /// Every queue with its size (pipelined LLEN), sorted by name.
    [[nodiscard]] std::map<std::string, long long> queue_sizes();
    /// SREM + DEL: the queue and its pending jobs are gone.
    void remove_queue(std::string_view queue);
    /// Deletes the pending jobs but keeps the queue registered. Returns how many.
    long long clear_queue(std::string_view queue);

    // ---- workers and stats --------------------------------------------------------

    [[nodiscard]] std::vector<WorkerInfo> workers();
    [[nodiscard]] Stats stats();
    /// `pause-all-workers` on or off (every Resque-compatible worker honours it).
    void set_paused(bool paused);
    [[nodiscard]] bool paused();

    // ---- dashboard reads ----------------------------------------------------------

    /// Every queue with its size and the age of its oldest job, sorted by name. Two
    /// pipelined round trips (SMEMBERS, then LLEN + LINDEX 0 per queue and TIME).
    [[nodiscard]] std::vector<QueueSummary> queue_summaries();
    /// The last `minutes` minutes (1..2880) of per-minute counters, ending with the
    /// current minute by Redis's clock (TIME, then one MGET). Missing minutes are 0.
    [[nodiscard]] StatHistory stat_history(int minutes);
    /// INFO (server, clients, memory, stats, keyspace fields) and DBSIZE.
    [[nodiscard]] RedisSummary redis_summary();
    /// Keys under the namespace with type and size, found with SCAN (never KEYS), at
    /// most `limit`, sorted by name; `truncated` says more keys exist.
    [[nodiscard]] KeyListing key_summaries(std::size_t limit);
    /// Removes one occurrence of `payload` (exact bytes) from `queue` (LREM 1): the
    /// job is named by its content, never by a position that may have shifted.
    /// Returns false when no such job is queued.
    bool remove_queued_job(std::string_view queue, std::string_view payload);

    // ---- failures -----------------------------------------------------------------

    [[nodiscard]] long long failure_count(const std::string& failure_queue = "failed");
    /// Failure lists present: `failed`, plus `<q>_failed` names from `failed_queues`.
    [[nodiscard]] std::vector<std::string> failure_queues();
    /// A page of failures (LRANGE offset..offset+count-1), oldest first.
    [[nodiscard]] std::vector<FailureEntry> failures(long long offset, long long count,
                                                     const std::string& failure_queue = "failed");
    /// Failures matching `filter`, scanning at most `scan_limit` entries from `offset`
    /// in chunks; returns matches and the offset to resume from (-1 when done).
    [[nodiscard]] std::pair<std::vector<FailureEntry>, long long> find_failures(
        const FailureFilter& filter, long long offset, long long max_results,
        long long scan_limit = 10000, const std::string& failure_queue = "failed");
    [[nodiscard]] std::optional<FailureEntry> failure_at(
        long long index, const std::string& failure_queue = "failed");
    /// Requeues the failure at `index` (sets retried_at in place, pushes a fresh
    /// `{class,args}` payload with its args byte for byte). If `expected_raw` is given
    /// and the entry there differs, nothing happens and false is returned (FC-12).
    bool retry_failure(long long index, const std::optional<std::string>& expected_raw = {},
                       const std::string& failure_queue = "failed");
    /// Removes the failure at `index`, with the same identity check.
    bool remove_failure(long long index, const std::optional<std::string>& expected_raw = {},
                        const std::string& failure_queue = "failed");
    /// Requeues every failure present when called and removes them; failures that
    /// arrive meanwhile stay. Returns how many were requeued.
    long long retry_all_failures(const std::string& failure_queue = "failed");
    /// Removes every failure entry (the whole list). Returns how many.
    long long clear_failures(const std::string& failure_queue = "failed");
    /// Removes entries that carry retried_at.
    long long clear_retried_failures(const std::string& failure_queue = "failed");

   private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace resque
