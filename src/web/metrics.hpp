#pragma once

// Prometheus exposition (text format 0.0.4) and the plain-text stats page, both read
// through the library's API.

#include <string>

#include "resque/client.hpp"
#include "resque/delayed.hpp"

namespace resque::web {

/// Queue sizes and oldest-job ages, processed/failed counters, workers, failures, and
/// the delayed jobs with how overdue the oldest due one is (read through `delayed`,
/// the server's shared DelayedQueue).
std::string metrics_text(Client& client, DelayedQueue& delayed);
/// `name=value` lines of the counters (served as text/plain, never as HTML).
std::string stats_text(Client& client);

}  // namespace resque::web
