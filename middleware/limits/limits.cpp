#include "middleware/limits/limits.hpp"

#include "config/json_reader.hpp"
#include "middleware/keys/key_hash.hpp"
#include "middleware/transform/endpoint_list.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <unordered_map>

namespace portcullis::limits {

namespace {

using Json = nlohmann::json;

std::string string_member(const Json& object, std::string_view name) {
    const Json* value = json_member(object, name);
    return value != nullptr && value->is_string() ? value->get<std::string>() : std::string{};
}

/// Endpoint paths of access rights are configured per key, so they are compiled on first use
/// and kept per thread (bounded: the cache is dropped when it grows past a few thousand).
const transform::PathPattern* cached_pattern(std::string_view path,
                                             const transform::MatchOptions& match) {
    struct Entry {
        std::optional<transform::PathPattern> pattern;
    };
    thread_local std::unordered_map<std::string, Entry> cache;
    std::string key;
    key.reserve(path.size() + 2);
    key.push_back(match.prefix ? 'p' : '-');
    key.push_back(match.suffix ? 's' : '-');
    key.append(path);
    auto it = cache.find(key);
    if (it == cache.end()) {
        if (cache.size() >= 4096) {
            cache.clear();
        }
        std::string error;
        it =
            cache
                .emplace(std::move(key), Entry{transform::PathPattern::compile(path, match, error)})
                .first;
    }
    return it->second.pattern ? &*it->second.pattern : nullptr;
}

struct EndpointLimit {
    double rate = 0;
    double per = 0;
    std::string suffix;
};

/// Tyk's RateLimitInfo over `access_rights[api].endpoints`.
std::optional<EndpointLimit> endpoint_limit(const Json& endpoints,
                                            std::string_view method,
                                            std::string_view path,
                                            const transform::MatchOptions& match) {
    for (const auto& endpoint : endpoints) {
        const Json* methods = json_member(endpoint, "methods");
        if (methods == nullptr || !methods->is_array()) {
            continue;
        }
        const Json* chosen = nullptr;
        for (const auto& m : *methods) {
            const Json* name = json_member(m, "name");
            if (name != nullptr && name->is_string() &&
                boost::beast::iequals(name->get_ref<const std::string&>(), method)) {
                chosen = &m;
                break;
            }
        }
        if (chosen == nullptr) {
            continue;
        }
        const std::string endpoint_path = string_member(endpoint, "path");
        const auto* pattern = cached_pattern(endpoint_path, match);
        if (pattern == nullptr || !pattern->matches(path)) {
            continue;
        }
        EndpointLimit out;
        if (const Json* limit = json_member(*chosen, "limit")) {
            out.rate = json_double(json_member(*limit, "rate"));
            out.per = json_double(json_member(*limit, "per"));
        }
        out.suffix = keys::hash_key(string_member(*chosen, "name") + ":" + endpoint_path);
        return out;
    }
    return std::nullopt;
}

std::string trim_dashes(std::string_view s) {
    while (!s.empty() && s.front() == '-') {
        s.remove_prefix(1);
    }
    while (!s.empty() && s.back() == '-') {
        s.remove_suffix(1);
    }
    return std::string(s);
}

} // namespace

Mode mode_of(const config::GatewayConfig& config) {
    if (config.enable_fixed_window_rate_limiter) {
        return Mode::fixed_window;
    }
    if (config.enable_sentinel_rate_limiter) {
        return Mode::sentinel;
    }
    if (config.enable_redis_rolling_limiter) {
        return Mode::rolling;
    }
    return Mode::window;
}

const char* mode_name(Mode mode) {
    switch (mode) {
    case Mode::window:
        return "window";
    case Mode::rolling:
        return "rolling";
    case Mode::sentinel:
        return "sentinel";
    case Mode::fixed_window:
        return "fixed_window";
    }
    return "window";
}

std::string prefix_join(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto part : parts) {
        const std::string trimmed = trim_dashes(part);
        if (trimmed.empty()) {
            continue;
        }
        if (!out.empty()) {
            out.push_back('-');
        }
        out.append(trimmed);
    }
    return out;
}

EffectiveLimit effective_limit(const Session& session, std::string_view api_id) {
    EffectiveLimit out;
    const ApiAccess& access = session.api_access(api_id);
    out.allowance_scope = access.allowance_scope;
    out.endpoints = access.endpoints;
    if (const Json* limit = access.limit; limit != nullptr) {
        out.per_api = true;
        out.rate = json_double(json_member(*limit, "rate"));
        out.per = json_double(json_member(*limit, "per"));
        out.quota_max = json_int64(json_member(*limit, "quota_max"));
        out.quota_remaining = json_int64(json_member(*limit, "quota_remaining"));
        out.quota_renews = json_int64(json_member(*limit, "quota_renews"));
        out.quota_renewal_rate = json_int64(json_member(*limit, "quota_renewal_rate"));
        return out;
    }
    out.rate = session.rate();
    out.per = session.per();
    out.quota_max = session.quota_max();
    out.quota_remaining = session.quota_remaining();
    out.quota_renews = session.quota_renews();
    out.quota_renewal_rate = session.quota_renewal_rate();
    return out;
}

std::string_view rate_limit_pattern(const Session& session) {
    const Json* pattern = json_member(session.meta_data(), "rate_limit_pattern");
    if (pattern == nullptr || !pattern->is_string()) {
        return {};
    }
    return pattern->get_ref<const std::string&>();
}

SessionPlan plan_session(const Session& session, const SessionRequest& request) {
    SessionPlan plan;
    plan.limit = effective_limit(session, request.api_id);
    const auto& limit = plan.limit;
    const std::string_view id = request.pattern.empty() ? request.key_id : request.pattern;
    if (request.rate_enabled) {
        double rate = limit.rate;
        double per = limit.per;
        std::string suffix;
        if (limit.endpoints != nullptr) {
            if (auto endpoint =
                    endpoint_limit(*limit.endpoints, request.method, request.path, request.match)) {
                rate = endpoint->rate;
                per = endpoint->per;
                suffix = std::move(endpoint->suffix);
            }
        }
        if (rate > 0) {
            plan.rate = RateCheck{prefix_join({"rate-limit-", limit.allowance_scope, id, suffix}),
                                  rate, per};
        }
    }
    if (request.quota_enabled && limit.quota_max > 0) {
        std::string key = "quota-";
        if (!limit.allowance_scope.empty()) {
            key.append(limit.allowance_scope).push_back('-');
        }
        key.append(id);
        plan.quota = QuotaCheck{std::move(key), limit.quota_max, limit.quota_renewal_rate};
    }
    return plan;
}

ApiLimits compile_api_limits(const config::ApiDefinition& api,
                             const config::VersionInfo* version,
                             const transform::MatchOptions& match,
                             bool hash_keys,
                             std::vector<config::ConfigError>& errors) {
    ApiLimits out;
    out.disabled = api.disable_rate_limit;
    const std::string name = "apilimiter-" + api.org_id + api.api_id;
    const std::string base = prefix_join({"rate-limit-", hash_keys ? keys::hash_key(name) : name});
    const auto& global = api.global_rate_limit;
    if (global.rate > 0 && !global.disabled) {
        out.global = ApiRateLimit{global.rate, global.per, base};
    }
    if (version == nullptr) {
        return out;
    }
    out.endpoints = transform::compile_endpoint_list<ApiRateLimit>(
        api, *version, "rate_limit", errors,
        [&](const config::JsonReader& reader) -> std::optional<transform::Endpoint<ApiRateLimit>> {
            bool disabled = false;
            std::string path;
            std::string method;
            ApiRateLimit limit;
            reader.read("disabled", disabled);
            reader.read("path", path);
            reader.read("method", method);
            reader.read("rate", limit.rate);
            reader.read("per", limit.per);
            if (disabled) {
                return std::nullopt;
            }
            std::string error;
            auto pattern = transform::PathPattern::compile(path, match, error);
            if (!pattern) {
                reader.fail("path", "invalid path pattern: " + error);
            }
            limit.key = prefix_join({base, keys::hash_key(method + ":" + path)});
            return transform::Endpoint<ApiRateLimit>{std::move(*pattern), std::move(method),
                                                     std::move(limit)};
        });
    return out;
}

std::optional<RateCheck>
plan_api(const ApiLimits& limits, std::string_view method, const transform::MatchSubject& subject) {
    if (limits.disabled) {
        return std::nullopt;
    }
    if (const auto* endpoint = transform::find_endpoint(limits.endpoints, method, subject)) {
        if (endpoint->spec.rate <= 0) {
            return std::nullopt;
        }
        return RateCheck{endpoint->spec.key, endpoint->spec.rate, endpoint->spec.per};
    }
    if (limits.global) {
        return RateCheck{limits.global->key, limits.global->rate, limits.global->per};
    }
    return std::nullopt;
}

QuotaOutcome quota_outcome(std::int64_t count,
                           std::int64_t expires_ms,
                           std::int64_t max,
                           std::int64_t previous_renews) {
    QuotaOutcome out;
    out.blocked = count - 1 >= max;
    out.remaining = std::max<std::int64_t>(0, max - count);
    out.renews = expires_ms >= 0 ? expires_ms / 1000 : previous_renews;
    return out;
}

void record_quota(Session& session, std::string_view scope, const QuotaOutcome& outcome) {
    const Json& rights = session.access_rights();
    std::vector<std::string> matching;
    if (rights.is_object()) {
        for (const auto& [api_id, access] : rights.items()) {
            const Json* limit = json_member(access, "limit");
            if (limit == nullptr || api_limit_is_empty(*limit) ||
                string_member(access, "allowance_scope") != scope) {
                continue;
            }
            matching.push_back(api_id);
        }
    }
    for (const auto& api_id : matching) {
        const Json& limit = rights[api_id]["limit"];
        if (json_int64(json_member(limit, "quota_remaining")) == outcome.remaining &&
            json_int64(json_member(limit, "quota_renews")) == outcome.renews) {
            continue;
        }
        const std::string base = "/access_rights/" + config::json_pointer_token(api_id) + "/limit/";
        // quota_renews first: the patch's quota_remaining rule compares against it
        session.set_at(base + "quota_renews", outcome.renews);
        session.set_at(base + "quota_remaining", outcome.remaining);
    }
    if (scope.empty() && (session.quota_remaining() != outcome.remaining ||
                          session.quota_renews() != outcome.renews)) {
        session.set_field("quota_renews", outcome.renews);
        session.set_field("quota_remaining", outcome.remaining);
    }
}

std::vector<std::string> reset_keys(std::string_view key_id, const nlohmann::json& access_rights) {
    std::vector<std::string> scopes{std::string{}};
    if (access_rights.is_object()) {
        for (const auto& [api_id, access] : access_rights.items()) {
            std::string scope = string_member(access, "allowance_scope");
            if (!scope.empty() && std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
                scopes.push_back(std::move(scope));
            }
        }
    }
    std::vector<std::string> out;
    for (const auto& scope : scopes) {
        std::string quota = "quota-";
        if (!scope.empty()) {
            quota.append(scope).push_back('-');
        }
        quota.append(key_id);
        out.push_back(std::move(quota));
        out.push_back(prefix_join({"rate-limit-", scope, key_id}) + ".window");
    }
    return out;
}

RateLimitHeaders quota_headers(const Session& session, std::string_view api_id) {
    const auto limit = effective_limit(session, api_id);
    return RateLimitHeaders{limit.quota_max, limit.quota_remaining, limit.quota_renews};
}

std::int64_t fixed_window_start_ns(std::int64_t now_ns, std::int64_t per_ns) {
    if (per_ns <= 0) {
        return now_ns;
    }
    // Seconds from January 1, year 1 to the Unix epoch (Go's zero time).
    __extension__ using Int128 = __int128;
    constexpr Int128 kZeroToUnixNs = static_cast<Int128>(62135596800LL) * 1000000000LL;
    const Int128 since_zero = kZeroToUnixNs + now_ns;
    return now_ns - static_cast<std::int64_t>(since_zero % per_ns);
}

std::int64_t window_capacity(double rate) {
    if (!(rate >= 1)) {
        return 1;
    }
    if (rate >= 9.0e18) {
        return std::numeric_limits<std::int64_t>::max();
    }
    return static_cast<std::int64_t>(std::floor(rate));
}

} // namespace portcullis::limits
