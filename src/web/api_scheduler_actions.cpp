// The scheduler page's POST actions. A delayed job is named by its content: its due
// time plus its stored entry (`raw`) or that entry's SHA-1 (`digest`, what the lists
// carry), never by a position in a list the scheduler keeps shortening (FC-12).

#include <fmt/format.h>

#include "web/action_fields.hpp"
#include "web/api.hpp"

namespace resque::web {
namespace {

SysSeconds time_field(const json& body) {
    return SysSeconds{std::chrono::seconds{count_field(body, "at")}};
}

bool names_one_job(const json& body) { return body.contains("digest") || body.contains("raw"); }

ActionResult gone() {
    return {409,
            {{"error",
              "that delayed job is no longer there (moved by a scheduler or "
              "removed); nothing was done, reload the list"}}};
}

// The exact stored entry the body names, or nullopt when it is no longer due then.
std::optional<std::string> named_entry(SchedulerView& scheduler, const json& body) {
    if (body.contains("raw")) return text_field(body, "raw");
    const std::string digest = text_field(body, "digest");
    const bool hex =
        digest.size() == 40 && digest.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex) throw MissingField{"digest"};
    auto job = scheduler.delayed().find_at(time_field(body), digest);
    if (!job) return std::nullopt;
    return std::move(job->raw);
}

// As resque-scheduler's "Queue now" on its schedule tab: the schedule's job pushed
// onto its queue through the ordinary enqueue (hooks, the `queues` set), no run record.
ActionResult run_schedule_now(Client& client, SchedulerView& scheduler, const json& body) {
    const std::string name = text_field(body, "name");
    const auto schedule = scheduler.find(name);
    if (!schedule) return {404, {{"error", fmt::format("no schedule named \"{}\"", name)}}};
    if (!client.enqueue(schedule->queue, schedule->job())) {
        return {409, {{"error", "a before_enqueue hook refused the job; nothing was queued"}}};
    }
    return ok({{"queue", schedule->queue}, {"enqueued", 1}});
}

ActionResult enqueue_delayed_now(SchedulerView& scheduler, const json& body) {
    DelayedQueue& delayed = scheduler.delayed();
    if (!names_one_job(body)) {
        return ok({{"enqueued", delayed.enqueue_all_now_at(time_field(body))}});
    }
    const auto raw = named_entry(scheduler, body);
    if (!raw || !delayed.enqueue_now_at(time_field(body), *raw)) return gone();
    return ok({{"enqueued", 1}});
}

ActionResult remove_delayed(SchedulerView& scheduler, const json& body) {
    if (!names_one_job(body)) throw MissingField{"digest"};
    const auto raw = named_entry(scheduler, body);
    if (!raw || !scheduler.delayed().remove_at(time_field(body), *raw)) return gone();
    return ok({{"removed", 1}});
}

}  // namespace

ActionResult run_scheduler_action(Client& client, SchedulerView& scheduler, const std::string& name,
                                  const json& body) {
    if (name == "schedule/run_now") return run_schedule_now(client, scheduler, body);
    if (name == "delayed/enqueue_now") return enqueue_delayed_now(scheduler, body);
    if (name == "delayed/remove") return remove_delayed(scheduler, body);
    return {404, {{"error", "no such action: " + name}}};
}

}  // namespace resque::web
