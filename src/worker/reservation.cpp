#include "worker/reservation.hpp"

#include <unistd.h>

#include <algorithm>
#include <iterator>

#include "json/ruby_json.hpp"
#include "ruby_time.hpp"
#include "worker/payload_field.hpp"

namespace resque::worker {

Reserver::Reserver(redis::Keys keys, std::string worker_id, FailureBackendKind backend)
    : keys_(std::move(keys)), id_(std::move(worker_id)), backend_(backend) {}

std::string Reserver::next_token() {
    if (pending_token_.empty()) {
        pending_token_ = std::to_string(::getpid()) + "." + std::to_string(++sequence_);
    }
    return pending_token_;
}

Reserver::Call Reserver::take_call(const BatchSettlement& settle, int reserve,
                                   const std::vector<std::string>& queues) {
    const bool multi = backend_ == FailureBackendKind::kRedisMultiQueue;
    std::vector<std::string> keys{
        keys_.worker(id_),
        keys_.inflight(),
        keys_.running_index(),
        keys_.stat("processed"),
        keys_.stat("processed", id_),
        keys_.stat("failed"),
        keys_.stat("failed", id_),
        keys_.failed_queues(),
        keys_.pause_all(),
        keys_.queues(),
        keys_.landing(id_),
        keys_.landing_queues(),
    };
    std::string outcomes;
    std::vector<std::string> failure_args;
    for (const auto& outcome : settle.outcomes) {
        switch (outcome.kind) {
            case Settlement::Kind::kDone:
                outcomes += 'o';
                break;
            case Settlement::Kind::kFailed: {
                outcomes += 'f';
                std::string list = multi ? outcome.queue + "_failed" : "";
                failure_args.push_back(multi ? keys_.key(list) : keys_.failed());
                failure_args.push_back(outcome.failure_json);
                failure_args.push_back(list);
                break;
            }
            default:
                outcomes += 'r';
                break;
        }
    }
    std::vector<std::string> args{
        id_,
        settle.token,
        outcomes,
        std::to_string(failure_args.size() / 3),
        keys_.queue_prefix(),
        std::to_string(reserve),
        next_token(),
        ruby_time::iso8601_utc(ruby_time::Clock::now()),
        keys_.stat_minute_prefix("processed"),
        keys_.stat_minute_prefix("failed"),
    };
    args.insert(args.end(), std::make_move_iterator(failure_args.begin()),
                std::make_move_iterator(failure_args.end()));
    for (const auto& queue : queues) {
        keys.push_back(keys_.queue(queue));
        args.push_back(queue);
        std::string encoded;
        json::append_string(encoded, queue);
        args.push_back(std::move(encoded));
    }
    return {std::move(keys), std::move(args)};
}

TakeResult Reserver::adopt_landed(redis::Connection& redis, const std::string& queue,
                                  std::string payload) {
    Call call = take_call({}, 1, {});
    call.args.emplace_back("no-payloads");  // the reply is discarded: keep it small
    redis.send_eval("take.lua", call.keys, call.args);
    TakeResult result;
    result.kind = TakeResult::Kind::kJob;
    result.token = std::exchange(pending_token_, {});
    result.jobs.push_back(Reservation{result.token, queue, std::move(payload)});
    return result;
}

TakeResult Reserver::take(redis::Connection& redis, const BatchSettlement& settle, int reserve,
                          const std::vector<std::string>& queues) {
    Call call = take_call(settle, queues.empty() ? 0 : reserve, queues);
    auto reply = redis.eval("take.lua", call.keys, call.args).as_strings();
    pending_token_.clear();
    TakeResult result;
    const std::string& kind = reply.at(0);
    if (kind == "jobs") {
        result.kind = TakeResult::Kind::kJob;
        result.token = reply.at(1);
        for (std::size_t i = 2; i + 1 < reply.size(); i += 2) {
            result.jobs.push_back(Reservation{result.token, reply[i], std::move(reply[i + 1])});
        }
    } else if (kind == "wrongtype") {
        result.kind = TakeResult::Kind::kWrongType;
        result.bad_queue = reply.at(1);
    } else {
        result.kind = kind == "empty"    ? TakeResult::Kind::kEmpty
                      : kind == "paused" ? TakeResult::Kind::kPaused
                                         : TakeResult::Kind::kFinished;
        result.settlement_lost = reply.size() > 1 && reply[1] == "lost";
    }
    return result;
}

void Reserver::mark_running(redis::Connection& redis, const Reservation& job, std::size_t index) {
    std::string record = "{\"queue\":";
    json::append_string(record, job.queue);
    record += ",\"run_at\":\"" + ruby_time::iso8601_utc(ruby_time::Clock::now()) +
              "\",\"payload\":" + payload_field(job.payload) + "}";
    std::vector<redis::Command> commands{
        {"SET", keys_.worker(id_), std::move(record)},
        {"HSET", keys_.running_index(), id_, std::to_string(index)},
    };
    redis.send(commands);
}

void Prefetch::observe(std::size_t jobs, std::chrono::steady_clock::duration took) {
    if (jobs == 0) return;
    auto per_job =
        std::chrono::duration_cast<std::chrono::microseconds>(took) / static_cast<long>(jobs);
    long fits = per_job.count() <= 0 ? limit_ : budget_.count() / std::max(1L, per_job.count());
    int target = static_cast<int>(std::clamp<long>(fits, 1, limit_));
    size_ = target < size_ ? target : std::min(target, size_ * 2);
}

}  // namespace resque::worker
