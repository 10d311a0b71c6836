// Cron expressions and `every` durations (resque/schedule.hpp). Next-run arithmetic
// walks local calendar days in the expression's zone (Howard Hinnant's date/tz over the
// system's IANA database) and maps each matching local time to system time, with the
// daylight-saving rules documented on CronExpression.

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <charconv>
#include <regex>
#include <sstream>

#include "resque/errors.hpp"
#include "resque/schedule.hpp"

namespace resque {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using LocalSeconds = date::local_seconds;

// How far ahead next_after looks before concluding an expression never fires: long
// enough for Feb 29 on a given weekday (28 years would be exact; eight covers every
// Feb 29 and every weekday combination with OR semantics).
constexpr int kSearchDays = 366 * 8 + 2;

struct FieldSpec {
    const char* name;
    int min;
    int max;
    const std::array<const char*, 12>* names;  // names[i] means min + i; may be null
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kDayNames = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", nullptr, nullptr, nullptr, nullptr, nullptr};

constexpr FieldSpec kSecond{"second", 0, 59, nullptr};
constexpr FieldSpec kMinute{"minute", 0, 59, nullptr};
constexpr FieldSpec kHour{"hour", 0, 23, nullptr};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, nullptr};
constexpr FieldSpec kMonth{"month", 1, 12, &kMonthNames};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, &kDayNames};  // 7 is Sunday too

std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == separator) {
            parts.emplace_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    return parts;
}

std::vector<std::string> words(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::vector<std::string> out;
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

// Thrown inside field parsing; the caller adds the expression.
struct FieldError {
    std::string message;
};

int parse_value(std::string_view text, const FieldSpec& spec) {
    if (spec.names != nullptr) {
        const std::string name = upper(text);
        for (std::size_t i = 0; i < spec.names->size(); ++i) {
            const char* candidate = (*spec.names)[i];
            if (candidate != nullptr && name == candidate) return spec.min + static_cast<int>(i);
        }
    }
    int value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) {
        throw FieldError{fmt::format("{} \"{}\" is not a number{}", spec.name, text,
                                     spec.names != nullptr ? " or a name" : "")};
    }
    if (value < spec.min || value > spec.max) {
        throw FieldError{
            fmt::format("{} {} is out of range {}-{}", spec.name, value, spec.min, spec.max)};
    }
    return value;
}

// One comma-separated part: `*`, `a`, `a-b`, each optionally `/step`.
void parse_part(std::string_view part, const FieldSpec& spec, std::vector<bool>& out) {
    int step = 1;
    std::string_view base = part;
    if (const auto slash = part.find('/'); slash != std::string_view::npos) {
        base = part.substr(0, slash);
        const std::string_view step_text = part.substr(slash + 1);
        const auto [end, error] =
            std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
        if (step_text.empty() || error != std::errc{} ||
            end != step_text.data() + step_text.size() || step < 1) {
            throw FieldError{
                fmt::format("{} step \"{}\" must be a positive number", spec.name, step_text)};
        }
    }

    int low = spec.min;
    int high = spec.max;
    if (base != "*" && base != "?") {
        if (const auto dash = base.find('-'); dash != std::string_view::npos) {
            low = parse_value(base.substr(0, dash), spec);
            high = parse_value(base.substr(dash + 1), spec);
            if (low > high) {
                throw FieldError{fmt::format("{} range {} runs backwards", spec.name, base)};
            }
        } else {
            low = parse_value(base, spec);
            // `5/15` means from 5 to the end in steps of 15; a plain `5` is just 5.
            if (part.find('/') == std::string_view::npos) high = low;
        }
    }
    for (int value = low; value <= high; value += step) out[static_cast<std::size_t>(value)] = true;
}

template <std::size_t N>
std::bitset<N> parse_field(std::string_view text, const FieldSpec& spec) {
    std::vector<bool> values(static_cast<std::size_t>(spec.max) + 1, false);
    for (const std::string& part : split(text, ',')) {
        if (part.empty()) throw FieldError{fmt::format("{} has an empty list item", spec.name)};
        parse_part(part, spec, values);
    }
    std::bitset<N> bits;
    for (std::size_t i = 0; i < values.size() && i < N; ++i) bits[i] = values[i];
    return bits;
}

bool restricted(std::string_view field) { return !field.starts_with('*') && field != "?"; }

std::string expand_macro(std::string_view text) {
    const std::string word = upper(text);
    if (word == "@YEARLY" || word == "@ANNUALLY") return "0 0 1 1 *";
    if (word == "@MONTHLY") return "0 0 1 * *";
    if (word == "@WEEKLY") return "0 0 * * 0";
    if (word == "@DAILY" || word == "@MIDNIGHT") return "0 0 * * *";
    if (word == "@HOURLY") return "0 * * * *";
    return {};
}

bool parses_as_weekday(std::string_view text) {
    try {
        (void)parse_field<8>(text, kDayOfWeek);
        return true;
    } catch (const FieldError&) {
        return false;
    }
}

const date::time_zone* find_zone(std::string_view name) {
    try {
        return date::locate_zone(name);
    } catch (const std::exception&) {
        return nullptr;
    }
}

}  // namespace

struct CronExpression::Fields {
    std::string text;
    std::bitset<60> second_bits;
    std::bitset<60> minute_bits;
    std::bitset<24> hour_bits;
    std::bitset<32> day_bits;     // 1..31
    std::bitset<13> month_bits;   // 1..12
    std::bitset<8> weekday_bits;  // 0..6, Sunday 0
    bool day_of_month_restricted = false;
    bool day_of_week_restricted = false;
    const date::time_zone* zone = nullptr;

    bool day_matches(date::local_days day) const;
    std::optional<SysSeconds> first_in_day(date::local_days day, SysSeconds after) const;
};

bool CronExpression::Fields::day_matches(date::local_days day) const {
    const date::year_month_day ymd{day};
    if (!month_bits[static_cast<unsigned>(ymd.month())]) return false;
    const bool by_date = day_bits[static_cast<unsigned>(ymd.day())];
    const bool by_weekday = weekday_bits[date::weekday{day}.c_encoding()];
    if (day_of_month_restricted && day_of_week_restricted) return by_date || by_weekday;
    if (day_of_month_restricted) return by_date;
    if (day_of_week_restricted) return by_weekday;
    return true;
}

// The earliest firing after `after` among the local times of `day`. Local times map to
// system time through zone offsets that are constant between transitions; the offset
// found for one local time is reused while the next local times stay clear of a
// transition, so a six-field `* * * * * *` day costs few zone look-ups.
std::optional<SysSeconds> CronExpression::Fields::first_in_day(date::local_days day,
                                                               SysSeconds after) const {
    std::optional<SysSeconds> best;
    LocalSeconds cache_low = LocalSeconds::max();
    LocalSeconds cache_high = LocalSeconds::min();
    seconds cache_offset{0};
    const bool every_hour = hour_bits.all();

    LocalSeconds best_local{};
    const auto consider = [&](SysSeconds candidate) {
        if (candidate > after && (!best || candidate < *best)) {
            best = candidate;
            best_local = zone->to_local(candidate);
        }
    };
    for (int h = 0; h < 24; ++h) {
        if (!hour_bits[static_cast<std::size_t>(h)]) continue;
        for (int m = 0; m < 60; ++m) {
            if (!minute_bits[static_cast<std::size_t>(m)]) continue;
            for (int s = 0; s < 60; ++s) {
                if (!second_bits[static_cast<std::size_t>(s)]) continue;
                const LocalSeconds local = day + hours{h} + minutes{m} + seconds{s};
                // Mapping is monotonic apart from a repeated hour (at most two hours
                // long), so nothing three local hours later can beat a firing found.
                if (best && local > best_local + hours{3}) return best;
                if (local >= cache_low && local < cache_high) {
                    consider(SysSeconds{local.time_since_epoch() - cache_offset});
                    continue;
                }
                const date::local_info info = zone->get_info(local);
                if (info.result == date::local_info::unique) {
                    cache_offset = info.first.offset;
                    // Stay four hours inside the period, clear of both transitions.
                    cache_low =
                        LocalSeconds{info.first.begin.time_since_epoch() + cache_offset + hours{4}};
                    cache_high =
                        LocalSeconds{info.first.end.time_since_epoch() + cache_offset - hours{4}};
                    consider(SysSeconds{local.time_since_epoch() - cache_offset});
                } else if (info.result == date::local_info::nonexistent) {
                    // Skipped by spring-forward: fire once, when the gap ends.
                    consider(info.first.end);
                } else {
                    // Repeated by fall-back: the first occurrence; the second only for
                    // an every-hour expression, whose repeated hour is a real hour.
                    consider(SysSeconds{local.time_since_epoch() - info.first.offset});
                    if (every_hour)
                        consider(SysSeconds{local.time_since_epoch() - info.second.offset});
                }
            }
        }
    }
    return best;
}

CronExpression::CronExpression(std::string_view text, std::string_view default_zone)
    : fields_(std::make_unique<Fields>()) {
    fields_->text = std::string(text);
    std::vector<std::string> tokens = words(text);
    const auto fail = [&](const std::string& why) -> ConfigError {
        return ConfigError(fmt::format("cron \"{}\": {}", text, why));
    };

    if (!tokens.empty() && tokens.front().starts_with('@')) {
        const std::string expanded = expand_macro(tokens.front());
        if (expanded.empty()) throw fail(fmt::format("unknown macro {}", tokens.front()));
        std::vector<std::string> rest(tokens.begin() + 1, tokens.end());
        tokens = words(expanded);
        tokens.insert(tokens.end(), rest.begin(), rest.end());
    }

    // A trailing zone name: the 7th token, or a 6th that is not a day-of-week field.
    std::string zone_name(default_zone);
    if (tokens.size() == 7 || (tokens.size() == 6 && !parses_as_weekday(tokens.back()))) {
        zone_name = tokens.back();
        tokens.pop_back();
        if (find_zone(zone_name) == nullptr) {
            throw fail(fmt::format("unknown time zone \"{}\"", zone_name));
        }
    }
    if (tokens.size() != 5 && tokens.size() != 6) {
        throw fail(fmt::format("expected 5 or 6 fields and an optional time zone (got {} fields)",
                               tokens.size()));
    }
    fields_->zone = find_zone(zone_name);
    if (fields_->zone == nullptr) throw fail(fmt::format("unknown time zone \"{}\"", zone_name));

    if (tokens.size() == 5) tokens.insert(tokens.begin(), "0");
    try {
        fields_->second_bits = parse_field<60>(tokens[0], kSecond);
        fields_->minute_bits = parse_field<60>(tokens[1], kMinute);
        fields_->hour_bits = parse_field<24>(tokens[2], kHour);
        fields_->day_bits = parse_field<32>(tokens[3], kDayOfMonth);
        fields_->month_bits = parse_field<13>(tokens[4], kMonth);
        fields_->weekday_bits = parse_field<8>(tokens[5], kDayOfWeek);
    } catch (const FieldError& error) {
        throw fail(error.message);
    }
    if (fields_->weekday_bits[7]) fields_->weekday_bits[0] = true;
    fields_->weekday_bits[7] = false;
    fields_->day_of_month_restricted = restricted(tokens[3]);
    fields_->day_of_week_restricted = restricted(tokens[5]);
}

CronExpression::~CronExpression() = default;
CronExpression::CronExpression(const CronExpression& other)
    : fields_(std::make_unique<Fields>(*other.fields_)) {}
CronExpression& CronExpression::operator=(const CronExpression& other) {
    if (this != &other) fields_ = std::make_unique<Fields>(*other.fields_);
    return *this;
}
CronExpression::CronExpression(CronExpression&&) noexcept = default;
CronExpression& CronExpression::operator=(CronExpression&&) noexcept = default;

const std::string& CronExpression::text() const noexcept { return fields_->text; }

std::string CronExpression::zone_name() const { return std::string(fields_->zone->name()); }

std::optional<SysSeconds> CronExpression::next_after(SysSeconds after) const {
    // Start a day early: the local day of `after` in this zone may begin before it.
    const auto local_after = fields_->zone->to_local(after);
    const date::local_days first_day = date::floor<days>(local_after) - days{1};
    for (int i = 0; i < kSearchDays; ++i) {
        const date::local_days day = first_day + days{i};
        if (!fields_->day_matches(day)) continue;
        if (auto found = fields_->first_in_day(day, after)) {
            // A firing on the next local day can precede one found late in this day
            // only around a repeated hour; checking one more day settles it.
            const date::local_days next = day + days{1};
            if (fields_->day_matches(next)) {
                if (auto later = fields_->first_in_day(next, after); later && *later < *found) {
                    return later;
                }
            }
            return found;
        }
    }
    return std::nullopt;
}

SysSeconds parse_time(std::string_view text) {
    const auto fail = [&] {
        return ConfigError(fmt::format(
            "time \"{}\": expected ISO-8601 such as 2027-01-01T05:00:00Z (or an offset such as "
            "+01:00), or epoch seconds",
            text));
    };
    const std::string normal(text);
    long long epoch = 0;
    const auto [end, error] = std::from_chars(normal.data(), normal.data() + normal.size(), epoch);
    if (!normal.empty() && error == std::errc{} && end == normal.data() + normal.size()) {
        return SysSeconds{seconds{epoch}};
    }
    // YYYY-MM-DD[T ]HH:MM[:SS] then Z or +HH:MM / -HH:MM / +HHMM.
    static const std::regex kIso(
        R"(^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|([+-])(\d{2}):?(\d{2}))$)");
    std::smatch match;
    if (!std::regex_match(normal, match, kIso)) throw fail();
    const auto number = [&](int group) {
        return match[group].matched ? std::stoi(match[group]) : 0;
    };
    const date::year_month_day day{date::year{number(1)},
                                   date::month{static_cast<unsigned>(number(2))},
                                   date::day{static_cast<unsigned>(number(3))}};
    if (!day.ok() || number(4) > 23 || number(5) > 59 || number(6) > 60) throw fail();
    SysSeconds time =
        date::sys_days{day} + hours{number(4)} + minutes{number(5)} + seconds{number(6)};
    if (match[8].matched) {
        const auto offset = hours{number(9)} + minutes{number(10)};
        time = match[8] == "+" ? time - offset : time + offset;
    }
    return time;
}

std::chrono::seconds parse_every(std::string_view text) {
    const auto fail = [&](std::string_view why) {
        return ConfigError(fmt::format("every \"{}\": {}", text, why));
    };
    std::string trimmed(text);
    trimmed.erase(std::remove_if(trimmed.begin(), trimmed.end(),
                                 [](unsigned char c) { return std::isspace(c) != 0; }),
                  trimmed.end());
    if (trimmed.empty()) throw fail("empty duration");

    seconds total{0};
    std::size_t i = 0;
    while (i < trimmed.size()) {
        std::size_t digits_end = i;
        while (digits_end < trimmed.size() &&
               std::isdigit(static_cast<unsigned char>(trimmed[digits_end]))) {
            ++digits_end;
        }
        if (digits_end == i) throw fail("expected a number such as 30s, 5m, 1h, 1d or 1h30m");
        long long amount = 0;
        std::from_chars(trimmed.data() + i, trimmed.data() + digits_end, amount);
        std::size_t unit_end = digits_end;
        while (unit_end < trimmed.size() &&
               std::isalpha(static_cast<unsigned char>(trimmed[unit_end]))) {
            ++unit_end;
        }
        const std::string unit = trimmed.substr(digits_end, unit_end - digits_end);
        if (unit.empty() && unit_end == trimmed.size() && i == 0) {
            total = seconds{amount};  // a plain number: seconds
        } else if (unit == "s") {
            total += seconds{amount};
        } else if (unit == "m") {
            total += minutes{amount};
        } else if (unit == "h") {
            total += hours{amount};
        } else if (unit == "d") {
            total += days{amount};
        } else if (unit == "w") {
            total += std::chrono::weeks{amount};
        } else if (unit == "ms") {
            throw fail("sub-second intervals are not supported");
        } else {
            throw fail(fmt::format("unknown unit \"{}\" (use s, m, h, d or w)",
                                   unit.empty() ? trimmed.substr(unit_end, 1) : unit));
        }
        i = unit_end;
    }
    if (total <= seconds{0}) throw fail("the interval must be at least one second");
    return total;
}

}  // namespace resque
