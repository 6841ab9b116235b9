// portcullis --conf FILE: a Tyk-compatible API gateway.
#include "config/gateway_config.hpp"
#include "gateway/common/logging.hpp"
#include "gateway/runtime.hpp"

#include <spdlog/spdlog.h>

#ifdef PORTCULLIS_MIMALLOC
#include <mimalloc.h>
#endif

#include <cstdio>
#include <cstring>
#include <string>

namespace {

void usage(std::FILE* out) {
    std::fprintf(out, "usage: portcullis --conf FILE\n"
                      "  --conf FILE   a Tyk tyk.conf (JSON)\n"
                      "  --version     print the version\n");
}

} // namespace

int main(int argc, char** argv) {
    std::string conf_path;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "--conf" || arg == "-c") && i + 1 < argc) {
            conf_path = argv[++i];
        } else if (arg.starts_with("--conf=")) {
            conf_path = arg.substr(7);
        } else if (arg == "--version") {
            std::printf("portcullis %s\n", PORTCULLIS_VERSION);
            return 0;
        } else if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "portcullis: unknown argument '%s'\n", arg.c_str());
            usage(stderr);
            return 2;
        }
    }
    if (conf_path.empty()) {
        usage(stderr);
        return 2;
    }

    portcullis::config::GatewayConfig config;
    try {
        config = portcullis::config::load_gateway_config(conf_path);
    } catch (const portcullis::config::ConfigException& e) {
        std::fprintf(stderr, "portcullis: configuration error: %s\n", e.what());
        return 2;
    }
    portcullis::logging::init(config.portcullis);
    spdlog::info("configuration loaded from {}", conf_path);
    for (const auto& name : config.env_applied) {
        spdlog::info("configuration field set by environment variable {}", name);
    }
    for (const auto& name : config.env_ignored) {
        spdlog::warn("environment variable {} names no configuration field: ignored", name);
    }
#ifdef PORTCULLIS_MIMALLOC
    // Also keeps the link to mimalloc, whose malloc and free replace the C library's.
    spdlog::info("allocator: mimalloc {}", mi_version());
#endif
    try {
        portcullis::Runtime runtime{std::move(config)};
        return runtime.run();
    } catch (const std::exception& e) {
        spdlog::critical("fatal: {}", e.what());
        return 1;
    }
}
