// The coarse clocks read the same clocks as std::chrono's, at most a tick (here: under 50 ms)
// behind them: deadlines computed from them are on steady_clock's time line, and expiry checks
// on the system clock's.
#include "gateway/common/clock.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;

TEST_CASE("the coarse steady clock is steady_clock's time, at most a tick behind", "[unit]") {
    for (int i = 0; i < 1000; ++i) {
        const auto before = std::chrono::steady_clock::now();
        const auto coarse = portcullis::coarse::steady_now();
        const auto after = std::chrono::steady_clock::now();
        REQUIRE(coarse <= after);
        REQUIRE(before - coarse < 50ms);
    }
}

TEST_CASE("the coarse unix clock is the system clock's second, at most a tick behind", "[unit]") {
    for (int i = 0; i < 1000; ++i) {
        const auto coarse = portcullis::coarse::unix_now();
        const auto precise = portcullis::unix_now();
        REQUIRE(coarse <= precise);
        REQUIRE(precise - coarse <= 1);
    }
}
