#include "middleware/transform/url_rewrite.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using portcullis::Fields;
using namespace portcullis;
using namespace portcullis::transform;
using nlohmann::json;

namespace {

/// An API whose Default version holds `url_rewrites`.
config::ApiDefinition make_api(const json& url_rewrites, bool use_extended_paths = true) {
    config::ApiDefinition api;
    api.source_file = "apps/test.json";
    config::VersionInfo version;
    version.key = "Default";
    version.name = "Default";
    version.use_extended_paths = use_extended_paths;
    version.extended_paths = json{{"url_rewrites", url_rewrites}};
    api.version_data.versions.push_back(version);
    return api;
}

/// Compiles one entry (path and method filled in when missing); fails the test on errors.
UrlRewriteRule compile_one(const std::string& entry_text) {
    json entry = json::parse(entry_text);
    if (!entry.contains("path")) {
        entry["path"] = "/";
    }
    if (!entry.contains("method")) {
        entry["method"] = "GET";
    }
    const auto api = make_api(json::array({entry}));
    std::vector<config::ConfigError> errors;
    auto rules = compile_url_rewrites(api, api.version_data.versions[0], MatchOptions{}, errors);
    for (const auto& e : errors) {
        INFO(e.to_string());
    }
    REQUIRE(errors.empty());
    REQUIRE(rules.size() == 1);
    return std::move(rules[0].spec);
}

/// "Name: value" lines separated by '\n'.
Fields make_headers(std::string_view text) {
    Fields fields;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        const auto colon = line.find(':');
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
        fields.insert(line.substr(0, colon), value);
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
    return fields;
}

struct Outcome {
    RewriteResult result;
    json context;
};

Outcome run(const UrlRewriteRule& rule,
            std::string_view path,
            std::string_view query,
            std::string_view headers,
            std::string_view body,
            std::string_view meta_text,
            std::string_view context_text) {
    const Fields fields = make_headers(headers);
    const json meta = meta_text.empty() ? json() : json::parse(meta_text);
    Outcome out;
    out.context = context_text.empty() ? json::object() : json::parse(context_text);
    RewriteInput input;
    input.escaped_path_with_listen_path = path;
    input.query = query;
    input.headers = &fields;
    input.body = body;
    input.meta = meta_text.empty() ? nullptr : &meta;
    input.context = &out.context;
    out.result = apply_url_rewrite(rule, input);
    return out;
}

// Shorthands for the trigger cases taken from Tyk's TestRewriterTriggers (base rewrite_to
// "/change/to/me/ignore").
#define TRIG(pattern, triggers)                                                                    \
    R"J({"match_pattern":")J" pattern                                                              \
    R"J(","rewrite_to":"/change/to/me/ignore","triggers":)J" triggers "}"

} // namespace

TEST_CASE("URL rewrite: Tyk's rewriter and trigger cases", "[unit][url_rewrite]") {
    // name, entry, escaped path, query, headers, body, session meta ("" = no session), context,
    // expected target ("-" = no rewrite)
    using Row = std::tuple<const char*, const char*, const char*, const char*, const char*,
                           const char*, const char*, const char*, const char*>;
    auto [name, entry, path, query, headers, body, meta, context,
          expect] = GENERATE(table<const char*, const char*, const char*, const char*, const char*,
                                   const char*, const char*, const char*, const char*>({
        // --- TestRewriter ----------------------------------------------------------------------
        Row{"Encoded",
            R"J({"match_pattern":"/test/payment-intents","rewrite_to":"/change/to/me"})J",
            "/test/payment%2Dintents", "", "", "", "", "", "/change/to/me"},
        Row{"MatchEncodedChars",
            R"J({"match_pattern":"^(.+)%2[Dd](.+)$","rewrite_to":"/change/to/me"})J",
            "/test/payment%2Dintents", "", "", "", "", "", "/change/to/me"},
        Row{"Straight",
            R"J({"match_pattern":"/test/straight/rewrite","rewrite_to":"/change/to/me"})J",
            "/test/straight/rewrite", "", "", "", "", "", "/change/to/me"},
        Row{"OneVal", R"J({"match_pattern":"test/val/(.*)","rewrite_to":"change/to/$1"})J",
            "/test/val/VALUE", "", "", "", "", "", "change/to/VALUE"},
        Row{"ThreeVals",
            R"J({"match_pattern":"/test/val/(.*)/space/(.*)/and/then/(.*)","rewrite_to":"/change/to/$1/$2/$3"})J",
            "/test/val/ONE/space/TWO/and/then/THREE", "", "", "", "", "",
            "/change/to/ONE/TWO/THREE"},
        Row{"Reverse",
            R"J({"match_pattern":"/test/val/(.*)/space/(.*)/and/then/(.*)","rewrite_to":"/change/to/$3/$2/$1"})J",
            "/test/val/ONE/space/TWO/and/then/THREE", "", "", "", "", "",
            "/change/to/THREE/TWO/ONE"},
        Row{"Missing",
            R"J({"match_pattern":"/test/val/(.*)/space/(.*)/and/then/(.*)","rewrite_to":"/change/to/$1/$2"})J",
            "/test/val/ONE/space/TWO/and/then/THREE", "", "", "", "", "", "/change/to/ONE/TWO"},
        Row{"MissingAgain",
            R"J({"match_pattern":"/test/val/(.*)/space/(.*)/and/then/(.*)","rewrite_to":"/change/to/$3/$1"})J",
            "/test/val/ONE/space/TWO/and/then/THREE", "", "", "", "", "", "/change/to/THREE/ONE"},
        Row{"QS", R"J({"match_pattern":"(.*)","rewrite_to":"$1&newParam=that"})J", "/foo/bar",
            "param1=this", "", "", "", "", "/foo/bar?param1=this&newParam=that"},
        Row{"QS2",
            R"J({"match_pattern":"/test/val/(.*)/space/(.*)/and/then(.*)","rewrite_to":"/change/to/$2/$1$3"})J",
            "/test/val/ONE/space/TWO/and/then", "param1=this", "", "", "", "",
            "/change/to/TWO/ONE?param1=this"},
        // --- TestRewriterTriggers --------------------------------------------------------------
        Row{"Header Single",
            TRIG("/test/straight/rewrite",
                 R"J([{"on":"any","options":{"header_matches":{"x-test":{"match_rx":"hello"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-X-Test-0"}])J"),
            "/test/straight/rewrite", "", "X-Test: hello", "", "", "", "/change/to/me/hello"},
        Row{"Header Single Group",
            TRIG(
                "/test/straight/rewrite",
                R"J([{"on":"any","options":{"header_matches":{"x-test":{"match_rx":"hello-(\\w+)"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-X-Test-0-0"}])J"),
            "/test/straight/rewrite", "", "X-Test: hello-world", "", "", "", "/change/to/me/world"},
        Row{"Header Multi Any",
            TRIG("/test/straight/rewrite",
                 R"J([{"on":"any","options":{"header_matches":{"x-test":{"match_rx":"hello"},
                     "x-test-Two":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-X-Test-Two-0"}])J"),
            "/test/straight/rewrite", "", "X-Test-Two: bar", "", "", "", "/change/to/me/bar"},
        Row{"Header Multi All Fail",
            TRIG("/test/straight/rewrite",
                 R"J([{"on":"all","options":{"header_matches":{"x-test":{"match_rx":"hello"},
                     "x-test-Two":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-X-Test-Two-0"}])J"),
            "/test/straight/rewrite", "", "X-Test-Two: bar", "", "", "", "/change/to/me/ignore"},
        Row{"Header Multi All Pass",
            TRIG("/test/straight/rewrite",
                 R"J([{"on":"all","options":{"header_matches":{"x-test":{"match_rx":"hello"},
                     "x-test-Two":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-X-Test-0"}])J"),
            "/test/straight/rewrite", "", "X-Test-Two: bar\nX-Test: hello", "", "", "",
            "/change/to/me/hello"},
        Row{"Header Many Multi Any Pass",
            TRIG("/test/straight/rewrite",
                 R"J([{"on":"any","options":{"header_matches":{"x-test":{"match_rx":"hello"},
                     "x-test-Two":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-X-Test-0"},
                    {"on":"any","options":{"header_matches":{"y-test":{"match_rx":"baz"},
                     "y-test-Two":{"match_rx":"fnee"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-1-Y-Test-0"}])J"),
            "/test/straight/rewrite", "", "Y-Test: baz\nY-Test-Two: qux", "", "", "",
            "/change/to/me/baz"},
        Row{"Header Reverse Logic Any Pass",
            TRIG("/test/straight/rewrite",
                 R"J([{"on":"any","options":{"header_matches":{"x-test":{"match_rx":"hello"},
                     "x-test-Two":{"match_rx":"w.*","reverse":true}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-X-Test-0"}])J"),
            "/test/straight/rewrite", "", "X-Test: hello\nX-Test-Two: world", "", "", "",
            "/change/to/me/hello"},
        Row{"Header Reverse Logic All Fail",
            TRIG("/test/straight/rewrite",
                 R"J([{"on":"all","options":{"header_matches":{"x-test":{"match_rx":"hello"},
                     "x-test-Two":{"match_rx":"w.*","reverse":true}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-X-Test-0"}])J"),
            "/test/straight/rewrite", "", "X-Test: hello\nX-Test-Two: world", "", "", "",
            "/change/to/me/ignore"},
        Row{"Query Single",
            TRIG("/test/query/rewrite",
                 R"J([{"on":"any","options":{"query_val_matches":{"x_test":{"match_rx":"foo"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-x_test-0"}])J"),
            "/test/query/rewrite", "x_test=foo", "", "", "", "", "/change/to/me/foo"},
        Row{"Query Single Group",
            TRIG(
                "/test/query/rewrite",
                R"J([{"on":"any","options":{"query_val_matches":{"x_test":{"match_rx":"foo-(\\w+)"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-x_test-0-0"}])J"),
            "/test/query/rewrite", "x_test=foo-bar", "", "", "", "", "/change/to/me/bar"},
        Row{"Query Multi All",
            TRIG("/test/query/rewrite",
                 R"J([{"on":"all","options":{"query_val_matches":{"x_test":{"match_rx":"foo"},
                     "y_test":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-y_test-0"}])J"),
            "/test/query/rewrite", "x_test=foo&y_test=bar", "", "", "", "", "/change/to/me/bar"},
        Row{"Multi Multi Type Any",
            TRIG("/test/query/rewrite",
                 R"J([{"on":"any","options":{"query_val_matches":{"x_test":{"match_rx":"foo"}},
                     "header_matches":{"y-test":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-x_test-0"}])J"),
            "/test/query/rewrite", "x_test=foo", "Y-Test: qux", "", "", "", "/change/to/me/foo"},
        Row{"Multi Multi Type All",
            TRIG("/test/query/rewrite",
                 R"J([{"on":"all","options":{"query_val_matches":{"x_test":{"match_rx":"foo"}},
                     "header_matches":{"y-test":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-Y-Test-0"}])J"),
            "/test/query/rewrite", "x_test=foo", "Y-Test: bar", "", "", "", "/change/to/me/bar"},
        Row{"Multi Multi Type All Fail",
            TRIG("/test/query/rewrite",
                 R"J([{"on":"all","options":{"query_val_matches":{"x_test":{"match_rx":"foo"}},
                     "header_matches":{"y-test":{"match_rx":"bar"},"z-test":{"match_rx":"baz"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-Y-Test-0"}])J"),
            "/test/query/rewrite", "x_test=foo", "Y-Test: bar\nZ-Test: fnee", "", "", "",
            "/change/to/me/ignore"},
        Row{"Multi Multi Type Reverse Logic All Fail",
            TRIG("/test/query/rewrite",
                 R"J([{"on":"all","options":{"query_val_matches":{"x_test":{"match_rx":"foo"}},
                     "header_matches":{"y-test":{"match_rx":"bar"},
                     "z-test":{"match_rx":"baz","reverse":true}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-Y-Test-0"}])J"),
            "/test/query/rewrite", "x_test=foo", "Y-Test: bar\nZ-Test: baz", "", "", "",
            "/change/to/me/ignore"},
        Row{"Multi Multi Type Reverse Logic Any",
            TRIG("/test/query/rewrite",
                 R"J([{"on":"any","options":{"query_val_matches":{"x_test":{"match_rx":"foo"}},
                     "header_matches":{"y-test":{"match_rx":"bar"},
                     "z-test":{"match_rx":"baz","reverse":true}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-Y-Test-0"}])J"),
            "/test/query/rewrite", "x_test=foo", "Y-Test: bar\nZ-Test: baz", "", "", "",
            "/change/to/me/bar"},
        Row{"Payload Single",
            TRIG("/test/pl/rewrite",
                 R"J([{"on":"any","options":{"payload_matches":{"match_rx":"bar"}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-payload"}])J"),
            "/test/pl/rewrite", "", "", R"J({"foo":"bar"})J", "", "", "/change/to/me/bar"},
        Row{"Payload Multiple Match",
            TRIG("/test/pl/rewrite",
                 R"J([{"on":"any","options":{"payload_matches":{"match_rx":"bar\\w*"}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-payload-0/$tyk_context.trigger-0-payload-1"}])J"),
            "/test/pl/rewrite", "", "", R"J({"foo":"barxxx", "fooble":"baryyy"})J", "", "",
            "/change/to/me/barxxx/baryyy"},
        Row{"Payload Multiple Match Groups",
            TRIG("/test/pl/rewrite",
                 R"J([{"on":"any","options":{"payload_matches":{"match_rx":"bar(\\w*)"}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-payload-0-0/$tyk_context.trigger-0-payload-1-0"}])J"),
            "/test/pl/rewrite", "", "", R"J({"foo":"barxxx", "fooble":"baryyy"})J", "", "",
            "/change/to/me/xxx/yyy"},
        Row{"Multi Type All",
            TRIG("/test/pl/rewrite",
                 R"J([{"on":"all","options":{"payload_matches":{"match_rx":"bar"},
                     "header_matches":{"x-test":{"match_rx":"apple"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-payload-0/$tyk_context.trigger-0-X-Test-0"}])J"),
            "/test/pl/rewrite", "", "X-Test: apple", R"J({"foo":"bar"})J", "", "",
            "/change/to/me/bar/apple"},
        Row{"Multi Multi Type Reverse Logic Any 1",
            TRIG("/test/pl/rewrite",
                 R"J([{"on":"any","options":{"payload_matches":{"match_rx":"bar"},
                     "header_matches":{"x-test":{"match_rx":"apple","reverse":true}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-payload-0/$tyk_context.trigger-0-X-Test-0"}])J"),
            "/test/pl/rewrite", "", "X-Test: apple", R"J({"foo":"bar"})J", "", "",
            "/change/to/me/bar/"},
        Row{"Multi Multi Type Reverse Logic Any 2",
            TRIG("/test/pl/rewrite",
                 R"J([{"on":"any","options":{"payload_matches":{"match_rx":"bar","reverse":true},
                     "header_matches":{"x-test":{"match_rx":"apple"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-payload-0/$tyk_context.trigger-0-X-Test-0"}])J"),
            "/test/pl/rewrite", "", "X-Test: apple", R"J({"foo":"bar"})J", "", "",
            "/change/to/me//apple"},
        Row{"PathPart Single",
            TRIG("/test/foo/rewrite",
                 R"J([{"on":"any","options":{"path_part_matches":{"pathpart":{"match_rx":"foo"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-pathpart-0"}])J"),
            "/test/foo/rewrite", "", "", "", "", "", "/change/to/me/foo"},
        Row{"PathPart Single Group",
            TRIG(
                "/test/foobar/rewrite",
                R"J([{"on":"any","options":{"path_part_matches":{"pathpart":{"match_rx":"foo(\\w+)"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-pathpart-0-0"}])J"),
            "/test/foobar/rewrite", "", "", "", "", "", "/change/to/me/bar"},
        Row{"PathPart MoreParts",
            TRIG("/test/foo/rewrite/foo",
                 R"J([{"on":"any","options":{"path_part_matches":{"pathpart":{"match_rx":"foo"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-pathpart-0/biz/$tyk_context.trigger-0-pathpart-1"}])J"),
            "/test/foo/rewrite/foo", "", "", "", "", "", "/change/to/me/foo/biz/foo"},
        Row{"Meta Simple",
            TRIG("/test/foo/rewrite",
                 R"J([{"on":"any","options":{"session_meta_matches":{"rewrite":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-rewrite"}])J"),
            "/test/foo/rewrite", "", "", "", R"J({"rewrite":"bar-baz"})J", "", "/change/to/me/bar"},
        Row{"Meta Simple Group",
            TRIG(
                "/test/foo/rewrite",
                R"J([{"on":"any","options":{"session_meta_matches":{"rewrite":{"match_rx":"bar-(\\w+)"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-rewrite-0"}])J"),
            "/test/foo/rewrite", "", "", "", R"J({"rewrite":"bar-baz"})J", "", "/change/to/me/baz"},
        Row{"Meta Value from Session",
            TRIG("/test/foo/rewrite",
                 R"J([{"on":"any","options":{"session_meta_matches":{"rewrite":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-rewrite/$tyk_meta.somevar"}])J"),
            "/test/foo/rewrite", "", "", "", R"J({"rewrite":"bar-baz","somevar":"someval"})J", "",
            "/change/to/me/bar/someval"},
        Row{"Request context",
            TRIG(
                "/test/foo/rewrite",
                R"J([{"on":"any","options":{"request_context_matches":{"rewrite":{"match_rx":"bar"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-rewrite"}])J"),
            "/test/foo/rewrite", "", "", "", "", R"J({"rewrite":"bar-baz"})J", "/change/to/me/bar"},
        Row{"Variable not found",
            TRIG("/test/foo/rewrite",
                 R"J([{"on":"any","options":{"path_part_matches":{"pathpart":{"match_rx":"foo"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-pathpart-0/$tyk_context.nonexistent/$tyk_meta.nonexistent"}])J"),
            "/test/foo/rewrite", "", "", "", R"J({"rewrite":"bar-baz"})J", "",
            "/change/to/me/foo//"},
        Row{"Session not found",
            TRIG("/test/foo/rewrite",
                 R"J([{"on":"any","options":{"path_part_matches":{"pathpart":{"match_rx":"foo"}}},
                     "rewrite_to":"/change/to/me/$tyk_context.trigger-0-pathpart-0/$tyk_meta.nonexistent"}])J"),
            "/test/foo/rewrite", "", "", "", "", "", "/change/to/me/foo/"},
        // --- Subject, groups and escaping --------------------------------------------------------
        Row{"subject keeps the listen path: ^ anchored pattern misses (#5601)",
            R"J({"match_pattern":"^/widgets/(.*)","rewrite_to":"/w/$1"})J", "/api/widgets/7", "",
            "", "", "", "", "-"},
        Row{"pattern written with the listen path",
            R"J({"match_pattern":"^/api/widgets/(.*)","rewrite_to":"/w/$1"})J", "/api/widgets/7",
            "", "", "", "", "", "/w/7"},
        Row{"query is part of the subject",
            R"J({"match_pattern":"/s\\?q=(\\w+)","rewrite_to":"/search/$1"})J", "/s", "q=cats", "",
            "", "", "", "/search/cats"},
        Row{"client query dropped unless captured",
            R"J({"match_pattern":"/s","rewrite_to":"/search"})J", "/s", "q=cats", "", "", "", "",
            "/search"},
        Row{"$1 seen before $10 corrupts it",
            R"J({"match_pattern":"/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)","rewrite_to":"/$1/$10"})J",
            "/abcdefghij", "", "", "", "", "", "/a/a0"},
        Row{"$10 seen first is replaced intact",
            R"J({"match_pattern":"/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)","rewrite_to":"/$10/$1"})J",
            "/abcdefghij", "", "", "", "", "", "/j/a"},
        Row{"$0 is the whole match", R"J({"match_pattern":"/foo/(\\d+)","rewrite_to":"/bar$0"})J",
            "/foo/12", "", "", "", "", "", "/bar/foo/12"},
        Row{"groups between variables (pieces parsed at load)",
            R"J({"match_pattern":"/x/(\\w+)/(\\w+)",
                 "rewrite_to":"/a/$tyk_meta.user/$1/$tyk_context.c/$2"})J",
            "/x/p/q", "", "", "", R"J({"user":"u v"})J", R"J({"c":"ctx"})J", "/a/u+v/p/ctx/q"},
        Row{"a group right after a meta name extends the name (Tyk replaces groups first)",
            R"J({"match_pattern":"/foo/(\\d+)","rewrite_to":"/m/$tyk_meta.user$1"})J", "/foo/12",
            "", "", "", R"J({"user":"u","user12":"twelve"})J", "", "/m/twelve"},
        Row{"a group value naming a variable is expanded by the later pass",
            R"J({"match_pattern":"/p/(.*)","rewrite_to":"/q/$1"})J", "/p/$tyk_meta.user", "", "",
            "", R"J({"user":"u"})J", "", "/q/u"},
        Row{"groups with interacting meta names keep Tyk's replace-all result",
            R"J({"match_pattern":"/x/(\\w+)","rewrite_to":"/$tyk_meta.org/$1/$tyk_meta.org_id"})J",
            "/x/g", "", "", "", R"J({"org":"O","org_id":"I"})J", "", "/O/g/O_id"},
        Row{"groups with a label followed by any character (Tyk's unescaped '.')",
            R"J({"match_pattern":"/x/(\\w+)","rewrite_to":"/$tyk_context.a/$1/$tyk_contextXb"})J",
            "/x/g", "", "", "", "", R"J({"a":"A","b":"B"})J", "/A/g/"},
        Row{"a group completing a label followed by any character",
            R"J({"match_pattern":"/x/(\\w+)","rewrite_to":"/$tyk_context.a/$tyk_context/$1"})J",
            "/x/g", "", "", "", "", R"J({"a":"A"})J", "/A/"},
        Row{"an unescaped http value holding a later reference is expanded by the same pass",
            R"J({"match_pattern":"/x/(\\w+)","rewrite_to":"/$tyk_context.a/$1/$tyk_context.b"})J",
            "/x/g", "", "", "", "", R"J({"a":"http://h/$tyk_context.b","b":"B"})J",
            "/http://h/B/g/B"},
        Row{"a '$' right before a group stays literal",
            R"J({"match_pattern":"/foo/(\\d+)","rewrite_to":"/a/$$1"})J", "/foo/12", "", "", "", "",
            "", "/a/$12"},
        Row{"$01 and unknown groups become empty",
            R"J({"match_pattern":"/foo/(\\d+)","rewrite_to":"/x$01/$7/$1"})J", "/foo/12", "", "",
            "", "", "", "/x//12"},
        Row{"escaped subject kept escaped in groups",
            R"J({"match_pattern":"/files/(.*)","rewrite_to":"/f/$1"})J", "/files/a%20b", "", "", "",
            "", "", "/f/a%20b"},
        Row{"retry on the unescaped subject captures decoded text",
            R"J({"match_pattern":"/a b/(.*)","rewrite_to":"/x/$1"})J", "/a%20b/c%20d", "", "", "",
            "", "", "/x/c d"},
        Row{"meta value query-escaped", R"J({"match_pattern":"/m","rewrite_to":"/m/$tyk_meta.v"})J",
            "/m", "", "", "", R"J({"v":"a b/c"})J", "", "/m/a+b%2Fc"},
        Row{"value starting with http is not escaped",
            R"J({"match_pattern":"/m","rewrite_to":"$tyk_meta.u/x"})J", "/m", "", "", "",
            R"J({"u":"http://up.example/a b"})J", "", "http://up.example/a b/x"},
        Row{"absolute target built from groups",
            R"J({"match_pattern":"/go/(.*)","rewrite_to":"https://example.com/$1"})J", "/go/x/y",
            "", "", "", "", "", "https://example.com/x/y"},
        Row{"loop target",
            R"J({"match_pattern":"/loop","rewrite_to":"tyk://self/other?method=POST"})J", "/loop",
            "", "", "", "", "", "tyk://self/other?method=POST"},
        Row{"no match: no rewrite", R"J({"match_pattern":"/nope","rewrite_to":"/x"})J", "/yes", "",
            "", "", "", "", "-"},
        Row{"no match but the client URL names a variable: Tyk expands it in place",
            R"J({"match_pattern":"/nope","rewrite_to":"/x"})J", "/x/$tyk_meta.k", "", "", "",
            R"J({"k":"v"})J", "", "/x/v"},
        // --- Trigger semantics
        // ---------------------------------------------------------------------
        Row{"no match -> no rewrite even though a trigger fired",
            R"J({"match_pattern":"/nope","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"header_matches":{"X-Test":{"match_rx":"hello"}}},"rewrite_to":"/t"}]})J",
            "/yes", "", "X-Test: hello", "", "", "", "-"},
        Row{"absent header is no hit, even with reverse",
            R"J({"match_pattern":"/r","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"header_matches":{"X-Missing":{"match_rx":"foo","reverse":true}}},
                "rewrite_to":"/t"}]})J",
            "/r", "", "X-Other: bar", "", "", "", "/base"},
        Row{"present header reverse hit stores nothing",
            R"J({"match_pattern":"/r","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"header_matches":{"X-Test":{"match_rx":"foo","reverse":true}}},
                "rewrite_to":"/t/$tyk_context.trigger-0-X-Test-0"}]})J",
            "/r", "", "X-Test: bar", "", "", "", "/t/"},
        Row{"header option name is canonicalised; each value has its index",
            R"J({"match_pattern":"/r","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"header_matches":{"x-TEST":{"match_rx":"(\\d)"}}},
                "rewrite_to":"/t/$tyk_context.trigger-0-X-Test-1-0"}]})J",
            "/r", "", "x-test: a1\nX-Test: b2", "", "", "", "/t/2"},
        Row{"Host is not among Go's request headers: a Host option never hits",
            R"J({"match_pattern":"/r","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"header_matches":{"host":{"match_rx":"."}}},"rewrite_to":"/t"}]})J",
            "/r", "", "Host: example.com", "", "", "", "/base"},
        Row{"all counts hits, not options (two values of one header pass two options)",
            R"J({"match_pattern":"/r","rewrite_to":"/base","triggers":[{"on":"all",
                "options":{"header_matches":{"X-A":{"match_rx":"."},"X-B":{"match_rx":"."}}},
                "rewrite_to":"/t"}]})J",
            "/r", "", "X-A: 1\nX-A: 2", "", "", "", "/t"},
        Row{"query values are decoded and indexed per name",
            R"J({"match_pattern":"/q","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"query_val_matches":{"q":{"match_rx":"^x (\\d)$"}}},
                "rewrite_to":"/t/$tyk_context.trigger-0-q-1-0/$tyk_context.trigger-0-q-0"}]})J",
            "/q", "q=x+1&q=x%202", "", "", "", "", "/t/2/x+1"},
        Row{"query name is exact (case-sensitive)",
            R"J({"match_pattern":"/q","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"query_val_matches":{"Q":{"match_rx":"x"}}},"rewrite_to":"/t"}]})J",
            "/q", "q=x", "", "", "", "", "/base"},
        Row{"path parts come from the decoded path",
            R"J({"match_pattern":"/p","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"path_part_matches":{"pp":{"match_rx":"^caf(.+)$"}}},
                "rewrite_to":"/t/$tyk_context.trigger-0-pp-0-0"}]})J",
            "/p/caf%C3%A9", "", "", "", "", "", "/t/%C3%A9"},
        Row{"meta value must be a string",
            R"J({"match_pattern":"/m","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"session_meta_matches":{"n":{"match_rx":"5"}}},"rewrite_to":"/t"}]})J",
            "/m", "", "", "", R"J({"n":5})J", "", "/base"},
        Row{"context value must be a string",
            R"J({"match_pattern":"/c","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"request_context_matches":{"path_parts":{"match_rx":"c"}}},
                "rewrite_to":"/t"}]})J",
            "/c", "", "", "", "", R"J({"path_parts":["","c"]})J", "/base"},
        Row{"context match with group",
            R"J({"match_pattern":"/c","rewrite_to":"/base","triggers":[{"on":"all",
                "options":{"request_context_matches":{"headers_X_Tenant":{"match_rx":"^t-(\\w+)$"}}},
                "rewrite_to":"/tenant/$tyk_context.trigger-0-headers_X_Tenant-0"}]})J",
            "/c", "", "", "", "", R"J({"headers_X_Tenant":"t-acme"})J", "/tenant/acme"},
        Row{"all with session meta but no session never fires",
            R"J({"match_pattern":"/m","rewrite_to":"/base","triggers":[{"on":"all",
                "options":{"session_meta_matches":{"k":{"match_rx":"."}}},"rewrite_to":"/t"}]})J",
            "/m", "", "", "", "", "", "/base"},
        Row{"payload reverse passes on a body that does not match, storing nothing",
            R"J({"match_pattern":"/b","rewrite_to":"/base","triggers":[{"on":"any",
                "options":{"payload_matches":{"match_rx":"bar","reverse":true}},
                "rewrite_to":"/t/$tyk_context.trigger-0-payload"}]})J",
            "/b", "", "", "hello", "", "", "/t/"},
        Row{"empty payload match_rx means no payload check",
            R"J({"match_pattern":"/b","rewrite_to":"/base","triggers":[{"on":"all",
                "options":{"payload_matches":{"match_rx":""},
                "header_matches":{"X-A":{"match_rx":"1"}}},"rewrite_to":"/t"}]})J",
            "/b", "", "X-A: 1", "", "", "", "/t"},
        Row{"missing 'on' behaves as all",
            R"J({"match_pattern":"/o","rewrite_to":"/base","triggers":[{
                "options":{"header_matches":{"X-A":{"match_rx":"1"}},
                "query_val_matches":{"a":{"match_rx":"1"}}},"rewrite_to":"/t"}]})J",
            "/o", "", "X-A: 1", "", "", "", "/base"},
        Row{"all with no options always fires",
            R"J({"match_pattern":"/o","rewrite_to":"/base","triggers":[{"on":"all","options":{},
                "rewrite_to":"/empty"}]})J",
            "/o", "", "", "", "", "", "/empty"},
        Row{"first firing trigger wins",
            R"J({"match_pattern":"/f","rewrite_to":"/base","triggers":[
                {"on":"any","options":{"header_matches":{"X-A":{"match_rx":"no"}}},"rewrite_to":"/t0"},
                {"on":"any","options":{"header_matches":{"X-A":{"match_rx":"yes"}}},"rewrite_to":"/t1"},
                {"on":"any","options":{"header_matches":{"X-A":{"match_rx":"y"}}},"rewrite_to":"/t2"}]})J",
            "/f", "", "X-A: yes", "", "", "", "/t1"},
        Row{"trigger target groups use the base match",
            R"J({"match_pattern":"/u/(\\d+)","rewrite_to":"/base/$1","triggers":[{"on":"any",
                "options":{"header_matches":{"X-V":{"match_rx":"2"}}},"rewrite_to":"/v2/users/$1"}]})J",
            "/u/42", "", "X-V: 2", "", "", "", "/v2/users/42"},
        Row{"trigger value from a failed earlier trigger is still usable",
            R"J({"match_pattern":"/s","rewrite_to":"/base","triggers":[
                {"on":"all","options":{"header_matches":{"X-A":{"match_rx":"(.+)"}},
                 "query_val_matches":{"never":{"match_rx":"."}}},"rewrite_to":"/t0"},
                {"on":"any","options":{"header_matches":{"X-A":{"match_rx":"."}}},
                 "rewrite_to":"/t1/$tyk_context.trigger-0-X-A-0-0"}]})J",
            "/s", "", "X-A: kept", "", "", "", "/t1/kept"},
    }));

    INFO(name);
    const UrlRewriteRule rule = compile_one(entry);
    const Outcome out = run(rule, path, query, headers, body, meta, context);
    CHECK(out.result.error.empty());
    if (std::string_view(expect) == "-") {
        CHECK_FALSE(out.result.rewritten);
    } else {
        CHECK(out.result.rewritten);
        CHECK(out.result.target == expect);
    }
}

TEST_CASE("URL rewrite: trigger values land in the context, even for a trigger that fails",
          "[unit][url_rewrite]") {
    const UrlRewriteRule rule = compile_one(R"J({"match_pattern":"/s","rewrite_to":"/base",
        "triggers":[{"on":"all","options":{
            "header_matches":{"x-foo":{"match_rx":"v-(\\d+)-(\\w+)"}},
            "path_part_matches":{"part":{"match_rx":"^s$"}},
            "payload_matches":{"match_rx":"a(\\d)"},
            "query_val_matches":{"missing":{"match_rx":"."}}},
        "rewrite_to":"/never"}]})J");
    const Outcome out = run(rule, "/s", "", "X-Foo: v-12-ab", "a1 a2", "", "{}");
    REQUIRE(out.result.rewritten);
    CHECK(out.result.target == "/base");
    const json expected = {
        {"trigger-0-X-Foo-0", "v-12-ab"}, {"trigger-0-X-Foo-0-0", "12"},
        {"trigger-0-X-Foo-0-1", "ab"},    {"trigger-0-part-0", "s"},
        {"trigger-0-payload", "a1"},      {"trigger-0-payload-0", "a1"},
        {"trigger-0-payload-0-0", "1"},   {"trigger-0-payload-1", "a2"},
        {"trigger-0-payload-1-0", "2"},
    };
    CHECK(out.context == expected);
}

TEST_CASE("URL rewrite: path part index is the running hit count over all options",
          "[unit][url_rewrite]") {
    const UrlRewriteRule rule = compile_one(R"J({"match_pattern":"/","rewrite_to":"/base",
        "triggers":[{"on":"any","options":{"path_part_matches":{
            "a":{"match_rx":"^x$"},"b":{"match_rx":"^y$"}}},"rewrite_to":"/t"}]})J");
    const Outcome out = run(rule, "/x/y/x", "", "", "", "", "");
    CHECK(out.result.target == "/t");
    // Options in JSON key order: "a" hits twice (indices 0, 1), then "b" continues at 2.
    CHECK(out.context ==
          json{{"trigger-0-a-0", "x"}, {"trigger-0-a-1", "x"}, {"trigger-0-b-2", "y"}});
}

TEST_CASE("URL rewrite: bad escape in an unmatched URL is Tyk's 500", "[unit][url_rewrite]") {
    const UrlRewriteRule rule = compile_one(R"J({"match_pattern":"/nope","rewrite_to":"/x"})J");
    const Outcome out = run(rule, "/foo", "a=%zz", "", "", "", "");
    CHECK_FALSE(out.result.rewritten);
    CHECK(out.result.error == "failed to decode URL path: /foo?a=%zz");
    // A match on the raw subject never looks at the escapes.
    const UrlRewriteRule any = compile_one(R"J({"match_pattern":"/foo","rewrite_to":"/x"})J");
    CHECK(run(any, "/foo", "a=%zz", "", "", "", "").result.target == "/x");
}

TEST_CASE("URL rewrite: a control character in the result is Tyk's 500, never a split request line",
          "[unit][url_rewrite][hostile]") {
    // A metadata value starting with "http" is not escaped (Tyk's rule), so CR/LF could arrive.
    const UrlRewriteRule rule =
        compile_one(R"J({"match_pattern":"/m","rewrite_to":"$tyk_meta.u/x"})J");
    const Outcome bad =
        run(rule, "/m", "", "", "", R"J({"u":"http://h/a HTTP/1.1\r\nX-Injected: 1\r\n"})J", "");
    CHECK(bad.result.error == "net/url: invalid control character in URL");
    const Outcome nul = run(rule, "/m", "", "", "", R"J({"u":"http://h/a\u0000b"})J", "");
    CHECK(nul.result.error == "net/url: invalid control character in URL");
    const Outcome good = run(rule, "/m", "", "", "", R"J({"u":"http://h/a"})J", "");
    CHECK(good.result.error.empty());
    CHECK(good.result.target == "http://h/a/x");
    // Escaped values (not starting with "http") are percent-encoded, so they pass.
    const UrlRewriteRule escaped =
        compile_one(R"J({"match_pattern":"/m","rewrite_to":"/m/$tyk_meta.v"})J");
    const Outcome enc = run(escaped, "/m", "", "", "", R"J({"v":"a\r\nb"})J", "");
    CHECK(enc.result.error.empty());
    CHECK(enc.result.target.find('\r') == std::string::npos);
}

TEST_CASE("URL rewrite: compile errors name the file and JSON path; the entry is skipped",
          "[unit][url_rewrite]") {
    const std::string base = "/version_data/versions/Default/extended_paths/url_rewrites/0";
    auto [entry, where] = GENERATE(table<const char*, const char*>({
        {R"J({"path":"/a","method":"GET","match_pattern":"(","rewrite_to":"/x"})J",
         "/match_pattern"},
        {R"J({"path":"/a","method":"GET","match_pattern":"a","rewrite_to":"/x","triggers":[
            {"on":"any","options":{},"rewrite_to":"/y"},
            {"on":"any","options":{"header_matches":{"X-Foo":{"match_rx":"[z"}}},"rewrite_to":"/y"}]})J",
         "/triggers/1/options/header_matches/X-Foo/match_rx"},
        {R"J({"path":"/a","method":"GET","match_pattern":"a","rewrite_to":"/x","triggers":[
            {"on":"any","options":{"payload_matches":{"match_rx":"(?P<"}},"rewrite_to":"/y"}]})J",
         "/triggers/0/options/payload_matches/match_rx"},
        {R"J({"path":"/a","method":"GET","match_pattern":"a","rewrite_to":"/x","triggers":[
            {"on":"any","options":{"query_val_matches":{"a/b":{"match_rx":"x","reverse":"yes"}}},
             "rewrite_to":"/y"}]})J",
         "/triggers/0/options/query_val_matches/a~1b/reverse"},
        {R"J({"path":"/a","method":"GET","match_pattern":"a","rewrite_to":"/x","triggers":{}})J",
         "/triggers"},
        {R"J({"path":"/a","method":"GET","match_pattern":"a","rewrite_to":5})J", "/rewrite_to"},
        {R"J({"path":"/a","method":"GET","match_pattern":"a","rewrite_to":"/x","triggers":[
            {"on":"any","options":{"session_meta_matches":[]},"rewrite_to":"/y"}]})J",
         "/triggers/0/options/session_meta_matches"},
        {R"J(["not an object"])J", ""},
    }));
    json entries = json::array({json::parse(entry)});
    if (entries[0].is_array()) {
        entries = json::array({"not an object"});
    }
    entries.push_back(json::parse(R"J({"path":"/ok","method":"GET","match_pattern":"ok",
                                      "rewrite_to":"/fine"})J"));
    const auto api = make_api(entries);
    std::vector<config::ConfigError> errors;
    const auto rules =
        compile_url_rewrites(api, api.version_data.versions[0], MatchOptions{}, errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].file == "apps/test.json");
    CHECK(errors[0].json_path == base + where);
    REQUIRE(rules.size() == 1);
    CHECK(rules[0].spec.rewrite_to.text == "/fine");
}

TEST_CASE("URL rewrite: compile honours disabled and use_extended_paths", "[unit][url_rewrite]") {
    const json entries = json::parse(R"J([
        {"path":"/a","method":"GET","match_pattern":"(","rewrite_to":"/x","disabled":true},
        {"path":"/b/{id}","method":"POST","match_pattern":"b","rewrite_to":"/y"}])J");
    std::vector<config::ConfigError> errors;
    const auto api = make_api(entries);
    const auto rules =
        compile_url_rewrites(api, api.version_data.versions[0], MatchOptions{}, errors);
    CHECK(errors.empty());
    REQUIRE(rules.size() == 1);
    CHECK(rules[0].method == "POST");
    CHECK(rules[0].spec.path == "/b/{id}");
    CHECK(rules[0].pattern.matches("/b/7"));

    const auto off = make_api(entries, false);
    CHECK(compile_url_rewrites(off, off.version_data.versions[0], MatchOptions{}, errors).empty());
    CHECK(errors.empty());

    const auto wrong = make_api(json::object());
    compile_url_rewrites(wrong, wrong.version_data.versions[0], MatchOptions{}, errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].json_path == "/version_data/versions/Default/extended_paths/url_rewrites");
}

TEST_CASE("URL rewrite: classify the rewritten URL", "[unit][url_rewrite]") {
    // target, valid, absolute, loop, scheme, host_port, path_and_query, loop_target
    auto [target, valid, absolute, loop, scheme, host, pq, loop_target] = GENERATE(
        table<const char*, bool, bool, bool, const char*, const char*, const char*, const char*>({
            {"/change/to/me", true, false, false, "", "", "/change/to/me", ""},
            {"change/to/VALUE", true, false, false, "", "", "change/to/VALUE", ""},
            {"/a b?x=1 2", true, false, false, "", "", "/a%20b?x=1 2", ""},
            {"/a%2Fb/(c)", true, false, false, "", "", "/a%2Fb/(c)", ""},
            {"/a%2Fb/c d", true, false, false, "", "", "/a/b/c%20d", ""},
            {"/x?", true, false, false, "", "", "/x?", ""},
            {"/x#frag", true, false, false, "", "", "/x", ""},
            {"//other/p?q", true, false, false, "", "", "/p?q", ""},
            {"http://example.com/status", true, true, false, "http", "example.com", "/status", ""},
            {"HTTPS://user:pw@Example.com:8443", true, true, false, "https", "Example.com:8443",
             "/", ""},
            {"http://[::1]:8080/x?y=1", true, true, false, "http", "[::1]:8080", "/x?y=1", ""},
            {"http:// example.com/status", false, false, false, "", "", "", ""},
            {"http://example.com:80a/x", false, false, false, "", "", "", ""},
            {"tyk://self/path?method=POST&loop_limit=2", true, false, true, "tyk", "self",
             "/path?method=POST&loop_limit=2", "self"},
            {"tyk://self", true, false, true, "tyk", "self", "/", "self"},
            {"tyk://My API/x", true, false, true, "tyk", "My-API", "/x", "My-API"},
            {"tyk://__api__/x", true, false, true, "tyk", "-api-", "/x", "-api-"},
            {"tyk://api-1:8080/x", true, false, true, "tyk", "api-1-8080", "/x", "api-1-8080"},
            {"/a%zz", false, false, false, "", "", "", ""},
            {"a:b/c", false, false, false, "", "", "", ""},
            {"1a:b", false, false, false, "", "", "", ""},
            {":foo", false, false, false, "", "", "", ""},
            {"/p\x01", false, false, false, "", "", "", ""},
        }));
    INFO(target);
    const UpstreamUrl url = classify_rewrite_target(target);
    CHECK(url.valid == valid);
    CHECK(url.absolute == absolute);
    CHECK(url.loop == loop);
    if (valid) {
        CHECK(url.scheme == scheme);
        CHECK(url.host_port == host);
        CHECK(url.path_and_query == pq);
        CHECK(url.loop_target == loop_target);
    }
}

TEST_CASE("URL rewrite: loop target names", "[unit][url_rewrite]") {
    // Tyk's TestLoopingUrl.
    auto [name, looping] = GENERATE(table<const char*, const char*>({
        {"__api", "-api"},
        {"__api__", "-api-"},
        {"__ api __", "-api-"},
        {"@api@", "-api-"},
        {"__ api __ name __", "-api-name-"},
        {"My API #internal", "My-API"},
    }));
    CHECK(api_looping_name(name) == looping);
    CHECK(loop_target_matches("my-api", "abc", "My API"));
    CHECK(loop_target_matches("abc", "abc", "My API"));
    CHECK_FALSE(loop_target_matches("ABC", "abc", "Other"));
    CHECK_FALSE(loop_target_matches("", "", ""));
}
