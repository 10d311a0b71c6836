#include "resque/hooks.hpp"

#include <spdlog/spdlog.h>

#include "log.hpp"

namespace resque {

bool Hooks::run_before_enqueue(std::string_view queue, const Job& job) const {
    bool allowed = true;
    for (const auto& hook : before_enqueue_) allowed = hook(queue, job) && allowed;
    return allowed;
}

void Hooks::run_after_enqueue(std::string_view queue, const Job& job) const {
    for (const auto& hook : after_enqueue_) hook(queue, job);
}

void Hooks::run_before_delayed_enqueue(std::string_view queue, const Job& job) const {
    for (const auto& hook : before_delayed_enqueue_) hook(queue, job);
}

bool Hooks::run_before_dequeue(std::string_view queue, const Job& job) const {
    bool allowed = true;
    for (const auto& hook : before_dequeue_) allowed = hook(queue, job) && allowed;
    return allowed;
}

void Hooks::run_after_dequeue(std::string_view queue, const Job& job) const {
    for (const auto& hook : after_dequeue_) hook(queue, job);
}

void Hooks::run_perform(std::string_view queue, const Job& job,
                        const std::function<void()>& perform) const {
    for (const auto& hook : before_perform_) hook(queue, job);

    // Build the around chain from the innermost out: hook 0 ends up outermost.
    std::function<void()> chain = perform;
    for (auto it = around_perform_.rbegin(); it != around_perform_.rend(); ++it) {
        chain = [&hook = *it, queue, &job, inner = std::move(chain)] { hook(queue, job, inner); };
    }
    chain();

    for (const auto& hook : after_perform_) hook(queue, job);
}

void Hooks::run_on_failure(std::string_view queue, const Job& job,
                           const FailureInfo& failure) const noexcept {
    for (const auto& hook : on_failure_) {
        try {
            hook(queue, job, failure);
        } catch (const std::exception& error) {
            log::worker()->error("on_failure hook raised: {} queue={} class={}", error.what(),
                                 queue, job.class_name);
        }
    }
}

void Hooks::run_worker(WorkerEvent event, std::string_view worker_id) const {
    const std::vector<WorkerAction>* hooks = nullptr;
    switch (event) {
        case WorkerEvent::kStart: hooks = &worker_start_; break;
        case WorkerEvent::kStop: hooks = &worker_stop_; break;
        case WorkerEvent::kBeforePause: hooks = &before_pause_; break;
        case WorkerEvent::kAfterPause: hooks = &after_pause_; break;
        case WorkerEvent::kQueueEmpty: hooks = &queue_empty_; break;
        case WorkerEvent::kShutdown: hooks = &shutdown_; break;
        case WorkerEvent::kBeforeFirstFork: hooks = &before_first_fork_; break;
    }
    for (const auto& hook : *hooks) hook(worker_id);
}

void Hooks::run_before_fork(std::string_view queue, const Job& job) const {
    for (const auto& hook : before_fork_) hook(queue, job);
}

void Hooks::run_after_fork(std::string_view queue, const Job& job) const {
    for (const auto& hook : after_fork_) hook(queue, job);
}

}  // namespace resque
