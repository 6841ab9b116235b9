#include "config/target_url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace portcullis::config {

namespace {

constexpr std::uint16_t kHttpPort = 80;
constexpr std::uint16_t kHttpsPort = 443;

std::string to_lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// IPv6 literals need their brackets back wherever a port may follow.
std::string bracketed_host(const TargetUrl& url) {
    if (url.host.find(':') != std::string::npos) {
        return "[" + url.host + "]";
    }
    return url.host;
}

} // namespace

std::optional<TargetUrl> parse_target_url(std::string_view text, std::string& error) {
    if (text.empty()) {
        error = "empty URL";
        return std::nullopt;
    }
    const auto parsed = boost::urls::parse_uri(text);
    if (!parsed) {
        // Boost.URL's grammar errors ("mismatch", ...) say little to someone editing a config.
        error = "invalid URL \"" + std::string(text) + "\" (expected an absolute http(s) URL)";
        return std::nullopt;
    }
    const boost::urls::url_view& url = *parsed;

    TargetUrl target;
    target.scheme = to_lower(url.scheme());
    if (target.scheme != "http" && target.scheme != "https") {
        error = "unsupported scheme \"" + std::string(url.scheme()) + "\" (expected http or https)";
        return std::nullopt;
    }

    switch (url.host_type()) {
    case boost::urls::host_type::name:
        // A percent-encoded host name could decode to bytes that do not belong in a Host header.
        if (url.encoded_host().find('%') != boost::urls::string_view::npos) {
            error = "percent-encoded host names are not supported";
            return std::nullopt;
        }
        target.host = std::string(url.encoded_host());
        break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
        target.host = std::string(url.encoded_host_address());
        break;
    case boost::urls::host_type::ipvfuture:
        error = "unsupported IP literal \"" + std::string(url.encoded_host()) + "\"";
        return std::nullopt;
    case boost::urls::host_type::none:
        break;
    }
    if (target.host.empty()) {
        error = "missing host in URL \"" + std::string(text) + "\"";
        return std::nullopt;
    }

    const std::uint16_t default_port = target.tls() ? kHttpsPort : kHttpPort;
    target.port = default_port;
    // "http://host:/" has an empty port, which means the default (as in Go's net/url).
    bool explicit_port = false;
    if (url.has_port() && !url.port().empty()) {
        const auto port_text = url.port();
        unsigned value = 0;
        const auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            error = "invalid port \"" + std::string(port_text) + "\"";
            return std::nullopt;
        }
        target.port = static_cast<std::uint16_t>(value);
        explicit_port = true;
    }

    target.path = std::string(url.encoded_path());
    if (url.has_query()) {
        target.query = std::string(url.encoded_query());
    }
    target.host_header = bracketed_host(target);
    if (explicit_port && target.port != default_port) {
        target.host_header += ":" + std::to_string(target.port);
    }
    target.authority_ = bracketed_host(target) + ":" + std::to_string(target.port);
    return target;
}

} // namespace portcullis::config
