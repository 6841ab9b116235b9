// TLS through the real portcullis process, with certificates made at test time: the listener
// (certificates chosen by SNI, min_version, plain HTTP and silent clients on the TLS port) and
// HTTPS upstreams (verification by default, a CA file, Tyk's opt-outs, pooled connections).
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/support/tls_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include <chrono>
#include <sys/socket.h>
#include <unistd.h>

using portcullis::examples::EchoServer;
using portcullis::test::CertFiles;
using portcullis::test::GatewayFixture;
using portcullis::test::http_request;
using portcullis::test::HttpClient;
using portcullis::test::TestCa;
using portcullis::test::tls_get;
using portcullis::test::TlsOptions;
using Json = nlohmann::json;

namespace {

Json certificate(const std::string& domain, const CertFiles& files) {
    return {{"domain_name", domain},
            {"cert_file", files.cert_file.string()},
            {"key_file", files.key_file.string()}};
}

std::string https_url(const EchoServer& echo) {
    return "https://127.0.0.1:" + std::to_string(echo.port());
}

/// Connects to 127.0.0.1:port, sends `bytes` (if any), and waits up to `wait` for the server to
/// close: true when it did (EOF or reset), false when the connection was still open.
bool closed_by_server(std::uint16_t port, const std::string& bytes, std::chrono::seconds wait) {
    const int fd = portcullis::test::connect_loopback(port);
    if (!bytes.empty()) {
        ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    }
    timeval tv{static_cast<time_t>(wait.count()), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    ssize_t n = 0;
    do {
        n = ::recv(fd, buf, sizeof buf, 0);
    } while (n > 0);
    const bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    ::close(fd);
    return closed;
}

} // namespace

TEST_CASE("the TLS listener serves requests with the certificate the client's SNI names",
          "[integration][tls]") {
    GatewayFixture fx;
    TestCa ca{"Portcullis Test CA"};
    const auto ca_file = ca.write_ca(fx.dir.path(), "ca").string();
    const auto fallback = ca.issue(fx.dir.path(), "default", {"default.test"});
    const auto a = ca.issue(fx.dir.path(), "a", {"a.test"});
    const auto b = ca.issue(fx.dir.path(), "b", {"*.b.test"});
    EchoServer echo;
    fx.conf["http_server_options"]["use_ssl"] = true;
    fx.conf["http_server_options"]["certificates"] =
        Json::array({certificate("default.test", fallback), certificate("a.test", a),
                     certificate("*.b.test", b)});
    fx.conf["portcullis"]["header_timeout"] = 1;
    fx.add_api(GatewayFixture::keyless_api(
        "echo", "/echo/", "http://127.0.0.1:" + std::to_string(echo.port()), true));
    fx.start();

    SECTION("each name gets its certificate, verified against the CA") {
        const auto r = tls_get(fx.port(), "/echo/x", TlsOptions{"a.test", ca_file});
        REQUIRE(r.error.empty());
        CHECK(r.status == 200);
        CHECK(r.common_name == "a.test");
        CHECK(Json::parse(r.body)["path"] == "/x");

        const auto upper = tls_get(fx.port(), "/hello", TlsOptions{"A.TEST", ca_file});
        REQUIRE(upper.error.empty());
        CHECK(upper.status == 200);
        CHECK(upper.common_name == "a.test");

        const auto wildcard = tls_get(fx.port(), "/echo/y", TlsOptions{"api.b.test", ca_file});
        REQUIRE(wildcard.error.empty());
        CHECK(wildcard.status == 200);
        CHECK(wildcard.common_name == "*.b.test");
    }
    SECTION("no SNI, or a name no certificate serves, gets the first certificate") {
        const auto none = tls_get(fx.port(), "/hello");
        REQUIRE(none.error.empty());
        CHECK(none.status == 200);
        CHECK(none.common_name == "default.test");
        // one label more than the wildcard covers
        const auto deep = tls_get(fx.port(), "/hello", TlsOptions{"x.api.b.test"});
        REQUIRE(deep.error.empty());
        CHECK(deep.common_name == "default.test");
        // and a client that checks the name refuses it
        const auto refused = tls_get(fx.port(), "/hello", TlsOptions{"other.test", ca_file});
        CHECK_THAT(refused.error, Catch::StartsWith("handshake"));
    }
    SECTION("plain HTTP on the TLS port is answered 400, and TLS still works") {
        const auto plain = http_request(fx.port(), "GET", "/hello");
        CHECK(plain.status == 400);
        CHECK(plain.body == "Client sent an HTTP request to an HTTPS server.\n");
        CHECK(tls_get(fx.port(), "/hello", TlsOptions{"a.test", ca_file}).status == 200);
    }
    SECTION("garbage and silent clients are closed; the listener keeps serving") {
        CHECK(closed_by_server(fx.port(), std::string(300, '\x16'), std::chrono::seconds(5)));
        // no handshake at all: closed at the header deadline (1 s)
        const auto started = std::chrono::steady_clock::now();
        CHECK(closed_by_server(fx.port(), "", std::chrono::seconds(5)));
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(4));
        CHECK(tls_get(fx.port(), "/hello", TlsOptions{"a.test", ca_file}).status == 200);
    }
}

TEST_CASE("min_version refuses clients that offer less", "[integration][tls]") {
    GatewayFixture fx;
    TestCa ca{"Portcullis Test CA"};
    const auto cert = ca.issue(fx.dir.path(), "server", {"localhost"});
    fx.conf["http_server_options"]["use_ssl"] = true;
    fx.conf["http_server_options"]["min_version"] = 772; // TLS 1.3
    fx.conf["http_server_options"]["certificates"] = Json::array({certificate("", cert)});
    fx.start();

    TlsOptions old;
    old.max_version = TLS1_2_VERSION;
    CHECK_THAT(tls_get(fx.port(), "/hello", old).error, Catch::StartsWith("handshake"));
    const auto current = tls_get(fx.port(), "/hello");
    REQUIRE(current.error.empty());
    CHECK(current.status == 200);
}

TEST_CASE("unusable TLS settings stop startup with exit code 2 and say why",
          "[integration][tls][config]") {
    GatewayFixture fx;
    TestCa ca{"Portcullis Test CA"};
    const auto one = ca.issue(fx.dir.path(), "one", {"one.test"});
    const auto two = ca.issue(fx.dir.path(), "two", {"two.test"});
    auto& options = fx.conf["http_server_options"];
    options["use_ssl"] = true;
    std::string expected;
    SECTION("a missing certificate file") {
        options["certificates"] =
            Json::array({certificate("", CertFiles{fx.dir.path() / "absent.crt", one.key_file})});
        expected = (fx.dir.path() / "absent.crt").string();
    }
    SECTION("a key of another certificate") {
        options["certificates"] =
            Json::array({certificate("", CertFiles{one.cert_file, two.key_file})});
        expected = "does not match";
    }
    SECTION("use_ssl without certificates") {
        expected = "/http_server_options/certificates";
    }
    SECTION("a certificate without a key file") {
        options["certificates"] = Json::array({{{"cert_file", one.cert_file.string()}}});
        expected = "cert_file and key_file";
    }
    SECTION("an unknown TLS version") {
        options["certificates"] = Json::array({certificate("", one)});
        options["min_version"] = 700;
        expected = "/http_server_options/min_version";
    }
    SECTION("an unreadable upstream CA file") {
        options["use_ssl"] = false;
        fx.conf["portcullis"]["upstream_ca_file"] = (fx.dir.path() / "no-ca.pem").string();
        expected = "upstream_ca_file";
    }
    const auto r = portcullis::test::run_portcullis({"--conf", fx.write_conf().string()});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(expected));
}

TEST_CASE("HTTPS upstreams: verified by default, trusted through a CA file, pooled",
          "[integration][tls]") {
    GatewayFixture fx;
    TestCa ca{"Upstream CA"};
    TestCa stranger{"Unknown CA"};
    const auto trusted_cert = ca.issue(fx.dir.path(), "trusted", {"127.0.0.1", "localhost"});
    const auto untrusted_cert = stranger.issue(fx.dir.path(), "untrusted", {"127.0.0.1"});
    const auto misnamed_cert = ca.issue(fx.dir.path(), "misnamed", {"other.test"});
    const EchoServer::Tls trusted_files{trusted_cert.cert_file, trusted_cert.key_file};
    const EchoServer::Tls untrusted_files{untrusted_cert.cert_file, untrusted_cert.key_file};
    const EchoServer::Tls misnamed_files{misnamed_cert.cert_file, misnamed_cert.key_file};
    EchoServer trusted{"127.0.0.1", 0, &trusted_files};
    EchoServer untrusted{"127.0.0.1", 0, &untrusted_files};
    EchoServer misnamed{"127.0.0.1", 0, &misnamed_files};

    fx.conf["portcullis"]["upstream_ca_file"] = ca.write_ca(fx.dir.path(), "ca").string();
    fx.add_api(GatewayFixture::keyless_api("trusted", "/trusted/", https_url(trusted), true));
    fx.add_api(GatewayFixture::keyless_api("untrusted", "/untrusted/", https_url(untrusted), true));
    auto skipping = GatewayFixture::keyless_api("skip", "/skip/", https_url(untrusted), true);
    skipping["proxy"]["transport"]["ssl_insecure_skip_verify"] = true;
    fx.add_api(skipping);
    fx.add_api(GatewayFixture::keyless_api("misnamed", "/misnamed/", https_url(misnamed), true));
    fx.start();

    SECTION("a trusted upstream answers, over one pooled TLS connection") {
        HttpClient client{fx.port()};
        for (int i = 1; i <= 10; ++i) {
            const auto r = client.get("/trusted/n" + std::to_string(i));
            REQUIRE(r.status == 200);
            CHECK(r.json()["path"] == "/n" + std::to_string(i));
            CHECK(r.json()["connection_requests"] == i);
        }
        CHECK(trusted.connections_accepted() == 1);
    }
    SECTION("an upstream certificate from an unknown authority is a 502") {
        const auto r = http_request(fx.port(), "GET", "/untrusted/x");
        CHECK(r.status == 502);
        CHECK(r.json()["error"] == "There was a problem proxying the request");
        CHECK(untrusted.requests_served() == 0);
        CHECK_THAT(fx.gateway().log(), Catch::Contains("certificate rejected"));
    }
    SECTION("a certificate for another name is a 502") {
        CHECK(http_request(fx.port(), "GET", "/misnamed/x").status == 502);
        CHECK(misnamed.requests_served() == 0);
    }
    SECTION("proxy.transport.ssl_insecure_skip_verify opts one API out") {
        const auto r = http_request(fx.port(), "GET", "/skip/x");
        CHECK(r.status == 200);
        CHECK(r.json()["path"] == "/x");
        // ...and its unchecked connection is never reused for the checking API
        CHECK(http_request(fx.port(), "GET", "/untrusted/x").status == 502);
    }
}

TEST_CASE("proxy_ssl_insecure_skip_verify opts every API out of upstream verification",
          "[integration][tls]") {
    GatewayFixture fx;
    TestCa stranger{"Unknown CA"};
    const auto cert = stranger.issue(fx.dir.path(), "upstream", {"127.0.0.1"});
    const EchoServer::Tls files{cert.cert_file, cert.key_file};
    EchoServer upstream{"127.0.0.1", 0, &files};
    fx.conf["proxy_ssl_insecure_skip_verify"] = true;
    fx.add_api(GatewayFixture::keyless_api("any", "/any/", https_url(upstream), true));
    fx.start();
    const auto r = http_request(fx.port(), "GET", "/any/x");
    CHECK(r.status == 200);
    CHECK(r.json()["path"] == "/x");
}
