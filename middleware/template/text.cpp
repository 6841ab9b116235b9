#include "middleware/template/text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace portcullis::tmpl::detail {

namespace {

constexpr char kLowerHex[] = "0123456789abcdef";

bool in(char32_t r, char32_t lo, char32_t hi) {
    return r >= lo && r <= hi;
}

} // namespace

Decoded decode_rune(std::string_view s, std::size_t pos) {
    if (pos >= s.size()) {
        return {kRuneError, 0};
    }
    const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
    const std::size_t n = s.size() - pos;
    const unsigned char c0 = p[0];
    if (c0 < 0x80) {
        return {c0, 1};
    }
    auto cont = [&](std::size_t i) { return i < n && (p[i] & 0xC0) == 0x80; };
    if (c0 >= 0xC2 && c0 <= 0xDF) {
        if (!cont(1)) {
            return {kRuneError, 1};
        }
        return {static_cast<char32_t>(((c0 & 0x1F) << 6) | (p[1] & 0x3F)), 2};
    }
    if (c0 >= 0xE0 && c0 <= 0xEF) {
        if (n < 2) {
            return {kRuneError, 1};
        }
        const unsigned char c1 = p[1];
        const unsigned char lo = c0 == 0xE0 ? 0xA0 : 0x80;
        const unsigned char hi = c0 == 0xED ? 0x9F : 0xBF;
        if (c1 < lo || c1 > hi || !cont(2)) {
            return {kRuneError, 1};
        }
        return {static_cast<char32_t>(((c0 & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (p[2] & 0x3F)), 3};
    }
    if (c0 >= 0xF0 && c0 <= 0xF4) {
        if (n < 2) {
            return {kRuneError, 1};
        }
        const unsigned char c1 = p[1];
        const unsigned char lo = c0 == 0xF0 ? 0x90 : 0x80;
        const unsigned char hi = c0 == 0xF4 ? 0x8F : 0xBF;
        if (c1 < lo || c1 > hi || !cont(2) || !cont(3)) {
            return {kRuneError, 1};
        }
        return {static_cast<char32_t>(((c0 & 0x07) << 18) | ((c1 & 0x3F) << 12) |
                                      ((p[2] & 0x3F) << 6) | (p[3] & 0x3F)),
                4};
    }
    return {kRuneError, 1};
}

Decoded decode_last_rune(std::string_view s) {
    if (s.empty()) {
        return {kRuneError, 0};
    }
    std::size_t start = s.size() - 1;
    const std::size_t lim = s.size() >= 4 ? s.size() - 4 : 0;
    while (start > lim && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
        --start;
    }
    Decoded d = decode_rune(s, start);
    if (start + d.size != s.size()) {
        return {kRuneError, 1};
    }
    return d;
}

void append_rune(std::string& out, char32_t r) {
    if (r > kMaxRune || in(r, 0xD800, 0xDFFF)) {
        r = kRuneError;
    }
    if (r < 0x80) {
        out.push_back(static_cast<char>(r));
    } else if (r < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (r >> 6)));
        out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else if (r < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (r >> 12)));
        out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (r >> 18)));
        out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    }
}

std::size_t rune_count(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        i += c < 0x80 ? 1 : decode_rune(s, i).size;
        ++count;
    }
    return count;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        Decoded d = decode_rune(s, i);
        if (d.rune == kRuneError && d.size == 1) {
            return false;
        }
        i += d.size;
    }
    return true;
}

bool is_digit(char32_t r) {
    if (r < 0x80) {
        return r >= '0' && r <= '9';
    }
    return in(r, 0x660, 0x669) || in(r, 0x6F0, 0x6F9) || in(r, 0x966, 0x96F) ||
           in(r, 0x9E6, 0x9EF) || in(r, 0xE50, 0xE59) || in(r, 0xFF10, 0xFF19);
}

bool is_letter(char32_t r) {
    if (r < 0x80) {
        return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
    }
    if (r < 0x100) {
        return r == 0xAA || r == 0xB5 || r == 0xBA || (r >= 0xC0 && r != 0xD7 && r != 0xF7);
    }
    if (is_digit(r)) {
        return false;
    }
    // Blocks of marks, punctuation, symbols, spaces and private use; everything else is taken
    // as a letter (an approximation of unicode.IsLetter that is exact for European scripts).
    return !(in(r, 0x2C2, 0x2C5) || in(r, 0x2D2, 0x2DF) || in(r, 0x2E5, 0x36F) || r == 0x375 ||
             r == 0x37E || in(r, 0x384, 0x385) || r == 0x387 || r == 0x3F6 || in(r, 0x482, 0x489) ||
             in(r, 0x55A, 0x55F) || in(r, 0x589, 0x5CF) || in(r, 0x600, 0x61F) ||
             in(r, 0x64B, 0x66D) || in(r, 0x1680, 0x1680) || in(r, 0x1AB0, 0x1AFF) ||
             in(r, 0x1DC0, 0x1DFF) || in(r, 0x2000, 0x2070) || in(r, 0x2072, 0x207E) ||
             in(r, 0x2080, 0x208F) || in(r, 0x209D, 0x2101) || in(r, 0x2103, 0x2106) ||
             in(r, 0x2108, 0x2109) || in(r, 0x2114, 0x2114) || in(r, 0x2116, 0x2118) ||
             in(r, 0x211E, 0x2123) || in(r, 0x2140, 0x2144) || in(r, 0x214A, 0x214D) ||
             in(r, 0x2150, 0x2182) || in(r, 0x2185, 0x2BFF) || in(r, 0x2CE5, 0x2CEA) ||
             in(r, 0x2E00, 0x2E7F) || in(r, 0x3000, 0x3004) || in(r, 0x3007, 0x3030) ||
             in(r, 0x303B, 0x3040) || in(r, 0xD800, 0xF8FF) || in(r, 0xFD3E, 0xFD4F) ||
             in(r, 0xFE00, 0xFE6F) || in(r, 0xFEFF, 0xFF20) || in(r, 0xFF3B, 0xFF40) ||
             in(r, 0xFF5B, 0xFF65) || in(r, 0xFFE0, 0xFFFF) || in(r, 0x1F000, 0x1FAFF) ||
             r > 0xEFFFF);
}

bool is_space(char32_t r) {
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return in(r, 0x2000, 0x200A);
    }
}

bool is_print(char32_t r) {
    if (r < 0x80) {
        return r >= 0x20 && r < 0x7F;
    }
    if (r < 0x100) {
        return r > 0xA0 && r != 0xAD;
    }
    if (is_space(r)) {
        return false;
    }
    return !(in(r, 0x600, 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x180E ||
             in(r, 0x200B, 0x200F) || in(r, 0x202A, 0x202E) || in(r, 0x2060, 0x206F) ||
             in(r, 0xD800, 0xF8FF) || in(r, 0xFDD0, 0xFDEF) || r == 0xFEFF ||
             in(r, 0xFFF0, 0xFFFB) || r == 0xFFFE || r == 0xFFFF || r == 0x110BD ||
             in(r, 0x1D173, 0x1D17A) || in(r, 0xE0000, 0xE007F) || r >= 0xF0000 ||
             (r & 0xFFFE) == 0xFFFE);
}

char32_t to_upper(char32_t r) {
    if (r < 0x80) {
        return (r >= 'a' && r <= 'z') ? r - 0x20 : r;
    }
    if (r == 0xB5) {
        return 0x39C;
    }
    if (in(r, 0xE0, 0xFE) && r != 0xF7) {
        return r - 0x20;
    }
    if (r == 0xFF) {
        return 0x178;
    }
    if (in(r, 0x100, 0x137) || in(r, 0x14A, 0x177)) {
        return (r & 1) != 0 ? r - 1 : r;
    }
    if (r == 0x131) {
        return 'I';
    }
    if (in(r, 0x139, 0x148) || in(r, 0x179, 0x17E)) {
        return (r & 1) == 0 ? r - 1 : r;
    }
    if (r == 0x17F) {
        return 'S';
    }
    if (in(r, 0x3B1, 0x3C1) || in(r, 0x3C3, 0x3CB)) {
        return r - 0x20;
    }
    if (r == 0x3C2) {
        return 0x3A3;
    }
    if (r == 0x3AC) {
        return 0x386;
    }
    if (in(r, 0x3AD, 0x3AF)) {
        return r - 0x25;
    }
    if (r == 0x3CC) {
        return 0x38C;
    }
    if (in(r, 0x3CD, 0x3CE)) {
        return r - 0x3F;
    }
    if (in(r, 0x430, 0x44F)) {
        return r - 0x20;
    }
    if (in(r, 0x450, 0x45F)) {
        return r - 0x50;
    }
    if (in(r, 0x460, 0x481) || in(r, 0x48A, 0x4BF) || in(r, 0x4D0, 0x52F)) {
        return (r & 1) != 0 ? r - 1 : r;
    }
    if (in(r, 0x4C1, 0x4CE)) {
        return (r & 1) == 0 ? r - 1 : r;
    }
    if (r == 0x4CF) {
        return 0x4C0;
    }
    if (in(r, 0x561, 0x586)) {
        return r - 0x30;
    }
    if (in(r, 0xFF41, 0xFF5A)) {
        return r - 0x20;
    }
    return r;
}

char32_t to_lower(char32_t r) {
    if (r < 0x80) {
        return (r >= 'A' && r <= 'Z') ? r + 0x20 : r;
    }
    if (in(r, 0xC0, 0xDE) && r != 0xD7) {
        return r + 0x20;
    }
    if (r == 0x178) {
        return 0xFF;
    }
    if (in(r, 0x100, 0x137) || in(r, 0x14A, 0x177)) {
        return (r & 1) == 0 ? r + 1 : r;
    }
    if (r == 0x130) {
        return 'i';
    }
    if (in(r, 0x139, 0x148) || in(r, 0x179, 0x17E)) {
        return (r & 1) != 0 ? r + 1 : r;
    }
    if ((in(r, 0x391, 0x3A1) || in(r, 0x3A3, 0x3AB))) {
        return r + 0x20;
    }
    if (r == 0x386) {
        return 0x3AC;
    }
    if (in(r, 0x388, 0x38A)) {
        return r + 0x25;
    }
    if (r == 0x38C) {
        return 0x3CC;
    }
    if (in(r, 0x38E, 0x38F)) {
        return r + 0x3F;
    }
    if (in(r, 0x410, 0x42F)) {
        return r + 0x20;
    }
    if (in(r, 0x400, 0x40F)) {
        return r + 0x50;
    }
    if (in(r, 0x460, 0x481) || in(r, 0x48A, 0x4BF) || in(r, 0x4D0, 0x52F)) {
        return (r & 1) == 0 ? r + 1 : r;
    }
    if (in(r, 0x4C1, 0x4CE)) {
        return (r & 1) != 0 ? r + 1 : r;
    }
    if (r == 0x4C0) {
        return 0x4CF;
    }
    if (in(r, 0x531, 0x556)) {
        return r + 0x30;
    }
    if (in(r, 0xFF21, 0xFF3A)) {
        return r + 0x20;
    }
    return r;
}

char32_t to_title(char32_t r) {
    return to_upper(r);
}

namespace {

void append_escaped_rune(std::string& out, char32_t r, char quote, bool ascii_only) {
    if (r == static_cast<char32_t>(quote) || r == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(r));
        return;
    }
    if (ascii_only) {
        if (r < 0x80 && is_print(r)) {
            out.push_back(static_cast<char>(r));
            return;
        }
    } else if (is_print(r)) {
        append_rune(out, r);
        return;
    }
    switch (r) {
    case '\a':
        out += "\\a";
        return;
    case '\b':
        out += "\\b";
        return;
    case '\f':
        out += "\\f";
        return;
    case '\n':
        out += "\\n";
        return;
    case '\r':
        out += "\\r";
        return;
    case '\t':
        out += "\\t";
        return;
    case '\v':
        out += "\\v";
        return;
    default:
        break;
    }
    if (r < ' ' || r == 0x7F) {
        out += "\\x";
        out.push_back(kLowerHex[(r >> 4) & 0xF]);
        out.push_back(kLowerHex[r & 0xF]);
        return;
    }
    if (r > kMaxRune || in(r, 0xD800, 0xDFFF)) {
        r = kRuneError;
    }
    if (r < 0x10000) {
        out += "\\u";
        for (int s = 12; s >= 0; s -= 4) {
            out.push_back(kLowerHex[(r >> s) & 0xF]);
        }
    } else {
        out += "\\U";
        for (int s = 28; s >= 0; s -= 4) {
            out.push_back(kLowerHex[(r >> s) & 0xF]);
        }
    }
}

} // namespace

void append_quote(std::string& out, std::string_view s, bool ascii_only) {
    out.push_back('"');
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            append_escaped_rune(out, c, '"', ascii_only);
            ++i;
            continue;
        }
        Decoded d = decode_rune(s, i);
        if (d.rune == kRuneError && d.size == 1) {
            out += "\\x";
            out.push_back(kLowerHex[c >> 4]);
            out.push_back(kLowerHex[c & 0xF]);
            ++i;
            continue;
        }
        append_escaped_rune(out, d.rune, '"', ascii_only);
        i += d.size;
    }
    out.push_back('"');
}

void append_quote_rune(std::string& out, char32_t r, bool ascii_only) {
    if (r > kMaxRune || in(r, 0xD800, 0xDFFF)) {
        r = kRuneError;
    }
    out.push_back('\'');
    append_escaped_rune(out, r, '\'', ascii_only);
    out.push_back('\'');
}

bool can_backquote(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        Decoded d = decode_rune(s, i);
        i += d.size;
        if (d.size > 1) {
            if (d.rune == 0xFEFF) {
                return false;
            }
            continue;
        }
        if (d.rune == kRuneError) {
            return false;
        }
        if ((d.rune < ' ' && d.rune != '\t') || d.rune == '`' || d.rune == 0x7F) {
            return false;
        }
    }
    return true;
}

namespace {

int unhex(char c) {
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

bool unquote_char_impl(
    std::string_view s, char quote, char32_t& value, bool& multibyte, std::size_t& consumed) {
    multibyte = false;
    if (s.empty()) {
        return false;
    }
    const char c = s[0];
    if (c == quote && (quote == '\'' || quote == '"')) {
        return false;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
        Decoded d = decode_rune(s);
        value = d.rune;
        multibyte = true;
        consumed = d.size;
        return true;
    }
    if (c != '\\') {
        value = static_cast<unsigned char>(c);
        consumed = 1;
        return true;
    }
    if (s.size() <= 1) {
        return false;
    }
    const char e = s[1];
    std::size_t pos = 2;
    switch (e) {
    case 'a':
        value = '\a';
        break;
    case 'b':
        value = '\b';
        break;
    case 'f':
        value = '\f';
        break;
    case 'n':
        value = '\n';
        break;
    case 'r':
        value = '\r';
        break;
    case 't':
        value = '\t';
        break;
    case 'v':
        value = '\v';
        break;
    case 'x':
    case 'u':
    case 'U': {
        const std::size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        if (s.size() - pos < n) {
            return false;
        }
        char32_t v = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const int x = unhex(s[pos + j]);
            if (x < 0) {
                return false;
            }
            v = (v << 4) | static_cast<char32_t>(x);
        }
        pos += n;
        if (e == 'x') {
            value = v;
            break;
        }
        if (v > kMaxRune || in(v, 0xD800, 0xDFFF)) {
            return false;
        }
        value = v;
        multibyte = true;
        break;
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
        char32_t v = static_cast<char32_t>(e - '0');
        if (s.size() - pos < 2) {
            return false;
        }
        for (std::size_t j = 0; j < 2; ++j) {
            const int x = s[pos + j] - '0';
            if (x < 0 || x > 7) {
                return false;
            }
            v = (v << 3) | static_cast<char32_t>(x);
        }
        pos += 2;
        if (v > 255) {
            return false;
        }
        value = v;
        break;
    }
    case '\\':
        value = '\\';
        break;
    case '\'':
    case '"':
        if (e != quote) {
            return false;
        }
        value = static_cast<char32_t>(e);
        break;
    default:
        return false;
    }
    consumed = pos;
    return true;
}

} // namespace

bool unquote_char(std::string_view s, char quote, char32_t& value, std::size_t& consumed) {
    bool multibyte = false;
    return unquote_char_impl(s, quote, value, multibyte, consumed);
}

std::optional<std::string> unquote(std::string_view in) {
    if (in.size() < 2) {
        return std::nullopt;
    }
    const char quote = in[0];
    const std::size_t end_rel = in.substr(1).find(quote);
    if (end_rel == std::string_view::npos) {
        return std::nullopt;
    }
    std::size_t end = end_rel + 2;
    if (quote == '`') {
        if (end != in.size()) {
            return std::nullopt;
        }
        std::string out;
        out.reserve(end - 2);
        for (std::size_t i = 1; i + 1 < end; ++i) {
            if (in[i] != '\r') {
                out.push_back(in[i]);
            }
        }
        return out;
    }
    if (quote != '"' && quote != '\'') {
        return std::nullopt;
    }
    const std::string_view head = in.substr(0, end);
    if (head.find('\\') == std::string_view::npos && head.find('\n') == std::string_view::npos) {
        const std::string_view body = in.substr(1, end - 2);
        bool valid = false;
        if (quote == '"') {
            valid = valid_utf8(body);
        } else {
            Decoded d = decode_rune(body);
            valid = 2 + d.size == end && (d.rune != kRuneError || d.size != 1);
        }
        if (valid) {
            if (end != in.size()) {
                return std::nullopt;
            }
            return std::string(body);
        }
    }
    std::string out;
    std::size_t pos = 1;
    while (pos < in.size() && in[pos] != quote) {
        char32_t r = 0;
        bool multibyte = false;
        std::size_t consumed = 0;
        if (in[pos] == '\n' || !unquote_char_impl(in.substr(pos), quote, r, multibyte, consumed)) {
            return std::nullopt;
        }
        pos += consumed;
        if (r < 0x80 || !multibyte) {
            out.push_back(static_cast<char>(r));
        } else {
            append_rune(out, r);
        }
        if (quote == '\'') {
            break;
        }
    }
    if (!(pos < in.size() && in[pos] == quote)) {
        return std::nullopt;
    }
    ++pos;
    if (pos != in.size()) {
        return std::nullopt;
    }
    return out;
}

namespace {

char lower(char c) {
    return static_cast<char>(c | ('x' - 'X'));
}

bool underscore_ok(std::string_view s) {
    char saw = '^';
    std::size_t i = 0;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        s.remove_prefix(1);
    }
    bool hex = false;
    if (s.size() >= 2 && s[0] == '0' &&
        (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
        i = 2;
        saw = '0';
        hex = lower(s[1]) == 'x';
    }
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0') {
                return false;
            }
            saw = '_';
            continue;
        }
        if (saw == '_') {
            return false;
        }
        saw = '!';
    }
    return saw != '_';
}

} // namespace

std::optional<std::uint64_t> parse_uint_base0(std::string_view s0) {
    if (s0.empty()) {
        return std::nullopt;
    }
    std::string_view s = s0;
    int base = 10;
    if (s[0] == '0') {
        if (s.size() >= 3 && lower(s[1]) == 'b') {
            base = 2;
            s.remove_prefix(2);
        } else if (s.size() >= 3 && lower(s[1]) == 'o') {
            base = 8;
            s.remove_prefix(2);
        } else if (s.size() >= 3 && lower(s[1]) == 'x') {
            base = 16;
            s.remove_prefix(2);
        } else {
            base = 8;
            s.remove_prefix(1);
        }
    }
    bool underscores = false;
    std::uint64_t n = 0;
    const std::uint64_t cutoff = std::numeric_limits<std::uint64_t>::max() / base + 1;
    for (char c : s) {
        int d = 0;
        if (c == '_') {
            underscores = true;
            continue;
        }
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (lower(c) >= 'a' && lower(c) <= 'z') {
            d = lower(c) - 'a' + 10;
        } else {
            return std::nullopt;
        }
        if (d >= base) {
            return std::nullopt;
        }
        if (n >= cutoff) {
            return std::nullopt;
        }
        n *= base;
        const std::uint64_t n1 = n + static_cast<std::uint64_t>(d);
        if (n1 < n) {
            return std::nullopt;
        }
        n = n1;
    }
    if (underscores && !underscore_ok(s0)) {
        return std::nullopt;
    }
    return n;
}

std::optional<std::int64_t> parse_int_base0(std::string_view s) {
    if (s.empty()) {
        return std::nullopt;
    }
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    auto u = parse_uint_base0(s);
    if (!u) {
        return std::nullopt;
    }
    const std::uint64_t cutoff = std::uint64_t{1} << 63;
    if (!neg && *u >= cutoff) {
        return std::nullopt;
    }
    if (neg && *u > cutoff) {
        return std::nullopt;
    }
    if (neg) {
        return static_cast<std::int64_t>(0 - *u);
    }
    return static_cast<std::int64_t>(*u);
}

std::optional<std::int64_t> parse_int_base(std::string_view s, int base) {
    if (s.empty()) {
        return std::nullopt;
    }
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s.empty()) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (char c : s) {
        int d = 0;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (lower(c) >= 'a' && lower(c) <= 'z') {
            d = lower(c) - 'a' + 10;
        } else {
            return std::nullopt;
        }
        if (d >= base) {
            return std::nullopt;
        }
        if (n > (std::uint64_t{1} << 63) / static_cast<std::uint64_t>(base) + 1) {
            return std::nullopt;
        }
        n = n * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
        if (n > (std::uint64_t{1} << 63)) {
            return std::nullopt;
        }
    }
    if (!neg && n == (std::uint64_t{1} << 63)) {
        return std::nullopt;
    }
    return neg ? static_cast<std::int64_t>(0 - n) : static_cast<std::int64_t>(n);
}

std::optional<double> parse_float(std::string_view s0) {
    std::string_view s = s0;
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    auto iequals = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (lower(a[i]) != b[i]) {
                return false;
            }
        }
        return true;
    };
    if (iequals(s, "inf") || iequals(s, "infinity")) {
        return neg ? -std::numeric_limits<double>::infinity()
                   : std::numeric_limits<double>::infinity();
    }
    if (iequals(s, "nan") && s0.size() == 3) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    std::size_t i = 0;
    bool hex = false;
    if (s.size() >= 2 && s[0] == '0' && lower(s[1]) == 'x') {
        hex = true;
        i = 2;
    }
    bool saw_dot = false;
    bool saw_digits = false;
    bool underscores = false;
    std::string mantissa;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '_') {
            underscores = true;
            continue;
        }
        if (c == '.') {
            if (saw_dot) {
                break;
            }
            saw_dot = true;
            mantissa.push_back(c);
            continue;
        }
        if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
            saw_digits = true;
            mantissa.push_back(c);
            continue;
        }
        break;
    }
    if (!saw_digits) {
        return std::nullopt;
    }
    std::string exponent;
    if (i < s.size() && lower(s[i]) == (hex ? 'p' : 'e')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
            exponent.push_back(s[i]);
            ++i;
        }
        bool exp_digits = false;
        for (; i < s.size(); ++i) {
            if (s[i] == '_') {
                underscores = true;
                continue;
            }
            if (s[i] < '0' || s[i] > '9') {
                break;
            }
            exp_digits = true;
            exponent.push_back(s[i]);
        }
        if (!exp_digits) {
            return std::nullopt;
        }
    } else if (hex) {
        return std::nullopt; // a hexadecimal mantissa requires a 'p' exponent
    }
    if (i != s.size()) {
        return std::nullopt;
    }
    if (underscores && !underscore_ok(s0)) {
        return std::nullopt;
    }
    std::string text = mantissa;
    if (!exponent.empty()) {
        text.push_back(hex ? 'p' : 'e');
        text += exponent;
    }
    double value = 0;
    auto fmt = hex ? std::chars_format::hex : std::chars_format::general;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, fmt);
    if (ec == std::errc::result_out_of_range) {
        // Decide between overflow (an error, as in Go) and underflow (zero).
        long exp10 = 0;
        if (!exponent.empty()) {
            // strtol saturates at LONG_MAX/LONG_MIN; clamp so the sum below cannot overflow
            // (found by fuzz_template).
            exp10 = std::clamp(std::strtol(exponent.c_str(), nullptr, 10), -1'000'000L, 1'000'000L);
        }
        const std::size_t lead = mantissa.find_first_not_of("0.");
        const std::size_t dot = mantissa.find('.');
        long int_digits = 0;
        if (lead != std::string::npos) {
            const std::size_t dot_pos = dot == std::string::npos ? mantissa.size() : dot;
            int_digits = static_cast<long>(dot_pos) - static_cast<long>(lead);
            if (lead > dot_pos) {
                int_digits += 1;
            }
        }
        if ((hex ? exp10 / 3 : exp10) + int_digits > 0) {
            return std::nullopt;
        }
        value = 0;
    } else if (ec != std::errc() || ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return neg ? -value : value;
}

namespace {

// Decimal digits of a float: value = 0.d[0]d[1]... * 10^dp.
struct Digits {
    std::string d;
    int dp = 0;
};

// Parses the output of to_chars(..., scientific[, precision]) into digits.
Digits parse_scientific(const char* first, const char* last) {
    Digits out;
    const char* p = first;
    if (p < last && *p == '-') {
        ++p;
    }
    std::string digits;
    int exp = 0;
    for (; p < last && *p != 'e'; ++p) {
        if (*p != '.') {
            digits.push_back(*p);
        }
    }
    if (p < last && *p == 'e') {
        ++p;
        std::from_chars(*p == '+' ? p + 1 : p, last, exp);
    }
    // Trim trailing zeros; an all-zero value has no digits.
    while (!digits.empty() && digits.back() == '0') {
        digits.pop_back();
    }
    if (digits.empty()) {
        out.dp = 0;
        return out;
    }
    out.d = std::move(digits);
    out.dp = exp + 1;
    return out;
}

Digits shortest_digits(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    return parse_scientific(buf, r.ptr);
}

Digits rounded_digits(double v, int significant) {
    std::string buf(static_cast<std::size_t>(std::max(significant, 1)) + 32, '\0');
    auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::scientific,
                           std::max(significant - 1, 0));
    return parse_scientific(buf.data(), r.ptr);
}

void fmt_e(std::string& out, bool neg, const Digits& digs, int prec, char fmt) {
    if (neg) {
        out.push_back('-');
    }
    const int nd = static_cast<int>(digs.d.size());
    out.push_back(nd != 0 ? digs.d[0] : '0');
    if (prec > 0) {
        out.push_back('.');
        int i = 1;
        const int m = std::min(nd, prec + 1);
        if (i < m) {
            out.append(digs.d, static_cast<std::size_t>(i), static_cast<std::size_t>(m - i));
            i = m;
        }
        for (; i <= prec; ++i) {
            out.push_back('0');
        }
    }
    out.push_back(fmt);
    int exp = digs.dp - 1;
    if (nd == 0) {
        exp = 0;
    }
    if (exp < 0) {
        out.push_back('-');
        exp = -exp;
    } else {
        out.push_back('+');
    }
    if (exp < 10) {
        out.push_back('0');
        out.push_back(static_cast<char>('0' + exp));
    } else if (exp < 100) {
        out.push_back(static_cast<char>('0' + exp / 10));
        out.push_back(static_cast<char>('0' + exp % 10));
    } else {
        out.push_back(static_cast<char>('0' + exp / 100));
        out.push_back(static_cast<char>('0' + (exp / 10) % 10));
        out.push_back(static_cast<char>('0' + exp % 10));
    }
}

void fmt_f(std::string& out, bool neg, const Digits& digs, int prec) {
    if (neg) {
        out.push_back('-');
    }
    const int nd = static_cast<int>(digs.d.size());
    if (digs.dp > 0) {
        const int m = std::min(nd, digs.dp);
        out.append(digs.d, 0, static_cast<std::size_t>(m));
        for (int i = m; i < digs.dp; ++i) {
            out.push_back('0');
        }
    } else {
        out.push_back('0');
    }
    if (prec > 0) {
        out.push_back('.');
        for (int i = 1; i <= prec; ++i) {
            char ch = '0';
            const int j = digs.dp + i - 1;
            if (j >= 0 && j < nd) {
                ch = digs.d[static_cast<std::size_t>(j)];
            }
            out.push_back(ch);
        }
    }
}

} // namespace

void append_float(std::string& out, double v, char fmt, int prec) {
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    const bool neg = std::signbit(v);
    const double a = std::fabs(v);
    const bool shortest = prec < 0;
    if (fmt == 'f' && !shortest) {
        std::string buf(static_cast<std::size_t>(prec) + 340, '\0');
        auto r =
            std::to_chars(buf.data(), buf.data() + buf.size(), a, std::chars_format::fixed, prec);
        if (r.ec == std::errc()) {
            if (neg) {
                out.push_back('-');
            }
            out.append(buf.data(), r.ptr);
            return;
        }
    }
    Digits digs;
    if (shortest) {
        digs = shortest_digits(a);
    } else if (fmt == 'e' || fmt == 'E') {
        digs = rounded_digits(a, prec + 1);
    } else if (fmt == 'g' || fmt == 'G') {
        if (prec == 0) {
            prec = 1;
        }
        digs = rounded_digits(a, prec);
    } else {
        digs = shortest_digits(a);
    }
    const int nd = static_cast<int>(digs.d.size());
    if (shortest) {
        switch (fmt) {
        case 'e':
        case 'E':
            prec = std::max(nd - 1, 0);
            break;
        case 'f':
            prec = std::max(nd - digs.dp, 0);
            break;
        default:
            prec = nd;
            break;
        }
    }
    switch (fmt) {
    case 'e':
    case 'E':
        fmt_e(out, neg, digs, prec, fmt);
        return;
    case 'f':
        fmt_f(out, neg, digs, prec);
        return;
    case 'g':
    case 'G': {
        int eprec = prec;
        if (eprec > nd && nd >= digs.dp) {
            eprec = nd;
        }
        if (shortest) {
            eprec = 6;
        }
        const int exp = digs.dp - 1;
        if (exp < -4 || exp >= eprec) {
            if (prec > nd) {
                prec = nd;
            }
            fmt_e(out, neg, digs, prec - 1, fmt == 'g' ? 'e' : 'E');
            return;
        }
        if (prec > digs.dp) {
            prec = nd;
        }
        fmt_f(out, neg, digs, std::max(prec - digs.dp, 0));
        return;
    }
    default:
        out.push_back('%');
        out.push_back(fmt);
        return;
    }
}

void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void html_escape(std::string& out, std::string_view s) {
    std::size_t last = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char* rep = nullptr;
        switch (s[i]) {
        case '\0':
            rep = "\xEF\xBF\xBD";
            break;
        case '"':
            rep = "&#34;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        default:
            continue;
        }
        out.append(s.substr(last, i - last));
        out += rep;
        last = i + 1;
    }
    out.append(s.substr(last));
}

void js_escape(std::string& out, std::string_view s) {
    static constexpr char kUpperHex[] = "0123456789ABCDEF";
    std::size_t last = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        const bool special = c == '\\' || c == '\'' || c == '"' || c == '<' || c == '>' ||
                             c == '&' || c == '=' || c < ' ' || c >= 0x80;
        if (!special) {
            continue;
        }
        out.append(s.substr(last, i - last));
        if (c < 0x80) {
            switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\'':
                out += "\\'";
                break;
            case '"':
                out += "\\\"";
                break;
            case '<':
                out += "\\u003C";
                break;
            case '>':
                out += "\\u003E";
                break;
            case '&':
                out += "\\u0026";
                break;
            case '=':
                out += "\\u003D";
                break;
            default:
                out += "\\u00";
                out.push_back(kUpperHex[c >> 4]);
                out.push_back(kUpperHex[c & 0xF]);
                break;
            }
        } else {
            Decoded d = decode_rune(s, i);
            if (is_print(d.rune)) {
                out.append(s.substr(i, d.size));
            } else {
                char buf[16];
                std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(d.rune));
                out += buf;
            }
            i += d.size - 1;
        }
        last = i + 1;
    }
    out.append(s.substr(last));
}

void query_escape(std::string& out, std::string_view s) {
    static constexpr char kUpperHex[] = "0123456789ABCDEF";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(ch);
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(kUpperHex[c >> 4]);
            out.push_back(kUpperHex[c & 0xF]);
        }
    }
}

std::string_view trim_space(std::string_view s) {
    std::size_t start = 0;
    while (start < s.size()) {
        Decoded d = decode_rune(s, start);
        if (!is_space(d.rune)) {
            break;
        }
        start += d.size;
    }
    std::size_t stop = s.size();
    while (stop > start) {
        Decoded d = decode_last_rune(s.substr(0, stop));
        if (!is_space(d.rune)) {
            break;
        }
        stop -= d.size;
    }
    return s.substr(start, stop - start);
}

} // namespace portcullis::tmpl::detail
