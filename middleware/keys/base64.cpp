#include "middleware/keys/base64.hpp"

#include <array>
#include <cstdint>

namespace portcullis::keys {

namespace {

constexpr std::string_view kStdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using DecodeTable = std::array<std::int8_t, 256>;

constexpr DecodeTable make_table(std::string_view alphabet) {
    DecodeTable table{};
    for (auto& v : table) {
        v = -1;
    }
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    }
    return table;
}

constexpr DecodeTable kStdTable = make_table(kStdAlphabet);
constexpr DecodeTable kUrlTable = make_table(kUrlAlphabet);

// Decodes `body` (no padding) with `table`. A body whose length is 1 mod 4 cannot come from any
// byte string and is rejected.
std::optional<std::string> decode_unpadded(std::string_view body, const DecodeTable& table) {
    if (body.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(body.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : body) {
        const std::int8_t v = table[static_cast<unsigned char>(c)];
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFFU));
        }
    }
    return out;
}

// Padding optional: up to two trailing '=' are dropped before decoding.
std::optional<std::string> decode_lenient(std::string_view text, const DecodeTable& table) {
    std::size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') {
        ++pad;
    }
    const std::string_view body = text.substr(0, text.size() - pad);
    if (pad > 0 && (body.size() + pad) % 4 != 0) {
        return std::nullopt;
    }
    return decode_unpadded(body, table);
}

} // namespace

std::string base64_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t n =
            (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
            (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8) |
            static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 2]));
        out.push_back(kStdAlphabet[(n >> 18) & 0x3F]);
        out.push_back(kStdAlphabet[(n >> 12) & 0x3F]);
        out.push_back(kStdAlphabet[(n >> 6) & 0x3F]);
        out.push_back(kStdAlphabet[n & 0x3F]);
    }
    const std::size_t rest = data.size() - i;
    if (rest == 1) {
        const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i]))
                                << 16;
        out.push_back(kStdAlphabet[(n >> 18) & 0x3F]);
        out.push_back(kStdAlphabet[(n >> 12) & 0x3F]);
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t n =
            (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
            (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8);
        out.push_back(kStdAlphabet[(n >> 18) & 0x3F]);
        out.push_back(kStdAlphabet[(n >> 12) & 0x3F]);
        out.push_back(kStdAlphabet[(n >> 6) & 0x3F]);
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    return decode_lenient(text, kStdTable);
}

std::optional<std::string> base64url_decode(std::string_view text) {
    return decode_lenient(text, kUrlTable);
}

std::optional<std::string> base64_decode_strict(std::string_view text) {
    std::string clean;
    clean.reserve(text.size());
    for (const char c : text) {
        if (c != '\r' && c != '\n') {
            clean.push_back(c);
        }
    }
    if (clean.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t pad = 0;
    while (pad < clean.size() && clean[clean.size() - 1 - pad] == '=') {
        ++pad;
    }
    if (pad > 2) {
        return std::nullopt;
    }
    // Any '=' left in the body is outside the alphabet and fails in decode_unpadded.
    return decode_unpadded(std::string_view(clean).substr(0, clean.size() - pad), kStdTable);
}

} // namespace portcullis::keys
