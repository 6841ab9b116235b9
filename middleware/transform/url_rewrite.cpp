#include "middleware/transform/url_rewrite.hpp"

#include "config/json_reader.hpp"
#include "middleware/core/text.hpp"
#include "middleware/transform/context_vars.hpp"
#include "middleware/transform/endpoint_list.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

namespace portcullis::transform {

namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Small text helpers
// ---------------------------------------------------------------------------------------------

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/// Go's url.PathUnescape / url.QueryUnescape: "%XX" decoded, '+' -> ' ' only for queries.
/// False on a malformed escape ('%' not followed by two hex digits).
bool unescape(std::string_view in, bool plus_is_space, std::string& out) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) {
                return false;
            }
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return true;
}

/// Go's strings.Replace(s, from, to, -1): non-overlapping, left to right.
void replace_all(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) {
        return;
    }
    std::size_t pos = s.find(from);
    if (pos == std::string::npos) {
        return;
    }
    std::string out;
    out.reserve(s.size());
    std::size_t last = 0;
    while (pos != std::string::npos) {
        out.append(s, last, pos - last);
        out.append(to);
        last = pos + from.size();
        pos = s.find(from, last);
    }
    out.append(s, last, std::string::npos);
    s = std::move(out);
}

/// Width of the UTF-8 sequence starting at `text[pos]` (1 for an invalid byte), as Go's
/// utf8.DecodeRuneInString reports it.
std::size_t rune_width(std::string_view text, std::size_t pos) {
    const auto lead = static_cast<unsigned char>(text[pos]);
    std::size_t width = 1;
    if (lead >= 0xC2 && lead <= 0xDF) {
        width = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        width = 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        width = 4;
    } else {
        return 1;
    }
    if (pos + width > text.size()) {
        return 1;
    }
    for (std::size_t i = 1; i < width; ++i) {
        if ((static_cast<unsigned char>(text[pos + i]) & 0xC0) != 0x80) {
            return 1;
        }
    }
    return width;
}

// ---------------------------------------------------------------------------------------------
// Regex helpers
// ---------------------------------------------------------------------------------------------

using Submatches = std::vector<re2::StringPiece>;

std::shared_ptr<const re2::RE2> compile_regex(const std::string& pattern, std::string& error) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const re2::RE2>(pattern, options);
    if (!re->ok()) {
        error = re->error();
        return nullptr;
    }
    return re;
}

/// Go's FindStringSubmatch: the leftmost match and its groups (unmatched groups are empty).
bool find_submatch(const re2::RE2& re, std::string_view text, Submatches& groups) {
    groups.assign(static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1, re2::StringPiece());
    return re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(),
                    re2::RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()));
}

std::string_view view(const re2::StringPiece& piece) {
    return piece.data() == nullptr ? std::string_view{}
                                   : std::string_view(piece.data(), piece.size());
}

/// Go's FindAllStringSubmatch(text, -1): successive non-overlapping matches; an empty match
/// right after the previous match is skipped, and the search moves one rune past empty matches.
template <class Fn> void for_each_match(const re2::RE2& re, std::string_view text, Fn&& fn) {
    Submatches groups(static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1);
    const re2::StringPiece whole(text.data(), text.size());
    std::size_t pos = 0;
    std::ptrdiff_t prev_end = -1;
    std::size_t count = 0;
    while (pos <= text.size()) {
        if (!re.Match(whole, pos, text.size(), re2::RE2::UNANCHORED, groups.data(),
                      static_cast<int>(groups.size()))) {
            break;
        }
        const auto start = static_cast<std::size_t>(groups[0].data() - text.data());
        const std::size_t end = start + groups[0].size();
        bool accept = true;
        if (end == pos) {
            // Empty match at the search position.
            if (static_cast<std::ptrdiff_t>(start) == prev_end) {
                accept = false;
            }
            pos += pos < text.size() ? rune_width(text, pos) : 1;
        } else {
            pos = end;
        }
        prev_end = static_cast<std::ptrdiff_t>(end);
        if (accept) {
            fn(count++, groups);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Trigger evaluation
// ---------------------------------------------------------------------------------------------

/// Request facts computed at most once per rewrite, and only when a trigger asks for them.
struct Lazy {
    const RewriteInput& input;
    bool query_parsed = false;
    std::vector<std::pair<std::string, std::string>> query; // Go's url.ParseQuery, in order
    bool parts_split = false;
    std::string decoded_path;
    std::vector<std::string_view> parts;
    Submatches groups;
    std::string key;

    /// Go's url.ParseQuery: pairs split on '&'; a key containing ';' or a malformed escape
    /// drops that pair.
    const std::vector<std::pair<std::string, std::string>>& query_values() {
        if (query_parsed) {
            return query;
        }
        query_parsed = true;
        std::string_view rest = input.query;
        std::string k;
        std::string v;
        while (!rest.empty()) {
            const auto amp = rest.find('&');
            std::string_view pair = rest.substr(0, amp);
            rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
            if (pair.find(';') != std::string_view::npos || pair.empty()) {
                continue;
            }
            const auto eq = pair.find('=');
            const std::string_view raw_key = pair.substr(0, eq);
            const std::string_view raw_value =
                eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            if (!unescape(raw_key, true, k) || !unescape(raw_value, true, v)) {
                continue;
            }
            query.emplace_back(k, v);
        }
        return query;
    }

    /// strings.Split(r.URL.Path, "/"): the decoded path, so the first part is "".
    const std::vector<std::string_view>& path_parts() {
        if (parts_split) {
            return parts;
        }
        parts_split = true;
        if (!unescape(input.escaped_path_with_listen_path, false, decoded_path)) {
            decoded_path.assign(input.escaped_path_with_listen_path);
        }
        std::string_view rest = decoded_path;
        while (true) {
            const auto slash = rest.find('/');
            parts.push_back(rest.substr(0, slash));
            if (slash == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(slash + 1);
        }
        return parts;
    }
};

void begin_key(std::string& key, std::size_t trigger, std::string_view name) {
    key.assign("trigger-");
    key += std::to_string(trigger);
    key += '-';
    key += name;
}

/// Tyk's addMatchToContextData: `key` = whole match, `key-{g}` = group g+1 (0-based).
void store_match(Json& context, std::string& key, const Submatches& groups) {
    context[key] = std::string(view(groups[0]));
    const std::size_t base = key.size();
    for (std::size_t g = 1; g < groups.size(); ++g) {
        key.resize(base);
        key += '-';
        key += std::to_string(g - 1);
        context[key] = std::string(view(groups[g]));
    }
    key.resize(base);
}

/// Tyk's StringRegexMap.FindStringSubmatch: a hit is a match, or with `reverse` no match. Only a
/// forward hit stores anything; `key` is the context key without group suffix.
bool test_and_store(const TriggerCheck& check,
                    std::string_view value,
                    Json& context,
                    std::string& key,
                    Submatches& groups) {
    const bool found = find_submatch(*check.regex, value, groups);
    if (check.reverse) {
        return !found;
    }
    if (found) {
        store_match(context, key, groups);
    }
    return found;
}

/// What a check returns once every option was tried: with `any` one hit is enough, with all
/// the hit count must reach the number of options (hits, not options: two matching values of
/// one header count twice, as in Tyk).
bool verdict(std::size_t hits, std::size_t options, bool any) {
    if (hits == 0) {
        return false;
    }
    return any || options <= hits;
}

bool check_headers(const RewriteTrigger& t, std::size_t n, Lazy& lazy, Json& context) {
    std::size_t hits = 0;
    for (const TriggerCheck& check : t.headers) {
        if (lazy.input.headers == nullptr) {
            break;
        }
        // Go's server moves Host out of r.Header into r.Host: a Host option never hits in Tyk.
        if (check.name == "Host") {
            continue;
        }
        std::size_t i = 0;
        const auto range = lazy.input.headers->equal_range(check.name);
        for (auto it = range.first; it != range.second; ++it, ++i) {
            begin_key(lazy.key, n, check.name);
            lazy.key += '-';
            lazy.key += std::to_string(i);
            const auto value = it->value();
            if (test_and_store(check, std::string_view(value.data(), value.size()), context,
                               lazy.key, lazy.groups)) {
                ++hits;
            }
        }
    }
    return verdict(hits, t.headers.size(), t.any);
}

bool check_query(const RewriteTrigger& t, std::size_t n, Lazy& lazy, Json& context) {
    std::size_t hits = 0;
    const auto& values = lazy.query_values();
    for (const TriggerCheck& check : t.query) {
        std::size_t i = 0;
        for (const auto& [k, v] : values) {
            if (k != check.name) {
                continue;
            }
            begin_key(lazy.key, n, check.name);
            lazy.key += '-';
            lazy.key += std::to_string(i++);
            if (test_and_store(check, v, context, lazy.key, lazy.groups)) {
                ++hits;
            }
        }
    }
    return verdict(hits, t.query.size(), t.any);
}

bool check_path_parts(const RewriteTrigger& t, std::size_t n, Lazy& lazy, Json& context) {
    std::size_t hits = 0;
    const auto& parts = lazy.path_parts();
    for (const TriggerCheck& check : t.path_parts) {
        for (const std::string_view part : parts) {
            // The index is the running hit count over every option (Tyk's fCount).
            begin_key(lazy.key, n, check.name);
            lazy.key += '-';
            lazy.key += std::to_string(hits);
            if (test_and_store(check, part, context, lazy.key, lazy.groups)) {
                ++hits;
            }
        }
    }
    return verdict(hits, t.path_parts.size(), t.any);
}

/// Session meta and request context: the value must be a JSON string.
bool check_object(const std::vector<TriggerCheck>& checks,
                  bool any,
                  const Json& source,
                  std::size_t n,
                  Lazy& lazy,
                  Json& context) {
    std::size_t hits = 0;
    for (const TriggerCheck& check : checks) {
        if (!source.is_object()) {
            break;
        }
        const auto it = source.find(check.name);
        if (it == source.end() || !it->is_string()) {
            continue;
        }
        // Copy: storing into `context` may invalidate a reference into it.
        const std::string value = it->get<std::string>();
        begin_key(lazy.key, n, check.name);
        if (test_and_store(check, value, context, lazy.key, lazy.groups)) {
            ++hits;
        }
    }
    return verdict(hits, checks.size(), any);
}

/// Tyk's checkPayload: every match of the whole body; `trigger-{n}-payload` = first match,
/// `trigger-{n}-payload-{i}` (+ `-{g}`) each match. With `reverse`: passes when nothing matches.
bool check_payload(const TriggerCheck& check, std::size_t n, Lazy& lazy, Json& context) {
    bool any_match = false;
    // A default-constructed view has no data pointer; match offsets need a real one.
    const std::string_view body =
        lazy.input.body.data() == nullptr ? std::string_view("", 0) : lazy.input.body;
    for_each_match(*check.regex, body, [&](std::size_t i, const Submatches& groups) {
        any_match = true;
        if (check.reverse) {
            return;
        }
        begin_key(lazy.key, n, "payload");
        if (i == 0) {
            context[lazy.key] = std::string(view(groups[0]));
        }
        lazy.key += '-';
        lazy.key += std::to_string(i);
        store_match(context, lazy.key, groups);
    });
    return check.reverse ? !any_match : any_match;
}

/// Tyk's trigger loop: which target applies (the base one when no trigger fires).
const RewriteTarget*
choose_target(const UrlRewriteRule& rule, const RewriteInput& input, Lazy& lazy, Json& context) {
    for (std::size_t n = 0; n < rule.triggers.size(); ++n) {
        const RewriteTrigger& t = rule.triggers[n];
        std::size_t passed = 0;
        std::size_t total = 0;
        const auto run = [&](bool configured, auto&& check) {
            if (!configured) {
                return false;
            }
            ++total;
            if (check()) {
                ++passed;
                return t.any;
            }
            return false;
        };
        if (run(!t.headers.empty(), [&] { return check_headers(t, n, lazy, context); })) {
            return &t.rewrite_to;
        }
        if (run(!t.query.empty(), [&] { return check_query(t, n, lazy, context); })) {
            return &t.rewrite_to;
        }
        if (run(!t.path_parts.empty(), [&] { return check_path_parts(t, n, lazy, context); })) {
            return &t.rewrite_to;
        }
        // Session meta is only looked at when there is a session, but always counts for "all".
        if (!t.session_meta.empty() && input.meta == nullptr) {
            ++total;
        } else if (run(!t.session_meta.empty(), [&] {
                       return check_object(t.session_meta, t.any, *input.meta, n, lazy, context);
                   })) {
            return &t.rewrite_to;
        }
        if (run(!t.request_context.empty(), [&] {
                return check_object(t.request_context, t.any, context, n, lazy, context);
            })) {
            return &t.rewrite_to;
        }
        if (run(t.payload.has_value(),
                [&] { return check_payload(*t.payload, n, lazy, context); })) {
            return &t.rewrite_to;
        }
        if (!t.any && total == passed) {
            return &t.rewrite_to;
        }
    }
    return &rule.rewrite_to;
}

bool has_tyk_variables(std::string_view text) {
    return text.find("$tyk_context.") != std::string_view::npos ||
           text.find("$tyk_meta.") != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Config compilation
// ---------------------------------------------------------------------------------------------

/// `{match_rx, reverse}` read from `reader`; throws ConfigException at `.../match_rx`.
TriggerCheck read_check(const std::string& name, const config::JsonReader& reader) {
    TriggerCheck check;
    check.name = name;
    std::string pattern;
    reader.read("match_rx", pattern);
    reader.read("reverse", check.reverse);
    std::string error;
    check.regex = compile_regex(pattern, error);
    if (!check.regex) {
        reader.fail("match_rx", "invalid regular expression: " + error);
    }
    return check;
}

std::vector<TriggerCheck>
read_checks(const config::JsonReader& options, std::string_view key, bool canonical) {
    std::vector<TriggerCheck> out;
    for (const auto& [name, reader] : options.members(key)) {
        out.push_back(read_check(canonical ? canonical_header_key(name) : name, reader));
    }
    return out;
}

RewriteTrigger read_trigger(const config::JsonReader& reader) {
    RewriteTrigger trigger;
    std::string on;
    reader.read("on", on);
    trigger.any = on == "any";
    std::string rewrite_to;
    reader.read("rewrite_to", rewrite_to);
    trigger.rewrite_to = RewriteTarget::parse(rewrite_to);
    const config::JsonReader options = reader.object("options");
    trigger.headers = read_checks(options, "header_matches", true);
    trigger.query = read_checks(options, "query_val_matches", false);
    trigger.path_parts = read_checks(options, "path_part_matches", false);
    trigger.session_meta = read_checks(options, "session_meta_matches", false);
    trigger.request_context = read_checks(options, "request_context_matches", false);
    const config::JsonReader payload = options.object("payload_matches");
    std::string payload_rx;
    payload.read("match_rx", payload_rx);
    if (!payload_rx.empty()) {
        trigger.payload = read_check("payload", payload);
    }
    return trigger;
}

/// One `url_rewrites` entry; nullopt when disabled. Throws ConfigException when broken.
std::optional<Endpoint<UrlRewriteRule>> read_entry(const config::JsonReader& reader,
                                                   const MatchOptions& options) {
    bool disabled = false;
    reader.read("disabled", disabled);
    if (disabled) {
        return std::nullopt;
    }
    std::string path;
    std::string method;
    std::string match_pattern;
    std::string rewrite_to;
    reader.read("path", path);
    reader.read("method", method);
    reader.read("match_pattern", match_pattern);
    reader.read("rewrite_to", rewrite_to);

    std::string error;
    auto pattern = PathPattern::compile(path, options, error);
    if (!pattern) {
        reader.fail("path", "invalid path pattern: " + error);
    }
    UrlRewriteRule rule;
    rule.path = path;
    rule.match = compile_regex(match_pattern, error);
    if (!rule.match) {
        reader.fail("match_pattern", "invalid regular expression: " + error);
    }
    rule.rewrite_to = RewriteTarget::parse(rewrite_to);

    const Json& triggers = reader.raw("triggers");
    if (!triggers.is_null()) {
        if (!triggers.is_array()) {
            reader.fail("triggers", config::type_mismatch("an array", triggers));
        }
        for (std::size_t i = 0; i < triggers.size(); ++i) {
            const Json& item = triggers[i];
            static const Json kEmpty = Json::object();
            const config::JsonReader trigger(item.is_null() ? kEmpty : item, reader.file(),
                                             reader.path() + "/triggers/" + std::to_string(i));
            rule.triggers.push_back(read_trigger(trigger));
        }
    }
    return Endpoint<UrlRewriteRule>{std::move(*pattern), std::move(method), std::move(rule)};
}

// ---------------------------------------------------------------------------------------------
// Go url.Parse subset for classify_rewrite_target
// ---------------------------------------------------------------------------------------------

/// Go's shouldEscape(c, encodePath).
bool path_should_escape(char c) {
    if (is_alnum(c)) {
        return false;
    }
    switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '@':
        return false;
    default:
        return true;
    }
}

/// Go's validEncoded(s, encodePath).
bool path_valid_encoded(std::string_view s) {
    for (const char c : s) {
        switch (c) {
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case ':':
        case '@':
        case '[':
        case ']':
        case '%':
            continue;
        default:
            if (path_should_escape(c)) {
                return false;
            }
        }
    }
    return true;
}

/// Go's URL.EscapedPath for a path parsed from `raw`; false when `raw` has a bad escape.
bool escaped_path(std::string_view raw, std::string& out) {
    std::string decoded_storage;
    std::string_view decoded = raw; // without '%' the decoded path is the raw one
    if (raw.find('%') != std::string_view::npos) {
        if (!unescape(raw, false, decoded_storage)) {
            return false;
        }
        decoded = decoded_storage;
    }
    if (path_valid_encoded(raw)) {
        out.append(raw);
        return true;
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (const char c : decoded) {
        if (path_should_escape(c)) {
            const auto b = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[b >> 4];
            out += kHex[b & 0x0F];
        } else {
            out += c;
        }
    }
    return true;
}

/// Go's parseHost checks, reduced: bracketed IPv6 literal or reg-name, optional ":digits" port,
/// no character Go refuses in a host name, escapes well formed.
bool valid_host(std::string_view host) {
    std::string_view name = host;
    std::string_view port;
    if (host.starts_with('[')) {
        const auto close = host.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        name = host.substr(1, close - 1);
        port = host.substr(close + 1);
        if (!port.empty() && port.front() != ':') {
            return false;
        }
    } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon);
    }
    if (!port.empty()) {
        for (std::size_t i = 1; i < port.size(); ++i) {
            if (!is_digit(port[i])) {
                return false;
            }
        }
    }
    std::string scratch;
    if (!unescape(name, false, scratch)) {
        return false;
    }
    for (const char c : name) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x80 || is_alnum(c)) {
            continue;
        }
        switch (c) {
        case '-':
        case '_':
        case '.':
        case '~':
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case ':':
        case '[':
        case ']':
        case '<':
        case '>':
        case '"':
        case '%':
            continue;
        default:
            return false;
        }
    }
    return true;
}

/// Tyk's LoopHostRE rewrite: in every "tyk://HOST" (HOST up to the next '/'), runs of
/// non-alphanumerics become "-".
std::string mangle_loop_hosts(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (true) {
        const auto at = text.find("tyk://", pos);
        if (at == std::string_view::npos) {
            out.append(text.substr(pos));
            return out;
        }
        out.append(text.substr(pos, at + 6 - pos));
        std::size_t i = at + 6;
        const std::size_t host_end = std::min(text.find('/', i), text.size());
        if (host_end == i) {
            // "[^/]+" needs at least one character: no match here.
            pos = i;
            continue;
        }
        bool in_run = false;
        for (; i < host_end; ++i) {
            if (is_alnum(text[i])) {
                out += text[i];
                in_run = false;
            } else if (!in_run) {
                out += '-';
                in_run = true;
            }
        }
        pos = host_end;
    }
}

/// The load-time split of a rewrite target at its `$N` references (see RewriteTarget::pieces);
/// empty when substituting groups piecewise could differ from Tyk's replace-all passes (the
/// caller also refuses texts whose references interact, VarTemplate::exact()).
std::vector<RewriteTarget::Piece>
split_at_groups(std::string_view text, const std::vector<RewriteTarget::GroupRef>& refs) {
    for (const auto& a : refs) {
        for (const auto& b : refs) {
            if (a.token.size() < b.token.size() && b.token.starts_with(a.token)) {
                return {}; // replacing "$1" would also rewrite the start of "$10"
            }
        }
    }
    std::vector<RewriteTarget::Piece> pieces;
    std::size_t from = 0;
    for (const auto& ref : refs) {
        const auto at = text.find(ref.token, from);
        if (at == std::string_view::npos) {
            return {};
        }
        // A group right after '$' + name characters could extend or form a reference name.
        std::size_t k = at;
        while (k > from && (is_alnum(text[k - 1]) || text[k - 1] == '_' || text[k - 1] == '-' ||
                            text[k - 1] == '.')) {
            --k;
        }
        if ((k > 0 && text[k - 1] == '$') ||
            VarTemplate::tail_may_start_reference(text.substr(from, at - from))) {
            return {};
        }
        RewriteTarget::Piece piece;
        piece.text = VarTemplate::parse(text.substr(from, at - from));
        piece.group = ref.index;
        piece.has_group = true;
        pieces.push_back(std::move(piece));
        from = at + ref.token.size();
    }
    RewriteTarget::Piece last;
    last.text = VarTemplate::parse(text.substr(from));
    pieces.push_back(std::move(last));
    return pieces;
}

} // namespace

// -------------------------------------------------------------------------------------------------

RewriteTarget RewriteTarget::parse(std::string_view text) {
    RewriteTarget target;
    target.text.assign(text);
    // Tyk's dollarMatch `\$\d+`, every occurrence in order.
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '$' || i + 1 >= text.size() || !is_digit(text[i + 1])) {
            continue;
        }
        std::size_t end = i + 1;
        while (end < text.size() && is_digit(text[end])) {
            ++end;
        }
        GroupRef ref;
        ref.token.assign(text.substr(i, end - i));
        const std::string_view digits = text.substr(i + 1, end - i - 1);
        if (digits.size() <= 6 && (digits.size() == 1 || digits.front() != '0')) {
            ref.index = std::stoi(std::string(digits));
        }
        target.groups.push_back(std::move(ref));
        i = end - 1;
    }
    target.vars = VarTemplate::parse(text);
    if (!target.groups.empty() && !target.vars.exact()) {
        target.pieces = split_at_groups(text, target.groups);
    }
    return target;
}

std::vector<Endpoint<UrlRewriteRule>>
compile_url_rewrites(const config::ApiDefinition& api,
                     const config::VersionInfo& version,
                     const MatchOptions& options,
                     std::vector<config::ConfigError>& errors) {
    return compile_endpoint_list<UrlRewriteRule>(
        api, version, "url_rewrites", errors,
        [&](const config::JsonReader& reader) { return read_entry(reader, options); });
}

namespace {

RewriteResult rewrite_unchecked(const UrlRewriteRule& rule, const RewriteInput& input) {
    RewriteResult result;
    Json& context = *input.context;
    if (!context.is_object()) {
        context = Json::object();
    }

    // 1. r.URL.String() of a server request: escaped path, then "?query" when there is one.
    // (Per-thread scratch: a rewrite allocates only the strings it produces.)
    thread_local std::string subject;
    subject.clear();
    subject.append(input.escaped_path_with_listen_path);
    if (!input.query.empty()) {
        subject += '?';
        subject.append(input.query);
    }

    // 2. Triggers.
    Lazy lazy{input};
    const RewriteTarget* chosen = &rule.rewrite_to;
    if (!rule.triggers.empty()) {
        chosen = choose_target(rule, input, lazy, context);
    }

    // 3. The base pattern, retried on the unescaped text when the subject holds escapes.
    thread_local Submatches groups;
    bool matched = find_submatch(*rule.match, subject, groups);
    std::string unescaped;
    if (!matched && subject.find('%') != std::string::npos) {
        if (!unescape(subject, false, unescaped)) {
            result.error = "failed to decode URL path: " + subject;
            return result;
        }
        matched = find_submatch(*rule.match, unescaped, groups);
    }

    if (!matched) {
        // Tyk still runs the variable replacement over the untouched URL.
        if (has_tyk_variables(subject)) {
            result.rewritten = true;
            VarTemplate::parse(subject).expand_into(result.target, input.meta, &context, true);
        }
        return result;
    }
    result.matched = true;
    result.rewritten = true;

    // 4. `$N` references, one plain replacement after the other, in order of appearance.
    if (chosen->groups.empty()) {
        chosen->vars.expand_into(result.target, input.meta, &context, true);
        return result;
    }
    if (!chosen->pieces.empty()) {
        // Pieces parsed at load; valid as long as no group value holds a '$' that Tyk's later
        // replacements could read.
        const auto group_value = [&](int index) {
            return index >= 0 && static_cast<std::size_t>(index) < groups.size()
                       ? view(groups[static_cast<std::size_t>(index)])
                       : std::string_view{};
        };
        bool inert = true;
        for (const auto& piece : chosen->pieces) {
            if (piece.has_group && group_value(piece.group).find('$') != std::string_view::npos) {
                inert = false;
                break;
            }
        }
        if (inert) {
            result.target.reserve(chosen->text.size() + subject.size());
            for (const auto& piece : chosen->pieces) {
                piece.text.expand_into(result.target, input.meta, &context, true);
                if (piece.has_group) {
                    result.target.append(group_value(piece.group));
                }
            }
            // A '$' in the result (a literal one, or in a value left unescaped because it
            // starts with "http") could be read by Tyk's whole-text passes: redo it their way.
            if (result.target.find('$') == std::string::npos) {
                return result;
            }
            result.target.clear();
        }
    }
    std::string replaced = chosen->text;
    for (const RewriteTarget::GroupRef& ref : chosen->groups) {
        std::string_view value;
        if (ref.index >= 0 && static_cast<std::size_t>(ref.index) < groups.size()) {
            value = view(groups[static_cast<std::size_t>(ref.index)]);
        }
        replace_all(replaced, ref.token, value);
    }
    // 5. `$tyk_context.` / `$tyk_meta.` over the substituted text.
    if (has_tyk_variables(replaced)) {
        VarTemplate::parse(replaced).expand_into(result.target, input.meta, &context, true);
    } else {
        result.target = std::move(replaced);
    }
    return result;
}

} // namespace

RewriteResult apply_url_rewrite(const UrlRewriteRule& rule, const RewriteInput& input) {
    RewriteResult result = rewrite_unchecked(rule, input);
    // A control character (a metadata value starting with "http" is not escaped) would split the
    // request line sent upstream; Go's url.Parse refuses it and Tyk answers 500. The URL is not
    // quoted in the message: it may hold session data.
    if (result.rewritten && result.error.empty() &&
        std::any_of(result.target.begin(), result.target.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u < 0x20 || u == 0x7f;
        })) {
        result.error = "net/url: invalid control character in URL";
    }
    return result;
}

UpstreamUrl classify_rewrite_target(std::string_view target) {
    UpstreamUrl url;
    std::string mangled;
    std::string_view text = target;
    if (text.starts_with("tyk")) {
        mangled = mangle_loop_hosts(text);
        text = mangled;
    }
    // net/url: "invalid control character in URL".
    for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7F) {
            return url;
        }
    }
    // The fragment is never sent, but a bad escape in it fails the parse.
    std::string_view rest = text;
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
        std::string scratch;
        if (!unescape(rest.substr(hash + 1), false, scratch)) {
            return url;
        }
        rest = rest.substr(0, hash);
    }
    // Scheme: a letter, then letters, digits, '+', '-', '.', up to ':'.
    for (std::size_t i = 0; i < rest.size(); ++i) {
        const char c = rest[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            continue;
        }
        if (is_digit(c) || c == '+' || c == '-' || c == '.') {
            if (i == 0) {
                break;
            }
            continue;
        }
        if (c == ':') {
            if (i == 0) {
                return url; // "missing protocol scheme"
            }
            url.scheme.assign(rest.substr(0, i));
            for (char& s : url.scheme) {
                s = static_cast<char>(std::tolower(static_cast<unsigned char>(s)));
            }
            rest.remove_prefix(i + 1);
        }
        break;
    }
    // Query: everything after the first '?' ("x?" keeps an empty forced query).
    std::string_view query;
    bool has_query = false;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        has_query = true;
        rest = rest.substr(0, q);
    }
    if (!url.scheme.empty() && !rest.starts_with('/')) {
        return url; // opaque "scheme:rest": not something the proxy can use
    }
    if (url.scheme.empty() && !rest.starts_with('/')) {
        const auto slash = rest.find('/');
        if (rest.substr(0, slash).find(':') != std::string_view::npos) {
            return url; // "first path segment in URL cannot contain colon"
        }
    }
    std::string_view authority;
    bool has_authority = false;
    if ((!url.scheme.empty() || !rest.starts_with("///")) && rest.starts_with("//")) {
        rest.remove_prefix(2);
        const auto slash = rest.find('/');
        authority = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
        has_authority = true;
        if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
            authority.remove_prefix(at + 1);
        }
        if (!valid_host(authority)) {
            return url;
        }
    }
    std::string path;
    path.reserve(rest.size() + 2 + query.size());
    if (!escaped_path(rest, path)) {
        return url;
    }
    url.valid = true;
    url.loop = url.scheme == "tyk";
    url.absolute = !url.loop && !url.scheme.empty() && has_authority && !authority.empty();
    if (url.loop) {
        // URL.Hostname(): without the port and IPv6 brackets.
        std::string_view host = authority;
        if (host.starts_with('[')) {
            host = host.substr(1, host.find(']') - 1);
        } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
            host = host.substr(0, colon);
        }
        url.loop_target.assign(host);
    }
    if (url.absolute || url.loop) {
        url.host_port.assign(authority);
        if (path.empty()) {
            path = "/";
        }
    } else {
        url.scheme.clear();
    }
    url.path_and_query = std::move(path);
    if (has_query) {
        url.path_and_query += '?';
        url.path_and_query.append(query);
    }
    return url;
}

std::string api_looping_name(std::string_view name) {
    // trimCategories: cut one character before the first '#' (the space of " #category").
    if (const auto hash = name.find('#'); hash != std::string_view::npos) {
        name = name.substr(0, hash == 0 ? 0 : hash - 1);
    }
    std::string out;
    out.reserve(name.size());
    bool in_run = false;
    for (const char c : name) {
        if (is_alnum(c)) {
            out += c;
            in_run = false;
        } else if (!in_run) {
            out += '-';
            in_run = true;
        }
    }
    return out;
}

bool loop_target_matches(std::string_view loop_target,
                         std::string_view api_id,
                         std::string_view api_name) {
    if (loop_target.empty()) {
        return false;
    }
    if (loop_target == api_id) {
        return true;
    }
    const std::string looping = api_looping_name(api_name);
    if (looping.size() != loop_target.size()) {
        return false;
    }
    for (std::size_t i = 0; i < looping.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(looping[i])) !=
            std::tolower(static_cast<unsigned char>(loop_target[i]))) {
            return false;
        }
    }
    return true;
}

} // namespace portcullis::transform
