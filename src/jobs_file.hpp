#pragma once

// Reading a jobs file (grammar in handler_registry.cpp), apart from building the
// registry, so that what a file configures can be checked without running programs.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "resque/handler.hpp"

namespace resque::detail {

/// The programs `text` configures, by job class name. `file` names the text in errors:
/// throws ConfigError `<file>:<line>: <problem>` (line 1-based).
std::map<std::string, ProgramSpec> parse_jobs_file(std::string_view text, std::string_view file);

/// Reads and parses the jobs file at `path`. Throws ConfigError naming the path and the
/// system's reason when it cannot be read, or as parse_jobs_file does.
std::map<std::string, ProgramSpec> read_jobs_file(const std::filesystem::path& path);

}  // namespace resque::detail
