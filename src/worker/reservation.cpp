#include "worker/reservation.hpp"

#include <unistd.h>

#include "json/ruby_json.hpp"
#include "ruby_time.hpp"

namespace resque::worker {

Reserver::Reserver(redis::Keys keys, std::string worker_id, FailureBackendKind backend)
    : keys_(std::move(keys)), id_(std::move(worker_id)), backend_(backend) {}

std::string Reserver::next_token() {
    if (pending_token_.empty()) pending_token_ = std::to_string(++sequence_);
    return pending_token_;
}

TakeResult Reserver::take(redis::Connection& redis, const Settlement& settle, bool reserve,
                          const std::vector<std::string>& queues) {
    bool multi = backend_ == FailureBackendKind::kRedisMultiQueue;
    std::string failure_list = multi ? settle.queue + "_failed" : "";
    std::vector<std::string> keys{
        keys_.worker(id_),           keys_.inflight(),
        keys_.stat("processed"),     keys_.stat("processed", id_),
        keys_.stat("failed"),        keys_.stat("failed", id_),
        multi ? keys_.key(failure_list) : keys_.failed(),
        keys_.failed_queues(),       keys_.pause_all(),
        keys_.queue(settle.queue),
    };
    const char* modes[] = {"", "ok", "failed", "requeue"};
    std::vector<std::string> args{
        id_,
        settle.token,
        modes[static_cast<int>(settle.kind)],
        settle.failure_json,
        settle.kind == Settlement::Kind::kFailed ? failure_list : "",
        reserve ? "1" : "0",
        next_token(),
        ruby_time::iso8601_utc(ruby_time::Clock::now()),
        keys_.stat_minute_prefix("processed"),
        keys_.stat_minute_prefix("failed"),
        std::to_string(redis::kStatMinuteTtlSeconds),
    };
    for (const auto& queue : queues) {
        keys.push_back(keys_.queue(queue));
        args.push_back(queue);
        std::string encoded;
        json::append_string(encoded, queue);
        args.push_back(std::move(encoded));
    }

    auto reply = redis.eval("take.lua", keys, args).as_strings();
    TakeResult result;
    const std::string& kind = reply.at(0);
    if (kind == "job") {
        result.kind = TakeResult::Kind::kJob;
        result.job = Reservation{reply.at(1), reply.at(2), reply.at(3)};
        pending_token_.clear();
    } else if (kind == "paused") {
        result.kind = TakeResult::Kind::kPaused;
    } else if (kind == "wrongtype") {
        result.kind = TakeResult::Kind::kWrongType;
        result.bad_queue = reply.at(1);
    } else {
        result.kind = kind == "empty" ? TakeResult::Kind::kEmpty : TakeResult::Kind::kFinished;
        result.settlement_lost = reply.size() > 1 && reply[1] == "lost";
    }
    return result;
}

}  // namespace resque::worker
