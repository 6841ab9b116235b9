#pragma once

// The synchronous host calls a JavaScript plugin can make (reference section 14, Tyk
// `gateway/mw_js_plugin.go`): TykMakeHttpRequest, TykBatchRequest, TykGetKeyData and
// TykSetKeyData, plus `log`/`rawlog`. The JS engine (middleware/jsvm/js_vm.hpp) calls them on the
// worker thread, inside a plugin call that has a deadline; every call here blocks that thread and
// returns by the deadline (plus a few milliseconds of clean-up at most):
//  * HTTP runs on a private asio::io_context on the calling thread (Beast; TLS with OpenSSL),
//    every socket operation expiring at the deadline; host names are resolved on a short-lived
//    helper thread that the call stops waiting for at the deadline;
//  * Redis goes through one blocking hiredis connection per HostServices (not the worker's
//    asynchronous client, whose replies need the worker's event loop, which is blocked here),
//    opened lazily, kept across calls and re-opened after any error; every wait is bounded by
//    min(deadline, tyk.conf `storage.timeout`).
// Nothing here logs request or response bodies, header values, session contents or keys (keys
// appear only as the first 8 characters of their hash, as in the Gateway API's logs).

#include "gateway/gateway_state.hpp"
#include "middleware/jsvm/js_vm.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace portcullis::jsvm_host {

using Deadline = jsvm::HostCalls::Deadline;

struct Options {
    /// PEM file of trusted CAs for https:// requests, used instead of the system store (tests,
    /// private CAs). Empty: OpenSSL's default verify paths (the system CA store).
    std::string ca_file;
    /// Largest response body TykMakeHttpRequest / TykBatchRequest accept; beyond it the call
    /// fails with an error (nothing is truncated silently).
    std::size_t max_response_body = 10u << 20;
    /// Redirects followed per request (Go's http.Client default: 10).
    int max_redirects = 10;
};

/// The host calls for one worker's JS heaps. Not thread-safe: one worker thread uses it (like the
/// Vm it serves). Keeps one lazily-opened blocking Redis connection reused across calls.
///
/// The configuration (storage settings, hash_keys, listen port, loaded APIs, policies) is read
/// through `state_source` at every call, so a reload is seen by the next call. A source that
/// returns null makes key calls fail as "Session store unavailable" and batch calls fail.
class HostServices {
  public:
    using StateSource = std::function<std::shared_ptr<const GatewayState>()>;

    explicit HostServices(StateSource state_source, Options options = {});
    ~HostServices();
    HostServices(const HostServices&) = delete;
    HostServices& operator=(const HostServices&) = delete;

    /// The functions to hand to jsvm::Vm. They refer to this object: it must outlive every Vm
    /// holding them. `log` and `rawlog` write the plugin's message at info level (logger tags
    /// "jsvm log" / "jsvm rawlog").
    jsvm::HostCalls calls();

    /// TykMakeHttpRequest. Input (Go's json decoding: field names case-insensitive):
    /// `{"Method","Body","Headers":{name:value},"Domain","Resource","FormData":{name:value}}`.
    /// URL = Domain + Resource (absolute http:// or https://). The body is `Body` when non-empty,
    /// else `FormData` url-encoded as Go's url.Values.Encode (keys sorted), with Content-Type
    /// application/x-www-form-urlencoded unless a header sets one. `Connection: close`; redirects
    /// followed like Go's http.Client (up to Options::max_redirects). https verifies the peer
    /// against the CA store and the host name (SNI sent for names).
    /// Output: `{"Code":status,"Body":text,"Headers":{Canonical-Name:[values]},"code","body",
    /// "headers"}` (the lowercase trio repeats the first, as Tyk's TykJSHttpResponse). Any
    /// failure (bad JSON, bad URL, DNS, connect, TLS, timeout, body too large) gives the same
    /// shape with Code 0, an empty body, no headers and an `"error"` text (never request data).
    std::string make_http_request(const std::string& request_json, Deadline deadline);

    /// TykBatchRequest. Input: `{"requests":[{"method","headers":{k:v},"body","relative_url"}],
    /// "suppress_parallel_execution":bool}`. Requests run one after the other (whatever
    /// suppress_parallel_execution says), each bounded by what is left of the deadline. A
    /// `relative_url` that is an absolute http(s) URL is used as is (Tyk's JSVM batch handler
    /// does exactly that); any other is taken relative to this gateway,
    /// `http://<listen_address or 127.0.0.1>:<listen_port>/<relative_url>`.
    /// Output: `[{"relative_url","code","headers":{k:[v]},"body"}]` in request order; a request
    /// that failed has code 0, no headers, an empty body and an `"error"` text. Malformed input:
    /// `{"status":"error","message":"Batch request malformed"}`.
    std::string batch_request(const std::string& batch_json, Deadline deadline);

    /// TykGetKeyData: Tyk's handleGetDetail, like `GET /tyk/keys/{key}`: the session found with
    /// the gateway's lookup rules (keys::lookup_candidates for the org of API `api_id`, then
    /// keys::storage_key), with its policies applied, `quota_remaining` from the live quota
    /// counter when quota_max > 0, and `basic_auth_data.password` blanked.
    /// `{"status":"error","message":"Key not found"}` when missing (or not a JSON object);
    /// `{"status":"error","message":"Session store unavailable"}` when Redis fails or the deadline
    /// passed.
    std::string get_key_data(const std::string& key, const std::string& api_id, Deadline deadline);

    /// TykSetKeyData: Tyk's doAddOrUpdate(key, session, suppress_reset == "1"). The session must
    /// be a JSON object; access_rights must name only loaded APIs, or be empty with
    /// allow_master_keys on. Unless suppress_reset is exactly "1": `last_updated` = now,
    /// `quota_renews` = now + quota_renewal_rate (when > 0), and the quota counters are deleted
    /// (limits::reset_keys). Policies are applied, then the session is SET at
    /// keys::storage_key(key as given, hash_keys) with the TTL of session_ttl_seconds over every
    /// loaded API. Always returns "" (Tyk returns undefined); failures are logged.
    std::string set_key_data(const std::string& key,
                             const std::string& session_json,
                             const std::string& suppress_reset,
                             Deadline deadline);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace portcullis::jsvm_host
