#pragma once

// The gateway running inside the fuzzing process: one worker with the real listener, pipeline,
// Gateway API and Redis client, the example echo server as its upstream and a redis-server
// child (started here unless PORTCULLIS_FUZZ_REDIS_PORT names one already running). APIs come
// from fuzz/gateway/apps, policies from fuzz/gateway/policies. Started once per process, on first
// use; lives until exit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portcullis::fuzz {

inline constexpr const char* kSecret = "fuzz-secret";
/// A key the harness creates at start (access to the keyed APIs, meta_data with user and tier).
inline constexpr const char* kKey = "fuzzkey0001";

class InProcessGateway {
  public:
    static InProcessGateway& instance();

    std::uint16_t port() const noexcept { return port_; }
    const std::string& app_path() const noexcept { return app_path_; }
    const std::string& policy_path() const noexcept { return policy_path_; }

    /// Sends `request` on a new connection, half-closes it and returns what came back (at most
    /// `cap` bytes, or what came within 15 seconds; the connection is then dropped). Aborts, so
    /// the fuzzer keeps the input, when the gateway sends nothing and does not close for 10
    /// seconds.
    std::string exchange(std::string_view request, std::size_t cap = 1 << 20) const;

    /// One Gateway API call with the secret; returns the status code (0: no answer).
    int admin(std::string_view method, std::string_view target, std::string_view body) const;

  private:
    InProcessGateway();
    std::uint16_t port_ = 0;
    std::string app_path_;
    std::string policy_path_;
};

} // namespace portcullis::fuzz
