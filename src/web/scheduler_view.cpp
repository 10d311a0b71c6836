#include "web/scheduler_view.hpp"

#include <algorithm>

namespace resque::web {

SchedulerView::SchedulerView(const RedisOptions& redis, ScheduleSource source)
    : source_(std::move(source)),
      static_schedules_(source_.file.empty() ? std::vector<Schedule>{}
                                             : load_schedule_file(source_.file, source_.zone)),
      delayed_(redis),
      store_(redis, source_.zone) {}

std::vector<ListedSchedule> SchedulerView::merged(std::vector<std::string>& errors) {
    std::vector<ListedSchedule> listed;
    for (const auto& schedule : static_schedules_) listed.push_back({schedule, false, {}, {}});
    std::vector<Schedule> persisted;
    {
        std::lock_guard lock(store_mutex_);
        persisted = store_.all(&errors);
    }
    for (auto& entry : persisted) {
        std::erase_if(listed,
                      [&](const ListedSchedule& s) { return s.schedule.name == entry.name; });
        listed.push_back({std::move(entry), true, {}, {}});
    }
    std::sort(listed.begin(), listed.end(), [](const ListedSchedule& a, const ListedSchedule& b) {
        return a.schedule.name < b.schedule.name;
    });
    return listed;
}

ScheduleListing SchedulerView::schedules(std::vector<std::string>& errors, std::size_t limit) {
    ScheduleListing listing{merged(errors), 0};
    listing.total = listing.shown.size();
    if (listing.shown.size() > limit) {
        listing.shown.erase(listing.shown.begin() + static_cast<long>(limit), listing.shown.end());
    }
    std::lock_guard lock(store_mutex_);
    for (auto& entry : listing.shown) {
        entry.last_enqueued = store_.last_enqueued_at(entry.schedule.name);
        entry.last_run = store_.last_run(entry.schedule.name);
    }
    return listing;
}

std::optional<Schedule> SchedulerView::find(const std::string& name) {
    std::vector<std::string> errors;
    for (auto& entry : merged(errors)) {
        if (entry.schedule.name == name) return std::move(entry.schedule);
    }
    return std::nullopt;
}

std::optional<std::string> SchedulerView::leader() {
    std::lock_guard lock(store_mutex_);
    return store_.leader(source_.lock_prefix);
}

}  // namespace resque::web
