// Template functions: Go's builtins and fmt verbs, Tyk's jsonMarshal/xmlMarshal, and Sprig v3.
#include "middleware/template/template.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <regex>
#include <string>

using portcullis::tmpl::Template;

namespace {

const char* const kData = R"({
    "a": 1, "s": "str", "f": 1.5, "n": null, "b": true, "z": 0,
    "l": [1, "two", null, 3.5], "m": {"k": "v", "x": {"y": "z"}}, "e": [], "em": {},
    "x": {"b": "<a&b>", "a": [1, 2.5, 1e21, 1e-7, null, true], "c": {"z": "\u2028"}},
    "xml": {"root": {"-id": "1", "name": "x<y", "items": [{"a": 1}, {"a": 2}], "empty": null,
                     "e2": ""}}
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

TEST_CASE("template builtins len, index, slice, not, eq, lt, html, js, urlquery",
          "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{len \"h\xc3\xa9llo\"}} {{len .l}} {{len .m}} {{len .e}}", "6 4 2 0"},
        {"{{len 3}}",
         "|ERR: template: t:1:2: executing \"t\" at <len 3>: error calling len: len of type int"},
        {"{{len .n}}", "|ERR: template: t:1:2: executing \"t\" at <len .n>: error calling len: len "
                       "of nil pointer"},
        {"{{len .missing}}", "|ERR: template: t:1:2: executing \"t\" at <len .missing>: error "
                             "calling len: reflect: call of "
                             "reflect.Value.Type on zero Value"},
        {"{{index .l 1}} {{index .m \"k\"}} {{index .m \"x\" \"y\"}} {{index .m \"zz\"}} {{index "
         ".s 0}}",
         "two v z <no value> 115"},
        {"{{index .l}}", "[1 two <nil> 3.5]"},
        {"{{index .l 10}}", "|ERR: template: t:1:2: executing \"t\" at <index .l 10>: error "
                            "calling index: index out of range: 10"},
        {"{{index .l 4}}", "|ERR: template: t:1:2: executing \"t\" at <index .l 4>: error calling "
                           "index: reflect: slice index "
                           "out of range"},
        {"{{index .l -1}}", "|ERR: template: t:1:2: executing \"t\" at <index .l -1>: error "
                            "calling index: index out of range: -1"},
        {"{{index .m 1}}", "|ERR: template: t:1:2: executing \"t\" at <index .m 1>: error calling "
                           "index: value has type int; "
                           "should be string"},
        {"{{index .a 0}}", "|ERR: template: t:1:2: executing \"t\" at <index .a 0>: error calling "
                           "index: can't index item of "
                           "type int"},
        {"{{index nil 1}}", "|ERR: template: t:1:2: executing \"t\" at <index nil 1>: error "
                            "calling index: index of untyped nil"},
        {"{{index .n 1}}", "|ERR: template: t:1:2: executing \"t\" at <index .n 1>: error calling "
                           "index: index of untyped nil"},
        {"{{index .l \"x\"}}", "|ERR: template: t:1:2: executing \"t\" at <index .l \"x\">: error "
                               "calling index: cannot index "
                               "slice/array with type string"},
        {"{{index .l nil}}", "|ERR: template: t:1:2: executing \"t\" at <index .l nil>: error "
                             "calling index: cannot index "
                             "slice/array with nil"},
        {"{{slice .l 1 3}} {{slice .l 2}} {{slice .l}}",
         "[two <nil>] [<nil> 3.5] [1 two <nil> 3.5]"},
        {"{{slice .e 0}}", "<no value>"},
        {"{{slice \"abc\" 1}}", "|ERR: template: t:1:2: executing \"t\" at <slice \"abc\" 1>: "
                                "error calling slice: list should be "
                                "type of slice or array but string"},
        {"{{not 0}} {{not 1}} {{not .missing}} {{not .l}} {{not .em}}",
         "true false true false true"},
        {"{{not 1 2}}", "|ERR: template: t:1:2: executing \"t\" at <not>: wrong number of args for "
                        "not: want 1 got 2"},
        {"{{eq .a 1}} {{eq .s \"x\" \"str\"}} {{eq .f 1.5}} {{eq .b true}} {{eq .missing nil}} "
         "{{eq .n nil}} "
         "{{ne .a 2}}",
         "true true true true true true true"},
        {"{{eq .missing 1}} {{eq 1 .missing}}", "false false"},
        {"{{eq 1 1.0}}", "|ERR: template: t:1:2: executing \"t\" at <eq 1 1.0>: error calling eq: "
                         "incompatible types for "
                         "comparison"},
        {"{{eq .a .f}}", "|ERR: template: t:1:2: executing \"t\" at <eq .a .f>: error calling eq: "
                         "incompatible types for "
                         "comparison"},
        {"{{eq .l .l}}", "|ERR: template: t:1:2: executing \"t\" at <eq .l .l>: error calling eq: "
                         "non-comparable type "
                         "[%!s(int=1) two <nil> %!s(float64=3.5)]: []interface {}"},
        {"{{eq .m \"a\"}}", "|ERR: template: t:1:2: executing \"t\" at <eq .m \"a\">: error "
                            "calling eq: incompatible types for "
                            "comparison"},
        {"{{eq .l .m}}", "|ERR: template: t:1:2: executing \"t\" at <eq .l .m>: error calling eq: "
                         "non-comparable types "
                         "[%!s(int=1) two <nil> %!s(float64=3.5)]: []interface {}, "
                         "map[string]interface {}: map[k:v "
                         "x:map[y:z]]"},
        {"{{eq .m nil}} {{eq nil .m}} {{ne .l nil}}", "false false true"},
        {"{{printf \"%T %v %c %T\" (index \"abc\" 0) (index \"abc\" 1) (index \"abc\" 2) (len "
         ".l)}} {{eq "
         "(index \"a\" 0) 97}} {{lt (index \"a\" 0) 98}}",
         "uint8 98 c int true true"},
        {"{{index \"abc\" 0 1}}", "|ERR: template: t:1:2: executing \"t\" at <index \"abc\" 0 1>: "
                                  "error calling index: can't index item "
                                  "of type uint8"},
        {"{{eq 1}}", "|ERR: template: t:1:2: executing \"t\" at <eq 1>: error calling eq: missing "
                     "argument for comparison"},
        {"{{ne 1}}", "|ERR: template: t:1:2: executing \"t\" at <ne>: wrong number of args for ne: "
                     "want 2 got 1"},
        {"{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2.5}} {{lt .a 2}} {{gt .f 1.0}}",
         "true true true false true true"},
        {"{{lt true false}}", "|ERR: template: t:1:2: executing \"t\" at <lt true false>: error "
                              "calling lt: invalid type for "
                              "comparison"},
        {"{{lt 1 \"a\"}}", "|ERR: template: t:1:2: executing \"t\" at <lt 1 \"a\">: error calling "
                           "lt: incompatible types for "
                           "comparison"},
        {"{{lt .missing 1}}", "|ERR: template: t:1:2: executing \"t\" at <lt .missing 1>: error "
                              "calling lt: invalid type for "
                              "comparison"},
        {"{{html \"<a href='x'>&\\\"</a>\"}} {{html .missing}} {{html .a \"<\" 2}}",
         "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt; &lt;no value&gt; 1&lt;2"},
        {"{{js \"a'b\\\"c<d>&e=f\\n\"}}", "a\\'b\\\"c\\u003Cd\\u003E\\u0026e\\u003Df\\u000A"},
        {"{{urlquery \"a b&c/d=\xc3\xa9\"}} {{.missing | urlquery}}",
         "a+b%26c%2Fd%3D%C3%A9 %3Cno+value%3E"},
        {"{{call .missing}}", "|ERR: template: t:1:2: executing \"t\" at <call .missing>: error "
                              "calling call: call of nil"},
        {"{{and}}", "|ERR: template: t:1:2: executing \"t\" at <and>: wrong number of args for "
                    "and: want at least 1 got 0"},
    }));
    CAPTURE(text);
    CHECK(render(text) == expected);
}

TEST_CASE("template print, println and printf follow Go's fmt", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{print 1 2 \"a\" \"b\" 3 nil}}", "1 2ab3 <nil>"},
        {"{{println 1 \"a\" nil}}", "1 a <nil>\n"},
        {"{{print}}|{{print .missing}}", "|<nil>"},
        {"{{printf \"%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%q|%U\" 42 42 42 42 255 255 8 5 65 65 65}}",
         "   42|42   |00042|+42|ff|FF|10|101|A|'A'|U+0041"},
        {"{{printf \"%.2f|%8.3f|%-8.2f|%e|%E|%g|%G|%v\" 3.14159 3.14159 3.14159 1234.5678 "
         "1234.5678 "
         "0.00001234 1e21 2.0}}",
         "3.14|   3.142|3.14    |1.234568e+03|1.234568E+03|1.234e-05|1E+21|2"},
        {"{{printf \"%s|%10s|%-10s|%.2s|%q|%x|%X|% x\" \"hi\" \"hi\" \"hi\" \"hello\" \"a\\\"b\" "
         "\"hi\" \"hi\" "
         "\"hi\"}}",
         "hi|        hi|hi        |he|\"a\\\"b\"|6869|6869|68 69"},
        {"{{printf \"%.3s|%5.1q\" \"abcdef\" \"abc\"}}", "abc|  \"a\""},
        {"{{printf \"%t|%5t|%-6v|%v\" true true false nil}}", "true| true|false |<nil>"},
        {"{{printf \"%d|%s|%t\" \"x\" 5 1}}", "%!d(string=x)|%!s(int=5)|%!t(int=1)"},
        {"{{printf \"%d %d\" 1}}", "1 %!d(MISSING)"},
        {"{{printf \"%d\" 1 2 \"x\"}}", "1%!(EXTRA int=2, string=x)"},
        {"{{printf \"%z|%%\" 1}}", "%!z(int=1)|%"},
        {"{{printf \"%\"}}", "%!(NOVERB)"},
        {"{{printf \"%[2]d %[1]d\" 1 2}}", "2 1"},
        {"{{printf \"%[3]d\" 1 2}}", "%!d(BADINDEX)"},
        {"{{printf \"%*d|%-*d|\" 5 42 4 7}}", "   42|7   |"},
        {"{{printf \"%d\" .missing}}|{{printf \"%v\" nil}}|{{printf \"%s\" nil}}",
         "%!d(<nil>)|<nil>|%!s(<nil>)"},
        {"{{printf \"%e|%.0f|%.1f|%g|%.3g|%g|%.3g\" 0.0 2.5 0.05 100000.0 1234.5678 1e-7 1.0}}",
         "0.000000e+00|2|0.1|100000|1.23e+03|1e-07|1"},
        {"{{printf \"%v|%v|%v|%v\" 1e20 1e21 123456789.0 -0.5}}",
         "1e+20|1e+21|1.23456789e+08|-0.5"},
        {"{{printf \"%08.3f|%+.2e|% d|%+d|%6.2f%%\" -3.14159 12345.678 5 -5 12.3456}}",
         "-003.142|+1.23e+04| 5|-5| 12.35%"},
        {"{{printf \"%x|%X|%o|%O|%b|%#x|%#o|%08b\" -255 255 8 8 5 255 8 5}}",
         "-ff|FF|10|0o10|101|0xff|010|00000101"},
        {"{{printf \"%c|%q|%U|%#U\" 233 10 233 233}}", "\xc3\xa9|'\\n'|U+00E9|U+00E9 '\xc3\xa9'"},
        {"{{printf \"%v %d\" .l .l}}",
         "[1 two <nil> 3.5] [1 %!d(string=two) <nil> %!d(float64=3.5)]"},
        {"{{printf \"%q\" .l}}", "['\\x01' \"two\" <nil> %!q(float64=3.5)]"},
        {"{{printf \"%v|%s\" .m .m}}", "map[k:v x:map[y:z]]|map[k:v x:map[y:z]]"},
        {"{{printf \"%T %T %T %T %T %T %T\" 1 1.5 \"s\" true .l .m nil}}",
         "int float64 string bool []interface {} map[string]interface {} <nil>"},
        {"{{printf \"%99999999d\" 1}}", "%!(NOVERB)%!(EXTRA int=1)"},
        {"{{printf \"%v\" (list 1 .missing)}}", "[1 <nil>]"},
        {"{{printf \"%#v|%#v\" \"s\" 1}}", "\"s\"|1"},
        {"{{printf 5}}", "|ERR: template: t:1:9: executing \"t\" at <5>: expected string; found 5"},
    }));
    CAPTURE(text);
    CHECK(render(text) == expected);
}

TEST_CASE("template jsonMarshal and xmlMarshal are Tyk's", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{jsonMarshal .x}}",
         R"({"a":[1,2.5,1e+21,1e-7,null,true],"b":"\u003ca\u0026b\u003e","c":{"z":"\u2028"}})"},
        {"{{jsonMarshal .missing}} {{jsonMarshal .n}} {{.s | jsonMarshal}}", "null null \"str\""},
        {R"({{jsonMarshal "\x01\b\f\n\t\"\\\u00e9"}})",
         "\"\\u0001\\u0008\\u000c\\n\\t\\\"\\\\\xc3\xa9\""},
        {"{{jsonMarshal 0.000001}} {{jsonMarshal 1e20}} {{jsonMarshal 1.0}} {{jsonMarshal "
         "12.5e-9}}",
         "0.000001 100000000000000000000 1 1.25e-8"},
        {"{{jsonMarshal (list 1 \"a\" nil)}} {{jsonMarshal (dict \"b\" 1 \"a\" (list))}}",
         "[1,\"a\",null] {\"a\":[],\"b\":1}"},
        {"{{jsonMarshal (split \",\" \"a,b\")}} {{jsonMarshal .em}} {{jsonMarshal .e}}",
         "{\"_0\":\"a\",\"_1\":\"b\"} {} []"},
        {"{{jsonMarshal (date \"2006\" 0 | list)}}", "[\"1970\"]"},
        {"{{xmlMarshal .xml}}", "<root "
                                "id=\"1\"><e2/><empty/><items><a>1</a></items><items><a>2</a></"
                                "items><name>x&lt;y</name></root>"},
        {"{{xmlMarshal (dict \"a\" 1 \"b\" \"t\")}}", "<doc><a>1</a><b>t</b></doc>"},
        {"{{xmlMarshal (dict \"k\" (list 1 2))}}", "<doc><k>1</k><k>2</k></doc>"},
        {"{{xmlMarshal (dict)}}", "<doc/>"},
        {"{{xmlMarshal (dict \"r\" (dict \"#text\" \"t\" \"-a\" 1.5))}}", "<r a=\"1.5\">t</r>"},
        {"{{xmlMarshal \"<\"}}|{{xmlMarshal 5}}|{{xmlMarshal 1.5}}|{{xmlMarshal true}}",
         "<string>&lt;</string>|<int>5</int>|<float64>1.5</float64>|<bool>true</bool>"},
        {"{{xmlMarshal (list \"a\" 1)}}", "<string>a</string>\n<int>1</int>"},
        {"[{{xmlMarshal .missing}}]", "[]"},
        {"{{xmlMarshal (list (dict \"a\" 1))}}",
         "|ERR: template: t:1:2: executing \"t\" at <xmlMarshal (list (dict \"a\" 1))>: error "
         "calling "
         "xmlMarshal: xml: unsupported type: map[string]interface {}"},
        {"{{toJson .m}} {{toJson \"<>\"}}", "{\"k\":\"v\",\"x\":{\"y\":\"z\"}} \"\\u003c\\u003e\""},
        {"{{toPrettyJson (dict \"a\" (list 1 2) \"b\" (dict))}}",
         "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}"},
        {"{{toRawJson (dict \"a\" \"<&>\")}}", "{\"a\":\"<&>\"}"},
    }));
    CAPTURE(text);
    CHECK(render(text) == expected);
}

TEST_CASE("template Sprig string functions", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{upper \"ab\xc3\xa9\"}} {{lower \"AB\xc3\x89\"}} {{title \"hello wORLD-foo_bar\"}}",
         "AB\xc3\x89 ab\xc3\xa9 Hello WORLD-Foo_bar"},
        {"{{trim \"\\t x \\n\"}}|{{trimAll \"$\" \"$$5.00$\"}}|{{trimPrefix \"ab\" "
         "\"abc\"}}|{{trimSuffix \"bc\" \"abc\"}}",
         "x|5.00|c|a"},
        {"{{replace \"a\" \"b\" \"banana\"}} {{\"banana\" | replace \"an\" \"AN\"}}",
         "bbnbnb bANANa"},
        {"{{contains \"an\" \"banana\"}} {{hasPrefix \"ba\" \"banana\"}} {{hasSuffix \"x\" "
         "\"banana\"}}",
         "true true false"},
        {"{{split \",\" \"a,b,c\"}} {{(split \",\" \"a,b\")._1}}", "map[_0:a _1:b _2:c] b"},
        {"{{splitList \",\" \"a,,b\"}} {{splitList \"\" \"ab\"}}", "[a  b] [a b]"},
        {"{{join \"-\" .l}} {{join \", \" (list \"a\" 1 .missing)}} {{join \"+\" \"solo\"}}",
         "1-two-3.5 a, 1 solo"},
        {"{{repeat 3 \"ab\"}} {{\"ab\" | repeat 2}} [{{repeat 0 \"x\"}}]", "ababab abab []"},
        {"{{repeat -1 \"x\"}}", "|ERR: template: t:1:2: executing \"t\" at <repeat -1 \"x\">: "
                                "error calling repeat: strings: negative "
                                "Repeat count"},
        {"{{repeat 2.5 \"x\"}}",
         "|ERR: template: t:1:9: executing \"t\" at <2.5>: expected integer; found 2.5"},
        {"{{upper .a}}", "|ERR: template: t:1:8: executing \"t\" at <.a>: wrong type for value; "
                         "expected string; got int"},
        {"{{upper .n}}", "|ERR: template: t:1:8: executing \"t\" at <.n>: wrong type for value; "
                         "expected string; got interface {}"},
        {"{{upper .missing}}",
         "|ERR: template: t:1:8: executing \"t\" at <.missing>: invalid value; expected string"},
        {"{{.missing | upper}}",
         "|ERR: template: t:1:13: executing \"t\" at <upper>: invalid value; expected string"},
        {"{{quote \"a\\\"b\" 1 .missing}} {{squote \"a\" 2}}", "\"a\\\"b\" \"1\" 'a' '2'"},
        {"{{cat \"a\" 1 .missing \"b\"}}", "a 1 b"},
        {"{{toString 1.50}} {{toString .l}} {{toString \"s\"}}", "1.5 [1 two <nil> 3.5] s"},
        {"{{substr 1 3 \"hello\"}} {{trunc 3 \"hello\"}} {{trunc -2 \"hello\"}} {{abbrev 5 \"hello "
         "world\"}}",
         "el hel lo he..."},
        {"{{indent 2 \"a\\nb\"}}|{{nindent 1 \"x\"}}", "  a\n  b|\n x"},
        {"{{nospace \" a b\\tc \"}} {{plural \"one\" \"many\" 1}} {{plural \"one\" \"many\" 2}}",
         "abc one many"},
        {"{{sha256sum \"abc\"}}",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"{{sha1sum \"abc\"}} {{adler32sum \"abc\"}}",
         "a9993e364706816aba3e25717850c26c9cd0d89d 38600999"},
        {"{{b64enc \"hello world\"}} {{b64dec \"aGVsbG8gd29ybGQ=\"}} {{b64dec \"aGVsbG8\"}} "
         "{{b64dec \"!!\"}}",
         "aGVsbG8gd29ybGQ= hello world illegal base64 data at input byte 4 illegal base64 data at "
         "input byte 0"},
        {"{{b32enc \"hi\"}} {{b32dec \"NBUQ====\"}}", "NBUQ==== hi"},
        {"{{regexMatch \"^a.c$\" \"abc\"}} {{regexFind \"[0-9]+\" \"ab12cd345\"}} {{regexFindAll "
         "\"[0-9]+\" "
         "\"ab12cd345\" -1}}",
         "true 12 [12 345]"},
        {"{{regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\"}} {{regexReplaceAllLiteral "
         "\"a(x*)b\" \"-ab-\" "
         "\"${1}\"}}",
         "-W-xxW- -${1}-"},
        {"{{regexSplit \"a\" \"banana\" -1}} {{regexSplit \"a\" \"banana\" 2}}",
         "[b n n ] [b nana]"},
        {"{{base \"/a/b.txt\"}} {{dir \"/a/b.txt\"}} {{ext \"/a/b.txt\"}} {{clean "
         "\"a//b/../c/.\"}} {{isAbs \"/x\"}}",
         "b.txt /a .txt a/c true"},
        {"{{fail \"stop\"}}",
         "|ERR: template: t:1:2: executing \"t\" at <fail \"stop\">: error calling fail: stop"},
        {"{{hello}}", "Hello!"},
    }));
    CAPTURE(text);
    CHECK(render(text) == expected);
}

TEST_CASE("template Sprig defaults, lists, dicts, math and dates", "[unit][template]") {
    auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"{{default \"d\" .missing}} {{.missing | default \"d\"}} {{default \"d\" \"\"}} {{default "
         "\"d\" 0}} "
         "{{default \"d\" \"v\"}} {{default \"d\" .l}}",
         "d d d d v [1 two <nil> 3.5]"},
        {"{{empty .e}} {{empty .m}} {{empty 0}} {{empty \"x\"}} {{empty .missing}} {{empty false}}",
         "true false true false true true"},
        {"{{coalesce .missing .n \"\" \"x\"}} {{coalesce 0 \"\"}}", "x <no value>"},
        {"{{ternary \"y\" \"n\" true}} {{ternary \"y\" \"n\" false}}", "y n"},
        {"{{all 1 \"a\"}} {{all 1 0}} {{any 0 \"\" 3}} {{any 0 \"\"}}", "true false true false"},
        {"{{list 1 \"a\" .missing}} {{list}} {{dict \"a\" 1 \"b\" \"x\"}} {{dict \"a\"}}",
         "[1 a <nil>] [] map[a:1 b:x] map[a:]"},
        {"{{keys (dict \"a\" 1)}} {{hasKey .m \"k\"}} {{hasKey .m \"zz\"}} {{get .m \"k\"}} [{{get "
         ".m \"zz\"}}]",
         "[a] true false v []"},
        {"{{pluck \"k\" .m (dict \"k\" 2)}} {{values (dict \"a\" 1)}}", "[v 2] [1]"},
        {"{{pick .m \"k\"}} {{omit .m \"x\"}}", "map[k:v] map[k:v]"},
        {"{{$d := dict \"a\" 1}}{{$_ := set $d \"b\" 2}}{{$d}} {{$_ := unset $d \"a\"}}{{$d}}",
         "map[a:1 b:2] map[b:2]"},
        {"{{first .l}} {{last .l}} {{first .e}} {{rest (list 1 2 3)}} {{initial (list 1 2 3)}} "
         "{{rest .e}}",
         "1 3.5 <no value> [2 3] [1 2] []"},
        {"{{first \"abc\"}}", "|ERR: template: t:1:2: executing \"t\" at <first \"abc\">: error "
                              "calling first: Cannot find first on type string"},
        {"{{append (list 1) 2}} {{prepend (list 1) 0}} {{reverse (list 1 2 3)}} {{uniq (list 1 1 "
         "\"1\" 2)}}",
         "[1 2] [0 1] [3 2 1] [1 1 2]"},
        {"{{without (list 1 2 3 2) 2}} {{has 2 (list 1 2)}} {{has \"2\" (list 1 2)}} {{compact "
         "(list 0 1 \"\" \"a\")}}",
         "[1 3] true false [1 a]"},
        {"{{concat (list 1) (list 2 3)}} {{chunk 2 (list 1 2 3)}} {{until 3}} {{untilStep 1 7 2}}",
         "[1 2 3] [[1 2] [3]] [0 1 2] [1 3 5]"},
        {"{{dig \"x\" \"y\" \"def\" .m}} {{dig \"x\" \"q\" \"def\" .m}}", "z def"},
        {"{{add 1 2 3}} {{sub 5 2}} {{mul 2 3 4}} {{div 7 2}} {{mod 7 3}} {{max 1 5 3}} {{min 4 2 "
         "8}} {{add1 1}}",
         "6 3 24 3 1 5 2 2"},
        {"{{add 1 \"2\" 3.7 .missing true}} {{sub .f 1}} {{printf \"%T\" (add 1 2)}}", "7 0 int64"},
        {"{{div 1 0}}", "|ERR: template: t:1:2: executing \"t\" at <div 1 0>: error calling div: "
                        "runtime error: integer divide "
                        "by zero"},
        {"{{int \"42\"}} {{int \"0x1A\"}} {{int \"4.0\"}} {{int \"4.5\"}} {{int .f}} {{int64 "
         "\"7\"}} {{float64 "
         "\"1.25\"}} {{atoi \"12\"}} {{atoi \"x\"}}",
         "42 26 0 0 1 7 1.25 12 0"},
        {"{{ceil 1.2}} {{floor 1.8}} {{round 1.25 1}} {{round 2.5 0}}", "2 1 1.3 3"},
        {"{{typeOf 1}} {{typeOf .l}} {{kindOf .m}} {{kindIs \"string\" \"x\"}} {{typeIs \"int\" "
         "1}} {{deepEqual "
         "(list 1) (list 1)}}",
         "int []interface {} map true true true"},
        {"{{date \"2006-01-02T15:04:05Z07:00\" 0}}", "1970-01-01T00:00:00Z"},
        {"{{date \"02/01/06 15:04:05.000 Mon Jan\" 1700000000}}", "14/11/23 22:13:20.000 Tue Nov"},
        {"{{date \"Jan 2, 2006 at 3:04pm (MST) -0700\" 1700000000}}",
         "Nov 14, 2023 at 10:13pm (UTC) +0000"},
        {"{{date \"Monday January _2 15:04:05.999999999\" 86400}}", "Friday January  2 00:00:00"},
        {"{{dateInZone \"2006\" 0 \"UTC\"}} {{htmlDate 0}}", "1970 1970-01-01"},
        {"{{now | date \"2006\" | len}} {{now.Year | printf \"%T\"}} {{(now).Format \"2006\" | "
         "len}}",
         "4 int 4"},
        {"{{uuidv4 | len}}", "36"},
        {"{{semver \"1.0.0\"}}", "|ERR: template: t:1:2: executing \"t\" at <semver \"1.0.0\">: "
                                 "error calling semver: function not "
                                 "supported by portcullis"},
    }));
    CAPTURE(text);
    CHECK(render(text) == expected);
}

TEST_CASE("template uuidv4 is a random version 4 UUID", "[unit][template]") {
    const std::string a = render("{{uuidv4}}");
    const std::string b = render("{{uuidv4}}");
    CHECK(std::regex_match(
        a, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
    CHECK(a != b);
}
