#include "middleware/jsvm/js_vm.hpp"

#include "middleware/keys/base64.hpp"

#include <duktape/duktape.h>
#include <spdlog/spdlog.h>

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <utility>

// The generated Duktape (cmake/duktape.cmake) has the timeout hook; the packaged one does not.
#if !defined(DUK_USE_EXEC_TIMEOUT_CHECK) || !defined(DUK_USE_INTERRUPT_COUNTER)
#error "js_vm.cpp needs the patched Duktape of cmake/duktape.cmake (<duktape/duktape.h>)"
#endif

// How this file stays safe around Duktape's non-local exits
// --------------------------------------------------------
// Duktape reports errors with longjmp (it is built as C). A Duktape error therefore unwinds
// through every C++ frame between the throw and the catching protected call without running
// destructors. Two rules follow:
//  1. Every entry into Duktape that can throw happens inside duk_safe_call (Engine::
//     protected_call), so script errors, timeouts and allocation failures come back as values.
//  2. Our native functions (log, b64enc, ...) call throwing Duktape APIs only while no C++ object
//     with a destructor is alive in their frame: arguments are read first, C++ work runs in a
//     noexcept helper (Engine::host_try) that leaves its result in Engine::scratch, and only
//     then is the result pushed. C++ exceptions never cross into Duktape's C frames.
// Duktape's fatal handler (called for an error with no catcher; with rule 1 that cannot happen,
// short of a Duktape bug) must not return: Duktape would abort() the process. Ours logs, marks
// the heap unusable and longjmps to the landing point set by Engine::guarded around every entry
// (destructor-free frames only, by rules 1 and 2). The heap is then abandoned without
// duk_destroy_heap (its state is unknown; a leak beats a crash) and every later call answers
// "javascript heap unusable". A C++ exception cannot be used there: it would have to cross
// Duktape's C frames.

namespace portcullis::jsvm {

namespace {

using Deadline = HostCalls::Deadline;
using Clock = std::chrono::steady_clock;

// The TykJS prelude: Tyk's JSVM middleware API (reference section 14) in ES5. The natives are
// captured when the prelude runs, so a plugin redefining a global `log` or `JSON` does not break
// the glue of other plugins.
constexpr std::string_view kPrelude = R"JS(
var TykJS = (function (log, b64enc, b64dec, stringify) {
    'use strict';

    function decodeBody(body) {
        if (body === undefined || body === null) {
            return '';
        }
        var text = b64dec(body);
        return text === undefined ? '' : text;
    }

    function encodeBody(body) {
        if (body === undefined || body === null) {
            return '';
        }
        return b64enc(body);
    }

    // new TykJS.TykMiddleware.NewMiddleware(config)
    function NewMiddleware(configuration) {
        if (!(this instanceof NewMiddleware)) {
            return new NewMiddleware(configuration);
        }
        this.configuration = configuration;
    }
    var mw = NewMiddleware.prototype;

    mw.ProcessRequest = function () {
        log('ProcessRequest not implemented: call NewProcessRequest(function (request, session, config) {...})');
        return undefined;
    };
    mw.ProcessResponse = function () {
        log('ProcessResponse not implemented: call NewProcessResponse(function (response, session, config) {...})');
        return undefined;
    };
    mw.NewProcessRequest = function (fn) {
        this.ProcessRequest = fn;
    };
    mw.NewProcessResponse = function (fn) {
        this.ProcessResponse = fn;
    };
    mw.ReturnData = function (request, sessionMeta) {
        return { Request: request, SessionMeta: sessionMeta };
    };
    mw.ReturnAuthData = function (request, session) {
        return { Request: request, Session: session };
    };
    mw.ReturnResponseData = function (response, sessionMeta) {
        return { Response: response, SessionMeta: sessionMeta };
    };

    // Called by the gateway: the body arrives base64-encoded and leaves base64-encoded; the
    // plugin sees text. Edits to Headers are ignored (SetHeaders / DeleteHeaders are the way).
    mw.DoProcessRequest = function (request, session, config) {
        request.Body = decodeBody(request.Body);
        var result = this.ProcessRequest(request, session, config);
        if (!result) {
            log("Middleware didn't return request object!");
            return undefined;
        }
        if (!result.Request) {
            throw new TypeError('the middleware result has no Request (return ReturnData(...) or ReturnAuthData(...))');
        }
        result.Request.Headers = {};
        result.Request.Body = encodeBody(result.Request.Body);
        return stringify(result);
    };

    mw.DoProcessResponse = function (response, session, config) {
        response.Body = decodeBody(response.Body);
        var result = this.ProcessResponse(response, session, config);
        if (!result) {
            log("Middleware didn't return response object!");
            return undefined;
        }
        if (!result.Response) {
            throw new TypeError('the middleware result has no Response (return ReturnResponseData(...))');
        }
        result.Response.Body = encodeBody(result.Response.Body);
        return stringify(result);
    };

    // new TykJS.TykEventHandlers.NewEventHandler(config)
    function NewEventHandler(configuration) {
        if (!(this instanceof NewEventHandler)) {
            return new NewEventHandler(configuration);
        }
        this.configuration = configuration;
    }
    var eh = NewEventHandler.prototype;

    eh.Handler = function () {
        log('event handler not implemented: call NewHandler(function (event, context) {...})');
        return undefined;
    };
    eh.NewHandler = function (fn) {
        this.Handler = fn;
    };
    eh.DoProcessEvent = function (event, context) {
        if (typeof event === 'string') {
            event = JSON.parse(event);
        }
        return this.Handler(event, context);
    };

    return {
        TykMiddleware: { NewMiddleware: NewMiddleware, MiddlewareComponentMeta: NewMiddleware },
        TykEventHandlers: { NewEventHandler: NewEventHandler, EventHandlerComponentMeta: NewEventHandler }
    };
})(log, b64enc, b64dec, JSON.stringify);

// Virtual-endpoint style reply helper.
var TykJsResponse = (function (stringify) {
    return function (response, sessionMeta) {
        return stringify({ Response: response, SessionMeta: sessionMeta });
    };
})(JSON.stringify);
)JS";

constexpr const char* kNoHttpReply = R"({"Code":0,"Body":"","Headers":{},"code":0,"body":"",)"
                                     R"("headers":{},"error":"not available"})";
constexpr std::size_t kMaxErrorText = 300;
constexpr duk_int_t kFatal = -1000; // protected_call: the fatal handler ran

// Allocation header in front of every block Duktape gets: the block's size, for accounting.
struct alignas(std::max_align_t) BlockHeader {
    std::size_t size;
};
constexpr std::size_t kHeaderSize = sizeof(BlockHeader);

BlockHeader* header_of(void* ptr) {
    return reinterpret_cast<BlockHeader*>(static_cast<char*>(ptr) - kHeaderSize);
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// Duktape strings are CESU-8-ish: a character outside the BMP that was built from \u escapes is
// stored as two 3-byte surrogates, and a string may hold arbitrary bytes. The gateway needs
// UTF-8: surrogate pairs are joined, and lone surrogates and invalid bytes become U+FFFD (what
// Go does to such text, so what Tyk's otto produces).
std::string to_utf8(std::string_view in) {
    std::size_t i = 0;
    while (i < in.size() && static_cast<unsigned char>(in[i]) < 0x80) {
        ++i;
    }
    if (i == in.size()) {
        return std::string(in);
    }
    std::string out(in.substr(0, i));
    out.reserve(in.size() + 8);
    const auto byte = [&](std::size_t k) -> std::uint32_t {
        return k < in.size() ? static_cast<unsigned char>(in[k]) : 0U;
    };
    const auto cont = [&](std::size_t k) { return (byte(k) & 0xC0U) == 0x80U; };
    while (i < in.size()) {
        const std::uint32_t b = byte(i);
        if (b < 0x80) {
            out.push_back(static_cast<char>(b));
            ++i;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF && cont(i + 1)) {
            out.append(in.substr(i, 2));
            i += 2;
            continue;
        }
        if (b >= 0xE0 && b <= 0xEF && cont(i + 1) && cont(i + 2)) {
            const std::uint32_t cp =
                ((b & 0x0FU) << 12) | ((byte(i + 1) & 0x3FU) << 6) | (byte(i + 2) & 0x3FU);
            if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
                out.append(in.substr(i, 3));
                i += 3;
                continue;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF && byte(i + 3) == 0xED && cont(i + 4) && cont(i + 5)) {
                const std::uint32_t lo = ((byte(i + 3) & 0x0FU) << 12) |
                                         ((byte(i + 4) & 0x3FU) << 6) | (byte(i + 5) & 0x3FU);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    append_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
                    i += 6;
                    continue;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) { // lone surrogate: one replacement for 3 bytes
                out.append("\xEF\xBF\xBD");
                i += 3;
                continue;
            }
        }
        if (b >= 0xF0 && b <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
            const std::uint32_t cp = ((b & 0x07U) << 18) | ((byte(i + 1) & 0x3FU) << 12) |
                                     ((byte(i + 2) & 0x3FU) << 6) | (byte(i + 3) & 0x3FU);
            if (cp >= 0x10000 && cp <= 0x10FFFF) {
                out.append(in.substr(i, 4));
                i += 4;
                continue;
            }
        }
        out.append("\xEF\xBF\xBD");
        ++i;
    }
    return out;
}

// Joins CESU-8 surrogate pairs (what Duktape makes of a non-BMP character written in source
// code, a \u escape or String.fromCharCode) into 4-byte UTF-8 and leaves every other byte as it
// is, so b64enc gives UTF-8 for text built in JavaScript while arbitrary (binary) bytes still
// round trip. Only the 6-byte pattern ED A0-AF xx ED B0-BF xx changes, which valid UTF-8 never
// contains.
std::string join_surrogate_pairs(std::string_view in) {
    std::size_t i = in.find('\xED');
    if (i == std::string_view::npos) {
        return std::string(in);
    }
    const auto byte = [&](std::size_t k) -> std::uint32_t {
        return k < in.size() ? static_cast<unsigned char>(in[k]) : 0U;
    };
    std::string out(in.substr(0, i));
    out.reserve(in.size());
    while (i < in.size()) {
        if (byte(i) == 0xED && byte(i + 1) >= 0xA0 && byte(i + 1) <= 0xAF &&
            (byte(i + 2) & 0xC0U) == 0x80U && byte(i + 3) == 0xED && byte(i + 4) >= 0xB0 &&
            byte(i + 4) <= 0xBF && (byte(i + 5) & 0xC0U) == 0x80U) {
            const std::uint32_t hi = ((byte(i + 1) & 0x0FU) << 6) | (byte(i + 2) & 0x3FU);
            const std::uint32_t lo = ((byte(i + 4) & 0x0FU) << 6) | (byte(i + 5) & 0x3FU);
            append_utf8(out, 0x10000 + (hi << 10) + lo);
            i += 6;
        } else {
            out.push_back(in[i]);
            ++i;
        }
    }
    return out;
}

std::string truncated(std::string text) {
    if (text.size() > kMaxErrorText) {
        std::size_t cut = kMaxErrorText;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
            --cut; // do not split a UTF-8 sequence
        }
        text.resize(cut);
        text += "...";
    }
    return text;
}

/// One Duktape heap and its accounting. Vm::Impl is this; it is a separate type so the C
/// callbacks below can name it. Single-threaded, like Vm.
class Engine {
  public:
    Engine(Limits limits, HostCalls host) : limits_(limits), host_(std::move(host)) { create(); }
    ~Engine() { destroy(); }
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    std::string load(std::string_view source, const std::string& filename);
    bool has_middleware(const std::string& name);
    CallResult
    call(const std::string& name, const char* method, const std::string* const (&json)[3]);
    std::size_t memory_in_use() const { return used_; }

    // --- callbacks from Duktape (C linkage shims below) ---
    void* alloc(std::size_t size) noexcept;
    void* realloc(void* ptr, std::size_t size) noexcept;
    void free(void* ptr) noexcept;
    [[noreturn]] void fatal(const char* msg) noexcept;
    bool timed_out() noexcept {
        if (Clock::now() > deadline_) {
            timed_out_hit_ = true;
            return true;
        }
        return false;
    }

    // --- for the natives ---
    const HostCalls& host() const { return host_; }
    Deadline deadline() const { return deadline_; }
    std::string scratch; // a native's C++ result, alive while it is pushed (see top)
    /// Runs `f` (C++ work of a native) catching every exception; false when it threw.
    template <typename F> bool host_try(const char* what, F&& f) noexcept {
        try {
            f();
            return true;
        } catch (const std::exception& e) {
            try {
                spdlog::warn("jsvm: {} failed: {}", what, e.what());
            } catch (...) {
            }
        } catch (...) {
            try {
                spdlog::warn("jsvm: {} failed", what);
            } catch (...) {
            }
        }
        return false;
    }

  private:
    void create();
    void destroy() noexcept;
    bool usable() const { return ctx_ != nullptr && !in_entry_; }
    std::string unusable_text() const {
        return in_entry_ ? "javascript vm re-entered from a host call" : "javascript heap unusable";
    }
    /// Drops everything above `base` (no-op once the heap was abandoned by a fatal error).
    void reset_stack(duk_idx_t base) noexcept {
        if (ctx_ != nullptr) {
            duk_set_top(ctx_, base);
        }
    }
    /// Calls fn(*this, arg) with a landing point for the fatal handler (see top).
    bool guarded(void (*fn)(Engine&, void*), void* arg) noexcept;
    /// duk_safe_call under guarded(); kFatal when the fatal handler ran.
    duk_int_t protected_call(duk_safe_call_function fn,
                             void* udata,
                             duk_idx_t nargs,
                             duk_idx_t nrets) noexcept;
    void begin(Deadline deadline) {
        deadline_ = deadline;
        timed_out_hit_ = false;
        oom_hit_ = false;
        in_entry_ = true;
    }
    void end() {
        deadline_ = Deadline::max();
        in_entry_ = false;
    }
    /// Why the protected call whose error value is on the stack top failed (the caller resets
    /// the stack afterwards).
    std::string failure_text(bool with_file);
    std::string timeout_text() const {
        return "javascript timed out after " + std::to_string(limits_.timeout.count()) + " ms";
    }
    std::string oom_text() const {
        return "javascript heap out of memory (limit " + std::to_string(limits_.memory_bytes) +
               " bytes)";
    }

    Limits limits_;
    HostCalls host_;
    duk_context* ctx_ = nullptr;
    bool in_entry_ = false;
    std::size_t used_ = 0;
    bool oom_hit_ = false;
    Deadline deadline_ = Deadline::max();
    bool timed_out_hit_ = false;
    std::jmp_buf* fatal_jump_ = nullptr;
};

Engine& engine_of(duk_context* ctx) {
    duk_memory_functions funcs{};
    duk_get_memory_functions(ctx, &funcs);
    return *static_cast<Engine*>(funcs.udata);
}

// ---------------------------------------------------------------------------------------------
// Memory: every block carries its size in a header; the running total is capped.

void* Engine::alloc(std::size_t size) noexcept {
    if (size > limits_.memory_bytes || used_ + kHeaderSize + size > limits_.memory_bytes) {
        oom_hit_ = true;
        return nullptr;
    }
    void* raw = std::malloc(kHeaderSize + size);
    if (raw == nullptr) {
        oom_hit_ = true;
        return nullptr;
    }
    static_cast<BlockHeader*>(raw)->size = size;
    used_ += kHeaderSize + size;
    return static_cast<char*>(raw) + kHeaderSize;
}

void* Engine::realloc(void* ptr, std::size_t size) noexcept {
    if (ptr == nullptr) {
        return alloc(size);
    }
    BlockHeader* header = header_of(ptr);
    const std::size_t old = header->size;
    if (size > old &&
        (size > limits_.memory_bytes || used_ + (size - old) > limits_.memory_bytes)) {
        oom_hit_ = true;
        return nullptr;
    }
    void* raw = std::realloc(header, kHeaderSize + size);
    if (raw == nullptr) {
        oom_hit_ = true;
        return nullptr; // the old block stays valid, as realloc promises
    }
    static_cast<BlockHeader*>(raw)->size = size;
    used_ = used_ - old + size;
    return static_cast<char*>(raw) + kHeaderSize;
}

void Engine::free(void* ptr) noexcept {
    if (ptr == nullptr) {
        return;
    }
    BlockHeader* header = header_of(ptr);
    used_ -= kHeaderSize + header->size;
    std::free(header);
}

void* duk_alloc_cb(void* udata, duk_size_t size) {
    return static_cast<Engine*>(udata)->alloc(size);
}
void* duk_realloc_cb(void* udata, void* ptr, duk_size_t size) {
    return static_cast<Engine*>(udata)->realloc(ptr, size);
}
void duk_free_cb(void* udata, void* ptr) {
    static_cast<Engine*>(udata)->free(ptr);
}

// ---------------------------------------------------------------------------------------------
// Fatal errors and protected entry.

void log_fatal(const char* msg) noexcept {
    try {
        spdlog::critical("jsvm: Duktape fatal error ({}); this JavaScript heap is abandoned",
                         msg != nullptr ? msg : "?");
    } catch (...) {
    }
}

void Engine::fatal(const char* msg) noexcept {
    log_fatal(msg);
    if (fatal_jump_ != nullptr) {
        std::longjmp(*fatal_jump_, 1);
    }
    // Outside every entry point nothing runs in Duktape (guarded() wraps all of them), so this
    // is unreachable; returning would make Duktape abort anyway.
    std::abort();
}

void duk_fatal_cb(void* udata, const char* msg) {
    static_cast<Engine*>(udata)->fatal(msg);
}

bool Engine::guarded(void (*fn)(Engine&, void*), void* arg) noexcept {
    std::jmp_buf landing;
    fatal_jump_ = &landing;
    if (setjmp(landing) != 0) {
        fatal_jump_ = nullptr;
        ctx_ = nullptr; // abandoned, deliberately not destroyed (see top)
        return false;
    }
    fn(*this, arg);
    fatal_jump_ = nullptr;
    return true;
}

struct SafeCall {
    duk_safe_call_function fn;
    void* udata;
    duk_idx_t nargs;
    duk_idx_t nrets;
    duk_int_t rc;
    duk_context* ctx;
};

void run_safe_call(Engine&, void* arg) {
    auto* call = static_cast<SafeCall*>(arg);
    call->rc = duk_safe_call(call->ctx, call->fn, call->udata, call->nargs, call->nrets);
}

duk_int_t Engine::protected_call(duk_safe_call_function fn,
                                 void* udata,
                                 duk_idx_t nargs,
                                 duk_idx_t nrets) noexcept {
    SafeCall call{fn, udata, nargs, nrets, DUK_EXEC_ERROR, ctx_};
    if (!guarded(&run_safe_call, &call)) {
        return kFatal;
    }
    return call.rc;
}

// ---------------------------------------------------------------------------------------------
// Natives. Pattern (see top): read arguments (may throw into JS), C++ work in host_try with the
// result in scratch, then push (may throw) with no C++ object alive.

// The string value of argument `idx`; an object (not a function) is JSON-encoded first, so
// TykMakeHttpRequest(obj) works as well as TykMakeHttpRequest(JSON.stringify(obj)).
std::string_view json_arg(duk_context* ctx, duk_idx_t idx) {
    if (duk_is_object(ctx, idx) && !duk_is_function(ctx, idx)) {
        duk_json_encode(ctx, idx);
    }
    duk_size_t n = 0;
    const char* p = duk_to_lstring(ctx, idx, &n);
    return {p, n};
}

std::string_view string_arg(duk_context* ctx, duk_idx_t idx) {
    duk_size_t n = 0;
    const char* p = duk_to_lstring(ctx, idx, &n);
    return {p, n};
}

// Pushes bytes as a JS string. Duktape reads a string whose first byte is 0x80-0x82 or 0xFF as a
// Symbol; such (binary) data is converted to UTF-8 with U+FFFD for invalid bytes first, which is
// what Tyk's otto does to every non-UTF-8 string.
duk_ret_t push_bytes(duk_context* ctx, Engine& e) {
    if (!e.scratch.empty()) {
        const auto first = static_cast<unsigned char>(e.scratch[0]);
        if ((first >= 0x80 && first <= 0x82) || first == 0xFF) {
            if (!e.host_try("decode", [&] { e.scratch = to_utf8(e.scratch); })) {
                return duk_error(ctx, DUK_ERR_ERROR, "out of memory");
            }
        }
    }
    duk_push_lstring(ctx, e.scratch.data(), e.scratch.size());
    return 1;
}

duk_ret_t log_common(duk_context* ctx, bool raw) {
    Engine& e = engine_of(ctx);
    const std::string_view text = string_arg(ctx, 0);
    e.host_try(raw ? "rawlog" : "log", [&] {
        const std::string message = to_utf8(text);
        const auto& fn = raw ? e.host().rawlog : e.host().log;
        if (fn) {
            fn(message);
        } else {
            spdlog::info("jsvm: {}", message);
        }
    });
    return 0;
}

duk_ret_t js_log(duk_context* ctx) {
    return log_common(ctx, false);
}
duk_ret_t js_rawlog(duk_context* ctx) {
    return log_common(ctx, true);
}

duk_ret_t encode_common(duk_context* ctx, bool raw) {
    Engine& e = engine_of(ctx);
    const std::string_view bytes = string_arg(ctx, 0);
    if (!e.host_try("b64enc", [&] {
            e.scratch = keys::base64_encode(join_surrogate_pairs(bytes));
            if (raw) {
                while (!e.scratch.empty() && e.scratch.back() == '=') {
                    e.scratch.pop_back();
                }
            }
        })) {
        return duk_error(ctx, DUK_ERR_ERROR, "out of memory");
    }
    duk_push_lstring(ctx, e.scratch.data(), e.scratch.size());
    return 1;
}

duk_ret_t decode_common(duk_context* ctx, bool raw) {
    Engine& e = engine_of(ctx);
    const std::string_view text = string_arg(ctx, 0);
    bool decoded = false;
    if (!e.host_try("b64dec", [&] {
            // b64dec: padded standard base64, unpadded accepted as a fallback (Tyk tries
            // StdEncoding then RawStdEncoding); rawb64dec: unpadded (padding tolerated).
            std::optional<std::string> out = keys::base64_decode(text);
            decoded = out.has_value();
            if (decoded) {
                e.scratch = std::move(*out);
            } else {
                spdlog::warn("jsvm: {}: argument is not valid base64 ({} bytes)",
                             raw ? "rawb64dec" : "b64dec", text.size());
            }
        })) {
        return duk_error(ctx, DUK_ERR_ERROR, "out of memory");
    }
    if (!decoded) {
        return 0; // undefined
    }
    return push_bytes(ctx, e);
}

duk_ret_t js_b64enc(duk_context* ctx) {
    return encode_common(ctx, false);
}
duk_ret_t js_b64dec(duk_context* ctx) {
    return decode_common(ctx, false);
}
duk_ret_t js_rawb64enc(duk_context* ctx) {
    return encode_common(ctx, true);
}
duk_ret_t js_rawb64dec(duk_context* ctx) {
    return decode_common(ctx, true);
}

// Pushes scratch after a host call; a host call that threw gives undefined (Tyk returns an
// empty value when its request fails).
duk_ret_t push_host_result(duk_context* ctx, Engine& e, bool ok) {
    if (!ok) {
        return 0;
    }
    duk_push_lstring(ctx, e.scratch.data(), e.scratch.size());
    return 1;
}

duk_ret_t js_make_http_request(duk_context* ctx) {
    Engine& e = engine_of(ctx);
    const std::string_view request = json_arg(ctx, 0);
    if (!e.host().make_http_request) {
        duk_push_string(ctx, kNoHttpReply);
        return 1;
    }
    const bool ok = e.host_try("TykMakeHttpRequest", [&] {
        e.scratch = e.host().make_http_request(to_utf8(request), e.deadline());
    });
    return push_host_result(ctx, e, ok);
}

duk_ret_t js_batch_request(duk_context* ctx) {
    Engine& e = engine_of(ctx);
    const std::string_view batch = json_arg(ctx, 0);
    if (!e.host().batch_request) {
        duk_push_string(ctx, kNoHttpReply);
        return 1;
    }
    const bool ok = e.host_try("TykBatchRequest", [&] {
        e.scratch = e.host().batch_request(to_utf8(batch), e.deadline());
    });
    return push_host_result(ctx, e, ok);
}

duk_ret_t js_get_key_data(duk_context* ctx) {
    Engine& e = engine_of(ctx);
    const std::string_view key = string_arg(ctx, 0);
    const std::string_view api_id = string_arg(ctx, 1);
    if (!e.host().get_key_data) {
        duk_push_string(ctx, "");
        return 1;
    }
    const bool ok = e.host_try("TykGetKeyData", [&] {
        e.scratch = e.host().get_key_data(to_utf8(key), to_utf8(api_id), e.deadline());
    });
    return push_host_result(ctx, e, ok);
}

duk_ret_t js_set_key_data(duk_context* ctx) {
    Engine& e = engine_of(ctx);
    const std::string_view key = string_arg(ctx, 0);
    const std::string_view session = json_arg(ctx, 1);
    if (duk_is_null_or_undefined(ctx, 2)) {
        duk_push_string(ctx, "");
        duk_replace(ctx, 2);
    }
    const std::string_view suppress_reset = string_arg(ctx, 2);
    if (!e.host().set_key_data) {
        duk_push_string(ctx, "");
        return 1;
    }
    const bool ok = e.host_try("TykSetKeyData", [&] {
        e.scratch = e.host().set_key_data(to_utf8(key), to_utf8(session), to_utf8(suppress_reset),
                                          e.deadline());
    });
    return push_host_result(ctx, e, ok);
}

struct Native {
    const char* name;
    duk_c_function fn;
    duk_idx_t nargs;
};
constexpr Native kNatives[] = {
    {"log", js_log, 1},
    {"rawlog", js_rawlog, 1},
    {"b64enc", js_b64enc, 1},
    {"b64dec", js_b64dec, 1},
    {"rawb64enc", js_rawb64enc, 1},
    {"rawb64dec", js_rawb64dec, 1},
    {"TykMakeHttpRequest", js_make_http_request, 1},
    {"TykBatchRequest", js_batch_request, 1},
    {"TykGetKeyData", js_get_key_data, 2},
    {"TykSetKeyData", js_set_key_data, 3},
};

// ---------------------------------------------------------------------------------------------
// Safe-call bodies (run inside duk_safe_call; may throw freely: no C++ objects here).

struct ScriptArgs {
    const char* source;
    std::size_t size;
    const char* filename;
};

// [] -> [] : compiles and runs one script.
duk_ret_t run_script(duk_context* ctx, void* udata) {
    auto* args = static_cast<ScriptArgs*>(udata);
    duk_push_string(ctx, args->filename);
    duk_compile_lstring_filename(ctx, 0, args->source, args->size);
    duk_call(ctx, 0);
    return 0;
}

// [] -> [] : the natives, the sandbox trimming, the prelude.
duk_ret_t setup_heap(duk_context* ctx, void* udata) {
    for (const Native& native : kNatives) {
        duk_push_c_function(ctx, native.fn, native.nargs);
        duk_put_global_string(ctx, native.name);
    }
    // Duktape 2 has no print/alert/require; drop the Duktape object too (finalizers, internals
    // inspection, error hooks are not for plugins).
    duk_push_global_object(ctx);
    duk_del_prop_string(ctx, -1, "Duktape");
    duk_del_prop_string(ctx, -1, "print");
    duk_del_prop_string(ctx, -1, "alert");
    duk_del_prop_string(ctx, -1, "require");
    duk_pop(ctx);
    return run_script(ctx, udata);
}

// [error] -> [text fileName lineNumber]
duk_ret_t describe_error(duk_context* ctx, void*) {
    duk_dup(ctx, 0);
    duk_safe_to_string(ctx, -1);
    if (duk_is_error(ctx, 0)) {
        duk_get_prop_string(ctx, 0, "fileName");
        duk_get_prop_string(ctx, 0, "lineNumber");
    } else {
        duk_push_undefined(ctx);
        duk_push_undefined(ctx);
    }
    return 3;
}

struct CallArgs {
    const char* name;
    const char* method;
    const std::string* const* json; // [3]
    enum { ok, no_object, no_method } lookup = ok;
    int decoding = -1; // index of the argument being JSON-decoded, -1 after
};

// [] -> [result] : <name>.<method>(json0, json1, json2)
duk_ret_t call_middleware(duk_context* ctx, void* udata) {
    auto* args = static_cast<CallArgs*>(udata);
    if (!duk_get_global_string(ctx, args->name) || !duk_is_object(ctx, -1)) {
        args->lookup = CallArgs::no_object;
        return 0;
    }
    duk_get_prop_string(ctx, -1, args->method);
    if (!duk_is_callable(ctx, -1)) {
        args->lookup = CallArgs::no_method;
        return 0;
    }
    duk_dup(ctx, -2); // this
    for (int i = 0; i < 3; ++i) {
        args->decoding = i;
        const std::string& text = *args->json[i];
        if (text.empty()) {
            duk_push_object(ctx);
        } else {
            duk_push_lstring(ctx, text.data(), text.size());
            duk_json_decode(ctx, -1);
        }
    }
    args->decoding = -1;
    duk_call_method(ctx, 3);
    return 1;
}

struct LookupArgs {
    const char* name;
    bool found = false;
};

duk_ret_t lookup_middleware(duk_context* ctx, void* udata) {
    auto* args = static_cast<LookupArgs*>(udata);
    args->found = duk_get_global_string(ctx, args->name) != 0 && duk_is_object(ctx, -1) != 0;
    return 0;
}

void destroy_heap(Engine&, void* ctx) {
    duk_destroy_heap(static_cast<duk_context*>(ctx));
}

// ---------------------------------------------------------------------------------------------
// Engine entry points.

void Engine::create() {
    ctx_ = duk_create_heap(duk_alloc_cb, duk_realloc_cb, duk_free_cb, this, duk_fatal_cb);
    if (ctx_ == nullptr) {
        spdlog::error("jsvm: cannot create a JavaScript heap (memory limit {} bytes)",
                      limits_.memory_bytes);
        return;
    }
    ScriptArgs args{kPrelude.data(), kPrelude.size(), "prelude.js"};
    begin(Clock::now() + limits_.timeout);
    const duk_idx_t base = duk_get_top(ctx_);
    const duk_int_t rc = protected_call(setup_heap, &args, 0, 1);
    if (rc == kFatal) {
        end();
        return;
    }
    if (rc != DUK_EXEC_SUCCESS) {
        const std::string why = failure_text(false);
        reset_stack(base);
        end();
        spdlog::error("jsvm: the TykJS prelude failed to load: {}", why);
        destroy();
        return;
    }
    reset_stack(base);
    end();
}

void Engine::destroy() noexcept {
    if (ctx_ == nullptr) {
        return;
    }
    // Heap destruction runs pending finalizers: keep them under a deadline too.
    deadline_ = Clock::now() + limits_.timeout;
    duk_context* ctx = ctx_;
    ctx_ = nullptr;
    guarded(&destroy_heap, ctx);
    deadline_ = Deadline::max();
}

std::string Engine::failure_text(bool with_file) {
    if (timed_out_hit_) {
        return timeout_text();
    }
    if (oom_hit_) {
        return oom_text();
    }
    const duk_idx_t base = duk_get_top(ctx_) - 1;
    const duk_int_t rc = protected_call(describe_error, nullptr, 1, 3);
    if (rc == kFatal) {
        return "javascript heap unusable";
    }
    std::string text = "unknown error";
    if (rc == DUK_EXEC_SUCCESS) {
        duk_size_t n = 0;
        const char* p = duk_get_lstring(ctx_, -3, &n);
        if (p != nullptr) {
            text = truncated(to_utf8({p, n}));
        }
        const duk_int_t line = duk_is_number(ctx_, -1) ? duk_get_int(ctx_, -1) : 0;
        if (line > 0 && text.find("(line ") == std::string::npos) {
            const char* file = duk_get_string(ctx_, -2);
            if (with_file && file != nullptr) {
                text += " (" + truncated(to_utf8(file)) + " line " + std::to_string(line) + ")";
            } else {
                text += " (line " + std::to_string(line) + ")";
            }
        }
    }
    reset_stack(base);
    return text;
}

std::string Engine::load(std::string_view source, const std::string& filename) {
    if (!usable()) {
        return filename + ": " + unusable_text();
    }
    if (source.substr(0, 3) == "\xEF\xBB\xBF") {
        source.remove_prefix(3); // UTF-8 byte order mark
    }
    ScriptArgs args{source.data(), source.size(), filename.c_str()};
    begin(Clock::now() + limits_.timeout);
    const duk_idx_t base = duk_get_top(ctx_);
    const duk_int_t rc = protected_call(run_script, &args, 0, 1);
    std::string error;
    if (rc == kFatal) {
        error = filename + ": javascript heap unusable";
    } else {
        if (rc != DUK_EXEC_SUCCESS) {
            error = filename + ": " + failure_text(false);
        } else if (timed_out_hit_) {
            error = filename + ": " + timeout_text(); // the script swallowed the timeout
        }
        reset_stack(base);
    }
    end();
    return error;
}

bool Engine::has_middleware(const std::string& name) {
    if (!usable()) {
        return false;
    }
    LookupArgs args{name.c_str()};
    begin(Clock::now() + limits_.timeout);
    const duk_idx_t base = duk_get_top(ctx_);
    const duk_int_t rc = protected_call(lookup_middleware, &args, 0, 0);
    if (rc != kFatal) {
        reset_stack(base);
    }
    end();
    return rc == DUK_EXEC_SUCCESS && args.found && !timed_out_hit_;
}

CallResult
Engine::call(const std::string& name, const char* method, const std::string* const (&json)[3]) {
    CallResult result;
    if (!usable()) {
        result.error = unusable_text();
        return result;
    }
    CallArgs args{name.c_str(), method, json};
    begin(Clock::now() + limits_.timeout);
    const duk_idx_t base = duk_get_top(ctx_);
    const duk_int_t rc = protected_call(call_middleware, &args, 0, 1);
    if (rc == kFatal) {
        end();
        result.error = "javascript heap unusable";
        return result;
    }
    if (timed_out_hit_) {
        result.timed_out = true;
        result.error = timeout_text();
    } else if (rc != DUK_EXEC_SUCCESS) {
        if (oom_hit_) {
            result.out_of_memory = true;
            result.error = oom_text();
        } else if (args.decoding >= 0) {
            static constexpr const char* kWhich[] = {"first", "second", "third"};
            result.error = std::string("javascript: invalid JSON in the ") + kWhich[args.decoding] +
                           " argument of " + method;
        } else {
            result.error = "javascript error: " + failure_text(true);
        }
    } else if (args.lookup == CallArgs::no_object) {
        result.error = "javascript middleware '" + name + "' not found";
    } else if (args.lookup == CallArgs::no_method) {
        result.error =
            "javascript middleware '" + name + "' has no " + method + " (not a TykJS middleware)";
    } else if (!duk_is_string(ctx_, -1)) {
        result.error = "middleware returned no data";
    } else {
        duk_size_t n = 0;
        const char* p = duk_get_lstring(ctx_, -1, &n);
        result.json = to_utf8({p, n});
        result.ok = true;
    }
    reset_stack(base);
    end();
    return result;
}

} // namespace

struct Vm::Impl : Engine {
    using Engine::Engine;
};

Vm::Vm(Limits limits, HostCalls host) : impl_(std::make_unique<Impl>(limits, std::move(host))) {}

Vm::~Vm() = default;

std::string Vm::load(std::string_view source, const std::string& filename) {
    return impl_->load(source, filename);
}

bool Vm::has_middleware(const std::string& name) {
    return impl_->has_middleware(name);
}

CallResult Vm::process_request(const std::string& name,
                               const std::string& request_json,
                               const std::string& session_json,
                               const std::string& config_json) {
    const std::string* const json[3] = {&request_json, &session_json, &config_json};
    return impl_->call(name, "DoProcessRequest", json);
}

CallResult Vm::process_response(const std::string& name,
                                const std::string& response_json,
                                const std::string& session_json,
                                const std::string& config_json) {
    const std::string* const json[3] = {&response_json, &session_json, &config_json};
    return impl_->call(name, "DoProcessResponse", json);
}

std::size_t Vm::memory_in_use() const {
    return impl_->memory_in_use();
}

} // namespace portcullis::jsvm

// The hook DUK_USE_EXEC_TIMEOUT_CHECK calls (cmake/duktape.cmake); udata is the Engine. Runs
// every few hundred thousand bytecode instructions, and every 64K regexp steps.
extern "C" duk_bool_t portcullis_duk_exec_timeout(void* udata) {
    return udata != nullptr && static_cast<portcullis::jsvm::Engine*>(udata)->timed_out() ? 1 : 0;
}
