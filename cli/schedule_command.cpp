// `resque schedule list|add|remove|next`: recurring schedules. Persisted schedules live
// in Redis (Ruby's `persistent_schedules`); `--file` adds a YAML file's static ones to
// what is shown, as the scheduler started with that file would see them.

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "job_json.hpp"
#include "output.hpp"
#include "resque/errors.hpp"
#include "resque/schedule.hpp"
#include "resque/scheduler.hpp"

namespace resque::cli {
namespace {

struct ScheduleArgs {
    std::string name;
    std::string file;
    std::string zone = "UTC";
    std::string cron;
    std::string every;
    std::string class_name;
    std::string queue;
    std::string args_json;
    std::string description;
    std::size_t count = 5;
    bool json_output = false;
};

std::string show_time(SysSeconds time) { return fmt::format("{:%FT%TZ}", time); }

// Static schedules from --file, then persisted ones (a persisted name wins, as in the
// scheduler). Unreadable persisted entries are reported on stderr, not hidden.
std::vector<Schedule> effective(const GlobalOptions& globals, const ScheduleArgs& args,
                                ScheduleStore& store) {
    std::vector<Schedule> schedules;
    if (!args.file.empty()) schedules = load_schedule_file(args.file, args.zone);
    std::vector<std::string> invalid;
    for (auto& persisted : store.all(&invalid)) {
        std::erase_if(schedules, [&](const Schedule& s) { return s.name == persisted.name; });
        schedules.push_back(std::move(persisted));
    }
    for (const auto& problem : invalid) cli_logger()->warn("{}", problem);
    std::sort(schedules.begin(), schedules.end(),
              [](const Schedule& a, const Schedule& b) { return a.name < b.name; });
    (void)globals;
    return schedules;
}

SysSeconds now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

void list_schedules(const GlobalOptions& globals, const ScheduleArgs& args) {
    ScheduleStore store(globals.redis(), args.zone);
    const auto schedules = effective(globals, args, store);
    auto entries = nlohmann::json::array();
    Table table({"NAME", "TIMING", "CLASS", "QUEUE", "NEXT", "LAST ENQUEUED", "DESCRIPTION"});
    for (const auto& schedule : schedules) {
        const auto next = next_runs(schedule, now(), 1);
        const std::string next_text = next.empty() ? "-" : show_time(next.front());
        const std::string last = store.last_enqueued_at(schedule.name).value_or("never");
        entries.push_back({{"name", schedule.name},
                           {"config", nlohmann::json::parse(schedule.config.dump())},
                           {"next", next_text},
                           {"last_enqueued_at", last}});
        table.add_row({schedule.name, schedule.describe_timing(), schedule.class_name,
                       schedule.queue, next_text, last, schedule.description});
    }
    if (args.json_output) {
        print_json(entries);
    } else {
        table.print();
    }
}

nlohmann::ordered_json config_from(const ScheduleArgs& args) {
    if (args.cron.empty() == args.every.empty()) {
        throw UsageError("schedule add needs exactly one of --cron and --every");
    }
    nlohmann::ordered_json config = nlohmann::ordered_json::object();
    config["class"] = args.class_name.empty() ? args.name : args.class_name;
    if (!args.cron.empty()) config["cron"] = args.cron;
    if (!args.every.empty()) config["every"] = args.every;
    config["queue"] = args.queue;
    if (!args.args_json.empty()) {
        try {
            config["args"] = nlohmann::ordered_json::parse(parse_user_json(args.args_json).dump());
        } catch (const PayloadError& error) {
            throw PayloadError(std::string("--args: ") + error.what());
        }
    }
    if (!args.description.empty()) config["description"] = args.description;
    return config;
}

void add_schedule(const GlobalOptions& globals, const ScheduleArgs& args) {
    const Schedule schedule = parse_schedule(args.name, config_from(args), args.zone);
    ScheduleStore store(globals.redis(), args.zone);
    store.set(schedule);
    const auto next = next_runs(schedule, now(), 1);
    std::cout << fmt::format("schedule {} saved ({}); next run {}\n", schedule.name,
                             schedule.describe_timing(),
                             next.empty() ? "never" : show_time(next.front()));
}

void remove_schedule(const GlobalOptions& globals, const ScheduleArgs& args) {
    ScheduleStore store(globals.redis(), args.zone);
    if (!store.remove(args.name)) {
        throw Error(fmt::format("no persisted schedule named \"{}\"", args.name));
    }
    std::cout << fmt::format("schedule {} removed\n", args.name);
}

void show_next(const GlobalOptions& globals, const ScheduleArgs& args) {
    ScheduleStore store(globals.redis(), args.zone);
    auto entries = nlohmann::json::array();
    bool found = false;
    for (const auto& schedule : effective(globals, args, store)) {
        if (!args.name.empty() && schedule.name != args.name) continue;
        found = true;
        auto times = nlohmann::json::array();
        for (const auto& time : next_runs(schedule, now(), args.count)) {
            times.push_back(show_time(time));
            if (!args.json_output) std::cout << schedule.name << '\t' << show_time(time) << '\n';
        }
        entries.push_back({{"name", schedule.name}, {"next", times}});
    }
    if (!found && !args.name.empty()) {
        throw Error(fmt::format("no schedule named \"{}\"", args.name));
    }
    if (args.json_output) print_json(entries);
}

void add_common(CLI::App& command, ScheduleArgs& args) {
    command.add_option("--zone", args.zone, "time zone for cron entries without one")
        ->capture_default_str();
}

}  // namespace

void add_schedule_command(CLI::App& app, GlobalOptions& globals) {
    auto args = std::make_shared<ScheduleArgs>();
    CLI::App* group =
        app.add_subcommand("schedule", "Recurring schedules: list, add, remove, next");
    group->require_subcommand(1);

    CLI::App* list = group->add_subcommand("list", "List schedules with next and last runs");
    list->add_option("--file", args->file, "also show this YAML file's schedules")
        ->check(CLI::ExistingFile);
    list->add_flag("--json", args->json_output, "print JSON");
    add_common(*list, *args);
    list->callback([&globals, args] { list_schedules(globals, *args); });

    CLI::App* add = group->add_subcommand(
        "add", "Store a schedule in Redis (a running scheduler picks it up at once)");
    add->add_option("NAME", args->name, "schedule name")->required();
    add->add_option("--cron", args->cron, "cron expression, e.g. \"0 5 * * * Europe/Berlin\"");
    add->add_option("--every", args->every, "interval, e.g. 30s, 5m, 1h, 1d");
    add->add_option("--class", args->class_name, "job class (default: the name)");
    add->add_option("--queue", args->queue, "queue name")->required();
    add->add_option("--args", args->args_json,
                    "JSON: an array is the argument list, anything else one argument");
    add->add_option("--description", args->description, "shown in listings and resque-web");
    add_common(*add, *args);
    add->callback([&globals, args] { add_schedule(globals, *args); });

    CLI::App* remove = group->add_subcommand("remove", "Remove a stored schedule");
    remove->add_option("NAME", args->name, "schedule name")->required();
    remove->callback([&globals, args] { remove_schedule(globals, *args); });

    CLI::App* next = group->add_subcommand("next", "Print the next run times");
    next->add_option("NAME", args->name, "schedule name (default: all)");
    next->add_option("--count", args->count, "run times per schedule")
        ->check(number_in(1, 1000))
        ->capture_default_str();
    next->add_option("--file", args->file, "also consider this YAML file's schedules")
        ->check(CLI::ExistingFile);
    next->add_flag("--json", args->json_output, "print JSON");
    add_common(*next, *args);
    next->callback([&globals, args] { show_next(globals, *args); });
}

}  // namespace resque::cli
