#pragma once

// What the integration tests share to set up keys: API definitions, sessions and calls to the
// Gateway API of a gateway started by GatewayFixture (secret "test-secret").
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/http_client.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace portcullis::test {

/// The Gateway API secret GatewayFixture writes into tyk.conf.
inline constexpr const char* kTestSecret = "test-secret";

/// A keyed API (auth header `Authorization`) proxying `listen_path` (stripped) to `echo`.
nlohmann::json
keyed_api(const std::string& id, const std::string& listen_path, const examples::EchoServer& echo);

/// A session with access to `apis` (version Default), org "default", no expiry, no rate limit
/// and no quota; `extra` overrides or adds top-level fields.
nlohmann::json session_for(const std::vector<std::string>& apis,
                           nlohmann::json extra = nlohmann::json::object());

/// A Gateway API call with the fixture's secret.
HttpResponse admin(std::uint16_t port,
                   const std::string& method,
                   const std::string& target,
                   const std::string& body = {});

/// POST /tyk/keys/create; REQUIREs success and returns the key.
std::string create_key(std::uint16_t port, const nlohmann::json& session);

/// GET /tyk/keys/{key}; REQUIREs success and returns the session.
nlohmann::json get_key(std::uint16_t port, const std::string& key);

/// CHECKs a gateway-made error in Tyk's format: status, `{"error": message}` body, JSON content
/// type and `X-Generator: tyk.io`.
void check_tyk_error(const HttpResponse& res, unsigned status, const std::string& message);

} // namespace portcullis::test
