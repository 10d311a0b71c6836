#pragma once

// The jobs one worker holds, as stored in `<ns>:cpp:inflight` (field = worker id):
//
//   batch = token "\n" entry*
//   entry = queue "\n" decimal-length "\n" payload       (payload: exact bytes, any bytes)
//
// The job being run is entry `<ns>:cpp:inflight:running`[worker id] (absent: 0), and it
// is the one `worker:<id>` names. take.lua and recover.lua read the same format.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace resque::worker {

struct HeldEntry {
    std::string queue;
    std::string payload;
};

struct HeldBatch {
    std::string token;
    std::vector<HeldEntry> entries;
};

/// Parses a stored batch; nullopt when it is not in the format above.
std::optional<HeldBatch> parse_held_batch(std::string_view stored);

/// Encodes a batch in the stored format (tests write foreign states with it).
std::string encode_held_batch(const HeldBatch& batch);

}  // namespace resque::worker
