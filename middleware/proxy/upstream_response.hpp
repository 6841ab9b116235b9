#pragma once

// The parser of an upstream's response head and body. Beast's basic_parser does the HTTP (limits,
// validation, framing); this class decides where the parts go:
// - fields mode keeps the head as Beast fields (`header()`), for response steps that read or
//   change it;
// - relay mode writes the client's head while parsing: the status line as HTTP/1.1 and every
//   end-to-end field as received, with the hop-by-hop fields, the fields Connection names and the
//   framing left out (finish_relay_head adds the framing). No field is stored, sorted or re-read.
// Body bytes go into a buffer the caller names (`set_output`), as with Beast's buffer_body: a
// full buffer ends a read with http::error::need_buffer.

#include "middleware/core/http.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/container/small_vector.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::proxy {

/// What a response head says about its body and the upstream connection, however it was parsed.
struct ResponseFraming {
    unsigned status = 0;
    bool has_body = false;                       // body bytes follow the head
    std::optional<std::uint64_t> content_length; // the upstream's Content-Length, when it sent one
    std::string received_length;                 // that Content-Length as received
    bool keep_alive = false;                     // the connection can carry another request
};

/// Ends a relayed head: the framing (the Content-Length of a body of known length, or of none,
/// as for HEAD or 304; else `Transfer-Encoding: chunked`), `Connection: close` unless
/// `keep_client`, and the blank line.
void finish_relay_head(std::string& head, const ResponseFraming& framing, bool keep_client);

enum class SimpleHead { complete, incomplete, not_simple, too_large };

/// Relay mode without Beast's parser, for the usual upstream response: a final (200-599)
/// HTTP/1.1 status line, field lines with token names and visible values, and no body (HEAD,
/// 204, 304, Content-Length: 0) or a Content-Length one. Writes what relay mode writes for the
/// client into `head` (replacing it: status line and end-to-end fields, without the
/// X-RateLimit-* ones when `drop_rate_limit`), the framing into `framing` and the upstream head's
/// length into `head_size`. `incomplete`: no blank line in `bytes` yet; `searched` (0 at first)
/// keeps how far it was looked for, so each call scans only what is new. `too_large`: the head
/// does not end within `limit` bytes, whatever it holds. `not_simple` (anything else: HTTP/1.0,
/// 1xx, chunked or EOF-delimited bodies, Connection naming fields, a repeated or malformed
/// Content-Length, obs-fold, control bytes): nothing is consumed, and Beast's parser judges the
/// same bytes.
SimpleHead parse_simple_response_head(std::string_view bytes,
                                      bool head_request,
                                      bool drop_rate_limit,
                                      std::size_t limit,
                                      std::size_t& searched,
                                      std::string& head,
                                      ResponseFraming& framing,
                                      std::size_t& head_size);

/// Whether `name` is X-RateLimit-Limit, X-RateLimit-Remaining or X-RateLimit-Reset (any case).
bool is_rate_limit_field(std::string_view name);

class UpstreamResponseParser final : public http::basic_parser<false> {
  public:
    enum class Mode { fields, relay };

    /// In relay mode, `head` is cleared and receives the client's head as it is parsed; it must
    /// outlive the parser. Fields mode leaves it alone.
    UpstreamResponseParser(Mode mode, std::string& head);

    Mode mode() const { return mode_; }
    /// The status code, once the status line was parsed.
    unsigned status() const { return status_; }
    /// The head as fields (fields mode only).
    http::response_header<>& header() { return header_; }
    const http::response_header<>& header() const { return header_; }

    /// Relay mode: leaves the upstream's X-RateLimit-Limit, -Remaining and -Reset fields out
    /// (a response step writes its own).
    void drop_rate_limit_fields() { drop_rate_limit_ = true; }

    /// Where the next body bytes go (at most `size` of them).
    void set_output(char* data, std::size_t size);
    /// Body bytes written since the last set_output.
    std::size_t filled() const { return filled_; }

    /// After the header: the framing it announced (relay mode: for finish_relay_head).
    ResponseFraming framing() const;

  private:
    void on_request_impl(http::verb,
                         boost::beast::string_view,
                         boost::beast::string_view,
                         int,
                         boost::beast::error_code& ec) override;
    void on_response_impl(int code,
                          boost::beast::string_view reason,
                          int version,
                          boost::beast::error_code& ec) override;
    void on_field_impl(http::field name,
                       boost::beast::string_view name_string,
                       boost::beast::string_view value,
                       boost::beast::error_code& ec) override;
    void on_header_impl(boost::beast::error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                           boost::beast::error_code& ec) override;
    std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override;
    void on_chunk_header_impl(std::uint64_t size,
                              boost::beast::string_view extensions,
                              boost::beast::error_code& ec) override;
    std::size_t on_chunk_body_impl(std::uint64_t remain,
                                   boost::beast::string_view body,
                                   boost::beast::error_code& ec) override;
    void on_finish_impl(boost::beast::error_code& ec) override;

    /// Relay mode: removes the field lines whose names Connection listed.
    void drop_named_lines();

    Mode mode_;
    std::string& head_;
    http::response_header<> header_;
    unsigned status_ = 0;
    std::size_t fields_at_ = 0; // relay mode: where the field lines start in head_
    bool drop_rate_limit_ = false;
    std::string content_length_; // relay mode: the upstream's Content-Length, as received
    boost::container::small_vector<std::string, 2> named_; // relay mode: names Connection lists
    char* out_ = nullptr;
    std::size_t room_ = 0;
    std::size_t filled_ = 0;
};

} // namespace portcullis::proxy
