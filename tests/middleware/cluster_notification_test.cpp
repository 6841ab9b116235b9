#include "middleware/cluster/notification.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace cluster = portcullis::cluster;
using cluster::Action;

TEST_CASE("cluster notifications are signed as Tyk signs them", "[unit][cluster]") {
    const std::string message =
        cluster::encode({std::string(cluster::kGroupReload), ""}, "node-secret");
    const auto json = nlohmann::json::parse(message);
    CHECK(json["command"] == "GroupReload");
    CHECK(json["payload"] == "");
    CHECK(json["algorithm"] == 5);
    // hex(SHA-256(command + payload + node_secret)), computed with sha256sum
    CHECK(json["signature"] == "3975736a05b9a0e166c1f37bcc4f18ef63a75fdcb890c62cb475e80155f4d1b6");

    std::string error;
    const auto decoded = cluster::decode(message, "node-secret", false, error);
    REQUIRE(decoded);
    CHECK(decoded->command == "GroupReload");
    CHECK(decoded->payload.empty());
}

TEST_CASE("cluster notifications with a wrong or missing signature are refused",
          "[unit][cluster]") {
    const std::string good =
        cluster::encode({std::string(cluster::kKeySpaceUpdate), "abc,def"}, "right");
    std::string error;
    CHECK_FALSE(cluster::decode(good, "wrong", false, error));
    CHECK(error == "signature does not match node_secret");

    auto tampered = nlohmann::json::parse(good);
    tampered["payload"] = "abc,xyz";
    CHECK_FALSE(cluster::decode(tampered.dump(), "right", false, error));

    auto unsigned_message = nlohmann::json{{"command", "GroupReload"}, {"payload", ""}};
    CHECK_FALSE(cluster::decode(unsigned_message.dump(), "right", false, error));
    CHECK(error == "not signed with SHA-256 and node_secret");
    // allow_insecure_configs accepts it, as Tyk does
    const auto insecure = cluster::decode(unsigned_message.dump(), "right", true, error);
    REQUIRE(insecure);
    CHECK(insecure->command == "GroupReload");

    const std::vector<std::string> malformed = {
        "",
        "not json",
        "[]",
        "42",
        R"({"command": 5, "payload": "", "signature": ""})",
        R"({"command": "GroupReload", "payload": {}, "signature": "", "algorithm": 5})"};
    for (const auto& text : malformed) {
        INFO(text);
        CHECK_FALSE(cluster::decode(text, "right", true, error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("cluster notification commands map to actions", "[unit][cluster]") {
    for (const char* reload :
         {"GroupReload", "ApiUpdated", "ApiRemoved", "ApiAdded", "PolicyChanged"}) {
        CHECK(cluster::action_for(reload) == Action::reload);
    }
    CHECK(cluster::action_for("KeySpaceUpdateNotification") == Action::flush_keys);
    for (const char* other : {"NoticeGatewayDRLNotification", "NoticeConfigUpdated",
                              "NoticeGatewayConfigResponse", "", "groupreload"}) {
        CHECK(cluster::action_for(other) == Action::ignore);
    }
}

TEST_CASE("key space updates name keys as Tyk splits them", "[unit][cluster]") {
    using V = std::vector<std::string>;
    CHECK(cluster::flushed_keys("") == V{});
    CHECK(cluster::flushed_keys("abc") == V{"abc"});
    CHECK(cluster::flushed_keys("abc,def") == V{"abc", "def"});
    CHECK(cluster::flushed_keys("abc:hashed,def:x:y,,ghi") == V{"abc", "def", "ghi"});
    CHECK(cluster::flushed_keys(":lead,") == V{});
}
