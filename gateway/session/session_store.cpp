#include "gateway/session/session_store.hpp"

#include "gateway/redis/lua_script.hpp"

#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace portcullis::session {

namespace {

// KEYS[1] session key; ARGV[1] SHA-1 of the value the new one was computed from; ARGV[2] the
// new value; ARGV[3] TTL seconds (<= 0: none). Returns 1 written, 0 key gone, or {current}.
const redis::LuaScript kCompareAndSet{R"lua(
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if redis.sha1hex(cur) ~= ARGV[1] then return {cur} end
local ttl = tonumber(ARGV[3])
if ttl and ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
)lua"};

/// A short randomised pause before retrying a compare-and-set that lost.
awaitable<void> contention_pause(int attempt) {
    thread_local std::minstd_rand jitter{std::random_device{}()};
    Timer pause{co_await asio::this_coro::executor};
    pause.expires_after(std::chrono::microseconds(
        100 + jitter() % (200 * static_cast<unsigned>(std::min(attempt, 20)))));
    co_await pause.async_wait(use_nothrow);
}

} // namespace

SessionStore::SessionStore(std::shared_ptr<redis::RedisClient> redis) : redis_(std::move(redis)) {}

awaitable<std::pair<error_code, std::optional<StoredSession>>>
SessionStore::load(std::vector<std::string> storage_keys) {
    std::vector<std::string> args;
    args.reserve(storage_keys.size() + 1);
    args.emplace_back(storage_keys.size() == 1 ? "GET" : "MGET");
    args.insert(args.end(), storage_keys.begin(), storage_keys.end());
    auto [ec, reply] = co_await redis_->command(std::move(args));
    if (ec) {
        co_return std::pair{ec, std::optional<StoredSession>{}};
    }
    std::vector<redis::Reply*> values; // the reply is ours: a found value is moved out
    if (reply.type == redis::Reply::Type::array) {
        for (auto& e : reply.elements) {
            values.push_back(&e);
        }
    } else {
        values.push_back(&reply);
    }
    for (std::size_t i = 0; i < values.size() && i < storage_keys.size(); ++i) {
        if (!values[i]->is_string()) {
            continue;
        }
        std::string error;
        auto parsed = parse_cached(storage_keys[i], values[i]->str, error);
        if (!parsed) {
            spdlog::warn("session at {}...: stored value is not a session: {}",
                         storage_keys[i].substr(0, 10), error);
            continue;
        }
        co_return std::pair{error_code{}, std::optional<StoredSession>{StoredSession{
                                              std::move(storage_keys[i]), std::move(values[i]->str),
                                              std::move(*parsed)}}};
    }
    co_return std::pair{error_code{}, std::optional<StoredSession>{}};
}

std::optional<Session> SessionStore::parse_cached(const std::string& storage_key,
                                                  const std::string& raw,
                                                  std::string& error) {
    if (const auto it = parsed_.find(storage_key); it != parsed_.end() && it->second.raw == raw) {
        return it->second.session;
    }
    auto parsed = Session::parse(raw, error);
    if (!parsed) {
        parsed_.erase(storage_key);
        return std::nullopt;
    }
    if (parsed_.size() >= kParsedCacheEntries) {
        parsed_.clear();
    }
    parsed_.insert_or_assign(storage_key, Parsed{raw, *parsed});
    return parsed;
}

awaitable<std::pair<error_code, SaveResult>>
SessionStore::save_patch(std::string storage_key, std::string base, SessionPatch patch, TtlFn ttl) {
    if (base.empty()) {
        std::vector<std::string> get;
        get.emplace_back("GET");
        get.push_back(storage_key);
        auto [ec, reply] = co_await redis_->command(std::move(get));
        if (ec) {
            co_return std::pair{ec, SaveResult::conflict};
        }
        if (!reply.is_string()) {
            co_return std::pair{error_code{}, SaveResult::gone};
        }
        base = std::move(reply.str);
    }
    for (int attempt = 0; attempt < kMaxSaveAttempts; ++attempt) {
        std::string error;
        auto current = Session::parse(base, error);
        if (!current) {
            spdlog::warn("session save skipped: stored value is not a session: {}", error);
            co_return std::pair{error_code{}, SaveResult::conflict};
        }
        nlohmann::json doc = current->document();
        apply_patch(doc, patch);
        if (doc == current->document()) {
            // Nothing left to change (say, a newer quota count was saved meanwhile): no write.
            co_return std::pair{error_code{}, SaveResult::saved};
        }
        auto updated = Session::from_json(doc, error);
        const std::string value =
            doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        const std::int64_t seconds = updated ? ttl(*updated) : 0;

        std::vector<std::string> keys;
        keys.push_back(storage_key);
        std::vector<std::string> args;
        args.push_back(redis::sha1_hex(base));
        args.push_back(value);
        args.push_back(std::to_string(seconds));
        auto [ec, reply] =
            co_await redis::eval(redis_, &kCompareAndSet, std::move(keys), std::move(args));
        if (ec) {
            co_return std::pair{ec, SaveResult::conflict};
        }
        if (reply.type == redis::Reply::Type::integer) {
            co_return std::pair{error_code{},
                                reply.integer == 1 ? SaveResult::saved : SaveResult::gone};
        }
        if (reply.type == redis::Reply::Type::array && !reply.elements.empty() &&
            reply.elements[0].is_string()) {
            base = std::move(reply.elements[0].str); // changed meanwhile: re-apply on it
            if (attempt >= 2) {
                // Under heavy contention on one key, back off a little (with jitter) so that a
                // writer cannot be starved by a stream of newer ones.
                co_await contention_pause(attempt);
            }
            continue;
        }
        co_return std::pair{error_code{}, SaveResult::conflict};
    }
    co_return std::pair{error_code{}, SaveResult::conflict};
}

awaitable<error_code>
SessionStore::put(std::string storage_key, std::string value, std::int64_t ttl) {
    std::vector<std::string> args;
    args.emplace_back("SET");
    args.push_back(std::move(storage_key));
    args.push_back(std::move(value));
    if (ttl > 0) {
        args.emplace_back("EX");
        args.push_back(std::to_string(ttl));
    }
    auto [ec, reply] = co_await redis_->command(std::move(args));
    co_return ec;
}

awaitable<std::pair<error_code, std::int64_t>> SessionStore::remove(std::vector<std::string> keys) {
    std::vector<std::string> args;
    args.emplace_back("DEL");
    args.insert(args.end(), keys.begin(), keys.end());
    auto [ec, reply] = co_await redis_->command(std::move(args));
    co_return std::pair{ec, ec ? 0 : reply.integer};
}

} // namespace portcullis::session
