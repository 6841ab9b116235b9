#pragma once

// The OAuth2 server logic Tyk delegates to its osin fork (reference section 13; Tyk
// gateway/oauth_manager.go, osin access.go/authorize.go/util.go/urivalidate.go), without I/O:
// forms, client authentication, responses, redirect URIs, the records kept in Redis and the
// session a new token gets. The gateway layer (gateway/oauth) does the Redis round trips.

#include "config/policy.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::oauth {

// ---- osin's error ids ----------------------------------------------------------------------
inline constexpr std::string_view kInvalidRequest = "invalid_request";
inline constexpr std::string_view kUnauthorizedClient = "unauthorized_client";
inline constexpr std::string_view kAccessDenied = "access_denied";
inline constexpr std::string_view kUnsupportedResponseType = "unsupported_response_type";
inline constexpr std::string_view kServerError = "server_error";
inline constexpr std::string_view kUnsupportedGrantType = "unsupported_grant_type";
inline constexpr std::string_view kInvalidGrant = "invalid_grant";
inline constexpr std::string_view kInvalidClient = "invalid_client";

/// osin's default description of an error id (the id itself when unknown).
std::string_view error_description(std::string_view id);

/// Seconds an authorization code lives (osin's AuthorizationExpiration default).
inline constexpr std::int64_t kAuthorizationExpiration = 250;
/// Default access token lifetime and refresh token lifetime (Tyk).
inline constexpr std::int64_t kAccessExpiration = 3600;
inline constexpr std::int64_t kRefreshExpiration = 1209600;

// ---- the client ----------------------------------------------------------------------------

/// One OAuth client, as Tyk's OAuthClient holds it.
struct Client {
    std::string id;
    std::string secret;
    std::string redirect_uri;
    std::string policy_id;
    std::string description;
    nlohmann::json meta_data; // any JSON value; null when absent
};

/// A stored client record (`id`, `secret`, `redirecturi`, `meta_data`, `policyid`,
/// `description`); unreadable fields read as empty (Tyk logs and carries on).
Client parse_client_record(std::string_view text);
Client client_from_json(const nlohmann::json& record);
/// The record as Tyk writes it (Go field order; `meta_data` omitted when null).
nlohmann::ordered_json client_record(const Client& client);

/// Whether `presented` equals the client's secret, compared in constant time (digests of both).
bool secret_matches(std::string_view stored, std::string_view presented);

// ---- requests ------------------------------------------------------------------------------

/// Go's r.Form for an OAuth endpoint: the urlencoded body (when `read_body`: POST/PUT/PATCH with
/// an application/x-www-form-urlencoded Content-Type) then the query; a Content-Type of exactly
/// `application/json` makes the body a JSON object of strings whose members replace form
/// values (Tyk's JSONToFormValues; a body that is not such an object is ignored).
class Form {
  public:
    static Form parse(std::string_view query,
                      std::string_view body,
                      std::string_view content_type,
                      bool read_body);

    /// First value of `name`, or "".
    std::string get(std::string_view name) const;
    bool has(std::string_view name) const;

  private:
    nlohmann::json values_ = nlohmann::json::object(); // name -> array of strings
};

/// Client id and secret of a token request.
struct ClientAuth {
    std::string id;
    std::string secret;
};

/// Client authentication (osin getClientAuth): `client_id` + `client_secret` from the form when
/// the form has `client_secret` and a non-empty id; else `Authorization: Basic`. Nullopt when
/// neither is usable (the caller answers invalid_request).
std::optional<ClientAuth> client_auth(std::string_view authorization, const Form& form);

// ---- responses -----------------------------------------------------------------------------

/// osin's Response: the output map, an error state and an optional redirect.
struct Response {
    bool is_error = false;
    int error_status = 403;  // oauth_error_status_code
    std::string status_text; // the error description (non-200 error statuses)
    nlohmann::json output = nlohmann::json::object();
    std::optional<std::string> redirect; // redirect base URL (osin REDIRECT responses)
    bool redirect_in_fragment = false;

    /// osin SetErrorState: output cleared to `error`, `error_description` (default text when
    /// empty) and `state` when non-empty.
    void set_error(std::string_view id, std::string_view state = {});
};

/// osin GetRedirectUrl: the redirect URL with every output value set as a query parameter (or
/// in the fragment for implicit grants), parameters sorted by name. Nullopt when the response
/// is not a redirect or its URL does not parse.
std::optional<std::string> redirect_url(const Response& response);

/// Tyk's generateOAuthOutputFromOsinResponse: an empty `state` dropped, `redirect_to` added for
/// redirects, then JSON with sorted keys, no HTML escaping and a trailing newline.
std::string render(Response& response);

// ---- redirect URIs -------------------------------------------------------------------------

/// osin ValidateUriList: `redirect` must have the scheme and host of one of the client's
/// `base_list` URIs (split by `separator` when non-empty) and its path must equal that URI's or
/// lie below it, without fragments or `..` segments.
bool redirect_uri_valid(std::string_view base_list,
                        std::string_view redirect,
                        std::string_view separator);

/// osin FirstUri.
std::string first_uri(std::string_view base_list, std::string_view separator);

// ---- records kept in Redis (Go's encoding of osin's structs) ---------------------------------

/// An authorization code or token grant as osin stores it. `user_data` is null or a string
/// (session JSON: `key_rules`, or the password grant's user session).
struct Grant {
    Client client;
    std::string code;          // AuthorizeData.Code
    std::string access_token;  // AccessData.AccessToken
    std::string refresh_token; // AccessData.RefreshToken
    std::int64_t expires_in = 0;
    std::string scope;
    std::string redirect_uri;
    std::string state;
    std::int64_t created_at = 0; // unix seconds
    nlohmann::json user_data;    // null or string
};

/// osin AuthorizeData JSON (`oauth-authorize.<code>`).
std::string authorize_record(const Grant& grant);
/// osin AccessData JSON (`oauth-access.<token>`, `oauth-refresh.<refresh token>`); the
/// previous grant is not nested.
std::string access_record(const Grant& grant);
/// Reads either record; nullopt when it is not a JSON object with a client.
std::optional<Grant> parse_grant(std::string_view text);

// ---- the session of a new token ----------------------------------------------------------------

/// Tyk's generateSessionFromPolicy: the policy's limits, access rights, tags, `is_inactive`,
/// `apply_policies` = [id] and `expires` from `key_expires_in`.
nlohmann::json session_from_policy(const config::Policy& policy, std::int64_t now);

/// The session a token is saved with (Tyk SaveAccess): `user_data` (a session JSON string)
/// when it parses to an object, else the client's policy; `oauth_client_id`, `expires` =
/// now + expires_in, and the client's `meta_data` keys where the session has none. Nullopt when
/// neither rules nor policy exist ("Couldn't use policy or key rules to create token").
std::optional<nlohmann::json> token_session(const nlohmann::json& user_data,
                                            const config::Policy* policy,
                                            const Client& client,
                                            std::int64_t expires_in,
                                            std::int64_t now);

/// RFC 3339 text of unix seconds in UTC (Go's time.Time JSON form at second precision).
std::string rfc3339(std::int64_t unix_seconds);

/// Standard base64 of a CSPRNG UUIDv4 in its dashed text form: Tyk's client secrets and
/// refresh tokens.
std::string new_uuid_base64();

/// A new authorization code: 16 CSPRNG bytes, unpadded base64url (osin's default generator).
std::string new_authorize_code();

} // namespace portcullis::oauth
