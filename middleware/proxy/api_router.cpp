#include "middleware/proxy/api_router.hpp"

#include <algorithm>

namespace portcullis::proxy {

ApiRouter::ApiRouter(std::vector<std::shared_ptr<const config::ApiDefinition>> apis,
                     bool strict_routes)
    : apis_(std::move(apis)), strict_(strict_routes) {
    routes_.reserve(apis_.size() * 2);
    for (const auto& api : apis_) {
        if (api->internal) {
            continue; // reachable only through tyk:// loops (find_by_id / apis())
        }
        routes_.push_back(Route{api->proxy.listen_path, api.get(), false});
        std::string by_id = "/" + api->api_id + "/";
        if (by_id != api->proxy.listen_path) {
            routes_.push_back(Route{std::move(by_id), api.get(), true});
        }
    }
    // Longest prefix first; a listen path wins over an equal `/<api_id>/` route.
    std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
        if (a.prefix.size() != b.prefix.size()) {
            return a.prefix.size() > b.prefix.size();
        }
        return !a.by_id && b.by_id;
    });
}

bool ApiRouter::matches(const Route& route, std::string_view path) const {
    std::string_view prefix = route.prefix;
    if (prefix.size() > 1 && prefix.back() == '/') {
        // "/lp/" also answers "/lp".
        if (path == prefix.substr(0, prefix.size() - 1)) {
            return true;
        }
        return path.starts_with(prefix);
    }
    if (!path.starts_with(prefix)) {
        return false;
    }
    if (!strict_ || prefix == "/" || path.size() == prefix.size()) {
        return true;
    }
    return path[prefix.size()] == '/';
}

std::optional<ApiRouter::Match> ApiRouter::match(std::string_view path) const {
    for (const auto& route : routes_) {
        if (matches(route, path)) {
            return Match{route.api, route.prefix};
        }
    }
    return std::nullopt;
}

const config::ApiDefinition* ApiRouter::find_by_id(std::string_view api_id) const {
    for (const auto& api : apis_) {
        if (api->api_id == api_id) {
            return api.get();
        }
    }
    return nullptr;
}

} // namespace portcullis::proxy
