// Broken upstreams against the real portcullis process: an upstream that resets before or in
// the middle of its answer, answers with a huge header block, or trickles its header past the
// deadline. Each ends in a 502/504 (or, once the header was sent on, a cut-off response), and
// the gateway keeps serving.
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <functional>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using portcullis::examples::EchoServer;
using portcullis::test::FakeUpstream;
using portcullis::test::GatewayFixture;
using portcullis::test::http_request;
using portcullis::test::HttpClient;

namespace {

/// A gateway with one keyless API at /b/ in front of `target`, and /ok/ in front of an echo.
struct Gateway {
    EchoServer echo;
    GatewayFixture fx;
    explicit Gateway(const std::string& target, double timeout = 0) {
        if (timeout > 0) {
            fx.conf["proxy_default_timeout"] = timeout;
        }
        fx.add_api(GatewayFixture::keyless_api("b", "/b/", target, true));
        fx.add_api(GatewayFixture::keyless_api(
            "ok", "/ok/", "http://127.0.0.1:" + std::to_string(echo.port()), true));
        fx.start();
    }
    bool serving() { return http_request(fx.port(), "GET", "/ok/x").status == 200; }
};

} // namespace

TEST_CASE("an upstream that resets before answering is a 502", "[integration][hostile]") {
    FakeUpstream up{[](int c) { FakeUpstream::reset(c); }};
    Gateway g{up.url()};
    auto res = http_request(g.fx.port(), "POST", "/b/x", {}, "payload");
    CHECK(res.status == 502);
    CHECK(res.json()["error"] == "There was a problem proxying the request");
    CHECK(g.serving());
}

TEST_CASE("an upstream that resets mid-body cuts the client off; nothing hangs",
          "[integration][hostile]") {
    FakeUpstream up{[](int c) {
        FakeUpstream::send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" +
                                      std::string(1000, 'x'));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        FakeUpstream::reset(c);
    }};
    Gateway g{up.url()};
    HttpClient client{g.fx.port(), std::chrono::seconds(5)};
    client.send_raw("GET /b/x HTTP/1.1\r\nHost: a\r\n\r\n");
    namespace http = boost::beast::http;
    http::response_parser<http::buffer_body> parser;
    REQUIRE_FALSE(client.read_into(parser, true));
    CHECK(parser.get().result_int() == 200);
    std::vector<char> chunk(200000);
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    const auto ec = client.read_into(parser, false);
    CHECK(ec); // the body ends early: the connection is closed, not left hanging
    CHECK(ec != boost::asio::error::timed_out);
    CHECK_FALSE(parser.is_done());
    CHECK(g.serving());
}

TEST_CASE("an upstream answering with a huge header block is a 502", "[integration][hostile]") {
    FakeUpstream up{[](int c) {
        std::string head = "HTTP/1.1 200 OK\r\n";
        for (int i = 0; i < 4000; ++i) {
            head += "X-Huge-" + std::to_string(i) + ": " + std::string(100, 'h') + "\r\n";
        }
        FakeUpstream::send_all(c, head + "Content-Length: 0\r\n\r\n");
        ::close(c);
    }};
    Gateway g{up.url()};
    auto res = http_request(g.fx.port(), "GET", "/b/x");
    CHECK(res.status == 502);
    CHECK(g.serving());
}

TEST_CASE("an upstream trickling its header past the deadline is a 504", "[integration][hostile]") {
    FakeUpstream up{[](int c) {
        const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        for (char ch : head) {
            if (::send(c, &ch, 1, MSG_NOSIGNAL) != 1) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ::close(c);
    }};
    Gateway g{up.url(), 1.0};
    const auto t0 = std::chrono::steady_clock::now();
    auto res = http_request(g.fx.port(), "GET", "/b/x");
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(res.status == 504);
    CHECK(res.json()["error"] == "Upstream service reached hard timeout.");
    CHECK(took < std::chrono::milliseconds(3000));
    CHECK(g.serving());
}

TEST_CASE("a pooled connection the upstream closed is retried once for a GET, never for a sent "
          "POST",
          "[integration][hostile]") {
    SECTION("closed while idle in the pool: GET and POST both succeed on a fresh connection") {
        FakeUpstream up{[](int c) {
            FakeUpstream::send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            ::close(c); // an idle timeout on the upstream's side
        }};
        Gateway g{up.url()};
        HttpClient client{g.fx.port()};
        REQUIRE(client.get("/b/1").status == 200);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(client.get("/b/2").status == 200);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(client.request("POST", "/b/3", {}, "body").status == 200);
        CHECK(up.accepted() == 3);
    }
    SECTION("a POST the upstream read and then dropped is a 502, sent once") {
        FakeUpstream up{[](int c) { ::close(c); }};
        Gateway g{up.url()};
        auto res = http_request(g.fx.port(), "POST", "/b/x", {}, "once");
        CHECK(res.status == 502);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK(up.accepted() == 1);
    }
}
