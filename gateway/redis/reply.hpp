#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct redisReply;

namespace portcullis::redis {

/// An owning copy of a hiredis reply, safe to keep after the hiredis callback returns.
struct Reply {
    enum class Type { nil, string, status, integer, array, error };

    Type type = Type::nil;
    std::string str;          // string, status and error replies
    std::int64_t integer = 0; // integer replies
    std::vector<Reply> elements;

    bool is_nil() const noexcept { return type == Type::nil; }
    bool is_error() const noexcept { return type == Type::error; }
    bool is_string() const noexcept { return type == Type::string; }

    static Reply from(const redisReply* r);
};

} // namespace portcullis::redis
