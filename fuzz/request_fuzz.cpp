// Fuzz target: the HTTP request path through the whole pipeline, in process: the input is
// written as is to a connection to the gateway (listener, parser, request checks, routing, key
// auth against Redis, header/URL/body transforms, limits, the upstream pool and the echo
// upstream), then the connection is half-closed and the answer read. Every answer must be
// HTTP/1.1 (or nothing at all, when the gateway closes), and the gateway must answer or close
// within the harness deadline.
#include "fuzz/fuzz_input.hpp"
#include "fuzz/inprocess_gateway.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using portcullis::fuzz::InProcessGateway;
    const InProcessGateway& gateway = InProcessGateway::instance();
    const std::string_view request{reinterpret_cast<const char*>(data), size};
    if (request.find(portcullis::fuzz::kSecret) != std::string_view::npos) {
        // The Gateway API with the secret could delete the harness's key or APIs and make later
        // inputs behave differently; fuzz_gateway_api covers it and restores what it changes.
        return 0;
    }
    const std::string response = gateway.exchange(request);
    if (!response.empty() && !response.starts_with("HTTP/1.1 ")) {
        portcullis::fuzz::invariant_failed("an answer that is not HTTP/1.1");
    }
    return 0;
}
