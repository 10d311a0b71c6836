// RedisServer: a private redis-server per test, on a free loopback port in its own
// temporary directory.

#include "redis_server.hpp"

#include <hiredis/hiredis.h>
#include <sys/types.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "child_process.hpp"
#include "loopback.hpp"
#include "temp_dir.hpp"

namespace resque::test {

namespace {

using namespace std::chrono_literals;

constexpr auto kStartDeadline = 10s;
constexpr auto kStopGrace = 10s;
constexpr auto kRestartPortDeadline = 5s;
constexpr int kFreePortAttempts = 5;
constexpr std::size_t kLogTailChars = 2000;
constexpr timeval kCommandTimeout{5, 0};
constexpr timeval kPingTimeout{1, 0};

struct ContextDeleter {
    void operator()(redisContext* context) const noexcept { redisFree(context); }
};
struct ReplyDeleter {
    void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Connects to 127.0.0.1:`port`; null when the connection fails, with `error` set.
ContextPtr connect_to(int port, timeval timeout, std::string& error) {
    ContextPtr context(redisConnectWithTimeout("127.0.0.1", port, timeout));
    if (!context) {
        error = "out of memory";
        return nullptr;
    }
    if (context->err != 0) {
        error = context->errstr;
        return nullptr;
    }
    redisSetTimeout(context.get(), timeout);
    return context;
}

ReplyPtr send(redisContext& context, const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto& arg : argv) {
        args.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    return ReplyPtr(static_cast<redisReply*>(
        redisCommandArgv(&context, static_cast<int>(args.size()), args.data(), lengths.data())));
}

std::string_view text_of(const redisReply& reply) {
    return {reply.str, static_cast<std::size_t>(reply.len)};
}

std::string render(const redisReply& reply) {
    switch (reply.type) {
        case REDIS_REPLY_INTEGER:
            return std::to_string(reply.integer);
        case REDIS_REPLY_NIL:
            return "(nil)";
        case REDIS_REPLY_ARRAY: {
            std::string joined;
            for (std::size_t i = 0; i < reply.elements; ++i) {
                joined += (i == 0 ? "" : "\n") + render(*reply.element[i]);
            }
            return joined;
        }
        default:  // status, string, and errors nested in arrays (EXEC)
            return std::string(text_of(reply));
    }
}

// True when the server on `port` is ready and is the child `pid`: between our choice of
// a free port and its bind, another test's server may have taken the port, and it must
// not be mistaken for ours. PING fails with -LOADING until the AOF is loaded.
bool is_ready(int port, int pid) noexcept {
    try {
        std::string ignored;
        const ContextPtr context = connect_to(port, kPingTimeout, ignored);
        if (!context) {
            return false;
        }
        const ReplyPtr pong = send(*context, {"PING"});
        if (!pong || pong->type != REDIS_REPLY_STATUS || text_of(*pong) != "PONG") {
            return false;
        }
        const ReplyPtr info = send(*context, {"INFO", "server"});
        const auto own_pid = "\r\nprocess_id:" + std::to_string(pid) + "\r\n";
        return info && info->type == REDIS_REPLY_STRING &&
               text_of(*info).find(own_pid) != std::string_view::npos;
    } catch (const std::bad_alloc&) {
        return false;  // polled again until the start deadline
    }
}

std::vector<std::string> server_arguments(const RedisServerOptions& options, int port,
                                          const std::filesystem::path& dir) {
    std::vector<std::string> args = {"redis-server", "--port", std::to_string(port)};
    args.insert(args.end(), {"--bind", "127.0.0.1", "--dir", dir.string(), "--save", ""});
    args.insert(args.end(), {"--appendonly", options.append_only ? "yes" : "no"});
    if (options.append_only) {
        args.insert(args.end(), {"--appendfsync", "always"});
    }
    args.insert(args.end(), {"--daemonize", "no", "--logfile", (dir / "redis.log").string(),
                             "--protected-mode", "no"});
    args.insert(args.end(), options.extra.begin(), options.extra.end());
    return args;
}

// Where a file ends now, so that a later read sees only what this start wrote.
std::uintmax_t end_of(const std::filesystem::path& path) noexcept {
    std::error_code ignored;
    const auto size = std::filesystem::file_size(path, ignored);
    return ignored ? 0 : size;
}

// The last kLogTailChars characters of `path` after `offset`.
std::string tail_of(const std::filesystem::path& path, std::uintmax_t offset) {
    std::ifstream file(path, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    std::string text{std::istreambuf_iterator<char>(file), {}};
    if (text.size() > kLogTailChars) {
        text.erase(0, text.size() - kLogTailChars);
    }
    return text;
}

// Output of one start of the server: its log file and its stdout/stderr.
struct StartLogs {
    explicit StartLogs(const std::filesystem::path& dir)
        : log(dir / "redis.log"),
          out(dir / "redis.out"),
          log_offset(end_of(log)),
          out_offset(end_of(out)) {}

    [[nodiscard]] std::string text() const {
        return "--- redis.log ---\n" + tail_of(log, log_offset) + "--- output ---\n" +
               tail_of(out, out_offset);
    }

    std::filesystem::path log;
    std::filesystem::path out;
    std::uintmax_t log_offset;
    std::uintmax_t out_offset;
};

}  // namespace

RedisServer::RedisServer(RedisServerOptions options)
    : options_(std::move(options)), dir_(detail::make_temp_dir("resque-redis-")) {
    try {
        start_on_free_port();
    } catch (...) {
        remove_dir();  // the destructor does not run for a constructor that throws
        throw;
    }
}

RedisServer::~RedisServer() {
    kill();
    remove_dir();
}

RedisServer::RedisServer(RedisServer&& other) noexcept
    : options_(std::move(other.options_)),
      dir_(std::exchange(other.dir_, {})),
      port_(other.port_),
      pid_(std::exchange(other.pid_, -1)) {}

RedisServer& RedisServer::operator=(RedisServer&& other) noexcept {
    if (this != &other) {
        kill();
        remove_dir();
        options_ = std::move(other.options_);
        dir_ = std::exchange(other.dir_, {});
        port_ = other.port_;
        pid_ = std::exchange(other.pid_, -1);
    }
    return *this;
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

void RedisServer::kill() {
    if (pid_ < 0) {
        return;
    }
    // The whole process group: an AOF-rewrite child must not outlive the server.
    ::kill(-pid_, SIGKILL);
    detail::reap(pid_);
    pid_ = -1;
}

void RedisServer::stop() {
    if (pid_ < 0) {
        return;
    }
    ::kill(pid_, SIGTERM);
    reap_or_kill(kStopGrace);
}

void RedisServer::start() {
    if (pid_ >= 0) {
        return;
    }
    const auto deadline = std::chrono::steady_clock::now() + kRestartPortDeadline;
    while (launch() == Launch::kPortTaken) {
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error("redis-server: port " + std::to_string(port_) +
                                     " still in use after " +
                                     std::to_string(kRestartPortDeadline.count()) + " s");
        }
        std::this_thread::sleep_for(50ms);
    }
}

std::string RedisServer::command(const std::vector<std::string>& argv) const {
    if (argv.empty()) {
        throw std::invalid_argument("RedisServer::command: empty argv");
    }
    std::string error;
    const ContextPtr context = connect_to(port_, kCommandTimeout, error);
    if (!context) {
        throw std::runtime_error("cannot connect to " + url() + ": " + error);
    }

    const ReplyPtr reply = send(*context, argv);
    if (!reply) {
        throw std::runtime_error(argv[0] + " on " + url() + " failed: " + context->errstr);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        throw std::runtime_error(argv[0] + " on " + url() + ": " + std::string(text_of(*reply)));
    }
    return render(*reply);
}

void RedisServer::flush() const { command({"FLUSHALL"}); }

void RedisServer::start_on_free_port() {
    // The port is free when chosen but may be taken before redis-server binds it.
    for (int attempt = 0; attempt < kFreePortAttempts; ++attempt) {
        port_ = detail::free_loopback_port();
        if (launch() == Launch::kReady) {
            return;
        }
    }
    throw std::runtime_error("redis-server: every free port chosen was taken before use (" +
                             std::to_string(kFreePortAttempts) + " attempts)");
}

RedisServer::Launch RedisServer::launch() {
    const StartLogs logs(dir_);
    pid_ = spawn_process(server_arguments(options_, port_, dir_), {}, logs.out);

    std::optional<int> exit_code;
    const bool settled = wait_until(
        [&] {
            exit_code = detail::reap_within(pid_, 0ms);
            return exit_code.has_value() || is_ready(port_, pid_);
        },
        kStartDeadline);

    if (settled && !exit_code) {
        return Launch::kReady;
    }
    if (exit_code) {
        pid_ = -1;
        const std::string output = logs.text();
        if (output.find("Address already in use") != std::string::npos) {
            return Launch::kPortTaken;
        }
        throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                                 " exited with code " + std::to_string(*exit_code) + "\n" + output);
    }
    kill();
    throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                             " did not answer PING within " +
                             std::to_string(kStartDeadline.count()) + " s\n" + logs.text());
}

void RedisServer::reap_or_kill(std::chrono::milliseconds grace) noexcept {
    if (!detail::reap_within(pid_, grace)) {
        std::fprintf(stderr, "redis-server pid %d ignored SIGTERM for %lld ms; killing it\n", pid_,
                     static_cast<long long>(grace.count()));
        ::kill(-pid_, SIGKILL);
        detail::reap(pid_);
    }
    pid_ = -1;
}

void RedisServer::remove_dir() noexcept {
    if (dir_.empty()) {
        return;
    }
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
    if (error) {
        std::fprintf(stderr, "cannot remove %s: %s\n", dir_.c_str(), error.message().c_str());
    }
}

}  // namespace resque::test
