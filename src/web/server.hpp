#pragma once

// The dashboard's HTTP server (`resque web`). Duties, per request:
//   1. authenticate (when configured), before any route runs;
//   2. route: the page shell and its assets, the JSON API (the scheduler page's through
//      one shared SchedulerView), /metrics, /stats.txt;
//   3. for a POST action, check the CSRF token, then run it through the library;
//   4. answer with security headers (CSP without inline script, nosniff, no framing)
//      and, for any error, a status and a JSON `{"error": ...}`.
// Invariants: it sends no Redis commands itself (everything goes through
// resque::Client, DelayedQueue and ScheduleStore); nothing state-changing is reachable
// by GET; every URL it emits is relative, so it works unchanged behind a reverse proxy,
// with or without `prefix`.

#include <memory>
#include <string>

#include "resque/redis_options.hpp"
#include "web/scheduler_view.hpp"
#include "web/security.hpp"

namespace resque::web {

/// How the dashboard listens and who may use it.
struct WebOptions {
    std::string bind = "127.0.0.1";
    int port = 5678;  ///< 0 picks a free port (see WebServer::bind)
    /// Path the dashboard is mounted under (`/resque`), for a reverse proxy that passes
    /// the full path; empty for the root. A trailing '/' is ignored.
    std::string prefix;
    AuthMode auth = AuthMode::kNone;
    std::string secret;  ///< the password or token; never logged
    /// Where the scheduler page finds static schedules and the leader lock.
    ScheduleSource schedules;
};

/// One dashboard. bind() then serve() (blocking) on one thread; stop() from any thread
/// (or a signal-watching thread) makes serve() return. Requests are served by a pool
/// of threads sharing one Client (its mutex serialises Redis use).
// Limitation: with one shared Client, a long action (retry all over a huge list) makes
// other requests wait for it; pages report it only as slowness. A Client per worker
// thread would lift this at the cost of more Redis connections.
class WebServer {
 public:
    /// Throws ConfigError for a bad prefix, an auth mode without a secret, or a schedule
    /// file that does not parse.
    WebServer(RedisOptions redis, WebOptions options);
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    /// Binds the listening socket and returns the port. Throws Error when it cannot.
    int bind();
    /// Serves requests until stop(). Returns false when the server failed.
    bool serve();
    /// Makes serve() return; safe from any thread, harmless when not serving.
    void stop() noexcept;

 private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// `prefix` as the server uses it: "" or "/a/b" (leading '/', no trailing '/').
/// Throws ConfigError when it holds characters other than [A-Za-z0-9._~/-].
std::string normalize_prefix(std::string prefix);

}  // namespace resque::web
