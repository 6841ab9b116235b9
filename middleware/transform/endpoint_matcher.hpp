#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::transform {

/// How `extended_paths` entry paths are matched (tyk.conf `http_server_options`, the version's
/// `ignore_endpoint_case` or the global `ignore_endpoint_case`).
struct MatchOptions {
    bool prefix = false; // enable_path_prefix_matching: '^' added when the path starts with '/'
    bool suffix = false; // enable_path_suffix_matching: '$' added
    bool ignore_case = false; // case-insensitive
};

/// One `extended_paths` entry's `path`, compiled once with RE2 (Tyk's generateRegex and
/// httputil.PreparePathRegexp), in this order:
/// 1. when the path has as many `{` as `}` (at least one), every `{...}` (regex `{([^}]+)}`,
///    so also `{2}` quantifiers and `{id:[0-9]+}`) becomes `([^/]+)`;
/// 2. every `/*/` becomes `/[^/]+/`, then every remaining `/*` becomes `/.*`;
/// 3. `prefix` and a leading `/`: `^` is prepended;
/// 4. `suffix` and no trailing `$`: `$` is appended;
/// 5. `ignore_case`: `(?i)` is prepended.
/// The rest is a regular expression, unanchored unless the options say otherwise; matching is
/// RE2::PartialMatch (Go's MatchString). `source()` is the path as configured, `regex().pattern()`
/// the prepared expression.
class PathPattern {
  public:
    /// nullopt and `error` set when the resulting expression does not compile.
    static std::optional<PathPattern>
    compile(std::string_view path, const MatchOptions& options, std::string& error);
    bool matches(std::string_view path) const;
    const std::string& source() const noexcept { return source_; }
    const re2::RE2& regex() const noexcept { return *regex_; }

  private:
    std::string source_;
    std::shared_ptr<const re2::RE2> regex_;
};

/// The paths an entry is tried against, in Tyk's order: the path without listen path and
/// version, the path without listen path, the full path (duplicates are fine).
struct MatchSubject {
    std::string_view without_version;
    std::string_view without_listen_path;
    std::string_view full;
};

/// A compiled entry of one `extended_paths` list: where it applies, and what it does.
template <class Spec> struct Endpoint {
    PathPattern pattern;
    std::string method; // exact string compare, as Tyk
    Spec spec;
};

/// First entry (array order) whose method equals `method` and whose pattern matches one of the
/// subject's paths; null when none. Disabled entries are never compiled into the list.
template <class Spec>
const Endpoint<Spec>* find_endpoint(const std::vector<Endpoint<Spec>>& endpoints,
                                    std::string_view method,
                                    const MatchSubject& subject) {
    // The same text is tried once (without a version segment, the first two are equal).
    const bool try_listen = subject.without_listen_path != subject.without_version;
    const bool try_full =
        subject.full != subject.without_listen_path && subject.full != subject.without_version;
    for (const auto& e : endpoints) {
        if (e.method != method) {
            continue;
        }
        if (e.pattern.matches(subject.without_version) ||
            (try_listen && e.pattern.matches(subject.without_listen_path)) ||
            (try_full && e.pattern.matches(subject.full))) {
            return &e;
        }
    }
    return nullptr;
}

} // namespace portcullis::transform
