#include "web/metrics.hpp"

#include <fmt/format.h>

#include "resque/delayed.hpp"

namespace resque::web {
namespace {

// A label value: backslash, double quote and newline escaped as the format requires.
std::string label(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string metrics_text(Client& client, DelayedQueue& delayed) {
    const Stats stats = client.stats();
    const auto queues = client.queue_summaries();
    std::string out;

    family(out, "resque_jobs_processed_total", "counter", "Jobs processed (stat:processed).");
    out += fmt::format("resque_jobs_processed_total {}\n", stats.processed);
    family(out, "resque_jobs_failed_total", "counter", "Jobs failed (stat:failed).");
    out += fmt::format("resque_jobs_failed_total {}\n", stats.failed_stat);
    family(out, "resque_failures", "gauge", "Failure records kept in the failed list.");
    out += fmt::format("resque_failures {}\n", stats.failed);
    family(out, "resque_workers", "gauge", "Registered workers.");
    out += fmt::format("resque_workers {}\n", stats.workers);
    family(out, "resque_workers_working", "gauge", "Workers running a job now.");
    out += fmt::format("resque_workers_working {}\n", stats.working);

    family(out, "resque_queue_size", "gauge", "Jobs waiting in each queue.");
    for (const auto& queue : queues) {
        out += fmt::format("resque_queue_size{{queue=\"{}\"}} {}\n", label(queue.name), queue.size);
    }
    family(out, "resque_queue_latency_seconds", "gauge",
           "Age of the oldest job in each queue (only queues whose payloads carry enqueued_at).");
    for (const auto& queue : queues) {
        if (!queue.oldest_age_seconds) continue;
        out += fmt::format("resque_queue_latency_seconds{{queue=\"{}\"}} {:.3f}\n",
                           label(queue.name), *queue.oldest_age_seconds);
    }
    // FC-16: delayed jobs due but not moved mean no scheduler is running; alert on it.
    family(out, "resque_delayed_jobs", "gauge", "Delayed jobs waiting for their time.");
    out += fmt::format("resque_delayed_jobs {}\n", delayed.count());
    family(out, "resque_delayed_overdue_seconds", "gauge",
           "How long the oldest due delayed job has waited to be moved (0: none due).");
    out += fmt::format("resque_delayed_overdue_seconds {}\n",
                       delayed.overdue().value_or(std::chrono::seconds(0)).count());
    return out;
}

std::string stats_text(Client& client) {
    const Stats stats = client.stats();
    return fmt::format(
        "processed={}\nfailed={}\nfailed_stat={}\npending={}\nqueues={}\nworkers={}\n"
        "working={}\n",
        stats.processed, stats.failed, stats.failed_stat, stats.pending, stats.queues,
        stats.workers, stats.working);
}

}  // namespace resque::web
