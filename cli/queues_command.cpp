// Queue inspection and cleanup: `resque queues`, `peek`, `clear`, `remove-queue`.

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "resque/client.hpp"

namespace resque::cli {
namespace {

struct QueueArgs {
    std::string queue;
    long long offset = 0;
    long long count = 10;
    bool json_output = false;
};

void list_queues(const GlobalOptions& globals, bool json_output) {
    Client client(globals.redis());
    const auto sizes = client.queue_sizes();
    if (json_output) {
        auto entries = nlohmann::json::array();
        for (const auto& [name, size] : sizes) entries.push_back({{"name", name}, {"size", size}});
        print_json(entries);
        return;
    }
    Table table({"QUEUE", "SIZE"});
    for (const auto& [name, size] : sizes) table.add_row({name, std::to_string(size)});
    table.print();
}

void peek_queue(const GlobalOptions& globals, const QueueArgs& args) {
    Client client(globals.redis());
    const std::vector<std::string> payloads = client.peek(args.queue, args.offset, args.count);
    if (args.json_output) {
        print_raw_json_array(payloads);
        return;
    }
    for (const std::string& payload : payloads) std::cout << payload << '\n';
}

void clear_queue(const GlobalOptions& globals, const std::string& queue) {
    Client client(globals.redis());
    const long long cleared = client.clear_queue(queue);
    std::cout << fmt::format("cleared {} jobs from queue {}\n", cleared, queue);
}

void remove_queue(const GlobalOptions& globals, const std::string& queue) {
    Client client(globals.redis());
    client.remove_queue(queue);
    std::cout << fmt::format("removed queue {}\n", queue);
}

void add_queues(CLI::App& app, GlobalOptions& globals) {
    auto json_output = std::make_shared<bool>(false);
    CLI::App* command = app.add_subcommand("queues", "List queues and their sizes");
    command->add_flag("--json", *json_output, "print JSON: [{\"name\":..,\"size\":..}]");
    command->callback([&globals, json_output] { list_queues(globals, *json_output); });
}

void add_peek(CLI::App& app, GlobalOptions& globals) {
    auto args = std::make_shared<QueueArgs>();
    CLI::App* command = app.add_subcommand("peek", "Print pending jobs of a queue, oldest first");
    command->add_option("QUEUE", args->queue, "queue name")->required();
    command->add_option("--offset", args->offset, "skip this many jobs")
        ->check(number_in(0, 1e15))
        ->capture_default_str();
    command->add_option("--count", args->count, "print at most this many jobs")
        ->check(number_in(1, 1e6))
        ->capture_default_str();
    command->add_flag("--json", args->json_output, "print a JSON array of payloads");
    command->callback([&globals, args] { peek_queue(globals, *args); });
}

void add_clear(CLI::App& app, GlobalOptions& globals) {
    auto queue = std::make_shared<std::string>();
    CLI::App* command =
        app.add_subcommand("clear", "Delete a queue's pending jobs (keep the queue)");
    command->add_option("QUEUE", *queue, "queue name")->required();
    command->callback([&globals, queue] { clear_queue(globals, *queue); });
}

void add_remove_queue(CLI::App& app, GlobalOptions& globals) {
    auto queue = std::make_shared<std::string>();
    CLI::App* command =
        app.add_subcommand("remove-queue", "Delete a queue, its pending jobs included");
    command->add_option("QUEUE", *queue, "queue name")->required();
    command->callback([&globals, queue] { remove_queue(globals, *queue); });
}

}  // namespace

void add_queues_commands(CLI::App& app, GlobalOptions& globals) {
    add_queues(app, globals);
    add_peek(app, globals);
    add_clear(app, globals);
    add_remove_queue(app, globals);
}

}  // namespace resque::cli
