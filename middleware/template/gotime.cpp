#include "middleware/template/gotime.hpp"

#include <array>
#include <chrono>

namespace portcullis::tmpl::detail {

namespace {

constexpr std::array<std::string_view, 12> kMonths = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
constexpr std::array<std::string_view, 7> kDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                   "Thursday", "Friday", "Saturday"};

enum Std {
    kNone,
    kLongMonth,
    kMonth,
    kNumMonth,
    kZeroMonth,
    kLongWeekDay,
    kWeekDay,
    kDay,
    kUnderDay,
    kZeroDay,
    kHour,
    kHour12,
    kZeroHour12,
    kMinute,
    kZeroMinute,
    kSecond,
    kZeroSecond,
    kLongYear,
    kYear,
    kPM,
    kpm,
    kTZ,
    kISO8601TZ,
    kISO8601SecondsTZ,
    kISO8601ShortTZ,
    kISO8601ColonTZ,
    kISO8601ColonSecondsTZ,
    kNumTZ,
    kNumSecondsTz,
    kNumShortTZ,
    kNumColonTZ,
    kNumColonSecondsTZ,
    kFracSecond0,
    kFracSecond9,
};

struct Chunk {
    std::string_view prefix;
    Std std = kNone;
    int frac_digits = 0;
    char frac_sep = '.';
    std::string_view suffix;
};

bool starts_with_lower(std::string_view s) {
    return !s.empty() && s[0] >= 'a' && s[0] <= 'z';
}

bool has(std::string_view layout, std::size_t i, std::string_view what) {
    return layout.substr(i, what.size()) == what;
}

Chunk next_std_chunk(std::string_view layout) {
    auto make = [&](std::size_t i, Std std, std::size_t len) {
        Chunk c;
        c.prefix = layout.substr(0, i);
        c.std = std;
        c.suffix = layout.substr(i + len);
        return c;
    };
    for (std::size_t i = 0; i < layout.size(); ++i) {
        const char c = layout[i];
        switch (c) {
        case 'J':
            if (has(layout, i, "Jan")) {
                if (has(layout, i, "January")) {
                    return make(i, kLongMonth, 7);
                }
                if (!starts_with_lower(layout.substr(i + 3))) {
                    return make(i, kMonth, 3);
                }
            }
            break;
        case 'M':
            if (layout.size() >= i + 3) {
                if (has(layout, i, "Mon")) {
                    if (has(layout, i, "Monday")) {
                        return make(i, kLongWeekDay, 6);
                    }
                    if (!starts_with_lower(layout.substr(i + 3))) {
                        return make(i, kWeekDay, 3);
                    }
                }
                if (has(layout, i, "MST")) {
                    return make(i, kTZ, 3);
                }
            }
            break;
        case '0':
            if (layout.size() >= i + 2 && layout[i + 1] >= '1' && layout[i + 1] <= '6') {
                static constexpr Std k0x[] = {kZeroMonth,  kZeroDay,    kZeroHour12,
                                              kZeroMinute, kZeroSecond, kYear};
                return make(i, k0x[layout[i + 1] - '1'], 2);
            }
            break;
        case '1':
            if (layout.size() >= i + 2 && layout[i + 1] == '5') {
                return make(i, kHour, 2);
            }
            return make(i, kNumMonth, 1);
        case '2':
            if (has(layout, i, "2006")) {
                return make(i, kLongYear, 4);
            }
            return make(i, kDay, 1);
        case '_':
            if (layout.size() >= i + 2 && layout[i + 1] == '2') {
                if (has(layout, i + 1, "2006")) {
                    Chunk ch;
                    ch.prefix = layout.substr(0, i + 1);
                    ch.std = kLongYear;
                    ch.suffix = layout.substr(i + 5);
                    return ch;
                }
                return make(i, kUnderDay, 2);
            }
            break;
        case '3':
            return make(i, kHour12, 1);
        case '4':
            return make(i, kMinute, 1);
        case '5':
            return make(i, kSecond, 1);
        case 'P':
            if (layout.size() >= i + 2 && layout[i + 1] == 'M') {
                return make(i, kPM, 2);
            }
            break;
        case 'p':
            if (layout.size() >= i + 2 && layout[i + 1] == 'm') {
                return make(i, kpm, 2);
            }
            break;
        case '-':
            if (has(layout, i, "-070000")) {
                return make(i, kNumSecondsTz, 7);
            }
            if (has(layout, i, "-07:00:00")) {
                return make(i, kNumColonSecondsTZ, 9);
            }
            if (has(layout, i, "-0700")) {
                return make(i, kNumTZ, 5);
            }
            if (has(layout, i, "-07:00")) {
                return make(i, kNumColonTZ, 6);
            }
            if (has(layout, i, "-07")) {
                return make(i, kNumShortTZ, 3);
            }
            break;
        case 'Z':
            if (has(layout, i, "Z070000")) {
                return make(i, kISO8601SecondsTZ, 7);
            }
            if (has(layout, i, "Z07:00:00")) {
                return make(i, kISO8601ColonSecondsTZ, 9);
            }
            if (has(layout, i, "Z0700")) {
                return make(i, kISO8601TZ, 5);
            }
            if (has(layout, i, "Z07:00")) {
                return make(i, kISO8601ColonTZ, 6);
            }
            if (has(layout, i, "Z07")) {
                return make(i, kISO8601ShortTZ, 3);
            }
            break;
        case '.':
        case ',':
            if (i + 1 < layout.size() && (layout[i + 1] == '0' || layout[i + 1] == '9')) {
                const char ch = layout[i + 1];
                std::size_t j = i + 1;
                while (j < layout.size() && layout[j] == ch) {
                    ++j;
                }
                if (!(j < layout.size() && layout[j] >= '0' && layout[j] <= '9')) {
                    Chunk out;
                    out.prefix = layout.substr(0, i);
                    out.std = ch == '9' ? kFracSecond9 : kFracSecond0;
                    out.frac_digits = static_cast<int>(j - (i + 1));
                    out.frac_sep = c;
                    out.suffix = layout.substr(j);
                    return out;
                }
            }
            break;
        default:
            break;
        }
    }
    Chunk none;
    none.prefix = layout;
    return none;
}

void append_int(std::string& out, std::int64_t x, int width) {
    if (x < 0) {
        out.push_back('-');
        x = -x;
    }
    char buf[24];
    int n = 0;
    do {
        buf[n++] = static_cast<char>('0' + x % 10);
        x /= 10;
    } while (x > 0);
    for (int w = n; w < width; ++w) {
        out.push_back('0');
    }
    while (n > 0) {
        out.push_back(buf[--n]);
    }
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        --q;
    }
    return q;
}

} // namespace

CivilTime civil_from_unix(std::int64_t unix_seconds) {
    const std::int64_t days = floor_div(unix_seconds, 86400);
    const std::int64_t secs = unix_seconds - days * 86400;
    // Howard Hinnant's civil_from_days.
    const std::int64_t z = days + 719468;
    const std::int64_t era = floor_div(z, 146097);
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = yoe + era * 400;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    CivilTime ct{};
    ct.year = m <= 2 ? y + 1 : y;
    ct.month = static_cast<int>(m);
    ct.day = static_cast<int>(d);
    ct.hour = static_cast<int>(secs / 3600);
    ct.minute = static_cast<int>((secs % 3600) / 60);
    ct.second = static_cast<int>(secs % 60);
    std::int64_t wd = (days + 4) % 7; // 1970-01-01 was a Thursday
    if (wd < 0) {
        wd += 7;
    }
    ct.weekday = static_cast<int>(wd);
    static constexpr int kCumDays[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    const bool leap = (ct.year % 4 == 0 && ct.year % 100 != 0) || ct.year % 400 == 0;
    ct.yday = kCumDays[ct.month - 1] + ct.day + ((leap && ct.month > 2) ? 1 : 0);
    return ct;
}

void append_time_format(std::string& out,
                        std::int64_t unix_seconds,
                        std::int32_t nanos,
                        std::string_view layout) {
    const CivilTime ct = civil_from_unix(unix_seconds);
    while (!layout.empty()) {
        Chunk ch = next_std_chunk(layout);
        out.append(ch.prefix);
        if (ch.std == kNone) {
            break;
        }
        layout = ch.suffix;
        switch (ch.std) {
        case kYear: {
            std::int64_t y = ct.year < 0 ? -ct.year : ct.year;
            append_int(out, y % 100, 2);
            break;
        }
        case kLongYear:
            append_int(out, ct.year, 4);
            break;
        case kMonth:
            out.append(kMonths[ct.month - 1].substr(0, 3));
            break;
        case kLongMonth:
            out.append(kMonths[ct.month - 1]);
            break;
        case kNumMonth:
            append_int(out, ct.month, 0);
            break;
        case kZeroMonth:
            append_int(out, ct.month, 2);
            break;
        case kWeekDay:
            out.append(kDays[ct.weekday].substr(0, 3));
            break;
        case kLongWeekDay:
            out.append(kDays[ct.weekday]);
            break;
        case kDay:
            append_int(out, ct.day, 0);
            break;
        case kUnderDay:
            if (ct.day < 10) {
                out.push_back(' ');
            }
            append_int(out, ct.day, 0);
            break;
        case kZeroDay:
            append_int(out, ct.day, 2);
            break;
        case kHour:
            append_int(out, ct.hour, 2);
            break;
        case kHour12:
        case kZeroHour12: {
            int hr = ct.hour % 12;
            if (hr == 0) {
                hr = 12;
            }
            append_int(out, hr, ch.std == kZeroHour12 ? 2 : 0);
            break;
        }
        case kMinute:
            append_int(out, ct.minute, 0);
            break;
        case kZeroMinute:
            append_int(out, ct.minute, 2);
            break;
        case kSecond:
            append_int(out, ct.second, 0);
            break;
        case kZeroSecond:
            append_int(out, ct.second, 2);
            break;
        case kPM:
            out += ct.hour >= 12 ? "PM" : "AM";
            break;
        case kpm:
            out += ct.hour >= 12 ? "pm" : "am";
            break;
        case kISO8601TZ:
        case kISO8601ColonTZ:
        case kISO8601SecondsTZ:
        case kISO8601ShortTZ:
        case kISO8601ColonSecondsTZ:
            out.push_back('Z'); // the offset is always zero
            break;
        case kNumTZ:
        case kNumColonTZ:
        case kNumSecondsTz:
        case kNumShortTZ:
        case kNumColonSecondsTZ:
            out += "+00";
            if (ch.std == kNumColonTZ || ch.std == kNumColonSecondsTZ) {
                out.push_back(':');
            }
            if (ch.std != kNumShortTZ) {
                out += "00";
            }
            if (ch.std == kNumSecondsTz || ch.std == kNumColonSecondsTZ) {
                if (ch.std == kNumColonSecondsTZ) {
                    out.push_back(':');
                }
                out += "00";
            }
            break;
        case kTZ:
            out += "UTC";
            break;
        case kFracSecond0:
        case kFracSecond9: {
            const bool trim = ch.std == kFracSecond9;
            const int n = ch.frac_digits;
            if (trim && (n == 0 || nanos == 0)) {
                break;
            }
            const std::size_t start = out.size();
            out.push_back(ch.frac_sep);
            append_int(out, nanos, 9);
            if (n < 9) {
                out.resize(out.size() - static_cast<std::size_t>(9 - n));
            }
            if (trim) {
                while (out.size() > start && out.back() == '0') {
                    out.pop_back();
                }
                if (out.size() > start && out.back() == ch.frac_sep) {
                    out.pop_back();
                }
            }
            break;
        }
        case kNone:
            break;
        }
    }
}

void append_time_string(std::string& out, std::int64_t unix_seconds, std::int32_t nanos) {
    append_time_format(out, unix_seconds, nanos, "2006-01-02 15:04:05.999999999 -0700 MST");
}

void time_now(std::int64_t& unix_seconds, std::int32_t& nanos) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
    unix_seconds = floor_div(ns, 1'000'000'000);
    nanos = static_cast<std::int32_t>(ns - unix_seconds * 1'000'000'000);
}

} // namespace portcullis::tmpl::detail
