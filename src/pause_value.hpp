#pragma once

// Resque's pause-all-workers switch: workers take no job while `<ns>:pause-all-workers`
// holds "true", compared as Ruby workers do (trimmed, case-insensitive).

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace resque {

[[nodiscard]] inline bool pauses_workers(const std::optional<std::string>& value) {
    if (!value) return false;
    std::string_view text = *value;
    const auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    constexpr std::string_view kTrue = "true";
    return std::equal(text.begin(), text.end(), kTrue.begin(), kTrue.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
    });
}

}  // namespace resque
