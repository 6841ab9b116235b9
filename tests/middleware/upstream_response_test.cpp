#include "middleware/proxy/upstream_response.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>

#include <string>

using portcullis::proxy::UpstreamResponseParser;
namespace http = boost::beast::http;

namespace {

using Mode = UpstreamResponseParser::Mode;

/// Feeds `raw` to the parser up to the end of the header; returns the bytes used.
std::size_t parse_header(UpstreamResponseParser& parser, const std::string& raw) {
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(raw), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(parser.is_header_done());
    return used;
}

/// The client head relay mode makes of `raw`.
std::string relayed(const std::string& raw, bool keep_client = true, bool head_request = false) {
    std::string head = "left over from the request";
    UpstreamResponseParser parser{Mode::relay, head};
    parser.skip(head_request);
    parse_header(parser, raw);
    portcullis::proxy::finish_relay_head(head, parser.framing(), keep_client);
    return head;
}

} // namespace

TEST_CASE("relay mode writes the status line as HTTP/1.1 and the fields in order",
          "[unit][upstream_response]") {
    CHECK(relayed("HTTP/1.1 200 OK\r\n"
                  "Server: nginx\r\n"
                  "Date: Wed, 02 Dec 2026 07:00:00 GMT\r\n"
                  "Content-Type: text/plain\r\n"
                  "Content-Length: 5\r\n"
                  "Connection: keep-alive\r\n"
                  "X-Multi: a\r\n"
                  "x-multi: b\r\n"
                  "\r\n"
                  "hello") == "HTTP/1.1 200 OK\r\n"
                              "Server: nginx\r\n"
                              "Date: Wed, 02 Dec 2026 07:00:00 GMT\r\n"
                              "Content-Type: text/plain\r\n"
                              "X-Multi: a\r\n"
                              "x-multi: b\r\n"
                              "Content-Length: 5\r\n"
                              "\r\n");
    // An HTTP/1.0 upstream, a reason of its own, and a client connection that closes.
    CHECK(relayed("HTTP/1.0 201 Made It\r\nContent-Length: 0\r\n\r\n", false) ==
          "HTTP/1.1 201 Made It\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    // No reason phrase: the standard one.
    CHECK(relayed("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n") ==
          "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("relay mode leaves out hop-by-hop fields and the fields Connection names",
          "[unit][upstream_response]") {
    CHECK(relayed("HTTP/1.1 200 OK\r\n"
                  "X-Early: 1\r\n"
                  "Keep-Alive: timeout=5\r\n"
                  "Proxy-Connection: keep-alive\r\n"
                  "Proxy-Authenticate: Basic\r\n"
                  "Trailer: Expires\r\n"
                  "Upgrade: h2c\r\n"
                  "TE: trailers\r\n"
                  "Connection: x-early, X-Late, keep-alive\r\n"
                  "X-Kept: 2\r\n"
                  "x-LATE: 3\r\n"
                  "connection: X-Second\r\n"
                  "X-Second: 4\r\n"
                  "X-Early-Not: 5\r\n"
                  "Content-Length: 0\r\n"
                  "\r\n") == "HTTP/1.1 200 OK\r\n"
                             "X-Kept: 2\r\n"
                             "X-Early-Not: 5\r\n"
                             "Content-Length: 0\r\n"
                             "\r\n");
    // "close" names no field here: nothing else goes.
    CHECK(relayed("HTTP/1.1 200 OK\r\nConnection: close\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n",
                  false) ==
          "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST_CASE("relay mode frames the body for the client", "[unit][upstream_response]") {
    SECTION("a chunked body is sent chunked, the upstream's Transfer-Encoding left out") {
        CHECK(relayed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n") ==
              "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
    }
    SECTION("a body that ends with the connection is sent chunked") {
        CHECK(relayed("HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\n") ==
              "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
    }
    SECTION("without a body (HEAD, 304) the upstream's Content-Length is kept as received") {
        CHECK(relayed("HTTP/1.1 200 OK\r\nContent-Length: 0042\r\n\r\n", true, true) ==
              "HTTP/1.1 200 OK\r\nContent-Length: 0042\r\n\r\n");
        CHECK(relayed("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 7\r\n\r\n") ==
              "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 7\r\n\r\n");
        CHECK(relayed("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n") ==
              "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n");
    }
    SECTION("a body of known length keeps its length, written as a number") {
        CHECK(relayed("HTTP/1.1 200 OK\r\nContent-Length: 0012\r\n\r\n") ==
              "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
    }
}

TEST_CASE("fields mode keeps the head as fields and leaves the client head alone",
          "[unit][upstream_response]") {
    std::string head = "request head";
    UpstreamResponseParser parser{Mode::fields, head};
    parse_header(parser, "HTTP/1.0 203 Fine\r\nConnection: X-A\r\nX-A: 1\r\nContent-Length: 3\r\n"
                         "\r\n");
    CHECK(head == "request head");
    CHECK(parser.status() == 203);
    const auto& res = parser.header();
    CHECK(res.result_int() == 203);
    CHECK(res.version() == 10);
    CHECK(res.reason() == "Fine");
    CHECK(res["X-A"] == "1");
    CHECK(res["Connection"] == "X-A");
    CHECK(res["Content-Length"] == "3");
}

TEST_CASE("body bytes go to the buffer the caller names, de-chunked, a buffer at a time",
          "[unit][upstream_response]") {
    const auto mode = GENERATE(Mode::relay, Mode::fields);
    std::string head;
    UpstreamResponseParser parser{mode, head};
    parser.eager(true);
    const std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
    char out[8];
    std::string body;
    std::size_t at = 0;
    int reads = 0;
    while (!parser.is_done() && reads < 20) {
        ++reads;
        parser.set_output(out, sizeof out);
        boost::beast::error_code ec;
        at += parser.put(boost::asio::buffer(raw.data() + at, raw.size() - at), ec);
        if (ec == http::error::need_buffer) {
            ec = {};
        }
        REQUIRE_FALSE(ec);
        CHECK(parser.filled() <= sizeof out);
        body.append(out, parser.filled());
    }
    CHECK(parser.is_done());
    CHECK(body == "hello, world");
    CHECK(reads >= 2); // 12 bytes through an 8-byte buffer
}

TEST_CASE("without an output buffer the parser asks for one", "[unit][upstream_response]") {
    std::string head;
    UpstreamResponseParser parser{Mode::relay, head};
    parser.eager(true);
    const std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(raw), ec);
    CHECK(ec == http::error::need_buffer);
    CHECK(used == raw.size() - 3);
    CHECK_FALSE(parser.is_done());
}

TEST_CASE("malformed upstream heads are refused by the parser", "[unit][upstream_response]") {
    const std::string raw = GENERATE(
        as<std::string>{}, "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n");
    CAPTURE(raw);
    const auto mode = GENERATE(Mode::relay, Mode::fields);
    std::string head;
    UpstreamResponseParser parser{mode, head};
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(raw), ec);
    CHECK(ec);
    CHECK(ec != http::error::need_more);
}

namespace {

using portcullis::proxy::parse_simple_response_head;
using portcullis::proxy::ResponseFraming;
using portcullis::proxy::SimpleHead;

struct Simple {
    SimpleHead verdict;
    std::string head; // finished with finish_relay_head when complete
    ResponseFraming framing;
    std::size_t head_size = 0;
};

Simple simple(const std::string& raw,
              bool keep_client = true,
              bool head_request = false,
              bool drop_rate_limit = false) {
    Simple out;
    out.head = "left over from the request";
    std::size_t searched = 0;
    out.verdict = parse_simple_response_head(raw, head_request, drop_rate_limit, 8192, searched,
                                             out.head, out.framing, out.head_size);
    if (out.verdict == SimpleHead::complete) {
        portcullis::proxy::finish_relay_head(out.head, out.framing, keep_client);
    }
    return out;
}

} // namespace

TEST_CASE("a simple upstream head is relayed byte for byte as Beast's relay mode relays it",
          "[unit][upstream_response]") {
    const std::string raw = GENERATE(
        as<std::string>{}, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
        "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n",
        "HTTP/1.1 200 \r\nX-Empty:\r\nX-Spaces:  \t a b \t \r\nContent-Length: 12\r\n\r\n",
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nProxy-Connection: x\r\n"
        "Proxy-Authenticate: Basic\r\nContent-Length: 1\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-RateLimit-Limit: 9\r\nx-ratelimit-reset: 1\r\nContent-Length: "
        "1\r\n\r\n");
    const bool keep_client = GENERATE(true, false);
    CAPTURE(raw, keep_client);
    const Simple s = simple(raw + "body", keep_client);
    REQUIRE(s.verdict == SimpleHead::complete);
    CHECK(s.head == relayed(raw, keep_client));
    CHECK(s.head_size == raw.size());

    std::string beast_head;
    UpstreamResponseParser parser{Mode::relay, beast_head};
    parse_header(parser, raw);
    const ResponseFraming beast = parser.framing();
    CHECK(s.framing.status == beast.status);
    CHECK(s.framing.has_body == beast.has_body);
    CHECK(s.framing.content_length == beast.content_length);
    CHECK(s.framing.received_length == beast.received_length);
    CHECK(s.framing.keep_alive == beast.keep_alive);
}

TEST_CASE("a simple head answering HEAD has no body and keeps the entity's length",
          "[unit][upstream_response]") {
    const std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    const Simple s = simple(raw, true, true);
    REQUIRE(s.verdict == SimpleHead::complete);
    CHECK_FALSE(s.framing.has_body);
    CHECK(s.head == relayed(raw, true, true));
    CHECK(s.head == "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
}

TEST_CASE("a simple head can leave the upstream's X-RateLimit fields out",
          "[unit][upstream_response]") {
    const Simple s = simple("HTTP/1.1 200 OK\r\nX-RateLimit-Limit: 9\r\nX-RateLimit-Remaining: 8"
                            "\r\nX-RATELIMIT-RESET: 7\r\nX-RateLimit-Other: 6\r\n"
                            "Content-Length: 0\r\n\r\n",
                            true, false, true);
    REQUIRE(s.verdict == SimpleHead::complete);
    CHECK(s.head == "HTTP/1.1 200 OK\r\nX-RateLimit-Other: 6\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("a head not known to be simple is left to Beast's parser, and a partial one waits",
          "[unit][upstream_response]") {
    const std::string raw = GENERATE(
        as<std::string>{}, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", // delimited by the connection's end
        "HTTP/1.1 200 OK\r\nConnection: x-hop\r\nX-Hop: 1\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: 1\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: 1\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Ctl: a\x01z\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Lf: a\nb\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Del: \x7f\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 600 Odd\r\nContent-Length: 1\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "garbage");
    CAPTURE(raw);
    CHECK(simple(raw).verdict == SimpleHead::not_simple);

    for (const std::string partial : {"", "HTTP/1", "HTTP/1.1 200 OK\r\nContent-Le",
                                      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r"}) {
        CAPTURE(partial);
        CHECK(simple(partial).verdict == SimpleHead::incomplete);
    }
    // No end of the head within the limit, whatever the head holds.
    CHECK(simple("HTTP/1.1 200 OK\r\nX-Big: " + std::string(9000, 'a')).verdict ==
          SimpleHead::too_large);
    CHECK(simple("HTTP/1.1 200 OK\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n").verdict ==
          SimpleHead::too_large);
}

TEST_CASE("a head arriving in pieces is searched once for its end", "[unit][upstream_response]") {
    const std::string raw = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\n\r\nok";
    std::size_t searched = 0;
    std::string head;
    ResponseFraming framing;
    std::size_t head_size = 0;
    for (std::size_t n = 1; n < raw.size() - 2; ++n) {
        CAPTURE(n);
        REQUIRE(parse_simple_response_head(std::string_view(raw).substr(0, n), false, false, 8192,
                                           searched, head, framing,
                                           head_size) == SimpleHead::incomplete);
        CHECK(searched <= n);
        CHECK(searched + 3 >= n);
    }
    REQUIRE(parse_simple_response_head(raw, false, false, 8192, searched, head, framing,
                                       head_size) == SimpleHead::complete);
    CHECK(head_size == raw.size() - 2);
    CHECK(framing.content_length == 2u);
}
