#include "middleware/metrics/metrics.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace metrics = portcullis::metrics;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

} // namespace

TEST_CASE("histograms count into fixed buckets, cumulative when rendered", "[unit][metrics]") {
    metrics::Histogram h;
    h.observe(0.0002); // first bucket
    h.observe(0.001);  // exactly on a bound: that bucket (le is inclusive)
    h.observe(0.3);
    h.observe(42); // past the last bound: +Inf only
    CHECK(h.count == 4);
    CHECK(h.sum == Approx(42.3012));
    CHECK(h.buckets[0] == 1);
    CHECK(h.buckets[1] == 1);

    metrics::Snapshot s;
    s.redis_latency = h;
    const std::string text = metrics::render(s, {});
    CHECK(has_line(text, R"(portcullis_redis_command_duration_seconds_bucket{le="0.0005"} 1)"));
    CHECK(has_line(text, R"(portcullis_redis_command_duration_seconds_bucket{le="0.001"} 2)"));
    CHECK(has_line(text, R"(portcullis_redis_command_duration_seconds_bucket{le="0.25"} 2)"));
    CHECK(has_line(text, R"(portcullis_redis_command_duration_seconds_bucket{le="0.5"} 3)"));
    CHECK(has_line(text, R"(portcullis_redis_command_duration_seconds_bucket{le="10"} 3)"));
    CHECK(has_line(text, R"(portcullis_redis_command_duration_seconds_bucket{le="+Inf"} 4)"));
    CHECK(has_line(text, "portcullis_redis_command_duration_seconds_count 4"));
}

TEST_CASE("requests are counted by API, status and outcome", "[unit][metrics]") {
    metrics::Snapshot worker1;
    worker1.record_request("orders", 200, 0.002, 0.001, nullptr);
    worker1.record_request("orders", 200, 0.003, 0.002, nullptr);
    worker1.record_request("orders", 429, 0.0004, 0, "rate_limit");
    worker1.record_request("orders", 403, 0.0004, 0, "quota");
    metrics::Snapshot worker2;
    worker2.record_request("orders", 502, 0.01, 0.009, "upstream_connect");
    worker2.record_request("orders", 504, 30, 30, "upstream_timeout");
    worker2.record_request("o\"dd\\id", 429, 0.001, 0, "api_rate_limit");
    worker2.open_connections = 3;
    worker1.open_connections = 2;
    worker2.sessions_saved = 5;

    metrics::Snapshot all;
    all.merge(worker1);
    all.merge(worker2);
    const std::string text = metrics::render(all, {7, 2, 4});
    CHECK(has_line(text, R"(portcullis_requests_total{api_id="orders",code="200"} 2)"));
    CHECK(has_line(text, R"(portcullis_requests_total{api_id="orders",code="429"} 1)"));
    CHECK(has_line(text, R"(portcullis_requests_total{api_id="orders",code="502"} 1)"));
    CHECK(has_line(text, R"(portcullis_rate_limited_total{api_id="orders"} 1)"));
    CHECK(has_line(text, R"(portcullis_rate_limited_total{api_id="o\"dd\\id"} 1)"));
    CHECK(has_line(text, R"(portcullis_quota_exceeded_total{api_id="orders"} 1)"));
    CHECK(has_line(text, R"(portcullis_upstream_errors_total{api_id="orders",kind="connect"} 1)"));
    CHECK(has_line(text, R"(portcullis_upstream_errors_total{api_id="orders",kind="timeout"} 1)"));
    CHECK(has_line(text, R"(portcullis_request_duration_seconds_count{api_id="orders"} 6)"));
    CHECK(has_line(text, R"(portcullis_upstream_duration_seconds_count{api_id="orders"} 4)"));
    CHECK(has_line(text, "portcullis_open_connections 5"));
    CHECK(has_line(text, "portcullis_sessions_saved_total 5"));
    CHECK(has_line(text, "portcullis_reloads_total 7"));
    CHECK(has_line(text, "portcullis_cluster_notifications_total 2"));
    CHECK(has_line(text, "portcullis_workers 4"));
    CHECK(has_line(text, "# TYPE portcullis_requests_total counter"));
    CHECK(has_line(text, "# TYPE portcullis_request_duration_seconds histogram"));
}
