// Session metadata and context variables in flight, end to end: the real portcullis process, a
// real redis-server, real upstreams. Header transforms (request and response), URL rewrites
// (groups, triggers, payload, absolute targets, internal loops) and a metadata change through the
// Gateway API showing on the next request.
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

#include <catch2/catch.hpp>

using portcullis::examples::EchoServer;
using portcullis::test::admin;
using portcullis::test::create_key;
using portcullis::test::GatewayFixture;
using portcullis::test::http_request;
using portcullis::test::HttpResponse;
using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

std::string url_of(const EchoServer& echo) {
    return "http://127.0.0.1:" + std::to_string(echo.port());
}

Json rewrite(const std::string& path,
             const std::string& method,
             const std::string& pattern,
             const std::string& to) {
    Json r = Json::object();
    r["path"] = path;
    r["method"] = method;
    r["match_pattern"] = pattern;
    r["rewrite_to"] = to;
    return r;
}

Json trigger(const std::string& on, const Json& options, const std::string& to) {
    Json t = Json::object();
    t["on"] = on;
    t["options"] = options;
    t["rewrite_to"] = to;
    return t;
}

/// The keyed API under test: every transform kind at once.
Json meta_api(const EchoServer& echo, const EchoServer& elsewhere) {
    Json api = GatewayFixture::keyless_api("meta-api", "/meta/", url_of(echo), true);
    api["use_keyless"] = false;
    api["use_standard_auth"] = true;
    api["auth"] = Json::parse(R"({"auth_header_name": "Authorization"})");
    api["enable_context_vars"] = true;
    api["response_processors"] = Json::parse(R"([{"name": "header_injector", "options": {
        "add_headers": {"X-Legacy": "id=$tyk_meta.id"}, "remove_headers": ["X-Legacy-Drop"]}}])");

    Json version = Json::parse(R"({
      "name": "Default",
      "use_extended_paths": true,
      "global_headers": {
        "X-User": "$tyk_meta.user",
        "X-Id": "$tyk_meta.id",
        "X-Ratio": "$tyk_meta.ratio",
        "X-Tags": "$tyk_meta.tags",
        "X-Path": "$tyk_context.path",
        "X-Form-Name": "$tyk_context.request_data_name",
        "X-Missing": "[$tyk_meta.nope]",
        "x-lower-name": "canonical"
      },
      "global_headers_remove": ["X-Remove-Me"],
      "global_response_headers": {"X-Resp-User": "$tyk_meta.user"},
      "global_response_headers_remove": ["X-Upstream-Secret"],
      "extended_paths": {
        "transform_headers": [{
          "path": "/users/{id}", "method": "GET",
          "add_headers": {"X-Endpoint": "users-$tyk_meta.id",
                          "X-Agent": "$tyk_context.headers_User_Agent"},
          "delete_headers": ["X-Drop"]
        }],
        "transform_response_headers": [{
          "path": "/users/{id}", "method": "GET",
          "add_headers": {"X-Resp-Endpoint": "user $tyk_meta.user"}
        }]
      }
    })");
    Json rewrites = Json::array();
    Json users = rewrite("/users/{id}", "GET", "/users/(\\w+)",
                         "/accounts/$tyk_meta.user/$1?tags=$tyk_meta.tags");
    users["triggers"] = Json::array();
    users["triggers"].push_back(
        trigger("all", Json::parse(R"({"header_matches": {"X-Plan": {"match_rx": "^gold$"}}})"),
                "/gold/$1"));
    users["triggers"].push_back(trigger(
        "any", Json::parse(R"({"session_meta_matches": {"tier": {"match_rx": "^(vip)$"}}})"),
        "/vip/$tyk_context.trigger-1-tier-0/$1"));
    rewrites.push_back(users);
    Json search = rewrite("/search", "POST", "/search", "/search-default");
    search["triggers"] = Json::array();
    search["triggers"].push_back(trigger(
        "any", Json::parse(R"({"payload_matches": {"match_rx": "\"kind\":\\s*\"(\\w+)\""}})"),
        "/search-$tyk_context.trigger-0-payload-0-0"));
    rewrites.push_back(search);
    rewrites.push_back(
        rewrite("/elsewhere", "GET", "/elsewhere/(.*)", url_of(elsewhere) + "/moved/$1"));
    rewrites.push_back(rewrite("/loop/", "GET", "/loop/(.*)", "tyk://other-api/from-loop/$1"));
    rewrites.push_back(rewrite("/selfloop", "GET", "/selfloop(.*)", "tyk://self/selfloop$1"));
    rewrites.push_back(rewrite("/nowhere", "GET", "/nowhere", "tyk://no-such-api/x"));
    rewrites.push_back(rewrite("/to-secret", "GET", "/to-secret", "tyk://other-api/secret"));
    rewrites.push_back(rewrite("/to-hidden", "GET", "/to-hidden", "tyk://hidden-api/inside"));
    rewrites.push_back(rewrite("/to-keyed", "GET", "/to-keyed", "tyk://keyed-target/k"));
    rewrites.push_back(rewrite("/bad-method", "GET", "/bad-method", "tyk://self/x?method=GE%20T"));
    version["extended_paths"]["url_rewrites"] = rewrites;
    api["version_data"]["versions"]["Default"] = version;
    return api;
}

/// The target of the internal loop: keyless, with its own header and an internal endpoint.
Json other_api(const EchoServer& echo) {
    Json api = GatewayFixture::keyless_api("other-api", "/other/", url_of(echo), true);
    Json& version = api["version_data"]["versions"]["Default"];
    version["global_headers"] = Json::parse(R"({"X-Other": "yes"})");
    version["use_extended_paths"] = true;
    version["extended_paths"] =
        Json::parse(R"({"internal": [{"path": "/secret", "method": "GET"}]})");
    return api;
}

/// A keyed API that loops lead into: its own auth applies to looped requests.
Json keyed_target_api(const EchoServer& echo) {
    Json api = GatewayFixture::keyless_api("keyed-target", "/kt/", url_of(echo), true);
    api["use_keyless"] = false;
    api["use_standard_auth"] = true;
    api["auth"] = Json::parse(R"({"auth_header_name": "Authorization"})");
    api["version_data"]["versions"]["Default"]["global_headers"] =
        Json::parse(R"({"X-Target-User": "$tyk_meta.user"})");
    return api;
}

/// An API only loops reach.
Json hidden_api(const EchoServer& echo) {
    Json api = GatewayFixture::keyless_api("hidden-api", "/hidden/", url_of(echo), true);
    api["internal"] = true;
    return api;
}

/// An API with one bad and one good rewrite: the bad one is reported and skipped.
Json partly_broken_api(const EchoServer& echo) {
    Json api = GatewayFixture::keyless_api("broken-api", "/broken/", url_of(echo), true);
    Json version = Json::parse(R"({"name": "Default", "use_extended_paths": true,
                                   "extended_paths": {}})");
    Json rewrites = Json::array();
    rewrites.push_back(rewrite("/a", "GET", "/a(", "/never"));
    rewrites.push_back(rewrite("/b", "GET", "/b/(\\d+)", "/good/$1"));
    version["extended_paths"]["url_rewrites"] = rewrites;
    // Framing headers set by transforms must never reach the wire as such.
    version["global_headers"] =
        Json::parse(R"({"Content-Length": "7", "Transfer-Encoding": "chunked"})");
    version["global_response_headers"] = Json::parse(
        R"({"Content-Length": "3", "Transfer-Encoding": "chunked", "Connection": "close"})");
    api["version_data"]["versions"]["Default"] = version;
    return api;
}

Json session_with_meta(const Json& meta) {
    Json s = Json::parse(R"({"org_id": "default", "rate": 1000, "per": 1, "quota_max": -1,
                             "expires": 0, "access_rights": {"meta-api": {"api_id": "meta-api",
                             "api_name": "meta-api", "versions": ["Default"]}}})");
    s["meta_data"] = meta;
    return s;
}

Json default_meta() {
    return Json::parse(
        R"({"user": "alice", "id": 42, "ratio": 12.5, "tags": ["a b", "c"], "tier": "basic"})");
}

/// First value of a header as the echo upstream received it; "<absent>" when it did not.
std::string upstream_header(const Json& echo, const std::string& name) {
    const auto& headers = echo.at("headers");
    if (!headers.contains(name)) {
        return "<absent>";
    }
    return headers.at(name).at(0).get<std::string>();
}

struct Env {
    EchoServer echo;
    EchoServer elsewhere;
    GatewayFixture fx;
    Env() {
        fx.add_api(meta_api(echo, elsewhere));
        fx.add_api(other_api(echo));
        fx.add_api(hidden_api(echo));
        fx.add_api(keyed_target_api(echo));
        fx.add_api(partly_broken_api(echo));
        fx.start();
    }
    std::uint16_t port() const { return fx.port(); }
};

} // namespace

TEST_CASE("request headers carry session metadata and context variables",
          "[integration][transforms]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(port, session_with_meta(default_meta()));

    auto res = http_request(port, "GET", "/meta/users/7",
                            {{"Authorization", key},
                             {"User-Agent", "probe/1.0"},
                             {"X-Remove-Me", "1"},
                             {"X-Drop", "1"},
                             {"X-Kept", "1"}});
    REQUIRE(res.status == 200);
    const Json echo = res.json();
    CHECK(upstream_header(echo, "X-User") == "alice");
    CHECK(upstream_header(echo, "X-Id") == "42");
    CHECK(upstream_header(echo, "X-Ratio") == "12.5");
    CHECK(upstream_header(echo, "X-Tags") == "a+b,c"); // array elements query-escaped
    CHECK(upstream_header(echo, "X-Path") == "/meta/users/7");
    CHECK(upstream_header(echo, "X-Missing") == "[]");
    CHECK(upstream_header(echo, "X-Form-Name").empty());
    CHECK(upstream_header(echo, "X-Lower-Name") == "canonical");
    CHECK(upstream_header(echo, "X-Endpoint") == "users-42");
    CHECK(upstream_header(echo, "X-Agent") == "probe/1.0");
    CHECK(upstream_header(echo, "X-Remove-Me") == "<absent>");
    CHECK(upstream_header(echo, "X-Drop") == "<absent>");
    CHECK(upstream_header(echo, "X-Kept") == "1");
    // The rewritten path, with the session's values query-escaped and the client query replaced.
    CHECK(echo["path"] == "/accounts/alice/7");
    CHECK(echo["query"] == "tags=a%2Bb%2Cc");

    SECTION("endpoint transforms apply only where the path and method match") {
        auto other = http_request(port, "POST", "/meta/things", {{"Authorization", key}}, "x");
        REQUIRE(other.status == 200);
        const Json e = other.json();
        CHECK(upstream_header(e, "X-User") == "alice");
        CHECK(upstream_header(e, "X-Endpoint") == "<absent>");
        CHECK(e["path"] == "/things");
        CHECK(e["body"] == "x");
    }
    SECTION("form bodies feed request_data and still reach the upstream whole") {
        auto form = http_request(
            port, "POST", "/meta/form?x=1",
            {{"Authorization", key}, {"Content-Type", "application/x-www-form-urlencoded"}},
            "name=zed&other=2");
        REQUIRE(form.status == 200);
        const Json e = form.json();
        CHECK(upstream_header(e, "X-Form-Name") == "zed");
        CHECK(e["body"] == "name=zed&other=2");
        CHECK(e["body_length"] == 16);
        CHECK(e["query"] == "x=1");
    }
}

TEST_CASE("response headers are transformed before the client sees them",
          "[integration][transforms]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(port, session_with_meta(default_meta()));

    SECTION("global, legacy injector and removal") {
        auto res = http_request(
            port, "GET",
            "/meta/__headers?h=X-Upstream-Secret:s3&h=X-Legacy-Drop:1&h=X-Upstream-Other:o",
            {{"Authorization", key}});
        REQUIRE(res.status == 200);
        CHECK(res.header("X-Resp-User") == "alice");
        CHECK(res.header("X-Legacy") == "id=42");
        CHECK_FALSE(res.has_header("X-Upstream-Secret"));
        CHECK_FALSE(res.has_header("X-Legacy-Drop"));
        CHECK(res.header("X-Upstream-Other") == "o");
        CHECK_FALSE(res.has_header("X-Resp-Endpoint"));
    }
    SECTION("endpoint entries match the path before the rewrite") {
        auto res = http_request(port, "GET", "/meta/users/9", {{"Authorization", key}});
        REQUIRE(res.status == 200);
        CHECK(res.json()["path"] == "/accounts/alice/9");
        CHECK(res.header("X-Resp-Endpoint") == "user alice");
        CHECK(res.header("X-Resp-User") == "alice");
    }
    SECTION("gateway-made errors get no upstream transforms") {
        auto res = http_request(port, "GET", "/meta/users/9", {{"Authorization", "nope-nope"}});
        CHECK(res.status == 403);
        CHECK_FALSE(res.has_header("X-Resp-User"));
    }
}

TEST_CASE("a metadata change through the Gateway API shows on the next request",
          "[integration][transforms]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(port, session_with_meta(default_meta()));

    auto before = http_request(port, "GET", "/meta/users/1", {{"Authorization", key}});
    REQUIRE(before.status == 200);
    CHECK(upstream_header(before.json(), "X-User") == "alice");
    CHECK(before.header("X-Resp-User") == "alice");

    Json changed = Json::parse(
        R"({"user": "bob smith", "id": 7, "ratio": 0.5, "tags": ["x"], "tier": "basic"})");
    auto put = admin(port, "PUT", "/tyk/keys/" + key, session_with_meta(changed).dump());
    REQUIRE(put.status == 200);

    auto after = http_request(port, "GET", "/meta/users/1", {{"Authorization", key}});
    REQUIRE(after.status == 200);
    const Json e = after.json();
    CHECK(upstream_header(e, "X-User") == "bob smith");
    CHECK(upstream_header(e, "X-Id") == "7");
    CHECK(upstream_header(e, "X-Ratio") == "0.5");
    CHECK(upstream_header(e, "X-Tags") == "x");
    CHECK(e["path"] == "/accounts/bob+smith/1"); // query-escaped in the URL
    CHECK(after.header("X-Resp-User") == "bob smith");
}

TEST_CASE("URL rewrite triggers, payloads, other hosts and internal loops",
          "[integration][transforms]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(port, session_with_meta(default_meta()));
    Json vip_meta = default_meta();
    vip_meta["tier"] = "vip";
    const std::string vip = create_key(port, session_with_meta(vip_meta));

    SECTION("a header trigger with all") {
        auto res = http_request(port, "GET", "/meta/users/3",
                                {{"Authorization", key}, {"X-Plan", "gold"}});
        REQUIRE(res.status == 200);
        CHECK(res.json()["path"] == "/gold/3");
        auto silver = http_request(port, "GET", "/meta/users/3",
                                   {{"Authorization", key}, {"X-Plan", "silver"}});
        CHECK(silver.json()["path"] == "/accounts/alice/3");
    }
    SECTION("a session metadata trigger and its stored trigger-* group") {
        auto res = http_request(port, "GET", "/meta/users/5", {{"Authorization", vip}});
        REQUIRE(res.status == 200);
        CHECK(res.json()["path"] == "/vip/vip/5");
    }
    SECTION("a payload trigger reads the body, which still reaches the upstream") {
        const std::string body = R"({"kind": "books", "q": "x"})";
        auto res =
            http_request(port, "POST", "/meta/search",
                         {{"Authorization", key}, {"Content-Type", "application/json"}}, body);
        REQUIRE(res.status == 200);
        const Json e = res.json();
        CHECK(e["path"] == "/search-books");
        CHECK(e["body"] == body);
        CHECK(e["body_length"] == body.size());
        auto plain =
            http_request(port, "POST", "/meta/search", {{"Authorization", key}}, R"({"other": 1})");
        CHECK(plain.json()["path"] == "/search-default");
        CHECK(plain.json()["body"] == R"({"other": 1})");
    }
    SECTION("an 8 MiB buffered payload reaches the upstream whole (more than one write)") {
        const std::string body =
            R"({"kind": "books", "pad": ")" + std::string(8 * 1024 * 1024, 'p') + R"("})";
        auto res =
            http_request(port, "POST", "/meta/search",
                         {{"Authorization", key}, {"Content-Type", "application/json"}}, body);
        REQUIRE(res.status == 200);
        const Json e = res.json();
        CHECK(e["path"] == "/search-books");
        CHECK(e["body_length"] == body.size());
        std::uint64_t fnv = 1469598103934665603ull; // the echo upstream's FNV-1a of the body
        for (const char ch : body) {
            fnv = (fnv ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
        }
        CHECK(e["body_fnv1a"] == fnv);
    }
    SECTION("a payload larger than the buffering limit is refused with 413") {
        // max_buffered_body_bytes is 10 MiB by default; Content-Length says more.
        portcullis::test::HttpClient client(port);
        client.send_raw("POST /meta/search HTTP/1.1\r\nHost: x\r\nAuthorization: " + key +
                        "\r\nContent-Length: 20000000\r\n\r\n");
        auto res = client.read_response();
        CHECK(res.status == 413);
    }
    SECTION("an absolute URL sends this request to another host") {
        auto res = http_request(port, "GET", "/meta/elsewhere/a/b?q=1", {{"Authorization", key}});
        REQUIRE(res.status == 200);
        const Json e = res.json();
        CHECK(e["path"] == "/moved/a/b");
        CHECK(e["query"] == "q=1"); // captured by (.*), so it survives
        CHECK(upstream_header(e, "Host") == "127.0.0.1:" + std::to_string(env.elsewhere.port()));
        CHECK(env.elsewhere.requests_served() >= 1);
    }
    SECTION("tyk://<api> loops into another API, which applies its own transforms") {
        auto res = http_request(port, "GET", "/meta/loop/x/y", {{"Authorization", key}});
        REQUIRE(res.status == 200);
        const Json e = res.json();
        CHECK(e["path"] == "/from-loop/x/y");
        CHECK(upstream_header(e, "X-Other") == "yes");
        CHECK(upstream_header(e, "X-User") == "alice"); // set by the first API
    }
    SECTION("tyk://self loops end at the loop limit with Tyk's 500") {
        auto res = http_request(port, "GET", "/meta/selfloop", {{"Authorization", key}});
        CHECK(res.status == 500);
        CHECK(res.json()["error"] ==
              "Loop level too deep. Found more than 5 loops in single request");
        auto two =
            http_request(port, "GET", "/meta/selfloop?loop_limit=2", {{"Authorization", key}});
        CHECK(two.status == 500);
        CHECK(two.json()["error"] ==
              "Loop level too deep. Found more than 2 loops in single request");
    }
    SECTION("internal endpoints and internal APIs are reachable only through loops") {
        auto direct = http_request(port, "GET", "/other/secret");
        CHECK(direct.status == 403);
        CHECK(direct.json()["error"] == "Requested endpoint is forbidden");
        CHECK(http_request(port, "POST", "/other/secret", {}, "x").status == 200); // GET only
        auto looped = http_request(port, "GET", "/meta/to-secret", {{"Authorization", key}});
        REQUIRE(looped.status == 200);
        CHECK(looped.json()["path"] == "/secret");
        CHECK(http_request(port, "GET", "/hidden/inside").status == 404);
        auto hidden = http_request(port, "GET", "/meta/to-hidden", {{"Authorization", key}});
        REQUIRE(hidden.status == 200);
        CHECK(hidden.json()["path"] == "/inside");
    }
    SECTION("a loop into a keyed API is authenticated for that API") {
        auto refused = http_request(port, "GET", "/meta/to-keyed", {{"Authorization", key}});
        CHECK(refused.status == 403);
        CHECK(refused.json()["error"] == "Access to this API has been disallowed");
        Json both = session_with_meta(default_meta());
        both["access_rights"]["keyed-target"] = Json::parse(
            R"({"api_id": "keyed-target", "api_name": "keyed-target", "versions": ["Default"]})");
        const std::string both_key = create_key(port, both);
        auto allowed = http_request(port, "GET", "/meta/to-keyed", {{"Authorization", both_key}});
        REQUIRE(allowed.status == 200);
        CHECK(allowed.json()["path"] == "/k");
        CHECK(upstream_header(allowed.json(), "X-Target-User") == "alice");
    }
    SECTION("loop limits are capped and loop methods must be HTTP tokens") {
        auto huge = http_request(port, "GET", "/meta/selfloop?loop_limit=99999999999",
                                 {{"Authorization", key}});
        CHECK(huge.status == 500);
        CHECK(huge.json()["error"] ==
              "Loop level too deep. Found more than 100 loops in single request");
        auto bad = http_request(port, "GET", "/meta/bad-method", {{"Authorization", key}});
        CHECK(bad.status == 500);
        CHECK(bad.json()["error"] == "There was a problem proxying the request");
    }
    SECTION("an unknown loop target answers 500") {
        auto res = http_request(port, "GET", "/meta/nowhere", {{"Authorization", key}});
        CHECK(res.status == 500);
        CHECK(res.json()["error"] == "Can't detect loop target");
    }
}

TEST_CASE("an invalid rewrite regex is reported at load and only that entry is skipped",
          "[integration][transforms]") {
    Env env;
    const auto port = env.port();
    auto good = http_request(port, "GET", "/broken/b/12");
    REQUIRE(good.status == 200);
    CHECK(good.json()["path"] == "/good/12");
    auto untouched = http_request(port, "GET", "/broken/a(x");
    CHECK(untouched.status == 200);
    const std::string log = env.fx.gateway().log();
    CHECK(log.find("broken-api") != std::string::npos);
    CHECK(log.find("url_rewrites/0/match_pattern") != std::string::npos);
}

TEST_CASE("framing headers from transforms or Connection never change how bodies are sent",
          "[integration][transforms]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(port, session_with_meta(default_meta()));

    SECTION("transforms setting Content-Length, Transfer-Encoding and Connection") {
        portcullis::test::HttpClient client(port); // one connection, kept alive throughout
        for (int i = 0; i < 3; ++i) {
            auto res = client.request("GET", "/broken/b/12");
            REQUIRE(res.status == 200);
            const Json e = res.json(); // the whole body arrived, framed correctly
            CHECK(e["path"] == "/good/12");
            CHECK(e["body_length"] == 0);
            CHECK(upstream_header(e, "Transfer-Encoding") == "<absent>");
        }
    }
    SECTION("a buffered body keeps its length when Connection names Content-Length") {
        const auto served_before = env.echo.requests_served();
        portcullis::test::HttpClient client(port);
        auto res = client.request("POST", "/meta/form",
                                  {{"Authorization", key},
                                   {"Content-Type", "application/x-www-form-urlencoded"},
                                   {"Connection", "keep-alive, Content-Length"}},
                                  "name=zed&other=2");
        REQUIRE(res.status == 200);
        const Json e = res.json();
        CHECK(e["body"] == "name=zed&other=2");
        CHECK(upstream_header(e, "Content-Length") == "16");
        CHECK(env.echo.requests_served() == served_before + 1); // no second, smuggled request
    }
}
