#pragma once

#include "config/api_definition.hpp"
#include "config/config_error.hpp"
#include "middleware/core/http.hpp"
#include "middleware/transform/endpoint_matcher.hpp"
#include "middleware/transform/variables.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portcullis::transform {

/// One set of header changes: delete `remove` (case-insensitive, Go's Header.Del), then set every
/// `add` entry (Go's Header.Set: existing values of that name are replaced). The `add` names are
/// stored as they will be written: canonicalised (textproto.CanonicalMIMEHeaderKey) unless
/// `ignore_canonical_mime_header_key`, then as configured. Values are `$tyk_meta.`/
/// `$tyk_context.` templates expanded with escape=false.
struct HeaderOps {
    std::vector<std::string> remove;
    std::vector<std::pair<std::string, VarTemplate>> add;

    bool empty() const noexcept { return remove.empty() && add.empty(); }
};

/// The header changes of an API's active version, compiled once at load.
struct HeaderTransforms {
    bool request_global_disabled = false;               // global_headers_disabled
    HeaderOps request_global;                           // global_headers_remove / global_headers
    std::vector<Endpoint<HeaderOps>> request_endpoints; // extended_paths.transform_headers
    bool response_global_disabled = false;              // global_response_headers_disabled
    HeaderOps response_global; // global_response_headers_remove / global_response_headers
    std::vector<Endpoint<HeaderOps>> response_endpoints; // transform_response_headers
    HeaderOps legacy_injector; // response_processors[name=header_injector].options, merged
    bool ignore_canonical = false;

    /// Whether any response header change is configured (else there is nothing to match).
    bool has_response_ops() const noexcept {
        return !response_endpoints.empty() ||
               (!response_global_disabled &&
                (!response_global.empty() || !legacy_injector.empty()));
    }
};

/// Compiles the header transforms of `version` of `api`:
/// * the version's `global_headers*` and `global_response_headers*` fields;
/// * only with `use_extended_paths`: `extended_paths.transform_headers` and
///   `transform_response_headers` entries {path, method, disabled, add_headers, delete_headers};
///   `disabled` entries are left out (Tyk's compileInjectedHeaderSpec);
/// * legacy `response_processors` entries named `header_injector` (`options.add_headers`,
///   `options.remove_headers`); several such entries are merged in array order.
/// Problems are reported in `errors` (file = api.source_file, JSON pointer of the offending field,
/// message naming the api id) and the offending entry is left out; the rest still applies:
/// an entry path that is not a valid regular expression, wrong-typed fields (Go's encoding/json or
/// mapstructure would reject them), and header names to add that are not HTTP tokens (Go's
/// net/http silently drops such headers when writing; here they are never set).
HeaderTransforms compile_header_transforms(const config::ApiDefinition& api,
                                           const config::VersionInfo& version,
                                           const MatchOptions& options,
                                           bool ignore_canonical_mime_header_key,
                                           std::vector<config::ConfigError>& errors);

/// Applies `ops` to `headers`: every `remove` name deleted, then every `add` set.
///
/// Response splitting rule: a value that after expansion contains CR, LF or NUL never creates a
/// new header line; those characters are removed from the value. (Go's net/http turns CR/LF into
/// spaces when writing a response and refuses to send such a request upstream.) Never throws.
void apply_header_ops(Fields& headers,
                      const HeaderOps& ops,
                      const nlohmann::json* meta,
                      const nlohmann::json* context);

/// Tyk's TransformHeaders request middleware (after auth and body transform, before URL
/// rewrite): unless `global_headers_disabled`, delete `global_headers_remove` and set
/// `global_headers`; then the first `transform_headers` entry matching `method` and `subject`:
/// delete its `delete_headers`, set its `add_headers`. `meta` is the session's `meta_data` (may
/// be null), `context` the context variables (may be null).
void apply_request_headers(Fields& headers,
                           const HeaderTransforms& transforms,
                           std::string_view method,
                           const MatchSubject& subject,
                           const nlohmann::json* meta,
                           const nlohmann::json* context);

/// Tyk's HeaderInjector response handler: the first `transform_response_headers` entry matching
/// the request's original `method` and pre-rewrite `subject` (delete, then add); then, unless
/// `global_response_headers_disabled`, `global_response_headers_remove` /
/// `global_response_headers`, then the legacy `header_injector` options (`remove_headers`,
/// `add_headers`). As in Tyk's source, `global_response_headers_disabled` also switches the
/// legacy injector options off.
void apply_response_headers(Fields& headers,
                            const HeaderTransforms& transforms,
                            std::string_view method,
                            const MatchSubject& subject,
                            const nlohmann::json* meta,
                            const nlohmann::json* context);

} // namespace portcullis::transform
