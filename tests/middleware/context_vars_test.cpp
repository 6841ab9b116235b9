#include "middleware/core/http.hpp"
#include "middleware/transform/context_vars.hpp"
#include "middleware/transform/variables.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <utility>
#include <vector>

using nlohmann::json;
using portcullis::Fields;
namespace pt = portcullis::transform;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Fields make_fields(const Headers& headers) {
    Fields fields;
    for (const auto& [name, value] : headers) {
        fields.insert(name, value);
    }
    return fields;
}

bool is_uuid_v4(const std::string& id) {
    if (id.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return false;
            }
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    const char variant = id[19];
    return id[14] == '4' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

std::string remote_addr(const Headers& headers, int depth) {
    const Fields fields = make_fields(headers);
    pt::RequestFacts request;
    request.method = "GET";
    request.path = "/";
    request.headers = &fields;
    request.peer_ip = "10.0.0.9";
    return pt::build_context_vars(request, depth).at("remote_addr").get<std::string>();
}

} // namespace

TEST_CASE("canonical_header_key follows Go's textproto rules", "[unit][variables]") {
    auto [in, out] = GENERATE(table<std::string, std::string>({
        {"x-api-key", "X-Api-Key"},
        {"X-API-KEY", "X-Api-Key"},
        {"content-type", "Content-Type"},
        {"host", "Host"},
        {"www-authenticate", "Www-Authenticate"},
        {"x_api_key", "X_api_key"},
        {"x-1abc", "X-1abc"},
        {"-x", "-X"},
        {"a--b", "A--B"},
        {"", ""},
        {"bad header", "bad header"},
        {"x:y", "x:y"},
        {"\xc3\xbc-x", "\xc3\xbc-x"},
    }));
    CAPTURE(in);
    CHECK(pt::canonical_header_key(in) == out);
}

TEST_CASE("request ids are random UUIDv4 with dashes", "[unit][variables]") {
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
        const auto id = pt::new_request_id();
        CAPTURE(id);
        CHECK(is_uuid_v4(id));
        seen.insert(id);
    }
    CHECK(seen.size() == 50);
}

TEST_CASE("context variables of a realistic form POST", "[unit][variables]") {
    const Fields fields = make_fields({
        {"Host", "api.example.com"},
        {"x-api-key", "k1"},
        {"X-Multi", "a"},
        {"x-multi", "b"},
        {"Content-Type", "application/x-www-form-urlencoded"},
        {"Cookie", R"(session=abc; theme="dark"; bad name=1; empty=; novalue)"},
        {"cookie", "a-b=c; q=\"x\\y\"; session=override"},
        {"User-Agent", "test/1.0"},
    });
    pt::RequestFacts request;
    request.method = "POST";
    request.path = "/api/v1/users/a%20b%2Fc";
    request.query = "q=1&q=2&x-y=z+w&bad=%zz&flag&&e=%41";
    request.headers = &fields;
    request.body = "q=0&f=hello+world&%zz=1&e=body";
    request.peer_ip = "10.0.0.9";

    const json vars = pt::build_context_vars(request, 0);
    CAPTURE(vars.dump());

    // r.Form: body values first, then the query's; malformed pairs skipped
    CHECK(vars.at("request_data") == json::parse(R"({
        "q": ["0", "1", "2"], "f": ["hello world"], "x-y": ["z w"], "flag": [""],
        "e": ["body", "A"]
    })"));
    CHECK(vars.at("request_data_q") == "0");
    CHECK(vars.at("request_data_x_y") == "z w");
    CHECK(vars.at("request_data_flag") == "");
    CHECK(vars.at("request_data_e") == "body");
    CHECK_FALSE(vars.contains("request_data_bad"));

    // canonical names, repeated headers in order, Host moved out
    CHECK(vars.at("headers") == json::parse(R"({
        "X-Api-Key": ["k1"], "X-Multi": ["a", "b"],
        "Content-Type": ["application/x-www-form-urlencoded"],
        "Cookie": ["session=abc; theme=\"dark\"; bad name=1; empty=; novalue",
                   "a-b=c; q=\"x\\y\"; session=override"],
        "User-Agent": ["test/1.0"]
    })"));
    CHECK(vars.at("headers_X_Api_Key") == "k1");
    CHECK(vars.at("headers_X_Multi") == "a");
    CHECK(vars.at("headers_Content_Type") == "application/x-www-form-urlencoded");
    CHECK(vars.at("headers_User_Agent") == "test/1.0");
    CHECK(vars.at("headers_Host") == "api.example.com");

    // cookies: quotes stripped, invalid names and values skipped, the last one of a name wins
    CHECK(vars.at("cookies_session") == "override");
    CHECK(vars.at("cookies_theme") == "dark");
    CHECK(vars.at("cookies_empty") == "");
    CHECK(vars.at("cookies_novalue") == "");
    CHECK(vars.at("cookies_a_b") == "c");
    CHECK_FALSE(vars.contains("cookies_q"));
    CHECK_FALSE(vars.contains("cookies_bad name"));

    // r.URL.Path is decoded
    CHECK(vars.at("path") == "/api/v1/users/a b/c");
    CHECK(vars.at("path_parts") == json::parse(R"(["", "api", "v1", "users", "a b", "c"])"));
    CHECK(vars.at("remote_addr") == "10.0.0.9");
    CHECK(is_uuid_v4(vars.at("request_id").get<std::string>()));

    // and as Tyk stringifies them
    const auto t = pt::VarTemplate::parse(
        "$tyk_context.path_parts|$tyk_context.request_data_f|$tyk_context.headers|"
        "$tyk_context.headers_X_Multi|$tyk_context.cookies_theme");
    // (Tyk replaces every "$tyk_context.headers" first, the start of the longer name included)
    CHECK(t.expand(nullptr, &vars, false) == "api,v1,users,a b,c|hello world||_X_Multi|dark");
    CHECK(pt::VarTemplate::parse("$tyk_context.headers_X_Multi|$tyk_context.headers")
              .expand(nullptr, &vars, false) == "a|");
    CHECK(pt::VarTemplate::parse("$tyk_context.request_data").expand(nullptr, &vars, false) ==
          "e:body,A;f:hello world;flag:;q:0,1,2;x-y:z w");
}

TEST_CASE("the body counts only for urlencoded POST, PUT and PATCH", "[unit][variables]") {
    auto [method, content_type, with_body] = GENERATE(table<std::string, std::string, bool>({
        {"POST", "application/x-www-form-urlencoded", true},
        {"PUT", "application/x-www-form-urlencoded", true},
        {"PATCH", "application/x-www-form-urlencoded", true},
        {"POST", "application/x-www-form-urlencoded; charset=utf-8", true},
        {"POST", "Application/X-WWW-Form-Urlencoded", true},
        {"GET", "application/x-www-form-urlencoded", false},
        {"DELETE", "application/x-www-form-urlencoded", false},
        {"POST", "text/plain", false},
        {"POST", "multipart/form-data; boundary=x", false},
        {"POST", "", false},
    }));
    CAPTURE(method, content_type);
    Headers headers;
    if (!content_type.empty()) {
        headers.emplace_back("Content-Type", content_type);
    }
    const Fields fields = make_fields(headers);
    pt::RequestFacts request;
    request.method = method;
    request.path = "/";
    request.query = "a=q";
    request.headers = &fields;
    request.body = "a=b&c=d";
    const json vars = pt::build_context_vars(request, 0);
    const json expected = with_body ? json::parse(R"({"a": ["b", "q"], "c": ["d"]})")
                                    : json::parse(R"({"a": ["q"]})");
    CHECK(vars.at("request_data") == expected);
}

TEST_CASE("a bare request has empty collections", "[unit][variables]") {
    pt::RequestFacts request;
    request.method = "GET";
    request.path = "/";
    request.query = "a=1;b=2&&";
    request.peer_ip = "::1";
    const json vars = pt::build_context_vars(request, 0);
    CHECK(vars.at("request_data") == json::object());
    CHECK(vars.at("headers") == json::object());
    CHECK(vars.at("headers_Host") == "");
    CHECK(vars.at("path") == "/");
    CHECK(vars.at("path_parts") == json::parse(R"(["", ""])"));
    CHECK(vars.at("remote_addr") == "::1");
    CHECK(pt::VarTemplate::parse("[$tyk_context.request_data]").expand(nullptr, &vars, true) ==
          "[]");
}

TEST_CASE("path_parts keeps empty segments", "[unit][variables]") {
    auto [path, parts, joined] = GENERATE(table<std::string, std::string, std::string>({
        {"/a/b", R"(["", "a", "b"])", "a,b"},
        {"//a", R"(["", "", "a"])", ",a"},
        {"/a/", R"(["", "a", ""])", "a,"},
        {"/100%", R"(["", "100%"])", "100%"},
        {"/a%2fb", R"(["", "a", "b"])", "a,b"},
    }));
    CAPTURE(path);
    pt::RequestFacts request;
    request.method = "GET";
    request.path = path;
    const json vars = pt::build_context_vars(request, 0);
    CHECK(vars.at("path_parts") == json::parse(parts));
    CHECK(pt::VarTemplate::parse("$tyk_context.path_parts").expand(nullptr, &vars, false) ==
          joined);
}

TEST_CASE("remote_addr: X-Real-IP, then X-Forwarded-For at xff_depth, then the peer",
          "[unit][variables]") {
    const std::string xff = "1.1.1.1, 2.2.2.2,3.3.3.3";
    auto [headers, depth, out] = GENERATE_COPY(table<Headers, int, std::string>({
        {{}, 0, "10.0.0.9"},
        // X-Real-IP: port dropped, address printed canonically, invalid ignored
        {{{"X-Real-IP", "1.2.3.4"}}, 0, "1.2.3.4"},
        {{{"x-real-ip", "1.2.3.4:8080"}}, 0, "1.2.3.4"},
        {{{"X-Real-IP", "[2001:db8::1]:443"}}, 0, "2001:db8::1"},
        {{{"X-Real-IP", "2001:DB8:0:0:0:0:0:1"}}, 0, "2001:db8::1"},
        {{{"X-Real-IP", "2001:db8:0:1:0:0:0:1"}}, 0, "2001:db8:0:1::1"},
        {{{"X-Real-IP", "::ffff:10.1.2.3"}}, 0, "10.1.2.3"},
        {{{"X-Real-IP", "garbage"}}, 0, "10.0.0.9"},
        {{{"X-Real-IP", "01.2.3.4"}}, 0, "10.0.0.9"},
        {{{"X-Real-IP", "garbage"}, {"X-Forwarded-For", "5.6.7.8"}}, 0, "5.6.7.8"},
        {{{"X-Real-IP", "9.9.9.9"}, {"X-Forwarded-For", "5.6.7.8"}}, 0, "9.9.9.9"},
        {{{"X-Real-IP", ""}, {"X-Real-IP", "9.9.9.9"}}, 0, "10.0.0.9"},
        // X-Forwarded-For: 0 = leftmost, n = n-th from the right, out of range = ""
        {{{"X-Forwarded-For", xff}}, 0, "1.1.1.1"},
        {{{"X-Forwarded-For", xff}}, 1, "3.3.3.3"},
        {{{"X-Forwarded-For", xff}}, 2, "2.2.2.2"},
        {{{"X-Forwarded-For", xff}}, 3, "1.1.1.1"},
        {{{"X-Forwarded-For", xff}}, 4, ""},
        {{{"X-Forwarded-For", xff}}, -1, ""},
        {{{"X-Forwarded-For", "4.4.4.4"}}, 1, "4.4.4.4"},
        {{{"X-Forwarded-For", "4.4.4.4"}}, 2, ""},
        {{{"X-Forwarded-For", " 4.4.4.4:5555 , 5.5.5.5"}}, 0, "4.4.4.4"},
        {{{"X-Forwarded-For", "unknown, 6.6.6.6"}}, 0, "10.0.0.9"},
        {{{"X-Forwarded-For", "unknown, 6.6.6.6"}}, 1, "6.6.6.6"},
        {{{"X-Forwarded-For", "1.1.1.1,"}}, 1, "10.0.0.9"},
        // only the first X-Forwarded-For line counts
        {{{"X-Forwarded-For", "7.7.7.7"}, {"X-Forwarded-For", "8.8.8.8"}}, 1, "7.7.7.7"},
        {{{"X-Forwarded-For", "[::1]:80"}}, 0, "::1"},
    }));
    CAPTURE(headers, depth);
    CHECK(remote_addr(headers, depth) == out);
}
