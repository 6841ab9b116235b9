#pragma once

#include "config/gateway_config.hpp"
#include "middleware/cluster/notification.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace portcullis::cluster {

/// Listens on the cluster notification channel (Tyk's `tyk.cluster.notifications`) over its own
/// blocking Redis connection on its own thread: messages are rare, and no worker ever waits on
/// it. Every notification whose signature checks out (node_secret) is handed to the handler on
/// that thread. After a lost connection it reconnects and resubscribes (backoff up to 1 s) and
/// calls the handler with a GroupReload, since anything published meanwhile was missed. A
/// connection that stays silent is probed with PING and dropped when Redis stops answering.
/// stop() (or destruction) ends the thread within ~250 ms.
class ClusterSubscriber {
  public:
    using Handler = std::function<void(const Notification&)>;

    ClusterSubscriber(std::shared_ptr<const config::GatewayConfig> config, Handler handler);
    ~ClusterSubscriber();
    ClusterSubscriber(const ClusterSubscriber&) = delete;
    ClusterSubscriber& operator=(const ClusterSubscriber&) = delete;

    void start();
    void stop();

  private:
    void run();

    std::shared_ptr<const config::GatewayConfig> config_;
    Handler handler_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace portcullis::cluster
