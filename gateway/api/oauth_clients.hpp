#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/gateway_state.hpp"
#include "middleware/core/http.hpp"

#include <memory>
#include <string>
#include <vector>

namespace portcullis::server {
class Worker;
}

namespace portcullis::api {

/// A Gateway API reply: status and JSON body text.
struct OauthClientsReply {
    http::status status;
    std::string body;
};

/// Serves Tyk's OAuth client management under `/tyk/oauth/clients` (gateway/api.go
/// createOauthClient, oAuthClientHandler, oAuthClientTokensHandler, getApisForOauthApp,
/// rotateOauthClientHandler). `segments` are the path segments below `/tyk`, starting with
/// "oauth", "clients". Clients live in Redis as Tyk's osin storage keeps them:
/// `oauth-data.<api_id>.oauth-clientid.<client_id>` (JSON `id`, `secret`, `redirecturi`,
/// `meta_data`, `policyid`, `description`), indexed in the list
/// `oauth-data.<api_id>.oauth-client-index.<org_id>` and the set
/// `oauth-data.<api_id>.oauth-clientset.oauth-clientid.`; issued tokens are the sorted set
/// `oauth-data.<api_id>.oauth-client-tokens.<client_id>` (member = hashed token, score = expiry).
/// Runs on the worker's thread; secrets are never logged.
awaitable<OauthClientsReply> oauth_clients_route(server::Worker& worker,
                                                 std::shared_ptr<const GatewayState> state,
                                                 http::verb method,
                                                 std::vector<std::string> segments,
                                                 std::string query,
                                                 std::string body);

} // namespace portcullis::api
