// `resque web`: serves the dashboard until SIGINT or SIGTERM.

#include <signal.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "commands.hpp"
#include "resque/errors.hpp"
#include "web/server.hpp"

namespace resque::cli {
namespace {

struct WebCommandOptions {
    web::WebOptions server;
    std::string auth = "none";
    std::string secret_file;
};

// The secret from --secret-file (trailing newline dropped) or $RESQUE_WEB_SECRET.
std::string read_secret(const std::string& path) {
    if (path.empty()) {
        const char* env = std::getenv("RESQUE_WEB_SECRET");
        return env != nullptr ? env : "";
    }
    std::ifstream file(path);
    if (!file) throw ConfigError("--secret-file: cannot read " + path);
    std::stringstream text;
    text << file.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
}

void run_web(const GlobalOptions& globals, WebCommandOptions& options) {
    options.server.auth = web::parse_auth_mode(options.auth);
    if (options.server.auth != web::AuthMode::kNone) {
        options.server.secret = read_secret(options.secret_file);
    }

    // Signals are taken by a waiting thread, not a handler: it may call stop() safely.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    web::WebServer server(globals.redis(), options.server);
    server.bind();
    std::jthread watcher([&server, stop_signals] {
        int signal = 0;
        sigwait(&stop_signals, &signal);
        cli_logger()->info("dashboard stopping signal={}", signal);
        server.stop();
    });
    const bool ok = server.serve();
    // Wake the watcher if serve() ended on its own.
    if (watcher.joinable()) pthread_kill(watcher.native_handle(), SIGTERM);
    if (!ok) throw Error("the dashboard stopped unexpectedly");
}

}  // namespace

void add_web_command(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<WebCommandOptions>();
    CLI::App* command = app.add_subcommand("web", "Serve the web dashboard");
    command->add_option("--bind", options->server.bind, "address to listen on")
        ->capture_default_str();
    command->add_option("--port", options->server.port, "port (0 picks a free one)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    command->add_option("--prefix", options->server.prefix,
                        "path the dashboard is mounted under behind a reverse proxy (/resque)");
    command->add_option("--auth", options->auth, "none, basic or bearer")
        ->check(CLI::IsMember({"none", "basic", "bearer"}))
        ->capture_default_str();
    command->add_option("--secret-file", options->secret_file,
                        "file holding the password/token (default: $RESQUE_WEB_SECRET)");
    command
        ->add_option("--schedule", options->server.schedules.file,
                     "the scheduler's YAML schedule file, to list its static schedules too")
        ->check(CLI::ExistingFile);
    command
        ->add_option("--zone", options->server.schedules.zone,
                     "time zone for cron entries without one (as given to the scheduler)")
        ->capture_default_str();
    command->add_option("--lock-prefix", options->server.schedules.lock_prefix,
                        "the schedulers' --lock-prefix, to show which one leads");
    command->footer(
        "Binds 127.0.0.1 unless --bind says otherwise. With --auth basic any user name is\n"
        "accepted and the secret is the password; with --auth bearer clients send\n"
        "'Authorization: Bearer <secret>'. The secret is never logged.");
    command->callback([&globals, options] { run_web(globals, *options); });
}

}  // namespace resque::cli
