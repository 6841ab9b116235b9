#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace portcullis::test {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string HttpResponse::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (boost::beast::iequals(k, name)) {
            return v;
        }
    }
    return {};
}

bool HttpResponse::has_header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (boost::beast::iequals(k, name)) {
            return true;
        }
    }
    return false;
}

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : socket_(ioc_), timeout_(timeout) {
    run([&](auto done) {
        socket_.async_connect(tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), port},
                              [done](boost::system::error_code ec) { done(ec, 0); });
    });
}

template <class Start>
boost::system::error_code HttpClient::run_for_result(Start&& start, std::size_t& transferred) {
    // Asio's blocking calls ignore socket timeouts (they poll without one), so every operation
    // runs asynchronously under the client's deadline.
    boost::system::error_code result = boost::asio::error::would_block;
    start([&result, &transferred](boost::system::error_code ec, std::size_t n) {
        result = ec;
        transferred = n;
    });
    ioc_.restart();
    ioc_.run_for(timeout_);
    if (result == boost::asio::error::would_block) {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
        ioc_.restart();
        ioc_.run();
        return boost::asio::error::timed_out;
    }
    return result;
}

template <class Start> std::size_t HttpClient::run(Start&& start) {
    std::size_t transferred = 0;
    if (const auto ec = run_for_result(std::forward<Start>(start), transferred)) {
        throw boost::system::system_error(ec);
    }
    return transferred;
}

boost::system::error_code HttpClient::read_into(http::response_parser<http::buffer_body>& parser,
                                                bool header_only) {
    std::size_t n = 0;
    auto ec = run_for_result(
        [&](auto done) {
            if (header_only) {
                http::async_read_header(socket_, buffer_, parser, done);
            } else {
                http::async_read(socket_, buffer_, parser, done);
            }
        },
        n);
    if (ec == http::error::need_buffer) {
        ec = {};
    }
    return ec;
}

HttpResponse HttpClient::read_response(bool head) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    parser.header_limit(1024 * 1024);
    if (head) {
        parser.skip(true);
    }
    run([&](auto done) { http::async_read(socket_, buffer_, parser, done); });
    auto& msg = parser.get();
    HttpResponse out;
    out.status = msg.result_int();
    for (const auto& f : msg) {
        out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    out.body = std::move(msg.body());
    out.keep_alive = msg.keep_alive();
    return out;
}

HttpResponse HttpClient::request(const std::string& method,
                                 const std::string& target,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 const std::string& body) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    if (req.method() == http::verb::unknown) {
        req.method_string(method);
    }
    req.set(http::field::host, "127.0.0.1");
    bool has_length = false;
    for (const auto& [k, v] : headers) {
        req.insert(k, v);
        if (boost::beast::iequals(k, "Content-Length") ||
            boost::beast::iequals(k, "Transfer-Encoding")) {
            has_length = true;
        }
    }
    req.body() = body;
    if (!has_length && (!body.empty() || method == "POST" || method == "PUT")) {
        req.prepare_payload();
    }
    run([&](auto done) { http::async_write(socket_, req, done); });
    return read_response(method == "HEAD");
}

void HttpClient::send_raw(const std::string& bytes) {
    run([&](auto done) { boost::asio::async_write(socket_, boost::asio::buffer(bytes), done); });
}

HttpResponse HttpClient::raw(const std::string& bytes) {
    send_raw(bytes);
    return read_response();
}

bool HttpClient::closed_by_peer() {
    if (buffer_.size() > 0) {
        return false;
    }
    char c;
    try {
        run([&](auto done) { socket_.async_read_some(boost::asio::buffer(&c, 1), done); });
    } catch (const boost::system::system_error& e) {
        return e.code() == boost::asio::error::eof ||
               e.code() == boost::asio::error::connection_reset;
    }
    return false; // data arrived: still open
}

HttpResponse http_request(std::uint16_t port,
                          const std::string& method,
                          const std::string& target,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          const std::string& body) {
    HttpClient client{port};
    return client.request(method, target, headers, body);
}

} // namespace portcullis::test
