#pragma once

// A loopback upstream that misbehaves on purpose: it reads each request header, then hands the
// connection to a behaviour (answer with raw bytes, reset, stall...), one connection at a time.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace portcullis::test {

/// A loopback server that runs `behaviour` on each accepted connection (after reading the
/// request header, unless `read_head` is false), one connection at a time, until destroyed.
class FakeUpstream {
  public:
    explicit FakeUpstream(std::function<void(int)> behaviour, bool read_head = true);
    ~FakeUpstream();
    FakeUpstream(const FakeUpstream&) = delete;
    FakeUpstream& operator=(const FakeUpstream&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int accepted() const { return accepted_; }

    /// Closes `fd` with a reset (RST) instead of an orderly FIN.
    static void reset(int fd);
    /// Sends all of `bytes` (stops early if the peer is gone).
    static void send_all(int fd, const std::string& bytes);
    /// A behaviour: answers with `bytes`, then closes the connection in order.
    static std::function<void(int)> answer(std::string bytes);

  private:
    void run();

    std::function<void(int)> behaviour_;
    bool read_head_ = true;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

/// A blocking TCP socket connected to 127.0.0.1:port (the test fails when it cannot connect).
int connect_loopback(std::uint16_t port);

} // namespace portcullis::test
