// ScheduleStore: persisted (dynamic) schedules as resque-scheduler keeps them.

#include <fmt/format.h>

#include <algorithm>

#include "json/ruby_json.hpp"
#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "resque/errors.hpp"
#include "resque/schedule.hpp"

namespace resque {

struct ScheduleStore::State {
    State(RedisOptions options, std::string zone)
        : keys(options.key_namespace),
          default_zone(std::move(zone)),
          connection(std::move(options)) {}

    redis::Keys keys;
    std::string default_zone;
    redis::Connection connection;
};

ScheduleStore::ScheduleStore(RedisOptions options, std::string default_zone)
    : state_(std::make_unique<State>(std::move(options), std::move(default_zone))) {}

ScheduleStore::~ScheduleStore() = default;

void ScheduleStore::set(const Schedule& schedule) {
    // Re-validate: a hand-built Schedule must not store what no scheduler can run.
    const Schedule checked = parse_schedule(schedule.name, schedule.config, state_->default_zone);
    const auto& keys = state_->keys;
    const std::vector<redis::Command> commands{
        {"HSET", keys.persistent_schedules(), checked.name, json::encode(checked.config)},
        {"SADD", keys.schedules_changed(), checked.name}};
    state_->connection.pipeline(commands);
}

bool ScheduleStore::remove(std::string_view name) {
    const auto& keys = state_->keys;
    const std::vector<redis::Command> commands{
        {"HDEL", keys.persistent_schedules(), std::string(name)},
        {"SADD", keys.schedules_changed(), std::string(name)},
        {"HDEL", keys.schedule_runs(), std::string(name)}};
    return state_->connection.pipeline(commands).front().as_integer() == 1;
}

std::vector<Schedule> ScheduleStore::all(std::vector<std::string>* invalid) {
    const auto flat =
        state_->connection.command({"HGETALL", state_->keys.persistent_schedules()}).as_strings();
    std::vector<Schedule> schedules;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        try {
            const auto config = nlohmann::ordered_json::parse(flat[i + 1]);
            schedules.push_back(parse_schedule(flat[i], config, state_->default_zone));
        } catch (const std::exception& error) {
            if (invalid != nullptr) {
                invalid->push_back(
                    fmt::format("persisted schedule \"{}\": {}", flat[i], error.what()));
            }
        }
    }
    std::sort(schedules.begin(), schedules.end(),
              [](const Schedule& a, const Schedule& b) { return a.name < b.name; });
    return schedules;
}

std::optional<std::string> ScheduleStore::last_enqueued_at(std::string_view name) {
    return state_->connection.command({"HGET", state_->keys.last_enqueued_at(), std::string(name)})
        .as_optional_string();
}

std::optional<SysSeconds> ScheduleStore::last_run(std::string_view name) {
    const auto text =
        state_->connection.command({"HGET", state_->keys.schedule_runs(), std::string(name)})
            .as_optional_string();
    if (!text) return std::nullopt;
    try {
        return SysSeconds{std::chrono::seconds{std::stoll(*text)}};
    } catch (const std::logic_error&) {
        return std::nullopt;  // not a time of ours: count from now, as without a record
    }
}

std::optional<std::string> ScheduleStore::leader(std::string_view lock_prefix) {
    return state_->connection.command({"GET", state_->keys.scheduler_lock(lock_prefix)})
        .as_optional_string();
}

}  // namespace resque
