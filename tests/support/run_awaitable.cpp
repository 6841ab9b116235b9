#include "tests/support/run_awaitable.hpp"

namespace portcullis::test {

bool run_until(asio::io_context& ioc,
               const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(5));
    }
    return done();
}

} // namespace portcullis::test
