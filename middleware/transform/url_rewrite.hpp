#pragma once

#include "config/api_definition.hpp"
#include "config/config_error.hpp"
#include "middleware/core/http.hpp"
#include "middleware/transform/endpoint_matcher.hpp"
#include "middleware/transform/variables.hpp"

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::transform {

/// A `rewrite_to` text compiled once (Tyk's URL rewrite, reference section 8 steps 4-5): the
/// text, every `$<digits>` reference in order of appearance, and the text parsed as a
/// `$tyk_meta.`/`$tyk_context.` template (used as is when there are no `$N` references).
struct RewriteTarget {
    struct GroupRef {
        std::string token; // "$1", "$10", "$01" ... exactly as written
        int index = -1;    // group number when token == "$" + index (Tyk's map key); else -1
    };
    std::string text;
    std::vector<GroupRef> groups;
    VarTemplate vars;
    /// The text split at its `$N` references, each piece parsed as a template, so a rewrite
    /// with groups expands without parsing at request time. Only filled when that gives Tyk's
    /// result for every group value without '$' (no reference is a prefix of another, none
    /// follows a '$' + name characters that a group value could extend); otherwise empty and
    /// rewrites run Tyk's string passes.
    struct Piece {
        VarTemplate text;
        int group = -1;         // group substituted after `text`; -1 = none (or "$01"-style: "")
        bool has_group = false; // false only for the last piece
    };
    std::vector<Piece> pieces;

    static RewriteTarget parse(std::string_view text);
};

/// One `*_matches` option (Tyk's StringRegexMap): `match_rx` and `reverse`.
struct TriggerCheck {
    /// Header: canonical MIME key; query: the exact parameter name; path part: the option's
    /// label (only used to name context values); meta / context: the key; payload: "payload".
    std::string name;
    std::shared_ptr<const re2::RE2> regex;
    bool reverse = false;
};

/// One entry of `triggers`.
struct RewriteTrigger {
    /// `on: "any"`: the first passing check picks this trigger. Any other value (including
    /// "all" and a missing `on`) means every configured check must pass.
    bool any = false;
    std::vector<TriggerCheck> headers;
    std::vector<TriggerCheck> query;
    std::vector<TriggerCheck> path_parts;
    std::vector<TriggerCheck> session_meta;
    std::vector<TriggerCheck> request_context;
    std::optional<TriggerCheck> payload; // only when `payload_matches.match_rx` is non-empty
    RewriteTarget rewrite_to;
};

/// A compiled `url_rewrites` entry.
struct UrlRewriteRule {
    std::string path; // the entry's `path` (Tyk remembers it for response transforms)
    std::shared_ptr<const re2::RE2> match;
    RewriteTarget rewrite_to;
    std::vector<RewriteTrigger> triggers;
};

/// Compiles the version's `extended_paths.url_rewrites` (only with `use_extended_paths`), in
/// array order, leaving out `disabled` entries. An entry with a wrong JSON type or a regular
/// expression (`path`, `match_pattern`, any `match_rx`) that does not compile is reported in
/// `errors` (file = the API's source file, JSON path down to the offending field) and skipped.
std::vector<Endpoint<UrlRewriteRule>>
compile_url_rewrites(const config::ApiDefinition& api,
                     const config::VersionInfo& version,
                     const MatchOptions& options,
                     std::vector<config::ConfigError>& errors);

/// What a rewrite looks at.
struct RewriteInput {
    std::string_view escaped_path_with_listen_path; // as the client sent it (r.URL.EscapedPath)
    std::string_view query;                         // raw query without '?'
    const Fields* headers = nullptr;                // request headers (after header transforms)
    std::string_view body;                          // buffered body; empty when none
    const nlohmann::json* meta = nullptr; // session meta_data object; null when there is no session
    nlohmann::json* context = nullptr; // context variables object; never null (trigger-* go here)
};

struct RewriteResult {
    /// True when Tyk would hand a new URL to the proxy: `match_pattern` matched (or, Tyk quirk,
    /// it did not match but the client URL itself held `$tyk_meta.`/`$tyk_context.` names,
    /// which Tyk then expands in place).
    bool rewritten = false;
    bool matched = false; // `match_pattern` matched (Tyk records the entry path for responses)
    std::string target;   // the new URL: relative "path?query" or absolute; see classify below
    /// Non-empty: Tyk fails the request with 500 and this message (the pattern did not match,
    /// the URL contains '%' and url.PathUnescape rejects it, e.g. a query with "%zz").
    std::string error;
};

/// Tyk's urlRewrite (reference section 8), a pure step:
/// 1. subject = escaped path (with listen path) + "?" + query when the query is non-empty;
/// 2. triggers in order (headers, query, path parts, session meta when there is a session,
///    request context, payload); `trigger-{n}-...` context values are written as they are found,
///    even when the trigger does not fire in the end;
/// 3. `match_pattern` (first match), retried on the path-unescaped subject when it does not match
///    and the subject contains '%'; no match -> no rewrite, whatever the triggers said;
/// 4. `$N` references replaced one after the other by plain substring replacement (so a `$1`
///    seen before `$10` also rewrites the start of `$10`); a group that does not exist gives "";
/// 5. `$tyk_context.` / `$tyk_meta.` expanded with query escaping (values starting with "http"
///    are left as they are).
RewriteResult apply_url_rewrite(const UrlRewriteRule& rule, const RewriteInput& input);

/// How the proxy should use a rewrite result (Tyk's url.Parse + CheckHostRewrite + loop
/// detection, reference section 8 step 6).
struct UpstreamUrl {
    /// False when Go's url.Parse rejects the text (bad '%' escape, control character, bad host or
    /// port, colon in a relative first segment) or it is an opaque "scheme:rest" URL: Tyk logs
    /// it and the request goes on with its original URL.
    bool valid = false;
    /// `scheme://host...` with a non-empty host and a scheme other than `tyk`: the proxy takes
    /// scheme, host and path from it and sends that host in the Host header.
    bool absolute = false;
    std::string scheme;    // lower-case ("http", "https", "tyk", ...); empty when relative
    std::string host_port; // host[:port] without userinfo; empty when relative
    /// Path as Go's URL.EscapedPath() would send it (kept when validly escaped, otherwise
    /// re-escaped) + "?" + raw query when there is one. For absolute and loop URLs an empty path
    /// becomes "/". For relative results the caller joins it under the target URL's path.
    std::string path_and_query;
    /// `tyk://...`: the request loops back into the gateway (the `method`, `loop_limit` and
    /// `check_limits` query parameters are the caller's to interpret and remove).
    bool loop = false;
    /// "self", or an API id / looping name (Tyk first replaces every run of non-alphanumerics
    /// in the `tyk://` host with "-").
    std::string loop_target;
};

UpstreamUrl classify_rewrite_target(std::string_view target);

/// Tyk's APILoopingName: the API name without " #category" suffixes, every run of
/// non-alphanumerics replaced by "-" ("My API" -> "My-API"). A loop target names an API when it
/// equals its api_id or, ignoring case, its looping name.
std::string api_looping_name(std::string_view name);
bool loop_target_matches(std::string_view loop_target,
                         std::string_view api_id,
                         std::string_view api_name);

} // namespace portcullis::transform
