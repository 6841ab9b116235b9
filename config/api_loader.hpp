#pragma once

#include "config/api_definition.hpp"
#include "config/config_error.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace portcullis::config {

/// What loading `app_path` produced: the good definitions and one error per skipped file.
struct ApiLoadReport {
    std::vector<std::shared_ptr<const ApiDefinition>> apis; // sorted by api_id
    std::vector<ConfigError> errors;
};

/// A ConfigError for `file` at `json_path` (empty for the whole file).
ConfigError make_error(std::string file, std::string json_path, std::string message);

/// The `*.json` regular files directly in `dir`, sorted by file name (so which of two clashing
/// files wins does not depend on directory order). `ec` is set when the directory cannot be read.
std::vector<std::filesystem::path> list_json_files(const std::filesystem::path& dir,
                                                   std::error_code& ec);

/// Loads every `*.json` file in `dir` (not recursive). A file that fails to parse or validate, or
/// repeats an `api_id` or listen path already loaded, is reported and skipped; the rest load.
/// A missing directory is one error and no APIs.
ApiLoadReport load_api_directory(const std::string& dir);

} // namespace portcullis::config
