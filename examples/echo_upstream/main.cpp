// echo-upstream [--listen ADDRESS] [--port PORT]: the example upstream (see echo_server.hpp).
#include "examples/echo_upstream/echo_server.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
    std::string address = "127.0.0.1";
    int port = 9000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--listen") {
            address = argv[i + 1];
        } else if (arg == "--port") {
            port = std::atoi(argv[i + 1]);
        } else {
            std::fprintf(stderr, "usage: echo-upstream [--listen ADDRESS] [--port PORT]\n");
            return 2;
        }
    }
    try {
        portcullis::examples::EchoServer server{address, static_cast<std::uint16_t>(port)};
        std::printf("echo-upstream listening on %s:%u\n", address.c_str(), server.port());
        std::fflush(stdout);
        server.wait_for_signal();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo-upstream: %s\n", e.what());
        return 1;
    }
    return 0;
}
