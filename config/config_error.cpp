#include "config/config_error.hpp"

#include <algorithm>

namespace portcullis::config {

std::string ConfigError::to_string() const {
    std::string out = file;
    if (line != 0) {
        if (!out.empty()) {
            out += ':';
        }
        out += std::to_string(line) + ':' + std::to_string(column);
    } else if (!json_path.empty()) {
        if (!out.empty()) {
            out += ": ";
        }
        out += "at " + json_path;
    }
    if (!out.empty()) {
        out += ": ";
    }
    out += message;
    return out;
}

ConfigException::ConfigException(ConfigError error)
    : std::runtime_error(error.to_string()), error_(std::move(error)) {}

std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t byte_offset) {
    const std::size_t offset = std::min(byte_offset, text.size());
    const std::string_view before = text.substr(0, offset);
    const auto line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const std::size_t last_newline = before.rfind('\n');
    const std::size_t line_start = last_newline == std::string_view::npos ? 0 : last_newline + 1;
    return {line, offset - line_start + 1};
}

} // namespace portcullis::config
