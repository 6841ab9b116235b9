// Redis Sentinel through real processes on loopback: a master, its replica, a sentinel watching
// them, and the portcullis process configured with storage.master_name and the sentinel's
// address only. The gateway finds the master, follows a failover (asked for, or after the master
// died), keeps every key written before it, and writes new keys to the new master.
#include "examples/echo_upstream/echo_server.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/redis_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <thread>

using portcullis::examples::EchoServer;
using portcullis::test::create_key;
using portcullis::test::free_port;
using portcullis::test::GatewayFixture;
using portcullis::test::http_request;
using portcullis::test::keyed_api;
using portcullis::test::RedisServer;
using portcullis::test::session_for;
using Clock = std::chrono::steady_clock;

namespace {

/// Polls `done` every 50 ms for at most `limit`; true as soon as it holds.
bool eventually(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto until = Clock::now() + limit;
    while (Clock::now() < until) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

unsigned keyed_status(std::uint16_t port, const std::string& key) {
    return http_request(port, "GET", "/keyed/x", {{"Authorization", key}}).status;
}

} // namespace

TEST_CASE("Redis Sentinel: the gateway finds the master and follows a failover",
          "[integration][sentinel]") {
    RedisServer master;
    RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
    REQUIRE(eventually(
        [&] {
            return replica.command({"INFO", "replication"}).find("master_link_status:up") !=
                   std::string::npos;
        },
        std::chrono::seconds(10)));
    RedisServer sentinel{RedisServer::SentinelOf{"pcmaster", master.port()}};
    // the sentinel learns of the replica from the master (it can only promote one it knows)
    REQUIRE(eventually(
        [&] {
            return sentinel.command({"SENTINEL", "replicas", "pcmaster"})
                       .find(std::to_string(replica.port())) != std::string::npos;
        },
        std::chrono::seconds(15)));

    EchoServer echo;
    GatewayFixture fx;
    fx.conf["storage"]["master_name"] = "pcmaster";
    fx.conf["storage"]["addrs"] = {"127.0.0.1:" + std::to_string(sentinel.port())};
    fx.conf["storage"]["port"] = free_port(); // not used: the sentinel names the master
    fx.conf["portcullis"]["workers"] = 1;     // one Redis connection to follow
    fx.add_api(keyed_api("keyed", "/keyed/", echo));
    fx.start();

    const std::string before = create_key(fx.port(), session_for({"keyed"}));
    CHECK(keyed_status(fx.port(), before) == 200);
    // acknowledged by the replica before the failover starts
    REQUIRE(master.command({"WAIT", "1", "5000"}) == "1");

    const auto failover_started = Clock::now();
    SECTION("a failover asked of the sentinel: the old master stays up as a replica") {
        REQUIRE(sentinel.command({"SENTINEL", "FAILOVER", "pcmaster"}) == "OK");
    }
    SECTION("the master dies") {
        master.stop();
    }
    REQUIRE(eventually(
        [&] {
            return sentinel.command({"SENTINEL", "get-master-addr-by-name", "pcmaster"})
                       .find(std::to_string(replica.port())) != std::string::npos;
        },
        std::chrono::seconds(20)));
    // the gateway follows the sentinel's announcement to the new master...
    const std::string followed =
        "connected to master \"pcmaster\" at 127.0.0.1:" + std::to_string(replica.port());
    CHECK(eventually([&] { return fx.gateway().log().find(followed) != std::string::npos; },
                     std::chrono::seconds(10)));
    // ...and keyed traffic goes on there, within a few seconds of the failover's start
    CHECK(eventually([&] { return keyed_status(fx.port(), before) == 200; },
                     std::chrono::seconds(10)));
    const auto resumed = Clock::now() - failover_started;
    CHECK(resumed < std::chrono::seconds(15));

    // writes go to the new master, and nothing written before is lost
    const std::string after = create_key(fx.port(), session_for({"keyed"}));
    CHECK(keyed_status(fx.port(), after) == 200);
    CHECK(keyed_status(fx.port(), before) == 200);
    CHECK(replica.command({"ROLE"}).starts_with("master"));
    CHECK(std::stoi(replica.command({"DBSIZE"})) >= 2);
}

TEST_CASE("Redis Sentinel: unreachable sentinels are a clean 503 with the reason logged",
          "[integration][sentinel]") {
    RedisServer master;
    EchoServer echo;
    GatewayFixture fx;
    const std::uint16_t sentinel_port = free_port();
    fx.conf["storage"]["master_name"] = "pcmaster";
    fx.conf["storage"]["addrs"] = {"127.0.0.1:" + std::to_string(sentinel_port)};
    fx.add_api(keyed_api("keyed", "/keyed/", echo));
    fx.start();
    CHECK(http_request(fx.port(), "GET", "/keyed/x", {{"Authorization", "anything"}}).status ==
          503);
    CHECK_THAT(fx.gateway().log(),
               Catch::Contains("sentinel 127.0.0.1:" + std::to_string(sentinel_port)));
}
