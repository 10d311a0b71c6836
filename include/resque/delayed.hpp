#pragma once

// Delayed jobs in resque-scheduler's layout (../shared/PROTOCOL.md sections 3.1, 3.2):
// `<ns>:delayed_queue_schedule` (zset of epoch seconds), `<ns>:delayed:<epoch>` (lists of
// `{"class","args","queue"}` payloads) and `<ns>:timestamps:<payload>` (the times each
// exact payload is due). Ruby's scheduler moves what we write and we move what it
// writes; payloads are encoded byte for byte as Ruby encodes them, so removal by
// (class, args) matches jobs either side delayed.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "resque/job.hpp"
#include "resque/redis_options.hpp"
#include "resque/schedule.hpp"

namespace resque {

/// One delayed job as stored.
struct DelayedJob {
    SysSeconds at;      ///< when it is due (whole seconds)
    std::string queue;  ///< the queue it will be pushed to ("" if the entry has none)
    Job job;            ///< decoded class and args (empty class if undecodable)
    std::string raw;    ///< the stored `{"class","args","queue"}` text
};

/// The jobs due at one time, as a listing shows them: how many there are and the first
/// few, never the whole list.
struct DelayedTime {
    SysSeconds at;
    long long size = 0;            ///< jobs due at `at`
    std::vector<DelayedJob> jobs;  ///< the first of them, in insertion order
};

/// A job to delay (used by enqueue_many_at): its queue, due time and job.
struct TimedJob {
    std::string queue;
    std::chrono::system_clock::time_point at;
    Job job;
};

/// What enqueue_many_at did: how many jobs it delayed, and how many it pushed at once
/// because their time had passed.
struct DelayCounts {
    std::size_t delayed = 0;
    std::size_t enqueued_now = 0;
};

/// The outcome of enqueue_at: delayed, or pushed at once because the time had passed
/// (resque-scheduler does the same).
enum class DelayOutcome { kDelayed, kEnqueuedNow };

/// Client API for delayed jobs: add, remove, count, list, find.
///
/// Thread safety: a DelayedQueue owns one connection guarded by a mutex; it may be
/// shared between threads. Errors: ConnectionError/TimeoutError when Redis cannot be
/// reached, ReplyError for Redis errors, PayloadError for a job that cannot be encoded
/// (nothing written), UsageError for an empty queue name.
class DelayedQueue {
 public:
    /// `clock` tells "now" (injectable for tests); default: the system clock.
    using Clock = std::function<std::chrono::system_clock::time_point()>;
    explicit DelayedQueue(RedisOptions options, Clock clock = {});
    ~DelayedQueue();
    DelayedQueue(const DelayedQueue&) = delete;
    DelayedQueue& operator=(const DelayedQueue&) = delete;

    /// Delays `job` on `queue` until `at` (fraction of a second dropped, as Ruby's
    /// `to_i`). One script writes the list entry, the timestamps index and the zset
    /// member together (Ruby's three separate commands can be split by a crash). A time
    /// not in the future pushes the job now (SADD queues + RPUSH).
    DelayOutcome enqueue_at(std::string_view queue, std::chrono::system_clock::time_point at,
                            const Job& job);
    /// Like enqueue_at for an already-encoded `{"class","args"}` payload, kept byte for
    /// byte (object key order included, which Job's args cannot keep). Throws
    /// PayloadError when `payload` is not a valid job.
    DelayOutcome enqueue_raw_at(std::string_view queue, std::chrono::system_clock::time_point at,
                                std::string_view payload);
    /// enqueue_at for many jobs, one round trip per `batch_size` jobs due at the same time
    /// (at most 1,000). Every job is validated and encoded first: a bad one throws
    /// PayloadError naming its index, or UsageError for an empty queue, and nothing is
    /// written. Jobs due at one time keep their order in its list. Each batch is written
    /// by one script (entries, timestamps indexes, then the due time), so a scheduler
    /// moving that time meanwhile sees whole batches; a crash midway leaves the earlier
    /// batches written. Jobs whose time has passed are pushed at once, in pipelined
    /// SADD + RPUSH, as enqueue_at pushes them.
    DelayCounts enqueue_many_at(std::span<const TimedJob> jobs, std::size_t batch_size = 1000);
    /// enqueue_at(now + delay).
    DelayOutcome enqueue_in(std::string_view queue, std::chrono::system_clock::duration delay,
                            const Job& job);

    /// Removes every delayed copy of exactly this job on `queue` (Ruby's
    /// `remove_delayed_in_queue`), from all times. Returns how many were removed.
    std::size_t remove(std::string_view queue, const Job& job);
    /// Removes every delayed job of `class_name`, whatever its args and queue (scans all
    /// timestamps, like `remove_delayed_selection`). Returns how many.
    std::size_t remove_class(std::string_view class_name);
    /// Removes everything delayed (`reset_delayed_queue`). Returns how many jobs.
    std::size_t clear();

    /// Number of delayed jobs (sum over timestamps).
    [[nodiscard]] long long count();
    /// Number of distinct due times (`ZCARD`).
    [[nodiscard]] long long timestamp_count();
    /// Jobs in due-time order, from the `offset`-th timestamp, at most `limit` jobs.
    [[nodiscard]] std::vector<DelayedJob> list(long long offset = 0, std::size_t limit = 100);
    /// Times at which exactly this job is delayed on `queue` (Ruby's `scheduled_at`).
    [[nodiscard]] std::vector<SysSeconds> times_of(std::string_view queue, const Job& job);
    /// The earliest due time, if any.
    [[nodiscard]] std::optional<SysSeconds> next_time();
    /// How long the oldest due-but-not-moved job has waited (zero or more), or nullopt
    /// when nothing is due: what a health check alerts on when no scheduler runs (FC-16).
    [[nodiscard]] std::optional<std::chrono::seconds> overdue();

    // ---- inspecting and acting on single entries (the dashboard) ---------------------

    /// Due times in order from the `offset`-th, at most `count`, each with its number of
    /// jobs and its first `jobs_per_time` entries. One ZRANGE and one pipelined
    /// LLEN + LRANGE per time: a long list is never read whole.
    [[nodiscard]] std::vector<DelayedTime> times(long long offset, long long count,
                                                 std::size_t jobs_per_time);
    /// The jobs due at `at` from the `offset`-th, at most `count`, and how many there are.
    [[nodiscard]] DelayedTime jobs_at(SysSeconds at, long long offset, long long count);
    /// The job due at `at` whose stored entry's SHA-1 (40 lower-case hex digits, as Redis'
    /// `redis.sha1hex` writes it) is `digest`, if any: a short name for an entry of any
    /// size. The digests are computed inside Redis, so no other entry is read out.
    [[nodiscard]] std::optional<DelayedJob> find_at(SysSeconds at, std::string_view digest);
    /// Removes one copy of exactly `raw` from the jobs due at `at` (and `at` itself once
    /// nothing is left there). Returns false, changing nothing, when there is none.
    bool remove_at(SysSeconds at, std::string_view raw);
    /// Pushes one copy of exactly `raw`, due at `at`, onto its queue now, in one script
    /// with its removal, so it is neither lost nor doubled. The queue payload is
    /// `{"class","args"}` as the scheduler pushes it (no enqueue hooks run, as with the
    /// scheduler). Returns false when no such entry is due at `at`; throws PayloadError,
    /// changing nothing, when `raw` is not a job with a class and a queue.
    bool enqueue_now_at(SysSeconds at, std::string_view raw);
    /// Pushes every job due at `at` onto its queue now, as the scheduler does when `at`
    /// comes (entries that are not jobs are set aside in `<ns>:cpp:delayed_invalid`).
    /// Returns how many jobs were pushed.
    std::size_t enqueue_all_now_at(SysSeconds at);

    /// The delayed entry `{"class","args","queue"}` for `job` on `queue`, in Ruby's
    /// exact encoding (the member of `timestamps:<payload>` keys).
    [[nodiscard]] static std::string encode_entry(std::string_view queue, const Job& job);

 private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace resque
