// Client: the reads behind the dashboard that resque-web never had (queue latency,
// per-minute throughput, Redis summary, key listing) and removing one queued job by its
// content. Every read is bounded: a fixed number of round trips, SCAN rather than KEYS.

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "client_state.hpp"
#include "resque/errors.hpp"

namespace resque {
namespace {

using nlohmann::json;
using redis::Command;

// INFO fields the stats page shows; everything else INFO reports is left out.
constexpr std::string_view kInfoFields[] = {
    "redis_version",
    "redis_mode",
    "uptime_in_seconds",
    "connected_clients",
    "blocked_clients",
    "used_memory_human",
    "used_memory_peak_human",
    "maxmemory_human",
    "maxmemory_policy",
    "mem_fragmentation_ratio",
    "total_connections_received",
    "total_commands_processed",
    "instantaneous_ops_per_sec",
    "rejected_connections",
    "expired_keys",
    "evicted_keys",
    "keyspace_hits",
    "keyspace_misses",
    "role",
    "aof_enabled",
    "rdb_last_bgsave_status",
};

// Seconds since the epoch from Redis's TIME reply.
double redis_now(const redis::Reply& time) {
    const auto parts = time.as_strings();
    return std::stod(parts.at(0)) + std::stod(parts.at(1)) / 1e6;
}

// `2026-12-03T12:00:00Z`, with optional fraction and `+hh:mm` offset; nullopt otherwise.
std::optional<double> parse_iso8601(const std::string& text) {
    std::tm tm{};
    int consumed = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    double seconds = static_cast<double>(timegm(&tm));
    std::string_view rest = std::string_view(text).substr(static_cast<std::size_t>(consumed));
    if (!rest.empty() && rest.front() == '.') {
        std::size_t digits = 1;
        while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) {
            ++digits;
        }
        seconds += std::stod("0" + std::string(rest.substr(0, digits)));
        rest.remove_prefix(digits);
    }
    int hours = 0;
    int minutes = 0;
    if (rest.size() >= 6 && (rest[0] == '+' || rest[0] == '-') &&
        std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &hours, &minutes) == 2) {
        const double offset = hours * 3600.0 + minutes * 60.0;
        seconds += rest[0] == '+' ? -offset : offset;
    }
    return seconds;
}

std::optional<double> enqueued_time(const json& field) {
    if (field.is_number()) return field.get<double>();
    if (field.is_string()) return parse_iso8601(field.get<std::string>());
    return std::nullopt;
}

// When the payload says it was enqueued: top level (Sidekiq style) or ActiveJob's
// serialized job in args[0]. Plain Resque payloads carry no time.
std::optional<double> enqueued_at(const std::string& payload) {
    const json decoded = json::parse(payload, nullptr, false);
    if (!decoded.is_object()) return std::nullopt;
    if (const auto it = decoded.find("enqueued_at"); it != decoded.end()) {
        return enqueued_time(*it);
    }
    const auto args = decoded.find("args");
    if (args == decoded.end() || !args->is_array() || args->empty()) return std::nullopt;
    const json& first = args->front();
    if (!first.is_object() || !first.contains("enqueued_at")) return std::nullopt;
    return enqueued_time(first["enqueued_at"]);
}

long long counter_value(const redis::Reply& reply) {
    if (reply.is_nil()) return 0;
    long long value = 0;
    const std::string& text = reply.str;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size() ? value : 0;
}

std::map<std::string, std::string> selected_info(const std::string& text) {
    std::map<std::string, std::string> fields;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        start = end + 1;

        const auto colon = line.find(':');
        if (colon == std::string_view::npos || line.starts_with('#')) continue;
        const std::string_view name = line.substr(0, colon);
        const bool wanted = std::find(std::begin(kInfoFields), std::end(kInfoFields), name) !=
                            std::end(kInfoFields);
        if (wanted || name.starts_with("db")) {
            fields.emplace(name, line.substr(colon + 1));
        }
    }
    return fields;
}

Command size_command(const std::string& type, const std::string& key) {
    if (type == "list") return {"LLEN", key};
    if (type == "set") return {"SCARD", key};
    if (type == "zset") return {"ZCARD", key};
    if (type == "hash") return {"HLEN", key};
    if (type == "string") return {"STRLEN", key};
    return {"EXISTS", key};  // streams and others: shown as 1
}

}  // namespace

std::vector<QueueSummary> Client::queue_summaries() {
    const auto& keys = state_->keys();
    return state_->with_connection([&](redis::Connection& redis) {
        auto names = redis.command({"SMEMBERS", keys.queues()}).as_strings();
        std::sort(names.begin(), names.end());

        std::vector<Command> reads{{"TIME"}};
        for (const auto& name : names) {
            reads.push_back({"LLEN", keys.queue(name)});
            reads.push_back({"LINDEX", keys.queue(name), "0"});
        }
        const auto replies = redis.pipeline(reads);
        const double now = redis_now(replies[0]);

        std::vector<QueueSummary> queues;
        queues.reserve(names.size());
        for (std::size_t i = 0; i < names.size(); ++i) {
            QueueSummary queue{std::move(names[i]), replies[1 + 2 * i].as_integer(), {}};
            if (const auto head = replies[2 + 2 * i].as_optional_string()) {
                if (const auto at = enqueued_at(*head)) {
                    queue.oldest_age_seconds = std::max(0.0, now - *at);
                }
            }
            queues.push_back(std::move(queue));
        }
        return queues;
    });
}

StatHistory Client::stat_history(int minutes) {
    if (minutes < 1 || minutes > 2880) {
        throw UsageError(fmt::format("stat history: minutes must be 1..2880 (got {})", minutes));
    }
    const auto& keys = state_->keys();
    return state_->with_connection([&](redis::Connection& redis) {
        const auto now_minute = static_cast<long long>(redis_now(redis.command({"TIME"}))) / 60;
        StatHistory history;
        history.first_minute = now_minute - minutes + 1;

        Command mget{"MGET"};
        for (const std::string_view name : {"processed", "failed"}) {
            for (int i = 0; i < minutes; ++i) {
                mget.push_back(keys.stat_minute(name, history.first_minute + i));
            }
        }
        const auto values = redis.command(mget).elements;
        for (int i = 0; i < minutes; ++i) {
            history.processed.push_back(counter_value(values.at(static_cast<std::size_t>(i))));
            history.failed.push_back(
                counter_value(values.at(static_cast<std::size_t>(minutes + i))));
        }
        return history;
    });
}

RedisSummary Client::redis_summary() {
    return state_->with_connection([&](redis::Connection& redis) {
        const auto replies = redis.pipeline(std::vector<Command>{{"INFO"}, {"DBSIZE"}});
        RedisSummary summary;
        summary.info = selected_info(replies[0].as_string());
        summary.db_keys = replies[1].as_integer();
        return summary;
    });
}

KeyListing Client::key_summaries(std::size_t limit) {
    const auto& keys = state_->keys();
    const std::string pattern = keys.key("*");
    return state_->with_connection([&](redis::Connection& redis) {
        KeyListing listing;
        std::vector<std::string> found;
        std::string cursor = "0";
        do {
            const auto reply = redis.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
            cursor = reply.elements.at(0).as_string();
            for (auto& key : reply.elements.at(1).as_strings()) found.push_back(std::move(key));
        } while (cursor != "0" && found.size() <= limit);
        std::sort(found.begin(), found.end());
        found.erase(std::unique(found.begin(), found.end()), found.end());
        if (found.size() > limit || cursor != "0") listing.truncated = true;
        if (found.size() > limit) found.resize(limit);
        if (found.empty()) return listing;

        std::vector<Command> types;
        for (const auto& key : found) types.push_back({"TYPE", key});
        const auto type_replies = redis.pipeline(types);
        std::vector<Command> sizes;
        for (std::size_t i = 0; i < found.size(); ++i) {
            sizes.push_back(size_command(type_replies[i].as_string(), found[i]));
        }
        const auto size_replies = redis.pipeline(sizes);
        const std::size_t prefix = keys.key("").size();
        for (std::size_t i = 0; i < found.size(); ++i) {
            listing.keys.push_back(KeySummary{found[i].substr(prefix), type_replies[i].as_string(),
                                              size_replies[i].as_integer()});
        }
        return listing;
    });
}

bool Client::remove_queued_job(std::string_view queue, std::string_view payload) {
    detail::require_queue_name(queue);
    const std::string key = state_->keys().queue(queue);
    return state_->with_connection([&](redis::Connection& redis) {
        return redis.command({"LREM", key, "1", payload}).as_integer() == 1;
    });
}

}  // namespace resque
