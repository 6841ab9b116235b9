#pragma once

// Tyk's Redis layout for OAuth2 data (RedisOsinStorageInterface under the prefix
// "oauth-data.<api_id>."), shared by client management and the OAuth server.

#include <string>
#include <string_view>
#include <vector>

namespace portcullis::oauth_keys {

inline std::string prefix(std::string_view api_id) {
    return "oauth-data." + std::string(api_id) + ".";
}

/// The client record.
inline std::string client(std::string_view api_id, std::string_view client_id) {
    return prefix(api_id) + "oauth-clientid." + std::string(client_id);
}

/// The per-org list of client record keys.
inline std::string client_index(std::string_view api_id, std::string_view org_id) {
    return prefix(api_id) + "oauth-client-index." + std::string(org_id);
}

/// The set of client record texts.
inline std::string client_set(std::string_view api_id) {
    return prefix(api_id) + "oauth-clientset.oauth-clientid.";
}

/// The sorted set of a client's tokens (member: token or its hash, score: expiry).
inline std::string client_tokens(std::string_view api_id, std::string_view client_id) {
    return prefix(api_id) + "oauth-client-tokens." + std::string(client_id);
}

/// An authorization code's grant.
inline std::string authorize(std::string_view api_id, std::string_view code) {
    return prefix(api_id) + "oauth-authorize." + std::string(code);
}

/// An access token's grant (`token_ref`: the token, or its hash with hash_keys).
inline std::string access(std::string_view api_id, std::string_view token_ref) {
    return prefix(api_id) + "oauth-access." + std::string(token_ref);
}

/// A refresh token's grant.
inline std::string refresh(std::string_view api_id, std::string_view refresh_token) {
    return prefix(api_id) + "oauth-refresh." + std::string(refresh_token);
}

/// A Redis command from its parts (a plain function: coroutines build no braced lists).
template <class... Parts> std::vector<std::string> command(const Parts&... parts) {
    std::vector<std::string> out;
    out.reserve(sizeof...(parts));
    (out.emplace_back(parts), ...);
    return out;
}

} // namespace portcullis::oauth_keys
