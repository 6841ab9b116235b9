#pragma once

// Tyk's JavaScript middleware engine ("JSVM", reference section 14) on Duktape (ES5.1, like Tyk's
// otto): one heap, its TykJS prelude, the plugin scripts evaluated once, and calls into a
// plugin's DoProcessRequest / DoProcessResponse with a deadline and a memory cap. No file,
// process or network access from scripts: the only ways out are the host calls below.
//
// A Vm is used by one thread only (each worker owns its own); it is not thread-safe.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace portcullis::jsvm {

/// Limits of one heap.
struct Limits {
    std::chrono::milliseconds timeout{5000}; // per call (tyk.conf jsvm_timeout)
    std::size_t memory_bytes = 64u << 20;    // heap allocation cap
};

/// Synchronous services a plugin can call, provided by the gateway layer. An empty function
/// makes the JS helper return an error value (see each). `deadline` is when the current call
/// must end; a host call must not run past it.
struct HostCalls {
    using Deadline = std::chrono::steady_clock::time_point;
    /// `log(msg)` and `rawlog(msg)`.
    std::function<void(std::string_view message)> log;
    std::function<void(std::string_view message)> rawlog;
    /// TykMakeHttpRequest(json) -> response JSON text (Tyk's TykJSHttpResponse).
    std::function<std::string(const std::string& request_json, Deadline deadline)>
        make_http_request;
    /// TykBatchRequest(json) -> reply JSON text.
    std::function<std::string(const std::string& batch_json, Deadline deadline)> batch_request;
    /// TykGetKeyData(key, api_id) -> session JSON text ("{}" style error JSON when missing).
    std::function<std::string(const std::string& key, const std::string& api_id, Deadline deadline)>
        get_key_data;
    /// TykSetKeyData(key, session_json, suppress_reset) -> "" .
    std::function<std::string(const std::string& key,
                              const std::string& session_json,
                              const std::string& suppress_reset,
                              Deadline deadline)>
        set_key_data;
};

/// The outcome of a call into a plugin.
struct CallResult {
    bool ok = false;
    std::string json;  // what the plugin returned (JSON text), when ok
    std::string error; // why not, when !ok (never contains request data)
    bool timed_out = false;
    bool out_of_memory = false;
};

/// One Duktape heap with the TykJS prelude loaded.
class Vm {
  public:
    Vm(Limits limits, HostCalls host);
    ~Vm();
    Vm(const Vm&) = delete;
    Vm& operator=(const Vm&) = delete;

    /// Evaluates a plugin script (once). Empty on success, else the error (with `filename` and
    /// line when Duktape gives one). Runs under the same deadline and memory cap as calls.
    std::string load(std::string_view source, const std::string& filename);

    /// Whether a global named `name` exists and is an object (a loaded middleware).
    bool has_middleware(const std::string& name);

    /// `<name>.DoProcessRequest(request, session, config)`: the three arguments are JSON texts
    /// (Tyk's MiniRequestObject with a base64 `Body`, the session, `{"OrgID","APIID",
    /// "config_data"}`). Returns the JSON text the prelude produced.
    CallResult process_request(const std::string& name,
                               const std::string& request_json,
                               const std::string& session_json,
                               const std::string& config_json);

    /// `<name>.DoProcessResponse(response, session, config)` (Tyk's MiniResponseObject with a
    /// base64 `Body`).
    CallResult process_response(const std::string& name,
                                const std::string& response_json,
                                const std::string& session_json,
                                const std::string& config_json);

    /// Bytes currently allocated by the heap.
    std::size_t memory_in_use() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace portcullis::jsvm
