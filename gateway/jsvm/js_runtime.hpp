#pragma once

// A worker's JavaScript heaps: one per API with plugins, created on first use, its scripts
// evaluated once, and rebuilt when a reload brings a new plugin set. Used on the worker's thread
// only, so no heap is ever shared across threads.

#include "middleware/jsvm/js_vm.hpp"
#include "middleware/jsvm/plugins.hpp"

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace portcullis::jsvm_runtime {

class JsRuntime {
  public:
    /// `host` gives the host calls (HTTP, key data) a new heap's plugins may use.
    explicit JsRuntime(std::function<jsvm::HostCalls()> host);

    /// The heap holding `plugins`' scripts; null when it cannot be created (then the request
    /// fails closed).
    jsvm::Vm* heap(const std::shared_ptr<const jsvm::ApiPlugins>& plugins,
                   const jsvm::Limits& limits);

  private:
    struct Entry {
        std::weak_ptr<const jsvm::ApiPlugins> source;
        std::unique_ptr<jsvm::Vm> vm;
    };
    std::function<jsvm::HostCalls()> host_;
    std::unordered_map<std::string, Entry> heaps_; // by api_id
};

} // namespace portcullis::jsvm_runtime
