#pragma once

#include "gateway/gateway_state.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace portcullis {

namespace server {
class Worker;
}

/// Owns the current configuration snapshot and hands new ones to every worker. Thread-safe:
/// the Gateway API calls reload() from whichever worker served the request.
class ControlPlane {
  public:
    explicit ControlPlane(std::shared_ptr<const config::GatewayConfig> config);

    /// Builds a snapshot from the config, the API definitions in `app_path` and the policies
    /// (`policies.policy_path` or `policy_record_name`), logging every skipped file or policy.
    static std::shared_ptr<const GatewayState>
    load_state(std::shared_ptr<const config::GatewayConfig> config);

    std::shared_ptr<const GatewayState> current() const;
    void attach(std::vector<server::Worker*> workers);
    /// Re-reads the API definitions and policies and gives the new snapshot to every worker;
    /// requests in flight finish on the snapshot they started with, connections stay open.
    std::shared_ptr<const GatewayState> reload();
    /// Reloads since start.
    std::uint64_t reloads() const noexcept { return reloads_.load(std::memory_order_relaxed); }

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const GatewayState> current_;
    std::vector<server::Worker*> workers_;
    std::atomic<std::uint64_t> reloads_{0};
};

} // namespace portcullis
