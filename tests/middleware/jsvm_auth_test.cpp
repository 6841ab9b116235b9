// Custom auth plugins at load and in a plugin's return: which script is the API's auth plugin
// (auth_check, the auth folder, enable_coprocess_auth) and how ReturnAuthData's Session and
// AuthValue are read.
#include "config/api_definition.hpp"
#include "config/gateway_config.hpp"
#include "middleware/jsvm/mini_request.hpp"
#include "middleware/jsvm/plugins.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace pj = portcullis::jsvm;
namespace pc = portcullis::config;
using nlohmann::json;

namespace {

const char* kAuthScript = R"(
var authA = new TykJS.TykMiddleware.NewMiddleware({});
authA.NewProcessRequest(function (request, session, config) {
    return authA.ReturnAuthData(request, {});
});)";

json api_with(json custom_middleware, bool custom_auth) {
    return json{{"api_id", "a1"},
                {"org_id", "o"},
                {"enable_coprocess_auth", custom_auth},
                {"proxy", {{"listen_path", "/a1/"}, {"target_url", "http://127.0.0.1:1"}}},
                {"custom_middleware", std::move(custom_middleware)}};
}

bool mentions(const std::vector<std::string>& errors, const std::string& text) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const std::string& e) { return e.find(text) != std::string::npos; });
}

} // namespace

TEST_CASE("jsvm auth: ReturnAuthData's Session and AuthValue are decoded", "[unit][jsvm]") {
    std::string error;
    auto r = pj::decode_request_return(
        R"({"Request":{"URL":"/x"},"Session":{"rate":5,"meta_data":{"u":"v"}},"AuthValue":"k1"})",
        error);
    REQUIRE(r);
    CHECK(r->session == json{{"rate", 5}, {"meta_data", {{"u", "v"}}}});
    CHECK(r->auth_value == "k1");

    r = pj::decode_request_return(R"({"Request":{"URL":"/x"},"SessionMeta":{}})", error);
    REQUIRE(r);
    CHECK(r->session.is_null());
    CHECK(r->auth_value.empty());

    CHECK_FALSE(pj::decode_request_return(R"({"Request":{},"Session":"nope"})", error));
    CHECK(error == "Session is not an object");
    CHECK_FALSE(pj::decode_request_return(R"({"Request":{},"AuthValue":7})", error));
    CHECK(error == "AuthValue is not a string");
}

TEST_CASE("jsvm auth: the auth plugin comes from auth_check or the auth folder", "[unit][jsvm]") {
    portcullis::test::TempDir dir;
    const std::string script = dir.write("authA.js", kAuthScript).string();
    pc::GatewayConfig config;
    config.enable_jsvm = true;
    config.middleware_path = (dir.path() / "middleware").string();
    const json auth_check = {{"driver", "otto"},
                             {"auth_check", {{"name", "authA"}, {"path", script}}}};

    SECTION("auth_check with enable_coprocess_auth") {
        std::vector<std::string> errors;
        const auto plugins = pj::load_api_plugins(
            pc::parse_api_definition(api_with(auth_check, true), "a.json"), config, errors);
        REQUIRE(plugins);
        CHECK(errors.empty());
        REQUIRE(plugins->auth.size() == 1);
        CHECK(plugins->auth[0].name == "authA");
        CHECK(plugins->unusable.empty());
        CHECK(plugins->scripts.size() == 1);
    }
    SECTION("without enable_coprocess_auth it is ignored and said so") {
        std::vector<std::string> errors;
        const auto plugins = pj::load_api_plugins(
            pc::parse_api_definition(api_with(auth_check, false), "a.json"), config, errors);
        CHECK(plugins == nullptr);
        CHECK(mentions(errors, "ignored: enable_coprocess_auth is off"));
    }
    SECTION("a disabled auth_check is not used") {
        json disabled = auth_check;
        disabled["auth_check"]["disabled"] = true;
        std::vector<std::string> errors;
        CHECK(pj::load_api_plugins(pc::parse_api_definition(api_with(disabled, true), "a.json"),
                                   config, errors) == nullptr);
    }
    SECTION("the auth folder's last file replaces auth_check") {
        dir.write("middleware/a1/auth/authA.js", kAuthScript);
        std::string other = kAuthScript;
        for (auto at = other.find("authA"); at != std::string::npos; at = other.find("authA")) {
            other.replace(at, 5, "authB");
        }
        dir.write("middleware/a1/auth/authB.js", other);
        std::vector<std::string> errors;
        const auto plugins = pj::load_api_plugins(
            pc::parse_api_definition(api_with(auth_check, true), "a.json"), config, errors);
        REQUIRE(plugins);
        INFO(errors.size());
        CHECK(errors.empty());
        REQUIRE(plugins->auth.size() == 1);
        CHECK(plugins->auth[0].name == "authB");
        CHECK(plugins->auth[0].path.ends_with("middleware/a1/auth/authB.js"));
    }
    SECTION("an auth script that does not define its object is reported") {
        json wrong = auth_check;
        wrong["auth_check"]["name"] = "noSuchObject";
        std::vector<std::string> errors;
        const auto plugins = pj::load_api_plugins(
            pc::parse_api_definition(api_with(wrong, true), "a.json"), config, errors);
        REQUIRE(plugins);
        CHECK(mentions(errors, "does not define middleware \"noSuchObject\""));
    }
}
