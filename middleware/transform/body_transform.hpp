#pragma once

// Tyk's request and response body transforms (reference section 10): the compiled
// `extended_paths.transform` / `transform_response` entries, the template root built from the
// body, and the gzip/deflate helpers the response side needs. Pure functions: no I/O except
// reading `template_mode: file` templates at load.

#include "config/api_definition.hpp"
#include "config/config_error.hpp"
#include "middleware/template/template.hpp"
#include "middleware/transform/endpoint_matcher.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::transform {

/// One compiled `transform` / `transform_response` entry's `template_data`. Immutable once
/// compiled; shared read-only by every worker.
struct BodyTransform {
    /// How the body becomes the template root. `unsupported` only exists on the request side
    /// (an `input_type` other than "json"/"xml"; the entry stays, and every render fails with
    /// Tyk's "unsupported request input type" so the request goes on with its original body).
    /// On the response side any value other than "xml" is compiled as `json`, as Tyk does.
    enum class Input { json, xml, unsupported };

    /// Parsed template. Named as Tyk names it: "" for `blob`, the file's base name for `file`
    /// (so Go error texts such as `template: :1:5: ...` read the same as Tyk's logs).
    tmpl::Template tmpl;
    Input input = Input::json;
    std::string input_type;      // as configured (used in the "unsupported" message)
    bool enable_session = false; // adds `_tyk_meta` when the request has a session
    bool response = false;       // compiled from `transform_response`
};

/// Compiles `extended_paths.<list>` of `version`, `list` being "transform" (request side) or
/// "transform_response" (response side), in array order; only with `use_extended_paths`;
/// `disabled` entries are left out. An entry is reported in `errors` (the API's source file,
/// JSON pointer down to the offending field) and left out when a field has the wrong JSON
/// type, its `path` does not compile, `template_mode` is neither "blob" nor "file", a blob is
/// not valid (padded, standard) base64, a file cannot be read (relative paths are relative to
/// the process working directory, as in Tyk), or the template does not parse (the message is
/// Go's, naming the template).
std::vector<Endpoint<BodyTransform>>
compile_body_transforms(const config::ApiDefinition& api,
                        const config::VersionInfo& version,
                        const MatchOptions& options,
                        std::string_view list,
                        std::vector<config::ConfigError>& errors);

/// The template root for a JSON body, as Tyk builds it with Go's json.Unmarshal:
/// - an empty body (zero bytes) -> {};
/// - an object -> that object; a top-level array -> {"array": [...]};
/// - any other value (string, number, boolean, null) -> {};
/// - invalid JSON -> nullopt, with a Go-like message in `error` when given. As in Go, a body of
///   only whitespace is invalid ("unexpected end of JSON input"), so is a leading byte-order
///   mark, nesting deeper than 10000, or a number out of float64 range.
/// Strings follow Go's decoder: invalid UTF-8 bytes and lone `\uD800`-style surrogate escapes
/// become U+FFFD instead of failing. Numbers keep their JSON kind (see go_numbers); `-0` is
/// kept as the float -0.0.
std::optional<nlohmann::json> body_root_json(std::string_view body, std::string* error = nullptr);

/// The template root for an XML body: the map mxj.NewMapXml (no casting, Tyk's settings)
/// builds, i.e. {"<root local name>": value} where an element's value is
/// - "" when it has no attributes, no child elements and no text;
/// - its text (trimmed of " \t\r\n") when it has text only;
/// - otherwise an object: attributes as "-<local name>", child elements by local name (a
///   repeated name becomes an array in document order), and the element's text as "#text".
/// All values are strings. mxj quirks kept: text runs are separate (split by comments, CDATA
/// sections or child elements) and a later run replaces an earlier one; a run that comes while
/// the element has neither attributes nor children yet becomes the element's whole value, so
/// `<a>x<b>1</b></a>` gives {"a": "x"}. Namespace prefixes are dropped ("p:b" -> "b",
/// `xmlns:p` -> "-p"). Text before the root element and everything after it is ignored.
/// An empty body (zero bytes) is read as `<_/>`, giving {"_": ""}.
/// Errors (nullopt, with a Go-like message in `error` when given): no element at all ("EOF", so
/// also a body of only whitespace), unbalanced or unterminated markup, unknown entities (only
/// the five XML ones and character references are known, as with Go's strict decoder), invalid
/// UTF-8 or characters outside XML's range in text and attribute values, `]]>` in text, `<` in
/// an attribute value, an XML version other than 1.0, nesting deeper than 10000 elements.
/// Encodings: a declared non-UTF-8 encoding is handled like Tyk's charset reader (the text is
/// read as UTF-8 when its first 1024 bytes are valid UTF-8 with a non-ASCII byte, else as
/// windows-1252, whatever the label); UTF-16 is rejected.
std::optional<nlohmann::json> xml_to_map(std::string_view body, std::string* error = nullptr);

/// Converts every JSON integer in `value` to a double, in place (Go's encoding/json decodes
/// every number into interface{} as float64, so templates must see floats: `{{.n}}` of 1 prints
/// "1" but of 1000000 prints "1e+06", as in Tyk). Iterative: safe on deep values.
void go_numbers(nlohmann::json& value);

/// Renders `transform` for one message, into `out` (cleared first).
/// - Root: body_root_json or xml_to_map of `body` (already decoded from gzip/deflate);
/// - `_tyk_meta`: `*meta` (the session's `meta_data`; null -> {}) when `enable_session` and
///   `meta` is non-null (pass null when the request has no session);
/// - `_tyk_context`: `*context` when non-null (pass it only when the API has
///   `enable_context_vars`); used as is (its integers stay Go ints);
/// - numbers in the body root and in meta are converted by go_numbers.
/// Returns "" on success, else the message Tyk logs. What to do with it differs per side:
/// - request (`!transform.response`): non-empty -> the body could not be read (invalid JSON/XML,
///   unsupported input type) or the template failed; keep the original body (Tyk does).
/// - response: `out` is always the new body, even when the return is non-empty (Tyk runs the
///   template on an empty root when the body does not parse, and keeps whatever a failing
///   template wrote); the message is only for the log.
/// The request-side `$tyk_meta`/`$tyk_context` pass over `out` is the caller's.
std::string render_body_transform(const BodyTransform& transform,
                                  std::string_view body,
                                  const nlohmann::json* meta,
                                  const nlohmann::json* context,
                                  std::string& out,
                                  const tmpl::Limits& limits = {});

/// Decodes a `Content-Encoding` the way Tyk's response transform reads bodies:
/// - "gzip": gzip, concatenated members included (Go's gzip.Reader); CRC and length checked;
/// - "deflate": raw DEFLATE (RFC 1951, Go's flate.NewReader) - zlib-wrapped data fails, as in Go;
/// - anything else (including "" and other casings such as "GZIP", which Tyk does not decode):
///   `body` returned unchanged.
/// An empty `body` decodes to "" (Tyk ends up with an empty body too). nullopt when the data is
/// corrupt or truncated (Tyk would go on with what it decoded before the error) or the output
/// would exceed `max_out` bytes (zip bombs; also applies to unchanged bodies).
std::optional<std::string>
decode_content(std::string_view encoding, std::string_view body, std::size_t max_out);

/// Encodes `body` for `encoding` as Tyk's compressBuffer does: "gzip" (default level, no name,
/// mtime 0, OS "unknown" like Go's writer), "deflate" (raw DEFLATE, level 1), anything else:
/// unchanged.
std::string encode_content(std::string_view encoding, std::string_view body);

} // namespace portcullis::transform
