#include "middleware/template/functions.hpp"

#include "middleware/template/encode.hpp"
#include "middleware/template/gofmt.hpp"
#include "middleware/template/gotime.hpp"
#include "middleware/template/text.hpp"

#include <openssl/evp.h>
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <unordered_map>

namespace portcullis::tmpl::detail {

std::string_view param_type_name(ParamType t) {
    switch (t) {
    case ParamType::none:
    case ParamType::any:
        return "interface {}";
    case ParamType::value:
        return "reflect.Value";
    case ParamType::string_:
        return "string";
    case ParamType::int_:
        return "int";
    case ParamType::int64_:
        return "int64";
    case ParamType::float64_:
        return "float64";
    case ParamType::bool_:
        return "bool";
    case ParamType::map_any:
        return "map[string]interface {}";
    case ParamType::list_any:
        return "[]interface {}";
    case ParamType::time_:
        return "time.Time";
    }
    return "interface {}";
}

namespace {

using Args = std::vector<Value>;
constexpr std::string_view kNilDeref =
    "runtime error: invalid memory address or nil pointer dereference";

[[noreturn]] void fail(std::string message) {
    throw CallError{std::move(message)};
}

// --- helpers shared by the functions ----------------------------------------------------

Value str(std::string s) {
    return Value::owned_string(std::move(s));
}

// How a value is stored inside a []interface{} or map[string]interface{} built here.
Value stored(const Value& v) {
    return v.is_nil() ? Value::nil_interface() : v.unboxed();
}

std::string sprint(const Value& v) {
    std::string out;
    fmt_sprint(out, &v, 1);
    return out;
}

// Sprig's strval.
std::string strval(const Value& v) {
    if (v.kind() == Kind::string) {
        return std::string(v.as_string());
    }
    return sprint(v);
}

// reflect.Kind.String() of the dynamic value.
std::string_view kind_name(const Value& v) {
    switch (v.kind()) {
    case Kind::invalid:
    case Kind::nil:
        return "invalid";
    case Kind::boolean:
        return "bool";
    case Kind::int_:
        return "int";
    case Kind::int64:
        return "int64";
    case Kind::uint8:
        return "uint8";
    case Kind::float64:
        return "float64";
    case Kind::complex128:
        return "complex128";
    case Kind::string:
        return "string";
    case Kind::list:
        return "slice";
    case Kind::map:
        return "map";
    case Kind::time:
        return "struct";
    }
    return "invalid";
}

std::int64_t float_to_int64(double f) {
    // Go on amd64 converts out-of-range floats to math.MinInt64.
    if (std::isnan(f) || f >= 9.2233720368547758e18 || f < -9.2233720368547758e18) {
        return std::numeric_limits<std::int64_t>::min();
    }
    return static_cast<std::int64_t>(f);
}

// spf13/cast ToInt64 (v1.3.1, the version Sprig v3.2.2 requires).
std::int64_t to_int64(const Value& value) {
    const Value v = value.unboxed();
    switch (v.kind()) {
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        return v.as_int();
    case Kind::float64:
        return float_to_int64(v.as_float());
    case Kind::boolean:
        return v.as_bool() ? 1 : 0;
    case Kind::string:
        return parse_int_base0(v.as_string()).value_or(0);
    default:
        return 0;
    }
}

// spf13/cast ToFloat64.
double to_float64(const Value& value) {
    const Value v = value.unboxed();
    switch (v.kind()) {
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        return static_cast<double>(v.as_int());
    case Kind::float64:
        return v.as_float();
    case Kind::boolean:
        return v.as_bool() ? 1 : 0;
    case Kind::string:
        return parse_float(v.as_string()).value_or(0);
    default:
        return 0;
    }
}

// Sprig's empty.
bool empty(const Value& value) {
    const Value v = value.unboxed();
    switch (v.kind()) {
    case Kind::invalid:
    case Kind::nil:
        return true;
    case Kind::boolean:
        return !v.as_bool();
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        return v.as_int() == 0;
    case Kind::float64:
        return v.as_float() == 0;
    case Kind::complex128:
        return v.real() == 0 && v.imag() == 0;
    case Kind::string:
    case Kind::list:
    case Kind::map:
        return v.size() == 0;
    case Kind::time:
        return false;
    }
    return true;
}

// reflect.DeepEqual of two interface values.
bool deep_equal(const Value& a0, const Value& b0, int depth = 0) {
    if (depth > kMaxValueDepth) {
        fail("value nested too deeply");
    }
    const Value a = a0.unboxed();
    const Value b = b0.unboxed();
    if (a.is_nil() || b.is_nil()) {
        return a.is_nil() && b.is_nil();
    }
    if (dynamic_type_name(a) != dynamic_type_name(b)) {
        return false;
    }
    switch (a.kind()) {
    case Kind::boolean:
        return a.as_bool() == b.as_bool();
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        return a.as_int() == b.as_int();
    case Kind::float64:
        return a.as_float() == b.as_float();
    case Kind::complex128:
        return a.real() == b.real() && a.imag() == b.imag();
    case Kind::string:
        return a.as_string() == b.as_string();
    case Kind::time:
        return a.unix_seconds() == b.unix_seconds() && a.nanos() == b.nanos();
    case Kind::list: {
        if (a.size() != b.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!deep_equal(a.at(i), b.at(i), depth + 1)) {
                return false;
            }
        }
        return true;
    }
    case Kind::map: {
        if (a.size() != b.size()) {
            return false;
        }
        bool equal = true;
        a.for_each_entry([&](std::string_view key, const Value& item) {
            Value other;
            if (!equal || !b.find(key, other) || !deep_equal(item, other, depth + 1)) {
                equal = false;
            }
        });
        return equal;
    }
    default:
        return false;
    }
}

// Elements of a list as stored values.
std::vector<Value> list_items(const Value& list) {
    std::vector<Value> out;
    const std::size_t n = list.size();
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(stored(list.at(i)));
    }
    return out;
}

// reflect.TypeOf(x).Kind() must be a slice; a nil x panics as in Go.
void require_list(const Value& v, std::string_view message_prefix, std::string_view suffix = "") {
    if (v.is_nil()) {
        fail(std::string(kNilDeref));
    }
    if (v.kind() != Kind::list) {
        fail(std::string(message_prefix) + std::string(kind_name(v)) + std::string(suffix));
    }
}

void check_items(const CallContext& ctx, std::uint64_t n) {
    if (n > ctx.max_items) {
        fail("result exceeds the limit of " + std::to_string(ctx.max_items) + " elements");
    }
}

void check_bytes(const CallContext& ctx, std::uint64_t n) {
    if (n > ctx.max_bytes) {
        fail("result exceeds the output limit of " + std::to_string(ctx.max_bytes) + " bytes");
    }
}

Value any_list(std::vector<Value> items) {
    return Value::list(std::move(items), Elem::any);
}

Value string_list(const std::vector<std::string>& items) {
    std::vector<Value> values;
    values.reserve(items.size());
    for (const auto& s : items) {
        values.push_back(Value::owned_string(s));
    }
    return Value::list(std::move(values), Elem::string);
}

// strings.Split(s, sep) with n = -1.
std::vector<std::string> go_split(std::string_view s, std::string_view sep, int n = -1) {
    std::vector<std::string> out;
    if (n == 0) {
        return out;
    }
    if (sep.empty()) {
        for (std::size_t i = 0; i < s.size();) {
            if (n > 0 && static_cast<int>(out.size()) == n - 1) {
                out.emplace_back(s.substr(i));
                return out;
            }
            const std::size_t size = decode_rune(s, i).size;
            out.emplace_back(s.substr(i, size));
            i += size;
        }
        return out;
    }
    std::size_t start = 0;
    while (n < 0 || static_cast<int>(out.size()) < n - 1) {
        const std::size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            break;
        }
        out.emplace_back(s.substr(start, pos - start));
        start = pos + sep.size();
    }
    out.emplace_back(s.substr(start));
    return out;
}

// strings.Replace(s, old, new, -1).
std::string go_replace(std::string_view s, std::string_view old_s, std::string_view new_s) {
    std::string out;
    if (old_s.empty()) {
        out.append(new_s);
        for (std::size_t i = 0; i < s.size();) {
            const std::size_t size = decode_rune(s, i).size;
            out.append(s.substr(i, size));
            out.append(new_s);
            i += size;
        }
        return out;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t pos = s.find(old_s, start);
        if (pos == std::string_view::npos) {
            break;
        }
        out.append(s.substr(start, pos - start));
        out.append(new_s);
        start = pos + old_s.size();
    }
    out.append(s.substr(start));
    return out;
}

// strings.Map with a rune mapping (invalid UTF-8 becomes U+FFFD).
template <class F> std::string map_runes(std::string_view s, F f) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        Decoded d = decode_rune(s, i);
        append_rune(out, f(d.rune));
        i += d.size;
    }
    return out;
}

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string go_upper(std::string_view s) {
    if (is_ascii(s)) {
        std::string out(s);
        for (char& c : out) {
            if (c >= 'a' && c <= 'z') {
                c = static_cast<char>(c - 32);
            }
        }
        return out;
    }
    return map_runes(s, [](char32_t r) { return to_upper(r); });
}

std::string go_lower(std::string_view s) {
    if (is_ascii(s)) {
        std::string out(s);
        for (char& c : out) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c + 32);
            }
        }
        return out;
    }
    return map_runes(s, [](char32_t r) { return to_lower(r); });
}

bool title_separator(char32_t r) {
    if (r <= 0x7F) {
        return !((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
                 r == '_');
    }
    if (is_letter(r) || is_digit(r)) {
        return false;
    }
    return is_space(r);
}

std::string go_title(std::string_view s) {
    char32_t prev = ' ';
    return map_runes(s, [&](char32_t r) {
        const bool sep = title_separator(prev);
        prev = r;
        return sep ? to_title(r) : r;
    });
}

// strings.Trim(s, cutset).
std::string go_trim(std::string_view s, std::string_view cutset) {
    if (s.empty() || cutset.empty()) {
        return std::string(s);
    }
    auto in_set = [&](char32_t r) {
        for (std::size_t i = 0; i < cutset.size();) {
            Decoded d = decode_rune(cutset, i);
            if (d.rune == r) {
                return true;
            }
            i += d.size;
        }
        return false;
    };
    std::size_t start = 0;
    while (start < s.size()) {
        Decoded d = decode_rune(s, start);
        if (!in_set(d.rune)) {
            break;
        }
        start += d.size;
    }
    std::size_t stop = s.size();
    while (stop > start) {
        Decoded d = decode_last_rune(s.substr(0, stop));
        if (!in_set(d.rune)) {
            break;
        }
        stop -= d.size;
    }
    return std::string(s.substr(start, stop - start));
}

std::string strings_repeat(const CallContext& ctx, std::string_view s, std::int64_t count) {
    if (count < 0) {
        fail("strings: negative Repeat count");
    }
    if (s.empty() || count == 0) {
        return {};
    }
    if (static_cast<std::uint64_t>(count) > ctx.max_bytes / s.size()) {
        check_bytes(ctx, ctx.max_bytes + std::uint64_t{1});
    }
    std::string out;
    out.reserve(s.size() * static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
        out.append(s);
    }
    return out;
}

// Go's runtime error text for a failed s[lo:hi] with len(s) == n.
[[noreturn]] void
slice_bounds(std::int64_t lo, std::int64_t hi, std::size_t n, bool has_lo, bool has_hi) {
    if (has_hi && (hi < 0 || static_cast<std::uint64_t>(hi) > n)) {
        fail("runtime error: slice bounds out of range [:" + std::to_string(hi) + "] with length " +
             std::to_string(n));
    }
    if (has_lo && !has_hi && (lo < 0 || static_cast<std::uint64_t>(lo) > n)) {
        fail("runtime error: slice bounds out of range [" + std::to_string(lo) + ":" +
             std::to_string(n) + "]");
    }
    fail("runtime error: slice bounds out of range [" + std::to_string(lo) + ":" +
         std::to_string(hi) + "]");
}

std::string base64_std_encode(std::string_view data) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t v = (static_cast<std::uint8_t>(data[i]) << 16) |
                                (static_cast<std::uint8_t>(data[i + 1]) << 8) |
                                static_cast<std::uint8_t>(data[i + 2]);
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(kAlphabet[(v >> 6) & 63]);
        out.push_back(kAlphabet[v & 63]);
    }
    const std::size_t rem = data.size() - i;
    if (rem > 0) {
        std::uint32_t v = static_cast<std::uint8_t>(data[i]) << 16;
        if (rem == 2) {
            v |= static_cast<std::uint8_t>(data[i + 1]) << 8;
        }
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(rem == 2 ? kAlphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

int base64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// base64.StdEncoding.DecodeString; on failure the error text of Go's CorruptInputError.
bool base64_std_decode(std::string_view src, std::string& out, std::string& error) {
    std::size_t si = 0;
    auto corrupt = [&](std::size_t at) {
        error = "illegal base64 data at input byte " + std::to_string(at);
        return false;
    };
    while (si < src.size()) {
        int dbuf[4] = {0, 0, 0, 0};
        int dlen = 4;
        bool end = false;
        for (int j = 0; j < 4; ++j) {
            if (si == src.size()) {
                if (j == 0) {
                    return true;
                }
                return corrupt(si - static_cast<std::size_t>(j));
            }
            const auto in = static_cast<unsigned char>(src[si]);
            ++si;
            const int v = base64_value(in);
            if (v >= 0) {
                dbuf[j] = v;
                continue;
            }
            if (in == '\n' || in == '\r') {
                --j;
                continue;
            }
            if (in != '=') {
                return corrupt(si - 1);
            }
            if (j == 0 || j == 1) {
                return corrupt(si - 1);
            }
            if (j == 2) {
                while (si < src.size() && (src[si] == '\n' || src[si] == '\r')) {
                    ++si;
                }
                if (si == src.size()) {
                    return corrupt(src.size());
                }
                if (src[si] != '=') {
                    return corrupt(si - 1);
                }
                ++si;
            }
            while (si < src.size() && (src[si] == '\n' || src[si] == '\r')) {
                ++si;
            }
            if (si < src.size()) {
                return corrupt(si);
            }
            dlen = j;
            end = true;
            break;
        }
        const std::uint32_t val = (static_cast<std::uint32_t>(dbuf[0]) << 18) |
                                  (static_cast<std::uint32_t>(dbuf[1]) << 12) |
                                  (static_cast<std::uint32_t>(dbuf[2]) << 6) |
                                  static_cast<std::uint32_t>(dbuf[3]);
        const char b0 = static_cast<char>(val >> 16);
        const char b1 = static_cast<char>(val >> 8);
        const char b2 = static_cast<char>(val);
        if (dlen >= 2) {
            out.push_back(b0);
        }
        if (dlen >= 3) {
            out.push_back(b1);
        }
        if (dlen >= 4) {
            out.push_back(b2);
        }
        if (end) {
            return true;
        }
    }
    return true;
}

std::string base32_std_encode(std::string_view data) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    for (std::size_t i = 0; i < data.size(); i += 5) {
        std::uint64_t buf = 0;
        const std::size_t n = std::min<std::size_t>(5, data.size() - i);
        for (std::size_t j = 0; j < 5; ++j) {
            buf = (buf << 8) | (j < n ? static_cast<std::uint8_t>(data[i + j]) : 0);
        }
        static constexpr std::size_t kChars[] = {0, 2, 4, 5, 7, 8};
        const std::size_t chars = kChars[n];
        for (std::size_t j = 0; j < 8; ++j) {
            out.push_back(j < chars ? kAlphabet[(buf >> (35 - 5 * j)) & 31] : '=');
        }
    }
    return out;
}

bool base32_std_decode(std::string_view src0, std::string& out, std::string& error) {
    std::string src;
    for (char c : src0) {
        if (c != '\n' && c != '\r') {
            src.push_back(c);
        }
    }
    if (src.size() % 8 != 0) {
        error = "illegal base32 data at input byte " + std::to_string(src.size() / 8 * 8);
        return false;
    }
    for (std::size_t i = 0; i < src.size(); i += 8) {
        std::uint64_t buf = 0;
        std::size_t valid = 8;
        for (std::size_t j = 0; j < 8; ++j) {
            const char c = src[i + j];
            int v = -1;
            if (c >= 'A' && c <= 'Z') {
                v = c - 'A';
            } else if (c >= '2' && c <= '7') {
                v = c - '2' + 26;
            } else if (c == '=' && i + 8 == src.size() && j >= 2) {
                valid = j;
                for (std::size_t k = j; k < 8; ++k) {
                    if (src[i + k] != '=') {
                        error = "illegal base32 data at input byte " + std::to_string(i + k);
                        return false;
                    }
                }
                break;
            }
            if (v < 0) {
                error = "illegal base32 data at input byte " + std::to_string(i + j);
                return false;
            }
            buf |= static_cast<std::uint64_t>(v) << (35 - 5 * j);
        }
        static constexpr std::size_t kBytes[] = {0, 0, 1, 0, 2, 3, 0, 4, 5};
        const std::size_t nbytes = kBytes[valid];
        if (valid != 8 && nbytes == 0) {
            error = "illegal base32 data at input byte " + std::to_string(i + valid);
            return false;
        }
        for (std::size_t j = 0; j < nbytes; ++j) {
            out.push_back(static_cast<char>((buf >> (32 - 8 * j)) & 0xFF));
        }
    }
    return true;
}

std::string hex_digest(const EVP_MD* md, std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, md, nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 0xF]);
    }
    return out;
}

// path.Clean.
std::string path_clean(std::string_view path) {
    if (path.empty()) {
        return ".";
    }
    const bool rooted = path[0] == '/';
    const std::size_t n = path.size();
    std::string out;
    std::size_t r = 0;
    std::size_t dotdot = 0;
    if (rooted) {
        out.push_back('/');
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            ++r;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            ++r;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (out.size() > dotdot) {
                std::size_t w = out.size() - 1;
                while (w > dotdot && out[w] != '/') {
                    --w;
                }
                out.resize(w);
            } else if (!rooted) {
                if (!out.empty()) {
                    out.push_back('/');
                }
                out += "..";
                dotdot = out.size();
            }
        } else {
            if ((rooted && out.size() != 1) || (!rooted && !out.empty())) {
                out.push_back('/');
            }
            for (; r < n && path[r] != '/'; ++r) {
                out.push_back(path[r]);
            }
        }
    }
    if (out.empty()) {
        return ".";
    }
    return out;
}

std::string path_base(std::string_view path) {
    if (path.empty()) {
        return ".";
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    const std::size_t i = path.rfind('/');
    if (i != std::string_view::npos) {
        path = path.substr(i + 1);
    }
    if (path.empty()) {
        return "/";
    }
    return std::string(path);
}

std::string path_dir(std::string_view path) {
    const std::size_t i = path.rfind('/');
    return path_clean(i == std::string_view::npos ? std::string_view() : path.substr(0, i + 1));
}

std::string path_ext(std::string_view path) {
    for (std::size_t i = path.size(); i-- > 0 && path[i] != '/';) {
        if (path[i] == '.') {
            return std::string(path.substr(i));
        }
    }
    return "";
}

// The time a Sprig date function formats: time.Time, or Unix seconds as int/int64; anything
// else means now.
Value date_arg(const Value& value) {
    const Value v = value.unboxed();
    if (v.kind() == Kind::time) {
        return v;
    }
    if (v.kind() == Kind::int_ || v.kind() == Kind::int64) {
        return Value::time(v.as_int(), 0);
    }
    std::int64_t sec = 0;
    std::int32_t nsec = 0;
    time_now(sec, nsec);
    return Value::time(sec, nsec);
}

Value format_date(std::string_view layout, const Value& when) {
    const Value t = date_arg(when);
    std::string out;
    append_time_format(out, t.unix_seconds(), t.nanos(), layout);
    return str(std::move(out));
}

// --- Go builtins ------------------------------------------------------------------------

Value f_not(CallContext&, Args& a) {
    return Value::boolean(!truth(a[0]));
}

Value f_len(CallContext&, Args& a) {
    Value item = a[0];
    if (item.kind() == Kind::nil) {
        fail("len of nil pointer");
    }
    item = item.unboxed();
    switch (item.kind()) {
    case Kind::string:
    case Kind::list:
    case Kind::map:
        return Value::integer(static_cast<std::int64_t>(item.size()));
    case Kind::invalid:
        fail("reflect: call of reflect.Value.Type on zero Value");
    default:
        fail("len of type " + std::string(dynamic_type_name(item)));
    }
}

std::size_t index_arg(const Value& index0, std::size_t cap) {
    const Value index = index0.unboxed();
    std::int64_t x = 0;
    switch (index.kind()) {
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        x = index.as_int();
        break;
    case Kind::invalid:
    case Kind::nil:
        fail("cannot index slice/array with nil");
    default:
        fail("cannot index slice/array with type " + std::string(dynamic_type_name(index)));
    }
    if (x < 0 || static_cast<std::uint64_t>(x) > cap) {
        fail("index out of range: " + std::to_string(x));
    }
    return static_cast<std::size_t>(x);
}

Value f_index(CallContext&, Args& a) {
    Value item = a[0].unboxed();
    if (!item.valid()) {
        fail("index of untyped nil");
    }
    for (std::size_t k = 1; k < a.size(); ++k) {
        const Value index = a[k].unboxed();
        if (item.kind() == Kind::nil) {
            fail("index of nil pointer");
        }
        item = item.unboxed();
        switch (item.kind()) {
        case Kind::list:
        case Kind::string: {
            const std::size_t x = index_arg(index, item.size());
            if (x == item.size()) {
                fail(item.kind() == Kind::list ? "reflect: slice index out of range"
                                               : "reflect: string index out of range");
            }
            if (item.kind() == Kind::string) {
                item = Value::uint8(static_cast<std::uint8_t>(item.as_string()[x]));
            } else {
                item = item.at(x);
            }
            break;
        }
        case Kind::map: {
            if (!index.valid()) {
                fail("value is nil; should be of type string");
            }
            if (index.kind() != Kind::string) {
                fail("value has type " + std::string(dynamic_type_name(index)) +
                     "; should be string");
            }
            Value found;
            if (item.find(index.as_string(), found)) {
                item = found;
            } else {
                item = item.elem() == Elem::string ? Value::borrowed_string("")
                                                   : Value::nil_interface();
            }
            break;
        }
        default:
            fail("can't index item of type " + std::string(dynamic_type_name(item)));
        }
    }
    return item;
}

Value f_call(CallContext&, Args& a) {
    const Value fn = a[0].unboxed();
    if (!fn.valid()) {
        fail("call of nil");
    }
    fail("non-function of type " + std::string(dynamic_type_name(fn)));
}

Value f_print(CallContext&, Args& a) {
    std::string out;
    fmt_sprint(out, a.data(), a.size());
    return str(std::move(out));
}

Value f_println(CallContext&, Args& a) {
    std::string out;
    fmt_sprintln(out, a.data(), a.size());
    return str(std::move(out));
}

Value f_printf(CallContext&, Args& a) {
    std::string out;
    fmt_sprintf(out, a[0].as_string(), a.data() + 1, a.size() - 1);
    return str(std::move(out));
}

// text/template's evalArgs.
std::string eval_args(Args& a) {
    if (a.size() == 1 && a[0].kind() == Kind::string) {
        return std::string(a[0].as_string());
    }
    std::vector<Value> printable;
    printable.reserve(a.size());
    for (const auto& v : a) {
        printable.push_back(v.is_nil() ? Value::borrowed_string("<no value>") : v);
    }
    std::string out;
    fmt_sprint(out, printable.data(), printable.size());
    return out;
}

Value f_html(CallContext&, Args& a) {
    std::string out;
    html_escape(out, eval_args(a));
    return str(std::move(out));
}

Value f_js(CallContext&, Args& a) {
    std::string out;
    js_escape(out, eval_args(a));
    return str(std::move(out));
}

Value f_urlquery(CallContext&, Args& a) {
    std::string out;
    query_escape(out, eval_args(a));
    return str(std::move(out));
}

enum class BasicKind { invalid, boolean, complex, integer, floating, string, uinteger };

BasicKind basic_kind(const Value& v) {
    switch (v.kind()) {
    case Kind::boolean:
        return BasicKind::boolean;
    case Kind::int_:
    case Kind::int64:
        return BasicKind::integer;
    case Kind::uint8:
        return BasicKind::uinteger;
    case Kind::float64:
        return BasicKind::floating;
    case Kind::complex128:
        return BasicKind::complex;
    case Kind::string:
        return BasicKind::string;
    default:
        return BasicKind::invalid;
    }
}

// fmt.Sprintf("%s", v) / ("%v", v), for comparison errors.
std::string format_verb(const Value& v, std::string_view verb) {
    std::string out;
    fmt_sprintf(out, verb, &v, 1);
    return out;
}

// The reflect.Kind family of a value, as canCompare sees it.
int reflect_kind(const Value& v) {
    switch (v.kind()) {
    case Kind::invalid:
    case Kind::nil:
        return 0;
    case Kind::list:
        return 1;
    case Kind::map:
        return 2;
    case Kind::time:
        return 3;
    default:
        return 4 + static_cast<int>(v.kind());
    }
}

// text/template's eq (Go 1.19): basic kinds compare by value, integers across signedness,
// nil compares with anything nil-able, other kinds only when comparable.
bool eq_impl(const Value& a1, const Value* rest, std::size_t n) {
    const Value arg1 = a1.unboxed();
    if (n == 0) {
        fail("missing argument for comparison");
    }
    const BasicKind k1 = basic_kind(arg1);
    for (std::size_t i = 0; i < n; ++i) {
        const Value arg = rest[i].unboxed();
        const BasicKind k2 = basic_kind(arg);
        bool truth = false;
        if (k1 != k2) {
            if (k1 == BasicKind::integer && k2 == BasicKind::uinteger) {
                truth = arg1.as_int() >= 0 && arg1.as_int() == arg.as_int();
            } else if (k1 == BasicKind::uinteger && k2 == BasicKind::integer) {
                truth = arg.as_int() >= 0 && arg1.as_int() == arg.as_int();
            } else if (arg1.valid() && arg.valid()) {
                fail("incompatible types for comparison");
            }
        } else {
            switch (k1) {
            case BasicKind::boolean:
                truth = arg1.as_bool() == arg.as_bool();
                break;
            case BasicKind::complex:
                truth = arg1.real() == arg.real() && arg1.imag() == arg.imag();
                break;
            case BasicKind::floating:
                truth = arg1.as_float() == arg.as_float();
                break;
            case BasicKind::integer:
            case BasicKind::uinteger:
                truth = arg1.as_int() == arg.as_int();
                break;
            case BasicKind::string:
                truth = arg1.as_string() == arg.as_string();
                break;
            case BasicKind::invalid: {
                const int r1 = reflect_kind(arg1);
                const int r2 = reflect_kind(arg);
                if (r1 != r2 && r1 != 0 && r2 != 0) {
                    fail("non-comparable types " + format_verb(arg1, "%s") + ": " +
                         std::string(dynamic_type_name(arg1)) + ", " +
                         std::string(dynamic_type_name(arg)) + ": " + format_verb(arg, "%v"));
                }
                if (!arg1.valid() || !arg.valid()) {
                    truth = arg1.valid() == arg.valid();
                } else {
                    if (arg.kind() == Kind::list || arg.kind() == Kind::map) {
                        fail("non-comparable type " + format_verb(arg, "%s") + ": " +
                             std::string(dynamic_type_name(arg)));
                    }
                    truth = arg.kind() == Kind::time && arg1.kind() == Kind::time &&
                            arg.unix_seconds() == arg1.unix_seconds() &&
                            arg.nanos() == arg1.nanos();
                }
                break;
            }
            }
        }
        if (truth) {
            return true;
        }
    }
    return false;
}

bool lt_impl(const Value& a, const Value& b) {
    const Value arg1 = a.unboxed();
    const BasicKind k1 = basic_kind(arg1);
    if (k1 == BasicKind::invalid) {
        fail("invalid type for comparison");
    }
    const Value arg2 = b.unboxed();
    const BasicKind k2 = basic_kind(arg2);
    if (k2 == BasicKind::invalid) {
        fail("invalid type for comparison");
    }
    if (k1 != k2) {
        if (k1 == BasicKind::integer && k2 == BasicKind::uinteger) {
            return arg1.as_int() < arg2.as_int();
        }
        if (k1 == BasicKind::uinteger && k2 == BasicKind::integer) {
            return arg2.as_int() >= 0 && arg1.as_int() < arg2.as_int();
        }
        fail("incompatible types for comparison");
    }
    switch (k1) {
    case BasicKind::boolean:
    case BasicKind::complex:
        fail("invalid type for comparison");
    case BasicKind::floating:
        return arg1.as_float() < arg2.as_float();
    case BasicKind::integer:
    case BasicKind::uinteger:
        return arg1.as_int() < arg2.as_int();
    case BasicKind::string:
        return arg1.as_string() < arg2.as_string();
    default:
        fail("invalid type for comparison");
    }
}

Value f_eq(CallContext&, Args& a) {
    return Value::boolean(eq_impl(a[0], a.data() + 1, a.size() - 1));
}
Value f_ne(CallContext&, Args& a) {
    return Value::boolean(!eq_impl(a[0], a.data() + 1, 1));
}
Value f_lt(CallContext&, Args& a) {
    return Value::boolean(lt_impl(a[0], a[1]));
}
Value f_le(CallContext&, Args& a) {
    return Value::boolean(lt_impl(a[0], a[1]) || eq_impl(a[0], a.data() + 1, 1));
}
Value f_gt(CallContext&, Args& a) {
    return Value::boolean(!(lt_impl(a[0], a[1]) || eq_impl(a[0], a.data() + 1, 1)));
}
Value f_ge(CallContext&, Args& a) {
    return Value::boolean(!lt_impl(a[0], a[1]));
}

// --- Tyk ----------------------------------------------------------------------------------

Value f_json_marshal(CallContext&, Args& a) {
    std::string out;
    std::string error;
    if (!json_marshal(out, a[0], error)) {
        fail(error);
    }
    return str(std::move(out));
}

Value f_xml_marshal(CallContext&, Args& a) {
    std::string out;
    std::string error;
    if (!xml_marshal(out, a[0], error)) {
        fail(error);
    }
    return str(std::move(out));
}

// --- Sprig: strings -------------------------------------------------------------------------

Value f_hello(CallContext&, Args&) {
    return Value::borrowed_string("Hello!");
}
Value f_upper(CallContext&, Args& a) {
    return str(go_upper(a[0].as_string()));
}
Value f_lower(CallContext&, Args& a) {
    return str(go_lower(a[0].as_string()));
}
Value f_title(CallContext&, Args& a) {
    return str(go_title(a[0].as_string()));
}
Value f_trim(CallContext&, Args& a) {
    return str(std::string(trim_space(a[0].as_string())));
}
Value f_trim_all(CallContext&, Args& a) {
    return str(go_trim(a[1].as_string(), a[0].as_string()));
}

Value f_trim_prefix(CallContext&, Args& a) {
    std::string_view s = a[1].as_string();
    if (s.starts_with(a[0].as_string())) {
        s.remove_prefix(a[0].size());
    }
    return str(std::string(s));
}

Value f_trim_suffix(CallContext&, Args& a) {
    std::string_view s = a[1].as_string();
    if (s.ends_with(a[0].as_string())) {
        s.remove_suffix(a[0].size());
    }
    return str(std::string(s));
}

Value f_replace(CallContext& ctx, Args& a) {
    std::string out = go_replace(a[2].as_string(), a[0].as_string(), a[1].as_string());
    check_bytes(ctx, out.size());
    return str(std::move(out));
}

Value f_contains(CallContext&, Args& a) {
    return Value::boolean(a[1].as_string().find(a[0].as_string()) != std::string_view::npos);
}
Value f_has_prefix(CallContext&, Args& a) {
    return Value::boolean(a[1].as_string().starts_with(a[0].as_string()));
}
Value f_has_suffix(CallContext&, Args& a) {
    return Value::boolean(a[1].as_string().ends_with(a[0].as_string()));
}

Value f_repeat(CallContext& ctx, Args& a) {
    return str(strings_repeat(ctx, a[1].as_string(), a[0].as_int()));
}

Value f_split(CallContext&, Args& a) {
    std::map<std::string, Value, std::less<>> m;
    const auto parts = go_split(a[1].as_string(), a[0].as_string());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        m["_" + std::to_string(i)] = Value::owned_string(parts[i]);
    }
    return Value::map(std::move(m), Elem::string);
}

Value f_splitn(CallContext&, Args& a) {
    std::map<std::string, Value, std::less<>> m;
    const auto parts =
        go_split(a[2].as_string(), a[0].as_string(),
                 static_cast<int>(std::clamp<std::int64_t>(a[1].as_int(), -1, 1 << 30)));
    for (std::size_t i = 0; i < parts.size(); ++i) {
        m["_" + std::to_string(i)] = Value::owned_string(parts[i]);
    }
    return Value::map(std::move(m), Elem::string);
}

Value f_split_list(CallContext&, Args& a) {
    return string_list(go_split(a[1].as_string(), a[0].as_string()));
}

// Sprig's strslice.
std::vector<std::string> strslice(const Value& value) {
    const Value v = value.unboxed();
    std::vector<std::string> out;
    if (v.kind() == Kind::list) {
        const std::size_t n = v.size();
        for (std::size_t i = 0; i < n; ++i) {
            const Value item = v.at(i).unboxed();
            if (!item.is_nil()) {
                out.push_back(strval(item));
            }
        }
        return out;
    }
    if (v.is_nil()) {
        return out;
    }
    out.push_back(strval(v));
    return out;
}

Value f_join(CallContext&, Args& a) {
    std::string out;
    bool first = true;
    for (const auto& s : strslice(a[1])) {
        if (!first) {
            out.append(a[0].as_string());
        }
        first = false;
        out += s;
    }
    return str(std::move(out));
}

Value f_to_strings(CallContext&, Args& a) {
    return string_list(strslice(a[0]));
}

Value f_sort_alpha(CallContext&, Args& a) {
    const Value v = a[0].unboxed();
    std::vector<std::string> items;
    if (v.kind() == Kind::list) {
        items = strslice(v);
        std::sort(items.begin(), items.end());
    } else {
        items.push_back(strval(v));
    }
    return string_list(items);
}

Value f_quote(CallContext&, Args& a) {
    std::string out;
    bool first = true;
    for (const auto& v : a) {
        if (v.is_nil()) {
            continue;
        }
        if (!first) {
            out.push_back(' ');
        }
        first = false;
        append_quote(out, strval(v));
    }
    return str(std::move(out));
}

Value f_squote(CallContext&, Args& a) {
    std::string out;
    bool first = true;
    for (const auto& v : a) {
        if (v.is_nil()) {
            continue;
        }
        if (!first) {
            out.push_back(' ');
        }
        first = false;
        out.push_back('\'');
        out += sprint(v);
        out.push_back('\'');
    }
    return str(std::move(out));
}

Value f_cat(CallContext&, Args& a) {
    std::vector<Value> items;
    for (const auto& v : a) {
        if (!v.is_nil()) {
            items.push_back(v);
        }
    }
    std::string format;
    for (std::size_t i = 0; i < items.size(); ++i) {
        format += i == 0 ? "%v" : " %v";
    }
    std::string out;
    fmt_sprintf(out, format, items.data(), items.size());
    return str(std::move(out));
}

Value f_to_string(CallContext&, Args& a) {
    return str(strval(a[0]));
}

Value f_trunc(CallContext&, Args& a) {
    const std::int64_t c = a[0].as_int();
    const std::string_view s = a[1].as_string();
    const auto len = static_cast<std::int64_t>(s.size());
    if (c < 0 && len + c > 0) {
        return str(std::string(s.substr(static_cast<std::size_t>(len + c))));
    }
    if (c >= 0 && len > c) {
        return str(std::string(s.substr(0, static_cast<std::size_t>(c))));
    }
    return str(std::string(s));
}

Value f_abbrev(CallContext&, Args& a) {
    const std::int64_t width = a[0].as_int();
    const std::string_view s = a[1].as_string();
    if (width < 4 || s.empty() || static_cast<std::int64_t>(s.size()) <= width) {
        return str(std::string(s));
    }
    return str(std::string(s.substr(0, static_cast<std::size_t>(width - 3))) + "...");
}

Value f_substr(CallContext&, Args& a) {
    const std::int64_t start = a[0].as_int();
    const std::int64_t end = a[1].as_int();
    const std::string_view s = a[2].as_string();
    const auto len = static_cast<std::int64_t>(s.size());
    if (start < 0) {
        if (end < 0 || end > len) {
            slice_bounds(0, end, s.size(), false, true);
        }
        return str(std::string(s.substr(0, static_cast<std::size_t>(end))));
    }
    if (end < 0 || end > len) {
        if (start > len) {
            slice_bounds(start, len, s.size(), true, false);
        }
        return str(std::string(s.substr(static_cast<std::size_t>(start))));
    }
    if (start > end) {
        slice_bounds(start, end, s.size(), true, true);
    }
    return str(std::string(
        s.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start))));
}

Value f_nospace(CallContext&, Args& a) {
    std::string out;
    const std::string_view s = a[0].as_string();
    for (std::size_t i = 0; i < s.size();) {
        Decoded d = decode_rune(s, i);
        if (!is_space(d.rune)) {
            out.append(s.substr(i, d.size));
        }
        i += d.size;
    }
    return str(std::move(out));
}

Value f_indent(CallContext& ctx, Args& a) {
    const std::string pad = strings_repeat(ctx, " ", a[0].as_int());
    std::string out = pad + go_replace(a[1].as_string(), "\n", "\n" + pad);
    check_bytes(ctx, out.size());
    return str(std::move(out));
}

Value f_nindent(CallContext& ctx, Args& a) {
    Value v = f_indent(ctx, a);
    return str("\n" + std::string(v.as_string()));
}

Value f_plural(CallContext&, Args& a) {
    return a[2].as_int() == 1 ? a[0] : a[1];
}

Value f_sha1sum(CallContext&, Args& a) {
    return str(hex_digest(EVP_sha1(), a[0].as_string()));
}
Value f_sha256sum(CallContext&, Args& a) {
    return str(hex_digest(EVP_sha256(), a[0].as_string()));
}

Value f_adler32sum(CallContext&, Args& a) {
    std::uint32_t s1 = 1;
    std::uint32_t s2 = 0;
    for (char c : a[0].as_string()) {
        s1 = (s1 + static_cast<unsigned char>(c)) % 65521;
        s2 = (s2 + s1) % 65521;
    }
    return str(std::to_string((s2 << 16) | s1));
}

// --- Sprig: conversions and math ------------------------------------------------------------

Value f_atoi(CallContext&, Args& a) {
    return Value::integer(parse_int_base(a[0].as_string(), 10).value_or(0));
}
Value f_int(CallContext&, Args& a) {
    return Value::integer(to_int64(a[0]));
}
Value f_int64(CallContext&, Args& a) {
    return Value::int64(to_int64(a[0]));
}
Value f_float64(CallContext&, Args& a) {
    return Value::float64(to_float64(a[0]));
}

Value f_to_decimal(CallContext&, Args& a) {
    return Value::int64(parse_int_base(sprint(a[0]), 8).value_or(0));
}

Value f_add1(CallContext&, Args& a) {
    return Value::int64(to_int64(a[0]) + 1);
}

Value f_add(CallContext&, Args& a) {
    std::int64_t sum = 0;
    for (const auto& v : a) {
        sum = static_cast<std::int64_t>(static_cast<std::uint64_t>(sum) +
                                        static_cast<std::uint64_t>(to_int64(v)));
    }
    return Value::int64(sum);
}

Value f_sub(CallContext&, Args& a) {
    return Value::int64(static_cast<std::int64_t>(static_cast<std::uint64_t>(to_int64(a[0])) -
                                                  static_cast<std::uint64_t>(to_int64(a[1]))));
}

Value f_mul(CallContext&, Args& a) {
    std::uint64_t v = static_cast<std::uint64_t>(to_int64(a[0]));
    for (std::size_t i = 1; i < a.size(); ++i) {
        v *= static_cast<std::uint64_t>(to_int64(a[i]));
    }
    return Value::int64(static_cast<std::int64_t>(v));
}

Value f_div(CallContext&, Args& a) {
    const std::int64_t x = to_int64(a[0]);
    const std::int64_t y = to_int64(a[1]);
    if (y == 0) {
        fail("runtime error: integer divide by zero");
    }
    if (x == std::numeric_limits<std::int64_t>::min() && y == -1) {
        return Value::int64(x);
    }
    return Value::int64(x / y);
}

Value f_mod(CallContext&, Args& a) {
    const std::int64_t x = to_int64(a[0]);
    const std::int64_t y = to_int64(a[1]);
    if (y == 0) {
        fail("runtime error: integer divide by zero");
    }
    if (y == -1) {
        return Value::int64(0);
    }
    return Value::int64(x % y);
}

Value f_max(CallContext&, Args& a) {
    std::int64_t best = to_int64(a[0]);
    for (std::size_t i = 1; i < a.size(); ++i) {
        best = std::max(best, to_int64(a[i]));
    }
    return Value::int64(best);
}

Value f_min(CallContext&, Args& a) {
    std::int64_t best = to_int64(a[0]);
    for (std::size_t i = 1; i < a.size(); ++i) {
        best = std::min(best, to_int64(a[i]));
    }
    return Value::int64(best);
}

Value f_maxf(CallContext&, Args& a) {
    double best = to_float64(a[0]);
    for (std::size_t i = 1; i < a.size(); ++i) {
        const double x = to_float64(a[i]);
        best = (std::isnan(best) || std::isnan(x)) ? std::nan("") : std::fmax(best, x);
    }
    return Value::float64(best);
}

Value f_minf(CallContext&, Args& a) {
    double best = to_float64(a[0]);
    for (std::size_t i = 1; i < a.size(); ++i) {
        const double x = to_float64(a[i]);
        best = (std::isnan(best) || std::isnan(x)) ? std::nan("") : std::fmin(best, x);
    }
    return Value::float64(best);
}

Value f_ceil(CallContext&, Args& a) {
    return Value::float64(std::ceil(to_float64(a[0])));
}
Value f_floor(CallContext&, Args& a) {
    return Value::float64(std::floor(to_float64(a[0])));
}

Value f_round(CallContext&, Args& a) {
    double round_on = 0.5;
    if (a.size() > 2) {
        round_on = a[2].as_float();
    }
    const double val = to_float64(a[0]);
    const double pow = std::pow(10.0, static_cast<double>(a[1].as_int()));
    const double digit = pow * val;
    double int_part = 0;
    const double div = std::modf(digit, &int_part);
    const double rounded = div >= round_on ? std::ceil(digit) : std::floor(digit);
    return Value::float64(rounded / pow);
}

Value f_until_step(CallContext& ctx, std::int64_t start, std::int64_t stop, std::int64_t step) {
    std::vector<Value> v;
    if (step == 0) {
        return Value::list(std::move(v), Elem::int_);
    }
    auto count = [&]() -> std::uint64_t {
        if (step > 0 && stop > start) {
            const std::uint64_t diff =
                static_cast<std::uint64_t>(stop) - static_cast<std::uint64_t>(start);
            const auto s = static_cast<std::uint64_t>(step);
            return diff / s + (diff % s != 0 ? 1 : 0);
        }
        if (step < 0 && stop < start) {
            const std::uint64_t diff =
                static_cast<std::uint64_t>(start) - static_cast<std::uint64_t>(stop);
            const std::uint64_t s = 0 - static_cast<std::uint64_t>(step);
            return diff / s + (diff % s != 0 ? 1 : 0);
        }
        return 0;
    }();
    check_items(ctx, count);
    v.reserve(static_cast<std::size_t>(count));
    std::int64_t i = start;
    for (std::uint64_t n = 0; n < count; ++n) {
        v.push_back(Value::integer(i));
        i = static_cast<std::int64_t>(static_cast<std::uint64_t>(i) +
                                      static_cast<std::uint64_t>(step));
    }
    return Value::list(std::move(v), Elem::int_);
}

Value f_until(CallContext& ctx, Args& a) {
    const std::int64_t count = a[0].as_int();
    return f_until_step(ctx, 0, count, count < 0 ? -1 : 1);
}

Value f_until_step3(CallContext& ctx, Args& a) {
    return f_until_step(ctx, a[0].as_int(), a[1].as_int(), a[2].as_int());
}

// --- Sprig: defaults, encoding, reflection ------------------------------------------------

Value f_default(CallContext&, Args& a) {
    if (a.size() < 2 || empty(a[1])) {
        return stored(a[0]).with_boxed(true);
    }
    return stored(a[1]).with_boxed(true);
}

Value f_empty(CallContext&, Args& a) {
    return Value::boolean(empty(a[0]));
}

Value f_coalesce(CallContext&, Args& a) {
    for (const auto& v : a) {
        if (!empty(v)) {
            return stored(v).with_boxed(true);
        }
    }
    return Value::nil_interface();
}

Value f_all(CallContext&, Args& a) {
    return Value::boolean(
        std::none_of(a.begin(), a.end(), [](const Value& v) { return empty(v); }));
}

Value f_any(CallContext&, Args& a) {
    return Value::boolean(
        std::any_of(a.begin(), a.end(), [](const Value& v) { return !empty(v); }));
}

Value f_ternary(CallContext&, Args& a) {
    return stored(a[2].as_bool() ? a[0] : a[1]).with_boxed(true);
}

Value f_compact(CallContext&, Args& a) {
    require_list(a[0], "Cannot compact on type ");
    std::vector<Value> out;
    for (const auto& v : list_items(a[0])) {
        if (!empty(v)) {
            out.push_back(v);
        }
    }
    return any_list(std::move(out));
}

Value f_to_json(CallContext&, Args& a) {
    std::string out;
    std::string error;
    if (!json_marshal(out, a[0], error)) {
        return Value::borrowed_string("");
    }
    return str(std::move(out));
}

Value f_must_to_json(CallContext&, Args& a) {
    std::string out;
    std::string error;
    if (!json_marshal(out, a[0], error)) {
        fail(error);
    }
    return str(std::move(out));
}

Value f_to_pretty_json(CallContext&, Args& a) {
    std::string out;
    std::string error;
    if (!json_marshal(out, a[0], error, "  ")) {
        return Value::borrowed_string("");
    }
    return str(std::move(out));
}

Value f_to_raw_json(CallContext&, Args& a) {
    std::string out;
    std::string error;
    if (!json_marshal(out, a[0], error, {}, false)) {
        fail(error);
    }
    return str(std::move(out));
}

Value from_json_node(const nlohmann::json& j, int depth = 0) {
    if (depth > kMaxValueDepth) {
        fail("fromJson: value nested too deeply");
    }
    switch (j.type()) {
    case nlohmann::json::value_t::object: {
        std::map<std::string, Value, std::less<>> m;
        for (auto it = j.begin(); it != j.end(); ++it) {
            m[it.key()] = from_json_node(it.value(), depth + 1);
        }
        return Value::map(std::move(m), Elem::any);
    }
    case nlohmann::json::value_t::array: {
        std::vector<Value> v;
        for (const auto& e : j) {
            v.push_back(from_json_node(e, depth + 1));
        }
        return any_list(std::move(v));
    }
    case nlohmann::json::value_t::string:
        return Value::owned_string(j.get<std::string>());
    case nlohmann::json::value_t::boolean:
        return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
        return Value::float64(j.get<double>()); // encoding/json decodes numbers as float64
    default:
        return Value::nil_interface();
    }
}

Value f_from_json(CallContext&, Args& a) {
    auto j = nlohmann::json::parse(a[0].as_string(), nullptr, false);
    if (j.is_discarded()) {
        return Value::nil_interface();
    }
    return from_json_node(j).with_boxed(true);
}

Value f_must_from_json(CallContext&, Args& a) {
    auto j = nlohmann::json::parse(a[0].as_string(), nullptr, false);
    if (j.is_discarded()) {
        fail("invalid JSON input");
    }
    return from_json_node(j).with_boxed(true);
}

Value f_b64enc(CallContext&, Args& a) {
    return str(base64_std_encode(a[0].as_string()));
}

Value f_b64dec(CallContext&, Args& a) {
    std::string out;
    std::string error;
    if (!base64_std_decode(a[0].as_string(), out, error)) {
        return str(std::move(error));
    }
    return str(std::move(out));
}

Value f_b32enc(CallContext&, Args& a) {
    return str(base32_std_encode(a[0].as_string()));
}

Value f_b32dec(CallContext&, Args& a) {
    std::string out;
    std::string error;
    if (!base32_std_decode(a[0].as_string(), out, error)) {
        return str(std::move(error));
    }
    return str(std::move(out));
}

Value f_type_of(CallContext&, Args& a) {
    return str(std::string(dynamic_type_name(a[0])));
}
Value f_kind_of(CallContext&, Args& a) {
    return str(std::string(kind_name(a[0])));
}
Value f_type_is(CallContext&, Args& a) {
    return Value::boolean(a[0].as_string() == dynamic_type_name(a[1]));
}
Value f_type_is_like(CallContext&, Args& a) {
    const std::string_view t = dynamic_type_name(a[1]);
    return Value::boolean(a[0].as_string() == t || "*" + std::string(a[0].as_string()) == t);
}
Value f_kind_is(CallContext&, Args& a) {
    return Value::boolean(a[0].as_string() == kind_name(a[1]));
}
Value f_deep_equal(CallContext&, Args& a) {
    return Value::boolean(deep_equal(a[0], a[1]));
}

Value f_base(CallContext&, Args& a) {
    return str(path_base(a[0].as_string()));
}
Value f_dir(CallContext&, Args& a) {
    return str(path_dir(a[0].as_string()));
}
Value f_clean(CallContext&, Args& a) {
    return str(path_clean(a[0].as_string()));
}
Value f_ext(CallContext&, Args& a) {
    return str(path_ext(a[0].as_string()));
}
Value f_is_abs(CallContext&, Args& a) {
    return Value::boolean(!a[0].as_string().empty() && a[0].as_string()[0] == '/');
}

// --- Sprig: dicts and lists -----------------------------------------------------------------

std::map<std::string, Value, std::less<>> map_items(const Value& m) {
    std::map<std::string, Value, std::less<>> out;
    m.for_each_entry(
        [&](std::string_view key, const Value& v) { out[std::string(key)] = stored(v); });
    return out;
}

Value f_list(CallContext& ctx, Args& a) {
    check_items(ctx, a.size());
    std::vector<Value> items;
    items.reserve(a.size());
    for (const auto& v : a) {
        items.push_back(stored(v));
    }
    return any_list(std::move(items));
}

Value f_dict(CallContext&, Args& a) {
    std::map<std::string, Value, std::less<>> m;
    for (std::size_t i = 0; i < a.size(); i += 2) {
        const std::string key = strval(a[i]);
        m[key] = i + 1 < a.size() ? stored(a[i + 1]) : Value::borrowed_string("");
    }
    return Value::map(std::move(m), Elem::any);
}

Value f_get(CallContext&, Args& a) {
    Value v;
    if (a[0].find(a[1].as_string(), v)) {
        return v;
    }
    return Value::borrowed_string("").with_boxed(true);
}

Value f_set(CallContext&, Args& a) {
    if (const MapData* data = a[0].owned_map()) {
        const_cast<MapData*>(data)->items[std::string(a[1].as_string())] = stored(a[2]);
        return a[0];
    }
    auto items = map_items(a[0]);
    items[std::string(a[1].as_string())] = stored(a[2]);
    return Value::map(std::move(items), Elem::any);
}

Value f_unset(CallContext&, Args& a) {
    if (const MapData* data = a[0].owned_map()) {
        auto& items = const_cast<MapData*>(data)->items;
        auto it = items.find(a[1].as_string());
        if (it != items.end()) {
            items.erase(it);
        }
        return a[0];
    }
    auto items = map_items(a[0]);
    auto it = items.find(a[1].as_string());
    if (it != items.end()) {
        items.erase(it);
    }
    return Value::map(std::move(items), Elem::any);
}

Value f_has_key(CallContext&, Args& a) {
    Value v;
    return Value::boolean(a[0].find(a[1].as_string(), v));
}

Value f_pluck(CallContext&, Args& a) {
    std::vector<Value> out;
    for (std::size_t i = 1; i < a.size(); ++i) {
        Value v;
        if (a[i].find(a[0].as_string(), v)) {
            out.push_back(stored(v));
        }
    }
    return any_list(std::move(out));
}

Value f_keys(CallContext&, Args& a) {
    std::vector<std::string> keys;
    for (const auto& m : a) {
        m.for_each_entry([&](std::string_view key, const Value&) { keys.emplace_back(key); });
    }
    return string_list(keys);
}

Value f_values(CallContext&, Args& a) {
    std::vector<Value> out;
    a[0].for_each_entry([&](std::string_view, const Value& v) { out.push_back(stored(v)); });
    return any_list(std::move(out));
}

Value f_pick(CallContext&, Args& a) {
    std::map<std::string, Value, std::less<>> out;
    for (std::size_t i = 1; i < a.size(); ++i) {
        Value v;
        if (a[0].find(a[i].as_string(), v)) {
            out[std::string(a[i].as_string())] = stored(v);
        }
    }
    return Value::map(std::move(out), Elem::any);
}

Value f_omit(CallContext&, Args& a) {
    auto out = map_items(a[0]);
    for (std::size_t i = 1; i < a.size(); ++i) {
        auto it = out.find(a[i].as_string());
        if (it != out.end()) {
            out.erase(it);
        }
    }
    return Value::map(std::move(out), Elem::any);
}

Value f_push(CallContext& ctx, Args& a) {
    require_list(a[0], "Cannot push on type ");
    auto items = list_items(a[0]);
    check_items(ctx, items.size() + 1);
    items.push_back(stored(a[1]));
    return any_list(std::move(items));
}

Value f_prepend(CallContext& ctx, Args& a) {
    require_list(a[0], "Cannot prepend on type ");
    auto items = list_items(a[0]);
    check_items(ctx, items.size() + 1);
    items.insert(items.begin(), stored(a[1]));
    return any_list(std::move(items));
}

Value f_first(CallContext&, Args& a) {
    require_list(a[0], "Cannot find first on type ");
    if (a[0].size() == 0) {
        return Value::nil_interface();
    }
    return a[0].at(0).with_boxed(true);
}

Value f_last(CallContext&, Args& a) {
    require_list(a[0], "Cannot find last on type ");
    if (a[0].size() == 0) {
        return Value::nil_interface();
    }
    return a[0].at(a[0].size() - 1).with_boxed(true);
}

Value f_rest(CallContext&, Args& a) {
    require_list(a[0], "Cannot find rest on type ");
    auto items = list_items(a[0]);
    if (items.empty()) {
        return any_list({});
    }
    items.erase(items.begin());
    return any_list(std::move(items));
}

Value f_initial(CallContext&, Args& a) {
    require_list(a[0], "Cannot find initial on type ");
    auto items = list_items(a[0]);
    if (items.empty()) {
        return any_list({});
    }
    items.pop_back();
    return any_list(std::move(items));
}

Value f_reverse(CallContext&, Args& a) {
    require_list(a[0], "Cannot find reverse on type ");
    auto items = list_items(a[0]);
    std::reverse(items.begin(), items.end());
    return any_list(std::move(items));
}

Value f_uniq(CallContext&, Args& a) {
    require_list(a[0], "Cannot find uniq on type ");
    std::vector<Value> out;
    for (const auto& v : list_items(a[0])) {
        if (std::none_of(out.begin(), out.end(),
                         [&](const Value& o) { return deep_equal(o, v); })) {
            out.push_back(v);
        }
    }
    return any_list(std::move(out));
}

Value f_without(CallContext&, Args& a) {
    require_list(a[0], "Cannot find without on type ");
    std::vector<Value> out;
    for (const auto& v : list_items(a[0])) {
        bool omit = false;
        for (std::size_t i = 1; i < a.size(); ++i) {
            if (deep_equal(a[i], v)) {
                omit = true;
                break;
            }
        }
        if (!omit) {
            out.push_back(v);
        }
    }
    return any_list(std::move(out));
}

Value f_has(CallContext&, Args& a) {
    if (a[1].is_nil()) {
        return Value::boolean(false);
    }
    require_list(a[1], "Cannot find has on type ");
    const std::size_t n = a[1].size();
    for (std::size_t i = 0; i < n; ++i) {
        if (deep_equal(a[0], a[1].at(i))) {
            return Value::boolean(true);
        }
    }
    return Value::boolean(false);
}

Value f_slice(CallContext&, Args& a) {
    require_list(a[0], "list should be type of slice or array but ");
    const Value list = a[0];
    const std::size_t l = list.size();
    if (l == 0) {
        return Value::nil_interface();
    }
    std::int64_t start = 0;
    std::int64_t end = static_cast<std::int64_t>(l);
    if (a.size() > 1) {
        start = to_int64(a[1]);
    }
    if (a.size() > 2) {
        end = to_int64(a[2]);
    }
    if (start < 0 || end < start || end > static_cast<std::int64_t>(l)) {
        fail("reflect.Value.Slice: slice index out of bounds");
    }
    std::vector<Value> items;
    for (auto i = static_cast<std::size_t>(start); i < static_cast<std::size_t>(end); ++i) {
        items.push_back(list.elem() == Elem::any ? stored(list.at(i)) : list.at(i));
    }
    return Value::list(std::move(items), list.elem()).with_boxed(true);
}

Value f_concat(CallContext& ctx, Args& a) {
    std::vector<Value> out;
    for (const auto& v : a) {
        if (v.is_nil()) {
            fail(std::string(kNilDeref));
        }
        if (v.kind() != Kind::list) {
            fail("Cannot concat type " + std::string(kind_name(v)) + " as list");
        }
        for (auto& item : list_items(v)) {
            out.push_back(std::move(item));
        }
        check_items(ctx, out.size());
    }
    return any_list(std::move(out));
}

Value f_chunk(CallContext& ctx, Args& a) {
    require_list(a[1], "Cannot chunk type ");
    const std::int64_t size = a[0].as_int();
    auto items = list_items(a[1]);
    if (size <= 0 && (!items.empty() || size < 0)) {
        fail("runtime error: makeslice: len out of range");
    }
    std::vector<Value> chunks;
    for (std::size_t i = 0; i < items.size(); i += static_cast<std::size_t>(size)) {
        const std::size_t stop = std::min(items.size(), i + static_cast<std::size_t>(size));
        chunks.push_back(
            any_list(std::vector<Value>(items.begin() + static_cast<std::ptrdiff_t>(i),
                                        items.begin() + static_cast<std::ptrdiff_t>(stop))));
    }
    check_items(ctx, chunks.size());
    return any_list(std::move(chunks));
}

Value f_dig(CallContext&, Args& a) {
    if (a.size() < 3) {
        fail("dig needs at least three arguments");
    }
    const Value dict = a.back();
    if (!(dict.kind() == Kind::map && dict.elem() == Elem::any)) {
        fail("interface conversion: interface {} is " + std::string(dynamic_type_name(dict)) +
             ", not map[string]interface {}");
    }
    const Value def = a[a.size() - 2];
    Value current = dict;
    for (std::size_t i = 0; i + 2 < a.size(); ++i) {
        if (a[i].kind() != Kind::string) {
            fail("interface conversion: interface {} is " + std::string(dynamic_type_name(a[i])) +
                 ", not string");
        }
        Value step;
        if (!current.find(a[i].as_string(), step)) {
            return stored(def).with_boxed(true);
        }
        if (i + 3 == a.size()) {
            return step;
        }
        const Value next = step.unboxed();
        if (!(next.kind() == Kind::map && next.elem() == Elem::any)) {
            fail("interface conversion: interface {} is " + std::string(dynamic_type_name(next)) +
                 ", not map[string]interface {}");
        }
        current = next;
    }
    return Value::nil_interface();
}

// --- Sprig: dates, uuid, flow control -------------------------------------------------------

Value f_now(CallContext&, Args&) {
    std::int64_t sec = 0;
    std::int32_t nsec = 0;
    time_now(sec, nsec);
    return Value::time(sec, nsec);
}

Value f_date(CallContext&, Args& a) {
    return format_date(a[0].as_string(), a[1]);
}
Value f_date_in_zone(CallContext&, Args& a) {
    return format_date(a[0].as_string(), a[1]);
}
Value f_html_date(CallContext&, Args& a) {
    return format_date("2006-01-02", a[0]);
}
Value f_unix_epoch(CallContext&, Args& a) {
    return str(std::to_string(a[0].unix_seconds()));
}

Value f_uuidv4(CallContext&, Args&) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uint64_t hi = rng();
    std::uint64_t lo = rng();
    hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL; // version 4
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; // RFC 4122 variant
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                  static_cast<unsigned>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
    return str(buf);
}

Value f_fail(CallContext&, Args& a) {
    fail(std::string(a[0].as_string()));
}

Value f_unsupported(CallContext&, Args&) {
    fail("function not supported by portcullis");
}

// --- Sprig: regular expressions (RE2, whose syntax is Go's regexp syntax) ------------------

std::unique_ptr<RE2> compile(std::string_view pattern) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
    if (!re->ok()) {
        std::string q;
        if (can_backquote(pattern)) {
            q = "`" + std::string(pattern) + "`";
        } else {
            append_quote(q, pattern);
        }
        fail("regexp: Compile(" + q + "): error parsing regexp: " + re->error());
    }
    return re;
}

// Successive non-overlapping matches as Go's regexp finds them (allMatches: an empty match
// right after a previous match is skipped). Calls f(begin, end, groups) for up to n matches
// (all when n < 0).
template <class F> void for_each_match(const RE2& re, std::string_view s, std::int64_t n, F f) {
    if (n < 0) {
        n = static_cast<std::int64_t>(s.size()) + 1;
    }
    const int ngroups = re.NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> groups(static_cast<std::size_t>(ngroups));
    const re2::StringPiece text(s.data(), s.size());
    std::size_t pos = 0;
    std::int64_t i = 0;
    std::int64_t prev_end = -1;
    while (i < n && pos <= s.size()) {
        if (!re.Match(text, pos, s.size(), RE2::UNANCHORED, groups.data(), ngroups)) {
            break;
        }
        const auto begin = static_cast<std::size_t>(groups[0].data() - s.data());
        const std::size_t end = begin + groups[0].size();
        bool accept = true;
        if (end == pos) {
            if (static_cast<std::int64_t>(begin) == prev_end) {
                accept = false;
            }
            const std::size_t width = pos < s.size() ? decode_rune(s, pos).size : 0;
            pos = width > 0 ? pos + width : s.size() + 1;
        } else {
            pos = end;
        }
        prev_end = static_cast<std::int64_t>(end);
        if (accept) {
            f(begin, end, groups);
            ++i;
        }
    }
}

Value f_regex_match(CallContext&, Args& a) {
    RE2::Options options;
    options.set_log_errors(false);
    RE2 re(re2::StringPiece(a[0].as_string().data(), a[0].as_string().size()), options);
    if (!re.ok()) {
        return Value::boolean(false);
    }
    const std::string_view s = a[1].as_string();
    return Value::boolean(RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), re));
}

Value f_must_regex_match(CallContext&, Args& a) {
    auto re = compile(a[0].as_string());
    const std::string_view s = a[1].as_string();
    return Value::boolean(RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re));
}

Value f_regex_find(CallContext&, Args& a) {
    auto re = compile(a[0].as_string());
    std::string out;
    for_each_match(*re, a[1].as_string(), 1, [&](std::size_t b, std::size_t e, const auto&) {
        out = std::string(a[1].as_string().substr(b, e - b));
    });
    return str(std::move(out));
}

Value f_regex_find_all(CallContext&, Args& a) {
    auto re = compile(a[0].as_string());
    std::vector<std::string> out;
    for_each_match(*re, a[1].as_string(), a[2].as_int(),
                   [&](std::size_t b, std::size_t e, const auto&) {
                       out.emplace_back(a[1].as_string().substr(b, e - b));
                   });
    return string_list(out);
}

// regexp's Expand for ReplaceAllString templates ($1, ${1}, $name, $$).
void expand(std::string& out,
            std::string_view tmpl,
            const RE2& re,
            const std::vector<re2::StringPiece>& groups) {
    const auto& names = re.NamedCapturingGroups();
    while (!tmpl.empty()) {
        const std::size_t i = tmpl.find('$');
        if (i == std::string_view::npos) {
            break;
        }
        out.append(tmpl.substr(0, i));
        tmpl.remove_prefix(i);
        if (tmpl.size() > 1 && tmpl[1] == '$') {
            out.push_back('$');
            tmpl.remove_prefix(2);
            continue;
        }
        // extract(): a name, or {name}.
        std::string_view rest = tmpl.substr(1);
        bool brace = false;
        if (!rest.empty() && rest[0] == '{') {
            brace = true;
            rest.remove_prefix(1);
        }
        std::size_t k = 0;
        while (k < rest.size()) {
            Decoded d = decode_rune(rest, k);
            if (!(d.rune == '_' || is_letter(d.rune) || is_digit(d.rune))) {
                break;
            }
            k += d.size;
        }
        bool ok = k > 0;
        std::string_view name = rest.substr(0, k);
        std::size_t consumed = 1 + k;
        if (brace) {
            if (ok && k < rest.size() && rest[k] == '}') {
                consumed = 2 + k + 1;
            } else {
                ok = false;
            }
        }
        if (!ok) {
            out.push_back('$');
            tmpl.remove_prefix(1);
            continue;
        }
        tmpl.remove_prefix(consumed);
        int group = -1;
        if (auto num = parse_int_base(name, 10);
            num && name.find_first_not_of("0123456789") == std::string_view::npos) {
            group = *num < 0 || *num > 1'000'000 ? -1 : static_cast<int>(*num);
        } else {
            auto it = names.find(std::string(name));
            if (it != names.end()) {
                group = it->second;
            }
        }
        if (group >= 0 && static_cast<std::size_t>(group) < groups.size() &&
            groups[static_cast<std::size_t>(group)].data() != nullptr) {
            const auto& g = groups[static_cast<std::size_t>(group)];
            out.append(g.data(), g.size());
        }
    }
    out.append(tmpl);
}

// regexp's replaceAll.
Value regex_replace(CallContext& ctx, Args& a, bool literal) {
    auto re = compile(a[0].as_string());
    const std::string_view s = a[1].as_string();
    const std::string_view repl = a[2].as_string();
    const int ngroups = re->NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> groups(static_cast<std::size_t>(ngroups));
    const re2::StringPiece text(s.data(), s.size());
    std::string out;
    std::size_t last_match_end = 0;
    std::size_t search_pos = 0;
    while (search_pos <= s.size()) {
        if (!re->Match(text, search_pos, s.size(), RE2::UNANCHORED, groups.data(), ngroups)) {
            break;
        }
        const auto begin = static_cast<std::size_t>(groups[0].data() - s.data());
        const std::size_t end = begin + groups[0].size();
        out.append(s.substr(last_match_end, begin - last_match_end));
        if (end > last_match_end || begin == 0) {
            if (literal) {
                out.append(repl);
            } else {
                expand(out, repl, *re, groups);
            }
            check_bytes(ctx, out.size());
        }
        last_match_end = end;
        const std::size_t width = search_pos < s.size() ? decode_rune(s, search_pos).size : 0;
        if (search_pos + width > end) {
            search_pos += width;
        } else if (search_pos + 1 > end) {
            ++search_pos;
        } else {
            search_pos = end;
        }
    }
    out.append(s.substr(last_match_end));
    return str(std::move(out));
}

Value f_regex_replace_all(CallContext& ctx, Args& a) {
    return regex_replace(ctx, a, false);
}
Value f_regex_replace_all_literal(CallContext& ctx, Args& a) {
    return regex_replace(ctx, a, true);
}

Value f_regex_split(CallContext&, Args& a) {
    auto re = compile(a[0].as_string());
    const std::string_view s = a[1].as_string();
    const std::int64_t n = a[2].as_int();
    std::vector<std::string> out;
    if (n == 0) {
        return Value::list({}, Elem::string);
    }
    if (!a[0].as_string().empty() && s.empty()) {
        out.emplace_back();
        return string_list(out);
    }
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    for_each_match(*re, s, n,
                   [&](std::size_t b, std::size_t e, const auto&) { matches.emplace_back(b, e); });
    std::size_t beg = 0;
    std::size_t end = 0;
    for (const auto& [b, e] : matches) {
        if (n > 0 && static_cast<std::int64_t>(out.size()) == n - 1) {
            break;
        }
        end = b;
        if (e != 0) {
            out.emplace_back(s.substr(beg, end - beg));
        }
        beg = e;
    }
    if (end != s.size()) {
        out.emplace_back(s.substr(beg));
    }
    return string_list(out);
}

Value f_regex_quote_meta(CallContext&, Args& a) {
    std::string out;
    for (char c : a[0].as_string()) {
        if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return str(std::move(out));
}

// --- time.Time methods ----------------------------------------------------------------------

Value m_unix(CallContext&, Args& a) {
    return Value::int64(a[0].unix_seconds());
}
Value m_unix_nano(CallContext&, Args& a) {
    return Value::int64(a[0].unix_seconds() * 1'000'000'000 + a[0].nanos());
}
Value m_unix_milli(CallContext&, Args& a) {
    return Value::int64(a[0].unix_seconds() * 1000 + a[0].nanos() / 1'000'000);
}
Value m_year(CallContext&, Args& a) {
    return Value::integer(civil_from_unix(a[0].unix_seconds()).year);
}
Value m_day(CallContext&, Args& a) {
    return Value::integer(civil_from_unix(a[0].unix_seconds()).day);
}
Value m_hour(CallContext&, Args& a) {
    return Value::integer(civil_from_unix(a[0].unix_seconds()).hour);
}
Value m_minute(CallContext&, Args& a) {
    return Value::integer(civil_from_unix(a[0].unix_seconds()).minute);
}
Value m_second(CallContext&, Args& a) {
    return Value::integer(civil_from_unix(a[0].unix_seconds()).second);
}
Value m_nanosecond(CallContext&, Args& a) {
    return Value::integer(a[0].nanos());
}
Value m_year_day(CallContext&, Args& a) {
    return Value::integer(civil_from_unix(a[0].unix_seconds()).yday);
}
Value m_month(CallContext&, Args& a) {
    std::string out;
    append_time_format(out, a[0].unix_seconds(), 0, "January");
    return str(std::move(out));
}
Value m_weekday(CallContext&, Args& a) {
    std::string out;
    append_time_format(out, a[0].unix_seconds(), 0, "Monday");
    return str(std::move(out));
}
Value m_format(CallContext&, Args& a) {
    std::string out;
    append_time_format(out, a[0].unix_seconds(), a[0].nanos(), a[1].as_string());
    return str(std::move(out));
}
Value m_string(CallContext&, Args& a) {
    std::string out;
    append_time_string(out, a[0].unix_seconds(), a[0].nanos());
    return str(std::move(out));
}
Value m_self(CallContext&, Args& a) {
    return a[0];
}
Value m_is_zero(CallContext&, Args& a) {
    return Value::boolean(a[0].unix_seconds() == -62135596800 && a[0].nanos() == 0);
}

// --- the tables -----------------------------------------------------------------------------

using P = ParamType;
using Table = std::unordered_map<std::string_view, Function>;

void fixed(Table& t, std::string_view name, std::vector<P> params, FunctionImpl impl) {
    t[name] = Function{name, std::move(params), false, P::any, false, impl};
}

void variadic(Table& t, std::string_view name, std::vector<P> params, P rest, FunctionImpl impl) {
    t[name] = Function{name, std::move(params), true, rest, false, impl};
}

Table build_functions() {
    Table t;
    // Go builtins. Sprig's slice replaces Go's builtin slice in Tyk's function map.
    t["and"] = Function{"and", {P::value}, true, P::value, true, nullptr};
    t["or"] = Function{"or", {P::value}, true, P::value, true, nullptr};
    fixed(t, "not", {P::value}, f_not);
    fixed(t, "len", {P::value}, f_len);
    variadic(t, "index", {P::value}, P::value, f_index);
    variadic(t, "call", {P::value}, P::value, f_call);
    variadic(t, "print", {}, P::any, f_print);
    variadic(t, "printf", {P::string_}, P::any, f_printf);
    variadic(t, "println", {}, P::any, f_println);
    variadic(t, "html", {}, P::any, f_html);
    variadic(t, "js", {}, P::any, f_js);
    variadic(t, "urlquery", {}, P::any, f_urlquery);
    variadic(t, "eq", {P::value}, P::value, f_eq);
    fixed(t, "ne", {P::value, P::value}, f_ne);
    fixed(t, "lt", {P::value, P::value}, f_lt);
    fixed(t, "le", {P::value, P::value}, f_le);
    fixed(t, "gt", {P::value, P::value}, f_gt);
    fixed(t, "ge", {P::value, P::value}, f_ge);

    // Tyk.
    fixed(t, "jsonMarshal", {P::any}, f_json_marshal);
    fixed(t, "xmlMarshal", {P::any}, f_xml_marshal);

    // Sprig v3 generic functions (env and expandenv removed, as Tyk does).
    fixed(t, "hello", {}, f_hello);
    fixed(t, "date", {P::string_, P::any}, f_date);
    fixed(t, "date_in_zone", {P::string_, P::any, P::string_}, f_date_in_zone);
    fixed(t, "dateInZone", {P::string_, P::any, P::string_}, f_date_in_zone);
    fixed(t, "htmlDate", {P::any}, f_html_date);
    fixed(t, "htmlDateInZone", {P::any, P::string_}, f_html_date);
    fixed(t, "now", {}, f_now);
    fixed(t, "unixEpoch", {P::time_}, f_unix_epoch);

    fixed(t, "abbrev", {P::int_, P::string_}, f_abbrev);
    fixed(t, "trunc", {P::int_, P::string_}, f_trunc);
    fixed(t, "trim", {P::string_}, f_trim);
    fixed(t, "upper", {P::string_}, f_upper);
    fixed(t, "lower", {P::string_}, f_lower);
    fixed(t, "title", {P::string_}, f_title);
    fixed(t, "substr", {P::int_, P::int_, P::string_}, f_substr);
    fixed(t, "repeat", {P::int_, P::string_}, f_repeat);
    fixed(t, "trimall", {P::string_, P::string_}, f_trim_all);
    fixed(t, "trimAll", {P::string_, P::string_}, f_trim_all);
    fixed(t, "trimSuffix", {P::string_, P::string_}, f_trim_suffix);
    fixed(t, "trimPrefix", {P::string_, P::string_}, f_trim_prefix);
    fixed(t, "nospace", {P::string_}, f_nospace);
    fixed(t, "contains", {P::string_, P::string_}, f_contains);
    fixed(t, "hasPrefix", {P::string_, P::string_}, f_has_prefix);
    fixed(t, "hasSuffix", {P::string_, P::string_}, f_has_suffix);
    variadic(t, "quote", {}, P::any, f_quote);
    variadic(t, "squote", {}, P::any, f_squote);
    variadic(t, "cat", {}, P::any, f_cat);
    fixed(t, "indent", {P::int_, P::string_}, f_indent);
    fixed(t, "nindent", {P::int_, P::string_}, f_nindent);
    fixed(t, "replace", {P::string_, P::string_, P::string_}, f_replace);
    fixed(t, "plural", {P::string_, P::string_, P::int_}, f_plural);
    fixed(t, "sha1sum", {P::string_}, f_sha1sum);
    fixed(t, "sha256sum", {P::string_}, f_sha256sum);
    fixed(t, "adler32sum", {P::string_}, f_adler32sum);
    fixed(t, "toString", {P::any}, f_to_string);

    fixed(t, "atoi", {P::string_}, f_atoi);
    fixed(t, "int64", {P::any}, f_int64);
    fixed(t, "int", {P::any}, f_int);
    fixed(t, "float64", {P::any}, f_float64);
    fixed(t, "toDecimal", {P::any}, f_to_decimal);

    fixed(t, "split", {P::string_, P::string_}, f_split);
    fixed(t, "splitList", {P::string_, P::string_}, f_split_list);
    fixed(t, "splitn", {P::string_, P::int_, P::string_}, f_splitn);
    fixed(t, "toStrings", {P::any}, f_to_strings);

    fixed(t, "until", {P::int_}, f_until);
    fixed(t, "untilStep", {P::int_, P::int_, P::int_}, f_until_step3);

    fixed(t, "add1", {P::any}, f_add1);
    variadic(t, "add", {}, P::any, f_add);
    fixed(t, "sub", {P::any, P::any}, f_sub);
    fixed(t, "div", {P::any, P::any}, f_div);
    fixed(t, "mod", {P::any, P::any}, f_mod);
    variadic(t, "mul", {P::any}, P::any, f_mul);
    variadic(t, "biggest", {P::any}, P::any, f_max);
    variadic(t, "max", {P::any}, P::any, f_max);
    variadic(t, "min", {P::any}, P::any, f_min);
    variadic(t, "maxf", {P::any}, P::any, f_maxf);
    variadic(t, "minf", {P::any}, P::any, f_minf);
    fixed(t, "ceil", {P::any}, f_ceil);
    fixed(t, "floor", {P::any}, f_floor);
    variadic(t, "round", {P::any, P::int_}, P::float64_, f_round);

    fixed(t, "join", {P::string_, P::any}, f_join);
    fixed(t, "sortAlpha", {P::any}, f_sort_alpha);

    variadic(t, "default", {P::any}, P::any, f_default);
    fixed(t, "empty", {P::any}, f_empty);
    variadic(t, "coalesce", {}, P::any, f_coalesce);
    variadic(t, "all", {}, P::any, f_all);
    variadic(t, "any", {}, P::any, f_any);
    fixed(t, "compact", {P::any}, f_compact);
    fixed(t, "mustCompact", {P::any}, f_compact);
    fixed(t, "fromJson", {P::string_}, f_from_json);
    fixed(t, "mustFromJson", {P::string_}, f_must_from_json);
    fixed(t, "toJson", {P::any}, f_to_json);
    fixed(t, "mustToJson", {P::any}, f_must_to_json);
    fixed(t, "toPrettyJson", {P::any}, f_to_pretty_json);
    fixed(t, "mustToPrettyJson", {P::any}, f_to_pretty_json);
    fixed(t, "toRawJson", {P::any}, f_to_raw_json);
    fixed(t, "mustToRawJson", {P::any}, f_to_raw_json);
    fixed(t, "ternary", {P::any, P::any, P::bool_}, f_ternary);

    fixed(t, "typeOf", {P::any}, f_type_of);
    fixed(t, "typeIs", {P::string_, P::any}, f_type_is);
    fixed(t, "typeIsLike", {P::string_, P::any}, f_type_is_like);
    fixed(t, "kindOf", {P::any}, f_kind_of);
    fixed(t, "kindIs", {P::string_, P::any}, f_kind_is);
    fixed(t, "deepEqual", {P::any, P::any}, f_deep_equal);

    fixed(t, "base", {P::string_}, f_base);
    fixed(t, "dir", {P::string_}, f_dir);
    fixed(t, "clean", {P::string_}, f_clean);
    fixed(t, "ext", {P::string_}, f_ext);
    fixed(t, "isAbs", {P::string_}, f_is_abs);
    fixed(t, "osBase", {P::string_}, f_base);
    fixed(t, "osDir", {P::string_}, f_dir);
    fixed(t, "osClean", {P::string_}, f_clean);
    fixed(t, "osExt", {P::string_}, f_ext);
    fixed(t, "osIsAbs", {P::string_}, f_is_abs);

    fixed(t, "b64enc", {P::string_}, f_b64enc);
    fixed(t, "b64dec", {P::string_}, f_b64dec);
    fixed(t, "b32enc", {P::string_}, f_b32enc);
    fixed(t, "b32dec", {P::string_}, f_b32dec);

    variadic(t, "tuple", {}, P::any, f_list);
    variadic(t, "list", {}, P::any, f_list);
    variadic(t, "dict", {}, P::any, f_dict);
    fixed(t, "get", {P::map_any, P::string_}, f_get);
    fixed(t, "set", {P::map_any, P::string_, P::any}, f_set);
    fixed(t, "unset", {P::map_any, P::string_}, f_unset);
    fixed(t, "hasKey", {P::map_any, P::string_}, f_has_key);
    variadic(t, "pluck", {P::string_}, P::map_any, f_pluck);
    variadic(t, "keys", {}, P::map_any, f_keys);
    variadic(t, "pick", {P::map_any}, P::string_, f_pick);
    variadic(t, "omit", {P::map_any}, P::string_, f_omit);
    fixed(t, "values", {P::map_any}, f_values);

    for (std::string_view name : {"append", "push", "mustAppend", "mustPush"}) {
        fixed(t, name, {P::any, P::any}, f_push);
    }
    fixed(t, "prepend", {P::any, P::any}, f_prepend);
    fixed(t, "mustPrepend", {P::any, P::any}, f_prepend);
    fixed(t, "first", {P::any}, f_first);
    fixed(t, "mustFirst", {P::any}, f_first);
    fixed(t, "rest", {P::any}, f_rest);
    fixed(t, "mustRest", {P::any}, f_rest);
    fixed(t, "last", {P::any}, f_last);
    fixed(t, "mustLast", {P::any}, f_last);
    fixed(t, "initial", {P::any}, f_initial);
    fixed(t, "mustInitial", {P::any}, f_initial);
    fixed(t, "reverse", {P::any}, f_reverse);
    fixed(t, "mustReverse", {P::any}, f_reverse);
    fixed(t, "uniq", {P::any}, f_uniq);
    fixed(t, "mustUniq", {P::any}, f_uniq);
    variadic(t, "without", {P::any}, P::any, f_without);
    variadic(t, "mustWithout", {P::any}, P::any, f_without);
    fixed(t, "has", {P::any, P::any}, f_has);
    fixed(t, "mustHas", {P::any, P::any}, f_has);
    variadic(t, "slice", {P::any}, P::any, f_slice);
    variadic(t, "mustSlice", {P::any}, P::any, f_slice);
    variadic(t, "concat", {}, P::any, f_concat);
    variadic(t, "dig", {}, P::any, f_dig);
    fixed(t, "chunk", {P::int_, P::any}, f_chunk);
    fixed(t, "mustChunk", {P::int_, P::any}, f_chunk);

    fixed(t, "uuidv4", {}, f_uuidv4);
    fixed(t, "fail", {P::string_}, f_fail);

    fixed(t, "regexMatch", {P::string_, P::string_}, f_regex_match);
    fixed(t, "mustRegexMatch", {P::string_, P::string_}, f_must_regex_match);
    fixed(t, "regexFindAll", {P::string_, P::string_, P::int_}, f_regex_find_all);
    fixed(t, "mustRegexFindAll", {P::string_, P::string_, P::int_}, f_regex_find_all);
    fixed(t, "regexFind", {P::string_, P::string_}, f_regex_find);
    fixed(t, "mustRegexFind", {P::string_, P::string_}, f_regex_find);
    fixed(t, "regexReplaceAll", {P::string_, P::string_, P::string_}, f_regex_replace_all);
    fixed(t, "mustRegexReplaceAll", {P::string_, P::string_, P::string_}, f_regex_replace_all);
    fixed(t, "regexReplaceAllLiteral", {P::string_, P::string_, P::string_},
          f_regex_replace_all_literal);
    fixed(t, "mustRegexReplaceAllLiteral", {P::string_, P::string_, P::string_},
          f_regex_replace_all_literal);
    fixed(t, "regexSplit", {P::string_, P::string_, P::int_}, f_regex_split);
    fixed(t, "mustRegexSplit", {P::string_, P::string_, P::int_}, f_regex_split);
    fixed(t, "regexQuoteMeta", {P::string_}, f_regex_quote_meta);

    // Sprig functions Portcullis does not implement: they parse, and fail when called.
    for (std::string_view name : {"ago",
                                  "date_modify",
                                  "dateModify",
                                  "duration",
                                  "durationRound",
                                  "must_date_modify",
                                  "mustDateModify",
                                  "mustToDate",
                                  "toDate",
                                  "abbrevboth",
                                  "untitle",
                                  "initials",
                                  "randAlphaNum",
                                  "randAlpha",
                                  "randAscii",
                                  "randNumeric",
                                  "swapcase",
                                  "shuffle",
                                  "snakecase",
                                  "camelcase",
                                  "kebabcase",
                                  "wrap",
                                  "wrapWith",
                                  "seq",
                                  "randInt",
                                  "add1f",
                                  "addf",
                                  "subf",
                                  "divf",
                                  "mulf",
                                  "deepCopy",
                                  "mustDeepCopy",
                                  "getHostByName",
                                  "merge",
                                  "mergeOverwrite",
                                  "mustMerge",
                                  "mustMergeOverwrite",
                                  "bcrypt",
                                  "htpasswd",
                                  "genPrivateKey",
                                  "derivePassword",
                                  "buildCustomCert",
                                  "genCA",
                                  "genCAWithKey",
                                  "genSelfSignedCert",
                                  "genSelfSignedCertWithKey",
                                  "genSignedCert",
                                  "genSignedCertWithKey",
                                  "encryptAES",
                                  "decryptAES",
                                  "randBytes",
                                  "semver",
                                  "semverCompare",
                                  "urlParse",
                                  "urlJoin"}) {
        variadic(t, name, {}, P::any, f_unsupported);
    }
    return t;
}

Table build_time_methods() {
    Table t;
    fixed(t, "Unix", {}, m_unix);
    fixed(t, "UnixNano", {}, m_unix_nano);
    fixed(t, "UnixMilli", {}, m_unix_milli);
    fixed(t, "Year", {}, m_year);
    fixed(t, "Month", {}, m_month);
    fixed(t, "Day", {}, m_day);
    fixed(t, "Weekday", {}, m_weekday);
    fixed(t, "YearDay", {}, m_year_day);
    fixed(t, "Hour", {}, m_hour);
    fixed(t, "Minute", {}, m_minute);
    fixed(t, "Second", {}, m_second);
    fixed(t, "Nanosecond", {}, m_nanosecond);
    fixed(t, "Format", {P::string_}, m_format);
    fixed(t, "String", {}, m_string);
    fixed(t, "UTC", {}, m_self);
    fixed(t, "Local", {}, m_self);
    fixed(t, "IsZero", {}, m_is_zero);
    return t;
}

} // namespace

const Function* find_function(std::string_view name) {
    static const Table table = build_functions();
    auto it = table.find(name);
    return it == table.end() ? nullptr : &it->second;
}

const Function* find_time_method(std::string_view name) {
    static const Table table = build_time_methods();
    auto it = table.find(name);
    return it == table.end() ? nullptr : &it->second;
}

} // namespace portcullis::tmpl::detail
