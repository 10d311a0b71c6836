#pragma once

// The dashboard's JSON API: one function per page or action, each a pure translation
// between the library's read/admin API (resque::Client) and JSON. No Redis commands
// here. Every value from Redis is passed through as JSON text; the browser renders it
// with textContent, and json_body() escapes '<', '>' and '&' so no body ever holds
// markup (FC-14).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "resque/client.hpp"

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

/// Counters, queues with sizes and latency, the workers now working, the last hour.
json overview_json(Client& client);
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

/// The result of an action: HTTP status and a JSON body (`{"ok":..}` or `{"error":..}`).
struct ActionResult {
    int status = 200;
    json body;
};

/// The POST actions, by name (`queue/clear`, `failed/retry`, ...), with the request's
/// JSON body. Unknown names give 404; missing fields 400; a failure entry that is no
/// longer what the operator saw gives 409 and changes nothing (FC-12).
ActionResult run_action(Client& client, const std::string& name, const json& body);

/// JSON text safe to serve anywhere: '<', '>' and '&' become \u escapes.
std::string json_body(const json& value);

}  // namespace resque::web
