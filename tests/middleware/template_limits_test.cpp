// Hostile templates: recursion, output size, range iterations, nesting and runaway functions are
// bounded, end in an execution error, and never crash.
#include "middleware/template/template.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using portcullis::tmpl::Limits;
using portcullis::tmpl::Template;

namespace {

struct Rendered {
    std::string out;
    std::string error;
};

Rendered render(const std::string& text, const std::string& data, const Limits& limits = {}) {
    std::string error;
    auto t = Template::parse("t", text, error);
    REQUIRE(t);
    Rendered r;
    r.error = t->execute(nlohmann::json::parse(data), r.out, limits);
    return r;
}

std::string repeat(const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        out += s;
    }
    return out;
}

} // namespace

TEST_CASE("template recursion stops at max_template_depth", "[unit][template]") {
    Limits limits;
    limits.max_template_depth = 3;
    auto r = render(R"({{define "r"}}x{{template "r" .}}{{end}}{{template "r" .}})", "{}", limits);
    CHECK(r.out == "xxx");
    CHECK(
        r.error ==
        R"(template: t:1:26: executing "r" at <{{template "r" .}}>: exceeded maximum template depth (3))");

    auto d = render(R"({{define "r"}}{{template "r" .}}{{end}}{{template "r" .}})", "{}");
    CHECK(d.error.ends_with("exceeded maximum template depth (64)"));

    // Mutual recursion is bounded the same way.
    auto m = render(
        R"({{define "a"}}{{template "b" .}}{{end}}{{define "b"}}{{template "a" .}}{{end}}{{template "a" .}})",
        "{}", limits);
    CHECK(m.error.ends_with("exceeded maximum template depth (3)"));
}

TEST_CASE("template output stops at max_output_bytes", "[unit][template]") {
    Limits limits;
    limits.max_output_bytes = 50;
    auto r = render("{{range until 100}}0123456789{{end}}", "{}", limits);
    CHECK(r.out == repeat("0123456789", 5));
    CHECK(
        r.error ==
        "template: t:1:19: executing \"t\" at <0123456789>: output exceeds the limit of 50 bytes");

    auto v = render(
        "{{range .l}}{{.}}{{end}}",
        R"({"l": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]})", limits);
    CHECK(v.out.size() == 50);
    CHECK(v.error.ends_with("output exceeds the limit of 50 bytes"));

    // Output already in the buffer does not count against this execution.
    std::string error;
    auto t = Template::parse("t", "{{.s}}", error);
    REQUIRE(t);
    std::string out(100, '-');
    CHECK(t->execute(nlohmann::json::parse(R"({"s": "ok"})"), out, limits).empty());
    CHECK(out == std::string(100, '-') + "ok");
}

TEST_CASE("template range iterations are bounded per execution", "[unit][template]") {
    Limits limits;
    limits.max_range_iterations = 10;
    const std::string data =
        R"({"l": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]})";
    auto r = render("{{range .l}}x{{end}}", data, limits);
    CHECK(r.out == repeat("x", 10));
    CHECK(r.error == "template: t:1:8: executing \"t\" at <{{range .l}}x{{end}}>: exceeded maximum "
                     "range iterations (10)");

    // All loops of one execution share the budget, nested ones included.
    auto n = render("{{range $a := until 3}}{{range until 3}}y{{end}}{{end}}", "{}", limits);
    CHECK(n.out == repeat("y", 7));
    CHECK(n.error.ends_with("exceeded maximum range iterations (10)"));

    // Functions cannot build collections beyond the same bound.
    auto u = render("{{range until 1000000000}}{{end}}", "{}");
    CHECK(u.error.ends_with("error calling until: result exceeds the limit of 1000000 elements"));
}

TEST_CASE("template functions cannot build unbounded strings", "[unit][template]") {
    auto r = render(R"({{repeat 100000000 "x"}})", "{}");
    CHECK(
        r.error ==
        R"(template: t:1:2: executing "t" at <repeat 100000000 "x">: error calling repeat: result exceeds the output limit of 16777216 bytes)");

    auto d = render(
        R"({{$x := "ab"}}{{range until 100}}{{$x = printf "%s%s" $x $x}}{{end}}{{len $x}})", "{}");
    CHECK(d.error.ends_with(
        "error calling printf: result exceeds the output limit of 16777216 bytes"));

    Limits limits;
    limits.max_output_bytes = 1000;
    auto total = render(R"({{range until 1000}}{{$x := repeat 900 "x"}}{{end}}done)", "{}", limits);
    CHECK(total.error.ends_with("template functions built more than 8000 bytes in this execution"));
}

TEST_CASE("template execution nesting is bounded", "[unit][template]") {
    // Each template level nests 900 ifs: the parser accepts it, execution stops cleanly.
    const std::string text = R"({{define "r"}})" + repeat("{{if 1}}", 900) +
                             R"({{template "r" .}})" + repeat("{{end}}", 900) +
                             R"({{end}}{{template "r" .}})";
    auto r = render(text, "{}");
    CHECK(r.error.ends_with("exceeded maximum nesting depth (2100)"));

    // The deepest nesting the parser accepts also executes.
    const std::string ifs = repeat("{{if 1}}", 1000) + "x" + repeat("{{end}}", 1000);
    auto i = render(ifs, "{}");
    CHECK(i.error.empty());
    CHECK(i.out == "x");

    const std::string parens = "{{print " + repeat("(print ", 900) + "1" + repeat(")", 900) + "}}";
    auto p = render(parens, "{}");
    CHECK(p.error.empty());
    CHECK(p.out == "1");
}

TEST_CASE("template survives deeply nested data", "[unit][template]") {
    const std::string deep = repeat("[", 1500) + repeat("]", 1500);
    auto r = render("{{len .}}", deep);
    CHECK(r.out == "1");
    auto p = render("{{.}}", deep);
    CHECK(p.error.empty());
    CHECK(p.out.find("...") != std::string::npos);
    auto j = render("{{jsonMarshal .}}", deep);
    CHECK(j.error.ends_with("error calling jsonMarshal: json: value nested too deeply"));
}

TEST_CASE("template huge printf widths are Go's BADWIDTH forms", "[unit][template]") {
    auto r = render(R"({{printf "%99999999d|%.99999999f" 1 2.0}})", "{}");
    CHECK(r.error.empty());
    CHECK(r.out == "%!(NOVERB)%!(EXTRA int=1, float64=2)");
    auto w = render(R"({{printf "%*d" 5000000 1}})", "{}");
    CHECK(w.out == "%!(BADWIDTH)1");
}
