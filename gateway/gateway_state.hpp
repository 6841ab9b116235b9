#pragma once

#include "config/gateway_config.hpp"
#include "config/policy.hpp"
#include "middleware/jsvm/plugins.hpp"
#include "middleware/proxy/api_router.hpp"
#include "middleware/transform/api_transforms.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace portcullis {

/// One immutable configuration snapshot: the gateway config and the routing table built from the
/// API definitions. Workers hold a shared_ptr to the current one; a reload builds a new snapshot
/// and hands it to each worker, so in-flight requests finish on the snapshot they started with.
struct GatewayState {
    std::shared_ptr<const config::GatewayConfig> config;
    std::shared_ptr<const proxy::ApiRouter> router;
    /// Compiled request/response steps per api_id.
    std::unordered_map<std::string, std::shared_ptr<const transform::ApiTransforms>> transforms;
    /// Policies by id (never null; empty when none are configured).
    std::shared_ptr<const config::PolicySet> policies = std::make_shared<const config::PolicySet>();

    /// JavaScript plugins per api_id (only APIs that have some).
    std::unordered_map<std::string, std::shared_ptr<const jsvm::ApiPlugins>> plugins;

    std::shared_ptr<const jsvm::ApiPlugins> plugins_for(const std::string& api_id) const {
        auto it = plugins.find(api_id);
        return it == plugins.end() ? nullptr : it->second;
    }

    const transform::ApiTransforms& transforms_for(const std::string& api_id) const {
        static const transform::ApiTransforms kNone;
        auto it = transforms.find(api_id);
        return it == transforms.end() ? kNone : *it->second;
    }
};

} // namespace portcullis
