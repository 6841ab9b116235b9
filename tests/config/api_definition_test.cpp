#include "config/api_definition.hpp"
#include "config/gateway_config.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace pc = portcullis::config;
using Json = nlohmann::json;

namespace {

const std::string kDataDir = std::string(PORTCULLIS_SOURCE_DIR) + "/tests/data/configs";

// The smallest definition that validates; tests patch what they are about.
Json minimal_api() {
    return Json::parse(R"({
        "api_id": "api1",
        "proxy": {"listen_path": "/api1/", "target_url": "http://upstream:8000"}
    })");
}

pc::ConfigError api_error(const Json& value) {
    try {
        pc::parse_api_definition(value, "apps/api1.json");
    } catch (const pc::ConfigException& e) {
        return e.error();
    }
    FAIL("expected a ConfigException");
    return {};
}

pc::ApiDefinition parse(const Json& value) {
    return pc::parse_api_definition(value, "apps/api1.json");
}

} // namespace

TEST_CASE("a full classic API definition maps every field", "[unit][config]") {
    const std::string path = kDataDir + "/api_keyed.json";
    const Json value = pc::parse_json_text(pc::read_text_file(path), path);
    const pc::ApiDefinition api = pc::parse_api_definition(value, path);

    CHECK(api.source_file == path);
    CHECK(api.api_id == "keyed");
    CHECK(api.org_id == "default-org");
    CHECK(api.name == "Keyed API");
    CHECK(api.active);
    CHECK_FALSE(api.use_keyless);
    CHECK(api.use_standard_auth);
    CHECK_FALSE(api.use_oauth2);
    CHECK_FALSE(api.internal);

    CHECK(api.proxy.listen_path == "/keyed/");
    CHECK(api.proxy.target_url == "https://backend.internal:8443/base?tenant=a");
    CHECK(api.proxy.target.scheme == "https");
    CHECK(api.proxy.target.host == "backend.internal");
    CHECK(api.proxy.target.port == 8443);
    CHECK(api.proxy.target.path == "/base");
    CHECK(api.proxy.target.query == "tenant=a");
    CHECK(api.proxy.strip_listen_path);
    CHECK(api.proxy.preserve_host_header);
    CHECK(api.proxy.disable_strip_slash);
    CHECK(api.proxy.ssl_insecure_skip_verify);

    CHECK(api.auth.auth_header_name == "X-Api-Key");
    CHECK(api.auth.use_param);
    CHECK(api.auth.param_name == "key");
    CHECK(api.auth.use_cookie);
    CHECK(api.auth.cookie_name == "session");
    CHECK_FALSE(api.auth.disable_header);

    CHECK(api.version_data.not_versioned);
    CHECK(api.version_data.default_version.empty());
    REQUIRE(api.version_data.versions.size() == 1);
    const pc::VersionInfo& version = api.version_data.versions.front();
    CHECK(version.key == "Default");
    CHECK(version.name == "Default");
    CHECK(version.use_extended_paths);
    CHECK(version.extended_paths.at("url_rewrites").at(0).at("rewrite_to") == "/new$1");
    CHECK(version.global_headers ==
          std::map<std::string, std::string>{{"X-Gateway", "portcullis"}});
    CHECK(version.global_headers_remove == std::vector<std::string>{"X-Internal"});
    CHECK_FALSE(version.global_headers_disabled);
    CHECK(version.global_response_headers ==
          std::map<std::string, std::string>{{"X-Served-By", "gw"}});
    CHECK(version.global_response_headers_remove == std::vector<std::string>{"Server"});
    CHECK(version.global_response_headers_disabled);
    CHECK(version.ignore_endpoint_case);
    CHECK(api.active_version() == &version);

    CHECK(api.disable_rate_limit);
    CHECK(api.disable_quota);
    CHECK(api.enable_context_vars);
    CHECK(api.strip_auth_data);
    CHECK(api.session_lifetime == 3600);
    CHECK(api.session_lifetime_respects_key_expiration);
    CHECK(api.config_data == Json{{"upstream_tier", "gold"}});
    CHECK(api.config_data_disabled);

    CHECK(api.raw == value);
    CHECK(api.raw.at("custom_middleware").at("driver") == "otto");
}

TEST_CASE("a minimal API definition gets Tyk's defaults", "[unit][config]") {
    const pc::ApiDefinition api = parse(minimal_api());
    CHECK(api.api_id == "api1");
    CHECK(api.org_id.empty());
    CHECK(api.active);
    CHECK_FALSE(api.use_keyless);
    CHECK_FALSE(api.proxy.strip_listen_path);
    CHECK_FALSE(api.proxy.ssl_insecure_skip_verify);
    CHECK(api.proxy.target.authority() == "upstream:8000");
    CHECK(api.auth.auth_header_name == "Authorization");
    CHECK_FALSE(api.auth.use_param);
    CHECK(api.auth.param_name.empty());
    CHECK_FALSE(api.auth.use_cookie);
    CHECK_FALSE(api.version_data.not_versioned);
    CHECK(api.version_data.versions.empty());
    CHECK(api.active_version() == nullptr);
    CHECK(api.config_data == Json::object());
    CHECK(api.session_lifetime == 0);
}

TEST_CASE("api_id is required", "[unit][config]") {
    Json value = minimal_api();
    SECTION("missing") {
        value.erase("api_id");
    }
    SECTION("empty") {
        value["api_id"] = "";
    }
    SECTION("null") {
        value["api_id"] = nullptr;
    }
    const pc::ConfigError error = api_error(value);
    CHECK(error.file == "apps/api1.json");
    CHECK(error.json_path == "/api_id");
    CHECK(error.to_string() == "apps/api1.json: at /api_id: api_id is required");
}

TEST_CASE("listen_path is required and absolute", "[unit][config]") {
    Json value = minimal_api();
    std::string message;
    SECTION("missing") {
        value["proxy"].erase("listen_path");
        message = "listen_path is required";
    }
    SECTION("no proxy section at all") {
        value.erase("proxy");
        message = "listen_path is required";
    }
    SECTION("relative") {
        value["proxy"]["listen_path"] = "api1/";
        message = "listen_path must start with '/'";
    }
    const pc::ConfigError error = api_error(value);
    CHECK(error.json_path == "/proxy/listen_path");
    CHECK(error.message == message);
}

TEST_CASE("a bad target_url is reported at /proxy/target_url", "[unit][config]") {
    auto [target, message] = GENERATE(table<std::string, std::string>({
        {"ftp://files.example.com/", "unsupported scheme \"ftp\""},
        {"http:///nohost", "missing host"},
        {"", "empty URL"},
    }));
    Json value = minimal_api();
    value["proxy"]["target_url"] = target;
    const pc::ConfigError error = api_error(value);
    CHECK(error.json_path == "/proxy/target_url");
    CHECK_THAT(error.message, Catch::Contains(message));
}

TEST_CASE("wrong types in an API definition are reported with their JSON path", "[unit][config]") {
    auto [pointer, bad, path] = GENERATE(table<std::string, Json, std::string>({
        {"/proxy/strip_listen_path", Json("yes"), "/proxy/strip_listen_path"},
        {"/proxy/transport/ssl_insecure_skip_verify", Json(1),
         "/proxy/transport/ssl_insecure_skip_verify"},
        {"/proxy", Json::array(), "/proxy"},
        {"/use_keyless", Json("true"), "/use_keyless"},
        {"/session_lifetime", Json(1.5), "/session_lifetime"},
        {"/auth_configs/authToken/use_param", Json("true"), "/auth_configs/authToken/use_param"},
        {"/auth/auth_header_name", Json(1), "/auth/auth_header_name"},
        {"/version_data/versions", Json::array(), "/version_data/versions"},
        {"/version_data/versions/v1", Json("v1"), "/version_data/versions/v1"},
        {"/version_data/versions/v1/global_headers", Json{{"X-A", 1}},
         "/version_data/versions/v1/global_headers/X-A"},
        {"/version_data/versions/v1/global_headers_remove", Json{"a", false},
         "/version_data/versions/v1/global_headers_remove/1"},
        {"/version_data/versions/v1/extended_paths", Json::array(),
         "/version_data/versions/v1/extended_paths"},
        {"/config_data", Json("x"), "/config_data"},
    }));
    CAPTURE(pointer);
    Json value = minimal_api();
    value[Json::json_pointer(pointer)] = bad;
    const pc::ConfigError error = api_error(value);
    CHECK(error.file == "apps/api1.json");
    CHECK(error.json_path == path);
    CHECK_THAT(error.message, Catch::StartsWith("expected"));
}

TEST_CASE("a definition that is not an object is rejected", "[unit][config]") {
    const pc::ConfigError error = api_error(Json::array());
    CHECK(error.to_string() == "apps/api1.json: expected an object, got array");
}

TEST_CASE("auth_configs.authToken replaces the legacy auth object", "[unit][config]") {
    Json value = minimal_api();
    value["auth"] = {{"auth_header_name", "X-Legacy"}, {"use_param", true}, {"param_name", "k"}};

    SECTION("legacy auth alone applies") {
        const pc::ApiDefinition api = parse(value);
        CHECK(api.auth.auth_header_name == "X-Legacy");
        CHECK(api.auth.use_param);
        CHECK(api.auth.param_name == "k");
    }
    SECTION("authToken wins and is not merged with auth") {
        value["auth_configs"] = {{"authToken", {{"use_cookie", true}, {"cookie_name", "c"}}},
                                 {"jwt", {{"auth_header_name", "X-Jwt"}}}};
        const pc::ApiDefinition api = parse(value);
        CHECK(api.auth.auth_header_name == "Authorization");
        CHECK_FALSE(api.auth.use_param);
        CHECK(api.auth.param_name.empty());
        CHECK(api.auth.use_cookie);
        CHECK(api.auth.cookie_name == "c");
    }
    SECTION("auth_configs without authToken falls back to auth") {
        value["auth_configs"] = {{"jwt", {{"auth_header_name", "X-Jwt"}}}};
        CHECK(parse(value).auth.auth_header_name == "X-Legacy");
    }
    SECTION("an empty header name means Authorization") {
        value["auth_configs"] = {
            {"authToken", {{"auth_header_name", ""}, {"disable_header", true}}}};
        const pc::ApiDefinition api = parse(value);
        CHECK(api.auth.auth_header_name == "Authorization");
        CHECK(api.auth.disable_header);
    }
}

TEST_CASE("versions are read in key order and named after their key when unnamed",
          "[unit][config]") {
    Json value = minimal_api();
    value["version_data"] = Json::parse(R"({
        "not_versioned": false,
        "default_version": "v2",
        "versions": {
            "v2": {"name": "second", "use_extended_paths": true},
            "v1": {"name": ""},
            "v0": null
        }
    })");
    const pc::ApiDefinition api = parse(value);
    const auto& versions = api.version_data.versions;
    REQUIRE(versions.size() == 3);
    CHECK(versions[0].key == "v0");
    CHECK(versions[0].name == "v0");
    CHECK(versions[1].key == "v1");
    CHECK(versions[1].name == "v1");
    CHECK(versions[2].key == "v2");
    CHECK(versions[2].name == "second");
    CHECK(versions[2].use_extended_paths);
    CHECK(versions[2].extended_paths == Json::object());
    CHECK(api.version_data.default_version == "v2");
}

TEST_CASE("active_version follows Tyk's version selection", "[unit][config]") {
    auto [not_versioned, default_version, keys, expected] =
        GENERATE(table<bool, std::string, std::vector<std::string>, std::string>({
            // Unversioned: the only version whatever its key, else Default/default/"".
            {true, "", {"v1"}, "v1"},
            {true, "v9", {"v1"}, "v1"},
            {true, "", {"Default", "v1"}, "Default"},
            {true, "", {"default", "v1"}, "default"},
            {true, "", {"", "v1"}, ""},
            {true, "", {"a", "b"}, "a"},
            {true, "", {}, "<none>"},
            // Versioned: default_version, then Default/default/"".
            {false, "v2", {"Default", "v1", "v2"}, "v2"},
            {false, "", {"Default", "v1"}, "Default"},
            {false, "", {"default", "v1"}, "default"},
            {false, "", {"", "v1"}, ""},
            {false, "missing", {"Default"}, "Default"},
            {false, "", {"v1"}, "<none>"},
            {false, "", {}, "<none>"},
        }));
    Json value = minimal_api();
    value["version_data"] = {{"not_versioned", not_versioned},
                             {"default_version", default_version},
                             {"versions", Json::object()}};
    for (const std::string& key : keys) {
        value["version_data"]["versions"][key] = {{"name", "name-of-" + key}};
    }
    CAPTURE(not_versioned, default_version, keys);
    const pc::ApiDefinition api = parse(value);
    const pc::VersionInfo* active = api.active_version();
    if (expected == "<none>") {
        CHECK(active == nullptr);
    } else {
        REQUIRE(active != nullptr);
        CHECK(active->key == expected);
        CHECK(active->name == "name-of-" + expected);
    }
}
