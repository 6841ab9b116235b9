#include "config/gateway_config.hpp"

#include "config/json_reader.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unistd.h> // environ

namespace portcullis::config {

namespace {

using Json = nlohmann::json;

constexpr int kMaxPort = 65535;
constexpr std::int64_t kMaxWorkers = 1024;
constexpr int kTls10 = 769; // TLS versions as Go numbers them (and OpenSSL)
constexpr int kTls13 = 772;
constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                        "warn",  "error", "off"};

/// "host:port" or "[v6 address]:port".
std::optional<HostPort> parse_host_port(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
        return std::nullopt;
    }
    std::string_view host = text.substr(0, colon);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') {
            return std::nullopt;
        }
        host = host.substr(1, host.size() - 2);
    }
    int port = 0;
    const auto digits = text.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port <= 0 || port > kMaxPort) {
        return std::nullopt;
    }
    return HostPort{std::string(host), port};
}

void read_port(const JsonReader& reader, std::string_view key, int& out) {
    reader.read(key, out);
    if (out < 0 || out > kMaxPort) {
        reader.fail(key, "port " + std::to_string(out) + " out of range 0..65535");
    }
}

void read_seconds(const JsonReader& reader, std::string_view key, Seconds& out) {
    double seconds = out.count();
    reader.read(key, seconds);
    if (seconds < 0) {
        reader.fail(key, "duration must not be negative");
    }
    out = Seconds(seconds);
}

void read_non_negative(const JsonReader& reader, std::string_view key, std::int64_t& out) {
    reader.read(key, out);
    if (out < 0) {
        reader.fail(key, "must not be negative");
    }
}

void read_size(const JsonReader& reader, std::string_view key, std::size_t& out) {
    auto value = static_cast<std::int64_t>(out);
    read_non_negative(reader, key, value);
    out = static_cast<std::size_t>(value);
}

// Tyk only enforces body limits when they are positive, so a negative limit means unlimited.
void read_body_limit(const JsonReader& reader, std::string_view key, std::int64_t& out) {
    reader.read(key, out);
    if (out < 0) {
        out = 0;
    }
}

void read_log_level(const JsonReader& reader, std::string_view key, std::string& out) {
    reader.read(key, out);
    for (const std::string_view level : kLogLevels) {
        if (out == level) {
            return;
        }
    }
    reader.fail(key,
                "unknown log level \"" + out + "\" (expected trace|debug|info|warn|error|off)");
}

StorageConfig read_storage(const JsonReader& reader) {
    StorageConfig storage;
    reader.read("type", storage.type);
    reader.read("host", storage.host);
    read_port(reader, "port", storage.port);
    reader.read("addrs", storage.addrs);
    reader.read("master_name", storage.master_name);
    reader.read("username", storage.username);
    reader.read("password", storage.password);
    reader.read("database", storage.database);
    reader.read("use_ssl", storage.use_ssl);
    reader.read("timeout", storage.timeout);
    reader.read("sentinel_password", storage.sentinel_password);
    if (storage.timeout < 0) {
        reader.fail("timeout", "duration must not be negative");
    }
    if (!storage.master_name.empty()) {
        if (storage.addrs.empty()) {
            storage.sentinels.push_back(HostPort{storage.host, storage.port});
        }
        for (const auto& addr : storage.addrs) {
            auto sentinel = parse_host_port(addr);
            if (!sentinel) {
                reader.fail("addrs", "\"" + addr + "\" is not host:port");
            }
            storage.sentinels.push_back(std::move(*sentinel));
        }
    }
    return storage;
}

PoliciesConfig read_policies(const JsonReader& reader) {
    PoliciesConfig policies;
    reader.read("policy_source", policies.policy_source);
    reader.read("policy_record_name", policies.policy_record_name);
    reader.read("policy_path", policies.policy_path);
    return policies;
}

HttpServerOptions read_http_server_options(const JsonReader& reader) {
    HttpServerOptions options;
    reader.read("enable_strict_routes", options.enable_strict_routes);
    reader.read("enable_path_prefix_matching", options.enable_path_prefix_matching);
    reader.read("enable_path_suffix_matching", options.enable_path_suffix_matching);
    reader.read("xff_depth", options.xff_depth);
    read_body_limit(reader, "max_request_body_size", options.max_request_body_size);
    read_body_limit(reader, "max_response_body_size", options.max_response_body_size);
    read_seconds(reader, "read_timeout", options.read_timeout);
    read_seconds(reader, "write_timeout", options.write_timeout);
    reader.read("use_ssl", options.use_ssl);
    for (const JsonReader& entry : reader.elements("certificates")) {
        ServerCertificate cert;
        entry.read("domain_name", cert.domain_name);
        entry.read("cert_file", cert.cert_file);
        entry.read("key_file", cert.key_file);
        if (cert.cert_file.empty() || cert.key_file.empty()) {
            entry.fail("", "a certificate needs cert_file and key_file");
        }
        options.certificates.push_back(std::move(cert));
    }
    for (const auto* key : {"min_version", "max_version"}) {
        int& version =
            std::string_view(key) == "min_version" ? options.min_version : options.max_version;
        reader.read(key, version);
        if (version != 0 && (version < kTls10 || version > kTls13)) {
            reader.fail(key,
                        "expected a TLS version: 769 (1.0), 770 (1.1), 771 (1.2) or 772 (1.3)");
        }
    }
    if (options.min_version != 0 && options.max_version != 0 &&
        options.min_version > options.max_version) {
        reader.fail("min_version", "is above max_version");
    }
    if (options.use_ssl && options.certificates.empty()) {
        reader.fail("certificates", "use_ssl needs at least one certificate (cert_file, key_file)");
    }
    return options;
}

PortcullisOptions read_portcullis_options(const JsonReader& reader) {
    PortcullisOptions options;
    std::int64_t workers = options.workers;
    read_non_negative(reader, "workers", workers);
    if (workers > kMaxWorkers) {
        reader.fail("workers", "at most 1024 workers are supported");
    }
    options.workers = static_cast<unsigned>(workers);
    read_size(reader, "max_connections_per_worker", options.max_connections_per_worker);
    read_size(reader, "max_header_bytes", options.max_header_bytes);
    read_size(reader, "max_header_fields", options.max_header_fields);
    read_size(reader, "max_buffered_body_bytes", options.max_buffered_body_bytes);
    read_seconds(reader, "header_timeout", options.header_timeout);
    read_seconds(reader, "idle_timeout", options.idle_timeout);
    read_seconds(reader, "upstream_connect_timeout", options.upstream_connect_timeout);
    read_seconds(reader, "upstream_idle_timeout", options.upstream_idle_timeout);
    read_size(reader, "upstream_max_idle_per_host", options.upstream_max_idle_per_host);
    read_seconds(reader, "drain_timeout", options.drain_timeout);
    read_log_level(reader, "log_level", options.log_level);
    read_log_level(reader, "access_log", options.access_log);
    reader.read("access_log_format", options.access_log_format);
    reader.read("upstream_ca_file", options.upstream_ca_file);
    if (options.access_log_format != "text" && options.access_log_format != "json") {
        reader.fail("access_log_format", "must be \"text\" or \"json\"");
    }
    reader.read("metrics_address", options.metrics_address);
    reader.read("test_hooks", options.test_hooks);
    reader.read("rate_limiter_fail_open", options.rate_limiter_fail_open);
    read_size(reader, "jsvm_max_heap_bytes", options.jsvm_max_heap_bytes);
    return options;
}

// Tyk stores {"code": 403, "message": "..."} per error id; only the message is configurable
// here, and a bare string is accepted as a shorthand.
std::map<std::string, std::string> read_override_messages(const JsonReader& root) {
    const JsonReader overrides = root.object("override_messages");
    std::map<std::string, std::string> out;
    const Json& raw = root.raw("override_messages");
    if (raw.is_null()) {
        return out;
    }
    for (const auto& [id, item] : raw.items()) {
        std::string message;
        if (item.is_string()) {
            message = item.get<std::string>();
        } else if (item.is_object()) {
            overrides.object(id).read("message", message);
        } else if (!item.is_null()) {
            overrides.fail(id, "expected a string or an object with \"message\"");
        }
        // An empty message keeps Tyk's built-in text, as Tyk does.
        if (!message.empty()) {
            out.emplace(id, std::move(message));
        }
    }
    return out;
}

std::string parse_error_message(const Json::parse_error& error) {
    // nlohmann prefixes "[json.exception.parse_error.N] parse error at line L, column C: ";
    // the position is reported separately, so keep only the description.
    const std::string what = error.what();
    const std::size_t start = what.find("parse error");
    if (start == std::string::npos) {
        return what;
    }
    const std::size_t colon = what.find(": ", start);
    return colon == std::string::npos ? what : what.substr(colon + 2);
}

struct FileCloser {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};

[[noreturn]] void throw_read_error(const std::string& path, int error_number) {
    ConfigError error;
    error.file = path;
    error.message = std::string("cannot read file: ") + std::strerror(error_number);
    throw ConfigException(std::move(error));
}

} // namespace

nlohmann::json parse_json_text(std::string_view text, const std::string& file) {
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& e) {
        // `byte` is 1-based and points just past the offending character.
        const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
        const auto [line, column] = line_column(text, offset);
        ConfigError error;
        error.file = file;
        error.line = line;
        error.column = column;
        error.message = parse_error_message(e);
        throw ConfigException(std::move(error));
    } catch (const Json::out_of_range& e) {
        // A number beyond double's range (1e400); nlohmann gives no position for it.
        ConfigError error;
        error.file = file;
        error.message = std::string("invalid JSON: ") + e.what();
        throw ConfigException(std::move(error));
    }
}

std::string read_text_file(const std::string& path) {
    errno = 0;
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        throw_read_error(path, errno);
    }
    std::string text;
    std::array<char, 16384> buffer{};
    for (;;) {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
        text.append(buffer.data(), n);
        if (n < buffer.size()) {
            break;
        }
    }
    if (std::ferror(file.get()) != 0) {
        throw_read_error(path, errno == 0 ? EIO : errno);
    }
    return text;
}

GatewayConfig parse_gateway_config(std::string_view text, const std::string& file) {
    return parse_gateway_config(text, file, Environment{});
}

Environment process_environment() {
    Environment env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text = *entry;
        if (!text.starts_with("PORTCULLIS_") && !text.starts_with("TYK_GW_")) {
            continue;
        }
        const auto equals = text.find('=');
        if (equals != std::string_view::npos) {
            env.values.emplace(text.substr(0, equals), text.substr(equals + 1));
        }
    }
    return env;
}

GatewayConfig
parse_gateway_config(std::string_view text, const std::string& file, const Environment& env) {
    GatewayConfig config;
    config.source_file = file;
    config.raw = parse_json_text(text, file);
    JsonReader root(config.raw, file);
    root.use_environment(&env);

    root.read("listen_address", config.listen_address);
    read_port(root, "listen_port", config.listen_port);
    root.read("secret", config.secret);
    root.read("node_secret", config.node_secret);
    root.read("allow_insecure_configs", config.allow_insecure_configs);
    root.read("app_path", config.app_path);
    root.read("middleware_path", config.middleware_path);
    config.storage = read_storage(root.object("storage"));
    root.read("hash_keys", config.hash_keys);
    root.read("hash_key_function", config.hash_key_function);
    root.read("hash_key_function_fallback", config.hash_key_function_fallback);
    root.read("enable_hashed_keys_listing", config.enable_hashed_keys_listing);
    root.read("min_token_length", config.min_token_length);
    root.read("allow_master_keys", config.allow_master_keys);
    root.read("disable_key_actions_by_username", config.disable_key_actions_by_username);
    config.policies = read_policies(root.object("policies"));
    root.read("enable_jsvm", config.enable_jsvm);
    read_seconds(root, "jsvm_timeout", config.jsvm_timeout);
    root.read("health_check_endpoint_name", config.health_check_endpoint_name);
    config.http_server_options = read_http_server_options(root.object("http_server_options"));
    read_seconds(root, "proxy_default_timeout", config.proxy_default_timeout);
    root.read("proxy_ssl_insecure_skip_verify", config.proxy_ssl_insecure_skip_verify);
    root.read("enable_redis_rolling_limiter", config.enable_redis_rolling_limiter);
    root.read("enable_sentinel_rate_limiter", config.enable_sentinel_rate_limiter);
    root.read("enable_fixed_window_rate_limiter", config.enable_fixed_window_rate_limiter);
    root.read("rate_limit_response_headers", config.rate_limit_response_headers);
    root.read("drl_threshold", config.drl_threshold);
    root.read("global_session_lifetime", config.global_session_lifetime);
    root.read("force_global_session_lifetime", config.force_global_session_lifetime);
    root.read("hide_generator_header", config.hide_generator_header);
    root.read("oauth_token_expire", config.oauth_token_expire);
    root.read("oauth_refresh_token_expire", config.oauth_refresh_token_expire);
    root.read("oauth_token_expired_retain_period", config.oauth_token_expired_retain_period);
    root.read("oauth_error_status_code", config.oauth_error_status_code);
    root.read("oauth_redirect_uri_separator", config.oauth_redirect_uri_separator);
    if (config.oauth_error_status_code != 0 &&
        (config.oauth_error_status_code < 100 || config.oauth_error_status_code > 599)) {
        root.fail("oauth_error_status_code", "must be an HTTP status code (100-599)");
    }
    config.override_messages = read_override_messages(root);
    config.portcullis = read_portcullis_options(root.object("portcullis"));
    for (const auto& [name, value] : env.values) {
        (env.used.contains(name) ? config.env_applied : config.env_ignored).push_back(name);
    }
    return config;
}

GatewayConfig load_gateway_config(const std::string& path) {
    return parse_gateway_config(read_text_file(path), path, process_environment());
}

} // namespace portcullis::config
