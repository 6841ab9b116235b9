#include "gateway/redis/lua_script.hpp"

#include <openssl/sha.h>

namespace portcullis::redis {

std::string sha1_hex(std::string_view data) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * SHA_DIGEST_LENGTH);
    for (unsigned char b : digest) {
        out.push_back(kHex[b >> 4]);
        out.push_back(kHex[b & 0xf]);
    }
    return out;
}

LuaScript::LuaScript(std::string source) : source_(std::move(source)), sha1_(sha1_hex(source_)) {}

awaitable<std::pair<error_code, Reply>> eval(std::shared_ptr<RedisClient> client,
                                             const LuaScript* script,
                                             std::vector<std::string> keys,
                                             std::vector<std::string> args) {
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.emplace_back("EVALSHA");
    argv.push_back(script->sha1());
    argv.push_back(std::to_string(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto [ec, reply] = co_await client->command(argv);
    if (ec == Errc::server_error && reply.str.starts_with("NOSCRIPT")) {
        argv[0] = "EVAL";
        argv[1] = script->source();
        co_return co_await client->command(std::move(argv));
    }
    co_return std::pair{ec, std::move(reply)};
}

} // namespace portcullis::redis
