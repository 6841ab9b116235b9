// Key authentication, the Gateway API and session save-back, end to end: the real portcullis
// process, a real redis-server and a real upstream.
#include "examples/echo_upstream/echo_server.hpp"
#include "middleware/keys/key_hash.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/streak.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <thread>

using portcullis::examples::EchoServer;
using portcullis::test::admin;
using portcullis::test::create_key;
using portcullis::test::GatewayFixture;
using portcullis::test::get_key;
using portcullis::test::http_request;
using portcullis::test::HttpClient;
using portcullis::test::keyed_api;
using portcullis::test::session_for;
using portcullis::test::streak_of_successes;
using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

struct Env {
    EchoServer echo;
    GatewayFixture fx;
    explicit Env(bool hash_keys = false, int storage_timeout = 0) {
        fx.conf["hash_keys"] = hash_keys;
        if (storage_timeout > 0) {
            fx.conf["storage"]["timeout"] = storage_timeout;
        }
        fx.conf["hash_key_function"] = "murmur64";
        fx.conf["portcullis"]["test_hooks"] = true;
        fx.add_api(keyed_api("keyed", "/keyed/", echo));
        fx.add_api(keyed_api("other", "/other/", echo));
        fx.add_api(GatewayFixture::keyless_api(
            "open", "/open/", "http://127.0.0.1:" + std::to_string(echo.port()), true));
        fx.start();
    }
    std::uint16_t port() const { return fx.port(); }
};

} // namespace

TEST_CASE("key authentication outcomes match Tyk's statuses and messages", "[integration][auth]") {
    Env env{GENERATE(false, true)};
    const auto port = env.port();
    const std::string key = create_key(port, session_for({"keyed"}));

    SECTION("a valid key reaches the upstream, with Bearer or without") {
        CHECK(http_request(port, "GET", "/keyed/x", {{"Authorization", key}}).status == 200);
        auto res = http_request(port, "GET", "/keyed/x", {{"Authorization", "Bearer " + key}});
        CHECK(res.status == 200);
        CHECK(res.json()["path"] == "/x");
    }
    SECTION("missing key: 401") {
        auto res = http_request(port, "GET", "/keyed/x");
        CHECK(res.status == 401);
        CHECK(res.json()["error"] == "Authorization field missing");
    }
    SECTION("unknown key: 403") {
        auto res = http_request(port, "GET", "/keyed/x", {{"Authorization", "nope-not-a-key"}});
        CHECK(res.status == 403);
        CHECK(res.json()["error"] == "Access to this API has been disallowed");
    }
    SECTION("too short a key: 403 without a lookup") {
        CHECK(http_request(port, "GET", "/keyed/x", {{"Authorization", "ab"}}).status == 403);
    }
    SECTION("API not in access_rights: 403") {
        auto res = http_request(port, "GET", "/other/x", {{"Authorization", key}});
        CHECK(res.status == 403);
        CHECK(res.json()["error"] == "Access to this API has been disallowed");
    }
    SECTION("expired key: 401") {
        const std::string old = create_key(port, session_for({"keyed"}, {{"expires", 1000}}));
        auto res = http_request(port, "GET", "/keyed/x", {{"Authorization", old}});
        CHECK(res.status == 401);
        CHECK(res.json()["error"] == "Key has expired, please renew");
    }
    SECTION("inactive key: 403") {
        const std::string off = create_key(port, session_for({"keyed"}, {{"is_inactive", true}}));
        auto res = http_request(port, "GET", "/keyed/x", {{"Authorization", off}});
        CHECK(res.status == 403);
        CHECK(res.json()["error"] == "Key is inactive, please renew");
    }
    SECTION("allowed_urls: regex and methods") {
        Json s = session_for({"keyed"});
        s["access_rights"]["keyed"]["allowed_urls"] = {
            {{"url", "/keyed/users/[0-9]+"}, {"methods", {"GET"}}}};
        const std::string limited = create_key(port, s);
        CHECK(http_request(port, "GET", "/keyed/users/12", {{"Authorization", limited}}).status ==
              200);
        auto res = http_request(port, "POST", "/keyed/users/12", {{"Authorization", limited}}, "x");
        CHECK(res.status == 403);
        CHECK(res.json()["error"] == "Access to this resource has been disallowed");
        CHECK(http_request(port, "GET", "/keyed/admin", {{"Authorization", limited}}).status ==
              403);
    }
    SECTION("keyless APIs need no key") {
        CHECK(http_request(port, "GET", "/open/x").status == 200);
    }
}

TEST_CASE("keys can come from a query parameter or a cookie", "[integration][auth]") {
    EchoServer echo;
    GatewayFixture fx;
    Json api = keyed_api("p", "/p/", echo);
    api["auth"] = {{"auth_header_name", "X-Api-Key"},
                   {"use_param", true},
                   {"param_name", "api_key"},
                   {"use_cookie", true},
                   {"cookie_name", "session"}};
    fx.add_api(api);
    fx.start();
    const std::string key = create_key(fx.port(), session_for({"p"}));
    CHECK(http_request(fx.port(), "GET", "/p/x", {{"X-Api-Key", key}}).status == 200);
    CHECK(http_request(fx.port(), "GET", "/p/x?api_key=" + key).status == 200);
    CHECK(http_request(fx.port(), "GET", "/p/x", {{"Cookie", "a=b; session=" + key}}).status ==
          200);
    CHECK(http_request(fx.port(), "GET", "/p/x?api_key=wrong-key").status == 403);
}

TEST_CASE("the Gateway API manages keys as Tyk's does", "[integration][gateway_api]") {
    const bool hashed = GENERATE(false, true);
    Env env{hashed};
    const auto port = env.port();
    auto& redis = *env.fx.redis;

    SECTION("wrong or missing secret: 403") {
        auto res = http_request(port, "GET", "/tyk/keys", {{"X-Tyk-Authorization", "bad"}});
        CHECK(res.status == 403);
        CHECK(res.json()["message"] ==
              "Attempted administrative access with invalid or missing key!");
        CHECK(http_request(port, "GET", "/tyk/keys").status == 403);
    }
    SECTION("create, get, update, delete") {
        auto created = admin(port, "POST", "/tyk/keys/create",
                             session_for({"keyed"}, {{"meta_data", {{"user", "u1"}}}}).dump());
        REQUIRE(created.status == 200);
        const auto body = created.json();
        CHECK(body["status"] == "ok");
        CHECK(body["action"] == "added");
        const std::string key = body["key"];
        const std::string stored_as =
            hashed ? "apikey-" + portcullis::keys::hash_key(key) : "apikey-" + key;
        CHECK(body.contains("key_hash") == hashed);
        const Json in_redis = Json::parse(redis.command({"GET", stored_as}));
        CHECK(in_redis["meta_data"]["user"] == "u1");
        CHECK(in_redis.contains("date_created"));
        CHECK(in_redis.contains("last_updated"));

        auto got = admin(port, "GET", "/tyk/keys/" + key);
        REQUIRE(got.status == 200);
        CHECK(got.json()["meta_data"]["user"] == "u1");

        auto put =
            admin(port, "PUT", "/tyk/keys/" + key,
                  session_for({"keyed"}, {{"rate", 7}, {"meta_data", {{"user", "u2"}}}}).dump());
        REQUIRE(put.status == 200);
        CHECK(put.json()["action"] == "modified");
        const Json after = Json::parse(redis.command({"GET", stored_as}));
        CHECK(after["rate"] == 7);
        CHECK(after["meta_data"]["user"] == "u2");
        CHECK(after["date_created"] == in_redis["date_created"]);

        auto del = admin(port, "DELETE", "/tyk/keys/" + key);
        CHECK(del.status == 200);
        CHECK(del.json()["action"] == "deleted");
        CHECK(redis.command({"EXISTS", stored_as}) == "0");
        CHECK(admin(port, "GET", "/tyk/keys/" + key).status == 404);
        CHECK(admin(port, "DELETE", "/tyk/keys/" + key).json()["message"] ==
              "There is no such key found");
        CHECK(http_request(port, "GET", "/keyed/x", {{"Authorization", key}}).status == 403);
    }
    SECTION("a custom key id") {
        auto res = admin(port, "POST", "/tyk/keys/my-custom-key", session_for({"keyed"}).dump());
        REQUIRE(res.status == 200);
        const std::string token = res.json()["key"];
        CHECK(http_request(port, "GET", "/keyed/x", {{"Authorization", token}}).status == 200);
        // The bare id authenticates too (Tyk's lookup order).
        CHECK(http_request(port, "GET", "/keyed/x", {{"Authorization", "my-custom-key"}}).status ==
              200);
    }
    SECTION("error paths write nothing") {
        const std::string before = redis.command({"DBSIZE"});
        CHECK(admin(port, "POST", "/tyk/keys/create", "{not json").status == 500);
        CHECK(admin(port, "POST", "/tyk/keys", "[1,2]").status == 400);
        auto no_rights = admin(port, "POST", "/tyk/keys/create", Json{{"rate", 1}}.dump());
        CHECK(no_rights.status == 400);
        CHECK(no_rights.json()["message"] ==
              "Failed to create key, keys must have at least one Access Rights record set.");
        CHECK(admin(port, "PUT", "/tyk/keys/does-not-exist", session_for({"keyed"}).dump())
                  .json()["message"] == "Key is not found");
        CHECK(admin(port, "PUT", "/tyk/keys/x", "{bad").status == 400);
        CHECK(admin(port, "PATCH", "/tyk/keys/x", "{}").status == 405);
        HttpClient huge{port};
        CHECK(huge.raw("POST /tyk/keys/create HTTP/1.1\r\nHost: x\r\nX-Tyk-Authorization: " +
                       std::string(portcullis::test::kTestSecret) +
                       "\r\nContent-Length: 3145728\r\n\r\n")
                  .status == 413);
        CHECK(redis.command({"DBSIZE"}) == before);
    }
    SECTION("listing keys") {
        const std::string key = create_key(port, session_for({"keyed"}));
        auto res = admin(port, "GET", "/tyk/keys");
        if (hashed) {
            CHECK(res.status == 404);
        } else {
            REQUIRE(res.status == 200);
            const auto list = res.json()["keys"];
            CHECK(std::find(list.begin(), list.end(), key) != list.end());
        }
    }
    SECTION("by hash") {
        const std::string key = create_key(port, session_for({"keyed"}));
        auto res = admin(port, "GET", "/tyk/keys/" + portcullis::keys::hash_key(key) + "?hashed=1");
        if (hashed) {
            CHECK(res.status == 200);
        } else {
            CHECK(res.status == 400);
            CHECK(res.json()["message"] == "Key requested by hash but key hashing is not enabled");
        }
    }
}

TEST_CASE("a key change made through PUT /tyk/keys is seen on the next request",
          "[integration][gateway_api]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(port, session_for({"keyed"}));
    HttpClient client{port};
    CHECK(client.request("GET", "/keyed/x", {{"Authorization", key}}).status == 200);
    REQUIRE(admin(port, "PUT", "/tyk/keys/" + key, Json{{"is_inactive", true}}.dump()).status ==
            200);
    CHECK(client.request("GET", "/keyed/x", {{"Authorization", key}}).status == 403);
}

TEST_CASE("the Gateway API manages API definitions and reloads them",
          "[integration][gateway_api]") {
    Env env;
    const auto port = env.port();
    HttpClient kept{port}; // reload must not drop this connection
    REQUIRE(kept.get("/open/a").status == 200);

    auto list = admin(port, "GET", "/tyk/apis");
    REQUIRE(list.status == 200);
    CHECK(list.json().size() == 3);
    CHECK(admin(port, "GET", "/tyk/apis/keyed").json()["api_id"] == "keyed");
    CHECK(admin(port, "GET", "/tyk/apis/missing").json()["message"] == "API not found");

    Json fresh = GatewayFixture::keyless_api(
        "fresh", "/fresh/", "http://127.0.0.1:" + std::to_string(env.echo.port()), true);
    auto added = admin(port, "POST", "/tyk/apis", fresh.dump());
    REQUIRE(added.status == 200);
    CHECK(added.json()["action"] == "added");
    CHECK(std::filesystem::exists(env.fx.dir.path() / "apps" / "fresh.json"));
    CHECK(http_request(port, "GET", "/fresh/x").status == 404); // effective after reload

    auto reload = admin(port, "GET", "/tyk/reload");
    CHECK(reload.status == 200);
    CHECK(reload.json()["status"] == "ok");
    CHECK(http_request(port, "GET", "/fresh/x").status == 200);
    CHECK(kept.get("/fresh/y").status == 200);

    CHECK(admin(port, "DELETE", "/tyk/apis/fresh").json()["action"] == "deleted");
    CHECK(admin(port, "GET", "/tyk/reload/group").status == 200);
    CHECK(http_request(port, "GET", "/fresh/x").status == 404);

    SECTION("ids that would escape app_path are refused") {
        Json evil = fresh;
        evil["api_id"] = "../evil";
        CHECK(admin(port, "POST", "/tyk/apis", evil.dump()).status == 400);
        CHECK_FALSE(std::filesystem::exists(env.fx.dir.path() / "evil.json"));
        CHECK(admin(port, "POST", "/tyk/apis", "{oops").status == 400);
        Json bad_target = fresh;
        bad_target["proxy"]["target_url"] = "gopher://x";
        CHECK(admin(port, "POST", "/tyk/apis", bad_target.dump()).status == 400);
    }
}

TEST_CASE("concurrent save-backs and a Gateway API update never lose each other's changes",
          "[integration][save_back]") {
    Env env;
    const auto port = env.port();
    const std::string key =
        create_key(port, session_for({"keyed"}, {{"meta_data", {{"seed", "1"}}}}));
    constexpr int kClients = 8;
    constexpr int kPerClient = 10;

    std::vector<std::future<int>> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.push_back(std::async(std::launch::async, [port, key, c] {
            HttpClient client{port};
            int ok = 0;
            for (int i = 0; i < kPerClient; ++i) {
                const std::string name = "k" + std::to_string(c) + "_" + std::to_string(i);
                auto res = client.request(
                    "GET", "/keyed/x",
                    {{"Authorization", key}, {"X-Portcullis-Test-Meta", name + "=v"}});
                ok += res.status == 200;
            }
            return ok;
        }));
    }
    // Meanwhile the Gateway API changes another field, several times.
    for (int i = 1; i <= 5; ++i) {
        REQUIRE(admin(port, "PUT", "/tyk/keys/" + key, Json{{"rate", 100 + i}}.dump()).status ==
                200);
    }
    int ok = 0;
    for (auto& f : clients) {
        ok += f.get();
    }
    REQUIRE(ok == kClients * kPerClient);

    const Json stored = Json::parse(env.fx.redis->command({"GET", "apikey-" + key}));
    CHECK(stored["rate"] == 105);
    CHECK(stored["meta_data"]["seed"] == "1");
    int present = 0;
    for (int c = 0; c < kClients; ++c) {
        for (int i = 0; i < kPerClient; ++i) {
            present +=
                stored["meta_data"].contains("k" + std::to_string(c) + "_" + std::to_string(i));
        }
    }
    CHECK(present == kClients * kPerClient);
    // The upstream never sees the test hook header.
    auto res = http_request(port, "GET", "/keyed/x",
                            {{"Authorization", key}, {"X-Portcullis-Test-Meta", "z=1"}});
    CHECK_FALSE(res.json()["headers"].contains("X-Portcullis-Test-Meta"));
}

TEST_CASE("Redis killed and restarted while serving: fast 503s, then recovery",
          "[integration][redis_outage]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(port, session_for({"keyed"}));
    CHECK(http_request(port, "GET", "/keyed/x", {{"Authorization", key}}).status == 200);
    // Persist the key across the restart the way an operator's Redis would.
    env.fx.redis->command({"SAVE"});

    env.fx.redis->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto t0 = std::chrono::steady_clock::now();
    auto down = http_request(port, "GET", "/keyed/x", {{"Authorization", key}});
    CHECK(down.status == 503);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
    CHECK(http_request(port, "GET", "/hello").json()["status"] == "fail");
    CHECK(http_request(port, "GET", "/open/x").status == 200); // keyless keeps working

    // Down for longer than the first reconnection backoffs, so every worker is well into its
    // backoff when Redis returns.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    env.fx.redis->start();
    // Recovered on every worker within a second: from then on keyed requests and the health
    // check succeed 8 times in a row, each on a new connection (each worker has its own Redis
    // connection). The checking itself may run longer on a slow machine.
    const auto restarted = std::chrono::steady_clock::now();
    const auto streak_began =
        streak_of_successes(8, std::chrono::seconds(3), std::chrono::milliseconds(20), [&] {
            return http_request(port, "GET", "/keyed/x", {{"Authorization", key}}).status == 200 &&
                   http_request(port, "GET", "/hello").json()["status"] == "pass";
        });
    REQUIRE(streak_began.has_value());
    CHECK(*streak_began - restarted < std::chrono::seconds(1));
}

TEST_CASE("Redis paused, its connections killed, or full: fast 5xx, recovery, nothing "
          "acknowledged lost",
          "[integration][redis_outage][hostile]") {
    Env env(false, 1); // storage.timeout: 1 second per command
    const auto port = env.port();
    Json session = session_for({"keyed"});
    session["meta_data"] = {{"v", "1"}};
    const std::string key = create_key(port, session);
    const Headers auth = {{"Authorization", key}};
    REQUIRE(http_request(port, "GET", "/keyed/x", auth).status == 200);
    // An update acknowledged before the faults.
    session["meta_data"] = {{"v", "2"}};
    REQUIRE(admin(port, "PUT", "/tyk/keys/" + key, session.dump()).status == 200);

    // Recovered: keyed requests and Gateway API reads succeed 8 times in a row, each on a new
    // connection (so on every worker, each with its own Redis connection).
    const auto recovers_within = [&](std::chrono::milliseconds limit) {
        return streak_of_successes(8, limit, std::chrono::milliseconds(50),
                                   [&] {
                                       return http_request(port, "GET", "/keyed/x", auth).status ==
                                                  200 &&
                                              admin(port, "GET", "/tyk/keys/" + key).status == 200;
                                   })
            .has_value();
    };

    SECTION("paused (CLIENT PAUSE): keyed requests fail after the command deadline") {
        env.fx.redis->command({"CLIENT", "PAUSE", "3000", "ALL"});
        const auto t0 = std::chrono::steady_clock::now();
        auto res = http_request(port, "GET", "/keyed/x", auth);
        const auto took = std::chrono::steady_clock::now() - t0;
        CHECK(res.status >= 500);
        CHECK(took < std::chrono::milliseconds(2000));
        CHECK(http_request(port, "GET", "/open/x").status == 200); // keyless keeps working
        std::this_thread::sleep_until(t0 + std::chrono::milliseconds(3000));
        CHECK(recovers_within(std::chrono::milliseconds(1000)));
    }
    SECTION("its connections killed (CLIENT KILL): recovered within a second") {
        env.fx.redis->command({"CLIENT", "KILL", "TYPE", "normal"});
        CHECK(recovers_within(std::chrono::milliseconds(1000)));
    }
    SECTION("full (maxmemory, noeviction): writes fail clearly, reads go on") {
        env.fx.redis->command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
        env.fx.redis->command({"CONFIG", "SET", "maxmemory", "1"});
        auto created = admin(port, "POST", "/tyk/keys/create", session_for({"keyed"}).dump());
        CHECK(created.status >= 500);
        CHECK(Json::parse(created.body, nullptr, false).contains("message"));
        session["meta_data"] = {{"v", "3"}};
        auto refused = admin(port, "PUT", "/tyk/keys/" + key, session.dump());
        CHECK(refused.status >= 500);
        CHECK(http_request(port, "GET", "/keyed/x", auth).status == 200);
        env.fx.redis->command({"CONFIG", "SET", "maxmemory", "0"});
        CHECK(recovers_within(std::chrono::milliseconds(1000)));
        // The refused update left the stored session as it was.
        CHECK(get_key(port, key)["meta_data"]["v"] == "2");
    }
    // The update acknowledged before the fault is still there.
    CHECK(get_key(port, key)["meta_data"]["v"] != "1");
}
