#include "middleware/metrics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace portcullis::metrics {

void Histogram::observe(double seconds) {
    const auto it = std::lower_bound(kBounds.begin(), kBounds.end(), seconds);
    if (it != kBounds.end()) {
        ++buckets[static_cast<std::size_t>(it - kBounds.begin())];
    }
    ++count; // values past the last bound only count in +Inf
    sum += seconds;
}

void Histogram::merge(const Histogram& other) {
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        buckets[i] += other.buckets[i];
    }
    count += other.count;
    sum += other.sum;
}

void ApiStats::merge(const ApiStats& other) {
    for (const auto& [status, n] : other.by_status) {
        by_status[status] += n;
    }
    latency.merge(other.latency);
    upstream_latency.merge(other.upstream_latency);
    for (const auto& [kind, n] : other.upstream_errors) {
        upstream_errors[kind] += n;
    }
    rate_limited += other.rate_limited;
    quota_exceeded += other.quota_exceeded;
}

void Snapshot::record_request(std::string_view api_id,
                              unsigned status,
                              double total_seconds,
                              double upstream_seconds,
                              const char* reason) {
    auto it = apis.find(api_id);
    if (it == apis.end()) {
        it = apis.emplace(std::string(api_id), ApiStats{}).first;
    }
    ApiStats& api = it->second;
    ++api.by_status[status];
    api.latency.observe(total_seconds);
    if (upstream_seconds > 0) {
        api.upstream_latency.observe(upstream_seconds);
    }
    if (reason == nullptr) {
        return;
    }
    const std::string_view why = reason;
    if (why == "rate_limit" || why == "api_rate_limit") {
        ++api.rate_limited;
    } else if (why == "quota") {
        ++api.quota_exceeded;
    } else if (why.starts_with("upstream_")) {
        ++api.upstream_errors[std::string(why.substr(9))];
    }
}

void Snapshot::merge(const Snapshot& other) {
    for (const auto& [id, stats] : other.apis) {
        apis[id].merge(stats);
    }
    redis_latency.merge(other.redis_latency);
    redis_commands += other.redis_commands;
    redis_errors += other.redis_errors;
    sessions_saved += other.sessions_saved;
    session_save_failures += other.session_save_failures;
    open_connections += other.open_connections;
}

namespace {

/// A label value escaped as the exposition format wants (backslash, quote, newline).
std::string label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void histogram(std::string& out,
               std::string_view name,
               std::string_view labels, // `api_id="x",` or empty
               const Histogram& h) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        fmt::format_to(std::back_inserter(out), "{}_bucket{{{}le=\"{}\"}} {}\n", name, labels,
                       Histogram::kBounds[i], cumulative);
    }
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{}le=\"+Inf\"}} {}\n", name, labels,
                   h.count);
    const std::string_view bare = labels.empty() ? "" : labels.substr(0, labels.size() - 1);
    const auto braces = [&](std::string_view inner) {
        return inner.empty() ? std::string() : "{" + std::string(inner) + "}";
    };
    fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n{}_count{} {}\n", name, braces(bare),
                   h.sum, name, braces(bare), h.count);
}

/// A counter with one sample per API that counted something.
void per_api_count(std::string& out,
                   const Snapshot& m,
                   std::string_view name,
                   std::string_view help,
                   std::uint64_t ApiStats::*field) {
    header(out, name, "counter", help);
    for (const auto& [id, api] : m.apis) {
        if (api.*field > 0) {
            fmt::format_to(std::back_inserter(out), "{}{{api_id=\"{}\"}} {}\n", name, label(id),
                           api.*field);
        }
    }
}

/// A series with one unlabelled sample.
void single(std::string& out,
            std::string_view name,
            std::string_view type,
            std::string_view help,
            std::uint64_t value) {
    header(out, name, type, help);
    fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
}

} // namespace

std::string render(const Snapshot& m, const ProcessFigures& process) {
    std::string out;
    header(out, "portcullis_requests_total", "counter", "Requests answered, by API and status.");
    for (const auto& [id, api] : m.apis) {
        for (const auto& [status, n] : api.by_status) {
            fmt::format_to(std::back_inserter(out),
                           "portcullis_requests_total{{api_id=\"{}\",code=\"{}\"}} {}\n", label(id),
                           status, n);
        }
    }
    header(out, "portcullis_request_duration_seconds", "histogram",
           "Time from the request's first byte to the end of the answer, by API.");
    for (const auto& [id, api] : m.apis) {
        histogram(out, "portcullis_request_duration_seconds", "api_id=\"" + label(id) + "\",",
                  api.latency);
    }
    header(out, "portcullis_upstream_duration_seconds", "histogram",
           "Time the upstream took to answer a proxied request, by API.");
    for (const auto& [id, api] : m.apis) {
        if (api.upstream_latency.count > 0) {
            histogram(out, "portcullis_upstream_duration_seconds", "api_id=\"" + label(id) + "\",",
                      api.upstream_latency);
        }
    }
    header(
        out, "portcullis_upstream_errors_total", "counter",
        "Proxied requests the upstream failed (connect, timeout, response, body, write), by API.");
    for (const auto& [id, api] : m.apis) {
        for (const auto& [kind, n] : api.upstream_errors) {
            fmt::format_to(std::back_inserter(out),
                           "portcullis_upstream_errors_total{{api_id=\"{}\",kind=\"{}\"}} {}\n",
                           label(id), label(kind), n);
        }
    }
    per_api_count(out, m, "portcullis_rate_limited_total",
                  "Requests refused by a key's or an API's rate limit, by API.",
                  &ApiStats::rate_limited);
    per_api_count(out, m, "portcullis_quota_exceeded_total",
                  "Requests refused because the key's quota ran out, by API.",
                  &ApiStats::quota_exceeded);
    single(out, "portcullis_redis_commands_total", "counter", "Redis commands sent by workers.",
           m.redis_commands);
    single(out, "portcullis_redis_errors_total", "counter",
           "Redis commands that got no answer (down, timeout, dropped connection; not error "
           "replies).",
           m.redis_errors);
    header(out, "portcullis_redis_command_duration_seconds", "histogram",
           "Time Redis took to answer a worker's command.");
    histogram(out, "portcullis_redis_command_duration_seconds", "", m.redis_latency);
    single(out, "portcullis_sessions_saved_total", "counter",
           "Sessions written back after a step changed them (metadata, quota).", m.sessions_saved);
    single(out, "portcullis_session_save_failures_total", "counter",
           "Session write-backs that failed (Redis, concurrent changes, key deleted).",
           m.session_save_failures);
    single(out, "portcullis_open_connections", "gauge", "Client connections open now.",
           m.open_connections);
    single(out, "portcullis_reloads_total", "counter",
           "Reloads of API definitions and policies since start.", process.reloads);
    single(out, "portcullis_cluster_notifications_total", "counter",
           "Cluster notifications accepted from Redis pub/sub.", process.cluster_notifications);
    single(out, "portcullis_workers", "gauge", "Worker threads.", process.workers);
    return out;
}

} // namespace portcullis::metrics
