// Message heads written by hand (middleware/proxy/wire) are byte for byte what Beast writes.
#include "middleware/proxy/wire.hpp"

#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace http = boost::beast::http;
using portcullis::proxy::append_request_head;
using portcullis::proxy::append_response_head;

namespace {

template <bool isRequest> std::string beast_head(const http::header<isRequest>& head) {
    std::ostringstream out;
    out << head;
    return out.str();
}

} // namespace

TEST_CASE("wire: a request head as Beast writes it", "[unit][wire]") {
    http::request_header<> req;
    req.method(http::verb::post);
    req.target("/a/b?c=d%20e");
    req.version(11);
    req.set(http::field::host, "upstream:8080");
    req.insert("X-Custom", "one");
    req.insert("X-Custom", "two");
    req.insert("x-lower", "");
    req.set(http::field::content_length, "12");
    std::string out = "prefix|";
    append_request_head(out, req);
    CHECK(out == "prefix|" + beast_head(req));
    CHECK(out.ends_with("\r\n\r\n"));

    http::request_header<> odd;
    odd.method_string("PURGE");
    odd.target("*");
    odd.version(10);
    std::string o2;
    append_request_head(o2, odd);
    CHECK(o2 == beast_head(odd));
    CHECK(o2 == "PURGE * HTTP/1.0\r\n\r\n");
}

TEST_CASE("wire: a response head as Beast writes it", "[unit][wire]") {
    http::response_header<> res;
    res.result(http::status::not_found);
    res.version(11);
    res.set(http::field::content_type, "application/json");
    res.insert("Set-Cookie", "a=1");
    res.insert("Set-Cookie", "b=2");
    std::string out;
    append_response_head(out, res);
    CHECK(out == beast_head(res));
    CHECK(out.starts_with("HTTP/1.1 404 Not Found\r\n"));

    res.reason("Nope");
    out.clear();
    append_response_head(out, res);
    CHECK(out == beast_head(res));
    CHECK(out.starts_with("HTTP/1.1 404 Nope\r\n"));

    http::response_header<> custom;
    custom.result(599);
    custom.version(11);
    out.clear();
    append_response_head(out, custom);
    CHECK(out == beast_head(custom));
}

TEST_CASE("wire: edits replace the target and Host and fold X-Forwarded-For into one field",
          "[unit][wire]") {
    using Headers = std::vector<std::pair<std::string, std::string>>;
    auto [headers, client, forwarded] = GENERATE(table<Headers, std::string, std::string>({
        {{}, "1.2.3.4", "1.2.3.4"},
        {{{"X-Forwarded-For", "a"}}, "1.2.3.4", "a, 1.2.3.4"},
        {{{"X-Forwarded-For", "a"}, {"X-Forwarded-For", "b"}}, "1.2.3.4", "a, b, 1.2.3.4"},
        {{{"X-Forwarded-For", "a"}, {"Host", "h"}, {"x-forwarded-for", "b"}},
         "1.2.3.4",
         "a, b, 1.2.3.4"},
        {{{"X-Forwarded-For", "10.0.0.1, 10.0.0.2"}, {"X-FORWARDED-FOR", "10.0.0.3"}},
         "::1",
         "10.0.0.1, 10.0.0.2, 10.0.0.3, ::1"},
    }));
    CAPTURE(forwarded);
    http::request_header<> req;
    req.method(http::verb::get);
    req.target("/listen/a?b=c");
    req.version(11);
    req.insert("Accept", "*/*");
    for (const auto& [name, value] : headers) {
        req.insert(name, value);
    }
    req.insert("X-Forwarded-Foo", "kept");
    req.insert("Content-Length", "0");

    portcullis::proxy::RequestHeadEdits edits;
    edits.target = "/a?b=c";
    edits.host = "upstream:8080";
    edits.forwarded_for = client;
    std::string out = "prefix|";
    append_request_head(out, req, edits);

    // The same fields Beast would write for the edited request, the changed ones last.
    http::request_header<> expected;
    expected.method(http::verb::get);
    expected.target("/a?b=c");
    expected.version(11);
    expected.insert("Accept", "*/*");
    expected.insert("X-Forwarded-Foo", "kept");
    expected.insert("Content-Length", "0");
    expected.insert("X-Forwarded-For", forwarded);
    expected.insert("Host", "upstream:8080");
    CHECK(out == "prefix|" + beast_head(expected));
}

TEST_CASE("wire: edits are applied one at a time and the request is not changed", "[unit][wire]") {
    http::request_header<> req;
    req.method(http::verb::post);
    req.target("/in");
    req.version(11);
    req.insert("Host", "client.example");
    req.insert("X-Forwarded-For", "a");

    portcullis::proxy::RequestHeadEdits edits;
    edits.forwarded_for = "9.9.9.9"; // Host kept (preserve_host_header)
    std::string out;
    append_request_head(out, req, edits);
    CHECK(out ==
          "POST /in HTTP/1.1\r\nHost: client.example\r\nX-Forwarded-For: a, 9.9.9.9\r\n\r\n");

    edits = {};
    edits.host = "up";
    out.clear();
    append_request_head(out, req, edits);
    CHECK(out == "POST /in HTTP/1.1\r\nX-Forwarded-For: a\r\nHost: up\r\n\r\n");

    out.clear();
    append_request_head(out, req, {});
    CHECK(out == beast_head(req));
    CHECK(req.target() == "/in");
    CHECK(req.count("X-Forwarded-For") == 1);
}
