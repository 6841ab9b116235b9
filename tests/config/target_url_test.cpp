#include "config/target_url.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

namespace pc = portcullis::config;

TEST_CASE("target URLs parse into scheme, host, port, path and query", "[unit][config]") {
    using Row = std::tuple<std::string, std::string, std::string, std::uint16_t, std::string,
                           std::string, std::string, std::string>;
    auto [text, scheme, host, port, path, query, host_header,
          authority] = GENERATE(table<std::string, std::string, std::string, std::uint16_t,
                                      std::string, std::string, std::string, std::string>({
        Row{"http://example.com", "http", "example.com", 80, "", "", "example.com",
            "example.com:80"},
        Row{"https://example.com", "https", "example.com", 443, "", "", "example.com",
            "example.com:443"},
        Row{"http://example.com:8080/", "http", "example.com", 8080, "/", "", "example.com:8080",
            "example.com:8080"},
        Row{"https://example.com:443/api", "https", "example.com", 443, "/api", "", "example.com",
            "example.com:443"},
        Row{"https://example.com:80/", "https", "example.com", 80, "/", "", "example.com:80",
            "example.com:80"},
        Row{"HTTPS://Backend.Example:8443/v1/a%20b?x=1&y=%2F#frag", "https", "Backend.Example",
            8443, "/v1/a%20b", "x=1&y=%2F", "Backend.Example:8443", "Backend.Example:8443"},
        Row{"http://10.0.0.7:3000/base?", "http", "10.0.0.7", 3000, "/base", "", "10.0.0.7:3000",
            "10.0.0.7:3000"},
        Row{"http://[::1]:8080/p", "http", "::1", 8080, "/p", "", "[::1]:8080", "[::1]:8080"},
        Row{"https://[2001:db8::5]", "https", "2001:db8::5", 443, "", "", "[2001:db8::5]",
            "[2001:db8::5]:443"},
        Row{"http://upstream:/x", "http", "upstream", 80, "/x", "", "upstream", "upstream:80"},
        Row{"http://user:pw@upstream/", "http", "upstream", 80, "/", "", "upstream", "upstream:80"},
    }));
    CAPTURE(text);
    std::string error;
    const auto url = pc::parse_target_url(text, error);
    REQUIRE(url.has_value());
    CHECK(error.empty());
    CHECK(url->scheme == scheme);
    CHECK(url->host == host);
    CHECK(url->port == port);
    CHECK(url->path == path);
    CHECK(url->query == query);
    CHECK(url->host_header == host_header);
    CHECK(url->authority() == authority);
    CHECK(url->tls() == (scheme == "https"));
}

TEST_CASE("target URLs that cannot be proxied to are rejected", "[unit][config]") {
    auto [text, message] = GENERATE(table<std::string, std::string>({
        {"", "empty URL"},
        {"ftp://example.com/", "unsupported scheme \"ftp\""},
        {"ws://example.com/", "unsupported scheme \"ws\""},
        {"http:///path", "missing host"},
        {"http:opaque", "missing host"},
        {"/relative/path", "invalid URL"},
        {"example.com:8080", "unsupported scheme \"example.com\""},
        {"http://exa mple.com/", "invalid URL"},
        {"http://example.com:99999/", "invalid port \"99999\""},
        {"http://example.com:0/", "invalid port \"0\""},
        {"http://[v1.fe]/", "unsupported IP literal"},
        {"http://exa%6Dple.com/", "percent-encoded host names are not supported"},
    }));
    CAPTURE(text);
    std::string error;
    CHECK_FALSE(pc::parse_target_url(text, error).has_value());
    CHECK_THAT(error, Catch::Contains(message));
}
