#include "gateway/jsvm/js_runtime.hpp"

#include <spdlog/spdlog.h>

namespace portcullis::jsvm_runtime {

JsRuntime::JsRuntime(std::function<jsvm::HostCalls()> host) : host_(std::move(host)) {}

jsvm::Vm* JsRuntime::heap(const std::shared_ptr<const jsvm::ApiPlugins>& plugins,
                          const jsvm::Limits& limits) {
    auto& entry = heaps_[plugins->api_id];
    if (entry.vm && entry.source.lock() == plugins) {
        return entry.vm.get();
    }
    entry.vm.reset();
    try {
        auto vm = std::make_unique<jsvm::Vm>(limits, host_ ? host_() : jsvm::HostCalls{});
        for (const auto& script : plugins->scripts) {
            if (const std::string error = vm->load(script.source, script.path); !error.empty()) {
                spdlog::error("API {}: plugin script not loaded in this worker: {}",
                              plugins->api_id, error);
            }
        }
        entry.vm = std::move(vm);
        entry.source = plugins;
    } catch (const std::exception& e) {
        spdlog::error("API {}: JavaScript heap not created: {}", plugins->api_id, e.what());
        heaps_.erase(plugins->api_id);
        return nullptr;
    }
    return entry.vm.get();
}

} // namespace portcullis::jsvm_runtime
