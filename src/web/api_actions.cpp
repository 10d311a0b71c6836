// The dashboard's POST actions. Each names its target by content as well as position
// where a position can shift (FC-12): a failure by index plus the exact entry the
// operator saw, a queued job by its exact payload.

#include <fmt/format.h>

#include <functional>
#include <map>

#include "log.hpp"
#include "web/api.hpp"

namespace resque::web {
namespace {

struct MissingField {
    std::string name;
};

std::string text_field(const json& body, const char* name) {
    const auto it = body.find(name);
    if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
        throw MissingField{name};
    }
    return it->get<std::string>();
}

long long index_field(const json& body) {
    const auto it = body.find("index");
    if (it == body.end() || !it->is_number_integer() || it->get<long long>() < 0) {
        throw MissingField{"index"};
    }
    return it->get<long long>();
}

std::string list_field(const json& body) {
    return body.contains("list") ? text_field(body, "list") : "failed";
}

ActionResult ok(json details = json::object()) {
    details["ok"] = true;
    return {200, details};
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

ActionResult run_action(Client& client, const std::string& name, const json& body) {
    const auto& table = actions();
    const auto action = table.find(name);
    if (action == table.end()) return {404, {{"error", "no such action: " + name}}};
    if (!body.is_object()) return {400, {{"error", "the request body must be a JSON object"}}};
    try {
        ActionResult result = action->second(client, body);
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
