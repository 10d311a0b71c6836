#pragma once

#include <string_view>

namespace resque {

/// Configures every resque-cpp logger (`worker`, `redis`, `cli`, ...): `level` is one of
/// trace, debug, info, warn, error, off; `json` switches to one JSON object per line.
/// Lines go to stderr. Call before starting workers. Throws ConfigError on a bad level.
void configure_logging(std::string_view level, bool json = false);

}  // namespace resque
