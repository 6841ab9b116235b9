// Fuzz target: Gateway API request bodies on every route that reads one, through the
// in-process gateway (with the secret, so the body is really decoded). The first byte picks
// the route; the rest is the body. API definitions and policies written by the fuzzed calls are
// removed after each input (and the snapshot reloaded when they were loaded), so inputs do not
// pile up state.
#include "config/gateway_config.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/inprocess_gateway.hpp"

#include <array>
#include <filesystem>
#include <map>
#include <string>

namespace {

struct Route {
    const char* method;
    const char* target;
    bool reload_after; // also load what was written, as an operator's reload would
};

constexpr std::array<Route, 12> kRoutes{{
    {"POST", "/tyk/keys/create", false},
    {"POST", "/tyk/keys", false},
    {"PUT", "/tyk/keys/fuzzkey0001", false},
    {"POST", "/tyk/keys/fuzz-custom-key", false},
    {"PUT", "/tyk/keys/fuzzkey0001?hashed=true", false},
    {"POST", "/tyk/apis", true},
    {"PUT", "/tyk/apis/open", true},
    {"POST", "/tyk/policies", true},
    {"PUT", "/tyk/policies/gold", true},
    {"POST", "/tyk/oauth/clients/create", false},
    {"PUT", "/tyk/oauth/clients/oauth/fuzz-client", false},
    {"POST", "/tyk/oauth/refresh/none?api_id=oauth", false},
}};

using Snapshot = std::map<std::filesystem::path, std::string>;

Snapshot snapshot(const std::string& dir) {
    Snapshot files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        files.emplace(entry.path(), portcullis::config::read_text_file(entry.path().string()));
    }
    return files;
}

/// Puts `dir` back as `base` was; true when anything had changed.
bool restore(const std::string& dir, const Snapshot& base) {
    const Snapshot now = snapshot(dir);
    if (now == base) {
        return false;
    }
    for (const auto& [path, text] : now) {
        if (!base.contains(path)) {
            std::filesystem::remove(path);
        }
    }
    for (const auto& [path, text] : base) {
        const auto it = now.find(path);
        if (it == now.end() || it->second != text) {
            portcullis::fuzz::write_file(path, text);
        }
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using portcullis::fuzz::InProcessGateway;
    if (size == 0) {
        return 0;
    }
    const InProcessGateway& gateway = InProcessGateway::instance();
    static const Snapshot base_apps = snapshot(gateway.app_path());
    static const Snapshot base_policies = snapshot(gateway.policy_path());

    const Route& route = kRoutes[data[0] % kRoutes.size()];
    const std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};
    const int status = gateway.admin(route.method, route.target, body);
    if (status == 0) {
        portcullis::fuzz::invariant_failed("the Gateway API gave no HTTP answer");
    }
    if (!route.reload_after) {
        return 0;
    }
    if (status == 200) {
        (void)gateway.admin("GET", "/tyk/reload/group", "");
    }
    // Back to the harness's own definitions.
    const bool apps_changed = restore(gateway.app_path(), base_apps);
    const bool policies_changed = restore(gateway.policy_path(), base_policies);
    if ((apps_changed || policies_changed) && status == 200) {
        (void)gateway.admin("GET", "/tyk/reload/group", "");
    }
    return 0;
}
