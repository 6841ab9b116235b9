// JavaScript plugins (Tyk's JSVM `custom_middleware`, reference section 14), end to end: the real
// portcullis process with enable_jsvm, a real redis-server and a real upstream. The plugin scripts
// are in tests/data/plugins/.
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using portcullis::examples::EchoServer;
using portcullis::test::admin;
using portcullis::test::check_tyk_error;
using portcullis::test::create_key;
using portcullis::test::GatewayFixture;
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

const std::string kPluginDir = std::string(PORTCULLIS_SOURCE_DIR) + "/tests/data/plugins";

std::string plugin_path(const std::string& file) {
    return kPluginDir + "/" + file;
}

/// One `custom_middleware` entry.
Json plugin(const std::string& name, const std::string& file, bool require_session = false) {
    Json entry = {{"name", name}, {"path", plugin_path(file)}};
    if (require_session) {
        entry["require_session"] = true;
    }
    return entry;
}

/// `api` with `custom_middleware` = `hooks` (driver otto).
Json with_plugins(Json api, Json hooks) {
    hooks["driver"] = "otto";
    api["custom_middleware"] = std::move(hooks);
    return api;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

/// The first value of a request header as the echo upstream saw it (name case-insensitive), or
/// "<absent>".
std::string upstream_header(const Json& echo, const std::string& name) {
    for (const auto& [key, values] : echo.at("headers").items()) {
        if (iequals(key, name) && !values.empty()) {
            return values.at(0).get<std::string>();
        }
    }
    return "<absent>";
}

/// The echo upstream's description of the request it got; REQUIREs a 200 JSON answer.
Json echoed(const HttpResponse& res) {
    INFO("status " << res.status << " body " << res.body);
    REQUIRE(res.status == 200);
    const Json body = Json::parse(res.body, nullptr, false);
    REQUIRE(body.is_object());
    REQUIRE(body.contains("headers"));
    return body;
}

/// The key's session as stored in Redis (hash_keys is off in these tests).
Json stored_session(const GatewayFixture& fx, const std::string& key) {
    const std::string raw = fx.redis->command({"GET", "apikey-" + key});
    INFO("redis GET apikey-" << key << ": " << raw);
    const Json session = Json::parse(raw, nullptr, false);
    REQUIRE(session.is_object());
    return session;
}

/// A gateway with enable_jsvm and one API per plugin under test, proxying to `echo`.
struct Env {
    EchoServer echo;
    GatewayFixture fx;

    /// `jsvm_timeout` in seconds; 0 leaves the default (5 s).
    explicit Env(int jsvm_timeout = 0) {
        fx.conf["enable_jsvm"] = true;
        if (jsvm_timeout > 0) {
            fx.conf["jsvm_timeout"] = jsvm_timeout;
        }
        fx.conf["hash_keys"] = false;
        // No folder plugins from whatever ./middleware the tests run in.
        fx.conf["middleware_path"] = (fx.dir.path() / "middleware").string();

        const std::string upstream = "http://127.0.0.1:" + std::to_string(echo.port());
        auto keyless = [&](const std::string& id, const std::string& listen_path) {
            return GatewayFixture::keyless_api(id, listen_path, upstream, true);
        };
        fx.add_api(keyless("open", "/open/"));
        fx.add_api(with_plugins(keyed_api("count", "/count/", echo),
                                {{"post", {plugin("counterMw", "counter.js", true)}}}));
        fx.add_api(with_plugins(keyless("block", "/block/"),
                                {{"pre", {plugin("preBlock", "pre_block.js")}}}));
        fx.add_api(with_plugins(keyless("reply", "/reply/"),
                                {{"pre", {plugin("preReply", "pre_reply.js")}}}));
        fx.add_api(with_plugins(keyless("throws", "/throws/"),
                                {{"pre", {plugin("throwMw", "throws.js")}}}));
        fx.add_api(
            with_plugins(keyless("loop", "/loop/"), {{"pre", {plugin("loopMw", "loop.js")}}}));
        fx.add_api(with_plugins(keyless("resp", "/resp/"),
                                {{"response", {plugin("respMw", "response_edit.js")}}}));
        Json config_api = with_plugins(keyless("config", "/config/"),
                                       {{"post", {plugin("greetMw", "config_data.js")}}});
        config_api["config_data"] = {{"greeting", "hi"}};
        fx.add_api(config_api);
        fx.add_api(with_plugins(keyless("plug", "/plug/"),
                                {{"pre", {plugin("rewriteMw", "rewrite.js")}}}));
        fx.add_api(with_plugins(keyless("missing", "/missing/"),
                                {{"pre", {plugin("missingMw", "no_such_plugin.js")}}}));
        fx.add_api(with_plugins(keyless("syntax", "/syntax/"),
                                {{"pre", {plugin("syntaxMw", "syntax_error.js")}}}));
        Json call_api =
            with_plugins(keyless("call", "/call/"), {{"pre", {plugin("httpMw", "http_call.js")}}});
        call_api["config_data"] = {{"upstream", upstream}};
        fx.add_api(call_api);

        // Custom auth plugins: from auth_check, from the auth folder, ignored without
        // enable_coprocess_auth, and chained with the auth token (use_standard_auth).
        auto auth_api = [&](const std::string& id, bool custom_auth, Json hooks) {
            Json api = with_plugins(keyless(id, "/" + id + "/"), std::move(hooks));
            api["use_keyless"] = false;
            api["enable_coprocess_auth"] = custom_auth;
            api["config_data"] = {{"tier", "gold"}};
            api["version_data"]["versions"]["Default"]["global_headers"] = {
                {"X-User", "$tyk_meta.user"}, {"X-Tier", "$tyk_meta.tier"}};
            return api;
        };
        const Json auth_check = {{"auth_check", plugin("authPlugin", "auth_plugin.js")}};
        fx.add_api(auth_api("jsauth", true, auth_check));
        fx.add_api(auth_api("jsfolder", true, Json::object()));
        fx.add_api(auth_api("jsoff", false, auth_check));
        Json both = auth_api("jsboth", true, auth_check);
        both["use_standard_auth"] = true;
        fx.add_api(both);
        const auto folder = fx.dir.path() / "middleware" / "jsfolder" / "auth";
        std::filesystem::create_directories(folder);
        std::filesystem::copy_file(plugin_path("auth_plugin.js"), folder / "authPlugin.js");
        fx.start();
    }
    std::uint16_t port() const { return fx.port(); }
};

} // namespace

TEST_CASE("a post plugin with require_session counts requests in the key's metadata",
          "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    const std::string key =
        create_key(port, session_for({"count"}, {{"meta_data", {{"user", "u1"}}}}));
    HttpClient client{port};
    const Headers auth{{"Authorization", key}};
    constexpr int kRequests = 5;
    for (int i = 1; i <= kRequests; ++i) {
        INFO("request " << i);
        const Json echo = echoed(client.request("GET", "/count/x", auth));
        CHECK(echo["path"] == "/x");
        CHECK(upstream_header(echo, "X-Counter") == std::to_string(i));
    }
    // Saved back to Redis: the whole metadata the plugin returned, other fields kept.
    const Json stored = stored_session(env.fx, key);
    CHECK(stored["meta_data"]["counter"] == std::to_string(kRequests));
    CHECK(stored["meta_data"]["user"] == "u1");
    CHECK(stored["access_rights"].contains("count"));
    const Json via_api = get_key(port, key);
    CHECK(via_api["meta_data"]["counter"] == std::to_string(kRequests));
    CHECK(via_api["meta_data"]["user"] == "u1");
}

TEST_CASE("plugin metadata write-back keeps a concurrent Gateway API change of the key",
          "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(
        port,
        session_for({"count"}, {{"rate", 5000}, {"per", 60}, {"meta_data", {{"user", "u1"}}}}));

    constexpr int kThreads = 4;
    constexpr int kPerThread = 5; // 20 requests in all
    std::atomic<int> done{0};
    std::mutex mu;
    std::vector<std::string> failures; // checked on the main thread (Catch2 is not thread-safe)
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            try {
                HttpClient client{port, 30s};
                for (int i = 0; i < kPerThread; ++i) {
                    const auto res = client.request("GET", "/count/x", {{"Authorization", key}});
                    if (res.status != 200) {
                        const std::lock_guard lock{mu};
                        failures.push_back("status " + std::to_string(res.status) + ": " +
                                           res.body);
                    }
                    ++done;
                }
            } catch (const std::exception& e) {
                const std::lock_guard lock{mu};
                failures.push_back(std::string("request failed: ") + e.what());
                done += kPerThread; // do not keep the main thread waiting
            }
        });
    }

    // In the middle of the batch: GET the key, change its rate only, PUT it back.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (done.load() < kThreads && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    const int done_before_put = done.load();
    Json session = get_key(port, key);
    session["rate"] = 7777;
    const auto put = admin(port, "PUT", "/tyk/keys/" + key + "?suppress_reset=1", session.dump());
    const int done_after_put = done.load();
    for (auto& t : threads) {
        t.join();
    }
    INFO("requests done before the PUT: " << done_before_put << ", after: " << done_after_put);
    {
        INFO(put.body);
        REQUIRE(put.status == 200);
    }
    for (const auto& failure : failures) {
        FAIL_CHECK(failure);
    }
    CHECK(done_after_put < kThreads * kPerThread); // the PUT really overlapped the batch

    // Both survived: the rate the Gateway API set and the counter the plugin wrote.
    const Json stored = stored_session(env.fx, key);
    INFO("stored: " << stored.dump());
    CHECK(stored["rate"] == 7777);
    CHECK(stored["per"] == 60);
    CHECK(stored["meta_data"]["user"] == "u1");
    REQUIRE(stored["meta_data"].contains("counter"));
    REQUIRE(stored["meta_data"]["counter"].is_string());
    const int counter = std::stoi(stored["meta_data"]["counter"].get<std::string>());
    CHECK(counter >= 1);
    CHECK(counter <= kThreads * kPerThread);

    // Sequential requests after the PUT keep counting from there, and keep the new rate.
    HttpClient client{port};
    for (int i = 1; i <= 3; ++i) {
        INFO("sequential request " << i);
        const Json echo = echoed(client.request("GET", "/count/x", {{"Authorization", key}}));
        CHECK(upstream_header(echo, "X-Counter") == std::to_string(counter + i));
    }
    const Json after = stored_session(env.fx, key);
    CHECK(after["meta_data"]["counter"] == std::to_string(counter + 3));
    CHECK(after["rate"] == 7777);
    CHECK(get_key(port, key)["rate"] == 7777);
}

TEST_CASE("a pre plugin can answer the request itself through ReturnOverrides",
          "[integration][jsvm]") {
    Env env;
    const auto port = env.port();

    SECTION("ResponseCode 403: Tyk's error body, the plugin's headers, no upstream call") {
        const auto served = env.echo.requests_served();
        const auto res = http_request(port, "GET", "/block/x");
        check_tyk_error(res, 403, "blocked by plugin");
        CHECK(res.header("X-Blocked") == "yes");
        CHECK(env.echo.requests_served() == served);
    }
    SECTION("ResponseCode 200: the ResponseBody as is") {
        const auto served = env.echo.requests_served();
        const auto res = http_request(port, "GET", "/reply/x");
        CHECK(res.status == 200);
        CHECK(res.body == "hello from plugin");
        CHECK(res.header("X-Reply") == "plugin");
        CHECK(res.header("Content-Type") == "text/plain");
        CHECK(env.echo.requests_served() == served);
    }
}

TEST_CASE("a plugin that throws answers 500 and the gateway keeps serving", "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    HttpClient client{port};
    const auto served = env.echo.requests_served();
    check_tyk_error(client.get("/throws/x"), 500, "Internal Server Error");
    CHECK(env.echo.requests_served() == served);
    // Another route, on the same connection and on a new one.
    CHECK(echoed(client.get("/open/after"))["path"] == "/after");
    CHECK(http_request(port, "GET", "/open/again").status == 200);
    // The failing plugin fails the same way again; other plugins still run.
    check_tyk_error(http_request(port, "GET", "/throws/y"), 500, "Internal Server Error");
    CHECK(upstream_header(echoed(http_request(port, "GET", "/config/x")), "X-Greeting") == "hi");
}

TEST_CASE("a plugin in an endless loop is stopped after jsvm_timeout with 500",
          "[integration][jsvm]") {
    Env env{1};
    const auto port = env.port();
    // Warm up: the plugin lets requests without X-Loop through.
    CHECK(upstream_header(echoed(http_request(port, "GET", "/loop/x")), "X-Loop-Plugin") ==
          "passed");

    const auto started = std::chrono::steady_clock::now();
    auto looping = std::async(std::launch::async, [port] {
        HttpClient client{port, 20s};
        return client.request("GET", "/loop/x", {{"X-Loop", "1"}});
    });
    // Meanwhile, a keyless route without plugins is answered.
    std::this_thread::sleep_for(200ms);
    {
        const auto t0 = std::chrono::steady_clock::now();
        HttpClient other{port, 20s};
        CHECK(other.get("/open/meanwhile").status == 200);
        CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    }
    REQUIRE(looping.wait_for(20s) == std::future_status::ready);
    const auto res = looping.get();
    const auto elapsed = std::chrono::steady_clock::now() - started;
    INFO("loop answered after "
         << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
    check_tyk_error(res, 500, "Internal Server Error");
    CHECK(elapsed < 5s);
    CHECK(elapsed >= 900ms); // it was the timeout that stopped it

    // Afterwards: other routes work, and the interrupted heap still runs its plugin (several
    // requests on fresh connections, to reach both workers).
    CHECK(http_request(port, "GET", "/open/after").status == 200);
    for (int i = 0; i < 4; ++i) {
        INFO("request " << i);
        CHECK(upstream_header(echoed(http_request(port, "GET", "/loop/x")), "X-Loop-Plugin") ==
              "passed");
    }
    CHECK(env.fx.gateway().process().running());
}

TEST_CASE("a response plugin edits the upstream's response", "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    const std::string marker = "<!--edited-->";

    auto res = http_request(port, "GET", "/resp/x");
    INFO("body " << res.body);
    REQUIRE(res.status == 200);
    CHECK(res.header("X-Resp") == "edited");
    CHECK(res.header("X-Saw-Status") == "200");
    REQUIRE(res.body.size() > marker.size());
    CHECK(res.body.ends_with(marker));
    const Json echo =
        Json::parse(res.body.substr(0, res.body.size() - marker.size()), nullptr, false);
    REQUIRE(echo.is_object());
    CHECK(echo["path"] == "/x");

    // DeleteHeaders removes an upstream response header.
    res = http_request(port, "GET", "/resp/__headers?h=X-Drop:1&h=X-Stay:1");
    REQUIRE(res.status == 200);
    CHECK_FALSE(res.has_header("X-Drop"));
    CHECK(res.header("X-Stay") == "1");
    CHECK(res.header("X-Resp") == "edited");
    CHECK(res.body.ends_with(marker));
}

TEST_CASE("a plugin gets the API's config_data", "[integration][jsvm]") {
    Env env;
    const Json echo = echoed(http_request(env.port(), "GET", "/config/x"));
    CHECK(upstream_header(echo, "X-Greeting") == "hi");
    CHECK(upstream_header(echo, "X-Plugin-Api-Id") == "config");
    CHECK(upstream_header(echo, "X-Plugin-Org-Id") == "default");
}

TEST_CASE("a pre plugin changes headers, query parameters, URL and body", "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    const Headers headers{{"X-Remove", "gone"}, {"X-Keep", "kept"}};

    SECTION("GET") {
        const Json echo =
            echoed(http_request(port, "GET", "/plug/original?orig=1&drop=x", headers));
        // What the plugin saw: the URL with the listen path, the parameters and headers.
        CHECK(upstream_header(echo, "X-Seen-Url") == "/plug/original?orig=1&drop=x");
        CHECK(upstream_header(echo, "X-Seen-Method") == "GET");
        CHECK(upstream_header(echo, "X-Seen-Orig") == "1");
        CHECK(upstream_header(echo, "X-Seen-Keep") == "kept");
        // What it changed (Tyk re-encodes the query with Go's url.Values.Encode: sorted by key).
        CHECK(echo["path"] == "/rewritten");
        CHECK(echo["query"] == "added=1&orig=1");
        CHECK(upstream_header(echo, "X-Added") == "yes");
        CHECK(upstream_header(echo, "X-Remove") == "<absent>");
        CHECK(upstream_header(echo, "X-Keep") == "kept");
    }
    SECTION("POST with a body") {
        const Json echo =
            echoed(http_request(port, "POST", "/plug/original?orig=2", headers, "hello"));
        CHECK(upstream_header(echo, "X-Seen-Method") == "POST");
        CHECK(echo["path"] == "/rewritten");
        CHECK(echo["query"] == "added=1&orig=2");
        CHECK(echo["body"] == "plugin saw: hello");
        CHECK(upstream_header(echo, "Content-Length") == std::to_string(17));
    }
}

TEST_CASE("a missing or non-compiling plugin script is reported at load and fails closed",
          "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    const std::string missing = plugin_path("no_such_plugin.js");
    const std::string broken = plugin_path("syntax_error.js");
    // Reported with its path (polled briefly: loading may log after the listening line).
    std::string log;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    do {
        log = env.fx.gateway().log();
        if (log.find(missing) != std::string::npos && log.find(broken) != std::string::npos) {
            break;
        }
        std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    INFO("gateway log:\n" << log);
    CHECK(log.find(missing) != std::string::npos);
    CHECK(log.find(broken) != std::string::npos);

    const auto served = env.echo.requests_served();
    for (const char* target : {"/missing/x", "/syntax/x"}) {
        INFO(target);
        const auto res = http_request(port, "GET", target);
        INFO("body " << res.body);
        CHECK(res.status == 500);
        CHECK(res.header("Content-Type") == "application/json");
    }
    CHECK(env.echo.requests_served() == served);
    // The other APIs are unaffected.
    CHECK(http_request(port, "GET", "/open/x").status == 200);
}

TEST_CASE("TykMakeHttpRequest calls an upstream from a plugin", "[integration][jsvm]") {
    Env env;
    const auto served = env.echo.requests_served();
    const Json echo = echoed(http_request(env.port(), "GET", "/call/x"));
    CHECK(upstream_header(echo, "X-Call-Code") == "200");
    CHECK(upstream_header(echo, "X-Call-Path") == "/from-plugin");
    CHECK(upstream_header(echo, "X-Call-Query") == "via=js");
    CHECK(upstream_header(echo, "X-Call-Header") == "1");
    CHECK(echo["path"] == "/x");
    CHECK(env.echo.requests_served() == served + 2); // the plugin's call, then the proxied request
}

TEST_CASE("a custom auth plugin authenticates requests with the session it returns",
          "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    HttpClient client{port};
    const auto served = env.echo.requests_served();

    // Refused by the plugin, through its ReturnOverrides; the upstream is not called.
    check_tyk_error(client.request("GET", "/jsauth/x"), 401, "Header missing or wrong (JS auth)");
    check_tyk_error(client.request("GET", "/jsauth/x", {{"Authorization", "bad-alice"}}), 401,
                    "Header missing or wrong (JS auth)");
    CHECK(env.echo.requests_served() == served);

    // Accepted: the plugin's session is the request's session ($tyk_meta), and it is saved at
    // apikey-<AuthValue>.
    const Headers alice{{"Authorization", "good-alice"}};
    const Json echo = echoed(client.request("GET", "/jsauth/x", alice));
    CHECK(echo["path"] == "/x");
    CHECK(upstream_header(echo, "X-User") == "alice");
    CHECK(upstream_header(echo, "X-Tier") == "gold");
    const Json stored = stored_session(env.fx, "plugin-alice");
    CHECK(stored["meta_data"]["user"] == "alice");
    CHECK(stored["quota_max"] == 3);
    CHECK(get_key(port, "plugin-alice")["meta_data"]["tier"] == "gold");

    // The session's quota (3) applies to the key AuthValue names.
    CHECK(client.request("GET", "/jsauth/x", alice).status == 200);
    CHECK(client.request("GET", "/jsauth/x", alice).status == 200);
    check_tyk_error(client.request("GET", "/jsauth/x", alice), 403, "Quota exceeded");
    // Another user is another key with its own quota.
    CHECK(client.request("GET", "/jsauth/x", {{"Authorization", "good-bob"}}).status == 200);

    // The usual session checks run on the plugin's session: an expired one is refused.
    check_tyk_error(client.request("GET", "/jsauth/x", {{"Authorization", "good-expired"}}), 401,
                    "Key has expired, please renew");
}

TEST_CASE("the auth plugin from the auth folder; auth_check needs enable_coprocess_auth",
          "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    HttpClient client{port};

    // <middleware_path>/jsfolder/auth/authPlugin.js
    check_tyk_error(client.request("GET", "/jsfolder/x"), 401, "Header missing or wrong (JS auth)");
    const Json echo =
        echoed(client.request("GET", "/jsfolder/x", {{"Authorization", "good-carol"}}));
    CHECK(upstream_header(echo, "X-User") == "carol");

    // enable_coprocess_auth off: the plugin is ignored (and said so at load); the auth token
    // applies.
    const std::string log = env.fx.gateway().log();
    CHECK(log.find("ignored: enable_coprocess_auth is off") != std::string::npos);
    check_tyk_error(client.request("GET", "/jsoff/x"), 401, "Authorization field missing");
    check_tyk_error(client.request("GET", "/jsoff/x", {{"Authorization", "good-dave"}}), 403,
                    "Access to this API has been disallowed");
    const std::string key =
        create_key(port, session_for({"jsoff"}, {{"meta_data", {{"user", "k"}}}}));
    CHECK(upstream_header(echoed(client.request("GET", "/jsoff/x", {{"Authorization", key}})),
                          "X-User") == "k");
}

TEST_CASE("with use_standard_auth the auth token is checked after the auth plugin",
          "[integration][jsvm]") {
    Env env;
    const auto port = env.port();
    HttpClient client{port};
    // The plugin accepts "good-erin", but no such key exists for the token auth.
    check_tyk_error(client.request("GET", "/jsboth/x", {{"Authorization", "good-erin"}}), 403,
                    "Access to this API has been disallowed");
    // A real key the plugin refuses: refused by the plugin first.
    const std::string key = create_key(port, session_for({"jsboth"}));
    check_tyk_error(client.request("GET", "/jsboth/x", {{"Authorization", key}}), 401,
                    "Header missing or wrong (JS auth)");
    // Both pass: the auth token's session wins, as Tyk's chain sets it last.
    const auto created =
        admin(port, "POST", "/tyk/keys/good-frank",
              session_for({"jsboth"}, {{"meta_data", {{"user", "from-key"}}}}).dump());
    REQUIRE(created.status == 200);
    const Json echo = echoed(client.request("GET", "/jsboth/x", {{"Authorization", "good-frank"}}));
    CHECK(upstream_header(echo, "X-User") == "from-key");
}
