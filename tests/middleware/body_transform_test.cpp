#include "middleware/keys/base64.hpp"
#include "middleware/transform/body_transform.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using namespace portcullis;
using namespace portcullis::transform;
using nlohmann::json;

namespace {

/// An API whose Default version holds `entries` under `list`.
config::ApiDefinition
make_api(const std::string& list, const json& entries, bool use_extended_paths = true) {
    config::ApiDefinition api;
    api.source_file = "apps/test.json";
    config::VersionInfo version;
    version.key = "Default";
    version.name = "Default";
    version.use_extended_paths = use_extended_paths;
    version.extended_paths = json{{list, entries}};
    api.version_data.versions.push_back(version);
    return api;
}

/// A `transform` entry for GET /get with a blob template.
json blob_entry(std::string_view template_text,
                std::string_view input_type = "json",
                bool enable_session = false) {
    return json{{"path", "/get"},
                {"method", "GET"},
                {"template_data",
                 {{"input_type", input_type},
                  {"template_mode", "blob"},
                  {"enable_session", enable_session},
                  {"template_source", keys::base64_encode(template_text)},
                  {"input", ""},
                  {"output", ""}}}};
}

struct Compiled {
    std::vector<Endpoint<BodyTransform>> endpoints;
    std::vector<config::ConfigError> errors;
};

Compiled compile(const std::string& list, const json& entries, bool use_extended_paths = true) {
    const auto api = make_api(list, entries, use_extended_paths);
    Compiled out;
    out.endpoints = compile_body_transforms(api, api.version_data.versions[0], MatchOptions{}, list,
                                            out.errors);
    return out;
}

/// Compiles one entry that must compile.
BodyTransform compile_one(const json& entry, const std::string& list = "transform") {
    auto compiled = compile(list, json::array({entry}));
    for (const auto& e : compiled.errors) {
        INFO(e.to_string());
    }
    REQUIRE(compiled.errors.empty());
    REQUIRE(compiled.endpoints.size() == 1);
    return std::move(compiled.endpoints[0].spec);
}

std::string root_text(std::string_view body) {
    std::string error;
    const auto root = body_root_json(body, &error);
    return root ? root->dump() : "error: " + error;
}

std::string xml_text(std::string_view body) {
    std::string error;
    const auto map = xml_to_map(body, &error);
    return map ? map->dump() : "error: " + error;
}

std::string nested(std::string_view open, std::string_view close, std::size_t depth) {
    std::string out;
    for (std::size_t i = 0; i < depth; ++i) {
        out += open;
    }
    for (std::size_t i = 0; i < depth; ++i) {
        out += close;
    }
    return out;
}

} // namespace

// -------------------------------------------------------------------------------------------------
// Compiling entries
// -------------------------------------------------------------------------------------------------

TEST_CASE("body transform: a blob entry compiles with its template_data", "[unit]") {
    const auto compiled = compile("transform", json::array({blob_entry("{{.a}}", "xml", true)}));
    REQUIRE(compiled.errors.empty());
    REQUIRE(compiled.endpoints.size() == 1);
    const auto& endpoint = compiled.endpoints[0];
    CHECK(endpoint.method == "GET");
    CHECK(endpoint.pattern.source() == "/get");
    CHECK(endpoint.spec.input == BodyTransform::Input::xml);
    CHECK(endpoint.spec.enable_session);
    CHECK_FALSE(endpoint.spec.response);
}

TEST_CASE("body transform: input_type decides how the body is read, per side", "[unit]") {
    const auto [list, input_type, expected] =
        GENERATE(table<std::string, std::string, BodyTransform::Input>({
            {"transform", "json", BodyTransform::Input::json},
            {"transform", "xml", BodyTransform::Input::xml},
            // Request side: kept, every render fails (Tyk: "unsupported request input type").
            {"transform", "yaml", BodyTransform::Input::unsupported},
            {"transform", "", BodyTransform::Input::unsupported},
            {"transform", "JSON", BodyTransform::Input::unsupported},
            // Response side: anything but "xml" is JSON.
            {"transform_response", "json", BodyTransform::Input::json},
            {"transform_response", "xml", BodyTransform::Input::xml},
            {"transform_response", "yaml", BodyTransform::Input::json},
            {"transform_response", "", BodyTransform::Input::json},
        }));
    CAPTURE(list, input_type);
    const BodyTransform t = compile_one(blob_entry("x", input_type), list);
    CHECK(t.input == expected);
    CHECK(t.input_type == input_type);
    CHECK(t.response == (list == "transform_response"));
}

TEST_CASE("body transform: disabled entries and use_extended_paths false compile to nothing",
          "[unit]") {
    json disabled = blob_entry("x");
    disabled["disabled"] = true;
    auto compiled = compile("transform", json::array({disabled, blob_entry("y")}));
    CHECK(compiled.errors.empty());
    CHECK(compiled.endpoints.size() == 1);

    compiled = compile("transform", json::array({blob_entry("x")}), false);
    CHECK(compiled.errors.empty());
    CHECK(compiled.endpoints.empty());

    // A disabled entry is not even checked.
    json broken = blob_entry("x");
    broken["template_data"]["template_source"] = "***";
    broken["disabled"] = true;
    compiled = compile("transform_response", json::array({broken}));
    CHECK(compiled.errors.empty());
    CHECK(compiled.endpoints.empty());
}

TEST_CASE("body transform: broken entries are reported with file and JSON path and left out",
          "[unit]") {
    const std::string base = "/version_data/versions/Default/extended_paths/transform/";
    const auto [name, mutate, pointer, message] =
        GENERATE(table<std::string, std::function<void(json&)>, std::string, std::string>({
            {"bad base64",
             [](json& e) { e["template_data"]["template_source"] = "e3sgLl90eWtfbWV0YS5qd3QgfX0"; },
             "1/template_data/template_source", "base64"},
            {"bad base64 characters",
             [](json& e) { e["template_data"]["template_source"] = "!!!!"; },
             "1/template_data/template_source", "base64"},
            {"template does not parse",
             [](json& e) {
                 e["template_data"]["template_source"] = keys::base64_encode("{{ .a ");
             },
             "1/template_data/template_source", "template: :1:"},
            {"unknown mode",
             [](json& e) { e["template_data"]["template_mode"] = "inline"; },
             "1/template_data/template_mode", "No valid template mode defined"},
            {"no template_data", [](json& e) { e.erase("template_data"); },
             "1/template_data/template_mode", "No valid template mode defined"},
            {"missing file",
             [](json& e) {
                 e["template_data"]["template_mode"] = "file";
                 e["template_data"]["template_source"] = "/nonexistent/portcullis/t.tmpl";
             },
             "1/template_data/template_source", "/nonexistent/portcullis/t.tmpl"},
            {"wrong type",
             [](json& e) { e["template_data"]["enable_session"] = "yes"; },
             "1/template_data/enable_session", "expected a boolean"},
            {"bad path", [](json& e) { e["path"] = "/a(b"; }, "1/path", "invalid path pattern"},
        }));
    CAPTURE(name);
    json entry = blob_entry("{{.a}}");
    mutate(entry);
    const auto compiled =
        compile("transform", json::array({blob_entry("first"), entry, blob_entry("third")}));
    REQUIRE(compiled.errors.size() == 1);
    const auto& error = compiled.errors[0];
    INFO(error.to_string());
    CHECK(error.file == "apps/test.json");
    CHECK(error.json_path == base + pointer);
    CHECK_THAT(error.message, Catch::Contains(message));
    CHECK(compiled.endpoints.size() == 2); // the others still apply
}

TEST_CASE("body transform: a non-array list is reported", "[unit]") {
    const auto compiled = compile("transform_response", json::object());
    REQUIRE(compiled.errors.size() == 1);
    CHECK(compiled.errors[0].json_path ==
          "/version_data/versions/Default/extended_paths/transform_response");
    CHECK(compiled.endpoints.empty());
}

TEST_CASE("body transform: file templates are read at load, relative to the working directory",
          "[unit]") {
    test::TempDir dir;
    const auto file = dir.write("templates/hello.tmpl", "hello {{.name}}");
    const auto bad = dir.write("templates/bad.tmpl", "{{ if }}");
    for (const std::string& source :
         {file.string(),
          std::filesystem::relative(file, std::filesystem::current_path()).string()}) {
        CAPTURE(source);
        json entry = blob_entry("");
        entry["template_data"]["template_mode"] = "file";
        entry["template_data"]["template_source"] = source;
        const BodyTransform t = compile_one(entry);
        std::string out;
        CHECK(render_body_transform(t, R"({"name":"file"})", nullptr, nullptr, out).empty());
        CHECK(out == "hello file");
    }
    // Tyk names a file template after the file's base name.
    json entry = blob_entry("");
    entry["template_data"]["template_mode"] = "file";
    entry["template_data"]["template_source"] = bad.string();
    const auto compiled = compile("transform", json::array({entry}));
    REQUIRE(compiled.errors.size() == 1);
    CHECK_THAT(compiled.errors[0].message, Catch::StartsWith("template: bad.tmpl:1:"));
    // A directory cannot be read.
    entry["template_data"]["template_source"] = dir.path().string();
    CHECK(compile("transform", json::array({entry})).errors.size() == 1);
}

// -------------------------------------------------------------------------------------------------
// JSON root
// -------------------------------------------------------------------------------------------------

TEST_CASE("body transform: JSON root rules", "[unit]") {
    const auto [body, expected] = GENERATE(table<std::string, std::string>({
        {"", "{}"},
        {R"({"a":1,"b":{"c":[true,null,"x"]}})", R"({"a":1,"b":{"c":[true,null,"x"]}})"},
        {" \n{\"a\":1}\n ", R"({"a":1})"},
        {"[1,2]", R"({"array":[1,2]})"},
        {"[]", R"({"array":[]})"},
        {"[{\"a\":1}]", R"({"array":[{"a":1}]})"},
        {R"("text")", "{}"},
        {"42", "{}"},
        {"true", "{}"},
        {"null", "{}"},
        {"-0", "{}"},
        {R"({"a":1,"a":2})", R"({"a":2})"}, // last duplicate wins, as in Go
        // Go's decoder replaces what it cannot decode in strings instead of failing.
        {"{\"s\":\"a\xff"
         "b\"}",
         "{\"s\":\"a\xEF\xBF\xBD"
         "b\"}"},
        {R"({"s":"\ud800x"})", "{\"s\":\"\xEF\xBF\xBDx\"}"},
        {R"({"s":"\udc00"})", "{\"s\":\"\xEF\xBF\xBD\"}"},
        {R"({"s":"\ud800\u0041"})", "{\"s\":\"\xEF\xBF\xBD"
                                    "A\"}"},
        {R"({"s":"\ud83d\ude00"})", "{\"s\":\"\xF0\x9F\x98\x80\"}"},
        {R"({"s":"-0"})", R"({"s":"-0"})"},
        {R"({"a":1e-0,"b":2E-0,"c":[3e-0]})", R"({"a":1.0,"b":2.0,"c":[3.0]})"},
        {R"({"a":1e-400})", R"({"a":0.0})"}, // underflow is not an error in Go
        // Errors.
        {" ", "error: unexpected end of JSON input"},
        {"{", "error: unexpected end of JSON input"},
        {"{\"a\":", "error: unexpected end of JSON input"},
        {"{bad}", "error: invalid character 'b' at offset 1"},
        {"{} x", "error: invalid character 'x' at offset 3"},
        {"\xEF\xBB\xBF{}", "error: invalid character '\xC3\xAF' looking for beginning of value"},
        {R"({"a":1e400})", "error: json: cannot unmarshal number into Go value of type float64"},
        {"{'a':1}", "error: invalid character '\\'' at offset 1"},
    }));
    CAPTURE(body);
    CHECK(root_text(body) == expected);
}

TEST_CASE("body transform: -0 stays a negative zero float", "[unit]") {
    const auto root = body_root_json(R"({"a":-0,"b":[-0],"c":-0.5,"d":-01})");
    CHECK_FALSE(root); // -01 is not JSON
    const auto ok = body_root_json(R"({"a":-0,"b":[-0 ],"c":-0.5,"e":-0e1})");
    REQUIRE(ok);
    CHECK((*ok)["a"].is_number_float());
    CHECK(std::signbit((*ok)["a"].get<double>()));
    CHECK(std::signbit((*ok)["b"][0].get<double>()));
    CHECK((*ok)["c"].get<double>() == -0.5);
    CHECK(std::signbit((*ok)["e"].get<double>()));
}

TEST_CASE("body transform: JSON nesting is limited to Go's 10000", "[unit]") {
    CHECK(body_root_json(nested("[", "]", 10000)));
    std::string error;
    CHECK_FALSE(body_root_json(nested("[", "]", 10001), &error));
    CHECK_THAT(error, Catch::Contains("exceeded max depth"));
    CHECK_FALSE(body_root_json(nested("{\"a\":", "}", 10001)));
    // Brackets inside strings do not count.
    CHECK(body_root_json("{\"s\":\"" + std::string(20000, '[') + "\"}"));
}

TEST_CASE("body transform: go_numbers turns every number into a float", "[unit]") {
    json value = json::parse(
        R"({"a":1,"b":[2,{"c":-3}],"d":1.5,"e":"4","f":18446744073709551615,"g":true,"h":null})");
    go_numbers(value);
    CHECK(value["a"].is_number_float());
    CHECK(value["a"].get<double>() == 1.0);
    CHECK(value["b"][0].is_number_float());
    CHECK(value["b"][1]["c"].is_number_float());
    CHECK(value["b"][1]["c"].get<double>() == -3.0);
    CHECK(value["d"].get<double>() == 1.5);
    CHECK(value["e"] == "4");
    CHECK(value["f"].is_number_float());
    CHECK(value["f"].get<double>() == 18446744073709551615.0);
    CHECK(value["g"] == true);
    CHECK(value["h"].is_null());

    json scalar = 7;
    go_numbers(scalar);
    CHECK(scalar.is_number_float());

    // Deep values do not recurse.
    json deep = json::array();
    json* cursor = &deep;
    for (int i = 0; i < 100000; ++i) {
        cursor->push_back(json::array());
        cursor = &(*cursor)[0];
    }
    cursor->push_back(1);
    go_numbers(deep);
    CHECK((*cursor)[0].is_number_float());
}

// -------------------------------------------------------------------------------------------------
// XML root (mxj.NewMapXml)
// -------------------------------------------------------------------------------------------------

TEST_CASE("body transform: XML maps like mxj", "[unit]") {
    const auto [body, expected] = GENERATE(table<std::string, std::string>({
        // Tyk reads an empty body as <_/>.
        {"", R"({"_":""})"},
        {"<a/>", R"({"a":""})"},
        {"<a></a>", R"({"a":""})"},
        {"<a>text</a>", R"({"a":"text"})"},
        {"<a>\n   spaced out \t\n</a>", R"({"a":"spaced out"})"},
        // Attributes.
        {R"(<a x="1" y='2'/>)", R"({"a":{"-x":"1","-y":"2"}})"},
        {R"(<a x="1">t</a>)", R"({"a":{"#text":"t","-x":"1"}})"},
        {R"(<a x="1" x2="&lt;&#65;"/>)", R"({"a":{"-x":"1","-x2":"<A"}})"},
        {"<a x=\"a\tb\"/>", "{\"a\":{\"-x\":\"a\\tb\"}}"},
        // Children, repeats, nesting.
        {"<r><i>1</i><i>2</i><j/></r>", R"({"r":{"i":["1","2"],"j":""}})"},
        {"<r><i>1</i><j>x</j><i>2</i><i>3</i></r>", R"({"r":{"i":["1","2","3"],"j":"x"}})"},
        {R"(<r><i id="1"/><i id="2">x</i></r>)",
         R"({"r":{"i":[{"-id":"1"},{"#text":"x","-id":"2"}]}})"},
        {"<a><b><c>d</c></b></a>", R"({"a":{"b":{"c":"d"}}})"},
        {"<a><b><c>1</c><c>2</c></b><b/></a>", R"({"a":{"b":[{"c":["1","2"]},""]}})"},
        // Text next to children.
        {"<a><b>1</b>tail</a>", R"({"a":{"#text":"tail","b":"1"}})"},
        {"<a><b>1</b>x<c/>y</a>", R"({"a":{"#text":"y","b":"1","c":""}})"},
        {"<a>head<b>1</b></a>", R"({"a":"head"})"}, // mxj drops the children
        {"<a>one<!-- c -->two</a>", R"({"a":"two"})"},
        {"<a>x<![CDATA[<y>]]></a>", R"({"a":"<y>"})"},
        {"<a><![CDATA[ <y> ]]></a>", R"({"a":"<y>"})"},
        {"<a>&lt;&amp;&gt;&apos;&quot;&#65;&#x42;</a>", R"({"a":"<&>'\"AB"})"},
        // Namespaces: prefixes dropped.
        {R"(<p:a xmlns:p="urn:x" xmlns="urn:d" p:x="1"><p:b>2</p:b><b>3</b></p:a>)",
         R"({"a":{"-p":"urn:x","-x":"1","-xmlns":"urn:d","b":["2","3"]}})"},
        // Prolog, comments, doctype, processing instructions, stray text before the root.
        {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->\n<!DOCTYPE a [<!ELEMENT a "
         "(#PCDATA)>]>\n<?pi x?><a>1</a>",
         R"({"a":"1"})"},
        {"\xEF\xBB\xBF<a>1</a>", R"({"a":"1"})"},
        {"stray<a>1</a>", R"({"a":"1"})"},
        // Everything after the root element is ignored.
        {"<a>1</a><b>2</b>", R"({"a":"1"})"},
        {"<a>1</a>garbage<<&bad;", R"({"a":"1"})"},
        // Tyk's charset reader: non-UTF-8 declarations read as windows-1252 ...
        {"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xE9 \x80</a>",
         "{\"a\":\"caf\xC3\xA9 \xE2\x82\xAC\"}"},
        // ... unless the text is valid UTF-8 with non-ASCII bytes.
        {"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xC3\xA9</a>",
         "{\"a\":\"caf\xC3\xA9\"}"},
        {"<?xml version=\"1.0\" encoding=\"utf-8\"?><a>caf\xC3\xA9</a>", "{\"a\":\"caf\xC3\xA9\"}"},
    }));
    CAPTURE(body);
    CHECK(xml_text(body) == expected);
}

TEST_CASE("body transform: invalid XML is an error", "[unit]") {
    const auto [body, message] = GENERATE(table<std::string, std::string>({
        {" ", "EOF"},
        {"just text", "EOF"},
        {"<!-- only a comment -->", "EOF"},
        {"<a>", "unexpected EOF"},
        {"<a><b></a>", "XML syntax error"},
        {"<a></b>", "XML syntax error"},
        {"</a>", "unexpected end element"},
        {"<a>&nbsp;</a>", "invalid character entity"},
        {"<a>&amp</a>", "invalid character entity"},
        {"<a>&#0;</a>", "invalid character entity"},
        {"<a>&#xD800;</a>", "invalid character entity"},
        {"<a x=\"&bogus;\"/>", "invalid character entity"},
        {"<a>x\xFFy</a>", "invalid UTF-8"},
        {"<a>\x01</a>", "illegal character code U+0001"},
        {"<a>]]></a>", "unescaped ]]> not in CDATA section"},
        {"<a x=\"<\"/>", "unescaped < inside quoted string"},
        {"<a x=1/>", "XML syntax error"},
        {"<a><!-- never closed </a>", "unexpected EOF"},
        {"<?xml version=\"1.1\"?><a/>", "unsupported version"},
        {"\n\n<a>\n&bogus;</a>", "on line 4"},
    }));
    CAPTURE(body);
    std::string error;
    CHECK_FALSE(xml_to_map(body, &error));
    CHECK_THAT(error, Catch::Contains(message));
}

TEST_CASE("body transform: parse errors do not quote the body", "[unit]") {
    std::string error;
    for (const std::string body :
         {"<a>&secret-token;</a>", "</secret-token>", "<?xml version=\"secret-token\"?><a/>"}) {
        CHECK_FALSE(xml_to_map(body, &error));
        CHECK(error.find("secret-token") == std::string::npos);
    }
    CHECK_FALSE(body_root_json("{\"a\":12345e99999}", &error));
    CHECK(error.find("12345") == std::string::npos);
}

TEST_CASE("body transform: XML nesting is limited", "[unit]") {
    const auto ok = xml_to_map(nested("<a>", "</a>", 10000));
    REQUIRE(ok);
    std::string error;
    CHECK_FALSE(xml_to_map(nested("<a>", "</a>", 10001), &error));
    CHECK_THAT(error, Catch::Contains("exceeded max depth"));
}

// -------------------------------------------------------------------------------------------------
// Rendering
// -------------------------------------------------------------------------------------------------

TEST_CASE("body transform: the seed example renders the session's jwt", "[unit]") {
    json entry = blob_entry("");
    entry["template_data"]["template_source"] =
        "e3sgLl90eWtfbWV0YS5qd3QgfX0="; // {{ ._tyk_meta.jwt }}
    entry["template_data"]["enable_session"] = true;
    const BodyTransform t = compile_one(entry, "transform_response");
    const json meta = {{"jwt", "eyJhbGciOi.payload.sig"}};
    std::string out;
    CHECK(render_body_transform(t, R"({"ignored":true})", &meta, nullptr, out).empty());
    CHECK(out == "eyJhbGciOi.payload.sig");
}

TEST_CASE("body transform: _tyk_meta and _tyk_context presence rules", "[unit]") {
    const std::string text = "{{._tyk_meta.k}}|{{._tyk_context.path}}|{{.a}}";
    const json meta = {{"k", "m"}};
    const json null_meta;
    const json context = {{"path", "/p"}};
    enum Meta { none, some, null };
    const auto [enable_session, meta_kind, with_context, expected] =
        GENERATE(table<bool, int, bool, std::string>({
            {true, some, true, "m|/p|b"},
            {false, some, true, "<no value>|/p|b"},         // session not enabled
            {true, none, true, "<no value>|/p|b"},          // no session
            {true, null, false, "<no value>|<no value>|b"}, // meta_data null -> {}
            {true, some, false, "m|<no value>|b"},          // context vars off
        }));
    const json* meta_ptr = meta_kind == some ? &meta : meta_kind == null ? &null_meta : nullptr;
    const json* context_ptr = with_context ? &context : nullptr;
    CAPTURE(enable_session, expected);
    for (const std::string list : {"transform", "transform_response"}) {
        CAPTURE(list);
        const BodyTransform t = compile_one(blob_entry(text, "json", enable_session), list);
        std::string out;
        CHECK(render_body_transform(t, R"({"a":"b"})", meta_ptr, context_ptr, out).empty());
        CHECK(out == expected);
    }
}

TEST_CASE("body transform: session meta from the body is overridden only with a session",
          "[unit]") {
    const BodyTransform t = compile_one(blob_entry("{{._tyk_meta.k}}", "json", true));
    const json meta = {{"k", "session"}};
    std::string out;
    CHECK(render_body_transform(t, R"({"_tyk_meta":{"k":"body"}})", &meta, nullptr, out).empty());
    CHECK(out == "session");
    CHECK(render_body_transform(t, R"({"_tyk_meta":{"k":"body"}})", nullptr, nullptr, out).empty());
    CHECK(out == "body");
}

TEST_CASE("body transform: templates see Go's float64 numbers", "[unit]") {
    const BodyTransform t =
        compile_one(blob_entry("{{.big}} {{.one}} {{._tyk_meta.n}} {{.f}} {{.m}}", "json", true));
    const json meta = {{"n", 12345678901234567}};
    std::string out;
    CHECK(render_body_transform(t, R"({"big":12345678901234567,"one":1,"f":2.5,"m":1000000})",
                                &meta, nullptr, out)
              .empty());
    // Go prints float64 with %v (shortest 'g'); as ints they would print 12345678901234567 and
    // 1000000.
    CHECK(out == "1.2345678901234568e+16 1 1.2345678901234568e+16 2.5 1e+06");
}

TEST_CASE("body transform: arrays, XML and the context reach the template", "[unit]") {
    std::string out;
    const BodyTransform array =
        compile_one(blob_entry(R"({{range $i, $e := .array}}{{if $i}},{{end}}{{$e.v}}{{end}})"));
    CHECK(render_body_transform(array, R"([{"v":"x"},{"v":"y"}])", nullptr, nullptr, out).empty());
    CHECK(out == "x,y");

    const BodyTransform xml =
        compile_one(blob_entry(R"({{.r.a}}-{{index .r "-id"}}-{{range .r.i}}{{.}}{{end}})", "xml"));
    CHECK(render_body_transform(xml, R"(<r id="7"><a>A</a><i>1</i><i>2</i></r>)", nullptr, nullptr,
                                out)
              .empty());
    CHECK(out == "A-7-12");

    const BodyTransform context =
        compile_one(blob_entry(R"({{index ._tyk_context.path_parts 1}})"));
    const json ctx = {{"path_parts", json::array({"", "api", "x"})}};
    CHECK(render_body_transform(context, "", nullptr, &ctx, out).empty());
    CHECK(out == "api");
}

TEST_CASE("body transform: request-side failures keep the original body", "[unit]") {
    std::string out;
    const BodyTransform json_side = compile_one(blob_entry("x{{.a}}"));
    std::string error = render_body_transform(json_side, "{bad", nullptr, nullptr, out);
    CHECK_THAT(error, Catch::StartsWith("invalid character"));

    const BodyTransform xml_side = compile_one(blob_entry("x{{.a}}", "xml"));
    error = render_body_transform(xml_side, "<a>", nullptr, nullptr, out);
    CHECK_THAT(error, Catch::StartsWith("error unmarshalling XML: "));

    const BodyTransform yaml = compile_one(blob_entry("x", "yaml"));
    CHECK(render_body_transform(yaml, "{}", nullptr, nullptr, out) ==
          "unsupported request input type: yaml");

    const BodyTransform failing = compile_one(blob_entry(R"(x{{template "missing"}})"));
    error = render_body_transform(failing, "{}", nullptr, nullptr, out);
    CHECK_THAT(error, Catch::StartsWith("failed to apply template to request: template: "));
}

TEST_CASE("body transform: response-side failures still render", "[unit]") {
    std::string out;
    const BodyTransform json_side = compile_one(blob_entry("x{{.a}}"), "transform_response");
    std::string error = render_body_transform(json_side, "not json", nullptr, nullptr, out);
    CHECK_THAT(error, Catch::StartsWith("Error unmarshalling JSON: "));
    CHECK(out == "x<no value>"); // the template ran on an empty root

    const BodyTransform xml_side = compile_one(blob_entry("x{{.a}}", "xml"), "transform_response");
    error = render_body_transform(xml_side, "<a>", nullptr, nullptr, out);
    CHECK_THAT(error, Catch::StartsWith("Error unmarshalling XML: "));
    CHECK(out == "x<no value>");

    const BodyTransform failing =
        compile_one(blob_entry(R"(before{{template "missing"}})"), "transform_response");
    error = render_body_transform(failing, "{}", nullptr, nullptr, out);
    CHECK_THAT(error, Catch::StartsWith("Failed to apply template to request: "));
    CHECK(out == "before"); // what the template wrote before failing

    // Output limit: an execution error, not a crash.
    const BodyTransform big =
        compile_one(blob_entry(R"({{range .array}}xxxxxxxxxx{{end}})"), "transform_response");
    tmpl::Limits limits;
    limits.max_output_bytes = 50;
    error = render_body_transform(big, "[1,2,3,4,5,6,7,8,9,10]", nullptr, nullptr, out, limits);
    CHECK_FALSE(error.empty());
}

// -------------------------------------------------------------------------------------------------
// Content encodings
// -------------------------------------------------------------------------------------------------

TEST_CASE("body transform: gzip and deflate round trip", "[unit]") {
    const std::string text = [] {
        std::string s;
        for (int i = 0; i < 5000; ++i) {
            s += "{\"line\":" + std::to_string(i) + "}\n";
        }
        return s;
    }();
    for (const std::string& body : {std::string(), std::string("x"), text}) {
        for (const std::string encoding : {"gzip", "deflate"}) {
            CAPTURE(encoding, body.size());
            const std::string encoded = encode_content(encoding, body);
            if (!body.empty()) {
                CHECK(encoded != body);
            }
            const auto decoded = decode_content(encoding, encoded, 1 << 20);
            REQUIRE(decoded);
            CHECK(*decoded == body);
        }
    }
    const std::string gz = encode_content("gzip", "abc");
    REQUIRE(gz.size() > 10);
    CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
    CHECK(static_cast<unsigned char>(gz[9]) == 0xff); // OS unknown, as Go writes it
}

TEST_CASE("body transform: identity and unknown encodings pass through", "[unit]") {
    for (const std::string encoding : {"", "identity", "br", "GZIP", "x-gzip"}) {
        CAPTURE(encoding);
        CHECK(encode_content(encoding, "abc") == "abc");
        CHECK(decode_content(encoding, "abc", 10) == std::optional<std::string>("abc"));
        CHECK_FALSE(decode_content(encoding, "abc", 2)); // the cap applies to every body
    }
    CHECK(decode_content("gzip", "", 0) == std::optional<std::string>(""));
}

TEST_CASE("body transform: decoding stops at the output cap and on corrupt data", "[unit]") {
    const std::string zeros(8 << 20, '\0');
    for (const std::string encoding : {"gzip", "deflate"}) {
        CAPTURE(encoding);
        const std::string bomb = encode_content(encoding, zeros);
        CHECK(bomb.size() < 64 * 1024);
        CHECK_FALSE(decode_content(encoding, bomb, 1 << 20));
        CHECK(decode_content(encoding, bomb, 8 << 20)); // exactly at the cap is fine
        CHECK_FALSE(decode_content(encoding, bomb, (8 << 20) - 1));

        const std::string good = encode_content(encoding, "hello world, hello world");
        CHECK_FALSE(decode_content(encoding, good.substr(0, good.size() - 3), 1 << 20));
        CHECK_FALSE(decode_content(encoding, "definitely not compressed", 1 << 20));
    }
    // Concatenated gzip members decode to the concatenation (Go's multistream reader) ...
    const std::string two = encode_content("gzip", "one,") + encode_content("gzip", "two");
    CHECK(decode_content("gzip", two, 100) == std::optional<std::string>("one,two"));
    // ... but trailing garbage after a member is an error.
    CHECK_FALSE(decode_content("gzip", encode_content("gzip", "one") + "junk", 100));
    // A CRC mismatch is an error.
    std::string crc = encode_content("gzip", "checked");
    crc[crc.size() - 6] = static_cast<char>(crc[crc.size() - 6] ^ 0x55);
    CHECK_FALSE(decode_content("gzip", crc, 100));
    // "deflate" is raw DEFLATE as in Go's flate reader: zlib-wrapped data is rejected.
    const std::string zlib_wrapped("\x78\x9c\xcb\x48\xcd\xc9\xc9\x07\x00\x06\x2c\x02\x15", 13);
    CHECK_FALSE(decode_content("deflate", zlib_wrapped, 100));
}
