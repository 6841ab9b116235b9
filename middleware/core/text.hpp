#pragma once

// Small character-level helpers shared by the request steps.
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portcullis {

/// Value of one hex digit, or -1.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

namespace detail {

/// RFC 9110 tchar, by byte (Go's isTokenTable): one load per character on hot paths.
inline constexpr std::array<bool, 256> kTokenChars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) {
        table[static_cast<std::size_t>(c)] = true;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        table[static_cast<std::size_t>(c)] = true;
        table[static_cast<std::size_t>(c - 'a' + 'A')] = true;
    }
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}();

} // namespace detail

/// RFC 9110 tchar (Go's isTokenTable).
constexpr bool is_token_char(char ch) noexcept {
    return detail::kTokenChars[static_cast<unsigned char>(ch)];
}

/// A non-empty RFC 9110 token (Go's httpguts.ValidHeaderFieldName).
constexpr bool is_token(std::string_view text) noexcept {
    if (text.empty()) {
        return false;
    }
    for (const char c : text) {
        if (!is_token_char(c)) {
            return false;
        }
    }
    return true;
}

/// `s` without leading and trailing spaces and tabs (HTTP's optional whitespace).
constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// A whole decimal int64 (optional leading '-'); false for anything else, `out` untouched.
inline bool parse_int64(std::string_view text, std::int64_t& out) noexcept {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        return false;
    }
    out = value;
    return true;
}

} // namespace portcullis
