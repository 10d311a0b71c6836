#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace resque::redis {

/// A Redis reply copied out of hiredis, so no hiredis pointer outlives the call that made
/// it. Error replies never become a Reply: they are thrown as ReplyError.
struct Reply {
    enum class Type { kNil, kInteger, kString, kStatus, kArray };

    Type type = Type::kNil;
    long long integer = 0;
    std::string str;  ///< bulk string, status text, or a double/bignum as text
    std::vector<Reply> elements;

    [[nodiscard]] bool is_nil() const noexcept { return type == Type::kNil; }
    /// The integer value; throws ProtocolError if the reply is not an integer.
    [[nodiscard]] long long as_integer() const;
    /// The string value; throws ProtocolError if not a bulk string or status.
    [[nodiscard]] const std::string& as_string() const;
    /// nullopt for nil, else as_string().
    [[nodiscard]] std::optional<std::string> as_optional_string() const;
    /// Every element as a string (nil elements become empty); throws if not an array.
    [[nodiscard]] std::vector<std::string> as_strings() const&;
    /// The same, moving the strings out of a reply no longer needed (large payloads).
    [[nodiscard]] std::vector<std::string> as_strings() &&;
};

}  // namespace resque::redis
