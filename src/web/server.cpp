#include "web/server.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "log.hpp"
#include "resque/client.hpp"
#include "resque/errors.hpp"
#include "web/routes.hpp"

namespace resque::web {
namespace {

// No inline script or style anywhere: data injected into a page cannot run (FC-14).
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

httplib::Headers security_headers() {
    return {{"Content-Security-Policy", kContentSecurityPolicy},
            {"X-Content-Type-Options", "nosniff"},
            {"X-Frame-Options", "DENY"},
            {"Referrer-Policy", "no-referrer"}};
}

}  // namespace

std::string normalize_prefix(std::string prefix) {
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty() && prefix.front() != '/') prefix = "/" + prefix;
    for (const char c : prefix) {
        const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                             c == '~' || c == '/' || c == '-';
        if (!allowed) {
            throw ConfigError(
                fmt::format("--prefix \"{}\": only letters, digits and ._~/- are allowed", prefix));
        }
    }
    return prefix;
}

struct WebServer::Impl {
    Impl(RedisOptions redis, WebOptions options)
        : options_(std::move(options)),
          auth_(options_.auth, options_.secret),
          client_(redis),
          scheduler_(redis, options_.schedules),
          context_{client_, scheduler_, csrf_, normalize_prefix(options_.prefix)} {
        // The secret lives in auth_ only.
        options_.secret.clear();
        server_.set_default_headers(security_headers());
        server_.set_pre_routing_handler(
            [this](const httplib::Request& request, httplib::Response& response) {
                return authenticate(request, response);
            });
        server_.set_logger([](const httplib::Request& request, const httplib::Response& response) {
            log::get("web")->debug("request method={} path={} status={}", request.method,
                                   request.path, response.status);
        });
        add_routes(server_, context_);
    }

    httplib::Server::HandlerResponse authenticate(const httplib::Request& request,
                                                  httplib::Response& response) const {
        if (auth_.allows(request.get_header_value("Authorization"))) {
            return httplib::Server::HandlerResponse::Unhandled;
        }
        response.status = 401;
        response.set_header("WWW-Authenticate", auth_.challenge());
        response.set_content(R"({"error":"authentication required"})",
                             "application/json; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
    }

    WebOptions options_;
    Authenticator auth_;
    CsrfGuard csrf_;
    Client client_;
    SchedulerView scheduler_;
    RouteContext context_;
    httplib::Server server_;
    int port_ = 0;
    // httplib's stop() does nothing until listen has begun, so a stop() that races
    // serve() would leave it serving forever; these two flags close that window.
    std::atomic<bool> serving_{false};
    std::atomic<bool> stopping_{false};
};

WebServer::WebServer(RedisOptions redis, WebOptions options)
    : impl_(std::make_unique<Impl>(std::move(redis), std::move(options))) {}

WebServer::~WebServer() = default;

int WebServer::bind() {
    const WebOptions& options = impl_->options_;
    int port = options.port;
    if (port == 0) {
        port = impl_->server_.bind_to_any_port(options.bind);
    } else if (!impl_->server_.bind_to_port(options.bind, port)) {
        port = -1;
    }
    if (port <= 0) {
        throw Error(fmt::format("cannot listen on {}:{} (address in use or not available)",
                                options.bind, options.port));
    }
    impl_->port_ = port;
    return port;
}

bool WebServer::serve() {
    const WebOptions& options = impl_->options_;
    log::get("web")->info("dashboard listening address=http://{}:{}{}/ auth={}", options.bind,
                          impl_->port_, impl_->context_.prefix,
                          options.auth == AuthMode::kNone    ? "none"
                          : options.auth == AuthMode::kBasic ? "basic"
                                                             : "bearer");
    impl_->serving_ = true;
    if (impl_->stopping_) {
        impl_->serving_ = false;
        return true;
    }
    const bool served = impl_->server_.listen_after_bind();
    impl_->serving_ = false;
    return served;
}

void WebServer::stop() noexcept {
    // Either serve() sees stopping_ and returns at once, or this sees serving_ and waits
    // the instant until httplib is listening, so its stop() takes effect.
    impl_->stopping_ = true;
    while (impl_->serving_ && !impl_->server_.is_running()) std::this_thread::yield();
    impl_->server_.stop();
}

}  // namespace resque::web
