#pragma once

// Waiting for a gateway to have recovered on every worker: an attempt (each on new connections,
// so successive attempts land on different workers) that succeeds several times in a row.
#include <chrono>
#include <optional>
#include <thread>

namespace portcullis::test {

/// Calls `attempt` (returning bool) until it succeeds `times` in a row, pausing `pause` after
/// each failure, for at most `limit` (at least one attempt). Returns when the streak that
/// reached `times` began; nothing when none did in time. Exceptions from `attempt` propagate.
template <class Attempt>
std::optional<std::chrono::steady_clock::time_point>
streak_of_successes(int times,
                    std::chrono::milliseconds limit,
                    std::chrono::milliseconds pause,
                    Attempt&& attempt) {
    using Clock = std::chrono::steady_clock;
    const auto until = Clock::now() + limit;
    Clock::time_point began{};
    int in_a_row = 0;
    do {
        const auto started = Clock::now();
        if (attempt()) {
            if (in_a_row++ == 0) {
                began = started;
            }
            if (in_a_row >= times) {
                return began;
            }
        } else {
            in_a_row = 0;
            std::this_thread::sleep_for(pause);
        }
    } while (Clock::now() < until);
    return std::nullopt;
}

} // namespace portcullis::test
