#include "redis/keys.hpp"

namespace resque::redis {

Keys::Keys(std::string key_namespace) : ns_(std::move(key_namespace)), prefix_(ns_ + ":") {}

std::string Keys::key(std::string_view suffix) const {
    std::string out;
    out.reserve(prefix_.size() + suffix.size());
    out.append(prefix_).append(suffix);
    return out;
}

std::string Keys::queue(std::string_view name) const {
    return key("queue:").append(name);
}

std::string Keys::worker(std::string_view id) const { return key("worker:").append(id); }

std::string Keys::landing(std::string_view id) const { return key("cpp:landing:").append(id); }

std::string Keys::worker_started(std::string_view id) const {
    return worker(id).append(":started");
}

std::string Keys::stat(std::string_view name) const { return key("stat:").append(name); }

std::string Keys::stat(std::string_view name, std::string_view worker_id) const {
    return stat(name).append(":").append(worker_id);
}

std::string Keys::stat_minute_prefix(std::string_view name) const {
    return key("cpp:stat:").append(name).append(":");
}

std::string Keys::stat_minute(std::string_view name, long long unix_minute) const {
    return stat_minute_prefix(name).append(std::to_string(unix_minute));
}

std::string Keys::queue_failed(std::string_view queue) const {
    return key(queue).append("_failed");
}

std::string Keys::delayed(long long epoch) const {
    return key("delayed:").append(std::to_string(epoch));
}

std::string Keys::delayed_timestamps(std::string_view entry) const {
    return key("timestamps:").append(entry);
}

std::string Keys::scheduler_lock(std::string_view prefix) const {
    std::string out = key(ns_).append(":");
    if (!prefix.empty()) out.append(prefix).append(":");
    return out.append("resque_scheduler_master_lock");
}

}  // namespace resque::redis
