// The scheduler page's read endpoints: delayed jobs by due time and the recurring
// schedules, rendered as JSON. Every text from Redis that can be large (a job's class
// and args) is cut to kMaxListedText, so a list never grows with a job's size (FC-07);
// a delayed job is named by the SHA-1 of its stored entry, never by the entry itself.

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>

#include "resque/scheduler.hpp"
#include "web/api.hpp"
#include "web/digest.hpp"

namespace resque::web {
namespace {

using std::chrono::system_clock;

SysSeconds now() { return std::chrono::floor<std::chrono::seconds>(system_clock::now()); }

std::string iso_time(SysSeconds time) { return fmt::format("{:%FT%TZ}", time); }

// `text` cut to at most `limit` bytes, never inside a UTF-8 sequence.
std::string cut(std::string text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    text.resize(end);
    return text;
}

// Class, queue and args as a list shows them, with whether anything was cut.
json job_fields(const std::string& queue, const Job& job, bool valid) {
    const std::string args =
        valid ? job.args.dump(-1, ' ', false, json::error_handler_t::replace) : std::string();
    return {{"queue", cut(queue, kMaxListedText)},
            {"class", cut(job.class_name, kMaxListedText)},
            {"args", cut(args, kMaxListedText)},
            {"truncated", args.size() > kMaxListedText || queue.size() > kMaxListedText ||
                              job.class_name.size() > kMaxListedText}};
}

json delayed_row(const DelayedJob& job) {
    const bool valid = !job.job.class_name.empty() && !job.queue.empty();
    json row = job_fields(job.queue, job.job, valid);
    row["valid"] = valid;
    row["bytes"] = job.raw.size();
    row["digest"] = sha1_hex(job.raw);
    // An entry that is not a job is shown as its (cut) raw text, so it can be removed.
    if (!valid) row["raw"] = cut(job.raw, kMaxListedText);
    return row;
}

json time_row(const DelayedTime& time, SysSeconds current) {
    json jobs = json::array();
    for (const auto& job : time.jobs) jobs.push_back(delayed_row(job));
    return {{"at", time.at.time_since_epoch().count()},
            {"time", iso_time(time.at)},
            {"due", time.at <= current},
            {"size", time.size},
            {"jobs", std::move(jobs)}};
}

json schedule_row(const ListedSchedule& listed, SysSeconds current) {
    const Schedule& schedule = listed.schedule;
    json row = job_fields(schedule.queue, schedule.job(), true);
    json next = json::array();
    for (const auto& time : next_runs(schedule, current, 3, listed.last_run)) {
        next.push_back(iso_time(time));
    }
    row["name"] = cut(schedule.name, kMaxListedText);
    row["persisted"] = listed.persisted;
    row["timing"] = cut(schedule.describe_timing(), kMaxListedText);
    row["description"] = cut(schedule.description, kMaxListedText);
    row["recurring"] = schedule.recurring();
    row["last_enqueued_at"] = listed.last_enqueued ? json(*listed.last_enqueued) : json(nullptr);
    row["next"] = std::move(next);
    return row;
}

json schedules_json(SchedulerView& scheduler, SysSeconds current) {
    std::vector<std::string> errors;
    const auto listed = scheduler.schedules(errors, kMaxSchedules);
    json rows = json::array();
    for (const auto& entry : listed.shown) rows.push_back(schedule_row(entry, current));
    json error_rows = json::array();
    for (const auto& error : errors) error_rows.push_back(cut(error, kMaxListedText));
    return {{"schedules", std::move(rows)},
            {"schedule_total", listed.total},
            {"schedule_errors", std::move(error_rows)}};
}

long long clamp_count(long long count) { return std::clamp(count, 1LL, kMaxPage); }

}  // namespace

json overdue_json(SchedulerView& scheduler) {
    const auto overdue = scheduler.delayed().overdue();
    return {{"overdue_seconds", overdue ? json(overdue->count()) : json(nullptr)},
            {"overdue_warning", overdue && *overdue > kOverdueWarning}};
}

json scheduler_json(SchedulerView& scheduler, PageRequest page) {
    DelayedQueue& delayed = scheduler.delayed();
    const SysSeconds current = now();
    const long long offset = std::max(0LL, page.offset);
    const long long count = clamp_count(page.count);

    json times = json::array();
    for (const auto& time : delayed.times(offset, count, kJobsPerTime)) {
        times.push_back(time_row(time, current));
    }
    const auto leader = scheduler.leader();
    json out = overdue_json(scheduler);
    out["now"] = iso_time(current);
    out["leader"] = leader ? json(cut(*leader, kMaxListedText)) : json(nullptr);
    out["delayed"] = {{"total", delayed.count()},
                      {"timestamps", delayed.timestamp_count()},
                      {"offset", offset},
                      {"count", count},
                      {"times", std::move(times)}};
    out.update(schedules_json(scheduler, current));
    return out;
}

json delayed_time_json(SchedulerView& scheduler, long long at, PageRequest page) {
    const long long offset = std::max(0LL, page.offset);
    const DelayedTime time = scheduler.delayed().jobs_at(SysSeconds{std::chrono::seconds{at}},
                                                         offset, clamp_count(page.count));
    json out = time_row(time, now());
    out["offset"] = offset;
    return out;
}

std::optional<json> delayed_job_json(SchedulerView& scheduler, long long at,
                                     const std::string& digest) {
    const auto job = scheduler.delayed().find_at(SysSeconds{std::chrono::seconds{at}}, digest);
    if (!job) return std::nullopt;
    // One job asked for by name: shown whole, however large (the list rows are cut).
    const bool valid = !job->job.class_name.empty() && !job->queue.empty();
    return json{{"at", at},
                {"time", iso_time(job->at)},
                {"queue", job->queue},
                {"class", job->job.class_name},
                {"args", valid ? job->job.args.dump(-1, ' ', false, json::error_handler_t::replace)
                               : std::string()},
                {"valid", valid},
                {"bytes", job->raw.size()},
                {"digest", digest},
                {"raw", job->raw}};
}

}  // namespace resque::web
