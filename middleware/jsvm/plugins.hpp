#pragma once

// The JavaScript plugins of an API (reference section 14; Tyk gateway/api_loader.go
// loadCustomMiddleware): which scripts, which hooks, read once at load and shared read-only by
// every worker, whose own heaps evaluate the scripts.

#include "config/api_definition.hpp"
#include "config/gateway_config.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace portcullis::jsvm {

/// Where a plugin runs in the request lifecycle.
enum class Hook { pre, auth, post_key_auth, post, response };

/// One plugin: the global middleware object `name` defined by a script.
struct Plugin {
    std::string name;
    std::string path;
    bool require_session = false;
    bool raw_body_only = false;
};

/// A script: its path and source text.
struct Script {
    std::string path;
    std::string source;
};

/// The plugins of one API.
struct ApiPlugins {
    std::string api_id;
    std::vector<Plugin> pre;
    /// The custom auth plugin (at most one), when the API enables custom plugin auth.
    std::vector<Plugin> auth;
    std::vector<Plugin> post_key_auth;
    std::vector<Plugin> post;
    std::vector<Plugin> response;
    /// The `config` argument every plugin call of this API gets (built once at load).
    std::string config_json;
    /// Every script that compiled, each evaluated once per heap, in load order.
    std::vector<Script> scripts;
    /// Non-empty: why this API's plugins cannot run (an unsupported driver or hook); every request
    /// to the API then fails closed with 500.
    std::string unusable;

    const std::vector<Plugin>& hook(Hook hook) const;
    bool any() const {
        return !pre.empty() || !auth.empty() || !post_key_auth.empty() || !post.empty() ||
               !response.empty() || !unusable.empty();
    }
};

/// Reads the plugins of `api`: the enabled entries of `custom_middleware` (driver `otto`, alias
/// `javascript`; empty means `otto`), then `<middleware_path>/<api_id>/{pre,auth,post_auth,post}/
/// *.js` (the file stem is the object name; a `_with_session` suffix means require_session). The
/// auth plugin (`auth_check`, replaced by the last file of the `auth` folder, as Tyk) is used only
/// when the API enables custom plugin auth (`enable_coprocess_auth`); otherwise it is reported as
/// ignored and the API's other auth applies. A
/// missing, unreadable or non-compiling script, or one that does not define its middleware
/// object, is reported in `errors` with its path; its plugins stay listed so requests fail
/// closed (500) instead of skipping them. Null when the API has no plugins, or when
/// `enable_jsvm` is off (reported in `errors` too: the plugins are not run, as in Tyk).
std::shared_ptr<const ApiPlugins> load_api_plugins(const config::ApiDefinition& api,
                                                   const config::GatewayConfig& config,
                                                   std::vector<std::string>& errors);

} // namespace portcullis::jsvm
