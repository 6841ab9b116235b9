#include "middleware/auth/auth_token.hpp"

#include "middleware/core/text.hpp"

#include <boost/beast/core/string.hpp>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace portcullis::auth {

namespace {

std::string percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
                   hex_value(in[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string strip_bearer(std::string value) {
    if (value.size() >= 7 &&
        boost::beast::iequals(std::string_view(value).substr(0, 7), "bearer ")) {
        value.erase(0, 7);
    }
    return value;
}

/// allowed_urls patterns come from sessions (data, not config), so they are compiled on first
/// use and kept per thread; RE2 keeps matching linear whatever the pattern.
const re2::RE2* compiled(const std::string& pattern) {
    thread_local std::unordered_map<std::string, std::unique_ptr<re2::RE2>> cache;
    auto it = cache.find(pattern);
    if (it == cache.end()) {
        if (cache.size() > 4096) {
            cache.clear();
        }
        re2::RE2::Options options;
        options.set_log_errors(false);
        it = cache.emplace(pattern, std::make_unique<re2::RE2>(pattern, options)).first;
    }
    return it->second->ok() ? it->second.get() : nullptr;
}

} // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto part = query.substr(0, amp);
        const auto eq = part.find('=');
        const auto key = percent_decode(part.substr(0, eq));
        if (key == name) {
            return eq == std::string_view::npos ? std::string{}
                                                : percent_decode(part.substr(eq + 1));
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

std::optional<std::string> cookie_value(const Fields& headers, std::string_view name) {
    for (const auto& f : headers) {
        if (f.name() != http::field::cookie) {
            continue;
        }
        std::string_view rest = f.value();
        while (!rest.empty()) {
            const auto semi = rest.find(';');
            const auto pair = trim_ows(rest.substr(0, semi));
            const auto eq = pair.find('=');
            if (eq != std::string_view::npos && trim_ows(pair.substr(0, eq)) == name) {
                auto value = trim_ows(pair.substr(eq + 1));
                if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                    value = value.substr(1, value.size() - 2);
                }
                return std::string(value);
            }
            if (semi == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(semi + 1);
        }
    }
    return std::nullopt;
}

std::string extract_api_key(const Fields& headers,
                            std::string_view query,
                            const config::AuthTokenConfig& auth) {
    const std::string header_name =
        auth.auth_header_name.empty() ? "Authorization" : auth.auth_header_name;
    std::string key;
    if (!auth.disable_header) {
        auto it = headers.find(header_name);
        if (it != headers.end()) {
            key = std::string(it->value());
        }
    }
    if (auth.use_param) {
        const std::string param = auth.param_name.empty() ? header_name : auth.param_name;
        if (auto v = query_param(query, param); v && !v->empty()) {
            key = *v;
        }
    }
    if (auth.use_cookie) {
        const std::string cookie = auth.cookie_name.empty() ? header_name : auth.cookie_name;
        if (auto v = cookie_value(headers, cookie); v && !v->empty()) {
            key = *v;
        }
    }
    return strip_bearer(std::move(key));
}

std::string
message_for(const config::GatewayConfig& config, std::string_view id, std::string_view fallback) {
    if (auto it = config.override_messages.find(std::string(id));
        it != config.override_messages.end() && !it->second.empty()) {
        return it->second;
    }
    return std::string(fallback);
}

Verdict check_session(const Session& session,
                      const config::ApiDefinition& api,
                      std::string_view method,
                      std::string_view path,
                      std::int64_t now) {
    if (session.is_inactive()) {
        return Rejection{http::status::forbidden, "Key is inactive, please renew"};
    }
    if (session.expires() >= 1 && session.expires() < now) {
        return Rejection{http::status::unauthorized, "Key has expired, please renew"};
    }
    const auto& rights = session.access_rights();
    if (!rights.is_object() || rights.empty()) {
        return std::nullopt; // no access rights: a master key
    }
    const ApiAccess& access = session.api_access(api.api_id);
    if (!access.granted) {
        return Rejection{http::status::forbidden, "Access to this API has been disallowed"};
    }
    const auto& urls = access.allowed_urls;
    if (urls.empty()) {
        return std::nullopt;
    }
    for (const auto& allowed : urls) {
        const re2::RE2* re = compiled(allowed.url);
        if (re == nullptr || !re2::RE2::PartialMatch(path, *re)) {
            continue;
        }
        if (std::find(allowed.methods.begin(), allowed.methods.end(), method) !=
            allowed.methods.end()) {
            return std::nullopt;
        }
    }
    return Rejection{http::status::forbidden, "Access to this resource has been disallowed"};
}

} // namespace portcullis::auth
