#include "gateway/proxy/upstream_pool.hpp"

#include "gateway/common/tls.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

namespace portcullis::proxy {

namespace {

constexpr auto kDnsTtl = std::chrono::seconds(30);

/// True when a pooled idle connection is still usable: no EOF and no unexpected bytes waiting.
bool still_open(TcpStream& stream) {
    char byte;
    const auto n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

} // namespace

UpstreamPool::UpstreamPool(asio::io_context& ioc,
                           const config::PortcullisOptions& options,
                           asio::ssl::context* tls)
    : ioc_(ioc), tls_(tls), max_idle_per_host_(options.upstream_max_idle_per_host),
      idle_timeout_(to_steady(options.upstream_idle_timeout)), sweep_timer_(ioc) {}

awaitable<std::pair<error_code, std::vector<tcp::endpoint>>>
UpstreamPool::resolve(const config::TargetUrl* target,
                      std::chrono::steady_clock::duration timeout) {
    error_code ec;
    auto address = asio::ip::make_address(target->host, ec);
    if (!ec) {
        co_return std::pair{error_code{}, std::vector<tcp::endpoint>{{address, target->port}}};
    }
    const std::string key = target->authority();
    const auto now = std::chrono::steady_clock::now();
    if (auto it = dns_.find(key); it != dns_.end() && it->second.expires > now) {
        co_return std::pair{error_code{}, it->second.endpoints};
    }
    using namespace asio::experimental::awaitable_operators;
    Resolver resolver{ioc_};
    Timer timer{ioc_, timeout};
    auto result =
        co_await (resolver.async_resolve(target->host, std::to_string(target->port), use_nothrow) ||
                  timer.async_wait(use_nothrow));
    if (result.index() == 1) {
        co_return std::pair{error_code{asio::error::timed_out}, std::vector<tcp::endpoint>{}};
    }
    auto [rec, results] = std::get<0>(std::move(result));
    if (rec) {
        co_return std::pair{rec, std::vector<tcp::endpoint>{}};
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) {
        endpoints.push_back(entry.endpoint());
    }
    dns_[key] = DnsEntry{endpoints, now + kDnsTtl};
    co_return std::pair{error_code{}, std::move(endpoints)};
}

const std::string& UpstreamPool::pool_key(const config::TargetUrl& target,
                                          bool skip_tls_verify,
                                          std::string& storage) {
    if (!target.tls()) {
        return target.authority();
    }
    storage = (skip_tls_verify ? "https+insecure://" : "https://") + target.authority();
    return storage;
}

awaitable<std::pair<error_code, UpstreamConnectionPtr>>
UpstreamPool::acquire(const config::TargetUrl* target,
                      bool fresh,
                      std::chrono::steady_clock::duration connect_timeout,
                      bool check_open,
                      bool skip_tls_verify) {
    if (!fresh) {
        if (auto conn = take_idle(target, check_open, skip_tls_verify)) {
            co_return std::pair{error_code{}, std::move(conn)};
        }
    }
    if (target->tls() && tls_ == nullptr) {
        co_return std::pair{error_code{asio::error::operation_not_supported},
                            UpstreamConnectionPtr{}};
    }

    auto [rec, endpoints] = co_await resolve(target, connect_timeout);
    if (rec) {
        co_return std::pair{rec, UpstreamConnectionPtr{}};
    }
    auto conn = std::make_unique<UpstreamConnection>(ioc_);
    std::string storage;
    conn->key = pool_key(*target, skip_tls_verify, storage);
    conn->stream.expires_after(connect_timeout);
    auto [cec, endpoint] = co_await conn->stream.async_connect(endpoints, use_nothrow);
    if (cec) {
        co_return std::pair{cec, UpstreamConnectionPtr{}};
    }
    error_code ignored;
    conn->stream.socket().set_option(tcp::no_delay(true), ignored);
    if (target->tls()) {
        auto& session = conn->stream.start_tls(*tls_);
        tls::prepare_client_session(session.native_handle(), target->host, skip_tls_verify);
        auto [hec] =
            co_await conn->stream.async_handshake(asio::ssl::stream_base::client, use_nothrow);
        if (hec) {
            spdlog::warn("upstream {}: TLS handshake failed: {}", target->authority(),
                         tls::handshake_failure(session.native_handle(), hec.message()));
            co_return std::pair{hec, UpstreamConnectionPtr{}};
        }
    }
    co_return std::pair{error_code{}, std::move(conn)};
}

UpstreamConnectionPtr
UpstreamPool::take_idle(const config::TargetUrl* target, bool check_open, bool skip_tls_verify) {
    std::string storage;
    const auto it = idle_.find(pool_key(*target, skip_tls_verify, storage));
    if (it == idle_.end()) {
        return nullptr;
    }
    auto& list = it->second;
    while (!list.empty()) {
        UpstreamConnectionPtr conn = std::move(list.back());
        list.pop_back();
        if (!check_open || still_open(conn->stream)) {
            conn->reused = true;
            return conn;
        }
        error_code ignored;
        conn->stream.socket().close(ignored);
    }
    return nullptr;
}

void UpstreamPool::release(UpstreamConnectionPtr connection) {
    if (stopped_ || !connection) {
        return;
    }
    auto& list = idle_[connection->key];
    if (list.size() >= max_idle_per_host_) {
        return; // closes it
    }
    connection->stream.expires_never();
    connection->idle_since = coarse::steady_now();
    list.push_back(std::move(connection));
}

void UpstreamPool::close_all() {
    stopped_ = true;
    sweep_timer_.cancel();
    idle_.clear();
}

std::size_t UpstreamPool::idle_count() const {
    std::size_t n = 0;
    for (const auto& [key, list] : idle_) {
        n += list.size();
    }
    return n;
}

void UpstreamPool::sweep() {
    const auto cutoff = std::chrono::steady_clock::now() - idle_timeout_;
    for (auto& [key, list] : idle_) {
        std::erase_if(list, [&](const UpstreamConnectionPtr& c) {
            return c->idle_since < cutoff || !still_open(c->stream);
        });
    }
}

void UpstreamPool::start_sweeper() {
    asio::co_spawn(ioc_, sweep_loop(this), asio::detached);
}

awaitable<void> UpstreamPool::sweep_loop(UpstreamPool* self) {
    while (!self->stopped_) {
        self->sweep_timer_.expires_after(std::chrono::seconds(5));
        auto [ec] = co_await self->sweep_timer_.async_wait(use_nothrow);
        if (ec || self->stopped_) {
            co_return;
        }
        self->sweep();
    }
}

} // namespace portcullis::proxy
