// Cron expressions and `every` durations: a table of expressions with their next run
// times (ranges, steps, lists, names, 6 fields, zones, DST, month ends, Feb 29), and
// invalid expressions with the error they must produce.

#include <fmt/chrono.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "resque/errors.hpp"
#include "resque/schedule.hpp"

namespace resque {
namespace {

// "2025-03-30T01:00:00Z" -> SysSeconds.
SysSeconds at(const std::string& text) { return parse_time(text); }

std::string show(std::optional<SysSeconds> time) {
    return time ? fmt::format("{:%FT%TZ}", *time) : std::string("never");
}

struct NextRunCase {
    const char* expression;
    const char* after;
    const char* expected;  // "never" when the expression never fires
};

// Expected times worked out by hand from the calendar and the tz rules:
// Europe/Berlin switches 2025-03-30 01:00Z (02:00 CET -> 03:00 CEST) and 2025-10-26
// 01:00Z (03:00 CEST -> 02:00 CET); America/New_York 2025-03-09 07:00Z and 2025-11-02
// 06:00Z. 2025-06-01 is a Sunday.
const NextRunCase kNextRuns[] = {
    // steps, ranges, lists
    {"*/15 * * * *", "2025-06-01T10:07:30Z", "2025-06-01T10:15:00Z"},
    {"*/15 * * * *", "2025-06-01T10:45:00Z", "2025-06-01T11:00:00Z"},
    {"5/20 * * * *", "2025-06-01T10:26:00Z", "2025-06-01T10:45:00Z"},
    {"0 9-17/4 * * *", "2025-06-01T09:00:00Z", "2025-06-01T13:00:00Z"},
    {"0 9-17/4 * * *", "2025-06-01T17:00:00Z", "2025-06-02T09:00:00Z"},
    {"0 1,13 * * *", "2025-01-01T02:00:00Z", "2025-01-01T13:00:00Z"},
    // names and day-of-week
    {"0 8 * * MON-FRI", "2025-06-06T08:00:00Z", "2025-06-09T08:00:00Z"},
    {"0 8 * * mon,wed", "2025-06-02T08:00:00Z", "2025-06-04T08:00:00Z"},
    {"0 0 1 JAN *", "2025-03-01T00:00:00Z", "2026-01-01T00:00:00Z"},
    {"0 0 * * 7", "2025-06-02T00:00:00Z", "2025-06-08T00:00:00Z"},
    {"0 0 13 * FRI", "2025-06-01T00:00:00Z", "2025-06-06T00:00:00Z"},  // either matches
    {"@daily", "2025-01-01T10:00:00Z", "2025-01-02T00:00:00Z"},
    {"@hourly", "2025-01-01T10:00:00Z", "2025-01-01T11:00:00Z"},
    // month ends and leap days
    {"0 0 31 * *", "2025-02-01T00:00:00Z", "2025-03-31T00:00:00Z"},
    {"0 0 31 * *", "2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z"},
    {"0 12 29 2 *", "2025-01-01T00:00:00Z", "2028-02-29T12:00:00Z"},
    {"0 0 28-31 2 *", "2100-02-28T00:00:00Z", "2101-02-28T00:00:00Z"},  // 2100 not leap
    {"0 0 30 2 *", "2025-01-01T00:00:00Z", "never"},
    // six fields (seconds first)
    {"*/10 * * * * *", "2025-01-01T00:00:05Z", "2025-01-01T00:00:10Z"},
    {"30 0 12 * * *", "2025-01-01T12:00:30Z", "2025-01-02T12:00:30Z"},
    // zones
    {"0 5 * * * Europe/Berlin", "2025-07-01T00:00:00Z", "2025-07-01T03:00:00Z"},
    {"0 5 * * * Europe/Berlin", "2025-01-01T00:00:00Z", "2025-01-01T04:00:00Z"},
    {"*/5 * * * * UTC", "2025-01-01T00:01:00Z", "2025-01-01T00:05:00Z"},
    {"0 0 * * * Asia/Kolkata", "2025-01-01T00:00:00Z", "2025-01-01T18:30:00Z"},
    // spring forward: a skipped 02:30 fires once, when the gap ends
    {"30 2 * * * Europe/Berlin", "2025-03-29T12:00:00Z", "2025-03-30T01:00:00Z"},
    {"30 2 * * * Europe/Berlin", "2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"},
    {"30 2 * * * America/New_York", "2025-03-08T12:00:00Z", "2025-03-09T07:00:00Z"},
    {"30 2 * * * America/New_York", "2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"},
    // fall back: a repeated 02:30 fires at its first occurrence only
    {"30 2 * * * Europe/Berlin", "2025-10-25T12:00:00Z", "2025-10-26T00:30:00Z"},
    {"30 2 * * * Europe/Berlin", "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"},
    {"30 1 * * * America/New_York", "2025-11-01T12:00:00Z", "2025-11-02T05:30:00Z"},
    {"30 1 * * * America/New_York", "2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"},
    // ... but an every-hour expression fires in both real hours
    {"30 * * * * America/New_York", "2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z"},
};

TEST(CronNextRun, MatchesTheTable) {
    for (const auto& row : kNextRuns) {
        SCOPED_TRACE(std::string(row.expression) + " after " + row.after);
        const CronExpression cron(row.expression);
        EXPECT_EQ(show(cron.next_after(at(row.after))), row.expected);
    }
}

TEST(CronNextRun, UsesTheDefaultZoneOnlyWithoutATrailingZone) {
    const CronExpression local("0 5 * * *", "Europe/Berlin");
    EXPECT_EQ(show(local.next_after(at("2025-07-01T00:00:00Z"))), "2025-07-01T03:00:00Z");
    EXPECT_EQ(local.zone_name(), "Europe/Berlin");
    const CronExpression explicit_zone("0 5 * * * UTC", "Europe/Berlin");
    EXPECT_EQ(show(explicit_zone.next_after(at("2025-07-01T00:00:00Z"))), "2025-07-01T05:00:00Z");
}

TEST(CronNextRun, EverySecondCronStaysCheap) {
    const CronExpression cron("* * * * * *");
    SysSeconds cursor = at("2025-03-30T00:59:58Z");
    for (int i = 0; i < 5; ++i) cursor = *cron.next_after(cursor);
    EXPECT_EQ(show(cursor), "2025-03-30T01:00:03Z");
}

struct InvalidCase {
    const char* expression;
    const char* message_part;
};

const InvalidCase kInvalid[] = {
    {"61 * * * *", "minute 61 is out of range 0-59"},
    {"* 24 * * *", "hour 24 is out of range 0-23"},
    {"* * 0 * *", "day-of-month 0 is out of range 1-31"},
    {"* * * 13 *", "month 13 is out of range 1-12"},
    {"* * * * 8", "day-of-week 8 is out of range 0-7"},
    {"* * * *", "expected 5 or 6 fields"},
    {"0 5 * * * Mars/Olympus_Mons", "unknown time zone \"Mars/Olympus_Mons\""},
    {"*/0 * * * *", "step \"0\" must be a positive number"},
    {"0 0 * FOO *", "month \"FOO\" is not a number or a name"},
    {"5-3 * * * *", "range 5-3 runs backwards"},
    {"1,,2 * * * *", "empty list item"},
    {"@fortnightly", "unknown macro"},
};

TEST(CronParse, RejectsInvalidExpressionsNamingFieldAndValue) {
    for (const auto& row : kInvalid) {
        SCOPED_TRACE(row.expression);
        try {
            CronExpression cron(row.expression);
            ADD_FAILURE() << "accepted";
        } catch (const ConfigError& error) {
            const std::string message = error.what();
            EXPECT_NE(message.find(row.message_part), std::string::npos) << message;
            EXPECT_NE(message.find(row.expression), std::string::npos) << message;
        }
    }
}

TEST(EveryParse, ReadsRufusDurations) {
    using std::chrono::seconds;
    EXPECT_EQ(parse_every("30s"), seconds{30});
    EXPECT_EQ(parse_every("5m"), seconds{300});
    EXPECT_EQ(parse_every("1h"), seconds{3600});
    EXPECT_EQ(parse_every("1d"), seconds{86400});
    EXPECT_EQ(parse_every("2w"), seconds{1209600});
    EXPECT_EQ(parse_every("1h30m"), seconds{5400});
    EXPECT_EQ(parse_every("45"), seconds{45});
}

TEST(EveryParse, RejectsZeroSubSecondAndUnknownUnits) {
    for (const char* bad : {"0s", "500ms", "abc", "1x", "", "1.5h"}) {
        SCOPED_TRACE(bad);
        EXPECT_THROW((void)parse_every(bad), ConfigError);
    }
}

TEST(TimeParse, ReadsIsoWithZoneOrOffsetAndEpochSeconds) {
    EXPECT_EQ(show(parse_time("2027-01-01T05:00:00Z")), "2027-01-01T05:00:00Z");
    EXPECT_EQ(show(parse_time("2027-01-01T06:00:00+01:00")), "2027-01-01T05:00:00Z");
    EXPECT_EQ(show(parse_time("2026-12-31 23:30-05:30")), "2027-01-01T05:00:00Z");
    EXPECT_EQ(show(parse_time("1798779600")), "2027-01-01T05:00:00Z");
    for (const char* bad : {"tomorrow", "2027-02-30T00:00:00Z", "2027-01-01T05:00:00", ""}) {
        SCOPED_TRACE(bad);
        EXPECT_THROW((void)parse_time(bad), ConfigError);
    }
}

}  // namespace
}  // namespace resque
