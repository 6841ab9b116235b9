#pragma once

#include "config/config_error.hpp"
#include "config/gateway_config.hpp"
#include "config/policy.hpp"

#include <memory>
#include <string>
#include <vector>

namespace portcullis::config {

/// Loads the policies `cfg` names, as Tyk's `syncPolicies` does for file sources (reference
/// section 12):
/// - `policy_source` "service" or "rpc": not supported, one error and no policies;
/// - `policy_path` set: every `*.json` in that directory (by file name) is one policy object; its
///   id is `id`, else a string `_id` (legacy), else the file name without `.json`;
/// - else `policy_record_name` set: that one file is an object map id -> policy, the map key
///   overriding the policy's `id`;
/// - neither: an empty set, no error.
/// A file that is missing, not JSON or not an object, or a policy that is not an object or repeats
/// an id already loaded, is reported in `errors` and skipped; the rest load. Each loaded policy's
/// `raw["id"]` is its id. Never null.
std::shared_ptr<const PolicySet> load_policies(const PoliciesConfig& cfg,
                                               std::vector<ConfigError>& errors);

/// Whether `cfg` names a source other than files ("service" / "rpc").
bool policies_from_service(const PoliciesConfig& cfg);

} // namespace portcullis::config
