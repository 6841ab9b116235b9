#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/gateway_state.hpp"
#include "middleware/core/http.hpp"

#include <boost/beast/http/parser.hpp>

#include <memory>
#include <string_view>

namespace portcullis::server {
struct ClientConnection;
}

namespace portcullis::api {

/// Whether `given` (an X-Tyk-Authorization value) is tyk.conf's `secret`, compared in constant
/// time; an empty secret authorises nothing.
bool admin_authorized(const config::GatewayConfig& config, std::string_view given);

/// True for paths the Gateway API owns (`/tyk` and `/tyk/...`).
bool is_gateway_api_path(std::string_view path);

/// What serving one Gateway API request came to.
struct Served {
    bool keep_alive = false; // the connection may carry another request
    unsigned status = 0;     // the status answered (for the access log)
};

/// Serves one Gateway API request (Tyk's `/tyk/` control API: keys, APIs, reload), authorised by
/// `X-Tyk-Authorization` equal to `secret` (constant-time compare; an empty secret refuses
/// everything). Reads the body (bounded), writes the whole reply.
awaitable<Served> handle_gateway_api(server::ClientConnection& conn,
                                     http::request_parser<http::empty_body>& parser,
                                     std::shared_ptr<const GatewayState> state);

} // namespace portcullis::api
