#include "redis/connection.hpp"

// hiredis 0.14's sds.h declares its functions without C linkage for C++, and hiredis.h
// includes it outside its own extern "C": include it first, with C linkage.
extern "C" {
#include <hiredis/sds.h>
}
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <stdexcept>

#include "resque/errors.hpp"

namespace resque::detail {
extern const std::span<const std::pair<std::string_view, std::string_view>> kEmbeddedScripts;
}

namespace resque::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

struct ReplyDeleter {
    void operator()(void* reply) const noexcept { freeReplyObject(reply); }
};
using OwnedReply = std::unique_ptr<void, ReplyDeleter>;

Reply convert(const redisReply* raw) {
    Reply out;
    switch (raw->type) {
        case REDIS_REPLY_NIL:
            out.type = Reply::Type::kNil;
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::kInteger;
            out.integer = raw->integer;
            break;
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::kStatus;
            out.str.assign(raw->str, raw->len);
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::kArray;
            out.elements.reserve(raw->elements);
            for (size_t i = 0; i < raw->elements; ++i) {
                out.elements.push_back(convert(raw->element[i]));
            }
            break;
        default:  // strings, and anything textual hiredis 0.14 knows
            out.type = Reply::Type::kString;
            out.str.assign(raw->str, raw->len);
            break;
    }
    return out;
}

bool is_error(const redisReply* raw) { return raw->type == REDIS_REPLY_ERROR; }

// hiredis keeps its read buffer at the size of the largest reply read so far, until more
// bytes arrive on the connection. After a 64 MiB job that is 64 MiB held through the
// whole job (FC-07): give it back as soon as it holds nothing unread, as hiredis itself
// would on the next read.
void release_read_buffer(redisContext* context) noexcept {
    redisReader* reader = context->reader;
    if (reader == nullptr || reader->len != 0 || reader->maxbuf == 0) return;
    if (sdsavail(reader->buf) <= reader->maxbuf) return;
    sds empty = sdsempty();
    if (empty == nullptr) return;  // out of memory: keep the old buffer, it still works
    sdsfree(reader->buf);
    reader->buf = empty;
    reader->pos = 0;
}

}  // namespace

void Connection::ContextDeleter::operator()(redisContext* context) const noexcept {
    redisFree(context);
}

Connection::Connection(RedisOptions options) : options_(std::move(options)) {}
Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

void Connection::disconnect() noexcept {
    context_.reset();
    deferred_ = 0;
    script_shas_.clear();
}

redisContext* Connection::release_context() noexcept {
    discard_deferred();
    script_shas_.clear();
    return context_.release();
}

void Connection::ensure_connected() {
    if (!context_) connect();
}

void Connection::connect() {
    timeval tv = to_timeval(options_.connect_timeout);
    redisContext* raw = options_.unix_path.empty()
                            ? redisConnectWithTimeout(options_.host.c_str(), options_.port, tv)
                            : redisConnectUnixWithTimeout(options_.unix_path.c_str(), tv);
    std::unique_ptr<redisContext, ContextDeleter> context(raw);
    if (!context) throw ConnectionError("cannot allocate a Redis connection");
    if (context->err) {
        throw ConnectionError("cannot connect to Redis at " + options_.describe() + ": " +
                              context->errstr);
    }
    redisSetTimeout(context.get(), to_timeval(options_.command_timeout));
    context_ = std::move(context);
    script_shas_.clear();
    try {
        if (!options_.password.empty()) {
            if (options_.username.empty()) {
                command({"AUTH", options_.password});
            } else {
                command({"AUTH", options_.username, options_.password});
            }
        }
        if (options_.db != 0) command({"SELECT", std::to_string(options_.db)});
    } catch (const ReplyError& error) {
        context_.reset();
        throw ConnectionError("Redis at " + options_.describe() +
                              " refused the connection: " + error.what());
    }
}

void Connection::fail_io(std::string_view what) {
    std::string detail = context_ ? context_->errstr : "not connected";
    bool timed_out = context_ && context_->err == REDIS_ERR_IO &&
                     (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT);
    context_.reset();
    deferred_ = 0;
    std::string message = std::string(what) + " failed on " + options_.describe() + ": " +
                          (detail.empty() ? "connection lost" : detail);
    if (timed_out) throw TimeoutError(message + " (timeout)");
    throw ConnectionError(message);
}

Reply Connection::read_reply(std::string_view what) {
    void* raw = nullptr;
    if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) fail_io(what);
    OwnedReply owned(raw);
    release_read_buffer(context_.get());
    auto* reply = static_cast<redisReply*>(raw);
    if (is_error(reply)) throw ReplyError(std::string(reply->str, reply->len));
    return convert(reply);
}

// RESP: `*<argc>\r\n` then `$<len>\r\n<arg>\r\n` per argument. Formatted here, not by
// hiredis, whose formatter costs several times more per command (callgrind,
// docs/performance.md), and straight into its output buffer, as
// redisAppendFormattedCommand would append it but without a copy of our own: a command
// carrying a 64 MiB failure record is held once, not twice (FC-07).
void Connection::append(std::span<const std::string_view> argv, std::string_view what) {
    std::size_t size = 16;
    for (auto arg : argv) size += arg.size() + 16;
    sds out = sdsMakeRoomFor(context_->obuf, size);
    if (out == nullptr) fail_io(what);  // out of memory; the buffer is unchanged
    context_->obuf = out;
    // With the room made, no sdscatlen below reallocates, so none can fail.
    const auto put = [&out](std::string_view text) {
        out = sdscatlen(out, text.data(), text.size());
    };
    const auto put_count = [&](char mark, std::size_t count) {
        char digits[24];
        digits[0] = mark;
        const auto end = std::to_chars(digits + 1, digits + sizeof digits - 2, count).ptr;
        end[0] = '\r';
        end[1] = '\n';
        put(std::string_view(digits, static_cast<std::size_t>(end + 2 - digits)));
    };
    put_count('*', argv.size());
    for (auto arg : argv) {
        put_count('$', arg.size());
        put(arg);
        put("\r\n");
    }
    context_->obuf = out;
}

void Connection::discard_deferred() {
    while (deferred_ > 0 && context_) {
        --deferred_;
        try {
            read_reply("deferred command");
        } catch (const ReplyError&) {
            ++deferred_errors_;
        }
    }
}

Reply Connection::command(std::span<const std::string_view> argv) {
    ensure_connected();
    discard_deferred();
    std::string_view name = argv.empty() ? "command" : argv.front();
    append(argv, name);
    return read_reply(name);
}

void Connection::send(const Command& argv) { send(std::span<const Command>(&argv, 1)); }

void Connection::send(std::span<const Command> commands) {
    ensure_connected();
    for (const auto& argv : commands) {
        std::vector<std::string_view> views(argv.begin(), argv.end());
        append(views, views.empty() ? "command" : views.front());
    }
    // Written now, so what it records is visible while the caller goes on working.
    int done = 0;
    while (!done) {
        if (redisBufferWrite(context_.get(), &done) != REDIS_OK) fail_io("send");
    }
    deferred_ += static_cast<int>(commands.size());
}

Reply Connection::read_sent() {
    if (!context_ || deferred_ == 0) throw std::logic_error("read_sent: nothing was sent");
    --deferred_;
    return read_reply("sent command");
}

int Connection::socket() const noexcept { return context_ ? context_->fd : -1; }

void Connection::send_eval(std::string_view name, std::span<const std::string> keys,
                           std::span<const std::string> args) {
    ensure_connected();
    Command argv{"EVALSHA", std::string(load_script(name)), std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    send(argv);
}

Reply Connection::command(std::initializer_list<std::string_view> argv) {
    return command(std::span<const std::string_view>(argv.begin(), argv.size()));
}

Reply Connection::command(const Command& argv) {
    std::vector<std::string_view> views(argv.begin(), argv.end());
    return command(std::span<const std::string_view>(views));
}

std::vector<Reply> Connection::pipeline(std::span<const Command> commands) {
    ensure_connected();
    discard_deferred();
    for (const auto& argv : commands) {
        std::vector<std::string_view> views(argv.begin(), argv.end());
        append(views, "pipeline");
    }
    std::vector<Reply> replies;
    replies.reserve(commands.size());
    std::optional<ReplyError> first_error;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        try {
            replies.push_back(read_reply("pipeline"));
        } catch (const ReplyError& error) {
            if (!first_error) first_error = error;
            replies.emplace_back();
        }
    }
    if (first_error) throw *first_error;
    return replies;
}

std::string_view embedded_script(std::string_view name) {
    for (const auto& [file, text] : resque::detail::kEmbeddedScripts) {
        if (file == name) return text;
    }
    throw std::logic_error("no embedded Lua script named " + std::string(name));
}

std::string_view Connection::load_script(std::string_view name) {
    auto found = script_shas_.find(std::string(name));
    if (found != script_shas_.end()) return found->second;
    auto sha = command({"SCRIPT", "LOAD", embedded_script(name)}).as_string();
    return script_shas_.emplace(std::string(name), sha).first->second;
}

Reply Connection::eval(std::string_view name, std::span<const std::string> keys,
                       std::span<const std::string> args) {
    ensure_connected();
    for (int attempt = 0;; ++attempt) {
        std::vector<std::string_view> argv{"EVALSHA", load_script(name)};
        std::string nkeys = std::to_string(keys.size());
        argv.push_back(nkeys);
        argv.insert(argv.end(), keys.begin(), keys.end());
        argv.insert(argv.end(), args.begin(), args.end());
        try {
            return command(std::span<const std::string_view>(argv));
        } catch (const ReplyError& error) {
            // A restarted or flushed server forgets loaded scripts: load again, once.
            bool noscript = std::string_view(error.what()).substr(0, 8) == "NOSCRIPT";
            if (!noscript || attempt > 0) throw;
            script_shas_.erase(std::string(name));
        }
    }
}

void Connection::set_read_timeout(std::optional<std::chrono::milliseconds> timeout) {
    if (!context_) return;
    redisSetTimeout(context_.get(), to_timeval(timeout.value_or(options_.command_timeout)));
}

}  // namespace resque::redis
