// The JS plugin host calls (TykMakeHttpRequest, TykBatchRequest, TykGetKeyData, TykSetKeyData)
// against a real upstream (the echo server, in-process), a local TLS server, sockets that never
// answer, and a real redis-server. Every call must return by its deadline.
#include "examples/echo_upstream/echo_server.hpp"
#include "gateway/common/asio.hpp"
#include "gateway/jsvm/host_calls.hpp"
#include "middleware/keys/key_hash.hpp"
#include "middleware/keys/token.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

using namespace portcullis;
using jsvm_host::HostServices;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using test::RedisServer;

namespace {

Clock::time_point in(milliseconds d) {
    return Clock::now() + d;
}

struct StateOptions {
    std::uint16_t redis_port = 6379;
    bool hash_keys = false;
    int listen_port = 8080;
    std::string redis_password;
    int redis_database = 0;
    int storage_timeout = 5;
    bool allow_master_keys = false;
    std::int64_t session_lifetime = 0; // of API "api1"
};

std::shared_ptr<const GatewayState> make_state(const StateOptions& o) {
    auto cfg = std::make_shared<config::GatewayConfig>();
    cfg->storage.host = "127.0.0.1";
    cfg->storage.port = o.redis_port;
    cfg->storage.password = o.redis_password;
    cfg->storage.database = o.redis_database;
    cfg->storage.timeout = o.storage_timeout;
    cfg->hash_keys = o.hash_keys;
    cfg->listen_port = o.listen_port;
    cfg->allow_master_keys = o.allow_master_keys;
    std::vector<std::shared_ptr<const config::ApiDefinition>> apis;
    for (const char* id : {"api1", "api2"}) {
        auto api = std::make_shared<config::ApiDefinition>();
        api->api_id = id;
        api->org_id = "org1";
        api->proxy.listen_path = std::string("/") + id + "/";
        if (api->api_id == "api1") {
            api->session_lifetime = o.session_lifetime;
        }
        apis.push_back(std::move(api));
    }
    auto state = std::make_shared<GatewayState>();
    state->config = std::move(cfg);
    state->router = std::make_shared<const proxy::ApiRouter>(std::move(apis), false);
    return state;
}

HostServices::StateSource source_of(std::shared_ptr<const GatewayState> state) {
    return [state] { return state; };
}

Json request_json(const std::string& domain, const std::string& resource) {
    Json r = Json::object();
    r["Method"] = "GET";
    r["Domain"] = domain;
    r["Resource"] = resource;
    r["Headers"] = Json::object();
    r["FormData"] = Json::object();
    r["Body"] = "";
    return r;
}

std::string origin(std::uint16_t port) {
    return "http://127.0.0.1:" + std::to_string(port);
}

/// A socket that listens (so connects succeed, queued by the kernel) but never accepts or
/// answers.
struct SilentServer {
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::uint16_t port() const { return acceptor.local_endpoint().port(); }
};

// ---- a local TLS server with a self-signed certificate for 127.0.0.1 --------------------------

struct SelfSigned {
    test::TempDir dir;
    std::string cert_file;
    std::string key_file;

    SelfSigned() {
        EVP_PKEY* key = EVP_EC_gen("P-256");
        REQUIRE(key != nullptr);
        X509* cert = X509_new();
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
        X509_set_issuer_name(cert, name);
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
        for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                         std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
            X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
            REQUIRE(ext != nullptr);
            X509_add_ext(cert, ext, -1);
            X509_EXTENSION_free(ext);
        }
        REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
        cert_file = (dir.path() / "cert.pem").string();
        key_file = (dir.path() / "key.pem").string();
        FILE* f = std::fopen(cert_file.c_str(), "w");
        PEM_write_X509(f, cert);
        std::fclose(f);
        f = std::fopen(key_file.c_str(), "w");
        PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(f);
        X509_free(cert);
        EVP_PKEY_free(key);
    }
};

/// Serves HTTPS on 127.0.0.1: each request is answered 200 with body "tls:<target>". Runs on a
/// background thread until destroyed.
class TlsServer {
  public:
    explicit TlsServer(const SelfSigned& cert) : ctx_(asio::ssl::context::tls_server) {
        ctx_.use_certificate_chain_file(cert.cert_file);
        ctx_.use_private_key_file(cert.key_file, asio::ssl::context::pem);
        accept();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~TlsServer() {
        ioc_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  private:
    struct Conn {
        explicit Conn(tcp::socket s, asio::ssl::context& ctx) : stream(std::move(s), ctx) {}
        asio::ssl::stream<tcp::socket> stream;
        beast::flat_buffer buffer;
        beast::http::request<beast::http::string_body> req;
        beast::http::response<beast::http::string_body> res;
    };

    void accept() {
        acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
            if (ec) {
                return;
            }
            auto conn = std::make_shared<Conn>(std::move(socket), ctx_);
            conn->stream.async_handshake(asio::ssl::stream_base::server, [conn](error_code hec) {
                if (hec) {
                    return;
                }
                beast::http::async_read(
                    conn->stream, conn->buffer, conn->req, [conn](error_code rec, std::size_t) {
                        if (rec) {
                            return;
                        }
                        conn->res.result(200);
                        conn->res.version(11);
                        conn->res.set(beast::http::field::content_type, "text/plain");
                        conn->res.body() = "tls:" + std::string(conn->req.target());
                        conn->res.prepare_payload();
                        beast::http::async_write(conn->stream, conn->res,
                                                 [conn](error_code, std::size_t) {});
                    });
            });
            accept();
        });
    }

    asio::io_context ioc_;
    asio::ssl::context ctx_;
    tcp::acceptor acceptor_{ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::thread thread_;
};

} // namespace

// ---- TykMakeHttpRequest -------------------------------------------------------------------------

TEST_CASE("TykMakeHttpRequest: GET against a real upstream", "[jsvm]") {
    examples::EchoServer echo;
    HostServices host(source_of(make_state({})));
    Json req = request_json(origin(echo.port()), "/get/path?x=1&y=two");
    req["Headers"]["X-Plugin"] = "yes";
    const Json out = Json::parse(host.make_http_request(req.dump(), in(milliseconds(5000))));
    CHECK(out["Code"] == 200);
    CHECK(out["code"] == 200);
    CHECK_FALSE(out.contains("error"));
    CHECK(out["Body"] == out["body"]);
    CHECK(out["Headers"] == out["headers"]);
    CHECK(out["Headers"]["Content-Type"] == Json::array({"application/json"}));
    CHECK(out["Headers"]["Server"] == Json::array({"echo-upstream"}));
    const Json echoed = Json::parse(out["Body"].get<std::string>());
    CHECK(echoed["method"] == "GET");
    CHECK(echoed["path"] == "/get/path");
    CHECK(echoed["query"] == "x=1&y=two");
    CHECK(echoed["headers"]["X-Plugin"] == Json::array({"yes"}));
    CHECK(echoed["headers"]["Connection"] == Json::array({"close"}));
    CHECK(echoed["headers"]["Host"] == Json::array({"127.0.0.1:" + std::to_string(echo.port())}));
    CHECK(echoed["body"] == "");
    CHECK_FALSE(echoed["headers"].contains("Content-Length"));
}

TEST_CASE("TykMakeHttpRequest: POST with FormData, and Body winning over it", "[jsvm]") {
    examples::EchoServer echo;
    HostServices host(source_of(make_state({})));
    Json req = request_json(origin(echo.port()), "/form");
    req["Method"] = "POST";
    req["FormData"] = {{"b", "x&y=z"}, {"a", "1 2"}, {"n", 5}};

    SECTION("form data is url-encoded, keys sorted, with its content type") {
        const Json out = Json::parse(host.make_http_request(req.dump(), in(milliseconds(5000))));
        REQUIRE(out["Code"] == 200);
        const Json echoed = Json::parse(out["Body"].get<std::string>());
        CHECK(echoed["method"] == "POST");
        CHECK(echoed["body"] == "a=1+2&b=x%26y%3Dz&n=5");
        CHECK(echoed["headers"]["Content-Type"] ==
              Json::array({"application/x-www-form-urlencoded"}));
        CHECK(echoed["headers"]["Content-Length"] == Json::array({"21"}));
    }
    SECTION("a Content-Type header set by the plugin is kept") {
        req["Headers"]["content-type"] = "text/x-custom";
        const Json out = Json::parse(host.make_http_request(req.dump(), in(milliseconds(5000))));
        const Json echoed = Json::parse(out["Body"].get<std::string>());
        CHECK(echoed["headers"]["content-type"] == Json::array({"text/x-custom"}));
        CHECK_FALSE(echoed["headers"].contains("Content-Type"));
    }
    SECTION("a non-empty Body is sent instead of the form") {
        req["Body"] = R"({"hello":"world"})";
        req["Headers"]["Content-Type"] = "application/json";
        const Json out = Json::parse(host.make_http_request(req.dump(), in(milliseconds(5000))));
        const Json echoed = Json::parse(out["Body"].get<std::string>());
        CHECK(echoed["body"] == R"({"hello":"world"})");
        CHECK(echoed["headers"]["Content-Type"] == Json::array({"application/json"}));
    }
    SECTION("field names match case-insensitively, as Go's json decoding") {
        const Json lower = {{"method", "PUT"},
                            {"domain", origin(echo.port())},
                            {"resource", "/lower"},
                            {"body", "payload"}};
        const Json out = Json::parse(host.make_http_request(lower.dump(), in(milliseconds(5000))));
        REQUIRE(out["Code"] == 200);
        const Json echoed = Json::parse(out["Body"].get<std::string>());
        CHECK(echoed["method"] == "PUT");
        CHECK(echoed["path"] == "/lower");
        CHECK(echoed["body"] == "payload");
    }
}

TEST_CASE("TykMakeHttpRequest: upstream status codes, redirects and body limits", "[jsvm]") {
    examples::EchoServer echo;
    jsvm_host::Options options;
    options.max_response_body = 4096;
    HostServices host(source_of(make_state({})), options);
    const auto call = [&](const std::string& resource) {
        return Json::parse(host.make_http_request(
            request_json(origin(echo.port()), resource).dump(), in(milliseconds(5000))));
    };

    const Json not_found = call("/__status/404");
    CHECK(not_found["Code"] == 404);
    CHECK_FALSE(not_found.contains("error"));

    const Json redirected = call("/__status/302?h=Location:/final/stop");
    CHECK(redirected["Code"] == 200);
    CHECK(Json::parse(redirected["Body"].get<std::string>())["path"] == "/final/stop");

    const Json headers = call("/h?h=X-Multi:one&h=x-multi:two");
    CHECK(headers["Headers"]["X-Multi"] == Json::array({"one", "two"}));

    const Json big = call("/__bytes?n=100000");
    CHECK(big["Code"] == 0);
    CHECK(big["Body"] == "");
    CHECK(big["error"] == "response body too large");

    const Json fits = call("/__bytes?n=4000");
    CHECK(fits["Code"] == 200);
    CHECK(fits["Body"].get<std::string>().size() == 4000);
}

TEST_CASE("TykMakeHttpRequest: failures give Code 0 and an error", "[jsvm]") {
    HostServices host(source_of(make_state({})));
    const auto check_failed = [](const std::string& text) {
        const Json out = Json::parse(text);
        CHECK(out["Code"] == 0);
        CHECK(out["code"] == 0);
        CHECK(out["Body"] == "");
        CHECK(out["body"] == "");
        CHECK(out["Headers"] == Json::object());
        REQUIRE(out.contains("error"));
        return out["error"].get<std::string>();
    };

    SECTION("connection refused") {
        const auto port = test::free_port();
        const auto error = check_failed(host.make_http_request(
            request_json(origin(port), "/x").dump(), in(milliseconds(5000))));
        CHECK(error == "connection refused");
    }
    SECTION("not JSON") {
        CHECK(check_failed(host.make_http_request("{nope", in(milliseconds(1000))))
                  .find("malformed") != std::string::npos);
        CHECK(
            check_failed(host.make_http_request("[1]", in(milliseconds(1000)))).find("malformed") !=
            std::string::npos);
    }
    SECTION("bad URL") {
        CHECK(check_failed(
                  host.make_http_request(request_json("", "/x").dump(), in(milliseconds(1000))))
                  .find("invalid URL") != std::string::npos);
        CHECK(check_failed(host.make_http_request(request_json("ftp://127.0.0.1", "/x").dump(),
                                                  in(milliseconds(1000))))
                  .find("invalid URL") != std::string::npos);
    }
    SECTION("header value with a line break") {
        Json req = request_json("http://127.0.0.1:1", "/x");
        req["Headers"]["X-Evil"] = "a\r\nInjected: yes";
        CHECK(check_failed(host.make_http_request(req.dump(), in(milliseconds(1000)))) ==
              "invalid header");
    }
}

TEST_CASE("TykMakeHttpRequest: returns by the deadline", "[jsvm]") {
    HostServices host(source_of(make_state({})));

    SECTION("a deadline already past fails at once") {
        examples::EchoServer echo;
        const auto start = Clock::now();
        const Json out = Json::parse(host.make_http_request(
            request_json(origin(echo.port()), "/x").dump(), start - milliseconds(1)));
        CHECK(Clock::now() - start < milliseconds(200));
        CHECK(out["Code"] == 0);
        CHECK(out["error"] == "timeout");
    }
    SECTION("a server that never accepts nor answers") {
        SilentServer silent;
        const auto start = Clock::now();
        const auto deadline = start + milliseconds(400);
        const Json out = Json::parse(
            host.make_http_request(request_json(origin(silent.port()), "/x").dump(), deadline));
        const auto end = Clock::now();
        CHECK(end >= deadline - milliseconds(5));
        CHECK(end < deadline + milliseconds(1000));
        CHECK(out["Code"] == 0);
        CHECK(out["error"] == "timeout");
    }
    SECTION("an upstream slower than the deadline") {
        examples::EchoServer echo;
        const auto deadline = Clock::now() + milliseconds(300);
        const Json out = Json::parse(host.make_http_request(
            request_json(origin(echo.port()), "/__slow?ms=3000").dump(), deadline));
        CHECK(Clock::now() < deadline + milliseconds(1000));
        CHECK(out["error"] == "timeout");
        // The same object serves the next call normally.
        const Json next = Json::parse(host.make_http_request(
            request_json(origin(echo.port()), "/after").dump(), in(milliseconds(5000))));
        CHECK(next["Code"] == 200);
    }
}

TEST_CASE("TykMakeHttpRequest: https verifies the server certificate", "[jsvm]") {
    SelfSigned cert;
    TlsServer server(cert);
    const std::string url = "https://127.0.0.1:" + std::to_string(server.port());

    SECTION("trusted through Options::ca_file") {
        jsvm_host::Options options;
        options.ca_file = cert.cert_file;
        HostServices host(source_of(make_state({})), options);
        const Json out = Json::parse(host.make_http_request(request_json(url, "/secure?q=1").dump(),
                                                            in(milliseconds(5000))));
        CHECK(out["Code"] == 200);
        CHECK(out["Body"] == "tls:/secure?q=1");
    }
    SECTION("an unknown issuer is refused with the system store") {
        HostServices host(source_of(make_state({})));
        const Json out = Json::parse(
            host.make_http_request(request_json(url, "/secure").dump(), in(milliseconds(5000))));
        CHECK(out["Code"] == 0);
        CHECK_THAT(out["error"].get<std::string>(), Catch::Contains("TLS handshake failed"));
        CHECK_THAT(out["error"].get<std::string>(), Catch::Contains("certificate verify failed"));
    }
    SECTION("the name must match the certificate") {
        jsvm_host::Options options;
        options.ca_file = cert.cert_file;
        HostServices host(source_of(make_state({})), options);
        // "localhost" resolves to the same server but the certificate is for 127.0.0.1 only.
        const Json out = Json::parse(host.make_http_request(
            request_json("https://localhost:" + std::to_string(server.port()), "/").dump(),
            in(milliseconds(5000))));
        CHECK(out["Code"] == 0);
        CHECK(out.contains("error"));
    }
}

// ---- TykBatchRequest ----------------------------------------------------------------------------

TEST_CASE("TykBatchRequest: relative URLs go to the gateway, absolute ones as they are", "[jsvm]") {
    examples::EchoServer echo;
    // The gateway's listen port points at the echo server, standing in for the gateway itself.
    StateOptions so;
    so.listen_port = echo.port();
    HostServices host(source_of(make_state(so)));
    const Json batch = {
        {"requests", Json::array({{{"method", "GET"},
                                   {"headers", {{"X-One", "1"}}},
                                   {"body", ""},
                                   {"relative_url", "api1/first?a=b"}},
                                  {{"method", "POST"},
                                   {"headers", Json::object()},
                                   {"body", "second-body"},
                                   {"relative_url", origin(echo.port()) + "/absolute"}},
                                  {{"method", "GET"},
                                   {"headers", Json::object()},
                                   {"body", ""},
                                   {"relative_url", origin(test::free_port()) + "/refused"}}})},
        {"suppress_parallel_execution", false}};
    const Json out = Json::parse(host.batch_request(batch.dump(), in(milliseconds(5000))));
    REQUIRE(out.is_array());
    REQUIRE(out.size() == 3);
    CHECK(out[0]["relative_url"] == "api1/first?a=b");
    CHECK(out[0]["code"] == 200);
    CHECK(out[0]["headers"]["Content-Type"] == Json::array({"application/json"}));
    const Json first = Json::parse(out[0]["body"].get<std::string>());
    CHECK(first["path"] == "/api1/first");
    CHECK(first["query"] == "a=b");
    CHECK(first["headers"]["X-One"] == Json::array({"1"}));
    CHECK(out[1]["code"] == 200);
    const Json second = Json::parse(out[1]["body"].get<std::string>());
    CHECK(second["method"] == "POST");
    CHECK(second["path"] == "/absolute");
    CHECK(second["body"] == "second-body");
    CHECK(out[2]["code"] == 0);
    CHECK(out[2]["body"] == "");
    CHECK(out[2]["error"] == "connection refused");

    const Json malformed =
        Json::parse(host.batch_request("{\"requests\":5}", in(milliseconds(100))));
    CHECK(malformed == Json({{"status", "error"}, {"message", "Batch request malformed"}}));
    CHECK(host.batch_request("{}", in(milliseconds(100))) == "[]");
}

TEST_CASE("TykBatchRequest: the whole batch ends by the deadline", "[jsvm]") {
    SilentServer silent;
    StateOptions so;
    so.listen_port = silent.port();
    HostServices host(source_of(make_state(so)));
    Json requests = Json::array();
    for (int i = 0; i < 3; ++i) {
        requests.push_back({{"method", "GET"}, {"relative_url", "/r" + std::to_string(i)}});
    }
    const auto deadline = Clock::now() + milliseconds(300);
    const Json out = Json::parse(host.batch_request(Json{{"requests", requests}}.dump(), deadline));
    CHECK(Clock::now() < deadline + milliseconds(1000));
    REQUIRE(out.size() == 3);
    for (const auto& reply : out) {
        CHECK(reply["code"] == 0);
        CHECK(reply["error"] == "timeout");
    }
}

// ---- TykGetKeyData / TykSetKeyData --------------------------------------------------------------

namespace {

Json session_for(const std::string& api_id) {
    return {{"org_id", "org1"},
            {"access_rights", {{api_id, {{"api_id", api_id}, {"api_name", api_id}}}}},
            {"meta_data", {{"team", "blue"}}},
            {"quota_max", 10},
            {"quota_remaining", 10},
            {"quota_renewal_rate", 3600},
            {"rate", 100},
            {"per", 1},
            {"basic_auth_data", {{"password", "secret-hash"}, {"hash_type", ""}}}};
}

} // namespace

TEST_CASE("TykSetKeyData then TykGetKeyData round trip", "[jsvm][redis]") {
    RedisServer redis;
    const bool hash_keys = GENERATE(false, true);
    CAPTURE(hash_keys);
    StateOptions so;
    so.redis_port = redis.port();
    so.hash_keys = hash_keys;
    so.session_lifetime = 300;
    HostServices host(source_of(make_state(so)));
    const std::string key = "plugin-key-1";
    const std::string id = hash_keys ? keys::hash_key(key) : key;

    // A counter left from before: a reset deletes it.
    redis.command({"SET", "quota-" + id, "4"});
    CHECK(host.set_key_data(key, session_for("api1").dump(), "0", in(milliseconds(5000))) == "");
    CHECK(redis.command({"EXISTS", "apikey-" + id}) == "1");
    CHECK(redis.command({"EXISTS", "apikey-" + (hash_keys ? key : keys::hash_key(key))}) == "0");
    CHECK(redis.command({"EXISTS", "quota-" + id}) == "0");
    const auto ttl = std::stoll(redis.command({"TTL", "apikey-" + id}));
    CHECK(ttl > 290);
    CHECK(ttl <= 300);
    const Json stored = Json::parse(redis.command({"GET", "apikey-" + id}));
    CHECK(stored["meta_data"]["team"] == "blue");
    CHECK(stored["last_updated"].is_string());
    CHECK(stored["quota_renews"].get<std::int64_t>() > 0);
    CHECK(stored["basic_auth_data"]["password"] == "secret-hash");

    Json got = Json::parse(host.get_key_data(key, "api1", in(milliseconds(5000))));
    CHECK(got["meta_data"]["team"] == "blue");
    CHECK(got["org_id"] == "org1");
    CHECK(got["access_rights"].contains("api1"));
    CHECK(got["quota_remaining"] == 10);
    CHECK(got["basic_auth_data"]["password"] == ""); // as GET /tyk/keys/{key}

    // quota_remaining comes from the live counter.
    redis.command({"SET", "quota-" + id, "3"});
    got = Json::parse(host.get_key_data(key, "api1", in(milliseconds(5000))));
    CHECK(got["quota_remaining"] == 7);

    // suppress_reset "1" keeps the counter (and last_updated); anything else resets.
    Json changed = session_for("api1");
    changed["meta_data"]["team"] = "red";
    CHECK(host.set_key_data(key, changed.dump(), "1", in(milliseconds(5000))) == "");
    CHECK(redis.command({"GET", "quota-" + id}) == "3");
    got = Json::parse(host.get_key_data(key, "api1", in(milliseconds(5000))));
    CHECK(got["meta_data"]["team"] == "red");
    CHECK_FALSE(got.contains("last_updated"));
    CHECK(host.set_key_data(key, changed.dump(), "true", in(milliseconds(5000))) == "");
    CHECK(redis.command({"EXISTS", "quota-" + id}) == "0");
}

TEST_CASE("TykGetKeyData: lookup rules, missing keys", "[jsvm][redis]") {
    RedisServer redis;
    StateOptions so;
    so.redis_port = redis.port();
    HostServices host(source_of(make_state(so)));
    const Json not_found = {{"status", "error"}, {"message", "Key not found"}};

    CHECK(Json::parse(host.get_key_data("no-such-key", "api1", in(milliseconds(5000)))) ==
          not_found);
    CHECK(Json::parse(host.get_key_data("", "api1", in(milliseconds(5000)))) == not_found);
    // A stored value that is not a session object.
    redis.command({"SET", "apikey-garbage-key", "not json"});
    CHECK(Json::parse(host.get_key_data("garbage-key", "api1", in(milliseconds(5000)))) ==
          not_found);

    // A custom key created as /tyk/keys/custom1 is stored as generateToken(org, id); a plugin
    // may ask for it by the bare id, as clients authenticate with it.
    const std::string token = keys::generate_token("org1", "custom1", "");
    CHECK(host.set_key_data(token, session_for("api1").dump(), "", in(milliseconds(5000))) == "");
    const Json by_id = Json::parse(host.get_key_data("custom1", "api1", in(milliseconds(5000))));
    CHECK(by_id["meta_data"]["team"] == "blue");
    const Json by_token = Json::parse(host.get_key_data(token, "api1", in(milliseconds(5000))));
    CHECK(by_token["meta_data"]["team"] == "blue");
    // An unknown API has no org: only the key as given is looked up.
    CHECK(Json::parse(host.get_key_data("custom1", "unknown-api", in(milliseconds(5000)))) ==
          not_found);
}

TEST_CASE("TykSetKeyData: invalid sessions are not saved", "[jsvm][redis]") {
    RedisServer redis;
    StateOptions so;
    so.redis_port = redis.port();
    HostServices host(source_of(make_state(so)));
    const auto saved = [&](const std::string& key) {
        return redis.command({"EXISTS", "apikey-" + key}) == "1";
    };
    CHECK(host.set_key_data("k-not-json", "{oops", "", in(milliseconds(5000))) == "");
    CHECK_FALSE(saved("k-not-json"));
    CHECK(host.set_key_data("k-array", "[1,2]", "", in(milliseconds(5000))) == "");
    CHECK_FALSE(saved("k-array"));
    // An API that is not loaded (Tyk: "API must be active to add keys").
    CHECK(host.set_key_data("k-unknown", session_for("nope").dump(), "", in(milliseconds(5000))) ==
          "");
    CHECK_FALSE(saved("k-unknown"));
    // No access rights: a master key, refused unless allow_master_keys.
    CHECK(host.set_key_data("k-master", R"({"org_id":"org1"})", "", in(milliseconds(5000))) == "");
    CHECK_FALSE(saved("k-master"));
    so.allow_master_keys = true;
    HostServices masters(source_of(make_state(so)));
    CHECK(masters.set_key_data("k-master", R"({"org_id":"org1"})", "", in(milliseconds(5000))) ==
          "");
    CHECK(saved("k-master"));
    CHECK(redis.command({"TTL", "apikey-k-master"}) == "-1");
}

TEST_CASE("Key host calls: AUTH and SELECT from the storage settings", "[jsvm][redis]") {
    RedisServer redis({"--requirepass", "s3cret"});
    StateOptions so;
    so.redis_port = redis.port();
    so.redis_password = "s3cret";
    so.redis_database = 3;
    HostServices host(source_of(make_state(so)));
    CHECK(host.set_key_data("db-key", session_for("api2").dump(), "", in(milliseconds(5000))) ==
          "");
    CHECK(redis.command({"EXISTS", "apikey-db-key"}, 3) == "1");
    CHECK(redis.command({"EXISTS", "apikey-db-key"}, 0) == "0");
    CHECK(Json::parse(host.get_key_data("db-key", "api2", in(milliseconds(5000))))["org_id"] ==
          "org1");

    so.redis_password = "wrong";
    HostServices bad(source_of(make_state(so)));
    CHECK(Json::parse(bad.get_key_data("db-key", "api2", in(milliseconds(5000))))["message"] ==
          "Session store unavailable");
}

TEST_CASE("Key host calls: Redis down, hanging or late fail quickly", "[jsvm][redis]") {
    const Json unavailable = {{"status", "error"}, {"message", "Session store unavailable"}};

    SECTION("nothing listening") {
        StateOptions so;
        so.redis_port = test::free_port();
        HostServices host(source_of(make_state(so)));
        const auto start = Clock::now();
        CHECK(Json::parse(host.get_key_data("k1", "api1", in(milliseconds(5000)))) == unavailable);
        CHECK(host.set_key_data("k1", session_for("api1").dump(), "", in(milliseconds(5000))) ==
              "");
        CHECK(Clock::now() - start < milliseconds(1000));
    }
    SECTION("a socket that never answers: bounded by the deadline") {
        SilentServer silent;
        StateOptions so;
        so.redis_port = silent.port();
        HostServices host(source_of(make_state(so)));
        const auto deadline = Clock::now() + milliseconds(300);
        CHECK(Json::parse(host.get_key_data("k1", "api1", deadline)) == unavailable);
        CHECK(Clock::now() < deadline + milliseconds(1000));
    }
    SECTION("a socket that never answers: bounded by storage.timeout") {
        SilentServer silent;
        StateOptions so;
        so.redis_port = silent.port();
        so.storage_timeout = 1;
        HostServices host(source_of(make_state(so)));
        const auto start = Clock::now();
        CHECK(Json::parse(host.get_key_data("k1", "api1", in(milliseconds(10000)))) == unavailable);
        CHECK(Clock::now() - start < milliseconds(2000));
    }
    SECTION("a deadline already past") {
        RedisServer redis;
        StateOptions so;
        so.redis_port = redis.port();
        HostServices host(source_of(make_state(so)));
        const auto start = Clock::now();
        CHECK(Json::parse(host.get_key_data("k1", "api1", start - milliseconds(1))) == unavailable);
        CHECK(Clock::now() - start < milliseconds(100));
    }
    SECTION("Redis restarts: the connection is re-made") {
        RedisServer redis;
        StateOptions so;
        so.redis_port = redis.port();
        HostServices host(source_of(make_state(so)));
        CHECK(host.set_key_data("k-restart", session_for("api1").dump(), "",
                                in(milliseconds(5000))) == "");
        CHECK(Json::parse(host.get_key_data("k-restart", "api1", in(milliseconds(5000))))
                  .contains("meta_data"));
        redis.stop();
        CHECK(Json::parse(host.get_key_data("k-restart", "api1", in(milliseconds(5000)))) ==
              unavailable);
        redis.start();
        std::this_thread::sleep_for(milliseconds(300)); // past the reconnect backoff
        CHECK(Json::parse(host.get_key_data("k-restart", "api1", in(milliseconds(5000)))) ==
              Json({{"status", "error"}, {"message", "Key not found"}})); // no persistence
        CHECK(host.set_key_data("k-restart", session_for("api1").dump(), "",
                                in(milliseconds(5000))) == "");
        CHECK(Json::parse(host.get_key_data("k-restart", "api1", in(milliseconds(5000))))
                  .contains("meta_data"));
    }
}

TEST_CASE("HostServices reads the state at every call (reload)", "[jsvm][redis]") {
    RedisServer redis;
    StateOptions so;
    so.redis_port = redis.port();
    auto current = make_state(so);
    HostServices host([&current] { return current; });
    CHECK(host.set_key_data("reload-key", session_for("api1").dump(), "", in(milliseconds(5000))) ==
          "");
    CHECK(redis.command({"EXISTS", "apikey-reload-key"}) == "1");
    so.hash_keys = true;
    current = make_state(so);
    CHECK(host.set_key_data("reload-key", session_for("api1").dump(), "", in(milliseconds(5000))) ==
          "");
    CHECK(redis.command({"EXISTS", "apikey-" + keys::hash_key("reload-key")}) == "1");

    const jsvm::HostCalls calls = host.calls();
    REQUIRE(calls.get_key_data);
    REQUIRE(calls.set_key_data);
    REQUIRE(calls.make_http_request);
    REQUIRE(calls.batch_request);
    REQUIRE(calls.log);
    REQUIRE(calls.rawlog);
    CHECK(Json::parse(calls.get_key_data("reload-key", "api1", in(milliseconds(5000))))
              .contains("meta_data"));
}
