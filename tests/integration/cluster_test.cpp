// Several gateway nodes on one Redis: cluster notifications over Redis pub/sub (Tyk's
// tyk.cluster.notifications channel) carry group reloads and key changes to every node.
#include "middleware/cluster/notification.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace portcullis::test;
using portcullis::examples::EchoServer;
using Json = nlohmann::json;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

constexpr const char* kNodeSecret = "cluster-node-secret";

/// Three gateway processes sharing one Redis and one apps/ directory.
struct Cluster {
    EchoServer echo;
    GatewayFixture fx;
    std::vector<std::unique_ptr<GatewayProcess>> others;
    std::vector<std::uint16_t> ports;

    Cluster() {
        fx.conf["node_secret"] = kNodeSecret;
        Json api = keyed_api("keyed", "/keyed/", echo);
        api["version_data"]["versions"]["Default"]["global_headers"] =
            Json{{"X-User", "$tyk_meta.user"}};
        fx.add_api(api);
        fx.start();
        ports.push_back(fx.port());
        for (int node = 2; node <= 3; ++node) {
            Json conf = fx.conf;
            conf["listen_port"] = 0;
            const auto path = fx.dir.write("tyk" + std::to_string(node) + ".conf", conf.dump(2));
            others.push_back(std::make_unique<GatewayProcess>(
                path, fx.dir.path() / ("gateway" + std::to_string(node) + ".log")));
            ports.push_back(others.back()->port());
        }
        // Every node listens on the channel before anything is published.
        const bool listening = subscribers_within(3, 5s);
        INFO("PUBSUB NUMSUB: " << last_numsub << "\nnode 1 log:\n" << fx.gateway().log());
        REQUIRE(listening);
    }

    std::string redis(const std::vector<std::string>& args) const {
        return fx.redis->command(args);
    }

    mutable std::string last_numsub; // PUBSUB NUMSUB as last read, for failure messages

    bool subscribers_within(int count, std::chrono::milliseconds limit) const {
        const auto until = std::chrono::steady_clock::now() + limit;
        const std::string expected =
            std::string(portcullis::cluster::kChannel) + "\n" + std::to_string(count);
        while (std::chrono::steady_clock::now() < until) {
            last_numsub = redis({"PUBSUB", "NUMSUB", std::string(portcullis::cluster::kChannel)});
            while (!last_numsub.empty() && last_numsub.back() == '\n') {
                last_numsub.pop_back();
            }
            if (last_numsub == expected) {
                return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    std::string log_of(std::size_t node) {
        return node == 0 ? fx.gateway().log() : others[node - 1]->log();
    }
};

/// Polls `port` with GET `target` until it answers `status` or `limit` passes; the time it
/// took, or -1 ms when it never did.
std::chrono::milliseconds time_until_status(std::uint16_t port,
                                            const std::string& target,
                                            int status,
                                            std::chrono::milliseconds limit,
                                            const Headers& headers = {}) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < limit) {
        if (http_request(port, "GET", target, headers).status == status) {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start);
        }
        std::this_thread::sleep_for(10ms);
    }
    return -1ms;
}

std::string upstream_user(const HttpResponse& res) {
    const Json echoed = Json::parse(res.body);
    const auto& headers = echoed.at("headers");
    return headers.contains("X-User") ? headers.at("X-User").at(0).get<std::string>() : "<absent>";
}

} // namespace

TEST_CASE("a group reload on one node reloads every node", "[integration][cluster]") {
    Cluster cluster;
    // A new API file in the shared apps directory: no node serves it before a reload.
    cluster.fx.add_api(GatewayFixture::keyless_api(
        "fresh", "/fresh/", "http://127.0.0.1:" + std::to_string(cluster.echo.port())));
    for (const auto port : cluster.ports) {
        REQUIRE(http_request(port, "GET", "/fresh/x").status == 404);
    }
    const auto reply = admin(cluster.ports[0], "GET", "/tyk/reload/group");
    REQUIRE(reply.status == 200);
    CHECK(Json::parse(reply.body) == Json{{"status", "ok"}, {"message", ""}});
    for (std::size_t node = 0; node < cluster.ports.size(); ++node) {
        INFO("node " << node + 1);
        const auto took = time_until_status(cluster.ports[node], "/fresh/x", 200, 3s);
        CHECK(took >= 0ms);
        CHECK(took < 2s);
        // The node that was asked reloaded before answering; its notification still reaches
        // every node, that one included.
        const auto logged_until = std::chrono::steady_clock::now() + 3s;
        while (cluster.log_of(node).find("cluster notification GroupReload: reloading") ==
                   std::string::npos &&
               std::chrono::steady_clock::now() < logged_until) {
            std::this_thread::sleep_for(20ms);
        }
        CHECK(cluster.log_of(node).find("cluster notification GroupReload: reloading") !=
              std::string::npos);
    }
    // A plain /tyk/reload stays local.
    cluster.fx.add_api(GatewayFixture::keyless_api(
        "local", "/local/", "http://127.0.0.1:" + std::to_string(cluster.echo.port())));
    REQUIRE(admin(cluster.ports[1], "GET", "/tyk/reload").status == 200);
    CHECK(http_request(cluster.ports[1], "GET", "/local/x").status == 200);
    std::this_thread::sleep_for(300ms);
    CHECK(http_request(cluster.ports[0], "GET", "/local/x").status == 404);
    CHECK(http_request(cluster.ports[2], "GET", "/local/x").status == 404);
}

TEST_CASE("a key changed or deleted through one node is seen by the others at once",
          "[integration][cluster]") {
    Cluster cluster;
    const std::string key =
        create_key(cluster.ports[0], session_for({"keyed"}, {{"meta_data", {{"user", "alice"}}}}));
    const Headers auth{{"Authorization", key}};
    for (const auto port : cluster.ports) {
        const auto res = http_request(port, "GET", "/keyed/x", auth);
        REQUIRE(res.status == 200);
        CHECK(upstream_user(res) == "alice");
    }

    // Updated through node 2: the very next request on nodes 1 and 3 sees the new metadata.
    Json update = session_for({"keyed"}, {{"meta_data", {{"user", "bob"}}}});
    REQUIRE(admin(cluster.ports[1], "PUT", "/tyk/keys/" + key, update.dump()).status == 200);
    for (const auto port : cluster.ports) {
        const auto res = http_request(port, "GET", "/keyed/x", auth);
        REQUIRE(res.status == 200);
        CHECK(upstream_user(res) == "bob");
    }
    // Deleted through node 3: refused everywhere on the next request.
    REQUIRE(admin(cluster.ports[2], "DELETE", "/tyk/keys/" + key).status == 200);
    for (const auto port : cluster.ports) {
        CHECK(http_request(port, "GET", "/keyed/x", auth).status == 403);
    }
    // Each change went out as a signed KeySpaceUpdateNotification that every node accepted.
    for (std::size_t node = 0; node < cluster.ports.size(); ++node) {
        INFO("node " << node + 1);
        CHECK(cluster.log_of(node).find("cluster notification refused") == std::string::npos);
    }
}

TEST_CASE("cluster notifications must be signed with node_secret", "[integration][cluster]") {
    Cluster cluster;
    const std::string channel{portcullis::cluster::kChannel};
    cluster.fx.add_api(GatewayFixture::keyless_api(
        "late", "/late/", "http://127.0.0.1:" + std::to_string(cluster.echo.port())));
    // Signed with another secret, unsigned, and not JSON: every node refuses, none reloads.
    const std::vector<std::string> forged = {
        portcullis::cluster::encode({"GroupReload", ""}, "not-the-secret"),
        R"({"command": "GroupReload", "payload": ""})",
        "reload please",
    };
    for (const auto& message : forged) {
        CHECK(cluster.redis({"PUBLISH", channel, message}) == "3");
    }
    std::this_thread::sleep_for(500ms);
    for (std::size_t node = 0; node < cluster.ports.size(); ++node) {
        INFO("node " << node + 1);
        CHECK(http_request(cluster.ports[node], "GET", "/late/x").status == 404);
        const std::string log = cluster.log_of(node);
        CHECK(log.find("cluster notification refused: signature does not match node_secret") !=
              std::string::npos);
        CHECK(log.find("cluster notification refused: not signed with SHA-256") !=
              std::string::npos);
        CHECK(log.find("cluster notification refused: not a JSON object") != std::string::npos);
    }
    // Tyk's own ApiUpdated, signed as a Tyk node would: every node reloads.
    CHECK(cluster.redis({"PUBLISH", channel,
                         portcullis::cluster::encode({"ApiUpdated", "late"}, kNodeSecret)}) == "3");
    for (const auto port : cluster.ports) {
        CHECK(time_until_status(port, "/late/x", 200, 3s) >= 0ms);
    }
}

TEST_CASE("nodes resubscribe after Redis restarts and catch up with a reload",
          "[integration][cluster]") {
    Cluster cluster;
    cluster.fx.redis->stop();
    cluster.fx.add_api(GatewayFixture::keyless_api(
        "after", "/after/", "http://127.0.0.1:" + std::to_string(cluster.echo.port())));
    std::this_thread::sleep_for(300ms);
    cluster.fx.redis->start();
    REQUIRE(cluster.subscribers_within(3, 5s));
    // Whatever was published while Redis was away is lost; each node reloads on resubscribing.
    for (const auto port : cluster.ports) {
        CHECK(time_until_status(port, "/after/x", 200, 3s) >= 0ms);
    }
}
