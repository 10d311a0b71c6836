#pragma once

// The dashboard's JSON API: one function per page or action, each a pure translation
// between the library's read/admin API (resque::Client) and JSON. No Redis commands
// here. Every value from Redis is passed through as JSON text; the browser renders it
// with textContent, and json_body() escapes '<', '>' and '&' so no body ever holds
// markup (FC-14).

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "resque/client.hpp"
#include "web/scheduler_view.hpp"

namespace resque::web {

using nlohmann::json;

/// A page of a list: where it starts and how long it is (count is capped at kMaxPage).
struct PageRequest {
    long long offset = 0;
    long long count = 20;
};
inline constexpr long long kMaxPage = 200;

/// Which failures to list: an unfiltered page (LRANGE + LLEN), or with a filter a
/// resumable scan from `offset` that reads at most kMaxFailureScan entries per request.
struct FailureQuery {
    std::string list = "failed";
    PageRequest page;
    FailureFilter filter;
};
inline constexpr long long kMaxFailureScan = 10000;

/// Counters, queues with sizes and latency, the workers now working, the last hour, and
/// how overdue the oldest due delayed job is (FC-16).
json overview_json(Client& client, SchedulerView& scheduler);
json queues_json(Client& client);
/// One queue's jobs from `page.offset`, with its size.
json queue_json(Client& client, const std::string& queue, PageRequest page);
json workers_json(Client& client);
json failures_json(Client& client, const FailureQuery& query);
/// One failure with its backtrace; nullopt when there is no entry at `index`.
std::optional<json> failure_json(Client& client, const std::string& list, long long index);
/// Counters, Redis INFO summary and the namespace's keys (bounded).
json stats_json(Client& client);
/// Per-minute processed/failed for the last `minutes`.
json history_json(Client& client, int minutes);

/// The scheduler page's bounds: jobs shown per due time, and the longest class or args
/// text a list row carries (FC-07: a list response stays far under 1 MiB whatever the
/// jobs hold; the whole job is one click away).
inline constexpr std::size_t kJobsPerTime = 5;
inline constexpr std::size_t kMaxListedText = 2000;
/// At most this many schedules are listed (with their run records) per request.
inline constexpr std::size_t kMaxSchedules = 500;
/// Delayed jobs due longer ago than this mean no scheduler is moving them: the
/// dashboard warns. A working scheduler moves them within its poll interval (Ruby's:
/// 5 s, ours: at most 1 s), so twice Ruby's interval leaves no false alarm.
inline constexpr std::chrono::seconds kOverdueWarning{10};

/// The scheduler page: scheduler state (leader, overdue), a page of due times from
/// `page.offset` (each with its first kJobsPerTime jobs), the totals, and the
/// schedules (static and persisted) with their next runs.
json scheduler_json(SchedulerView& scheduler, PageRequest page);
/// The jobs due at one time (epoch seconds `at`), a page of them, cut as in lists.
json delayed_time_json(SchedulerView& scheduler, long long at, PageRequest page);
/// One delayed job, whole, named by its due time and digest; nullopt when it is gone.
std::optional<json> delayed_job_json(SchedulerView& scheduler, long long at,
                                     const std::string& digest);
/// `overdue_seconds` (null: nothing due) and `overdue_warning` (> kOverdueWarning).
json overdue_json(SchedulerView& scheduler);

/// The result of an action: HTTP status and a JSON body (`{"ok":..}` or `{"error":..}`).
struct ActionResult {
    int status = 200;
    json body;
};

/// The POST actions, by name (`queue/clear`, `failed/retry`, `delayed/remove`, ...),
/// with the request's JSON body. Unknown names give 404; missing fields 400; an entry
/// that is no longer what the operator saw gives 409 and changes nothing (FC-12).
ActionResult run_action(Client& client, SchedulerView& scheduler, const std::string& name,
                        const json& body);
/// The scheduler's actions (`schedule/run_now`, `delayed/enqueue_now`,
/// `delayed/remove`), as run_action; throws MissingField (action_fields.hpp).
ActionResult run_scheduler_action(Client& client, SchedulerView& scheduler, const std::string& name,
                                  const json& body);

/// JSON text safe to serve anywhere: '<', '>' and '&' become \u escapes.
std::string json_body(const json& value);

}  // namespace resque::web
