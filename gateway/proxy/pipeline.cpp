#include "gateway/proxy/pipeline.hpp"

#include "gateway/api/gateway_api.hpp"
#include "gateway/common/clock.hpp"
#include "gateway/common/logging.hpp"
#include "gateway/jsvm/plugin_steps.hpp"
#include "gateway/limits/limiter.hpp"
#include "gateway/oauth/oauth_server.hpp"
#include "gateway/proxy/forwarder.hpp"
#include "gateway/server/client_connection.hpp"
#include "gateway/server/worker.hpp"
#include "middleware/auth/auth_token.hpp"
#include "middleware/core/error_reply.hpp"
#include "middleware/core/session_ttl.hpp"
#include "middleware/core/text.hpp"
#include "middleware/keys/token.hpp"
#include "middleware/policy/apply.hpp"
#include "middleware/proxy/request_checks.hpp"
#include "middleware/proxy/upstream_target.hpp"
#include "middleware/transform/api_transforms.hpp"
#include "middleware/transform/context_vars.hpp"
#include "middleware/transform/variables.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <unordered_map>

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

std::string utc_now_text() {
    const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/// Tyk's health check answer: Redis is the one component checked ("fail" answers 503).
StringResponse health_reply(bool redis_up, bool keep_alive) {
    const char* status = redis_up ? "pass" : "fail";
    nlohmann::json body = {
        {"status", status},
        {"version", PORTCULLIS_VERSION},
        {"description", "Tyk GW"},
        {"details",
         {{"redis",
           {{"status", status}, {"componentType", "datastore"}, {"time", utc_now_text()}}}}},
    };
    if (!redis_up) {
        body["details"]["redis"]["output"] = "Redis is not reachable";
    }
    return make_json_response(redis_up ? http::status::ok : http::status::service_unavailable,
                              body.dump(), keep_alive);
}

void log_access(const server::ClientConnection& conn,
                http::verb method,
                std::string_view path,
                unsigned status,
                std::string_view api_id,
                Clock::duration upstream,
                Clock::duration total,
                const char* error) {
    using Seconds = std::chrono::duration<double>;
    conn.worker.metrics().record_request(api_id, status, Seconds(total).count(),
                                         Seconds(upstream).count(), error);
    const auto level = logging::access_level();
    if (level == spdlog::level::off) {
        return;
    }
    using Ms = std::chrono::duration<double, std::milli>;
    if (logging::access_json()) {
        nlohmann::json line = {
            {"method", http::to_string(method)},
            {"path", path},
            {"status", status},
            {"api_id", api_id},
            {"client", conn.peer_ip},
            {"upstream_ms", std::round(Ms(upstream).count() * 1000) / 1000},
            {"total_ms", std::round(Ms(total).count() * 1000) / 1000},
        };
        if (error != nullptr) {
            line["error"] = error;
        }
        std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        // The logger's pattern opens the object with "time" and closes it.
        logging::access().log(level, "{}", std::string_view(text).substr(1, text.size() - 2));
        return;
    }
    logging::access().log(level, "{} {} {} api={} client={} upstream_ms={:.3f} total_ms={:.3f}{}{}",
                          http::to_string(method), path, status, api_id.empty() ? "-" : api_id,
                          conn.peer_ip, Ms(upstream).count(), Ms(total).count(),
                          error ? " error=" : "", error ? error : "");
}

/// A Gateway API path as logged: the key or token it names is obfuscated as Tyk's
/// ObfuscateKey does ("****" and the last 4 characters), so access logs hold no credentials.
std::string redact_api_path(std::string_view path) {
    for (std::string_view prefix : {"/tyk/keys/", "/tyk/oauth/refresh/"}) {
        if (!path.starts_with(prefix)) {
            continue;
        }
        const auto rest = path.substr(prefix.size());
        const auto end = rest.find('/');
        const auto key = rest.substr(0, end);
        if (key.empty() || key == "create") {
            break;
        }
        std::string out(prefix);
        out += "****";
        if (key.size() > 4) {
            out += key.substr(key.size() - 4);
        }
        if (end != std::string_view::npos) {
            out += rest.substr(end);
        }
        return out;
    }
    return std::string(path);
}

/// Who the access log line of a proxied request is about.
struct AccessLine {
    const server::ClientConnection& conn;
    http::verb method;
    std::string_view path;
    std::string_view api_id;
    Clock::time_point started;

    void write(unsigned status, Clock::duration upstream, const char* error) const {
        log_access(conn, method, path, status, api_id, upstream, Clock::now() - started, error);
    }
};

/// Answers with a gateway-made error (Tyk's JSON body) and logs it; returns whether the
/// connection may carry another request.
void set_rate_limit_headers(Fields& fields, const limits::RateLimitHeaders& values) {
    fields.set("X-RateLimit-Limit", std::to_string(values.limit));
    fields.set("X-RateLimit-Remaining", std::to_string(values.remaining));
    fields.set("X-RateLimit-Reset", std::to_string(values.reset));
}

/// The same fields as lines of a relayed head.
void append_rate_limit_lines(std::string& head, const limits::RateLimitHeaders& values) {
    head.reserve(head.size() + 128); // the three lines, and the framing after them
    char digits[24];
    const auto line = [&](std::string_view name, std::int64_t value) {
        head.append(name);
        head.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
        head.append("\r\n");
    };
    line("X-RateLimit-Limit: ", values.limit);
    line("X-RateLimit-Remaining: ", values.remaining);
    line("X-RateLimit-Reset: ", values.reset);
}

awaitable<bool> reply_error(server::ClientConnection& conn,
                            const AccessLine& line,
                            http::status status,
                            const std::string& message,
                            bool keep_alive,
                            const char* reason,
                            const limits::RateLimitHeaders* rate_headers = nullptr) {
    auto res = make_error_response(status, message, keep_alive,
                                   conn.worker.state()->config->hide_generator_header);
    if (rate_headers != nullptr) {
        set_rate_limit_headers(res.base(), *rate_headers);
    }
    const bool keep = co_await server::write_reply(conn, res);
    line.write(res.result_int(), {}, reason);
    co_return keep;
}

/// Reads the rest of the request body into `body` (at most `limit` bytes). Empty when done;
/// otherwise the client was answered (or is gone), the line logged, and the value says whether
/// the connection may carry another request.
awaitable<std::optional<bool>> buffer_body(server::ClientConnection& conn,
                                           const AccessLine& line,
                                           RequestParser& rp,
                                           std::size_t limit,
                                           std::string& body) {
    auto failed = co_await read_request_body(conn, rp, limit, body);
    if (!failed) {
        co_return std::nullopt;
    }
    line.write(failed->status, {}, failed->error);
    co_return failed->keep_client;
}

/// TTL of a session saved on the request path: the current API's lifetime (Tyk's
/// UpdateRequestSession).
struct SessionTtl {
    std::vector<ApiLifetime> lifetimes;
    std::shared_ptr<const GatewayState> state;
    std::int64_t operator()(const Session& s) const {
        return session_ttl_seconds(s, lifetimes, state->config->force_global_session_lifetime,
                                   state->config->global_session_lifetime, unix_now());
    }
};

/// The response steps that run after the upstream answered and before the client sees the
/// response (or after a failure, without headers): response header transforms, then saving the
/// session once if a step changed it — only the changed fields, by compare-and-set, so
/// concurrent changes by other requests or the Gateway API are kept.
class ResponseSteps final : public BeforeResponse {
  public:
    ResponseSteps(server::Worker& worker,
                  const config::ApiDefinition& api,
                  std::shared_ptr<const GatewayState> state,
                  session::StoredSession* stored)
        : worker_(worker), api_(&api), state_(std::move(state)), stored_(stored) {}

    /// The session saved back when a step changed it, and the API whose lifetime its TTL
    /// follows (a loop into a keyed API may bring another one).
    void set_session(session::StoredSession* stored, const config::ApiDefinition& api) {
        stored_ = stored;
        api_ = &api;
    }

    /// Where response header transforms apply: the request's API, method and path before any
    /// rewrite, as Tyk. The strings are copied (the pipeline's change as loops run).
    void set_transforms(const transform::ApiTransforms* transforms,
                        std::string_view method,
                        std::string_view path,
                        std::string_view listen_prefix,
                        const nlohmann::json* context) {
        transforms_ = transforms;
        method_.assign(method);
        path_.assign(path);
        listen_prefix_.assign(listen_prefix);
        context_ = context;
    }

    /// `X-RateLimit-*` on the response: the session's quota for `api_id` (`quotas`, Tyk's
    /// default), or the rate limit the request was counted against (`rate_limits`).
    /// `quota` is this request's quota outcome when it counted against one.
    void set_rate_headers(bool quotas,
                          std::string api_id,
                          std::optional<limits::RateLimitHeaders> rate,
                          std::optional<limits::RateLimitHeaders> quota) {
        quota_headers_ = quotas;
        rate_api_id_ = std::move(api_id);
        rate_headers_ = rate;
        quota_outcome_ = quota;
    }

    bool edits_headers() const override {
        // Mirrors the header work in apply(), but for the X-RateLimit-* fields.
        return !done_ && transforms_ != nullptr && transforms_->headers.has_response_ops();
    }

    bool replaces_rate_limit_fields() const override { return !done_ && sets_rate_limit_fields(); }

    void relay_rate_limit_fields(std::string& head) const override {
        // The same values apply() sets on fields.
        if (const auto values = rate_limit_values()) {
            append_rate_limit_lines(head, *values);
        }
    }

    bool apply(Fields* response_headers) override {
        if (done_) {
            return false;
        }
        done_ = true;
        const nlohmann::json* meta = stored_ ? &stored_->session.meta_data() : nullptr;
        if (response_headers != nullptr && transforms_ != nullptr &&
            transforms_->headers.has_response_ops()) {
            std::string storage;
            const auto subject =
                transform::match_subject(path_, listen_prefix_, *transforms_, storage);
            transform::apply_response_headers(*response_headers, transforms_->headers, method_,
                                              subject, meta, context_);
        }
        if (response_headers != nullptr && sets_rate_limit_fields()) {
            // Tyk's quota headers overwrite whatever the upstream or a transform set.
            const auto values = rate_limit_values();
            if (values) {
                set_rate_limit_headers(*response_headers, *values);
            } else {
                response_headers->erase("X-RateLimit-Limit");
                response_headers->erase("X-RateLimit-Remaining");
                response_headers->erase("X-RateLimit-Reset");
            }
        }
        return stored_ != nullptr && !stored_->storage_key.empty() &&
               (stored_->replace || stored_->session.modified());
    }

    awaitable<void> finish() override {
        std::vector<ApiLifetime> lifetimes;
        lifetimes.push_back(ApiLifetime{api_->api_id, api_->session_lifetime,
                                        api_->session_lifetime_respects_key_expiration});
        // Named, not a temporary inside co_await (g++ 12 coroutine bug).
        session::SessionStore::TtlFn ttl = SessionTtl{std::move(lifetimes), state_};
        if (stored_->replace) {
            const std::int64_t seconds = ttl(stored_->session);
            const auto put_ec = co_await worker_.sessions().put(
                stored_->storage_key, stored_->session.serialize(), seconds);
            ++(put_ec ? worker_.metrics().session_save_failures : worker_.metrics().sessions_saved);
            if (put_ec) {
                spdlog::warn("session from the auth plugin of api {} not saved: {}", api_->api_id,
                             put_ec.message());
            }
            co_return;
        }
        auto [ec, saved] = co_await worker_.sessions().save_patch(
            stored_->storage_key, stored_->raw, stored_->session.changes(), ttl);
        if (!ec && saved == session::SaveResult::saved) {
            ++worker_.metrics().sessions_saved;
        } else {
            ++worker_.metrics().session_save_failures;
        }
        if (ec || saved != session::SaveResult::saved) {
            spdlog::warn("session save-back for api {} failed: {}", api_->api_id,
                         ec ? ec.message()
                            : (saved == session::SaveResult::gone ? "key deleted meanwhile"
                                                                  : "too many concurrent changes"));
        }
    }

  private:
    bool sets_rate_limit_fields() const {
        return quota_headers_ ? (quota_outcome_.has_value() || stored_ != nullptr) : true;
    }

    /// The X-RateLimit-* values of the response: this request's quota outcome, else the
    /// session's quota (`quotas`), or the rate limit counted (`rate_limits`); none: the fields
    /// are only removed.
    std::optional<limits::RateLimitHeaders> rate_limit_values() const {
        if (quota_headers_ && quota_outcome_) {
            return quota_outcome_;
        }
        if (quota_headers_ && stored_ != nullptr) {
            return limits::quota_headers(stored_->session, rate_api_id_);
        }
        return quota_headers_ ? std::nullopt : rate_headers_;
    }

    server::Worker& worker_;
    const config::ApiDefinition* api_;
    std::shared_ptr<const GatewayState> state_;
    session::StoredSession* stored_;
    const transform::ApiTransforms* transforms_ = nullptr;
    std::string method_;
    std::string path_;
    std::string listen_prefix_;
    const nlohmann::json* context_ = nullptr;
    bool quota_headers_ = true;
    std::string rate_api_id_;
    std::optional<limits::RateLimitHeaders> rate_headers_;
    std::optional<limits::RateLimitHeaders> quota_outcome_;
    bool done_ = false;
};

/// The request id for a log line: the context variable when there is one, else a new one.
std::string request_id_of(const nlohmann::json& context) {
    if (const auto it = context.find("request_id"); it != context.end() && it->is_string()) {
        return it->get<std::string>();
    }
    return transform::new_request_id();
}

/// Tyk's response body transform as a forwarder step: the upstream body (gzip/deflate decoded)
/// rendered through the matching `transform_response` template; re-encoded when the client
/// accepts that encoding, else sent plain. Lives in the request's frame.
class ResponseBodyTransform final : public ResponseBodyStep {
  public:
    ResponseBodyTransform(const transform::BodyTransform& transform,
                          const nlohmann::json* meta,
                          const nlohmann::json* context,
                          std::string accept_encoding,
                          std::size_t max_body)
        : transform_(transform), meta_(meta), context_(context),
          accept_encoding_(std::move(accept_encoding)), max_body_(max_body) {}

    void set_meta(const nlohmann::json* meta) { meta_ = meta; }

    bool wants(const http::response_header<>&) const override { return true; }

    void apply(http::response_header<>& response, std::string& body) override {
        const std::string encoding{response[http::field::content_encoding]};
        const bool compressed = encoding == "gzip" || encoding == "deflate";
        std::string plain;
        if (compressed) {
            auto decoded = transform::decode_content(encoding, body, max_body_);
            if (!decoded) {
                spdlog::warn("response body transform skipped: the {} body does not decode",
                             encoding);
                return;
            }
            plain = std::move(*decoded);
        } else if (!encoding.empty() && !boost::beast::iequals(encoding, "identity")) {
            spdlog::warn("response body transform skipped: Content-Encoding {} not supported",
                         encoding);
            return;
        } else {
            plain = std::move(body);
        }
        std::string out;
        const std::string error =
            transform::render_body_transform(transform_, plain, meta_, context_, out);
        if (!error.empty()) {
            spdlog::warn("response body transform: {}", error);
        }
        if (compressed && accepts(encoding)) {
            body = transform::encode_content(encoding, out);
        } else {
            response.erase(http::field::content_encoding);
            body = std::move(out);
        }
    }

  private:
    bool accepts(std::string_view encoding) const {
        return std::string_view(accept_encoding_).find(encoding) != std::string_view::npos;
    }

    const transform::BodyTransform& transform_;
    const nlohmann::json* meta_;
    const nlohmann::json* context_;
    std::string accept_encoding_;
    std::size_t max_body_;
};

/// The most `tyk://` loops one request may take, whatever its `loop_limit` asks for.
constexpr int kMaxLoopLimit = 100;

/// Removes the loop control parameters (`method`, `loop_limit`, `check_limits`) from a query;
/// the first `method` and `loop_limit` values (decoded, as Go's Query().Get) are returned.
std::string strip_loop_params(std::string_view query, std::string& method, int& loop_limit) {
    method = auth::query_param(query, "method").value_or("");
    if (const auto limit = auth::query_param(query, "loop_limit")) {
        // Tyk's strconv.Atoi; capped so a request cannot make the gateway spin.
        const std::string_view value = *limit;
        int parsed = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
        if (ec == std::errc() && end == value.data() + value.size() && parsed >= 0) {
            loop_limit = std::min(parsed, kMaxLoopLimit);
        } else if (ec == std::errc::result_out_of_range && !value.starts_with('-')) {
            loop_limit = kMaxLoopLimit;
        }
    }
    std::string out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto part = query.substr(0, amp);
        const auto name = part.substr(0, part.find('='));
        if (name != "method" && name != "loop_limit" && name != "check_limits") {
            if (!out.empty()) {
                out.push_back('&');
            }
            out.append(part);
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return out;
}

bool needs_payload(const transform::UrlRewriteRule& rule) {
    for (const auto& trigger : rule.triggers) {
        if (trigger.payload) {
            return true;
        }
    }
    return false;
}

/// The outcome of Tyk's auth-token step for one API.
struct AuthOutcome {
    Verdict verdict;                              // set: reject with this
    std::optional<session::StoredSession> stored; // the key's session when accepted
    std::string key;                              // the key as presented
};

/// Tyk's Oauth2KeyExists header check: the raw `Authorization` value (or the param/cookie
/// auth_configs.oauth names) split on spaces; the second word is the token. Sets the verdict when
/// the value is missing or not a bearer token.
std::string bearer_token(const config::GatewayConfig& cfg,
                         const http::request_header<>& req,
                         std::string_view query,
                         const config::ApiDefinition& api,
                         Verdict& verdict) {
    const auto& where = api.oauth_auth;
    std::string raw;
    if (!where.disable_header) {
        raw = std::string(req[where.auth_header_name]);
    }
    if (where.use_param) {
        const std::string name =
            where.param_name.empty() ? where.auth_header_name : where.param_name;
        if (auto v = auth::query_param(query, name); v && !v->empty()) {
            raw = std::move(*v);
        }
    }
    if (where.use_cookie) {
        const std::string name =
            where.cookie_name.empty() ? where.auth_header_name : where.cookie_name;
        if (auto v = auth::cookie_value(req, name); v && !v->empty()) {
            raw = std::move(*v);
        }
    }
    const auto space = raw.find(' ');
    if (space == std::string::npos) {
        verdict =
            Rejection{http::status::bad_request, auth::message_for(cfg, "oauth.auth_field_missing",
                                                                   "Authorization field missing")};
        return {};
    }
    if (!boost::beast::iequals(std::string_view(raw).substr(0, space), "bearer")) {
        verdict = Rejection{
            http::status::bad_request,
            auth::message_for(cfg, "oauth.auth_field_malformed", "Bearer token malformed")};
        return {};
    }
    const auto rest = std::string_view(raw).substr(space + 1);
    return std::string(rest.substr(0, rest.find(' ')));
}

/// The answer for a key that is not stored (made only when it is the answer).
Rejection key_not_found(const config::GatewayConfig& cfg, bool oauth) {
    return oauth ? Rejection{http::status::forbidden,
                             auth::message_for(cfg, "oauth.key_not_found", "Key not authorised")}
                 : Rejection{http::status::forbidden,
                             auth::message_for(cfg, "auth.key_not_found",
                                               "Access to this API has been disallowed")};
}

/// Tyk's auth step for `api` (auth token, or OAuth bearer token with `use_oauth2`): the key
/// from the request, its session from Redis (Tyk's lookup order), policies, an OAuth token's
/// client still existing, then expiry, access rights and `allowed_urls`. Redis errors fail
/// closed (503).
awaitable<AuthOutcome> authenticate(server::Worker& worker,
                                    const config::GatewayConfig& cfg,
                                    const config::PolicySet& policies,
                                    const http::request_header<>& req,
                                    std::string_view query,
                                    std::string_view path,
                                    const config::ApiDefinition& api) {
    AuthOutcome out;
    const bool oauth = api.use_oauth2;
    if (oauth) {
        out.key = bearer_token(cfg, req, query, api, out.verdict);
        if (out.verdict) {
            co_return out;
        }
    } else {
        out.key = auth::extract_api_key(req, query, api.auth);
        if (out.key.empty()) {
            out.verdict = Rejection{
                http::status::unauthorized,
                auth::message_for(cfg, "auth.auth_field_missing", "Authorization field missing")};
            co_return out;
        }
        if (static_cast<int>(out.key.size()) < cfg.min_token_length) {
            out.verdict = Rejection{http::status::forbidden,
                                    auth::message_for(cfg, "auth.key_not_found",
                                                      "Access to this API has been disallowed")};
            co_return out;
        }
    }
    std::vector<std::string> storage_keys;
    for (const auto& candidate : keys::lookup_candidates(out.key, api.org_id, cfg.hash_key_function,
                                                         cfg.hash_key_function_fallback,
                                                         cfg.disable_key_actions_by_username)) {
        storage_keys.push_back(keys::storage_key(candidate, cfg.hash_keys));
    }
    auto [ec, found] = co_await worker.sessions().load(std::move(storage_keys));
    if (ec) {
        // Fail closed: never let a request through unauthenticated.
        out.verdict = Rejection{http::status::service_unavailable, "Session store unavailable"};
        co_return out;
    }
    if (!found) {
        out.verdict = key_not_found(cfg, oauth);
        co_return out;
    }
    if (const std::string error = policy::apply_policies(found->session, policies);
        !error.empty()) {
        spdlog::warn("api {}: key {}...: policies not applied: {}", api.api_id,
                     found->storage_key.substr(7, 8), error);
        out.verdict = key_not_found(cfg, oauth);
        co_return out;
    }
    if (oauth) {
        const bool deleted = co_await oauth_server::client_deleted(
            worker, api.api_id, found->session.oauth_client_id());
        if (deleted) {
            out.verdict =
                Rejection{http::status::forbidden,
                          auth::message_for(cfg, "oauth.client_deleted",
                                            "Key not authorised. OAuth client access was revoked")};
            co_return out;
        }
    }
    out.verdict =
        auth::check_session(found->session, api, req.method_string(), path, coarse::unix_now());
    out.stored = std::move(found);
    co_return out;
}

/// Tyk's custom auth plugin outcome (DynamicMiddleware with Auth): the session the plugin
/// returned is installed for the key AuthValue and written whole at the end of the request; the
/// usual expiry, access rights and `allowed_urls` checks follow. Without an AuthValue the session
/// serves this request only: no per-key limits, nothing saved.
AuthOutcome plugin_auth_outcome(const config::GatewayConfig& cfg,
                                const config::ApiDefinition& api,
                                const http::request_header<>& req,
                                std::string_view path,
                                jsvm_runtime::RequestState& plugin) {
    AuthOutcome out;
    nlohmann::json document =
        plugin.auth_session.is_object() ? std::move(plugin.auth_session) : nlohmann::json::object();
    std::string error;
    auto session = Session::from_json(std::move(document), error);
    session::StoredSession stored;
    stored.session = std::move(*session); // an object always parses
    out.key = std::move(plugin.auth_value);
    if (!out.key.empty()) {
        stored.storage_key = keys::storage_key(out.key, cfg.hash_keys);
        stored.replace = true;
    } else {
        spdlog::debug("api {}: the auth plugin gave no AuthValue; its session is not saved",
                      api.api_id);
    }
    out.verdict =
        auth::check_session(stored.session, api, req.method_string(), path, coarse::unix_now());
    out.stored = std::move(stored);
    return out;
}

/// Whether this request writes its quota outcome into the stored session. The counter in Redis
/// is the truth (the Gateway API reports `quota_remaining` from it); the copy in the session is
/// informational, so it is written when a period starts, when the quota runs out, and otherwise
/// at most once a second per key and worker: a hot key served by many connections would
/// otherwise rewrite its session on every request.
bool quota_write_due(const std::string& storage_key,
                     const limits::EffectiveLimit& stored,
                     const limits::QuotaOutcome& outcome) {
    constexpr auto kInterval = std::chrono::seconds(1);
    thread_local std::unordered_map<std::string, Clock::time_point> last_write;
    const auto now = Clock::now();
    const bool due = outcome.renews != stored.quota_renews ||
                     (outcome.remaining == 0 && stored.quota_remaining != 0);
    auto it = last_write.find(storage_key);
    if (!due && it != last_write.end() && now - it->second < kInterval) {
        return false;
    }
    if (it == last_write.end()) {
        if (last_write.size() >= 100000) {
            last_write.clear();
        }
        last_write.emplace(storage_key, now);
    } else {
        it->second = now;
    }
    return true;
}

/// What the rate limit and quota step decided.
struct LimitsOutcome {
    Verdict verdict;                                       // set: reject with this
    const char* reason = nullptr;                          // for the access log
    std::optional<limits::RateLimitHeaders> rate_headers;  // the rate limit counted against
    std::optional<limits::RateLimitHeaders> quota_headers; // the quota counted against
};

/// What plan_limits found to count: the limits check_limits sends to Redis.
struct LimitsPlan {
    limits::LimitRequest request;
    limits::SessionPlan plan;
    session::StoredSession* stored = nullptr; // the session whose key the limits count against
};

/// The rate limits and quotas that apply to this request (no I/O): the key's, then the API's.
/// Nothing to count (request.empty()) means check_limits need not run.
LimitsPlan plan_limits(const config::GatewayConfig& cfg,
                       const config::ApiDefinition& api,
                       const transform::ApiTransforms& transforms,
                       session::StoredSession* session,
                       std::string_view method,
                       const transform::MatchSubject& subject,
                       const nlohmann::json& context) {
    LimitsPlan out;
    // Per-key limits need a key: a session without one (an auth plugin gave no AuthValue) has
    // only the API's.
    session::StoredSession* const stored =
        session != nullptr && !session->storage_key.empty() ? session : nullptr;
    out.stored = stored;
    limits::LimitRequest& request = out.request;
    request.mode = limits::mode_of(cfg);
    request.now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (stored != nullptr) {
        std::string pattern;
        if (const auto text = limits::rate_limit_pattern(stored->session); !text.empty()) {
            transform::VarTemplate::parse(text).expand_into(pattern, &stored->session.meta_data(),
                                                            &context, false);
        }
        limits::SessionRequest facts;
        facts.api_id = api.api_id;
        facts.method = method;
        facts.path = subject.without_listen_path;
        facts.key_id =
            std::string_view(stored->storage_key).substr(std::string_view("apikey-").size());
        facts.pattern = pattern;
        facts.rate_enabled = !api.disable_rate_limit;
        facts.quota_enabled = !api.disable_quota;
        facts.match = transforms.match;
        out.plan = limits::plan_session(stored->session, facts);
        request.session_rate = std::move(out.plan.rate);
        request.quota = std::move(out.plan.quota);
    }
    request.api_rate = limits::plan_api(transforms.rate_limits, method, subject);
    return out;
}

/// Tyk's RateLimitAndQuotaCheck (keyed requests) then RateLimitForAPI, in one Redis round trip,
/// for what plan_limits found (not empty). A quota outcome is written into the session (saved
/// back at the end of the request). When Redis cannot answer, the request fails closed (503)
/// unless `rate_limiter_fail_open` is set and no quota is involved.
awaitable<LimitsOutcome> check_limits(server::Worker& worker,
                                      const config::GatewayConfig& cfg,
                                      const config::ApiDefinition& api,
                                      LimitsPlan planned) {
    LimitsOutcome out;
    const limits::LimitRequest& request = planned.request;
    const limits::SessionPlan& plan = planned.plan;
    session::StoredSession* const stored = planned.stored;
    auto [ec, result] = co_await limits::run_limits(worker.sessions().redis_ptr(), request);
    if (ec) {
        if (cfg.portcullis.rate_limiter_fail_open && !request.quota) {
            spdlog::warn("api {}: rate limit not checked ({}); request let through "
                         "(rate_limiter_fail_open)",
                         api.api_id, ec.message());
            co_return out;
        }
        spdlog::warn("api {}: rate limit check failed: {}", api.api_id, ec.message());
        out.verdict = Rejection{http::status::service_unavailable, "Rate limiter unavailable"};
        out.reason = "limiter_unavailable";
        co_return out;
    }
    if (result.quota && stored != nullptr) {
        const auto outcome = limits::quota_outcome(result.quota->count, result.quota->expires_ms,
                                                   request.quota->max, plan.limit.quota_renews);
        out.quota_headers =
            limits::RateLimitHeaders{request.quota->max, outcome.remaining, outcome.renews};
        if (quota_write_due(stored->storage_key, plan.limit, outcome)) {
            limits::record_quota(stored->session, plan.limit.allowance_scope, outcome);
        }
    }
    if (result.session_rate) {
        out.rate_headers = result.session_rate->headers;
    } else if (result.api_rate) {
        out.rate_headers = result.api_rate->headers;
    }
    switch (result.verdict) {
    case limits::Verdict::pass:
        break;
    case limits::Verdict::rate_limited:
        out.verdict = Rejection{http::status::too_many_requests, "Rate Limit Exceeded"};
        out.reason = "rate_limit";
        break;
    case limits::Verdict::quota_exceeded:
        out.verdict = Rejection{http::status::forbidden, "Quota exceeded"};
        out.reason = "quota";
        break;
    case limits::Verdict::api_rate_limited:
        out.verdict = Rejection{http::status::too_many_requests, "API Rate Limit Exceeded"};
        out.reason = "api_rate_limit";
        out.rate_headers = result.api_rate->headers; // the limit that blocked
        break;
    }
    co_return out;
}

/// The most an OAuth endpoint reads of a request body (forms of a few fields).
constexpr std::size_t kMaxOauthBody = 64 * 1024;

/// Serves one of the OAuth endpoints under an OAuth API's listen path (Tyk registers these
/// beside the API, outside its middleware chain).
awaitable<bool> serve_oauth_endpoint(server::ClientConnection& conn,
                                     RequestParser& rp,
                                     std::shared_ptr<const GatewayState> state,
                                     const config::ApiDefinition& api,
                                     oauth_server::Endpoint endpoint,
                                     const AccessLine& line,
                                     std::string_view query) {
    auto& req = rp.get();
    oauth_server::EndpointRequest request;
    if (!rp.is_done()) {
        const auto failed = co_await buffer_body(conn, line, rp, kMaxOauthBody, request.body);
        if (failed) {
            co_return *failed;
        }
    }
    const bool keep_alive = req.keep_alive() && req.version() >= 11;
    request.method = req.method();
    request.query = std::string(query);
    request.content_type = std::string(req[http::field::content_type]);
    request.authorization = std::string(req[http::field::authorization]);
    request.admin_authorization = std::string(req["X-Tyk-Authorization"]);
    oauth_server::Reply reply =
        co_await oauth_server::handle(conn.worker, state, api, endpoint, std::move(request));
    StringResponse res;
    if (!reply.location.empty()) {
        res.result(reply.status);
        res.version(11);
        res.set(http::field::location, reply.location);
        res.keep_alive(keep_alive);
        res.prepare_payload();
    } else {
        res = make_json_response(reply.status, std::move(reply.body), keep_alive);
    }
    if (reply.no_cache) {
        res.set("X-Content-Type-Options", "nosniff");
        res.set("X-XSS-Protection", "1; mode=block");
        res.set("X-Frame-Options", "DENY");
        res.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
        res.set(http::field::cache_control, "no-cache, no-store, must-revalidate");
        res.set(http::field::pragma, "no-cache");
        res.set(http::field::expires, "0");
    }
    const bool keep = co_await server::write_reply(conn, res);
    line.write(res.result_int(), {}, reply.status >= http::status::bad_request ? "oauth" : nullptr);
    co_return keep;
}

/// Whether a plugin-given header name and value may be sent: no CR, LF or NUL (they would split
/// the header block) and a non-empty token name.
bool safe_header(std::string_view name, std::string_view value) {
    if (name.empty() || !is_token(name)) {
        return false;
    }
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

/// Answers with the reply a plugin asked for (ReturnOverrides) or its failure.
awaitable<bool> reply_plugin(server::ClientConnection& conn,
                             const AccessLine& line,
                             const jsvm_runtime::PluginReply& reply,
                             bool keep_alive) {
    StringResponse res;
    if (reply.error_template) {
        res = make_error_response(reply.status, reply.body, keep_alive,
                                  conn.worker.state()->config->hide_generator_header);
    } else {
        res.result(reply.status);
        res.version(11);
        res.body() = reply.body;
        res.keep_alive(keep_alive);
    }
    for (const auto& [name, value] : reply.headers) {
        if (safe_header(name, value)) {
            res.set(name, value);
        } else {
            spdlog::warn("api {}: plugin response header dropped: invalid name or value",
                         line.api_id);
        }
    }
    res.prepare_payload();
    const bool keep = co_await server::write_reply(conn, res);
    line.write(res.result_int(), {}, reply.reason);
    co_return keep;
}

/// Response plugins as a forwarder step: the upstream body read whole, the response body
/// transform (when one applies) first, then the API's `response` plugins.
class ResponsePluginStep final : public ResponseBodyStep {
  public:
    ResponsePluginStep(server::Worker& worker,
                       const GatewayState& state,
                       const config::ApiDefinition& api,
                       std::shared_ptr<const jsvm::ApiPlugins> plugins,
                       const Session* session,
                       ResponseBodyStep* inner)
        : worker_(worker), state_(state), api_(api), plugins_(std::move(plugins)),
          session_(session), inner_(inner) {}

    bool wants(const http::response_header<>&) const override { return true; }

    void apply(http::response_header<>& response, std::string& body) override {
        if (inner_ != nullptr && inner_->wants(response)) {
            inner_->apply(response, body);
        }
        jsvm_runtime::run_response_plugins(worker_, state_, api_, plugins_, session_, response,
                                           body);
    }

  private:
    server::Worker& worker_;
    const GatewayState& state_;
    const config::ApiDefinition& api_;
    std::shared_ptr<const jsvm::ApiPlugins> plugins_;
    const Session* session_;
    ResponseBodyStep* inner_;
};

/// The proxy path of a request routed to `api`: auth, transforms, forward, respond.
awaitable<bool> proxy_request(server::ClientConnection& conn,
                              RequestParser& rp,
                              std::shared_ptr<const GatewayState> state,
                              const config::ApiDefinition& api,
                              std::string_view listen_prefix,
                              std::string_view path_in,
                              std::string_view query_in,
                              Clock::time_point started,
                              bool keep_alive) {
    const auto& cfg = *state->config;
    auto& req = rp.get();
    const http::verb method = req.method();
    const AccessLine line{conn, method, path_in, api.api_id, started};
    // The path and query as the steps see them (`pre` plugins may change them).
    std::string path{path_in};
    std::string query{query_in};
    // Bodies a step needs whole (form context variables, payload triggers) are read once into
    // `body` and then sent from there.
    std::string body;
    bool body_buffered = false;
    std::size_t body_limit = cfg.portcullis.max_buffered_body_bytes;
    if (cfg.http_server_options.max_request_body_size > 0) {
        body_limit = std::min(
            body_limit, static_cast<std::size_t>(cfg.http_server_options.max_request_body_size));
    }

    // OAuth endpoints of an OAuth API (token, authorize, revoke)
    if (api.use_oauth2) {
        const auto endpoint = oauth_server::endpoint_for(listen_prefix, path);
        if (endpoint != oauth_server::Endpoint::none) {
            co_return co_await serve_oauth_endpoint(conn, rp, state, api, endpoint, line, query);
        }
    }

    // version check: `internal` endpoints are for tyk:// loops only
    if (const auto& transforms = state->transforms_for(api.api_id); !transforms.internal.empty()) {
        std::string storage;
        const auto subject = transform::match_subject(path, listen_prefix, transforms, storage);
        if (transform::find_endpoint(transforms.internal, req.method_string(), subject)) {
            const std::string message = "Requested endpoint is forbidden";
            co_return co_await reply_error(conn, line, http::status::forbidden, message, keep_alive,
                                           "internal_endpoint");
        }
    }

    // `pre` plugins (they read the whole body)
    const auto plugins = state->plugins_for(api.api_id);
    jsvm_runtime::RequestState plugin_request;
    if (plugins) {
        if (!plugins->unusable.empty()) {
            const std::string message = "Middleware error";
            co_return co_await reply_error(conn, line, http::status::internal_server_error, message,
                                           keep_alive, "plugin_unusable");
        }
        if (!rp.is_done()) {
            const auto failed = co_await buffer_body(conn, line, rp, body_limit, body);
            if (failed) {
                co_return *failed;
            }
            body_buffered = true;
        }
        plugin_request.req = &req;
        plugin_request.path = &path;
        plugin_request.query = &query;
        plugin_request.body = &body;
        plugin_request.request_uri = std::string(req.target());
        auto reply = jsvm_runtime::run_request_plugins(conn.worker, *state, api, plugins,
                                                       jsvm::Hook::pre, plugin_request);
        if (reply) {
            co_return co_await reply_plugin(conn, line, *reply, req.keep_alive());
        }
    }

    // authenticate: the key's session from Redis, then expiry, access rights, allowed_urls
    std::optional<session::StoredSession> stored;
    std::string presented_key;
    if (!api.use_keyless) {
        // The custom auth plugin, else the auth token; with use_standard_auth both must pass and
        // the token's session wins, as Tyk chains them.
        const bool plugin_auth = plugins && !plugins->auth.empty();
        AuthOutcome auth;
        if (plugin_auth) {
            auto reply = jsvm_runtime::run_request_plugins(conn.worker, *state, api, plugins,
                                                           jsvm::Hook::auth, plugin_request);
            if (reply) {
                co_return co_await reply_plugin(conn, line, *reply, req.keep_alive());
            }
            auth = plugin_auth_outcome(cfg, api, req, path, plugin_request);
        }
        if (!auth.verdict && (!plugin_auth || api.use_standard_auth)) {
            auth = co_await authenticate(conn.worker, cfg, *state->policies, req, query, path, api);
        }
        if (auth.verdict) {
            co_return co_await reply_error(conn, line, auth.verdict->status, auth.verdict->message,
                                           keep_alive, "auth");
        }
        stored = std::move(auth.stored);
        presented_key = std::move(auth.key);
    }
    if (cfg.portcullis.test_hooks && stored) {
        // Test hook: exercises the save-back path the way a plugin will.
        const std::string hook{req["X-Portcullis-Test-Meta"]};
        const auto eq = hook.find('=');
        if (eq != std::string::npos) {
            stored->session.set_meta(hook.substr(0, eq), hook.substr(eq + 1));
        }
        req.erase("X-Portcullis-Test-Meta");
    }

    // context variables (computed from the request as it arrived, plus the key)
    nlohmann::json context;
    const nlohmann::json* meta = stored ? &stored->session.meta_data() : nullptr;
    if (api.enable_context_vars) {
        if (!rp.is_done() && transform::reads_form_body(req.method_string(), &req)) {
            const auto failed = co_await buffer_body(conn, line, rp, body_limit, body);
            if (failed) {
                co_return *failed;
            }
            body_buffered = true;
        }
        transform::RequestFacts facts;
        facts.body = body;
        facts.method = req.method_string();
        facts.path = path;
        facts.query = query;
        facts.headers = &req;
        facts.peer_ip = conn.peer_ip;
        context = transform::build_context_vars(facts, cfg.http_server_options.xff_depth);
        if (!presented_key.empty()) {
            context["token"] = presented_key;
        }
    } else {
        context = nlohmann::json::object(); // still receives URL rewrite trigger-* values
    }

    // header transforms, then URL rewrite (internal loops re-enter here for the target API)
    ResponseSteps response_steps{conn.worker, api, state, stored ? &*stored : nullptr};

    // `post_key_auth` plugins (keyed APIs): they may change the session's metadata
    if (plugins && stored) {
        plugin_request.stored = &*stored;
        auto reply = jsvm_runtime::run_request_plugins(conn.worker, *state, api, plugins,
                                                       jsvm::Hook::post_key_auth, plugin_request);
        meta = &stored->session.meta_data();
        if (reply) {
            co_await response_steps.run(nullptr); // a metadata change is saved on errors too
            co_return co_await reply_plugin(conn, line, *reply, req.keep_alive());
        }
    }

    // rate limits and quotas: the key's, then the API's
    {
        const auto& transforms = state->transforms_for(api.api_id);
        std::string storage;
        const auto subject = transform::match_subject(path, listen_prefix, transforms, storage);
        LimitsPlan planned = plan_limits(cfg, api, transforms, stored ? &*stored : nullptr,
                                         req.method_string(), subject, context);
        LimitsOutcome limited;
        if (!planned.request.empty()) {
            limited = co_await check_limits(conn.worker, cfg, api, std::move(planned));
        }
        const bool quota_headers = cfg.rate_limit_response_headers != "rate_limits";
        response_steps.set_rate_headers(quota_headers, api.api_id, limited.rate_headers,
                                        limited.quota_headers);
        if (limited.verdict) {
            co_await response_steps.run(nullptr); // a quota change is saved on errors too
            const limits::RateLimitHeaders* headers =
                !quota_headers && limited.rate_headers &&
                        limited.verdict->status == http::status::too_many_requests
                    ? &*limited.rate_headers
                    : nullptr;
            co_return co_await reply_error(conn, line, limited.verdict->status,
                                           limited.verdict->message, keep_alive, limited.reason,
                                           headers);
        }
        if (stored) {
            meta = &stored->session.meta_data(); // a counted quota gave the session its own copy
        }
    }
    std::optional<ResponseBodyTransform> response_transform;
    const std::size_t max_response_body =
        cfg.http_server_options.max_response_body_size > 0
            ? static_cast<std::size_t>(cfg.http_server_options.max_response_body_size)
            : cfg.portcullis.max_buffered_body_bytes;
    const config::ApiDefinition* current = &api;
    std::string current_prefix{listen_prefix};
    std::string current_path{path};
    std::string current_query{query};
    std::string subject_storage;
    std::optional<config::TargetUrl> rewritten_target;
    std::string request_target;
    int loop_limit = 5;
    for (int loops = 0;; ++loops) {
        const auto& transforms = state->transforms_for(current->api_id);
        const auto subject =
            transform::match_subject(current_path, current_prefix, transforms, subject_storage);
        const std::string method_name{req.method_string()};
        if (loops == 0) {
            response_steps.set_transforms(&transforms, method_name, current_path, current_prefix,
                                          &context);
        }
        if (loops == 0) {
            if (const auto* rt =
                    transform::find_endpoint(transforms.body_response, method_name, subject)) {
                response_transform.emplace(
                    rt->spec, meta, api.enable_context_vars ? &context : nullptr,
                    std::string(req[http::field::accept_encoding]), max_response_body);
            }
        }

        // body transform, then header transforms, then URL rewrite (Tyk's order)
        if (const auto* bt =
                transform::find_endpoint(transforms.body_request, method_name, subject)) {
            if (!body_buffered && !rp.is_done()) {
                const auto failed = co_await buffer_body(conn, line, rp, body_limit, body);
                if (failed) {
                    co_return *failed;
                }
            }
            body_buffered = true;
            std::string rendered;
            const std::string error = transform::render_body_transform(
                bt->spec, body, meta, current->enable_context_vars ? &context : nullptr, rendered);
            if (error.empty()) {
                body.clear();
                transform::VarTemplate::parse(rendered).expand_into(body, meta, &context, true);
            } else {
                spdlog::warn("api {}: request body transform failed (request {}), original body "
                             "sent: {}",
                             current->api_id, request_id_of(context), error);
            }
        }
        transform::apply_request_headers(req, transforms.headers, method_name, subject, meta,
                                         api.enable_context_vars ? &context : nullptr);

        request_target =
            upstream_request_target(current->proxy, current_prefix, current_path, current_query);
        const auto* rule = transform::find_endpoint(transforms.url_rewrites, method_name, subject);
        if (rule == nullptr) {
            break;
        }
        if (!body_buffered && !rp.is_done() && needs_payload(rule->spec)) {
            const auto failed = co_await buffer_body(conn, line, rp, body_limit, body);
            if (failed) {
                co_return *failed;
            }
            body_buffered = true;
        }
        transform::RewriteInput input;
        input.escaped_path_with_listen_path = current_path;
        input.body = body;
        input.query = current_query;
        input.headers = &req;
        input.meta = meta;
        input.context = &context;
        auto rewrite = transform::apply_url_rewrite(rule->spec, input);
        if (!rewrite.error.empty()) {
            co_return co_await reply_error(conn, line, http::status::internal_server_error,
                                           rewrite.error, keep_alive, "url_rewrite");
        }
        if (!rewrite.rewritten) {
            break;
        }
        const auto url = transform::classify_rewrite_target(rewrite.target);
        if (!url.valid) {
            spdlog::warn("api {}: URL rewrite produced an unusable URL; original kept",
                         current->api_id);
            break;
        }
        const auto [new_path, new_query] = split_target(url.path_and_query);
        if (url.loop) {
            // tyk://self/... or tyk://<api>/...: process again as the target API
            std::string loop_method;
            std::string stripped = strip_loop_params(new_query, loop_method, loop_limit);
            if (loops + 1 > loop_limit) {
                const std::string message = "Loop level too deep. Found more than " +
                                            std::to_string(loop_limit) + " loops in single request";
                co_return co_await reply_error(conn, line, http::status::internal_server_error,
                                               message, keep_alive, "loop_limit");
            }
            const config::ApiDefinition* next = nullptr;
            if (url.loop_target == "self") {
                next = current;
            } else {
                for (const auto& candidate : state->router->apis()) {
                    if (transform::loop_target_matches(url.loop_target, candidate->api_id,
                                                       candidate->name)) {
                        next = candidate.get();
                        break;
                    }
                }
            }
            if (next == nullptr) {
                const std::string message = "Can't detect loop target";
                co_return co_await reply_error(conn, line, http::status::internal_server_error,
                                               message, keep_alive, "loop_target");
            }
            if (!loop_method.empty()) {
                if (!is_token(loop_method)) {
                    const std::string message = "There was a problem proxying the request";
                    co_return co_await reply_error(conn, line, http::status::internal_server_error,
                                                   message, keep_alive, "loop_method");
                }
                req.method_string(loop_method);
            }
            // The loop path is relative to the target API's listen path.
            std::string loop_path = join_upstream_path(next->proxy.listen_path, new_path, false);
            if (next != current && !next->use_keyless) {
                // Another API's chain runs for the looped request: its auth applies too.
                AuthOutcome auth = co_await authenticate(conn.worker, cfg, *state->policies, req,
                                                         stripped, loop_path, *next);
                if (auth.verdict) {
                    co_return co_await reply_error(conn, line, auth.verdict->status,
                                                   auth.verdict->message, keep_alive, "auth");
                }
                if (!stored || stored->storage_key != auth.stored->storage_key) {
                    stored = std::move(auth.stored);
                    meta = &stored->session.meta_data();
                    response_steps.set_session(&*stored, *next);
                    if (response_transform) {
                        response_transform->set_meta(meta);
                    }
                    if (api.enable_context_vars) {
                        context["token"] = auth.key;
                    }
                }
            }
            current = next;
            current_prefix = next->proxy.listen_path;
            current_path = std::move(loop_path);
            current_query = std::move(stripped);
            continue;
        }
        if (url.absolute) {
            std::string error;
            rewritten_target = config::parse_target_url(url.scheme + "://" + url.host_port, error);
            if (!rewritten_target) {
                spdlog::warn("api {}: URL rewrite target rejected: {}", current->api_id, error);
                break;
            }
            request_target = url.path_and_query;
        } else {
            // Relative: joined under the target URL's path; the listen path is stripped only
            // when the result starts with it and strip_listen_path is set.
            request_target =
                upstream_request_target(current->proxy, current_prefix, new_path, new_query);
        }
        break;
    }

    // `post` plugins: the request as it will be sent; a changed URL is sent as the plugin gave it
    if (plugins && !plugins->post.empty()) {
        plugin_request.stored = stored ? &*stored : nullptr;
        plugin_request.path = &current_path;
        plugin_request.query = &current_query;
        plugin_request.url_changed = false; // earlier changes are already in current_path
        auto reply = jsvm_runtime::run_request_plugins(conn.worker, *state, api, plugins,
                                                       jsvm::Hook::post, plugin_request);
        if (reply) {
            co_await response_steps.run(nullptr);
            co_return co_await reply_plugin(conn, line, *reply, req.keep_alive());
        }
        if (stored && response_transform) {
            // the plugin may have replaced the metadata the response transform renders
            response_transform->set_meta(&stored->session.meta_data());
        }
        if (plugin_request.url_changed) {
            request_target = rewritten_target
                                 ? current_path + (current_query.empty() ? "" : "?" + current_query)
                                 : upstream_request_target(current->proxy, current_prefix,
                                                           current_path, current_query);
        }
    }
    if (plugin_request.body_changed) {
        body_buffered = true; // a body a plugin (any hook) set is sent from `body`
    }
    std::optional<ResponsePluginStep> response_plugins;
    if (plugins && !plugins->response.empty()) {
        response_plugins.emplace(conn.worker, *state, api, plugins,
                                 stored ? &stored->session : nullptr,
                                 response_transform ? &*response_transform : nullptr);
    }

    // forward
    ForwardPlan plan;
    plan.target = rewritten_target ? &*rewritten_target : &current->proxy.target;
    plan.request_target = std::move(request_target);
    plan.preserve_host_header = !rewritten_target && current->proxy.preserve_host_header;
    plan.skip_tls_verify =
        current->proxy.ssl_insecure_skip_verify || cfg.proxy_ssl_insecure_skip_verify;
    plan.max_request_body = cfg.http_server_options.max_request_body_size;
    plan.before_response = &response_steps;
    plan.buffered_body = body_buffered ? &body : nullptr;
    plan.response_body = response_plugins     ? static_cast<ResponseBodyStep*>(&*response_plugins)
                         : response_transform ? &*response_transform
                                              : nullptr;
    plan.max_response_body = max_response_body;
    const ForwardResult result = co_await forward(conn, rp, std::move(plan));

    // response steps (if forward could not run them before the response, e.g. an upstream error)
    co_await response_steps.run(nullptr);

    // log
    line.write(result.status, result.upstream_latency, result.error);
    co_return result.keep_client;
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
    if (req.target() == "*" && method == http::verb::options) {
        // Asterisk-form: the server itself, as Go's server answers it.
        StringResponse res{http::status::ok, 11};
        res.keep_alive(keep_alive);
        res.content_length(0);
        const bool keep = co_await server::write_reply(conn, res);
        const AccessLine star_line{conn, method, "*", {}, started};
        star_line.write(200, {}, nullptr);
        co_return keep;
    }
    const std::string target{origin_form(req.target())};
    const auto [path, query] = split_target(target);
    if (target.empty() || has_dot_segment(path)) {
        const AccessLine line{conn, method, "-", {}, started};
        const std::string message = "Bad Request";
        co_await reply_error(conn, line, http::status::bad_request, message, false, "bad_target");
        co_return false;
    }
    const AccessLine line{conn, method, path, {}, started};
    if (path.size() == cfg.health_check_endpoint_name.size() + 1 &&
        path.substr(1) == cfg.health_check_endpoint_name) {
        auto res = health_reply(conn.worker.redis().connected(), keep_alive);
        const bool keep = co_await server::write_reply(conn, res);
        line.write(res.result_int(), {}, nullptr);
        co_return keep;
    }
    if (api::is_gateway_api_path(path)) {
        const api::Served served = co_await api::handle_gateway_api(conn, parser, state);
        const std::string logged = redact_api_path(path);
        const AccessLine api_line{conn, method, logged, "tyk-api", started};
        api_line.write(served.status, {}, nullptr);
        co_return served.keep_alive;
    }
    const auto match = state->router->match(path);
    if (!match) {
        const std::string message = "Not Found";
        co_return co_await reply_error(conn, line, http::status::not_found, message, keep_alive,
                                       "no_route");
    }
    RequestParser rp{std::move(parser)};
    co_return co_await proxy_request(conn, rp, state, *match->api, match->prefix, path, query,
                                     started, keep_alive);
}

} // namespace portcullis::proxy
