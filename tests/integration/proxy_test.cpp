// End-to-end tests of the proxy core: the real build/portcullis process in front of a real
// upstream (EchoServer) on loopback.
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <future>
#include <sys/socket.h>
#include <thread>

using portcullis::examples::EchoServer;
using portcullis::test::FakeUpstream;
using portcullis::test::GatewayFixture;
using portcullis::test::http_request;
using portcullis::test::HttpClient;
using Json = nlohmann::json;

namespace {

std::string upstream_url(const EchoServer& echo, const std::string& path = "") {
    return "http://127.0.0.1:" + std::to_string(echo.port()) + path;
}

/// A loopback port with nothing listening on it.
std::uint16_t closed_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    return acceptor.local_endpoint().port();
}

std::string first_header(const Json& echo, const std::string& name) {
    if (!echo["headers"].contains(name)) {
        return {};
    }
    return echo["headers"][name][0].get<std::string>();
}

/// Downloads `target` through the gateway, counting bytes without keeping them.
std::uint64_t download_count(std::uint16_t port, const std::string& target) {
    namespace http = boost::beast::http;
    HttpClient client{port, std::chrono::seconds(60)};
    client.send_raw("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    REQUIRE_FALSE(client.read_into(parser, true));
    REQUIRE(parser.get().result_int() == 200);
    std::vector<char> chunk(256 * 1024);
    std::uint64_t total = 0;
    while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        REQUIRE_FALSE(client.read_into(parser, false));
        total += chunk.size() - parser.get().body().size;
    }
    return total;
}

} // namespace

TEST_CASE("proxy passes method, path, query, headers and body through unchanged",
          "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("echo", "/echo/", upstream_url(echo), true));
    fx.start();

    HttpClient client{fx.port()};
    auto res = client.request("PATCH", "/echo/a/b%20c/d?x=1&y=%2F&x=2",
                              {{"X-Custom", "one"},
                               {"X-Custom", "two"},
                               {"Content-Type", "text/plain"},
                               {"Authorization", "Bearer abc"}},
                              "hello body");
    REQUIRE(res.status == 200);
    auto echoed = res.json();
    CHECK(echoed["method"] == "PATCH");
    CHECK(echoed["path"] == "/a/b%20c/d");
    CHECK(echoed["query"] == "x=1&y=%2F&x=2");
    CHECK(echoed["body"] == "hello body");
    CHECK(echoed["headers"]["X-Custom"] == Json::array({"one", "two"}));
    CHECK(first_header(echoed, "Content-Type") == "text/plain");
    CHECK(first_header(echoed, "Authorization") == "Bearer abc");
    CHECK(first_header(echoed, "Content-Length") == "10");
    CHECK(first_header(echoed, "Host") == "127.0.0.1:" + std::to_string(echo.port()));
    CHECK(first_header(echoed, "X-Forwarded-For") == "127.0.0.1");

    SECTION("upstream status, headers and body come back unchanged") {
        auto r = client.request("GET", "/echo/__status/201?h=X-Up:yes&h=Set-Cookie:a%3D1");
        CHECK(r.status == 201);
        CHECK(r.header("X-Up") == "yes");
        CHECK(r.header("Set-Cookie") == "a=1");
        CHECK(r.header("Server") == "echo-upstream");
        CHECK(r.json()["path"] == "/__status/201");
    }
    SECTION("hop-by-hop headers are not forwarded in either direction") {
        auto r = client.request("GET",
                                "/echo/hop?h=Keep-Alive:timeout%3D5&h=X-Gone:1&h=Connection:X-Gone",
                                {{"Connection", "keep-alive, X-Private"},
                                 {"X-Private", "secret"},
                                 {"Proxy-Authorization", "Basic Zm9v"},
                                 {"TE", "trailers"},
                                 {"Upgrade", "websocket"},
                                 {"X-Kept", "1"}});
        REQUIRE(r.status == 200);
        const auto e = r.json();
        CHECK_FALSE(e["headers"].contains("X-Private"));
        CHECK_FALSE(e["headers"].contains("Proxy-Authorization"));
        CHECK_FALSE(e["headers"].contains("TE"));
        CHECK_FALSE(e["headers"].contains("Upgrade"));
        CHECK_FALSE(e["headers"].contains("Connection"));
        CHECK(first_header(e, "X-Kept") == "1");
        CHECK_FALSE(r.has_header("Keep-Alive"));
        CHECK_FALSE(r.has_header("X-Gone"));
    }
    SECTION("X-Forwarded-For is appended to what the client sent") {
        auto r = client.request("GET", "/echo/xff", {{"X-Forwarded-For", "10.0.0.1, 10.0.0.2"}});
        CHECK(first_header(r.json(), "X-Forwarded-For") == "10.0.0.1, 10.0.0.2, 127.0.0.1");
    }
    SECTION("a chunked request body arrives whole") {
        auto r =
            client.raw("POST /echo/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       "\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        REQUIRE(r.status == 200);
        CHECK(r.json()["body"] == "hello world");
        CHECK(first_header(r.json(), "Transfer-Encoding") == "chunked");
    }
    SECTION("HEAD gets the upstream's headers and no body") {
        auto r = client.request("HEAD", "/echo/head");
        CHECK(r.status == 200);
        CHECK(r.body.empty());
        CHECK(std::stoul(r.header("Content-Length")) > 0);
        // The connection is still in sync afterwards.
        CHECK(client.get("/echo/after-head").json()["path"] == "/after-head");
    }
    SECTION("the health check answers Tyk's JSON") {
        auto r = client.get("/hello");
        CHECK(r.status == 200);
        CHECK(r.json()["status"] == "pass");
        CHECK(r.json()["description"] == "Tyk GW");
    }
}

TEST_CASE("proxy strips the listen path only when strip_listen_path is set",
          "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("strip", "/strip/", upstream_url(echo, "/base"), true));
    fx.add_api(GatewayFixture::keyless_api("keep", "/keep/", upstream_url(echo, "/base/"), false));
    fx.start();

    CHECK(http_request(fx.port(), "GET", "/strip/users/1?q=2").json()["target"] ==
          "/base/users/1?q=2");
    CHECK(http_request(fx.port(), "GET", "/strip/").json()["target"] == "/base");
    CHECK(http_request(fx.port(), "GET", "/keep/users/1").json()["target"] == "/base/keep/users/1");
    SECTION("an API also answers on /<api_id>/") {
        CHECK(http_request(fx.port(), "GET", "/strip/x").json()["target"] == "/base/x");
        CHECK(http_request(fx.port(), "GET", "/keep/x").json()["target"] == "/base/keep/x");
    }
}

TEST_CASE("proxy routes by the longest listen path and answers 404 otherwise",
          "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("short", "/api/", upstream_url(echo, "/short"), true));
    fx.add_api(GatewayFixture::keyless_api("long", "/api/v2/", upstream_url(echo, "/long"), true));
    fx.conf["http_server_options"]["enable_strict_routes"] = true;
    fx.add_api(
        GatewayFixture::keyless_api("strict", "/exact", upstream_url(echo, "/strict"), true));
    fx.start();

    CHECK(http_request(fx.port(), "GET", "/api/v2/items").json()["path"] == "/long/items");
    CHECK(http_request(fx.port(), "GET", "/api/v1/items").json()["path"] == "/short/v1/items");
    CHECK(http_request(fx.port(), "GET", "/long/items").json()["path"] == "/long/items");
    CHECK(http_request(fx.port(), "GET", "/exact/x").json()["path"] == "/strict/x");

    auto missing = http_request(fx.port(), "GET", "/nothing/here");
    CHECK(missing.status == 404);
    CHECK(missing.header("Content-Type") == "application/json");
    CHECK(missing.json()["error"] == "Not Found");
    SECTION("strict routes do not match a longer segment") {
        CHECK(http_request(fx.port(), "GET", "/exactly").status == 404);
    }
}

TEST_CASE("proxy answers 502 when the upstream is down and keeps serving", "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api(
        "down", "/down/", "http://127.0.0.1:" + std::to_string(closed_port()), true));
    fx.add_api(GatewayFixture::keyless_api("up", "/up/", upstream_url(echo), true));
    fx.start();

    HttpClient client{fx.port()};
    auto res = client.get("/down/x");
    CHECK(res.status == 502);
    CHECK(res.json()["error"] == "There was a problem proxying the request");
    CHECK(client.get("/up/x").status == 200);

    SECTION("an upstream that closes without answering is a 502 too") {
        CHECK(client.get("/up/__close").status == 502);
        CHECK(client.get("/up/again").status == 200);
    }
    SECTION("an upstream that answers garbage is a 502") {
        CHECK(client.get("/up/__garbage").status == 502);
        CHECK(client.get("/up/again").status == 200);
    }
}

TEST_CASE("proxy answers 504 when the upstream is too slow", "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.conf["proxy_default_timeout"] = 0.5;
    fx.add_api(GatewayFixture::keyless_api("slow", "/slow/", upstream_url(echo), true));
    fx.start();

    HttpClient client{fx.port()};
    const auto t0 = std::chrono::steady_clock::now();
    auto res = client.get("/slow/__slow?ms=3000");
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    CHECK(res.status == 504);
    CHECK(res.json()["error"] == "Upstream service reached hard timeout.");
    CHECK(elapsed < std::chrono::milliseconds(2500));
    CHECK(client.get("/slow/__slow?ms=10").status == 200);
}

TEST_CASE("client deadlines: a stalled header and an idle keep-alive connection are closed",
          "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.conf["portcullis"]["header_timeout"] = 1;
    fx.conf["portcullis"]["idle_timeout"] = 2;
    fx.add_api(GatewayFixture::keyless_api("d", "/d/", upstream_url(echo), true));
    fx.start();

    const auto t0 = std::chrono::steady_clock::now();
    HttpClient stalled{fx.port(), std::chrono::seconds(6)};
    stalled.send_raw("GET /d/x HTTP/1.1\r\nHost: a\r\nX-Half: ");
    HttpClient idle{fx.port(), std::chrono::seconds(6)};
    REQUIRE(idle.get("/d/first").status == 200);
    // Meanwhile other clients are served at once.
    for (int i = 0; i < 5; ++i) {
        CHECK(http_request(fx.port(), "GET", "/d/other").status == 200);
    }
    CHECK(stalled.closed_by_peer());
    const auto stalled_after = std::chrono::steady_clock::now() - t0;
    CHECK(stalled_after >= std::chrono::milliseconds(900));
    CHECK(stalled_after < std::chrono::milliseconds(4000));
    CHECK(idle.closed_by_peer());
    const auto idle_after = std::chrono::steady_clock::now() - t0;
    CHECK(idle_after >= std::chrono::milliseconds(1900));
    CHECK(idle_after < std::chrono::milliseconds(5000));

    SECTION("a connection in use keeps its deadline fresh across requests") {
        HttpClient busy{fx.port(), std::chrono::seconds(6)};
        for (int i = 0; i < 5; ++i) {
            REQUIRE(busy.get("/d/again").status == 200);
            std::this_thread::sleep_for(std::chrono::milliseconds(700));
        }
        CHECK(busy.get("/d/last").status == 200);
    }
}

TEST_CASE("proxy keeps both connections alive for 50 sequential requests", "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("ka", "/ka/", upstream_url(echo), true));
    fx.start();

    HttpClient client{fx.port()};
    for (int i = 0; i < 50; ++i) {
        auto res =
            client.request("POST", "/ka/req/" + std::to_string(i), {}, "body-" + std::to_string(i));
        REQUIRE(res.status == 200);
        CHECK(res.keep_alive);
        const auto e = res.json();
        CHECK(e["path"] == "/req/" + std::to_string(i));
        CHECK(e["body"] == "body-" + std::to_string(i));
    }
    // One client connection, served by one worker, reusing one pooled upstream connection.
    CHECK(echo.connections_accepted() == 1);
    CHECK(echo.requests_served() == 50);
}

TEST_CASE("proxy serves 20 concurrent clients correctly", "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("conc", "/conc/", upstream_url(echo), true));
    fx.start();
    const auto port = fx.port();

    std::vector<std::future<int>> clients;
    for (int c = 0; c < 20; ++c) {
        clients.push_back(std::async(std::launch::async, [port, c] {
            HttpClient client{port};
            int ok = 0;
            for (int i = 0; i < 25; ++i) {
                const std::string id = std::to_string(c) + "-" + std::to_string(i);
                auto res = client.request("POST", "/conc/" + id + "?i=" + id, {}, id);
                const auto e = res.json();
                if (res.status == 200 && e["path"] == "/" + id && e["query"] == "i=" + id &&
                    e["body"] == id) {
                    ++ok;
                }
            }
            return ok;
        }));
    }
    int total = 0;
    for (auto& f : clients) {
        total += f.get();
    }
    CHECK(total == 20 * 25);
    CHECK(echo.requests_served() == 20 * 25);
}

TEST_CASE("proxy streams large bodies without holding them in memory", "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("big", "/big/", upstream_url(echo), true));
    fx.start();
    // Warm up so that steady-state allocations are in the baseline.
    REQUIRE(http_request(fx.port(), "GET", "/big/__bytes?n=1000000").status == 200);
    const long baseline = fx.gateway().peak_rss_kib();
    REQUIRE(baseline > 0);

    SECTION("a 1 GiB download (Content-Length)") {
        const std::uint64_t n = 1024ull * 1024 * 1024;
        CHECK(download_count(fx.port(), "/big/__bytes?n=" + std::to_string(n)) == n);
    }
    SECTION("a 256 MiB chunked download") {
        const std::uint64_t n = 256ull * 1024 * 1024;
        CHECK(download_count(fx.port(), "/big/__bytes?chunked=1&n=" + std::to_string(n)) == n);
    }
    SECTION("a 256 MiB chunked upload") {
        HttpClient client{fx.port(), std::chrono::seconds(60)};
        client.send_raw(
            "POST /big/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
        std::string chunk(1024 * 1024, 'z');
        std::uint64_t fnv = 1469598103934665603ull;
        for (int i = 0; i < 256; ++i) {
            for (char ch : chunk) {
                fnv = (fnv ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
            }
        }
        char size_line[32];
        std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
        for (int i = 0; i < 256; ++i) {
            client.send_raw(size_line + chunk + "\r\n");
        }
        client.send_raw("0\r\n\r\n");
        auto res = client.read_response();
        REQUIRE(res.status == 200);
        CHECK(res.json()["body_length"] == 256ull * 1024 * 1024);
        CHECK(res.json()["body_fnv1a"] == fnv);
    }
    SECTION("a 64 MiB Content-Length upload, relayed as it arrives") {
        HttpClient client{fx.port(), std::chrono::seconds(60)};
        const std::uint64_t total = 64ull * 1024 * 1024;
        client.send_raw("POST /big/upload HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                        std::to_string(total) + "\r\n\r\n");
        std::string chunk(1024 * 1024, 'q');
        chunk[0] = 'Q';
        std::uint64_t fnv = 1469598103934665603ull;
        for (int i = 0; i < 64; ++i) {
            for (char ch : chunk) {
                fnv = (fnv ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
            }
            client.send_raw(chunk);
        }
        auto res = client.read_response();
        REQUIRE(res.status == 200);
        CHECK(res.json()["body_length"] == total);
        CHECK(res.json()["body_fnv1a"] == fnv);
    }
    const long growth_kib = fx.gateway().peak_rss_kib() - baseline;
    INFO("peak RSS grew by " << growth_kib << " KiB");
    CHECK(growth_kib < 8 * 1024);
}

TEST_CASE("a small body that arrives after its head goes upstream with the head in one write",
          "[integration][proxy]") {
    // The upstream records what its first read returned: the head and the whole body when the
    // gateway sent them in one write, the head alone when it sent the head as soon as it came.
    const std::string body = std::string(1000, 'b') + "0123456789-end";
    std::promise<std::string> first_read;
    FakeUpstream upstream{[&](int c) {
                              char buf[8192];
                              const auto n = ::recv(c, buf, sizeof buf, 0);
                              std::string seen(buf, static_cast<std::size_t>(std::max<long>(n, 0)));
                              first_read.set_value(seen);
                              while (seen.find("0123456789-end") == std::string::npos) {
                                  const auto m = ::recv(c, buf, sizeof buf, 0); // a split rest
                                  if (m <= 0) {
                                      break;
                                  }
                                  seen.append(buf, static_cast<std::size_t>(m));
                              }
                              FakeUpstream::answer(
                                  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")(c);
                          },
                          false};
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("small", "/small/", upstream.url(), true));
    fx.start();

    HttpClient client{fx.port()};
    client.send_raw("POST /small/x HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the head is read on its own
    client.send_raw(body);
    const auto res = client.read_response();
    CHECK(res.status == 200);
    CHECK(res.body == "ok");
    auto got = first_read.get_future();
    REQUIRE(got.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    const std::string first = got.get();
    CHECK(first.find("POST /x HTTP/1.1\r\n") == 0);
    REQUIRE(first.size() >= body.size());
    CHECK(first.substr(first.size() - body.size()) == body);
}

TEST_CASE("pipelined requests with bodies on one connection each reach the upstream whole",
          "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("pipe", "/pipe/", upstream_url(echo), true));
    fx.start();
    HttpClient client{fx.port()};
    // Two POSTs and a GET in one write: each body is exactly its Content-Length, the bytes after
    // it belong to the next request.
    client.send_raw("POST /pipe/a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
                    "POST /pipe/b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                    "GET /pipe/c HTTP/1.1\r\nHost: t\r\n\r\n");
    auto first = client.read_response();
    REQUIRE(first.status == 200);
    CHECK(first.json()["path"] == "/a");
    CHECK(first.json()["body"] == "hello");
    auto second = client.read_response();
    REQUIRE(second.status == 200);
    CHECK(second.json()["path"] == "/b");
    CHECK(second.json()["body"] == "abc");
    auto third = client.read_response();
    REQUIRE(third.status == 200);
    CHECK(third.json()["path"] == "/c");
}

TEST_CASE("proxy answers 431 for an oversized header block and 400 for garbage",
          "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.conf["portcullis"]["max_header_bytes"] = 4096;
    fx.add_api(GatewayFixture::keyless_api("h", "/h/", upstream_url(echo), true));
    fx.start();

    HttpClient big{fx.port()};
    auto res = big.request("GET", "/h/x", {{"X-Big", std::string(8000, 'a')}});
    CHECK(res.status == 431);
    CHECK(big.closed_by_peer());

    HttpClient garbage{fx.port()};
    CHECK(garbage.raw("NOT HTTP AT ALL\r\n\r\n").status == 400);
    CHECK(http_request(fx.port(), "GET", "/h/ok").status == 200);
}

TEST_CASE("proxy answers 413 for a body over max_request_body_size", "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.conf["http_server_options"]["max_request_body_size"] = 1000;
    fx.add_api(GatewayFixture::keyless_api("b", "/b/", upstream_url(echo), true));
    fx.start();

    CHECK(http_request(fx.port(), "POST", "/b/x", {}, std::string(1001, 'x')).status == 413);
    CHECK(http_request(fx.port(), "POST", "/b/x", {}, std::string(1000, 'x')).status == 200);
    HttpClient chunked{fx.port()};
    auto res = chunked.raw("POST /b/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3e8\r\n" +
                           std::string(1000, 'y') + "\r\n1\r\nz\r\n0\r\n\r\n");
    CHECK(res.status == 413);
}

TEST_CASE("SIGTERM lets an in-flight request finish, then the gateway exits 0",
          "[integration][proxy]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("drain", "/drain/", upstream_url(echo), true));
    fx.start();
    const auto port = fx.port();

    HttpClient idle{port}; // an idle keep-alive connection must not hold up the exit
    REQUIRE(idle.get("/drain/warm").status == 200);

    auto in_flight = std::async(
        std::launch::async, [port] { return http_request(port, "GET", "/drain/__slow?ms=1500"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    const auto t0 = std::chrono::steady_clock::now();
    const int exit_code = fx.gateway().process().stop(SIGTERM, std::chrono::seconds(10));
    const auto res = in_flight.get();
    CHECK(res.status == 200);
    CHECK(res.json()["path"] == "/__slow");
    CHECK(exit_code == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    CHECK(idle.closed_by_peer());
    CHECK_THROWS(http_request(port, "GET", "/drain/after"));
}

TEST_CASE("a bad API definition is reported and skipped while the others load",
          "[integration][config]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.add_api(GatewayFixture::keyless_api("good", "/good/", upstream_url(echo), true));
    fx.dir.write("apps/broken.json", "{\n  \"api_id\": \"broken\",\n  \"proxy\": {\n}");
    auto bad_target = GatewayFixture::keyless_api("badtarget", "/bad/", "ftp://nowhere", true);
    fx.add_api(bad_target);
    fx.start();

    CHECK(http_request(fx.port(), "GET", "/good/x").status == 200);
    CHECK(http_request(fx.port(), "GET", "/bad/x").status == 404);
    const auto log = fx.gateway().log();
    CHECK_THAT(log, Catch::Contains("broken.json:4"));
    CHECK_THAT(log, Catch::Contains("badtarget.json"));
    CHECK_THAT(log, Catch::Contains("/proxy/target_url"));
}

TEST_CASE("portcullis exits 2 with a precise message on a bad tyk.conf", "[integration][config]") {
    portcullis::test::TempDir tmp;
    SECTION("missing file") {
        const auto r = portcullis::test::run_portcullis({"--conf", "/nonexistent/tyk.conf"});
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains("/nonexistent/tyk.conf"));
    }
    SECTION("invalid JSON names file, line and column") {
        const auto conf = tmp.write("tyk.conf", "{\n  \"listen_port\": 8080,\n  \"secret\": }\n");
        const auto r = portcullis::test::run_portcullis({"--conf", conf.string()});
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains(conf.string() + ":3:"));
    }
    SECTION("a wrong type names the JSON path") {
        const auto conf = tmp.write("tyk.conf", R"({"storage": {"port": "six"}})");
        const auto r = portcullis::test::run_portcullis({"--conf", conf.string()});
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains("/storage/port"));
    }
    SECTION("no --conf") {
        CHECK(portcullis::test::run_portcullis({}).exit_code == 2);
    }
}
