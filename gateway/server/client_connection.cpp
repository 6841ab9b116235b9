#include "gateway/server/client_connection.hpp"

#include "gateway/common/tls.hpp"
#include "gateway/proxy/pipeline.hpp"
#include "gateway/server/worker.hpp"
#include "middleware/core/error_reply.hpp"
#include "middleware/proxy/request_checks.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <optional>

namespace portcullis::server {

ClientConnection::ClientConnection(Socket socket, Worker& owner)
    : stream(std::move(socket)), worker(owner) {
    error_code ec;
    auto endpoint = stream.socket().remote_endpoint(ec);
    if (!ec) {
        peer_ip = endpoint.address().to_string();
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
}

char* ClientConnection::relay_buffer() {
    if (!relay_buffer_) {
        relay_buffer_ = std::make_unique<char[]>(kRelayBufferSize);
    }
    return relay_buffer_.get();
}

awaitable<bool> write_reply(ClientConnection& conn, StringResponse& res) {
    const auto& opts = conn.worker.state()->config->http_server_options;
    conn.stream.expires_after(to_steady(opts.write_timeout));
    auto [ec, n] = co_await http::async_write(conn.stream, res, use_nothrow);
    co_return !ec && res.keep_alive();
}

namespace {

/// Removes a connection from the worker's registry when the coroutine frame goes away.
class TrackGuard {
  public:
    TrackGuard(Worker& worker, TcpStream& stream)
        : worker_(worker), handle_(worker.track(stream)) {}
    ~TrackGuard() { worker_.untrack(handle_); }
    TrackGuard(const TrackGuard&) = delete;
    TrackGuard& operator=(const TrackGuard&) = delete;
    void busy(bool b) { handle_->busy = b; }

  private:
    Worker& worker_;
    Worker::TrackedHandle handle_;
};

bool is_disconnect(const error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == beast::error::timeout || ec == asio::error::operation_aborted ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::bad_descriptor;
}

/// Why a request header is answered with an error and the connection closed, if it is: the
/// parser refused it (`ec`: 414 when the limit was reached inside the request line, as the
/// parser has no target yet; 431 past the header limit; else 400), a Transfer-Encoding other
/// than exactly `chunked` (400), or more fields than `max_header_fields` (431).
std::optional<http::status> refusal(const error_code& ec,
                                    const http::request_parser<http::empty_body>& parser,
                                    const config::PortcullisOptions& opts) {
    if (ec == http::error::header_limit) {
        return parser.get().target().empty() ? http::status::uri_too_long
                                             : http::status::request_header_fields_too_large;
    }
    if (ec || !proxy::transfer_encoding_ok(parser.get(), parser.chunked())) {
        return http::status::bad_request;
    }
    if (proxy::field_count(parser.get()) > opts.max_header_fields) {
        return http::status::request_header_fields_too_large;
    }
    return std::nullopt;
}

} // namespace

namespace {

/// The TLS handshake of a new connection, under the header deadline. A client that spoke plain
/// HTTP to the TLS listener is told so, as Go's server tells it, before the connection closes.
awaitable<bool> tls_handshake(ClientConnection& conn, tls::ServerContexts& contexts) {
    conn.stream.start_tls(contexts.context());
    conn.stream.expires_after(to_steady(conn.worker.state()->config->portcullis.header_timeout));
    auto [ec] = co_await conn.stream.async_handshake(asio::ssl::stream_base::server, use_nothrow);
    if (!ec) {
        co_return true;
    }
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
        static constexpr std::string_view kPlainHttp =
            "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
        error_code ignored;
        conn.stream.socket().non_blocking(true, ignored);
        conn.stream.socket().write_some(asio::buffer(kPlainHttp.data(), kPlainHttp.size()),
                                        ignored);
    }
    spdlog::debug("TLS handshake with {} failed: {}", conn.peer_ip, ec.message());
    co_return false;
}

} // namespace

awaitable<void> serve_client(Socket socket, Worker* worker) {
    ClientConnection conn{std::move(socket), *worker};
    TrackGuard tracked{*worker, conn.stream};
    if (tls::ServerContexts* contexts = worker->server_tls()) {
        const bool ready = co_await tls_handshake(conn, *contexts);
        if (!ready) {
            co_return;
        }
    }

    for (;;) {
        if (worker->draining()) {
            break;
        }
        std::shared_ptr<const GatewayState> state = worker->state();
        const auto& opts = state->config->portcullis;

        // read: the header block, under the header (or keep-alive idle) deadline
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
        parser.body_limit(boost::none); // bodies are limited where they are read
        const bool idle = conn.requests > 0 && conn.buffer.size() == 0;
        conn.stream.expires_after(to_steady(idle ? opts.idle_timeout : opts.header_timeout));
        tracked.busy(false);
        auto [ec, n] =
            co_await http::async_read_header(conn.stream, conn.buffer, parser, use_nothrow);
        if (ec && is_disconnect(ec)) {
            break;
        }
        tracked.busy(true);
        // A malformed, oversized or ambiguous header: answer once, then close.
        if (const auto refused = refusal(ec, parser, opts)) {
            auto res = make_error_response(*refused, http::obsolete_reason(*refused), false,
                                           state->config->hide_generator_header);
            co_await write_reply(conn, res);
            break;
        }
        ++conn.requests;
        // The snapshot current when the request arrived (a reload may have happened while idle).
        state = worker->state();

        // every later phase: see proxy::handle_request
        const bool keep_alive = co_await proxy::handle_request(conn, parser, state);
        if (!keep_alive || worker->draining()) {
            break;
        }
    }
    error_code ignored;
    conn.stream.socket().shutdown(Socket::shutdown_send, ignored);
}

} // namespace portcullis::server
