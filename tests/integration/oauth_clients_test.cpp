// OAuth client management through the Gateway API (/tyk/oauth/clients), end to end: the real
// portcullis process and a real redis-server, checking the replies and what Redis holds.
#include "examples/echo_upstream/echo_server.hpp"
#include "middleware/keys/base64.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>

using portcullis::examples::EchoServer;
using portcullis::test::admin;
using portcullis::test::GatewayFixture;
using portcullis::test::keyed_api;
using Json = nlohmann::json;

namespace {

Json oauth_api(const std::string& id, const std::string& listen_path, const EchoServer& echo) {
    Json api = keyed_api(id, listen_path, echo);
    api["use_standard_auth"] = false;
    api["use_oauth2"] = true;
    api["oauth_meta"] = {{"allowed_access_types", {"client_credentials"}},
                         {"allowed_authorize_types", {"token"}},
                         {"auth_login_redirect", "http://login.example/"}};
    return api;
}

struct Env {
    EchoServer echo;
    GatewayFixture fx;
    Env() {
        const auto dir = fx.dir.path() / "policies";
        fx.dir.write("policies/both.json",
                     R"({"id": "both", "access_rights": {
                           "oa": {"api_id": "oa", "versions": ["Default"]},
                           "ob": {"api_id": "ob", "versions": ["Default"]},
                           "plain": {"api_id": "plain", "versions": ["Default"]}}})");
        fx.dir.write("policies/plainonly.json",
                     R"({"id": "plainonly", "access_rights": {
                           "plain": {"api_id": "plain", "versions": ["Default"]}}})");
        fx.dir.write("policies/ghost.json",
                     R"({"id": "ghost", "access_rights": {
                           "nope": {"api_id": "nope", "versions": ["Default"]}}})");
        fx.dir.write("policies/onlyb.json",
                     R"({"id": "onlyb", "access_rights": {
                           "ob": {"api_id": "ob", "versions": ["Default"]}}})");
        fx.conf["policies"] = {{"policy_source", "file"}, {"policy_path", dir.string()}};
        fx.add_api(oauth_api("oa", "/oa/", echo));
        fx.add_api(oauth_api("ob", "/ob/", echo));
        fx.add_api(keyed_api("plain", "/plain/", echo));
        fx.start();
    }
    std::uint16_t port() const { return fx.port(); }
    std::string redis(const std::vector<std::string>& args) const {
        return fx.redis->command(args);
    }
};

std::vector<std::string> ids_of(const Json& list) {
    std::vector<std::string> out;
    for (const auto& c : list) {
        out.push_back(c["client_id"].get<std::string>());
    }
    std::sort(out.begin(), out.end());
    return out;
}

void check_error(const portcullis::test::HttpResponse& res,
                 unsigned status,
                 const std::string& message) {
    CHECK(res.status == status);
    const Json body = Json::parse(res.body, nullptr, false);
    CHECK(body["status"] == "error");
    CHECK(body["message"] == message);
}

} // namespace

TEST_CASE("OAuth clients: create, read, list, update, delete as Tyk", "[integration][oauth]") {
    Env env;
    const auto port = env.port();

    SECTION("a generated id and secret; the record in Tyk's layout") {
        auto res = admin(port, "POST", "/tyk/oauth/clients/create",
                         R"({"api_id": "oa", "redirect_uri": "http://app.example/cb",
                             "meta_data": {"tier": "gold"}, "description": "my app"})");
        REQUIRE(res.status == 200);
        const Json created = res.json();
        const std::string id = created["client_id"];
        const std::string secret = created["secret"];
        CHECK(id.size() == 32);
        CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        // base64 of a dashed UUIDv4 text, as Tyk's createOauthClientSecret
        const auto decoded = portcullis::keys::base64_decode(secret);
        REQUIRE(decoded);
        CHECK(decoded->size() == 36);
        CHECK((*decoded)[8] == '-');
        CHECK((*decoded)[14] == '4');
        CHECK(created["redirect_uri"] == "http://app.example/cb");
        CHECK(created["meta_data"] == Json{{"tier", "gold"}});
        CHECK(created["description"] == "my app");
        CHECK_FALSE(created.contains("policy_id"));
        CHECK_FALSE(created.contains("api_id"));

        const std::string key = "oauth-data.oa.oauth-clientid." + id;
        const Json record = Json::parse(env.redis({"GET", key}));
        CHECK(record == Json{{"id", id},
                             {"secret", secret},
                             {"redirecturi", "http://app.example/cb"},
                             {"meta_data", {{"tier", "gold"}}},
                             {"policyid", ""},
                             {"description", "my app"}});
        CHECK(env.redis({"TTL", key}) == "-1");
        CHECK(env.redis({"LRANGE", "oauth-data.oa.oauth-client-index.default", "0", "-1"}) ==
              key + "\n");
        CHECK(env.redis({"SCARD", "oauth-data.oa.oauth-clientset.oauth-clientid."}) == "1");
        CHECK(env.redis({"EXISTS", "oauth-data.ob.oauth-clientid." + id}) == "0");

        auto got = admin(port, "GET", "/tyk/oauth/clients/oa/" + id);
        REQUIRE(got.status == 200);
        CHECK(got.json() == created);
    }

    SECTION("a given id and secret are kept; get, list, update, rotate, delete") {
        auto res = admin(port, "POST", "/tyk/oauth/clients/create",
                         R"({"client_id": "app1", "secret": "s3cret", "api_id": "oa",
                             "redirect_uri": "http://a/cb", "policy_id": "both"})");
        REQUIRE(res.status == 200);
        CHECK(res.json()["client_id"] == "app1");
        CHECK(res.json()["secret"] == "s3cret");
        CHECK(res.json()["policy_id"] == "both");
        CHECK(res.json()["meta_data"].is_null());
        const Json record = Json::parse(env.redis({"GET", "oauth-data.oa.oauth-clientid.app1"}));
        CHECK_FALSE(record.contains("meta_data"));
        CHECK(record["policyid"] == "both");
        REQUIRE(admin(port, "POST", "/tyk/oauth/clients/create",
                      R"({"client_id": "app2", "api_id": "oa", "redirect_uri": "http://b"})")
                    .status == 200);

        auto list = admin(port, "GET", "/tyk/oauth/clients/oa");
        REQUIRE(list.status == 200);
        CHECK(ids_of(list.json()) == std::vector<std::string>{"app1", "app2"});
        auto other = admin(port, "GET", "/tyk/oauth/clients/ob");
        CHECK(other.status == 200);
        CHECK(other.json() == Json::array());

        auto updated = admin(port, "PUT", "/tyk/oauth/clients/oa/app1",
                             R"({"redirect_uri": "http://a/new", "meta_data": {"k": 1},
                                 "description": "changed", "secret": "ignored"})");
        REQUIRE(updated.status == 200);
        CHECK(updated.json()["secret"] == "s3cret");
        CHECK(updated.json()["redirect_uri"] == "http://a/new");
        CHECK_FALSE(updated.json().contains("policy_id")); // replaced by the (empty) new one
        CHECK(updated.json()["description"] == "changed");
        const Json after = Json::parse(env.redis({"GET", "oauth-data.oa.oauth-clientid.app1"}));
        CHECK(after["secret"] == "s3cret");
        CHECK(after["meta_data"] == Json{{"k", 1}});
        CHECK(after["policyid"] == "");
        CHECK(env.redis({"LLEN", "oauth-data.oa.oauth-client-index.default"}) == "2");
        CHECK(env.redis({"SCARD", "oauth-data.oa.oauth-clientset.oauth-clientid."}) == "2");

        auto rotated = admin(port, "PUT", "/tyk/oauth/clients/oa/app1/rotate");
        REQUIRE(rotated.status == 200);
        CHECK(rotated.json()["secret"] != "s3cret");
        CHECK(rotated.json()["redirect_uri"] == "http://a/new");

        // a token list, as the token endpoint records it (member = hashed token, score = expiry)
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        const std::string tokens_key = "oauth-data.oa.oauth-client-tokens.app1";
        env.redis({"ZADD", tokens_key, std::to_string(now + 3600), "livehash"});
        env.redis({"ZADD", tokens_key, std::to_string(now - 10), "deadhash"});
        auto tokens = admin(port, "GET", "/tyk/oauth/clients/oa/app1/tokens");
        REQUIRE(tokens.status == 200);
        CHECK(tokens.json() == Json::array({{{"code", "livehash"}, {"expires", now + 3600}}}));
        auto paged = admin(port, "GET", "/tyk/oauth/clients/oa/app1/tokens?page=1");
        REQUIRE(paged.status == 200);
        CHECK(paged.json()["Pagination"] ==
              Json{{"page_num", 1}, {"page_total", 1}, {"page_size", 100}});
        CHECK(paged.json()["Tokens"].size() == 1);
        auto none = admin(port, "GET", "/tyk/oauth/clients/oa/app2/tokens");
        CHECK(none.status == 200);
        CHECK(none.json() == Json::array());

        auto apis = admin(port, "GET", "/tyk/oauth/clients/apis/app1?orgID=default");
        REQUIRE(apis.status == 200);
        CHECK(apis.json() == Json::array({"oa"}));

        auto deleted = admin(port, "DELETE", "/tyk/oauth/clients/oa/app1");
        REQUIRE(deleted.status == 200);
        CHECK(deleted.json() == Json{{"key", "app1"}, {"status", "ok"}, {"action", "deleted"}});
        CHECK(env.redis({"EXISTS", "oauth-data.oa.oauth-clientid.app1"}) == "0");
        CHECK(env.redis({"EXISTS", tokens_key}) == "0");
        CHECK(env.redis({"LRANGE", "oauth-data.oa.oauth-client-index.default", "0", "-1"}) ==
              "oauth-data.oa.oauth-clientid.app2\n");
        CHECK(env.redis({"SCARD", "oauth-data.oa.oauth-clientset.oauth-clientid."}) == "1");
        check_error(admin(port, "GET", "/tyk/oauth/clients/oa/app1"), 404,
                    "OAuth Client ID not found");
        CHECK(ids_of(admin(port, "GET", "/tyk/oauth/clients/oa").json()) ==
              std::vector<std::string>{"app2"});
    }

    SECTION("not found, not OAuth, malformed") {
        check_error(admin(port, "GET", "/tyk/oauth/clients/oa/missing"), 404,
                    "OAuth Client ID not found");
        check_error(admin(port, "GET", "/tyk/oauth/clients/nope/x"), 404,
                    "OAuth Client ID not found");
        check_error(admin(port, "GET", "/tyk/oauth/clients/nope"), 404, "OAuth client not found");
        check_error(admin(port, "PUT", "/tyk/oauth/clients/oa/missing", R"({"redirect_uri":"x"})"),
                    404, "OAuth Client ID not found");
        check_error(admin(port, "PUT", "/tyk/oauth/clients/nope/x", "{}"), 404,
                    "API doesn't exist");
        check_error(admin(port, "DELETE", "/tyk/oauth/clients/nope/x"), 404,
                    "OAuth Client ID not found");
        check_error(admin(port, "DELETE", "/tyk/oauth/clients/plain/x"), 404,
                    "OAuth Client ID not found");
        check_error(admin(port, "GET", "/tyk/oauth/clients/nope/x/tokens"), 404,
                    "OAuth Client ID not found");
        // a non-OAuth API lists no clients
        auto plain = admin(port, "GET", "/tyk/oauth/clients/plain");
        CHECK(plain.status == 200);
        CHECK(plain.json() == Json::array());

        check_error(admin(port, "POST", "/tyk/oauth/clients/create",
                          R"({"api_id": "plain", "redirect_uri": "x"})"),
                    400, "API is not OAuth2");
        check_error(admin(port, "POST", "/tyk/oauth/clients/create",
                          R"({"api_id": "nope", "redirect_uri": "x"})"),
                    400, "API doesn't exist");
        check_error(admin(port, "POST", "/tyk/oauth/clients/create", R"({"redirect_uri": "x"})"),
                    400, "Policy doesn't exist");
        // Tyk answers an undecodable body with 500 "Unmarshalling failed"
        check_error(admin(port, "POST", "/tyk/oauth/clients/create", "{not json"), 500,
                    "Unmarshalling failed");
        check_error(admin(port, "POST", "/tyk/oauth/clients/create", R"({"api_id": 5})"), 500,
                    "Unmarshalling failed");
        REQUIRE(admin(port, "POST", "/tyk/oauth/clients/create",
                      R"({"client_id": "c", "api_id": "oa"})")
                    .status == 200);
        check_error(admin(port, "PUT", "/tyk/oauth/clients/oa/c", "[1"), 500,
                    "Unmarshalling failed");
        check_error(admin(port, "PUT", "/tyk/oauth/clients/oa/c", R"({"policy_id": "nope"})"), 404,
                    "Policy doesn't exist");
        check_error(admin(port, "PUT", "/tyk/oauth/clients/oa/c", R"({"policy_id": "onlyb"})"), 400,
                    "Policy access rights doesn't contain API this OAuth client belongs to");
        check_error(admin(port, "PATCH", "/tyk/oauth/clients/oa/c"), 405, "Method not supported");
        CHECK(env.redis({"KEYS", "oauth-data.plain.*"}).empty());
    }

    SECTION("created through a policy: stored for each of its OAuth APIs") {
        auto res =
            admin(port, "POST", "/tyk/oauth/clients/create",
                  R"({"client_id": "viapol", "policy_id": "both", "redirect_uri": "http://p"})");
        REQUIRE(res.status == 200);
        CHECK(res.json()["policy_id"] == "both");
        const std::string secret = res.json()["secret"];
        for (const std::string api : {"oa", "ob"}) {
            const Json record =
                Json::parse(env.redis({"GET", "oauth-data." + api + ".oauth-clientid.viapol"}));
            CHECK(record["secret"] == secret);
            CHECK(record["policyid"] == "both");
            CHECK(admin(port, "GET", "/tyk/oauth/clients/" + api + "/viapol").status == 200);
        }
        CHECK(env.redis({"EXISTS", "oauth-data.plain.oauth-clientid.viapol"}) == "0");
        auto apis = admin(port, "GET", "/tyk/oauth/clients/apis/viapol?orgID=");
        REQUIRE(apis.status == 200);
        auto ids = apis.json().get<std::vector<std::string>>();
        std::sort(ids.begin(), ids.end());
        CHECK(ids == std::vector<std::string>{"oa", "ob"});

        check_error(
            admin(port, "POST", "/tyk/oauth/clients/create", R"({"policy_id": "plainonly"})"), 400,
            "API is not OAuth2");
        check_error(admin(port, "POST", "/tyk/oauth/clients/create", R"({"policy_id": "ghost"})"),
                    400, "API doesn't exist");
    }
}
