#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace portcullis::metrics {

/// A latency histogram with fixed buckets (seconds), Prometheus style.
struct Histogram {
    static constexpr std::array<double, 14> kBounds = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    std::array<std::uint64_t, kBounds.size()> buckets{}; // counts per bucket, not cumulative
    std::uint64_t count = 0;
    double sum = 0;

    void observe(double seconds);
    void merge(const Histogram& other);
};

/// What happened to one API's requests.
struct ApiStats {
    std::map<unsigned, std::uint64_t> by_status;
    Histogram latency;                                    // whole request, as the client saw it
    Histogram upstream_latency;                           // proxied requests: the upstream's part
    std::map<std::string, std::uint64_t> upstream_errors; // by kind (connect, timeout, ...)
    std::uint64_t rate_limited = 0;   // 429 from a key's or the API's rate limit
    std::uint64_t quota_exceeded = 0; // 403 Quota exceeded

    void merge(const ApiStats& other);
};

/// The counters of one worker (or, merged, of the process). Written by one thread only; read
/// as a copy taken on that thread.
struct Snapshot {
    std::map<std::string, ApiStats, std::less<>>
        apis; // by api_id; "" = no API (unrouted, Gateway API)
    Histogram redis_latency;
    std::uint64_t redis_commands = 0;
    std::uint64_t redis_errors = 0;
    std::uint64_t sessions_saved = 0;
    std::uint64_t session_save_failures = 0;
    std::uint64_t open_connections = 0; // a gauge

    /// One finished request: `reason` is the access log's error field (may be null).
    void record_request(std::string_view api_id,
                        unsigned status,
                        double total_seconds,
                        double upstream_seconds,
                        const char* reason);
    void merge(const Snapshot& other);
};

/// Process-wide figures that are not per worker.
struct ProcessFigures {
    std::uint64_t reloads = 0;
    std::uint64_t cluster_notifications = 0;
    unsigned workers = 0;
};

/// The Prometheus text exposition (format 0.0.4) of `merged` and `process`.
std::string render(const Snapshot& merged, const ProcessFigures& process);

} // namespace portcullis::metrics
