// Go text/template (Go 1.19) execution over decoded JSON: fields, <no value>, range, if/with,
// variables, templates, and Go's execution errors with their positions.
#include "middleware/template/template.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <thread>
#include <vector>

using portcullis::tmpl::Template;

namespace {

// The document most rows run against.
const char* const kData = R"({
    "a": 1, "s": "str", "f": 1.5, "n": null, "b": true, "z": 0, "t": "",
    "l": [1, "two", null, 3.5], "m": {"k": "v", "x": {"y": "z"}}, "e": [], "em": {},
    "nums": [3, 1, 2], "big": 1e21,
    "fl": [1234567.0, 0.1, 3.0, 1e-5, 0.0001, 100000000.0, 123456.0, -2.5, 1e20],
    "objs": [{"name": "a", "v": 1}, {"name": "b", "v": 2}],
    "int": 9007199254740993
})";

std::string render(const std::string& text, const std::string& data = kData) {
    std::string error;
    auto t = Template::parse("t", text, error);
    if (!t) {
        return "PARSE: " + error;
    }
    std::string out;
    const std::string exec_error = t->execute(nlohmann::json::parse(data), out);
    if (!exec_error.empty()) {
        return out + "|ERR: " + exec_error;
    }
    return out;
}

} // namespace

TEST_CASE("template fields, printing and <no value>", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{.a}} {{.s}} {{.f}} {{.b}} {{.z}} {{.int}}", "1 str 1.5 true 0 9007199254740993"},
        {"{{.missing}}", "<no value>"},
        {"{{.n}}", "<no value>"},
        {"{{.m.x.y}}", "z"},
        {"{{.m.nope.deeper}}", "<no value>"},
        {"{{.l}}", "[1 two <nil> 3.5]"},
        {"{{.m}}", "map[k:v x:map[y:z]]"},
        {"{{.e}} {{.em}} [{{.t}}]", "[] map[] []"},
        {"{{range .fl}}{{.}} {{end}}", "1.234567e+06 0.1 3 1e-05 0.0001 1e+08 123456 -2.5 1e+20 "},
        {"{{.big}}", "1e+21"},
        {"{{$.a}} {{$.m.k}}", "1 v"},
        {"{{(.m).k}} {{(.m.x).y}}", "v z"},
        {"{{(index .objs 1).name}}", "b"},
        {"{{$o := index .objs 0}}{{$o.name}}", "a"},
        {"{{.objs}}", "[map[name:a v:1] map[name:b v:2]]"},
        {"{{.a.b}}", "|ERR: template: t:1:4: executing \"t\" at <.a.b>: can't evaluate field b in "
                     "type interface {}"},
        {"{{.n.x}}",
         "|ERR: template: t:1:4: executing \"t\" at <.n.x>: nil pointer evaluating interface {}.x"},
        {"{{with .s}}{{.x}}{{end}}",
         "|ERR: template: t:1:13: executing \"t\" at <.x>: can't evaluate field x in type string"},
        {"{{$x := 5}}{{$x.y}}",
         "|ERR: template: t:1:15: executing \"t\" at <$x.y>: can't evaluate field y in type int"},
        {"{{range .l}}{{.x}}{{end}}", "|ERR: template: t:1:14: executing \"t\" at <.x>: can't "
                                      "evaluate field x in type interface {}"},
        {"{{(.a).b}}",
         "|ERR: template: t:1:3: executing \"t\" at <.a>: can't evaluate field b in type int"},
        {"{{.a 1}}",
         "|ERR: template: t:1:2: executing \"t\" at <.a>: a is not a method but has arguments"},
        {"{{\"x\" | .a}}",
         "|ERR: template: t:1:8: executing \"t\" at <.a>: a is not a method but has arguments"},
        {"{{1 2}}",
         "|ERR: template: t:1:2: executing \"t\" at <1>: can't give argument to non-function 1"},
        {"{{nil}}", "|ERR: template: t:1:2: executing \"t\" at <nil>: nil is not a command"},
        {"{{9223372036854775808}}",
         "|ERR: template: t:1:2: executing \"t\" at <9223372036854775808>: 9223372036854775808 "
         "overflows int"},
        {"line1\n  {{.a.b}}", "line1\n  |ERR: template: t:2:6: executing \"t\" at <.a.b>: can't "
                              "evaluate field b in type "
                              "interface {}"},
        {"ok {{.s}} {{.a.b}} never",
         "ok str |ERR: template: t:1:14: executing \"t\" at <.a.b>: can't evaluate field b in type "
         "interface {}"},
    }));
    CAPTURE(text);
    CHECK(render(text) == expected);
}

TEST_CASE("template range, if, with and variables", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{range $i, $e := .l}}{{$i}}:{{$e}} {{end}}", "0:1 1:two 2:<no value> 3:3.5 "},
        {"{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}", "k=v;x=map[y:z];"},
        {"{{range .nums}}{{.}}{{end}}", "312"},
        {"{{range .e}}x{{else}}empty{{end}}", "empty"},
        {"{{range .em}}x{{else}}empty{{end}}", "empty"},
        {"{{range .missing}}x{{else}}none{{end}}", "none"},
        {"{{range .n}}x{{else}}null{{end}}", "null"},
        {"{{range $e := .e}}x{{else}}{{$e}}{{end}}", "[]"},
        {"{{range .objs}}{{.name}}={{.v}} {{end}}", "a=1 b=2 "},
        {"{{range $i, $_ := .nums}}{{$i}}{{end}}", "012"},
        {"{{range .objs}}{{$.a}}{{end}}", "11"},
        {"{{range .nums}}{{if eq . 1}}{{break}}{{end}}{{.}}{{end}}", "3"},
        {"{{range .nums}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}", "32"},
        {"{{range .objs}}{{.name}}{{range $.nums}}{{if eq . "
         "1}}{{break}}{{end}}{{.}}{{end}};{{end}}",
         "a3;b3;"},
        {"{{range .nums}}<{{range $.e}}{{else}}{{break}}{{end}}>{{end}}", "<><><>"},
        {"{{range .nums}}<{{range $.e}}{{else}}{{continue}}{{end}}>{{end}}", "<<<"},
        {"{{range .s}}x{{end}}",
         "|ERR: template: t:1:8: executing \"t\" at <.s>: range can't iterate over str"},
        {"{{range .a}}x{{end}}",
         "|ERR: template: t:1:8: executing \"t\" at <.a>: range can't iterate over 1"},
        {"{{range 5}}x{{end}}",
         "|ERR: template: t:1:8: executing \"t\" at <5>: range can't iterate over 5"},
        {"{{if .a}}y{{else}}n{{end}}", "y"},
        {"{{if .z}}y{{else}}n{{end}}", "n"},
        {"{{if .t}}y{{else}}n{{end}}", "n"},
        {"{{if .e}}y{{else}}n{{end}}", "n"},
        {"{{if .em}}y{{else}}n{{end}}", "n"},
        {"{{if .n}}y{{else}}n{{end}}", "n"},
        {"{{if .missing}}y{{else}}n{{end}}", "n"},
        {"{{if \"0\"}}y{{else}}n{{end}}", "y"},
        {"{{if 0.0}}y{{else}}n{{end}}", "n"},
        {"{{if .l}}y{{else}}n{{end}}", "y"},
        {"{{if not .b}}y{{else}}n{{end}}", "n"},
        {"{{if .z}}a{{else if .a}}b{{else}}c{{end}}", "b"},
        {"{{if .z}}a{{else if .t}}b{{else if .s}}c{{end}}", "c"},
        {"{{with .m.x}}{{.y}}{{end}}", "z"},
        {"{{with .missing}}x{{else}}none{{end}}", "none"},
        {"{{with $v := .s}}{{$v}}{{.}}{{end}}", "strstr"},
        {"{{if $x := .a}}{{$x}}{{end}}", "1"},
        {"{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"},
        {"{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", "21"},
        {"{{$x := .l}}{{len $x}}", "4"},
        {"{{$x = 1}}", "|ERR: template: t:1:7: executing \"t\" at <1>: undefined variable: $x"},
        {"{{and 1 2}} {{and 0 2}} [{{or 0 \"\"}}] {{or 0 3}} {{and .missing 1}}",
         "2 0 [] 3 <no value>"},
        {"{{and 0 (fail \"x\")}}{{or 1 (fail \"y\")}}", "01"},
        {"{{.a | and 1}} {{.z | or 0}}", "1 0"},
        {"{{and 1 (fail \"boom\")}}",
         "|ERR: template: t:1:9: executing \"t\" at <fail \"boom\">: error calling fail: boom"},
        {"{{.s | printf \"%s!\"}}", "str!"},
        {"{{.missing | printf \"%v\"}}", "<nil>"},
        {"{{.a | eq 1}} {{\"a\" | eq \"a\" | not}}", "true false"},
        {"{{.l | len}}", "4"},
    }));
    CAPTURE(text);
    CHECK(render(text) == expected);
}

TEST_CASE("template define, template and block", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{define \"T\"}}[{{.}}]{{end}}{{template \"T\" .a}}{{template \"T\"}}",
         "[1][<no value>]"},
        {"{{define \"T\"}}{{$}}{{end}}{{template \"T\" .s}}", "str"},
        {"{{block \"B\" .s}}<{{.}}>{{end}}", "<str>"},
        {"{{define \"T\"}}{{.}}{{end}}{{$x := 1}}{{template \"T\" $x}}", "1"},
        {"{{define \"A\"}}a{{template \"B\" .}}{{end}}{{define \"B\"}}b{{.s}}{{end}}{{template "
         "\"A\" .}}",
         "abstr"},
        {"{{$x := 1}}{{define \"T\"}}{{$x}}{{end}}",
         "PARSE: template: t:1: undefined variable \"$x\""},
        {"{{template \"x\"}}", "|ERR: template: t:1:11: executing \"t\" at <{{template \"x\"}}>: "
                               "template \"x\" not defined"},
        {"{{define \"T\"}}{{.a.y}}{{end}}{{template \"T\" .}}",
         "|ERR: template: t:1:18: executing \"T\" at <.a.y>: can't evaluate field y in type "
         "interface {}"},
        {"{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}",
         "|ERR: template: t:1:25: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum "
         "template "
         "depth (64)"},
    }));
    CAPTURE(text);
    CHECK(render(text) == expected);
}

TEST_CASE("template top-level document shapes", "[unit][template]") {
    CHECK(render("{{.}}", "[1, 2]") == "[1 2]");
    CHECK(render("{{.}}", "\"s\"") == "s");
    CHECK(render("{{.}}|{{.x}}", "null") == "<no value>|<no value>");
    CHECK(render("{{len .array}}", R"({"array": [1, 2, 3]})") == "3");
    CHECK(render("{{._tyk_meta.k}} {{._tyk_context.headers_X_Id}}",
                 R"({"_tyk_meta": {"k": "m"}, "_tyk_context": {"headers_X_Id": "7"}})") == "m 7");
}

TEST_CASE("template executes concurrently on one parsed template", "[unit][template]") {
    std::string error;
    auto t =
        Template::parse("t", "{{range .objs}}{{.name | upper}}{{end}}{{jsonMarshal .m}}", error);
    REQUIRE(t);
    const auto data = nlohmann::json::parse(kData);
    std::vector<std::string> results(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < results.size(); ++i) {
        threads.emplace_back([&, i] {
            for (int n = 0; n < 200; ++n) {
                std::string out;
                if (t->execute(data, out).empty()) {
                    results[i] = out;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (const auto& r : results) {
        CHECK(r == R"(AB{"k":"v","x":{"y":"z"}})");
    }
}
