// Go text/template (Go 1.19) lexing and parsing: what parses, and the exact parse errors.
#include "middleware/template/template.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using portcullis::tmpl::Template;

namespace {

std::string parse_error(const std::string& text) {
    std::string error;
    auto t = Template::parse("t", text, error);
    if (t) {
        return "<parsed>";
    }
    return error;
}

std::string render(const std::string& text, const std::string& data = "{}") {
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

TEST_CASE("template parse errors are Go's messages", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{.a }", R"(template: t:1: unexpected "}" in operand)"},
        {"{{if}}", "template: t:1: missing value for if"},
        {"{{}}", "template: t:1: missing value for command"},
        {"{{end}}", "template: t:1: unexpected {{end}}"},
        {"{{else}}", "template: t:1: unexpected {{else}}"},
        {"{{if .a}}x", "template: t:1: unexpected EOF"},
        {"{{range .a}}x{{else}}y", "template: t:1: unexpected EOF"},
        {"{{foo}}", R"(template: t:1: function "foo" not defined)"},
        {"{{env \"HOME\"}}", R"(template: t:1: function "env" not defined)"},
        {"{{expandenv \"$HOME\"}}", R"(template: t:1: function "expandenv" not defined)"},
        {"{{$x}}", R"(template: t:1: undefined variable "$x")"},
        {"{{range .l}}{{$x := 1}}{{end}}{{$x}}", R"(template: t:1: undefined variable "$x")"},
        {"{{.a | 1}}", "template: t:1: non executable command in pipeline stage 2"},
        {"{{.a | .b | \"x\"}}", "template: t:1: non executable command in pipeline stage 3"},
        {R"({{"\q"}})", "template: t:1: invalid syntax"},
        {"{{0x}}", R"(template: t:1: illegal number syntax: "0x")"},
        {"{{08}}", R"(template: t:1: integer overflow: "08")"},
        {"{{18446744073709551616}}", R"(template: t:1: integer overflow: "18446744073709551616")"},
        {"{{1e400}}", R"(template: t:1: illegal number syntax: "1e400")"},
        // an exponent beyond long's range (found by fuzz_template)
        {"{{1e99999999999999999999999}}",
         R"(template: t:1: illegal number syntax: "1e99999999999999999999999")"},
        {"{{3.a}}", R"(template: t:1: bad number syntax: "3.a")"},
        {"{{'ab'}}", "template: t:1: malformed character constant: 'ab'"},
        {"{{ ( ) }}", "template: t:1: missing value for parenthesized pipeline"},
        {"{{)}}", R"~(template: t:1: unexpected ")" in command)~"},
        {"{{(1}}", "template: t:1: unclosed left paren"},
        {"{{.a \"x\"x}}", R"(template: t:1: unexpected "x" in operand)"},
        {"{{\"a\".b}}", R"~(template: t:1: unexpected . after term "\"a\"")~"},
        {"{{with .a}}x{{else with .b}}y{{end}}", "template: t:1: unexpected <with> in else"},
        {"{{with .a}}x{{else if .b}}y{{end}}", "template: t:1: unexpected <if> in input"},
        {"{{range .a}}x{{else if .b}}y{{end}}", "template: t:1: unexpected <if> in input"},
        {"{{if 1}}{{else}}{{else}}{{end}}", "template: t:1: expected end; found {{else}}"},
        {"{{break}}", "template: t:1: {{break}} outside {{range}}"},
        {"{{continue}}", "template: t:1: {{continue}} outside {{range}}"},
        {"{{range .a}}{{define \"x\"}}{{end}}{{end}}",
         "template: t:1: unexpected <define> in command"},
        {"{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}",
         R"(template: t:1: template: multiple definition of template "a")"},
        {"{{define \"a\"}}x{{else}}{{end}}", "template: t:1: unexpected {{else}} in define clause"},
        {"{{define a}}x{{end}}", R"(template: t:1: unexpected "a" in define clause)"},
        {"{{template .x}}", R"(template: t:1: unexpected ".x" in template clause)"},
        {"{{block \"x\"}}{{end}}", "template: t:1: missing value for block clause"},
        {"{{/* x", "template: t:1: unclosed comment"},
        {"{{/* x */ y}}", "template: t:1: comment ends before closing delimiter"},
        {"{{$x := 1}}{{$x, $y := 2}}", "template: t:1: too many declarations in command"},
        {"{{range $x, $y, $z := .}}{{end}}", "template: t:1: too many declarations in range"},
        {"{{range $x, 1}}{{end}}", "template: t:1: range can only initialize variables"},
        {"{{$x=1}}", "template: t:1: bad character U+003D '='"},
        {"{{.a#}}", "template: t:1: bad character U+0023 '#'"},
        {"a{{.s}", "template: t:1: bad character U+007D '}'"},
        {"{{.a}x}}", "template: t:1: bad character U+007D '}'"},
        {"{{\xe2\x86\x92}}",
         "template: t:1: unrecognized character in action: U+2192 '\xe2\x86\x92'"},
        {"{{\"abc", "template: t:1: unterminated quoted string"},
        {"{{`abc", "template: t:1: unterminated raw quoted string"},
        {"{{'a", "template: t:1: unterminated character constant"},
        {"{{.a", "template: t:1: unclosed action"},
        {"{{.a\n", "template: t:2: unclosed action started at t:1"},
        {"{{.a\n\"x", "template: t:2: unterminated quoted string in action started at t:1"},
        {"a\nb\n{{.x }\n", R"(template: t:3: unexpected "}" in operand)"},
        {"{{\"abcdefghijklmnop\" \"x\"x}}", R"(template: t:1: unexpected "x" in operand)"},
        {"{{else \"abcdefghijklmnop\"}}", R"(template: t:1: unexpected "\"abcdefghi"... in else)"},
        {"{{if .a}}{{.b }x{{end}}", R"(template: t:1: unexpected "}" in operand)"},
        {"{{if .a}}\n{{.b}x{{end}}", "template: t:2: bad character U+007D '}'"},
        {"x\n{{if .a}}\n{{end}}\n{{end}}", "template: t:4: unexpected {{end}}"},
    }));
    CAPTURE(text);
    CHECK(parse_error(text) == expected);
}

TEST_CASE("template parse accepts Go's syntax", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"plain text", "plain text"},
        {"", ""},
        {"{{/* a comment */}}x", "x"},
        {"a {{- /* trimmed */ -}} b", "ab"},
        {"a  {{- 1 -}}  b", "a1b"},
        {"a\n\n\t{{- 1}}", "a1"},
        {"{{1 -}}\n\n b", "1b"},
        {"{{-3}}", "-3"},
        {"{{- 3 }}", "3"},
        {"{{3 -}} x", "3x"},
        {"{{- \n 4 \n -}}", "4"},
        {"{{1}}{{/* c */ -}}  2", "12"},
        {"{{\n  .a\n}}", "1"},
        {"{{0x1F}} {{0X1f}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{0x_1F}}",
         "31 31 15 15 5 1000 31"},
        {"{{'a'}} {{'\\n'}} {{'\\x41'}} {{'\\u00e9'}}", "97 10 65 233"},
        {"{{1.0}} {{1e3}} {{.5}} {{-2.50}} {{0x1p4}} {{1.5e-7}}", "1 1000 0.5 -2.5 16 1.5e-07"},
        {"{{+5}} {{-0}} {{9223372036854775807}}", "5 0 9223372036854775807"},
        {"{{1i}} {{1+2i}} {{2.5-1i}}", "(0+1i) (1+2i) (2.5-1i)"},
        {R"({{"a\tb\u00e9\x41\101"}})", "a\tb\xc3\xa9"
                                        "AA"},
        {"{{`raw\\n\"`}}", "raw\\n\""},
        {"{{true}} {{false}}", "true false"},
        {"{{\"x\" | printf \"%s-%s\" \"a\"}}", "a-x"},
        {"{{(1)}} {{((\"s\"))}}", "1 s"},
        {"{{$x := 1}}{{$x}}", "1"},
        {"{{$x := 1}}{{$x = 2}}{{$x}}", "2"},
        {"{{$ := 5}}{{$}}", "5"},
        {"{{range $i, $e := .l}}{{$i}}{{$e}}{{end}}", "0x1y"},
        {"{{range $e := .l}}{{$e}}{{end}}", "xy"},
        {"{{if 1}}a{{else if 0}}b{{else}}c{{end}}", "a"},
        {"{{define \"x\"}}X{{end}}{{template \"x\"}}", "X"},
        {"{{define `x`}}X{{end}}{{template `x`}}", "X"},
        {"{{define \"x\"}}{{end}}{{define \"x\"}}X{{end}}{{template \"x\"}}", "X"},
        {"{{define \"t\"}}body{{end}}", "body"},
        {"  {{define \"t\"}}body{{end}}  ", "body"},
        {"{{block \"b\" .a}}[{{.}}]{{end}}", "[1]"},
        {"{{range .l}}{{break}}{{end}}{{range .l}}{{continue}}{{end}}", ""},
        {"{{with $x := .a}}{{$x}}{{end}}", "1"},
        {"{{.a}}{{.a}}", "11"},
        {"{{ .a }}", "1"},
        {"{{.a|printf \"%d\"}}", "1"},
    }));
    CAPTURE(text);
    CHECK(render(text, R"({"a": 1, "l": ["x", "y"]})") == expected);
}

TEST_CASE("template parse bounds nesting depth", "[unit][template]") {
    std::string parens = "{{" + std::string(1001, '(') + "1" + std::string(1001, ')') + "}}";
    CHECK(parse_error(parens) == "template: t:1: max expression depth exceeded");

    std::string ifs;
    for (int i = 0; i < 1001; ++i) {
        ifs += "{{if 1}}";
    }
    ifs += "x";
    for (int i = 0; i < 1001; ++i) {
        ifs += "{{end}}";
    }
    CHECK(parse_error(ifs) == "template: t:1: max nesting depth exceeded");

    std::string ok = "{{" + std::string(500, '(') + "1" + std::string(500, ')') + "}}";
    CHECK(render(ok) == "1");
}

TEST_CASE("template name is kept and used in errors", "[unit][template]") {
    std::string error;
    auto t = Template::parse("body.tmpl", "{{.a.b}}", error);
    REQUIRE(t);
    CHECK(t->name() == "body.tmpl");
    std::string out;
    CHECK(
        t->execute(nlohmann::json::parse(R"({"a": 1})"), out) ==
        R"(template: body.tmpl:1:4: executing "body.tmpl" at <.a.b>: can't evaluate field b in type interface {})");
    CHECK(parse_error("") == "<parsed>");
    auto bad = Template::parse("", "{{.a }", error);
    CHECK_FALSE(bad);
    CHECK(error == R"(template: :1: unexpected "}" in operand)");
}
