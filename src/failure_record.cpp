// FailureRecord: one entry of a failure list, read and written in Resque's exact format
// (../shared/PROTOCOL.md section 2.3). Writing never fails on odd bytes: invalid UTF-8
// is replaced, so every record we store is valid JSON that Ruby's dashboard can decode
// (FC-05). Reading is tolerant: missing fields stay empty.

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "json/ruby_json.hpp"
#include "resque/errors.hpp"
#include "resque/failure.hpp"

namespace resque {
namespace {

// Nesting allowed when reading a record; deeper payloads are not Resque's.
constexpr std::size_t kMaxRecordDepth = 512;

void append_text(std::string& out, std::string_view text) {
    if (json::is_valid_utf8(text)) {
        json::append_string(out, text);
    } else {
        json::append_string(out, json::scrub_utf8(text));
    }
}

// The payload is spliced as it was taken from the queue, so its args keep every byte
// (FC-06). Text that is not JSON is kept as a string literal of its bytes instead.
void append_payload(std::string& out, std::string_view payload) {
    if (payload.empty()) {
        out += "null";
        return;
    }
    std::string scrubbed;
    if (!json::is_valid_utf8(payload)) {
        scrubbed = json::scrub_utf8(payload);
        payload = scrubbed;
    }
    if (json::is_json(payload)) {
        out += payload;
    } else {
        json::append_string(out, payload);
    }
}

void append_member(std::string& out, std::string_view key, std::string_view text) {
    out += ",\"";
    out += key;
    out += "\":";
    append_text(out, text);
}

// A string member's value; another scalar is kept as its JSON text (a numeric failed_at
// stays readable); missing or null is empty.
std::string text_member(const nlohmann::json& record, std::string_view raw, std::string_view key) {
    const auto member = record.find(key);
    if (member == record.end() || member->is_null()) return {};
    if (member->is_string()) return member->get<std::string>();
    return std::string(json::raw_member(raw, key));
}

std::vector<std::string> backtrace_of(const nlohmann::json& record) {
    std::vector<std::string> lines;
    const auto member = record.find("backtrace");
    if (member == record.end() || !member->is_array()) return lines;
    for (const auto& line : *member) {
        lines.push_back(line.is_string() ? line.get<std::string>() : json::encode(line));
    }
    return lines;
}

}  // namespace

std::string FailureRecord::encode() const {
    // Sized up front so that a large payload is copied into the record once, not again
    // each time the string grows (FC-07). Escaping may still add a little.
    std::size_t size = 256 + failed_at.size() + payload_json.size() + exception.size() +
                       error.size() + worker.size() + queue.size();
    for (const auto& line : backtrace) size += line.size() + 3;
    std::string out;
    out.reserve(size);
    out += "{\"failed_at\":";
    append_text(out, failed_at);
    out += ",\"payload\":";
    append_payload(out, payload_json);
    append_member(out, "exception", exception);
    append_member(out, "error", error);

    out += ",\"backtrace\":[";
    for (std::size_t i = 0; i < backtrace.size(); ++i) {
        if (i > 0) out += ',';
        append_text(out, backtrace[i]);
    }
    out += ']';

    append_member(out, "worker", worker);
    append_member(out, "queue", queue);
    if (retried_at) append_member(out, "retried_at", *retried_at);
    out += '}';
    return out;
}

FailureRecord FailureRecord::decode(std::string_view text) {
    // A foreign writer may have stored invalid bytes; read what can be read.
    std::string scrubbed;
    if (!json::is_valid_utf8(text)) {
        scrubbed = json::scrub_utf8(text);
        text = scrubbed;
    }
    const nlohmann::json record = json::parse(text, "failure record", kMaxRecordDepth);
    if (!record.is_object()) {
        throw PayloadError(
            fmt::format("failure record is not a JSON object (got {})", record.type_name()));
    }

    FailureRecord out;
    out.failed_at = text_member(record, text, "failed_at");
    out.payload_json = std::string(json::raw_member(text, "payload"));
    out.exception = text_member(record, text, "exception");
    out.error = text_member(record, text, "error");
    out.backtrace = backtrace_of(record);
    out.worker = text_member(record, text, "worker");
    out.queue = text_member(record, text, "queue");
    if (const auto retried = record.find("retried_at");
        retried != record.end() && !retried->is_null()) {
        out.retried_at = text_member(record, text, "retried_at");
    }
    return out;
}

std::string FailureRecord::class_name() const {
    // Only an object payload has a class; a verbatim string payload has none.
    const std::string_view raw = json::raw_member(payload_json, "class");
    if (raw.empty() || raw.front() != '"') return {};
    const auto value = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
    return value.is_string() ? value.get<std::string>() : std::string{};
}

}  // namespace resque
