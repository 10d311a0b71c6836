// The `resque` command-line tool: the global options, the commands (one file each), and
// the single place where an error becomes one line on stderr and an exit status.

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "process_title.hpp"
#include "resque/errors.hpp"
#include "resque/logging.hpp"
#include "resque/version.hpp"

namespace resque::cli {

RedisOptions GlobalOptions::redis() const {
    RedisOptions options = parse_redis_url(redis_url);
    options.key_namespace = key_namespace;
    return options;
}

CLI::Validator number_in(double minimum, double maximum) {
    const auto check = [minimum, maximum](const std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(value)) return "not a number: " + text;
        if (value < minimum) return fmt::format("must be at least {} (got {})", minimum, text);
        if (value > maximum) return fmt::format("must be at most {} (got {})", maximum, text);
        return {};
    };
    return CLI::Validator(check, fmt::format("{}..{}", minimum, maximum));
}

void DeadWorkerOptions::add_to(CLI::App& command) {
    command.add_option("--recovery", recovery, "a dead worker's job: requeue or fail")
        ->check(CLI::IsMember({"requeue", "fail"}))
        ->capture_default_str();
    command
        .add_option("--prune-after", prune_after_seconds,
                    "seconds without a heartbeat after which a worker counts as dead")
        ->check(number_in(1, 1e7))
        ->capture_default_str();
}

RecoveryPolicy DeadWorkerOptions::policy() const {
    return recovery == "fail" ? RecoveryPolicy::kFail : RecoveryPolicy::kRequeue;
}

std::chrono::milliseconds DeadWorkerOptions::prune_after() const {
    return std::chrono::milliseconds(std::llround(prune_after_seconds * 1000.0));
}

std::shared_ptr<spdlog::logger> cli_logger() {
    // Registered under the name configure_logging() reconfigures with every other
    // resque logger, so --log-level and --log-format apply to it too.
    if (auto existing = spdlog::get("cli")) return existing;
    auto logger =
        std::make_shared<spdlog::logger>("cli", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    spdlog::register_logger(logger);
    return logger;
}

namespace {

constexpr const char* kExitStatusHelp =
    "Exit status:\n"
    "  0  success\n"
    "  1  the operation failed, or what it names was not found\n"
    "  2  usage error: unknown command, bad or missing option\n"
    "  3  Redis cannot be reached (connection refused, timeout)\n"
    "  4  bad data: invalid JSON, job payload, Redis URL, jobs file or setting\n";

void add_global_options(CLI::App& app, GlobalOptions& globals) {
    globals.redis_url = default_redis_url();
    app.add_option("--redis", globals.redis_url,
                   "Redis URL (default: $REDIS_URL, else " + std::string(kDefaultRedisUrl) + ")");
    app.add_option("--namespace", globals.key_namespace, "key namespace")->capture_default_str();
    app.add_option("--log-level", globals.log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();
    app.add_option("--log-format", globals.log_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.set_version_flag("--version", "resque " + std::string(kVersion));
}

std::unique_ptr<CLI::App> build_app(GlobalOptions& globals) {
    auto app = std::make_unique<CLI::App>("Resque-compatible job queue tool", "resque");
    // Global options may also follow the command (`resque queues --redis URL`).
    app->fallthrough();
    app->require_subcommand(1);
    add_global_options(*app, globals);

    // Runs once the whole line is parsed, before the chosen command's callback.
    app->parse_complete_callback([&globals] {
        cli_logger();  // exist before configuring, so the settings reach it too
        configure_logging(globals.log_level, globals.log_format == "json");
    });

    add_enqueue_command(*app, globals);
    add_work_command(*app, globals);
    add_queues_commands(*app, globals);
    add_workers_commands(*app, globals);
    add_pause_commands(*app, globals);
    add_stats_command(*app, globals);
    add_failed_command(*app, globals);
    add_bench_command(*app, globals);
    add_scheduler_command(*app, globals);
    add_schedule_command(*app, globals);
    add_delayed_command(*app, globals);
    add_web_command(*app, globals);
    app->footer(kExitStatusHelp);
    return app;
}

template <typename... Kinds>
bool is_one_of(const std::exception& error) noexcept {
    return (... || (dynamic_cast<const Kinds*>(&error) != nullptr));
}

int exit_status_for(const std::exception& error) noexcept {
    if (is_one_of<UsageError>(error)) return 2;
    if (is_one_of<ConnectionError, TimeoutError>(error)) return 3;
    if (is_one_of<PayloadError, ConfigError>(error)) return 4;
    return 1;
}

int report(std::string_view message, int status) noexcept {
    try {
        const std::string line = "resque: " + one_line(message, 4000) + "\n";
        std::fputs(line.c_str(), stderr);
    } catch (...) {
        std::fputs("resque: out of memory\n", stderr);
    }
    return status;
}

// CLI11 reports a mistyped command as a missing one; name the word it did not know.
std::string parse_problem(const CLI::App& app, const CLI::ParseError& error) {
    const std::vector<std::string> unused = app.remaining(true);
    if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && !unused.empty()) {
        return "unknown command \"" + unused.front() + "\"";
    }
    if (std::string_view(error.what()) == "A subcommand is required") {
        return "a command is required";
    }
    return error.what();
}

// `resque failed retry --help` for a mistake in `resque failed retry ...`.
std::string help_hint(const CLI::App& app) {
    std::string command = "resque";
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
        sub = sub->get_subcommands().front();
        command += " " + sub->get_name();
    }
    return "run '" + command + " --help'";
}

int parse_and_run(CLI::App& app, const ProcessTitle& title) {
    // Parse the saved copy, never argv itself: `work` overwrites argv's memory with its
    // process title. CLI11 takes the arguments reversed, without the program name.
    const auto& arguments = title.arguments();
    std::vector<std::string> reversed;
    if (!arguments.empty()) reversed.assign(arguments.rbegin(), arguments.rend() - 1);
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& error) {
        // --help and --version arrive here too, with status 0; CLI11 prints them.
        if (error.get_exit_code() == 0) return app.exit(error);
        return report(parse_problem(app, error) + "; " + help_hint(app), 2);
    }
    return 0;
}

}  // namespace
}  // namespace resque::cli

int main(int argc, char** argv) {
    using namespace resque::cli;
    // First, before anything could read argv: `work` later writes its title over it.
    ProcessTitle title(argc, argv);
    GlobalOptions globals;
    globals.title = &title;

    // The error boundary: whatever a command throws ends here as one line.
    try {
        std::unique_ptr<CLI::App> app = build_app(globals);
        return parse_and_run(*app, title);
    } catch (const std::exception& error) {
        return report(error.what(), exit_status_for(error));
    } catch (...) {
        return report("unexpected error of unknown type", 1);
    }
}
