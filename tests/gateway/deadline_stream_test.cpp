// DeadlineStream's contract: a passed deadline fails the pending operation and every later one
// with beast::error::timeout, without closing the socket; a new deadline (or none) makes the
// stream usable again, so an error answer can still go out after a read timed out.
#include "gateway/common/deadline_stream.hpp"
#include "tests/support/run_awaitable.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace portcullis;
using namespace std::chrono_literals;
using portcullis::test::run_until;

namespace {

/// A connected loopback pair: `stream` under test, `peer` the other end.
struct Pair {
    asio::io_context ioc;
    Acceptor acceptor{ioc, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
    Socket peer{ioc};
    DeadlineStream stream{ioc};

    Pair() {
        stream.socket().connect(acceptor.local_endpoint());
        peer = acceptor.accept();
    }

    /// Starts a one-byte read or a write of `text` and runs until it completes.
    error_code read_one() {
        char byte = 0;
        error_code result;
        bool done = false;
        stream.async_read_some(asio::buffer(&byte, 1), [&](error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
        REQUIRE(run_until(
            ioc, [&] { return done; }, 5s));
        return result;
    }
    error_code write(const std::string& text) {
        error_code result;
        bool done = false;
        stream.async_write_some(asio::buffer(text), [&](error_code ec, std::size_t n) {
            result = ec;
            done = true;
            CHECK((ec || n == text.size()));
        });
        REQUIRE(run_until(
            ioc, [&] { return done; }, 5s));
        return result;
    }
    std::string peer_reads(std::size_t n) {
        std::string got(n, '\0');
        asio::read(peer, asio::buffer(got));
        return got;
    }
};

} // namespace

TEST_CASE("deadline stream: a passed deadline fails operations until a new deadline is set",
          "[unit][deadline]") {
    Pair p;
    p.stream.expires_after(50ms);
    const auto started = std::chrono::steady_clock::now();
    CHECK(p.read_one() == beast::error::timeout); // pending when the deadline passed
    CHECK(std::chrono::steady_clock::now() - started >= 40ms);
    CHECK(p.write("x") == beast::error::timeout); // started after it: fails at once
    error_code ec;
    CHECK(p.stream.write_now(asio::buffer(std::string("x")), ec) == 0);
    CHECK(ec == beast::error::timeout);

    // The socket is still open: with a new deadline the answer goes out (a 408, say).
    p.stream.expires_after(1s);
    CHECK_FALSE(p.write("late answer"));
    CHECK(p.peer_reads(11) == "late answer");
}

TEST_CASE("deadline stream: a deadline that passed while idle is cleared by expires_never",
          "[unit][deadline]") {
    // A pooled upstream connection: its last deadline may pass after the response was read.
    Pair p;
    p.stream.expires_after(20ms);
    CHECK_FALSE(run_until(
        p.ioc, [] { return false; }, 100ms)); // the timer fires, nothing pending
    p.stream.expires_never();
    error_code ec;
    CHECK(p.stream.write_now(asio::buffer(std::string("ok")), ec) == 2);
    CHECK_FALSE(ec);
    CHECK(p.peer_reads(2) == "ok");
}

TEST_CASE("deadline stream: a deadline moved later keeps a slow operation alive",
          "[unit][deadline]") {
    Pair p;
    p.stream.expires_after(50ms);
    p.stream.expires_after(2s); // moved later before the first one passed
    char byte = 0;
    bool done = false;
    error_code result;
    p.stream.async_read_some(asio::buffer(&byte, 1), [&](error_code ec, std::size_t) {
        result = ec;
        done = true;
    });
    CHECK_FALSE(run_until(
        p.ioc, [&] { return done; }, 200ms)); // still waiting past 50 ms
    asio::write(p.peer, asio::buffer(std::string("z")));
    REQUIRE(run_until(
        p.ioc, [&] { return done; }, 5s));
    CHECK_FALSE(result);
    CHECK(byte == 'z');
}
