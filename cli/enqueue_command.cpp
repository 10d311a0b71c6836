// `resque enqueue`: one job from the command line, or many from a file of JSON lines
// (`--from`), validated whole before anything is pushed.

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "job_json.hpp"
#include "output.hpp"
#include "resque/client.hpp"
#include "resque/delayed.hpp"
#include "resque/errors.hpp"
#include "resque/job.hpp"
#include "resque/schedule.hpp"

namespace resque::cli {
namespace {

using nlohmann::json;

struct EnqueueArgs {
    std::string queue;
    std::string class_name;
    std::string args_json = "[]";
    std::string from;
    std::string in;  ///< --in: a delay such as 90s or 1h30m
    std::string at;  ///< --at: an absolute time
    bool json_output = false;
};

json parse_args(const std::string& text) {
    json args;
    try {
        args = parse_user_json(text);
    } catch (const PayloadError& error) {
        throw PayloadError(std::string("args: ") + error.what());
    }
    if (!args.is_array()) {
        throw PayloadError("args must be a JSON array (got " + std::string(args.type_name()) + ")");
    }
    return args;
}

// --in / --at: into resque-scheduler's delayed structures (or straight onto the queue
// when the time has already come, as resque-scheduler does).
void enqueue_delayed(const GlobalOptions& globals, const EnqueueArgs& args, const Job& job) {
    DelayedQueue delayed(globals.redis());
    const auto now = std::chrono::system_clock::now();
    const auto at = args.at.empty() ? now + parse_every(args.in)
                                    : std::chrono::system_clock::time_point(parse_time(args.at));
    const DelayOutcome outcome = delayed.enqueue_at(args.queue, at, job);
    const auto due = std::chrono::floor<std::chrono::seconds>(at);
    if (args.json_output) {
        print_json({{"queue", args.queue},
                    {"class", args.class_name},
                    {"at", fmt::format("{:%FT%TZ}", due)},
                    {"delayed", outcome == DelayOutcome::kDelayed}});
    }
}

void enqueue_one(const GlobalOptions& globals, const EnqueueArgs& args) {
    if (args.queue.empty() || args.class_name.empty()) {
        throw UsageError("enqueue needs QUEUE and CLASS, or --from FILE");
    }
    Job job{args.class_name, parse_args(args.args_json)};
    if (!args.in.empty() || !args.at.empty()) {
        enqueue_delayed(globals, args, job);
        return;
    }

    Client client(globals.redis());
    if (!client.enqueue(args.queue, job)) throw Error("the job was vetoed by a hook");
    if (args.json_output) print_json({{"queue", args.queue}, {"class", args.class_name}});
}

std::string required_string(const json& entry, const char* key) {
    const auto found = entry.find(key);
    if (found == entry.end()) throw PayloadError(fmt::format("missing \"{}\"", key));
    if (!found->is_string() || found->get_ref<const std::string&>().empty()) {
        throw PayloadError(fmt::format("\"{}\" must be a non-empty string (got {})", key,
                                       one_line(found->dump(), 40)));
    }
    return found->get<std::string>();
}

void reject_unknown_keys(const json& entry) {
    for (const auto& item : entry.items()) {
        const std::string& key = item.key();
        if (key != "queue" && key != "class" && key != "args") {
            throw PayloadError(
                fmt::format("unknown key \"{}\" (expected queue, class, args)", one_line(key, 40)));
        }
    }
}

// One line as a job; the PayloadError names the problem, the caller adds where.
QueuedJob parse_job_line(const std::string& line) {
    const json entry = parse_user_json(line);
    if (!entry.is_object()) {
        throw PayloadError(fmt::format("expected an object with queue, class and args (got {})",
                                       entry.type_name()));
    }
    reject_unknown_keys(entry);

    QueuedJob queued{required_string(entry, "queue"),
                     Job{required_string(entry, "class"), entry.value("args", json::array())}};
    if (!queued.job.args.is_array()) {
        throw PayloadError(
            fmt::format("\"args\" must be a JSON array (got {})", queued.job.args.type_name()));
    }
    // The checks enqueue_many would make (size, UTF-8, numbers), reported with the line.
    (void)encode_payload(queued.job);
    return queued;
}

bool is_blank(const std::string& line) {
    return line.find_first_not_of(" \t\r") == std::string::npos;
}

std::vector<QueuedJob> read_job_lines(std::istream& input, const std::string& source) {
    std::vector<QueuedJob> jobs;
    std::string line;
    for (long number = 1; std::getline(input, line); ++number) {
        if (is_blank(line)) continue;
        try {
            jobs.push_back(parse_job_line(line));
        } catch (const PayloadError& error) {
            throw PayloadError(fmt::format("{}:{}: {}", source, number, error.what()));
        }
    }
    if (input.bad()) throw Error("cannot read " + source);
    return jobs;
}

std::vector<QueuedJob> read_jobs(const std::string& path) {
    if (path == "-") return read_job_lines(std::cin, "stdin");
    std::ifstream file(path);
    if (!file) throw Error(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    return read_job_lines(file, path);
}

void print_summary(std::size_t pushed, std::size_t queues,
                   std::chrono::steady_clock::duration elapsed, bool json_output) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    const double ms = seconds * 1000.0;
    const double rate = seconds > 0 ? static_cast<double>(pushed) / seconds : 0.0;
    if (json_output) {
        print_json({{"enqueued", pushed}, {"queues", queues}, {"ms", ms}});
        return;
    }
    std::cout << fmt::format("enqueued {} jobs on {} queues in {:.0f} ms ({:.0f} jobs/s)\n", pushed,
                             queues, ms, rate);
}

void enqueue_from_file(const GlobalOptions& globals, const std::string& path, bool json_output) {
    const std::vector<QueuedJob> jobs = read_jobs(path);
    std::set<std::string> queues;
    for (const auto& queued : jobs) queues.insert(queued.queue);

    Client client(globals.redis());
    const auto start = std::chrono::steady_clock::now();
    const std::size_t pushed = client.enqueue_many(jobs);
    print_summary(pushed, queues.size(), std::chrono::steady_clock::now() - start, json_output);
}

}  // namespace

void add_enqueue_command(CLI::App& app, GlobalOptions& globals) {
    auto args = std::make_shared<EnqueueArgs>();
    CLI::App* command = app.add_subcommand("enqueue", "Push a job onto a queue");
    command->footer(
        "With --from, each line is {\"queue\":..,\"class\":..,\"args\":[..]}; the "
        "whole file is checked first and nothing is pushed if a line is bad.");

    CLI::Option* queue = command->add_option("QUEUE", args->queue, "queue name");
    CLI::Option* name = command->add_option("CLASS", args->class_name, "job class name");
    CLI::Option* job_args =
        command->add_option("ARGS", args->args_json, "job arguments, a JSON array (default [])");
    command->add_option("--from", args->from, "read jobs as JSON lines from FILE (- for stdin)")
        ->excludes(queue)
        ->excludes(name)
        ->excludes(job_args);
    CLI::Option* in = command->add_option(
        "--in", args->in, "delay the job by a duration (90s, 5m, 1h30m); needs the scheduler");
    CLI::Option* at = command->add_option(
        "--at", args->at, "delay the job until a time (2027-01-01T05:00:00Z); needs the scheduler");
    in->excludes(at);
    command->get_option("--from")->excludes(in)->excludes(at);
    command->add_flag("--json", args->json_output, "print the result as JSON");

    command->callback([&globals, args] {
        if (args->from.empty()) {
            enqueue_one(globals, *args);
        } else {
            enqueue_from_file(globals, args->from, args->json_output);
        }
    });
}

}  // namespace resque::cli
