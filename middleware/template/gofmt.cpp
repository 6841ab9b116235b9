#include "middleware/template/gofmt.hpp"

#include "middleware/template/gotime.hpp"
#include "middleware/template/text.hpp"

#include <bit>
#include <cstdio>
#include <cstring>

namespace portcullis::tmpl::detail {

namespace {

constexpr std::string_view kLDigits = "0123456789abcdefx";
constexpr std::string_view kUDigits = "0123456789ABCDEFX";
constexpr int kTooLarge = 1'000'000;

// One fmt.pp: the flags of the verb being formatted and the output buffer.
class Printer {
  public:
    explicit Printer(std::string& buf) : buf_(buf) {}

    void do_print(const Value* a, std::size_t n);
    void do_println(const Value* a, std::size_t n);
    void do_printf(std::string_view format, const Value* a, std::size_t n);
    void print_arg(const Value& arg, char32_t verb);

  private:
    void clear_flags() {
        plus_ = minus_ = sharp_ = space_ = zero_ = plus_v_ = sharp_v_ = false;
        wid_ = prec_ = 0;
        wid_present_ = prec_present_ = false;
    }
    void print_value(const Value& v, char32_t verb, int depth);
    bool handle_methods(const Value& v, char32_t verb);
    void bad_verb(char32_t verb, const Value* v);

    void write_padding(int n);
    void pad(std::string_view s);
    void fmt_boolean(bool b, char32_t verb, const Value& v);
    void fmt_integer(std::int64_t i, char32_t verb, const Value& v);
    void fmt_integer_base(
        std::uint64_t u, int base, bool is_signed, char32_t verb, std::string_view digits);
    void fmt_c(std::uint64_t c);
    void fmt_qc(std::uint64_t c);
    void fmt_unicode(std::uint64_t u);
    void fmt_float(double v, char32_t verb, const Value& val);
    void fmt_float_impl(double v, char verb, int prec);
    void fmt_complex(double re, double im, char32_t verb, const Value& v);
    void fmt_string(std::string_view s, char32_t verb, const Value& v);
    void fmt_s(std::string_view s);
    void fmt_q(std::string_view s);
    void fmt_sx(std::string_view s, std::string_view digits);
    std::string_view truncate(std::string_view s) const;

    std::string& buf_;
    bool plus_ = false, minus_ = false, sharp_ = false, space_ = false, zero_ = false;
    bool plus_v_ = false, sharp_v_ = false;
    int wid_ = 0, prec_ = 0;
    bool wid_present_ = false, prec_present_ = false;
    bool erroring_ = false;
    bool reordered_ = false, good_arg_num_ = true;
};

void Printer::write_padding(int n) {
    if (n <= 0) {
        return;
    }
    buf_.append(static_cast<std::size_t>(n), zero_ ? '0' : ' ');
}

void Printer::pad(std::string_view s) {
    if (!wid_present_ || wid_ == 0) {
        buf_.append(s);
        return;
    }
    const int width = wid_ - static_cast<int>(rune_count(s));
    if (!minus_) {
        write_padding(width);
        buf_.append(s);
    } else {
        buf_.append(s);
        write_padding(width);
    }
}

void Printer::bad_verb(char32_t verb, const Value* v) {
    erroring_ = true;
    buf_ += "%!";
    append_rune(buf_, verb);
    buf_.push_back('(');
    if (v != nullptr && !v->is_nil()) {
        buf_.append(dynamic_type_name(*v));
        buf_.push_back('=');
        print_arg(*v, 'v');
    } else {
        buf_ += "<nil>";
    }
    buf_.push_back(')');
    erroring_ = false;
}

void Printer::fmt_boolean(bool b, char32_t verb, const Value& v) {
    if (verb == 't' || verb == 'v') {
        pad(b ? "true" : "false");
    } else {
        bad_verb(verb, &v);
    }
}

void Printer::fmt_integer_base(
    std::uint64_t u, int base, bool is_signed, char32_t verb, std::string_view digits) {
    const bool negative = is_signed && static_cast<std::int64_t>(u) < 0;
    if (negative) {
        u = 0 - u;
    }
    int prec = 0;
    if (prec_present_) {
        prec = prec_;
        if (prec == 0 && u == 0) {
            const bool old_zero = zero_;
            zero_ = false;
            write_padding(wid_);
            zero_ = old_zero;
            return;
        }
    } else if (zero_ && wid_present_) {
        prec = wid_;
        if (negative || plus_ || space_) {
            --prec;
        }
    }
    std::string tmp(static_cast<std::size_t>(68 + std::max(prec, 0) + std::max(wid_, 0)), '\0');
    std::size_t i = tmp.size();
    const auto b = static_cast<std::uint64_t>(base);
    while (u >= b) {
        tmp[--i] = digits[u % b];
        u /= b;
    }
    tmp[--i] = digits[u];
    while (i > 0 && prec > static_cast<int>(tmp.size() - i)) {
        tmp[--i] = '0';
    }
    if (sharp_) {
        switch (base) {
        case 2:
            tmp[--i] = 'b';
            tmp[--i] = '0';
            break;
        case 8:
            if (tmp[i] != '0') {
                tmp[--i] = '0';
            }
            break;
        case 16:
            tmp[--i] = digits[16];
            tmp[--i] = '0';
            break;
        default:
            break;
        }
    }
    if (verb == 'O') {
        tmp[--i] = 'o';
        tmp[--i] = '0';
    }
    if (negative) {
        tmp[--i] = '-';
    } else if (plus_) {
        tmp[--i] = '+';
    } else if (space_) {
        tmp[--i] = ' ';
    }
    const bool old_zero = zero_;
    zero_ = false;
    pad(std::string_view(tmp).substr(i));
    zero_ = old_zero;
}

void Printer::fmt_c(std::uint64_t c) {
    char32_t r = c > kMaxRune ? kRuneError : static_cast<char32_t>(c);
    std::string s;
    append_rune(s, r);
    pad(s);
}

void Printer::fmt_qc(std::uint64_t c) {
    char32_t r = c > kMaxRune ? kRuneError : static_cast<char32_t>(c);
    std::string s;
    std::string single;
    append_rune(single, r);
    if (sharp_ && can_backquote(single)) {
        s = "`" + single + "`";
    } else {
        append_quote_rune(s, r, plus_);
    }
    pad(s);
}

void Printer::fmt_unicode(std::uint64_t u) {
    int prec = 4;
    if (prec_present_ && prec_ > 4) {
        prec = prec_;
    }
    std::string tail;
    if (sharp_ && u <= kMaxRune && is_print(static_cast<char32_t>(u))) {
        tail += " '";
        append_rune(tail, static_cast<char32_t>(u));
        tail += "'";
    }
    std::string hex;
    do {
        hex.insert(hex.begin(), kUDigits[u & 0xF]);
        u >>= 4;
        --prec;
    } while (u > 0);
    while (prec > 0) {
        hex.insert(hex.begin(), '0');
        --prec;
    }
    const bool old_zero = zero_;
    zero_ = false;
    pad("U+" + hex + tail);
    zero_ = old_zero;
}

void Printer::fmt_integer(std::int64_t i, char32_t verb, const Value& v) {
    const auto u = static_cast<std::uint64_t>(i);
    const bool is_signed = v.kind() != Kind::uint8;
    switch (verb) {
    case 'v':
        if (sharp_v_ && !is_signed) {
            // %#v of an unsigned integer: 0x-prefixed hex.
            const bool old_sharp = sharp_;
            sharp_ = true;
            fmt_integer_base(u, 16, false, verb, kLDigits);
            sharp_ = old_sharp;
            break;
        }
        fmt_integer_base(u, 10, is_signed, verb, kLDigits);
        break;
    case 'd':
        fmt_integer_base(u, 10, is_signed, verb, kLDigits);
        break;
    case 'b':
        fmt_integer_base(u, 2, true, verb, kLDigits);
        break;
    case 'o':
    case 'O':
        fmt_integer_base(u, 8, true, verb, kLDigits);
        break;
    case 'x':
        fmt_integer_base(u, 16, true, verb, kLDigits);
        break;
    case 'X':
        fmt_integer_base(u, 16, true, verb, kUDigits);
        break;
    case 'c':
        fmt_c(u);
        break;
    case 'q':
        fmt_qc(u);
        break;
    case 'U':
        fmt_unicode(u);
        break;
    default:
        bad_verb(verb, &v);
        break;
    }
}

void append_hex_float(std::string& out, double v, int prec, bool upper) {
    char buf[64];
    if (prec < 0) {
        std::snprintf(buf, sizeof buf, "%a", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.*a", prec, v);
    }
    // Go writes at least two exponent digits.
    std::string s;
    const std::string_view text = buf;
    const std::size_t p = text.find('p');
    if (p != std::string_view::npos && text.size() - p == 3) {
        s.append(text.substr(0, p + 2));
        s.push_back('0');
        s.append(text.substr(p + 2));
    } else {
        s.append(text);
    }
    if (upper) {
        for (char& c : s) {
            if (c >= 'a' && c <= 'z') {
                c = static_cast<char>(c - 32);
            }
        }
    }
    out += s;
}

void append_binary_float(std::string& out, double v) {
    const auto bits = std::bit_cast<std::uint64_t>(v);
    int exp = static_cast<int>((bits >> 52) & 0x7FF);
    std::uint64_t mant = bits & ((std::uint64_t{1} << 52) - 1);
    if (exp == 0) {
        ++exp;
    } else {
        mant |= std::uint64_t{1} << 52;
    }
    exp += -1023 - 52;
    if ((bits >> 63) != 0) {
        out.push_back('-');
    }
    append_uint(out, mant);
    out.push_back('p');
    if (exp >= 0) {
        out.push_back('+');
    }
    append_int(out, exp);
}

void Printer::fmt_float_impl(double v, char verb, int prec) {
    if (prec_present_) {
        prec = prec_;
    }
    std::string num = "+";
    if (verb == 'x' || verb == 'X') {
        append_hex_float(num, v, prec, verb == 'X');
    } else if (verb == 'b') {
        append_binary_float(num, v);
    } else {
        append_float(num, v, verb, prec);
    }
    if (num[1] == '-' || num[1] == '+') {
        num.erase(0, 1);
    } else {
        num[0] = '+';
    }
    if (space_ && num[0] == '+' && !plus_) {
        num[0] = ' ';
    }
    if (num[1] == 'I' || num[1] == 'N') {
        const bool old_zero = zero_;
        zero_ = false;
        if (num[1] == 'N' && !space_ && !plus_) {
            num.erase(0, 1);
        }
        pad(num);
        zero_ = old_zero;
        return;
    }
    if (sharp_ && verb != 'b') {
        int digits = 0;
        switch (verb) {
        case 'v':
        case 'g':
        case 'G':
        case 'x':
            digits = prec;
            if (digits == -1) {
                digits = 6;
            }
            break;
        default:
            break;
        }
        std::string tail;
        bool has_decimal_point = false;
        bool saw_nonzero_digit = false;
        for (std::size_t i = 1; i < num.size(); ++i) {
            const char c = num[i];
            if (c == '.') {
                has_decimal_point = true;
                continue;
            }
            if (c == 'p' || c == 'P' || ((c == 'e' || c == 'E') && verb != 'x' && verb != 'X')) {
                tail = num.substr(i);
                num.resize(i);
                break;
            }
            if (c != '0') {
                saw_nonzero_digit = true;
            }
            if (saw_nonzero_digit) {
                --digits;
            }
        }
        if (!has_decimal_point) {
            if (num.size() == 2 && num[1] == '0') {
                --digits;
            }
            num.push_back('.');
        }
        while (digits > 0) {
            num.push_back('0');
            --digits;
        }
        num += tail;
    }
    if (plus_ || num[0] != '+') {
        if (zero_ && wid_present_ && wid_ > static_cast<int>(num.size())) {
            buf_.push_back(num[0]);
            write_padding(wid_ - static_cast<int>(num.size()));
            buf_.append(num, 1);
            return;
        }
        pad(num);
        return;
    }
    pad(std::string_view(num).substr(1));
}

void Printer::fmt_float(double v, char32_t verb, const Value& val) {
    switch (verb) {
    case 'v':
        fmt_float_impl(v, 'g', -1);
        break;
    case 'b':
    case 'g':
    case 'G':
    case 'x':
    case 'X':
        fmt_float_impl(v, static_cast<char>(verb), -1);
        break;
    case 'f':
    case 'e':
    case 'E':
        fmt_float_impl(v, static_cast<char>(verb), 6);
        break;
    case 'F':
        fmt_float_impl(v, 'f', 6);
        break;
    default:
        bad_verb(verb, &val);
        break;
    }
}

void Printer::fmt_complex(double re, double im, char32_t verb, const Value& v) {
    switch (verb) {
    case 'v':
    case 'b':
    case 'g':
    case 'G':
    case 'x':
    case 'X':
    case 'f':
    case 'F':
    case 'e':
    case 'E': {
        const bool old_plus = plus_;
        buf_.push_back('(');
        fmt_float(re, verb, v);
        plus_ = true;
        fmt_float(im, verb, v);
        buf_ += "i)";
        plus_ = old_plus;
        break;
    }
    default:
        bad_verb(verb, &v);
        break;
    }
}

std::string_view Printer::truncate(std::string_view s) const {
    if (prec_present_) {
        int n = prec_;
        for (std::size_t i = 0; i < s.size();) {
            --n;
            if (n < 0) {
                return s.substr(0, i);
            }
            i += decode_rune(s, i).size;
        }
    }
    return s;
}

void Printer::fmt_s(std::string_view s) {
    pad(truncate(s));
}

void Printer::fmt_q(std::string_view s) {
    s = truncate(s);
    std::string q;
    if (sharp_ && can_backquote(s)) {
        q.push_back('`');
        q.append(s);
        q.push_back('`');
    } else {
        append_quote(q, s, plus_);
    }
    pad(q);
}

void Printer::fmt_sx(std::string_view s, std::string_view digits) {
    int length = static_cast<int>(s.size());
    if (prec_present_ && prec_ < length) {
        length = prec_;
    }
    int width = 2 * length;
    if (width > 0) {
        if (space_) {
            if (sharp_) {
                width *= 2;
            }
            width += length - 1;
        } else if (sharp_) {
            width += 2;
        }
    } else {
        if (wid_present_) {
            write_padding(wid_);
        }
        return;
    }
    if (wid_present_ && wid_ > width && !minus_) {
        write_padding(wid_ - width);
    }
    if (sharp_) {
        buf_.push_back('0');
        buf_.push_back(digits[16]);
    }
    for (int i = 0; i < length; ++i) {
        if (space_ && i > 0) {
            buf_.push_back(' ');
            if (sharp_) {
                buf_.push_back('0');
                buf_.push_back(digits[16]);
            }
        }
        const auto c = static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
        buf_.push_back(digits[c >> 4]);
        buf_.push_back(digits[c & 0xF]);
    }
    if (wid_present_ && wid_ > width && minus_) {
        write_padding(wid_ - width);
    }
}

void Printer::fmt_string(std::string_view s, char32_t verb, const Value& v) {
    switch (verb) {
    case 'v':
        if (sharp_v_) {
            fmt_q(s);
        } else {
            fmt_s(s);
        }
        break;
    case 's':
        fmt_s(s);
        break;
    case 'x':
        fmt_sx(s, kLDigits);
        break;
    case 'X':
        fmt_sx(s, kUDigits);
        break;
    case 'q':
        fmt_q(s);
        break;
    default:
        bad_verb(verb, &v);
        break;
    }
}

bool Printer::handle_methods(const Value& v, char32_t verb) {
    if (erroring_ || sharp_v_ || v.kind() != Kind::time) {
        return false;
    }
    switch (verb) {
    case 'v':
    case 's':
    case 'x':
    case 'X':
    case 'q': {
        std::string s;
        append_time_string(s, v.unix_seconds(), v.nanos());
        fmt_string(s, verb, v);
        return true;
    }
    default:
        return false;
    }
}

void Printer::print_arg(const Value& arg, char32_t verb) {
    if (arg.is_nil()) {
        if (verb == 'T' || verb == 'v') {
            pad("<nil>");
        } else {
            bad_verb(verb, nullptr);
        }
        return;
    }
    if (verb == 'T') {
        fmt_s(dynamic_type_name(arg));
        return;
    }
    if (verb == 'p') {
        bad_verb(verb, &arg);
        return;
    }
    switch (arg.kind()) {
    case Kind::boolean:
        fmt_boolean(arg.as_bool(), verb, arg);
        break;
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        fmt_integer(arg.as_int(), verb, arg);
        break;
    case Kind::float64:
        fmt_float(arg.as_float(), verb, arg);
        break;
    case Kind::complex128:
        fmt_complex(arg.real(), arg.imag(), verb, arg);
        break;
    case Kind::string:
        fmt_string(arg.as_string(), verb, arg);
        break;
    case Kind::time:
        if (!handle_methods(arg, verb)) {
            bad_verb(verb, nullptr);
        }
        break;
    default:
        print_value(arg, verb, 0);
        break;
    }
}

void Printer::print_value(const Value& v, char32_t verb, int depth) {
    if (depth > 0 && v.valid() && handle_methods(v, verb)) {
        return;
    }
    if (depth > kMaxValueDepth && (v.kind() == Kind::list || v.kind() == Kind::map)) {
        buf_ += "...";
        return;
    }
    switch (v.kind()) {
    case Kind::invalid:
    case Kind::nil:
        if (depth == 0) {
            buf_ += "<invalid reflect.Value>";
        } else if (sharp_v_) {
            buf_ += "interface {}(nil)";
        } else {
            buf_ += "<nil>";
        }
        break;
    case Kind::boolean:
        fmt_boolean(v.as_bool(), verb, v);
        break;
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        fmt_integer(v.as_int(), verb, v);
        break;
    case Kind::float64:
        fmt_float(v.as_float(), verb, v);
        break;
    case Kind::complex128:
        fmt_complex(v.real(), v.imag(), verb, v);
        break;
    case Kind::string:
        fmt_string(v.as_string(), verb, v);
        break;
    case Kind::time:
        bad_verb(verb, nullptr);
        break;
    case Kind::map: {
        if (sharp_v_) {
            buf_.append(dynamic_type_name(v));
            buf_.push_back('{');
        } else {
            buf_ += "map[";
        }
        bool first = true;
        v.for_each_entry([&](std::string_view key, const Value& value) {
            if (!first) {
                buf_ += sharp_v_ ? ", " : " ";
            }
            first = false;
            print_value(Value::borrowed_string(key), verb, depth + 1);
            buf_.push_back(':');
            print_value(value, verb, depth + 1);
        });
        buf_.push_back(sharp_v_ ? '}' : ']');
        break;
    }
    case Kind::list: {
        if (sharp_v_) {
            buf_.append(dynamic_type_name(v));
            buf_.push_back('{');
        } else {
            buf_.push_back('[');
        }
        const std::size_t n = v.size();
        for (std::size_t i = 0; i < n; ++i) {
            if (i > 0) {
                buf_ += sharp_v_ ? ", " : " ";
            }
            print_value(v.at(i), verb, depth + 1);
        }
        buf_.push_back(sharp_v_ ? '}' : ']');
        break;
    }
    }
}

void Printer::do_print(const Value* a, std::size_t n) {
    bool prev_string = false;
    for (std::size_t i = 0; i < n; ++i) {
        const bool is_string = !a[i].is_nil() && a[i].kind() == Kind::string;
        if (i > 0 && !is_string && !prev_string) {
            buf_.push_back(' ');
        }
        clear_flags();
        print_arg(a[i], 'v');
        prev_string = is_string;
    }
}

void Printer::do_println(const Value* a, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) {
            buf_.push_back(' ');
        }
        clear_flags();
        print_arg(a[i], 'v');
    }
    buf_.push_back('\n');
}

namespace {

struct Num {
    int num = 0;
    bool isnum = false;
    std::size_t newi = 0;
};

Num parsenum(std::string_view s, std::size_t start, std::size_t end) {
    Num r;
    if (start >= end) {
        r.newi = end;
        return r;
    }
    for (r.newi = start; r.newi < end && s[r.newi] >= '0' && s[r.newi] <= '9'; ++r.newi) {
        if (r.num > kTooLarge || r.num < -kTooLarge) {
            return Num{0, false, end};
        }
        r.num = r.num * 10 + (s[r.newi] - '0');
        r.isnum = true;
    }
    return r;
}

} // namespace

void Printer::do_printf(std::string_view format, const Value* a, std::size_t n) {
    const std::size_t end = format.size();
    std::size_t arg_num = 0;
    bool after_index = false;
    reordered_ = false;

    auto arg_number = [&](std::size_t i, bool& found) -> std::size_t {
        found = false;
        if (format.size() <= i || format[i] != '[') {
            return i;
        }
        reordered_ = true;
        // parseArgNumber
        std::size_t wid = 1;
        bool ok = false;
        int index = 0;
        std::string_view f = format.substr(i);
        if (f.size() >= 3) {
            for (std::size_t j = 1; j < f.size(); ++j) {
                if (f[j] == ']') {
                    Num num = parsenum(f, 1, j);
                    if (!num.isnum || num.newi != j) {
                        wid = j + 1;
                        ok = false;
                    } else {
                        index = num.num - 1;
                        wid = j + 1;
                        ok = true;
                    }
                    break;
                }
            }
        }
        if (ok && index >= 0 && static_cast<std::size_t>(index) < n) {
            arg_num = static_cast<std::size_t>(index);
            found = true;
            return i + wid;
        }
        good_arg_num_ = false;
        found = ok;
        return i + wid;
    };

    auto int_from_arg = [&](int& num, bool& is_int) {
        num = 0;
        is_int = false;
        if (arg_num < n) {
            const Value& v = a[arg_num];
            if (!v.is_nil() &&
                (v.kind() == Kind::int_ || v.kind() == Kind::int64 || v.kind() == Kind::uint8)) {
                num = static_cast<int>(v.as_int());
                is_int = static_cast<std::int64_t>(num) == v.as_int();
            }
            ++arg_num;
            if (num > kTooLarge || num < -kTooLarge) {
                num = 0;
                is_int = false;
            }
        }
    };

    std::size_t i = 0;
    while (i < end) {
        good_arg_num_ = true;
        const std::size_t lasti = i;
        while (i < end && format[i] != '%') {
            ++i;
        }
        if (i > lasti) {
            buf_.append(format.substr(lasti, i - lasti));
        }
        if (i >= end) {
            break;
        }
        ++i;
        clear_flags();
        bool simple_done = false;
        for (; i < end; ++i) {
            const char c = format[i];
            bool is_flag = true;
            switch (c) {
            case '#':
                sharp_ = true;
                break;
            case '0':
                zero_ = !minus_;
                break;
            case '+':
                plus_ = true;
                break;
            case '-':
                minus_ = true;
                zero_ = false;
                break;
            case ' ':
                space_ = true;
                break;
            default:
                is_flag = false;
                break;
            }
            if (is_flag) {
                continue;
            }
            if (c >= 'a' && c <= 'z' && arg_num < n) {
                if (c == 'v') {
                    sharp_v_ = sharp_;
                    sharp_ = false;
                    plus_v_ = plus_;
                    plus_ = false;
                }
                print_arg(a[arg_num], static_cast<char32_t>(c));
                ++arg_num;
                ++i;
                simple_done = true;
            }
            break;
        }
        if (simple_done) {
            continue;
        }
        bool found = false;
        i = arg_number(i, found);
        after_index = found;

        if (i < end && format[i] == '*') {
            ++i;
            int num = 0;
            bool is_int = false;
            int_from_arg(num, is_int);
            wid_ = num;
            wid_present_ = is_int;
            if (!wid_present_) {
                buf_ += "%!(BADWIDTH)";
            }
            if (wid_ < 0) {
                wid_ = -wid_;
                minus_ = true;
                zero_ = false;
            }
            after_index = false;
        } else {
            Num num = parsenum(format, i, end);
            wid_ = num.num;
            wid_present_ = num.isnum;
            i = num.newi;
            if (after_index && wid_present_) {
                good_arg_num_ = false;
            }
        }

        if (i + 1 < end && format[i] == '.') {
            ++i;
            if (after_index) {
                good_arg_num_ = false;
            }
            i = arg_number(i, found);
            after_index = found;
            if (i < end && format[i] == '*') {
                ++i;
                int num = 0;
                bool is_int = false;
                int_from_arg(num, is_int);
                prec_ = num;
                prec_present_ = is_int;
                if (prec_ < 0) {
                    prec_ = 0;
                    prec_present_ = false;
                }
                if (!prec_present_) {
                    buf_ += "%!(BADPREC)";
                }
                after_index = false;
            } else {
                Num num = parsenum(format, i, end);
                prec_ = num.num;
                prec_present_ = num.isnum;
                i = num.newi;
                if (!prec_present_) {
                    prec_ = 0;
                    prec_present_ = true;
                }
            }
        }

        if (!after_index) {
            i = arg_number(i, found);
            after_index = found;
        }

        if (i >= end) {
            buf_ += "%!(NOVERB)";
            break;
        }

        char32_t verb = static_cast<unsigned char>(format[i]);
        std::size_t size = 1;
        if (verb >= 0x80) {
            Decoded d = decode_rune(format, i);
            verb = d.rune;
            size = d.size;
        }
        i += size;

        if (verb == '%') {
            buf_.push_back('%');
        } else if (!good_arg_num_) {
            buf_ += "%!";
            append_rune(buf_, verb);
            buf_ += "(BADINDEX)";
        } else if (arg_num >= n) {
            buf_ += "%!";
            append_rune(buf_, verb);
            buf_ += "(MISSING)";
        } else {
            if (verb == 'v') {
                sharp_v_ = sharp_;
                sharp_ = false;
                plus_v_ = plus_;
                plus_ = false;
            }
            print_arg(a[arg_num], verb);
            ++arg_num;
        }
    }

    if (!reordered_ && arg_num < n) {
        clear_flags();
        buf_ += "%!(EXTRA ";
        for (std::size_t k = arg_num; k < n; ++k) {
            if (k > arg_num) {
                buf_ += ", ";
            }
            if (a[k].is_nil()) {
                buf_ += "<nil>";
            } else {
                buf_.append(dynamic_type_name(a[k]));
                buf_.push_back('=');
                print_arg(a[k], 'v');
            }
        }
        buf_.push_back(')');
    }
}

} // namespace

void fmt_sprint(std::string& out, const Value* args, std::size_t n) {
    Printer p(out);
    p.do_print(args, n);
}

void fmt_sprintln(std::string& out, const Value* args, std::size_t n) {
    Printer p(out);
    p.do_println(args, n);
}

void fmt_sprintf(std::string& out, std::string_view format, const Value* args, std::size_t n) {
    Printer p(out);
    p.do_printf(format, args, n);
}

void fmt_print_value(std::string& out, const Value& v) {
    switch (v.kind()) {
    case Kind::string:
        out.append(v.as_string());
        return;
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        append_int(out, v.as_int());
        return;
    case Kind::boolean:
        out += v.as_bool() ? "true" : "false";
        return;
    case Kind::float64:
        append_float(out, v.as_float(), 'g', -1);
        return;
    default: {
        Printer p(out);
        p.print_arg(v, 'v');
        return;
    }
    }
}

} // namespace portcullis::tmpl::detail
