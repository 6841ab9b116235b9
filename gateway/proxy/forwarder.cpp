#include "gateway/proxy/forwarder.hpp"

#include "gateway/server/client_connection.hpp"
#include "gateway/server/worker.hpp"
#include "middleware/core/error_reply.hpp"
#include "middleware/proxy/hop_by_hop.hpp"
#include "middleware/proxy/upstream_response.hpp"
#include "middleware/proxy/wire.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace portcullis::proxy {

namespace {

using Clock = std::chrono::steady_clock;
using ResponseParser = UpstreamResponseParser;

constexpr std::uint32_t kUpstreamHeaderLimit = 256 * 1024;
constexpr std::string_view kProxyError = "There was a problem proxying the request";
constexpr std::string_view kTimeoutError = "Upstream service reached hard timeout.";

bool is_idempotent(http::verb v) {
    switch (v) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::put:
    case http::verb::delete_:
        return true;
    default:
        return false;
    }
}

/// Errors that mean "the pooled connection was already closed by the upstream".
bool is_stale_connection(const error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == http::error::partial_message;
}

bool is_timeout(const error_code& ec) {
    return ec == beast::error::timeout || ec == asio::error::timed_out;
}

/// Answers the client with a gateway-made error; the connection stays usable only when the
/// client's request was read completely.
awaitable<ForwardResult> reply_error(server::ClientConnection& client,
                                     http::status status,
                                     std::string_view message,
                                     bool request_complete,
                                     const char* reason) {
    const bool keep = request_complete && !client.worker.draining();
    auto res = make_error_response(status, message, keep,
                                   client.worker.state()->config->hide_generator_header);
    ForwardResult result;
    result.status = static_cast<unsigned>(status);
    result.error = reason;
    result.keep_client = co_await server::write_reply(client, res);
    co_return result;
}

/// What the client is told when reading its body failed (nothing when it is gone).
awaitable<ForwardResult> body_read_failed(server::ClientConnection& client, error_code ec) {
    if (ec == http::error::body_limit) {
        co_return co_await reply_error(client, http::status::payload_too_large,
                                       "Request is too large", false, "body_too_large");
    }
    if (is_timeout(ec)) {
        co_return co_await reply_error(client, http::status::request_timeout,
                                       "Request body read timeout", false, "client_body_timeout");
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
        ForwardResult result;
        result.error = "client_gone";
        co_return result;
    }
    co_return co_await reply_error(client, http::status::bad_request, "Bad Request", false,
                                   "client_body");
}

bool wants_continue(const RequestParser& rp) {
    const auto& req = rp.get();
    return !rp.is_done() && req.version() >= 11 &&
           beast::iequals(req[http::field::expect], "100-continue");
}

/// Sets Content-Length on a header whose hop-by-hop fields (Transfer-Encoding among them) were
/// stripped: directly, without Beast's setter re-reading Transfer-Encoding.
void set_content_length(http::fields& fields, std::uint64_t length) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, length).ptr;
    fields.set(http::field::content_length, std::string_view(digits, end - digits));
}

/// Makes a response head whose hop-by-hop fields were stripped HTTP/1.1 for the client, with
/// `Connection: close` unless the connection stays open (1.1's default).
void set_client_version(http::response_header<>& res, bool keep_client) {
    res.version(11);
    if (!keep_client) {
        res.set(http::field::connection, "close");
    }
}

/// Starts sending `out` under `timeout` (a fresh deadline: whatever deadline the stream had, say
/// the client's header deadline, no longer applies): writes what the socket takes at once, the
/// usual case, with no asynchronous operation to schedule and no coroutine frame. Returns the
/// bytes written; `send_rest` finishes when that is less than all of `out` and `ec` is clear.
template <class Buffers>
std::size_t
send_now(TcpStream& stream, const Buffers& out, Clock::duration timeout, error_code& ec) {
    stream.expires_after(timeout);
    return stream.write_now(out, ec);
}

/// Sends what `send_now` left of `out`, under the deadline it set.
template <class Buffers>
awaitable<error_code> send_rest(TcpStream& stream, const Buffers& out, std::size_t sent) {
    beast::buffers_suffix<Buffers> rest{out};
    rest.consume(sent);
    auto [wec, wn] = co_await asio::async_write(stream, rest, use_nothrow);
    co_return wec;
}

/// Sends all of `out` under `timeout`: `send_now`, then `send_rest` when needed.
template <class Buffers>
awaitable<error_code> send_all(TcpStream& stream, const Buffers& out, Clock::duration timeout) {
    error_code ec;
    const std::size_t sent = send_now(stream, out, timeout, ec);
    if (ec || sent == asio::buffer_size(out)) {
        co_return ec;
    }
    co_return co_await send_rest(stream, out, sent);
}

/// Sends "100 Continue"; false when the client is gone.
awaitable<bool> send_continue(server::ClientConnection& client,
                              std::chrono::steady_clock::duration write_timeout) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    const error_code ec = co_await send_all(
        client.stream, asio::buffer(kContinue.data(), kContinue.size()), write_timeout);
    co_return !ec;
}

/// Responses that may carry a body a step can read (not 1xx, 204 or 304).
bool wants_whole_body(unsigned code) {
    return code >= 200 && code != 204 && code != 304;
}

/// How relaying a fixed number of raw bytes ended: a failed read or a failed write (both
/// clear: every byte was relayed).
struct RelayOutcome {
    error_code read;
    error_code write;
};

/// Copies exactly `remaining` bytes from `from` to `to` through the connection's relay buffer,
/// each read under `read_timeout` and each write under `write_timeout`.
awaitable<RelayOutcome> relay_exactly(server::ClientConnection& client,
                                      TcpStream& from,
                                      Clock::duration read_timeout,
                                      TcpStream& to,
                                      Clock::duration write_timeout,
                                      std::uint64_t remaining) {
    constexpr std::size_t kRelaySize = server::ClientConnection::kRelayBufferSize;
    RelayOutcome outcome;
    char* const relay = remaining > 0 ? client.relay_buffer() : nullptr;
    while (remaining > 0) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kRelaySize));
        from.expires_after(read_timeout);
        auto [rec, rn] = co_await from.async_read_some(asio::buffer(relay, want), use_nothrow);
        if (rec) {
            outcome.read = rec;
            co_return outcome;
        }
        to.expires_after(write_timeout);
        auto [wec, wn] = co_await asio::async_write(to, asio::buffer(relay, rn), use_nothrow);
        if (wec) {
            outcome.write = wec;
            co_return outcome;
        }
        remaining -= rn;
    }
    co_return outcome;
}

/// Room for a chunk's size line: up to 16 hex digits and CRLF.
using ChunkLine = std::array<char, 18>;
using PieceBuffers = std::array<asio::const_buffer, 4>;

/// One piece of a chunked body as sent: "size\r\n", the `n` bytes at `data` and "\r\n" (nothing
/// when `n` is 0), then the last chunk "0\r\n\r\n" when `last`. Unused buffers are empty.
PieceBuffers chunk_buffers(ChunkLine& size_line, const char* data, std::size_t n, bool last) {
    static constexpr std::string_view kCrlf = "\r\n";
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    PieceBuffers out;
    if (n > 0) {
        char* const end = std::to_chars(size_line.data(), size_line.data() + 16, n, 16).ptr;
        end[0] = '\r';
        end[1] = '\n';
        out[0] =
            asio::buffer(size_line.data(), static_cast<std::size_t>(end + 2 - size_line.data()));
        out[1] = asio::buffer(data, n);
        out[2] = asio::buffer(kCrlf.data(), kCrlf.size());
    }
    if (last) {
        out[3] = asio::buffer(kLastChunk.data(), kLastChunk.size());
    }
    return out;
}

/// One piece of a body sent as it is (framed by a Content-Length).
PieceBuffers raw_buffers(const char* data, std::size_t n) {
    PieceBuffers out;
    out[1] = asio::buffer(data, n);
    return out;
}

/// Reads the whole upstream body (at most `plan.max_response_body` bytes), lets the response
/// body step change it, runs BeforeResponse, and sends it with a Content-Length. Nothing has
/// been sent to the client yet, so failures still get an error reply.
awaitable<ForwardResult> send_transformed(server::ClientConnection& client,
                                          UpstreamConnectionPtr& upstream,
                                          ResponseParser& resp,
                                          const ForwardPlan& plan,
                                          bool client_keep_alive,
                                          Clock::duration upstream_latency) {
    const auto& cfg = *client.worker.state()->config;
    const auto upstream_timeout = to_steady(cfg.proxy_default_timeout);
    const std::size_t limit = plan.max_response_body;
    UpstreamConnection& up = *upstream;
    auto& res = resp.header();
    if (const auto length = resp.content_length(); length && *length > limit) {
        spdlog::warn("upstream {} response body over the {} byte limit", plan.target->authority(),
                     limit);
        co_return co_await reply_error(client, http::status::internal_server_error,
                                       "Response body too large", true, "response_too_large");
    }
    std::string body;
    char* const relay = client.relay_buffer();
    constexpr std::size_t kRelaySize = server::ClientConnection::kRelayBufferSize;
    while (!resp.is_done()) {
        resp.set_output(relay, kRelaySize);
        up.stream.expires_after(upstream_timeout);
        auto [ec, n] = co_await http::async_read(up.stream, up.buffer, resp, use_nothrow);
        if (ec == http::error::need_buffer) {
            ec = {};
        }
        if (ec) {
            spdlog::warn("upstream {} response failed: {}", plan.target->authority(), ec.message());
            if (is_timeout(ec)) {
                co_return co_await reply_error(client, http::status::gateway_timeout, kTimeoutError,
                                               true, "upstream_timeout");
            }
            co_return co_await reply_error(client, http::status::bad_gateway, kProxyError, true,
                                           "upstream_body");
        }
        body.append(relay, resp.filled());
        if (body.size() > limit) {
            spdlog::warn("upstream {} response body over the {} byte limit",
                         plan.target->authority(), limit);
            co_return co_await reply_error(client, http::status::internal_server_error,
                                           "Response body too large", true, "response_too_large");
        }
    }
    if (resp.keep_alive() && !resp.need_eof() && up.buffer.size() == 0) {
        client.worker.upstream_pool().release(std::move(upstream));
    }

    plan.response_body->apply(res, body);
    if (plan.before_response != nullptr && plan.before_response->apply(&res)) {
        co_await plan.before_response->finish();
    }
    strip_hop_by_hop(res, {http::field::content_length});
    const bool keep_client = client_keep_alive && !client.worker.draining();
    set_content_length(res, body.size());
    set_client_version(res, keep_client);

    ForwardResult result;
    result.status = res.result_int();
    result.upstream_latency = upstream_latency;
    client.head.clear();
    append_response_head(client.head, res);
    std::array<asio::const_buffer, 2> out;
    out[0] = asio::buffer(client.head);
    out[1] = asio::buffer(body);
    const error_code hwec =
        co_await send_all(client.stream, out, to_steady(cfg.http_server_options.write_timeout));
    if (hwec) {
        result.error = "client_gone";
        co_return result;
    }
    result.keep_client = keep_client;
    co_return result;
}

} // namespace

awaitable<std::optional<ForwardResult>> read_request_body(server::ClientConnection& client,
                                                          RequestParser& rp,
                                                          std::size_t limit,
                                                          std::string& body) {
    const auto& cfg = *client.worker.state()->config;
    const auto read_timeout = to_steady(cfg.http_server_options.read_timeout);
    if (const auto length = rp.content_length(); length && *length > limit) {
        co_return co_await reply_error(client, http::status::payload_too_large,
                                       "Request is too large", false, "body_too_large");
    }
    if (wants_continue(rp)) {
        const bool sent =
            co_await send_continue(client, to_steady(cfg.http_server_options.write_timeout));
        if (!sent) {
            ForwardResult gone;
            gone.error = "client_gone";
            co_return gone;
        }
    }
    rp.body_limit(limit);
    rp.get().erase(http::field::expect);
    char* const relay = client.relay_buffer();
    constexpr std::size_t kRelaySize = server::ClientConnection::kRelayBufferSize;
    while (!rp.is_done()) {
        rp.get().body().data = relay;
        rp.get().body().size = kRelaySize;
        client.stream.expires_after(read_timeout);
        auto [ec, n] = co_await http::async_read(client.stream, client.buffer, rp, use_nothrow);
        if (ec == http::error::need_buffer) {
            ec = {};
        }
        if (ec) {
            co_return co_await body_read_failed(client, ec);
        }
        body.append(relay, kRelaySize - rp.get().body().size);
    }
    co_return std::nullopt;
}

awaitable<ForwardResult>
forward(server::ClientConnection& client, RequestParser& rp, ForwardPlan plan) {
    const std::shared_ptr<const GatewayState> state = client.worker.state();
    const auto& cfg = *state->config;
    const auto write_timeout = to_steady(cfg.http_server_options.write_timeout);
    const auto read_timeout = to_steady(cfg.http_server_options.read_timeout);
    const auto upstream_timeout = to_steady(cfg.proxy_default_timeout);
    ForwardResult result;

    auto& req = rp.get();
    const bool client_keep_alive = req.keep_alive() && req.version() >= 11;
    const bool buffered = plan.buffered_body != nullptr;
    const bool has_body = !rp.is_done(); // still to be streamed from the client
    const bool chunked_body = rp.chunked();
    const auto content_length = rp.content_length();
    const bool is_head = req.method() == http::verb::head;
    const bool expect_continue = wants_continue(rp);

    if (buffered) {
        // read whole already (bounded by read_request_body)
    } else if (plan.max_request_body > 0) {
        const auto limit = static_cast<std::uint64_t>(plan.max_request_body);
        if (content_length && *content_length > limit) {
            co_return co_await reply_error(client, http::status::payload_too_large,
                                           "Request is too large", false, "body_too_large");
        }
        rp.body_limit(limit);
    } else {
        rp.body_limit(boost::none);
    }

    // The header as the upstream sees it.
    // Framing follows the body actually sent, set below, whatever the header says by now (header
    // transforms included): no stale Content-Length or Transfer-Encoding reaches the upstream.
    // Target, Host and X-Forwarded-For are changed as the head is written.
    strip_hop_by_hop(req, {http::field::expect, http::field::content_length});
    req.version(11);
    RequestHeadEdits edits;
    edits.target = plan.request_target;
    edits.forwarded_for = client.peer_ip;
    if (!plan.preserve_host_header || req[http::field::host].empty()) {
        edits.host = plan.target->host_header;
    }
    if (buffered) {
        // Sent whole with its length (also when a step emptied it, if the client sent one).
        if (!plan.buffered_body->empty() || content_length || chunked_body) {
            set_content_length(req, plan.buffered_body->size());
        }
    } else if (has_body) {
        if (chunked_body) {
            req.chunked(true);
        } else if (content_length) {
            set_content_length(req, *content_length);
        }
    } else if (content_length || chunked_body) {
        set_content_length(req, content_length.value_or(0)); // an announced empty body
    }
    const bool retryable = !has_body && is_idempotent(req.method());
    // A Content-Length body still to come from the client is relayed as raw bytes (no parsing):
    // the part already received goes out with the head, the rest as it arrives.
    const bool raw_body = has_body && !chunked_body && content_length && !expect_continue;
    // Other bodies (chunked, or after 100-continue) are parsed and sent a piece per read.
    const bool streamed_body = has_body && !raw_body;

    constexpr std::size_t kRelaySize = server::ClientConnection::kRelayBufferSize;
    // A head no response step reads or changes is written for the client while it is parsed.
    const bool relay_head =
        plan.response_body == nullptr &&
        (plan.before_response == nullptr || !plan.before_response->edits_headers());
    // ... where a step may still replace the upstream's X-RateLimit-* fields.
    const bool drop_rate_limit = relay_head && plan.before_response != nullptr &&
                                 plan.before_response->replaces_rate_limit_fields();
    UpstreamConnectionPtr up;
    std::optional<ResponseParser> resp;
    bool simple_head = false; // relay mode: the head was parsed without `resp`
    ResponseFraming framing;
    Clock::time_point sent_at;

    // A Content-Length body that fits the relay buffer is read whole before the head goes out:
    // the head read stopped at its buffer's end, and head and body then leave in one write
    // instead of a write for the head and a relayed write for the rest.
    std::size_t tail = 0; // body bytes read into the relay buffer, after those in client.buffer
    if (raw_body && *content_length <= kRelaySize && client.buffer.size() < *content_length) {
        tail = static_cast<std::size_t>(*content_length) - client.buffer.size();
        client.stream.expires_after(read_timeout);
        auto [rec, rn] = co_await asio::async_read(
            client.stream, asio::buffer(client.relay_buffer(), tail), use_nothrow);
        if (rec) {
            co_return co_await body_read_failed(client, rec);
        }
    }

    for (int attempt = 0;; ++attempt) {
        // A request that can be retried on a fresh connection skips the pooled connection's
        // liveness check (a stale one is retried once below).
        UpstreamConnectionPtr conn;
        if (attempt == 0) {
            conn = client.worker.upstream_pool().take_idle(plan.target, !retryable,
                                                           plan.skip_tls_verify);
        }
        error_code aec;
        if (!conn) {
            auto [acquire_ec, fresh] = co_await client.worker.upstream_pool().acquire(
                plan.target, attempt > 0, to_steady(cfg.portcullis.upstream_connect_timeout),
                !retryable, plan.skip_tls_verify);
            aec = acquire_ec;
            conn = std::move(fresh);
        }
        if (aec) {
            spdlog::warn("upstream {} unreachable: {}", plan.target->authority(), aec.message());
            if (is_timeout(aec)) {
                co_return co_await reply_error(client, http::status::gateway_timeout, kTimeoutError,
                                               !has_body, "upstream_timeout");
            }
            const bool tls_failed = aec.category() == asio::error::get_ssl_category();
            co_return co_await reply_error(client, http::status::bad_gateway, kProxyError,
                                           !has_body,
                                           tls_failed ? "upstream_tls" : "upstream_connect");
        }
        up = std::move(conn);
        sent_at = Clock::now();

        // send the header, with the buffered body or the body bytes already received, in one
        // write
        std::size_t first = 0; // raw body bytes sent with the head
        client.head.clear();
        append_request_head(client.head, req, edits);
        std::array<asio::const_buffer, 3> out;
        out[0] = asio::buffer(client.head);
        out[1] = buffered ? asio::buffer(*plan.buffered_body) : asio::const_buffer();
        if (raw_body) {
            const auto pending = client.buffer.data();
            first =
                static_cast<std::size_t>(std::min<std::uint64_t>(*content_length, pending.size()));
            out[1] = asio::buffer(pending.data(), first);
            if (tail > 0) { // the relay buffer is made on first use: not for nothing
                out[2] = asio::buffer(client.relay_buffer(), tail);
            }
        }
        error_code wec;
        const std::size_t sent = send_now(up->stream, out, write_timeout, wec);
        if (!wec && sent < asio::buffer_size(out)) {
            wec = co_await send_rest(up->stream, out, sent);
        }
        if (wec) {
            if (retryable && up->reused && attempt == 0) {
                continue;
            }
            spdlog::warn("upstream {} write failed: {}", plan.target->authority(), wec.message());
            co_return co_await reply_error(client, http::status::bad_gateway, kProxyError,
                                           !has_body, "upstream_write");
        }

        // relay the rest of a Content-Length body from the client
        if (raw_body) {
            client.buffer.consume(first);
            const RelayOutcome relayed =
                co_await relay_exactly(client, client.stream, read_timeout, up->stream,
                                       write_timeout, *content_length - first - tail);
            if (relayed.read) {
                co_return co_await body_read_failed(client, relayed.read);
            }
            if (relayed.write) {
                spdlog::warn("upstream {} failed while receiving the body: {}",
                             plan.target->authority(), relayed.write.message());
                co_return co_await reply_error(client, http::status::bad_gateway, kProxyError,
                                               false, "upstream_write");
            }
        }

        // stream a chunked body (or one after 100-continue) from the client
        if (streamed_body) {
            char* const relay = client.relay_buffer();
            if (expect_continue) {
                const bool continued = co_await send_continue(client, write_timeout);
                if (!continued) {
                    result.error = "client_gone";
                    co_return result;
                }
            }
            ChunkLine size_line;
            while (!rp.is_done()) {
                rp.get().body().data = relay;
                rp.get().body().size = kRelaySize;
                client.stream.expires_after(read_timeout);
                auto [rec, rn] =
                    co_await http::async_read(client.stream, client.buffer, rp, use_nothrow);
                if (rec == http::error::need_buffer) {
                    rec = {};
                }
                if (rec) {
                    co_return co_await body_read_failed(client, rec);
                }
                const std::size_t n = kRelaySize - rp.get().body().size;
                const auto piece = chunked_body ? chunk_buffers(size_line, relay, n, rp.is_done())
                                                : raw_buffers(relay, n);
                up->stream.expires_after(write_timeout);
                auto [bwec, bwn] = co_await asio::async_write(up->stream, piece, use_nothrow);
                if (bwec) {
                    spdlog::warn("upstream {} failed while receiving the body: {}",
                                 plan.target->authority(), bwec.message());
                    co_return co_await reply_error(client, http::status::bad_gateway, kProxyError,
                                                   rp.is_done(), "upstream_write");
                }
            }
        }

        // wait for the response header (skipping interim 1xx responses)
        error_code rec;
        std::size_t received = 0;
        simple_head = false;
        bool head_deadline_set = false;
        if (relay_head) {
            // The usual head is parsed here; any other goes to Beast's parser below, which reads
            // the same buffered bytes first.
            std::size_t searched = 0;
            for (;;) {
                const auto data = up->buffer.data();
                std::size_t head_size = 0;
                const SimpleHead verdict = parse_simple_response_head(
                    std::string_view(static_cast<const char*>(data.data()), data.size()), is_head,
                    drop_rate_limit, kUpstreamHeaderLimit, searched, client.head, framing,
                    head_size);
                if (verdict == SimpleHead::too_large) {
                    rec = http::error::header_limit;
                    break;
                }
                if (verdict == SimpleHead::complete) {
                    up->buffer.consume(head_size);
                    simple_head = true;
                    break;
                }
                if (verdict == SimpleHead::not_simple) {
                    break;
                }
                // At least 4 KiB: a small response (head and body) arrives in one read, and goes
                // out to the client in one write.
                const std::size_t room =
                    std::clamp<std::size_t>(up->buffer.capacity() - up->buffer.size(), 4096, 65536);
                if (!head_deadline_set) {
                    up->stream.expires_after(upstream_timeout); // one deadline for the whole head
                    head_deadline_set = true;
                }
                auto [ec, n] =
                    co_await up->stream.async_read_some(up->buffer.prepare(room), use_nothrow);
                if (ec) {
                    // As Beast's header read reports them.
                    rec = ec != asio::error::eof   ? ec
                          : up->buffer.size() == 0 ? error_code(http::error::end_of_stream)
                                                   : error_code(http::error::partial_message);
                    break;
                }
                up->buffer.commit(n);
                received += n;
            }
        }
        for (; !simple_head && !rec;) {
            resp.emplace(relay_head ? ResponseParser::Mode::relay : ResponseParser::Mode::fields,
                         client.head);
            if (drop_rate_limit) {
                resp->drop_rate_limit_fields();
            }
            resp->header_limit(kUpstreamHeaderLimit);
            resp->body_limit(boost::none);
            if (is_head) {
                resp->skip(true);
            }
            if (!head_deadline_set) {
                up->stream.expires_after(upstream_timeout);
            }
            head_deadline_set = false; // the response after an interim one gets its own deadline
            auto [hec, hn] =
                co_await http::async_read_header(up->stream, up->buffer, *resp, use_nothrow);
            rec = hec;
            received += hn;
            const unsigned code = rec ? 0 : resp->status();
            if (rec || code < 100 || code >= 200 || code == 101) {
                break;
            }
        }
        if (rec) {
            if (retryable && up->reused && attempt == 0 && received == 0 &&
                is_stale_connection(rec)) {
                continue;
            }
            spdlog::warn("upstream {} response failed: {}", plan.target->authority(),
                         rec.message());
            if (is_timeout(rec)) {
                co_return co_await reply_error(client, http::status::gateway_timeout, kTimeoutError,
                                               true, "upstream_timeout");
            }
            co_return co_await reply_error(client, http::status::bad_gateway, kProxyError, true,
                                           "upstream_response");
        }
        if (!simple_head && resp->status() == 101) {
            // Upgrade was stripped from the request; a switch now is a protocol error.
            co_return co_await reply_error(client, http::status::bad_gateway, kProxyError, true,
                                           "upstream_upgrade");
        }
        break;
    }
    result.upstream_latency = Clock::now() - sent_at;
    if (!simple_head) {
        framing = resp->framing();
    }

    if (plan.response_body != nullptr && !is_head && wants_whole_body(resp->status()) &&
        plan.response_body->wants(resp->header())) {
        co_return co_await send_transformed(client, up, *resp, plan, client_keep_alive,
                                            result.upstream_latency);
    }

    // the response head for the client (response steps first: framing is decided after them)
    const bool res_has_body = framing.has_body;
    const auto res_length = framing.content_length;
    const bool keep_client = client_keep_alive && !client.worker.draining();
    if (relay_head) {
        // written while parsing; a step only replaces the X-RateLimit-* fields
        if (plan.before_response != nullptr) {
            if (drop_rate_limit) {
                plan.before_response->relay_rate_limit_fields(client.head);
            }
            if (plan.before_response->apply(nullptr)) {
                co_await plan.before_response->finish();
            }
        }
        finish_relay_head(client.head, framing, keep_client);
    } else {
        auto& res = resp->header();
        // Without a body here (HEAD, 304) the upstream's Content-Length describes the entity.
        const std::string bodyless_length =
            res_has_body ? std::string() : std::string(res[http::field::content_length]);
        if (plan.before_response != nullptr && plan.before_response->apply(&res)) {
            co_await plan.before_response->finish();
        }
        strip_hop_by_hop(res, {http::field::content_length});
        if (res_has_body) {
            if (res_length) {
                set_content_length(res, *res_length);
            } else {
                // chunked or EOF-delimited upstream: chunked to the client
                res.set(http::field::transfer_encoding, "chunked");
            }
        } else if (!bodyless_length.empty()) {
            res.set(http::field::content_length, bodyless_length);
        }
        set_client_version(res, keep_client);
        client.head.clear();
        append_response_head(client.head, res);
    }
    result.status = framing.status;

    if (!res_has_body || res_length) {
        // No body, or a Content-Length body: the head and the body bytes the upstream already
        // sent go out in one write, the rest is relayed as it comes, without parsing.
        const std::uint64_t remaining = res_has_body ? *res_length : 0;
        const auto pending = up->buffer.data();
        const std::size_t first =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining, pending.size()));
        std::array<asio::const_buffer, 2> out;
        out[0] = asio::buffer(client.head);
        out[1] = asio::buffer(pending.data(), first);
        error_code hwec;
        const std::size_t sent = send_now(client.stream, out, write_timeout, hwec);
        if (!hwec && sent < asio::buffer_size(out)) {
            hwec = co_await send_rest(client.stream, out, sent);
        }
        if (hwec) {
            result.error = "client_gone";
            co_return result;
        }
        up->buffer.consume(first);
        RelayOutcome relayed;
        if (remaining > first) {
            relayed = co_await relay_exactly(client, up->stream, upstream_timeout, client.stream,
                                             write_timeout, remaining - first);
        }
        if (relayed.read) {
            // Too late for an error reply: cut the client off so it sees a short body.
            spdlog::warn("upstream {} failed mid-response: {}", plan.target->authority(),
                         relayed.read.message());
            result.error = "upstream_body";
            co_return result;
        }
        if (relayed.write) {
            result.error = "client_gone";
            co_return result;
        }
    } else {
        // chunked or EOF-delimited upstream body: parsed, and sent chunked, a chunk per read
        const error_code hwec =
            co_await send_all(client.stream, asio::buffer(client.head), write_timeout);
        if (hwec) {
            result.error = "client_gone";
            co_return result;
        }
        char* const relay = client.relay_buffer();
        ChunkLine size_line;
        do {
            resp->set_output(relay, kRelaySize);
            up->stream.expires_after(upstream_timeout);
            auto [rec, rn] = co_await http::async_read(up->stream, up->buffer, *resp, use_nothrow);
            if (rec == http::error::need_buffer) {
                rec = {};
            }
            if (rec) {
                // Too late for an error reply: cut the client off so it sees a short body.
                spdlog::warn("upstream {} failed mid-response: {}", plan.target->authority(),
                             rec.message());
                result.error = "upstream_body";
                co_return result;
            }
            const auto out = chunk_buffers(size_line, relay, resp->filled(), resp->is_done());
            client.stream.expires_after(write_timeout);
            auto [wec, wn] = co_await asio::async_write(client.stream, out, use_nothrow);
            if (wec) {
                result.error = "client_gone";
                co_return result;
            }
        } while (!resp->is_done());
    }

    // The upstream's response was read to its end on both paths above.
    if (framing.keep_alive && up->buffer.size() == 0) {
        client.worker.upstream_pool().release(std::move(up));
    }
    result.keep_client = keep_client;
    co_return result;
}

} // namespace portcullis::proxy
