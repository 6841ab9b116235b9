#pragma once

#include "config/gateway_config.hpp"
#include "middleware/proxy/api_router.hpp"

#include <memory>

namespace portcullis {

/// One immutable configuration snapshot: the gateway config and the routing table built from the
/// API definitions. Workers hold a shared_ptr to the current one; a reload builds a new snapshot
/// and hands it to each worker, so in-flight requests finish on the snapshot they started with.
struct GatewayState {
    std::shared_ptr<const config::GatewayConfig> config;
    std::shared_ptr<const proxy::ApiRouter> router;
};

} // namespace portcullis
