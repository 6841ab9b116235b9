#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/redis/redis_client.hpp"
#include "middleware/core/session.hpp"
#include "middleware/core/session_patch.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portcullis::session {

/// A session read from Redis together with where it came from and its exact stored text, the
/// base of a later compare-and-set.
struct StoredSession {
    std::string storage_key; // "apikey-..."
    std::string raw;         // the value as stored
    Session session;
    /// Written whole at the end of the request, changed or not: a session a custom auth plugin
    /// provided (Tyk saves it on every request, overwriting what is stored).
    bool replace = false;
};

/// How a save ended.
enum class SaveResult {
    saved,    // written (possibly after re-applying the change to a newer value)
    gone,     // the key was deleted meanwhile; nothing written (a delete is never undone)
    conflict, // still changing under us after every retry; nothing written
};

/// Sessions in Redis in Tyk's layout (`apikey-<token or hash>` -> session JSON). One per
/// worker, used on the worker's thread. Every load reads Redis; parsing is skipped when the
/// stored text is the one parsed last time for that key.
///
/// Saving never overwrites a concurrent change: a save carries only what changed (a
/// SessionPatch) and is written with a compare-and-set script keyed on the SHA-1 of the value it
/// was computed from. When the stored value changed meanwhile, the script returns the new value,
/// the patch is applied to it and the write retried.
class SessionStore {
  public:
    /// Computes the TTL (seconds, <= 0 = none) for the session about to be written.
    using TtlFn = std::function<std::int64_t(const Session&)>;

    explicit SessionStore(std::shared_ptr<redis::RedisClient> redis);

    redis::RedisClient& redis() noexcept { return *redis_; }
    std::shared_ptr<redis::RedisClient> redis_ptr() const { return redis_; }

    /// The first of `storage_keys` that exists (one GET, or one MGET for several). An error
    /// when Redis fails; nullopt when none exists or the stored value is not a JSON object.
    awaitable<std::pair<error_code, std::optional<StoredSession>>>
    load(std::vector<std::string> storage_keys);

    /// Applies `patch` to the stored session at `storage_key` with compare-and-set; `base` is
    /// the stored text the patch was computed against (empty: read it first).
    awaitable<std::pair<error_code, SaveResult>>
    save_patch(std::string storage_key, std::string base, SessionPatch patch, TtlFn ttl);

    /// Writes a whole session (Gateway API create), with `ttl` seconds (<= 0: none).
    awaitable<error_code> put(std::string storage_key, std::string value, std::int64_t ttl);

    /// Deletes keys; returns how many existed.
    awaitable<std::pair<error_code, std::int64_t>> remove(std::vector<std::string> keys);

    /// Drops the parse kept for `storage_key` (a cluster notification said it changed).
    void forget(const std::string& storage_key) { parsed_.erase(storage_key); }

    static constexpr int kMaxSaveAttempts = 64;
    /// Parsed sessions kept per worker; the cache is emptied when it reaches this size.
    static constexpr std::size_t kParsedCacheEntries = 4096;

  private:
    /// A session as last read: its stored text and the parse of it. A read whose text is the
    /// same reuses the parse (no staleness: every request still reads Redis, and a changed
    /// value is parsed again).
    struct Parsed {
        std::string raw;
        Session session;
    };

    /// The parse of `raw` read at `storage_key`, from the cache or parsed now; nullopt when it
    /// is not a session.
    std::optional<Session>
    parse_cached(const std::string& storage_key, const std::string& raw, std::string& error);

    std::shared_ptr<redis::RedisClient> redis_;
    std::unordered_map<std::string, Parsed> parsed_;
};

} // namespace portcullis::session
