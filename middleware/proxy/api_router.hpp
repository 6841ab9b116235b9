#pragma once

#include "config/api_definition.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::proxy {

/// Maps a request path to the API that serves it. Built once per configuration load and shared
/// read-only by every worker.
///
/// Each API answers on its listen path (prefix match, longest listen path first) and on
/// `/<api_id>/`. With `enable_strict_routes` a listen path `/lp` matches only `/lp` and `/lp/...`
/// (not `/lpx`). A listen path written with a trailing slash also matches the path without it.
/// APIs marked `internal` get no route: they are reached only through `tyk://` loops.
class ApiRouter {
  public:
    struct Match {
        const config::ApiDefinition* api = nullptr;
        /// The prefix that matched: the listen path or `/<api_id>/`; stripped when the API sets
        /// `strip_listen_path`.
        std::string_view prefix;
    };

    ApiRouter(std::vector<std::shared_ptr<const config::ApiDefinition>> apis, bool strict_routes);

    std::optional<Match> match(std::string_view path) const;

    const config::ApiDefinition* find_by_id(std::string_view api_id) const;
    const std::vector<std::shared_ptr<const config::ApiDefinition>>& apis() const noexcept {
        return apis_;
    }

  private:
    struct Route {
        std::string prefix;
        const config::ApiDefinition* api;
        bool by_id; // the `/<api_id>/` route rather than the listen path
    };

    bool matches(const Route& route, std::string_view path) const;

    std::vector<std::shared_ptr<const config::ApiDefinition>> apis_;
    std::vector<Route> routes_; // longest prefix first
    bool strict_;
};

} // namespace portcullis::proxy
