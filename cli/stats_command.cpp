// `resque stats`: the counters and sizes Resque's dashboard shows on its Stats page.

#include <memory>
#include <string>

#include "commands.hpp"
#include "output.hpp"
#include "resque/client.hpp"

namespace resque::cli {
namespace {

void print_stats(const GlobalOptions& globals, bool json_output) {
    Client client(globals.redis());
    const Stats stats = client.stats();
    if (json_output) {
        print_json({{"processed", stats.processed},
                    {"failed", stats.failed},
                    {"pending", stats.pending},
                    {"queues", stats.queues},
                    {"workers", stats.workers},
                    {"working", stats.working}});
        return;
    }
    Table table({"STAT", "VALUE"});
    table.add_row({"processed", std::to_string(stats.processed)});
    table.add_row({"failed", std::to_string(stats.failed)});
    table.add_row({"pending", std::to_string(stats.pending)});
    table.add_row({"queues", std::to_string(stats.queues)});
    table.add_row({"workers", std::to_string(stats.workers)});
    table.add_row({"working", std::to_string(stats.working)});
    table.print();
}

}  // namespace

void add_stats_command(CLI::App& app, GlobalOptions& globals) {
    auto json_output = std::make_shared<bool>(false);
    CLI::App* command = app.add_subcommand("stats", "Print job counters and queue totals");
    command->footer("failed is the number of failure records (what resque-web shows).");
    command->add_flag("--json", *json_output, "print one JSON object");
    command->callback([&globals, json_output] { print_stats(globals, *json_output); });
}

}  // namespace resque::cli
