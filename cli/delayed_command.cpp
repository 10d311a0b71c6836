// `resque delayed list|find|remove`: jobs waiting for their time.

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "job_json.hpp"
#include "output.hpp"
#include "resque/delayed.hpp"
#include "resque/errors.hpp"

namespace resque::cli {
namespace {

struct DelayedArgs {
    std::string queue;
    std::string class_name;
    std::string args_json;
    long long offset = 0;
    std::size_t limit = 100;
    bool all = false;
    bool json_output = false;
};

std::string show_time(SysSeconds time) { return fmt::format("{:%FT%TZ}", time); }

Job job_from(const DelayedArgs& args) {
    nlohmann::json parsed = nlohmann::json::array();
    if (!args.args_json.empty()) {
        try {
            parsed = parse_user_json(args.args_json);
        } catch (const PayloadError& error) {
            throw PayloadError(std::string("args: ") + error.what());
        }
    }
    if (!parsed.is_array()) {
        throw PayloadError("args must be a JSON array (got " + std::string(parsed.type_name()) +
                           ")");
    }
    return Job{args.class_name, parsed};
}

void list_delayed(const GlobalOptions& globals, const DelayedArgs& args) {
    DelayedQueue delayed(globals.redis());
    const auto jobs = delayed.list(args.offset, args.limit);
    if (args.json_output) {
        auto entries = nlohmann::json::array();
        for (const auto& job : jobs) {
            entries.push_back({{"at", show_time(job.at)}, {"entry", parse_or_string(job.raw)}});
        }
        print_json(entries);
        return;
    }
    Table table({"AT", "QUEUE", "CLASS", "ARGS"});
    for (const auto& job : jobs) {
        table.add_row({show_time(job.at), job.queue, job.job.class_name,
                       job.job.class_name.empty() ? one_line(job.raw, 80)
                                                  : one_line(job.job.args.dump(), 80)});
    }
    table.print();
    std::cout << fmt::format("{} delayed jobs at {} times\n", delayed.count(),
                             delayed.timestamp_count());
}

void find_delayed(const GlobalOptions& globals, const DelayedArgs& args) {
    DelayedQueue delayed(globals.redis());
    const auto times = delayed.times_of(args.queue, job_from(args));
    if (args.json_output) {
        auto entries = nlohmann::json::array();
        for (const auto& time : times) entries.push_back(show_time(time));
        print_json(entries);
        return;
    }
    for (const auto& time : times) std::cout << show_time(time) << '\n';
    if (times.empty()) throw Error("no such delayed job");
}

void remove_delayed(const GlobalOptions& globals, const DelayedArgs& args) {
    DelayedQueue delayed(globals.redis());
    std::size_t removed = 0;
    if (args.all) {
        if (!args.queue.empty() || !args.args_json.empty()) {
            throw UsageError("--all removes every job of CLASS; give no --queue or ARGS");
        }
        removed = delayed.remove_class(args.class_name);
    } else {
        if (args.queue.empty()) {
            throw UsageError("delayed remove needs --queue (or --all for every job of CLASS)");
        }
        removed = delayed.remove(args.queue, job_from(args));
    }
    std::cout << fmt::format("removed {} delayed jobs\n", removed);
}

}  // namespace

void add_delayed_command(CLI::App& app, GlobalOptions& globals) {
    auto args = std::make_shared<DelayedArgs>();
    CLI::App* group = app.add_subcommand("delayed", "Delayed jobs: list, find, remove");
    group->require_subcommand(1);

    CLI::App* list = group->add_subcommand("list", "List delayed jobs by due time");
    list->add_option("--offset", args->offset, "skip this many due times")
        ->check(number_in(0, 1e15))
        ->capture_default_str();
    list->add_option("--limit", args->limit, "print at most this many jobs")
        ->check(number_in(1, 1e6))
        ->capture_default_str();
    list->add_flag("--json", args->json_output, "print JSON");
    list->callback([&globals, args] { list_delayed(globals, *args); });

    CLI::App* find = group->add_subcommand("find", "Print the times a job is delayed until");
    find->add_option("QUEUE", args->queue, "queue name")->required();
    find->add_option("CLASS", args->class_name, "job class")->required();
    find->add_option("ARGS", args->args_json, "job arguments, a JSON array (default [])");
    find->add_flag("--json", args->json_output, "print JSON");
    find->callback([&globals, args] { find_delayed(globals, *args); });

    CLI::App* remove = group->add_subcommand(
        "remove", "Remove delayed jobs: exactly CLASS ARGS on --queue, or --all of CLASS");
    remove->add_option("CLASS", args->class_name, "job class")->required();
    remove->add_option("ARGS", args->args_json, "job arguments, a JSON array (default [])");
    remove->add_option("--queue", args->queue, "the queue the job was delayed for");
    remove->add_flag("--all", args->all, "every delayed job of CLASS, any args and queue");
    remove->callback([&globals, args] { remove_delayed(globals, *args); });
}

}  // namespace resque::cli
