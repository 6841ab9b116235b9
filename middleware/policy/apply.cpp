#include "middleware/policy/apply.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace portcullis::policy {

namespace {

using Json = nlohmann::json;

double num(const Json& object, std::string_view name) {
    return json_double(json_member(object, name));
}

std::int64_t integer(const Json& object, std::string_view name) {
    return json_int64(json_member(object, name));
}

bool flag(const Json& object, std::string_view name) {
    const Json* value = json_member(object, name);
    return value != nullptr && value->is_boolean() && value->get<bool>();
}

std::string text(const Json& object, std::string_view name) {
    const Json* value = json_member(object, name);
    return value != nullptr && value->is_string() ? value->get<std::string>() : std::string{};
}

std::vector<std::string> strings(const Json& object, std::string_view name) {
    std::vector<std::string> out;
    const Json* value = json_member(object, name);
    if (value != nullptr && value->is_array()) {
        for (const auto& item : *value) {
            if (item.is_string()) {
                out.push_back(item.get<std::string>());
            }
        }
    }
    return out;
}

/// `object[name]` as an object (made one when missing or of another type).
Json& object_at(Json& object, const char* name) {
    Json& value = object[name];
    if (!value.is_object()) {
        value = Json::object();
    }
    return value;
}

bool rate_empty(const Json& limit) {
    return num(limit, "rate") == 0 || num(limit, "per") == 0;
}

/// Seconds between requests (Tyk's APILimit.Duration); 0 when unset.
double interval(const Json& limit) {
    const double rate = num(limit, "rate");
    const double per = num(limit, "per");
    return rate <= 0 || per <= 0 ? 0 : per / rate;
}

/// Tyk's greaterThanInt64: -1 (unlimited) is larger than anything.
bool greater(std::int64_t first, std::int64_t second) {
    if (first == -1) {
        return true;
    }
    if (second == -1) {
        return false;
    }
    return first > second;
}

Json smoothing_of(const Json& object) {
    const Json* s = json_member(object, "smoothing");
    return s != nullptr ? *s : Json();
}

void append_missing(Json& array, const Json& items) {
    if (!array.is_array()) {
        array = Json::array();
    }
    if (!items.is_array()) {
        return;
    }
    for (const auto& item : items) {
        if (std::find(array.begin(), array.end(), item) == array.end()) {
            array.push_back(item);
        }
    }
}

struct Partitions {
    bool quota = false;
    bool rate_limit = false;
    bool complexity = false;
    bool acl = false;
    bool per_api = false;
    bool enabled() const { return quota || rate_limit || complexity || acl; }
};

Partitions partitions_of(const Json& policy) {
    Partitions p;
    if (const Json* part = json_member(policy, "partitions")) {
        p.quota = flag(*part, "quota");
        p.rate_limit = flag(*part, "rate_limit");
        p.complexity = flag(*part, "complexity");
        p.acl = flag(*part, "acl");
        p.per_api = flag(*part, "per_api");
    }
    return p;
}

/// A policy's own limit (Tyk's Policy.APILimit).
Json policy_limit(const Json& policy) {
    Json limit = Json::object();
    limit["rate"] = num(policy, "rate");
    limit["per"] = num(policy, "per");
    limit["throttle_interval"] = num(policy, "throttle_interval");
    limit["throttle_retry_limit"] = integer(policy, "throttle_retry_limit");
    limit["max_query_depth"] = integer(policy, "max_query_depth");
    limit["quota_max"] = integer(policy, "quota_max");
    limit["quota_renewal_rate"] = integer(policy, "quota_renewal_rate");
    limit["smoothing"] = smoothing_of(policy);
    return limit;
}

struct State {
    std::map<std::string, Json> rights;
    std::map<std::string, std::string> set_by;
    std::set<std::string> did_quota, did_rate, did_acl, did_complexity;
    bool did_per_api = false;
    bool did_partition = false;
};

const Json* session_right(const Json& session, const std::string& api_id) {
    const Json* rights = json_member(session, "access_rights");
    return rights != nullptr ? json_member(*rights, api_id) : nullptr;
}

/// Tyk's ApplyRateLimits: the policy's rate where it allows more requests.
void apply_rate_limits(Json& session, const Json& policy, Json& api_limit) {
    const Json limit = policy_limit(policy);
    if (rate_empty(limit)) {
        return;
    }
    for (Json* target : {&api_limit, &session}) {
        if (rate_empty(*target) || interval(*target) > interval(limit)) {
            (*target)["rate"] = limit["rate"];
            (*target)["per"] = limit["per"];
            (*target)["smoothing"] = limit["smoothing"];
        }
    }
}

std::string apply_per_api(const config::Policy& policy, Json& session, State& state) {
    if (state.did_partition) {
        return "cannot apply multiple policies when some have per_api set and some are "
               "partitioned";
    }
    const Json* rights = json_member(policy.raw, "access_rights");
    if (rights == nullptr || !rights->is_object()) {
        return {};
    }
    for (const auto& [api_id, access] : rights->items()) {
        Json ar = access.is_object() ? access : Json::object();
        std::string scope = api_id;
        if (api_limit_is_empty(ar.value("limit", Json()))) {
            scope = policy.id;
            ar["limit"] = policy_limit(policy.raw);
        }
        ar["allowance_scope"] = scope;
        state.set_by[api_id] = scope;
        if (const Json* current = session_right(session, api_id)) {
            const Json* limit = json_member(*current, "limit");
            if (limit != nullptr && !api_limit_is_empty(*limit)) {
                ar["limit"]["quota_renews"] = integer(*limit, "quota_renews");
            }
            if (flag(*current, "disable_introspection")) {
                ar["disable_introspection"] = true;
            }
        }
        if (const auto it = state.rights.find(api_id); it != state.rights.end()) {
            // Tyk's applyAPILevelLimits: the more generous of the two.
            const Json current = it->second.value("limit", Json::object());
            Json& limit = object_at(ar, "limit");
            if (interval(limit) > interval(current)) {
                limit["per"] = num(current, "per");
                limit["rate"] = num(current, "rate");
                limit["smoothing"] = smoothing_of(current);
            }
            if (greater(integer(current, "quota_max"), integer(limit, "quota_max"))) {
                limit["quota_max"] = integer(current, "quota_max");
            }
            if (greater(integer(current, "quota_renewal_rate"),
                        integer(limit, "quota_renewal_rate"))) {
                limit["quota_renewal_rate"] = integer(current, "quota_renewal_rate");
            }
            if (integer(limit, "quota_max") == -1) {
                limit["quota_renewal_rate"] = 0;
            }
        }
        state.rights[api_id] = std::move(ar);
        state.did_acl.insert(api_id);
        state.did_quota.insert(api_id);
        state.did_rate.insert(api_id);
        state.did_complexity.insert(api_id);
    }
    if (!rights->empty()) {
        state.did_per_api = true;
    }
    return {};
}

void merge_acl(Json& merged, const Json& added) {
    if (flag(added, "disable_introspection")) {
        merged["disable_introspection"] = true;
    }
    append_missing(merged["versions"], added.value("versions", Json::array()));
    const Json* urls = json_member(added, "allowed_urls");
    if (urls == nullptr || !urls->is_array()) {
        return;
    }
    Json& into = merged["allowed_urls"];
    if (!into.is_array()) {
        into = Json::array();
    }
    for (const auto& url : *urls) {
        bool found = false;
        for (auto& existing : into) {
            if (existing.value("url", Json()) == url.value("url", Json())) {
                found = true;
                append_missing(existing["methods"], url.value("methods", Json::array()));
            }
        }
        if (!found) {
            into.push_back(url);
        }
    }
}

std::string apply_partitions(const config::Policy& policy, Json& session, State& state) {
    const Partitions parts = partitions_of(policy.raw);
    const bool partitioned = parts.enabled();
    if (partitioned && state.did_per_api) {
        return "cannot apply multiple policies when some have per_api set and some are "
               "partitioned";
    }
    const Json& p = policy.raw;
    const Json* rights = json_member(p, "access_rights");
    const bool has_rights = rights != nullptr && rights->is_object() && !rights->empty();
    if (has_rights) {
        for (const auto& [api_id, access] : rights->items()) {
            Json ar = access.is_object() ? access : Json::object();
            if (!partitioned || parts.acl) {
                state.did_acl.insert(api_id);
                if (const auto it = state.rights.find(api_id); it != state.rights.end()) {
                    Json merged = it->second;
                    merge_acl(merged, ar);
                    ar = std::move(merged);
                }
                state.set_by[api_id] = policy.id;
            }
            Json& limit = object_at(ar, "limit");
            if (!partitioned || parts.quota) {
                state.did_quota.insert(api_id);
                if (greater(integer(p, "quota_max"), integer(limit, "quota_max"))) {
                    limit["quota_max"] = integer(p, "quota_max");
                    if (greater(integer(p, "quota_max"), integer(session, "quota_max"))) {
                        session["quota_max"] = integer(p, "quota_max");
                    }
                }
                if (integer(p, "quota_renewal_rate") > integer(limit, "quota_renewal_rate")) {
                    limit["quota_renewal_rate"] = integer(p, "quota_renewal_rate");
                    if (integer(p, "quota_renewal_rate") > integer(session, "quota_renewal_rate")) {
                        session["quota_renewal_rate"] = integer(p, "quota_renewal_rate");
                    }
                }
            }
            if (!partitioned || parts.rate_limit) {
                state.did_rate.insert(api_id);
                apply_rate_limits(session, p, limit);
                if (integer(p, "throttle_retry_limit") > integer(limit, "throttle_retry_limit")) {
                    limit["throttle_retry_limit"] = integer(p, "throttle_retry_limit");
                    if (integer(p, "throttle_retry_limit") >
                        integer(session, "throttle_retry_limit")) {
                        session["throttle_retry_limit"] = integer(p, "throttle_retry_limit");
                    }
                }
                if (num(p, "throttle_interval") > num(limit, "throttle_interval")) {
                    limit["throttle_interval"] = num(p, "throttle_interval");
                    if (num(p, "throttle_interval") > num(session, "throttle_interval")) {
                        session["throttle_interval"] = num(p, "throttle_interval");
                    }
                }
            }
            if (!partitioned || parts.complexity) {
                state.did_complexity.insert(api_id);
                if (greater(integer(p, "max_query_depth"), integer(limit, "max_query_depth"))) {
                    limit["max_query_depth"] = integer(p, "max_query_depth");
                    if (greater(integer(p, "max_query_depth"),
                                integer(session, "max_query_depth"))) {
                        session["max_query_depth"] = integer(p, "max_query_depth");
                    }
                }
            }
            if (const Json* current = session_right(session, api_id)) {
                const Json* current_limit = json_member(*current, "limit");
                if (current_limit != nullptr && !api_limit_is_empty(*current_limit)) {
                    limit["quota_renews"] = integer(*current_limit, "quota_renews");
                }
            }
            state.rights[api_id] = std::move(ar);
        }
    } else {
        // A master policy: its limits go to the session itself.
        if (!partitioned || parts.rate_limit) {
            session["rate"] = num(p, "rate");
            session["per"] = num(p, "per");
            session["smoothing"] = smoothing_of(p);
            session["throttle_interval"] = num(p, "throttle_interval");
            session["throttle_retry_limit"] = integer(p, "throttle_retry_limit");
        }
        if (!partitioned || parts.complexity) {
            session["max_query_depth"] = integer(p, "max_query_depth");
        }
        if (!partitioned || parts.quota) {
            session["quota_max"] = integer(p, "quota_max");
            session["quota_renewal_rate"] = integer(p, "quota_renewal_rate");
        }
    }
    for (const char* name : {"hmac_enabled", "enable_http_signature_validation"}) {
        if (!flag(session, name) && flag(p, name)) {
            session[name] = true;
        }
    }
    state.did_partition = partitioned;
    return {};
}

std::vector<std::string> policy_ids(const Json& session) {
    std::vector<std::string> ids = strings(session, "apply_policies");
    if (ids.empty()) {
        if (std::string legacy = text(session, "apply_policy_id"); !legacy.empty()) {
            ids.push_back(std::move(legacy));
        }
    }
    return ids;
}

/// Tyk's ClearSession: the fields the session's policies own start from zero, up to the first
/// unknown policy.
void clear_session(Json& session,
                   const std::vector<std::string>& ids,
                   const config::PolicySet& policies) {
    for (const auto& id : ids) {
        const config::Policy* policy = policies.find(id);
        if (policy == nullptr) {
            return;
        }
        const Partitions parts = partitions_of(policy->raw);
        const bool all = !(parts.quota || parts.rate_limit || parts.acl || parts.complexity);
        if (parts.quota || all) {
            session["quota_max"] = 0;
            session["quota_remaining"] = 0;
        }
        if (parts.rate_limit || all) {
            session["rate"] = 0;
            session["per"] = 0;
            session["smoothing"] = nullptr;
            session["throttle_retry_limit"] = 0;
            session["throttle_interval"] = 0;
        }
        if (parts.complexity || all) {
            session["max_query_depth"] = 0;
        }
    }
}

} // namespace

namespace {

/// True when the access entry of `api_id` has a per-API limit not yet counted under the API's
/// own `allowance_scope` (what a key without policies gets).
bool needs_own_scope(const std::string& api_id, const Json& access) {
    const Json* limit = json_member(access, "limit");
    if (limit == nullptr || api_limit_is_empty(*limit)) {
        return false;
    }
    const Json* scope = json_member(access, "allowance_scope");
    return scope == nullptr || !scope->is_string() ||
           scope->get_ref<const std::string&>() != api_id;
}

/// True when apply_policies would change a key without policies (needs_own_scope anywhere).
bool needs_api_scopes(const Json& session) {
    const Json* rights = json_member(session, "access_rights");
    if (rights == nullptr || !rights->is_object()) {
        return false;
    }
    for (const auto& [api_id, access] : rights->get_ref<const Json::object_t&>()) {
        if (needs_own_scope(api_id, access)) {
            return true;
        }
    }
    return false;
}

/// True when apply_policies changes the session: it names policies, or needs API scopes.
bool needs_policy_pass(const Json& session) {
    return !policy_ids(session).empty() || needs_api_scopes(session);
}

} // namespace

std::string
apply_policies(Json& session, const config::PolicySet& policies, const std::string& org_id) {
    if (!session.is_object()) {
        return "session is not an object";
    }
    const std::vector<std::string> ids = policy_ids(session);
    if (ids.empty()) {
        // Per-API limits of a key without policies count under the API's own scope.
        if (Json* rights = session.contains("access_rights") ? &session["access_rights"] : nullptr;
            rights != nullptr && rights->is_object()) {
            for (auto& [api_id, access] : rights->items()) {
                if (needs_own_scope(api_id, access)) {
                    access["allowance_scope"] = api_id;
                }
            }
        }
        return {};
    }
    if (!session["meta_data"].is_object()) {
        session["meta_data"] = Json::object();
    }
    clear_session(session, ids, policies);

    State state;
    std::vector<std::string> tags;
    bool inactive = flag(session, "is_inactive");
    for (const auto& id : ids) {
        const config::Policy* policy = policies.find(id);
        if (policy == nullptr) {
            if (ids.size() > 1) {
                continue;
            }
            return "policy not found: \"" + id + "\"";
        }
        if (!org_id.empty() && text(policy->raw, "org_id") != org_id) {
            return "attempting to apply policy from different organisation to key";
        }
        const Partitions parts = partitions_of(policy->raw);
        if (parts.per_api && parts.enabled()) {
            return "cannot apply policy " + id + " which has per_api and any of partitions set";
        }
        const std::string error = parts.per_api ? apply_per_api(*policy, session, state)
                                                : apply_partitions(*policy, session, state);
        if (!error.empty()) {
            return error;
        }
        inactive = inactive || flag(policy->raw, "is_inactive");
        for (auto& tag : strings(policy->raw, "tags")) {
            if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
                tags.push_back(std::move(tag));
            }
        }
        if (const Json* meta = json_member(policy->raw, "meta_data");
            meta != nullptr && meta->is_object()) {
            for (const auto& [key, value] : meta->items()) {
                session["meta_data"][key] = value;
            }
        }
        const std::string updated = text(policy->raw, "last_updated");
        if (updated > text(session, "last_updated")) {
            session["last_updated"] = updated;
        }
    }
    session["is_inactive"] = inactive;
    std::vector<std::string> all_tags = strings(session, "tags");
    for (auto& tag : tags) {
        if (std::find(all_tags.begin(), all_tags.end(), tag) == all_tags.end()) {
            all_tags.push_back(std::move(tag));
        }
    }
    session["tags"] = all_tags;

    std::set<std::string> distinct_acl;
    for (const auto& [api_id, by] : state.set_by) {
        if (state.rights.count(api_id) != 0 && !by.empty()) {
            distinct_acl.insert(by);
        }
    }
    for (auto it = state.rights.begin(); it != state.rights.end();) {
        const std::string& api_id = it->first;
        if (state.did_acl.count(api_id) == 0) {
            it = state.rights.erase(it);
            continue;
        }
        Json& ar = it->second;
        Json& limit = object_at(ar, "limit");
        if (state.did_rate.count(api_id) == 0) {
            limit["rate"] = num(session, "rate");
            limit["per"] = num(session, "per");
            limit["smoothing"] = smoothing_of(session);
            limit["throttle_interval"] = num(session, "throttle_interval");
            limit["throttle_retry_limit"] = integer(session, "throttle_retry_limit");
        }
        if (state.did_complexity.count(api_id) == 0) {
            limit["max_query_depth"] = integer(session, "max_query_depth");
        }
        if (state.did_quota.count(api_id) == 0) {
            limit["quota_max"] = integer(session, "quota_max");
            limit["quota_renewal_rate"] = integer(session, "quota_renewal_rate");
            limit["quota_renews"] = integer(session, "quota_renews");
        }
        if (distinct_acl.size() > 1 && text(ar, "allowance_scope").empty()) {
            if (const auto by = state.set_by.find(api_id);
                by != state.set_by.end() && !by->second.empty()) {
                ar["allowance_scope"] = by->second;
            }
        }
        ++it;
    }
    // One API's rules from the policies: the session's root fields follow them (legacy).
    if (state.did_quota.size() == 1 && state.did_rate.size() == 1 &&
        state.did_complexity.size() == 1) {
        for (const auto& [api_id, ar] : state.rights) {
            const Json limit = ar.value("limit", Json::object());
            session["rate"] = num(limit, "rate");
            session["per"] = num(limit, "per");
            session["smoothing"] = smoothing_of(limit);
            session["quota_max"] = integer(limit, "quota_max");
            session["quota_renews"] = integer(limit, "quota_renews");
            session["quota_renewal_rate"] = integer(limit, "quota_renewal_rate");
            session["max_query_depth"] = integer(limit, "max_query_depth");
        }
    }
    if (!state.did_acl.empty()) {
        Json rights = Json::object();
        for (auto& [api_id, ar] : state.rights) {
            rights[api_id] = std::move(ar);
        }
        session["access_rights"] = std::move(rights);
    } else if (state.rights.empty() && !session.value("access_rights", Json()).is_object()) {
        return "key has no valid policies to be applied";
    }
    if (!state.did_acl.empty() && session["access_rights"].empty()) {
        return "key has no valid policies to be applied";
    }
    return {};
}

std::string apply_policies(Session& session, const config::PolicySet& policies) {
    if (!session.document_holds(&needs_policy_pass)) {
        return {}; // nothing would change: no copy of the document
    }
    Json doc = session.document();
    const std::string error = apply_policies(doc, policies, session.org_id());
    if (error.empty()) {
        session.set_view(std::move(doc));
    }
    return error;
}

} // namespace portcullis::policy
