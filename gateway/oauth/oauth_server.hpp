#pragma once

// Tyk's OAuth2 server for APIs with `use_oauth2` (reference section 13; gateway/oauth_manager.go,
// addOAuthHandlers): the endpoints under each API's listen path, bearer-token checks, and the
// token revocation routes of the Gateway API. Everything is kept in Redis in Tyk's layout under
// `oauth-data.<api_id>.` (clients, authorization codes, access and refresh grants, the client's
// token sorted set) and the issued token is an ordinary session at `apikey-<token or hash>`, so
// Tyk nodes and Portcullis nodes can share one Redis. Runs on the worker's thread; tokens and
// secrets are never logged.

#include "gateway/common/asio.hpp"
#include "gateway/gateway_state.hpp"
#include "middleware/core/http.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::server {
class Worker;
}

namespace portcullis::oauth_server {

/// The OAuth endpoints Tyk serves under an OAuth API's listen path.
enum class Endpoint {
    none,
    token,            // <lp>oauth/token[/]: access token requests
    authorize,        // <lp>oauth/authorize[/]: checked, then 307 to auth_login_redirect
    authorize_client, // <lp>tyk/oauth/authorize-client[/]: the resource owner approves
    revoke,           // <lp>oauth/revoke[/]: RFC 7009 token revocation
    revoke_all,       // <lp>oauth/revoke_all[/]: every token of a client
};

/// Which endpoint `path` names below `listen_prefix` (the matched listen path).
Endpoint endpoint_for(std::string_view listen_prefix, std::string_view path);

/// A reply of an OAuth endpoint.
struct Reply {
    http::status status = http::status::ok;
    std::string body;
    std::string location;  // set: a redirect
    bool no_cache = false; // Tyk's secure and no-cache headers (token endpoint)
};

/// The request an endpoint answers.
struct EndpointRequest {
    http::verb method;
    std::string query;
    std::string body;
    std::string content_type;
    std::string authorization;       // the Authorization header
    std::string admin_authorization; // the X-Tyk-Authorization header
};

/// Serves one OAuth endpoint of `api`.
awaitable<Reply> handle(server::Worker& worker,
                        std::shared_ptr<const GatewayState> state,
                        const config::ApiDefinition& api,
                        Endpoint endpoint,
                        EndpointRequest request);

/// Whether the OAuth client `client_id` of `api_id` no longer exists (Tyk's check that an
/// OAuth token's client was not deleted). Cached per worker for one second, as Tyk; a Redis
/// failure counts as deleted (fail closed).
awaitable<bool> client_deleted(server::Worker& worker, std::string api_id, std::string client_id);

/// Removes every token issued to `client_id` on `api_id` (access grants, sessions, refresh
/// grants, the token list entries). Returns how many access tokens were found.
awaitable<int> revoke_client_tokens(server::Worker& worker,
                                    std::shared_ptr<const GatewayState> state,
                                    std::string api_id,
                                    std::string client_id);

/// The OAuth APIs (of `org_id`; all when empty) that hold the client `client_id`.
awaitable<std::vector<std::string>> apis_with_client(server::Worker& worker,
                                                     std::shared_ptr<const GatewayState> state,
                                                     std::string client_id,
                                                     std::string org_id);

/// A Gateway API reply (status and JSON body).
struct ApiReply {
    http::status status;
    std::string body;
};

/// The Gateway API's token routes: `POST /tyk/oauth/revoke` (form `token`, `token_type_hint`,
/// `client_id`), `POST /tyk/oauth/revoke_all` (`client_id`, `client_secret`) and
/// `DELETE /tyk/oauth/refresh/{token}?api_id=`. `segments` start with "oauth".
awaitable<ApiReply> gateway_route(server::Worker& worker,
                                  std::shared_ptr<const GatewayState> state,
                                  http::verb method,
                                  std::vector<std::string> segments,
                                  std::string query,
                                  std::string body);

} // namespace portcullis::oauth_server
