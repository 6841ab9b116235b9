// Prometheus metrics on their own address and the JSON access log, through the real binary.
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

using namespace portcullis::test;
using portcullis::examples::EchoServer;
using Json = nlohmann::json;

namespace {

/// The metrics port the gateway logged ("metrics on http://... (port N)"). The line comes after
/// the one the fixture waits for, so it is waited for too (at most 5 s).
std::uint16_t metrics_port(const GatewayProcess& gateway) {
    const std::regex pattern(R"(metrics on http://\S+ \(port (\d+)\))");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::smatch m;
    std::string log = gateway.log();
    while (!std::regex_search(log, m, pattern) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        log = gateway.log();
    }
    REQUIRE(std::regex_search(log, m, pattern));
    return static_cast<std::uint16_t>(std::stoi(m[1].str()));
}

/// The value of the sample line `series` ("name{labels}") in a scrape; -1 when absent.
double sample(const std::string& scrape, const std::string& series) {
    std::istringstream lines(scrape);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
            line[series.size()] == ' ') {
            return std::stod(line.substr(series.size() + 1));
        }
    }
    return -1;
}

} // namespace

TEST_CASE("GET /metrics on its own address counts requests by API and outcome",
          "[integration][metrics]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.conf["portcullis"]["metrics_address"] = "127.0.0.1:0";
    fx.conf["portcullis"]["test_hooks"] = true; // a metadata change through the save-back path
    const std::string target = "http://127.0.0.1:" + std::to_string(echo.port());
    fx.add_api(GatewayFixture::keyless_api("open", "/open/", target));
    fx.add_api(GatewayFixture::keyless_api("dead", "/dead/",
                                           "http://127.0.0.1:" + std::to_string(free_port())));
    fx.add_api(keyed_api("keyed", "/keyed/", echo));
    fx.start();
    const auto port = fx.port();
    const auto mport = metrics_port(fx.gateway());
    REQUIRE(mport != port);

    for (int i = 0; i < 3; ++i) {
        REQUIRE(http_request(port, "GET", "/open/x").status == 200);
    }
    REQUIRE(http_request(port, "GET", "/dead/x").status == 502);
    const std::string limited =
        create_key(port, session_for({"keyed"}, {{"rate", 1}, {"per", 60}}));
    REQUIRE(http_request(port, "GET", "/keyed/x", {{"Authorization", limited}}).status == 200);
    REQUIRE(http_request(port, "GET", "/keyed/x", {{"Authorization", limited}}).status == 429);
    const std::string quota =
        create_key(port, session_for({"keyed"}, {{"quota_max", 1}, {"quota_renewal_rate", 3600}}));
    REQUIRE(http_request(port, "GET", "/keyed/x", {{"Authorization", quota}}).status == 200);
    REQUIRE(http_request(port, "GET", "/keyed/x", {{"Authorization", quota}}).status == 403);
    REQUIRE(http_request(port, "GET", "/keyed/x",
                         {{"Authorization", quota}, {"X-Portcullis-Test-Meta", "seen=yes"}})
                .status == 403);
    REQUIRE(get_key(port, quota)["meta_data"]["seen"] == "yes");
    REQUIRE(admin(port, "GET", "/tyk/reload").status == 200);
    HttpClient held{port}; // one connection kept open while scraping
    REQUIRE(held.request("GET", "/open/y").status == 200);

    const auto scrape = http_request(mport, "GET", "/metrics");
    REQUIRE(scrape.status == 200);
    CHECK(scrape.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = scrape.body;
    INFO(text);
    CHECK(sample(text, R"(portcullis_requests_total{api_id="open",code="200"})") == 4);
    CHECK(sample(text, R"(portcullis_requests_total{api_id="dead",code="502"})") == 1);
    CHECK(sample(text, R"(portcullis_upstream_errors_total{api_id="dead",kind="connect"})") == 1);
    CHECK(sample(text, R"(portcullis_requests_total{api_id="keyed",code="429"})") == 1);
    CHECK(sample(text, R"(portcullis_requests_total{api_id="keyed",code="403"})") == 2);
    CHECK(sample(text, R"(portcullis_rate_limited_total{api_id="keyed"})") == 1);
    CHECK(sample(text, R"(portcullis_quota_exceeded_total{api_id="keyed"})") == 2);
    CHECK(sample(text, R"(portcullis_request_duration_seconds_count{api_id="open"})") == 4);
    CHECK(sample(text, R"(portcullis_request_duration_seconds_bucket{api_id="open",le="+Inf"})") ==
          4);
    CHECK(sample(text, R"(portcullis_upstream_duration_seconds_count{api_id="open"})") == 4);
    CHECK(sample(text, "portcullis_redis_commands_total") >= 4);
    CHECK(sample(text, "portcullis_redis_errors_total") == 0);
    CHECK(sample(text, "portcullis_redis_command_duration_seconds_count") >= 4);
    CHECK(sample(text, "portcullis_sessions_saved_total") >= 1); // the metadata change
    CHECK(sample(text, "portcullis_open_connections") >= 1);
    CHECK(sample(text, "portcullis_reloads_total") == 1);
    CHECK(sample(text, "portcullis_workers") == 2);

    // Redis down: its failures are counted.
    fx.redis->stop();
    REQUIRE(http_request(port, "GET", "/keyed/x", {{"Authorization", limited}}).status == 503);
    const auto after = http_request(mport, "GET", "/metrics");
    CHECK(sample(after.body, "portcullis_redis_errors_total") >= 1);

    // Only /metrics, only GET/HEAD; the public listener does not serve it.
    CHECK(http_request(mport, "GET", "/other").status == 404);
    CHECK(http_request(mport, "POST", "/metrics").status == 405);
    const auto head = http_request(mport, "HEAD", "/metrics");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(http_request(port, "GET", "/metrics").status == 404);
}

TEST_CASE("metrics_address that cannot be used stops the gateway with a clear error",
          "[integration][metrics]") {
    GatewayFixture fx;
    fx.conf["portcullis"]["metrics_address"] = "localhost-9091";
    const auto conf = fx.write_conf();
    const RunResult run = run_portcullis({"--conf", conf.string()});
    CHECK(run.exit_code == 1);
    CHECK(run.output.find("cannot serve metrics on localhost-9091") != std::string::npos);
}

TEST_CASE("access_log_format json writes one JSON object per request",
          "[integration][access_log]") {
    EchoServer echo;
    GatewayFixture fx;
    fx.conf["portcullis"]["access_log_format"] = "json";
    fx.conf["portcullis"]["access_log"] = "info";
    fx.add_api(GatewayFixture::keyless_api("open", "/open/",
                                           "http://127.0.0.1:" + std::to_string(echo.port())));
    fx.start();
    const auto port = fx.port();
    REQUIRE(http_request(port, "GET", "/open/a%22b?q=1").status == 200);
    REQUIRE(http_request(port, "GET", "/nowhere").status == 404);
    REQUIRE(admin(port, "GET", "/tyk/keys/secretkey1234").status == 404);

    // A request's access line is written after its answer: wait for the third (bounded).
    std::vector<Json> lines;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
        lines.clear();
        std::istringstream log(fx.gateway().log());
        std::string line;
        while (std::getline(log, line)) {
            if (line.starts_with("{\"time\":")) {
                const auto parsed = Json::parse(line, nullptr, false);
                INFO(line);
                REQUIRE_FALSE(parsed.is_discarded());
                lines.push_back(parsed);
            }
        }
        if (lines.size() < 3) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } while (lines.size() < 3 && std::chrono::steady_clock::now() < until);
    REQUIRE(lines.size() >= 3);
    const Json& proxied = lines[0];
    CHECK(proxied["method"] == "GET");
    CHECK(proxied["path"] == "/open/a%22b");
    CHECK(proxied["status"] == 200);
    CHECK(proxied["api_id"] == "open");
    CHECK(proxied["client"] == "127.0.0.1");
    CHECK(proxied["total_ms"].is_number());
    CHECK(proxied["upstream_ms"].is_number());
    CHECK_FALSE(proxied.contains("error"));
    CHECK(lines[1]["status"] == 404);
    // Gateway API paths keep the key obfuscated
    CHECK(fx.gateway().log().find("secretkey1234") == std::string::npos);

    GatewayFixture bad;
    bad.conf["portcullis"]["access_log_format"] = "xml";
    const RunResult run = run_portcullis({"--conf", bad.write_conf().string()});
    CHECK(run.exit_code != 0);
    CHECK(run.output.find("access_log_format") != std::string::npos);
}
