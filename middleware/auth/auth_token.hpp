#pragma once

#include "config/api_definition.hpp"
#include "config/gateway_config.hpp"
#include "middleware/core/http.hpp"
#include "middleware/core/rejection.hpp"
#include "middleware/core/session.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::auth {

/// Tyk's getAuthToken for `auth_configs.authToken`: the header (default `Authorization`, skipped
/// with `disable_header`), overridden by a non-empty query parameter when `use_param`
/// (`param_name`, default the header name; case-sensitive), overridden by a non-empty cookie when
/// `use_cookie` (`cookie_name`, default the header name). A leading "Bearer " (any case) is
/// removed. Empty when no key was sent.
std::string
extract_api_key(const Fields& headers, std::string_view query, const config::AuthTokenConfig& auth);

/// First value of query parameter `name` (percent-decoded), or nullopt.
std::optional<std::string> query_param(std::string_view query, std::string_view name);
/// Value of cookie `name` from the Cookie header(s), or nullopt.
std::optional<std::string> cookie_value(const Fields& headers, std::string_view name);

/// Message for a Tyk error id, honouring `override_messages` (`auth.auth_field_missing`,
/// `auth.key_not_found`).
std::string
message_for(const config::GatewayConfig& config, std::string_view id, std::string_view fallback);

/// The checks Tyk runs after a session was found (KeyExpired, AccessRights, GranularAccess):
/// inactive 403, expired 401, API missing from non-empty `access_rights` 403, `allowed_urls`
/// (regex on the request path, methods) 403. `now` is unix seconds.
Verdict check_session(const Session& session,
                      const config::ApiDefinition& api,
                      std::string_view method,
                      std::string_view path,
                      std::int64_t now);

} // namespace portcullis::auth
