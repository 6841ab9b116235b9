#include "gateway/server/worker.hpp"

#include "gateway/common/logging.hpp"
#include "gateway/jsvm/host_calls.hpp"
#include "gateway/jsvm/js_runtime.hpp"
#include "gateway/server/client_connection.hpp"
#include "middleware/core/error_reply.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

namespace portcullis::server {

namespace {

redis::ClientOptions redis_options(const config::StorageConfig& storage) {
    redis::ClientOptions o;
    o.host = storage.host;
    o.port = static_cast<std::uint16_t>(storage.port);
    o.username = storage.username;
    o.password = storage.password;
    o.database = storage.database;
    const auto timeout = std::chrono::seconds(storage.timeout > 0 ? storage.timeout : 5);
    o.command_timeout = timeout;
    o.connect_timeout = timeout;
    o.master_name = storage.master_name;
    o.sentinels = storage.sentinels;
    o.sentinel_password = storage.sentinel_password;
    return o;
}

} // namespace

Worker::Worker(unsigned index,
               std::shared_ptr<const GatewayState> state,
               ControlPlane* control,
               Tls tls)
    : index_(index), state_(std::move(state)), tls_(tls),
      pool_(std::make_unique<proxy::UpstreamPool>(ioc_, state_->config->portcullis, tls.upstream)),
      control_(control),
      redis_(std::make_shared<redis::RedisClient>(ioc_, redis_options(state_->config->storage))),
      sessions_(std::make_unique<session::SessionStore>(redis_)) {}

jsvm_runtime::JsRuntime& Worker::js() {
    if (!js_) {
        js_host_ = std::make_unique<jsvm_host::HostServices>(
            [this]() -> std::shared_ptr<const GatewayState> { return state_; });
        js_ = std::make_unique<jsvm_runtime::JsRuntime>(
            [host = js_host_.get()]() { return host->calls(); });
    }
    return *js_;
}

Worker::~Worker() {
    if (thread_.joinable()) {
        ioc_.stop();
        thread_.join();
    }
}

void Worker::listen(const tcp::endpoint& endpoint) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(Acceptor::reuse_address(true));
    int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        throw boost::system::system_error(errno, boost::system::system_category(),
                                          "setsockopt(SO_REUSEPORT)");
    }
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

std::uint16_t Worker::local_port() const {
    return acceptor_.local_endpoint().port();
}

void Worker::start() {
    asio::co_spawn(ioc_, accept_loop(this), logging::LogEscapedException{"accept loop ended"});
    pool_->start_sweeper();
    redis_->start();
    thread_ = std::thread([this] {
        try {
            ioc_.run();
        } catch (const std::exception& e) {
            spdlog::critical("worker {} stopped: {}", index_, e.what());
        }
    });
}

void Worker::join() {
    if (thread_.joinable()) {
        thread_.join();
    }
}

void Worker::set_state(std::shared_ptr<const GatewayState> state) {
    asio::post(ioc_, [this, state = std::move(state)]() mutable { state_ = std::move(state); });
}

void Worker::snapshot_metrics(std::function<void(metrics::Snapshot)> done) {
    asio::post(ioc_, [this, done = std::move(done)] {
        metrics::Snapshot copy = metrics_;
        const auto& redis = redis_->stats();
        copy.redis_commands = redis.commands;
        copy.redis_errors = redis.errors;
        copy.redis_latency = redis.latency;
        copy.open_connections = connections_.size();
        done(std::move(copy));
    });
}

void Worker::forget_sessions(std::vector<std::string> storage_keys) {
    asio::post(ioc_, [this, keys = std::move(storage_keys)] {
        for (const auto& key : keys) {
            sessions_->forget(key);
        }
    });
}

void Worker::begin_drain(std::chrono::steady_clock::duration deadline) {
    asio::post(ioc_, [this, deadline] { drain_now(deadline); });
}

void Worker::drain_now(std::chrono::steady_clock::duration deadline) {
    if (draining_) {
        return;
    }
    draining_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    pool_->close_all();
    for (auto& c : connections_) {
        if (!c.busy) {
            c.stream->socket().shutdown(Socket::shutdown_both, ignored);
            c.stream->cancel();
        }
    }
    drain_timer_.expires_after(deadline);
    drain_timer_.async_wait([this](error_code ec) {
        if (ec) {
            return;
        }
        if (!connections_.empty()) {
            spdlog::warn("worker {}: drain deadline passed, closing {} connection(s)", index_,
                         connections_.size());
        }
        for (auto& c : connections_) {
            error_code ignored_close;
            c.stream->socket().close(ignored_close);
        }
    });
    maybe_finish();
}

void Worker::maybe_finish() {
    if (draining_ && connections_.empty()) {
        drain_timer_.cancel();
        pool_->close_all();
        redis_->stop();
    }
}

Worker::TrackedHandle Worker::track(TcpStream& stream) {
    return connections_.insert(connections_.end(), Tracked{&stream, false});
}

void Worker::untrack(TrackedHandle handle) {
    connections_.erase(handle);
    maybe_finish();
}

void Worker::refuse(Socket& socket) {
    // Over the connection cap: answer 503 without a coroutine or buffer, then close.
    static const std::string kReply = [] {
        const std::string body = tyk_error_body("Too many open connections");
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
               "Connection: close\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    error_code ignored;
    socket.non_blocking(true, ignored);
    socket.send(asio::buffer(kReply.data(), kReply.size()), 0, ignored);
    socket.shutdown(Socket::shutdown_both, ignored);
    socket.close(ignored);
}

awaitable<void> Worker::accept_loop(Worker* self) {
    for (;;) {
        auto [ec, socket] = co_await self->acceptor_.async_accept(use_nothrow);
        if (ec) {
            if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) {
                co_return;
            }
            // EMFILE and friends: log and keep accepting; the kernel queue holds the client.
            spdlog::warn("worker {}: accept failed: {}", self->index_, ec.message());
            Timer pause{self->ioc_, std::chrono::milliseconds(50)};
            co_await pause.async_wait(use_nothrow);
            continue;
        }
        if (self->connections_.size() >=
            self->state_->config->portcullis.max_connections_per_worker) {
            self->refuse(socket);
            continue;
        }
        asio::co_spawn(self->ioc_, serve_client(std::move(socket), self),
                       logging::LogEscapedException{"connection ended by an unexpected error"});
    }
}

} // namespace portcullis::server
