#include "gateway/cluster/cluster_subscriber.hpp"

#include "gateway/redis/blocking_redis.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

namespace portcullis::cluster {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kPoll = 250ms;        // how often the thread looks at stop_
constexpr auto kPingAfter = 5s;      // silence before a PING
constexpr auto kMaxBackoff = 1000ms; // between reconnection attempts

} // namespace

ClusterSubscriber::ClusterSubscriber(std::shared_ptr<const config::GatewayConfig> config,
                                     Handler handler)
    : config_(std::move(config)), handler_(std::move(handler)) {}

ClusterSubscriber::~ClusterSubscriber() {
    stop();
}

void ClusterSubscriber::start() {
    thread_ = std::thread([this] { run(); });
}

void ClusterSubscriber::stop() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
}

void ClusterSubscriber::run() {
    const auto& cfg = *config_;
    const auto timeout = std::chrono::seconds(cfg.storage.timeout > 0 ? cfg.storage.timeout : 5);
    const std::string channel{kChannel};
    redis::BlockingRedis redis;
    std::string error;
    bool subscribed_before = false;
    bool reported_down = false;
    auto backoff = std::chrono::milliseconds(100);
    while (!stop_) {
        if (!redis.subscribe(cfg.storage, channel, Clock::now() + timeout, error)) {
            if (!reported_down) {
                spdlog::warn("cluster notifications: cannot subscribe to {}: {} (retrying)",
                             channel, error);
                reported_down = true;
            }
            for (auto waited = 0ms; waited < backoff && !stop_; waited += 50ms) {
                std::this_thread::sleep_for(50ms);
            }
            backoff = std::min(backoff * 2, kMaxBackoff);
            continue;
        }
        spdlog::info("cluster notifications: listening on {}", channel);
        reported_down = false;
        backoff = 100ms;
        if (subscribed_before) {
            // Whatever was published while the connection was down is lost: catch up.
            handler_(Notification{std::string(kGroupReload), ""});
        }
        subscribed_before = true;
        auto pinged = Clock::time_point{};
        while (!stop_) {
            const auto message = redis.next_message(
                std::chrono::duration_cast<std::chrono::milliseconds>(kPoll), error);
            if (!error.empty()) {
                spdlog::warn("cluster notifications: {} (reconnecting)", error);
                break;
            }
            const auto now = Clock::now();
            if (!message) {
                const auto silent = now - redis.last_reply();
                if (silent > kPingAfter + timeout) {
                    spdlog::warn("cluster notifications: Redis stopped answering (reconnecting)");
                    break;
                }
                if (silent > kPingAfter && now - pinged > kPingAfter) {
                    pinged = now;
                    if (!redis.ping(error)) {
                        spdlog::warn("cluster notifications: {} (reconnecting)", error);
                        break;
                    }
                }
                continue;
            }
            std::string refused;
            auto notification =
                decode(*message, cfg.node_secret, cfg.allow_insecure_configs, refused);
            if (!notification) {
                spdlog::warn("cluster notification refused: {}", refused);
                continue;
            }
            handler_(*notification);
        }
    }
}

} // namespace portcullis::cluster
