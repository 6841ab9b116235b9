#pragma once

// A one-shot HTTPS client for tests: one request over TLS to 127.0.0.1, every step under one
// deadline, reporting what the server presented.

#include <chrono>
#include <cstdint>
#include <string>

namespace portcullis::test {

struct TlsOptions {
    std::string sni;     // server name sent (none when empty)
    std::string ca_file; // trusted CA (PEM); empty: the server's certificate is not verified
    int max_version = 0; // highest TLS version offered (e.g. TLS1_2_VERSION); 0: no limit
    std::chrono::milliseconds timeout{5000};
};

struct TlsResult {
    std::string error;       // empty when a response was read; else what failed ("handshake: ...")
    unsigned status = 0;     // HTTP status
    std::string body;        // response body
    std::string common_name; // common name of the certificate the server presented
};

/// Sends "GET target" (Host: the SNI name or "localhost", Connection: close) to 127.0.0.1:port.
TlsResult tls_get(std::uint16_t port, const std::string& target, const TlsOptions& options = {});

} // namespace portcullis::test
