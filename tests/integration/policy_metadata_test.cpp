// Policies applied at authentication, end to end: a key's metadata, access rights and limits come
// from its policies (files in policy_path), and `$tyk_meta` sees the merged metadata.
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

#include <catch2/catch.hpp>

using portcullis::examples::EchoServer;
using portcullis::test::admin;
using portcullis::test::create_key;
using portcullis::test::GatewayFixture;
using portcullis::test::get_key;
using portcullis::test::HttpClient;
using portcullis::test::keyed_api;
using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

Json access(const std::string& api) {
    return {{"api_id", api}, {"api_name", api}, {"versions", {"Default"}}};
}

std::string upstream_header(const Json& echo, const std::string& name) {
    const auto& headers = echo.at("headers");
    return headers.contains(name) ? headers.at(name).at(0).get<std::string>() : "<absent>";
}

struct Env {
    EchoServer echo;
    GatewayFixture fx;
    Env() {
        Json api = keyed_api("meta", "/meta/", echo);
        api["version_data"]["versions"]["Default"]["global_headers"] = {
            {"X-Tier", "$tyk_meta.tier"}, {"X-Team", "$tyk_meta.team"}, {"X-Own", "$tyk_meta.own"}};
        fx.add_api(api);
        fx.add_api(keyed_api("other", "/other/", echo));
        const auto dir = fx.dir.path() / "policies";
        std::filesystem::create_directories(dir);
        fx.dir.write("policies/gold.json", Json{{"id", "gold"},
                                                {"org_id", "default"},
                                                {"rate", 1000},
                                                {"per", 1},
                                                {"quota_max", 1},
                                                {"meta_data", {{"tier", "gold"}, {"team", "core"}}},
                                                {"access_rights", {{"meta", access("meta")}}}}
                                               .dump());
        fx.dir.write("policies/team.json", Json{{"id", "team"},
                                                {"org_id", "default"},
                                                {"rate", 1000},
                                                {"per", 1},
                                                {"quota_max", 2},
                                                {"quota_renewal_rate", 3600},
                                                {"meta_data", {{"team", "payments"}}},
                                                {"access_rights", {{"meta", access("meta")}}}}
                                               .dump());
        fx.dir.write("policies/broken.json", "{ not json");
        fx.conf["policies"] = {{"policy_source", "file"}, {"policy_path", dir.string()}};
        fx.start();
    }
};

} // namespace

TEST_CASE("a key with two policies gets their merged metadata in $tyk_meta",
          "[integration][policies]") {
    Env env;
    const auto port = env.fx.port();
    // The key itself has no access rights and one metadata key of its own.
    const std::string key = create_key(port, Json{{"org_id", "default"},
                                                  {"apply_policies", {"gold", "team"}},
                                                  {"meta_data", {{"own", "mine"}, {"tier", "x"}}}});
    HttpClient client{port};
    const Headers auth{{"Authorization", key}};
    auto res = client.request("GET", "/meta/x", auth);
    REQUIRE(res.status == 200);
    const Json echo = res.json();
    CHECK(upstream_header(echo, "X-Tier") == "gold");     // policy overwrites the key's value
    CHECK(upstream_header(echo, "X-Team") == "payments"); // the later policy wins
    CHECK(upstream_header(echo, "X-Own") == "mine");      // the key's own keys stay

    // Access rights come from the policies only.
    CHECK(client.request("GET", "/other/x", auth).status == 403);
    // The largest quota of the two policies applies: 2, and the 2nd request above was /other.
    CHECK(client.request("GET", "/meta/x", auth).status == 200);
    CHECK(client.request("GET", "/meta/x", auth).status == 403);

    // GET /tyk/keys shows the key as its policies make it.
    const Json stored = get_key(port, key);
    CHECK(stored["meta_data"]["team"] == "payments");
    CHECK(stored["access_rights"].contains("meta"));
    // The broken policy file was reported and skipped.
    CHECK_THAT(env.fx.gateway().log(), Catch::Contains("broken.json"));
}

TEST_CASE("an unknown policy denies the key; a policy change is seen after a reload",
          "[integration][policies]") {
    Env env;
    const auto port = env.fx.port();
    const std::string key = create_key(port, Json{{"org_id", "default"},
                                                  {"apply_policies", {"gold"}},
                                                  {"access_rights", {{"meta", access("meta")}}}});
    HttpClient client{port};
    const Headers auth{{"Authorization", key}};
    REQUIRE(client.request("GET", "/meta/x", auth).status == 200);

    // The policy file changes: the key follows it after /tyk/reload.
    env.fx.dir.write("policies/gold.json", Json{{"id", "gold"},
                                                {"org_id", "default"},
                                                {"meta_data", {{"tier", "platinum"}}},
                                                {"access_rights", {{"meta", access("meta")}}}}
                                               .dump());
    REQUIRE(admin(port, "GET", "/tyk/reload").status == 200);
    auto res = client.request("GET", "/meta/x", auth);
    REQUIRE(res.status == 200);
    CHECK(upstream_header(res.json(), "X-Tier") == "platinum");

    // The policy disappears: the key is denied.
    std::filesystem::remove(env.fx.dir.path() / "policies" / "gold.json");
    REQUIRE(admin(port, "GET", "/tyk/reload").status == 200);
    auto denied = client.request("GET", "/meta/x", auth);
    CHECK(denied.status == 403);
    CHECK(denied.json()["error"] == "Access to this API has been disallowed");
}
