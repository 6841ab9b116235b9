#pragma once

// TLS contexts of the gateway: the listener's (one per configured certificate, chosen by the
// client's SNI name) and the client context for HTTPS upstreams. Built once at startup; OpenSSL
// contexts are shared by every worker thread.

#include "config/gateway_config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::tls {

namespace ssl = boost::asio::ssl;

/// A certificate or key that cannot be used, a CA file that cannot be read: startup stops.
class TlsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// The listener's contexts (`http_server_options.use_ssl`): one per certificate, the first the
/// default. A client's SNI name picks the certificate whose `domain_name` equals it (ignoring
/// case), else one whose `*.rest` matches it with one more label, else the first.
class ServerContexts {
  public:
    /// Loads every certificate and key (throws TlsError naming the file and the reason).
    explicit ServerContexts(const config::HttpServerOptions& options);
    ~ServerContexts();
    ServerContexts(const ServerContexts&) = delete;
    ServerContexts& operator=(const ServerContexts&) = delete;

    /// The context a connection starts its handshake with; SNI may switch it.
    ssl::context& context() noexcept { return *entries_.front().context; }

    /// The index of the certificate served for `server_name` (empty: no SNI).
    std::size_t pick(std::string_view server_name) const;

  private:
    struct Entry {
        std::string domain_name;
        std::unique_ptr<ssl::context> context;
    };
    static int on_server_name(SSL* ssl, int* alert, void* arg);

    std::vector<Entry> entries_;
};

/// The client context for HTTPS upstreams: TLS 1.2 or later, the system's certificate
/// authorities and those of `ca_file` when set (throws TlsError when it cannot be read).
/// Verification itself is chosen per connection.
std::unique_ptr<ssl::context> make_upstream_context(const std::string& ca_file);

/// Sets up a client TLS session for `host`: SNI (unless `host` is an IP address) and, unless
/// `skip_verify`, verification of the certificate chain and of `host` against it.
void prepare_client_session(SSL* ssl, const std::string& host, bool skip_verify);

/// Why a client handshake failed, for logs: the certificate check's verdict when there is one,
/// else `fallback`.
std::string handshake_failure(SSL* ssl, const std::string& fallback);

} // namespace portcullis::tls
