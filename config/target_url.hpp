#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::config {

/// An upstream address parsed from `proxy.target_url` (or a URL rewrite result).
struct TargetUrl {
    std::string scheme;      // "http" or "https"
    std::string host;        // host name or IP literal without brackets
    std::uint16_t port = 0;  // explicit or the scheme's default
    std::string path;        // base path as written (may be empty)
    std::string query;       // without '?'
    std::string host_header; // "host" or "host:port" when the port is not the default
    std::string authority_;  // "host:port", set by parse_target_url

    bool tls() const noexcept { return scheme == "https"; }
    /// "host:port", the key of the upstream connection pool.
    const std::string& authority() const noexcept { return authority_; }
};

/// Parses an absolute http(s) URL. On failure returns nullopt and sets `error`.
std::optional<TargetUrl> parse_target_url(std::string_view text, std::string& error);

} // namespace portcullis::config
