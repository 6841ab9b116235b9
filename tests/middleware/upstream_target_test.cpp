#include "config/api_definition.hpp"
#include "config/target_url.hpp"
#include "middleware/proxy/upstream_target.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <tuple>

namespace pc = portcullis::config;
namespace pp = portcullis::proxy;

namespace {

pc::ProxyConfig
make_proxy(const std::string& target_url, bool strip_listen_path, bool disable_strip_slash) {
    pc::ProxyConfig proxy;
    proxy.target_url = target_url;
    std::string error;
    auto target = pc::parse_target_url(target_url, error);
    REQUIRE(target.has_value());
    proxy.target = std::move(*target);
    proxy.strip_listen_path = strip_listen_path;
    proxy.disable_strip_slash = disable_strip_slash;
    return proxy;
}

} // namespace

TEST_CASE("a request target splits at its first '?'", "[unit][upstream]") {
    auto [target, path, query] = GENERATE(table<std::string, std::string, std::string>({
        {"/a/b?x=1&y=2", "/a/b", "x=1&y=2"},
        {"/a/b", "/a/b", ""},
        {"/a/b?", "/a/b", ""},
        {"/a?x=1?y=2", "/a", "x=1?y=2"},
        {"?x=1", "", "x=1"},
        {"/", "/", ""},
        {"", "", ""},
        {"/p%3Fq?r=%3F", "/p%3Fq", "r=%3F"},
    }));
    CAPTURE(target);
    const auto split = pp::split_target(target);
    CHECK(split.path == path);
    CHECK(split.query == query);
}

TEST_CASE("the listen path is stripped as Tyk's StripListenPath does", "[unit][upstream]") {
    // Go: res = strings.TrimPrefix(urlPath, listenPath); a leading "/" is ensured.
    auto [listen_path, path, stripped] = GENERATE(table<std::string, std::string, std::string>({
        {"/foo/", "/foo/bar", "/bar"},
        {"/foo/", "/foo/bar/baz/", "/bar/baz/"},
        {"/foo/", "/foo/", "/"},
        {"/foo/", "/foo//bar", "/bar"},
        {"/foo", "/foo/bar", "/bar"},
        {"/foo", "/foo", "/"},
        {"/foo", "/foobar", "/bar"},
        {"/foo", "/foo//bar", "//bar"},
        {"/", "/", "/"},
        {"/", "/x/y", "/x/y"},
        {"/api1/", "/api1/a%2Fb", "/a%2Fb"},
        // No prefix: the path is left as it is.
        {"/foo", "/other/x", "/other/x"},
        {"/foo/", "/fo", "/fo"},
        {"/foo", "", "/"},
    }));
    CAPTURE(listen_path, path);
    CHECK(pp::strip_listen_path(listen_path, path) == stripped);
}

TEST_CASE("base and request paths are joined as Tyk's singleJoiningSlash does",
          "[unit][upstream]") {
    using Row = std::tuple<std::string, std::string, bool, std::string>;
    auto [base, sub, disable_strip_slash, joined] =
        GENERATE(table<std::string, std::string, bool, std::string>({
            Row{"/base", "/x", false, "/base/x"},
            Row{"/base/", "/x", false, "/base/x"},
            Row{"/base", "x", false, "/base/x"},
            Row{"/base/", "x", false, "/base/x"},
            Row{"/base//", "//x", false, "/base/x"},
            Row{"/base", "/x/", false, "/base/x/"},
            Row{"/base", "/x//y", false, "/base/x//y"},
            Row{"", "/x", false, "/x"},
            Row{"/", "/x", false, "/x"},
            // An empty sub path leaves the base path without its trailing slash.
            Row{"/base", "", false, "/base"},
            Row{"/base", "/", false, "/base"},
            Row{"/base/", "", false, "/base"},
            Row{"/base/", "/", false, "/base"},
            Row{"/base/", "//", false, "/base"},
            Row{"", "", false, ""},
            Row{"", "/", false, ""},
            Row{"/", "/", false, ""},
            // disable_strip_slash: an empty or "/" sub path returns the base path unchanged.
            Row{"/base/", "", true, "/base/"},
            Row{"/base/", "/", true, "/base/"},
            Row{"/base", "/", true, "/base"},
            Row{"/base//", "", true, "/base//"},
            Row{"", "/", true, ""},
            Row{"/", "", true, "/"},
            // ... and changes nothing otherwise.
            Row{"/base/", "/x", true, "/base/x"},
            Row{"/base/", "//", true, "/base"},
            Row{"/base", "x/", true, "/base/x/"},
        }));
    CAPTURE(base, sub, disable_strip_slash);
    CHECK(pp::join_upstream_path(base, sub, disable_strip_slash) == joined);
}

TEST_CASE("the target's query comes before the client's, joined by '&'", "[unit][upstream]") {
    auto [target_query, request_query, merged] =
        GENERATE(table<std::string, std::string, std::string>({
            {"", "", ""},
            {"a=1", "", "a=1"},
            {"", "b=2", "b=2"},
            {"a=1", "b=2", "a=1&b=2"},
            {"a=1&c=3", "a=2", "a=1&c=3&a=2"},
            {"x=%2F", "y=%26&z", "x=%2F&y=%26&z"},
        }));
    CAPTURE(target_query, request_query);
    CHECK(pp::merge_query(target_query, request_query) == merged);
}

TEST_CASE("the upstream request target strips, joins under the base path and merges queries",
          "[unit][upstream]") {
    using Row =
        std::tuple<std::string, bool, bool, std::string, std::string, std::string, std::string>;
    auto [target_url, strip, disable_strip_slash, prefix, path, query, expected] = GENERATE(
        table<std::string, bool, bool, std::string, std::string, std::string, std::string>({
            // No base path.
            Row{"http://up", false, false, "/foo/", "/foo/bar", "", "/foo/bar"},
            Row{"http://up", true, false, "/foo/", "/foo/bar", "", "/bar"},
            Row{"http://up", true, false, "/foo/", "/foo/bar/", "", "/bar/"},
            Row{"http://up/", true, false, "/foo/", "/foo/bar", "", "/bar"},
            Row{"http://up", true, false, "/foo", "/foo/bar", "", "/bar"},
            Row{"http://up", false, false, "/", "/a/b", "", "/a/b"},
            Row{"http://up", true, false, "/", "/a/b", "", "/a/b"},
            Row{"http://up", true, false, "/api1/", "/api1/x", "", "/x"},
            // Never empty: at least "/".
            Row{"http://up", true, false, "/foo/", "/foo/", "", "/"},
            Row{"http://up/", true, false, "/foo/", "/foo/", "", "/"},
            Row{"http://up", true, false, "/foo", "/foo", "", "/"},
            Row{"http://up", false, false, "/", "/", "", "/"},
            Row{"http://up", true, true, "/foo/", "/foo/", "", "/"},
            Row{"http://up", true, false, "/foo/", "/foo/", "q=1", "/?q=1"},
            // Base path "/base".
            Row{"http://up/base", false, false, "/foo/", "/foo/bar", "", "/base/foo/bar"},
            Row{"http://up/base", true, false, "/foo/", "/foo/bar", "", "/base/bar"},
            Row{"http://up/base", true, false, "/foo/", "/foo/", "", "/base"},
            Row{"http://up/base", true, true, "/foo/", "/foo/", "", "/base"},
            // Base path "/base/".
            Row{"http://up/base/", false, false, "/foo/", "/foo/bar", "", "/base/foo/bar"},
            Row{"http://up/base/", true, false, "/foo/", "/foo/bar", "", "/base/bar"},
            Row{"http://up/base/", true, false, "/foo/", "/foo/", "", "/base"},
            Row{"http://up/base/", true, true, "/foo/", "/foo/", "", "/base/"},
            Row{"http://up/base/", true, true, "/foo/", "/foo/bar", "", "/base/bar"},
            // Queries: the client's alone, the target's alone, the target's first.
            Row{"http://up/base", true, false, "/foo/", "/foo/bar", "x=1", "/base/bar?x=1"},
            Row{"http://up/base?t=1", true, false, "/foo/", "/foo/bar", "", "/base/bar?t=1"},
            Row{"http://up/base?t=1", true, false, "/foo/", "/foo/bar", "x=1&y=2",
                "/base/bar?t=1&x=1&y=2"},
            Row{"http://up/base/?t=1", true, false, "/foo/", "/foo/", "x=1", "/base?t=1&x=1"},
            Row{"http://up?t=1", true, false, "/foo/", "/foo/", "", "/?t=1"},
            Row{"http://up?t=1", false, false, "/foo/", "/foo/a%20b", "x=%2F",
                "/foo/a%20b?t=1&x=%2F"},
        }));
    CAPTURE(target_url, strip, disable_strip_slash, prefix, path, query);
    const auto proxy = make_proxy(target_url, strip, disable_strip_slash);
    const std::string result = pp::upstream_request_target(proxy, prefix, path, query);
    CHECK(result == expected);
    CHECK(result.front() == '/');
}
