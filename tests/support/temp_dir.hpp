#pragma once

// Creating private temporary directories, shared by TempDir and RedisServer.

#include <filesystem>
#include <string_view>

namespace resque::test::detail {

/// Creates a new directory `<temp>/<prefix>XXXXXX` (mode 0700) and returns its path;
/// throws std::runtime_error when it cannot.
std::filesystem::path make_temp_dir(std::string_view prefix);

}  // namespace resque::test::detail
