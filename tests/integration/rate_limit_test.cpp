// Rate limits and quotas, end to end: the real portcullis process (one or two of them sharing a
// Redis), a real redis-server and a real upstream. Statuses, bodies and X-RateLimit-* headers
// are Tyk's; the counters are checked where Tyk keeps them in Redis.
#include "examples/echo_upstream/echo_server.hpp"
#include "middleware/keys/key_hash.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <latch>
#include <optional>
#include <thread>

using portcullis::examples::EchoServer;
using portcullis::test::admin;
using portcullis::test::check_tyk_error;
using portcullis::test::create_key;
using portcullis::test::GatewayFixture;
using portcullis::test::GatewayProcess;
using portcullis::test::get_key;
using portcullis::test::http_request;
using portcullis::test::HttpClient;
using portcullis::test::HttpResponse;
using portcullis::test::keyed_api;
using portcullis::test::session_for;
using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

namespace {

enum class Limiter { window, rolling, fixed_window };

const char* limiter_name(Limiter limiter) {
    switch (limiter) {
    case Limiter::window:
        return "window (default)";
    case Limiter::rolling:
        return "enable_redis_rolling_limiter";
    case Limiter::fixed_window:
        return "enable_fixed_window_rate_limiter";
    }
    return "?";
}

Json keyless_api(const std::string& id, const std::string& listen_path, const EchoServer& echo) {
    return GatewayFixture::keyless_api(id, listen_path,
                                       "http://127.0.0.1:" + std::to_string(echo.port()), true);
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t header_int(const HttpResponse& res, std::string_view name) {
    const std::string value = res.header(name);
    REQUIRE_FALSE(value.empty());
    return std::stoll(value);
}

/// The one key of a KEYS reply (RedisServer::command ends every array element with '\n').
std::string only_key(const std::string& keys) {
    INFO("KEYS: " << keys);
    REQUIRE(keys.size() > 1);
    REQUIRE(keys.back() == '\n');
    const std::string key = keys.substr(0, keys.size() - 1);
    REQUIRE(key.find('\n') == std::string::npos);
    return key;
}

/// Sleeps to `after` past the start of the next fixed window of `per`. Go's zero time is a whole
/// number of days before the Unix epoch, so for a `per` dividing a day the fixed windows start at
/// multiples of `per` since the epoch. Bounded by per + after.
void sleep_to_window_start(std::chrono::milliseconds per, std::chrono::milliseconds after = 50ms) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    std::this_thread::sleep_for(per - now % per + after);
}

/// An upstream, a gateway fixture with its Redis, and the limiter chosen in tyk.conf. APIs are
/// added before start().
struct Env {
    EchoServer echo;
    GatewayFixture fx;

    explicit Env(Limiter limiter = Limiter::window, const char* response_headers = nullptr) {
        fx.conf["enable_redis_rolling_limiter"] = limiter == Limiter::rolling;
        fx.conf["enable_fixed_window_rate_limiter"] = limiter == Limiter::fixed_window;
        if (response_headers != nullptr) {
            fx.conf["rate_limit_response_headers"] = response_headers;
        }
    }
    std::uint16_t start() {
        fx.start();
        return fx.port();
    }
    std::string redis(const std::vector<std::string>& args) const {
        return fx.redis->command(args);
    }
};

struct Tally {
    int ok = 0;
    int rate_limited = 0; // 429
    int quota = 0;        // 403
    int other = 0;
    std::chrono::steady_clock::time_point first;
    std::chrono::steady_clock::time_point last;
};

/// Fires `threads` x `per_thread` requests for `target` with `headers`: every thread holds one
/// keep-alive connection to each of `ports` and alternates between them. All connections are
/// opened first; `before_fire` runs (e.g. to align with a window) just before all threads start
/// together.
Tally burst(const std::vector<std::uint16_t>& ports,
            const std::string& target,
            const Headers& headers,
            int threads,
            int per_thread,
            const std::function<void()>& before_fire = {}) {
    std::latch ready{threads};
    std::latch go{1};
    std::vector<std::future<Tally>> futures;
    for (int t = 0; t < threads; ++t) {
        futures.push_back(std::async(std::launch::async, [&, t] {
            std::vector<std::unique_ptr<HttpClient>> clients;
            try {
                for (const auto port : ports) {
                    clients.push_back(std::make_unique<HttpClient>(port, 5s));
                }
            } catch (...) {
                ready.count_down();
                throw;
            }
            ready.count_down();
            go.wait();
            Tally tally;
            tally.first = std::chrono::steady_clock::now();
            for (int i = 0; i < per_thread; ++i) {
                const auto res = clients[static_cast<std::size_t>(t + i) % clients.size()]->request(
                    "GET", target, headers);
                if (res.status == 200) {
                    ++tally.ok;
                } else if (res.status == 429) {
                    ++tally.rate_limited;
                } else if (res.status == 403) {
                    ++tally.quota;
                } else {
                    ++tally.other;
                }
            }
            tally.last = std::chrono::steady_clock::now();
            return tally;
        }));
    }
    ready.wait();
    if (before_fire) {
        before_fire();
    }
    go.count_down();
    Tally total;
    bool first = true;
    std::exception_ptr failure;
    for (auto& f : futures) {
        try {
            const Tally t = f.get();
            total.ok += t.ok;
            total.rate_limited += t.rate_limited;
            total.quota += t.quota;
            total.other += t.other;
            total.first = first ? t.first : std::min(total.first, t.first);
            total.last = first ? t.last : std::max(total.last, t.last);
            first = false;
        } catch (...) {
            failure = std::current_exception();
        }
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    return total;
}

/// A second gateway on the fixture's Redis and apps directory (same tyk.conf, its own port).
std::unique_ptr<GatewayProcess> second_gateway(GatewayFixture& fx) {
    Json conf = fx.conf;
    conf["listen_port"] = 0;
    const auto path = fx.dir.write("tyk2.conf", conf.dump(2));
    return std::make_unique<GatewayProcess>(path, fx.dir.path() / "gateway2.log");
}

} // namespace

TEST_CASE("a key's (rate+1)th request in a window gets 429, the next window passes",
          "[integration][rate_limit]") {
    const Limiter limiter = GENERATE(Limiter::window, Limiter::rolling, Limiter::fixed_window);
    INFO("limiter: " << limiter_name(limiter));
    Env env{limiter, "rate_limits"};
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    const auto port = env.start();
    const std::string key = create_key(port, session_for({"keyed"}, {{"rate", 3}, {"per", 1}}));
    const Headers auth{{"Authorization", key}};
    HttpClient client{port};

    if (limiter == Limiter::fixed_window) {
        sleep_to_window_start(1s);
    }
    const auto t0 = unix_now();
    for (int i = 1; i <= 3; ++i) {
        auto res = client.request("GET", "/keyed/x", auth);
        INFO("request " << i);
        REQUIRE(res.status == 200);
        CHECK(res.json()["path"] == "/x");
        CHECK(header_int(res, "X-RateLimit-Limit") == 3);
        if (limiter != Limiter::fixed_window) {
            CHECK(header_int(res, "X-RateLimit-Remaining") == 3 - i);
        }
        const auto reset = header_int(res, "X-RateLimit-Reset");
        CHECK(reset >= t0);
        CHECK(reset <= unix_now() + 2);
    }
    const auto served = env.echo.requests_served();
    auto limited = client.request("GET", "/keyed/x", auth);
    check_tyk_error(limited, 429, "Rate Limit Exceeded");
    CHECK(limited.keep_alive);
    CHECK(header_int(limited, "X-RateLimit-Limit") == 3);
    CHECK(header_int(limited, "X-RateLimit-Remaining") == 0);
    CHECK(header_int(limited, "X-RateLimit-Reset") >= t0);
    CHECK(header_int(limited, "X-RateLimit-Reset") <= unix_now() + 2);
    CHECK(env.echo.requests_served() == served); // the upstream never saw it

    // What Redis holds: Tyk's counter for the mode, the blocked request counted too.
    const std::string counter = "rate-limit-" + key;
    switch (limiter) {
    case Limiter::window:
        CHECK(env.redis({"HGET", counter + ".window", "c"}) == "4");
        break;
    case Limiter::rolling:
        CHECK(env.redis({"ZCARD", counter}) == "4");
        break;
    case Limiter::fixed_window: {
        const std::string window = only_key(env.redis({"KEYS", counter + "/*"}));
        REQUIRE(window.rfind(counter + "/", 0) == 0);
        const auto start_ns = std::stoll(window.substr(counter.size() + 1));
        CHECK(start_ns % 1000000000LL == 0); // aligned to a multiple of per (1 s)
        CHECK(env.redis({"GET", window}) == "4");
        break;
    }
    }

    // Just past the window (the rolling log: `per` after the last request, blocked one included).
    std::this_thread::sleep_for(1150ms);
    auto next = client.request("GET", "/keyed/x", auth);
    CHECK(next.status == 200);
    CHECK(header_int(next, "X-RateLimit-Limit") == 3);
    if (limiter != Limiter::fixed_window) {
        CHECK(header_int(next, "X-RateLimit-Remaining") == 2);
    }
}

TEST_CASE("rate_limit_response_headers: rate_limits sends the rate limit on every response",
          "[integration][rate_limit]") {
    Env env{Limiter::window, "rate_limits"};
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    const auto port = env.start();
    const std::string key = create_key(port, session_for({"keyed"}, {{"rate", 5}, {"per", 60}}));
    const auto before = unix_now();
    // The upstream's own X-RateLimit-* headers are replaced.
    auto res = http_request(port, "GET", "/keyed/__headers?h=X-RateLimit-Limit:999",
                            {{"Authorization", key}});
    REQUIRE(res.status == 200);
    CHECK(header_int(res, "X-RateLimit-Limit") == 5);
    CHECK(header_int(res, "X-RateLimit-Remaining") == 4);
    const auto reset = header_int(res, "X-RateLimit-Reset");
    CHECK(reset >= before + 60);
    CHECK(reset <= unix_now() + 61);
}

TEST_CASE("rate_limits headers on a 429 describe the limit that blocked",
          "[integration][rate_limit]") {
    Env env{Limiter::window, "rate_limits"};
    Json api = keyed_api("keyed", "/keyed/", env.echo);
    api["global_rate_limit"] = {{"rate", 2}, {"per", 60}};
    env.fx.add_api(api);
    const auto port = env.start();
    const std::string key = create_key(port, session_for({"keyed"}, {{"rate", 10}, {"per", 60}}));
    HttpClient client{port};
    const Headers auth{{"Authorization", key}};
    auto first = client.request("GET", "/keyed/x", auth);
    REQUIRE(first.status == 200);
    CHECK(header_int(first, "X-RateLimit-Limit") == 10); // the key's limit, counted first
    CHECK(header_int(first, "X-RateLimit-Remaining") == 9);
    REQUIRE(client.request("GET", "/keyed/x", auth).status == 200);
    auto blocked = client.request("GET", "/keyed/x", auth);
    check_tyk_error(blocked, 429, "API Rate Limit Exceeded");
    CHECK(header_int(blocked, "X-RateLimit-Limit") == 2); // the API's limit blocked
    CHECK(header_int(blocked, "X-RateLimit-Remaining") == 0);
}

TEST_CASE("quota exhaustion gives 403 and is written back to the key",
          "[integration][rate_limit]") {
    Env env; // default rate_limit_response_headers: quotas
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    const auto port = env.start();
    HttpClient client{port};

    SECTION("exactly quota_max requests pass; headers show the quota") {
        const std::string key = create_key(
            port, session_for({"keyed"}, {{"quota_max", 3}, {"quota_renewal_rate", 3600}}));
        const Headers auth{{"Authorization", key}};
        const auto before = unix_now();
        for (int i = 1; i <= 3; ++i) {
            INFO("request " << i);
            auto res = client.request("GET", "/keyed/__headers?h=X-RateLimit-Remaining:999", auth);
            REQUIRE(res.status == 200);
            CHECK(header_int(res, "X-RateLimit-Limit") == 3);
            CHECK(header_int(res, "X-RateLimit-Remaining") == 3 - i);
            const auto reset = header_int(res, "X-RateLimit-Reset");
            CHECK(reset >= before + 3599);
            CHECK(reset <= unix_now() + 3601);
        }
        CHECK(get_key(port, key)["quota_remaining"] == 0);
        const auto served = env.echo.requests_served();
        for (int i = 0; i < 2; ++i) {
            check_tyk_error(client.request("GET", "/keyed/x", auth), 403, "Quota exceeded");
        }
        CHECK(env.echo.requests_served() == served);
        const Json stored = get_key(port, key);
        CHECK(stored["quota_remaining"] == 0);
        CHECK(stored["quota_renews"].get<std::int64_t>() >= before + 3599);
        CHECK(stored["quota_renews"].get<std::int64_t>() <= unix_now() + 3601);
        CHECK(env.redis({"GET", "quota-" + key}) == "5");
        const auto ttl = std::stoll(env.redis({"TTL", "quota-" + key}));
        CHECK(ttl > 3500);
        CHECK(ttl <= 3600);
    }
    SECTION("quota_renewal_rate: the quota renews when the counter expires") {
        const std::string key =
            create_key(port, session_for({"keyed"}, {{"quota_max", 2}, {"quota_renewal_rate", 1}}));
        const Headers auth{{"Authorization", key}};
        CHECK(client.request("GET", "/keyed/x", auth).status == 200);
        CHECK(client.request("GET", "/keyed/x", auth).status == 200);
        check_tyk_error(client.request("GET", "/keyed/x", auth), 403, "Quota exceeded");
        std::this_thread::sleep_for(1200ms);
        auto renewed = client.request("GET", "/keyed/x", auth);
        CHECK(renewed.status == 200);
        CHECK(header_int(renewed, "X-RateLimit-Remaining") == 1);
        CHECK(get_key(port, key)["quota_remaining"] == 1);
    }
}

TEST_CASE("disable_rate_limit and disable_quota switch the key's limits off for an API",
          "[integration][rate_limit]") {
    Env env;
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    Json free = keyed_api("free", "/free/", env.echo);
    free["disable_rate_limit"] = true;
    free["disable_quota"] = true;
    free["global_rate_limit"] = {{"rate", 1}, {"per", 60}};
    env.fx.add_api(free);
    const auto port = env.start();
    const std::string key = create_key(
        port,
        session_for({"keyed", "free"},
                    {{"rate", 1}, {"per", 60}, {"quota_max", 1}, {"quota_renewal_rate", 3600}}));
    const Headers auth{{"Authorization", key}};
    HttpClient client{port};
    for (int i = 0; i < 4; ++i) {
        CHECK(client.request("GET", "/free/x", auth).status == 200);
    }
    CHECK(client.request("GET", "/keyed/x", auth).status == 200);
    check_tyk_error(client.request("GET", "/keyed/x", auth), 429, "Rate Limit Exceeded");
    CHECK(client.request("GET", "/free/x", auth).status == 200);
}

TEST_CASE("per-API limits in access_rights replace the key's own", "[integration][rate_limit]") {
    Env env;
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    env.fx.add_api(keyed_api("other", "/other/", env.echo));
    const auto port = env.start();
    HttpClient client{port};

    SECTION("rate") {
        Json s = session_for({"keyed", "other"}, {{"rate", 1000}, {"per", 1}});
        s["access_rights"]["keyed"]["limit"] = {{"rate", 2}, {"per", 60}, {"quota_max", -1}};
        const std::string key = create_key(port, s);
        const Headers auth{{"Authorization", key}};
        CHECK(client.request("GET", "/keyed/x", auth).status == 200);
        CHECK(client.request("GET", "/keyed/x", auth).status == 200);
        check_tyk_error(client.request("GET", "/keyed/x", auth), 429, "Rate Limit Exceeded");
        // The other API has no limit of its own: the key's 1000 per second applies.
        for (int i = 0; i < 3; ++i) {
            CHECK(client.request("GET", "/other/x", auth).status == 200);
        }
    }
    SECTION("quota, written back into the access right") {
        Json s = session_for({"keyed", "other"}, {{"quota_max", -1}});
        s["access_rights"]["keyed"]["limit"] = {
            {"rate", 0}, {"per", 0}, {"quota_max", 2}, {"quota_renewal_rate", 3600}};
        const std::string key = create_key(port, s);
        const Headers auth{{"Authorization", key}};
        auto first = client.request("GET", "/keyed/x", auth);
        CHECK(first.status == 200);
        CHECK(header_int(first, "X-RateLimit-Limit") == 2);
        CHECK(header_int(first, "X-RateLimit-Remaining") == 1);
        CHECK(client.request("GET", "/keyed/x", auth).status == 200);
        check_tyk_error(client.request("GET", "/keyed/x", auth), 403, "Quota exceeded");
        const Json stored = get_key(port, key);
        CHECK(stored["access_rights"]["keyed"]["limit"]["quota_remaining"] == 0);
        CHECK(stored["access_rights"]["keyed"]["limit"]["quota_renews"].get<std::int64_t>() >
              unix_now() + 3500);
        // The key-level quota is unlimited: the other API is not affected.
        for (int i = 0; i < 3; ++i) {
            CHECK(client.request("GET", "/other/x", auth).status == 200);
        }
    }
}

TEST_CASE("per-endpoint limits in access_rights have their own counter",
          "[integration][rate_limit]") {
    Env env;
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    const auto port = env.start();
    Json s = session_for({"keyed"}, {{"rate", 3}, {"per", 60}});
    s["access_rights"]["keyed"]["endpoints"] = {
        {{"path", "/slow"},
         {"methods", {{{"name", "GET"}, {"limit", {{"rate", 1}, {"per", 60}}}}}}}};
    const std::string key = create_key(port, s);
    const Headers auth{{"Authorization", key}};
    HttpClient client{port};

    CHECK(client.request("GET", "/keyed/slow", auth).status == 200);
    check_tyk_error(client.request("GET", "/keyed/slow", auth), 429, "Rate Limit Exceeded");
    // Another method is not limited by the endpoint: the key's rate applies.
    CHECK(client.request("POST", "/keyed/slow", auth, "x").status == 200);
    // Other paths use the key's own counter (3 per minute), untouched by /slow.
    CHECK(client.request("GET", "/keyed/fast", auth).status == 200);
    CHECK(client.request("GET", "/keyed/fast", auth).status == 200);
    check_tyk_error(client.request("GET", "/keyed/fast", auth), 429, "Rate Limit Exceeded");
    CHECK(env.redis({"HGET", "rate-limit-" + key + ".window", "c"}) == "4");
    CHECK(
        env.redis({"HGET",
                   "rate-limit-" + key + "-" + portcullis::keys::hash_key("GET:/slow") + ".window",
                   "c"}) == "2");
}

TEST_CASE("API-level limits: global_rate_limit and extended_paths.rate_limit",
          "[integration][rate_limit]") {
    Env env;
    Json global = keyless_api("glob", "/glob/", env.echo);
    global["global_rate_limit"] = {{"rate", 2}, {"per", 60}};
    env.fx.add_api(global);
    Json paths = keyless_api("paths", "/paths/", env.echo);
    paths["version_data"]["versions"]["Default"]["use_extended_paths"] = true;
    paths["version_data"]["versions"]["Default"]["extended_paths"] = {
        {"rate_limit", {{{"path", "/limited"}, {"method", "GET"}, {"rate", 1}, {"per", 60}}}}};
    env.fx.add_api(paths);
    Json off = keyless_api("off", "/off/", env.echo);
    off["global_rate_limit"] = {{"rate", 1}, {"per", 60}};
    off["disable_rate_limit"] = true;
    env.fx.add_api(off);
    Json keyed = keyed_api("keyed", "/keyed/", env.echo);
    keyed["global_rate_limit"] = {{"rate", 2}, {"per", 60}};
    env.fx.add_api(keyed);
    const auto port = env.start();
    HttpClient client{port};

    SECTION("global_rate_limit on a keyless API") {
        CHECK(client.get("/glob/a").status == 200);
        CHECK(http_request(port, "GET", "/glob/b").status == 200);
        check_tyk_error(client.get("/glob/c"), 429, "API Rate Limit Exceeded");
        check_tyk_error(http_request(port, "GET", "/glob/d"), 429, "API Rate Limit Exceeded");
        CHECK(env.redis({"HGET", "rate-limit-apilimiter-defaultglob.window", "c"}) == "4");
    }
    SECTION("extended_paths.rate_limit limits its endpoint only") {
        CHECK(client.get("/paths/limited").status == 200);
        check_tyk_error(client.get("/paths/limited"), 429, "API Rate Limit Exceeded");
        CHECK(client.request("POST", "/paths/limited", {}, "x").status == 200);
        for (int i = 0; i < 3; ++i) {
            CHECK(client.get("/paths/other").status == 200);
        }
    }
    SECTION("disable_rate_limit switches global_rate_limit off") {
        for (int i = 0; i < 3; ++i) {
            CHECK(client.get("/off/x").status == 200);
        }
    }
    SECTION("the API's limit counts every key together, after the key's own checks") {
        const std::string a = create_key(port, session_for({"keyed"}));
        const std::string b = create_key(port, session_for({"keyed"}));
        CHECK(client.request("GET", "/keyed/x", {{"Authorization", a}}).status == 200);
        CHECK(client.request("GET", "/keyed/x", {{"Authorization", b}}).status == 200);
        check_tyk_error(client.request("GET", "/keyed/x", {{"Authorization", a}}), 429,
                        "API Rate Limit Exceeded");
    }
}

TEST_CASE("meta_data.rate_limit_pattern makes keys share their counters",
          "[integration][rate_limit]") {
    Env env;
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    Json ctx = keyed_api("ctx", "/ctx/", env.echo);
    ctx["enable_context_vars"] = true;
    env.fx.add_api(ctx);
    const auto port = env.start();
    HttpClient client{port};
    auto make = [&](const std::string& team, Json limits, const std::string& pattern) {
        Json s = session_for({"keyed", "ctx"}, std::move(limits));
        s["meta_data"] = {{"team", team}, {"rate_limit_pattern", pattern}};
        return create_key(port, s);
    };
    auto get = [&](const std::string& path, const std::string& key, Headers extra = {}) {
        extra.emplace_back("Authorization", key);
        return client.request("GET", path, extra);
    };

    SECTION("one rate counter") {
        const Json rate = {{"rate", 3}, {"per", 60}};
        const std::string a = make("blue", rate, "team-$tyk_meta.team");
        const std::string b = make("blue", rate, "team-$tyk_meta.team");
        const std::string c = make("red", rate, "team-$tyk_meta.team");
        CHECK(get("/keyed/x", a).status == 200);
        CHECK(get("/keyed/x", b).status == 200);
        CHECK(get("/keyed/x", a).status == 200);
        check_tyk_error(get("/keyed/x", b), 429, "Rate Limit Exceeded");
        check_tyk_error(get("/keyed/x", a), 429, "Rate Limit Exceeded");
        CHECK(get("/keyed/x", c).status == 200); // another team
        CHECK(env.redis({"HGET", "rate-limit-team-blue.window", "c"}) == "5");
        CHECK(env.redis({"HGET", "rate-limit-team-red.window", "c"}) == "1");
        CHECK(env.redis({"EXISTS", "rate-limit-" + a + ".window"}) == "0");
    }
    SECTION("one quota counter") {
        const Json quota = {{"quota_max", 3}, {"quota_renewal_rate", 3600}};
        const std::string a = make("blue", quota, "$tyk_meta.team");
        const std::string b = make("blue", quota, "$tyk_meta.team");
        CHECK(get("/keyed/x", a).status == 200);
        CHECK(get("/keyed/x", b).status == 200);
        auto third = get("/keyed/x", a);
        CHECK(third.status == 200);
        CHECK(header_int(third, "X-RateLimit-Remaining") == 0);
        check_tyk_error(get("/keyed/x", b), 403, "Quota exceeded");
        check_tyk_error(get("/keyed/x", a), 403, "Quota exceeded");
        CHECK(env.redis({"GET", "quota-blue"}) == "5");
        CHECK(get_key(port, b)["quota_remaining"] == 0);
    }
    SECTION("$tyk_context variables") {
        const Json rate = {{"rate", 1}, {"per", 60}};
        const std::string a = make("any", rate, "h-$tyk_context.headers_X_Team");
        const std::string b = make("any", rate, "h-$tyk_context.headers_X_Team");
        CHECK(get("/ctx/x", a, {{"X-Team", "one"}}).status == 200);
        check_tyk_error(get("/ctx/x", b, {{"X-Team", "one"}}), 429, "Rate Limit Exceeded");
        CHECK(get("/ctx/x", b, {{"X-Team", "two"}}).status == 200);
        CHECK(env.redis({"HGET", "rate-limit-h-one.window", "c"}) == "2");
    }
}

TEST_CASE("a key update resets the quota unless suppress_reset=1", "[integration][rate_limit]") {
    const bool hashed = GENERATE(false, true);
    INFO("hash_keys: " << hashed);
    Env env;
    env.fx.conf["hash_keys"] = hashed;
    env.fx.conf["hash_key_function"] = "murmur64";
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    const auto port = env.start();
    const Json session = session_for({"keyed"}, {{"quota_max", 2}, {"quota_renewal_rate", 3600}});
    const std::string key = create_key(port, session);
    const std::string counter = "quota-" + (hashed ? portcullis::keys::hash_key(key) : key);
    const Headers auth{{"Authorization", key}};
    HttpClient client{port};

    CHECK(client.request("GET", "/keyed/x", auth).status == 200);
    CHECK(client.request("GET", "/keyed/x", auth).status == 200);
    check_tyk_error(client.request("GET", "/keyed/x", auth), 403, "Quota exceeded");
    CHECK(env.redis({"GET", counter}) == "3");

    // suppress_reset=1 keeps the counter
    Json update = session;
    update["meta_data"] = {{"note", "kept"}};
    REQUIRE(admin(port, "PUT", "/tyk/keys/" + key + "?suppress_reset=1", update.dump()).status ==
            200);
    CHECK(env.redis({"GET", counter}) == "3");
    check_tyk_error(client.request("GET", "/keyed/x", auth), 403, "Quota exceeded");

    // a plain update starts the quota again
    update["meta_data"] = {{"note", "reset"}};
    REQUIRE(admin(port, "PUT", "/tyk/keys/" + key, update.dump()).status == 200);
    CHECK(env.redis({"EXISTS", counter}) == "0");
    auto again = client.request("GET", "/keyed/x", auth);
    CHECK(again.status == 200);
    CHECK(header_int(again, "X-RateLimit-Remaining") == 1);
    {
        // The reset starts a new quota period: the stored quota_remaining follows the counter.
        const Json stored = get_key(port, key);
        INFO("stored session: " << stored.dump());
        CHECK(stored["quota_remaining"] == 1);
    }
    CHECK(client.request("GET", "/keyed/x", auth).status == 200);
    check_tyk_error(client.request("GET", "/keyed/x", auth), 403, "Quota exceeded");
}

TEST_CASE("Redis down: rate limits fail closed unless rate_limiter_fail_open",
          "[integration][rate_limit]") {
    const bool fail_open = GENERATE(false, true);
    INFO("rate_limiter_fail_open: " << fail_open);
    Env env;
    env.fx.conf["portcullis"]["rate_limiter_fail_open"] = fail_open;
    Json global = keyless_api("glob", "/glob/", env.echo);
    global["global_rate_limit"] = {{"rate", 100}, {"per", 1}};
    env.fx.add_api(global);
    env.fx.add_api(keyless_api("open", "/open/", env.echo));
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    const auto port = env.start();
    const std::string key = create_key(port, session_for({"keyed"}, {{"rate", 100}, {"per", 1}}));
    CHECK(http_request(port, "GET", "/glob/x").status == 200);
    CHECK(http_request(port, "GET", "/keyed/x", {{"Authorization", key}}).status == 200);

    env.fx.redis->stop();
    std::this_thread::sleep_for(200ms);
    const auto t0 = std::chrono::steady_clock::now();
    auto limited_api = http_request(port, "GET", "/glob/x");
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    if (fail_open) {
        CHECK(limited_api.status == 200);
    } else {
        check_tyk_error(limited_api, 503, "Rate limiter unavailable");
    }
    CHECK(http_request(port, "GET", "/open/x").status == 200); // no limit, no Redis needed
    // A key cannot be loaded at all: closed either way.
    check_tyk_error(http_request(port, "GET", "/keyed/x", {{"Authorization", key}}), 503,
                    "Session store unavailable");
}

TEST_CASE("two gateways sharing one Redis enforce one key's rate limit exactly",
          "[integration][rate_limit]") {
    const Limiter limiter = GENERATE(Limiter::window, Limiter::rolling, Limiter::fixed_window);
    INFO("limiter: " << limiter_name(limiter));
    Env env{limiter};
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    const auto port1 = env.start();
    const auto node2 = second_gateway(env.fx);
    const auto port2 = node2->port();
    const std::string key = create_key(port1, session_for({"keyed"}, {{"rate", 20}, {"per", 2}}));
    // Warm both nodes up (connections to Redis on every worker) with an unlimited key.
    const std::string warm = create_key(port1, session_for({"keyed"}));
    for (int i = 0; i < 4; ++i) {
        REQUIRE(http_request(port1, "GET", "/keyed/w", {{"Authorization", warm}}).status == 200);
        REQUIRE(http_request(port2, "GET", "/keyed/w", {{"Authorization", warm}}).status == 200);
    }
    const auto served = env.echo.requests_served();

    const Tally t = burst({port1, port2}, "/keyed/x", {{"Authorization", key}}, 10, 10, [&] {
        if (limiter == Limiter::fixed_window) {
            sleep_to_window_start(2s);
        }
    });
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.last - t.first).count();
    INFO("100 requests took " << elapsed << " ms");
    CHECK(elapsed < 1900); // all in one window, else the counts below cannot hold
    CHECK(t.ok == 20);
    CHECK(t.rate_limited == 80);
    CHECK(t.other == 0);
    CHECK(env.echo.requests_served() - served == 20);
    const std::string counter = "rate-limit-" + key;
    switch (limiter) {
    case Limiter::window:
        CHECK(env.redis({"HGET", counter + ".window", "c"}) == "100");
        break;
    case Limiter::rolling:
        CHECK(env.redis({"ZCARD", counter}) == "100");
        break;
    case Limiter::fixed_window: {
        const std::string window = only_key(env.redis({"KEYS", counter + "/*"}));
        const auto start_ns = std::stoll(window.substr(counter.size() + 1));
        CHECK(start_ns % 2000000000LL == 0); // aligned to a multiple of per (2 s)
        CHECK(env.redis({"GET", window}) == "100");
        break;
    }
    }
}

TEST_CASE("two gateways sharing one Redis enforce one key's quota exactly",
          "[integration][rate_limit]") {
    Env env;
    env.fx.add_api(keyed_api("keyed", "/keyed/", env.echo));
    const auto port1 = env.start();
    const auto node2 = second_gateway(env.fx);
    const auto port2 = node2->port();
    const std::string key = create_key(
        port1, session_for({"keyed"}, {{"quota_max", 20}, {"quota_renewal_rate", 3600}}));
    const auto served = env.echo.requests_served();

    const Tally t = burst({port1, port2}, "/keyed/x", {{"Authorization", key}}, 10, 10);
    CHECK(t.ok == 20);
    CHECK(t.quota == 80);
    CHECK(t.rate_limited + t.other == 0);
    CHECK(env.echo.requests_served() - served == 20);
    CHECK(env.redis({"GET", "quota-" + key}) == "100");
    // Both nodes see the exhausted quota; the stored session says so after the next request.
    check_tyk_error(http_request(port1, "GET", "/keyed/x", {{"Authorization", key}}), 403,
                    "Quota exceeded");
    check_tyk_error(http_request(port2, "GET", "/keyed/x", {{"Authorization", key}}), 403,
                    "Quota exceeded");
    CHECK(get_key(port2, key)["quota_remaining"] == 0);
}
