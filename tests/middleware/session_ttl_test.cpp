#include "middleware/core/session.hpp"
#include "middleware/core/session_ttl.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using nlohmann::json;
using portcullis::ApiLifetime;
using portcullis::Session;
using portcullis::session_ttl_seconds;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

Session make_session(std::int64_t session_lifetime,
                     std::int64_t expires,
                     const std::vector<std::string>& api_ids) {
    json doc = {{"session_lifetime", session_lifetime}, {"expires", expires}};
    doc["access_rights"] = json::object();
    for (const auto& id : api_ids) {
        doc["access_rights"][id] = {{"api_id", id}, {"versions", {"Default"}}};
    }
    std::string error;
    auto session = Session::from_json(doc, error);
    REQUIRE(session.has_value());
    return *session;
}

} // namespace

TEST_CASE("the TTL of a session on one API follows Tyk's Lifetime rule", "[unit][session]") {
    // session_lifetime, expires, API session_lifetime, respects_key_expiration,
    // force_global, global_lifetime -> TTL
    auto [session_lifetime, expires, api_lifetime, respects, force_global, global, expected] =
        GENERATE(table<std::int64_t, std::int64_t, std::int64_t, bool, bool, std::int64_t,
                       std::int64_t>({
            // force_global wins over everything, with no key-expiration stretch.
            {100, kNow + 5000, 200, true, true, 500, 500},
            {0, 0, 0, false, true, 500, 500},
            {100, 0, 200, false, true, 0, 0},
            {100, 0, 200, false, true, -5, 0},
            // The session's session_lifetime wins over the API's, even when shorter.
            {100, 0, 200, false, false, 999, 100},
            {300, 0, 200, false, false, 0, 300},
            // Otherwise the API's session_lifetime.
            {0, 0, 200, false, false, 0, 200},
            {-1, 0, 200, false, false, 0, 200},
            // Neither: no TTL.
            {0, 0, 0, false, false, 0, 0},
            {0, 0, -3, false, false, 0, 0},
            {-1, 0, -1, false, false, 0, 0},
            // expires alone never sets a TTL.
            {0, kNow + 1000, 0, false, false, 0, 0},
            {0, kNow + 1000, 0, true, false, 0, 0},
            {100, kNow + 1000, 0, false, false, 0, 100},
            // respects_key_expiration stretches the lifetime to the time left when longer...
            {100, kNow + 500, 0, true, false, 0, 500},
            {0, kNow + 1000, 200, true, false, 0, 1000},
            // ... not when shorter or equal ...
            {100, kNow + 50, 0, true, false, 0, 100},
            {100, kNow + 100, 0, true, false, 0, 100},
            {100, kNow + 101, 0, true, false, 0, 101},
            {0, kNow + 150, 200, true, false, 0, 200},
            // ... nor when the key has already expired ...
            {100, kNow - 10, 0, true, false, 0, 100},
            {100, 1, 0, true, false, 0, 100},
            // ... and a key that never expires (0, -1) keeps no TTL at all.
            {100, 0, 0, true, false, 0, 0},
            {100, -1, 0, true, false, 0, 0},
            {0, 0, 200, true, false, 0, 0},
        }));
    CAPTURE(session_lifetime, expires, api_lifetime, respects, force_global, global);
    const Session session = make_session(session_lifetime, expires, {"api-1"});
    const std::vector<ApiLifetime> apis = {{"api-1", api_lifetime, respects}};
    CHECK(session_ttl_seconds(session, apis, force_global, global, kNow) == expected);
}

TEST_CASE("the TTL is the largest over the session's known APIs", "[unit][session]") {
    const std::vector<ApiLifetime> apis = {
        {"short", 60, false},  {"long", 3600, false},           {"none", 0, false},
        {"stretch", 10, true}, {"not-granted", 999'999, false},
    };
    auto [api_ids, expires, expected] =
        GENERATE(table<std::vector<std::string>, std::int64_t, std::int64_t>({
            {{"short"}, 0, 60},
            {{"short", "long"}, 0, 3600},
            {{"short", "none"}, 0, 60},
            {{"none"}, 0, 0},
            // Granted APIs that are not loaded are skipped.
            {{"short", "unloaded"}, 0, 60},
            {{"unloaded"}, 0, 0},
            // One API's key-expiration stretch can win...
            {{"short", "stretch"}, kNow + 7200, 7200},
            // ... and its "never expires -> no TTL" is just a 0 among the others.
            {{"short", "stretch"}, 0, 60},
            {{"short", "stretch"}, -1, 60},
        }));
    CAPTURE(api_ids, expires);
    const Session session = make_session(0, expires, api_ids);
    CHECK(session_ttl_seconds(session, apis, false, 0, kNow) == expected);
}

TEST_CASE("force_global has no effect when none of the key's APIs is loaded", "[unit][session]") {
    const Session session = make_session(100, 0, {"unloaded"});
    const std::vector<ApiLifetime> apis = {{"other", 50, false}};
    CHECK(session_ttl_seconds(session, apis, true, 500, kNow) == 0);
    CHECK(session_ttl_seconds(session, {}, true, 500, kNow) == 0);
}

TEST_CASE("a master key (no access_rights) counts every API it is given", "[unit][session]") {
    const Session master = make_session(0, 0, {});
    const std::vector<ApiLifetime> all = {{"a", 60, false}, {"b", 600, false}};
    CHECK(session_ttl_seconds(master, all, false, 0, kNow) == 600);
    // The request path passes only the current API (Tyk UpdateRequestSession).
    CHECK(session_ttl_seconds(master, {{"a", 60, false}}, false, 0, kNow) == 60);
    CHECK(session_ttl_seconds(master, {}, false, 0, kNow) == 0);
    CHECK(session_ttl_seconds(master, all, true, 30, kNow) == 30);

    const Session master_with_lifetime = make_session(90, 0, {});
    CHECK(session_ttl_seconds(master_with_lifetime, all, false, 0, kNow) == 90);
}

TEST_CASE("the request path passes only the current API", "[unit][session]") {
    // Tyk's request-path save-back uses the current API's lifetime, not the maximum.
    const Session session = make_session(0, 0, {"a", "b"});
    CHECK(session_ttl_seconds(session, {{"a", 60, false}}, false, 0, kNow) == 60);
    CHECK(session_ttl_seconds(session, {{"a", 60, false}, {"b", 600, false}}, false, 0, kNow) ==
          600);
}

TEST_CASE("an expiry far in the future does not overflow", "[unit][session]") {
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    const Session session = make_session(100, kMax, {"a"});
    CHECK(session_ttl_seconds(session, {{"a", 0, true}}, false, 0, kNow) == kMax - kNow);
    CHECK(session_ttl_seconds(session, {{"a", 0, true}}, false, 0, -kNow) == kMax);
}

TEST_CASE("session fields of the wrong type count as zero for the TTL", "[unit][session]") {
    std::string error;
    const auto session = Session::parse(
        R"({"session_lifetime":"100","expires":"soon","access_rights":{"a":{}}})", error);
    REQUIRE(session.has_value());
    CHECK(session_ttl_seconds(*session, {{"a", 200, true}}, false, 0, kNow) == 0);
    CHECK(session_ttl_seconds(*session, {{"a", 200, false}}, false, 0, kNow) == 200);
}
