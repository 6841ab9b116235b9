// Rate limit and quota decisions (no Redis): which limit applies, the counter names (Tyk's key
// layout), quota arithmetic, headers, window alignment. Times are passed in (injected clock).
#include "config/api_definition.hpp"
#include "config/gateway_config.hpp"
#include "middleware/core/session.hpp"
#include "middleware/core/session_patch.hpp"
#include "middleware/keys/key_hash.hpp"
#include "middleware/limits/limits.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <tuple>

using namespace portcullis;
using Json = nlohmann::json;

namespace {

Session session_of(const Json& doc) {
    std::string error;
    auto s = Session::from_json(doc, error);
    REQUIRE(s.has_value());
    return *s;
}

limits::SessionRequest request_for(std::string_view api, std::string_view path = "/x") {
    limits::SessionRequest r;
    r.api_id = api;
    r.method = "GET";
    r.path = path;
    r.key_id = "key1";
    return r;
}

config::ApiDefinition api_with(const Json& extra) {
    Json doc = {{"api_id", "a1"},
                {"org_id", "org"},
                {"name", "A"},
                {"proxy", {{"listen_path", "/a/"}, {"target_url", "http://127.0.0.1:1"}}},
                {"version_data",
                 {{"not_versioned", true}, {"versions", {{"Default", {{"name", "Default"}}}}}}}};
    doc.merge_patch(extra);
    return config::parse_api_definition(doc, "a1.json");
}

} // namespace

TEST_CASE("limiter mode follows tyk.conf with Tyk's precedence", "[unit][limits]") {
    config::GatewayConfig cfg;
    CHECK(limits::mode_of(cfg) == limits::Mode::window);
    cfg.enable_redis_rolling_limiter = true;
    CHECK(limits::mode_of(cfg) == limits::Mode::rolling);
    cfg.enable_sentinel_rate_limiter = true;
    CHECK(limits::mode_of(cfg) == limits::Mode::sentinel);
    cfg.enable_fixed_window_rate_limiter = true;
    CHECK(limits::mode_of(cfg) == limits::Mode::fixed_window);
}

TEST_CASE("prefix_join trims dashes and skips empty parts like Tyk's rate.Prefix",
          "[unit][limits]") {
    CHECK(limits::prefix_join({"rate-limit-", "", "abc"}) == "rate-limit-abc");
    CHECK(limits::prefix_join({"rate-limit-", "scope", "abc"}) == "rate-limit-scope-abc");
    CHECK(limits::prefix_join({"rate-limit-", "-s-", "--k", ""}) == "rate-limit-s-k");
    CHECK(limits::prefix_join({"", ""}).empty());
}

TEST_CASE("effective limit: a non-empty per-API limit wins over the session fields",
          "[unit][limits]") {
    const Json base = {{"rate", 10},           {"per", 60},
                       {"quota_max", 100},     {"quota_remaining", 7},
                       {"quota_renews", 1234}, {"quota_renewal_rate", 3600}};
    SECTION("no access definition for the API: session-level") {
        const auto l = limits::effective_limit(session_of(base), "a1");
        CHECK_FALSE(l.per_api);
        CHECK(l.rate == 10);
        CHECK(l.per == 60);
        CHECK(l.quota_max == 100);
        CHECK(l.quota_remaining == 7);
        CHECK(l.quota_renews == 1234);
        CHECK(l.quota_renewal_rate == 3600);
    }
    SECTION("an all-zero limit is empty: session-level, scope still read") {
        Json doc = base;
        doc["access_rights"]["a1"] = {
            {"api_id", "a1"},
            {"allowance_scope", "p1"},
            {"limit", {{"rate", 0}, {"per", 0}, {"quota_max", 0}, {"smoothing", nullptr}}}};
        const auto l = limits::effective_limit(session_of(doc), "a1");
        CHECK_FALSE(l.per_api);
        CHECK(l.rate == 10);
        CHECK(l.allowance_scope == "p1");
    }
    SECTION("per-API limit") {
        Json doc = base;
        doc["access_rights"]["a1"] = {
            {"api_id", "a1"},
            {"limit", {{"rate", 2.5}, {"per", 1}, {"quota_max", 5}, {"quota_renewal_rate", 60}}}};
        const auto l = limits::effective_limit(session_of(doc), "a1");
        CHECK(l.per_api);
        CHECK(l.rate == 2.5);
        CHECK(l.per == 1);
        CHECK(l.quota_max == 5);
        CHECK(l.quota_renewal_rate == 60);
        CHECK(l.quota_remaining == 0);
        // Another API of the same key still uses the session level.
        CHECK(limits::effective_limit(session_of(doc), "other").rate == 10);
    }
}

TEST_CASE("session plan: counter names, scope, pattern and switches", "[unit][limits]") {
    Json doc = {{"rate", 5}, {"per", 10}, {"quota_max", 3}, {"quota_renewal_rate", 60}};
    SECTION("unscoped") {
        const auto plan = limits::plan_session(session_of(doc), request_for("a1"));
        REQUIRE(plan.rate);
        CHECK(plan.rate->key == "rate-limit-key1");
        CHECK(plan.rate->rate == 5);
        CHECK(plan.rate->per == 10);
        REQUIRE(plan.quota);
        CHECK(plan.quota->key == "quota-key1");
        CHECK(plan.quota->max == 3);
        CHECK(plan.quota->renewal_rate == 60);
    }
    SECTION("allowance scope namespaces both counters") {
        doc["access_rights"]["a1"] = {{"api_id", "a1"}, {"allowance_scope", "a1"}};
        const auto plan = limits::plan_session(session_of(doc), request_for("a1"));
        REQUIRE(plan.rate);
        CHECK(plan.rate->key == "rate-limit-a1-key1");
        REQUIRE(plan.quota);
        CHECK(plan.quota->key == "quota-a1-key1");
    }
    SECTION("rate_limit_pattern replaces the key id") {
        auto r = request_for("a1");
        r.pattern = "tenant-acme";
        const auto plan = limits::plan_session(session_of(doc), r);
        CHECK(plan.rate->key == "rate-limit-tenant-acme");
        CHECK(plan.quota->key == "quota-tenant-acme");
    }
    SECTION("unlimited and disabled") {
        auto r = request_for("a1");
        doc["rate"] = 0;
        doc["quota_max"] = -1;
        auto plan = limits::plan_session(session_of(doc), r);
        CHECK_FALSE(plan.rate);
        CHECK_FALSE(plan.quota);
        doc["rate"] = 5;
        doc["quota_max"] = 3;
        r.rate_enabled = false;
        r.quota_enabled = false;
        plan = limits::plan_session(session_of(doc), r);
        CHECK_FALSE(plan.rate);
        CHECK_FALSE(plan.quota);
    }
    SECTION("rate_limit_pattern is read only from a string") {
        doc["meta_data"] = {{"rate_limit_pattern", "$tyk_meta.org"}};
        CHECK(limits::rate_limit_pattern(session_of(doc)) == "$tyk_meta.org");
        doc["meta_data"] = {{"rate_limit_pattern", 5}};
        CHECK(limits::rate_limit_pattern(session_of(doc)).empty());
    }
}

TEST_CASE("session plan: access_rights endpoints give per-endpoint limits", "[unit][limits]") {
    Json doc = {{"rate", 100}, {"per", 1}};
    doc["access_rights"]["a1"] = {
        {"api_id", "a1"},
        {"endpoints",
         {{{"path", "/slow"},
           {"methods", {{{"name", "POST"}, {"limit", {{"rate", 9}, {"per", 9}}}}}}},
          {{"path", "/slow"},
           {"methods", {{{"name", "GET"}, {"limit", {{"rate", 1}, {"per", 10}}}}}}},
          {{"path", "/users/{id}"},
           {"methods", {{{"name", "get"}, {"limit", {{"rate", 2}, {"per", 5}}}}}}}}}};
    const auto session = session_of(doc);
    using Row = std::tuple<std::string, std::string, std::string, double, double>;
    auto row = GENERATE(
        Row{"GET", "/slow", "rate-limit-key1-" + keys::hash_key("GET:/slow"), 1, 10},
        Row{"POST", "/slow", "rate-limit-key1-" + keys::hash_key("POST:/slow"), 9, 9},
        // method names compare case-insensitively; the suffix keeps the configured name
        Row{"GET", "/users/42", "rate-limit-key1-" + keys::hash_key("get:/users/{id}"), 2, 5},
        Row{"DELETE", "/slow", "rate-limit-key1", 100, 1},
        Row{"GET", "/fast", "rate-limit-key1", 100, 1});
    auto r = request_for("a1", std::get<1>(row));
    r.method = std::get<0>(row);
    const auto plan = limits::plan_session(session, r);
    INFO(std::get<0>(row) << " " << std::get<1>(row));
    REQUIRE(plan.rate);
    CHECK(plan.rate->key == std::get<2>(row));
    CHECK(plan.rate->rate == std::get<3>(row));
    CHECK(plan.rate->per == std::get<4>(row));
    CHECK(keys::hash_key("GET:/slow").size() == 8); // murmur32
}

TEST_CASE("API limits: global_rate_limit and extended_paths.rate_limit", "[unit][limits]") {
    std::vector<config::ConfigError> errors;
    transform::MatchOptions match;
    SECTION("global limit, key from apilimiter-<org><api_id>") {
        const auto api = api_with({{"global_rate_limit", {{"rate", 10}, {"per", 2}}}});
        const auto limits_off = limits::compile_api_limits(api, nullptr, match, false, errors);
        REQUIRE(limits_off.global);
        CHECK(limits_off.global->key == "rate-limit-apilimiter-orga1");
        const auto hashed = limits::compile_api_limits(api, nullptr, match, true, errors);
        CHECK(hashed.global->key == "rate-limit-" + keys::hash_key("apilimiter-orga1"));
        const transform::MatchSubject subject{"/x", "/x", "/a/x"};
        const auto check = limits::plan_api(limits_off, "GET", subject);
        REQUIRE(check);
        CHECK(check->rate == 10);
        CHECK(check->per == 2);
    }
    SECTION("disabled global limit, disable_rate_limit") {
        auto api =
            api_with({{"global_rate_limit", {{"rate", 10}, {"per", 2}, {"disabled", true}}}});
        CHECK_FALSE(limits::compile_api_limits(api, nullptr, match, false, errors).global);
        api = api_with(
            {{"global_rate_limit", {{"rate", 10}, {"per", 2}}}, {"disable_rate_limit", true}});
        const auto compiled = limits::compile_api_limits(api, nullptr, match, false, errors);
        CHECK_FALSE(limits::plan_api(compiled, "GET", {"/x", "/x", "/a/x"}));
    }
    SECTION("an endpoint entry wins over the global limit") {
        const auto api = api_with(
            {{"global_rate_limit", {{"rate", 10}, {"per", 2}}},
             {"version_data",
              {{"versions",
                {{"Default",
                  {{"use_extended_paths", true},
                   {"extended_paths",
                    {{"rate_limit",
                      {{{"path", "/slow"}, {"method", "GET"}, {"rate", 1}, {"per", 60}},
                       {{"path", "/off"},
                        {"method", "GET"},
                        {"rate", 1},
                        {"per", 60},
                        {"disabled", true}},
                       {{"path", "(("}, {"method", "GET"}, {"rate", 1}, {"per", 60}}}}}}}}}}}}});
        const auto compiled =
            limits::compile_api_limits(api, api.active_version(), match, false, errors);
        REQUIRE(errors.size() == 1); // the broken regex, reported with its path
        CHECK(errors[0].json_path.find("/extended_paths/rate_limit/2") != std::string::npos);
        REQUIRE(compiled.endpoints.size() == 1);
        const auto slow = limits::plan_api(compiled, "GET", {"/slow", "/slow", "/a/slow"});
        REQUIRE(slow);
        CHECK(slow->rate == 1);
        CHECK(slow->key == "rate-limit-apilimiter-orga1-" + keys::hash_key("GET:/slow"));
        const auto other = limits::plan_api(compiled, "POST", {"/slow", "/slow", "/a/slow"});
        REQUIRE(other);
        CHECK(other->key == "rate-limit-apilimiter-orga1");
        CHECK(limits::plan_api(compiled, "GET", {"/off", "/off", "/a/off"})->rate == 10);
    }
}

TEST_CASE("quota outcome: exactly quota_max requests pass", "[unit][limits]") {
    using Row = std::tuple<std::int64_t, std::int64_t, bool, std::int64_t, std::int64_t>;
    // count, expires (unix ms) -> blocked, remaining, renews (unix s)   (max 3, previous renews 5)
    auto row =
        GENERATE(Row{1, 1060000, false, 2, 1060}, Row{3, 1002999, false, 0, 1002},
                 Row{4, 1002000, true, 0, 1002}, Row{9, -1, true, 0, 5}, Row{2, -1, false, 1, 5});
    const auto out = limits::quota_outcome(std::get<0>(row), std::get<1>(row), 3, 5);
    CHECK(out.blocked == std::get<2>(row));
    CHECK(out.remaining == std::get<3>(row));
    CHECK(out.renews == std::get<4>(row));
}

TEST_CASE("record_quota writes the outcome where Tyk does, as a patch", "[unit][limits]") {
    Json doc = {{"quota_max", 10}, {"quota_remaining", 10}};
    doc["access_rights"]["a1"] = {{"api_id", "a1"}, {"limit", {{"quota_max", 5}}}};
    doc["access_rights"]["a2"] = {{"api_id", "a2"}};
    doc["access_rights"]["a3"] = {
        {"api_id", "a3"}, {"allowance_scope", "p"}, {"limit", {{"quota_max", 5}}}};
    auto session = session_of(doc);
    limits::record_quota(session, "", limits::QuotaOutcome{false, 4, 777});
    const Json& d = session.document();
    CHECK(d["quota_remaining"] == 4);
    CHECK(d["quota_renews"] == 777);
    CHECK(d["access_rights"]["a1"]["limit"]["quota_remaining"] == 4);
    CHECK(d["access_rights"]["a1"]["limit"]["quota_renews"] == 777);
    CHECK_FALSE(d["access_rights"]["a2"].contains("limit"));
    CHECK_FALSE(d["access_rights"]["a3"]["limit"].contains("quota_remaining"));
    REQUIRE(session.modified());

    // Replayed onto a fresh copy that lost a1's limit and gained a field: only what exists is set.
    Json fresh = {{"quota_max", 10}, {"added_meanwhile", true}};
    fresh["access_rights"]["a1"] = {{"api_id", "a1"}};
    apply_patch(fresh, session.changes());
    CHECK(fresh["added_meanwhile"] == true);
    CHECK(fresh["quota_remaining"] == 4);
    CHECK_FALSE(fresh["access_rights"]["a1"].contains("limit"));

    // Requests finish out of order: a later save of an older (higher) remaining count for the
    // same period does not raise the stored value; a new period does.
    Json stored = {{"quota_remaining", 2}, {"quota_renews", 777}};
    apply_patch(stored, session.changes()); // remaining 4, renews 777
    CHECK(stored["quota_remaining"] == 2);
    stored["quota_renews"] = 700;
    apply_patch(stored, session.changes());
    CHECK(stored["quota_remaining"] == 4);
    CHECK(stored["quota_renews"] == 777);
    Json nested = {
        {"access_rights", {{"a1", {{"limit", {{"quota_remaining", 1}, {"quota_renews", 777}}}}}}}};
    apply_patch(nested, session.changes());
    CHECK(nested["access_rights"]["a1"]["limit"]["quota_remaining"] == 1);

    // Unchanged values are not written again.
    auto same = session_of(Json{{"quota_remaining", 4}, {"quota_renews", 777}});
    limits::record_quota(same, "", limits::QuotaOutcome{false, 4, 777});
    CHECK_FALSE(same.modified());

    // Scoped: only that scope's access rights, not the top level.
    auto scoped = session_of(doc);
    limits::record_quota(scoped, "p", limits::QuotaOutcome{false, 2, 9});
    CHECK(scoped.document()["access_rights"]["a3"]["limit"]["quota_remaining"] == 2);
    CHECK(scoped.document()["quota_remaining"] == 10);
}

TEST_CASE("quota headers: the API's quota, per-API values when that limit is set",
          "[unit][limits]") {
    Json doc = {{"quota_max", 10}, {"quota_remaining", 6}, {"quota_renews", 99}};
    CHECK(limits::quota_headers(session_of(doc), "a1").limit == 10);
    CHECK(limits::quota_headers(session_of(doc), "a1").remaining == 6);
    CHECK(limits::quota_headers(session_of(doc), "a1").reset == 99);
    doc["access_rights"]["a1"] = {
        {"limit", {{"quota_max", 5}, {"quota_remaining", 1}, {"quota_renews", 42}}}};
    const auto h = limits::quota_headers(session_of(doc), "a1");
    CHECK(h.limit == 5);
    CHECK(h.remaining == 1);
    CHECK(h.reset == 42);
}

TEST_CASE("fixed windows align like Go's time.Truncate (since year 1)", "[unit][limits]") {
    constexpr std::int64_t s = 1000000000;
    // 62135596800 s from year 1 to 1970 is a multiple of 2 s and of 60 s...
    CHECK(limits::fixed_window_start_ns(1001 * s + 5, 2 * s) == 1000 * s);
    CHECK(limits::fixed_window_start_ns(1000 * s, 2 * s) == 1000 * s);
    CHECK(limits::fixed_window_start_ns(119 * s, 60 * s) == 60 * s);
    // ...but leaves 4 s over 7 s windows: windows start at unix 3, 10, 17, ...
    CHECK(limits::fixed_window_start_ns(0, 7 * s) == -4 * s);
    CHECK(limits::fixed_window_start_ns(10 * s, 7 * s) == 10 * s);
    CHECK(limits::fixed_window_start_ns(16 * s + 999, 7 * s) == 10 * s);
    CHECK(limits::fixed_window_start_ns(1796000000 * s, 0) == 1796000000 * s);
}

TEST_CASE("window capacity follows the DRL bucket: floor(rate), at least 1", "[unit][limits]") {
    CHECK(limits::window_capacity(20) == 20);
    CHECK(limits::window_capacity(2.9) == 2);
    CHECK(limits::window_capacity(0.5) == 1);
    CHECK(limits::window_capacity(1e300) == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("a key update resets the quota and window counters of every scope", "[unit][limits]") {
    const Json rights = {{"a1", {{"allowance_scope", "p1"}}},
                         {"a2", {{"allowance_scope", "p1"}}},
                         {"a3", Json::object()}};
    const auto keys = limits::reset_keys("k", rights);
    CHECK(keys == std::vector<std::string>{"quota-k", "rate-limit-k.window", "quota-p1-k",
                                           "rate-limit-p1-k.window"});
    CHECK(limits::reset_keys("k", Json()).size() == 2);
}

TEST_CASE("session patch: nested values only under an existing parent", "[unit][limits]") {
    SessionPatch patch;
    patch.at["/access_rights/a1/limit/quota_remaining"] = 3;
    patch.at["/access_rights/missing/limit/quota_remaining"] = 3;
    patch.at["not a pointer"] = 1;
    Json doc = {{"access_rights", {{"a1", {{"limit", {{"quota_max", 5}}}}}}}};
    apply_patch(doc, patch);
    CHECK(doc["access_rights"]["a1"]["limit"]["quota_remaining"] == 3);
    CHECK_FALSE(doc["access_rights"].contains("missing"));
    CHECK_FALSE(patch.empty());
    SessionPatch later;
    later.at["/access_rights/a1/limit/quota_remaining"] = 1;
    patch.merge(later);
    CHECK(patch.at["/access_rights/a1/limit/quota_remaining"] == 1);
}
