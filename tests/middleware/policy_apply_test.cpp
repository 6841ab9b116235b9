// Policy merge rules (Tyk's internal/policy/apply.go), as tables of policies in and session out.
#include "config/policy.hpp"
#include "middleware/core/session.hpp"
#include "middleware/policy/apply.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace portcullis;
using Json = nlohmann::json;

namespace {

config::PolicySet set_of(const Json& policies) {
    config::PolicySet set;
    for (const auto& [id, raw] : policies.items()) {
        config::Policy p;
        p.id = id;
        p.raw = raw;
        p.raw["id"] = id;
        set.by_id.emplace(id, std::move(p));
    }
    return set;
}

Json right(const std::string& api, Json extra = Json::object()) {
    Json r = {{"api_id", api}, {"api_name", api}, {"versions", {"Default"}}};
    r.update(extra);
    return r;
}

/// Applies and REQUIREs success.
Json applied(Json session, const config::PolicySet& set, const std::string& org = "") {
    const std::string error = policy::apply_policies(session, set, org);
    INFO(error);
    REQUIRE(error.empty());
    return session;
}

const config::PolicySet kPolicies = set_of({
    {"acl-a",
     {{"org_id", "o"},
      {"rate", 10},
      {"per", 60},
      {"quota_max", 100},
      {"quota_renewal_rate", 3600},
      {"tags", {"t-a", "shared"}},
      {"meta_data", {{"tier", "gold"}, {"from", "a"}}},
      {"access_rights", {{"api-a", right("api-a")}}}}},
    {"acl-b",
     {{"org_id", "o"},
      {"rate", 100},
      {"per", 60},
      {"quota_max", -1},
      {"quota_renewal_rate", 60},
      {"is_inactive", true},
      {"tags", {"t-b", "shared"}},
      {"meta_data", {{"from", "b"}}},
      {"access_rights", {{"api-b", right("api-b")}}}}},
    {"same-1",
     {{"org_id", "o"},
      {"rate", 5},
      {"per", 1},
      {"access_rights",
       {{"api-a", right("api-a",
                        {{"versions", {"v1"}},
                         {"allowed_urls", {{{"url", "/users"}, {"methods", {"GET"}}}}}})}}}}},
    {"same-2",
     {{"org_id", "o"},
      {"rate", 1},
      {"per", 1},
      {"access_rights",
       {{"api-a", right("api-a",
                        {{"versions", {"v2"}},
                         {"allowed_urls",
                          {{{"url", "/users"}, {"methods", {"POST"}}},
                           {{"url", "/orders"}, {"methods", {"GET"}}}}}})}}}}},
    {"acl-only",
     {{"org_id", "o"},
      {"partitions", {{"acl", true}}},
      {"access_rights", {{"api-a", right("api-a")}}}}},
    {"quota-only",
     {{"org_id", "o"},
      {"partitions", {{"quota", true}}},
      {"quota_max", 500},
      {"quota_renewal_rate", 60},
      {"access_rights", {{"api-a", right("api-a")}}}}},
    {"per-api",
     {{"org_id", "o"},
      {"rate", 3},
      {"per", 1},
      {"quota_max", 7},
      {"partitions", {{"per_api", true}}},
      {"access_rights",
       {{"api-a", right("api-a", {{"limit", {{"rate", 50}, {"per", 1}, {"quota_max", 9}}}})},
        {"api-b", right("api-b")}}}}},
    {"master", {{"org_id", "o"}, {"rate", 42}, {"per", 7}, {"quota_max", 12}}},
    {"other-org", {{"org_id", "x"}, {"access_rights", {{"api-a", right("api-a")}}}}},
});

} // namespace

TEST_CASE("policies: access rights union, metadata, tags, is_inactive, scopes",
          "[unit][policies]") {
    Json session = {{"org_id", "o"},
                    {"apply_policies", {"acl-a", "acl-b"}},
                    {"tags", {"own"}},
                    {"meta_data", {{"tier", "basic"}, {"own", 1}}},
                    {"access_rights", {{"stale", right("stale")}}}};
    const Json s = applied(session, kPolicies, "o");
    CHECK(s["access_rights"].size() == 2); // replaced by the policies' union
    CHECK(s["access_rights"].contains("api-a"));
    CHECK(s["access_rights"].contains("api-b"));
    // several ACL policies: each API counts under its policy
    CHECK(s["access_rights"]["api-a"]["allowance_scope"] == "acl-a");
    CHECK(s["access_rights"]["api-b"]["allowance_scope"] == "acl-b");
    // metadata: policy keys overwrite the session's, later policies win, others kept
    CHECK(s["meta_data"] == Json{{"tier", "gold"}, {"own", 1}, {"from", "b"}});
    CHECK(s["tags"] == Json{"own", "t-a", "shared", "t-b"});
    CHECK(s["is_inactive"] == true);
    // per-API limits from each policy
    CHECK(s["access_rights"]["api-a"]["limit"]["rate"] == 10);
    CHECK(s["access_rights"]["api-a"]["limit"]["quota_max"] == 100);
    CHECK(s["access_rights"]["api-b"]["limit"]["quota_max"] == -1);
}

TEST_CASE("policies on the same API: versions and allowed_urls merge, the faster rate wins",
          "[unit][policies]") {
    const Json s = applied({{"org_id", "o"}, {"apply_policies", {"same-2", "same-1"}}}, kPolicies);
    const Json& a = s["access_rights"]["api-a"];
    CHECK(a["versions"] == Json{"v2", "v1"});
    REQUIRE(a["allowed_urls"].size() == 2);
    CHECK(a["allowed_urls"][0]["url"] == "/users");
    CHECK(a["allowed_urls"][0]["methods"] == Json{"POST", "GET"});
    CHECK(a["allowed_urls"][1]["url"] == "/orders");
    // 5 per second beats 1 per second (shorter interval per request)
    CHECK(a["limit"]["rate"] == 5);
    CHECK(s["rate"] == 5);                      // one API: the session's root fields follow it
    CHECK_FALSE(a.contains("allowance_scope")); // one API: one ACL source, no scope needed
}

TEST_CASE("policies: the largest quota wins, -1 (unlimited) is largest", "[unit][policies]") {
    const config::PolicySet set = set_of({
        {"q1",
         {{"quota_max", 100},
          {"quota_renewal_rate", 60},
          {"access_rights", {{"api", right("api")}}}}},
        {"q2",
         {{"quota_max", 300},
          {"quota_renewal_rate", 30},
          {"access_rights", {{"api", right("api")}}}}},
        {"q3", {{"quota_max", -1}, {"access_rights", {{"api", right("api")}}}}},
    });
    auto s = applied({{"apply_policies", {"q1", "q2"}}}, set);
    CHECK(s["access_rights"]["api"]["limit"]["quota_max"] == 300);
    CHECK(s["access_rights"]["api"]["limit"]["quota_renewal_rate"] == 60);
    s = applied({{"apply_policies", {"q2", "q3", "q1"}}}, set);
    CHECK(s["access_rights"]["api"]["limit"]["quota_max"] == -1);
}

TEST_CASE("policies: partitions take each part from its own policy", "[unit][policies]") {
    const Json s = applied({{"org_id", "o"},
                            {"rate", 20},
                            {"per", 1},
                            {"quota_max", 5},
                            {"apply_policies", {"acl-only", "quota-only"}}},
                           kPolicies);
    const Json& limit = s["access_rights"]["api-a"]["limit"];
    CHECK(limit["quota_max"] == 500);
    CHECK(limit["quota_renewal_rate"] == 60);
    // no policy owns the rate: the session's own rate stays and the API inherits it
    CHECK(s["rate"] == 20);
    CHECK(limit["rate"] == 20);
    CHECK(limit["per"] == 1);
}

TEST_CASE("policies: per_api policies give each API its own limit and scope", "[unit][policies]") {
    const Json s = applied({{"org_id", "o"}, {"apply_policies", {"per-api"}}}, kPolicies);
    const Json& a = s["access_rights"]["api-a"];
    const Json& b = s["access_rights"]["api-b"];
    CHECK(a["limit"]["rate"] == 50); // its own limit, scoped to the API
    CHECK(a["allowance_scope"] == "api-a");
    CHECK(b["limit"]["rate"] == 3); // no limit of its own: the policy's, scoped to the policy
    CHECK(b["limit"]["quota_max"] == 7);
    CHECK(b["allowance_scope"] == "per-api");

    Json mixed = {{"org_id", "o"}, {"apply_policies", {"per-api", "quota-only"}}};
    CHECK_THAT(policy::apply_policies(mixed, kPolicies, "o"),
               Catch::Contains("per_api set and some are partitioned"));
}

TEST_CASE("policies: unknown, other-org and master policies", "[unit][policies]") {
    Json alone = {{"apply_policies", {"missing"}}};
    CHECK_THAT(policy::apply_policies(alone, kPolicies, ""), Catch::Contains("policy not found"));
    // with others, an unknown policy is skipped
    const Json s = applied({{"apply_policies", {"missing", "acl-a"}}}, kPolicies);
    CHECK(s["access_rights"].contains("api-a"));
    Json foreign = {{"org_id", "o"}, {"apply_policies", {"other-org"}}};
    CHECK_THAT(policy::apply_policies(foreign, kPolicies, "o"),
               Catch::Contains("different organisation"));
    // a master policy (no access rights) sets the session's limits; its access rights stay
    const Json m = applied({{"org_id", "o"},
                            {"rate", 1},
                            {"per", 1},
                            {"apply_policy_id", "master"}, // legacy single id
                            {"access_rights", {{"api-a", right("api-a")}}}},
                           kPolicies, "o");
    CHECK(m["rate"] == 42);
    CHECK(m["per"] == 7);
    CHECK(m["quota_max"] == 12);
    CHECK(m["access_rights"].contains("api-a"));
}

TEST_CASE("keys without policies: per-API limits count under the API's scope", "[unit][policies]") {
    const Json s =
        applied({{"access_rights",
                  {{"a", right("a", {{"limit", {{"rate", 5}, {"per", 1}}}})}, {"b", right("b")}}}},
                kPolicies);
    CHECK(s["access_rights"]["a"]["allowance_scope"] == "a");
    CHECK_FALSE(s["access_rights"]["b"].contains("allowance_scope"));
}

TEST_CASE("applying policies to a Session is a view, never saved back", "[unit][policies]") {
    std::string error;
    auto session = Session::from_json(
        Json{{"org_id", "o"}, {"apply_policies", {"acl-a"}}, {"meta_data", {{"k", 1}}}}, error);
    REQUIRE(session);
    CHECK(policy::apply_policies(*session, kPolicies).empty());
    CHECK(session->meta_data()["tier"] == "gold");
    CHECK(session->has_access_to("api-a"));
    CHECK_FALSE(session->modified());
    session->set_meta("k", 2);
    CHECK(session->changes().meta.size() == 1);
    CHECK(session->changes().fields.empty());
}
