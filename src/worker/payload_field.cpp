#include "worker/payload_field.hpp"

#include "json/ruby_json.hpp"
#include "resque/errors.hpp"

namespace resque::worker {

std::string payload_field(std::string_view raw) {
    if (json::is_object(raw)) return std::string(raw);
    // Not a JSON object: stored as a string so the bytes are kept.
    std::string out;
    json::append_string(out, json::scrub_utf8(raw));
    return out;
}

std::string class_of(std::string_view raw) {
    try {
        auto value = json::parse(raw, "payload");
        if (value.is_object() && value.contains("class") && value["class"].is_string()) {
            return value["class"].get<std::string>();
        }
    } catch (const PayloadError&) {
        // Falls through to the placeholder Resque itself uses.
    }
    return "<Unknown Job>";
}

}  // namespace resque::worker
