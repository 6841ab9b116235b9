#include "config/api_definition.hpp"
#include "config/config_error.hpp"
#include "middleware/core/http.hpp"
#include "middleware/transform/endpoint_matcher.hpp"
#include "middleware/transform/header_transform.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace pc = portcullis::config;
namespace pt = portcullis::transform;
using portcullis::Fields;
using Json = nlohmann::json;

namespace {

const char* const kApiFile = "apis/hdr.json";

// A realistic classic API: globals, endpoint entries (one disabled, one with a broken regex, three
// wrongly typed), response entries and a legacy header_injector.
Json realistic_api() {
    return Json::parse(R"({
      "api_id": "hdr-api",
      "org_id": "org1",
      "name": "Headers",
      "use_keyless": true,
      "proxy": {"listen_path": "/hdr/", "target_url": "http://127.0.0.1:9/",
                "strip_listen_path": true},
      "version_data": {
        "not_versioned": true,
        "versions": {
          "Default": {
            "name": "Default",
            "use_extended_paths": true,
            "global_headers": {"x-tier": "$tyk_meta.tier", "X-Static": "static",
                               "X-Both": "global"},
            "global_headers_remove": ["X-Remove-Me"],
            "global_response_headers": {"x-served-by": "portcullis", "X-Order": "global"},
            "global_response_headers_remove": ["Server"],
            "extended_paths": {
              "transform_headers": [
                {"path": "/users/{id}", "method": "GET",
                 "add_headers": {"x-user-path": "yes", "X-Request": "$tyk_context.request_id",
                                 "X-Both": "endpoint"},
                 "delete_headers": ["X-Static", "authorization"]},
                {"path": "/broken/(", "method": "GET", "disabled": true,
                 "add_headers": {}, "delete_headers": []},
                {"path": "/broken/(", "method": "GET",
                 "add_headers": {"x-a": "b"}, "delete_headers": []},
                {"path": "/typed", "method": "GET", "add_headers": {"x-n": 5}},
                {"path": "/users/{id}", "method": "POST", "add_headers": {"x-post": "1"},
                 "delete_headers": []},
                {"path": "/typed2", "method": "GET", "delete_headers": "X-One"},
                "not-an-object"
              ],
              "transform_response_headers": [
                {"path": "/users/*", "method": "GET",
                 "add_headers": {"x-resp": "$tyk_meta.tier", "X-Order": "endpoint"},
                 "delete_headers": ["X-Upstream-Secret"]}
              ]
            }
          }
        }
      },
      "response_processors": [
        {"name": "response_body_transform", "options": {}},
        {"name": "header_injector",
         "options": {"add_headers": {"x-legacy": "L", "X-Order": "legacy"},
                     "remove_headers": ["X-Powered-By"]}}
      ]
    })");
}

struct Compiled {
    pc::ApiDefinition api;
    pt::HeaderTransforms transforms;
    std::vector<pc::ConfigError> errors;
};

Compiled compile(const Json& definition,
                 bool ignore_canonical = false,
                 const pt::MatchOptions& options = {}) {
    Compiled out;
    out.api = pc::parse_api_definition(definition, kApiFile);
    const auto* version = out.api.active_version();
    REQUIRE(version != nullptr);
    out.transforms =
        pt::compile_header_transforms(out.api, *version, options, ignore_canonical, out.errors);
    return out;
}

std::vector<std::string> error_paths(const std::vector<pc::ConfigError>& errors) {
    std::vector<std::string> paths;
    for (const auto& e : errors) {
        paths.push_back(e.json_path);
    }
    return paths;
}

// The name as stored in the fields (spelling included), or "" when absent.
std::string stored_name(const Fields& headers, const std::string& name) {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : std::string(it->name_string());
}

std::string value_of(const Fields& headers, const std::string& name) {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string("<absent>") : std::string(it->value());
}

const Json kMeta = {{"tier", "gold"}, {"credits", 12.5},
                    {"count", 123},   {"groups", Json::array({"a", "b"})},
                    {"flag", true},   {"evil", "a\r\nX-Evil: 1"}};
const Json kContext = {{"request_id", "rid-1"},
                       {"path", "/hdr/users/42"},
                       {"path_parts", Json::array({"", "hdr", "users", "42"})}};

} // namespace

TEST_CASE("header transforms compile from a classic API definition", "[unit][transform]") {
    const auto c = compile(realistic_api());
    const auto& t = c.transforms;

    CHECK_FALSE(t.request_global_disabled);
    CHECK(t.request_global.remove == std::vector<std::string>{"X-Remove-Me"});
    REQUIRE(t.request_global.add.size() == 3);
    // std::map order of the configured names; stored canonicalised.
    CHECK(t.request_global.add[0].first == "X-Both");
    CHECK(t.request_global.add[1].first == "X-Static");
    CHECK(t.request_global.add[2].first == "X-Tier");
    CHECK(t.request_global.add[2].second.source() == "$tyk_meta.tier");

    // Entries 0 and 4 survive: 1 is disabled (its broken regex is never compiled), 2 has a
    // broken regex, 3, 5 and 6 are wrongly typed.
    REQUIRE(t.request_endpoints.size() == 2);
    CHECK(t.request_endpoints[0].method == "GET");
    CHECK(t.request_endpoints[0].pattern.source() == "/users/{id}");
    CHECK(t.request_endpoints[0].spec.remove ==
          std::vector<std::string>{"X-Static", "authorization"});
    CHECK(t.request_endpoints[1].method == "POST");

    REQUIRE(t.response_endpoints.size() == 1);
    CHECK(t.response_endpoints[0].pattern.regex().pattern() == "/users/.*");
    CHECK(t.response_global.remove == std::vector<std::string>{"Server"});
    CHECK(t.response_global.add.size() == 2);
    CHECK(t.legacy_injector.remove == std::vector<std::string>{"X-Powered-By"});
    CHECK(t.legacy_injector.add.size() == 2);
    CHECK_FALSE(t.ignore_canonical);

    const std::string base = "/version_data/versions/Default/extended_paths/transform_headers/";
    CHECK(error_paths(c.errors) == std::vector<std::string>{
                                       base + "2/path",
                                       base + "3/add_headers/x-n",
                                       base + "5/delete_headers",
                                       base + "6",
                                   });
    for (const auto& e : c.errors) {
        CAPTURE(e.to_string());
        CHECK(e.file == kApiFile);
        CHECK_THAT(e.message, Catch::Contains("hdr-api"));
    }
    CHECK_THAT(c.errors[0].message, Catch::Contains("/broken/("));
}

TEST_CASE("extended_paths header entries are ignored without use_extended_paths",
          "[unit][transform]") {
    auto definition = realistic_api();
    definition["version_data"]["versions"]["Default"]["use_extended_paths"] = false;
    const auto c = compile(definition);
    CHECK(c.transforms.request_endpoints.empty());
    CHECK(c.transforms.response_endpoints.empty());
    CHECK(c.errors.empty());
    CHECK(c.transforms.request_global.add.size() == 3);
    CHECK(c.transforms.legacy_injector.add.size() == 2);
}

TEST_CASE("header entries with broken lists, names or legacy options are reported",
          "[unit][transform]") {
    using Row = std::tuple<std::string, std::string, std::string>;
    auto [pointer, replacement,
          expected_path] = GENERATE(table<std::string, std::string, std::string>({
        Row{"/version_data/versions/Default/extended_paths/transform_response_headers",
            R"({"path": "/x"})",
            "/version_data/versions/Default/extended_paths/transform_response_headers"},
        Row{"/version_data/versions/Default/extended_paths/transform_response_headers/0/"
            "method",
            "7",
            "/version_data/versions/Default/extended_paths/transform_response_headers/0/"
            "method"},
        Row{"/version_data/versions/Default/extended_paths/transform_response_headers/0/"
            "disabled",
            R"("yes")",
            "/version_data/versions/Default/extended_paths/transform_response_headers/0/"
            "disabled"},
        Row{"/version_data/versions/Default/global_headers", R"({"Bad Name": "x", "X-Ok": "y"})",
            "/version_data/versions/Default/global_headers/Bad Name"},
        Row{"/version_data/versions/Default/global_response_headers",
            R"({"X-Split\r\nX-Evil": "x"})",
            "/version_data/versions/Default/global_response_headers/X-Split\r\nX-Evil"},
        Row{"/response_processors/1/options/add_headers", R"({"x-n": 1})",
            "/response_processors/1/options/add_headers/x-n"},
        Row{"/response_processors/1/options/remove_headers", R"("X-One")",
            "/response_processors/1/options/remove_headers"},
        Row{"/response_processors/1/options", "[]", "/response_processors/1/options"},
        Row{"/response_processors", R"({"name": "header_injector"})", "/response_processors"},
        Row{"/response_processors/0", "3", "/response_processors/0"},
    }));
    CAPTURE(pointer, replacement);
    auto definition = realistic_api();
    // Drop the entries known to be broken so only the row's problem is reported.
    auto& list =
        definition["version_data"]["versions"]["Default"]["extended_paths"]["transform_headers"];
    list = Json::array({list[0], list[1], list[4]});
    definition[Json::json_pointer(pointer)] = Json::parse(replacement);
    const auto c = compile(definition);
    REQUIRE(c.errors.size() == 1);
    CHECK(c.errors[0].json_path == expected_path);
    CHECK(c.errors[0].file == kApiFile);
    CHECK_THAT(c.errors[0].message, Catch::Contains("hdr-api"));
    CHECK(c.transforms.request_endpoints.size() == 2);
}

TEST_CASE("an invalid header name is skipped, the other headers still apply", "[unit][transform]") {
    auto definition = realistic_api();
    definition["version_data"]["versions"]["Default"]["global_headers"] =
        Json{{"Bad Name", "x"}, {"X-Ok", "y"}};
    const auto c = compile(definition);
    REQUIRE(c.transforms.request_global.add.size() == 1);
    CHECK(c.transforms.request_global.add[0].first == "X-Ok");
}

TEST_CASE("request headers: global remove and set, then the matching entry's delete and add",
          "[unit][transform]") {
    const auto c = compile(realistic_api());
    using Row = std::tuple<std::string, std::string, std::string, std::string>;
    // method, path below the listen path, header, expected value
    auto [method, path, header, expected] =
        GENERATE(table<std::string, std::string, std::string, std::string>({
            Row{"GET", "/users/42", "X-Remove-Me", "<absent>"},
            Row{"GET", "/users/42", "X-Tier", "gold"},
            Row{"GET", "/users/42", "X-Static", "<absent>"}, // set globally, deleted by entry
            Row{"GET", "/users/42", "Authorization", "<absent>"},
            Row{"GET", "/users/42", "X-User-Path", "yes"},
            Row{"GET", "/users/42", "X-Request", "rid-1"},
            Row{"GET", "/users/42", "X-Both", "endpoint"}, // entry's set replaces global's
            Row{"GET", "/users/42", "X-Keep", "kept"},
            Row{"GET", "/users/42", "X-Post", "<absent>"},
            Row{"POST", "/users/42", "X-Post", "1"},
            Row{"POST", "/users/42", "X-Static", "static"},
            Row{"POST", "/users/42", "Authorization", "key"},
            Row{"POST", "/users/42", "X-User-Path", "<absent>"},
            Row{"GET", "/other", "X-Tier", "gold"},
            Row{"GET", "/other", "X-Static", "static"},
            Row{"GET", "/other", "X-User-Path", "<absent>"},
            Row{"GET", "/other", "X-Remove-Me", "<absent>"},
            Row{"get", "/users/42", "X-User-Path", "<absent>"},
        }));
    CAPTURE(method, path, header);
    Fields headers;
    headers.insert("X-Remove-Me", "1");
    headers.insert("x-static", "client");
    headers.insert("Authorization", "key");
    headers.insert("X-Keep", "kept");
    headers.insert("X-Tier", "client-1");
    headers.insert("x-tier", "client-2");
    const std::string full = "/hdr" + path;
    const pt::MatchSubject subject{path, path, full};
    pt::apply_request_headers(headers, c.transforms, method, subject, &kMeta, &kContext);
    CHECK(value_of(headers, header) == expected);
    // A set replaces every existing value of that name.
    CHECK(headers.count("X-Tier") == 1);
}

TEST_CASE("added header names are canonicalised unless ignore_canonical_mime_header_key",
          "[unit][transform]") {
    auto ignore_canonical = GENERATE(false, true);
    CAPTURE(ignore_canonical);
    const auto c = compile(realistic_api(), ignore_canonical);
    CHECK(c.transforms.ignore_canonical == ignore_canonical);
    Fields headers;
    headers.insert("X-TIER", "client");
    const pt::MatchSubject subject{"/users/42", "/users/42", "/hdr/users/42"};
    pt::apply_request_headers(headers, c.transforms, "GET", subject, &kMeta, &kContext);
    CHECK(stored_name(headers, "x-tier") == (ignore_canonical ? "x-tier" : "X-Tier"));
    CHECK(stored_name(headers, "x-user-path") ==
          (ignore_canonical ? "x-user-path" : "X-User-Path"));
    CHECK(headers.count("X-Tier") == 1);
    CHECK(value_of(headers, "X-Tier") == "gold");
}

TEST_CASE("header values expand $tyk_meta and $tyk_context without escaping", "[unit][transform]") {
    auto [value, expected] = GENERATE(table<std::string, std::string>({
        {"$tyk_meta.tier", "gold"},
        {"$tyk_meta.credits", "12.5"},
        {"$tyk_meta.count", "123"},
        {"$tyk_meta.groups", "a,b"},
        {"$tyk_meta.flag", ""},
        {"$tyk_meta.missing", ""},
        {"id-$tyk_meta.count/x", "id-123/x"},
        {"id-$tyk_meta.count-x", "id-"}, // '-' belongs to the name: "count-x" is missing
        {"$tyk_context.request_id", "rid-1"},
        {"$tyk_context.path", "/hdr/users/42"}, // escape=false: '/' stays
        {"$tyk_context.path_parts", "hdr,users,42"},
        {"$tyk_context.nope", ""},
        {"plain value", "plain value"},
        {"$tyk_meta.tier/$tyk_context.request_id", "gold/rid-1"},
    }));
    CAPTURE(value);
    auto definition = realistic_api();
    definition["version_data"]["versions"]["Default"]["global_headers"] = Json{{"X-Out", value}};
    const auto c = compile(definition);
    Fields headers;
    const pt::MatchSubject subject{"/other", "/other", "/hdr/other"};
    pt::apply_request_headers(headers, c.transforms, "GET", subject, &kMeta, &kContext);
    CHECK(value_of(headers, "X-Out") == expected);
}

TEST_CASE("without a session or context variables, references expand to empty values",
          "[unit][transform]") {
    const auto c = compile(realistic_api());
    Fields headers;
    const pt::MatchSubject subject{"/users/1", "/users/1", "/hdr/users/1"};
    pt::apply_request_headers(headers, c.transforms, "GET", subject, nullptr, nullptr);
    CHECK(value_of(headers, "X-Tier") == "");
    CHECK(value_of(headers, "X-Request") == "");
    CHECK(value_of(headers, "X-User-Path") == "yes");
}

TEST_CASE("global_headers_disabled switches only the request globals off", "[unit][transform]") {
    auto definition = realistic_api();
    definition["version_data"]["versions"]["Default"]["global_headers_disabled"] = true;
    const auto c = compile(definition);
    CHECK(c.transforms.request_global_disabled);
    Fields headers;
    headers.insert("X-Remove-Me", "1");
    const pt::MatchSubject subject{"/users/42", "/users/42", "/hdr/users/42"};
    pt::apply_request_headers(headers, c.transforms, "GET", subject, &kMeta, &kContext);
    CHECK(value_of(headers, "X-Remove-Me") == "1");
    CHECK(value_of(headers, "X-Tier") == "<absent>");
    CHECK(value_of(headers, "X-User-Path") == "yes");

    // The response side is independent.
    Fields response;
    response.insert("Server", "upstream");
    pt::apply_response_headers(response, c.transforms, "GET", subject, &kMeta, &kContext);
    CHECK(value_of(response, "Server") == "<absent>");
    CHECK(value_of(response, "X-Served-By") == "portcullis");
}

TEST_CASE("response headers: entry, then globals, then the legacy header_injector",
          "[unit][transform]") {
    auto disabled = GENERATE(false, true);
    CAPTURE(disabled);
    auto definition = realistic_api();
    definition["version_data"]["versions"]["Default"]["global_response_headers_disabled"] =
        disabled;
    const auto c = compile(definition);
    CHECK(c.transforms.response_global_disabled == disabled);

    using Row = std::tuple<std::string, std::string, std::string, std::string, std::string>;
    // method, path, header, expected when enabled, expected when disabled
    auto [method, path, header, enabled_value, disabled_value] =
        GENERATE(table<std::string, std::string, std::string, std::string, std::string>({
            Row{"GET", "/users/42", "X-Resp", "gold", "gold"},
            Row{"GET", "/users/42", "X-Upstream-Secret", "<absent>", "<absent>"},
            Row{"GET", "/users/42", "Server", "<absent>", "upstream"},
            Row{"GET", "/users/42", "X-Served-By", "portcullis", "<absent>"},
            Row{"GET", "/users/42", "X-Powered-By", "<absent>", "php"},
            Row{"GET", "/users/42", "X-Legacy", "L", "<absent>"},
            // Each later step replaces the earlier ones' value.
            Row{"GET", "/users/42", "X-Order", "legacy", "endpoint"},
            Row{"POST", "/users/42", "X-Resp", "<absent>", "<absent>"},
            Row{"POST", "/users/42", "X-Upstream-Secret", "s", "s"},
            Row{"POST", "/users/42", "X-Order", "legacy", "upstream"},
            Row{"GET", "/files/x", "X-Resp", "<absent>", "<absent>"},
        }));
    CAPTURE(method, path, header);
    Fields response;
    response.insert("Server", "upstream");
    response.insert("X-Upstream-Secret", "s");
    response.insert("X-Powered-By", "php");
    response.insert("X-Order", "upstream");
    const std::string full = "/hdr" + path;
    const pt::MatchSubject subject{path, path, full};
    pt::apply_response_headers(response, c.transforms, method, subject, &kMeta, &kContext);
    CHECK(value_of(response, header) == (disabled ? disabled_value : enabled_value));
}

TEST_CASE("expanded values never create a new header line", "[unit][transform]") {
    auto [value, expected] = GENERATE(table<std::string, std::string>({
        {"$tyk_meta.evil", "aX-Evil: 1"},
        {"line1\nline2", "line1line2"},
        {"a\rb", "ab"},
        {std::string("nul\0byte", 8), "nulbyte"},
        {"\r\n", ""},
    }));
    CAPTURE(value);
    auto definition = realistic_api();
    definition["version_data"]["versions"]["Default"]["global_headers"] = Json{{"X-Out", value}};
    definition["version_data"]["versions"]["Default"]["global_response_headers"] =
        Json{{"X-Out", value}};
    const auto c = compile(definition);
    const pt::MatchSubject subject{"/other", "/other", "/hdr/other"};

    Fields request;
    pt::apply_request_headers(request, c.transforms, "GET", subject, &kMeta, &kContext);
    Fields response;
    pt::apply_response_headers(response, c.transforms, "GET", subject, &kMeta, &kContext);
    for (const Fields* headers : {&request, &response}) {
        CHECK(value_of(*headers, "X-Out") == expected);
        CHECK(headers->count("X-Evil") == 0);
        for (const auto& field : *headers) {
            const std::string_view v = field.value();
            CHECK(v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
        }
    }
}

TEST_CASE("header entry paths follow the match options", "[unit][transform]") {
    using Row = std::tuple<bool, bool, bool, std::string, bool>;
    auto [prefix, suffix, ignore_case, path, matches] =
        GENERATE(table<bool, bool, bool, std::string, bool>({
            Row{false, false, false, "/users/42", true},
            Row{false, false, false, "/v2/users/42/more", true},
            Row{true, false, false, "/v2/users/42", false},
            Row{true, true, false, "/users/42/more", false},
            Row{true, true, false, "/users/42", true},
            Row{false, false, false, "/USERS/42", false},
            Row{false, false, true, "/USERS/42", true},
        }));
    CAPTURE(prefix, suffix, ignore_case, path);
    const auto c = compile(realistic_api(), false, pt::MatchOptions{prefix, suffix, ignore_case});
    Fields headers;
    // The full path is the same as the others here so only one form is tried.
    const pt::MatchSubject subject{path, path, path};
    pt::apply_request_headers(headers, c.transforms, "GET", subject, &kMeta, &kContext);
    CHECK((value_of(headers, "X-User-Path") == "yes") == matches);
}
