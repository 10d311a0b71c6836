#pragma once

// Reading an action's JSON body (private to src/web/): a missing or ill-typed field
// throws MissingField, which run_action turns into a 400 naming the field.

#include <string>

#include "web/api.hpp"

namespace resque::web {

struct MissingField {
    std::string name;
};

/// A non-empty string member.
inline std::string text_field(const json& body, const char* name) {
    const auto it = body.find(name);
    if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
        throw MissingField{name};
    }
    return it->get<std::string>();
}

/// A non-negative integer member.
inline long long count_field(const json& body, const char* name) {
    const auto it = body.find(name);
    if (it == body.end() || !it->is_number_integer() || it->get<long long>() < 0) {
        throw MissingField{name};
    }
    return it->get<long long>();
}

/// 200 with `details` and `"ok": true`.
inline ActionResult ok(json details = json::object()) {
    details["ok"] = true;
    return {200, details};
}

}  // namespace resque::web
