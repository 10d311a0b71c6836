#pragma once

// Prometheus exposition (text format 0.0.4) and the plain-text stats page, both read
// through the library's API.

#include <string>

#include "resque/client.hpp"

namespace resque::web {

/// Queue sizes and oldest-job ages, processed/failed counters, workers, failures.
std::string metrics_text(Client& client);
/// `name=value` lines of the counters (served as text/plain, never as HTML).
std::string stats_text(Client& client);

}  // namespace resque::web
