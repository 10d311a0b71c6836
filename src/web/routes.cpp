// The dashboard's URLs, all under the prefix P:
//   GET  P/                 the page shell (index.html with the CSRF token)
//   GET  P/assets/<file>    embedded css/js
//   GET  P/api/<page>       JSON for overview, queues, queue, workers, failed, failure,
//                           stats, history, scheduler, delayed, delayed_job
//   POST P/api/<action>     queue/remove_job|clear|delete, failed/retry|remove|
//                           retry_all|clear|clear_retried, pause, schedule/run_now,
//                           delayed/enqueue_now|remove (CSRF token required)
//   GET  P/metrics          Prometheus text;  GET P/stats.txt  counters as text/plain

#include "web/routes.hpp"

#include <fmt/format.h>

#include <charconv>
#include <regex>

#include "log.hpp"
#include "resque/errors.hpp"
#include "web/api.hpp"
#include "web/assets.hpp"
#include "web/metrics.hpp"

namespace resque::web {
namespace {

using httplib::Request;
using httplib::Response;

constexpr const char* kJson = "application/json; charset=utf-8";

struct BadParameter {
    std::string message;
};

void send_json(Response& response, int status, const json& body) {
    response.status = status;
    response.set_header("Cache-Control", "no-store");
    response.set_content(json_body(body), kJson);
}

long long number_param(const Request& request, const char* name, long long fallback) {
    if (!request.has_param(name)) return fallback;
    const std::string text = request.get_param_value(name);
    long long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
        throw BadParameter{fmt::format("parameter \"{}\" must be an integer", name)};
    }
    return value;
}

std::string text_param(const Request& request, const char* name, std::string fallback = "") {
    return request.has_param(name) ? request.get_param_value(name) : fallback;
}

PageRequest page_params(const Request& request) {
    return {number_param(request, "offset", 0), number_param(request, "count", 20)};
}

long long required_number(const Request& request, const char* name) {
    if (!request.has_param(name)) {
        throw BadParameter{fmt::format("parameter \"{}\" is required", name)};
    }
    return number_param(request, name, 0);
}

std::string required_param(const Request& request, const char* name) {
    std::string value = text_param(request, name);
    if (value.empty()) throw BadParameter{fmt::format("parameter \"{}\" is required", name)};
    return value;
}

// Every handler's boundary: library errors become a status and a JSON error.
template <typename Body>
void guarded(Response& response, Body&& body) {
    try {
        body();
    } catch (const BadParameter& bad) {
        send_json(response, 400, {{"error", bad.message}});
    } catch (const UsageError& error) {
        send_json(response, 400, {{"error", error.what()}});
    } catch (const PayloadError& error) {
        send_json(response, 422, {{"error", error.what()}});
    } catch (const ConnectionError& error) {
        log::get("web")->warn("redis unreachable: {}", error.what());
        send_json(response, 503, {{"error", std::string("Redis unreachable: ") + error.what()}});
    } catch (const TimeoutError& error) {
        log::get("web")->warn("redis timeout: {}", error.what());
        send_json(response, 503, {{"error", std::string("Redis timed out: ") + error.what()}});
    } catch (const std::exception& error) {
        log::get("web")->error("request failed: {}", error.what());
        send_json(response, 500, {{"error", error.what()}});
    }
}

json read_page(RouteContext& context, const std::string& page, const Request& request) {
    Client& client = context.client;
    if (page == "overview") return overview_json(client, context.scheduler);
    if (page == "scheduler") return scheduler_json(context.scheduler, page_params(request));
    if (page == "delayed") {
        return delayed_time_json(context.scheduler, required_number(request, "at"),
                                 page_params(request));
    }
    if (page == "queues") return queues_json(client);
    if (page == "queue") {
        return queue_json(client, required_param(request, "name"), page_params(request));
    }
    if (page == "workers") return workers_json(client);
    if (page == "failed") {
        FailureQuery query{text_param(request, "list", "failed"), page_params(request),
                           FailureFilter{text_param(request, "class"), text_param(request, "queue"),
                                         text_param(request, "exception")}};
        return failures_json(client, query);
    }
    if (page == "stats") return stats_json(client);
    const auto minutes = number_param(request, "minutes", 60);
    return history_json(client, static_cast<int>(std::clamp(minutes, 1LL, 2880LL)));
}

void get_failure(Client& client, const Request& request, Response& response) {
    const std::string list = text_param(request, "list", "failed");
    const long long index = number_param(request, "index", -1);
    if (index < 0) throw BadParameter{"parameter \"index\" is required"};
    const auto entry = failure_json(client, list, index);
    if (!entry) {
        send_json(response, 404, {{"error", fmt::format("no failure at index {}", index)}});
        return;
    }
    send_json(response, 200, *entry);
}

void get_delayed_job(SchedulerView& scheduler, const Request& request, Response& response) {
    const long long at = required_number(request, "at");
    const auto job = delayed_job_json(scheduler, at, required_param(request, "digest"));
    if (!job) {
        send_json(response, 404, {{"error", "that delayed job is no longer there"}});
        return;
    }
    send_json(response, 200, *job);
}

void post_action(RouteContext& context, const std::string& name, const Request& request,
                 Response& response) {
    if (!context.csrf.accepts(request.get_header_value("X-CSRF-Token"))) {
        send_json(response, 403, {{"error", "missing or wrong CSRF token; reload the page"}});
        return;
    }
    const json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded()) {
        send_json(response, 400, {{"error", "the request body is not valid JSON"}});
        return;
    }
    const ActionResult result = run_action(context.client, context.scheduler, name, body);
    send_json(response, result.status, result.body);
}

void get_index(const RouteContext& context, Response& response) {
    const auto shell = find_asset("index.html");
    std::string html(shell ? shell->body : "");
    // The token is hex; nothing else from outside is put into the page.
    const std::string marker = "{{csrf_token}}";
    if (const auto at = html.find(marker); at != std::string::npos) {
        html.replace(at, marker.size(), context.csrf.token());
    }
    response.set_header("Cache-Control", "no-store");
    response.set_content(html, "text/html; charset=utf-8");
}

void get_asset(const std::string& name, Response& response) {
    const auto asset = find_asset(name);
    if (!asset || name == "index.html") {
        send_json(response, 404, {{"error", "no such asset"}});
        return;
    }
    response.set_content(std::string(asset->body), std::string(asset->content_type));
}

std::string regex_escape(const std::string& text) {
    static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
    return std::regex_replace(text, special, R"(\$&)");
}

}  // namespace

void add_routes(httplib::Server& server, RouteContext& context) {
    const std::string p = regex_escape(context.prefix);
    RouteContext* ctx = &context;

    if (!context.prefix.empty()) {
        // Relative, so it stays right behind a proxy that adds a further prefix.
        const std::string last = context.prefix.substr(context.prefix.rfind('/') + 1);
        server.Get(
            p, [last](const Request&, Response& response) { response.set_redirect(last + "/"); });
    }
    server.Get(p + "/", [ctx](const Request&, Response& response) { get_index(*ctx, response); });
    server.Get(p + "/assets/([A-Za-z0-9_.-]+)", [](const Request& request, Response& response) {
        get_asset(request.matches[1], response);
    });
    server.Get(p + "/api/failure", [ctx](const Request& request, Response& response) {
        guarded(response, [&] { get_failure(ctx->client, request, response); });
    });
    server.Get(p + "/api/delayed_job", [ctx](const Request& request, Response& response) {
        guarded(response, [&] { get_delayed_job(ctx->scheduler, request, response); });
    });
    server.Get(p + "/api/(overview|queues|queue|workers|failed|stats|history|scheduler|delayed)",
               [ctx](const Request& request, Response& response) {
                   guarded(response, [&] {
                       send_json(response, 200, read_page(*ctx, request.matches[1], request));
                   });
               });

    const std::string actions = p + "/api/((?:queue|failed|delayed|schedule)/[a-z_]+|pause)";
    server.Post(actions, [ctx](const Request& request, Response& response) {
        guarded(response, [&] { post_action(*ctx, request.matches[1], request, response); });
    });
    server.Get(actions, [](const Request&, Response& response) {
        response.set_header("Allow", "POST");
        send_json(response, 405, {{"error", "this action needs a POST with a CSRF token"}});
    });

    server.Get(p + "/metrics", [ctx](const Request&, Response& response) {
        guarded(response, [&] {
            response.set_content(metrics_text(ctx->client, ctx->scheduler.delayed()),
                                 "text/plain; version=0.0.4");
        });
    });
    server.Get(p + "/stats.txt", [ctx](const Request&, Response& response) {
        guarded(response, [&] {
            response.set_content(stats_text(ctx->client), "text/plain; charset=utf-8");
        });
    });
}

}  // namespace resque::web
