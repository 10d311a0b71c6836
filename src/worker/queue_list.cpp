#include "worker/queue_list.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include "resque/errors.hpp"

namespace resque::worker {
namespace {

bool has_glob(std::string_view entry) {
    return entry.find_first_of("*?{}[]") != std::string_view::npos;
}

// Expands the first {a,b} group into alternatives; fnmatch(3) has no braces.
std::vector<std::string> expand_braces(std::string_view pattern) {
    auto open = pattern.find('{');
    auto close = pattern.find('}', open == std::string_view::npos ? 0 : open);
    if (open == std::string_view::npos || close == std::string_view::npos) {
        return {std::string(pattern)};
    }
    std::vector<std::string> out;
    std::string_view body = pattern.substr(open + 1, close - open - 1);
    std::size_t start = 0;
    for (;;) {
        auto comma = body.find(',', start);
        auto alt = body.substr(start, comma == std::string_view::npos ? body.npos : comma - start);
        std::string candidate = std::string(pattern.substr(0, open)) + std::string(alt) +
                                std::string(pattern.substr(close + 1));
        for (auto& more : expand_braces(candidate)) out.push_back(std::move(more));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view name) {
    std::string subject(name);
    for (const auto& alt : expand_braces(pattern)) {
        if (::fnmatch(alt.c_str(), subject.c_str(), 0) == 0) return true;
    }
    return false;
}

QueueList::QueueList(std::vector<std::string> entries) {
    for (auto& entry : entries) {
        if (entry.empty()) throw ConfigError("queue names must not be empty");
        if (entry.find_first_of(",:") != std::string::npos) {
            throw ConfigError("queue name \"" + entry +
                              "\" contains ',' or ':', which Resque's worker ids cannot hold");
        }
        if (entry.front() == '!') {
            negative_.push_back(entry.substr(1));
            dynamic_ = true;
        } else {
            dynamic_ = dynamic_ || has_glob(entry);
            positive_.push_back(std::move(entry));
        }
    }
    if (positive_.empty()) throw ConfigError("no queues to work on (give at least one, or *)");
}

std::string QueueList::id_part() const {
    std::string out;
    for (const auto& name : positive_) {
        if (!out.empty()) out += ',';
        out += name;
    }
    return out;
}

std::vector<std::string> QueueList::expand(const std::vector<std::string>& known) const {
    std::vector<std::string> sorted(known);
    std::sort(sorted.begin(), sorted.end());
    std::set<std::string> registered(sorted.begin(), sorted.end());
    std::vector<std::string> out;
    std::set<std::string> seen;
    auto excluded = [&](const std::string& name) {
        return std::any_of(negative_.begin(), negative_.end(),
                           [&](const std::string& p) { return glob_match(p, name); });
    };
    auto add = [&](const std::string& name) {
        if (!excluded(name) && seen.insert(name).second) out.push_back(name);
    };
    for (const auto& entry : positive_) {
        if (!has_glob(entry)) {
            if (registered.count(entry)) add(entry);
            continue;
        }
        for (const auto& name : sorted) {
            if (glob_match(entry, name)) add(name);
        }
    }
    return out;
}

}  // namespace resque::worker
