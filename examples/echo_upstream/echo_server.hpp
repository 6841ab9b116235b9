#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace portcullis::examples {

/// A small HTTP/1.1 upstream for the quick start, docker-compose and the integration tests. Every
/// request is answered with a JSON description of what arrived: method, target, path, query,
/// headers (name -> list of values) and body (first MiB; `body_length` and `body_fnv1a` cover the
/// whole body, which is streamed, never held). Special paths, anywhere under any prefix:
///   .../__status/NNN        answer with status NNN
///   .../__slow?ms=N         wait N ms before answering
///   .../__bytes?n=N[&chunked=1]  a body of N bytes ('a'..'z' repeating), streamed
///   .../__close             close the connection without an answer
///   .../__garbage           answer with bytes that are not HTTP
///   .../__headers?h=Name:Value&h=...  add response headers
/// Runs its own io_context on a background thread; stops and joins on destruction.
class EchoServer {
  public:
    /// Certificate and key (PEM files) when the server speaks TLS.
    struct Tls {
        std::string cert_file;
        std::string key_file;
    };

    /// With `tls`, every connection starts with a TLS handshake (throws when the files cannot
    /// be used).
    explicit EchoServer(const std::string& address = "127.0.0.1",
                        std::uint16_t port = 0,
                        const Tls* tls = nullptr);
    ~EchoServer();
    EchoServer(const EchoServer&) = delete;
    EchoServer& operator=(const EchoServer&) = delete;

    std::uint16_t port() const;
    std::uint64_t connections_accepted() const;
    std::uint64_t requests_served() const;

    /// Blocks until the process receives SIGINT/SIGTERM (used by the echo-upstream binary).
    void wait_for_signal();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace portcullis::examples
