#pragma once

// Go's time.Time formatting for template values. Every time is shown in UTC (the zone Tyk's
// container images run in), so "Local" and "UTC" print alike.
#include <cstdint>
#include <string>
#include <string_view>

namespace portcullis::tmpl::detail {

struct CivilTime {
    std::int64_t year;
    int month; // 1..12
    int day;   // 1..31
    int hour;
    int minute;
    int second;
    int weekday; // 0 = Sunday
    int yday;    // 1..366
};

CivilTime civil_from_unix(std::int64_t unix_seconds);

/// time.Time.Format(layout) for a UTC time.
void append_time_format(std::string& out,
                        std::int64_t unix_seconds,
                        std::int32_t nanos,
                        std::string_view layout);
/// time.Time.String() for a UTC time without a monotonic reading.
void append_time_string(std::string& out, std::int64_t unix_seconds, std::int32_t nanos);

/// The wall clock now.
void time_now(std::int64_t& unix_seconds, std::int32_t& nanos);

} // namespace portcullis::tmpl::detail
