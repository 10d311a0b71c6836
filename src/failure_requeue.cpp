#include "failure_requeue.hpp"

#include <algorithm>

#include "json/ruby_json.hpp"
#include "resque/errors.hpp"

namespace resque::detail {

Requeue requeue_of(std::string_view raw) {
    const FailureRecord record = FailureRecord::decode(raw);
    if (record.queue.empty()) throw PayloadError("failure record has no \"queue\"");
    const std::string class_name = record.class_name();
    if (class_name.empty()) throw PayloadError("failure record's payload has no \"class\"");

    std::string payload = "{\"class\":";
    json::append_string(payload, class_name);
    payload += ",\"args\":";
    const std::string_view args = json::raw_member(record.payload_json, "args");
    if (args.empty() || args == "null") {
        payload += "[]";  // Ruby splats a missing args as no arguments
    } else if (args.front() == '[') {
        payload += json::canonicalize(args);
    } else {
        throw PayloadError("failure record's payload \"args\" is not an array");
    }
    payload += '}';
    return {record.queue, std::move(payload)};
}

std::optional<Requeue> try_requeue_of(std::string_view raw) {
    try {
        return requeue_of(raw);
    } catch (const PayloadError&) {
        return std::nullopt;  // not a job: the caller decides what to do with it
    }
}

std::string retried_at(ruby_time::Clock::time_point when, FailureBackendKind backend) {
    std::string stamp = ruby_time::failure_time(when);
    if (backend == FailureBackendKind::kRedisMultiQueue) {
        // `%Y/%m/%d %H:%M:%S` is the part before the zone.
        stamp.resize(std::min(stamp.size(), stamp.rfind(' ')));
    }
    return stamp;
}

std::string with_retried_at(std::string_view raw, std::string_view stamp) {
    if (!json::is_valid_utf8(raw)) {
        FailureRecord record = FailureRecord::decode(raw);  // re-encoded, scrubbed (FC-05)
        record.retried_at = std::string(stamp);
        return record.encode();
    }
    std::string literal;
    json::append_string(literal, stamp);

    const std::string_view old = json::raw_member(raw, "retried_at");
    if (!old.empty()) {
        const auto at = static_cast<std::size_t>(old.data() - raw.data());
        return std::string(raw.substr(0, at)) + literal + std::string(raw.substr(at + old.size()));
    }
    const auto close = raw.find_last_of('}');
    std::string out(raw.substr(0, close));
    const auto last = out.find_last_not_of(" \t\r\n");
    if (last != std::string::npos && out[last] != '{') out += ',';
    out += "\"retried_at\":";
    out += literal;
    out += raw.substr(close);
    return out;
}

}  // namespace resque::detail
