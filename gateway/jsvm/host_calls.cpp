#include "gateway/jsvm/host_calls.hpp"

#include "config/target_url.hpp"
#include "gateway/common/asio.hpp"
#include "gateway/common/blocking_resolve.hpp"
#include "gateway/redis/blocking_redis.hpp"
#include "middleware/core/session.hpp"
#include "middleware/core/session_ttl.hpp"
#include "middleware/core/text.hpp"
#include "middleware/keys/key_hash.hpp"
#include "middleware/keys/token.hpp"
#include "middleware/limits/limits.hpp"
#include "middleware/policy/apply.hpp"
#include "middleware/transform/context_vars.hpp"
#include "middleware/transform/variables.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <netdb.h>
#include <optional>
#include <pthread.h>
#include <sys/socket.h>
#include <thread>
#include <utility>
#include <vector>

namespace portcullis::jsvm_host {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace http = beast::http;
namespace ssl = asio::ssl;
using redis::BlockingRedis;
using redis::ReplyPtr;

constexpr std::size_t kMaxResponseHeaderBytes = 64 * 1024;
/// Grace for handlers still queued after the deadline closed the socket.
constexpr auto kDrainLimit = std::chrono::milliseconds(100);

std::string dump(const Json& value) {
    // Response bodies are arbitrary bytes: invalid UTF-8 becomes U+FFFD, as Go's json.Marshal.
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string status_error(std::string_view message) {
    Json out = Json::object();
    out["status"] = "error";
    out["message"] = message;
    return dump(out);
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// First 8 characters of the key's hash: enough to correlate log lines, useless to an attacker.
std::string key_tag(std::string_view key) {
    return keys::hash_key(key).substr(0, 8);
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

/// `object[name]` with Go's encoding/json matching: the exact name first, else any member whose
/// name equals it ignoring ASCII case. Null when absent or `object` is not an object.
const Json* member_ci(const Json& object, std::string_view name) {
    if (!object.is_object()) {
        return nullptr;
    }
    if (const auto it = object.find(std::string(name)); it != object.end()) {
        return &*it;
    }
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (iequals(it.key(), name)) {
            return &*it;
        }
    }
    return nullptr;
}

/// A string field: absent or null reads as "", a string as itself; anything else fails.
bool string_field(const Json& object, std::string_view name, std::string& out) {
    const Json* value = member_ci(object, name);
    if (value == nullptr || value->is_null()) {
        out.clear();
        return true;
    }
    if (!value->is_string()) {
        return false;
    }
    out = value->get<std::string>();
    return true;
}

/// A `{name: value}` field (Go map[string]string). Strings as they are; numbers and booleans as
/// their JSON text and null as "" (leniency: Go would reject the whole object); nested values
/// fail. Absent or null: empty. Sorted by name (nlohmann objects are ordered maps).
bool string_map_field(const Json& object,
                      std::string_view name,
                      std::vector<std::pair<std::string, std::string>>& out) {
    out.clear();
    const Json* value = member_ci(object, name);
    if (value == nullptr || value->is_null()) {
        return true;
    }
    if (!value->is_object()) {
        return false;
    }
    for (const auto& [k, v] : value->items()) {
        if (v.is_string()) {
            out.emplace_back(k, v.get<std::string>());
        } else if (v.is_null()) {
            out.emplace_back(k, std::string{});
        } else if (v.is_primitive()) {
            out.emplace_back(k, v.dump());
        } else {
            return false;
        }
    }
    return true;
}

/// Go's httpguts.ValidHeaderFieldValue: no control characters except horizontal tab.
bool is_valid_header_value(std::string_view text) {
    for (unsigned char c : text) {
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

/// Go's url.Values.Encode for single values: keys sorted (the input already is), `k=v&...`.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += transform::query_escape(k);
        out.push_back('=');
        out += transform::query_escape(v);
    }
    return out;
}

// ---- HTTP ---------------------------------------------------------------------------------------

/// One request to make (after redirects are taken into account, one hop).
struct HttpCall {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers; // validated, as given
    std::string body;
    bool body_is_form = false;
};

/// What came back; `error` non-empty (and status 0) when nothing usable did.
struct HttpOutcome {
    unsigned status = 0;
    Json headers = Json::object(); // Canonical-Name -> [values]
    std::string body;
    std::string error;
};

HttpOutcome failed(std::string error) {
    HttpOutcome out;
    out.error = std::move(error);
    return out;
}

/// State of one request/response exchange on a private io_context.
struct Exchange {
    http::request<http::string_body> request;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    error_code ec;
    const char* stage = "connect";
    bool finished = false;

    void finish(error_code e) {
        if (!finished) {
            ec = e;
            finished = true;
        }
    }
};

template <class Stream> void send_and_receive(Stream& stream, Exchange& ex) {
    ex.stage = "write";
    http::async_write(stream, ex.request, [&stream, &ex](error_code ec, std::size_t) {
        if (ec) {
            ex.finish(ec);
            return;
        }
        ex.stage = "read";
        http::async_read(stream, ex.buffer, ex.parser,
                         [&ex](error_code read_ec, std::size_t) { ex.finish(read_ec); });
    });
}

/// Runs `ioc` until the exchange finished or the deadline; at the deadline closes the socket
/// (through `close`) and lets the aborted handlers run (bounded).
template <class Close>
void drive(asio::io_context& ioc, Exchange& ex, Deadline deadline, Close close) {
    if (Clock::now() < deadline) {
        ioc.run_until(deadline);
    }
    if (!ex.finished) {
        ex.finish(beast::error::timeout);
    }
    close();
    ioc.restart();
    ioc.run_for(kDrainLimit);
}

std::string describe_failure(const Exchange& ex) {
    const error_code& ec = ex.ec;
    if (ec == beast::error::timeout) {
        return "timeout";
    }
    if (ec == http::error::body_limit) {
        return "response body too large";
    }
    if (ec == http::error::header_limit) {
        return "response header too large";
    }
    if (ec == asio::error::connection_refused) {
        return "connection refused";
    }
    return std::string(ex.stage) + " failed: " + ec.message();
}

bool is_redirect(unsigned status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/// Go's shouldCopyHeaderOnRedirect: sensitive headers follow a redirect only to the same host
/// or one of its subdomains.
bool same_or_subdomain(std::string_view initial, std::string_view next) {
    if (iequals(initial, next)) {
        return true;
    }
    if (next.size() > initial.size() + 1) {
        const auto tail = next.substr(next.size() - initial.size());
        return next[next.size() - initial.size() - 1] == '.' && iequals(tail, initial);
    }
    return false;
}

bool is_sensitive_header(std::string_view name) {
    return iequals(name, "Authorization") || iequals(name, "Www-Authenticate") ||
           iequals(name, "Cookie") || iequals(name, "Cookie2");
}

/// Headers Go's client never takes from Request.Header (it writes its own) or that would break
/// the exchange.
bool is_managed_header(std::string_view name) {
    return iequals(name, "Host") || iequals(name, "Content-Length") ||
           iequals(name, "Transfer-Encoding") || iequals(name, "Trailer") ||
           iequals(name, "Connection");
}

http::request<http::string_body>
build_request(const HttpCall& call, const config::TargetUrl& url, bool copy_sensitive) {
    http::request<http::string_body> req;
    req.method_string(call.method);
    std::string target = url.path.empty() ? "/" : url.path;
    if (!url.query.empty()) {
        target += "?" + url.query;
    }
    req.target(target);
    req.version(11);
    req.set(http::field::host, url.host_header);
    bool has_user_agent = false;
    bool has_content_type = false;
    for (const auto& [name, value] : call.headers) {
        if (is_managed_header(name) || (!copy_sensitive && is_sensitive_header(name))) {
            continue;
        }
        has_user_agent = has_user_agent || iequals(name, "User-Agent");
        has_content_type = has_content_type || iequals(name, "Content-Type");
        req.set(name, value);
    }
    if (!has_user_agent) {
        req.set(http::field::user_agent, "Portcullis/" PORTCULLIS_VERSION);
    }
    if (call.body_is_form && !has_content_type && !call.body.empty()) {
        req.set(http::field::content_type, "application/x-www-form-urlencoded");
    }
    req.set(http::field::connection, "close");
    req.body() = call.body;
    // As Go: a Content-Length for any body, and "0" for an empty POST, PUT or PATCH.
    if (!call.body.empty() || call.method == "POST" || call.method == "PUT" ||
        call.method == "PATCH") {
        req.content_length(call.body.size());
    }
    return req;
}

/// One hop: resolve, connect, (TLS handshake), write, read; all by `deadline`.
HttpOutcome exchange_once(const config::TargetUrl& url,
                          http::request<http::string_body> request,
                          Deadline deadline,
                          ssl::context* tls,
                          std::size_t body_limit) {
    std::string error;
    const auto endpoints = blocking_resolve(url.host, url.port, deadline, error);
    if (endpoints.empty()) {
        return failed(error);
    }
    if (Clock::now() >= deadline) {
        return failed("timeout");
    }

    asio::io_context ioc{1};
    Exchange ex;
    ex.request = std::move(request);
    ex.parser.body_limit(body_limit);
    ex.parser.header_limit(kMaxResponseHeaderBytes);
    if (ex.request.method() == http::verb::head) {
        ex.parser.skip(true);
    }

    if (tls == nullptr) {
        beast::tcp_stream stream(ioc);
        stream.expires_at(deadline);
        stream.async_connect(endpoints, [&stream, &ex](error_code ec, const tcp::endpoint&) {
            if (ec) {
                ex.finish(ec);
                return;
            }
            send_and_receive(stream, ex);
        });
        drive(ioc, ex, deadline, [&stream] {
            error_code ignored;
            stream.socket().close(ignored);
        });
    } else {
        beast::ssl_stream<beast::tcp_stream> stream(ioc, *tls);
        error_code ec;
        asio::ip::make_address(url.host, ec);
        // SNI for names only (RFC 6066: no IP literals).
        if (ec && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
            return failed("TLS setup failed");
        }
        stream.set_verify_mode(ssl::verify_peer);
        stream.set_verify_callback(ssl::host_name_verification(url.host));
        auto& lowest = beast::get_lowest_layer(stream);
        lowest.expires_at(deadline);
        lowest.async_connect(endpoints, [&stream, &ex](error_code cec, const tcp::endpoint&) {
            if (cec) {
                ex.finish(cec);
                return;
            }
            ex.stage = "TLS handshake";
            stream.async_handshake(ssl::stream_base::client, [&stream, &ex](error_code hec) {
                if (hec) {
                    ex.finish(hec);
                    return;
                }
                send_and_receive(stream, ex);
            });
        });
        drive(ioc, ex, deadline, [&lowest] {
            error_code ignored;
            lowest.socket().close(ignored);
        });
        // A body delimited by the end of the stream, closed without close_notify.
        if (ex.ec == ssl::error::stream_truncated && !ex.parser.is_done()) {
            error_code eof_ec;
            ex.parser.put_eof(eof_ec);
            if (!eof_ec) {
                ex.ec = {};
            }
        } else if (ex.ec == ssl::error::stream_truncated && ex.parser.is_done()) {
            ex.ec = {};
        }
    }

    if (ex.ec) {
        return failed(describe_failure(ex));
    }
    auto& response = ex.parser.get();
    HttpOutcome out;
    out.status = response.result_int();
    for (const auto& field : response) {
        auto& values = out.headers[transform::canonical_header_key(field.name_string())];
        if (!values.is_array()) {
            values = Json::array();
        }
        values.push_back(std::string(field.value()));
    }
    out.body = std::move(response.body());
    return out;
}

/// The Location of a redirect, resolved against `current`; empty when unusable.
std::string redirect_target(const std::string& current, std::string_view location) {
    const auto base = boost::urls::parse_uri(current);
    const auto ref = boost::urls::parse_uri_reference(location);
    if (!base || !ref) {
        return {};
    }
    boost::urls::url next;
    if (!boost::urls::resolve(*base, *ref, next)) {
        return {};
    }
    next.remove_fragment();
    return std::string(next.buffer());
}

std::string first_header(const Json& headers, const char* name) {
    const auto it = headers.find(name);
    if (it == headers.end() || !it->is_array() || it->empty() || !it->front().is_string()) {
        return {};
    }
    return it->front().get<std::string>();
}

std::optional<std::string> reply_string(const redisReply* reply) {
    if (reply != nullptr &&
        (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)) {
        return std::string(reply->str, reply->len);
    }
    return std::nullopt;
}

std::vector<ApiLifetime> lifetimes(const GatewayState& state) {
    std::vector<ApiLifetime> out;
    if (state.router) {
        for (const auto& api : state.router->apis()) {
            out.push_back(ApiLifetime{api->api_id, api->session_lifetime,
                                      api->session_lifetime_respects_key_expiration});
        }
    }
    return out;
}

} // namespace

// ---- HostServices -------------------------------------------------------------------------------

struct HostServices::Impl {
    StateSource state_source;
    Options options;
    BlockingRedis redis;
    std::unique_ptr<ssl::context> tls;

    std::shared_ptr<const GatewayState> state() const {
        return state_source ? state_source() : nullptr;
    }

    ssl::context* tls_context(std::string& error) {
        if (tls) {
            return tls.get();
        }
        try {
            auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
            SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
            if (options.ca_file.empty()) {
                ctx->set_default_verify_paths();
            } else {
                ctx->load_verify_file(options.ca_file);
            }
            ctx->set_verify_mode(ssl::verify_peer);
            tls = std::move(ctx);
        } catch (const boost::system::system_error& e) {
            error = "TLS setup failed: " + e.code().message();
            return nullptr;
        }
        return tls.get();
    }

    /// One request with Go's http.Client redirect rules.
    HttpOutcome perform(HttpCall call, Deadline deadline) {
        std::string error;
        auto url = config::parse_target_url(call.url, error);
        if (!url) {
            return failed("invalid URL (expected an absolute http:// or https:// URL)");
        }
        if (!call.method.empty() && !is_token(call.method)) {
            return failed("invalid method");
        }
        if (call.method.empty()) {
            call.method = "GET";
        }
        for (const auto& [name, value] : call.headers) {
            if (!is_token(name) || !is_valid_header_value(value)) {
                return failed("invalid header");
            }
        }
        const std::string initial_host = url->host;
        for (int redirects = 0;; ++redirects) {
            if (Clock::now() >= deadline) {
                return failed("timeout");
            }
            ssl::context* tls_ctx = nullptr;
            if (url->tls()) {
                tls_ctx = tls_context(error);
                if (tls_ctx == nullptr) {
                    return failed(error);
                }
            }
            auto request = build_request(call, *url, same_or_subdomain(initial_host, url->host));
            HttpOutcome out = exchange_once(*url, std::move(request), deadline, tls_ctx,
                                            options.max_response_body);
            if (!out.error.empty() || !is_redirect(out.status)) {
                return out;
            }
            const std::string location = first_header(out.headers, "Location");
            if (location.empty()) {
                return out; // as Go: a 3xx without Location is the response
            }
            if (redirects >= options.max_redirects) {
                return failed("stopped after " + std::to_string(options.max_redirects) +
                              " redirects");
            }
            const std::string next = redirect_target(call.url, location);
            auto next_url = next.empty() ? std::nullopt : config::parse_target_url(next, error);
            if (!next_url) {
                return failed("invalid redirect location");
            }
            // Go's redirectBehavior: 301/302/303 turn into GET (HEAD stays) without a body.
            if (out.status == 301 || out.status == 302 || out.status == 303) {
                if (call.method != "GET" && call.method != "HEAD") {
                    call.method = "GET";
                }
                if (!call.body.empty()) {
                    call.body.clear();
                    std::erase_if(call.headers,
                                  [](const auto& h) { return iequals(h.first, "Content-Type"); });
                }
            }
            call.url = next;
            url = std::move(next_url);
        }
    }
};

HostServices::HostServices(StateSource state_source, Options options)
    : impl_(std::make_unique<Impl>()) {
    impl_->state_source = std::move(state_source);
    impl_->options = std::move(options);
}

HostServices::~HostServices() = default;

jsvm::HostCalls HostServices::calls() {
    jsvm::HostCalls calls;
    calls.log = [](std::string_view message) { spdlog::info("jsvm log: {}", message); };
    calls.rawlog = [](std::string_view message) { spdlog::info("jsvm rawlog: {}", message); };
    calls.make_http_request = [this](const std::string& json, Deadline deadline) {
        return make_http_request(json, deadline);
    };
    calls.batch_request = [this](const std::string& json, Deadline deadline) {
        return batch_request(json, deadline);
    };
    calls.get_key_data = [this](const std::string& key, const std::string& api_id,
                                Deadline deadline) { return get_key_data(key, api_id, deadline); };
    calls.set_key_data = [this](const std::string& key, const std::string& session,
                                const std::string& suppress_reset, Deadline deadline) {
        return set_key_data(key, session, suppress_reset, deadline);
    };
    return calls;
}

namespace {

std::string http_response_json(const HttpOutcome& out) {
    Json doc = Json::object();
    doc["Code"] = out.status;
    doc["Body"] = out.body;
    doc["Headers"] = out.headers;
    doc["code"] = out.status;
    doc["body"] = out.body;
    doc["headers"] = out.headers;
    if (!out.error.empty()) {
        doc["error"] = out.error;
    }
    return dump(doc);
}

} // namespace

std::string HostServices::make_http_request(const std::string& request_json, Deadline deadline) {
    const Json input = Json::parse(request_json, nullptr, false);
    if (input.is_discarded() || !input.is_object()) {
        return http_response_json(failed("malformed request: not a JSON object"));
    }
    HttpCall call;
    std::string domain;
    std::string resource;
    std::vector<std::pair<std::string, std::string>> form;
    if (!string_field(input, "Method", call.method) || !string_field(input, "Body", call.body) ||
        !string_field(input, "Domain", domain) || !string_field(input, "Resource", resource) ||
        !string_map_field(input, "Headers", call.headers) ||
        !string_map_field(input, "FormData", form)) {
        return http_response_json(failed("malformed request: a field has the wrong type"));
    }
    call.url = domain + resource;
    if (call.body.empty() && !form.empty()) {
        call.body = form_encode(form);
        call.body_is_form = true;
    }
    return http_response_json(impl_->perform(std::move(call), deadline));
}

std::string HostServices::batch_request(const std::string& batch_json, Deadline deadline) {
    const std::string malformed = status_error("Batch request malformed");
    const Json input = Json::parse(batch_json, nullptr, false);
    const Json* requests = member_ci(input, "requests");
    if (input.is_discarded() || !input.is_object() ||
        (requests != nullptr && !requests->is_null() && !requests->is_array())) {
        return malformed;
    }
    struct Item {
        std::string relative_url;
        HttpCall call;
    };
    std::vector<Item> items;
    if (requests != nullptr && requests->is_array()) {
        for (const auto& r : *requests) {
            Item item;
            if (!r.is_object() || !string_field(r, "method", item.call.method) ||
                !string_field(r, "body", item.call.body) ||
                !string_field(r, "relative_url", item.relative_url) ||
                !string_map_field(r, "headers", item.call.headers)) {
                return malformed;
            }
            items.push_back(std::move(item));
        }
    }

    std::string base;
    if (const auto state = impl_->state(); state && state->config) {
        std::string host = state->config->listen_address;
        if (host.empty() || host == "0.0.0.0") {
            host = "127.0.0.1";
        } else if (host == "::" || host == "[::]") {
            host = "::1";
        }
        if (host.find(':') != std::string::npos && host.front() != '[') {
            host = "[" + host + "]";
        }
        base = "http://" + host + ":" + std::to_string(state->config->listen_port);
    }

    Json replies = Json::array();
    for (auto& item : items) {
        const std::string_view rel = item.relative_url;
        const bool absolute = (rel.size() >= 7 && iequals(rel.substr(0, 7), "http://")) ||
                              (rel.size() >= 8 && iequals(rel.substr(0, 8), "https://"));
        HttpOutcome out;
        if (!absolute && base.empty()) {
            out = failed("gateway address unknown");
        } else {
            item.call.url = absolute ? item.relative_url
                                     : base + (rel.starts_with('/') ? "" : "/") + item.relative_url;
            out = impl_->perform(std::move(item.call), deadline);
        }
        Json reply = Json::object();
        reply["relative_url"] = item.relative_url;
        reply["code"] = out.status;
        reply["headers"] = out.headers;
        reply["body"] = out.body;
        if (!out.error.empty()) {
            reply["error"] = out.error;
        }
        replies.push_back(std::move(reply));
    }
    return dump(replies);
}

std::string
HostServices::get_key_data(const std::string& key, const std::string& api_id, Deadline deadline) {
    const std::string not_found = status_error("Key not found");
    const std::string unavailable = status_error("Session store unavailable");
    const auto state = impl_->state();
    if (!state || !state->config) {
        return unavailable;
    }
    if (key.empty()) {
        return not_found;
    }
    const auto& cfg = *state->config;
    const config::ApiDefinition* api = state->router ? state->router->find_by_id(api_id) : nullptr;
    const std::string org = api != nullptr ? api->org_id : std::string{};

    std::vector<std::string> storage_keys;
    for (const auto& candidate :
         keys::lookup_candidates(key, org, cfg.hash_key_function, cfg.hash_key_function_fallback,
                                 cfg.disable_key_actions_by_username)) {
        storage_keys.push_back(keys::storage_key(candidate, cfg.hash_keys));
    }
    if (storage_keys.empty()) {
        return not_found;
    }
    std::vector<std::string> get{storage_keys.size() == 1 ? "GET" : "MGET"};
    get.insert(get.end(), storage_keys.begin(), storage_keys.end());
    std::string error;
    const ReplyPtr reply = impl_->redis.run(cfg.storage, get, deadline, error);
    if (!reply) {
        spdlog::warn("jsvm TykGetKeyData: key {}: session store: {}", key_tag(key), error);
        return unavailable;
    }
    std::optional<std::string> raw;
    std::string found_key;
    if (reply->type == REDIS_REPLY_ARRAY) {
        for (std::size_t i = 0; i < reply->elements && i < storage_keys.size(); ++i) {
            if (auto value = reply_string(reply->element[i])) {
                raw = std::move(value);
                found_key = storage_keys[i];
                break;
            }
        }
    } else if (auto value = reply_string(reply.get())) {
        raw = std::move(value);
        found_key = storage_keys.front();
    }
    if (!raw) {
        return not_found;
    }
    std::string parse_error;
    auto session = Session::parse(*raw, parse_error);
    if (!session) {
        return not_found;
    }
    // As GET /tyk/keys/{key} (Tyk handleGetDetail): the key as its policies make it.
    if (const std::string policy_error = policy::apply_policies(*session, *state->policies);
        !policy_error.empty()) {
        spdlog::warn("jsvm TykGetKeyData: key {}: policies not applied: {}", key_tag(key),
                     policy_error);
    }
    Json doc = session->document();
    if (doc.contains("basic_auth_data") && doc["basic_auth_data"].is_object()) {
        doc["basic_auth_data"]["password"] = "";
    }
    // quota_remaining from the live counter (the stored copy is written lazily).
    const std::int64_t quota_max = session->quota_max();
    if (quota_max > 0) {
        const std::vector<std::string> quota{
            "GET", "quota-" + found_key.substr(std::string_view("apikey-").size())};
        const ReplyPtr used = impl_->redis.run(cfg.storage, quota, deadline, error);
        std::int64_t count = 0;
        if (const auto text = reply_string(used.get()); text && parse_int64(*text, count)) {
            doc["quota_remaining"] = std::max<std::int64_t>(0, quota_max - count);
        }
    }
    return dump(doc);
}

std::string HostServices::set_key_data(const std::string& key,
                                       const std::string& session_json,
                                       const std::string& suppress_reset,
                                       Deadline deadline) {
    const auto state = impl_->state();
    if (!state || !state->config) {
        spdlog::error("jsvm TykSetKeyData: no configuration; key not saved");
        return {};
    }
    const auto& cfg = *state->config;
    if (key.empty()) {
        spdlog::error("jsvm TykSetKeyData: empty key; not saved");
        return {};
    }
    Json body = Json::parse(session_json, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        spdlog::error("jsvm TykSetKeyData: key {}: failed to decode the session data",
                      key_tag(key));
        return {};
    }
    const bool reset = suppress_reset != "1";
    std::string error;
    auto session = Session::from_json(body, error);
    if (!session) {
        spdlog::error("jsvm TykSetKeyData: key {}: failed to decode the session data",
                      key_tag(key));
        return {};
    }
    // Tyk doAddOrUpdate: every API in access_rights must be loaded; none means a master key.
    const Json& rights = session->access_rights();
    if (rights.empty()) {
        if (!cfg.allow_master_keys) {
            spdlog::error("jsvm TykSetKeyData: key {}: master keys disallowed in configuration, "
                          "key not saved",
                          key_tag(key));
            return {};
        }
    } else {
        for (const auto& [api_id, access] : rights.items()) {
            if (!state->router || state->router->find_by_id(api_id) == nullptr) {
                spdlog::error("jsvm TykSetKeyData: key {}: API {} is not loaded, key not saved",
                              key_tag(key), api_id);
                return {};
            }
        }
    }
    if (reset) {
        const auto now = unix_now();
        session->set_field("last_updated", std::to_string(now));
        if (session->quota_renewal_rate() > 0) {
            session->set_field("quota_renews", now + session->quota_renewal_rate());
        }
    }
    // As Tyk (applyPoliciesAndSave) and the Gateway API: stored with its policies applied.
    if (const std::string policy_error = policy::apply_policies(*session, *state->policies);
        !policy_error.empty()) {
        spdlog::error("jsvm TykSetKeyData: key {}: policies not applied ({}), key not saved",
                      key_tag(key), policy_error);
        return {};
    }
    const std::int64_t ttl =
        session_ttl_seconds(*session, lifetimes(*state), cfg.force_global_session_lifetime,
                            cfg.global_session_lifetime, unix_now());
    std::vector<std::string> set{"SET", keys::storage_key(key, cfg.hash_keys),
                                 session->serialize()};
    if (ttl > 0) {
        set.emplace_back("EX");
        set.push_back(std::to_string(ttl));
    }
    if (!impl_->redis.run(cfg.storage, set, deadline, error)) {
        spdlog::error("jsvm TykSetKeyData: key {}: not saved: {}", key_tag(key), error);
        return {};
    }
    if (reset) {
        const std::string key_id = cfg.hash_keys ? keys::hash_key(key) : key;
        std::vector<std::string> del{"DEL"};
        for (auto& counter : limits::reset_keys(key_id, session->access_rights())) {
            del.push_back(std::move(counter));
        }
        if (!impl_->redis.run(cfg.storage, del, deadline, error)) {
            spdlog::warn("jsvm TykSetKeyData: key {}: quota counters not reset: {}", key_tag(key),
                         error);
        }
    }
    spdlog::debug("jsvm TykSetKeyData: key {} saved", key_tag(key));
    return {};
}

} // namespace portcullis::jsvm_host
