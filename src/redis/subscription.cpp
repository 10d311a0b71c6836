#include "redis/subscription.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <unistd.h>

#include "log.hpp"
#include "redis/connection.hpp"
#include "redis/keyspace_events.hpp"
#include "resque/errors.hpp"

namespace resque::redis {
namespace {

// PSUBSCRIBE patterns treat * ? [ ] \ specially; a namespace may contain them.
std::string escape_pattern(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

// List events that cannot make a queue non-empty.
bool removes_only(std::string_view event) {
    return event == "lpop" || event == "rpop" || event == "ltrim" || event == "lrem" ||
           event == "lset" || event == "del" || event == "expired" || event == "evicted" ||
           event == "rename_from" || event == "expire";
}

std::string_view text_of(const redisReply* reply) { return {reply->str, reply->len}; }

}  // namespace

void Subscription::ContextDeleter::operator()(redisContext* context) const noexcept {
    redisFree(context);
}

Subscription::Subscription(const RedisOptions& options, int wake_fd)
    : options_(options), wake_fd_(wake_fd) {
    Connection setup(options);
    // Lists (queues), sets (the queue set), strings and generic events (the pause key;
    // RENAME/RESTORE onto a queue key).
    enabled_ = enable_keyspace_events(setup, "ls$g", "worker",
                                      "idle workers will poll instead");
    if (!enabled_) return;

    // Subscribe on the connection that already did AUTH and SELECT, then take it over.
    std::string db = std::to_string(options.db);
    std::string prefix = "__keyspace@" + db + "__:" + options.key_namespace + ":";
    queues_channel_ = prefix + "queues";
    queue_channel_prefix_ = prefix + "queue:";
    std::string pattern = escape_pattern(queue_channel_prefix_) + "*";
    setup.command({"PSUBSCRIBE", pattern});
    setup.command({"SUBSCRIBE", queues_channel_});
    pause_channel_ = prefix + "pause-all-workers";
    setup.command({"SUBSCRIBE", pause_channel_});
    context_.reset(setup.release_context());
}

Subscription::~Subscription() = default;

int Subscription::socket() const noexcept { return context_ ? context_->fd : -1; }

bool Subscription::drain() {
    bool queues_changed = false;
    auto on_message = [&](const redisReply& reply) {
        // A message is [message, channel, event] or [pmessage, pattern, channel, event].
        if (reply.type != REDIS_REPLY_ARRAY) return;
        if (reply.elements == 3 && text_of(reply.element[1]) == queues_channel_) {
            queues_changed = true;
        } else if (reply.elements == 3 && text_of(reply.element[1]) == pause_channel_) {
            pause_changed_ = true;
        } else if (reply.elements == 4) {
            std::string_view channel = text_of(reply.element[2]);
            if (channel.starts_with(queue_channel_prefix_) &&
                !removes_only(text_of(reply.element[3]))) {
                pushed_.emplace_back(channel.substr(queue_channel_prefix_.size()));
            }
        }
    };
    try {
        read_messages(context_.get(), options_, on_message);
    } catch (const ConnectionError&) {
        context_.reset();
        throw;
    }
    return queues_changed;
}

bool Subscription::wait(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {context_ ? context_->fd : -1, POLLIN, 0}};
    int n = ::poll(fds, context_ ? 2 : 1, static_cast<int>(timeout.count()));
    if (n <= 0) return false;
    if (context_ && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) return drain();
    return false;
}

}  // namespace resque::redis
