#pragma once

// Walking one `extended_paths` list of an API version, shared by every per-endpoint feature.
#include "config/api_definition.hpp"
#include "config/config_error.hpp"
#include "config/json_reader.hpp"
#include "middleware/transform/endpoint_matcher.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::transform {

/// Compiles `extended_paths.<list>` of `version` (only with `use_extended_paths`) in array order:
/// `read_entry(const config::JsonReader&)` returns the compiled entry, nothing for a disabled
/// one, or throws config::ConfigException for a broken one, which is reported in `errors` and
/// left out. A list that is not an array is reported (file = the API's source file, JSON
/// pointer `/version_data/versions/<key>/extended_paths/<list>[/<i>...]`).
template <class Spec, class ReadEntry>
std::vector<Endpoint<Spec>> compile_endpoint_list(const config::ApiDefinition& api,
                                                  const config::VersionInfo& version,
                                                  std::string_view list,
                                                  std::vector<config::ConfigError>& errors,
                                                  ReadEntry&& read_entry) {
    std::vector<Endpoint<Spec>> out;
    if (!version.use_extended_paths || !version.extended_paths.is_object()) {
        return out;
    }
    const auto it = version.extended_paths.find(list);
    if (it == version.extended_paths.end() || it->is_null()) {
        return out;
    }
    const std::string base = "/version_data/versions/" + config::json_pointer_token(version.key) +
                             "/extended_paths/" + std::string(list);
    if (!it->is_array()) {
        errors.push_back(config::ConfigError{api.source_file, base, 0, 0,
                                             config::type_mismatch("an array", *it)});
        return out;
    }
    for (std::size_t i = 0; i < it->size(); ++i) {
        try {
            const config::JsonReader reader((*it)[i], api.source_file,
                                            base + "/" + std::to_string(i));
            if (std::optional<Endpoint<Spec>> entry = read_entry(reader)) {
                out.push_back(std::move(*entry));
            }
        } catch (const config::ConfigException& e) {
            errors.push_back(e.error());
        }
    }
    return out;
}

} // namespace portcullis::transform
