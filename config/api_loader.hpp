#pragma once

#include "config/api_definition.hpp"
#include "config/config_error.hpp"

#include <memory>
#include <string>
#include <vector>

namespace portcullis::config {

/// What loading `app_path` produced: the good definitions and one error per skipped file.
struct ApiLoadReport {
    std::vector<std::shared_ptr<const ApiDefinition>> apis; // sorted by api_id
    std::vector<ConfigError> errors;
};

/// Loads every `*.json` file in `dir` (not recursive). A file that fails to parse or validate, or
/// repeats an `api_id` or listen path already loaded, is reported and skipped; the rest load.
/// A missing directory is one error and no APIs.
ApiLoadReport load_api_directory(const std::string& dir);

} // namespace portcullis::config
