#include <cstdlib>
#include <string>

#include "resque/errors.hpp"
#include "resque/redis_options.hpp"

namespace resque {
namespace {

std::string redact(std::string_view url) {
    auto at = url.find('@');
    auto scheme_end = url.find("://");
    if (at == std::string_view::npos || scheme_end == std::string_view::npos) {
        return std::string(url);
    }
    auto colon = url.find(':', scheme_end + 3);
    if (colon == std::string_view::npos || colon > at) return std::string(url);
    return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

[[noreturn]] void fail(std::string_view url, std::string_view problem) {
    throw ConfigError("invalid Redis URL \"" + redact(url) + "\": " + std::string(problem));
}

std::string percent_decode(std::string_view url, std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) fail(url, "bad % escape");
        char* end = nullptr;
        std::string hex(text.substr(i + 1, 2));
        long value = std::strtol(hex.c_str(), &end, 16);
        if (hex.size() != 2 || *end != '\0') fail(url, "bad % escape");
        out += static_cast<char>(value);
        i += 2;
    }
    return out;
}

int parse_number(std::string_view url, std::string_view text, std::string_view what, int max) {
    if (text.empty() || text.size() > 9) fail(url, std::string(what) + " is not a number");
    int value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') fail(url, std::string(what) + " is not a number");
        value = value * 10 + (c - '0');
    }
    if (value > max) fail(url, std::string(what) + " is out of range");
    return value;
}

void parse_credentials(std::string_view url, std::string_view userinfo, RedisOptions& out) {
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
        // `redis://secret@host` is the common legacy form: the text is the password.
        out.password = percent_decode(url, userinfo);
        return;
    }
    out.username = percent_decode(url, userinfo.substr(0, colon));
    out.password = percent_decode(url, userinfo.substr(colon + 1));
}

void parse_host_port(std::string_view url, std::string_view hostport, RedisOptions& out) {
    if (!hostport.empty() && hostport.front() == '[') {
        auto close = hostport.find(']');
        if (close == std::string_view::npos) fail(url, "unterminated [IPv6] host");
        out.host = std::string(hostport.substr(1, close - 1));
        hostport.remove_prefix(close + 1);
        if (hostport.empty()) return;
        if (hostport.front() != ':') fail(url, "junk after ]");
        out.port = parse_number(url, hostport.substr(1), "port", 65535);
        return;
    }
    auto colon = hostport.rfind(':');
    if (colon == std::string_view::npos) {
        out.host = std::string(hostport);
    } else {
        out.host = std::string(hostport.substr(0, colon));
        out.port = parse_number(url, hostport.substr(colon + 1), "port", 65535);
    }
    if (out.host.empty()) out.host = "127.0.0.1";
}

RedisOptions parse_tcp(std::string_view url, std::string_view rest) {
    RedisOptions out;
    auto query = rest.find('?');
    if (query != std::string_view::npos) rest = rest.substr(0, query);
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        auto db = rest.substr(slash + 1);
        if (!db.empty()) out.db = parse_number(url, db, "database number", 1 << 20);
    }
    auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
        parse_credentials(url, authority.substr(0, at), out);
        authority = authority.substr(at + 1);
    }
    parse_host_port(url, authority, out);
    return out;
}

RedisOptions parse_unix(std::string_view url, std::string_view path) {
    RedisOptions out;
    auto query = path.find('?');
    if (query != std::string_view::npos) {
        auto params = path.substr(query + 1);
        path = path.substr(0, query);
        if (params.substr(0, 3) == "db=") {
            out.db = parse_number(url, params.substr(3), "database number", 1 << 20);
        }
    }
    if (path.empty() || path.front() != '/') fail(url, "unix socket path must be absolute");
    out.unix_path = std::string(path);
    return out;
}

}  // namespace

RedisOptions parse_redis_url(std::string_view url) {
    if (url.empty()) fail(url, "empty");
    for (std::string_view scheme : {"unix://", "redis+unix://"}) {
        if (url.substr(0, scheme.size()) == scheme) return parse_unix(url, url.substr(scheme.size()));
    }
    if (url.substr(0, 5) == "unix:") return parse_unix(url, url.substr(5));
    if (url.substr(0, 8) == "redis://") return parse_tcp(url, url.substr(8));
    if (url.substr(0, 9) == "rediss://") fail(url, "TLS (rediss://) is not supported");
    fail(url, "expected redis://host:port/db or unix:///path.sock");
}

std::string RedisOptions::describe() const {
    if (!unix_path.empty()) return "unix://" + unix_path + "?db=" + std::to_string(db);
    std::string user = username.empty() && password.empty() ? "" : (username + ":***@");
    bool v6 = host.find(':') != std::string::npos;
    std::string h = v6 ? "[" + host + "]" : host;
    return "redis://" + user + h + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::string default_redis_url() {
    const char* env = std::getenv("REDIS_URL");
    if (env != nullptr && *env != '\0') return env;
    return std::string(kDefaultRedisUrl);
}

}  // namespace resque
