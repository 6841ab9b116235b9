#include "middleware/transform/context_vars.hpp"

#include "middleware/core/text.hpp"
#include "middleware/transform/variables.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <vector>

// Tyk's MiddlewareContextVars (gateway/mw_context_vars.go) on a Go *http.Request: r.Form after
// parseForm, r.Header (canonical keys, Host removed by net/http and kept in r.Host), r.Cookies(),
// r.URL.Path (percent-decoded), request.RealIP(r) and a satori UUIDv4.

namespace portcullis::transform {

namespace {

using nlohmann::json;

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

// Go's url.QueryUnescape (`query`), or a lenient url.PathUnescape that keeps malformed escapes
// as they are (net/http would have refused such a request). nullopt when a query escape is
// malformed.
std::optional<std::string> unescape(std::string_view in, bool query) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            const bool complete = i + 2 < in.size();
            const int hi = complete ? hex_value(in[i + 1]) : -1;
            const int lo = complete ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                if (query) {
                    return std::nullopt;
                }
                out.push_back(c);
                continue;
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && query) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

} // namespace

// Go's url.ParseQuery, appending to `form` (name -> array of values).
void parse_query_into(json& form, std::string_view query) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.find(';') != std::string_view::npos || pair.empty()) {
            continue; // Go rejects ';' separators; empty pairs are skipped
        }
        const auto eq = pair.find('=');
        const auto raw_key = pair.substr(0, eq);
        const auto raw_value =
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        auto key = unescape(raw_key, true);
        if (!key) {
            continue;
        }
        auto value = unescape(raw_value, true);
        if (!value) {
            continue;
        }
        form[*key].push_back(std::move(*value));
    }
}

namespace {

// First value of the header `name` (Go's Header.Get), or empty.
std::string_view first_header(const Fields* headers, std::string_view name) {
    if (headers == nullptr) {
        return {};
    }
    for (const auto& f : *headers) {
        if (iequals(f.name_string(), name)) {
            return f.value();
        }
    }
    return {};
}

} // namespace

std::string encode_query(const json& values) {
    std::string out;
    for (const auto& [name, list] : values.items()) {
        const std::string key = query_escape(name);
        for (const auto& v : list) {
            if (!out.empty()) {
                out.push_back('&');
            }
            out += key;
            out.push_back('=');
            out += query_escape(v.is_string() ? v.get<std::string>() : v.dump());
        }
    }
    return out;
}

std::optional<std::string> query_unescape(std::string_view text) {
    return unescape(text, true);
}

// Go's mime.ParseMediaType media type check for application/x-www-form-urlencoded.
bool is_form_urlencoded(std::string_view content_type) {
    const auto semi = content_type.find(';');
    auto media = content_type.substr(0, semi);
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) {
        media.remove_prefix(1);
    }
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
        media.remove_suffix(1);
    }
    return iequals(media, "application/x-www-form-urlencoded");
}

namespace {

bool is_ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s, bool (*space)(char)) {
    while (!s.empty() && space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_textproto_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Go's net.SplitHostPort: the host, or nullopt on error.
std::optional<std::string_view> split_host_port(std::string_view hostport) {
    const auto i = hostport.rfind(':');
    if (i == std::string_view::npos) {
        return std::nullopt; // missing port
    }
    std::string_view host;
    std::size_t j = 0;
    std::size_t k = 0;
    if (hostport.front() == '[') {
        const auto end = hostport.find(']');
        if (end == std::string_view::npos || end + 1 != i) {
            return std::nullopt; // missing ']', missing port, too many colons
        }
        host = hostport.substr(1, end - 1);
        j = 1;
        k = end + 1;
    } else {
        host = hostport.substr(0, i);
        if (host.find(':') != std::string_view::npos) {
            return std::nullopt; // too many colons
        }
    }
    if (hostport.find('[', j) != std::string_view::npos ||
        hostport.find(']', k) != std::string_view::npos) {
        return std::nullopt;
    }
    return host;
}

// Go's net.ParseIP(ip).String(), or nullopt when `ip` is not an address.
std::optional<std::string> canonical_ip(std::string_view ip) {
    if (ip.empty() || ip.size() > 64) {
        return std::nullopt;
    }
    const std::string text(ip);
    std::array<unsigned char, 16> b{};
    char buf[INET6_ADDRSTRLEN] = {};
    if (inet_pton(AF_INET, text.c_str(), b.data()) == 1) {
        if (inet_ntop(AF_INET, b.data(), buf, sizeof buf) == nullptr) {
            return std::nullopt;
        }
        return std::string(buf);
    }
    if (inet_pton(AF_INET6, text.c_str(), b.data()) != 1) {
        return std::nullopt;
    }
    const bool mapped =
        std::all_of(b.begin(), b.begin() + 10, [](unsigned char x) { return x == 0; }) &&
        b[10] == 0xff && b[11] == 0xff;
    if (mapped) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
        return std::string(buf);
    }
    // RFC 5952 as Go prints it: the first longest run of two or more zero groups becomes "::".
    std::array<unsigned, 8> groups{};
    for (std::size_t g = 0; g < 8; ++g) {
        groups[g] = (static_cast<unsigned>(b[2 * g]) << 8) | b[2 * g + 1];
    }
    int best = -1;
    int best_len = 0;
    for (int g = 0; g < 8;) {
        if (groups[static_cast<std::size_t>(g)] != 0) {
            ++g;
            continue;
        }
        int e = g;
        while (e < 8 && groups[static_cast<std::size_t>(e)] == 0) {
            ++e;
        }
        if (e - g > best_len) {
            best = g;
            best_len = e - g;
        }
        g = e;
    }
    if (best_len < 2) {
        best = -1;
    }
    std::string out;
    for (int g = 0; g < 8; ++g) {
        if (g == best) {
            out += "::";
            g += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') {
            out.push_back(':');
        }
        char hex[8];
        std::snprintf(hex, sizeof hex, "%x", groups[static_cast<std::size_t>(g)]);
        out += hex;
    }
    return out;
}

// Tyk's request.RealIP with http_server_options.xff_depth.
std::string real_ip(const RequestFacts& request, int xff_depth) {
    if (const auto real = first_header(request.headers, "X-Real-Ip"); !real.empty()) {
        auto ip = real;
        if (const auto host = split_host_port(real)) {
            ip = *host;
        }
        if (auto parsed = canonical_ip(ip)) {
            return std::move(*parsed);
        }
    }
    if (const auto xff = first_header(request.headers, "X-Forwarded-For"); !xff.empty()) {
        std::vector<std::string_view> entries;
        std::size_t pos = 0;
        while (true) {
            const auto comma = xff.find(',', pos);
            entries.push_back(xff.substr(pos, comma - pos));
            if (comma == std::string_view::npos) {
                break;
            }
            pos = comma + 1;
        }
        // An impossible depth gives "" rather than a guess (Tyk's choice).
        if (xff_depth < 0 || static_cast<std::size_t>(xff_depth) > entries.size()) {
            return {};
        }
        const auto index =
            xff_depth == 0 ? 0 : entries.size() - static_cast<std::size_t>(xff_depth);
        auto ip = trim(entries[index], is_ascii_space);
        if (const auto host = split_host_port(ip)) {
            ip = *host;
        }
        if (auto parsed = canonical_ip(ip)) {
            return std::move(*parsed);
        }
    }
    return std::string(request.peer_ip);
}

// `prefix` + `name` with every '-' made '_'.
std::string underscored(std::string_view prefix, std::string_view name) {
    std::string key(prefix);
    for (const char c : name) {
        key.push_back(c == '-' ? '_' : c);
    }
    return key;
}

// Go's validCookieValueByte.
bool is_cookie_value_byte(char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\';
}

// Go's readCookies(r.Header, ""): every Cookie line, split on ';'.
void add_cookies(json& vars, const Fields& headers) {
    for (const auto& f : headers) {
        if (!iequals(f.name_string(), "Cookie")) {
            continue;
        }
        auto line = trim(f.value(), is_textproto_space);
        while (!line.empty()) {
            const auto semi = line.find(';');
            auto part = trim(line.substr(0, semi), is_textproto_space);
            line = semi == std::string_view::npos ? std::string_view{} : line.substr(semi + 1);
            if (part.empty()) {
                continue;
            }
            const auto eq = part.find('=');
            const auto name = trim(part.substr(0, eq), is_textproto_space);
            auto value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
            if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
                continue;
            }
            if (value.size() > 1 && value.front() == '"' && value.back() == '"') {
                value = value.substr(1, value.size() - 2);
            }
            if (!std::all_of(value.begin(), value.end(), is_cookie_value_byte)) {
                continue;
            }
            vars[underscored("cookies_", name)] = std::string(value); // the last one wins
        }
    }
}

} // namespace

std::string canonical_header_key(std::string_view name) {
    std::string out(name);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) {
        return out; // spaces or other non-token bytes: Go leaves the key alone
    }
    bool upper = true;
    for (auto& c : out) {
        if (upper && c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        } else if (!upper && c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        upper = c == '-';
    }
    return out;
}

std::string new_request_id() {
    std::array<unsigned char, 16> b{};
    if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40); // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out.push_back('-');
        }
        out.push_back(hex[b[i] >> 4]);
        out.push_back(hex[b[i] & 0x0f]);
    }
    return out;
}

bool reads_form_body(std::string_view method, const Fields* headers) {
    const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
    return body_method && is_form_urlencoded(first_header(headers, "Content-Type"));
}

json build_context_vars(const RequestFacts& request, int xff_depth) {
    // r.Form: urlencoded body values first (POST, PUT and PATCH only, as net/http), then the
    // query's.
    json form = json::object();
    constexpr std::size_t max_form_size = 10 << 20; // net/http refuses larger bodies
    if (!request.body.empty() && request.body.size() <= max_form_size &&
        reads_form_body(request.method, request.headers)) {
        parse_query_into(form, request.body);
    }
    parse_query_into(form, request.query);

    json headers = json::object();
    std::string host;
    bool host_seen = false;
    if (request.headers != nullptr) {
        for (const auto& f : *request.headers) {
            const auto name = canonical_header_key(f.name_string());
            if (name == "Host") {
                if (!host_seen) {
                    host = std::string(f.value());
                    host_seen = true;
                }
                continue; // net/http moves Host out of r.Header
            }
            headers[name].push_back(std::string(f.value()));
        }
    }

    // r.URL.Path is the decoded path.
    std::string path = *unescape(request.path, false);
    json parts = json::array();
    std::size_t pos = 0;
    while (true) {
        const auto slash = path.find('/', pos);
        parts.push_back(
            path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
        if (slash == std::string::npos) {
            break;
        }
        pos = slash + 1;
    }

    json vars = json::object();
    for (const auto& [name, values] : headers.items()) {
        vars[underscored("headers_", name)] = values.front();
    }
    if (request.headers != nullptr) {
        add_cookies(vars, *request.headers);
    }
    for (const auto& [key, values] : form.items()) {
        if (!values.empty()) {
            vars[underscored("request_data_", key)] = values.front();
        }
    }
    vars["request_data"] = std::move(form);
    vars["headers"] = std::move(headers);
    vars["headers_Host"] = std::move(host);
    vars["path_parts"] = std::move(parts);
    vars["path"] = std::move(path);
    vars["remote_addr"] = real_ip(request, xff_depth);
    vars["request_id"] = new_request_id();
    return vars;
}

} // namespace portcullis::transform
