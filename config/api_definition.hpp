#pragma once

#include "config/target_url.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace portcullis::config {

/// `proxy` of a classic API definition.
struct ProxyConfig {
    std::string listen_path;
    std::string target_url;
    TargetUrl target; // parsed `target_url`
    bool strip_listen_path = false;
    bool preserve_host_header = false;
    bool disable_strip_slash = false;
    bool ssl_insecure_skip_verify = false; // proxy.transport.ssl_insecure_skip_verify
};

/// A rate limit: `rate` requests per `per` seconds (`rate` <= 0: none).
struct RateLimitSpec {
    double rate = 0;
    double per = 0;
    bool disabled = false;
};

/// One entry of `version_data.versions`.
struct VersionInfo {
    std::string key;  // the map key it was stored under
    std::string name; // the `name` field (Tyk keys compiled endpoint lists by it)
    bool use_extended_paths = false;
    nlohmann::json extended_paths = nlohmann::json::object();
    std::map<std::string, std::string> global_headers;
    std::vector<std::string> global_headers_remove;
    bool global_headers_disabled = false;
    std::map<std::string, std::string> global_response_headers;
    std::vector<std::string> global_response_headers_remove;
    bool global_response_headers_disabled = false;
    bool ignore_endpoint_case = false;
};

/// `version_data`.
struct VersionData {
    bool not_versioned = false;
    std::string default_version;
    std::vector<VersionInfo> versions; // in key order
};

/// Where the API key is looked for (`auth` or `auth_configs.authToken`).
struct AuthTokenConfig {
    std::string auth_header_name = "Authorization";
    bool use_param = false;
    std::string param_name;
    bool use_cookie = false;
    std::string cookie_name;
    bool disable_header = false;
};

/// One plugin of `custom_middleware` (Tyk's MiddlewareDefinition).
struct MiddlewareDefinition {
    std::string name; // the global JS object the script defines
    std::string path; // the script file
    bool require_session = false;
    bool raw_body_only = false;
    bool disabled = false;
};

/// `custom_middleware`: plugin hooks by phase.
struct CustomMiddleware {
    std::string driver; // "otto" (or "javascript") for JavaScript plugins
    std::vector<MiddlewareDefinition> pre;
    std::vector<MiddlewareDefinition> post_key_auth;
    std::vector<MiddlewareDefinition> post;
    std::vector<MiddlewareDefinition> response;
    MiddlewareDefinition auth_check;
};

/// `oauth_meta` of an OAuth2 API.
struct OauthMeta {
    std::vector<std::string> allowed_access_types;    // grant types: authorization_code, ...
    std::vector<std::string> allowed_authorize_types; // response types: code, token
    std::string auth_login_redirect;                  // where oauth/authorize sends the user
};

/// A Tyk classic API definition, parsed and validated once at load and shared read-only by every
/// worker. Fields a later feature needs but does not model yet are available through `raw`.
struct ApiDefinition {
    std::string source_file;
    std::string api_id;
    std::string org_id;
    std::string name;
    bool active = true;
    bool use_keyless = false;
    bool use_standard_auth = false;
    bool use_oauth2 = false;
    /// A custom auth plugin (`custom_middleware.auth_check` or the `auth` folder) authenticates
    /// requests: `enable_coprocess_auth`, `custom_plugin_auth_enabled` or `use_go_plugin_auth`.
    bool custom_plugin_auth = false;
    OauthMeta oauth_meta;
    bool internal = false;
    ProxyConfig proxy;
    VersionData version_data;
    AuthTokenConfig auth; // effective token auth config (auth_configs.authToken wins over auth)
    AuthTokenConfig oauth_auth; // where OAuth2 bearer tokens are read (auth_configs.oauth)
    bool disable_rate_limit = false;
    bool disable_quota = false;
    RateLimitSpec global_rate_limit; // API-wide limit, on keyless APIs too
    bool enable_context_vars = false;
    bool strip_auth_data = false;
    std::int64_t session_lifetime = 0;
    bool session_lifetime_respects_key_expiration = false;
    nlohmann::json config_data = nlohmann::json::object();
    bool config_data_disabled = false;
    CustomMiddleware custom_middleware;

    nlohmann::json raw; // the definition as read (GET /tyk/apis returns it)

    /// The version requests use: with `not_versioned`, the only (or the `Default`) version;
    /// otherwise `default_version`, then `Default`/`default`/"". Null when there is none.
    const VersionInfo* active_version() const;
};

/// Parses one API definition. Throws ConfigException naming `file` and the JSON path of the
/// offending field (missing `api_id`, bad `proxy.target_url`, wrong types, ...).
ApiDefinition parse_api_definition(const nlohmann::json& value, const std::string& file);

} // namespace portcullis::config
