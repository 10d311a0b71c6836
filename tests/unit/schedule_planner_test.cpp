// The recurring-run planner driven by a fake clock, minute by minute, the way the
// scheduler drives it (FC-11: DST days fire once, hourly counts 23/25; month ends and
// Feb 29; missed runs per policy). The run record lives in a local variable here; in
// the scheduler it lives in Redis behind a compare-and-set script.

#include <fmt/chrono.h>
#include <gtest/gtest.h>

#include <vector>

#include "resque/errors.hpp"
#include "resque/schedule.hpp"
#include "scheduler/planner.hpp"

namespace resque {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using Kind = scheduler::RunDecision::Kind;

SysSeconds at(const std::string& text) { return parse_time(text); }

std::string show(SysSeconds time) { return fmt::format("{:%FT%TZ}", time); }

Schedule schedule(const std::string& json) {
    return parse_schedule("s", nlohmann::ordered_json::parse(json));
}

struct Drive {
    std::vector<SysSeconds> enqueued;
    std::vector<SysSeconds> skipped;
    long long missed = 0;
};

// Steps a clock from `from` to `to` (inclusive) by `step`, acting on every decision as
// the scheduler does, with one run record carried across steps.
Drive drive(const Schedule& entry, SysSeconds from, SysSeconds to, seconds step,
            MissedRunPolicy policy = MissedRunPolicy::kSkip, std::optional<SysSeconds> record = {},
            seconds missed_after = seconds{60}) {
    Drive result;
    for (SysSeconds now = from; now <= to; now += step) {
        for (;;) {
            const auto decision = scheduler::plan_run(entry, record, now, missed_after, policy);
            if (decision.kind == Kind::kWait) break;
            record = decision.run;
            result.missed += decision.missed;
            if (decision.kind == Kind::kEnqueue) result.enqueued.push_back(*decision.run);
            if (decision.kind == Kind::kRecordSkip) result.skipped.push_back(*decision.run);
        }
    }
    return result;
}

TEST(SchedulePlanner, FallBackDayFiresA0130JobOnceAtTheFirst0130) {
    const auto nightly = schedule(
        R"({"cron":"30 1 * * * America/New_York","class":"Marker","queue":"q","args":["n"]})");
    const auto runs =
        drive(nightly, at("2025-11-02T04:00:00Z"), at("2025-11-02T09:00:00Z"), minutes{1});
    ASSERT_EQ(runs.enqueued.size(), 1u);
    EXPECT_EQ(show(runs.enqueued[0]), "2025-11-02T05:30:00Z");
}

TEST(SchedulePlanner, SpringForwardDayFiresA0230JobOnceRightAfterTheGap) {
    const auto two30 = schedule(
        R"({"cron":"30 2 * * * America/New_York","class":"Marker","queue":"q","args":["s"]})");
    const auto runs =
        drive(two30, at("2025-03-09T05:00:00Z"), at("2025-03-09T09:00:00Z"), minutes{1});
    ASSERT_EQ(runs.enqueued.size(), 1u);
    EXPECT_EQ(show(runs.enqueued[0]), "2025-03-09T07:00:00Z");
}

TEST(SchedulePlanner, HourlyJobRuns25TimesOnFallBackAnd23OnSpringForward) {
    const auto hourly = schedule(
        R"({"cron":"0 * * * * America/New_York","class":"Marker","queue":"q","args":["h"]})");
    // Local days: 2025-11-02 is 04:00Z..05:00Z next day; 2025-03-09 is 05:00Z..04:00Z.
    const auto fall =
        drive(hourly, at("2025-11-02T03:59:00Z"), at("2025-11-03T04:59:00Z"), minutes{1});
    EXPECT_EQ(fall.enqueued.size(), 25u);
    const auto spring =
        drive(hourly, at("2025-03-09T04:59:00Z"), at("2025-03-10T03:59:00Z"), minutes{1});
    EXPECT_EQ(spring.enqueued.size(), 23u);
}

TEST(SchedulePlanner, Daily0230BerlinRunsExactlyOnceOnBothChangeDays) {
    const auto daily = schedule(R"({"cron":"30 2 * * * Europe/Berlin","class":"J","queue":"q"})");
    // Local 2025-03-30 runs 23:00Z (Mar 29) .. 22:00Z; 2025-10-26 runs 22:00Z .. 23:00Z.
    const auto spring =
        drive(daily, at("2025-03-29T22:59:00Z"), at("2025-03-30T21:59:00Z"), minutes{1});
    ASSERT_EQ(spring.enqueued.size(), 1u);
    EXPECT_EQ(show(spring.enqueued[0]), "2025-03-30T01:00:00Z");
    const auto fall =
        drive(daily, at("2025-10-25T22:00:00Z"), at("2025-10-26T22:59:00Z"), minutes{1});
    ASSERT_EQ(fall.enqueued.size(), 1u);
    EXPECT_EQ(show(fall.enqueued[0]), "2025-10-26T00:30:00Z");
}

TEST(SchedulePlanner, LeapDayJobRunsOnlyInLeapYears) {
    const auto leap = schedule(R"({"cron":"0 0 29 2 *","class":"J","queue":"q"})");
    // Hour steps across 2027-02-27 .. 2028-03-02: one run, on 2028-02-29.
    const auto runs = drive(leap, at("2027-02-27T00:00:00Z"), at("2028-03-02T00:00:00Z"),
                            seconds{3600}, MissedRunPolicy::kSkip, at("2027-02-27T00:00:00Z"));
    ASSERT_EQ(runs.enqueued.size(), 1u);
    EXPECT_EQ(show(runs.enqueued[0]), "2028-02-29T00:00:00Z");
}

TEST(SchedulePlanner, FirstSightRecordsABaselineInsteadOfRunning) {
    const auto every = schedule(R"({"every":"30s","class":"J","queue":"q"})");
    const auto decision = scheduler::plan_run(every, std::nullopt, at("2025-01-01T00:00:10Z"),
                                              seconds{60}, MissedRunPolicy::kSkip);
    EXPECT_EQ(decision.kind, Kind::kBaseline);
    const auto runs =
        drive(every, at("2025-01-01T00:00:10Z"), at("2025-01-01T00:02:10Z"), seconds{1});
    ASSERT_EQ(runs.enqueued.size(), 4u);  // 00:40, 01:10, 01:40, 02:10
    EXPECT_EQ(show(runs.enqueued.front()), "2025-01-01T00:00:40Z");
}

TEST(SchedulePlanner, LateRunWithinTheWindowIsEnqueuedOnce) {
    // A leader died at 10:00:50 and its successor looks at 10:01:05: the 10:01 run is
    // late, not missed.
    const auto minutely = schedule(R"({"cron":"* * * * *","class":"J","queue":"q"})");
    const auto runs = drive(minutely, at("2025-01-01T10:01:05Z"), at("2025-01-01T10:01:05Z"),
                            seconds{1}, MissedRunPolicy::kSkip, at("2025-01-01T10:00:00Z"));
    ASSERT_EQ(runs.enqueued.size(), 1u);
    EXPECT_EQ(show(runs.enqueued[0]), "2025-01-01T10:01:00Z");
    EXPECT_EQ(runs.missed, 0);
}

TEST(SchedulePlanner, MissedRunsAreSkippedOrRunOncePerPolicy) {
    const auto minutely = schedule(R"({"cron":"* * * * *","class":"J","queue":"q"})");
    // Down from 10:00 to 11:00:30: runs 10:01..11:00 are due; 10:01..10:59 are older than
    // the 60 s window (missed), 11:00 is within it (late).
    const auto skip = drive(minutely, at("2025-01-01T11:00:30Z"), at("2025-01-01T11:00:30Z"),
                            seconds{1}, MissedRunPolicy::kSkip, at("2025-01-01T10:00:00Z"));
    EXPECT_EQ(skip.missed, 59);
    ASSERT_EQ(skip.skipped.size(), 1u);
    EXPECT_EQ(show(skip.skipped[0]), "2025-01-01T10:59:00Z");
    ASSERT_EQ(skip.enqueued.size(), 1u);
    EXPECT_EQ(show(skip.enqueued[0]), "2025-01-01T11:00:00Z");

    const auto once = drive(minutely, at("2025-01-01T11:00:30Z"), at("2025-01-01T11:00:30Z"),
                            seconds{1}, MissedRunPolicy::kRunOnce, at("2025-01-01T10:00:00Z"));
    EXPECT_EQ(once.missed, 58);  // the 59th is the one run
    ASSERT_EQ(once.enqueued.size(), 2u);
    EXPECT_EQ(show(once.enqueued[0]), "2025-01-01T10:59:00Z");
    EXPECT_EQ(show(once.enqueued[1]), "2025-01-01T11:00:00Z");
}

TEST(SchedulePlanner, LongOutageOfAnEverySecondScheduleSkipsAheadInBoundedSteps) {
    const auto secondly = schedule(R"({"every":"1s","class":"J","queue":"q"})");
    const auto runs = drive(secondly, at("2025-01-02T00:00:00Z"), at("2025-01-02T00:00:00Z"),
                            seconds{1}, MissedRunPolicy::kRunOnce, at("2025-01-01T00:00:00Z"));
    // A day of missed runs: counted (capped per step), one run enqueued for them, and
    // the 60 runs inside the window enqueued as late runs; never 86,400 enqueues.
    EXPECT_EQ(runs.missed + 1 + 60, 86400);
    EXPECT_EQ(runs.enqueued.size(), 61u);
}

TEST(ScheduleConfig, ArgsFollowResqueSchedulerRules) {
    EXPECT_EQ(schedule(R"({"every":"1s","queue":"q","args":[1,"a"]})").job().args.dump(),
              R"([1,"a"])");
    EXPECT_EQ(schedule(R"({"every":"1s","queue":"q","args":{"k":"v"}})").job().args.dump(),
              R"([{"k":"v"}])");
    EXPECT_EQ(schedule(R"({"every":"1s","queue":"q","args":"one"})").job().args.dump(),
              R"(["one"])");
    EXPECT_EQ(schedule(R"({"every":"1s","queue":"q"})").job().args.dump(), "[]");
    EXPECT_EQ(schedule(R"({"every":"1s","queue":"q"})").job().class_name, "s");
}

TEST(ScheduleConfig, PayloadKeepsHashKeysInTheOrderWritten) {
    const auto yaml = parse_schedule_yaml(
        "s:\n  every: 1s\n  queue: q\n  class: J\n  args: {zeta: 1, alpha: [2, {y: 1, b: 2}]}\n",
        "schedule.yml");
    ASSERT_EQ(yaml.size(), 1u);
    EXPECT_EQ(yaml[0].payload(), R"({"class":"J","args":[{"zeta":1,"alpha":[2,{"y":1,"b":2}]}]})");
    EXPECT_EQ(schedule(R"({"every":"1s","queue":"q","args":[{"b":1.0,"a":"\u00e9"}]})").payload(),
              R"({"class":"s","args":[{"b":1.0,"a":"é"}]})");
    EXPECT_EQ(schedule(R"({"every":"1s","queue":"q","args":"one"})").payload(),
              R"({"class":"s","args":["one"]})");
    EXPECT_EQ(schedule(R"({"every":"1s","queue":"q"})").payload(), R"({"class":"s","args":[]})");
}

TEST(ScheduleConfig, ReadsResqueSchedulerYaml) {
    const auto schedules = parse_schedule_yaml(R"(
every_second:
  every: 1s
  class: SimpleJob
  queue: recurring
  args:
  - from every
  description: every-syntax schedule
cron_seconds:
  cron: "* * * * * *"
  class: OtherJob
  queue: cronq
  args:
    k: 7
    quoted: "7"
berlin:
  cron: 0 5 * * * Europe/Berlin
  class: Report
  queue: reports
)",
                                               "schedule.yml");
    ASSERT_EQ(schedules.size(), 3u);
    EXPECT_EQ(schedules[0].name, "every_second");
    EXPECT_EQ(schedules[0].every, seconds{1});
    EXPECT_EQ(encode_payload(schedules[0].job()), R"({"class":"SimpleJob","args":["from every"]})");
    EXPECT_EQ(schedules[0].description, "every-syntax schedule");
    EXPECT_EQ(encode_payload(schedules[1].job()),
              R"({"class":"OtherJob","args":[{"k":7,"quoted":"7"}]})");
    EXPECT_EQ(schedules[2].cron->zone_name(), "Europe/Berlin");
}

TEST(ScheduleConfig, BadEntriesNameFileLineScheduleAndKey) {
    const auto message = [](const char* yaml) {
        try {
            (void)parse_schedule_yaml(yaml, "schedule.yml");
        } catch (const ConfigError& error) {
            return std::string(error.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(
        message("a:\n  every: 1s\n  queue: q\nb:\n  cron: 61 * * * *\n  queue: q\n"),
        "schedule.yml:4: schedule \"b\": cron \"61 * * * *\": minute 61 is out of range 0-59");
    EXPECT_EQ(
        message("a:\n  every: 1s\n"),
        "schedule.yml:1: schedule \"a\": \"queue\" is required (resque-cpp cannot ask a class "
        "for it)");
    EXPECT_EQ(message("a:\n  every: 1s\n  queue: q\n  rails_env: production\n"),
              "schedule.yml:1: schedule \"a\": \"rails_env\" is not supported by resque-cpp");
    EXPECT_NE(message("a: [unclosed\n").find("schedule.yml:"), std::string::npos);
}

}  // namespace
}  // namespace resque
