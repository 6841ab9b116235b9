// The Gateway API (/tyk/) against hostile callers, through the real portcullis process: wrong
// or missing secrets, an empty configured secret, malformed and oversized bodies, ids that would
// escape app_path or policy_path. Each is refused and nothing stored changes.
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using portcullis::test::admin;
using portcullis::test::GatewayFixture;
using portcullis::test::http_request;
using portcullis::test::HttpClient;
using Json = nlohmann::json;

namespace {

const std::vector<std::pair<std::string, std::string>> kRoutes = {
    {"GET", "/tyk/keys"},
    {"POST", "/tyk/keys/create"},
    {"GET", "/tyk/keys/some-key"},
    {"DELETE", "/tyk/keys/some-key"},
    {"GET", "/tyk/apis"},
    {"POST", "/tyk/apis"},
    {"DELETE", "/tyk/apis/a1"},
    {"GET", "/tyk/policies"},
    {"POST", "/tyk/policies"},
    {"GET", "/tyk/reload"},
    {"GET", "/tyk/reload/group"},
    {"POST", "/tyk/oauth/clients/create"},
    {"GET", "/tyk/oauth/clients/a1"},
};

/// Files anywhere under `dir`.
std::size_t files_under(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        n += entry.is_regular_file() ? 1 : 0;
    }
    return n;
}

/// Starts `fx` with policies stored as files in its directory (so they can be written).
void start_with_policy_files(GatewayFixture& fx) {
    fx.conf["policies"] = {{"policy_source", "file"},
                           {"policy_path", (fx.dir.path() / "policies").string()}};
    std::filesystem::create_directories(fx.dir.path() / "policies");
    fx.start();
}

} // namespace

TEST_CASE("Gateway API: a wrong or missing secret is refused on every route",
          "[integration][hostile]") {
    GatewayFixture fx;
    fx.conf["portcullis"]["access_log"] = "info";
    fx.start();
    for (const auto& [method, target] : kRoutes) {
        INFO(method << " " << target);
        const Json refused = {
            {"status", "error"},
            {"message", "Attempted administrative access with invalid or missing key!"}};
        auto none = http_request(fx.port(), method, target, {}, "{}");
        CHECK(none.status == 403);
        CHECK(none.json() == refused); // Tyk's Gateway API error shape
        auto wrong =
            http_request(fx.port(), method, target, {{"X-Tyk-Authorization", "test-secreT"}}, "{}");
        CHECK(wrong.status == 403);
        CHECK(wrong.json() == refused);
        auto longer = http_request(fx.port(), method, target,
                                   {{"X-Tyk-Authorization", "test-secret-and-more"}}, "{}");
        CHECK(longer.status == 403);
    }
    // The secret is never logged, not even a wrong one.
    CHECK(fx.gateway().log().find("test-secreT") == std::string::npos);
    // The access log gives each Gateway API call the status it was answered with.
    CHECK(admin(fx.port(), "GET", "/tyk/apis").status == 200);
    // The access line is written after the answer: give it a moment.
    std::string log = fx.gateway().log();
    for (int i = 0; i < 100 && log.find("GET /tyk/apis 200") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        log = fx.gateway().log();
    }
    CHECK(log.find("GET /tyk/apis 200 api=tyk-api") != std::string::npos);
    CHECK(log.find("POST /tyk/keys/create 403 api=tyk-api") != std::string::npos);
    CHECK(log.find(" 0 api=tyk-api") == std::string::npos);
}

TEST_CASE("Gateway API: an empty secret refuses every request and the log says why",
          "[integration][hostile]") {
    GatewayFixture fx;
    fx.conf["secret"] = "";
    fx.start();
    for (const auto& [method, target] : kRoutes) {
        INFO(method << " " << target);
        CHECK(http_request(fx.port(), method, target, {{"X-Tyk-Authorization", ""}}, "{}").status ==
              403);
    }
    CHECK(fx.gateway().log().find("secret is empty") != std::string::npos);
}

TEST_CASE("Gateway API: malformed and oversized bodies are refused and change nothing",
          "[integration][hostile]") {
    GatewayFixture fx;
    start_with_policy_files(fx);
    const auto port = fx.port();
    const std::size_t files_before = files_under(fx.dir.path());

    std::vector<std::string> bodies = {"",
                                       "{",
                                       "{\"a\": }",
                                       "[1, 2",
                                       "null",
                                       "\"text\"",
                                       "[]",
                                       "{\"access_rights\": 5}",
                                       std::string(1, '\0'),
                                       std::string(200000, '[') + std::string(200000, ']'),
                                       "{\"a\": \"\xff\xfe\"}"};
    for (const char* target : {"/tyk/keys/create", "/tyk/keys", "/tyk/apis", "/tyk/policies"}) {
        // Tyk answers /tyk/keys/create's undecodable body with 500 "Unmarshalling failed"
        // (createKeyHandler); every other route with a 4xx.
        const bool legacy = std::string(target) == "/tyk/keys/create";
        for (const auto& body : bodies) {
            INFO(target << " with " << body.substr(0, 20) << " (" << body.size() << " bytes)");
            auto res = admin(port, "POST", target, body);
            const Json reply = Json::parse(res.body, nullptr, false);
            REQUIRE_FALSE(reply.is_discarded());
            CHECK(reply["status"] == "error");
            if (legacy && (res.status == 500)) {
                CHECK(reply["message"] == "Unmarshalling failed");
            } else {
                CHECK(res.status >= 400);
                CHECK(res.status < 500);
            }
        }
        INFO(target << " announcing 3 MiB");
        HttpClient big{port};
        big.send_raw(std::string("POST ") + target +
                     " HTTP/1.1\r\nHost: a\r\nX-Tyk-Authorization: test-secret\r\n"
                     "Content-Length: 3145728\r\n\r\n{\"pad\": \"");
        CHECK(big.read_response().status == 413);
    }
    // An api_id of the wrong type (found by fuzz_gateway_api: the connection used to end
    // without an answer).
    for (const char* method : {"POST", "PUT"}) {
        auto res = admin(port, method, std::string("/tyk/apis") + (method[1] == 'U' ? "/a1" : ""),
                         R"({"api_id": true, "name": "x"})");
        CHECK(res.status == 400);
        CHECK(res.json()["message"] == "Request malformed");
    }
    CHECK(files_under(fx.dir.path()) == files_before);
    CHECK(Json::parse(admin(port, "GET", "/tyk/keys").body)["keys"].empty());
    CHECK(Json::parse(admin(port, "GET", "/tyk/apis").body).empty());
    CHECK(http_request(port, "GET", "/hello").status == 200);
}

TEST_CASE("Gateway API: a body that stops arriving is answered before the connection closes",
          "[integration][hostile]") {
    GatewayFixture fx;
    fx.conf["http_server_options"]["read_timeout"] = 1;
    fx.start();
    HttpClient client{fx.port()};
    client.send_raw("PUT /tyk/keys/abc HTTP/1.1\r\nHost: a\r\nX-Tyk-Authorization: " +
                    std::string(portcullis::test::kTestSecret) +
                    "\r\nContent-Length: 100\r\n\r\n{\"rate\": 1");
    const auto started = std::chrono::steady_clock::now();
    auto res = client.read_response();
    CHECK(res.status == 400);
    CHECK(res.json()["message"] == "Request malformed");
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
    CHECK(client.closed_by_peer());
}

TEST_CASE("Gateway API: ids that would escape app_path or policy_path are refused",
          "[integration][hostile]") {
    GatewayFixture fx;
    start_with_policy_files(fx);
    const auto port = fx.port();
    const std::size_t files_before = files_under(fx.dir.path());

    for (const std::string id : {"../evil", "..", "a/b", "a\\b", "evil\n", "/etc/x", "."}) {
        INFO("id '" << id << "'");
        Json api = GatewayFixture::keyless_api(id, "/evil/", "http://127.0.0.1:1");
        auto created = admin(port, "POST", "/tyk/apis", api.dump());
        CHECK(created.status == 400);
        Json policy = {{"id", id}, {"rate", 1}, {"per", 1}};
        auto pol = admin(port, "POST", "/tyk/policies", policy.dump());
        CHECK(pol.status == 400);
    }
    for (const char* target : {"/tyk/apis/..%2f..%2fevil", "/tyk/policies/..%2fevil",
                               "/tyk/apis/%2e%2e", "/tyk/policies/a%00b"}) {
        INFO(target);
        auto put = admin(port, "PUT", target, "{\"api_id\": \"x\", \"id\": \"x\"}");
        CHECK(put.status >= 400);
        CHECK(put.status < 500);
        auto del = admin(port, "DELETE", target);
        CHECK(del.status >= 400);
        CHECK(del.status < 500);
    }
    CHECK(files_under(fx.dir.path()) == files_before);
    CHECK_FALSE(std::filesystem::exists(fx.dir.path() / "evil.json"));
    CHECK_FALSE(std::filesystem::exists(fx.dir.path().parent_path() / "evil.json"));
    CHECK(http_request(port, "GET", "/hello").status == 200);
}
