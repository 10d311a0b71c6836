#pragma once

// The dashboard's URL table, registered on a cpp-httplib server (private to src/web/).

#include <httplib.h>

#include <string>

#include "resque/client.hpp"
#include "web/scheduler_view.hpp"
#include "web/security.hpp"

namespace resque::web {

/// What the routes need; owned by the WebServer and outliving the httplib server.
struct RouteContext {
    Client& client;
    SchedulerView& scheduler;
    const CsrfGuard& csrf;
    std::string prefix;  ///< normalized: "" or "/x"
};

/// Registers every route under `context.prefix`.
void add_routes(httplib::Server& server, RouteContext& context);

}  // namespace resque::web
