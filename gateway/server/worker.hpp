#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/common/deadline_stream.hpp"
#include "gateway/gateway_state.hpp"
#include "gateway/proxy/upstream_pool.hpp"
#include "gateway/redis/redis_client.hpp"
#include "gateway/session/session_store.hpp"
#include "middleware/metrics/metrics.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace portcullis {
class ControlPlane;
}
namespace portcullis::tls {
class ServerContexts;
}

namespace portcullis::jsvm_runtime {
class JsRuntime;
}
namespace portcullis::jsvm_host {
class HostServices;
}

namespace portcullis::server {

/// One shared-nothing worker: an io_context on its own thread with its own SO_REUSEPORT
/// listener, upstream connection pool and connection registry. Everything but the thread-safe
/// entry points (start, begin_drain, set_state, join) runs only on the worker's thread.
class Worker {
  public:
    /// A live downstream connection, registered for draining. `busy` while a request is in
    /// progress; idle connections are closed at once when draining starts.
    struct Tracked {
        TcpStream* stream;
        bool busy = false;
    };
    using TrackedHandle = std::list<Tracked>::iterator;

    /// TLS contexts shared by every worker (owned by the runtime; null when not used).
    struct Tls {
        tls::ServerContexts* server = nullptr;  // the listener speaks TLS
        asio::ssl::context* upstream = nullptr; // for HTTPS upstreams
    };

    Worker(unsigned index,
           std::shared_ptr<const GatewayState> state,
           ControlPlane* control,
           Tls tls);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// Opens the listener (SO_REUSEPORT). Throws boost::system::system_error on failure.
    void listen(const tcp::endpoint& endpoint);
    std::uint16_t local_port() const;

    /// Starts the accept loop on the worker thread.
    void start();
    /// Thread-safe: stop accepting, close idle connections, let busy ones finish their current
    /// request; after `deadline` close everything. The thread ends when nothing is left.
    void begin_drain(std::chrono::steady_clock::duration deadline);
    /// Thread-safe: requests started after this see `state`.
    void set_state(std::shared_ptr<const GatewayState> state);
    /// Thread-safe: a copy of this worker's counters (with its Redis figures and open
    /// connections), taken on its thread and handed to `done` there.
    void snapshot_metrics(std::function<void(metrics::Snapshot)> done);
    /// Thread-safe: drops what this worker keeps of the sessions at `storage_keys`.
    void forget_sessions(std::vector<std::string> storage_keys);
    void join();

    // Worker-thread API.
    unsigned index() const noexcept { return index_; }
    asio::io_context& io_context() noexcept { return ioc_; }
    const std::shared_ptr<const GatewayState>& state() const noexcept { return state_; }
    proxy::UpstreamPool& upstream_pool() noexcept { return *pool_; }
    session::SessionStore& sessions() noexcept { return *sessions_; }
    /// This worker's JavaScript plugin heaps (created on first use).
    jsvm_runtime::JsRuntime& js();
    redis::RedisClient& redis() noexcept { return *redis_; }
    ControlPlane& control() noexcept { return *control_; }
    /// The listener's TLS contexts, or null for plain HTTP.
    tls::ServerContexts* server_tls() const noexcept { return tls_.server; }
    bool draining() const noexcept { return draining_; }
    /// This worker's request counters (worker thread only).
    metrics::Snapshot& metrics() noexcept { return metrics_; }
    TrackedHandle track(TcpStream& stream);
    void untrack(TrackedHandle handle);

  private:
    static awaitable<void> accept_loop(Worker* self);
    void drain_now(std::chrono::steady_clock::duration deadline);
    void maybe_finish();
    void refuse(Socket& socket);

    unsigned index_;
    /// One thread runs it and only that thread touches its sockets and timers (other threads only
    /// post to it): no locking around I/O.
    asio::io_context ioc_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    Acceptor acceptor_{ioc_};
    std::shared_ptr<const GatewayState> state_;
    Tls tls_;
    std::unique_ptr<proxy::UpstreamPool> pool_;
    ControlPlane* control_;
    std::shared_ptr<redis::RedisClient> redis_;
    std::unique_ptr<session::SessionStore> sessions_;
    std::unique_ptr<jsvm_host::HostServices> js_host_; // outlives js_ (declared first)
    std::unique_ptr<jsvm_runtime::JsRuntime> js_;
    std::list<Tracked> connections_;
    metrics::Snapshot metrics_;
    bool draining_ = false;
    Timer drain_timer_{ioc_};
    std::thread thread_;
};

} // namespace portcullis::server
