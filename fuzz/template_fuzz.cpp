// Fuzz target: the Go text/template engine (parse + execute), as body transforms use it.
// Input: template text, NUL, JSON data for dot (a fixed document with _tyk_meta and
// _tyk_context when the data is missing or not JSON).
#include "fuzz/fuzz_input.hpp"
#include "middleware/template/template.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace {

const nlohmann::json& fixed_data() {
    static const nlohmann::json data = nlohmann::json::parse(R"({
        "name": "ada", "n": 3, "ratio": 0.5, "ok": true, "none": null,
        "items": ["a", "b", "c"], "nested": {"k": {"v": [1, 2, {"w": "x"}]}},
        "_tyk_meta": {"user": "ada", "tier": "gold", "tags": ["x", "y"]},
        "_tyk_context": {"path": "/users/7", "request_data": {"q": ["1"]},
                         "headers_User_Agent": "fuzz"}})");
    return data;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = portcullis::fuzz::split_parts(data, size, 2);
    std::string error;
    auto tmpl = portcullis::tmpl::Template::parse("fuzz", parts[0], error);
    if (!tmpl) {
        if (error.empty()) {
            portcullis::fuzz::invariant_failed("a template that failed to parse has no message");
        }
        return 0;
    }
    nlohmann::json dot = nlohmann::json::parse(parts[1], nullptr, false);
    if (dot.is_discarded()) {
        dot = fixed_data();
    }
    // Tighter bounds than the gateway's defaults keep each execution short.
    portcullis::tmpl::Limits limits;
    limits.max_output_bytes = 1 << 20;
    limits.max_range_iterations = 100'000;
    std::string out;
    const std::string failure = tmpl->execute(dot, out, limits);
    if (failure.empty() && out.size() > limits.max_output_bytes) {
        portcullis::fuzz::invariant_failed("output exceeded max_output_bytes without an error");
    }
    return 0;
}
