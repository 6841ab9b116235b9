#include "gateway/metrics/metrics_server.hpp"

#include "gateway/common/deadline_stream.hpp"
#include "gateway/common/logging.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <stdexcept>

namespace portcullis::metrics {

namespace http = beast::http;

namespace {

constexpr auto kIoDeadline = std::chrono::seconds(5);

} // namespace

MetricsServer::MetricsServer(asio::io_context& ioc, Collect collect)
    : ioc_(ioc), acceptor_(ioc), collect_(std::move(collect)) {}

void MetricsServer::listen(const std::string& address) {
    const auto colon = address.rfind(':');
    unsigned port = 0;
    if (colon == std::string::npos ||
        std::from_chars(address.data() + colon + 1, address.data() + address.size(), port).ec !=
            std::errc{} ||
        port > 65535) {
        throw std::invalid_argument("metrics_address \"" + address +
                                    "\" is not IP:port (for example 127.0.0.1:9091)");
    }
    std::string host = address.substr(0, colon);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    error_code ec;
    const auto ip = host.empty() ? asio::ip::address(asio::ip::address_v4::any())
                                 : asio::ip::make_address(host, ec);
    if (ec) {
        throw std::invalid_argument("metrics_address \"" + address + "\": \"" + host +
                                    "\" is not an IP address");
    }
    const tcp::endpoint endpoint{ip, static_cast<std::uint16_t>(port)};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(Acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
}

std::uint16_t MetricsServer::local_port() const {
    return acceptor_.local_endpoint().port();
}

void MetricsServer::start() {
    asio::co_spawn(ioc_, accept_loop(this), logging::LogEscapedException{"metrics listener ended"});
}

awaitable<void> MetricsServer::accept_loop(MetricsServer* self) {
    for (;;) {
        auto [ec, socket] = co_await self->acceptor_.async_accept(use_nothrow);
        if (ec) {
            if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) {
                co_return;
            }
            spdlog::warn("metrics: accept failed: {}", ec.message());
            Timer pause{self->ioc_, std::chrono::milliseconds(50)};
            co_await pause.async_wait(use_nothrow);
            continue;
        }
        asio::co_spawn(self->ioc_, serve(self, std::move(socket)),
                       logging::LogEscapedException{"metrics request failed", spdlog::level::warn});
    }
}

awaitable<void> MetricsServer::serve(MetricsServer* self, Socket socket) {
    DeadlineStream stream{std::move(socket)};
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    stream.expires_after(kIoDeadline);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (rec) {
        co_return; // not HTTP, too slow or gone: nothing to answer
    }
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(11);
    res.keep_alive(false);
    const auto target = req.target();
    const auto path = target.substr(0, target.find('?'));
    if (path != "/metrics") {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "Not Found: metrics are at /metrics\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "Method Not Allowed\n";
    } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = self->collect_();
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) {
        const auto length = res.body().size();
        res.body().clear();
        res.content_length(length); // what GET would send; HEAD sends no body
    }
    stream.expires_after(kIoDeadline);
    co_await http::async_write(stream, res, use_nothrow);
}

} // namespace portcullis::metrics
