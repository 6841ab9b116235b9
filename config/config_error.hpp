#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace portcullis::config {

/// A precise description of a configuration problem: which file, where in it, and what is wrong.
/// `line`/`column` are 1-based and 0 when unknown (type errors carry a JSON path instead).
struct ConfigError {
    std::string file;
    std::string json_path; // JSON pointer such as "/proxy/target_url"; empty for syntax errors
    std::size_t line = 0;
    std::size_t column = 0;
    std::string message;

    /// "file:line:column: message" or "file: at /json/path: message".
    std::string to_string() const;
};

/// Thrown by the config loaders; only ever crosses the load boundary, never the data path.
class ConfigException : public std::runtime_error {
  public:
    explicit ConfigException(ConfigError error);
    const ConfigError& error() const noexcept { return error_; }

  private:
    ConfigError error_;
};

/// 1-based line and column of `byte_offset` in `text` (columns count bytes).
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t byte_offset);

} // namespace portcullis::config
