#pragma once

#include "middleware/core/session.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace portcullis {

/// What the TTL rule needs to know about one loaded API.
struct ApiLifetime {
    std::string api_id;
    /// The API definition's `session_lifetime` (seconds; <= 0 = none).
    std::int64_t session_lifetime = 0;
    /// The API definition's `session_lifetime_respects_key_expiration`, OR-ed with tyk.conf's
    /// `session_lifetime_respects_key_expiration` (Tyk
    /// `APISpec.GetSessionLifetimeRespectsKeyExpiration`: the global flag, when on, wins over the
    /// API's).
    bool respects_key_expiration = false;
};

/// The Redis TTL, in seconds, to write a session with (reference section 2). 0 or negative means
/// SET without a TTL, which also clears a TTL the key had (Tyk passes the value to go-redis `Set`
/// as seconds; only a positive duration sets one).
///
/// Tyk rule (`user/session.go` `SessionState.Lifetime`, `gateway/api.go` `ApplyLifetime`), per API:
///  * `force_global` (tyk.conf `force_global_session_lifetime`) -> `global_lifetime`
///    (`global_session_lifetime`), whatever its sign, and no key-expiration stretch;
///  * else the session's `session_lifetime` when > 0, else the API's `session_lifetime` when > 0,
///    else 0 (no TTL);
///  * with `respects_key_expiration` and a chosen lifetime > 0: when the key's `expires` <= 0
///    (never expires) the result is `expires` itself, i.e. no TTL; when `expires` is later than
///    now + lifetime the result is `expires - now`; otherwise the lifetime.
/// The result is the maximum of that over the APIs, starting from 0 (so a negative per-API value
/// never wins, and no API gives 0).
///
/// Which APIs count: when the session has `access_rights`, only the entries of `apis` whose id is
/// in them (Tyk `GetApiSpecsFromAccessRights`; unknown API ids are skipped, so a key whose APIs
/// are all unloaded gets no TTL, even with `force_global`). When `access_rights` is empty (a
/// master key) every entry of `apis` counts. Callers pass:
///  * Gateway API key writes: every loaded API. (Tyk saves a master key once per loaded API, each
///    time with that one API's lifetime, so the surviving TTL is that of whichever API Go's random
///    map order visited last; Portcullis takes the maximum, deterministically.)
///  * request-path save-back: only the current API. (Tyk `UpdateRequestSession` uses the current
///    API's lifetime alone, not the maximum over `access_rights`.)
///
/// `expires` alone never sets a TTL. `now` is Unix seconds (injected clock).
std::int64_t session_ttl_seconds(const Session& session,
                                 const std::vector<ApiLifetime>& apis,
                                 bool force_global,
                                 std::int64_t global_lifetime,
                                 std::int64_t now);

} // namespace portcullis
