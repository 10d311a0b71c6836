#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <stop_token>
#include <string_view>
#include <vector>

#include "resque/job.hpp"

namespace resque {

/// What a handler knows about the job it performs.
struct JobContext {
    std::string queue;
    std::string worker_id;
    const Job& job;
    /// The payload exactly as taken from the queue (integers of any size intact).
    std::string_view payload;
    /// The args exactly as in the payload (`[...]`; `[]` when the payload has none).
    std::string args_json;
    /// Requested when the worker aborts the job (USR1, or a shutdown past its grace).
    /// Programs are killed at once; a C++ handler may check it to stop early.
    std::stop_token stop = {};
};

/// A job failed in a way the handler wants to name: the failure record's `exception`
/// field is `exception_class`, its `error` the message, its backtrace `backtrace`.
class JobFailure : public std::runtime_error {
   public:
    JobFailure(std::string exception_class, std::string message,
               std::vector<std::string> backtrace = {})
        : std::runtime_error(std::move(message)),
          exception_class_(std::move(exception_class)),
          backtrace_(std::move(backtrace)) {}
    [[nodiscard]] const std::string& exception_class() const noexcept { return exception_class_; }
    [[nodiscard]] const std::vector<std::string>& backtrace() const noexcept { return backtrace_; }

   private:
    std::string exception_class_;
    std::vector<std::string> backtrace_;
};

/// A C++ handler: performs one job; returning means success, throwing means failure
/// (any std::exception; JobFailure to set the recorded exception class).
using Handler = std::function<void(const JobContext&)>;

/// An external program configured in a jobs file.
struct ProgramSpec {
    std::vector<std::string> command;  ///< argv; argv[0] looked up on PATH if no '/'
    std::filesystem::path working_dir; ///< empty: the worker's own
    std::map<std::string, std::string> env;  ///< added to the worker's environment
    std::optional<std::chrono::milliseconds> timeout;
};

/// Runs `spec` for one job, never through a shell: the job's args as a JSON array on
/// stdin, `RESQUE_CLASS`, `RESQUE_QUEUE`, `RESQUE_WORKER` in the environment. Exit 0 is
/// success; otherwise throws JobFailure (`Resque::ProgramFailed`) carrying the exit
/// status or signal and the last lines of stderr. stdout/stderr lines are logged at
/// debug, tagged with class, queue and worker, and bounded per job.
void run_program(const ProgramSpec& spec, const JobContext& context);

/// Maps job class names to handlers. Register before starting workers; lookups are then
/// thread-safe.
class HandlerRegistry {
   public:
    /// Registers (or replaces) the handler for `class_name`.
    void add(std::string class_name, Handler handler);
    /// Registers an external program for `class_name`.
    void add_program(std::string class_name, ProgramSpec spec);
    /// The handler for `class_name`, or nullptr if none (the worker then records a
    /// `NameError` failure, as Ruby Resque does for an unknown class).
    [[nodiscard]] const Handler* find(std::string_view class_name) const;
    [[nodiscard]] std::vector<std::string> class_names() const;

    /// Reads a jobs file: `jobs: { Class: { command: [prog, arg...], timeout: 30s,
    /// cwd: dir, env: {K: V} } }`. Throws ConfigError naming `path:line` and the problem.
    static HandlerRegistry from_jobs_file(const std::filesystem::path& path);

   private:
    std::map<std::string, Handler, std::less<>> handlers_;
};

}  // namespace resque
