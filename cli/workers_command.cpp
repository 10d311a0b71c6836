// Registered workers: `resque workers` lists them, `resque prune` removes dead ones.

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "output.hpp"
#include "resque/client.hpp"
#include "resque/worker.hpp"

namespace resque::cli {
namespace {

using nlohmann::json;

// What a working worker runs, from its `worker:<id>` record.
struct CurrentJob {
    std::string queue;
    std::string class_name;
    std::string run_at;
};

std::string string_field(const json& object, const char* key) {
    if (!object.is_object()) return {};
    const auto found = object.find(key);
    return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

CurrentJob current_job(const WorkerInfo& worker) {
    if (!worker.working()) return {};
    const json record = parse_or_string(worker.job_json);
    const json payload = record.is_object() ? record.value("payload", json()) : json();
    return {string_field(record, "queue"), string_field(payload, "class"),
            string_field(record, "run_at")};
}

json worker_json(const WorkerInfo& worker) {
    const CurrentJob job = current_job(worker);
    return {{"id", worker.id},
            {"host", worker.host},
            {"pid", worker.pid},
            {"queues", worker.queues},
            {"state", worker.working() ? "working" : "idle"},
            {"queue", job.queue},
            {"class", job.class_name},
            {"run_at", job.run_at},
            {"started", worker.started},
            {"heartbeat", worker.heartbeat},
            {"processed", worker.processed},
            {"failed", worker.failed}};
}

void list_workers(const GlobalOptions& globals, bool json_output) {
    Client client(globals.redis());
    const std::vector<WorkerInfo> workers = client.workers();
    if (json_output) {
        auto entries = json::array();
        for (const auto& worker : workers) entries.push_back(worker_json(worker));
        print_json(entries);
        return;
    }
    Table table({"WORKER", "STATE", "QUEUE", "CLASS", "STARTED", "HEARTBEAT"});
    for (const auto& worker : workers) {
        const CurrentJob job = current_job(worker);
        table.add_row({worker.id, worker.working() ? "working" : "idle", job.queue, job.class_name,
                       worker.started, worker.heartbeat});
    }
    table.print();
}

void prune_workers(const GlobalOptions& globals, const DeadWorkerOptions& args) {
    const int pruned = prune_dead_workers(globals.redis(), args.policy(), args.prune_after());
    std::cout << fmt::format("pruned {} dead workers\n", pruned);
}

void add_workers(CLI::App& app, GlobalOptions& globals) {
    auto json_output = std::make_shared<bool>(false);
    CLI::App* command = app.add_subcommand("workers", "List registered workers");
    command->add_flag("--json", *json_output, "print a JSON array of workers");
    command->callback([&globals, json_output] { list_workers(globals, *json_output); });
}

void add_prune(CLI::App& app, GlobalOptions& globals) {
    auto args = std::make_shared<DeadWorkerOptions>();
    CLI::App* command = app.add_subcommand(
        "prune", "Unregister dead workers and recover their jobs, as a starting worker does");
    args->add_to(*command);
    command->callback([&globals, args] { prune_workers(globals, *args); });
}

}  // namespace

void add_workers_commands(CLI::App& app, GlobalOptions& globals) {
    add_workers(app, globals);
    add_prune(app, globals);
}

}  // namespace resque::cli
