// RedisClient against a real redis-server on loopback.
#include "gateway/redis/redis_client.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_awaitable.hpp"

#include <catch2/catch.hpp>

using namespace portcullis;
using portcullis::test::RedisServer;
using portcullis::test::run_awaitable;
using portcullis::test::run_until;
using Result = std::pair<error_code, redis::Reply>;

namespace {

redis::ClientOptions options_for(std::uint16_t port) {
    redis::ClientOptions o;
    o.port = port;
    o.command_timeout = std::chrono::milliseconds(500);
    o.connect_timeout = std::chrono::milliseconds(500);
    o.max_backoff = std::chrono::milliseconds(200);
    return o;
}

awaitable<Result> cmd(std::shared_ptr<redis::RedisClient> c, std::vector<std::string> args) {
    co_return co_await c->command(std::move(args));
}

/// Sends `n` commands at once (pipelined on the one connection) and collects the replies.
awaitable<std::vector<Result>> burst(std::shared_ptr<redis::RedisClient> c, int n) {
    std::vector<asio::awaitable<Result>> ops;
    std::vector<Result> out;
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::future<Result>> futures;
    for (int i = 0; i < n; ++i) {
        futures.push_back(asio::co_spawn(ex, cmd(c, {"INCR", "burst"}), asio::use_future));
    }
    // Let the spawned commands run, then collect without blocking the loop.
    asio::steady_timer t{ex};
    for (auto& f : futures) {
        while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
            t.expires_after(std::chrono::milliseconds(1));
            co_await t.async_wait(use_nothrow);
        }
        out.push_back(f.get());
    }
    co_return out;
}

struct Connected {
    explicit Connected(std::uint16_t port, redis::ClientOptions o = {})
        : client(std::make_shared<redis::RedisClient>(ioc, [&] {
              auto opts = options_for(port);
              opts.username = o.username;
              opts.password = o.password;
              opts.database = o.database;
              return opts;
          }())) {
        client->start();
    }
    ~Connected() {
        client->stop();
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(20));
    }
    bool wait_connected() {
        return run_until(
            ioc, [this] { return client->connected(); }, std::chrono::seconds(5));
    }
    Result run(std::vector<std::string> args) {
        return run_awaitable(ioc, cmd(client, std::move(args)));
    }
    asio::io_context ioc;
    std::shared_ptr<redis::RedisClient> client;
};

} // namespace

TEST_CASE("redis client sets, gets and misses keys, binary-safe", "[redis]") {
    RedisServer server;
    Connected c{server.port()};
    REQUIRE(c.wait_connected());

    const std::string value("a\0b\r\nc", 6);
    auto [sec, set] = c.run({"SET", "k1", value});
    REQUIRE_FALSE(sec);
    CHECK(set.str == "OK");
    auto [gec, got] = c.run({"GET", "k1"});
    REQUIRE_FALSE(gec);
    CHECK(got.is_string());
    CHECK(got.str == value);
    auto [mec, miss] = c.run({"GET", "missing"});
    REQUIRE_FALSE(mec);
    CHECK(miss.is_nil());
    auto [eec, err] = c.run({"INCR", "k1"});
    CHECK(eec == redis::Errc::server_error);
    CHECK_THAT(err.str, Catch::Contains("not an integer"));
    CHECK(server.command({"GET", "k1"}) == value);
}

TEST_CASE("redis client pipelines many commands on one connection", "[redis]") {
    RedisServer server;
    Connected c{server.port()};
    REQUIRE(c.wait_connected());
    auto results = run_awaitable(c.ioc, burst(c.client, 200));
    REQUIRE(results.size() == 200);
    int ok = 0;
    for (const auto& [ec, reply] : results) {
        ok += !ec && reply.type == redis::Reply::Type::integer;
    }
    CHECK(ok == 200);
    CHECK(server.command({"GET", "burst"}) == "200");
    // The client's one connection plus the CLIENT LIST connection itself.
    const std::string clients = server.command({"CLIENT", "LIST"});
    CHECK(std::count(clients.begin(), clients.end(), '\n') == 2);
}

TEST_CASE("redis client fails fast while Redis is unreachable", "[redis]") {
    Connected c{test::free_port()};
    CHECK_FALSE(run_until(
        c.ioc, [&] { return c.client->connected(); }, std::chrono::milliseconds(300)));
    const auto t0 = std::chrono::steady_clock::now();
    auto [ec, reply] = c.run({"GET", "x"});
    CHECK(ec == redis::Errc::unavailable);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(100));
}

TEST_CASE("a command sent right after start waits for the first connection", "[redis]") {
    RedisServer server;
    Connected c{server.port()}; // started, not yet connected: no wait_connected()
    REQUIRE_FALSE(c.client->connected());
    auto [ec, reply] = c.run({"PING"});
    REQUIRE_FALSE(ec);
    CHECK(reply.str == "PONG");
}

TEST_CASE("a command sent right after start against no Redis fails within the connect timeout",
          "[redis]") {
    Connected c{test::free_port()};
    const auto t0 = std::chrono::steady_clock::now();
    auto [ec, reply] = c.run({"GET", "x"});
    CHECK(ec == redis::Errc::unavailable);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}

TEST_CASE("redis client reconnects after the server is killed and restarted", "[redis]") {
    RedisServer server;
    Connected c{server.port()};
    REQUIRE(c.wait_connected());
    REQUIRE_FALSE(c.run({"SET", "a", "1"}).first);

    server.stop();
    CHECK(run_until(
        c.ioc, [&] { return !c.client->connected(); }, std::chrono::seconds(3)));
    CHECK(c.run({"GET", "a"}).first == redis::Errc::unavailable);

    server.start();
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(c.wait_connected());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
    auto [ec, reply] = c.run({"SET", "b", "2"});
    CHECK_FALSE(ec);
    CHECK(server.command({"GET", "b"}) == "2");
}

TEST_CASE("redis client reconnects after CLIENT KILL", "[redis]") {
    RedisServer server;
    Connected c{server.port()};
    REQUIRE(c.wait_connected());
    server.command({"CLIENT", "KILL", "TYPE", "normal"});
    CHECK(run_until(
        c.ioc, [&] { return c.client->connected() && !c.run({"PING"}).first; },
        std::chrono::seconds(5)));
}

TEST_CASE("redis client times a command out when Redis is stalled", "[redis]") {
    RedisServer server{{"--enable-debug-command", "yes"}};
    Connected c{server.port()};
    REQUIRE(c.wait_connected());
    std::string slept;
    std::thread sleeper([&] { slept = server.command({"DEBUG", "SLEEP", "1.5"}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto t0 = std::chrono::steady_clock::now();
    auto [ec, reply] = c.run({"GET", "x"});
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    sleeper.join();
    REQUIRE(slept == "OK");
    CHECK(ec == redis::Errc::timeout);
    CHECK(elapsed < std::chrono::milliseconds(1000));
    // The late reply is dropped and the connection keeps working.
    CHECK(run_until(
        c.ioc, [&] { return !c.run({"PING"}).first; }, std::chrono::seconds(5)));
}

/// Sends GET x, then GET y `gap` later, while Redis sleeps; yields when each ended (from t0).
awaitable<std::vector<std::pair<Result, std::chrono::steady_clock::duration>>>
two_late(std::shared_ptr<redis::RedisClient> c, std::chrono::milliseconds gap) {
    using Clock = std::chrono::steady_clock;
    auto ex = co_await asio::this_coro::executor;
    const auto t0 = Clock::now();
    auto first = asio::co_spawn(ex, cmd(c, {"GET", "x"}), asio::use_future);
    asio::steady_timer t{ex};
    t.expires_after(gap);
    co_await t.async_wait(use_nothrow);
    auto second = asio::co_spawn(ex, cmd(c, {"GET", "y"}), asio::use_future);
    std::vector<std::pair<Result, Clock::duration>> out(2);
    std::vector<bool> seen(2, false);
    while (!seen[0] || !seen[1]) {
        for (int i = 0; i < 2; ++i) {
            auto& f = i == 0 ? first : second;
            if (!seen[i] && f.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
                out[i] = {f.get(), Clock::now() - t0};
                seen[i] = true;
            }
        }
        t.expires_after(std::chrono::milliseconds(1));
        co_await t.async_wait(use_nothrow);
    }
    co_return out;
}

TEST_CASE("commands in flight together each time out at their own deadline", "[redis]") {
    RedisServer server{{"--enable-debug-command", "yes"}};
    Connected c{server.port()}; // command timeout 500 ms
    REQUIRE(c.wait_connected());
    std::string slept;
    std::thread sleeper([&] { slept = server.command({"DEBUG", "SLEEP", "2"}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto ends = run_awaitable(c.ioc, two_late(c.client, std::chrono::milliseconds(300)));
    sleeper.join();
    REQUIRE(slept == "OK");
    CHECK(ends[0].first.first == redis::Errc::timeout);
    CHECK(ends[1].first.first == redis::Errc::timeout);
    // The second's deadline is its own (300 ms + 500 ms), not the first's, and not Redis's 2 s.
    CHECK(ends[0].second < std::chrono::milliseconds(750));
    CHECK(ends[1].second >= std::chrono::milliseconds(780));
    CHECK(ends[1].second < std::chrono::milliseconds(1500));
    CHECK(run_until(
        c.ioc, [&] { return !c.run({"PING"}).first; }, std::chrono::seconds(5)));
}

TEST_CASE("a stopped client leaves no work on its io_context", "[redis]") {
    RedisServer server;
    asio::io_context ioc;
    auto options = options_for(server.port());
    options.command_timeout = std::chrono::seconds(60);
    auto client = std::make_shared<redis::RedisClient>(ioc, options);
    client->start();
    REQUIRE(run_until(
        ioc, [&] { return client->connected(); }, std::chrono::seconds(5)));
    REQUIRE(!run_awaitable(ioc, cmd(client, {"SET", "k", "v"})).first);
    client->stop();
    ioc.restart();
    // No command deadline is left armed: run_for returns as soon as the stop's own completions
    // ran, the io_context out of work, long before the 60 s command timeout.
    ioc.run_for(std::chrono::seconds(20));
    CHECK(ioc.stopped());
}

TEST_CASE("redis client authenticates and selects the configured database", "[redis]") {
    RedisServer server{{"--requirepass", "s3cret"}};
    redis::ClientOptions o;
    o.password = "s3cret";
    o.database = 3;
    Connected c{server.port(), o};
    REQUIRE(c.wait_connected());
    REQUIRE_FALSE(c.run({"SET", "in3", "yes"}).first);
    CHECK(server.command({"GET", "in3"}, 3) == "yes");
    CHECK(server.command({"GET", "in3"}, 0) == "(nil)");

    SECTION("a wrong password never connects") {
        o.password = "wrong";
        Connected bad{server.port(), o};
        CHECK_FALSE(bad.wait_connected());
    }
}

TEST_CASE("commands are written as RESP arrays of bulk strings, binary-safe", "[unit]") {
    std::string out = "left over";
    portcullis::redis::format_command(out, {"GET", "apikey-abc"});
    CHECK(out == "*2\r\n$3\r\nGET\r\n$10\r\napikey-abc\r\n");
    portcullis::redis::format_command(out, {"SET", "k", std::string("a\r\n\0b", 5), ""});
    CHECK(out == std::string("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\n\0b\r\n$0\r\n\r\n", 37));
    portcullis::redis::format_command(out, {"MGET", std::string(1000, 'x')});
    CHECK(out == "*2\r\n$4\r\nMGET\r\n$1000\r\n" + std::string(1000, 'x') + "\r\n");
}
