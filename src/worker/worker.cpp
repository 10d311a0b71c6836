#include "worker/worker.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "log.hpp"
#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "redis/subscription.hpp"
#include "resque/errors.hpp"
#include "worker/empty_queues.hpp"
#include "worker/idle_pop.hpp"
#include "worker/outage.hpp"
#include "worker/perform.hpp"
#include "worker/queue_list.hpp"
#include "worker/registry.hpp"
#include "worker/reservation.hpp"

namespace resque::worker {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kBadQueueQuarantine = std::chrono::seconds(60);
// How long a queue stays known empty without a push notification: a safety net for
// events we do not subscribe to (RENAME onto a queue key), costing one look at every
// queue per period.
constexpr auto kRescanQueuesEvery = std::chrono::seconds(30);

std::string hostname_or_default(const std::string& configured) {
    return configured.empty() ? local_hostname() : configured;
}

}  // namespace

struct Worker::State {
    State(const RedisOptions& redis_options, const WorkerOptions& opts,
          const HandlerRegistry& handler_registry, const Hooks& hook_set, Control& ctl,
          TitleSetter title_setter)
        : redis_options(redis_options),
          options(opts),
          handlers(handler_registry),
          hooks(hook_set),
          control(ctl),
          title(std::move(title_setter)),
          queue_list(opts.queues),
          keys(redis_options.key_namespace),
          hostname(hostname_or_default(opts.hostname)),
          id(make_worker_id(hostname, queue_list.id_part())),
          redis(redis_options),
          reserver(keys, id, opts.failure_backend),
          prefetch(std::max(1, opts.prefetch), opts.prefetch_budget),
          empty_queues(kRescanQueuesEvery),
          idle_pop(keys, id),
          outage(ctl, opts.shutdown_grace, "worker " + id) {}

    const RedisOptions& redis_options;
    WorkerOptions options;
    const HandlerRegistry& handlers;
    const Hooks& hooks;
    Control& control;
    TitleSetter title;
    QueueList queue_list;
    redis::Keys keys;
    std::string hostname;
    std::string id;
    redis::Connection redis;
    Reserver reserver;
    Prefetch prefetch;
    EmptyQueues empty_queues;
    IdlePop idle_pop;
    std::optional<TakeResult> landed;  // a job the idle pop took, to run next
    Outage outage;
    std::unique_ptr<redis::Subscription> subscription;
    std::vector<std::string> known_queues;
    std::vector<std::string> expanded_queues;  // queue_list expanded over known_queues
    bool refresh_queues = true;
    std::map<std::string, SteadyClock::time_point> bad_queues;
    bool paused_seen = false;
    bool before_first_fork_done = false;

    std::mutex running_mutex;  // guards running, batch and job_stop (watchdog thread reads)
    const Reservation* running = nullptr;  // the job run_job is running (no payload copy)
    BatchSettlement batch;  // outcomes of the held batch so far
    std::stop_source job_stop;
    std::mutex beat_mutex;  // guards beats_stopped and each heartbeat's writes
    bool beats_stopped = false;

    void set_title(const std::string& text) {
        if (title) title(text);
    }
    PruneRules prune_rules() const { return {hostname, options.prune_after, options.recovery, id}; }
    void startup();
    std::vector<std::string> current_queues();
    std::vector<std::string> take_window(int reserve);
    void note_pushes();
    void wait_for_work(bool may_take = false);
    bool ensure_subscription();
    Settlement run_job(const Reservation& job);
    void run_batch(const TakeResult& taken);
    void note_pause_change();
    std::string loop();
    void heartbeat_loop(std::stop_token stop);
    void watchdog_loop(std::stop_token stop);
    void give_up_job_after_grace(const Reservation& job);
    void abort_running_job();
};

void Worker::State::startup() {
    prune_dead_workers(redis, keys, prune_rules());
    // Resque runs before_first_fork here, once, in every mode (PROTOCOL.md 1.6); a
    // startup retried after an outage must not run it again.
    if (!before_first_fork_done) {
        before_first_fork_done = true;
        hooks.run_worker(Hooks::WorkerEvent::kBeforeFirstFork, id);
    }
    register_worker(redis, keys, id);
    heartbeat(redis, keys, id);
    ensure_subscription();
}

bool Worker::State::ensure_subscription() {
    if (subscription) return false;
    subscription = std::make_unique<redis::Subscription>(redis_options, control.wake_fd());
    refresh_queues = true;
    empty_queues.clear();
    return true;
}

std::vector<std::string> Worker::State::current_queues() {
    std::vector<std::string> queues;
    if (!queue_list.dynamic()) {
        queues = queue_list.literal();
    } else {
        if (refresh_queues) {
            known_queues = redis.command({"SMEMBERS", keys.queues()}).as_strings();
            expanded_queues = queue_list.expand(known_queues);
            refresh_queues = false;
        }
        queues = expanded_queues;
    }
    auto now = SteadyClock::now();
    std::erase_if(queues, [&](const std::string& name) {
        auto bad = bad_queues.find(name);
        return bad != bad_queues.end() && now - bad->second < kBadQueueQuarantine;
    });
    return queues;
}

// Reads the notifications that arrived while working, so a queue found empty earlier is
// looked at again as soon as something is pushed to it.
void Worker::State::note_pushes() {
    // Without notifications only ageing (every idle_poll) and the idle wait's rescan
    // bring a queue found empty back.
    if (!subscription || !subscription->enabled()) return;
    try {
        if (subscription->wait(std::chrono::milliseconds(0))) refresh_queues = true;
    } catch (const RedisError&) {
        subscription.reset();
        empty_queues.clear();
        return;
    }
    for (const auto& queue : subscription->take_pushed()) empty_queues.pushed(queue);
}

std::vector<std::string> Worker::State::take_window(int reserve) {
    return empty_queues.window(current_queues(), worker::take_window(reserve));
}

void Worker::State::wait_for_work(bool may_take) {
    try {
        // A subscription made just now may have missed a push: look again first.
        if (ensure_subscription()) return;
        std::vector<std::string> queues;
        if (may_take && subscription->enabled() && idle_pop.supported()) queues = current_queues();
        if (queues.size() == 1) {
            auto outcome = idle_pop.wait(redis, *subscription, control.wake_fd(), reserver,
                                         queues.front(), options.idle_block, landed);
            if (outcome == IdlePop::Outcome::kInterrupted) refresh_queues = true;
            for (const auto& queue : subscription->take_pushed()) empty_queues.pushed(queue);
            // The next take looks at the queue (and the pause key) again.
            if (outcome != IdlePop::Outcome::kJob) empty_queues.clear();
        } else if (subscription->enabled()) {
            if (subscription->wait(options.idle_poll)) refresh_queues = true;
            for (const auto& queue : subscription->take_pushed()) empty_queues.pushed(queue);
        } else {
            pollfd fd{control.wake_fd(), POLLIN, 0};
            ::poll(&fd, 1, static_cast<int>(options.idle_poll.count()));
            refresh_queues = true;
            empty_queues.clear();
        }
    } catch (const RedisError& error) {
        subscription.reset();
        empty_queues.clear();
        outage.failed(error.what());
        outage.backoff();
    }
    control.drain();
    // The safety-net timeout also re-reads the queue set, in case a notification about
    // it was lost while reconnecting.
    refresh_queues = refresh_queues || !subscription;
}

Settlement Worker::State::run_job(const Reservation& job) {
    std::stop_token stop;
    {
        std::lock_guard lock(running_mutex);
        running = &job;
        job_stop = std::stop_source();
        stop = job_stop.get_token();
    }
    set_title("Processing " + job.queue + " since " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()));
    Settlement outcome = perform({handlers, hooks, id, stop, job_defaults(options)}, job);
    {
        std::lock_guard lock(running_mutex);
        running = nullptr;
    }
    return outcome;
}

void Worker::State::note_pause_change() {
    bool paused = control.paused();
    if (paused == paused_seen) return;
    paused_seen = paused;
    hooks.run_worker(paused ? Hooks::WorkerEvent::kBeforePause : Hooks::WorkerEvent::kAfterPause,
                     id);
    log::worker()->info("{} worker={}", paused ? "paused" : "resumed", id);
    set_title(paused ? "Paused" : "Waiting for " + queue_list.id_part());
}

void Worker::State::run_batch(const TakeResult& taken) {
    {
        std::lock_guard lock(running_mutex);
        batch = BatchSettlement{taken.token, {}};
    }
    auto started = SteadyClock::now();
    std::size_t ran = 0;
    for (std::size_t i = 0; i < taken.jobs.size(); ++i) {
        const Reservation& job = taken.jobs[i];
        Settlement outcome{Settlement::Kind::kRequeue, job.token, job.queue, {}};
        // Between two jobs of a batch a stop or pause puts the rest back unstarted.
        if (i == 0 || (!control.stopping() && !control.paused())) {
            if (i > 0) {
                // The first job's record came with the reservation; later ones are
                // named here, before they start, without waiting for Redis.
                try {
                    reserver.mark_running(redis, job, i);
                } catch (const RedisError& error) {
                    outage.failed(error.what());  // the settling take will retry
                }
            }
            outcome = run_job(job);
            ++ran;
        }
        std::lock_guard lock(running_mutex);
        batch.outcomes.push_back(std::move(outcome));
    }
    prefetch.observe(ran, SteadyClock::now() - started);
}

std::string Worker::State::loop() {
    bool was_working = false;
    bool shutdown_seen = false;
    for (;;) {
        note_pause_change();
        if (control.stopping() && !shutdown_seen) {
            shutdown_seen = true;
            hooks.run_worker(Hooks::WorkerEvent::kShutdown, id);
        }
        bool want = !control.stopping() && !control.paused();
        BatchSettlement settle;
        {
            // Moved, not copied: a failure record may hold a 64 MiB payload (FC-07). Only
            // a job still running makes the watchdog read the batch, and none is.
            std::lock_guard lock(running_mutex);
            settle = std::exchange(batch, BatchSettlement{});
        }
        if (want) note_pushes();
        std::vector<std::string> tried;
        int attempts = 0;
        const int reserve = prefetch.next();
        TakeResult result;
        if (landed && !want) {
            // Stopping or paused before it started: the landed job goes back.
            Settlement back{Settlement::Kind::kRequeue, landed->token, landed->jobs[0].queue, {}};
            settle = BatchSettlement{landed->token, {back}};
        }
        if (landed && want) {
            result = std::move(*landed);  // nothing was held: settle is empty
        } else {
            result = outage.retry(redis, [&] {
                ++attempts;
                tried = want ? take_window(reserve) : std::vector<std::string>{};
                return reserver.take(redis, settle, want ? reserve : 0, tried);
            });
        }
        landed.reset();
        if (attempts > 1) {
            empty_queues.clear();  // a batch handed back after a lost reply says nothing
        } else if (result.kind == TakeResult::Kind::kJob) {
            empty_queues.observe(tried, static_cast<std::size_t>(reserve), result.jobs.size(),
                                 result.jobs.back().queue);
        } else if (result.kind == TakeResult::Kind::kEmpty) {
            empty_queues.observe(tried, static_cast<std::size_t>(reserve), 0, {});
        } else if (result.kind == TakeResult::Kind::kWrongType) {
            // Only the queues up to the bad one were looked at.
            auto bad = std::find(tried.begin(), tried.end(), result.bad_queue);
            if (bad != tried.end()) tried.erase(bad + 1, tried.end());
            empty_queues.observe(tried, static_cast<std::size_t>(reserve), 0, {});
        }
        if (result.settlement_lost) {
            log::worker()->warn(
                "job outcomes not recorded: the jobs were recovered elsewhere "
                "while they ran jobs={} worker={}",
                settle.outcomes.size(), id);
        }
        {
            std::lock_guard lock(running_mutex);
            batch = BatchSettlement{};
        }
        switch (result.kind) {
            case TakeResult::Kind::kJob:
                was_working = true;
                run_batch(result);
                continue;
            case TakeResult::Kind::kWrongType:
                bad_queues[result.bad_queue] = SteadyClock::now();
                log::worker()->warn(
                    "queue key is not a list; skipping it for 60 s queue={} "
                    "key={}",
                    result.bad_queue, keys.queue(result.bad_queue));
                continue;
            case TakeResult::Kind::kPaused:
                set_title("Paused");
                wait_for_work();
                continue;
            default:
                break;
        }
        // Queues not looked at yet may hold jobs: try them before sleeping.
        if (want && !tried.empty() && !take_window(1).empty()) continue;
        if (control.stopping()) return control.stop_now() ? "stop requested" : "quit requested";
        if (want && was_working) {
            was_working = false;
            hooks.run_worker(Hooks::WorkerEvent::kQueueEmpty, id);
        }
        if (want && options.until_empty) return "queues empty";
        if (want) set_title("Waiting for " + queue_list.id_part());
        wait_for_work(want);
    }
}

void Worker::State::heartbeat_loop(std::stop_token stop) {
    redis::Connection beat_redis(redis_options);
    Outage beat_outage(control, options.shutdown_grace, "heartbeat " + id);
    std::mutex mutex;  // only for the condition variable's wait
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
        try {
            std::lock_guard beat_lock(beat_mutex);
            if (beats_stopped) return;
            heartbeat(beat_redis, keys, id);
            prune_dead_workers(beat_redis, keys, prune_rules());
            beat_outage.succeeded();
        } catch (const RedisError& error) {
            beat_outage.failed(error.what());
        }
        std::unique_lock lock(mutex);
        wake.wait_for(lock, stop, options.heartbeat_interval, [] { return false; });
    }
}

void Worker::State::give_up_job_after_grace(const Reservation& job) {
    // Limitation: a C++ handler running in this process cannot be interrupted; after the
    // grace period its job is requeued and the whole process exits, ending the handler.
    log::worker()->warn(
        "job did not finish within the shutdown grace; requeueing it and "
        "exiting queue={} worker={} grace_ms={}",
        job.queue, id, options.shutdown_grace.count());
    {
        // No heartbeat may re-register us after the unregistration below.
        std::lock_guard beat_lock(beat_mutex);
        beats_stopped = true;
    }
    try {
        // Jobs of the batch that finished keep their outcomes; the running one and any
        // not started go back to their queues (take.lua requeues jobs without one).
        BatchSettlement settle;
        {
            std::lock_guard lock(running_mutex);
            settle = batch;
        }
        redis::Connection own(redis_options);
        Reserver settler(keys, id, options.failure_backend);
        settler.take(own, settle, 0, {});
        unregister_worker(own, keys, id);
    } catch (const std::exception& error) {
        log::worker()->error(
            "could not requeue job at shutdown: {}; pruning will recover it "
            "queue={} worker={}",
            error.what(), job.queue, id);
    }
    // Stop a running program (its own process group would outlive us) and give the
    // job's thread a moment to kill it before the process ends.
    {
        std::lock_guard lock(running_mutex);
        job_stop.request_stop();
    }
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::lock_guard lock(running_mutex);
        if (!running) break;
    }
    hooks.run_worker(Hooks::WorkerEvent::kStop, id);
    std::_Exit(3);
}

void Worker::State::abort_running_job() {
    std::lock_guard lock(running_mutex);
    if (!running) return;
    // Limitation: a C++ handler runs in this process and stops only if it checks its
    // stop_token; programs are killed at once.
    log::worker()->info("USR1: aborting the running job queue={} worker={}", running->queue, id);
    job_stop.request_stop();
}

void Worker::State::watchdog_loop(std::stop_token stop) {
    while (!stop.stop_requested()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (control.take_abort()) abort_running_job();
        if (!control.stop_now()) continue;
        if (SteadyClock::now() - control.stop_requested_at() < options.shutdown_grace) continue;
        std::optional<Reservation> job;
        {
            std::lock_guard lock(running_mutex);
            if (running) job = *running;
        }
        if (job) give_up_job_after_grace(*job);
    }
}

Worker::Worker(const RedisOptions& redis, const WorkerOptions& options,
               const HandlerRegistry& handlers, const Hooks& hooks, Control& control,
               TitleSetter title)
    : state_(std::make_unique<State>(redis, options, handlers, hooks, control, std::move(title))) {}

Worker::~Worker() = default;

std::string Worker::run() {
    State& s = *state_;
    s.set_title("Starting");
    s.outage.retry(s.redis, [&] {
        s.startup();
        return 0;
    });
    log::worker()->info("worker started worker={} queues={} pid={} isolation={}", s.id,
                        s.queue_list.id_part(), ::getpid(), to_string(s.options.isolation));
    s.hooks.run_worker(Hooks::WorkerEvent::kStart, s.id);

    std::string reason;
    {
        std::jthread beat([&](std::stop_token stop) { s.heartbeat_loop(stop); });
        std::jthread watchdog([&](std::stop_token stop) { s.watchdog_loop(stop); });
        try {
            reason = s.loop();
        } catch (const Outage::GaveUp& error) {
            reason = error.what();
        }
    }
    try {
        s.outage.retry(s.redis, [&] {
            unregister_worker(s.redis, s.keys, s.id);
            return 0;
        });
    } catch (const Outage::GaveUp& error) {
        log::worker()->error("could not unregister: {} worker={}", error.what(), s.id);
    }
    s.hooks.run_worker(Hooks::WorkerEvent::kStop, s.id);
    log::worker()->info("worker stopped worker={} reason=\"{}\"", s.id, reason);
    return s.id;
}

}  // namespace resque::worker
