#include "gateway/common/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace portcullis::logging {

namespace {

std::shared_ptr<spdlog::logger> g_access = std::make_shared<spdlog::logger>("access");
spdlog::level::level_enum g_access_level = spdlog::level::off;
bool g_access_json = false;

} // namespace

spdlog::level::level_enum parse_level(std::string_view name) {
    if (name == "trace") {
        return spdlog::level::trace;
    }
    if (name == "debug") {
        return spdlog::level::debug;
    }
    if (name == "warn") {
        return spdlog::level::warn;
    }
    if (name == "error") {
        return spdlog::level::err;
    }
    if (name == "off") {
        return spdlog::level::off;
    }
    return spdlog::level::info;
}

void init(const config::PortcullisOptions& options) {
    // One sink per logger: a pattern belongs to the sink. Both write whole lines to stderr.
    auto main_logger = std::make_shared<spdlog::logger>(
        "portcullis", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    main_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%t] %v");
    main_logger->set_level(parse_level(options.log_level));
    main_logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(main_logger);

    g_access = std::make_shared<spdlog::logger>("access",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_access_json = options.access_log_format == "json";
    // JSON lines: the message is the members after "time" (see access_json()).
    g_access->set_pattern(g_access_json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z",%v})"
                                        : "%Y-%m-%dT%H:%M:%S.%e%z access %v");
    g_access_level = parse_level(options.access_log);
    g_access->set_level(g_access_level);
}

spdlog::logger& access() {
    return *g_access;
}

spdlog::level::level_enum access_level() {
    return g_access_level;
}

bool access_json() {
    return g_access_json;
}

void LogEscapedException::operator()(std::exception_ptr e) const {
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::log(level, "{}: {}", what, ex.what());
    } catch (...) {
        spdlog::log(level, "{}: unknown exception", what);
    }
}

std::string obfuscate_key(std::string_view key) {
    if (key.size() > 4) {
        return "****" + std::string(key.substr(key.size() - 4));
    }
    return "--";
}

} // namespace portcullis::logging
