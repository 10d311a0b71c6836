// Client: listing and administering failure lists (Resque's Failure::Redis and
// Failure::RedisMultiQueue, ../shared/PROTOCOL.md section 1.7).
//
// Resque edits the failed list by index, so two operators (or an operator and a worker)
// can hit the wrong entry (FC-12). Here every edit is a Lua script that first checks the
// entry at the index is still the one the caller read, byte for byte, and otherwise
// does nothing; "retry all" removes entries by their bytes, not their index. Long lists
// are read in pages and cleared with UNLINK, never in one blocking command (FC-13).

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "client_state.hpp"
#include "failure_requeue.hpp"
#include "json/ruby_json.hpp"
#include "log.hpp"
#include "resque/errors.hpp"

namespace resque {
namespace {

using detail::ClientState;
using detail::Requeue;
using detail::requeue_of;
using detail::try_requeue_of;

// Entries read per round trip when scanning or editing many failures.
constexpr long long kChunk = 500;
// A chunk of "retry all" stops growing past this many bytes of entries.
constexpr std::size_t kChunkBytes = 8 * 1024 * 1024;
// How often an edit is re-planned when others keep changing the entry under it.
constexpr int kMaxAttempts = 50;

std::vector<std::string> read_range(ClientState& state, const std::string& key, long long first,
                                    long long count) {
    const std::string from = std::to_string(first);
    const std::string to = std::to_string(first + count - 1);
    return state.with_connection([&](redis::Connection& redis) {
        return redis.command({"LRANGE", key, from, to}).as_strings();
    });
}

std::optional<std::string> read_entry(ClientState& state, const std::string& key, long long index) {
    const std::string at = std::to_string(index);
    return state.with_connection([&](redis::Connection& redis) {
        return redis.command({"LINDEX", key, at}).as_optional_string();
    });
}

FailureEntry make_entry(long long index, const std::string& failure_queue, std::string raw) {
    FailureEntry entry;
    entry.index = static_cast<std::size_t>(index);
    entry.failure_queue = failure_queue;
    try {
        entry.record = FailureRecord::decode(raw);
    } catch (const PayloadError& error) {
        // Still listed, with its raw text, so an operator can see and remove it.
        log::get("client")->debug("unreadable failure entry list={} index={}: {}", failure_queue,
                                  index, error.what());
    }
    entry.raw = std::move(raw);
    return entry;
}

bool matches(const FailureRecord& record, const FailureFilter& filter) {
    return (filter.class_name.empty() || record.class_name() == filter.class_name) &&
           (filter.queue.empty() || record.queue == filter.queue) &&
           (filter.exception.empty() || record.exception == filter.exception);
}

// A filter value made only of [A-Za-z0-9_:.-] is written verbatim by every JSON encoder,
// so an entry that matches contains it quoted. Checking that first skips decoding most
// entries of a long list (FC-13); other values always go on to the full check.
bool may_match(std::string_view raw, std::string_view value) {
    if (value.empty()) return true;
    const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '.' ||
               c == '-';
    });
    if (!plain) return true;
    const std::string quoted = "\"" + std::string(value) + "\"";
    return raw.find(quoted) != std::string_view::npos;
}

bool may_match(std::string_view raw, const FailureFilter& filter) {
    return may_match(raw, filter.class_name) && may_match(raw, filter.queue) &&
           may_match(raw, filter.exception);
}

void require_index(long long index, std::string_view what) {
    if (index < 0) throw UsageError(fmt::format("{}: index must not be negative", what));
}

bool run_retry(ClientState& state, const std::string& key, long long index, const std::string& raw,
               const std::string& updated, const Requeue& requeue) {
    const auto& keys = state.keys();
    const std::vector<std::string> script_keys{key, keys.queues(), keys.queue(requeue.queue)};
    const std::vector<std::string> args{std::to_string(index), raw, updated, requeue.queue,
                                        requeue.payload};
    return state.with_connection([&](redis::Connection& redis) {
        return redis.eval("failure_retry.lua", script_keys, args).as_integer() == 1;
    });
}

// Removes each (index, expected entry) pair still in place; returns how many.
long long run_remove(ClientState& state, const std::string& key,
                     const std::vector<std::pair<long long, std::string>>& targets) {
    std::vector<std::string> args{state.tombstone()};
    for (const auto& [index, raw] : targets) {
        args.push_back(std::to_string(index));
        args.push_back(raw);
    }
    const std::vector<std::string> script_keys{key};
    return state.with_connection([&](redis::Connection& redis) {
        return redis.eval("failure_remove.lua", script_keys, args).as_integer();
    });
}

// Keeps a chunk of "retry all" under kChunkBytes (at least one entry).
void limit_bytes(std::vector<std::string>& entries) {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        bytes += entries[i].size();
        if (bytes > kChunkBytes && i > 0) {
            entries.resize(i);
            return;
        }
    }
}

// "Retry all" leaves entries that name no job where they are: they gather at the head,
// and each chunk is read from just after them.
struct KeptHead {
    long long count = 0;
    std::string last;  // the last kept entry, to notice when others removed some
};

// Entries per chunk: LREM scans past the kept entries for each one requeued, so the
// more are kept, the smaller the chunk, to keep each script short (FC-13).
long long chunk_after(const KeptHead& kept) {
    constexpr long long kScanBudget = 200000;
    return std::clamp(kScanBudget / std::max(1LL, kept.count), 1LL, kChunk);
}

// Counts the entries at the head that name no job (at most `limit`).
KeptHead kept_at_head(ClientState& state, const std::string& key, long long limit) {
    KeptHead kept;
    if (limit <= 0) return kept;
    for (auto& raw : read_range(state, key, 0, limit)) {
        if (try_requeue_of(raw)) break;
        ++kept.count;
        kept.last = std::move(raw);
    }
    return kept;
}

// Up to `count` entries after the kept ones. If the last kept entry moved (another
// operator removed something before it), the kept entries are counted again.
std::vector<std::string> read_after_kept(ClientState& state, const std::string& key, KeptHead& kept,
                                         long long count) {
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        const std::string first = std::to_string(kept.count);
        const std::string last = std::to_string(kept.count + count - 1);
        const std::vector<redis::Command> reads{
            {"LINDEX", key, std::to_string(kept.count - 1)},
            {"LRANGE", key, first, last},
        };
        const auto replies =
            state.with_connection([&](redis::Connection& redis) { return redis.pipeline(reads); });
        if (kept.count == 0 || replies[0].as_optional_string() == kept.last) {
            return replies[1].as_strings();
        }
        kept = kept_at_head(state, key, kept.count);
    }
    throw Error("retry of all failures gave up: the head of the list kept changing");
}

// Requeues and removes `entries`; those naming no job stay and join the kept head.
// Returns how many were requeued.
long long requeue_entries(ClientState& state, const std::string& key,
                          const std::vector<std::string>& entries, KeptHead& kept) {
    std::vector<std::string> script_keys{key, state.keys().queues()};
    std::vector<std::string> args;
    for (const auto& raw : entries) {
        auto requeue = try_requeue_of(raw);
        if (!requeue) {
            ++kept.count;
            kept.last = raw;
            continue;
        }
        script_keys.push_back(state.keys().queue(requeue->queue));
        args.push_back(raw);
        args.push_back(std::move(requeue->queue));
        args.push_back(std::move(requeue->payload));
    }
    if (args.empty()) return 0;
    return state.with_connection([&](redis::Connection& redis) {
        return redis.eval("failure_requeue.lua", script_keys, args).as_integer();
    });
}

// `failed` is Failure::Redis's list; `<queue>_failed` lists are RedisMultiQueue's.
std::string retried_at_now(std::string_view failure_queue) {
    const auto backend = failure_queue == "failed" ? FailureBackendKind::kRedis
                                                   : FailureBackendKind::kRedisMultiQueue;
    return detail::retried_at(ruby_time::Clock::now(), backend);
}

bool has_retried_at(std::string_view raw) {
    const std::string_view value = json::raw_member(raw, "retried_at");
    return !value.empty() && value != "null";
}

}  // namespace

// ---- reading --------------------------------------------------------------------------

long long Client::failure_count(const std::string& failure_queue) {
    const std::string key = state_->failure_list(failure_queue);
    return state_->with_connection([&](redis::Connection& redis) {
        return redis.command({"LLEN", key}).as_integer();
    });
}

std::vector<std::string> Client::failure_queues() {
    const std::string key = state_->keys().failed_queues();
    auto names = state_->with_connection([&](redis::Connection& redis) {
        return redis.command({"SMEMBERS", key}).as_strings();
    });
    std::sort(names.begin(), names.end());
    names.erase(std::remove(names.begin(), names.end(), "failed"), names.end());
    names.insert(names.begin(), "failed");
    return names;
}

std::vector<FailureEntry> Client::failures(long long offset, long long count,
                                           const std::string& failure_queue) {
    require_index(offset, "failures");
    const std::string key = state_->failure_list(failure_queue);
    if (count <= 0) return {};
    std::vector<FailureEntry> entries;
    long long index = offset;
    for (auto& raw : read_range(*state_, key, offset, count)) {
        entries.push_back(make_entry(index++, failure_queue, std::move(raw)));
    }
    return entries;
}

std::pair<std::vector<FailureEntry>, long long> Client::find_failures(
    const FailureFilter& filter, long long offset, long long max_results, long long scan_limit,
    const std::string& failure_queue) {
    require_index(offset, "find_failures");
    const std::string key = state_->failure_list(failure_queue);
    std::vector<FailureEntry> found;
    long long position = offset;
    const long long end = offset + std::max(0LL, scan_limit);

    while (position < end && static_cast<long long>(found.size()) < max_results) {
        const long long wanted = std::min(kChunk, end - position);
        auto chunk = read_range(*state_, key, position, wanted);
        for (auto& raw : chunk) {
            if (!may_match(raw, filter)) {
                ++position;
                continue;
            }
            auto entry = make_entry(position++, failure_queue, std::move(raw));
            if (!matches(entry.record, filter)) continue;
            found.push_back(std::move(entry));
            if (static_cast<long long>(found.size()) >= max_results) return {found, position};
        }
        if (static_cast<long long>(chunk.size()) < wanted) return {found, -1};
    }
    return {found, position};
}

std::optional<FailureEntry> Client::failure_at(long long index, const std::string& failure_queue) {
    require_index(index, "failure_at");
    const std::string key = state_->failure_list(failure_queue);
    auto raw = read_entry(*state_, key, index);
    if (!raw) return std::nullopt;
    return make_entry(index, failure_queue, std::move(*raw));
}

// ---- editing --------------------------------------------------------------------------

bool Client::retry_failure(long long index, const std::optional<std::string>& expected_raw,
                           const std::string& failure_queue) {
    require_index(index, "retry_failure");
    const std::string key = state_->failure_list(failure_queue);
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        const auto raw = read_entry(*state_, key, index);
        if (!raw || (expected_raw && *raw != *expected_raw)) return false;

        Requeue requeue;
        try {
            requeue = requeue_of(*raw);
        } catch (const PayloadError& error) {
            throw PayloadError(fmt::format("cannot retry failure {} in {}: {}", index,
                                           failure_queue, error.what()));
        }
        const std::string updated = detail::with_retried_at(*raw, retried_at_now(failure_queue));
        if (run_retry(*state_, key, index, *raw, updated, requeue)) return true;
        // The entry changed between our read and the script: the caller's entry is gone;
        // without an expected entry, act on whatever is at the index now, as Resque does.
        if (expected_raw) return false;
    }
    throw Error(fmt::format("retry of failure {} in {} gave up: the entry kept changing", index,
                            failure_queue));
}

bool Client::remove_failure(long long index, const std::optional<std::string>& expected_raw,
                            const std::string& failure_queue) {
    require_index(index, "remove_failure");
    const std::string key = state_->failure_list(failure_queue);
    if (expected_raw) return run_remove(*state_, key, {{index, *expected_raw}}) == 1;

    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        const auto raw = read_entry(*state_, key, index);
        if (!raw) return false;
        if (run_remove(*state_, key, {{index, *raw}}) == 1) return true;
    }
    throw Error(fmt::format("removal of failure {} in {} gave up: the entry kept changing", index,
                            failure_queue));
}

long long Client::retry_all_failures(const std::string& failure_queue) {
    const std::string key = state_->failure_list(failure_queue);
    // Limitation: the entries present now are the first `remaining` ones; if another
    // operator removes some meanwhile, as many newcomers from the tail are retried too.
    long long remaining = failure_count(failure_queue);
    KeptHead kept;
    long long requeued = 0;

    while (remaining > 0) {
        auto entries = read_after_kept(*state_, key, kept, std::min(chunk_after(kept), remaining));
        if (entries.empty()) break;
        limit_bytes(entries);
        remaining -= static_cast<long long>(entries.size());
        requeued += requeue_entries(*state_, key, entries, kept);
    }
    return requeued;
}

long long Client::clear_failures(const std::string& failure_queue) {
    const std::vector<std::string> keys{state_->failure_list(failure_queue)};
    return state_->with_connection([&](redis::Connection& redis) {
        return redis.eval("failure_clear.lua", keys, {}).as_integer();
    });
}

long long Client::clear_retried_failures(const std::string& failure_queue) {
    const std::string key = state_->failure_list(failure_queue);
    long long removed = 0;
    // From the tail, as Resque does: removing an entry never shifts the ones before it,
    // and new failures appended meanwhile are past the part still to read.
    for (long long end = failure_count(failure_queue); end > 0;) {
        const long long first = std::max(0LL, end - kChunk);
        const auto entries = read_range(*state_, key, first, end - first);
        std::vector<std::pair<long long, std::string>> targets;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            if (has_retried_at(entries[i])) {
                targets.emplace_back(first + static_cast<long long>(i), entries[i]);
            }
        }
        if (!targets.empty()) removed += run_remove(*state_, key, targets);
        end = first;
    }
    return removed;
}

}  // namespace resque
