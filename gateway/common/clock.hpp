#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace portcullis {

/// Unix time in whole seconds.
inline std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The clocks as of the kernel's last tick (CLOCK_*_COARSE): at most one tick (1-10 ms) behind,
/// and about a quarter of the cost of a full clock read, which a request would otherwise pay
/// several times over. For deadlines of seconds and expiry checks in whole seconds, never for
/// measuring latency.
namespace coarse {

/// steady_clock's time (CLOCK_MONOTONIC has the same origin), up to one tick early.
inline std::chrono::steady_clock::time_point steady_now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

/// Unix time in whole seconds, up to one tick early.
inline std::int64_t unix_now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec);
}

} // namespace coarse
} // namespace portcullis
