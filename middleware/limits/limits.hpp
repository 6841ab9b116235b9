#pragma once

// Rate limit and quota decisions (reference section 11): which limits apply to a request, the
// Redis counters they use (Tyk's key layout) and what the counters' values mean. No I/O: the
// gateway runs the checks in one Redis script (gateway/limits/limiter.hpp) and hands the
// numbers back here. Every function that needs the time takes it as an argument.
#include "config/api_definition.hpp"
#include "config/config_error.hpp"
#include "config/gateway_config.hpp"
#include "middleware/core/session.hpp"
#include "middleware/transform/endpoint_matcher.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::limits {

/// The rate limiter tyk.conf selects, in Tyk's precedence.
enum class Mode {
    /// Default: at most `rate` requests in a window of `per` seconds opened by the first
    /// request (Tyk's single-node DRL behaviour), counted in Redis so it is exact across any
    /// number of gateway nodes. Counter `<rate key>.window`.
    window,
    rolling,      // enable_redis_rolling_limiter: Tyk's sliding log (sorted set at the key)
    sentinel,     // enable_sentinel_rate_limiter: sliding log plus a `<key>.BLOCKED` marker
    fixed_window, // enable_fixed_window_rate_limiter: `<key>/<window start ns>` counters
};
Mode mode_of(const config::GatewayConfig& config);
const char* mode_name(Mode mode);

/// At most `rate` requests per `per` seconds on the counter at `key`.
struct RateCheck {
    std::string key; // "rate-limit-..."
    double rate = 0;
    double per = 0;
};

/// A quota on the counter at `key`: `max` requests per renewal period.
struct QuotaCheck {
    std::string key; // "quota-..."
    std::int64_t max = 0;
    std::int64_t renewal_rate = 0; // seconds; <= 0 never renews
};

/// Tyk's `rate.Prefix`: the parts with leading and trailing '-' trimmed, empty ones skipped,
/// joined by '-'.
std::string prefix_join(std::initializer_list<std::string_view> parts);

/// The limit of a session on one API (Tyk GetAccessDefinitionByAPIIDOrSession):
/// `access_rights[api].limit` when present and not all zero, else the session-level fields.
struct EffectiveLimit {
    double rate = 0;
    double per = 0;
    std::int64_t quota_max = 0;
    std::int64_t quota_remaining = 0;
    std::int64_t quota_renews = 0;
    std::int64_t quota_renewal_rate = 0;
    bool per_api = false;                      // from access_rights[api].limit
    std::string allowance_scope;               // access_rights[api].allowance_scope
    const nlohmann::json* endpoints = nullptr; // access_rights[api].endpoints (an array) or null
};
EffectiveLimit effective_limit(const Session& session, std::string_view api_id);

/// What a keyed request is checked against.
struct SessionRequest {
    std::string_view api_id;
    std::string_view method;
    std::string_view path;     // the request path without the listen path (endpoint limits)
    std::string_view key_id;   // Tyk's key hash: the token, or its hash with hash_keys
    std::string_view pattern;  // expanded meta_data.rate_limit_pattern; empty: none
    bool rate_enabled = true;  // !disable_rate_limit
    bool quota_enabled = true; // !disable_quota
    transform::MatchOptions match;
};

struct SessionPlan {
    EffectiveLimit limit;
    std::optional<RateCheck> rate;   // rate > 0 and enabled
    std::optional<QuotaCheck> quota; // quota_max > 0 and enabled
};

/// The session's checks for one request: the effective limit, replaced by the first
/// `access_rights[api].endpoints` entry whose path matches and whose methods name the request
/// method (key suffix murmur32 of "<METHOD>:<path>"); counters
/// `rate-limit-[<scope>-]<key id or pattern>[-<suffix>]` and `quota-[<scope>-]<key id or pattern>`.
SessionPlan plan_session(const Session& session, const SessionRequest& request);

/// The `meta_data.rate_limit_pattern` template when it is a non-empty string, else empty.
std::string_view rate_limit_pattern(const Session& session);

/// An API-wide limit (`global_rate_limit` or an `extended_paths.rate_limit` entry) with its
/// counter: `rate-limit-` + (hash_keys ? hash(name) : name), name `apilimiter-<org><api_id>`
/// (+ `-<murmur32 of METHOD:path>` per endpoint).
struct ApiRateLimit {
    double rate = 0;
    double per = 0;
    std::string key;
};

/// An API's own limits, compiled once at load.
struct ApiLimits {
    std::optional<ApiRateLimit> global; // rate > 0 and not disabled
    std::vector<transform::Endpoint<ApiRateLimit>> endpoints;
    bool disabled = false; // disable_rate_limit
};

/// Compiles `global_rate_limit` and (with a version) `extended_paths.rate_limit`; broken entries
/// are reported in `errors` with their JSON path and skipped.
ApiLimits compile_api_limits(const config::ApiDefinition& api,
                             const config::VersionInfo* version,
                             const transform::MatchOptions& match,
                             bool hash_keys,
                             std::vector<config::ConfigError>& errors);

/// The API-wide check for a request: the matching endpoint entry wins over the global limit.
std::optional<RateCheck>
plan_api(const ApiLimits& limits, std::string_view method, const transform::MatchSubject& subject);

/// A quota counter's value after the request's increment, and its remaining lifetime.
struct QuotaOutcome {
    bool blocked = false;
    std::int64_t remaining = 0; // max(0, max - count)
    std::int64_t renews = 0;    // unix seconds
};
/// `count` is the counter after the increment, `expires_ms` when it expires (unix ms; < 0: never):
/// blocked when count - 1 >= max (exactly `max` requests pass); renews = the expiry in unix
/// seconds, or the session's previous value when the counter never expires.
QuotaOutcome quota_outcome(std::int64_t count,
                           std::int64_t expires_ms,
                           std::int64_t max,
                           std::int64_t previous_renews);

/// Writes the outcome into the session as Tyk does: `limit.quota_remaining`/`quota_renews` of
/// every access right with a non-empty limit and the same allowance scope, and the top-level
/// fields when the scope is empty; values already there are not written again. The session is
/// then saved back at the end of the request.
void record_quota(Session& session, std::string_view scope, const QuotaOutcome& outcome);

/// The counters a key update resets (Tyk's ResetQuota, done unless `suppress_reset=1`): the
/// quota counters and the default limiter's windows, unscoped and for every allowance scope in
/// `access_rights`. `key_id` is the token, or its hash with hash_keys.
std::vector<std::string> reset_keys(std::string_view key_id, const nlohmann::json& access_rights);

/// `X-RateLimit-Limit`, `-Remaining`, `-Reset` values.
struct RateLimitHeaders {
    std::int64_t limit = 0;
    std::int64_t remaining = 0;
    std::int64_t reset = 0;
};
/// `rate_limit_response_headers: quotas` (the default): the session's quota for the API
/// (per-API limit when not empty), Tyk's GetQuotaLimitByAPIID.
RateLimitHeaders quota_headers(const Session& session, std::string_view api_id);

/// Start of the fixed window containing `now_ns` for windows of `per_ns`, aligned as Go's
/// time.Truncate (multiples of `per` since January 1, year 1 UTC).
std::int64_t fixed_window_start_ns(std::int64_t now_ns, std::int64_t per_ns);

/// Requests a window admits: Tyk's DRL bucket semantics, floor(rate) and at least 1.
std::int64_t window_capacity(double rate);

} // namespace portcullis::limits
