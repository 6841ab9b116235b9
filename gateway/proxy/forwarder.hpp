#pragma once

#include "config/target_url.hpp"
#include "gateway/common/asio.hpp"
#include "middleware/core/http.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace portcullis::server {
struct ClientConnection;
}

namespace portcullis::proxy {

/// The proxied request once its header was taken over from the connection's header parser; its
/// body is read later, either streamed by forward() or whole by read_request_body().
using RequestParser = http::request_parser<http::buffer_body>;

/// Work the pipeline wants done after the upstream answered but before the client sees the
/// response: response header transforms, then persisting a modified session (so that when the
/// client has the answer Redis has the change). `response_headers` is null when there is no
/// upstream response (an error reply). Runs at most once.
class BeforeResponse {
  public:
    virtual ~BeforeResponse() = default;
    /// The synchronous part (header work), at once. True when the asynchronous part (finish)
    /// has work to do; false spares a coroutine on every request that saves nothing.
    virtual bool apply(Fields* response_headers) = 0;
    /// Whether apply() would read or change the response headers it is given in other ways than
    /// setting the X-RateLimit-* fields. When it would not, the forwarder passes none and relays
    /// the upstream's head without storing it (then calls relay_rate_limit_fields first).
    virtual bool edits_headers() const = 0;
    /// For a relayed head: whether this step replaces the upstream's X-RateLimit-* fields (they
    /// are then left out of the relayed head), and the lines of its own ("Name: value\r\n"),
    /// appended to `head`.
    virtual bool replaces_rate_limit_fields() const { return false; }
    virtual void relay_rate_limit_fields(std::string& /*head*/) const {}
    /// The asynchronous part, after apply() returned true.
    virtual awaitable<void> finish() = 0;
    /// Both parts.
    awaitable<void> run(Fields* response_headers) {
        if (apply(response_headers)) {
            co_await finish();
        }
    }
};

/// A step that needs the whole upstream response body (response body transforms). The forwarder
/// reads the body (bounded), lets the step change the header and body, runs BeforeResponse, and
/// sends the result with a Content-Length.
class ResponseBodyStep {
  public:
    virtual ~ResponseBodyStep() = default;
    /// Whether this response is to be read whole; otherwise it streams as usual.
    virtual bool wants(const http::response_header<>& response) const = 0;
    /// Changes `body` (and header fields such as Content-Encoding) in place. Never throws.
    virtual void apply(http::response_header<>& response, std::string& body) = 0;
};

/// Everything the forward phase needs to know about where the request goes.
struct ForwardPlan {
    const config::TargetUrl* target = nullptr; // must outlive the forward call
    std::string request_target;                // path?query sent upstream
    bool preserve_host_header = false;
    bool skip_tls_verify = false;              // https:// target: its certificate is not checked
    std::int64_t max_request_body = 0;         // 0 = unlimited
    BeforeResponse* before_response = nullptr; // optional; must outlive the forward call
    /// When set, the body was read whole by read_request_body() (and may have been changed):
    /// it is sent with a Content-Length instead of being streamed from the client.
    const std::string* buffered_body = nullptr;
    /// Optional; must outlive the forward call. Bodies it wants are read whole, at most
    /// `max_response_body` bytes (500 "Response body too large" beyond).
    ResponseBodyStep* response_body = nullptr;
    std::size_t max_response_body = 0;
};

/// What happened while forwarding, for the access log and the connection loop.
struct ForwardResult {
    unsigned status = 0; // status sent to the client; 0 when nothing could be sent
    std::chrono::steady_clock::duration upstream_latency{};
    bool keep_client = false;    // the client connection may serve another request
    const char* error = nullptr; // short reason when the gateway answered or aborted
};

/// Reads the whole request body of `rp` into `body`, at most `limit` bytes (413 beyond). Sends
/// "100 Continue" first when the client asked for it. On failure the client has been answered
/// (413 too large, 408 read timeout, 400 malformed) or is gone, and the result says so;
/// on success the result is empty.
awaitable<std::optional<ForwardResult>> read_request_body(server::ClientConnection& client,
                                                          RequestParser& rp,
                                                          std::size_t limit,
                                                          std::string& body);

/// The forward phase: sends the request (header as given in `rp`, body streamed from the
/// client or `plan.buffered_body`) to the upstream over a pooled keep-alive connection, then
/// streams the upstream's response back. Neither body is held whole in memory. Hop-by-hop headers
/// are dropped, X-Forwarded-For is appended and Host follows `preserve_host_header`. Connect
/// failures and resets answer 502, a missing response within `proxy_default_timeout` answers 504,
/// both with Tyk's JSON error body. An idempotent request without a body is retried once on a fresh
/// connection when a pooled connection turns out to be closed.
awaitable<ForwardResult>
forward(server::ClientConnection& client, RequestParser& rp, ForwardPlan plan);

} // namespace portcullis::proxy
