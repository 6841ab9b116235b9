#include "middleware/oauth/osin.hpp"

#include "middleware/keys/base64.hpp"
#include "middleware/keys/token.hpp"
#include "middleware/transform/context_vars.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace portcullis::oauth {

namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

/// A string member as Go's decoder reads it into a string field: "" when absent or not a string.
std::string string_member(const Json& object, const char* name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::int64_t int_member(const Json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || !it->is_number()) {
        return 0;
    }
    return it->is_number_float() ? static_cast<std::int64_t>(it->get<double>())
                                 : it->get<std::int64_t>();
}

/// fmt.Sprint of an output value.
std::string sprint(const Json& value) {
    if (value.is_string()) {
        return value.get<std::string>();
    }
    return value.dump();
}

/// RFC 3986 remove_dot_segments on a decoded absolute path; "" becomes "/".
std::string resolve_path(std::string_view path) {
    std::vector<std::string_view> out;
    bool trailing = false;
    std::size_t pos = 0;
    if (path.starts_with('/')) {
        pos = 1;
    }
    while (pos <= path.size()) {
        const auto slash = path.find('/', pos);
        const auto seg = path.substr(pos, slash == std::string_view::npos ? std::string_view::npos
                                                                          : slash - pos);
        trailing = false;
        if (seg == "..") {
            if (!out.empty()) {
                out.pop_back();
            }
            trailing = true;
        } else if (seg == ".") {
            trailing = true;
        } else {
            out.push_back(seg);
        }
        if (slash == std::string_view::npos) {
            break;
        }
        pos = slash + 1;
    }
    std::string result;
    for (const auto seg : out) {
        result.push_back('/');
        result.append(seg);
    }
    if (trailing || result.empty()) {
        result.push_back('/');
    }
    return result;
}

struct UriParts {
    std::string scheme;
    std::string host;
    std::string path;
};

std::optional<UriParts> parse_uri(std::string_view text) {
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) {
        return std::nullopt;
    }
    const boost::urls::url_view& u = *parsed;
    if (u.has_fragment() && !u.encoded_fragment().empty()) {
        return std::nullopt; // osin: "url must not include fragment."
    }
    UriParts out;
    for (const char c : u.scheme()) {
        out.scheme.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    out.host = std::string(u.encoded_host_and_port());
    out.path = resolve_path(std::string(u.path()));
    return out;
}

bool validate_one(std::string_view base_text, std::string_view redirect_text) {
    if (base_text.empty() || redirect_text.empty()) {
        return false;
    }
    const auto base = parse_uri(base_text);
    const auto redirect = parse_uri(redirect_text);
    if (!base || !redirect || base->scheme != redirect->scheme || base->host != redirect->host) {
        return false;
    }
    if (base->path == redirect->path) {
        return true;
    }
    std::string prefix = base->path;
    while (!prefix.empty() && prefix.back() == '/') {
        prefix.pop_back();
    }
    prefix.push_back('/');
    return redirect->path.starts_with(prefix);
}

std::vector<std::string_view> split_list(std::string_view list, std::string_view separator) {
    std::vector<std::string_view> out;
    if (separator.empty()) {
        out.push_back(list);
        return out;
    }
    while (true) {
        const auto at = list.find(separator);
        out.push_back(list.substr(0, at));
        if (at == std::string_view::npos) {
            break;
        }
        list.remove_prefix(at + separator.size());
    }
    return out;
}

std::array<unsigned char, 32> sha256(std::string_view data) {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

/// Parses RFC 3339 (Go's time.Time JSON); 0 when it does not parse.
std::int64_t parse_rfc3339(std::string_view text) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    int used = 0;
    const std::string copy(text);
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) !=
        6) {
        return 0;
    }
    std::string_view rest = text.substr(static_cast<std::size_t>(used));
    if (rest.starts_with('.')) {
        rest.remove_prefix(1);
        while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
            rest.remove_prefix(1);
        }
    }
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    std::int64_t t = timegm(&tm);
    if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-')) {
        const int oh = (rest[1] - '0') * 10 + (rest[2] - '0');
        const int om = (rest[4] - '0') * 10 + (rest[5] - '0');
        const std::int64_t offset = oh * 3600 + om * 60;
        t += rest[0] == '+' ? -offset : offset;
    }
    return t;
}

} // namespace

std::string_view error_description(std::string_view id) {
    static constexpr std::pair<std::string_view, std::string_view> kDescriptions[] = {
        {kInvalidRequest, "The request is missing a required parameter, includes an invalid "
                          "parameter value, includes a parameter more than once, or is otherwise "
                          "malformed."},
        {kUnauthorizedClient, "The client is not authorized to request a token using this method."},
        {kAccessDenied, "The resource owner or authorization server denied the request."},
        {kUnsupportedResponseType,
         "The authorization server does not support obtaining a token using this method."},
        {kServerError, "The authorization server encountered an unexpected condition that "
                       "prevented it from fulfilling the request."},
        {kUnsupportedGrantType,
         "The authorization grant type is not supported by the authorization server."},
        {kInvalidGrant,
         "The provided authorization grant (e.g., authorization code, resource owner "
         "credentials) or refresh token is invalid, expired, revoked, does not match the "
         "redirection URI used in the authorization request, or was issued to another client."},
        {kInvalidClient, "Client authentication failed (e.g., unknown client, no client "
                         "authentication included, or unsupported authentication method)."},
    };
    for (const auto& [known, description] : kDescriptions) {
        if (known == id) {
            return description;
        }
    }
    return id;
}

// ---- the client ----------------------------------------------------------------------------

Client client_from_json(const Json& record) {
    Client out;
    if (!record.is_object()) {
        return out;
    }
    out.id = string_member(record, "id");
    out.secret = string_member(record, "secret");
    out.redirect_uri = string_member(record, "redirecturi");
    out.policy_id = string_member(record, "policyid");
    out.description = string_member(record, "description");
    if (const auto it = record.find("meta_data"); it != record.end()) {
        out.meta_data = *it;
    }
    return out;
}

Client parse_client_record(std::string_view text) {
    return client_from_json(Json::parse(text, nullptr, false));
}

OJson client_record(const Client& c) {
    OJson out = OJson::object();
    out["id"] = c.id;
    out["secret"] = c.secret;
    out["redirecturi"] = c.redirect_uri;
    if (!c.meta_data.is_null()) {
        out["meta_data"] = OJson::parse(c.meta_data.dump());
    }
    out["policyid"] = c.policy_id;
    out["description"] = c.description;
    return out;
}

bool secret_matches(std::string_view stored, std::string_view presented) {
    const auto a = sha256(stored);
    const auto b = sha256(presented);
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- requests ------------------------------------------------------------------------------

Form Form::parse(std::string_view query,
                 std::string_view body,
                 std::string_view content_type,
                 bool read_body) {
    Form form;
    if (read_body && transform::is_form_urlencoded(content_type)) {
        transform::parse_query_into(form.values_, body);
    }
    transform::parse_query_into(form.values_, query);
    if (content_type == "application/json") {
        const Json doc = Json::parse(body, nullptr, false);
        bool strings_only = doc.is_object();
        if (strings_only) {
            for (const auto& [name, value] : doc.items()) {
                strings_only = strings_only && value.is_string();
            }
        }
        if (strings_only) {
            for (const auto& [name, value] : doc.items()) {
                form.values_[name] = Json::array({value});
            }
        }
    }
    return form;
}

std::string Form::get(std::string_view name) const {
    const auto it = values_.find(name);
    if (it == values_.end() || !it->is_array() || it->empty()) {
        return {};
    }
    return it->front().get<std::string>();
}

bool Form::has(std::string_view name) const {
    return values_.contains(name);
}

std::optional<ClientAuth> client_auth(std::string_view authorization, const Form& form) {
    if (form.has("client_secret")) {
        ClientAuth auth{form.get("client_id"), form.get("client_secret")};
        if (!auth.id.empty()) {
            return auth;
        }
    }
    // osin CheckBasicAuth: "Basic <std base64 of id:secret>".
    const auto space = authorization.find(' ');
    if (authorization.empty() || space == std::string_view::npos ||
        authorization.substr(0, space) != "Basic") {
        return std::nullopt;
    }
    const auto decoded = keys::base64_decode_strict(authorization.substr(space + 1));
    if (!decoded) {
        return std::nullopt;
    }
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    // RFC 6749 2.3.1: both parts are form-urlencoded (osin decodes them).
    auto id = transform::query_unescape(std::string_view(*decoded).substr(0, colon));
    auto secret = transform::query_unescape(std::string_view(*decoded).substr(colon + 1));
    if (!id || !secret) {
        return std::nullopt;
    }
    return ClientAuth{std::move(*id), std::move(*secret)};
}

// ---- responses -----------------------------------------------------------------------------

void Response::set_error(std::string_view id, std::string_view state) {
    const std::string_view description = error_description(id);
    is_error = true;
    status_text = error_status != 200 ? std::string(description) : std::string{};
    output = Json::object();
    output["error"] = id;
    output["error_description"] = description;
    if (!state.empty()) {
        output["state"] = state;
    }
}

std::optional<std::string> redirect_url(const Response& response) {
    if (!response.redirect) {
        return std::nullopt;
    }
    const std::string& base = *response.redirect;
    if (!boost::urls::parse_uri_reference(base)) {
        return std::nullopt;
    }
    const auto cut = base.find_first_of(response.redirect_in_fragment ? "#" : "?#");
    const std::string_view head = std::string_view(base).substr(0, cut);
    Json params = Json::object();
    if (cut != std::string::npos && base[cut] == '?') {
        const auto hash = base.find('#', cut);
        transform::parse_query_into(
            params, std::string_view(base).substr(
                        cut + 1, hash == std::string::npos ? std::string::npos : hash - cut - 1));
    }
    for (const auto& [name, value] : response.output.items()) {
        params[name] = Json::array({sprint(value)});
    }
    const std::string encoded = transform::encode_query(params);
    std::string out(head);
    out.push_back(response.redirect_in_fragment ? '#' : '?');
    if (encoded.empty() && !response.redirect_in_fragment) {
        out.pop_back();
    }
    out += encoded;
    return out;
}

std::string render(Response& response) {
    if (const auto it = response.output.find("state");
        it != response.output.end() && it->is_string() && it->get<std::string>().empty()) {
        response.output.erase(it);
    }
    if (auto url = redirect_url(response)) {
        response.output["redirect_to"] = std::move(*url);
    }
    // nlohmann never escapes <, > or & (Go's SetEscapeHTML(false)); keys are sorted.
    return response.output.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

// ---- redirect URIs -------------------------------------------------------------------------

bool redirect_uri_valid(std::string_view base_list,
                        std::string_view redirect,
                        std::string_view separator) {
    for (const auto base : split_list(base_list, separator)) {
        if (validate_one(base, redirect)) {
            return true;
        }
    }
    return false;
}

std::string first_uri(std::string_view base_list, std::string_view separator) {
    return std::string(split_list(base_list, separator).front());
}

// ---- records ---------------------------------------------------------------------------------

std::string rfc3339(std::int64_t unix_seconds) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string authorize_record(const Grant& grant) {
    OJson out = OJson::object();
    out["Client"] = client_record(grant.client);
    out["Code"] = grant.code;
    out["ExpiresIn"] = grant.expires_in;
    out["Scope"] = grant.scope;
    out["RedirectUri"] = grant.redirect_uri;
    out["State"] = grant.state;
    out["CreatedAt"] = rfc3339(grant.created_at);
    out["UserData"] = OJson::parse(grant.user_data.dump());
    out["CodeChallenge"] = "";
    out["CodeChallengeMethod"] = "";
    return out.dump();
}

std::string access_record(const Grant& grant) {
    OJson out = OJson::object();
    out["Client"] = client_record(grant.client);
    out["AuthorizeData"] = nullptr;
    out["AccessData"] = nullptr;
    out["AccessToken"] = grant.access_token;
    out["RefreshToken"] = grant.refresh_token;
    out["ExpiresIn"] = grant.expires_in;
    out["Scope"] = grant.scope;
    out["RedirectUri"] = grant.redirect_uri;
    out["CreatedAt"] = rfc3339(grant.created_at);
    out["UserData"] = OJson::parse(grant.user_data.dump());
    return out.dump();
}

std::optional<Grant> parse_grant(std::string_view text) {
    const Json doc = Json::parse(text, nullptr, false);
    if (!doc.is_object() || !doc.contains("Client") || !doc["Client"].is_object()) {
        return std::nullopt;
    }
    Grant out;
    out.client = client_from_json(doc["Client"]);
    out.code = string_member(doc, "Code");
    out.access_token = string_member(doc, "AccessToken");
    out.refresh_token = string_member(doc, "RefreshToken");
    out.expires_in = int_member(doc, "ExpiresIn");
    out.scope = string_member(doc, "Scope");
    out.redirect_uri = string_member(doc, "RedirectUri");
    out.state = string_member(doc, "State");
    out.created_at = parse_rfc3339(string_member(doc, "CreatedAt"));
    if (const auto it = doc.find("UserData"); it != doc.end()) {
        out.user_data = *it;
    }
    return out;
}

// ---- the session of a new token ----------------------------------------------------------------

Json session_from_policy(const config::Policy& policy, std::int64_t now) {
    const Json& raw = policy.raw;
    Json session = Json::object();
    session["apply_policies"] = Json::array({policy.id});
    if (const auto it = raw.find("rate"); it != raw.end() && it->is_number()) {
        session["allowance"] = *it; // Tyk's legacy copy of the rate
    }
    session["org_id"] = string_member(raw, "org_id"); // enforceOrg false: the policy's org
    for (const char* field : {"rate", "per", "throttle_interval", "throttle_retry_limit",
                              "max_query_depth", "quota_max", "quota_renewal_rate", "hmac_enabled",
                              "enable_http_signature_validation", "is_inactive", "tags"}) {
        if (const auto it = raw.find(field); it != raw.end() && !it->is_null()) {
            session[field] = *it;
        }
    }
    session["access_rights"] = Json::object();
    if (const auto it = raw.find("access_rights"); it != raw.end() && it->is_object()) {
        session["access_rights"] = *it;
    }
    const std::int64_t expires_in = int_member(raw, "key_expires_in");
    if (expires_in > 0) {
        session["expires"] = now + expires_in;
    }
    return session;
}

std::optional<Json> token_session(const Json& user_data,
                                  const config::Policy* policy,
                                  const Client& client,
                                  std::int64_t expires_in,
                                  std::int64_t now) {
    Json session;
    if (user_data.is_string()) {
        session = Json::parse(user_data.get<std::string>(), nullptr, false);
    }
    if (!session.is_object()) {
        if (policy == nullptr) {
            return std::nullopt;
        }
        session = session_from_policy(*policy, now);
    }
    session["oauth_client_id"] = client.id;
    session["expires"] = now + expires_in;
    if (client.meta_data.is_object()) {
        auto& meta = session["meta_data"];
        if (!meta.is_object()) {
            meta = Json::object();
        }
        for (const auto& [key, value] : client.meta_data.items()) {
            if (!meta.contains(key)) {
                meta[key] = value;
            }
        }
    }
    return session;
}

std::string new_uuid_base64() {
    const std::string hex = keys::new_key_id();
    const std::string uuid = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) +
                             "-" + hex.substr(16, 4) + "-" + hex.substr(20);
    return keys::base64_encode(uuid);
}

std::string new_authorize_code() {
    std::array<unsigned char, 16> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    std::string text = keys::base64_encode(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    while (!text.empty() && text.back() == '=') {
        text.pop_back();
    }
    for (char& c : text) {
        c = c == '+' ? '-' : (c == '/' ? '_' : c);
    }
    return text;
}

} // namespace portcullis::oauth
