#include "middleware/core/session_ttl.hpp"

#include <algorithm>
#include <limits>

namespace portcullis {

namespace {

// With respects_key_expiration, a positive lifetime stretches to the time left until `expires`
// when that is longer; a key that never expires (expires <= 0) keeps no TTL at all.
std::int64_t stretch_to_expiry(bool respects_expiration,
                               std::int64_t expires,
                               std::int64_t lifetime,
                               std::int64_t now) {
    if (!respects_expiration || lifetime <= 0) {
        return lifetime;
    }
    if (expires <= 0) {
        return expires;
    }
    std::int64_t remaining = 0;
    if (__builtin_sub_overflow(expires, now, &remaining)) {
        remaining = std::numeric_limits<std::int64_t>::max();
    }
    return remaining > lifetime ? remaining : lifetime;
}

std::int64_t api_lifetime(const Session& session,
                          const ApiLifetime& api,
                          bool force_global,
                          std::int64_t global_lifetime,
                          std::int64_t now) {
    if (force_global) {
        return global_lifetime;
    }
    if (session.session_lifetime() > 0) {
        return stretch_to_expiry(api.respects_key_expiration, session.expires(),
                                 session.session_lifetime(), now);
    }
    if (api.session_lifetime > 0) {
        return stretch_to_expiry(api.respects_key_expiration, session.expires(),
                                 api.session_lifetime, now);
    }
    return 0;
}

} // namespace

std::int64_t session_ttl_seconds(const Session& session,
                                 const std::vector<ApiLifetime>& apis,
                                 bool force_global,
                                 std::int64_t global_lifetime,
                                 std::int64_t now) {
    const bool master_key = session.access_rights().empty();
    std::int64_t ttl = 0;
    for (const auto& api : apis) {
        if (!master_key && !session.has_access_to(api.api_id)) {
            continue;
        }
        ttl = std::max(ttl, api_lifetime(session, api, force_global, global_lifetime, now));
    }
    return ttl;
}

} // namespace portcullis
