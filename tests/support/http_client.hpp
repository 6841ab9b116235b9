#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace portcullis::test {

struct HttpResponse {
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool keep_alive = false;

    /// First value of a header (case-insensitive), or empty.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// A blocking HTTP/1.1 test client on one keep-alive connection to 127.0.0.1:port. Every socket
/// operation runs under the client's timeout (asynchronously, on its own io_context), so a test
/// can never hang on it.
class HttpClient {
  public:
    explicit HttpClient(std::uint16_t port,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// Sends one request and reads the response. Throws boost::system::system_error on I/O
    /// errors (including timeouts and a closed connection).
    HttpResponse request(const std::string& method,
                         const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         const std::string& body = {});
    HttpResponse get(const std::string& target) { return request("GET", target); }

    /// Writes raw bytes (for malformed requests) and reads one response.
    HttpResponse raw(const std::string& bytes);
    /// Writes raw bytes only.
    void send_raw(const std::string& bytes);
    /// Reads one response.
    HttpResponse read_response(bool head = false);
    /// True when the server has closed the connection (reads EOF within the timeout).
    bool closed_by_peer();

    /// Reads into a streaming parser under the timeout: the header only, or until the parser's
    /// buffer is full or the message ends. Returns the error (timed_out on timeout).
    boost::system::error_code
    read_into(boost::beast::http::response_parser<boost::beast::http::buffer_body>& parser,
              bool header_only);

  private:
    /// Runs one asynchronous operation started by `start(handler)` to completion or timeout.
    template <class Start> std::size_t run(Start&& start);
    template <class Start>
    boost::system::error_code run_for_result(Start&& start, std::size_t& transferred);

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    std::chrono::milliseconds timeout_;
};

/// One request on a fresh connection.
HttpResponse http_request(std::uint16_t port,
                          const std::string& method,
                          const std::string& target,
                          const std::vector<std::pair<std::string, std::string>>& headers = {},
                          const std::string& body = {});

} // namespace portcullis::test
