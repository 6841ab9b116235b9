#pragma once

#include "gateway/common/asio.hpp"

#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>

namespace portcullis::test {

/// Runs `op` on `ioc` until it completes or `limit` passes; REQUIREs completion and returns the
/// result. Keeps the test bounded in time whatever the coroutine does.
template <class T>
T run_awaitable(asio::io_context& ioc,
                awaitable<T> op,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto future = asio::co_spawn(ioc, std::move(op), asio::use_future);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
           std::chrono::steady_clock::now() < deadline) {
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(5));
    }
    REQUIRE(future.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    return future.get();
}

/// Runs `ioc` until `done()` holds or `limit` passes; returns done().
bool run_until(asio::io_context& ioc,
               const std::function<bool()>& done,
               std::chrono::milliseconds limit = std::chrono::seconds(10));

} // namespace portcullis::test
