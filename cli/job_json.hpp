#pragma once

// Reading JSON typed by a user (job args, `enqueue --from` lines) without changing it:
// Ruby reads an integer of any size exactly, nlohmann only up to 64 bits, so a larger
// one is refused instead of being silently turned into a float.

#include <nlohmann/json.hpp>
#include <string_view>

namespace resque::cli {

/// Parses `text`. Throws PayloadError naming the problem (a syntax error with its line
/// and column, a number out of range, an integer wider than 64 bits).
[[nodiscard]] nlohmann::json parse_user_json(std::string_view text);

}  // namespace resque::cli
