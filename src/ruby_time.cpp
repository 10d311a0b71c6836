#include "ruby_time.hpp"

#include <cstdio>
#include <ctime>

namespace resque::ruby_time {
namespace {

std::tm local(Clock::time_point t) {
    std::time_t secs = Clock::to_time_t(t);
    std::tm tm{};
    localtime_r(&secs, &tm);
    return tm;
}

std::string format(const std::tm& tm, const char* pattern) {
    char buf[96];
    std::size_t n = std::strftime(buf, sizeof buf, pattern, &tm);
    return std::string(buf, n);
}

}  // namespace

std::string iso8601_utc(Clock::time_point t) {
    std::time_t secs = Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return format(tm, "%Y-%m-%dT%H:%M:%SZ");
}

std::string time_to_s(Clock::time_point t) { return format(local(t), "%Y-%m-%d %H:%M:%S %z"); }

std::string iso8601_local(Clock::time_point t) {
    std::string s = format(local(t), "%Y-%m-%dT%H:%M:%S%z");
    // +0000 -> +00:00, as Ruby's Time#iso8601 writes it.
    std::string_view view(s);
    return std::string(view.substr(0, view.size() - 2)) + ":" +
           std::string(view.substr(view.size() - 2));
}

std::string failure_time(Clock::time_point t) { return format(local(t), "%Y/%m/%d %H:%M:%S %Z"); }

std::optional<Clock::time_point> parse_heartbeat(std::string_view text) {
    int y, mo, d, h, mi, s, consumed = 0;
    std::string str(text);
    char sep = 0;
    if (std::sscanf(str.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s,
                    &consumed) != 7 ||
        (sep != 'T' && sep != ' ')) {
        return std::nullopt;
    }
    std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
    if (!rest.empty() && rest.front() == '.') {
        rest.remove_prefix(1);
        while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
    }
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    long offset = 0;
    if (rest == "Z" || rest == "UTC") {
        offset = 0;
    } else if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
        int oh = 0, om = 0;
        std::string tz(rest.substr(1));
        if (std::sscanf(tz.c_str(), "%2d:%2d", &oh, &om) != 2 &&
            std::sscanf(tz.c_str(), "%2d%2d", &oh, &om) != 2) {
            return std::nullopt;
        }
        offset = (oh * 3600L + om * 60L) * (rest.front() == '-' ? -1 : 1);
    } else if (!rest.empty()) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    std::time_t utc = timegm(&tm) - offset;
    return Clock::from_time_t(utc);
}

Clock::time_point from_redis_time(long long seconds, long long micros) {
    return Clock::time_point(std::chrono::seconds(seconds) + std::chrono::microseconds(micros));
}

}  // namespace resque::ruby_time
