#pragma once

// Reading a jobs file (grammar in handler_registry.cpp), apart from building the
// registry, so that what a file configures can be checked without running programs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "resque/handler.hpp"

namespace resque::detail {

/// One job class of a jobs file: a program (`program.command` not empty), or, without a
/// command, settings for a C++ handler registered in code.
struct JobsFileEntry {
    ProgramSpec program;
    std::optional<Isolation> isolation;
    int line = 1;  ///< of the class name, for errors found when applying the entry
};

/// The job classes `text` configures, by name. `file` names the text in errors: throws
/// ConfigError `<file>:<line>: <problem>` (line 1-based).
std::map<std::string, JobsFileEntry> parse_jobs_file(std::string_view text, std::string_view file);

/// Reads and parses the jobs file at `path`. Throws ConfigError naming the path and the
/// system's reason when it cannot be read, or as parse_jobs_file does.
std::map<std::string, JobsFileEntry> read_jobs_file(const std::filesystem::path& path);

/// Parses `30s`, `5m`, `500ms`, `1h`, or a bare number of seconds (`30`, `0.5`);
/// nullopt for anything else, zero, or more than about 30 years.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Parses a byte size: a whole number with an optional K, M, G or T suffix (powers of
/// 1024, `512M`); nullopt for anything else or zero.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

/// `512M` for 536870912, `1000` for 1000: the largest unit that divides exactly.
std::string describe_bytes(std::uint64_t bytes);

}  // namespace resque::detail
