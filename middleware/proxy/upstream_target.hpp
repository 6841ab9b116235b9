#pragma once

#include "config/api_definition.hpp"

#include <string>
#include <string_view>

namespace portcullis::proxy {

/// A request target split at the first '?'.
struct PathAndQuery {
    std::string_view path;
    std::string_view query; // without '?'
};
PathAndQuery split_target(std::string_view target);

/// Tyk's listen-path stripping: remove `listen_path` when the path starts with it (a listen path
/// with a trailing slash also strips the bare form), and make sure the result starts with '/'.
std::string strip_listen_path(std::string_view listen_path, std::string_view path);

/// Tyk's `singleJoiningSlash`: the target's base path and the request path joined with exactly
/// one '/'. With `disable_strip_slash` an empty or "/" sub path leaves the base path as is.
std::string
join_upstream_path(std::string_view base_path, std::string_view sub_path, bool disable_strip_slash);

/// The target's own query first, then the client's, joined by '&'.
std::string merge_query(std::string_view target_query, std::string_view request_query);

/// The request-target sent upstream for a request to `path`?`query` routed through `prefix`
/// (the matched listen path): strip when configured, join under the target's base path, merge the
/// queries. Never empty (an empty path becomes "/").
std::string upstream_request_target(const config::ProxyConfig& proxy,
                                    std::string_view prefix,
                                    std::string_view path,
                                    std::string_view query);

} // namespace portcullis::proxy
