#include "middleware/transform/header_transform.hpp"

#include "config/json_reader.hpp"
#include "middleware/core/text.hpp"
#include "middleware/transform/context_vars.hpp"

#include <map>
#include <optional>

namespace portcullis::transform {

namespace {

using Json = nlohmann::json;

/// Collects one API's header transforms, reporting every broken entry.
class Compiler {
  public:
    Compiler(const config::ApiDefinition& api,
             const MatchOptions& options,
             bool ignore_canonical,
             std::vector<config::ConfigError>& errors)
        : api_(api), options_(options), ignore_canonical_(ignore_canonical), errors_(errors) {}

    void report(std::string json_path, const std::string& message) {
        config::ConfigError error;
        error.file = api_.source_file;
        error.json_path = std::move(json_path);
        error.message = "api " + api_.api_id + ": " + message;
        errors_.push_back(std::move(error));
    }

    /// Tyk's setCustomHeader: Header.Set (canonical key) unless ignore_canonical_mime_header_key.
    std::string written_name(std::string_view name) const {
        return ignore_canonical_ ? std::string(name) : canonical_header_key(name);
    }

    /// Adds the `name: value` pairs of an `add_headers`-like object found at `path`.
    void add_headers(HeaderOps& ops,
                     const std::map<std::string, std::string>& headers,
                     const std::string& path,
                     std::string_view what) {
        for (const auto& [name, value] : headers) {
            if (!is_token(name)) {
                report(path + "/" + config::json_pointer_token(name),
                       std::string(what) + ": header name \"" + name +
                           "\" is not a valid HTTP header name; header skipped");
                continue;
            }
            ops.add.emplace_back(written_name(name), VarTemplate::parse(value));
        }
    }

    HeaderOps global_ops(const std::map<std::string, std::string>& add,
                         const std::vector<std::string>& remove,
                         const std::string& version_path,
                         std::string_view add_key) {
        HeaderOps ops;
        ops.remove = remove;
        add_headers(ops, add, version_path + "/" + std::string(add_key), add_key);
        return ops;
    }

    /// One `transform_headers` / `transform_response_headers` list of `extended_paths`.
    std::vector<Endpoint<HeaderOps>> endpoint_list(const Json& extended_paths,
                                                   const std::string& extended_path,
                                                   std::string_view key) {
        std::vector<Endpoint<HeaderOps>> out;
        const auto it = extended_paths.find(key);
        if (it == extended_paths.end() || it->is_null()) {
            return out;
        }
        const std::string list_path = extended_path + "/" + std::string(key);
        if (!it->is_array()) {
            report(list_path, std::string(key) + ": expected an array, got " + it->type_name() +
                                  "; list ignored");
            return out;
        }
        for (std::size_t i = 0; i < it->size(); ++i) {
            const std::string entry_path = list_path + "/" + std::to_string(i);
            if (auto endpoint = endpoint_entry((*it)[i], entry_path, key)) {
                out.push_back(std::move(*endpoint));
            }
        }
        return out;
    }

    /// Merges every `response_processors` entry named `header_injector` into one HeaderOps.
    HeaderOps legacy_injector() {
        HeaderOps ops;
        if (!api_.raw.is_object()) {
            return ops;
        }
        const auto it = api_.raw.find("response_processors");
        if (it == api_.raw.end() || it->is_null()) {
            return ops;
        }
        if (!it->is_array()) {
            report("/response_processors", std::string("response_processors: expected an array, "
                                                       "got ") +
                                               it->type_name() + "; ignored");
            return ops;
        }
        for (std::size_t i = 0; i < it->size(); ++i) {
            const std::string path = "/response_processors/" + std::to_string(i);
            try {
                const config::JsonReader processor((*it)[i], api_.source_file, path);
                std::string name;
                processor.read("name", name);
                if (name != "header_injector") {
                    continue;
                }
                const config::JsonReader options = processor.object("options");
                std::map<std::string, std::string> add;
                std::vector<std::string> remove;
                options.read("add_headers", add);
                options.read("remove_headers", remove);
                ops.remove.insert(ops.remove.end(), remove.begin(), remove.end());
                add_headers(ops, add, path + "/options/add_headers", "header_injector");
            } catch (const config::ConfigException& e) {
                report(e.error().json_path,
                       "response_processors entry skipped: " + e.error().message);
            }
        }
        return ops;
    }

  private:
    std::optional<Endpoint<HeaderOps>>
    endpoint_entry(const Json& entry, const std::string& entry_path, std::string_view list) {
        std::string path;
        std::string method;
        bool disabled = false;
        std::map<std::string, std::string> add;
        std::vector<std::string> remove;
        try {
            const config::JsonReader reader(entry, api_.source_file, entry_path);
            reader.read("path", path);
            reader.read("method", method);
            reader.read("disabled", disabled);
            reader.read("add_headers", add);
            reader.read("delete_headers", remove);
        } catch (const config::ConfigException& e) {
            report(e.error().json_path, std::string(list) + " entry skipped: " + e.error().message);
            return std::nullopt;
        }
        if (disabled) {
            return std::nullopt;
        }
        std::string error;
        auto pattern = PathPattern::compile(path, options_, error);
        if (!pattern) {
            report(entry_path + "/path", std::string(list) + " entry skipped: path \"" + path +
                                             "\" is not a valid regular expression: " + error);
            return std::nullopt;
        }
        Endpoint<HeaderOps> endpoint{std::move(*pattern), std::move(method), HeaderOps{}};
        endpoint.spec.remove = std::move(remove);
        add_headers(endpoint.spec, add, entry_path + "/add_headers", list);
        return endpoint;
    }

    const config::ApiDefinition& api_;
    const MatchOptions& options_;
    bool ignore_canonical_;
    std::vector<config::ConfigError>& errors_;
};

} // namespace

HeaderTransforms compile_header_transforms(const config::ApiDefinition& api,
                                           const config::VersionInfo& version,
                                           const MatchOptions& options,
                                           bool ignore_canonical_mime_header_key,
                                           std::vector<config::ConfigError>& errors) {
    Compiler compiler(api, options, ignore_canonical_mime_header_key, errors);
    const std::string version_path =
        "/version_data/versions/" + config::json_pointer_token(version.key);

    HeaderTransforms out;
    out.ignore_canonical = ignore_canonical_mime_header_key;
    out.request_global_disabled = version.global_headers_disabled;
    out.request_global = compiler.global_ops(version.global_headers, version.global_headers_remove,
                                             version_path, "global_headers");
    out.response_global_disabled = version.global_response_headers_disabled;
    out.response_global =
        compiler.global_ops(version.global_response_headers, version.global_response_headers_remove,
                            version_path, "global_response_headers");
    // Tyk compiles extended_paths only with use_extended_paths (gateway/api_definition.go).
    if (version.use_extended_paths && version.extended_paths.is_object()) {
        const std::string extended_path = version_path + "/extended_paths";
        out.request_endpoints =
            compiler.endpoint_list(version.extended_paths, extended_path, "transform_headers");
        out.response_endpoints = compiler.endpoint_list(version.extended_paths, extended_path,
                                                        "transform_response_headers");
    }
    out.legacy_injector = compiler.legacy_injector();
    return out;
}

void apply_header_ops(Fields& headers,
                      const HeaderOps& ops,
                      const nlohmann::json* meta,
                      const nlohmann::json* context) {
    for (const auto& name : ops.remove) {
        headers.erase(name);
    }
    std::string value;
    for (const auto& [name, value_template] : ops.add) {
        value.clear();
        value_template.expand_into(value, meta, context, false);
        // Response splitting: CR, LF and NUL never reach the wire.
        std::erase_if(value, [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
        headers.set(name, value);
    }
}

void apply_request_headers(Fields& headers,
                           const HeaderTransforms& transforms,
                           std::string_view method,
                           const MatchSubject& subject,
                           const nlohmann::json* meta,
                           const nlohmann::json* context) {
    if (!transforms.request_global_disabled) {
        apply_header_ops(headers, transforms.request_global, meta, context);
    }
    if (const auto* endpoint = find_endpoint(transforms.request_endpoints, method, subject)) {
        apply_header_ops(headers, endpoint->spec, meta, context);
    }
}

void apply_response_headers(Fields& headers,
                            const HeaderTransforms& transforms,
                            std::string_view method,
                            const MatchSubject& subject,
                            const nlohmann::json* meta,
                            const nlohmann::json* context) {
    if (const auto* endpoint = find_endpoint(transforms.response_endpoints, method, subject)) {
        apply_header_ops(headers, endpoint->spec, meta, context);
    }
    if (!transforms.response_global_disabled) {
        apply_header_ops(headers, transforms.response_global, meta, context);
        apply_header_ops(headers, transforms.legacy_injector, meta, context);
    }
}

} // namespace portcullis::transform
