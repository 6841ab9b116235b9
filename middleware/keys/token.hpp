#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace portcullis::keys {

/// Tyk's GenerateToken (gateway generateToken + internal/crypto GenerateToken):
/// * an id starting with `org_id` loses that prefix first (strings.TrimPrefix; no-op for an
///   empty org); an id that is then empty is replaced by new_key_id();
/// * empty `hash_algorithm` -> legacy token `org_id + key_id`;
/// * otherwise standard padded base64 of the literal text
///   `{"org":"<org>","id":"<id>","h":"<algo>"}`, with no JSON escaping; an algorithm Tyk does not
///   know (names are case-sensitive) is written as "murmur64".
std::string
generate_token(std::string_view org_id, std::string_view key_id, std::string_view hash_algorithm);

/// A new key id as Tyk makes it (uuid.NewHex): a random UUIDv4 (version and variant bits set)
/// as 32 lowercase hex chars without dashes, from OpenSSL's CSPRNG.
std::string new_key_id();

/// What a token says about itself.
struct TokenInfo {
    std::string org_id;         ///< Tyk's TokenOrg; "" when the token names none.
    std::string key_id;         ///< "id" of a custom token; the rest after the org otherwise.
    std::string hash_algorithm; ///< Tyk's TokenHashAlgo: the raw "h" string, "" for legacy.
    bool custom_form = false;   ///< true for the base64-JSON form.
};

/// Parses a token the way Tyk's TokenOrg / TokenID / TokenHashAlgo read it:
/// * custom form: starts with "ey" and decodes (standard base64, padding required, as Go's
///   StdEncoding) to a JSON object; org/id/h are its string fields ("" when missing or not
///   strings);
/// * otherwise legacy: the org is the first 24 chars when the token is longer than 24 chars and
///   those 24 are hex (a Mongo ObjectId), and the key id is the rest; else no org and the key id
///   is the whole token.
TokenInfo parse_token(std::string_view token);

/// The ordered token strings Tyk's SessionDetail (not hashed) looks up for a presented `key` on
/// an API owned by `api_org`; each is then turned into a storage key with storage_key():
/// * the key's org (parse_token) equals `api_org` -> just the key (plain GET);
/// * else (one MGET, first hit wins): generate_token(api_org, key, hash_key_function) unless
///   `disable_key_actions_by_username`, the raw key, then generate_token(api_org, key, fallback)
///   per `hash_key_function_fallback` entry, also skipped when
///   `disable_key_actions_by_username` (Tyk master).
/// Identical candidates are kept once, first position wins. A candidate whose id would be empty
/// after removing the org prefix (Tyk would generate a random one that cannot match) is left out.
std::vector<std::string> lookup_candidates(std::string_view key,
                                           std::string_view api_org,
                                           std::string_view hash_key_function,
                                           const std::vector<std::string>& fallbacks,
                                           bool disable_key_actions_by_username);

/// Redis key of a session: "apikey-" + (hash_keys ? hash_key(token) : token).
std::string storage_key(std::string_view token, bool hash_keys);

} // namespace portcullis::keys
