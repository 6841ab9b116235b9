#pragma once

#include "config/target_url.hpp"
#include "gateway/common/asio.hpp"
#include "middleware/core/http.hpp"

#include <boost/beast/http/parser.hpp>

#include <chrono>
#include <string>

namespace portcullis::server {
struct ClientConnection;
}

namespace portcullis::proxy {

/// Work the pipeline wants done after the upstream answered but before the client sees the
/// response: response header transforms, then persisting a modified session (so that when the
/// client has the answer Redis has the change). `response_headers` is null when there is no
/// upstream response (an error reply). Runs at most once.
class BeforeResponse {
  public:
    virtual ~BeforeResponse() = default;
    virtual awaitable<void> run(Fields* response_headers) = 0;
};

/// Everything the forward phase needs to know about where the request goes.
struct ForwardPlan {
    const config::TargetUrl* target = nullptr; // must outlive the forward call
    std::string request_target;                // path?query sent upstream
    bool preserve_host_header = false;
    std::int64_t max_request_body = 0;         // 0 = unlimited
    BeforeResponse* before_response = nullptr; // optional; must outlive the forward call
};

/// What happened while forwarding, for the access log and the connection loop.
struct ForwardResult {
    unsigned status = 0; // status sent to the client; 0 when nothing could be sent
    std::chrono::steady_clock::duration upstream_latency{};
    bool keep_client = false;    // the client connection may serve another request
    const char* error = nullptr; // short reason when the gateway answered or aborted
};

/// The forward phase: sends the request (header as given in `parser`, body streamed from the
/// client) to the upstream over a pooled keep-alive connection, then streams the upstream's
/// response back. Neither body is held whole in memory. Hop-by-hop headers are dropped,
/// X-Forwarded-For is appended and Host follows `preserve_host_header`. Connect failures and
/// resets answer 502, a missing response within `proxy_default_timeout` answers 504, both with
/// Tyk's JSON error body. An idempotent request without a body is retried once on a fresh
/// connection when a pooled connection turns out to be closed.
awaitable<ForwardResult> forward(server::ClientConnection& client,
                                 http::request_parser<http::empty_body>& parser,
                                 ForwardPlan plan);

} // namespace portcullis::proxy
