#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/socket.h>
#include <sys/time.h>

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

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds timeout) : socket_(ioc_) {
    socket_.connect(tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), port});
    timeval tv{};
    tv.tv_sec = static_cast<long>(timeout.count() / 1000);
    tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

HttpResponse HttpClient::read_response(bool head) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    parser.header_limit(1024 * 1024);
    if (head) {
        parser.skip(true);
    }
    http::read(socket_, buffer_, parser);
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
    http::write(socket_, req);
    return read_response(method == "HEAD");
}

void HttpClient::send_raw(const std::string& bytes) {
    boost::asio::write(socket_, boost::asio::buffer(bytes));
}

HttpResponse HttpClient::raw(const std::string& bytes) {
    send_raw(bytes);
    return read_response();
}

bool HttpClient::closed_by_peer() {
    char c;
    boost::system::error_code ec;
    if (buffer_.size() > 0) {
        return false;
    }
    socket_.read_some(boost::asio::buffer(&c, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
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
