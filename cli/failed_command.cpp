// `resque failed ...`: list, show, retry and remove failure records.
//
// Resque edits the failed list by index, and indexes shift when anyone else removes an
// entry. So retry and remove of one INDEX pass the entry read just before as the
// expected one; if another entry sits there now, nothing is changed and the user is
// asked to list again.

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "resque/client.hpp"
#include "resque/errors.hpp"

namespace resque::cli {
namespace {

using nlohmann::json;

struct FailedArgs {
    std::string failure_queue = "failed";
    long long offset = 0;
    long long count = 20;
    std::string class_name;
    std::string queue;
    long long index = -1;  // -1: not given
    bool all = false;
    bool json_output = false;
};

// Limitation: nlohmann keeps integers up to 64 bits; larger ones in job args print as
// floats in --json output. The text output of `failed show` prints the payload verbatim.
json failure_json(const FailureEntry& entry) {
    const FailureRecord& record = entry.record;
    json out = {{"index", entry.index},
                {"failed_at", record.failed_at},
                {"payload", parse_or_string(record.payload_json)},
                {"exception", record.exception},
                {"error", record.error},
                {"backtrace", record.backtrace},
                {"worker", record.worker},
                {"queue", record.queue}};
    if (record.retried_at) out["retried_at"] = *record.retried_at;
    return out;
}

void print_failures_json(const std::vector<FailureEntry>& entries) {
    auto out = json::array();
    for (const auto& entry : entries) out.push_back(failure_json(entry));
    print_json(out);
}

void print_failure_table(const std::vector<FailureEntry>& entries) {
    Table table({"INDEX", "FAILED AT", "QUEUE", "CLASS", "EXCEPTION", "ERROR"});
    for (const auto& entry : entries) {
        const FailureRecord& record = entry.record;
        table.add_row({std::to_string(entry.index), record.failed_at, record.queue,
                       record.class_name(), record.exception, one_line(record.error)});
    }
    table.print();
}

void print_page_position(const FailedArgs& args, long long shown, long long total) {
    if (shown > 0) {
        std::cout << fmt::format("showing {}-{} of {} failures in \"{}\"\n", args.offset,
                                 args.offset + shown - 1, total, args.failure_queue);
    } else if (total > 0) {
        std::cout << fmt::format("nothing at offset {}; {} failures in \"{}\"\n", args.offset,
                                 total, args.failure_queue);
    } else {
        std::cout << fmt::format("no failures in \"{}\"\n", args.failure_queue);
    }
}

void list_page(Client& client, const FailedArgs& args) {
    const auto entries = client.failures(args.offset, args.count, args.failure_queue);
    if (args.json_output) {
        print_failures_json(entries);
        return;
    }
    print_failure_table(entries);
    print_page_position(args, static_cast<long long>(entries.size()),
                        client.failure_count(args.failure_queue));
}

// Entries one filtered listing reads at most; the rest is reached with --offset.
constexpr long long kScanLimit = 10000;

void list_matches(Client& client, const FailedArgs& args) {
    const FailureFilter filter{args.class_name, args.queue, ""};
    const auto [entries, next_offset] =
        client.find_failures(filter, args.offset, args.count, kScanLimit, args.failure_queue);
    if (args.json_output) {
        print_failures_json(entries);
        return;
    }
    print_failure_table(entries);
    if (next_offset >= 0)
        std::cout << fmt::format("more may match: list again with --offset {}\n", next_offset);
}

void list_failures(const GlobalOptions& globals, const FailedArgs& args) {
    Client client(globals.redis());
    if (args.class_name.empty() && args.queue.empty()) {
        list_page(client, args);
    } else {
        list_matches(client, args);
    }
}

FailureEntry require_failure(Client& client, const FailedArgs& args) {
    auto entry = client.failure_at(args.index, args.failure_queue);
    if (!entry) {
        throw Error(fmt::format("no failure at index {} in {}", args.index, args.failure_queue));
    }
    return std::move(*entry);
}

// Continuation lines of a multi-line value line up under its first line.
std::string indented(const std::string& text) {
    std::string out;
    for (const char c : text) {
        out += c;
        if (c == '\n') out += std::string(12, ' ');
    }
    return out;
}

void print_failure(const FailureEntry& entry) {
    const FailureRecord& record = entry.record;
    std::cout << fmt::format("index:      {}\n", entry.index)
              << fmt::format("failed_at:  {}\n", record.failed_at)
              << fmt::format("queue:      {}\n", record.queue)
              << fmt::format("class:      {}\n", record.class_name())
              << fmt::format("worker:     {}\n", record.worker)
              << fmt::format("exception:  {}\n", record.exception)
              << fmt::format("error:      {}\n", indented(record.error));
    if (record.retried_at) std::cout << fmt::format("retried_at: {}\n", *record.retried_at);
    std::cout << fmt::format("payload:    {}\n", record.payload_json) << "backtrace:\n";
    for (const auto& line : record.backtrace) std::cout << "  " << line << '\n';
}

void show_failure(const GlobalOptions& globals, const FailedArgs& args) {
    Client client(globals.redis());
    const FailureEntry entry = require_failure(client, args);
    if (args.json_output) {
        print_json(failure_json(entry));
    } else {
        print_failure(entry);
    }
}

void check_index_or_all(const FailedArgs& args, const char* verb) {
    if (args.index < 0 && !args.all) {
        throw UsageError(fmt::format("failed {} needs INDEX or --all", verb));
    }
}

void retry_failures(const GlobalOptions& globals, const FailedArgs& args) {
    check_index_or_all(args, "retry");
    Client client(globals.redis());
    if (args.all) {
        const long long retried = client.retry_all_failures(args.failure_queue);
        std::cout << fmt::format("retried {} failures\n", retried);
        return;
    }
    const FailureEntry entry = require_failure(client, args);
    if (!client.retry_failure(args.index, entry.raw, args.failure_queue)) {
        throw Error(fmt::format("failure at index {} changed; list it again", args.index));
    }
    std::cout << fmt::format("retried failure {} ({} on queue {})\n", args.index,
                             entry.record.class_name(), entry.record.queue);
}

void remove_failures(const GlobalOptions& globals, const FailedArgs& args) {
    check_index_or_all(args, "remove");
    Client client(globals.redis());
    if (args.all) {
        const long long removed = client.clear_failures(args.failure_queue);
        std::cout << fmt::format("removed {} failures\n", removed);
        return;
    }
    const FailureEntry entry = require_failure(client, args);
    if (!client.remove_failure(args.index, entry.raw, args.failure_queue)) {
        throw Error(fmt::format("failure at index {} changed; list it again", args.index));
    }
    std::cout << fmt::format("removed failure {}\n", args.index);
}

void clear_failures(const GlobalOptions& globals, const FailedArgs& args, bool only_retried) {
    Client client(globals.redis());
    if (only_retried) {
        const long long removed = client.clear_retried_failures(args.failure_queue);
        std::cout << fmt::format("removed {} retried failures\n", removed);
        return;
    }
    const long long cleared = client.clear_failures(args.failure_queue);
    std::cout << fmt::format("cleared {} failures\n", cleared);
}

using Args = std::shared_ptr<FailedArgs>;

void add_index_option(CLI::App& command, const Args& args, bool with_all) {
    CLI::Option* index = command.add_option("INDEX", args->index, "position in the list (0 first)")
                             ->check(number_in(0, 1e15));
    if (with_all) {
        command.add_flag("--all", args->all, "every failure instead of one")->excludes(index);
    } else {
        index->required();
    }
}

void add_list(CLI::App& group, GlobalOptions& globals, const Args& args) {
    CLI::App* command = group.add_subcommand("list", "List failures, oldest first");
    command->add_option("--offset", args->offset, "start at this index")
        ->check(number_in(0, 1e15))
        ->capture_default_str();
    command->add_option("--count", args->count, "list at most this many")
        ->check(number_in(1, 1e6))
        ->capture_default_str();
    command->add_option("--class", args->class_name, "only failures of this job class");
    command->add_option("--queue", args->queue, "only failures from this queue");
    command->add_flag("--json", args->json_output, "print a JSON array of failures");
    command->callback([&globals, args] { list_failures(globals, *args); });
}

void add_show(CLI::App& group, GlobalOptions& globals, const Args& args) {
    CLI::App* command = group.add_subcommand("show", "Print one failure with its backtrace");
    add_index_option(*command, args, false);
    command->add_flag("--json", args->json_output, "print one JSON object");
    command->callback([&globals, args] { show_failure(globals, *args); });
}

void add_edits(CLI::App& group, GlobalOptions& globals, const Args& args) {
    CLI::App* retry = group.add_subcommand("retry", "Requeue a failed job (INDEX or --all)");
    add_index_option(*retry, args, true);
    retry->callback([&globals, args] { retry_failures(globals, *args); });

    CLI::App* remove = group.add_subcommand("remove", "Delete a failure (INDEX or --all)");
    add_index_option(*remove, args, true);
    remove->callback([&globals, args] { remove_failures(globals, *args); });

    group.add_subcommand("clear", "Delete every failure")->callback([&globals, args] {
        clear_failures(globals, *args, false);
    });
    group.add_subcommand("clear-retried", "Delete the failures that were retried")
        ->callback([&globals, args] { clear_failures(globals, *args, true); });
}

}  // namespace

void add_failed_command(CLI::App& app, GlobalOptions& globals) {
    auto args = std::make_shared<FailedArgs>();
    CLI::App* group = app.add_subcommand("failed", "Inspect, retry and remove failed jobs");
    group->require_subcommand(1);
    group
        ->add_option("--failure-queue", args->failure_queue,
                     "failure list: failed, or <queue>_failed with redis_multi_queue")
        ->capture_default_str();

    add_list(*group, globals, args);
    add_show(*group, globals, args);
    add_edits(*group, globals, args);
}

}  // namespace resque::cli
