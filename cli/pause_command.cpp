// `resque pause` and `resque resume`: the `pause-all-workers` switch, which every
// Resque-compatible worker (Ruby's too) checks before taking its next job.

#include <iostream>

#include "commands.hpp"
#include "resque/client.hpp"

namespace resque::cli {
namespace {

void set_paused(const GlobalOptions& globals, bool paused) {
    Client client(globals.redis());
    client.set_paused(paused);
    std::cout << (paused ? "paused all workers\n" : "resumed all workers\n");
}

}  // namespace

void add_pause_commands(CLI::App& app, GlobalOptions& globals) {
    app.add_subcommand("pause", "Stop every worker from taking new jobs (running jobs finish)")
        ->callback([&globals] { set_paused(globals, true); });
    app.add_subcommand("resume", "Let paused workers take jobs again")->callback([&globals] {
        set_paused(globals, false);
    });
}

}  // namespace resque::cli
