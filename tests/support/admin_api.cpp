#include "tests/support/admin_api.hpp"

#include "tests/support/gateway_process.hpp"

#include <catch2/catch.hpp>

namespace portcullis::test {

using Json = nlohmann::json;

Json keyed_api(const std::string& id,
               const std::string& listen_path,
               const examples::EchoServer& echo) {
    Json api = GatewayFixture::keyless_api(id, listen_path,
                                           "http://127.0.0.1:" + std::to_string(echo.port()), true);
    api["use_keyless"] = false;
    api["use_standard_auth"] = true;
    api["auth"] = {{"auth_header_name", "Authorization"}};
    return api;
}

Json session_for(const std::vector<std::string>& apis, Json extra) {
    Json rights = Json::object();
    for (const auto& id : apis) {
        rights[id] = {{"api_id", id}, {"api_name", id}, {"versions", {"Default"}}};
    }
    Json s = {{"org_id", "default"},
              {"rate", 0},
              {"per", 0},
              {"quota_max", -1},
              {"expires", 0},
              {"access_rights", rights},
              {"meta_data", Json::object()}};
    s.update(extra);
    return s;
}

HttpResponse admin(std::uint16_t port,
                   const std::string& method,
                   const std::string& target,
                   const std::string& body) {
    return http_request(port, method, target, {{"X-Tyk-Authorization", kTestSecret}}, body);
}

std::string create_key(std::uint16_t port, const Json& session) {
    auto res = admin(port, "POST", "/tyk/keys/create", session.dump());
    INFO(res.body);
    REQUIRE(res.status == 200);
    return res.json()["key"].get<std::string>();
}

Json get_key(std::uint16_t port, const std::string& key) {
    auto res = admin(port, "GET", "/tyk/keys/" + key);
    INFO(res.body);
    REQUIRE(res.status == 200);
    return res.json();
}

void check_tyk_error(const HttpResponse& res, unsigned status, const std::string& message) {
    INFO("status " << res.status << " body " << res.body);
    CHECK(res.status == status);
    CHECK(res.body == "{\n    \"error\": \"" + message + "\"\n}");
    CHECK(res.header("X-Generator") == "tyk.io");
    CHECK(res.header("Content-Type") == "application/json");
}

} // namespace portcullis::test
