#include "middleware/jsvm/plugins.hpp"

#include "middleware/jsvm/js_vm.hpp"
#include "middleware/jsvm/mini_request.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace portcullis::jsvm {

namespace {

namespace fs = std::filesystem;

/// Scripts over this size are refused (a plugin is code, not data).
constexpr std::uintmax_t kMaxScriptBytes = 4u << 20;

std::optional<std::string> read_script(const std::string& path, std::string& error) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) {
        error = path + ": cannot read: " + ec.message();
        return std::nullopt;
    }
    if (size > kMaxScriptBytes) {
        error = path + ": larger than 4 MiB";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) {
        error = path + ": cannot read";
        return std::nullopt;
    }
    return text.str();
}

Plugin plugin_of(const config::MiddlewareDefinition& mw) {
    return Plugin{mw.name, mw.path, mw.require_session, mw.raw_body_only};
}

void add_enabled(const std::vector<config::MiddlewareDefinition>& from, std::vector<Plugin>& to) {
    for (const auto& mw : from) {
        if (!mw.disabled) {
            to.push_back(plugin_of(mw));
        }
    }
}

/// `<middleware_path>/<api_id>/<folder>/*.js`, sorted by name.
std::vector<fs::path>
folder_scripts(const config::GatewayConfig& config, const std::string& api_id, const char* folder) {
    std::vector<fs::path> out;
    std::error_code ec;
    const fs::path dir = fs::path(config.middleware_path) / api_id / folder;
    if (!fs::is_directory(dir, ec)) {
        return out;
    }
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() == ".js" && it->is_regular_file(ec)) {
            out.push_back(it->path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

void add_folder(const config::GatewayConfig& config,
                const std::string& api_id,
                const char* folder,
                std::vector<Plugin>& to) {
    for (const auto& path : folder_scripts(config, api_id, folder)) {
        const std::string filename = path.filename().string();
        Plugin plugin;
        plugin.name = filename.substr(0, filename.find('.')); // Tyk: the part before the first '.'
        plugin.path = path.string();
        plugin.require_session = plugin.name.ends_with("_with_session");
        to.push_back(std::move(plugin));
    }
}

} // namespace

const std::vector<Plugin>& ApiPlugins::hook(Hook which) const {
    switch (which) {
    case Hook::pre:
        return pre;
    case Hook::auth:
        return auth;
    case Hook::post_key_auth:
        return post_key_auth;
    case Hook::post:
        return post;
    case Hook::response:
        return response;
    }
    return pre;
}

std::shared_ptr<const ApiPlugins> load_api_plugins(const config::ApiDefinition& api,
                                                   const config::GatewayConfig& config,
                                                   std::vector<std::string>& errors) {
    auto plugins = std::make_shared<ApiPlugins>();
    plugins->api_id = api.api_id;
    plugins->config_json = config_json(api);
    const auto& mw = api.custom_middleware;
    add_enabled(mw.pre, plugins->pre);
    add_enabled(mw.post_key_auth, plugins->post_key_auth);
    add_enabled(mw.post, plugins->post);
    add_enabled(mw.response, plugins->response);
    add_folder(config, api.api_id, "pre", plugins->pre);
    add_folder(config, api.api_id, "post_auth", plugins->post_key_auth);
    add_folder(config, api.api_id, "post", plugins->post);
    // Tyk's single auth hook: auth_check, then the auth folder's files, the last one winning.
    std::vector<Plugin> auth;
    if (!mw.auth_check.disabled && !mw.auth_check.name.empty()) {
        auth.push_back(plugin_of(mw.auth_check));
    }
    add_folder(config, api.api_id, "auth", auth);
    const std::string prefix = "API " + api.api_id + ": ";
    if (!auth.empty()) {
        if (api.custom_plugin_auth) {
            plugins->auth.push_back(std::move(auth.back()));
        } else {
            errors.push_back(prefix + "auth plugin " + auth.back().path +
                             " ignored: enable_coprocess_auth is off");
        }
    }
    if (!plugins->any()) {
        return nullptr;
    }
    if (!config.enable_jsvm) {
        errors.push_back(prefix +
                         "has JavaScript plugins but enable_jsvm is off; they are not run");
        return nullptr;
    }
    if (!mw.driver.empty() && mw.driver != "otto" && mw.driver != "javascript") {
        plugins->unusable = "custom_middleware.driver \"" + mw.driver + "\" is not supported";
        errors.push_back(prefix + plugins->unusable + "; its requests answer 500");
        return plugins;
    }

    // Each script compiled once here, in a scratch heap, so errors are reported at load.
    Limits limits;
    limits.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.jsvm_timeout);
    Vm scratch(limits, HostCalls{});
    std::set<std::string> seen;
    for (Hook which : {Hook::pre, Hook::auth, Hook::post_key_auth, Hook::post, Hook::response}) {
        for (const auto& plugin : plugins->hook(which)) {
            if (!seen.insert(plugin.path).second) {
                continue;
            }
            std::string error;
            auto source = read_script(plugin.path, error);
            if (source) {
                error = scratch.load(*source, plugin.path);
            }
            if (!error.empty()) {
                errors.push_back(prefix + "plugin script skipped: " + error);
                continue;
            }
            plugins->scripts.push_back(Script{plugin.path, std::move(*source)});
        }
    }
    for (Hook which : {Hook::pre, Hook::auth, Hook::post_key_auth, Hook::post, Hook::response}) {
        for (const auto& plugin : plugins->hook(which)) {
            if (!scratch.has_middleware(plugin.name)) {
                errors.push_back(prefix + plugin.path + " does not define middleware \"" +
                                 plugin.name + "\"; requests using it answer 500");
            }
        }
    }
    return plugins;
}

} // namespace portcullis::jsvm
