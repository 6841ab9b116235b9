#include "gateway/limits/limiter.hpp"

#include "gateway/redis/lua_script.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace portcullis::limits {

namespace {

// ARGV[1] now (unix ns), ARGV[2] now (unix ms), ARGV[3] number of checks; then four arguments
// per check: kind, a, b, c. KEYS[i] is the counter of check i. Returns one {blocked, count,
// extra} per check that ran; the run stops after the first blocked check.
//   window:  a capacity, b per (ms)                 -> extra = window end (ms)
//   rolling / sentinel: a rate, b per (s), c window start (ns) -> extra = 0
//   fixed:   a capacity, b TTL (ms)                 -> extra = TTL (ms)
//   quota:   a max, b renewal rate (s)              -> extra = expiry (unix ms, Redis' clock), -1
//            when the counter never expires
const redis::LuaScript kLimits{R"lua(
local now_ns = ARGV[1]
local now_ms = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local out = {}
for i = 1, n do
  local key = KEYS[i]
  local at = 3 + (i - 1) * 4
  local kind = ARGV[at + 1]
  local a = tonumber(ARGV[at + 2])
  local b = tonumber(ARGV[at + 3])
  local blocked, count, extra = 0, 0, 0
  if kind == 'window' then
    local s = redis.call('HGET', key, 's')
    if (not s) or now_ms >= tonumber(s) + b then
      redis.call('HSET', key, 's', ARGV[2], 'c', 1)
      if b > 0 then redis.call('PEXPIRE', key, b) else redis.call('DEL', key) end
      s = now_ms
      count = 1
    else
      s = tonumber(s)
      count = redis.call('HINCRBY', key, 'c', 1)
    end
    if count > a then blocked = 1 end
    extra = s + b
  elseif kind == 'rolling' or kind == 'sentinel' then
    if kind == 'sentinel' and redis.call('EXISTS', key .. '.BLOCKED') == 1 then blocked = 1 end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[at + 4])
    count = redis.call('ZCARD', key)
    local member = now_ns
    local k = 0
    while redis.call('ZADD', key, 'NX', now_ns, member) == 0 do
      k = k + 1
      member = now_ns .. '-' .. k
    end
    redis.call('EXPIRE', key, b)
    if kind == 'rolling' then
      if count > a - 1 then blocked = 1 end
    elseif count > a - 2 and b > 0 then
      redis.call('SET', key .. '.BLOCKED', '1', 'EX', b, 'NX')
    end
  elseif kind == 'fixed' then
    count = redis.call('INCR', key)
    if b > 0 then redis.call('PEXPIRE', key, b) end
    if count > a then blocked = 1 end
    extra = b
  elseif kind == 'quota' then
    local ttl = redis.call('PTTL', key)
    if b > 0 and ttl < 0 then redis.call('SET', key, '0', 'EX', b) end
    count = redis.call('INCR', key)
    local pttl = redis.call('PTTL', key)
    if pttl >= 0 then
      local t = redis.call('TIME')
      extra = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + pttl
    else
      extra = -1
    end
    if count - 1 >= a then blocked = 1 end
  else
    return redis.error_reply('unknown limit kind ' .. tostring(kind))
  end
  out[i] = {blocked, count, extra}
  if blocked == 1 then break end
end
return out
)lua"};

std::int64_t int_rate(double v) {
    if (!(v > 0)) {
        return 0;
    }
    return v >= 9.0e18 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(v);
}

/// How one rate check is sent for `mode`; its counter key is pushed to `keys`.
void add_rate(Mode mode,
              const RateCheck& check,
              std::int64_t now_ns,
              std::vector<std::string>& keys,
              std::vector<std::string>& args) {
    switch (mode) {
    case Mode::window: {
        keys.push_back(check.key + ".window");
        args.emplace_back("window");
        args.push_back(std::to_string(window_capacity(check.rate)));
        args.push_back(std::to_string(static_cast<std::int64_t>(std::llround(check.per * 1000))));
        args.emplace_back("0");
        return;
    }
    case Mode::rolling:
    case Mode::sentinel: {
        // Tyk truncates rate and per to integers for the sliding log.
        const std::int64_t per = int_rate(check.per);
        keys.push_back(check.key);
        args.emplace_back(mode == Mode::rolling ? "rolling" : "sentinel");
        args.push_back(std::to_string(int_rate(check.rate)));
        args.push_back(std::to_string(per));
        args.push_back(std::to_string(now_ns - per * 1000000000LL));
        return;
    }
    case Mode::fixed_window: {
        const auto per_ns = static_cast<std::int64_t>(std::llround(check.per * 1e9));
        const std::int64_t start = fixed_window_start_ns(now_ns, per_ns);
        const std::int64_t ttl_ms = (per_ns - (now_ns - start)) / 1000000;
        keys.push_back(check.key + "/" + std::to_string(start));
        args.emplace_back("fixed");
        args.push_back(std::to_string(int_rate(check.rate)));
        args.push_back(std::to_string(std::max<std::int64_t>(ttl_ms, 1)));
        args.emplace_back("0");
        return;
    }
    }
}

RateResult
rate_result(Mode mode, const RateCheck& check, const redis::Reply& entry, std::int64_t now_ms) {
    const std::int64_t blocked = entry.elements[0].integer;
    const std::int64_t count = entry.elements[1].integer;
    const std::int64_t extra = entry.elements[2].integer;
    RateResult out;
    out.blocked = blocked == 1;
    out.headers.limit = int_rate(check.rate);
    switch (mode) {
    case Mode::window:
        out.headers.limit = window_capacity(check.rate);
        out.headers.remaining = std::max<std::int64_t>(0, out.headers.limit - count);
        out.headers.reset = (extra + 999) / 1000;
        break;
    case Mode::rolling:
        out.headers.remaining = std::max<std::int64_t>(0, int_rate(check.rate) - count - 1);
        out.headers.reset = now_ms / 1000 + int_rate(check.per);
        break;
    case Mode::sentinel:
        out.headers.reset = now_ms / 1000 + int_rate(check.per);
        break;
    case Mode::fixed_window:
        out.headers.reset = (now_ms + extra + 999) / 1000;
        break;
    }
    return out;
}

/// The next per-check entry of the script's reply, or null when the run stopped earlier.
const redis::Reply* next_entry(const redis::Reply& reply, std::size_t& at) {
    return at < reply.elements.size() ? &reply.elements[at++] : nullptr;
}

bool well_formed(const redis::Reply& entry) {
    return entry.type == redis::Reply::Type::array && entry.elements.size() == 3 &&
           std::all_of(entry.elements.begin(), entry.elements.end(),
                       [](const redis::Reply& r) { return r.type == redis::Reply::Type::integer; });
}

} // namespace

awaitable<std::pair<error_code, LimitResult>> run_limits(std::shared_ptr<redis::RedisClient> redis,
                                                         const LimitRequest& request) {
    LimitResult result;
    std::vector<std::string> keys;
    std::vector<std::string> args;
    keys.reserve(3);
    args.reserve(3 + 12);
    const std::int64_t now_ms = request.now_ns / 1000000;
    args.push_back(std::to_string(request.now_ns));
    args.push_back(std::to_string(now_ms));
    args.emplace_back(); // the number of checks, filled in below
    if (request.session_rate) {
        add_rate(request.mode, *request.session_rate, request.now_ns, keys, args);
    }
    if (request.quota) {
        keys.push_back(request.quota->key);
        args.emplace_back("quota");
        args.push_back(std::to_string(request.quota->max));
        args.push_back(std::to_string(request.quota->renewal_rate));
        args.emplace_back("0");
    }
    if (request.api_rate) {
        add_rate(request.mode, *request.api_rate, request.now_ns, keys, args);
    }
    args[2] = std::to_string(keys.size());
    if (keys.empty()) {
        co_return std::pair{error_code{}, result};
    }

    auto [ec, reply] = co_await redis::eval(redis, &kLimits, std::move(keys), std::move(args));
    if (ec) {
        co_return std::pair{ec, result};
    }
    if (reply.type != redis::Reply::Type::array ||
        !std::all_of(reply.elements.begin(), reply.elements.end(), well_formed)) {
        co_return std::pair{make_error_code(redis::Errc::server_error), result};
    }
    std::size_t at = 0;
    if (request.session_rate) {
        if (const auto* entry = next_entry(reply, at)) {
            result.session_rate = rate_result(request.mode, *request.session_rate, *entry, now_ms);
            if (result.session_rate->blocked) {
                result.verdict = Verdict::rate_limited;
                co_return std::pair{error_code{}, result};
            }
        }
    }
    if (request.quota) {
        if (const auto* entry = next_entry(reply, at)) {
            result.quota = QuotaResult{entry->elements[0].integer == 1, entry->elements[1].integer,
                                       entry->elements[2].integer};
            if (result.quota->blocked) {
                result.verdict = Verdict::quota_exceeded;
                co_return std::pair{error_code{}, result};
            }
        }
    }
    if (request.api_rate) {
        if (const auto* entry = next_entry(reply, at)) {
            result.api_rate = rate_result(request.mode, *request.api_rate, *entry, now_ms);
            if (result.api_rate->blocked) {
                result.verdict = Verdict::api_rate_limited;
            }
        }
    }
    co_return std::pair{error_code{}, result};
}

} // namespace portcullis::limits
