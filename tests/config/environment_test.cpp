#include "config/config_error.hpp"
#include "config/gateway_config.hpp"
#include "config/json_reader.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>

namespace pc = portcullis::config;

namespace {

pc::GatewayConfig parse_with(const std::map<std::string, std::string>& values,
                             const std::string& text = R"({"secret": "from-file",
                                 "listen_port": 8080, "storage": {"host": "redis.local"}})") {
    pc::Environment env;
    env.values = values;
    return pc::parse_gateway_config(text, "tyk.conf", env);
}

} // namespace

TEST_CASE("environment variable names follow the JSON path", "[unit][config]") {
    using Names = std::array<std::string, 2>;
    CHECK(pc::environment_names("/secret") == Names{"PORTCULLIS_SECRET", "TYK_GW_SECRET"});
    CHECK(pc::environment_names("/listen_port") ==
          Names{"PORTCULLIS_LISTEN_PORT", "TYK_GW_LISTENPORT"});
    CHECK(pc::environment_names("/storage/host") ==
          Names{"PORTCULLIS_STORAGE__HOST", "TYK_GW_STORAGE_HOST"});
    CHECK(pc::environment_names("/http_server_options/max_request_body_size") ==
          Names{"PORTCULLIS_HTTP_SERVER_OPTIONS__MAX_REQUEST_BODY_SIZE",
                "TYK_GW_HTTPSERVEROPTIONS_MAXREQUESTBODYSIZE"});
    CHECK(pc::environment_names("/portcullis/workers") ==
          Names{"PORTCULLIS_PORTCULLIS__WORKERS", "TYK_GW_PORTCULLIS_WORKERS"});
}

TEST_CASE("environment variables override tyk.conf fields with their types", "[unit][config]") {
    const auto config = parse_with({
        {"PORTCULLIS_SECRET", "from-env"},
        {"TYK_GW_LISTENPORT", "9090"},
        {"TYK_GW_STORAGE_HOST", "127.0.0.9"},
        {"PORTCULLIS_STORAGE__PORT", "6390"},
        {"TYK_GW_HASHKEYS", "true"},
        {"PORTCULLIS_HASH_KEY_FUNCTION_FALLBACK", "murmur64,,sha256"},
        {"PORTCULLIS_PROXY_DEFAULT_TIMEOUT", "2.5"},
        {"TYK_GW_NODESECRET", "node"},
        {"PORTCULLIS_PORTCULLIS__WORKERS", "3"},
        {"PORTCULLIS_NOT_A_FIELD", "x"},
    });
    CHECK(config.secret == "from-env");
    CHECK(config.listen_port == 9090);
    CHECK(config.storage.host == "127.0.0.9");
    CHECK(config.storage.port == 6390);
    CHECK(config.hash_keys);
    CHECK(config.hash_key_function_fallback == std::vector<std::string>{"murmur64", "sha256"});
    CHECK(config.proxy_default_timeout.count() == Approx(2.5));
    CHECK(config.node_secret == "node");
    CHECK(config.portcullis.workers == 3);
    CHECK(config.env_ignored == std::vector<std::string>{"PORTCULLIS_NOT_A_FIELD"});
    CHECK(config.env_applied.size() == 9);

    // Ours wins over Tyk's when both name the field; without variables the file's values stay.
    CHECK(parse_with({{"PORTCULLIS_SECRET", "ours"}, {"TYK_GW_SECRET", "tyks"}}).secret == "ours");
    const auto plain = parse_with({});
    CHECK(plain.secret == "from-file");
    CHECK(plain.listen_port == 8080);
    CHECK(plain.env_applied.empty());
}

TEST_CASE("a malformed environment value is a configuration error naming the variable",
          "[unit][config]") {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"TYK_GW_LISTENPORT", "80x"},
        {"PORTCULLIS_HASH_KEYS", "yes"},
        {"PORTCULLIS_PROXY_DEFAULT_TIMEOUT", "soon"},
        {"PORTCULLIS_PORTCULLIS__ACCESS_LOG_FORMAT", "xml"},
    };
    for (const auto& [name, value] : bad) {
        INFO(name << "=" << value);
        try {
            parse_with({{name, value}});
            FAIL("accepted");
        } catch (const pc::ConfigException& e) {
            const std::string message = e.what();
            CHECK(message.find("tyk.conf") != std::string::npos);
            CHECK(message.find(value) == std::string::npos); // values may be secrets
        }
    }
    try {
        parse_with({{"TYK_GW_LISTENPORT", "80x"}});
    } catch (const pc::ConfigException& e) {
        CHECK(std::string(e.what()).find("environment variable TYK_GW_LISTENPORT: expected an "
                                         "integer") != std::string::npos);
    }
}
