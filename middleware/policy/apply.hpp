#pragma once

// Tyk's policy application (reference section 12; Tyk internal/policy/apply.go): a session's
// `apply_policies` (or legacy `apply_policy_id`) merged into the session, in order.
#include "config/policy.hpp"
#include "middleware/core/session.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace portcullis::policy {

/// Merges the session's policies into `session` (a JSON session object) with Tyk's rules:
/// partitioned fields cleared first; access rights replaced by the union of the policies' (same
/// API: versions and `allowed_urls` methods unioned); quota: the largest `quota_max` (-1 is
/// largest) and renewal rate; rate: the policy's when its interval per request is shorter;
/// throttle and query depth: the largest; `meta_data`: policy keys overwrite, later policies win;
/// `tags` union; `is_inactive` and `hmac_enabled` OR; `last_updated` the largest; `per_api`
/// policies give each API its own limit and scope; several ACL policies give each API
/// `allowance_scope` = the policy id; sessions without policies give per-API limits the API id
/// as scope. `org_id`: when not empty, a policy of another org is an error.
///
/// Returns an empty string on success, else the reason (an unknown policy when it is the only
/// one; several unknown ones are skipped; mixing `per_api` and partitioned policies; no access
/// rights left). On error `session` may be partly merged: do not use it.
std::string apply_policies(nlohmann::json& session,
                           const config::PolicySet& policies,
                           const std::string& org_id);

/// The same on a Session: the merged document replaces the session's view without being
/// recorded as a change, so a save-back never writes policy-derived values. Sessions without
/// policies are only given per-API scopes.
std::string apply_policies(Session& session, const config::PolicySet& policies);

} // namespace portcullis::policy
