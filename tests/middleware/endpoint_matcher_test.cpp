#include "middleware/transform/endpoint_matcher.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

namespace pt = portcullis::transform;

namespace {

pt::PathPattern compile_or_fail(const std::string& path, const pt::MatchOptions& options) {
    std::string error;
    auto pattern = pt::PathPattern::compile(path, options, error);
    INFO(error);
    REQUIRE(pattern.has_value());
    return std::move(*pattern);
}

pt::Endpoint<int>
endpoint(const std::string& path, const std::string& method, int id, pt::MatchOptions opts = {}) {
    return pt::Endpoint<int>{compile_or_fail(path, opts), method, id};
}

} // namespace

TEST_CASE("entry paths are prepared as Tyk's PreparePathRegexp and generateRegex do",
          "[unit][transform]") {
    // Rows from Tyk's TestPreparePathRegexp plus the wildcard, quantifier and case rules.
    using Row = std::tuple<std::string, bool, bool, bool, std::string>;
    auto [path, prefix, suffix, ignore_case,
          prepared] = GENERATE(table<std::string, bool, bool, bool, std::string>({
        Row{"/users", false, false, false, "/users"},
        Row{"/users", true, false, false, "^/users"},
        Row{"/users*.", true, false, false, "^/users*."},
        Row{"users", true, false, false, "users"},
        Row{"users", true, true, false, "users$"},
        Row{"^/test/users", true, false, false, "^/test/users"},
        Row{"/users$", true, true, false, "^/users$"},
        Row{"/users/.*", true, false, false, "^/users/.*"},
        Row{"/users/{id}", true, false, false, "^/users/([^/]+)"},
        Row{"/users/{id}", false, false, false, "/users/([^/]+)"},
        Row{"/users/{id}$", true, false, false, "^/users/([^/]+)$"},
        Row{"/users/{id}", true, true, false, "^/users/([^/]+)$"},
        Row{"/users/{id}/profile/{type:[a-zA-Z]+}", true, false, false,
            "^/users/([^/]+)/profile/([^/]+)"},
        Row{"/static/{path}/assets/{file}", true, false, false, "^/static/([^/]+)/assets/([^/]+)"},
        // Any balanced {...} is a parameter, quantifiers included.
        Row{"/a{2}", false, false, false, "/a([^/]+)"},
        // Unbalanced braces: left alone (RE2 reads a lone '{' literally).
        Row{"/users/{id", false, false, false, "/users/{id"},
        Row{"/files/*", true, true, false, "^/files/.*$"},
        Row{"/files/*", false, false, false, "/files/.*"},
        Row{"/a/*/b", false, false, false, "/a/[^/]+/b"},
        Row{"/a/*/*/b", false, false, false, "/a/[^/]+/.*/b"},
        Row{"/users/*.json", false, false, false, "/users/.*.json"},
        Row{"/users", false, false, true, "(?i)/users"},
        Row{"/users/{id}", true, true, true, "(?i)^/users/([^/]+)$"},
        Row{"", false, false, false, ""},
        Row{"", true, true, false, "$"},
    }));
    CAPTURE(path, prefix, suffix, ignore_case);
    const auto pattern = compile_or_fail(path, pt::MatchOptions{prefix, suffix, ignore_case});
    CHECK(pattern.source() == path);
    CHECK(pattern.regex().pattern() == prepared);
}

TEST_CASE("an entry path that is not a regular expression is refused with RE2's message",
          "[unit][transform]") {
    auto path = GENERATE(as<std::string>{}, "/users/(", "/[z-a]", "/a**", "/x/(?P<n", "/x\\");
    CAPTURE(path);
    std::string error;
    const auto pattern = pt::PathPattern::compile(path, pt::MatchOptions{}, error);
    CHECK_FALSE(pattern.has_value());
    CHECK_FALSE(error.empty());
}

TEST_CASE("entry paths match anywhere in the path unless anchored", "[unit][transform]") {
    using Row = std::tuple<std::string, bool, bool, bool, std::string, bool>;
    auto [path, prefix, suffix, ignore_case, subject, matches] =
        GENERATE(table<std::string, bool, bool, bool, std::string, bool>({
            Row{"/users/{id}", false, false, false, "/users/42", true},
            Row{"/users/{id}", false, false, false, "/v1/users/42/x", true},
            Row{"/users/{id}", false, false, false, "/users/", false},
            Row{"/users/{id}", true, true, false, "/users/42", true},
            Row{"/users/{id}", true, true, false, "/users/42/x", false},
            Row{"/users/{id}", true, true, false, "/v1/users/42", false},
            Row{"/users/{id}", true, false, false, "/users/42/x", true},
            Row{"/Users", false, false, false, "/users", false},
            Row{"/Users", false, false, true, "/users", true},
            Row{"/Users/{id}", true, true, true, "/USERS/7", true},
            Row{"/files/*", true, true, false, "/files/", true},
            Row{"/files/*", true, true, false, "/files/a/b", true},
            Row{"/files/*", true, true, false, "/files", false},
            Row{"/a/*/b", false, false, false, "/a/x/b", true},
            Row{"/a/*/b", false, false, false, "/a/b", false},
            Row{"/a/*/b", false, false, false, "/a/x/y/b", false},
            Row{"/v.1", false, false, false, "/vx1", true},
            Row{"", false, false, false, "/anything", true},
            Row{"/health$", false, false, false, "/x/health", true},
            Row{"/health$", false, false, false, "/health/x", false},
        }));
    CAPTURE(path, prefix, suffix, ignore_case, subject);
    const auto pattern = compile_or_fail(path, pt::MatchOptions{prefix, suffix, ignore_case});
    CHECK(pattern.matches(subject) == matches);
}

TEST_CASE("find_endpoint takes the first entry of the method matching any subject path",
          "[unit][transform]") {
    const std::vector<pt::Endpoint<int>> endpoints = {
        endpoint("/items/{id}", "POST", 1),  endpoint("/items/{id}", "GET", 2),
        endpoint("/items/42", "GET", 3), // shadowed by entry 2 for GET
        endpoint("^/v1/legacy$", "GET", 4),  endpoint("^/api/raw$", "GET", 5),
        endpoint("^/things$", "get", 6), // method compare is exact: never for "GET"
        endpoint("^/only-post$", "POST", 7),
    };
    using Row = std::tuple<std::string, std::string, std::string, std::string, int>;
    auto [method, without_version, without_listen_path, full, expected] =
        GENERATE(table<std::string, std::string, std::string, std::string, int>({
            Row{"GET", "/items/42", "/items/42", "/api/items/42", 2},
            Row{"POST", "/items/42", "/items/42", "/api/items/42", 1},
            Row{"PUT", "/items/42", "/items/42", "/api/items/42", 0},
            // Each of the three subject paths is tried.
            Row{"GET", "/legacy", "/v1/legacy", "/api/v1/legacy", 4},
            Row{"GET", "/raw", "/raw", "/api/raw", 5},
            Row{"GET", "/things", "/things", "/api/things", 0},
            Row{"get", "/things", "/things", "/api/things", 6},
            Row{"GET", "/only-post", "/only-post", "/api/only-post", 0},
            Row{"POST", "/only-post", "/only-post", "/api/only-post", 7},
            Row{"GET", "/nothing", "/nothing", "/api/nothing", 0},
        }));
    CAPTURE(method, without_version, without_listen_path, full);
    const pt::MatchSubject subject{without_version, without_listen_path, full};
    const auto* found = pt::find_endpoint(endpoints, method, subject);
    if (expected == 0) {
        CHECK(found == nullptr);
    } else {
        REQUIRE(found != nullptr);
        CHECK(found->spec == expected);
    }
}

TEST_CASE("find_endpoint on an empty list finds nothing", "[unit][transform]") {
    const std::vector<pt::Endpoint<int>> endpoints;
    const pt::MatchSubject subject{"/a", "/a", "/a"};
    CHECK(pt::find_endpoint(endpoints, "GET", subject) == nullptr);
}
