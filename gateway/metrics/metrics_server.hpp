#pragma once

#include "gateway/common/asio.hpp"
#include "middleware/metrics/metrics.hpp"

#include <functional>
#include <memory>
#include <string>

namespace portcullis::metrics {

/// Serves `GET /metrics` (Prometheus text format) on its own address, apart from the public
/// listener. Runs on the main thread's io_context; `collect` gathers the figures (it asks every
/// worker for a copy of its counters and may wait for them, bounded). One request per
/// connection, each read bounded by a deadline; any other path is 404.
class MetricsServer {
  public:
    using Collect = std::function<std::string()>;

    MetricsServer(asio::io_context& ioc, Collect collect);

    /// Opens the listener on `address` ("host:port"). Throws boost::system::system_error, or
    /// std::invalid_argument for an address that is not "IP:port".
    void listen(const std::string& address);
    std::uint16_t local_port() const;
    void start();

  private:
    static awaitable<void> accept_loop(MetricsServer* self);
    static awaitable<void> serve(MetricsServer* self, Socket socket);

    asio::io_context& ioc_;
    Acceptor acceptor_;
    Collect collect_;
};

} // namespace portcullis::metrics
