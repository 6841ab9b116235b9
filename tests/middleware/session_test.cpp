#include "middleware/core/session.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

using nlohmann::json;
using portcullis::Session;

namespace {

// A Tyk v5.3-style session: every field written, zeros and nulls included, as Go's encoding/json
// writes `user.SessionState` (float64 fields with whole values come out without a decimal point),
// plus fields Portcullis does not model and one no Tyk version has.
const char* const kFullSession = R"({
  "last_check": 0,
  "allowance": 1000,
  "rate": 1000,
  "per": 2.5,
  "throttle_interval": 0.5,
  "throttle_retry_limit": 3,
  "max_query_depth": -1,
  "date_created": "2024-05-01T10:00:00.123456789Z",
  "expires": 1893456000,
  "quota_max": 10000,
  "quota_renews": 1714561200,
  "quota_remaining": 9876,
  "quota_renewal_rate": 3600,
  "access_rights": {
    "api-1": {
      "api_name": "Orders",
      "api_id": "api-1",
      "versions": ["Default"],
      "allowed_urls": [
        {"url": "^/orders/[0-9]+$", "methods": ["GET", "DELETE"]},
        {"url": "/health", "methods": []}
      ],
      "restricted_types": [],
      "allowed_types": null,
      "field_access_rights": [],
      "disable_introspection": false,
      "limit": {
        "rate": 10,
        "per": 1,
        "throttle_interval": 0,
        "throttle_retry_limit": 0,
        "max_query_depth": 0,
        "quota_max": 500,
        "quota_renews": 1714561200,
        "quota_remaining": 499,
        "quota_renewal_rate": 86400,
        "smoothing": null
      },
      "allowance_scope": "",
      "endpoints": [
        {"path": "/orders", "methods": [{"name": "GET", "limit": {"rate": 5, "per": 0.5}}]}
      ]
    },
    "api-2": {
      "api_name": "Users",
      "api_id": "api-2",
      "versions": ["v1", "v2"],
      "allowed_urls": null,
      "restricted_types": null,
      "allowed_types": null,
      "field_access_rights": null,
      "disable_introspection": false,
      "limit": {
        "rate": 0, "per": 0, "throttle_interval": 0, "throttle_retry_limit": 0,
        "max_query_depth": 0, "quota_max": 0, "quota_renews": 0, "quota_remaining": 0,
        "quota_renewal_rate": 0, "smoothing": null
      },
      "allowance_scope": "",
      "endpoints": null
    }
  },
  "org_id": "5e9d9544a1dcd60001d0ed20",
  "oauth_client_id": "client-42",
  "oauth_keys": {"client-42": "token-abc"},
  "certificate": "",
  "basic_auth_data": {"password": "", "hash_type": ""},
  "jwt_data": {"secret": ""},
  "hmac_enabled": false,
  "enable_http_signature_validation": false,
  "hmac_string": "",
  "rsa_certificate_id": "",
  "is_inactive": false,
  "apply_policy_id": "",
  "apply_policies": ["pol-gold", "pol-extra"],
  "data_expires": 0,
  "monitor": {"trigger_limits": [80.5, 90]},
  "enable_detail_recording": false,
  "enable_detailed_recording": true,
  "meta_data": {
    "user_id": "u-1",
    "tier": 3,
    "ratio": 0.75,
    "nested": {"roles": ["admin", "ops"], "active": true, "none": null},
    "tyk_developer_id": ""
  },
  "tags": ["team-a", "beta"],
  "alias": "portal-user@example.com",
  "last_updated": "1714557600",
  "id_extractor_deadline": 0,
  "session_lifetime": 7200,
  "mtls_static_certificate_bindings": null,
  "smoothing": null,
  "post_expiry_action": "",
  "post_expiry_grace_period": 0,
  "some_future_field": {"x": [1, 2.5]}
})";

Session parse_ok(const std::string& text) {
    std::string error;
    auto session = Session::parse(text, error);
    INFO(error);
    REQUIRE(session.has_value());
    CHECK(error.empty());
    return *session;
}

// nlohmann compares 2 and 2.0 as equal; this also checks every value kept its JSON kind
// (object, array, string, boolean, null, unsigned, signed or float number).
void require_same_kinds(const json& a, const json& b, const std::string& where) {
    INFO("at " << where);
    REQUIRE(a.type() == b.type());
    if (a.is_object()) {
        REQUIRE(a.size() == b.size());
        for (const auto& [key, value] : a.items()) {
            REQUIRE(b.contains(key));
            require_same_kinds(value, b.at(key), where + "/" + key);
        }
    } else if (a.is_array()) {
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            require_same_kinds(a.at(i), b.at(i), where + "/" + std::to_string(i));
        }
    }
}

} // namespace

TEST_CASE("a full Tyk v5.3 session survives parse and serialize unchanged", "[unit][session]") {
    const json original = json::parse(kFullSession);
    const Session session = parse_ok(kFullSession);

    const std::string written = session.serialize();
    const json reread = json::parse(written);
    CHECK(reread == original);
    require_same_kinds(original, reread, "");
    CHECK(written == original.dump());
    CHECK(session.document() == original);

    // Kinds that matter to Tyk's Go decoder: whole-number floats written as integers stay
    // integers, fractional floats stay floats, negatives stay signed.
    CHECK(reread.at("rate").is_number_integer());
    CHECK(reread.at("per").is_number_float());
    CHECK(reread.at("max_query_depth").get<std::int64_t>() == -1);
    CHECK(reread.at("monitor").at("trigger_limits").at(0).is_number_float());
    CHECK(reread.at("monitor").at("trigger_limits").at(1).is_number_integer());
    CHECK(reread.at("some_future_field") == json::parse(R"({"x": [1, 2.5]})"));
    CHECK(reread.at("some_future_field").at("x").at(0).is_number_integer());
    CHECK(reread.at("some_future_field").at("x").at(1).is_number_float());
    CHECK(reread.at("mtls_static_certificate_bindings").is_null());
    CHECK(reread.at("meta_data").at("nested").at("none").is_null());
}

TEST_CASE("a float with a whole value keeps its decimal point", "[unit][session]") {
    const Session session = parse_ok(R"({"rate":2.0,"per":60,"meta_data":{"f":1.0,"i":1}})");
    const std::string written = session.serialize();
    CHECK(written == R"({"meta_data":{"f":1.0,"i":1},"per":60,"rate":2.0})");
    require_same_kinds(json::parse(written), session.document(), "");
}

TEST_CASE("the readers give the full session's values", "[unit][session]") {
    const Session session = parse_ok(kFullSession);
    CHECK(session.rate() == 1000.0);
    CHECK(session.per() == 2.5);
    CHECK(session.quota_max() == 10000);
    CHECK(session.quota_remaining() == 9876);
    CHECK(session.quota_renews() == 1714561200);
    CHECK(session.quota_renewal_rate() == 3600);
    CHECK(session.expires() == 1893456000);
    CHECK_FALSE(session.is_inactive());
    CHECK(session.org_id() == "5e9d9544a1dcd60001d0ed20");
    CHECK(session.alias() == "portal-user@example.com");
    CHECK(session.meta_data().at("user_id") == "u-1");
    CHECK(session.meta_data().at("tier") == 3);
    CHECK(session.meta_data().size() == 5);
    CHECK(session.tags() == std::vector<std::string>{"team-a", "beta"});
    CHECK(session.apply_policies() == std::vector<std::string>{"pol-gold", "pol-extra"});
    CHECK(session.access_rights().size() == 2);
    CHECK(session.has_access_to("api-1"));
    CHECK(session.has_access_to("api-2"));
    CHECK_FALSE(session.has_access_to("api-3"));
    CHECK_FALSE(session.has_access_to(""));
    CHECK(session.session_lifetime() == 7200);
    CHECK(session.last_updated() == "1714557600");
    CHECK(session.date_created() == "2024-05-01T10:00:00.123456789Z");
    CHECK(session.oauth_client_id() == "client-42");

    const auto urls = session.allowed_urls("api-1");
    REQUIRE(urls.size() == 2);
    CHECK(urls[0].url == "^/orders/[0-9]+$");
    CHECK(urls[0].methods == std::vector<std::string>{"GET", "DELETE"});
    CHECK(urls[1].url == "/health");
    CHECK(urls[1].methods.empty());
    CHECK(session.allowed_urls("api-2").empty());
    CHECK(session.allowed_urls("api-3").empty());
}

TEST_CASE("an omitzero-style session (v5.12+) reads as defaults and round-trips",
          "[unit][session]") {
    const std::string text =
        R"({"access_rights":{"api-1":{"api_id":"api-1","api_name":"Orders","versions":["Default"]}},)"
        R"("org_id":"default","meta_data":{"user":"x"}})";
    const Session session = parse_ok(text);
    CHECK(session.rate() == 0.0);
    CHECK(session.per() == 0.0);
    CHECK(session.quota_max() == 0);
    CHECK(session.quota_remaining() == 0);
    CHECK(session.quota_renews() == 0);
    CHECK(session.quota_renewal_rate() == 0);
    CHECK(session.expires() == 0);
    CHECK_FALSE(session.is_inactive());
    CHECK(session.org_id() == "default");
    CHECK(session.alias().empty());
    CHECK(session.meta_data() == json{{"user", "x"}});
    CHECK(session.tags().empty());
    CHECK(session.apply_policies().empty());
    CHECK(session.has_access_to("api-1"));
    CHECK(session.allowed_urls("api-1").empty());
    CHECK(session.session_lifetime() == 0);
    CHECK(session.last_updated().empty());
    CHECK(session.date_created().empty());
    CHECK(session.oauth_client_id().empty());

    // Nothing is added on the way out: no zero fields appear.
    CHECK(json::parse(session.serialize()) == json::parse(text));
}

TEST_CASE("an empty object is a valid session with every default", "[unit][session]") {
    for (const Session& session : {parse_ok("{}"), Session()}) {
        CHECK(session.serialize() == "{}");
        CHECK(session.meta_data().is_object());
        CHECK(session.meta_data().empty());
        CHECK(session.access_rights().is_object());
        CHECK(session.access_rights().empty());
        CHECK_FALSE(session.modified());
    }
}

TEST_CASE("known fields of the wrong type read as their zero value", "[unit][session]") {
    const std::string text = R"({
      "rate": "1000", "per": true, "quota_max": "100", "quota_remaining": [1],
      "quota_renews": {"a": 1}, "quota_renewal_rate": 1.5, "expires": false,
      "is_inactive": "true", "org_id": 42, "alias": ["a"], "meta_data": ["not", "object"],
      "tags": "team-a", "apply_policies": "pol", "apply_policy_id": 7,
      "access_rights": ["api-1"], "session_lifetime": "3600", "last_updated": 1714557600,
      "date_created": null, "oauth_client_id": {"id": "x"}
    })";
    const Session session = parse_ok(text);
    CHECK(session.rate() == 0.0);
    CHECK(session.per() == 0.0);
    CHECK(session.quota_max() == 0);
    CHECK(session.quota_remaining() == 0);
    CHECK(session.quota_renews() == 0);
    CHECK(session.quota_renewal_rate() == 0);
    CHECK(session.expires() == 0);
    CHECK_FALSE(session.is_inactive());
    CHECK(session.org_id().empty());
    CHECK(session.alias().empty());
    CHECK(session.meta_data().is_object());
    CHECK(session.meta_data().empty());
    CHECK(session.tags().empty());
    CHECK(session.apply_policies().empty());
    CHECK(session.access_rights().is_object());
    CHECK(session.access_rights().empty());
    CHECK_FALSE(session.has_access_to("api-1"));
    CHECK(session.allowed_urls("api-1").empty());
    CHECK(session.session_lifetime() == 0);
    CHECK(session.last_updated().empty());
    CHECK(session.date_created().empty());
    CHECK(session.oauth_client_id().empty());
    // The wrong-typed values are still kept verbatim.
    CHECK(json::parse(session.serialize()) == json::parse(text));
}

TEST_CASE("integer fields read JSON integers and whole floats, nothing else", "[unit][session]") {
    auto [value, expected] = GENERATE(table<std::string, std::int64_t>({
        {"100", 100},
        {"0", 0},
        {"-1", -1},
        {"100.0", 100},
        {"1e3", 1000},
        {"-2.0", -2},
        {"10.5", 0},
        {"\"100\"", 0},
        {"true", 0},
        {"null", 0},
        {"[]", 0},
        {"{}", 0},
        {"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
        {"-9223372036854775808", std::numeric_limits<std::int64_t>::min()},
        {"9223372036854775808", 0},
        {"18446744073709551615", 0},
        {"1e300", 0},
    }));
    CAPTURE(value);
    const Session session = parse_ok(R"({"quota_max":)" + value + R"(,"expires":)" + value +
                                     R"(,"session_lifetime":)" + value + "}");
    CHECK(session.quota_max() == expected);
    CHECK(session.expires() == expected);
    CHECK(session.session_lifetime() == expected);
}

TEST_CASE("rate and per read any JSON number as a double", "[unit][session]") {
    auto [value, expected] = GENERATE(table<std::string, double>({
        {"10", 10.0},
        {"-1", -1.0},
        {"0.5", 0.5},
        {"1e2", 100.0},
        {"\"10\"", 0.0},
        {"null", 0.0},
        {"false", 0.0},
    }));
    CAPTURE(value);
    const Session session = parse_ok(R"({"rate":)" + value + R"(,"per":)" + value + "}");
    CHECK(session.rate() == expected);
    CHECK(session.per() == expected);
}

TEST_CASE("is_inactive is true only for JSON true", "[unit][session]") {
    auto [value, expected] = GENERATE(table<std::string, bool>({
        {"true", true},
        {"false", false},
        {"1", false},
        {"\"true\"", false},
        {"null", false},
    }));
    CAPTURE(value);
    CHECK(parse_ok(R"({"is_inactive":)" + value + "}").is_inactive() == expected);
}

TEST_CASE("apply_policies falls back to the legacy apply_policy_id", "[unit][session]") {
    auto [text, expected] = GENERATE(table<std::string, std::vector<std::string>>({
        {R"({"apply_policies":["a","b"],"apply_policy_id":"c"})", {"a", "b"}},
        {R"({"apply_policies":[],"apply_policy_id":"c"})", {"c"}},
        {R"({"apply_policies":null,"apply_policy_id":"c"})", {"c"}},
        {R"({"apply_policy_id":"c"})", {"c"}},
        {R"({"apply_policies":[1,"a",null]})", {"a"}},
        {R"({"apply_policies":[],"apply_policy_id":""})", {}},
        {R"({})", {}},
    }));
    CAPTURE(text);
    CHECK(parse_ok(text).apply_policies() == expected);
}

TEST_CASE("allowed_urls skips malformed entries", "[unit][session]") {
    const Session session = parse_ok(R"({"access_rights":{
        "a": {"allowed_urls": [
            {"url": "/ok", "methods": ["GET", 5, null, "POST"]},
            {"url": 7, "methods": ["GET"]},
            {"methods": ["GET"]},
            "not-an-object",
            {"url": "/no-methods"},
            {"url": "/null-methods", "methods": null}
        ]},
        "b": {"allowed_urls": {"url": "/x"}},
        "c": "not-an-object"
    }})");
    const auto urls = session.allowed_urls("a");
    REQUIRE(urls.size() == 3);
    CHECK(urls[0].url == "/ok");
    CHECK(urls[0].methods == std::vector<std::string>{"GET", "POST"});
    CHECK(urls[1].url == "/no-methods");
    CHECK(urls[1].methods.empty());
    CHECK(urls[2].url == "/null-methods");
    CHECK(session.allowed_urls("b").empty());
    CHECK(session.allowed_urls("c").empty());
    CHECK(session.has_access_to("c"));
}

TEST_CASE("text that is not a JSON object is refused without quoting it", "[unit][session]") {
    auto text = GENERATE(as<std::string>{}, "", "secret-token-1234",
                         "{\"alias\":\"secret-token-1234\"", "{\"alias\": secret-token-1234}",
                         "[1,2]", "\"secret-token-1234\"", "42", "null", "true",
                         // a number beyond double's range (found by fuzz_session)
                         "{\"alias\": \"secret-token-1234\", \"quota_max\": 1e400}");
    CAPTURE(text);
    std::string error;
    const auto session = Session::parse(text, error);
    CHECK_FALSE(session.has_value());
    CHECK_FALSE(error.empty());
    CHECK(error.find("secret") == std::string::npos);
}

TEST_CASE("from_json accepts only an object", "[unit][session]") {
    std::string error;
    CHECK(Session::from_json(json::object({{"rate", 5}}), error)->rate() == 5.0);
    CHECK_FALSE(Session::from_json(json::array(), error).has_value());
    CHECK_FALSE(error.empty());
}

TEST_CASE("modified() stays false until a mutator runs", "[unit][session]") {
    Session session = parse_ok(kFullSession);
    CHECK_FALSE(session.modified());
    CHECK(session.changes().empty());

    // Reading never marks the session modified.
    (void)session.meta_data();
    (void)session.allowed_urls("api-1");
    (void)session.serialize();
    CHECK_FALSE(session.modified());

    const int mutator = GENERATE(0, 1, 2, 3);
    CAPTURE(mutator);
    switch (mutator) {
    case 0:
        session.set_meta("k", "v");
        break;
    case 1:
        session.erase_meta("absent-key");
        break;
    case 2:
        session.replace_meta(json::object());
        break;
    default:
        session.set_field("quota_remaining", 5);
        break;
    }
    CHECK(session.modified());
    CHECK_FALSE(session.changes().empty());
}

TEST_CASE("mutators change the document and record the change", "[unit][session]") {
    Session session = parse_ok(kFullSession);
    session.set_meta("user_id", "u-2");
    session.set_meta("new_key", json{{"a", 1}});
    session.erase_meta("tier");
    session.set_field("quota_remaining", 42);
    session.set_field("brand_new", json::array({1, 2}));

    const json doc = json::parse(session.serialize());
    CHECK(doc.at("meta_data").at("user_id") == "u-2");
    CHECK(doc.at("meta_data").at("new_key") == json{{"a", 1}});
    CHECK_FALSE(doc.at("meta_data").contains("tier"));
    CHECK(doc.at("meta_data").at("ratio") == 0.75);
    CHECK(doc.at("quota_remaining") == 42);
    CHECK(doc.at("brand_new") == json::array({1, 2}));
    CHECK(doc.at("some_future_field") == json::parse(R"({"x": [1, 2.5]})"));
    CHECK(session.meta_data().at("user_id") == "u-2");
    CHECK(session.quota_remaining() == 42);

    const auto& changes = session.changes();
    CHECK(changes.fields.size() == 2);
    CHECK(changes.fields.at("quota_remaining") == 42);
    CHECK(changes.meta.size() == 3);
    REQUIRE(changes.meta.at("user_id").has_value());
    CHECK(*changes.meta.at("user_id") == "u-2");
    CHECK_FALSE(changes.meta.at("tier").has_value());
    CHECK_FALSE(changes.replace_meta);

    // Everything else is exactly as stored.
    json expected = json::parse(kFullSession);
    expected["meta_data"]["user_id"] = "u-2";
    expected["meta_data"]["new_key"] = json{{"a", 1}};
    expected["meta_data"].erase("tier");
    expected["quota_remaining"] = 42;
    expected["brand_new"] = json::array({1, 2});
    CHECK(doc == expected);
}

TEST_CASE("set_meta creates meta_data when missing, null or not an object", "[unit][session]") {
    auto text = GENERATE(as<std::string>{}, R"({})", R"({"meta_data":null})",
                         R"({"meta_data":"x"})", R"({"meta_data":[1]})");
    CAPTURE(text);
    Session session = parse_ok(text);
    session.set_meta("k", 1);
    CHECK(session.document().at("meta_data") == json{{"k", 1}});
    CHECK(session.meta_data() == json{{"k", 1}});
}

TEST_CASE("erase_meta on a missing key leaves the document alone", "[unit][session]") {
    auto text =
        GENERATE(as<std::string>{}, R"({})", R"({"meta_data":null})", R"({"meta_data":{"a":1}})");
    CAPTURE(text);
    Session session = parse_ok(text);
    session.erase_meta("absent");
    CHECK(session.document() == json::parse(text));
    CHECK(session.modified());
}

TEST_CASE("replace_meta supersedes earlier per-key changes, later ones apply on top",
          "[unit][session]") {
    Session session = parse_ok(kFullSession);
    session.set_meta("before", 1);
    session.replace_meta(json{{"only", true}});
    session.set_meta("after", 2);
    CHECK(session.meta_data() == json{{"only", true}, {"after", 2}});

    const auto& changes = session.changes();
    CHECK(changes.replace_meta);
    CHECK(changes.meta_replacement == json{{"only", true}});
    CHECK(changes.meta.size() == 1);
    CHECK(changes.meta.count("after") == 1);
}

TEST_CASE("set_field of meta_data is a wholesale meta replacement", "[unit][session]") {
    Session session = parse_ok(kFullSession);
    session.set_field("meta_data", json{{"x", 1}});
    CHECK(session.meta_data() == json{{"x", 1}});
    CHECK(session.changes().replace_meta);
    CHECK(session.changes().fields.empty());
}

TEST_CASE("invalid UTF-8 put in by a mutator still serializes", "[unit][session]") {
    Session session;
    session.set_meta("bad", std::string("a\xff"
                                        "b"));
    std::string written;
    REQUIRE_NOTHROW(written = session.serialize());
    CHECK(json::parse(written).at("meta_data").at("bad") == "a\xef\xbf\xbd"
                                                            "b");
}

TEST_CASE("api_access reads an access entry the way the request path needs it", "[unit][session]") {
    const Session session = parse_ok(R"({"access_rights":{
        "limited": {"limit": {"rate": 10, "per": 1}, "allowance_scope": "s",
                    "endpoints": [{"path": "/x"}],
                    "allowed_urls": [{"url": "/ok", "methods": ["GET"]}]},
        "zero": {"limit": {"rate": 0, "quota_max": 0}, "endpoints": [], "allowance_scope": 3},
        "bare": {}
    }})");
    const auto& limited = session.api_access("limited");
    CHECK(limited.granted);
    REQUIRE(limited.limit != nullptr);
    CHECK(limited.limit->at("rate") == 10);
    CHECK(limited.allowance_scope == "s");
    REQUIRE(limited.endpoints != nullptr);
    CHECK(limited.endpoints->size() == 1);
    REQUIRE(limited.allowed_urls.size() == 1);
    CHECK(limited.allowed_urls[0].url == "/ok");

    const auto& zero = session.api_access("zero"); // an empty limit: the session's apply
    CHECK(zero.granted);
    CHECK(zero.limit == nullptr);
    CHECK(zero.endpoints == nullptr);
    CHECK(zero.allowance_scope.empty());
    CHECK(session.api_access("bare").granted);
    CHECK_FALSE(session.api_access("missing").granted);
    CHECK(&session.api_access("limited") == &limited); // read once per document
}

TEST_CASE("what a session derives is shared by copies and read again after a mutation",
          "[unit][session]") {
    Session original = parse_ok(R"({"access_rights":{"a": {"limit": {"rate": 5}}}})");
    const Session copy = original; // shares the document
    CHECK(&copy.api_access("a") == &original.api_access("a"));
    REQUIRE(copy.api_access("a").limit != nullptr);

    original.set_at("/access_rights/a/limit/rate", 0); // now an empty limit
    CHECK(original.api_access("a").limit == nullptr);
    CHECK(copy.api_access("a").limit != nullptr); // the copy keeps its document

    Session only = parse_ok(R"({"access_rights":{"a": {}}})"); // its document is not shared
    CHECK(only.api_access("a").allowed_urls.empty());
    only.set_at("/access_rights/a/allowed_urls", json::array({json{{"url", "/u"}}}));
    CHECK(only.api_access("a").allowed_urls.size() == 1);
    only.set_view(json{{"access_rights", json::object()}});
    CHECK_FALSE(only.api_access("a").granted);
}

namespace {
int g_predicate_calls = 0;
bool names_x(const json& doc) {
    ++g_predicate_calls;
    return doc.contains("x");
}
bool p1(const json&) {
    return true;
}
bool p2(const json&) {
    return false;
}
bool p3(const json&) {
    return true;
}
bool p4(const json& doc) {
    return doc.contains("y");
}
} // namespace

TEST_CASE("document_holds asks once per document, and again after a mutation", "[unit][session]") {
    g_predicate_calls = 0;
    Session session = parse_ok(R"({"x": 1})");
    const Session copy = session;
    CHECK(session.document_holds(&names_x));
    CHECK(copy.document_holds(&names_x));
    CHECK(session.document_holds(&names_x));
    CHECK(g_predicate_calls == 1);

    session.set_field("x", nullptr); // still there, as null: asked again
    CHECK(session.document_holds(&names_x));
    CHECK(g_predicate_calls == 2);
    session.set_view(json{{"y", 1}});
    CHECK_FALSE(session.document_holds(&names_x));
    CHECK(g_predicate_calls == 3);

    // More predicates than it keeps answers for: each still gets its own answer.
    CHECK(session.document_holds(&p1));
    CHECK_FALSE(session.document_holds(&p2));
    CHECK(session.document_holds(&p3));
    CHECK(session.document_holds(&p4));
    CHECK_FALSE(session.document_holds(&names_x)); // kept from before the others
    CHECK(g_predicate_calls == 3);
}

TEST_CASE("a key used on many APIs reads each one's access entry right", "[unit][session]") {
    json rights = json::object();
    for (int i = 0; i < 20; ++i) {
        rights["api" + std::to_string(i)] = {{"allowance_scope", "scope" + std::to_string(i)}};
    }
    const Session session = parse_ok(json{{"access_rights", rights}}.dump());
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 20; ++i) {
            const auto& access = session.api_access("api" + std::to_string(i));
            CHECK(access.granted);
            CHECK(access.allowance_scope == "scope" + std::to_string(i));
        }
    }
}
