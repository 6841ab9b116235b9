#include "middleware/transform/variables.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using nlohmann::json;
namespace pt = portcullis::transform;

namespace {

// Session meta_data used by the template tests.
const json& meta() {
    static const json value = json::parse(R"({
        "user": "alice", "user_id": "7", "id": 42, "ratio": 12.22, "big": 1e21,
        "neg": -3.5, "flag": true, "nothing": null, "obj": {"a": 1},
        "list": ["a b", "c"], "mixed": ["x", "", 1, false, "y/z"],
        "a.b": "dotted", "a-b": "dashed", "user.": "trailing-dot",
        "url": "http://example.com/a b", "space": "a b/c",
        "ax": "joined", "d1": "$tyk_meta.user"
    })");
    return value;
}

// Context variables used by the template tests.
const json& context() {
    static const json value = json::parse(R"({
        "path": "/p/q", "path_parts": ["", "p", "q"], "request_data": {"k": ["v1", "v2"]},
        "headers": {"X-A": ["1"]}, "headers_X_A": "1", "remote_addr": "1.2.3.4",
        "a": "X", "b": "x", "b2": "user", "dot": ".user", "dollar": "$tyk_meta.user",
        "jwt_claims_groups": ["admin users", "ops"]
    })");
    return value;
}

} // namespace

TEST_CASE("query_escape is Go's url.QueryEscape", "[unit][variables]") {
    auto [in, out] = GENERATE(table<std::string, std::string>({
        {"", ""},
        {"AZaz09-_.~", "AZaz09-_.~"},
        {"a b", "a+b"},
        {"/a/b", "%2Fa%2Fb"},
        {"a+b", "a%2Bb"},
        {"$&,:;=?@", "%24%26%2C%3A%3B%3D%3F%40"},
        {"*'()!#[]", "%2A%27%28%29%21%23%5B%5D"},
        {"100%", "100%25"},
        {"\xc3\xbc", "%C3%BC"},
        {std::string("a\0b", 3), "a%00b"},
    }));
    CAPTURE(in);
    CHECK(pt::query_escape(in) == out);
}

TEST_CASE("stringify follows valToStr for every JSON type", "[unit][variables]") {
    auto [text, out] = GENERATE(table<std::string, std::string>({
        // strings as they are
        {R"("hello world")", "hello world"},
        {R"("")", ""},
        // integers print as integers
        {"123", "123"},
        {"-42", "-42"},
        {"0", "0"},
        {"123456789012345678", "123456789012345678"},
        {"18446744073709551615", "18446744073709551615"},
        // floats: FormatFloat(v, 'f', -1, 64), shortest digits, never an exponent
        {"12.22", "12.22"},
        {"12.0", "12"},
        {"0.1", "0.1"},
        {"-0.5", "-0.5"},
        {"-0.0", "-0"},
        {"1e21", "1000000000000000000000"},
        {"1e23", "100000000000000000000000"},
        {"1.5e300", "15" + std::string(299, '0')},
        {"1e-7", "0.0000001"},
        {"1.2345e-5", "0.000012345"},
        {"123456.789", "123456.789"},
        {"-1.25e3", "-1250"},
        // not supported: bool, null, objects
        {"true", ""},
        {"false", ""},
        {"null", ""},
        {R"({"a": 1})", ""},
        {"{}", ""},
        // arrays of strings ([]string): joined, one leading comma dropped, nothing escaped
        {R"(["a", "b"])", "a,b"},
        {R"(["", "p", "q"])", "p,q"},
        {R"(["", "", "a"])", ",a"},
        {R"(["a", "", "b"])", "a,,b"},
        {R"(["a b", "c/d"])", "a b,c/d"},
        {"[]", ""},
        // other arrays ([]interface{}): empties dropped, each element query-escaped
        {R"(["x", "", 1, false, null, 2.5, {"k": 1}, "y/z"])", "x,1,2.5,y%2Fz"},
        {R"(["a b", 1])", "a+b,1"},
        {R"([["a", "b"], 1])", "a%2Cb,1"},
        {R"([true, null])", ""},
        // objects of arrays of strings (url.Values, request_data)
        {R"({"a": ["1", "2"], "b": ["x y"]})", "a:1,2;b:x y"},
        {R"({"k": []})", "k:"},
        {R"({"k": ["", "v"]})", "k:,v"},
    }));
    CAPTURE(text);
    CHECK(pt::stringify(json::parse(text), false) == out);
}

TEST_CASE("stringify with escape query-escapes unless the text starts with http",
          "[unit][variables]") {
    auto [text, out] = GENERATE(table<std::string, std::string>({
        {R"("hello world")", "hello+world"},
        {R"("/a/b?c=d")", "%2Fa%2Fb%3Fc%3Dd"},
        {R"("http://example.com/a b")", "http://example.com/a b"},
        {R"("https://example.com/?q=1")", "https://example.com/?q=1"},
        {R"("httpbin")", "httpbin"},
        {R"("Http://x")", "Http%3A%2F%2Fx"},
        {R"(" http://x")", "+http%3A%2F%2Fx"},
        {"12.22", "12.22"},
        {"-7", "-7"},
        {"true", ""},
        {R"(["a b", "c/d"])", "a+b%2Cc%2Fd"},
        // elements are escaped once by valToStr, then the whole text once more
        {R"(["a b", 1, "c/d"])", "a%2Bb%2C1%2Cc%252Fd"},
        // the joined text starts with "http", so it is not escaped again
        {R"(["http://x", 1])", "http%3A%2F%2Fx,1"},
        {R"({"a": ["1", "2"], "b": ["x y"]})", "a%3A1%2C2%3Bb%3Ax+y"},
    }));
    CAPTURE(text);
    CHECK(pt::stringify(json::parse(text), true) == out);
}

TEST_CASE("templates expand $tyk_meta and $tyk_context references", "[unit][variables]") {
    auto [text, has_vars, out] = GENERATE(table<std::string, bool, std::string>({
        {"", false, ""},
        {"plain/text", false, "plain/text"},
        {"$tyk_meta.user", true, "alice"},
        {"/u/$tyk_meta.user/x", true, "/u/alice/x"},
        {"$tyk_meta.user/$tyk_meta.user", true, "alice/alice"},
        {"$tyk_meta.user$tyk_meta.id", true, "alice42"},
        {"$tyk_context.remote_addr$tyk_meta.user", true, "1.2.3.4alice"},
        {"$tyk_context.a$tyk_context.b", true, "Xx"},
        {"x=$tyk_context.remote_addr", true, "x=1.2.3.4"},
        {"$tyk_meta.id,$tyk_meta.ratio,$tyk_meta.big,$tyk_meta.neg", true,
         "42,12.22,1000000000000000000000,-3.5"},
        // names take '.', '-' and '_'; a trailing '.' belongs to the name
        {"$tyk_meta.a.b", true, "dotted"},
        {"$tyk_meta.a-b", true, "dashed"},
        {"$tyk_meta.user.", true, "trailing-dot"},
        {"$tyk_meta.user./x", true, "trailing-dot/x"},
        {"$tyk_context.headers_X_A?", true, "1?"},
        // missing names, unsupported types -> ""
        {"[$tyk_meta.missing]", true, "[]"},
        {"a$tyk_context.missing-b/c", true, "a/c"},
        {"[$tyk_meta.flag$tyk_meta.nothing$tyk_meta.obj]", true, "[]"},
        {"[$tyk_context.headers]", true, "[]"},
        // no name: left as it is
        {"$tyk_meta.", false, "$tyk_meta."},
        {"$tyk_meta./x", false, "$tyk_meta./x"},
        {"$tyk_context.", false, "$tyk_context."},
        {"$tyk_meta.\xc3\xa9", false, "$tyk_meta.\xc3\xa9"},
        {"$$tyk_meta.user", true, "$alice"},
        // unknown prefixes: literal unless the label occurs, then Tyk's '.' (any character)
        // matches and the odd key is missing
        {"$tyk_metaXuser", false, "$tyk_metaXuser"},
        {"$tyk_metadata", false, "$tyk_metadata"},
        {"$tyk_metaXuser $tyk_meta.user", true, " alice"},
        {"$tyk_meta\xc3\xa9"
         "1 $tyk_meta.user",
         true, " alice"},
        {"$tyk_contextXa/$tyk_context.a", true, "/X"},
        {"$tyk_context$tyk_meta.user $tyk_context.a", true, " X"},
        {"$tyk_context$tyk_meta.user", true, "$tyk_contextalice"},
        // Go types of context variables: []string, url.Values, JSON arrays
        {"$tyk_context.path_parts", true, "p,q"},
        {"$tyk_context.request_data", true, "k:v1,v2"},
        {"$tyk_context.jwt_claims_groups", true, "admin+users,ops"},
        {"$tyk_meta.list", true, "a+b,c"},
        {"$tyk_meta.mixed", true, "x,1,y%2Fz"},
        {"$tyk_context.path", true, "/p/q"},
        // Tyk's replace-all: a shorter name seen first also rewrites longer names it prefixes
        {"/$tyk_meta.user/$tyk_meta.user_id", true, "/alice/alice_id"},
        {"/$tyk_meta.user_id/$tyk_meta.user", true, "/7/alice"},
        {"$tyk_meta.user-$tyk_meta.user", true, "alice"},
        // the meta pass reads the text after context substitution
        {"$tyk_meta.a$tyk_context.b", true, "joined"},
        {"$tyk_meta.$tyk_context.b2", true, "alice"},
        {"$tyk_meta$tyk_context.dot", true, "alice"},
        {"$tyk_context.dollar", true, "alice"},
        {"$tyk_meta.d1 $tyk_meta.user", true, "alice alice"},
        // ... and each replace-all of a pass reads text earlier replacements produced
        {"$tyk_context.$tyk_context.b2/$tyk_context.user", true, "/"},
        {"$tyk_meta.user $tyk_meta.d1", true, "alice $tyk_meta.user"},
    }));
    CAPTURE(text);
    const auto t = pt::VarTemplate::parse(text);
    CHECK(t.source() == text);
    CHECK(t.has_variables() == has_vars);
    CHECK(t.expand(&meta(), &context(), false) == out);
}

TEST_CASE("templates with escape on query-escape values not starting with http",
          "[unit][variables]") {
    auto [text, out] = GENERATE(table<std::string, std::string>({
        {"/x?p=$tyk_context.path", "/x?p=%2Fp%2Fq"},
        {"$tyk_meta.space", "a+b%2Fc"},
        {"$tyk_meta.url", "http://example.com/a b"},
        {"$tyk_context.request_data", "k%3Av1%2Cv2"},
        {"$tyk_context.path_parts", "p%2Cq"},
        {"$tyk_meta.list", "a%2Bb%2Cc"},
        {"$tyk_meta.id/$tyk_meta.ratio", "42/12.22"},
        // '$' escapes to %24, so values no longer reach the later passes
        {"$tyk_context.dollar", "%24tyk_meta.user"},
        {"$tyk_meta.d1 $tyk_meta.user", "%24tyk_meta.user alice"},
        // except a '.'-led value completing a literal "$tyk_meta"
        {"$tyk_meta$tyk_context.dot", "alice"},
    }));
    CAPTURE(text);
    CHECK(pt::VarTemplate::parse(text).expand(&meta(), &context(), true) == out);
}

TEST_CASE("missing session or context gives empty strings", "[unit][variables]") {
    const json not_object = json::array({"user"});
    auto [text, out] = GENERATE(table<std::string, std::string>({
        {"a/$tyk_meta.user/b", "a//b"},
        {"a/$tyk_context.remote_addr/b", "a//b"},
        {"$tyk_meta.user$tyk_context.a", ""},
        {"$tyk_meta.a$tyk_context.b", ""},
        {"plain", "plain"},
    }));
    CAPTURE(text);
    const auto t = pt::VarTemplate::parse(text);
    CHECK(t.expand(nullptr, nullptr, false) == out);
    CHECK(t.expand(&not_object, &not_object, true) == out);
}

TEST_CASE("a default template is empty", "[unit][variables]") {
    const pt::VarTemplate t;
    CHECK_FALSE(t.has_variables());
    CHECK(t.source().empty());
    CHECK(t.expand(&meta(), &context(), true).empty());
}

TEST_CASE("expand_into appends to what is already there", "[unit][variables]") {
    const std::string text =
        GENERATE(as<std::string>{}, "/$tyk_meta.user", "/$tyk_meta.a$tyk_context.b",
                 "/$tyk_context.dollar", "/plain");
    CAPTURE(text);
    const auto t = pt::VarTemplate::parse(text);
    std::string out = "prefix:";
    t.expand_into(out, &meta(), &context(), false);
    CHECK(out == "prefix:" + t.expand(&meta(), &context(), false));
    CHECK(out.rfind("prefix:/", 0) == 0);
}

TEST_CASE("the same template expands the same way every time", "[unit][variables]") {
    const auto t = pt::VarTemplate::parse("/$tyk_meta.user/$tyk_context.a/$tyk_meta.id");
    for (int i = 0; i < 3; ++i) {
        CHECK(t.expand(&meta(), &context(), true) == "/alice/X/42");
    }
    const json other_meta = {{"user", "bob"}, {"id", 1.5}};
    const json other_context = {{"a", "y z"}};
    CHECK(t.expand(&other_meta, &other_context, true) == "/bob/y+z/1.5");
}
