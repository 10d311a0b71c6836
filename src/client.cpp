// Client: the queue half of Resque's client API (enqueue, dequeue, inspection), with
// the exact command sequences of ../shared/PROTOCOL.md section 1.1. Workers and stats
// live in client_stats.cpp, failure administration in failure_admin.cpp.

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <set>
#include <unordered_set>

#include "client_state.hpp"
#include "json/ruby_json.hpp"
#include "resque/errors.hpp"

namespace resque {
namespace detail {
namespace {

std::string random_tombstone() {
    std::random_device entropy;
    return fmt::format("resque-cpp:removed:{:08x}{:08x}{:08x}{:08x}", entropy(), entropy(),
                       entropy(), entropy());
}

}  // namespace

ClientState::ClientState(RedisOptions options, Hooks hooks)
    : options_(options),
      hooks_(std::move(hooks)),
      keys_(options.key_namespace),
      tombstone_(random_tombstone()),
      connection_(std::move(options)) {}

std::string ClientState::failure_list(std::string_view name) const {
    if (name != "failed" && (name.size() <= 7 || !name.ends_with("_failed"))) {
        throw UsageError(fmt::format(
            "\"{}\" is not a failure list (use \"failed\" or \"<queue>_failed\")", name));
    }
    return keys_.failure_list(name);
}

void require_queue_name(std::string_view queue) {
    if (queue.empty()) throw UsageError("queue name must not be empty");
}

}  // namespace detail

namespace {

using redis::Command;

// Encodes every job before anything is written, so one bad job stops the whole batch.
std::vector<std::string> encode_all(std::span<const QueuedJob> jobs) {
    std::vector<std::string> payloads;
    payloads.reserve(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (jobs[i].queue.empty()) throw UsageError(fmt::format("job {}: empty queue name", i));
        try {
            payloads.push_back(encode_payload(jobs[i].job));
        } catch (const PayloadError& error) {
            throw PayloadError(fmt::format("job {}: {}", i, error.what()));
        }
    }
    return payloads;
}

// One pipeline for jobs [begin, end): SADD once per queue, and one RPUSH per run of
// consecutive jobs for the same queue. Payloads are moved into the commands.
std::vector<Command> batch_commands(const redis::Keys& keys, std::span<const QueuedJob> jobs,
                                    std::vector<std::string>& payloads,
                                    const std::vector<bool>& allowed, std::size_t begin,
                                    std::size_t end) {
    std::vector<Command> commands;
    std::set<std::string_view> registered;
    for (std::size_t i = begin; i < end;) {
        if (!allowed[i]) {
            ++i;
            continue;
        }
        const std::string& queue = jobs[i].queue;
        if (registered.insert(queue).second) commands.push_back({"SADD", keys.queues(), queue});

        Command push{"RPUSH", keys.queue(queue)};
        for (; i < end && (!allowed[i] || jobs[i].queue == queue); ++i) {
            if (allowed[i]) push.push_back(std::move(payloads[i]));
        }
        commands.push_back(std::move(push));
    }
    return commands;
}

// True when `raw` decodes to an object whose "class" is `class_name`. Entries that are
// not JSON are skipped, where Ruby's dequeue would raise on them.
bool has_class(const std::string& raw, std::string_view class_name) {
    try {
        const nlohmann::json payload = json::parse(raw, "payload");
        if (!payload.is_object()) return false;
        const auto member = payload.find("class");
        return member != payload.end() && member->is_string() &&
               member->get_ref<const std::string&>() == class_name;
    } catch (const PayloadError&) {
        return false;  // not a job: nothing of this class to remove
    }
}

long long sum_integers(const std::vector<redis::Reply>& replies) {
    long long total = 0;
    for (const auto& reply : replies) total += reply.as_integer();
    return total;
}

}  // namespace

Client::Client(RedisOptions options, Hooks hooks)
    : state_(std::make_unique<State>(std::move(options), std::move(hooks))) {}

Client::~Client() = default;

const RedisOptions& Client::options() const noexcept { return state_->options(); }

const Hooks& Client::hooks() const noexcept { return state_->hooks(); }

// ---- enqueue --------------------------------------------------------------------------

bool Client::enqueue(std::string_view queue, const Job& job) {
    detail::require_queue_name(queue);
    std::string payload = encode_payload(job);

    // Hooks run outside the connection lock: they may use this Client themselves.
    if (!state_->hooks().run_before_enqueue(queue, job)) return false;
    push_raw(queue, payload);
    state_->hooks().run_after_enqueue(queue, job);
    return true;
}

void Client::push_raw(std::string_view queue, std::string_view payload) {
    detail::require_queue_name(queue);
    const auto& keys = state_->keys();
    const std::vector<Command> commands{
        {"SADD", keys.queues(), std::string(queue)},
        {"RPUSH", keys.queue(queue), std::string(payload)},
    };
    state_->with_connection([&](redis::Connection& redis) { redis.pipeline(commands); });
}

std::size_t Client::enqueue_many(std::span<const QueuedJob> jobs, std::size_t batch_size) {
    if (batch_size == 0) throw UsageError("enqueue_many: batch_size must be at least 1");
    std::vector<std::string> payloads = encode_all(jobs);

    // Every veto is known before the first write, so a throwing hook writes nothing.
    std::vector<bool> allowed(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        allowed[i] = state_->hooks().run_before_enqueue(jobs[i].queue, jobs[i].job);
    }

    std::size_t pushed = 0;
    for (std::size_t begin = 0; begin < jobs.size(); begin += batch_size) {
        const std::size_t end = std::min(jobs.size(), begin + batch_size);
        auto commands = batch_commands(state_->keys(), jobs, payloads, allowed, begin, end);
        if (!commands.empty()) {
            state_->with_connection([&](redis::Connection& redis) { redis.pipeline(commands); });
        }
        for (std::size_t i = begin; i < end; ++i) {
            if (!allowed[i]) continue;
            state_->hooks().run_after_enqueue(jobs[i].queue, jobs[i].job);
            ++pushed;
        }
    }
    return pushed;
}

// ---- dequeue --------------------------------------------------------------------------

std::size_t Client::dequeue(std::string_view queue, std::string_view class_name,
                            const std::optional<nlohmann::json>& args) {
    detail::require_queue_name(queue);
    if (class_name.empty()) throw UsageError("dequeue: class name must not be empty");
    const Job job{std::string(class_name), args.value_or(nlohmann::json::array())};
    // With args, Resque removes byte-identical payloads, so encode exactly as it does.
    const std::string exact = args ? encode_payload(job) : std::string();

    if (!state_->hooks().run_before_dequeue(queue, job)) return 0;
    const std::string key = state_->keys().queue(queue);
    const auto removed = state_->with_connection([&](redis::Connection& redis) -> long long {
        if (args) return redis.command({"LREM", key, "0", exact}).as_integer();

        // Without args: every payload of the class, found by reading the whole queue.
        std::vector<Command> removals;
        std::unordered_set<std::string> seen;
        for (auto& raw : redis.command({"LRANGE", key, "0", "-1"}).as_strings()) {
            if (!has_class(raw, class_name) || !seen.insert(raw).second) continue;
            removals.push_back({"LREM", key, "0", std::move(raw)});
        }
        return removals.empty() ? 0 : sum_integers(redis.pipeline(removals));
    });
    state_->hooks().run_after_dequeue(queue, job);
    return static_cast<std::size_t>(removed);
}

// ---- inspection -----------------------------------------------------------------------

long long Client::queue_size(std::string_view queue) {
    const std::string key = state_->keys().queue(queue);
    return state_->with_connection([&](redis::Connection& redis) {
        return redis.command({"LLEN", key}).as_integer();
    });
}

std::vector<std::string> Client::peek(std::string_view queue, long long offset, long long count) {
    if (count <= 0) return {};
    if (offset < 0) throw UsageError("peek: offset must not be negative");
    const std::string key = state_->keys().queue(queue);
    const std::string first = std::to_string(offset);
    const std::string last = std::to_string(offset + count - 1);
    return state_->with_connection([&](redis::Connection& redis) {
        return redis.command({"LRANGE", key, first, last}).as_strings();
    });
}

std::vector<std::string> Client::queues() {
    const std::string key = state_->keys().queues();
    auto names = state_->with_connection([&](redis::Connection& redis) {
        return redis.command({"SMEMBERS", key}).as_strings();
    });
    std::sort(names.begin(), names.end());
    return names;
}

std::map<std::string, long long> Client::queue_sizes() {
    const auto names = queues();
    std::vector<Command> lengths;
    lengths.reserve(names.size());
    for (const auto& name : names) lengths.push_back({"LLEN", state_->keys().queue(name)});
    if (lengths.empty()) return {};

    const auto replies =
        state_->with_connection([&](redis::Connection& redis) { return redis.pipeline(lengths); });
    std::map<std::string, long long> sizes;
    for (std::size_t i = 0; i < names.size(); ++i) sizes[names[i]] = replies[i].as_integer();
    return sizes;
}

void Client::remove_queue(std::string_view queue) {
    detail::require_queue_name(queue);
    const auto& keys = state_->keys();
    const std::vector<Command> commands{
        {"SREM", keys.queues(), std::string(queue)},
        {"DEL", keys.queue(queue)},
    };
    state_->with_connection([&](redis::Connection& redis) { redis.pipeline(commands); });
}

long long Client::clear_queue(std::string_view queue) {
    detail::require_queue_name(queue);
    const std::string key = state_->keys().queue(queue);
    // MULTI makes the count exact: no push or pop lands between LLEN and the delete.
    // UNLINK frees a long list in the background instead of blocking Redis.
    const std::vector<Command> commands{{"MULTI"}, {"LLEN", key}, {"UNLINK", key}, {"EXEC"}};
    const auto replies =
        state_->with_connection([&](redis::Connection& redis) { return redis.pipeline(commands); });
    return replies.back().elements.at(0).as_integer();
}

}  // namespace resque
