#include "redis/key_watch.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include "log.hpp"
#include "redis/connection.hpp"
#include "redis/keyspace_events.hpp"
#include "resque/errors.hpp"

namespace resque::redis {

void KeyWatch::ContextDeleter::operator()(redisContext* context) const noexcept {
    redisFree(context);
}

KeyWatch::KeyWatch(const RedisOptions& options, const std::vector<std::string>& keys,
                   std::string_view event_flags, int wake_fd)
    : options_(options), wake_fd_(wake_fd) {
    Connection setup(options);
    if (!enable_keyspace_events(setup, event_flags, "scheduler",
                                "the scheduler looks at Redis on a short timer instead")) {
        return;
    }
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
    bool changed = false;
    try {
        read_messages(context_.get(), options_, [&](const redisReply&) { changed = true; });
    } catch (const ConnectionError&) {
        context_.reset();
        throw;
    }
    return changed;
}

}  // namespace resque::redis
