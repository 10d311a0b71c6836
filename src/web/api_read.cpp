// The dashboard's read endpoints: library results rendered as JSON.

#include <algorithm>

#include "web/api.hpp"

namespace resque::web {
namespace {

// What the browser shows of a payload: its class and its args as JSON text. A payload
// that is not a JSON object is shown raw, flagged, never dropped.
json describe_payload(const std::string& payload) {
    const json decoded = json::parse(payload, nullptr, false);
    json out{{"class", ""}, {"args", ""}, {"valid", false}};
    if (!decoded.is_object()) {
        out["args"] = payload;
        return out;
    }
    const auto cls = decoded.find("class");
    if (cls != decoded.end())
        out["class"] = cls->is_string() ? cls->get<std::string>() : cls->dump();
    const auto args = decoded.find("args");
    if (args != decoded.end()) out["args"] = args->dump();
    out["valid"] = cls != decoded.end() && cls->is_string() && args != decoded.end();
    return out;
}

// A string member, or "" when absent or not a string (records written by other tools).
std::string string_field(const json& object, const char* name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

json failure_row(const FailureEntry& entry, bool with_detail) {
    const FailureRecord& record = entry.record;
    // An unreadable entry is still listed, showing its raw text, so it can be removed.
    json row = describe_payload(record.payload_json.empty() ? entry.raw : record.payload_json);
    row["index"] = entry.index;
    row["list"] = entry.failure_queue;
    row["raw"] = entry.raw;
    row["failed_at"] = record.failed_at;
    row["queue"] = record.queue;
    row["exception"] = record.exception;
    row["error"] = record.error;
    row["worker"] = record.worker;
    row["retried_at"] = record.retried_at ? json(*record.retried_at) : json(nullptr);
    if (with_detail) {
        row["backtrace"] = record.backtrace;
        row["payload"] = record.payload_json;
    }
    return row;
}

json worker_row(const WorkerInfo& worker) {
    json row{{"id", worker.id},
             {"host", worker.host},
             {"pid", worker.pid},
             {"queues", worker.queues},
             {"started", worker.started},
             {"heartbeat", worker.heartbeat},
             {"processed", worker.processed},
             {"failed", worker.failed},
             {"working", worker.working()},
             {"job", nullptr}};
    if (!worker.working()) return row;

    // `worker:<id>` is `{"queue","run_at","payload"}`, written by us or by Ruby Resque.
    const json record = json::parse(worker.job_json, nullptr, false);
    json job{{"queue", ""}, {"run_at", ""}, {"raw", worker.job_json}};
    if (record.is_object()) {
        job["queue"] = string_field(record, "queue");
        job["run_at"] = string_field(record, "run_at");
        if (record.contains("payload")) job.update(describe_payload(record["payload"].dump()));
    }
    row["job"] = job;
    return row;
}

json queue_rows(Client& client) {
    json rows = json::array();
    for (const auto& queue : client.queue_summaries()) {
        rows.push_back(
            {{"name", queue.name},
             {"size", queue.size},
             {"oldest_age_seconds",
              queue.oldest_age_seconds ? json(*queue.oldest_age_seconds) : json(nullptr)}});
    }
    return rows;
}

json stats_object(const Stats& stats) {
    return {{"processed", stats.processed},     {"failed", stats.failed},
            {"failed_stat", stats.failed_stat}, {"pending", stats.pending},
            {"queues", stats.queues},           {"workers", stats.workers},
            {"working", stats.working}};
}

long long clamp_count(long long count) { return std::clamp(count, 1LL, kMaxPage); }

}  // namespace

json overview_json(Client& client, SchedulerView& scheduler) {
    json working = json::array();
    for (const auto& worker : client.workers()) {
        if (worker.working()) working.push_back(worker_row(worker));
    }
    return {{"stats", stats_object(client.stats())},
            {"queues", queue_rows(client)},
            {"working", working},
            {"paused", client.paused()},
            {"history", history_json(client, 60)},
            {"delayed", overdue_json(scheduler)}};
}

json queues_json(Client& client) {
    return {{"queues", queue_rows(client)}, {"failure_lists", client.failure_queues()}};
}

json queue_json(Client& client, const std::string& queue, PageRequest page) {
    const long long offset = std::max(0LL, page.offset);
    json jobs = json::array();
    long long index = offset;
    for (const auto& payload : client.peek(queue, offset, clamp_count(page.count))) {
        json row = describe_payload(payload);
        row["index"] = index++;
        row["raw"] = payload;
        jobs.push_back(std::move(row));
    }
    return {
        {"name", queue}, {"size", client.queue_size(queue)}, {"offset", offset}, {"jobs", jobs}};
}

json workers_json(Client& client) {
    json rows = json::array();
    for (const auto& worker : client.workers()) rows.push_back(worker_row(worker));
    return {{"workers", rows}};
}

json failures_json(Client& client, const FailureQuery& query) {
    const long long offset = std::max(0LL, query.page.offset);
    const long long count = clamp_count(query.page.count);
    const FailureFilter& filter = query.filter;
    const bool filtered =
        !filter.class_name.empty() || !filter.queue.empty() || !filter.exception.empty();

    json out{{"list", query.list},
             {"total", client.failure_count(query.list)},
             {"offset", offset},
             {"filtered", filtered}};
    std::vector<FailureEntry> entries;
    if (filtered) {
        // FC-13: bounded work per request; the browser resumes from next_offset.
        auto [found, next] =
            client.find_failures(filter, offset, count, kMaxFailureScan, query.list);
        entries = std::move(found);
        out["next_offset"] = next;
    } else {
        entries = client.failures(offset, count, query.list);
        const long long next = offset + static_cast<long long>(entries.size());
        out["next_offset"] = next < out["total"].get<long long>() ? next : -1;
    }
    json rows = json::array();
    for (const auto& entry : entries) rows.push_back(failure_row(entry, false));
    out["failures"] = rows;
    return out;
}

std::optional<json> failure_json(Client& client, const std::string& list, long long index) {
    const auto entry = client.failure_at(index, list);
    if (!entry) return std::nullopt;
    return failure_row(*entry, true);
}

json stats_json(Client& client) {
    const RedisSummary redis = client.redis_summary();
    const KeyListing listing = client.key_summaries(1000);
    json keys = json::array();
    for (const auto& key : listing.keys) {
        keys.push_back({{"key", key.key}, {"type", key.type}, {"size", key.size}});
    }
    return {{"stats", stats_object(client.stats())},
            {"redis", redis.info},
            {"db_keys", redis.db_keys},
            {"keys", keys},
            {"keys_truncated", listing.truncated}};
}

json history_json(Client& client, int minutes) {
    const StatHistory history = client.stat_history(minutes);
    return {{"first_minute", history.first_minute},
            {"processed", history.processed},
            {"failed", history.failed}};
}

std::string json_body(const json& value) {
    const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        // Outside strings JSON never uses these characters, so escaping every one is safe.
        if (c == '<') {
            out += "\\u003c";
        } else if (c == '>') {
            out += "\\u003e";
        } else if (c == '&') {
            out += "\\u0026";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace resque::web
