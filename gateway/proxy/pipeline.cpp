#include "gateway/proxy/pipeline.hpp"

#include "gateway/common/logging.hpp"
#include "gateway/proxy/forwarder.hpp"
#include "gateway/server/client_connection.hpp"
#include "gateway/server/worker.hpp"
#include "middleware/core/error_reply.hpp"
#include "middleware/proxy/upstream_target.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

namespace portcullis::proxy {

namespace {

using Clock = std::chrono::steady_clock;

/// Origin-form path of a request target; absolute-form ("http://host/p?q") is reduced to its
/// path and query. Empty when the target is neither (asterisk-form, garbage).
std::string_view origin_form(std::string_view target) {
    if (target.starts_with('/')) {
        return target;
    }
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() > scheme.size() &&
            boost::beast::iequals(target.substr(0, scheme.size()), scheme)) {
            const auto slash = target.find('/', scheme.size());
            const auto query = target.find('?', scheme.size());
            if (slash != std::string_view::npos &&
                (query == std::string_view::npos || slash < query)) {
                return target.substr(slash);
            }
            return {};
        }
    }
    return {};
}

/// Tyk's health check answer. Redis health joins when the session store does.
StringResponse health_reply(bool keep_alive) {
    nlohmann::json body = {
        {"status", "pass"},
        {"version", PORTCULLIS_VERSION},
        {"description", "Tyk GW"},
        {"details", nlohmann::json::object()},
    };
    return make_json_response(http::status::ok, body.dump(), keep_alive);
}

void log_access(const server::ClientConnection& conn,
                http::verb method,
                std::string_view path,
                unsigned status,
                std::string_view api_id,
                Clock::duration upstream,
                Clock::duration total,
                const char* error) {
    const auto level = logging::access_level();
    if (level == spdlog::level::off) {
        return;
    }
    using Ms = std::chrono::duration<double, std::milli>;
    logging::access().log(level, "{} {} {} api={} client={} upstream_ms={:.3f} total_ms={:.3f}{}{}",
                          http::to_string(method), path, status, api_id.empty() ? "-" : api_id,
                          conn.peer_ip, Ms(upstream).count(), Ms(total).count(),
                          error ? " error=" : "", error ? error : "");
}

} // namespace

awaitable<bool> handle_request(server::ClientConnection& conn,
                               http::request_parser<http::empty_body>& parser,
                               std::shared_ptr<const GatewayState> state) {
    const auto started = Clock::now();
    const auto& cfg = *state->config;
    auto& req = parser.get();
    const http::verb method = req.method();
    const bool body_read = parser.is_done(); // a reply before reading a body must close
    const bool keep_alive = req.keep_alive() && req.version() >= 11 && body_read;

    // route: gateway endpoints, then listen paths
    const std::string target{origin_form(req.target())};
    const auto [path, query] = split_target(target);
    if (target.empty()) {
        auto res = make_error_response(http::status::bad_request, "Bad Request", false,
                                       cfg.hide_generator_header);
        co_await server::write_reply(conn, res);
        log_access(conn, method, "-", 400, {}, {}, Clock::now() - started, "bad_target");
        co_return false;
    }
    if (path.size() == cfg.health_check_endpoint_name.size() + 1 &&
        path.substr(1) == cfg.health_check_endpoint_name) {
        auto res = health_reply(keep_alive);
        const bool keep = co_await server::write_reply(conn, res);
        log_access(conn, method, path, 200, {}, {}, Clock::now() - started, nullptr);
        co_return keep;
    }
    const auto match = state->router->match(path);
    if (!match) {
        auto res = make_error_response(http::status::not_found, "Not Found", keep_alive,
                                       cfg.hide_generator_header);
        const bool keep = co_await server::write_reply(conn, res);
        log_access(conn, method, path, 404, {}, {}, Clock::now() - started, "no_route");
        co_return keep;
    }
    const config::ApiDefinition& api = *match->api;

    // forward
    ForwardPlan plan;
    plan.target = &api.proxy.target;
    plan.request_target = upstream_request_target(api.proxy, match->prefix, path, query);
    plan.preserve_host_header = api.proxy.preserve_host_header;
    plan.max_request_body = cfg.http_server_options.max_request_body_size;
    const ForwardResult result = co_await forward(conn, parser, std::move(plan));

    // log
    log_access(conn, method, path, result.status, api.api_id, result.upstream_latency,
               Clock::now() - started, result.error);
    co_return result.keep_client;
}

} // namespace portcullis::proxy
