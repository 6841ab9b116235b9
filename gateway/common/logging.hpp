#pragma once

#include "config/gateway_config.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace portcullis::logging {

/// Sets up the process loggers: the default logger (startup, errors) and the access logger (one
/// line per request at `portcullis.access_log` level). Both write to stderr through one
/// thread-safe sink, so every worker may log. Call once, before the workers start.
void init(const config::PortcullisOptions& options);

/// The access logger; never null after init (a disabled one before).
spdlog::logger& access();

/// The access log level, or spdlog::level::off.
spdlog::level::level_enum access_level();

/// Whether access lines are JSON objects (`portcullis.access_log_format` "json"): the logger
/// writes `{"time":...,` and the message must be the remaining members and no closing brace.
bool access_json();

/// Tyk's key obfuscation for logs: only the last four characters, "****abcd".
std::string obfuscate_key(std::string_view key);

/// A co_spawn completion handler for coroutines that should never throw: an exception that
/// escapes is logged at `level` as "<what>: <message>" instead of ending the process.
struct LogEscapedException {
    const char* what;
    spdlog::level::level_enum level = spdlog::level::err;
    void operator()(std::exception_ptr e) const;
};

/// Parses "trace".."off"; unknown -> info.
spdlog::level::level_enum parse_level(std::string_view name);

} // namespace portcullis::logging
