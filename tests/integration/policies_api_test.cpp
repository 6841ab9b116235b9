// Policies loaded from files and the Gateway API for them (/tyk/policies), end to end through the
// real portcullis process.
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

using portcullis::test::admin;
using portcullis::test::GatewayFixture;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// The ids in a GET /tyk/policies reply, sorted.
std::vector<std::string> listed_ids(std::uint16_t port) {
    auto res = admin(port, "GET", "/tyk/policies");
    REQUIRE(res.status == 200);
    const Json list = res.json();
    REQUIRE(list.is_array());
    std::vector<std::string> ids;
    for (const auto& policy : list) {
        ids.push_back(policy.value("id", std::string{}));
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

void reload(std::uint16_t port) {
    REQUIRE(admin(port, "GET", "/tyk/reload").status == 200);
}

using Ids = std::vector<std::string>;

} // namespace

TEST_CASE("the Gateway API manages policy files in policy_path, effective after a reload",
          "[integration][policies]") {
    GatewayFixture fx;
    const fs::path dir = fx.dir.path() / "policies";
    fx.dir.write("policies/gold.json", R"({"id": "gold", "rate": 100, "per": 1})");
    fx.dir.write("policies/broken.json", "{\n  \"id\": \"broken\",\n  ,\n}");
    fx.dir.write("policies/legacy.json", R"({"name": "no id, named after the file"})");
    fx.conf["policies"] = {{"policy_source", "file"}, {"policy_path", dir.string()}};
    fx.start();
    const auto port = fx.port();

    // the broken file is logged and skipped, the others load
    const std::string log = fx.gateway().log();
    CHECK(log.find("policy skipped: " + (dir / "broken.json").string() + ":3:3") !=
          std::string::npos);
    CHECK(log.find("policies: 2 loaded") != std::string::npos);
    CHECK(listed_ids(port) == Ids{"gold", "legacy"});

    auto gold = admin(port, "GET", "/tyk/policies/gold");
    REQUIRE(gold.status == 200);
    CHECK(gold.json()["rate"] == 100);
    auto missing = admin(port, "GET", "/tyk/policies/missing");
    CHECK(missing.status == 404);
    CHECK(missing.json() == Json{{"status", "error"}, {"message", "Policy not found"}});

    // create: written at once, served after a reload
    auto added = admin(port, "POST", "/tyk/policies", R"({"id": "silver", "quota_max": 10})");
    REQUIRE(added.status == 200);
    CHECK(added.json() == Json{{"key", "silver"}, {"status", "ok"}, {"action", "added"}});
    CHECK(fs::exists(dir / "silver.json"));
    CHECK(admin(port, "GET", "/tyk/policies/silver").status == 404);
    reload(port);
    CHECK(listed_ids(port) == Ids{"gold", "legacy", "silver"});
    CHECK(admin(port, "GET", "/tyk/policies/silver").json()["quota_max"] == 10);

    // an id is generated when the body has none
    auto generated = admin(port, "POST", "/tyk/policies", R"({"name": "anonymous"})");
    REQUIRE(generated.status == 200);
    const std::string new_id = generated.json()["key"];
    CHECK_FALSE(new_id.empty());
    CHECK(fs::exists(dir / (new_id + ".json")));

    // modify: the path id wins over the body's
    auto modified =
        admin(port, "PUT", "/tyk/policies/silver", R"({"id": "other", "quota_max": 20})");
    REQUIRE(modified.status == 200);
    CHECK(modified.json() == Json{{"key", "silver"}, {"status", "ok"}, {"action", "modified"}});
    CHECK_FALSE(fs::exists(dir / "other.json"));
    reload(port);
    auto silver = admin(port, "GET", "/tyk/policies/silver");
    CHECK(silver.json()["quota_max"] == 20);
    CHECK(silver.json()["id"] == "silver");

    // delete: gone after a reload
    auto deleted = admin(port, "DELETE", "/tyk/policies/silver");
    REQUIRE(deleted.status == 200);
    CHECK(deleted.json() == Json{{"key", "silver"}, {"status", "ok"}, {"action", "deleted"}});
    CHECK_FALSE(fs::exists(dir / "silver.json"));
    CHECK(admin(port, "GET", "/tyk/policies/silver").status == 200);
    reload(port);
    CHECK(admin(port, "GET", "/tyk/policies/silver").status == 404);
    CHECK(admin(port, "DELETE", "/tyk/policies/silver").status == 404);
    Ids expected{"gold", "legacy", new_id};
    std::sort(expected.begin(), expected.end());
    CHECK(listed_ids(port) == expected);

    SECTION("bad bodies and ids that would escape policy_path are refused") {
        auto bad = admin(port, "POST", "/tyk/policies", "{oops");
        CHECK(bad.status == 400);
        CHECK(bad.json() == Json{{"status", "error"}, {"message", "Request malformed"}});
        CHECK(admin(port, "POST", "/tyk/policies", "[1, 2]").status == 400);
        CHECK(admin(port, "PUT", "/tyk/policies/gold", "\"text\"").status == 400);

        auto escape = admin(port, "POST", "/tyk/policies", R"({"id": "../evil"})");
        CHECK(escape.status == 400);
        CHECK(escape.json()["status"] == "error");
        CHECK_FALSE(fs::exists(fx.dir.path() / "evil.json"));
        CHECK(admin(port, "PUT", "/tyk/policies/..%2Fevil", "{}").status == 400);
        CHECK(admin(port, "DELETE", "/tyk/policies/..%2Fgold").status == 400);
        CHECK_FALSE(fs::exists(fx.dir.path() / "..%2Fevil.json"));
        CHECK(admin(port, "PATCH", "/tyk/policies/gold", "{}").status == 405);
        CHECK(fs::exists(dir / "gold.json"));
    }
}

TEST_CASE("the Gateway API round-trips policies through a policy_record_name file",
          "[integration][policies]") {
    GatewayFixture fx;
    const fs::path record = fx.dir.path() / "policies.json";
    fx.dir.write("policies.json", R"({"gold": {"id": "ignored", "rate": 5}})");
    fx.conf["policies"] = {{"policy_record_name", record.string()}};
    fx.start();
    const auto port = fx.port();

    CHECK(listed_ids(port) == Ids{"gold"});
    CHECK(admin(port, "GET", "/tyk/policies/gold").json()["id"] == "gold");

    auto added = admin(port, "POST", "/tyk/policies", R"({"id": "silver", "rate": 7})");
    REQUIRE(added.status == 200);
    CHECK(added.json()["action"] == "added");
    auto put = admin(port, "PUT", "/tyk/policies/gold", R"({"rate": 6})");
    REQUIRE(put.status == 200);
    CHECK(put.json()["action"] == "modified");

    Json stored = Json::parse(portcullis::test::read_file(record));
    CHECK(stored["silver"]["rate"] == 7);
    CHECK(stored["gold"]["rate"] == 6);
    CHECK(stored["gold"]["id"] == "gold");

    reload(port);
    CHECK(listed_ids(port) == Ids{"gold", "silver"});
    CHECK(admin(port, "GET", "/tyk/policies/gold").json()["rate"] == 6);

    auto deleted = admin(port, "DELETE", "/tyk/policies/gold");
    REQUIRE(deleted.status == 200);
    CHECK(deleted.json()["action"] == "deleted");
    CHECK(admin(port, "DELETE", "/tyk/policies/gold").status == 404);
    CHECK_FALSE(Json::parse(portcullis::test::read_file(record)).contains("gold"));
    reload(port);
    CHECK(listed_ids(port) == Ids{"silver"});
}

TEST_CASE("without a policy file location the Gateway API cannot write policies",
          "[integration][policies]") {
    GatewayFixture fx;
    fx.start();
    const auto port = fx.port();
    CHECK(fx.gateway().log().find("policies: 0 loaded") != std::string::npos);
    CHECK(listed_ids(port).empty());
    auto res = admin(port, "POST", "/tyk/policies", R"({"id": "gold"})");
    CHECK(res.status == 500);
    CHECK(res.json()["message"].get<std::string>().find("policy_path") != std::string::npos);
    CHECK(admin(port, "DELETE", "/tyk/policies/gold").status == 500);
}
