#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "resque/job.hpp"

namespace resque {

/// Where a job's handler runs (README "Choosing an isolation mode").
enum class Isolation {
    /// In the worker process, on its thread: fastest. A crash takes the worker down; a
    /// timeout or USR1 only requests the job's stop_token (see JobContext::stop).
    kThread,
    /// A child process forked per job (Resque's model): a crash, abort, exit() or leak
    /// ends only the child and becomes a failure record; timeouts and USR1 kill it.
    kFork,
    /// An external program (fork + exec); the only mode for programs.
    kExec,
};

/// "thread", "fork" or "exec".
[[nodiscard]] std::string_view to_string(Isolation isolation) noexcept;
/// Parses "thread", "fork" or "exec"; nullopt for anything else.
[[nodiscard]] std::optional<Isolation> parse_isolation(std::string_view text) noexcept;

/// Kernel limits (setrlimit) for the child process that runs a job (fork and exec modes;
/// ignored in thread mode, where they would bind the whole worker). Unset: inherited.
struct ResourceLimits {
    /// RLIMIT_AS, bytes of address space. In fork mode the child starts with the worker's
    /// whole address space (thread stacks, libraries), which counts against it.
    std::optional<std::uint64_t> memory_bytes;
    /// RLIMIT_CPU: the kernel sends SIGXCPU when the child has used this much CPU time.
    std::optional<std::chrono::seconds> cpu;
    /// RLIMIT_NOFILE: the highest descriptor number plus one the child may open.
    std::optional<std::uint64_t> open_files;

    [[nodiscard]] bool any() const noexcept { return memory_bytes || cpu || open_files; }
};

/// What a handler knows about the job it performs.
struct JobContext {
    std::string queue;
    std::string worker_id;
    const Job& job;
    /// The payload exactly as taken from the queue (integers of any size intact).
    std::string_view payload;
    /// The args exactly as in the payload (`[...]`; `[]` when the payload has none): a
    /// view into `payload`, not a copy (a payload may be tens of MiB), valid while the
    /// handler runs. Copy it (`std::string(args_json)`) to keep it longer.
    std::string_view args_json;
    /// Requested when the worker aborts the job (USR1, or a shutdown past its grace).
    /// Programs are killed at once; a C++ handler may check it to stop early.
    std::stop_token stop = {};
    /// The job's time limit: its class's, else the worker's default (`resque work
    /// --timeout`); none means unlimited. Programs and forked children are stopped at it
    /// (SIGTERM, then SIGKILL after `kill_grace`); a thread-mode handler only sees `stop`.
    std::optional<std::chrono::milliseconds> timeout = {};
    /// Between the SIGTERM of a timeout and the SIGKILL.
    std::chrono::milliseconds kill_grace = std::chrono::seconds(5);
    /// When the job was enqueued, as the payload states it (a top-level or ActiveJob
    /// `enqueued_at`); empty when the payload does not say. Given to programs as
    /// RESQUE_ENQUEUED_AT.
    std::string enqueued_at = {};
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
    std::vector<std::string> command;        ///< argv; argv[0] looked up on PATH if no '/'
    std::filesystem::path working_dir;       ///< empty: the worker's own
    std::map<std::string, std::string> env;  ///< added to the worker's environment
    std::optional<std::chrono::milliseconds> timeout;  ///< unset: JobContext::timeout
    ResourceLimits limits;  ///< applied in the child between fork and exec
};

/// How a job class runs, apart from its handler.
struct JobSettings {
    /// Unset: the worker's default (WorkerOptions::isolation). Programs always use kExec.
    std::optional<Isolation> isolation;
    /// Unset: the worker's default (WorkerOptions::job_timeout).
    std::optional<std::chrono::milliseconds> timeout;
    /// Applied in fork and exec modes only.
    ResourceLimits limits;
};

/// Runs `spec` for one job, never through a shell: the job's args as a JSON array on
/// stdin; `RESQUE_CLASS`, `RESQUE_QUEUE`, `RESQUE_WORKER` (and `RESQUE_ENQUEUED_AT` when
/// known) in the environment; `spec.limits` set in the child. Exit 0 is success;
/// otherwise throws JobFailure (`Resque::ProgramFailed`) carrying the exit status or
/// signal, a hit resource limit, the time taken when it timed out, and the last lines of
/// stderr. stdout/stderr lines are logged at debug, tagged with class, queue and worker,
/// and bounded per job. A program that floods its output, never reads stdin or leaves
/// children behind cannot block the caller: output is drained while it runs, and its
/// process group is killed when it exits.
void run_program(const ProgramSpec& spec, const JobContext& context);

/// Maps job class names to handlers. Register before starting workers; lookups are then
/// thread-safe.
class HandlerRegistry {
 public:
    /// Registers (or replaces) the C++ handler for `class_name`, with its settings
    /// (isolation kThread or kFork; kExec throws ConfigError: it is for programs).
    void add(std::string class_name, Handler handler, JobSettings settings = {});
    /// Registers an external program for `class_name` (always kExec).
    void add_program(std::string class_name, ProgramSpec spec);
    /// Replaces the settings of a registered class. Throws ConfigError when the class is
    /// not registered, or when the isolation does not fit its handler.
    void configure(std::string_view class_name, JobSettings settings);
    /// The handler for `class_name`, or nullptr if none (the worker then records a
    /// `NameError` failure, as Ruby Resque does for an unknown class).
    [[nodiscard]] const Handler* find(std::string_view class_name) const;
    /// The settings of `class_name`, or nullptr if it is not registered.
    [[nodiscard]] const JobSettings* settings(std::string_view class_name) const;
    [[nodiscard]] std::vector<std::string> class_names() const;

    /// Reads a jobs file into this registry: `jobs: { Class: { command: [prog, arg...],
    /// timeout: 30s, cwd: dir, env: {K: V}, limits: {memory: 512M, cpu: 30s, files: 256},
    /// isolation: exec } }`. An entry without `command` sets `isolation` (thread or
    /// fork), `timeout` and `limits` of a C++ handler already registered here. Throws
    /// ConfigError naming `path:line` and the problem; nothing is changed then.
    void load_jobs_file(const std::filesystem::path& path);
    /// A registry holding only the programs of a jobs file (see load_jobs_file).
    static HandlerRegistry from_jobs_file(const std::filesystem::path& path);

 private:
    struct Entry {
        Handler handler;
        JobSettings settings;
        bool program = false;
    };
    std::map<std::string, Entry, std::less<>> handlers_;
};

}  // namespace resque
