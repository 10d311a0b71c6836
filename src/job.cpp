#include "resque/job.hpp"

#include <fmt/format.h>

#include "json/ruby_json.hpp"
#include "resque/errors.hpp"

namespace resque {
namespace {

// Resque payloads are shallow; the limit only guards against hostile input.
constexpr std::size_t kMaxPayloadDepth = 512;

std::string class_of(const nlohmann::json& payload) {
    const auto member = payload.find("class");
    if (member == payload.end()) throw PayloadError("payload has no \"class\"");
    if (!member->is_string()) {
        throw PayloadError(fmt::format("\"class\" is not a string (got {})", member->type_name()));
    }

    const auto& name = member->get_ref<const std::string&>();
    if (name.empty()) throw PayloadError("\"class\" is an empty string");
    return name;
}

// Resque treats a missing "args" as no arguments; anything else must be an array, since
// Ruby splats it into perform's parameters.
nlohmann::json args_of(nlohmann::json& payload) {
    const auto member = payload.find("args");
    if (member == payload.end()) return nlohmann::json::array();
    if (!member->is_array()) {
        throw PayloadError(fmt::format("\"args\" is not an array (got {})", member->type_name()));
    }
    return std::move(*member);
}

}  // namespace

std::string encode_payload(const Job& job, std::size_t max_bytes) {
    if (job.class_name.empty()) throw PayloadError("cannot encode a job with an empty class name");
    if (!json::is_valid_utf8(job.class_name)) {
        throw PayloadError("cannot encode a job whose class name is not valid UTF-8");
    }
    if (!job.args.is_array()) {
        throw PayloadError(fmt::format("cannot encode job {}: \"args\" is not an array (got {})",
                                       job.class_name, job.args.type_name()));
    }

    // Key order matters: Ruby writes "class" then "args", and dequeue compares strings.
    std::string out = "{\"class\":";
    json::append_string(out, job.class_name);
    out += ",\"args\":";
    try {
        json::append_value(out, job.args);
    } catch (const PayloadError& error) {
        // Add which job it was; the inner message says which value failed.
        throw PayloadError(
            fmt::format("cannot encode args of job {}: {}", job.class_name, error.what()));
    }
    out += '}';

    if (out.size() > max_bytes) {
        throw PayloadError(fmt::format("payload of job {} is {} bytes, over the limit of {} bytes",
                                       job.class_name, out.size(), max_bytes));
    }
    return out;
}

Job decode_payload(std::string_view payload) {
    nlohmann::json decoded = json::parse(payload, "payload", kMaxPayloadDepth);
    if (!decoded.is_object()) {
        throw PayloadError(
            fmt::format("payload is not a JSON object (got {})", decoded.type_name()));
    }

    Job job;
    job.class_name = class_of(decoded);
    job.args = args_of(decoded);
    return job;
}

}  // namespace resque
