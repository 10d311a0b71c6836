#pragma once

#include <string_view>

namespace resque {

/// resque-cpp's version. Process titles start `resque-<version>:` so that Ruby Resque's
/// pruner, which looks for `resque-<digit>` in command lines, sees our workers as alive.
inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace resque
