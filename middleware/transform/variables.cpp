#include "middleware/transform/variables.hpp"

#include "middleware/core/session.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <system_error>

// Tyk's ReplaceTykVariables (gateway/mw_url_rewrite.go) works on the whole string, one label at a
// time: if the text contains "$tyk_context.", every match of `\$tyk_context.([A-Za-z0-9_\-\.]+)`
// is collected (note the unescaped '.', which matches any character but '\n'), and for each match
// in order `strings.Replace(text, match, value, -1)` runs; then the same for "$tyk_meta." on the
// result. The key looked up is the match with the first "$tyk_xxx." removed.
//
// VarTemplate parses once into literal / reference parts, which gives the same result as Tyk's
// passes whenever the references cannot interfere with each other. When they can, expansion
// falls back to an emulation of Tyk's string passes, so the observable result is Tyk's:
//  * at parse time (exact_): a "$tyk_xxxY..." match whose character after the label name is not
//    '.'; a reference name that is a proper prefix of another one of the same kind (Tyk's
//    replace-all of "$tyk_meta.user" also rewrites the start of "$tyk_meta.user_id"); a
//    reference right after text that could begin another reference (the meta pass runs on the
//    text after context substitution, so "$tyk_meta.a$tyk_context.b" looks up meta "a" + the
//    value of b, and "$tyk_meta.$tyk_context.b" meta named by b);
//  * at expansion time: a substituted value that contains '$' (a context value holding
//    "$tyk_meta.x" IS expanded by Tyk's later meta pass, and a value holding a later reference of
//    the same pass is rewritten by it). With escape on, '$' is escaped to %24 unless the value
//    starts with "http", so this only matters for escape-off uses and "http..." values.

namespace portcullis::transform {

namespace {

using nlohmann::json;

constexpr std::string_view context_label = "$tyk_context.";
constexpr std::string_view meta_label = "$tyk_meta.";
// The literal start of Tyk's expressions: the label without its '.', which the regex reads as
// "any character".
constexpr std::string_view context_prefix = "$tyk_context";
constexpr std::string_view meta_prefix = "$tyk_meta";

// How Tyk's valToStr sees a value: the Go type it has in Tyk.
enum class GoKind {
    json,         // decoded JSON (interface{}): string, float64, []interface{}, others unsupported
    string_slice, // []string (path_parts): joined with ',', one leading ',' removed
    url_values,   // url.Values (request_data): k:v1,v2;k2:v
    unsupported,  // e.g. map[string][]string (headers): ""
};

bool is_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

void append_query_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char c : text) {
        if (is_unreserved(c)) {
            out.push_back(c);
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            const auto b = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(hex[b >> 4]);
            out.push_back(hex[b & 0x0f]);
        }
    }
}

template <class Int> void append_integer(std::string& out, Int value) {
    std::array<char, 24> buf{};
    const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    out.append(buf.data(), result.ptr);
}

// Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back as `v`, laid out
// without an exponent.
void append_float(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    if (std::signbit(value)) {
        out.push_back('-');
        value = -value;
    }
    if (value == 0) {
        out.push_back('0');
        return;
    }
    // Shortest round-trip digits in scientific form: "d[.ddd]e[+-]XX".
    std::array<char, 40> buf{};
    const auto result =
        std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
    const std::string_view sci(buf.data(), static_cast<std::size_t>(result.ptr - buf.data()));
    const auto e = sci.find('e');
    std::array<char, 24> digits{};
    std::size_t nd = 0;
    for (std::size_t i = 0; i < e; ++i) {
        if (sci[i] != '.') {
            digits[nd++] = sci[i];
        }
    }
    int exponent = 0;
    const char* exp_begin = sci.data() + e + 1;
    if (*exp_begin == '+') {
        ++exp_begin;
    }
    std::from_chars(exp_begin, sci.data() + sci.size(), exponent);
    // Decimal point position: value = 0.d1d2... * 10^dp.
    const long dp = static_cast<long>(exponent) + 1;
    const long n = static_cast<long>(nd);
    if (dp > 0) {
        for (long i = 0; i < dp; ++i) {
            out.push_back(i < n ? digits[static_cast<std::size_t>(i)] : '0');
        }
    } else {
        out.push_back('0');
    }
    if (n > dp) {
        out.push_back('.');
        for (long j = dp; j < n; ++j) {
            out.push_back(j < 0 ? '0' : digits[static_cast<std::size_t>(j)]);
        }
    }
}

// valToStr of a decoded JSON value.
void append_json(std::string& out, const json& value) {
    switch (value.type()) {
    case json::value_t::string:
        out += value.get_ref<const std::string&>();
        break;
    case json::value_t::number_integer:
        append_integer(out, value.get<std::int64_t>());
        break;
    case json::value_t::number_unsigned:
        append_integer(out, value.get<std::uint64_t>());
        break;
    case json::value_t::number_float:
        append_float(out, value.get<double>());
        break;
    case json::value_t::array: {
        // []interface{}: elements stringified, empty ones dropped, each query-escaped.
        bool first = true;
        std::string element;
        for (const auto& item : value) {
            element.clear();
            append_json(element, item);
            if (element.empty()) {
                continue;
            }
            if (!first) {
                out.push_back(',');
            }
            first = false;
            append_query_escaped(out, element);
        }
        break;
    }
    default: // bool, null, object, binary: not supported by valToStr
        break;
    }
}

void append_string_slice(std::string& out, const json& value) {
    if (!value.is_array()) {
        append_json(out, value);
        return;
    }
    const auto mark = out.size();
    bool first = true;
    for (const auto& item : value) {
        if (!first) {
            out.push_back(',');
        }
        first = false;
        append_json(out, item);
    }
    // strings.TrimPrefix(s, ","): one leading comma only.
    if (out.size() > mark && out[mark] == ',') {
        out.erase(mark, 1);
    }
}

void append_url_values(std::string& out, const json& value) {
    if (!value.is_object()) {
        append_json(out, value);
        return;
    }
    std::size_t i = 0;
    const auto count = value.size();
    for (const auto& [key, values] : value.items()) {
        out += key;
        out.push_back(':');
        // strings.Join(v, ","): no comma trimming here.
        if (values.is_array()) {
            bool first = true;
            for (const auto& item : values) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                append_json(out, item);
            }
        } else {
            append_json(out, values);
        }
        if (i + 1 < count) {
            out.push_back(';');
        }
        ++i;
    }
}

void append_kind(std::string& out, const json& value, GoKind kind) {
    switch (kind) {
    case GoKind::json:
        append_json(out, value);
        break;
    case GoKind::string_slice:
        append_string_slice(out, value);
        break;
    case GoKind::url_values:
        append_url_values(out, value);
        break;
    case GoKind::unsupported:
        break;
    }
}

bool starts_with_http(std::string_view text) {
    return text.substr(0, 4) == "http";
}

void append_value(std::string& out, const json& value, GoKind kind, bool escape) {
    if (!escape) {
        append_kind(out, value, kind);
        return;
    }
    if (value.is_string() && kind != GoKind::unsupported) {
        const auto& text = value.get_ref<const std::string&>();
        if (starts_with_http(text)) {
            out += text;
        } else {
            append_query_escaped(out, text);
        }
        return;
    }
    std::string text;
    append_kind(text, value, kind);
    if (starts_with_http(text)) {
        out += text;
    } else {
        append_query_escaped(out, text);
    }
}

// The Go type a context variable has in Tyk (mw_context_vars.go).
GoKind context_kind(std::string_view name) {
    if (name == "path_parts") {
        return GoKind::string_slice;
    }
    if (name == "request_data") {
        return GoKind::url_values;
    }
    if (name == "headers") {
        return GoKind::unsupported;
    }
    return GoKind::json;
}

// stringify()'s guess for a bare JSON value: arrays of strings as []string, objects of arrays
// of strings as url.Values.
GoKind guess_kind(const json& value) {
    if (value.is_array()) {
        const bool strings =
            std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); });
        return strings ? GoKind::string_slice : GoKind::json;
    }
    if (value.is_object()) {
        const bool form = std::all_of(value.begin(), value.end(), [](const json& v) {
            return v.is_array() &&
                   std::all_of(v.begin(), v.end(), [](const json& s) { return s.is_string(); });
        });
        return form ? GoKind::url_values : GoKind::unsupported;
    }
    return GoKind::json;
}

// Width of the UTF-8 sequence at text[i] as Go's utf8.DecodeRuneInString sees it (1 when
// invalid): what the regex's '.' consumes.
std::size_t rune_width(std::string_view text, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
        return 1;
    }
    const auto cont = [&](std::size_t k, unsigned char lo, unsigned char hi) {
        if (i + k >= text.size()) {
            return false;
        }
        const auto b = static_cast<unsigned char>(text[i + k]);
        return b >= lo && b <= hi;
    };
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        return cont(1, 0x80, 0xBF) ? 2 : 1;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
        const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
        return cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 1;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
        const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
        return cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 1;
    }
    return 1;
}

struct RefMatch {
    std::size_t begin;
    std::size_t end;
    bool proper; // the character after the prefix is '.', i.e. a real "$tyk_xxx." label
};

// Every match of `\$tyk_xxx.([A-Za-z0-9_\-\.]+)` in `text`, leftmost first, non-overlapping.
template <class F> void for_each_ref(std::string_view text, std::string_view prefix, F&& f) {
    std::size_t pos = 0;
    while (true) {
        const auto p = text.find(prefix, pos);
        if (p == std::string_view::npos) {
            return;
        }
        const auto q = p + prefix.size();
        if (q < text.size() && text[q] != '\n') {
            const auto name_begin = q + rune_width(text, q);
            auto e = name_begin;
            while (e < text.size() && is_name_char(text[e])) {
                ++e;
            }
            if (e > name_begin) {
                f(RefMatch{p, e, text[q] == '.'});
                pos = e;
                continue;
            }
        }
        pos = p + 1;
    }
}

// strings.Replace(match, label, "", 1).
std::string key_of(std::string_view match, std::string_view label) {
    std::string key(match);
    const auto at = key.find(label);
    if (at != std::string::npos) {
        key.erase(at, label.size());
    }
    return key;
}

// strings.Replace(text, from, to, -1).
void replace_all(std::string& text, std::string_view from, std::string_view to) {
    if (from.empty() || text.find(from) == std::string::npos) {
        return;
    }
    std::string result;
    result.reserve(text.size());
    std::size_t pos = 0;
    while (true) {
        const auto at = text.find(from, pos);
        if (at == std::string::npos) {
            break;
        }
        result.append(text, pos, at - pos);
        result.append(to);
        pos = at + from.size();
    }
    result.append(text, pos, std::string::npos);
    text = std::move(result);
}

void append_lookup(
    std::string& out, const json* values, std::string_view key, bool context, bool escape) {
    const json* value = values != nullptr ? json_member(*values, key) : nullptr;
    if (value == nullptr) {
        return;
    }
    append_value(out, *value, context ? context_kind(key) : GoKind::json, escape);
}

// One of Tyk's passes (replaceVariables) on the whole text.
void tyk_pass(std::string& text,
              std::string_view label,
              std::string_view prefix,
              const json* values,
              bool context,
              bool escape) {
    if (text.find(label) == std::string::npos) {
        return;
    }
    std::vector<std::string> vars;
    for_each_ref(text, prefix,
                 [&](const RefMatch& m) { vars.emplace_back(text, m.begin, m.end - m.begin); });
    std::string value;
    for (const auto& v : vars) {
        value.clear();
        append_lookup(value, values, key_of(v, label), context, escape);
        replace_all(text, v, value);
    }
}

// True when some name in `names` is a proper prefix of another one.
bool has_prefix_pair(std::vector<std::string_view> names) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (std::size_t i = 0; i + 1 < names.size(); ++i) {
        // Sorted: a proper prefix sorts right before a string extending it (or one between them
        // that also extends it).
        if (names[i + 1].substr(0, names[i].size()) == names[i]) {
            return true;
        }
    }
    return false;
}

// True when the end of `literal` could begin a "$tyk_meta..." or "$tyk_context..." match that
// the text after it completes: Tyk's passes (the meta one after context substitution, and each
// replace-all within a pass) would then read across the boundary.
bool tail_may_start_ref(std::string_view literal) {
    for (auto j = literal.rfind('$'); j != std::string_view::npos;
         j = j == 0 ? std::string_view::npos : literal.rfind('$', j - 1)) {
        const auto tail = literal.substr(j);
        for (const auto prefix : {meta_prefix, context_prefix}) {
            if (tail.size() <= prefix.size()) {
                if (prefix.substr(0, tail.size()) == tail) {
                    return true;
                }
                continue;
            }
            if (tail.substr(0, prefix.size()) != prefix) {
                continue;
            }
            const auto rest =
                tail.substr(std::min(tail.size(), prefix.size() + rune_width(tail, prefix.size())));
            if (std::all_of(rest.begin(), rest.end(), is_name_char)) {
                return true;
            }
        }
    }
    return false;
}

} // namespace

std::string query_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_query_escaped(out, text);
    return out;
}

// A bare JSON value does not say which Go type Tyk would hold, so arrays of strings are taken as
// []string and objects of string arrays as url.Values. VarTemplate knows better: meta values and
// most context variables are decoded JSON in Tyk (so ["a b", ""] gives "a+b" there), only
// path_parts is a []string, request_data a url.Values, and headers a map that gives "".
std::string stringify(const nlohmann::json& value, bool escape) {
    std::string out;
    append_value(out, value, guess_kind(value), escape);
    return out;
}

bool VarTemplate::tail_may_start_reference(std::string_view literal) {
    return tail_may_start_ref(literal);
}

VarTemplate VarTemplate::parse(std::string_view text) {
    VarTemplate t;
    t.source_ = std::string(text);

    // Context pass on the source text.
    struct Piece {
        bool context;
        std::string_view text; // literal text, or the context name
    };
    std::vector<Piece> pieces;
    bool exact = false;
    if (text.find(context_label) != std::string_view::npos) {
        std::size_t pos = 0;
        for_each_ref(text, context_prefix, [&](const RefMatch& m) {
            if (!m.proper) {
                exact = true;
            }
            pieces.push_back({false, text.substr(pos, m.begin - pos)});
            // (A match is at least as long as the label; improper ones are not used.)
            pieces.push_back({true, text.substr(m.begin + context_label.size(),
                                                m.end - m.begin - context_label.size())});
            pos = m.end;
        });
        pieces.push_back({false, text.substr(pos)});
    } else {
        pieces.push_back({false, text});
    }

    std::vector<std::string_view> context_names;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        if (pieces[i].context) {
            context_names.push_back(pieces[i].text);
        } else if (i + 1 < pieces.size() && tail_may_start_ref(pieces[i].text)) {
            exact = true; // the context value could complete a reference begun here
        }
    }
    exact = exact || has_prefix_pair(context_names);

    // Meta pass, with context values taken as inert text.
    const bool meta_runs = std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) {
        return !p.context && p.text.find(meta_label) != std::string_view::npos;
    });
    std::vector<std::string_view> meta_names;
    for (std::size_t i = 0; i < pieces.size() && !exact; ++i) {
        const auto& piece = pieces[i];
        if (piece.context) {
            t.parts_.push_back({Source::context, std::string(piece.text)});
            continue;
        }
        std::size_t pos = 0;
        if (meta_runs) {
            for_each_ref(piece.text, meta_prefix, [&](const RefMatch& m) {
                if (!m.proper) {
                    exact = true;
                }
                if (m.begin > pos) {
                    const auto literal = piece.text.substr(pos, m.begin - pos);
                    if (tail_may_start_ref(literal)) {
                        exact = true; // the meta value could complete a reference begun here
                    }
                    t.parts_.push_back({Source::literal, std::string(literal)});
                }
                const auto name = piece.text.substr(m.begin + meta_label.size(),
                                                    m.end - m.begin - meta_label.size());
                meta_names.push_back(name);
                t.parts_.push_back({Source::meta, std::string(name)});
                pos = m.end;
            });
        }
        if (pos < piece.text.size()) {
            t.parts_.push_back({Source::literal, std::string(piece.text.substr(pos))});
        }
    }
    exact = exact || has_prefix_pair(meta_names);

    t.has_variables_ = exact || std::any_of(t.parts_.begin(), t.parts_.end(), [](const Part& p) {
                           return p.source != Source::literal;
                       });
    t.exact_ = exact;
    if (exact || !t.has_variables_) {
        t.parts_.clear();
    }
    return t;
}

void VarTemplate::expand_into(std::string& out,
                              const nlohmann::json* meta,
                              const nlohmann::json* context,
                              bool escape) const {
    if (!has_variables_) {
        out += source_;
        return;
    }
    if (!exact_) {
        const auto mark = out.size();
        bool inert = true;
        for (const auto& part : parts_) {
            if (part.source == Source::literal) {
                out += part.text;
                continue;
            }
            const auto before = out.size();
            const bool is_context = part.source == Source::context;
            append_lookup(out, is_context ? context : meta, part.text, is_context, escape);
            if (out.find('$', before) != std::string::npos) {
                inert = false; // the value could be read by Tyk's later replacements
                break;
            }
        }
        if (inert) {
            return;
        }
        out.resize(mark);
    }
    expand_exact(out, meta, context, escape);
}

void VarTemplate::expand_exact(std::string& out,
                               const nlohmann::json* meta,
                               const nlohmann::json* context,
                               bool escape) const {
    std::string text = source_;
    tyk_pass(text, context_label, context_prefix, context, true, escape);
    tyk_pass(text, meta_label, meta_prefix, meta, false, escape);
    out += text;
}

std::string
VarTemplate::expand(const nlohmann::json* meta, const nlohmann::json* context, bool escape) const {
    std::string out;
    expand_into(out, meta, context, escape);
    return out;
}

} // namespace portcullis::transform
