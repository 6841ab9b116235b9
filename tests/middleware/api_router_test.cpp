#include "config/api_definition.hpp"
#include "middleware/proxy/api_router.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pc = portcullis::config;
using portcullis::proxy::ApiRouter;

namespace {

using ApiPtr = std::shared_ptr<const pc::ApiDefinition>;

ApiPtr make_api(std::string api_id, std::string listen_path) {
    auto api = std::make_shared<pc::ApiDefinition>();
    api->api_id = std::move(api_id);
    api->proxy.listen_path = std::move(listen_path);
    return api;
}

std::string describe(const std::string& api_id, const std::string& prefix) {
    return api_id.empty() ? "no match" : api_id + " via " + prefix;
}

// "<api_id> via <prefix>" for the API `path` routes to, "no match" when none does.
std::string route(const ApiRouter& router, std::string_view path) {
    const auto match = router.match(path);
    if (!match) {
        return "no match";
    }
    REQUIRE(match->api != nullptr);
    return describe(match->api->api_id, std::string(match->prefix));
}

std::string routed_id(const ApiRouter& router, std::string_view path) {
    const auto match = router.match(path);
    return match ? match->api->api_id : "";
}

} // namespace

TEST_CASE("the longest listen path wins whatever the order the APIs were given in",
          "[unit][router]") {
    const auto api_short = make_api("short", "/api");
    const auto api_mid = make_api("mid", "/api/v1");
    const auto api_long = make_api("long", "/api/v1/users");

    auto [i, j, k] = GENERATE(table<int, int, int>({
        {0, 1, 2},
        {2, 1, 0},
        {1, 0, 2},
        {2, 0, 1},
    }));
    const ApiPtr all[] = {api_short, api_mid, api_long};
    const ApiRouter router({all[i], all[j], all[k]}, false);

    auto [path, api_id, prefix] = GENERATE(table<std::string, std::string, std::string>({
        {"/api/v1/users/42", "long", "/api/v1/users"},
        {"/api/v1/users", "long", "/api/v1/users"},
        {"/api/v1/orders", "mid", "/api/v1"},
        {"/api/v1", "mid", "/api/v1"},
        {"/api/v2/users", "short", "/api"},
        {"/api", "short", "/api"},
    }));
    CAPTURE(path, i, j, k);
    CHECK(route(router, path) == describe(api_id, prefix));
}

TEST_CASE("an API also answers on /<api_id>/ and reports that prefix", "[unit][router]") {
    const bool strict = GENERATE(false, true);
    const ApiRouter router({make_api("alpha", "/a/"), make_api("beta", "/b")}, strict);

    auto [path, api_id, prefix] = GENERATE(table<std::string, std::string, std::string>({
        {"/alpha/", "alpha", "/alpha/"},
        {"/alpha/x/y", "alpha", "/alpha/"},
        {"/alpha", "alpha", "/alpha/"},
        {"/beta/users?q", "beta", "/beta/"},
        {"/a/x", "alpha", "/a/"},
        {"/b/x", "beta", "/b"},
    }));
    CAPTURE(strict, path);
    CHECK(route(router, path) == describe(api_id, prefix));
}

TEST_CASE("an API whose listen path is /<api_id>/ is routed once under that prefix",
          "[unit][router]") {
    const ApiRouter router({make_api("svc", "/svc/")}, false);

    CHECK(route(router, "/svc/x") == "svc via /svc/");
    CHECK(route(router, "/svc") == "svc via /svc/");
    CHECK_FALSE(router.match("/svcx"));
}

TEST_CASE("listen paths match as prefixes, with strict routes only at segment boundaries",
          "[unit][router]") {
    // api_ids are chosen so their /<api_id>/ routes never match the paths below.
    using Row = std::tuple<bool, std::string, std::string>;
    auto [strict, path, api_id] = GENERATE(table<bool, std::string, std::string>({
        // Non-strict: a plain prefix match.
        Row{false, "/foo", "foo-api"},
        Row{false, "/foo/", "foo-api"},
        Row{false, "/foo/x", "foo-api"},
        Row{false, "/foobar", "foo-api"},
        Row{false, "/foo.json", "foo-api"},
        Row{false, "/fo", ""},
        Row{false, "/bar", ""},
        // Strict: "/foo" matches "/foo" and "/foo/..." only.
        Row{true, "/foo", "foo-api"},
        Row{true, "/foo/", "foo-api"},
        Row{true, "/foo/x", "foo-api"},
        Row{true, "/foobar", ""},
        Row{true, "/foo.json", ""},
        Row{true, "/fo", ""},
    }));
    const ApiRouter router({make_api("foo-api", "/foo")}, strict);
    CAPTURE(strict, path);
    CHECK(routed_id(router, path) == api_id);
}

TEST_CASE("in strict mode a shorter listen path still catches what a longer one rejects",
          "[unit][router]") {
    const ApiRouter router({make_api("foo-api", "/foo"), make_api("f-api", "/f")}, true);

    auto [path, api_id] = GENERATE(table<std::string, std::string>({
        {"/foo/x", "foo-api"},
        {"/foo", "foo-api"},
        {"/foobar", ""}, // "/f" is strict too: "/foobar" is not "/f/..."
        {"/f/oo", "f-api"},
        {"/f", "f-api"},
    }));
    CAPTURE(path);
    CHECK(routed_id(router, path) == api_id);
}

TEST_CASE("a listen path with a trailing slash also matches the bare path", "[unit][router]") {
    const bool strict = GENERATE(false, true);
    const ApiRouter router({make_api("foo-api", "/foo/")}, strict);

    auto [path, api_id] = GENERATE(table<std::string, std::string>({
        {"/foo", "foo-api"},
        {"/foo/", "foo-api"},
        {"/foo/bar", "foo-api"},
        {"/foobar", ""},
        {"/fo", ""},
        {"/", ""},
    }));
    CAPTURE(strict, path);
    CHECK(route(router, path) == describe(api_id, "/foo/"));
}

TEST_CASE("a root listen path catches every path no longer listen path claims", "[unit][router]") {
    const bool strict = GENERATE(false, true);
    const ApiRouter router(
        {make_api("root-api", "/"), make_api("foo-api", "/foo"), make_api("bar-api", "/bar/")},
        strict);

    auto [path, api_id, prefix] = GENERATE(table<std::string, std::string, std::string>({
        {"/", "root-api", "/"},
        {"/anything/else", "root-api", "/"},
        {"/ba", "root-api", "/"},
        {"/foo/x", "foo-api", "/foo"},
        {"/bar", "bar-api", "/bar/"},
        {"/bar/x", "bar-api", "/bar/"},
        {"/root-api/x", "root-api", "/root-api/"},
    }));
    CAPTURE(strict, path);
    CHECK(route(router, path) == describe(api_id, prefix));

    // Strict routes never cut the root listen path's prefix match short; "/foobar" falls through
    // to it when "/foo" is strict.
    CHECK(routed_id(router, "/foobar") == (strict ? "root-api" : "foo-api"));
}

TEST_CASE("a path no API claims has no match", "[unit][router]") {
    const bool strict = GENERATE(false, true);
    const ApiRouter router({make_api("one", "/one/"), make_api("two", "/two")}, strict);

    const std::string path = GENERATE("/", "/three", "/on", "/tw", "/One/x", "/TWO", "", "one/");
    CAPTURE(strict, path);
    CHECK_FALSE(router.match(path).has_value());
}

TEST_CASE("a router without APIs matches nothing", "[unit][router]") {
    const ApiRouter router({}, false);
    CHECK_FALSE(router.match("/").has_value());
    CHECK_FALSE(router.match("/x").has_value());
    CHECK(router.apis().empty());
    CHECK(router.find_by_id("x") == nullptr);
}

TEST_CASE("find_by_id returns the API with that id and nothing else", "[unit][router]") {
    const auto one = make_api("one", "/one/");
    const auto two = make_api("two", "/two/");
    const ApiRouter router({one, two}, false);

    CHECK(router.find_by_id("one") == one.get());
    CHECK(router.find_by_id("two") == two.get());
    CHECK(router.find_by_id("three") == nullptr);
    CHECK(router.find_by_id("ONE") == nullptr);
    CHECK(router.find_by_id("") == nullptr);
    // Not a listen-path lookup.
    CHECK(router.find_by_id("/one/") == nullptr);

    REQUIRE(router.apis().size() == 2);
    CHECK(router.apis()[0] == one);
    CHECK(router.apis()[1] == two);
}

TEST_CASE("the matched API is the one given to the router, not a copy", "[unit][router]") {
    const auto api = make_api("same", "/same");
    const ApiRouter router({api}, false);
    const auto match = router.match("/same/x");
    REQUIRE(match.has_value());
    CHECK(match->api == api.get());
}

TEST_CASE("a listen path equal to another API's /<api_id>/ route wins over it", "[unit][router]") {
    // The router documents: "listen paths before `/<api_id>/` routes of equal length".
    const auto by_id = make_api("abc", "/x/");
    const auto by_listen = make_api("other", "/abc/");
    const bool id_api_first = GENERATE(true, false);
    const ApiRouter router(id_api_first ? std::vector<ApiPtr>{by_id, by_listen}
                                        : std::vector<ApiPtr>{by_listen, by_id},
                           false);
    CAPTURE(id_api_first);
    CHECK(route(router, "/abc/y") == "other via /abc/");
}

TEST_CASE("internal APIs get no route but can still be found for loops", "[unit][router]") {
    auto internal = std::make_shared<pc::ApiDefinition>();
    internal->api_id = "hidden";
    internal->proxy.listen_path = "/hidden/";
    internal->internal = true;
    const ApiRouter router({make_api("root", "/"), internal}, false);
    CHECK(route(router, "/hidden/x") == "root via /");
    REQUIRE(router.find_by_id("hidden") != nullptr);
    CHECK(router.find_by_id("hidden")->internal);
}
