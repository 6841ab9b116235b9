#include "config/gateway_config.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

namespace pc = portcullis::config;

namespace {

const std::string kDataDir = std::string(PORTCULLIS_SOURCE_DIR) + "/tests/data/configs";

// Runs `fn` and returns the ConfigError it throws; fails the test when nothing is thrown.
template <typename Fn> pc::ConfigError config_error_of(Fn&& fn) {
    try {
        fn();
    } catch (const pc::ConfigException& e) {
        return e.error();
    }
    FAIL("expected a ConfigException");
    return {};
}

pc::ConfigError gateway_error(const std::string& text) {
    return config_error_of([&] { pc::parse_gateway_config(text, "tyk.conf"); });
}

} // namespace

TEST_CASE("a complete tyk.conf maps every field", "[unit][config]") {
    const std::string path = kDataDir + "/tyk_full.conf";
    const pc::GatewayConfig config = pc::load_gateway_config(path);

    CHECK(config.source_file == path);
    CHECK(config.listen_address == "127.0.0.1");
    CHECK(config.listen_port == 8181);
    CHECK(config.secret == "352d20ee67be67f6340b4c0605b044b7");
    CHECK(config.app_path == "/opt/tyk-gateway/apps");
    CHECK(config.middleware_path == "/opt/tyk-gateway/middleware");

    CHECK(config.storage.type == "redis");
    CHECK(config.storage.host == "redis.internal");
    CHECK(config.storage.port == 6380);
    CHECK(config.storage.addrs == std::vector<std::string>{"redis-a:6379", "redis-b:6379"});
    CHECK(config.storage.master_name == "mymaster");
    CHECK(config.storage.username == "tyk");
    CHECK(config.storage.password == "hunter2");
    CHECK(config.storage.database == 2);
    CHECK(config.storage.use_ssl);
    CHECK(config.storage.timeout == 7);

    CHECK(config.hash_keys);
    CHECK(config.hash_key_function == "murmur64");
    CHECK(config.hash_key_function_fallback == std::vector<std::string>{"murmur32", "sha256"});
    CHECK(config.enable_hashed_keys_listing);
    CHECK(config.min_token_length == 8);
    CHECK(config.allow_master_keys);
    CHECK(config.disable_key_actions_by_username);

    CHECK(config.policies.policy_source == "file");
    CHECK(config.policies.policy_record_name == "policies");
    CHECK(config.policies.policy_path == "/opt/tyk-gateway/policies");

    CHECK(config.enable_jsvm);
    CHECK(config.jsvm_timeout.count() == 3.0);
    CHECK(config.health_check_endpoint_name == "healthz");

    const pc::HttpServerOptions& http = config.http_server_options;
    CHECK(http.enable_strict_routes);
    CHECK(http.enable_path_prefix_matching);
    CHECK(http.enable_path_suffix_matching);
    CHECK(http.xff_depth == 2);
    CHECK(http.max_request_body_size == 1048576);
    CHECK(http.max_response_body_size == 2097152);
    CHECK(http.read_timeout.count() == 15.0);
    CHECK(http.write_timeout.count() == 20.5);

    CHECK(config.proxy_default_timeout.count() == 12.5);
    CHECK(config.enable_redis_rolling_limiter);
    CHECK(config.enable_sentinel_rate_limiter);
    CHECK(config.enable_fixed_window_rate_limiter);
    CHECK(config.rate_limit_response_headers == "rate_limits");
    CHECK(config.global_session_lifetime == 86400);
    CHECK(config.force_global_session_lifetime);
    CHECK(config.hide_generator_header);

    CHECK(config.override_messages ==
          std::map<std::string, std::string>{{"auth.key_not_found", "No such key"},
                                             {"auth.auth_field_missing", "Bring a key"}});

    const pc::PortcullisOptions& own = config.portcullis;
    CHECK(own.workers == 4);
    CHECK(own.max_connections_per_worker == 5000);
    CHECK(own.max_header_bytes == 32768);
    CHECK(own.max_buffered_body_bytes == 4194304);
    CHECK(own.header_timeout.count() == 5.0);
    CHECK(own.idle_timeout.count() == 30.5);
    CHECK(own.upstream_connect_timeout.count() == 2.0);
    CHECK(own.upstream_idle_timeout.count() == 45.0);
    CHECK(own.upstream_max_idle_per_host == 16);
    CHECK(own.drain_timeout.count() == 0.25);
    CHECK(own.log_level == "debug");
    CHECK(own.access_log == "off");

    // Fields Portcullis does not model stay reachable through `raw`.
    CHECK(config.raw.at("drl_threshold") == 5);
    CHECK(config.raw.at("storage").at("optimisation_max_idle") == 2000);
}

TEST_CASE("missing tyk.conf fields keep Tyk's defaults", "[unit][config]") {
    const pc::GatewayConfig config = pc::parse_gateway_config(R"({"secret": "s"})", "tyk.conf");
    const pc::GatewayConfig defaults;

    CHECK(config.source_file == "tyk.conf");
    CHECK(config.secret == "s");
    CHECK(config.listen_address.empty());
    CHECK(config.listen_port == 8080);
    CHECK(config.app_path == "./apps");
    CHECK(config.middleware_path == "./middleware");
    CHECK(config.storage.type == "redis");
    CHECK(config.storage.host == "localhost");
    CHECK(config.storage.port == 6379);
    CHECK(config.storage.addrs.empty());
    CHECK(config.storage.database == 0);
    CHECK_FALSE(config.storage.use_ssl);
    CHECK(config.storage.timeout == 5);
    CHECK_FALSE(config.hash_keys);
    CHECK(config.hash_key_function.empty());
    CHECK(config.min_token_length == 3);
    CHECK(config.policies.policy_source.empty());
    CHECK(config.jsvm_timeout.count() == 5.0);
    CHECK(config.health_check_endpoint_name == "hello");
    CHECK(config.http_server_options.read_timeout.count() == 120.0);
    CHECK(config.http_server_options.write_timeout.count() == 120.0);
    CHECK(config.http_server_options.max_request_body_size == 0);
    CHECK(config.proxy_default_timeout.count() == 30.0);
    CHECK(config.rate_limit_response_headers == "quotas");
    CHECK(config.override_messages.empty());
    CHECK(config.portcullis.workers == defaults.portcullis.workers);
    CHECK(config.portcullis.max_header_bytes == defaults.portcullis.max_header_bytes);
    CHECK(config.portcullis.header_timeout == defaults.portcullis.header_timeout);
    CHECK(config.portcullis.drain_timeout == defaults.portcullis.drain_timeout);
    CHECK(config.portcullis.log_level == "info");
    CHECK(config.portcullis.access_log == "info");
}

TEST_CASE("JSON null in tyk.conf keeps the default", "[unit][config]") {
    const pc::GatewayConfig config = pc::parse_gateway_config(
        R"({"listen_port": null, "storage": null, "hash_key_function_fallback": null})",
        "tyk.conf");
    CHECK(config.listen_port == 8080);
    CHECK(config.storage.port == 6379);
    CHECK(config.hash_key_function_fallback.empty());
}

TEST_CASE("integers written as integral floats are accepted", "[unit][config]") {
    const pc::GatewayConfig config = pc::parse_gateway_config(
        R"({"listen_port": 8081.0, "global_session_lifetime": 1e3})", "tyk.conf");
    CHECK(config.listen_port == 8081);
    CHECK(config.global_session_lifetime == 1000);
}

TEST_CASE("a syntax error reports file, line and column", "[unit][config]") {
    const std::string text = "{\n"
                             "  \"listen_port\": 8080,\n"
                             "  \"secret\": \"abc\",\n"
                             "}\n";
    const pc::ConfigError error = gateway_error(text);
    CHECK(error.file == "tyk.conf");
    CHECK(error.line == 4);
    CHECK(error.column == 1);
    CHECK(error.json_path.empty());
    CHECK_THAT(error.message, Catch::Contains("unexpected '}'"));
    CHECK_THAT(error.to_string(), Catch::StartsWith("tyk.conf:4:1: syntax error"));
}

TEST_CASE("a syntax error in the middle of a line points at the offending byte", "[unit][config]") {
    const pc::ConfigError error = gateway_error("{\n  \"a\": [1, 2}\n}");
    CHECK(error.line == 2);
    CHECK(error.column == 13);
}

TEST_CASE("empty tyk.conf is a syntax error at 1:1", "[unit][config]") {
    const pc::ConfigError error = gateway_error("");
    CHECK(error.line == 1);
    CHECK(error.column == 1);
}

TEST_CASE("a number beyond double's range is a configuration error", "[unit][config]") {
    // nlohmann reports it as out_of_range, not parse_error (found by fuzz_config).
    const pc::ConfigError error = gateway_error("{\"listen_port\": 1e400}");
    CHECK(error.file == "tyk.conf");
    CHECK_THAT(error.message, Catch::Contains("number overflow"));
}

TEST_CASE("wrong field types are reported with their JSON path", "[unit][config]") {
    auto [text, path, message] = GENERATE(table<std::string, std::string, std::string>({
        {R"({"storage": {"port": "6379"}})", "/storage/port", "expected an integer"},
        {R"({"listen_port": 80.5})", "/listen_port", "expected an integer"},
        {R"({"secret": 42})", "/secret", "expected a string"},
        {R"({"hash_keys": "true"})", "/hash_keys", "expected a boolean"},
        {R"({"hash_key_function_fallback": ["murmur32", 7]})", "/hash_key_function_fallback/1",
         "expected a string"},
        {R"({"hash_key_function_fallback": "murmur32"})", "/hash_key_function_fallback",
         "expected an array of strings"},
        {R"({"http_server_options": {"read_timeout": "10s"}})", "/http_server_options/read_timeout",
         "expected a number"},
        {R"({"policies": []})", "/policies", "expected an object"},
        {R"({"portcullis": {"workers": true}})", "/portcullis/workers", "expected an integer"},
        {R"({"override_messages": {"auth.key_not_found": 403}})",
         "/override_messages/auth.key_not_found", "expected a string or an object"},
        {R"({"override_messages": {"a/b": {"message": 1}}})", "/override_messages/a~1b/message",
         "expected a string"},
        {R"({"listen_port": 99999999999})", "/listen_port", "integer out of range"},
    }));
    CAPTURE(text);
    const pc::ConfigError error = gateway_error(text);
    CHECK(error.file == "tyk.conf");
    CHECK(error.json_path == path);
    CHECK(error.line == 0);
    CHECK_THAT(error.message, Catch::StartsWith(message));
    CHECK_THAT(error.to_string(), Catch::StartsWith("tyk.conf: at " + path + ": " + message));
}

TEST_CASE("invalid values are rejected with their JSON path", "[unit][config]") {
    auto [text, path] = GENERATE(table<std::string, std::string>({
        {R"({"listen_port": 65536})", "/listen_port"},
        {R"({"listen_port": -1})", "/listen_port"},
        {R"({"storage": {"port": 70000}})", "/storage/port"},
        {R"({"storage": {"timeout": -1}})", "/storage/timeout"},
        {R"({"proxy_default_timeout": -0.5})", "/proxy_default_timeout"},
        {R"({"jsvm_timeout": -1})", "/jsvm_timeout"},
        {R"({"http_server_options": {"write_timeout": -3}})", "/http_server_options/write_timeout"},
        {R"({"portcullis": {"idle_timeout": -1}})", "/portcullis/idle_timeout"},
        {R"({"portcullis": {"workers": 1025}})", "/portcullis/workers"},
        {R"({"portcullis": {"workers": -1}})", "/portcullis/workers"},
        {R"({"portcullis": {"max_header_bytes": -1}})", "/portcullis/max_header_bytes"},
        {R"({"portcullis": {"log_level": "verbose"}})", "/portcullis/log_level"},
        {R"({"portcullis": {"access_log": "INFO"}})", "/portcullis/access_log"},
    }));
    CAPTURE(text);
    const pc::ConfigError error = gateway_error(text);
    CHECK(error.json_path == path);
    CHECK_FALSE(error.message.empty());
}

TEST_CASE("boundary values are accepted", "[unit][config]") {
    const pc::GatewayConfig config = pc::parse_gateway_config(
        R"({"listen_port": 0, "storage": {"port": 65535},
            "portcullis": {"workers": 1024, "log_level": "trace", "access_log": "warn"}})",
        "tyk.conf");
    CHECK(config.listen_port == 0);
    CHECK(config.storage.port == 65535);
    CHECK(config.portcullis.workers == 1024);
    CHECK(config.portcullis.log_level == "trace");
    CHECK(config.portcullis.access_log == "warn");
}

TEST_CASE("a non-object tyk.conf is rejected", "[unit][config]") {
    const pc::ConfigError error = gateway_error("[1, 2]");
    CHECK(error.json_path.empty());
    CHECK(error.line == 0);
    CHECK(error.to_string() == "tyk.conf: expected an object, got array");
}

TEST_CASE("override_messages accepts Tyk objects and plain strings", "[unit][config]") {
    const pc::GatewayConfig config = pc::parse_gateway_config(R"({"override_messages": {
        "auth.key_not_found": {"code": 401, "message": "Who are you?"},
        "auth.auth_field_missing": "Key please",
        "auth.key_is_inactive": {"code": 403},
        "auth.empty": ""
    }})",
                                                              "tyk.conf");
    // An override without a message keeps Tyk's built-in text, so it is not stored.
    CHECK(config.override_messages ==
          std::map<std::string, std::string>{{"auth.key_not_found", "Who are you?"},
                                             {"auth.auth_field_missing", "Key please"}});
}

TEST_CASE("a missing tyk.conf names the file", "[unit][config]") {
    const std::string path =
        (std::filesystem::temp_directory_path() / "portcullis-no-such-dir" / "tyk.conf").string();
    const pc::ConfigError error = config_error_of([&] { pc::load_gateway_config(path); });
    CHECK(error.file == path);
    CHECK(error.line == 0);
    CHECK(error.message == "cannot read file: No such file or directory");
    CHECK(error.to_string() == path + ": cannot read file: No such file or directory");
}

TEST_CASE("a directory given as tyk.conf is a read error", "[unit][config]") {
    const std::string path = std::filesystem::temp_directory_path().string();
    const pc::ConfigError error = config_error_of([&] { pc::read_text_file(path); });
    CHECK(error.file == path);
    CHECK(error.message == "cannot read file: Is a directory");
}

TEST_CASE("ConfigException::what() is the formatted error", "[unit][config]") {
    pc::ConfigError error;
    error.file = "apps/a.json";
    error.json_path = "/proxy/target_url";
    error.message = "bad";
    CHECK(std::string(pc::ConfigException(error).what()) ==
          "apps/a.json: at /proxy/target_url: bad");

    error.line = 3;
    error.column = 9;
    CHECK(error.to_string() == "apps/a.json:3:9: bad");

    pc::ConfigError bare;
    bare.file = "apps";
    bare.message = "cannot read directory";
    CHECK(bare.to_string() == "apps: cannot read directory");
}

TEST_CASE("line_column counts lines and byte columns from 1", "[unit][config]") {
    auto [offset, line, column] = GENERATE(table<std::size_t, std::size_t, std::size_t>({
        {0, 1, 1},
        {2, 1, 3},
        {3, 1, 4},
        {4, 2, 1},
        {6, 2, 3},
        {7, 3, 1},
        {100, 3, 1},
    }));
    CAPTURE(offset);
    const auto [got_line, got_column] = pc::line_column("abc\nde\n", offset);
    CHECK(got_line == line);
    CHECK(got_column == column);
}
