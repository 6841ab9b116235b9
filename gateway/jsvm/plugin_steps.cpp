#include "gateway/jsvm/plugin_steps.hpp"

#include "gateway/jsvm/js_runtime.hpp"
#include "gateway/server/worker.hpp"
#include "middleware/jsvm/mini_request.hpp"
#include "middleware/transform/context_vars.hpp"

#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

namespace portcullis::jsvm_runtime {

namespace {

constexpr std::string_view kFailed = "Internal Server Error"; // Tyk: http.StatusText(500)

jsvm::Limits limits_of(const config::GatewayConfig& cfg) {
    jsvm::Limits limits;
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.jsvm_timeout);
    limits.timeout = timeout.count() > 0 ? timeout : std::chrono::milliseconds(5000);
    limits.memory_bytes = cfg.portcullis.jsvm_max_heap_bytes;
    return limits;
}

PluginReply failure(std::string_view message, const char* reason) {
    PluginReply reply;
    reply.body = std::string(message);
    reply.reason = reason;
    return reply;
}

/// Applies the plugin's URL (Tyk: r.URL = url.Parse(URL)); false when it does not parse.
bool apply_url(const std::string& url, RequestState& request) {
    auto parsed = boost::urls::parse_uri_reference(url);
    if (!parsed) {
        return false;
    }
    std::string path(parsed->encoded_path());
    if (path.empty()) {
        path = "/";
    }
    std::string query = parsed->has_query() ? std::string(parsed->encoded_query()) : std::string{};
    if (path != *request.path || query != *request.query) {
        *request.path = std::move(path);
        *request.query = std::move(query);
        request.url_changed = true;
    }
    return true;
}

} // namespace

std::optional<PluginReply>
run_request_plugins(server::Worker& worker,
                    const GatewayState& state,
                    const config::ApiDefinition& api,
                    const std::shared_ptr<const jsvm::ApiPlugins>& plugins,
                    jsvm::Hook hook,
                    RequestState& request) {
    const auto& list = plugins->hook(hook);
    if (list.empty()) {
        return std::nullopt;
    }
    jsvm::Vm* vm = worker.js().heap(plugins, limits_of(*state.config));
    if (vm == nullptr) {
        return failure("Middleware error", "plugin_heap");
    }
    const std::string& config = plugins->config_json;
    for (const auto& plugin : list) {
        // Tyk runs the auth plugin as a `pre` one: no session in, no metadata written back.
        const bool with_session = hook != jsvm::Hook::pre && hook != jsvm::Hook::auth &&
                                  plugin.require_session && request.stored != nullptr;
        jsvm::RequestView view;
        view.method = request.req->method_string();
        view.path = *request.path;
        view.query = *request.query;
        view.request_uri = request.request_uri;
        view.scheme = request.scheme;
        view.host = (*request.req)[http::field::host];
        view.headers = request.req;
        view.body = *request.body;
        const std::string session =
            with_session ? request.stored->session.serialize() : std::string("{}");
        const auto result =
            vm->process_request(plugin.name, jsvm::request_json(view), session, config);
        if (!result.ok) {
            spdlog::error("API {}: plugin {} ({}) failed: {}", api.api_id, plugin.name, plugin.path,
                          result.error);
            return failure(kFailed, result.timed_out ? "plugin_timeout" : "plugin_error");
        }
        std::string error;
        auto returned = jsvm::decode_request_return(result.json, error);
        if (!returned) {
            spdlog::error("API {}: plugin {} returned unusable data: {}", api.api_id, plugin.name,
                          error);
            return failure(kFailed, "plugin_return");
        }
        if (!returned->ignore_body && returned->body != *request.body) {
            *request.body = std::move(returned->body);
            request.body_changed = true;
        }
        if (!apply_url(returned->url, request)) {
            continue; // Tyk stops applying this plugin's changes when its URL does not parse
        }
        for (const auto& name : returned->delete_headers) {
            request.req->erase(name);
        }
        for (const auto& [name, value] : returned->set_headers) {
            request.req->set(transform::canonical_header_key(name), value);
        }
        const std::string query = jsvm::reconstruct_query(*request.query, *returned);
        if (query != *request.query) {
            *request.query = query;
            request.url_changed = true;
        }
        if (with_session && returned->session_meta != request.stored->session.meta_data()) {
            request.stored->session.replace_meta(std::move(returned->session_meta));
        }
        const auto& overrides = returned->overrides;
        if (overrides.code >= 400 && !overrides.override_error) {
            PluginReply reply;
            reply.status = static_cast<http::status>(overrides.code);
            reply.body = overrides.body;
            reply.headers = overrides.headers;
            reply.reason = "plugin_override";
            return reply;
        }
        if (overrides.code != 0) {
            PluginReply reply;
            reply.status = static_cast<http::status>(overrides.code);
            reply.body = overrides.body;
            reply.headers = overrides.headers;
            reply.error_template = false;
            reply.reason = "plugin_override";
            return reply;
        }
        if (hook == jsvm::Hook::auth) {
            request.auth_session = std::move(returned->session);
            request.auth_value = std::move(returned->auth_value);
        }
    }
    return std::nullopt;
}

void run_response_plugins(server::Worker& worker,
                          const GatewayState& state,
                          const config::ApiDefinition& api,
                          const std::shared_ptr<const jsvm::ApiPlugins>& plugins,
                          const Session* session,
                          http::response_header<>& response,
                          std::string& body) {
    if (plugins->response.empty()) {
        return;
    }
    jsvm::Vm* vm = worker.js().heap(plugins, limits_of(*state.config));
    if (vm == nullptr) {
        return;
    }
    const std::string& config = plugins->config_json;
    const std::string session_json = session ? session->serialize() : std::string("{}");
    for (const auto& plugin : plugins->response) {
        const auto result = vm->process_response(
            plugin.name, jsvm::response_json(response.result_int(), response, body), session_json,
            config);
        std::string error = result.error;
        std::optional<jsvm::ResponseReturn> returned;
        if (result.ok) {
            returned = jsvm::decode_response_return(result.json, error);
        }
        if (!returned) {
            spdlog::error("API {}: response plugin {} ({}) failed; response unchanged: {}",
                          api.api_id, plugin.name, plugin.path, error);
            continue;
        }
        for (const auto& name : returned->delete_headers) {
            response.erase(name);
        }
        for (const auto& [name, value] : returned->set_headers) {
            response.set(transform::canonical_header_key(name), value);
        }
        if (returned->status >= 100 && returned->status <= 999) {
            response.result(static_cast<unsigned>(returned->status));
        }
        body = std::move(returned->body);
    }
}

} // namespace portcullis::jsvm_runtime
