#pragma once

// The process title, as `ps` and /proc/<pid>/cmdline show it.
//
// Ruby Resque's pruner treats a worker on its host as alive only while that pid's
// command line contains `resque-<digit>` (PROTOCOL.md, section 0, fact 7), so a
// worker rewrites its command line to `resque-<version>: <status>`. Linux has no call
// for that: the command line *is* the memory holding argv's strings, so the title is
// written over them (the classic setproctitle technique).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace resque::cli {

/// Owns the process's argv memory area once constructed.
///
/// Hazard: after the first set(), argv's strings are overwritten. Construct this first
/// thing in main and read the arguments only through arguments() from then on.
/// Not thread-safe; a worker process sets its title from one thread at a time.
class ProcessTitle {
   public:
    /// Copies the arguments and measures the contiguous area from argv[0] to the end of
    /// the last argument. Arguments that are not laid out contiguously (never the case
    /// for a program started by execve) shrink the area to the contiguous prefix.
    ProcessTitle(int argc, char** argv);
    ProcessTitle(const ProcessTitle&) = delete;
    ProcessTitle& operator=(const ProcessTitle&) = delete;

    /// The original arguments, argv[0] included.
    [[nodiscard]] const std::vector<std::string>& arguments() const noexcept { return arguments_; }

    /// Writes `resque-<version>: <status>` over the argv area, truncated to fit, and
    /// fills the rest with NULs (so no stale argument shows after the title).
    void set(std::string_view status) noexcept;

   private:
    std::vector<std::string> arguments_;
    char* area_ = nullptr;
    std::size_t area_size_ = 0;
};

}  // namespace resque::cli
