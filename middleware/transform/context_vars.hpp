#pragma once

#include "middleware/core/http.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace portcullis::transform {

/// What the context variables are computed from: the incoming request before any change.
struct RequestFacts {
    std::string_view method;
    std::string_view path;  // escaped path including the listen path
    std::string_view query; // without '?'
    const Fields* headers = nullptr;
    std::string_view body; // only when buffered and form-urlencoded; else empty
    std::string_view peer_ip;
};

/// Tyk's context variables (`enable_context_vars`, reference section 6) as a JSON object:
/// `request_data` (query + urlencoded form, name -> array of values), `request_data_<k>` (first
/// value, '-' -> '_'), `headers` (canonical name -> array), `headers_<Canonical_Name>` (first
/// value, '-' -> '_'), `cookies_<name>` ('-' -> '_'), `path_parts` (split on '/', first element
/// ""), `path`, `remote_addr` (X-Real-IP, else the X-Forwarded-For entry at `xff_depth` counted
/// from the right, 0 = leftmost, else the peer), `request_id` (UUIDv4 with dashes).
nlohmann::json build_context_vars(const RequestFacts& request, int xff_depth);

/// Whether Tyk's context variables read the body (`request_data` from a form): POST, PUT or PATCH
/// with an application/x-www-form-urlencoded Content-Type (net/http's ParseForm).
bool reads_form_body(std::string_view method, const Fields* headers);

/// Go's url.ParseQuery, appending to `form` (name -> array of values); pairs with a malformed
/// escape or a ';' are skipped.
void parse_query_into(nlohmann::json& form, std::string_view query);

/// Go's url.Values.Encode of `values` (name -> array of strings): sorted by name, each value
/// escaped, joined with '&'.
std::string encode_query(const nlohmann::json& values);

/// Go's url.QueryUnescape ('+' is a space); nullopt on a malformed escape.
std::optional<std::string> query_unescape(std::string_view text);

/// Go's mime.ParseMediaType check for application/x-www-form-urlencoded.
bool is_form_urlencoded(std::string_view content_type);

/// Go's textproto.CanonicalMIMEHeaderKey ("x-api-key" -> "X-Api-Key").
std::string canonical_header_key(std::string_view name);

/// A random UUIDv4 with dashes (CSPRNG).
std::string new_request_id();

} // namespace portcullis::transform
