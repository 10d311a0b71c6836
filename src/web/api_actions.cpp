// The dashboard's POST actions. Each names its target by content as well as position
// where a position can shift (FC-12): a failure by index plus the exact entry the
// operator saw, a queued job by its exact payload. The scheduler's actions are in
// api_scheduler_actions.cpp.

#include <fmt/format.h>

#include <functional>
#include <map>

#include "log.hpp"
#include "web/action_fields.hpp"
#include "web/api.hpp"

namespace resque::web {
namespace {

long long index_field(const json& body) { return count_field(body, "index"); }

std::string list_field(const json& body) {
    return body.contains("list") ? text_field(body, "list") : "failed";
}

ActionResult changed(long long index) {
    return {409,
            {{"error", fmt::format("that entry changed: failure {} is no longer the one shown; "
                                   "nothing was done, reload the list",
                                   index)}}};
}

using Action = std::function<ActionResult(Client&, const json&)>;

const std::map<std::string, Action, std::less<>>& actions() {
    static const std::map<std::string, Action, std::less<>> table{
        {"queue/remove_job",
         [](Client& client, const json& body) {
             const bool removed =
                 client.remove_queued_job(text_field(body, "queue"), text_field(body, "raw"));
             if (!removed) return ActionResult{409, {{"error", "that job is no longer queued"}}};
             return ok();
         }},
        {"queue/clear",
         [](Client& client, const json& body) {
             return ok({{"removed", client.clear_queue(text_field(body, "queue"))}});
         }},
        {"queue/delete",
         [](Client& client, const json& body) {
             client.remove_queue(text_field(body, "queue"));
             return ok();
         }},
        {"failed/retry",
         [](Client& client, const json& body) {
             const long long index = index_field(body);
             const std::string raw = text_field(body, "raw");
             if (!client.retry_failure(index, raw, list_field(body))) return changed(index);
             return ok();
         }},
        {"failed/remove",
         [](Client& client, const json& body) {
             const long long index = index_field(body);
             const std::string raw = text_field(body, "raw");
             if (!client.remove_failure(index, raw, list_field(body))) return changed(index);
             return ok();
         }},
        {"failed/retry_all",
         [](Client& client, const json& body) {
             return ok({{"retried", client.retry_all_failures(list_field(body))}});
         }},
        {"failed/clear",
         [](Client& client, const json& body) {
             return ok({{"removed", client.clear_failures(list_field(body))}});
         }},
        {"failed/clear_retried",
         [](Client& client, const json& body) {
             return ok({{"removed", client.clear_retried_failures(list_field(body))}});
         }},
        {"pause",
         [](Client& client, const json& body) {
             const auto it = body.find("paused");
             if (it == body.end() || !it->is_boolean()) throw MissingField{"paused"};
             client.set_paused(it->get<bool>());
             return ok();
         }},
    };
    return table;
}

}  // namespace

ActionResult run_action(Client& client, SchedulerView& scheduler, const std::string& name,
                        const json& body) {
    const auto& table = actions();
    const auto action = table.find(name);
    const bool scheduling = name.starts_with("delayed/") || name.starts_with("schedule/");
    if (action == table.end() && !scheduling) return {404, {{"error", "no such action: " + name}}};
    if (!body.is_object()) return {400, {{"error", "the request body must be a JSON object"}}};
    try {
        ActionResult result = action != table.end()
                                  ? action->second(client, body)
                                  : run_scheduler_action(client, scheduler, name, body);
        // Names only: queue names and job contents may be attacker-controlled and long.
        log::get("web")->info("action {} status={}", name, result.status);
        return result;
    } catch (const MissingField& missing) {
        return {
            400,
            {{"error", fmt::format("{}: missing or invalid field \"{}\"", name, missing.name)}}};
    }
}

}  // namespace resque::web
