#include "redis/reply.hpp"

#include "resque/errors.hpp"

namespace resque::redis {
namespace {

const char* type_name(Reply::Type type) {
    switch (type) {
        case Reply::Type::kNil: return "nil";
        case Reply::Type::kInteger: return "integer";
        case Reply::Type::kString: return "string";
        case Reply::Type::kStatus: return "status";
        case Reply::Type::kArray: return "array";
    }
    return "unknown";
}

[[noreturn]] void unexpected(const Reply& reply, const char* wanted) {
    throw ProtocolError(std::string("expected ") + wanted + " reply from Redis, got " +
                        type_name(reply.type));
}

}  // namespace

long long Reply::as_integer() const {
    if (type != Type::kInteger) unexpected(*this, "integer");
    return integer;
}

const std::string& Reply::as_string() const {
    if (type != Type::kString && type != Type::kStatus) unexpected(*this, "string");
    return str;
}

std::optional<std::string> Reply::as_optional_string() const {
    if (is_nil()) return std::nullopt;
    return as_string();
}

std::vector<std::string> Reply::as_strings() const& {
    if (type != Type::kArray) unexpected(*this, "array");
    std::vector<std::string> out;
    out.reserve(elements.size());
    for (const auto& element : elements) {
        out.push_back(element.is_nil() ? std::string() : element.as_string());
    }
    return out;
}

std::vector<std::string> Reply::as_strings() && {
    if (type != Type::kArray) unexpected(*this, "array");
    std::vector<std::string> out;
    out.reserve(elements.size());
    for (auto& element : elements) {
        if (element.is_nil()) {
            out.emplace_back();
        } else {
            (void)element.as_string();  // throws unless a string
            out.push_back(std::move(element.str));
        }
    }
    return out;
}

}  // namespace resque::redis
