#include "gateway/control_plane.hpp"

#include "config/api_loader.hpp"
#include "config/policy_loader.hpp"
#include "gateway/server/worker.hpp"

#include <spdlog/spdlog.h>

namespace portcullis {

ControlPlane::ControlPlane(std::shared_ptr<const config::GatewayConfig> config)
    : current_(load_state(std::move(config))) {}

std::shared_ptr<const GatewayState>
ControlPlane::load_state(std::shared_ptr<const config::GatewayConfig> config) {
    auto report = config::load_api_directory(config->app_path);
    for (const auto& error : report.errors) {
        spdlog::error("API definition skipped: {}", error.to_string());
    }
    for (const auto& api : report.apis) {
        spdlog::info("API loaded: id={} name=\"{}\" listen_path={} target={} keyless={}",
                     api->api_id, api->name, api->proxy.listen_path, api->proxy.target_url,
                     api->use_keyless);
    }
    auto state = std::make_shared<GatewayState>();
    for (const auto& api : report.apis) {
        std::vector<config::ConfigError> errors;
        state->transforms[api->api_id] = transform::compile_api_transforms(*api, *config, errors);
        for (const auto& error : errors) {
            spdlog::error("API {}: entry skipped: {}", api->api_id, error.to_string());
        }
        std::vector<std::string> plugin_errors;
        if (auto plugins = jsvm::load_api_plugins(*api, *config, plugin_errors)) {
            spdlog::info("API {}: {} JavaScript plugin script(s) loaded", api->api_id,
                         plugins->scripts.size());
            state->plugins[api->api_id] = std::move(plugins);
        }
        for (const auto& error : plugin_errors) {
            spdlog::error("{}", error);
        }
    }
    std::vector<config::ConfigError> policy_errors;
    state->policies = config::load_policies(config->policies, policy_errors);
    for (const auto& error : policy_errors) {
        spdlog::error("policy skipped: {}", error.to_string());
    }
    spdlog::info("policies: {} loaded", state->policies->by_id.size());
    state->router = std::make_shared<const proxy::ApiRouter>(
        std::move(report.apis), config->http_server_options.enable_strict_routes);
    state->config = std::move(config);
    return state;
}

std::shared_ptr<const GatewayState> ControlPlane::current() const {
    std::lock_guard lock{mutex_};
    return current_;
}

void ControlPlane::attach(std::vector<server::Worker*> workers) {
    std::lock_guard lock{mutex_};
    workers_ = std::move(workers);
}

std::shared_ptr<const GatewayState> ControlPlane::reload() {
    std::lock_guard lock{mutex_};
    current_ = load_state(current_->config);
    for (auto* worker : workers_) {
        worker->set_state(current_);
    }
    reloads_.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("reload: {} API(s) loaded", current_->router->apis().size());
    return current_;
}

} // namespace portcullis
