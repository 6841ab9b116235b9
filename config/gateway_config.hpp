#pragma once

#include "config/config_error.hpp"
#include "config/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace portcullis::config {

using Seconds = std::chrono::duration<double>;

/// `storage` in tyk.conf: where sessions live.
/// A "host:port" address.
struct HostPort {
    std::string host;
    int port = 0;
};

struct StorageConfig {
    std::string type = "redis";
    std::string host = "localhost";
    int port = 6379;
    std::vector<std::string> addrs;
    std::string master_name;
    std::string username;
    std::string password;
    int database = 0;
    bool use_ssl = false;
    int timeout = 5; // seconds, per Redis command
    /// Redis Sentinel, when master_name is set: the sentinels asked where the master is (`addrs`,
    /// else host:port), and the password they want (`sentinel_password`).
    std::vector<HostPort> sentinels;
    std::string sentinel_password;
};

/// `policies` in tyk.conf.
struct PoliciesConfig {
    std::string policy_source; // "file" (or empty) reads files; "service"/"rpc" are not supported
    std::string policy_record_name;
    std::string policy_path;
};

/// A certificate of the TLS listener (`http_server_options.certificates[]`).
struct ServerCertificate {
    std::string domain_name; // the SNI name it serves ("*.example.com": one label); "" = any
    std::string cert_file;   // PEM: the certificate, then its chain
    std::string key_file;    // PEM private key
};

/// `http_server_options` in tyk.conf.
struct HttpServerOptions {
    bool enable_strict_routes = false;
    bool enable_path_prefix_matching = false;
    bool enable_path_suffix_matching = false;
    int xff_depth = 0;
    std::int64_t max_request_body_size = 0;      // bytes, 0 = unlimited (413 beyond)
    std::int64_t max_response_body_size = 0;     // bytes, 0 = unlimited (buffered responses only)
    Seconds read_timeout{120};                   // per client read once the headers are in
    Seconds write_timeout{120};                  // per write to the client
    bool use_ssl = false;                        // the listener speaks TLS only
    std::vector<ServerCertificate> certificates; // by SNI name; the first when none matches
    int min_version = 0; // lowest TLS version accepted (Go's numbers: 771 = TLS 1.2); 0 = 1.2
    int max_version = 0; // highest TLS version; 0 = the highest supported
};

/// Portcullis' own settings, all under the `portcullis` object of tyk.conf.
struct PortcullisOptions {
    unsigned workers = 0; // 0 = one per core
    std::size_t max_connections_per_worker = 10000;
    std::size_t max_header_bytes = 64 * 1024;               // request line + headers; 431 beyond
    std::size_t max_header_fields = 100;                    // header fields; 431 beyond
    std::size_t max_buffered_body_bytes = 10 * 1024 * 1024; // bodies a step must hold whole
    Seconds header_timeout{30};                             // reading a request's header block
    Seconds idle_timeout{60};                               // keep-alive wait for the next request
    Seconds upstream_connect_timeout{10};
    Seconds upstream_idle_timeout{60};           // pooled upstream connections
    std::size_t upstream_max_idle_per_host = 64; // per worker
    Seconds drain_timeout{10};                   // SIGTERM: time for in-flight requests
    std::string log_level = "info";              // trace|debug|info|warn|error|off
    std::string access_log = "info";             // level of per-request lines, or "off"
    std::string access_log_format = "text";      // "text" or "json" (one JSON object per line)
    /// "IP:port" where GET /metrics answers in Prometheus format; empty: no metrics listener.
    std::string metrics_address;
    /// PEM file of certificate authorities trusted for HTTPS upstreams, besides the system's.
    std::string upstream_ca_file;
    /// Test-only request hooks (header `X-Portcullis-Test-Meta: key=value` sets a metadata key
    /// through the save-back path). Never enable in production.
    bool test_hooks = false;
    /// When Redis cannot answer a rate-limit check, let the request through instead of
    /// answering 503. Quotas always fail closed.
    bool rate_limiter_fail_open = false;
    /// Memory cap of each JavaScript plugin heap (one per worker and API with plugins).
    std::size_t jsvm_max_heap_bytes = 64u << 20;
};

/// The gateway configuration read from a Tyk `tyk.conf`. Unknown fields are ignored.
struct GatewayConfig {
    std::string source_file;

    std::string listen_address; // empty = all interfaces
    int listen_port = 8080;
    std::string secret;
    std::string node_secret;             // signs cluster notifications (Redis pub/sub)
    bool allow_insecure_configs = false; // accept unsigned cluster notifications
    std::string app_path = "./apps";
    std::string middleware_path = "./middleware";
    StorageConfig storage;
    bool hash_keys = false;
    std::string hash_key_function;
    std::vector<std::string> hash_key_function_fallback;
    bool enable_hashed_keys_listing = false;
    int min_token_length = 3;
    bool allow_master_keys = false;
    bool disable_key_actions_by_username = false;
    PoliciesConfig policies;
    bool enable_jsvm = false;
    Seconds jsvm_timeout{5};
    std::string health_check_endpoint_name = "hello";
    HttpServerOptions http_server_options;
    Seconds proxy_default_timeout{30}; // waiting for the upstream's response header
    /// Upstream TLS certificates are not verified, for every API (Tyk's opt-out; the API's own
    /// is proxy.transport.ssl_insecure_skip_verify).
    bool proxy_ssl_insecure_skip_verify = false;
    bool enable_redis_rolling_limiter = false;
    bool enable_sentinel_rate_limiter = false;
    bool enable_fixed_window_rate_limiter = false;
    int drl_threshold = 5; // read for compatibility; the default limiter is exact (see README)
    std::string rate_limit_response_headers = "quotas"; // "quotas" or "rate_limits"
    std::int64_t global_session_lifetime = 0;
    bool force_global_session_lifetime = false;
    bool hide_generator_header = false;
    std::int64_t oauth_token_expire = 0;                  // seconds; 0: 3600
    std::int64_t oauth_refresh_token_expire = 0;          // seconds; 0: 14 days
    std::int64_t oauth_token_expired_retain_period = 0;   // seconds expired tokens stay listed
    int oauth_error_status_code = 0;                      // 0: 403
    std::string oauth_redirect_uri_separator;             // several redirect URIs per client
    std::map<std::string, std::string> override_messages; // "auth.key_not_found" -> message
    PortcullisOptions portcullis;

    nlohmann::json raw; // the file as read, for features that read more later
    /// Environment variables that overrode fields, and PORTCULLIS_/TYK_GW_ variables that name
    /// no field we read (ignored). Names only: values may be secrets.
    std::vector<std::string> env_applied;
    std::vector<std::string> env_ignored;
};

/// Parses tyk.conf text. Throws ConfigException naming `file` and the line/column of a syntax
/// error or the JSON path of a wrong type or invalid value.
GatewayConfig parse_gateway_config(std::string_view text, const std::string& file);

/// As above, with fields overridden by the variables of `env` (see environment_names in
/// json_reader.hpp: PORTCULLIS_STORAGE__HOST, TYK_GW_STORAGE_HOST, ...).
GatewayConfig
parse_gateway_config(std::string_view text, const std::string& file, const Environment& env);

/// The process's PORTCULLIS_* and TYK_GW_* variables.
Environment process_environment();

/// Reads and parses the file at `path`, with the process's environment overrides; a missing
/// file throws ConfigException too.
/// Relative `app_path`/`middleware_path`/`policy_path` stay as written (relative to the
/// working directory, as in Tyk).
GatewayConfig load_gateway_config(const std::string& path);

/// Reads a whole file; throws ConfigException("cannot read file") naming it.
std::string read_text_file(const std::string& path);

/// Parses JSON text; a syntax error throws ConfigException with line and column.
nlohmann::json parse_json_text(std::string_view text, const std::string& file);

} // namespace portcullis::config
