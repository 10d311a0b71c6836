#include "redis/key_watch.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include "log.hpp"
#include "redis/connection.hpp"
#include "resque/errors.hpp"

namespace resque::redis {
namespace {

// Adds `K` and each of `needed` to the server's notify-keyspace-events when missing.
bool enable_events(Connection& connection, std::string_view needed) {
    try {
        const auto reply = connection.command({"CONFIG", "GET", "notify-keyspace-events"});
        const auto parts = reply.as_strings();
        std::string flags = parts.size() == 2 ? parts[1] : "";
        const bool all = flags.find('A') != std::string::npos;
        std::string missing;
        if (flags.find('K') == std::string::npos) missing += 'K';
        for (char flag : needed) {
            if (!all && flags.find(flag) == std::string::npos) missing += flag;
        }
        if (!missing.empty()) {
            connection.command({"CONFIG", "SET", "notify-keyspace-events", flags + missing});
        }
        return true;
    } catch (const ReplyError& error) {
        log::get("scheduler")
            ->warn(
                "keyspace notifications unavailable ({}); the scheduler looks at Redis on a "
                "short timer instead",
                error.what());
        return false;
    }
}

}  // namespace

void KeyWatch::ContextDeleter::operator()(redisContext* context) const noexcept {
    redisFree(context);
}

KeyWatch::KeyWatch(const RedisOptions& options, const std::vector<std::string>& keys,
                   std::string_view event_flags, int wake_fd)
    : wake_fd_(wake_fd) {
    Connection setup(options);
    if (!enable_events(setup, event_flags)) return;
    const std::string prefix = "__keyspace@" + std::to_string(options.db) + "__:";
    for (const std::string& key : keys) setup.command({"SUBSCRIBE", prefix + key});
    context_.reset(setup.release_context());
}

KeyWatch::~KeyWatch() = default;

bool KeyWatch::wait(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {context_ ? context_->fd : -1, POLLIN, 0}};
    const int ready = ::poll(fds, context_ ? 2 : 1, static_cast<int>(timeout.count()));
    if (ready <= 0 || !context_ || (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        return false;
    }
    if (redisBufferRead(context_.get()) != REDIS_OK) {
        context_.reset();
        throw ConnectionError("keyspace notification subscription dropped");
    }
    bool changed = false;
    for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(context_.get(), &raw) != REDIS_OK) {
            context_.reset();
            throw ConnectionError("keyspace notification subscription: protocol error");
        }
        if (raw == nullptr) break;
        changed = true;
        freeReplyObject(raw);
    }
    return changed;
}

}  // namespace resque::redis
