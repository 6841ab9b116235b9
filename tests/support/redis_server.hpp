#pragma once

#include "tests/support/gateway_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portcullis::test {

/// A real `redis-server` on a free loopback port, for [redis] and [integration] tests. Fails
/// loudly (throws) when redis-server is not installed or does not come up. Killed on destruction.
class RedisServer {
  public:
    /// What a sentinel watches.
    struct SentinelOf {
        std::string master_name;
        std::uint16_t master_port = 0;
    };

    /// `extra_args` are passed to redis-server (e.g. {"--requirepass", "pw"}).
    explicit RedisServer(std::vector<std::string> extra_args = {});
    /// A sentinel (`redis-server --sentinel`) watching the master on 127.0.0.1:master_port:
    /// quorum 1, the master deemed down after 1 s, failover timeout 10 s.
    explicit RedisServer(SentinelOf sentinel);
    ~RedisServer();

    std::uint16_t port() const noexcept { return port_; }
    void stop();
    /// Starts again on the same port (after stop()).
    void start();
    bool running() const { return process_ != nullptr; }
    /// The redis-server process exists and has not exited.
    bool process_running() const;

    /// Runs a command on a short-lived blocking connection and returns the reply as text:
    /// strings and statuses as is, integers in decimal, nil as "(nil)", arrays as lines.
    std::string command(const std::vector<std::string>& args, int db = 0) const;

  private:
    /// Starts on a free port (another when the picked one was taken meanwhile).
    void launch();

    std::vector<std::string> extra_args_;
    std::optional<SentinelOf> sentinel_;
    std::string password_;
    std::uint16_t port_ = 0;
    TempDir dir_;
    std::unique_ptr<ChildProcess> process_;
};

/// A loopback TCP port nothing listens on right now.
std::uint16_t free_port();

} // namespace portcullis::test
