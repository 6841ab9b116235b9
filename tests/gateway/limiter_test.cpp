// The rate limit and quota script against a real redis-server: every limiter mode, window edges
// (the gateway's clock is injected through LimitRequest::now_ns), quota renewal, shared counters
// and the check order.
#include "gateway/limits/limiter.hpp"
#include "gateway/redis/redis_client.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_awaitable.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace portcullis;
using limits::Mode;
using limits::Verdict;
using portcullis::test::RedisServer;
using portcullis::test::run_awaitable;
using portcullis::test::run_until;

namespace {

constexpr std::int64_t kMs = 1000000;
constexpr std::int64_t kS = 1000000000;
// A fixed "now" (unix ns) far from any window edge of 2 s, 10 s or 60 s windows.
constexpr std::int64_t kT0 = 1796000000 * kS + 100 * kMs;

struct Limiter {
    explicit Limiter(std::uint16_t port) {
        redis::ClientOptions o;
        o.port = port;
        o.command_timeout = std::chrono::milliseconds(500);
        o.connect_timeout = std::chrono::milliseconds(500);
        o.max_backoff = std::chrono::milliseconds(200);
        client = std::make_shared<redis::RedisClient>(ioc, o);
        client->start();
        REQUIRE(run_until(ioc, [this] { return client->connected(); }));
    }
    ~Limiter() {
        client->stop();
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(20));
    }
    std::pair<error_code, limits::LimitResult> run(const limits::LimitRequest& request) {
        return run_awaitable(ioc, limits::run_limits(client, request));
    }
    /// One session rate check of `rate` per `per` s on `key` at `now`.
    limits::LimitResult rate(Mode mode,
                             std::int64_t now,
                             double rate,
                             double per,
                             const std::string& key = "rate-limit-k") {
        limits::LimitRequest r;
        r.mode = mode;
        r.now_ns = now;
        r.session_rate = limits::RateCheck{key, rate, per};
        auto [ec, result] = run(r);
        REQUIRE_FALSE(ec);
        return result;
    }
    asio::io_context ioc;
    std::shared_ptr<redis::RedisClient> client;
};

} // namespace

TEST_CASE("window limiter: rate per window opened by the first request", "[redis][limits]") {
    RedisServer server;
    Limiter l{server.port()};
    for (int i = 0; i < 3; ++i) {
        const auto r = l.rate(Mode::window, kT0 + i * kMs, 3, 2);
        CHECK(r.verdict == Verdict::pass);
        CHECK(r.session_rate->headers.remaining == 2 - i);
        CHECK(r.session_rate->headers.limit == 3);
        CHECK(r.session_rate->headers.reset == (kT0 + 2 * kS) / kS + 1);
    }
    CHECK(l.rate(Mode::window, kT0 + 10 * kMs, 3, 2).verdict == Verdict::rate_limited);
    // the last millisecond of the window is still in it; the window's end opens a new one
    CHECK(l.rate(Mode::window, kT0 + 2 * kS - kMs, 3, 2).verdict == Verdict::rate_limited);
    const auto next = l.rate(Mode::window, kT0 + 2 * kS, 3, 2);
    CHECK(next.verdict == Verdict::pass);
    CHECK(next.session_rate->headers.remaining == 2);
    CHECK(server.command({"HGET", "rate-limit-k.window", "c"}) == "1");
    const auto ttl = std::stoll(server.command({"PTTL", "rate-limit-k.window"}));
    CHECK(ttl > 0);
    CHECK(ttl <= 2000);
    // a fractional rate admits floor(rate), at least one
    CHECK(l.rate(Mode::window, kT0, 0.5, 1, "rate-limit-half").verdict == Verdict::pass);
    CHECK(l.rate(Mode::window, kT0 + kMs, 0.5, 1, "rate-limit-half").verdict ==
          Verdict::rate_limited);
}

TEST_CASE("rolling limiter: Tyk's sliding log, blocked requests logged too", "[redis][limits]") {
    RedisServer server;
    Limiter l{server.port()};
    for (int i = 0; i < 3; ++i) {
        const auto r = l.rate(Mode::rolling, kT0 + i * kMs, 3, 2);
        CHECK(r.verdict == Verdict::pass);
        CHECK(r.session_rate->headers.remaining == 2 - i);
    }
    CHECK(l.rate(Mode::rolling, kT0 + 3 * kMs, 3, 2).verdict == Verdict::rate_limited);
    // Tyk's layout: a sorted set of request times (ns), members as scores, TTL per
    CHECK(server.command({"ZCARD", "rate-limit-k"}) == "4");
    CHECK(server.command({"ZRANGE", "rate-limit-k", "0", "0"}) == std::to_string(kT0) + "\n");
    CHECK(server.command({"TTL", "rate-limit-k"}) == "2");
    // two seconds after the 2nd request, the first two have left the window: 2 left (< 3)
    CHECK(l.rate(Mode::rolling, kT0 + 2 * kS + kMs, 3, 2).verdict == Verdict::pass);
    // requests in the same nanosecond are all counted
    for (int i = 0; i < 3; ++i) {
        CHECK(l.rate(Mode::rolling, kT0, 3, 2, "rate-limit-same").verdict == Verdict::pass);
    }
    CHECK(server.command({"ZCARD", "rate-limit-same"}) == "3");
    CHECK(l.rate(Mode::rolling, kT0, 3, 2, "rate-limit-same").verdict == Verdict::rate_limited);
}

TEST_CASE("sentinel limiter: blocked while the BLOCKED marker lives", "[redis][limits]") {
    RedisServer server;
    Limiter l{server.port()};
    // count before adding: 0, 1, 2 -> the third sets the marker (count > rate - 2), still passes
    for (int i = 0; i < 3; ++i) {
        CHECK(l.rate(Mode::sentinel, kT0 + i * kMs, 3, 2).verdict == Verdict::pass);
    }
    CHECK(server.command({"EXISTS", "rate-limit-k.BLOCKED"}) == "1");
    CHECK(server.command({"TTL", "rate-limit-k.BLOCKED"}) == "2");
    CHECK(l.rate(Mode::sentinel, kT0 + 3 * kMs, 3, 2).verdict == Verdict::rate_limited);
}

TEST_CASE("fixed window limiter: counters per aligned window", "[redis][limits]") {
    RedisServer server;
    Limiter l{server.port()};
    const std::int64_t start = limits::fixed_window_start_ns(kT0, 10 * kS);
    for (int i = 0; i < 2; ++i) {
        CHECK(l.rate(Mode::fixed_window, kT0 + i * kMs, 2, 10).verdict == Verdict::pass);
    }
    CHECK(l.rate(Mode::fixed_window, kT0 + 2 * kMs, 2, 10).verdict == Verdict::rate_limited);
    const std::string key = "rate-limit-k/" + std::to_string(start);
    CHECK(server.command({"GET", key}) == "3");
    const auto ttl = std::stoll(server.command({"PTTL", key}));
    CHECK(ttl > 0);
    CHECK(ttl <= 10000);
    // the next aligned window has its own counter
    CHECK(l.rate(Mode::fixed_window, start + 10 * kS, 2, 10).verdict == Verdict::pass);
    CHECK(l.rate(Mode::fixed_window, start + 10 * kS - 1, 2, 10).verdict == Verdict::rate_limited);
}

TEST_CASE("quota: exactly quota_max pass, the counter renews after quota_renewal_rate",
          "[redis][limits]") {
    RedisServer server;
    Limiter l{server.port()};
    limits::LimitRequest r;
    r.now_ns = kT0;
    r.quota = limits::QuotaCheck{"quota-k", 3, 1};
    for (int i = 1; i <= 3; ++i) {
        auto [ec, result] = l.run(r);
        REQUIRE_FALSE(ec);
        CHECK(result.verdict == Verdict::pass);
        CHECK(result.quota->count == i);
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        CHECK(result.quota->expires_ms > now_ms - 100);
        CHECK(result.quota->expires_ms <= now_ms + 1100);
    }
    auto [ec, blocked] = l.run(r);
    REQUIRE_FALSE(ec);
    CHECK(blocked.verdict == Verdict::quota_exceeded);
    // the counter's TTL is real time: wait for it to expire (bounded)
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto [ec2, renewed] = l.run(r);
    REQUIRE_FALSE(ec2);
    CHECK(renewed.verdict == Verdict::pass);
    CHECK(renewed.quota->count == 1);

    SECTION("a counter left without TTL is restarted when the quota renews") {
        server.command({"SET", "quota-k", "50"});
        auto [ec3, restarted] = l.run(r);
        REQUIRE_FALSE(ec3);
        CHECK(restarted.verdict == Verdict::pass);
        CHECK(restarted.quota->count == 1);
    }
    SECTION("a quota that never renews has no TTL") {
        r.quota = limits::QuotaCheck{"quota-never", 1, 0};
        auto [e1, first] = l.run(r);
        CHECK(first.verdict == Verdict::pass);
        CHECK(first.quota->expires_ms == -1);
        auto [e2, second] = l.run(r);
        CHECK(second.verdict == Verdict::quota_exceeded);
        CHECK(server.command({"TTL", "quota-never"}) == "-1");
    }
}

TEST_CASE("checks run in Tyk's order and stop at the first block", "[redis][limits]") {
    RedisServer server;
    Limiter l{server.port()};
    limits::LimitRequest r;
    r.now_ns = kT0;
    r.session_rate = limits::RateCheck{"rate-limit-k", 1, 60};
    r.quota = limits::QuotaCheck{"quota-k", 100, 60};
    r.api_rate = limits::RateCheck{"rate-limit-apilimiter-oa", 100, 60};
    auto [e1, first] = l.run(r);
    REQUIRE_FALSE(e1);
    CHECK(first.verdict == Verdict::pass);
    REQUIRE(first.api_rate);
    auto [e2, second] = l.run(r);
    REQUIRE_FALSE(e2);
    CHECK(second.verdict == Verdict::rate_limited);
    CHECK_FALSE(second.quota);
    // the blocked request consumed neither quota nor the API's allowance
    CHECK(server.command({"GET", "quota-k"}) == "1");
    CHECK(server.command({"HGET", "rate-limit-apilimiter-oa.window", "c"}) == "1");

    r.session_rate.reset();
    r.quota = limits::QuotaCheck{"quota-q", 1, 60};
    auto [e3, q1] = l.run(r);
    CHECK(q1.verdict == Verdict::pass);
    auto [e4, q2] = l.run(r);
    CHECK(q2.verdict == Verdict::quota_exceeded);
    CHECK_FALSE(q2.api_rate);
    CHECK(server.command({"HGET", "rate-limit-apilimiter-oa.window", "c"}) == "2");

    r.quota.reset();
    r.api_rate = limits::RateCheck{"rate-limit-apilimiter-ob", 1, 60};
    auto [e5, a1] = l.run(r);
    CHECK(a1.verdict == Verdict::pass);
    auto [e6, a2] = l.run(r);
    CHECK(a2.verdict == Verdict::api_rate_limited);
}

TEST_CASE("keys sharing a counter name share the limit (rate_limit_pattern)", "[redis][limits]") {
    RedisServer server;
    Limiter l{server.port()};
    // Two sessions whose pattern expands to the same text plan the same counters.
    nlohmann::json doc = {{"rate", 2}, {"per", 60}, {"quota_max", 3}};
    std::string error;
    const auto session = Session::from_json(doc, error);
    REQUIRE(session);
    limits::SessionRequest a;
    a.api_id = "api";
    a.method = "GET";
    a.path = "/";
    a.key_id = "key-a";
    a.pattern = "tenant-acme";
    limits::SessionRequest b = a;
    b.key_id = "key-b";
    const auto plan_a = limits::plan_session(*session, a);
    const auto plan_b = limits::plan_session(*session, b);
    int passed = 0;
    for (int i = 0; i < 4; ++i) {
        const auto& plan = i % 2 == 0 ? plan_a : plan_b;
        limits::LimitRequest r;
        r.now_ns = kT0 + i * kMs;
        r.session_rate = plan.rate;
        r.quota = plan.quota;
        auto [ec, result] = l.run(r);
        REQUIRE_FALSE(ec);
        passed += result.verdict == Verdict::pass;
    }
    CHECK(passed == 2);
    CHECK(server.command({"HGET", "rate-limit-tenant-acme.window", "c"}) == "4");
    CHECK(server.command({"GET", "quota-tenant-acme"}) == "2");
}

TEST_CASE("the script is reloaded after SCRIPT FLUSH; a Redis outage is an error",
          "[redis][limits]") {
    RedisServer server;
    Limiter l{server.port()};
    CHECK(l.rate(Mode::window, kT0, 5, 1).verdict == Verdict::pass);
    server.command({"SCRIPT", "FLUSH"});
    CHECK(l.rate(Mode::window, kT0 + kMs, 5, 1).verdict == Verdict::pass);
    CHECK(server.command({"HGET", "rate-limit-k.window", "c"}) == "2");
    server.stop();
    limits::LimitRequest r;
    r.now_ns = kT0;
    r.session_rate = limits::RateCheck{"rate-limit-k", 5, 1};
    const auto started = std::chrono::steady_clock::now();
    auto [ec, result] = l.run(r);
    CHECK(ec);
    CHECK(result.verdict == Verdict::pass); // the caller decides (fail closed by default)
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
}
