#pragma once

#include "config/gateway_config.hpp"
#include "gateway/gateway_state.hpp"

#include <memory>
#include <vector>

namespace portcullis {

namespace server {
class Worker;
}

/// The composition root: loads the API definitions, builds the shared state, starts the workers
/// and runs until SIGTERM/SIGINT, then drains. Lives on the main thread.
class Runtime {
  public:
    explicit Runtime(config::GatewayConfig config);
    ~Runtime();

    /// Blocks until shutdown. Returns the process exit code (0 after a clean drain, 1 when the
    /// listener cannot be opened).
    int run();

    /// Builds a state snapshot from `config` and the API definitions in its `app_path`, logging
    /// every skipped file.
    static std::shared_ptr<const GatewayState>
    load_state(std::shared_ptr<const config::GatewayConfig> config);

  private:
    std::shared_ptr<const config::GatewayConfig> config_;
    std::vector<std::unique_ptr<server::Worker>> workers_;
};

} // namespace portcullis
