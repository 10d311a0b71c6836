#pragma once

#include <string>
#include <string_view>

namespace resque::worker {

/// The `payload` field of a failure or running-job record for a queue entry: the entry
/// itself when it is a JSON object (kept byte for byte), otherwise the entry's text as a
/// JSON string (invalid UTF-8 replaced by U+FFFD) so the record stays valid JSON.
std::string payload_field(std::string_view raw);

/// The class name in a queue entry, or `<Unknown Job>` when it has none.
std::string class_of(std::string_view raw);

}  // namespace resque::worker
