#pragma once

// The dashboard's files (web/*), compiled into the binary by cmake/ResqueEmbed.cmake.

#include <optional>
#include <string_view>

namespace resque::web {

/// An embedded file and the Content-Type it is served with.
struct Asset {
    std::string_view body;
    std::string_view content_type;
};

/// The file named `name` (no directories), or nullopt.
std::optional<Asset> find_asset(std::string_view name);

}  // namespace resque::web
