#pragma once

// A short name for stored content of any size: listings carry it instead of a delayed
// entry that may be megabytes long (FC-07), and actions hand it back to name the entry
// (FC-12). The same digest Redis' `redis.sha1hex` computes, so Redis can match it.

#include <string>
#include <string_view>

namespace resque::web {

/// SHA-1 of `content` as 40 lower-case hex digits. Not a secret or a signature: only
/// an identity for content the operator could already read.
[[nodiscard]] std::string sha1_hex(std::string_view content);

}  // namespace resque::web
