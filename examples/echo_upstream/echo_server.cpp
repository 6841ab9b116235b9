#include "examples/echo_upstream/echo_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <thread>
#include <vector>

namespace portcullis::examples {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kEchoBodyLimit = 1024 * 1024;

std::string percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%' && i + 2 < in.size() &&
            std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
            out.push_back(static_cast<char>(
                std::strtol(std::string(in.substr(i + 1, 2)).c_str(), nullptr, 16)));
            i += 2;
        } else if (in[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto part = query.substr(0, amp);
        auto eq = part.find('=');
        if (eq == std::string_view::npos) {
            out.emplace_back(percent_decode(part), "");
        } else {
            out.emplace_back(percent_decode(part.substr(0, eq)),
                             percent_decode(part.substr(eq + 1)));
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return out;
}

std::string query_value(const std::vector<std::pair<std::string, std::string>>& q,
                        std::string_view name) {
    for (const auto& [k, v] : q) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

/// The last path segment and the one before it, for the special routes.
bool path_has(std::string_view path, std::string_view marker) {
    return path.find(marker) != std::string_view::npos;
}

/// The echo document (a plain function: no braced JSON initializers inside coroutines).
nlohmann::json describe(const http::request<http::buffer_body>& req,
                        const std::string& target,
                        const std::string& path,
                        const std::string& query,
                        const nlohmann::json& headers,
                        const std::string& body,
                        std::uint64_t body_length,
                        std::uint64_t fnv,
                        std::uint64_t served) {
    nlohmann::json echo = {
        {"method", std::string(req.method_string())},
        {"target", target},
        {"path", path},
        {"query", query},
        {"version", req.version()},
        {"headers", headers},
        {"body", body},
        {"body_length", body_length},
        {"body_fnv1a", fnv},
        {"connection_requests", served},
    };
    return echo;
}

void shutdown_send(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
}

void shutdown_send(asio::ssl::stream<tcp::socket>& stream) {
    shutdown_send(stream.next_layer());
}

} // namespace

struct EchoServer::Impl {
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::thread thread;
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> served{0};
    std::unique_ptr<asio::ssl::context> tls; // set: connections speak TLS

    static asio::awaitable<void> accept_loop(Impl* self) {
        for (;;) {
            auto [ec, socket] = co_await self->acceptor.async_accept(use_nothrow);
            if (ec) {
                co_return;
            }
            ++self->accepted;
            if (self->tls) {
                asio::co_spawn(self->ioc, tls_session(self, std::move(socket)), asio::detached);
            } else {
                asio::co_spawn(self->ioc, plain_session(self, std::move(socket)), asio::detached);
            }
        }
    }

    static asio::awaitable<void> plain_session(Impl* self, tcp::socket socket) {
        co_await session(self, socket);
    }

    static asio::awaitable<void> tls_session(Impl* self, tcp::socket socket) {
        asio::ssl::stream<tcp::socket> stream{std::move(socket), *self->tls};
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_nothrow);
        if (!ec) {
            co_await session(self, stream);
        }
    }

    template <class Stream>
    static asio::awaitable<bool>
    send_bytes(Stream& socket, std::uint64_t n, bool chunked, bool keep_alive) {
        http::response<http::buffer_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/octet-stream");
        if (chunked) {
            res.chunked(true);
        } else {
            res.content_length(n);
        }
        res.keep_alive(keep_alive);
        http::response_serializer<http::buffer_body> sr{res};
        auto [hec, hn] = co_await http::async_write_header(socket, sr, use_nothrow);
        if (hec) {
            co_return false;
        }
        std::vector<char> chunk(64 * 1024);
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            chunk[i] = static_cast<char>('a' + i % 26);
        }
        std::uint64_t left = n;
        do {
            const auto now = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
            res.body().data = now ? chunk.data() : nullptr;
            res.body().size = now;
            left -= now;
            res.body().more = left > 0;
            auto [ec, wn] = co_await http::async_write(socket, sr, use_nothrow);
            if (ec == http::error::need_buffer) {
                ec = {};
            }
            if (ec) {
                co_return false;
            }
        } while (!sr.is_done());
        co_return true;
    }

    template <class Stream> static asio::awaitable<void> session(Impl* self, Stream& socket) {
        beast::flat_buffer buffer;
        std::vector<char> scratch(64 * 1024);
        for (;;) {
            http::request_parser<http::buffer_body> parser;
            parser.body_limit(boost::none);
            parser.header_limit(1024 * 1024);
            auto [hec, hn] = co_await http::async_read_header(socket, buffer, parser, use_nothrow);
            if (hec) {
                break;
            }
            auto& req = parser.get();
            const std::string target{req.target()};
            const auto qpos = target.find('?');
            const std::string path = target.substr(0, qpos);
            const std::string query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
            const auto params = parse_query(query);

            // Read the whole body, keeping the first MiB, hashing all of it.
            std::string body;
            std::uint64_t body_length = 0;
            std::uint64_t fnv = 1469598103934665603ull;
            while (!parser.is_done()) {
                req.body().data = scratch.data();
                req.body().size = scratch.size();
                auto [rec, rn] = co_await http::async_read(socket, buffer, parser, use_nothrow);
                if (rec == http::error::need_buffer) {
                    rec = {};
                }
                if (rec) {
                    co_return;
                }
                const std::size_t got = scratch.size() - req.body().size;
                for (std::size_t i = 0; i < got; ++i) {
                    fnv = (fnv ^ static_cast<unsigned char>(scratch[i])) * 1099511628211ull;
                }
                if (body.size() < kEchoBodyLimit) {
                    body.append(scratch.data(),
                                std::min<std::size_t>(got, kEchoBodyLimit - body.size()));
                }
                body_length += got;
            }
            ++self->served;
            const bool keep_alive = req.keep_alive();

            if (path_has(path, "/__close")) {
                break;
            }
            if (path_has(path, "/__garbage")) {
                static constexpr std::string_view kGarbage = "this is not http\r\n\r\n";
                co_await asio::async_write(socket, asio::buffer(kGarbage.data(), kGarbage.size()),
                                           use_nothrow);
                break;
            }
            if (path_has(path, "/__slow")) {
                asio::steady_timer timer{self->ioc, std::chrono::milliseconds(std::atoi(
                                                        query_value(params, "ms").c_str()))};
                co_await timer.async_wait(use_nothrow);
            }
            if (path_has(path, "/__bytes")) {
                const auto n = std::strtoull(query_value(params, "n").c_str(), nullptr, 10);
                if (!co_await send_bytes(socket, n, query_value(params, "chunked") == "1",
                                         keep_alive) ||
                    !keep_alive) {
                    break;
                }
                continue;
            }

            unsigned status = 200;
            if (auto pos = path.find("/__status/"); pos != std::string::npos) {
                status = static_cast<unsigned>(std::atoi(path.c_str() + pos + 10));
            }
            nlohmann::json headers = nlohmann::json::object();
            for (const auto& field : req) {
                headers[std::string(field.name_string())].push_back(std::string(field.value()));
            }
            const nlohmann::json echo = describe(req, target, path, query, headers, body,
                                                 body_length, fnv, self->served.load());
            http::response<http::string_body> res{static_cast<http::status>(status), 11};
            res.set(http::field::content_type, "application/json");
            res.set(http::field::server, "echo-upstream");
            for (const auto& [k, v] : params) {
                if (k == "h") {
                    const auto colon = v.find(':');
                    if (colon != std::string::npos) {
                        res.insert(v.substr(0, colon), v.substr(colon + 1));
                    }
                }
            }
            if (req.method() != http::verb::head) {
                res.body() = echo.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            }
            res.keep_alive(keep_alive);
            res.prepare_payload();
            if (req.method() == http::verb::head) {
                res.content_length(
                    echo.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size());
            }
            auto [wec, wn] = co_await http::async_write(socket, res, use_nothrow);
            if (wec || !keep_alive) {
                break;
            }
        }
        shutdown_send(socket);
    }
};

EchoServer::EchoServer(const std::string& address, std::uint16_t port, const Tls* tls)
    : impl_(std::make_unique<Impl>()) {
    if (tls != nullptr) {
        impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        impl_->tls->use_certificate_chain_file(tls->cert_file);
        impl_->tls->use_private_key_file(tls->key_file, asio::ssl::context::pem);
    }
    tcp::endpoint endpoint{asio::ip::make_address(address), port};
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    asio::co_spawn(impl_->ioc, Impl::accept_loop(impl_.get()), asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

EchoServer::~EchoServer() {
    impl_->ioc.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

std::uint16_t EchoServer::port() const {
    return impl_->acceptor.local_endpoint().port();
}

std::uint64_t EchoServer::connections_accepted() const {
    return impl_->accepted.load();
}

std::uint64_t EchoServer::requests_served() const {
    return impl_->served.load();
}

void EchoServer::wait_for_signal() {
    asio::io_context ioc;
    asio::signal_set signals{ioc, SIGINT, SIGTERM};
    signals.async_wait([](boost::system::error_code, int) {});
    ioc.run();
}

} // namespace portcullis::examples
