#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/redis/redis_client.hpp"
#include "middleware/limits/limits.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

namespace portcullis::limits {

/// Everything one request is checked against, in Tyk's order: the key's rate limit, its quota,
/// then the API's own rate limit. The first check that blocks ends the run (the later ones
/// neither count nor block).
struct LimitRequest {
    Mode mode = Mode::window;
    std::int64_t now_ns = 0; // the gateway's clock (unix nanoseconds)
    std::optional<RateCheck> session_rate;
    std::optional<QuotaCheck> quota;
    std::optional<RateCheck> api_rate;

    bool empty() const { return !session_rate && !quota && !api_rate; }
};

struct RateResult {
    bool blocked = false;
    RateLimitHeaders headers; // limit = rate; remaining (0 for sentinel/fixed); reset unix s
};

struct QuotaResult {
    bool blocked = false;
    std::int64_t count = 0;       // the counter after this request
    std::int64_t expires_ms = -1; // when it expires (unix ms by Redis' clock); < 0: never
};

enum class Verdict { pass, rate_limited, quota_exceeded, api_rate_limited };

struct LimitResult {
    Verdict verdict = Verdict::pass;
    std::optional<RateResult> session_rate; // set when that check ran
    std::optional<QuotaResult> quota;
    std::optional<RateResult> api_rate;
};

/// Runs every check of `request` in one Redis round trip (one Lua script by EVALSHA, sent in
/// full only when Redis answers NOSCRIPT). Counters, per mode:
/// - window: hash `<key>.window` {s: window start ms, c: count}, PEXPIRE per;
/// - rolling: Tyk's sliding log, sorted set `<key>` of request times (ns), blocked when the
///   count before this request is >= rate; blocked requests are logged too, as in Tyk;
/// - sentinel: the same log; blocked while `<key>.BLOCKED` exists, set once the log is full;
/// - fixed_window: `<key>/<window start ns>` INCR with the window's remaining TTL;
/// - quota: Tyk's `quota-...` counter, reset to 0 with TTL renewal_rate when it has no TTL.
/// An error (Redis down, timeout, script error) leaves the decision to the caller.
awaitable<std::pair<error_code, LimitResult>> run_limits(std::shared_ptr<redis::RedisClient> redis,
                                                         const LimitRequest& request);

} // namespace portcullis::limits
