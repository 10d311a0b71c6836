#include "worker/idle_pop.hpp"

#include <fmt/format.h>
#include <poll.h>

#include "json/ruby_json.hpp"
#include "log.hpp"
#include "pause_value.hpp"
#include "resque/errors.hpp"

namespace resque::worker {

IdlePop::IdlePop(redis::Keys keys, std::string worker_id)
    : keys_(std::move(keys)), id_(std::move(worker_id)) {}

IdlePop::Outcome IdlePop::wait(redis::Connection& redis, redis::Subscription& subscription,
                               int wake_fd, Reserver& reserver, const std::string& queue,
                               std::chrono::milliseconds timeout,
                               std::optional<TakeResult>& landed) {
    // take.lua and recover.lua read the landing list's queue from here. Written every
    // time: a restarted or flushed server may have lost it. The pause key is read in
    // the same round trip; from here on a change of it interrupts the pop.
    std::string queue_json;
    json::append_string(queue_json, queue);
    subscription.take_pause_changed();
    std::vector<redis::Command> setup{{"HSET", keys_.landing_queues(), id_, queue_json},
                                      {"GET", keys_.pause_all()}};
    if (pauses_workers(redis.pipeline(setup)[1].as_optional_string())) return Outcome::kNothing;
    redis.send({"BLMOVE", keys_.queue(queue), keys_.landing(id_), "LEFT", "RIGHT",
                fmt::format("{:.3f}", static_cast<double>(timeout.count()) / 1000.0)});

    try {
        if (auto outcome = await(redis, subscription, wake_fd, reserver, queue, timeout, landed)) {
            return *outcome;
        }
    } catch (...) {
        redis.disconnect();  // never leave the pop's reply to a later command
        throw;
    }
    // Cancel: a job the pop moved meanwhile stays in the landing list for the next take.
    redis.disconnect();
    return Outcome::kInterrupted;
}

std::optional<IdlePop::Outcome> IdlePop::await(redis::Connection& redis,
                                               redis::Subscription& subscription, int wake_fd,
                                               Reserver& reserver, const std::string& queue,
                                               std::chrono::milliseconds timeout,
                                               std::optional<TakeResult>& landed) {
    // The server answers by the pop's own timeout; the margin only guards a lost reply.
    auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(2);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd fds[3] = {{redis.socket(), POLLIN, 0},
                         {wake_fd, POLLIN, 0},
                         {subscription.socket(), POLLIN, 0}};
        if (::poll(fds, 3, static_cast<int>(left.count())) < 0) continue;  // EINTR
        if (fds[0].revents != 0) {
            try {
                auto reply = redis.read_sent();
                if (reply.is_nil()) return Outcome::kNothing;
                (void)reply.as_string();  // throws unless a string
                landed = reserver.adopt_landed(redis, queue, std::move(reply.str));
                return Outcome::kJob;
            } catch (const ReplyError& error) {
                // WRONGTYPE: the next take reports the queue. Anything else: no BLMOVE.
                if (std::string_view(error.what()).starts_with("WRONGTYPE")) {
                    return Outcome::kNothing;
                }
                supported_ = false;
                log::worker()->info(
                    "blocking pop refused ({}); idle workers wait on notifications "
                    "worker={}",
                    error.what(), id_);
                return Outcome::kNothing;
            }
        }
        if (fds[1].revents != 0) break;
        if (fds[2].revents != 0) {
            bool queues_changed = subscription.wait(std::chrono::milliseconds(0));
            if (subscription.take_pause_changed() || queues_changed) break;
        }
    }
    return std::nullopt;
}

}  // namespace resque::worker
