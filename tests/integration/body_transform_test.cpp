// Request and response body transforms (Go text/template), end to end: the real portcullis
// process, a real redis-server, a real upstream.
#include "examples/echo_upstream/echo_server.hpp"
#include "middleware/keys/base64.hpp"
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

namespace {

std::string url_of(const EchoServer& echo) {
    return "http://127.0.0.1:" + std::to_string(echo.port());
}

Json transform_entry(const std::string& path,
                     const std::string& method,
                     const std::string& input_type,
                     const std::string& template_text) {
    Json data = Json::object();
    data["input_type"] = input_type;
    data["template_mode"] = "blob";
    data["enable_session"] = true;
    data["template_source"] = portcullis::keys::base64_encode(template_text);
    Json entry = Json::object();
    entry["path"] = path;
    entry["method"] = method;
    entry["template_data"] = data;
    return entry;
}

constexpr const char* kRequestTemplate =
    R"({"user": "{{ ._tyk_meta.user }}", "path": "{{ ._tyk_context.path }}", "n": {{ .n }}, )"
    R"("items": [{{ range $i, $e := .items }}{{ if $i }},{{ end }}"{{ $e }}"{{ end }}], )"
    R"("id": "$tyk_meta.id"})";

Json body_api(const EchoServer& echo) {
    Json api = GatewayFixture::keyless_api("bt", "/bt/", url_of(echo), true);
    api["use_keyless"] = false;
    api["use_standard_auth"] = true;
    api["auth"] = Json::parse(R"({"auth_header_name": "Authorization"})");
    api["enable_context_vars"] = true;
    Json requests = Json::array();
    requests.push_back(transform_entry("/post", "POST", "json", kRequestTemplate));
    // The seed document's example: {{ ._tyk_meta.jwt }}
    Json seed = transform_entry("/get", "GET", "json", "");
    seed["template_data"]["template_source"] = "e3sgLl90eWtfbWV0YS5qd3QgfX0=";
    requests.push_back(seed);
    requests.push_back(
        transform_entry("/xml", "POST", "xml", R"({{ .user.name }}-{{ index .user "-id" }})"));
    requests.push_back(transform_entry("/arr", "POST", "json", "{{ len .array }}"));
    requests.push_back(transform_entry("/broken", "POST", "json", "{{ .a "));
    requests.push_back(transform_entry("/failing", "POST", "json", "{{ index .list 10 }}"));
    Json responses = Json::array();
    responses.push_back(transform_entry(
        "/resp", "GET", "json",
        R"({"wrapped_path": {{ jsonMarshal .path }}, "user": "{{ ._tyk_meta.user }}"})"));
    Json version = Json::parse(R"({"name": "Default", "use_extended_paths": true})");
    version["extended_paths"] = Json::object();
    version["extended_paths"]["transform"] = requests;
    version["extended_paths"]["transform_response"] = responses;
    api["version_data"]["versions"]["Default"] = version;
    return api;
}

std::string create_key(std::uint16_t port) {
    Json s = Json::parse(R"({"org_id": "default", "rate": 1000, "per": 1, "quota_max": -1,
                             "expires": 0, "access_rights": {"bt": {"api_id": "bt",
                             "api_name": "bt", "versions": ["Default"]}}})");
    s["meta_data"] = Json::parse(R"({"user": "alice", "jwt": "eyJ.abc.def", "id": 42})");
    auto res = admin(port, "POST", "/tyk/keys/create", s.dump());
    REQUIRE(res.status == 200);
    return res.json()["key"].get<std::string>();
}

struct Env {
    EchoServer echo;
    GatewayFixture fx;
    explicit Env(std::int64_t max_response_body = 0) {
        if (max_response_body > 0) {
            fx.conf["http_server_options"]["max_response_body_size"] = max_response_body;
        }
        fx.add_api(body_api(echo));
        fx.start();
    }
    std::uint16_t port() const { return fx.port(); }
};

} // namespace

TEST_CASE("request body transforms render session metadata and context variables",
          "[integration][body_transform]") {
    Env env;
    const auto port = env.port();
    const std::string key = create_key(port);

    SECTION("a JSON body with _tyk_meta, _tyk_context, range and the $tyk_meta pass") {
        auto res = http_request(port, "POST", "/bt/post",
                                {{"Authorization", key}, {"Content-Type", "application/json"}},
                                R"({"n": 42, "items": ["a", "b"]})");
        REQUIRE(res.status == 200);
        const Json echo = res.json();
        const std::string sent = echo["body"].get<std::string>();
        INFO(sent);
        const Json body = Json::parse(sent);
        CHECK(body["user"] == "alice");
        CHECK(body["path"] == "/bt/post");
        CHECK(body["n"] == 42);
        CHECK(body["items"] == Json::parse(R"(["a", "b"])"));
        CHECK(body["id"] == "42");
        CHECK(echo["body_length"] == sent.size());
        CHECK(echo["headers"]["Content-Length"][0] == std::to_string(sent.size()));
    }
    SECTION("the seed document's {{ ._tyk_meta.jwt }} on a GET") {
        auto res = http_request(port, "GET", "/bt/get", {{"Authorization", key}});
        REQUIRE(res.status == 200);
        CHECK(res.json()["body"] == "eyJ.abc.def");
    }
    SECTION("XML input") {
        auto res = http_request(port, "POST", "/bt/xml", {{"Authorization", key}},
                                R"(<user id="7"><name>Ann</name></user>)");
        REQUIRE(res.status == 200);
        CHECK(res.json()["body"] == "Ann-7");
    }
    SECTION("a top-level array becomes .array") {
        auto res = http_request(port, "POST", "/bt/arr", {{"Authorization", key}}, "[1, 2, 3]");
        REQUIRE(res.status == 200);
        CHECK(res.json()["body"] == "3");
    }
    SECTION("a failing template leaves the original body") {
        auto res =
            http_request(port, "POST", "/bt/failing", {{"Authorization", key}}, R"({"list": [1]})");
        REQUIRE(res.status == 200);
        CHECK(res.json()["body"] == R"({"list": [1]})");
    }
    SECTION("a template broken at load is reported and its route streams untouched") {
        auto res =
            http_request(port, "POST", "/bt/broken", {{"Authorization", key}}, R"({"a": 1})");
        REQUIRE(res.status == 200);
        CHECK(res.json()["body"] == R"({"a": 1})");
        const std::string log = env.fx.gateway().log();
        CHECK(log.find("bt") != std::string::npos);
        CHECK(log.find("extended_paths/transform/4") != std::string::npos);
    }
    SECTION("routes without a transform are not touched") {
        auto res = http_request(port, "POST", "/bt/other", {{"Authorization", key}}, R"({"n": 1})");
        REQUIRE(res.status == 200);
        CHECK(res.json()["body"] == R"({"n": 1})");
    }
}

TEST_CASE("response body transforms rewrite the upstream's JSON before the client sees it",
          "[integration][body_transform]") {
    SECTION("within the size limit") {
        Env env;
        const std::string key = create_key(env.port());
        auto res = http_request(env.port(), "GET", "/bt/resp", {{"Authorization", key}});
        REQUIRE(res.status == 200);
        INFO(res.body);
        const Json body = res.json();
        CHECK(body["wrapped_path"] == "/resp");
        CHECK(body["user"] == "alice");
        CHECK(res.header("Content-Length") == std::to_string(res.body.size()));
    }
    SECTION("over max_response_body_size: 500") {
        Env env{64};
        const std::string key = create_key(env.port());
        auto res = http_request(env.port(), "GET", "/bt/resp", {{"Authorization", key}});
        CHECK(res.status == 500);
        CHECK(res.json()["error"] == "Response body too large");
        // Routes without a response transform still stream, whatever their size.
        CHECK(http_request(env.port(), "GET", "/bt/big", {{"Authorization", key}}).status == 200);
    }
}
