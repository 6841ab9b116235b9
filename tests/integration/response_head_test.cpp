// The response head the client gets, byte for byte, through the real portcullis process: an API
// whose response steps read the head (a response header transform) and one whose head is relayed
// as parsed must differ only by what the step added.
#include "tests/support/fake_upstream.hpp"
#include "tests/support/gateway_process.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <sys/socket.h>
#include <unistd.h>

using portcullis::test::FakeUpstream;
using portcullis::test::GatewayFixture;

namespace {

/// Sends `request` to 127.0.0.1:port and returns every byte received until the server closes
/// (at most 5 s).
std::string exchange(std::uint16_t port, const std::string& request) {
    const int fd = portcullis::test::connect_loopback(port);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    std::string out;
    char buf[4096];
    for (;;) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

std::string without(std::string text, const std::string& part) {
    if (const auto at = text.find(part); at != std::string::npos) {
        text.erase(at, part.size());
    }
    return text;
}

} // namespace

TEST_CASE("a relayed response head and one a response step read reach the client alike",
          "[integration][proxy]") {
    struct Case {
        std::string name;
        std::string upstream;
        std::string client; // what the client receives on the relayed route
    };
    const Case c = GENERATE(
        Case{"hop-by-hop and Connection-named fields",
             "HTTP/1.1 200 OK\r\nServer: up\r\nConnection: X-Private, keep-alive\r\n"
             "Keep-Alive: timeout=5\r\nX-Private: p\r\nX-Kept: k\r\nProxy-Authenticate: Basic\r\n"
             "Content-Length: 5\r\n\r\nhello",
             "HTTP/1.1 200 OK\r\nServer: up\r\nX-Kept: k\r\nContent-Length: 5\r\n"
             "Connection: close\r\n\r\nhello"},
        Case{"a chunked body with a trailer",
             "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\nX-Kept: k\r\n"
             "\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: t\r\n\r\n",
             "HTTP/1.1 201 Created\r\nX-Kept: k\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\nb\r\nhello world\r\n0\r\n\r\n"},
        Case{"an HTTP/1.0 body that ends with the connection",
             "HTTP/1.0 200 OK\r\nX-Kept: k\r\n\r\nuntil the end",
             "HTTP/1.1 200 OK\r\nX-Kept: k\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\nd\r\nuntil the end\r\n0\r\n\r\n"},
        Case{"304 with the entity's Content-Length",
             "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 10\r\n\r\n",
             "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 10\r\n"
             "Connection: close\r\n\r\n"},
        Case{"204 without a reason phrase", "HTTP/1.1 204 \r\nX-Kept: k\r\n\r\n",
             "HTTP/1.1 204 No Content\r\nX-Kept: k\r\nConnection: close\r\n\r\n"});
    CAPTURE(c.name);

    FakeUpstream up{FakeUpstream::answer(c.upstream)};
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("relay", "/relay/", up.url(), true));
    auto stepped = GatewayFixture::keyless_api("stepped", "/stepped/", up.url(), true);
    stepped["version_data"]["versions"]["Default"]["global_response_headers"] = {{"X-Step", "on"}};
    fx.add_api(stepped);
    fx.start();

    const std::string relayed =
        exchange(fx.port(), "GET /relay/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK(relayed == c.client);
    const std::string read_by_step =
        exchange(fx.port(), "GET /stepped/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK(read_by_step.find("\r\nX-Step: on\r\n") != std::string::npos);
    CHECK(without(read_by_step, "X-Step: on\r\n") == c.client);
}
