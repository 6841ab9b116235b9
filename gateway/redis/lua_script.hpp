#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/redis/redis_client.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace portcullis::redis {

/// A Lua script run with EVALSHA (its SHA-1 computed once), falling back to EVAL when the server
/// answers NOSCRIPT (after a restart or SCRIPT FLUSH), which also loads it again.
class LuaScript {
  public:
    explicit LuaScript(std::string source);
    const std::string& sha1() const noexcept { return sha1_; }
    const std::string& source() const noexcept { return source_; }

  private:
    std::string source_;
    std::string sha1_;
};

/// Runs `script` with `keys` and `args` on `client`. `script` must outlive the call.
awaitable<std::pair<error_code, Reply>> eval(std::shared_ptr<RedisClient> client,
                                             const LuaScript* script,
                                             std::vector<std::string> keys,
                                             std::vector<std::string> args);

/// Lowercase hex SHA-1 of `data` (what Redis' redis.sha1hex returns).
std::string sha1_hex(std::string_view data);

} // namespace portcullis::redis
