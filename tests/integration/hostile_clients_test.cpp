// Hostile clients against the real portcullis process: request smuggling, oversized and invalid
// messages, odd request targets and path tricks. Each ends in a clear 4xx (or a closed connection)
// and the gateway keeps serving others.
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using portcullis::examples::EchoServer;
using portcullis::test::GatewayFixture;
using portcullis::test::http_request;
using portcullis::test::HttpClient;
using Json = nlohmann::json;

namespace {

std::string upstream_url(const EchoServer& echo) {
    return "http://127.0.0.1:" + std::to_string(echo.port());
}

/// A gateway with a keyless API at /h/ and a keyed one at /private/, in front of `echo`.
struct Hostile {
    EchoServer echo;
    GatewayFixture fx;
    Hostile() {
        fx.add_api(GatewayFixture::keyless_api("h", "/h/", upstream_url(echo), true));
        Json keyed = GatewayFixture::keyless_api("private", "/private/", upstream_url(echo), true);
        keyed["use_keyless"] = false;
        keyed["auth"] = {{"auth_header_name", "Authorization"}};
        fx.add_api(keyed);
        fx.start();
    }

    /// Sends `bytes` on a fresh connection: the status of the one answer, and whether the
    /// gateway closed the connection after it.
    std::pair<int, bool> send(const std::string& bytes) {
        HttpClient client{fx.port()};
        auto res = client.raw(bytes);
        return {res.status, client.closed_by_peer()};
    }

    /// Still serving: a plain request on a new connection is answered.
    bool serving() { return http_request(fx.port(), "GET", "/h/still").status == 200; }
};

} // namespace

TEST_CASE("request smuggling: ambiguous framing is refused with 400 and never forwarded",
          "[integration][hostile]") {
    Hostile g;
    const auto before = g.echo.requests_served();
    const std::string head = "POST /h/x HTTP/1.1\r\nHost: a\r\n";

    SECTION("Content-Length and Transfer-Encoding together") {
        auto [status, closed] =
            g.send(head + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "0\r\n\r\nGET /h/smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
        CHECK(status == 400);
        CHECK(closed);
    }
    SECTION("Transfer-Encoding before Content-Length") {
        auto [status, closed] =
            g.send(head + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
                          "0\r\n\r\n");
        CHECK(status == 400);
        CHECK(closed);
    }
    SECTION("two differing Content-Lengths") {
        auto [status, closed] =
            g.send(head + "Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd");
        CHECK(status == 400);
        CHECK(closed);
    }
    SECTION("a Content-Length that is not a number") {
        auto [status, closed] = g.send(head + "Content-Length: 4x\r\n\r\nabcd");
        CHECK(status == 400);
        CHECK(closed);
    }
    SECTION("a negative Content-Length") {
        auto [status, closed] = g.send(head + "Content-Length: -1\r\n\r\n");
        CHECK(status == 400);
        CHECK(closed);
    }
    SECTION("a Transfer-Encoding other than chunked") {
        for (const char* te :
             {"gzip", "chunked, gzip", "identity", "xchunked", "chunked, chunked"}) {
            INFO(te);
            auto [status, closed] = g.send(head + "Transfer-Encoding: " + te + "\r\n\r\n0\r\n\r\n");
            CHECK(status == 400);
            CHECK(closed);
        }
    }
    CHECK(g.echo.requests_served() == before);

    SECTION("a malformed chunk size ends the exchange with 400, the connection closed") {
        HttpClient client{g.fx.port()};
        client.send_raw(head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
        auto res = client.read_response();
        CHECK(res.status == 400);
        CHECK(client.closed_by_peer());
    }
    CHECK(g.serving());
}

TEST_CASE("oversized and invalid messages get 414, 431, 413 or 400", "[integration][hostile]") {
    Hostile g;
    SECTION("a request line over the header limit is 414") {
        auto [status, closed] =
            g.send("GET /h/" + std::string(70000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n");
        CHECK(status == 414);
        CHECK(closed);
    }
    SECTION("a header block over the limit is 431") {
        auto [status, closed] = g.send(
            "GET /h/x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(70000, 'b') + "\r\n\r\n");
        CHECK(status == 431);
        CHECK(closed);
    }
    SECTION("too many header fields is 431") {
        std::string req = "GET /h/x HTTP/1.1\r\nHost: a\r\n";
        for (int i = 0; i < 300; ++i) {
            req += "X-H" + std::to_string(i) + ": v\r\n";
        }
        auto [status, closed] = g.send(req + "\r\n");
        CHECK(status == 431);
        CHECK(closed);
    }
    SECTION("invalid header names and values are 400") {
        using namespace std::string_literals;
        for (const std::string& field : {"Bad Name: x\r\n"s, "X-Nul: a\0b\r\n"s, "(x): y\r\n"s,
                                         ": empty\r\n"s, "X-Ctl: a\x01z\r\n"s}) {
            INFO(field);
            auto [status, closed] = g.send("GET /h/x HTTP/1.1\r\nHost: a\r\n" + field + "\r\n");
            CHECK(status == 400);
            CHECK(closed);
        }
    }
    SECTION("an obsolete line folding reaches the upstream as one line (Go joins it too)") {
        HttpClient client{g.fx.port()};
        auto res = client.raw("GET /h/x HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n"
                              "X-After: 1\r\n\r\n");
        REQUIRE(res.status == 200);
        const Json headers = res.json()["headers"];
        REQUIRE(headers.contains("X-Folded"));
        const std::string folded = headers["X-Folded"][0].get<std::string>();
        CHECK(folded.find('\r') == std::string::npos);
        CHECK(folded.find('\n') == std::string::npos);
        CHECK(folded.find("one") == 0);
        CHECK(headers["X-After"][0] == "1");
    }
    SECTION("a bare LF or a missing version is 400") {
        CHECK(g.send("GET /h/x\r\n\r\n").first == 400);
        CHECK(g.send("GET /h/x HTTP/9.9\r\nHost: a\r\n\r\n").first >= 400);
    }
    CHECK(g.serving());
}

TEST_CASE("absolute-form and asterisk-form targets", "[integration][hostile]") {
    Hostile g;
    SECTION("absolute-form is routed by its path, as Go's server does") {
        HttpClient client{g.fx.port()};
        auto res = client.raw("GET http://example.test/h/abs?q=1 HTTP/1.1\r\nHost: a\r\n\r\n");
        REQUIRE(res.status == 200);
        CHECK(res.json()["path"] == "/abs");
        CHECK(res.json()["query"] == "q=1");
    }
    SECTION("OPTIONS * is answered by the gateway; any other method with * is 400") {
        HttpClient options{g.fx.port()};
        auto res = options.raw("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        CHECK(res.status == 200);
        CHECK(res.body.empty());
        CHECK(g.send("GET * HTTP/1.1\r\nHost: a\r\n\r\n").first == 400);
    }
    SECTION("authority-form (CONNECT) is refused") {
        CHECK(g.send("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test\r\n\r\n").first ==
              400);
    }
    CHECK(g.echo.requests_served() <= 1);
    CHECK(g.serving());
}

TEST_CASE("dot segments never take a request out of its listen path", "[integration][hostile]") {
    Hostile g;
    const auto before = g.echo.requests_served();
    for (const char* target : {"/h/../private/x", "/h/%2e%2e/private/x", "/h/%2E%2E/private/x",
                               "/h/.%2e/private/x", "/h/a/../../private/x", "/h/./../private/x",
                               "/h/..", "/h/%2e%2e%2fprivate/x", "/h/..%2fprivate/x"}) {
        INFO(target);
        auto [status, closed] =
            g.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
        CHECK(status == 400);
    }
    CHECK(g.echo.requests_served() == before);
    // Dots inside names are fine.
    auto res = http_request(g.fx.port(), "GET", "/h/a..b/.well-known/x.y");
    REQUIRE(res.status == 200);
    CHECK(res.json()["path"] == "/a..b/.well-known/x.y");
    CHECK(g.serving());
}

TEST_CASE("slow clients: the connection cap refuses gracefully, deadlines free the slots, others "
          "keep their latency",
          "[integration][hostile]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.conf["portcullis"]["workers"] = 1;
    fx.conf["portcullis"]["max_connections_per_worker"] = 300;
    fx.conf["portcullis"]["header_timeout"] = 2;
    fx.add_api(GatewayFixture::keyless_api("h", "/h/", upstream_url(echo), true));
    fx.start();

    // 299 clients trickle a header that never ends (one byte each).
    std::vector<std::unique_ptr<HttpClient>> slow;
    for (int i = 0; i < 299; ++i) {
        slow.push_back(std::make_unique<HttpClient>(fx.port(), std::chrono::seconds(8)));
        slow.back()->send_raw("G");
    }
    // One slot left: a normal client is served at once.
    const auto t0 = std::chrono::steady_clock::now();
    {
        HttpClient normal{fx.port()};
        CHECK(normal.get("/h/fast").status == 200);
    }
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
    // With every slot taken, one more connection is refused with Tyk's 503 and closed.
    HttpClient last_slot{fx.port()};
    last_slot.send_raw("G");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    {
        HttpClient refused{fx.port()};
        auto res = refused.read_response();
        CHECK(res.status == 503);
        CHECK(res.json()["error"] == "Too many open connections");
    }
    // The header deadline closes the stalled connections; the slots are free again.
    CHECK(slow.front()->closed_by_peer());
    CHECK(slow.back()->closed_by_peer());
    CHECK(last_slot.closed_by_peer());
    CHECK(http_request(fx.port(), "GET", "/h/after").status == 200);
}
