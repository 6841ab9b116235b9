#pragma once

#include "config/gateway_config.hpp"
#include "config/target_url.hpp"
#include "gateway/common/asio.hpp"
#include "gateway/common/deadline_stream.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portcullis::proxy {

/// An upstream connection, either fresh or taken from the pool. The read buffer travels with the
/// connection so that bytes belonging to it are never mixed with another's.
struct UpstreamConnection {
    explicit UpstreamConnection(asio::io_context& ioc) : stream(ioc) {}

    TcpStream stream;
    beast::flat_buffer buffer;
    std::string key;     // pool key ("host:port"; "https://host:port" and the TLS check for TLS)
    bool reused = false; // taken from the pool (may have been closed by the upstream meanwhile)
    std::chrono::steady_clock::time_point idle_since{};
};
using UpstreamConnectionPtr = std::unique_ptr<UpstreamConnection>;

/// Per-worker keep-alive pool of upstream connections plus a small DNS cache. Used only on its
/// worker's thread; owns idle connections, lends busy ones out by unique_ptr.
class UpstreamPool {
  public:
    /// `tls` is the client context for https:// targets (null: they fail to connect).
    UpstreamPool(asio::io_context& ioc,
                 const config::PortcullisOptions& options,
                 asio::ssl::context* tls = nullptr);

    /// A connection to `target`: an idle pooled one, else a new one (connect deadline
    /// `connect_timeout`, which covers the TLS handshake of an https:// target too; its
    /// certificate is verified unless `skip_tls_verify`). With `fresh` the pool is bypassed.
    /// With `check_open` a pooled connection is first checked for an EOF the upstream sent
    /// meanwhile (one more system call; callers that can retry on a fresh connection skip it).
    /// `target` must stay alive until the coroutine completes. A failed handshake is logged with
    /// its reason.
    awaitable<std::pair<error_code, UpstreamConnectionPtr>>
    acquire(const config::TargetUrl* target,
            bool fresh,
            std::chrono::steady_clock::duration connect_timeout,
            bool check_open = true,
            bool skip_tls_verify = false);

    /// An idle pooled connection to `target`, or null (no coroutine: the common case of
    /// acquire, for callers that try it first). `check_open` and `skip_tls_verify` as for
    /// acquire.
    UpstreamConnectionPtr
    take_idle(const config::TargetUrl* target, bool check_open, bool skip_tls_verify = false);

    /// Returns a connection whose last exchange completed cleanly and may be reused.
    void release(UpstreamConnectionPtr connection);

    /// Closes every idle connection (drain, shutdown).
    void close_all();
    /// Starts the periodic close of connections idle longer than `upstream_idle_timeout`.
    void start_sweeper();

    std::size_t idle_count() const;

  private:
    struct DnsEntry {
        std::vector<tcp::endpoint> endpoints;
        std::chrono::steady_clock::time_point expires;
    };

    awaitable<std::pair<error_code, std::vector<tcp::endpoint>>>
    resolve(const config::TargetUrl* target, std::chrono::steady_clock::duration timeout);
    static awaitable<void> sweep_loop(UpstreamPool* self);
    void sweep();

    /// The pool key of `target`: its authority for http://; for https:// (built in `storage`)
    /// also the scheme and whether certificates are checked, so a connection is only reused
    /// under the check it was made with.
    static const std::string&
    pool_key(const config::TargetUrl& target, bool skip_tls_verify, std::string& storage);

    asio::io_context& ioc_;
    asio::ssl::context* tls_;
    std::size_t max_idle_per_host_;
    std::chrono::steady_clock::duration idle_timeout_;
    std::unordered_map<std::string, std::vector<UpstreamConnectionPtr>> idle_;
    std::unordered_map<std::string, DnsEntry> dns_;
    Timer sweep_timer_;
    bool stopped_ = false;
};

} // namespace portcullis::proxy
