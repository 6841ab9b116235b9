#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/gateway_state.hpp"
#include "middleware/core/http.hpp"

#include <boost/beast/http/parser.hpp>

#include <memory>

namespace portcullis::server {
struct ClientConnection;
}

namespace portcullis::proxy {

/// The request lifecycle after the header block has been read, phase by phase (see
/// ARCHITECTURE.md): route, (auth, limits and transforms as they land), forward, respond, log.
/// Reads the rest of the request and writes the whole reply on `conn`. Returns whether the
/// connection may carry another request.
awaitable<bool> handle_request(server::ClientConnection& conn,
                               http::request_parser<http::empty_body>& parser,
                               std::shared_ptr<const GatewayState> state);

} // namespace portcullis::proxy
