#pragma once

#include "middleware/core/http.hpp"

#include <string>
#include <string_view>

namespace portcullis {

/// Tyk's JSON error body (`templates/error.json`): `{\n    "error": "<message>"\n}` with the
/// message JSON-escaped.
std::string tyk_error_body(std::string_view message);

/// The one way a gateway-made error reply is built: Tyk's body, `Content-Type:
/// application/json`, `X-Generator: tyk.io` unless `hide_generator_header`, Content-Length set.
StringResponse make_error_response(http::status status,
                                   std::string_view message,
                                   bool keep_alive,
                                   bool hide_generator_header = false);

/// A JSON reply (Gateway API, health check, OAuth): `body` is sent as given, ending with one
/// newline as Tyk's encoder writes it (added unless `body` already ends with one).
StringResponse make_json_response(http::status status, std::string body, bool keep_alive);

} // namespace portcullis
