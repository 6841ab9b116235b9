// Message heads written by hand (middleware/proxy/wire) are byte for byte what Beast writes.
#include "middleware/proxy/wire.hpp"

#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

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
