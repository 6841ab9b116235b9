#pragma once

// Running an API's JavaScript plugins at their hooks (Tyk DynamicMiddleware and
// JSVMResponseHook): the request or response handed to the plugin, its changes applied, its
// metadata written into the session (saved once at the end of the request by the save-back), and
// the replies it asks for. JavaScript runs on the worker's thread, bounded by jsvm_timeout.

#include "gateway/gateway_state.hpp"
#include "gateway/session/session_store.hpp"
#include "middleware/core/http.hpp"
#include "middleware/jsvm/plugins.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

namespace portcullis::server {
class Worker;
}

namespace portcullis::jsvm_runtime {

/// The request as the plugin steps see and change it.
struct RequestState {
    http::request_header<>* req = nullptr; // headers changed in place
    std::string* path = nullptr;           // escaped path, listen path included
    std::string* query = nullptr;
    std::string* body = nullptr; // the buffered body
    bool body_changed = false;   // a plugin replaced the body
    bool url_changed = false;    // a plugin changed the path or query
    std::string request_uri;
    std::string scheme = "http";
    session::StoredSession* stored = nullptr; // the key's session, when authenticated
    /// What the auth plugin returned (Hook::auth): the session to install (null: none) and the
    /// key it belongs to (AuthValue).
    nlohmann::json auth_session;
    std::string auth_value;
};

/// A reply a plugin asked for (ReturnOverrides) or a failure.
struct PluginReply {
    http::status status = http::status::internal_server_error;
    std::string body;
    std::map<std::string, std::string> headers;
    bool error_template = true; // Tyk's {"error": body}; false: the body as given
    const char* reason = "plugin";
};

/// Runs the plugins of `hook` in order. Nullopt: carry on with the (changed) request.
std::optional<PluginReply>
run_request_plugins(server::Worker& worker,
                    const GatewayState& state,
                    const config::ApiDefinition& api,
                    const std::shared_ptr<const jsvm::ApiPlugins>& plugins,
                    jsvm::Hook hook,
                    RequestState& request);

/// Runs the response plugins on a response read whole. A failing plugin leaves the response as
/// it was (logged), as Tyk.
void run_response_plugins(server::Worker& worker,
                          const GatewayState& state,
                          const config::ApiDefinition& api,
                          const std::shared_ptr<const jsvm::ApiPlugins>& plugins,
                          const Session* session,
                          http::response_header<>& response,
                          std::string& body);

} // namespace portcullis::jsvm_runtime
