#include "middleware/transform/api_transforms.hpp"

#include "config/json_reader.hpp"
#include "middleware/transform/endpoint_list.hpp"

namespace portcullis::transform {

namespace {

/// `extended_paths.internal` (only with `use_extended_paths`); disabled entries left out, broken
/// ones reported and skipped.
std::vector<Endpoint<InternalOnly>> compile_internal(const config::ApiDefinition& api,
                                                     const config::VersionInfo& version,
                                                     const MatchOptions& options,
                                                     std::vector<config::ConfigError>& errors) {
    return compile_endpoint_list<InternalOnly>(
        api, version, "internal", errors,
        [&](const config::JsonReader& reader) -> std::optional<Endpoint<InternalOnly>> {
            bool disabled = false;
            std::string path;
            std::string method;
            reader.read("disabled", disabled);
            reader.read("path", path);
            reader.read("method", method);
            if (disabled) {
                return std::nullopt;
            }
            std::string error;
            auto pattern = PathPattern::compile(path, options, error);
            if (!pattern) {
                reader.fail("path", "invalid path pattern: " + error);
            }
            return Endpoint<InternalOnly>{std::move(*pattern), std::move(method), {}};
        });
}

} // namespace

std::shared_ptr<const ApiTransforms>
compile_api_transforms(const config::ApiDefinition& api,
                       const config::GatewayConfig& config,
                       std::vector<config::ConfigError>& errors) {
    auto out = std::make_shared<ApiTransforms>();
    out->version = api.active_version();
    out->match.prefix = config.http_server_options.enable_path_prefix_matching;
    out->match.suffix = config.http_server_options.enable_path_suffix_matching;
    const bool global_ignore_case =
        config.raw.is_object() && config.raw.value("ignore_endpoint_case", false);
    if (out->version == nullptr) {
        out->rate_limits =
            limits::compile_api_limits(api, nullptr, out->match, config.hash_keys, errors);
        return out;
    }
    out->match.ignore_case = global_ignore_case || out->version->ignore_endpoint_case;
    if (!out->version->name.empty()) {
        out->version_prefix = "/" + out->version->name;
    }
    const bool ignore_canonical =
        config.raw.is_object() && config.raw.value("ignore_canonical_mime_header_key", false);
    out->headers =
        compile_header_transforms(api, *out->version, out->match, ignore_canonical, errors);
    out->url_rewrites = compile_url_rewrites(api, *out->version, out->match, errors);
    out->internal = compile_internal(api, *out->version, out->match, errors);
    out->body_request =
        compile_body_transforms(api, *out->version, out->match, "transform", errors);
    out->body_response =
        compile_body_transforms(api, *out->version, out->match, "transform_response", errors);
    out->rate_limits =
        limits::compile_api_limits(api, out->version, out->match, config.hash_keys, errors);
    return out;
}

MatchSubject match_subject(std::string_view path,
                           std::string_view listen_prefix,
                           const ApiTransforms& transforms,
                           std::string& storage) {
    // Path minus listen path (keeping its leading '/'), then minus the version segment.
    std::string_view prefix = listen_prefix;
    if (prefix.size() > 1 && prefix.back() == '/') {
        prefix.remove_suffix(1);
    }
    std::string_view without_listen = path;
    if (path.starts_with(prefix) && prefix != "/") {
        without_listen = path.substr(prefix.size());
    }
    if (without_listen.empty()) {
        storage = "/";
        without_listen = storage;
    }
    std::string_view without_version = without_listen;
    const auto& vp = transforms.version_prefix;
    if (!vp.empty() && without_listen.starts_with(vp) &&
        (without_listen.size() == vp.size() || without_listen[vp.size()] == '/')) {
        without_version = without_listen.substr(vp.size());
    }
    return MatchSubject{without_version, without_listen, path};
}

} // namespace portcullis::transform
