#include "middleware/jsvm/js_vm.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace pj = portcullis::jsvm;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A MiniRequestObject as the gateway sends it (Body base64).
std::string request_json(const std::string& body_b64 = "aGVsbG8=") {
    return json{{"Headers", {{"Host", {"example.com"}}, {"X-In", {"1"}}}},
                {"SetHeaders", json::object()},
                {"DeleteHeaders", json::array()},
                {"Body", body_b64},
                {"URL", "/api/path?q=1"},
                {"Params", {{"q", {"1"}}}},
                {"AddParams", json::object()},
                {"ExtendedParams", json::object()},
                {"DeleteParams", json::array()},
                {"ReturnOverrides", {{"ResponseCode", 0}, {"ResponseError", ""}}},
                {"Method", "GET"},
                {"RequestURI", "/api/path?q=1"},
                {"Scheme", "http"}}
        .dump();
}

const std::string kSession = R"({"org_id":"o1","meta_data":{"tier":"gold"},"rate":10})";
const std::string kConfig = R"({"OrgID":"o1","APIID":"api1","config_data":{"x":"from-config"}})";

// A Vm whose log lines are captured.
struct Fixture {
    std::vector<std::string> logs;
    std::vector<std::string> rawlogs;
    pj::Vm vm;

    explicit Fixture(pj::Limits limits = {}, pj::HostCalls host = {})
        : vm(limits, with_logs(std::move(host))) {}

    pj::HostCalls with_logs(pj::HostCalls host) {
        if (!host.log) {
            host.log = [this](std::string_view m) { logs.emplace_back(m); };
        }
        if (!host.rawlog) {
            host.rawlog = [this](std::string_view m) { rawlogs.emplace_back(m); };
        }
        return host;
    }

    // Loads `body` as the ProcessRequest function of a middleware `name`.
    void plugin(const std::string& name, const std::string& fn_body) {
        const std::string src = "var " + name + " = new TykJS.TykMiddleware.NewMiddleware({});\n" +
                                name + ".NewProcessRequest(function(request, session, config) {\n" +
                                fn_body + "\n});\n";
        REQUIRE(vm.load(src, name + ".js").empty());
    }

    pj::CallResult call(const std::string& name, const std::string& req = request_json()) {
        return vm.process_request(name, req, kSession, kConfig);
    }

    // Evaluates `expr` inside a plugin call and returns its JSON value (via SessionMeta).
    json eval(const std::string& expr) {
        static int n = 0;
        const std::string name = "evalMw" + std::to_string(++n);
        plugin(name, "return " + name + ".ReturnData(request, {v: (" + expr + ")});");
        const auto r = call(name);
        REQUIRE(r.error == "");
        REQUIRE(r.ok);
        return json::parse(r.json)["SessionMeta"]["v"];
    }
};

const char* kHeaderPlugin = R"JS(
var headerMw = new TykJS.TykMiddleware.NewMiddleware({});
headerMw.NewProcessRequest(function(request, session, config) {
    request.SetHeaders["X-A"] = "1";
    request.SetHeaders["X-Tier"] = session.meta_data.tier;
    request.DeleteHeaders.push("X-In");
    return headerMw.ReturnData(request, session.meta_data);
});
)JS";

} // namespace

TEST_CASE("jsvm: a plugin sets headers and returns ReturnData", "[unit][jsvm]") {
    Fixture f;
    REQUIRE(f.vm.load(kHeaderPlugin, "header.js") == "");
    CHECK(f.vm.has_middleware("headerMw"));
    const auto r = f.call("headerMw");
    REQUIRE(r.error == "");
    REQUIRE(r.ok);
    CHECK_FALSE(r.timed_out);
    CHECK_FALSE(r.out_of_memory);
    const json out = json::parse(r.json);
    CHECK(out["Request"]["SetHeaders"] == json{{"X-A", "1"}, {"X-Tier", "gold"}});
    CHECK(out["Request"]["DeleteHeaders"] == json::array({"X-In"}));
    CHECK(out["Request"]["Headers"] == json::object());
    CHECK(out["Request"]["Body"] == "aGVsbG8=");
    CHECK(out["Request"]["URL"] == "/api/path?q=1");
    CHECK(out["SessionMeta"] == json{{"tier", "gold"}});
    CHECK(f.vm.memory_in_use() > 0);
}

TEST_CASE("jsvm: the body is decoded for the plugin and re-encoded", "[unit][jsvm]") {
    Fixture f;
    f.plugin("bodyMw", R"(
        log("body=" + request.Body);
        request.Body = request.Body + "!";
        return bodyMw.ReturnData(request, {});)");
    const auto r = f.call("bodyMw", request_json("aGVsbG8="));
    REQUIRE(r.ok);
    CHECK(json::parse(r.json)["Request"]["Body"] == "aGVsbG8h");
    REQUIRE(f.logs.size() == 1);
    CHECK(f.logs[0] == "body=hello");

    // UTF-8 text survives byte for byte; an empty body stays empty.
    f.plugin("utfMw", "return utfMw.ReturnData(request, {len: request.Body.length});");
    const std::string utf8 = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"; // "héllo € 😀"
    const auto u = f.call("utfMw", request_json(""));
    REQUIRE(u.ok);
    CHECK(json::parse(u.json)["Request"]["Body"] == "");
    f.plugin("echoMw", "return echoMw.ReturnData(request, {});");
    // base64 of utf8, computed by the engine itself and checked by decoding in C++-free ways:
    const auto e = f.call("echoMw", request_json("aMOpbGxvIOKCrCDwn5iA"));
    REQUIRE(e.ok);
    CHECK(json::parse(e.json)["Request"]["Body"] == "aMOpbGxvIOKCrCDwn5iA");
    CHECK(f.eval("b64dec('aMOpbGxvIOKCrCDwn5iA')") == utf8);
    // Text written in JavaScript leaves as UTF-8 too (Duktape holds the emoji as a surrogate
    // pair there).
    f.plugin("setMw", "request.Body = 'h\\u00e9llo \\u20ac \\ud83d\\ude00'; "
                      "return setMw.ReturnData(request, {});");
    const auto s = f.call("setMw");
    REQUIRE(s.ok);
    CHECK(json::parse(s.json)["Request"]["Body"] == "aMOpbGxvIOKCrCDwn5iA");
}

TEST_CASE("jsvm: binary bodies round trip unless Duktape cannot hold them", "[unit][jsvm]") {
    Fixture f;
    f.plugin("binMw", "return binMw.ReturnData(request, {});");
    // 0x00 0x01 0xC3 0x28 0xFE 0x7F: invalid UTF-8 in the middle is kept as is.
    auto r = f.call("binMw", request_json("AAHDKP5/"));
    REQUIRE(r.ok);
    CHECK(json::parse(r.json)["Request"]["Body"] == "AAHDKP5/");
    // A leading 0xFF (JPEG) would be a Duktape Symbol: converted like otto (U+FFFD).
    r = f.call("binMw", request_json("/9j/"));
    REQUIRE(r.ok);
    CHECK(json::parse(r.json)["Request"]["Body"] == "77+977+977+9"); // 3 x EF BF BD
}

TEST_CASE("jsvm: session and config reach the plugin", "[unit][jsvm]") {
    Fixture f;
    f.plugin("argsMw", R"(
        request.SetHeaders["X-Config"] = config.config_data.x;
        request.SetHeaders["X-Api"] = config.APIID;
        request.SetHeaders["X-Rate"] = String(session.rate);
        return argsMw.ReturnData(request, session.meta_data);)");
    const auto r = f.call("argsMw");
    REQUIRE(r.ok);
    const json out = json::parse(r.json);
    CHECK(out["Request"]["SetHeaders"] ==
          json{{"X-Config", "from-config"}, {"X-Api", "api1"}, {"X-Rate", "10"}});

    // An empty session text is an empty object (pre hooks have no session).
    f.plugin("noSessMw", "return noSessMw.ReturnData(request, {n: Object.keys(session).length});");
    const auto e = f.vm.process_request("noSessMw", request_json(), "", kConfig);
    REQUIRE(e.ok);
    CHECK(json::parse(e.json)["SessionMeta"]["n"] == 0);
}

TEST_CASE("jsvm: ReturnOverrides and ReturnAuthData", "[unit][jsvm]") {
    Fixture f;
    f.plugin("denyMw", R"(
        request.ReturnOverrides.ResponseCode = 403;
        request.ReturnOverrides.ResponseError = "go away";
        request.ReturnOverrides.ResponseHeaders = {"X-Why": "plugin"};
        return denyMw.ReturnData(request, {});)");
    auto r = f.call("denyMw");
    REQUIRE(r.ok);
    json out = json::parse(r.json);
    CHECK(out["Request"]["ReturnOverrides"]["ResponseCode"] == 403);
    CHECK(out["Request"]["ReturnOverrides"]["ResponseError"] == "go away");
    CHECK(out["Request"]["ReturnOverrides"]["ResponseHeaders"] == json{{"X-Why", "plugin"}});
    CHECK(out["SessionMeta"] == json::object());

    f.plugin("authMw", R"(
        var s = {rate: 5, per: 1, meta_data: {user: "bob"}};
        request.SetHeaders["X-Auth"] = "ok";
        return authMw.ReturnAuthData(request, s);)");
    r = f.call("authMw");
    REQUIRE(r.ok);
    out = json::parse(r.json);
    CHECK(out["Session"] == json{{"rate", 5}, {"per", 1}, {"meta_data", {{"user", "bob"}}}});
    CHECK(out["Request"]["SetHeaders"]["X-Auth"] == "ok");
    CHECK(out["Request"]["Headers"] == json::object());
    CHECK_FALSE(out.contains("SessionMeta"));
}

TEST_CASE("jsvm: DoProcessResponse", "[unit][jsvm]") {
    Fixture f;
    REQUIRE(f.vm.load(R"JS(
var respMw = new TykJS.TykMiddleware.NewMiddleware({});
respMw.NewProcessResponse(function(response, session, config) {
    response.Headers["X-Resp"] = ["yes"];
    response.Body = response.Body.toUpperCase();
    response.Code = 201;
    return respMw.ReturnResponseData(response, session.meta_data);
});
)JS",
                      "resp.js") == "");
    const std::string response = json{
        {"Code", 200},
        {"Headers", {{"Content-Type", {"text/plain"}}}},
        {"Body", "aGVsbG8="}}.dump();
    const auto r = f.vm.process_response("respMw", response, kSession, kConfig);
    REQUIRE(r.error == "");
    REQUIRE(r.ok);
    const json out = json::parse(r.json);
    CHECK(out["Response"]["Body"] == "SEVMTE8="); // "HELLO"
    CHECK(out["Response"]["Code"] == 201);
    CHECK(out["Response"]["Headers"]["X-Resp"] == json::array({"yes"}));
    CHECK(out["SessionMeta"] == json{{"tier", "gold"}});

    // A request-only middleware has no response function.
    f.plugin("reqOnly", "return reqOnly.ReturnData(request, {});");
    const auto n = f.vm.process_response("reqOnly", response, kSession, kConfig);
    CHECK_FALSE(n.ok);
    CHECK(n.error == "middleware returned no data");
}

TEST_CASE("jsvm: a throwing plugin is an error and the heap keeps working", "[unit][jsvm]") {
    Fixture f;
    f.plugin("throwMw", R"(throw new Error("boom");)");
    f.plugin("typeMw", R"(return request.Nope.deeper;)");
    f.plugin("okMw", "return okMw.ReturnData(request, {});");
    for (int i = 0; i < 3; ++i) {
        const auto r = f.call("throwMw");
        CHECK_FALSE(r.ok);
        CHECK_FALSE(r.timed_out);
        CHECK(r.error.rfind("javascript error: Error: boom", 0) == 0);
        CHECK(r.error.find("throwMw.js") != std::string::npos);
        const auto t = f.call("typeMw");
        CHECK_FALSE(t.ok);
        CHECK(t.error.rfind("javascript error: TypeError", 0) == 0);
        CHECK(f.call("okMw").ok);
    }
    // Throwing a non-Error value.
    f.plugin("strMw", R"(throw "plain";)");
    CHECK(f.call("strMw").error == "javascript error: plain");
    // Returning nothing.
    f.plugin("nothingMw", "return;");
    const auto n = f.call("nothingMw");
    CHECK_FALSE(n.ok);
    CHECK(n.error == "middleware returned no data");
    REQUIRE_FALSE(f.logs.empty());
    CHECK(f.logs.back() == "Middleware didn't return request object!");
}

TEST_CASE("jsvm: an endless loop times out and the heap stays usable", "[unit][jsvm]") {
    pj::Limits limits;
    limits.timeout = 200ms;
    Fixture f(limits);
    f.plugin("loopMw", "while (true) {}");
    f.plugin("sneakyMw", "while (true) { try { while (true) {} } catch (e) {} }");
    f.plugin("okMw", "return okMw.ReturnData(request, {ok: true});");

    auto started = std::chrono::steady_clock::now();
    auto r = f.call("loopMw");
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK_FALSE(r.ok);
    CHECK(r.timed_out);
    CHECK(r.error == "javascript timed out after 200 ms");

    // Catching the timeout does not help.
    started = std::chrono::steady_clock::now();
    r = f.call("sneakyMw");
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(r.timed_out);

    const auto ok = f.call("okMw");
    REQUIRE(ok.ok);
    CHECK(json::parse(ok.json)["SessionMeta"]["ok"] == true);
}

TEST_CASE("jsvm: a catastrophic regexp times out", "[unit][jsvm]") {
    pj::Limits limits;
    limits.timeout = 200ms;
    Fixture f(limits);
    f.plugin("reMw", R"(
        var s = ""; for (var i = 0; i < 40; i++) { s += "a"; }
        /^(a+)+$/.test(s + "!");
        return reMw.ReturnData(request, {});)");
    const auto started = std::chrono::steady_clock::now();
    const auto r = f.call("reMw");
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(r.timed_out);
}

TEST_CASE("jsvm: load errors name the file", "[unit][jsvm]") {
    pj::Limits limits;
    limits.timeout = 200ms;
    Fixture f(limits);
    const std::string syntax = f.vm.load("var x = ;\n", "broken.js");
    CHECK(syntax.rfind("broken.js: SyntaxError", 0) == 0);
    CHECK(syntax.find("(line 1") != std::string::npos);

    const std::string runtime = f.vm.load("var a = 1;\nnotDefined();\n", "runtime.js");
    CHECK(runtime.rfind("runtime.js: ReferenceError", 0) == 0);
    CHECK(runtime.find("line 2") != std::string::npos);

    const auto started = std::chrono::steady_clock::now();
    const std::string loop = f.vm.load("for (;;) {}", "forever.js");
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(loop == "forever.js: javascript timed out after 200 ms");

    // The heap still works after all of that.
    REQUIRE(f.vm.load(kHeaderPlugin, "header.js") == "");
    CHECK(f.call("headerMw").ok);
}

TEST_CASE("jsvm: the memory cap stops a greedy plugin", "[unit][jsvm]") {
    pj::Limits limits;
    limits.memory_bytes = 16u << 20;
    limits.timeout = 2000ms;
    Fixture f(limits);
    f.plugin("greedyMw", R"(
        var keep = [];
        var chunk = "x";
        for (var i = 0; i < 16; i++) { chunk += chunk; }   // 64 KiB
        for (var j = 0; ; j++) { keep.push(chunk + j); }
    )");
    f.plugin("okMw", "return okMw.ReturnData(request, {});");
    const std::size_t before = f.vm.memory_in_use();
    const auto r = f.call("greedyMw");
    CHECK_FALSE(r.ok);
    CHECK(r.out_of_memory);
    CHECK_FALSE(r.timed_out);
    CHECK(r.error == "javascript heap out of memory (limit 16777216 bytes)");
    CHECK(f.vm.memory_in_use() <= limits.memory_bytes);
    CHECK(f.vm.memory_in_use() < before + (1u << 20)); // the garbage is gone
    CHECK(f.call("okMw").ok);
}

TEST_CASE("jsvm: memory_in_use grows and shrinks", "[unit][jsvm]") {
    Fixture f;
    REQUIRE(f.vm.load(R"JS(
var store = [];
var growMw = new TykJS.TykMiddleware.NewMiddleware({});
growMw.NewProcessRequest(function(request, session, config) {
    var chunk = "y";
    for (var i = 0; i < 20; i++) { chunk += chunk; }   // 1 MiB
    store.push(chunk + "a", chunk + "b");
    return growMw.ReturnData(request, {});
});
var dropMw = new TykJS.TykMiddleware.NewMiddleware({});
dropMw.NewProcessRequest(function(request, session, config) {
    store = [];
    return dropMw.ReturnData(request, {});
});
)JS",
                      "grow.js") == "");
    const std::size_t base = f.vm.memory_in_use();
    CHECK(base > 0);
    REQUIRE(f.call("growMw").ok);
    const std::size_t grown = f.vm.memory_in_use();
    CHECK(grown > base + (2u << 20));
    REQUIRE(f.call("dropMw").ok);
    CHECK(f.vm.memory_in_use() < grown - (2u << 20));
}

TEST_CASE("jsvm: base64 helpers", "[unit][jsvm]") {
    Fixture f;
    CHECK(f.eval("b64enc('hello')") == "aGVsbG8=");
    CHECK(f.eval("b64enc('')") == "");
    CHECK(f.eval("b64dec('aGVsbG8=')") == "hello");
    CHECK(f.eval("b64dec('aGVsbG8')") == "hello"); // unpadded fallback
    CHECK(f.eval("b64dec('not base64!') === undefined") == true);
    CHECK(f.eval("rawb64enc('hello')") == "aGVsbG8");
    CHECK(f.eval("rawb64enc('hi?')") == "aGk/");
    CHECK(f.eval("rawb64dec('aGVsbG8')") == "hello");
    CHECK(f.eval("b64dec(b64enc('h\\u00e9 \\u20ac'))") == "h\xC3\xA9 \xE2\x82\xAC");
    CHECK(f.eval("b64enc('\\u00e9')") == "w6k=");            // UTF-8 bytes C3 A9
    CHECK(f.eval("b64enc('\\ud83d\\ude00')") == "8J+YgA=="); // UTF-8, not CESU-8
    CHECK(f.eval("b64enc(b64dec('8J+YgA=='))") == "8J+YgA==");
}

TEST_CASE("jsvm: strings leave as UTF-8", "[unit][jsvm]") {
    Fixture f;
    // A non-BMP character built from escapes is a surrogate pair inside Duktape.
    CHECK(f.eval("'\\ud83d\\ude00'") == "\xF0\x9F\x98\x80");
    CHECK(f.eval("'\\ud83d'") == "\xEF\xBF\xBD"); // lone surrogate
    // One straight from the (UTF-8) JSON input.
    f.plugin("emojiMw", R"(
        request.SetHeaders["X-E"] = request.URL;
        return emojiMw.ReturnData(request, {});)");
    json req = json::parse(request_json());
    req["URL"] = "/\xF0\x9F\x98\x80";
    const auto r = f.call("emojiMw", req.dump());
    REQUIRE(r.ok);
    CHECK(json::parse(r.json)["Request"]["SetHeaders"]["X-E"] == "/\xF0\x9F\x98\x80");
}

TEST_CASE("jsvm: log and rawlog go to the host", "[unit][jsvm]") {
    Fixture f;
    f.plugin("logMw", R"(
        log("hello " + config.APIID);
        log({a: 1});
        rawlog("raw line");
        return logMw.ReturnData(request, {});)");
    REQUIRE(f.call("logMw").ok);
    CHECK(f.logs == std::vector<std::string>{"hello api1", "[object Object]"});
    CHECK(f.rawlogs == std::vector<std::string>{"raw line"});

    // Without host functions the messages go to spdlog; nothing breaks.
    pj::Vm bare({}, {});
    REQUIRE(bare.load("var m = new TykJS.TykMiddleware.NewMiddleware({});\n"
                      "m.NewProcessRequest(function(r, s, c) { log('x'); rawlog('y'); "
                      "return m.ReturnData(r, {}); });",
                      "bare.js") == "");
    CHECK(bare.process_request("m", request_json(), kSession, kConfig).ok);
}

TEST_CASE("jsvm: host calls", "[unit][jsvm]") {
    std::vector<std::string> seen;
    pj::HostCalls host;
    pj::HostCalls::Deadline seen_deadline{};
    host.make_http_request = [&](const std::string& request, pj::HostCalls::Deadline deadline) {
        seen.push_back(request);
        seen_deadline = deadline;
        return std::string(R"({"Code":200,"Body":"pong","Headers":{}})");
    };
    host.get_key_data = [&](const std::string& key, const std::string& api_id,
                            pj::HostCalls::Deadline) {
        seen.push_back(key + "|" + api_id);
        return std::string(R"({"rate":7})");
    };
    host.set_key_data = [&](const std::string& key, const std::string& session,
                            const std::string& suppress, pj::HostCalls::Deadline) {
        seen.push_back(key + "|" + session + "|" + suppress);
        return std::string();
    };
    host.batch_request = [&](const std::string&, pj::HostCalls::Deadline) -> std::string {
        throw std::runtime_error("no batch today");
    };
    Fixture f({}, host);
    f.plugin("httpMw", R"(
        var reply = JSON.parse(TykMakeHttpRequest(JSON.stringify({Method: "GET", Domain: "http://u", Resource: "/ping"})));
        var key = JSON.parse(TykGetKeyData("k1", "api1"));
        TykSetKeyData("k1", JSON.stringify({rate: key.rate + 1}), 1);
        var batch = TykBatchRequest("{}");
        return httpMw.ReturnData(request, {body: reply.Body, rate: String(key.rate), batch: String(batch)});)");
    const auto before = std::chrono::steady_clock::now();
    const auto r = f.call("httpMw");
    REQUIRE(r.error == "");
    REQUIRE(r.ok);
    const json out = json::parse(r.json);
    CHECK(out["SessionMeta"] == json{{"body", "pong"}, {"rate", "7"}, {"batch", "undefined"}});
    REQUIRE(seen.size() == 3);
    CHECK(json::parse(seen[0]) ==
          json{{"Method", "GET"}, {"Domain", "http://u"}, {"Resource", "/ping"}});
    CHECK(seen[1] == "k1|api1");
    CHECK(seen[2] == R"(k1|{"rate":8}|1)");
    // The deadline handed to the host is the call's (default 5 s).
    CHECK(seen_deadline > before);
    CHECK(seen_deadline < before + 10s);

    // Without host functions: an error-shaped reply / empty strings.
    Fixture bare;
    CHECK(bare.eval("JSON.parse(TykMakeHttpRequest('{}')).error") == "not available");
    CHECK(bare.eval("JSON.parse(TykBatchRequest('{}')).code") == 0);
    CHECK(bare.eval("TykGetKeyData('k', 'a')") == "");
    CHECK(bare.eval("TykSetKeyData('k', '{}', '')") == "");
}

TEST_CASE("jsvm: unknown middleware and bad input", "[unit][jsvm]") {
    Fixture f;
    REQUIRE(f.vm.load(kHeaderPlugin, "header.js") == "");
    REQUIRE(f.vm.load("var notMw = 42; var plainObj = {};", "other.js") == "");
    CHECK_FALSE(f.vm.has_middleware("missingMw"));
    CHECK_FALSE(f.vm.has_middleware("notMw"));
    CHECK(f.vm.has_middleware("plainObj"));
    CHECK(f.vm.has_middleware("TykJS"));

    auto r = f.call("missingMw");
    CHECK_FALSE(r.ok);
    CHECK(r.error == "javascript middleware 'missingMw' not found");
    r = f.call("plainObj");
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("has no DoProcessRequest") != std::string::npos);

    r = f.vm.process_request("headerMw", "{not json", kSession, kConfig);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "javascript: invalid JSON in the first argument of DoProcessRequest");
    r = f.vm.process_request("headerMw", request_json(), "[", kConfig);
    CHECK(r.error == "javascript: invalid JSON in the second argument of DoProcessRequest");
    CHECK(f.call("headerMw").ok);
}

TEST_CASE("jsvm: the sandbox has no way out", "[unit][jsvm]") {
    Fixture f;
    CHECK(f.eval("typeof print") == "undefined");
    CHECK(f.eval("typeof alert") == "undefined");
    CHECK(f.eval("typeof require") == "undefined");
    CHECK(f.eval("typeof Duktape") == "undefined");
    CHECK(f.eval("typeof TykJsResponse") == "function");
    CHECK(f.eval("typeof TykJS.TykEventHandlers.NewEventHandler") == "function");
}

TEST_CASE("jsvm: event handlers", "[unit][jsvm]") {
    Fixture f;
    REQUIRE(f.vm.load(R"JS(
var evH = new TykJS.TykEventHandlers.NewEventHandler({});
evH.NewHandler(function(event, context) { log("event " + event.EventType); });
evH.DoProcessEvent('{"EventType":"QuotaExceeded"}', {});
)JS",
                      "events.js") == "");
    CHECK(f.logs == std::vector<std::string>{"event QuotaExceeded"});
}

TEST_CASE("jsvm: a plugin redefining globals does not break the prelude", "[unit][jsvm]") {
    Fixture f;
    REQUIRE(f.vm.load(kHeaderPlugin, "header.js") == "");
    REQUIRE(f.vm.load("log = function() { throw new Error('mine'); }; b64enc = null;", "evil.js")
                .empty());
    const auto r = f.call("headerMw");
    REQUIRE(r.ok);
    CHECK(json::parse(r.json)["Request"]["Body"] == "aGVsbG8=");
}

TEST_CASE("jsvm: a heap that cannot be created reports unusable", "[unit][jsvm]") {
    pj::Limits limits;
    limits.memory_bytes = 4096;
    pj::Vm vm(limits, {});
    CHECK(vm.load("var x = 1;", "x.js") == "x.js: javascript heap unusable");
    CHECK_FALSE(vm.has_middleware("x"));
    const auto r = vm.process_request("x", "{}", "{}", "{}");
    CHECK_FALSE(r.ok);
    CHECK(r.error == "javascript heap unusable");
}

TEST_CASE("jsvm: repeated calls do not accumulate memory", "[unit][jsvm]") {
    Fixture f;
    REQUIRE(f.vm.load(kHeaderPlugin, "header.js") == "");
    f.plugin("failMw", R"(throw new Error("no");)");
    REQUIRE(f.call("headerMw").ok);
    REQUIRE_FALSE(f.call("failMw").ok);
    REQUIRE_FALSE(f.call("missingMw").ok);
    const std::size_t settled = f.vm.memory_in_use();
    for (int i = 0; i < 300; ++i) {
        REQUIRE(f.call("headerMw").ok);
        REQUIRE_FALSE(f.call("failMw").ok);
        REQUIRE_FALSE(f.call("missingMw").ok);
        REQUIRE_FALSE(f.vm.process_request("headerMw", "{", "", "").ok);
    }
    CHECK(f.vm.memory_in_use() < settled + 64 * 1024);
}
