#pragma once

#include "config/gateway_config.hpp"
#include "gateway/control_plane.hpp"
#include "middleware/cluster/notification.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace portcullis {

namespace server {
class Worker;
}
namespace tls {
class ServerContexts;
}

/// The composition root: builds the control plane (configuration snapshots), starts the
/// workers and runs until SIGTERM/SIGINT, then drains. Lives on the main thread.
class Runtime {
  public:
    explicit Runtime(config::GatewayConfig config);
    ~Runtime();

    /// Blocks until shutdown. Returns the process exit code (0 after a clean drain, 1 when the
    /// listener cannot be opened, 2 for a bad listen address or an unusable certificate).
    int run();

  private:
    /// What a cluster notification asks of this node (on the subscriber's thread).
    void on_notification(const cluster::Notification& notification);
    /// GET /metrics: every worker's counters (each copied on its own thread, waited for at
    /// most 2 s) merged, with the process figures.
    std::string collect_metrics();

    std::shared_ptr<const config::GatewayConfig> config_;
    std::unique_ptr<ControlPlane> control_;
    // TLS contexts the workers share: declared before them, so they outlive them.
    std::unique_ptr<tls::ServerContexts> server_tls_;
    std::unique_ptr<boost::asio::ssl::context> upstream_tls_;
    std::vector<std::unique_ptr<server::Worker>> workers_;
    std::atomic<std::uint64_t> notifications_{0};
};

} // namespace portcullis
