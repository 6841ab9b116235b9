#include "config/api_definition.hpp"

#include "config/json_reader.hpp"

#include <array>
#include <string_view>

namespace portcullis::config {

namespace {

using Json = nlohmann::json;

// Version keys Tyk falls back to when nothing else names the version to use.
constexpr std::array<std::string_view, 3> kDefaultVersionKeys = {"Default", "default", ""};

const VersionInfo* find_version(const std::vector<VersionInfo>& versions, std::string_view key) {
    for (const VersionInfo& version : versions) {
        if (version.key == key) {
            return &version;
        }
    }
    return nullptr;
}

const VersionInfo* find_default_version(const std::vector<VersionInfo>& versions) {
    for (const std::string_view key : kDefaultVersionKeys) {
        if (const VersionInfo* version = find_version(versions, key)) {
            return version;
        }
    }
    return nullptr;
}

// Sections kept verbatim still have to be objects, or later consumers would trip over them.
Json read_raw_object(const JsonReader& reader, std::string_view key) {
    const Json& value = reader.raw(key);
    if (value.is_null()) {
        return Json::object();
    }
    if (!value.is_object()) {
        reader.fail(key, std::string("expected an object, got ") + value.type_name());
    }
    return value;
}

ProxyConfig read_proxy(const JsonReader& reader) {
    ProxyConfig proxy;
    reader.read("listen_path", proxy.listen_path);
    if (proxy.listen_path.empty()) {
        reader.fail("listen_path", "listen_path is required");
    }
    if (proxy.listen_path.front() != '/') {
        reader.fail("listen_path", "listen_path must start with '/'");
    }
    reader.read("target_url", proxy.target_url);
    std::string error;
    auto target = parse_target_url(proxy.target_url, error);
    if (!target) {
        reader.fail("target_url", error);
    }
    proxy.target = std::move(*target);
    reader.read("strip_listen_path", proxy.strip_listen_path);
    reader.read("preserve_host_header", proxy.preserve_host_header);
    reader.read("disable_strip_slash", proxy.disable_strip_slash);
    reader.object("transport").read("ssl_insecure_skip_verify", proxy.ssl_insecure_skip_verify);
    return proxy;
}

VersionInfo read_version(const std::string& key, const JsonReader& reader) {
    VersionInfo version;
    version.key = key;
    reader.read("name", version.name);
    if (version.name.empty()) {
        version.name = key;
    }
    reader.read("use_extended_paths", version.use_extended_paths);
    version.extended_paths = read_raw_object(reader, "extended_paths");
    reader.read("global_headers", version.global_headers);
    reader.read("global_headers_remove", version.global_headers_remove);
    reader.read("global_headers_disabled", version.global_headers_disabled);
    reader.read("global_response_headers", version.global_response_headers);
    reader.read("global_response_headers_remove", version.global_response_headers_remove);
    reader.read("global_response_headers_disabled", version.global_response_headers_disabled);
    reader.read("ignore_endpoint_case", version.ignore_endpoint_case);
    return version;
}

VersionData read_version_data(const JsonReader& reader) {
    VersionData data;
    // Go's zero value: a definition that omits `not_versioned` is versioned.
    data.not_versioned = false;
    reader.read("not_versioned", data.not_versioned);
    reader.read("default_version", data.default_version);
    // nlohmann::json objects iterate in key order, which gives the documented ordering.
    for (const auto& [key, version] : reader.members("versions")) {
        data.versions.push_back(read_version(key, version));
    }
    return data;
}

AuthTokenConfig read_auth(const JsonReader& reader) {
    AuthTokenConfig auth;
    std::string header_name;
    reader.read("auth_header_name", header_name);
    if (!header_name.empty()) {
        auth.auth_header_name = std::move(header_name);
    }
    reader.read("use_param", auth.use_param);
    reader.read("param_name", auth.param_name);
    reader.read("use_cookie", auth.use_cookie);
    reader.read("cookie_name", auth.cookie_name);
    reader.read("disable_header", auth.disable_header);
    return auth;
}

// Tyk reads `auth_configs.authToken` when it exists and only falls back to the deprecated
// top-level `auth` otherwise; the two are never merged (gateway/middleware.go getAuthToken).
AuthTokenConfig read_effective_auth(const JsonReader& root) {
    const JsonReader auth_configs = root.object("auth_configs");
    if (auth_configs.has("authToken")) {
        return read_auth(auth_configs.object("authToken"));
    }
    return read_auth(root.object("auth"));
}

MiddlewareDefinition read_middleware(const JsonReader& reader) {
    MiddlewareDefinition mw;
    reader.read("name", mw.name);
    reader.read("path", mw.path);
    reader.read("require_session", mw.require_session);
    reader.read("raw_body_only", mw.raw_body_only);
    reader.read("disabled", mw.disabled);
    return mw;
}

std::vector<MiddlewareDefinition> read_middleware_list(const JsonReader& reader,
                                                       std::string_view key) {
    std::vector<MiddlewareDefinition> out;
    const auto& list = reader.raw(key);
    if (list.is_null()) {
        return out;
    }
    if (!list.is_array()) {
        reader.fail(key, "expected an array");
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string path = reader.path() + "/" + std::string(key) + "/" + std::to_string(i);
        out.push_back(read_middleware(JsonReader(list[i], reader.file(), path)));
    }
    return out;
}

CustomMiddleware read_custom_middleware(const JsonReader& reader) {
    CustomMiddleware mw;
    reader.read("driver", mw.driver);
    mw.pre = read_middleware_list(reader, "pre");
    mw.post_key_auth = read_middleware_list(reader, "post_key_auth");
    mw.post = read_middleware_list(reader, "post");
    mw.response = read_middleware_list(reader, "response");
    mw.auth_check = read_middleware(reader.object("auth_check"));
    return mw;
}

} // namespace

const VersionInfo* ApiDefinition::active_version() const {
    const auto& versions = version_data.versions;
    if (version_data.not_versioned) {
        if (versions.size() == 1) {
            return &versions.front();
        }
        if (const VersionInfo* version = find_default_version(versions)) {
            return version;
        }
        // Tyk takes whichever version Go's map iteration yields first; key order is stable.
        return versions.empty() ? nullptr : &versions.front();
    }
    if (!version_data.default_version.empty()) {
        if (const VersionInfo* version = find_version(versions, version_data.default_version)) {
            return version;
        }
    }
    return find_default_version(versions);
}

ApiDefinition parse_api_definition(const nlohmann::json& value, const std::string& file) {
    const JsonReader root(value, file);
    ApiDefinition api;
    api.source_file = file;

    root.read("api_id", api.api_id);
    if (api.api_id.empty()) {
        root.fail("api_id", "api_id is required");
    }
    root.read("org_id", api.org_id);
    root.read("name", api.name);
    root.read("active", api.active);
    root.read("use_keyless", api.use_keyless);
    root.read("use_standard_auth", api.use_standard_auth);
    root.read("use_oauth2", api.use_oauth2);
    for (const char* flag :
         {"enable_coprocess_auth", "custom_plugin_auth_enabled", "use_go_plugin_auth"}) {
        bool on = false;
        root.read(flag, on);
        api.custom_plugin_auth = api.custom_plugin_auth || on;
    }
    root.read("internal", api.internal);
    api.proxy = read_proxy(root.object("proxy"));
    api.version_data = read_version_data(root.object("version_data"));
    api.auth = read_effective_auth(root);
    api.oauth_auth = read_auth(root.object("auth_configs").object("oauth"));
    {
        const auto meta = root.object("oauth_meta");
        meta.read("allowed_access_types", api.oauth_meta.allowed_access_types);
        meta.read("allowed_authorize_types", api.oauth_meta.allowed_authorize_types);
        meta.read("auth_login_redirect", api.oauth_meta.auth_login_redirect);
    }
    root.read("disable_rate_limit", api.disable_rate_limit);
    root.read("disable_quota", api.disable_quota);
    {
        const auto limit = root.object("global_rate_limit");
        limit.read("rate", api.global_rate_limit.rate);
        limit.read("per", api.global_rate_limit.per);
        limit.read("disabled", api.global_rate_limit.disabled);
    }
    root.read("enable_context_vars", api.enable_context_vars);
    root.read("strip_auth_data", api.strip_auth_data);
    root.read("session_lifetime", api.session_lifetime);
    root.read("session_lifetime_respects_key_expiration",
              api.session_lifetime_respects_key_expiration);
    api.config_data = read_raw_object(root, "config_data");
    root.read("config_data_disabled", api.config_data_disabled);
    api.custom_middleware = read_custom_middleware(root.object("custom_middleware"));
    api.raw = value;
    return api;
}

} // namespace portcullis::config
