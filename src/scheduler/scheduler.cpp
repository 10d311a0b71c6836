// Scheduler: the leader loop (duties in resque/scheduler.hpp).
//
// Why nothing is enqueued twice, whoever leads: the lock only saves work. Correctness
// comes from the two scripts every enqueue goes through. delayed_move.lua pops only the
// exact entries its caller read (compare-and-pop), so two processes that both think they
// lead (a stalled leader whose lock expired, and its successor) cannot both move one
// entry. schedule_run.lua enqueues a recurring run only if the schedule's run record
// still holds the run it was planned from (compare-and-set), so one run is enqueued once,
// and a new leader continues from the record: it neither repeats nor loses a run.
//
// Why due jobs move within milliseconds without polling every few seconds: the loop
// sleeps exactly until the earliest due time in the zset (or the next recurring run, or
// the lock renewal), and a keyspace-notification subscription on the zset and on
// `schedules_changed` wakes it early when any client adds an earlier time or changes a
// schedule. `max_sleep` (1 s) bounds the sleep in case notifications are unavailable.
//
// Time: due times are judged by this host's clock (injectable), as resque-scheduler
// judges them by its own; hosts need synchronised clocks.

#include "resque/scheduler.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "log.hpp"
#include "redis/connection.hpp"
#include "redis/key_watch.hpp"
#include "redis/keys.hpp"
#include "resque/errors.hpp"
#include "ruby_time.hpp"
#include "scheduler/delayed_store.hpp"
#include "scheduler/leader_lock.hpp"
#include "scheduler/planner.hpp"

namespace resque {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;
using Kind = scheduler::RunDecision::Kind;

// Steps taken for one schedule in one turn before moving on (a burst of late runs after
// a takeover is worked off over a few turns rather than starving the other duties).
constexpr int kMaxStepsPerSchedule = 100;

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    return set;
}

std::string iso(SysSeconds time) { return ruby_time::iso8601_utc(time); }

std::optional<SysSeconds> parse_epoch(const std::optional<std::string>& text) {
    if (!text || text->empty()) return std::nullopt;
    try {
        return SysSeconds{std::chrono::seconds{std::stoll(*text)}};
    } catch (const std::exception&) {
        return std::nullopt;  // unreadable record: start counting afresh
    }
}

}  // namespace

struct Scheduler::State {
    State(RedisOptions redis_options, SchedulerOptions scheduler_options)
        : redis(std::move(redis_options)),
          options(std::move(scheduler_options)),
          keys(redis.key_namespace),
          lock(keys.scheduler_lock(options.lock_prefix),
               options.identity.empty() ? scheduler::default_identity() : options.identity,
               options.lock_ttl),
          log(log::get("scheduler")) {
        if (!options.clock) options.clock = [] { return system_clock::now(); };
        if (::pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
            throw Error("cannot create the scheduler's wake-up pipe");
        }
    }
    ~State() {
        ::close(wake_pipe[0]);
        ::close(wake_pipe[1]);
    }

    void run();
    system_clock::time_point turn(redis::Connection& connection);
    void update_leadership(redis::Connection& connection, bool now_leader);
    void reload(redis::Connection& connection);
    void move_delayed(redis::Connection& connection);
    std::optional<SysSeconds> run_schedules(redis::Connection& connection);
    std::optional<SysSeconds> run_schedule(redis::Connection& connection, const Schedule& schedule,
                                           std::optional<std::string> record);
    std::string run_payload(const Schedule& schedule);
    bool carry_out(redis::Connection& connection, const Schedule& schedule,
                   const scheduler::RunDecision& decision, const std::string& expected,
                   const std::string& payload);
    void sleep_until(redis::KeyWatch* watch, system_clock::time_point wake);
    void release(redis::Connection& connection) noexcept;
    void start_outage(const RedisError& error);
    void end_outage();

    [[nodiscard]] SysSeconds now() const {
        return std::chrono::floor<std::chrono::seconds>(options.clock());
    }

    RedisOptions redis;
    SchedulerOptions options;
    redis::Keys keys;
    scheduler::LeaderLock lock;
    std::shared_ptr<spdlog::logger> log;
    std::vector<Schedule> schedules;  // effective: static merged with persisted
    std::atomic<bool> stopping{false};
    std::atomic<bool> leader{false};
    bool signals = false;
    std::optional<std::chrono::steady_clock::time_point> outage_started;  // while Redis is lost
    std::optional<std::string> last_seen_holder;
    int wake_pipe[2] = {-1, -1};
};

void Scheduler::State::update_leadership(redis::Connection& connection, bool now_leader) {
    if (now_leader && !leader) {
        log->info("became leader lock={} identity={}", lock.key(), lock.identity());
        leader = true;
        reload(connection);
        last_seen_holder.reset();
        return;
    }
    if (!now_leader) {
        if (leader) log->warn("lost leadership lock={} identity={}", lock.key(), lock.identity());
        leader = false;
        auto holder = lock.holder(connection);
        if (holder != last_seen_holder) {
            log->info("following leader={} lock={}", holder.value_or("(none)"), lock.key());
            last_seen_holder = std::move(holder);
        }
    }
}

void Scheduler::State::reload(redis::Connection& connection) {
    // Static schedules first; a persisted entry of the same name replaces one.
    std::vector<Schedule> merged = options.schedules;
    std::vector<std::string> invalid;
    const auto flat = connection.command({"HGETALL", keys.persistent_schedules()}).as_strings();
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        try {
            Schedule persisted = parse_schedule(flat[i], nlohmann::ordered_json::parse(flat[i + 1]),
                                                options.default_zone);
            std::erase_if(merged, [&](const Schedule& s) { return s.name == persisted.name; });
            merged.push_back(std::move(persisted));
        } catch (const std::exception& error) {
            log->warn("ignoring persisted schedule \"{}\": {}", flat[i], error.what());
        }
    }
    schedules = std::move(merged);
    log->info("schedules loaded count={}", schedules.size());
}

void Scheduler::State::move_delayed(redis::Connection& connection) {
    const auto moved = scheduler::move_due(connection, keys, now().time_since_epoch().count(),
                                           options.batch_size, &options.hooks);
    if (moved.moved > 0 || moved.invalid > 0 || moved.vetoed > 0) {
        log->info("moved due delayed jobs count={} set_aside={} vetoed={}", moved.moved,
                  moved.invalid, moved.vetoed);
    }
}

// The payload a due run enqueues, or "" when a before_enqueue hook vetoes it (the run is
// then recorded without an enqueue; a throwing hook counts as a veto and is logged).
std::string Scheduler::State::run_payload(const Schedule& schedule) {
    const std::string payload = schedule.payload();
    if (!options.hooks.has_enqueue_hooks()) return payload;
    try {
        if (options.hooks.run_before_enqueue(schedule.queue, schedule.job())) return payload;
        log->info("recurring run vetoed by a before_enqueue hook schedule={}", schedule.name);
    } catch (const std::exception& error) {
        log->error("before_enqueue hook raised; run not enqueued: {} schedule={}", error.what(),
                   schedule.name);
    }
    return {};
}

// Carries out one decision through schedule_run.lua, enqueueing `payload` unless it is
// empty. False: the record was not what the decision was based on (another scheduler got
// there first).
bool Scheduler::State::carry_out(redis::Connection& connection, const Schedule& schedule,
                                 const scheduler::RunDecision& decision,
                                 const std::string& expected, const std::string& payload) {
    const std::vector<std::string> key_list{keys.schedule_runs(), keys.last_enqueued_at(),
                                            keys.queues(), keys.queue(schedule.queue)};
    const std::vector<std::string> args{
        schedule.name,  expected, std::to_string(decision.run->time_since_epoch().count()),
        schedule.queue, payload,  ruby_time::time_to_s(options.clock())};
    if (connection.eval("schedule_run.lua", key_list, args).as_integer() != 1) return false;

    if (!payload.empty() && options.hooks.has_enqueue_hooks()) {
        try {
            options.hooks.run_after_enqueue(schedule.queue, schedule.job());
        } catch (const std::exception& error) {
            log->error("after_enqueue hook raised: {} schedule={}", error.what(), schedule.name);
        }
    }
    return true;
}

std::optional<SysSeconds> Scheduler::State::run_schedule(redis::Connection& connection,
                                                         const Schedule& schedule,
                                                         std::optional<std::string> record) {
    for (int step = 0; step < kMaxStepsPerSchedule; ++step) {
        const auto decision = scheduler::plan_run(schedule, parse_epoch(record), now(),
                                                  options.missed_after, options.missed_runs);
        if (decision.kind == Kind::kWait) return decision.run;
        const std::string payload = decision.kind == Kind::kEnqueue ? run_payload(schedule) : "";
        if (!carry_out(connection, schedule, decision, record.value_or(""), payload)) {
            log->debug("schedule run taken by another scheduler schedule={}", schedule.name);
            record = connection.command({"HGET", keys.schedule_runs(), schedule.name})
                         .as_optional_string();
            continue;
        }
        record = std::to_string(decision.run->time_since_epoch().count());

        if (decision.missed > 0) {
            log->warn("schedule {} missed {}{} runs while no scheduler ran, up to {}; {}",
                      schedule.name, decision.missed_capped ? "at least " : "", decision.missed,
                      iso(*decision.run),
                      decision.kind == Kind::kEnqueue ? "enqueued once now (policy run-once)"
                                                      : "not enqueued (policy skip)");
        }
        if (!payload.empty()) {
            log->info("enqueued recurring run schedule={} run={} queue={} class={}", schedule.name,
                      iso(*decision.run), schedule.queue, schedule.class_name);
        }
    }
    return now();  // more steps pending: come back at once
}

std::optional<SysSeconds> Scheduler::State::run_schedules(redis::Connection& connection) {
    std::optional<SysSeconds> earliest;
    redis::Command read{"HMGET", keys.schedule_runs()};
    for (const auto& schedule : schedules) read.push_back(schedule.name);
    if (schedules.empty()) return earliest;
    const auto records = connection.command(read);

    for (std::size_t i = 0; i < schedules.size(); ++i) {
        if (!schedules[i].recurring()) continue;
        const auto next =
            run_schedule(connection, schedules[i], records.elements.at(i).as_optional_string());
        if (next && (!earliest || *next < *earliest)) earliest = next;
    }
    return earliest;
}

// One turn of the loop; returns when to look again.
system_clock::time_point Scheduler::State::turn(redis::Connection& connection) {
    const auto started = options.clock();
    system_clock::time_point wake = started + options.lock_ttl / 3;
    update_leadership(connection, lock.acquire_or_renew(connection));
    if (!leader) return wake;

    // Dynamic changes: Ruby's set_schedule and `resque schedule add` announce them here.
    if (connection.command({"SCARD", keys.schedules_changed()}).as_integer() > 0) {
        connection.command({"DEL", keys.schedules_changed()});
        reload(connection);
    }
    move_delayed(connection);
    if (auto next = scheduler::earliest_time(connection, keys)) {
        wake = std::min(wake, system_clock::time_point{std::chrono::seconds{*next}});
    }
    if (auto next = run_schedules(connection))
        wake = std::min(wake, system_clock::time_point{*next});
    return wake;
}

void Scheduler::State::sleep_until(redis::KeyWatch* watch, system_clock::time_point wake) {
    const auto left = std::chrono::ceil<milliseconds>(wake - options.clock());
    const milliseconds timeout = std::clamp(left, milliseconds{0}, options.max_sleep);
    if (watch != nullptr) {
        (void)watch->wait(timeout);
    } else {
        pollfd fd{wake_pipe[0], POLLIN, 0};
        ::poll(&fd, 1, static_cast<int>(timeout.count()));
    }
    char drained[64];
    while (::read(wake_pipe[0], drained, sizeof drained) > 0) {
    }
}

void Scheduler::State::release(redis::Connection& connection) noexcept {
    if (!leader) return;
    try {
        if (lock.release(connection)) log->info("released leadership lock={}", lock.key());
    } catch (const std::exception& error) {
        log->warn("could not release the leader lock (it expires by itself): {}", error.what());
    }
    leader = false;
}

// One warning when an outage starts and one line with its length when it ends, as the
// workers log theirs (worker/outage.hpp); never one line per attempt.
void Scheduler::State::start_outage(const RedisError& error) {
    if (!outage_started) {
        outage_started = std::chrono::steady_clock::now();
        log->warn("Redis unreachable, retrying with backoff: {} redis={}", error.what(),
                  redis.describe());
    }
    if (leader) log->warn("leadership given up during the outage");
    leader = false;
}

void Scheduler::State::end_outage() {
    if (!outage_started) return;
    const auto down = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() -
                                                               *outage_started);
    log->info("Redis reachable again after {} ms redis={}", down.count(), redis.describe());
    outage_started.reset();
}

void Scheduler::State::run() {
    std::jthread signal_thread;
    if (signals) {
        signal_thread = std::jthread([this](std::stop_token stop) {
            const sigset_t set = stop_signals();
            const timespec tick{0, 100 * 1000 * 1000};
            while (!stop.stop_requested()) {
                const int sig = ::sigtimedwait(&set, nullptr, &tick);
                if (sig > 0) {
                    log->info("stopping on signal {}", ::strsignal(sig));
                    stopping = true;
                    (void)!::write(wake_pipe[1], "s", 1);
                }
            }
        });
    }
    log->info("scheduler started identity={} lock={} lock_ttl_ms={} schedules={} redis={}",
              lock.identity(), lock.key(), options.lock_ttl.count(), options.schedules.size(),
              redis.describe());

    redis::Connection connection(redis);
    std::unique_ptr<redis::KeyWatch> watch;
    milliseconds backoff{50};
    while (!stopping) {
        try {
            if (!watch) {
                watch = std::make_unique<redis::KeyWatch>(
                    redis, std::vector{keys.delayed_schedule(), keys.schedules_changed()}, "zs",
                    wake_pipe[0]);
            }
            const auto wake = turn(connection);
            end_outage();
            backoff = milliseconds{50};
            if (!stopping) sleep_until(watch.get(), wake);
        } catch (const RedisError& error) {
            watch.reset();
            start_outage(error);
            sleep_until(nullptr, options.clock() + backoff);
            backoff = std::min(backoff * 2, milliseconds{2000});
        }
    }
    release(connection);
    log->info("scheduler stopped identity={}", lock.identity());
}

Scheduler::Scheduler(RedisOptions redis, SchedulerOptions options) {
    if (options.lock_ttl < milliseconds{300}) throw ConfigError("lock TTL must be at least 300 ms");
    if (options.batch_size == 0) throw ConfigError("batch size must be at least 1");
    if (options.max_sleep <= milliseconds{0}) throw ConfigError("max sleep must be positive");
    state_ = std::make_unique<State>(std::move(redis), std::move(options));
}

Scheduler::~Scheduler() = default;

void Scheduler::run() { state_->run(); }

void Scheduler::stop() noexcept {
    state_->stopping = true;
    (void)!::write(state_->wake_pipe[1], "s", 1);
}

void Scheduler::handle_signals() {
    state_->signals = true;
    const sigset_t set = stop_signals();
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool Scheduler::leader() const noexcept { return state_->leader; }

std::vector<SysSeconds> next_runs(const Schedule& schedule, SysSeconds after, std::size_t count,
                                  std::optional<SysSeconds> last_run) {
    std::vector<SysSeconds> runs;
    std::optional<SysSeconds> anchor = last_run ? last_run : std::optional<SysSeconds>(after);
    for (SysSeconds cursor = after; runs.size() < count;) {
        const auto next = schedule.next_after(cursor, anchor);
        if (!next) break;
        runs.push_back(*next);
        cursor = *next;
    }
    return runs;
}

}  // namespace resque
