#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portcullis::keys {

/// Standard base64 (RFC 4648 section 4 alphabet) with `=` padding, as Go's
/// base64.StdEncoding.EncodeToString writes it (Tyk's custom-key tokens use this).
std::string base64_encode(std::string_view data);

/// Decodes standard base64; the `=` padding may be present or missing. Returns nullopt on a
/// character outside the alphabet or an impossible length. Non-zero trailing bits are accepted.
std::optional<std::string> base64_decode(std::string_view text);

/// Decodes URL-safe base64 (`-` and `_`), padding optional, as Go's RawURLEncoding plus padded
/// input (JWT segments).
std::optional<std::string> base64url_decode(std::string_view text);

/// Go's base64.StdEncoding.DecodeString: padding is required (length a multiple of 4 once CR
/// and LF, which are ignored, are removed); `=` only at the end. Tyk decodes tokens this way, so
/// an unpadded custom-key token is not recognised as one.
std::optional<std::string> base64_decode_strict(std::string_view text);

} // namespace portcullis::keys
