#include "redis/keyspace_events.hpp"

#include <hiredis/hiredis.h>

#include <memory>

#include "log.hpp"
#include "resque/errors.hpp"

namespace resque::redis {

bool enable_keyspace_events(Connection& connection, std::string_view needed,
                            std::string_view logger, std::string_view fallback) {
    try {
        const auto parts = connection.command({"CONFIG", "GET", "notify-keyspace-events"})
                               .as_strings();
        std::string flags = parts.size() == 2 ? parts[1] : "";
        // `A` stands for every class but the keyspace/keyevent selectors and `m`/`n`.
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
        log::get(std::string(logger))
            ->warn("keyspace notifications unavailable ({}); {}", error.what(), fallback);
        return false;
    }
}

void read_messages(redisContext* context, const RedisOptions& options,
                   const std::function<void(const redisReply&)>& on_message) {
    if (redisBufferRead(context) != REDIS_OK) {
        throw ConnectionError("keyspace notification subscription to " + options.describe() +
                              " dropped");
    }
    for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(context, &raw) != REDIS_OK) {
            throw ConnectionError("keyspace notification subscription to " +
                                  options.describe() + ": protocol error");
        }
        if (raw == nullptr) return;
        std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                           freeReplyObject);
        on_message(*reply);
    }
}

}  // namespace resque::redis
