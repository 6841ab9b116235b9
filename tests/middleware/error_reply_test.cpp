#include "middleware/core/error_reply.hpp"
#include "middleware/core/http.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <tuple>

namespace http = portcullis::http;
using portcullis::make_error_response;
using portcullis::make_json_response;
using portcullis::tyk_error_body;

namespace {

std::string error_body(const std::string& json_string) {
    return "{\n    \"error\": " + json_string + "\n}";
}

} // namespace

TEST_CASE("the error body is Tyk's error template", "[unit][error_reply]") {
    CHECK(tyk_error_body("Not Found") == "{\n    \"error\": \"Not Found\"\n}");
    CHECK(tyk_error_body("") == "{\n    \"error\": \"\"\n}");
}

TEST_CASE("the error message is JSON-escaped", "[unit][error_reply]") {
    auto [message, escaped] = GENERATE(table<std::string, std::string>({
        {"Not Found", R"("Not Found")"},
        {R"(say "hi")", R"("say \"hi\"")"},
        {R"(C:\path\file)", R"("C:\\path\\file")"},
        {"line1\nline2", R"("line1\nline2")"},
        {"a\r\nb\tc", R"("a\r\nb\tc")"},
        {"\b\f", R"("\b\f")"},
        {std::string("nul\0byte", 8), R"("nul\u0000byte")"},
        {"\x01\x1f", R"("\u0001\u001f")"},
        {"\"\\\n", R"("\"\\\n")"},
        {"</script>", R"("</script>")"},
        {"h\xc3\xa9llo \xe2\x82\xac", "\"h\xc3\xa9llo \xe2\x82\xac\""},
    }));
    CAPTURE(message);
    const std::string body = tyk_error_body(message);
    CHECK(body == error_body(escaped));

    const auto parsed = nlohmann::json::parse(body);
    REQUIRE(parsed.is_object());
    CHECK(parsed.size() == 1);
    CHECK(parsed.at("error") == message);
}

TEST_CASE("invalid UTF-8 in the message still yields valid JSON", "[unit][error_reply]") {
    const std::string message = "bad \xff\xfe byte";
    const std::string body = tyk_error_body(message);
    nlohmann::json parsed;
    REQUIRE_NOTHROW(parsed = nlohmann::json::parse(body));
    const auto text = parsed.at("error").get<std::string>();
    CHECK(text.starts_with("bad "));
    CHECK(text.ends_with(" byte"));
    // U+FFFD stands in for the invalid bytes.
    CHECK(text.find("\xef\xbf\xbd") != std::string::npos);
}

TEST_CASE("an error response carries Tyk's body and headers", "[unit][error_reply]") {
    using Row = std::tuple<http::status, std::string, bool, bool>;
    auto [status, message, keep_alive, hide_generator] =
        GENERATE(table<http::status, std::string, bool, bool>({
            Row{http::status::not_found, "Not Found", true, false},
            Row{http::status::not_found, "Not Found", false, false},
            Row{http::status::forbidden, "Access to this API has been disallowed", true, true},
            Row{http::status::unauthorized, "Authorization field missing", false, true},
            Row{http::status::too_many_requests, "Rate limit exceeded", true, false},
            Row{http::status::internal_server_error, "h\xc3\xa9 \"quoted\"\n", true, false},
            Row{http::status::bad_gateway, "", false, false},
        }));
    CAPTURE(status, message, keep_alive, hide_generator);
    const auto res = make_error_response(status, message, keep_alive, hide_generator);

    CHECK(res.result() == status);
    CHECK(res.version() == 11);
    CHECK(res.body() == tyk_error_body(message));
    CHECK(res[http::field::content_type] == "application/json");
    CHECK(res[http::field::content_length] == std::to_string(res.body().size()));
    CHECK_FALSE(res.chunked());
    CHECK(res.keep_alive() == keep_alive);
    if (hide_generator) {
        CHECK(res.count("X-Generator") == 0);
    } else {
        CHECK(res.count("X-Generator") == 1);
        CHECK(res["X-Generator"] == "tyk.io");
    }
}

TEST_CASE("the generator header is sent unless hidden, by default", "[unit][error_reply]") {
    const auto res = make_error_response(http::status::not_found, "Not Found", true);
    CHECK(res["X-Generator"] == "tyk.io");
    CHECK(res.body() == "{\n    \"error\": \"Not Found\"\n}");
    CHECK(res[http::field::content_length] == "28");
}

TEST_CASE("a JSON response is the body plus a newline", "[unit][error_reply]") {
    using Row = std::tuple<http::status, std::string, bool>;
    auto [status, body, keep_alive] = GENERATE(table<http::status, std::string, bool>({
        Row{http::status::ok, R"({"status":"ok"})", true},
        Row{http::status::ok, R"({"status":"ok"})", false},
        Row{http::status::created, R"({"key":"abc","status":"ok","action":"added"})", true},
        Row{http::status::bad_request, "", false},
        Row{http::status::ok, "[\n  1,\n  2\n]", true},
    }));
    CAPTURE(status, body, keep_alive);
    const auto res = make_json_response(status, body, keep_alive);

    CHECK(res.result() == status);
    CHECK(res.version() == 11);
    CHECK(res.body() == body + "\n");
    CHECK(res[http::field::content_type] == "application/json");
    CHECK(res[http::field::content_length] == std::to_string(body.size() + 1));
    CHECK_FALSE(res.chunked());
    CHECK(res.keep_alive() == keep_alive);
}
