#pragma once

#include "config/api_definition.hpp"
#include "config/config_error.hpp"
#include "config/gateway_config.hpp"
#include "middleware/limits/limits.hpp"
#include "middleware/transform/body_transform.hpp"
#include "middleware/transform/endpoint_matcher.hpp"
#include "middleware/transform/header_transform.hpp"
#include "middleware/transform/url_rewrite.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::transform {

/// An `extended_paths` entry with nothing but `path`, `method` and `disabled`.
struct InternalOnly {};

/// Everything an API's request and response steps need, compiled once at load from its active
/// version (regexes compiled, `$tyk_meta`/`$tyk_context` templates parsed) and shared read-only
/// by every worker.
struct ApiTransforms {
    const config::VersionInfo* version = nullptr; // null: no active version (nothing to apply)
    std::string version_prefix;                   // "/<version name>" when the path carries it
    MatchOptions match;
    HeaderTransforms headers;
    std::vector<Endpoint<UrlRewriteRule>> url_rewrites;
    std::vector<Endpoint<BodyTransform>> body_request;  // extended_paths.transform
    std::vector<Endpoint<BodyTransform>> body_response; // extended_paths.transform_response
    /// `extended_paths.internal`: endpoints only `tyk://` loops may reach (else 403).
    std::vector<Endpoint<InternalOnly>> internal;
    /// `global_rate_limit` and `extended_paths.rate_limit` (also without a version).
    limits::ApiLimits rate_limits;
};

/// Compiles `api`'s transforms; every broken entry is reported in `errors` (file and JSON path)
/// and left out, the rest still apply.
std::shared_ptr<const ApiTransforms>
compile_api_transforms(const config::ApiDefinition& api,
                       const config::GatewayConfig& config,
                       std::vector<config::ConfigError>& errors);

/// The paths endpoint entries are matched against (see MatchSubject) for a request to `path`
/// routed through `listen_prefix`. The views point into `storage`, which must outlive them.
MatchSubject match_subject(std::string_view path,
                           std::string_view listen_prefix,
                           const ApiTransforms& transforms,
                           std::string& storage);

} // namespace portcullis::transform
