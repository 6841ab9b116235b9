#include "middleware/transform/endpoint_matcher.hpp"

#include <algorithm>

namespace portcullis::transform {

namespace {

/// Tyk's IsMuxTemplate: at least one `{` and as many `{` as `}`.
bool is_mux_template(std::string_view pattern) {
    const auto open = std::count(pattern.begin(), pattern.end(), '{');
    const auto close = std::count(pattern.begin(), pattern.end(), '}');
    return open > 0 && open == close;
}

/// Go's `regexp.MustCompile("{([^}]+)}").ReplaceAllString(pattern, "([^/]+)")`: leftmost,
/// non-overlapping matches of `{`, one or more characters other than `}`, then `}`.
std::string replace_mux_params(std::string_view pattern) {
    std::string out;
    out.reserve(pattern.size() + 16);
    std::size_t i = 0;
    while (i < pattern.size()) {
        if (pattern[i] == '{') {
            const auto close = pattern.find('}', i + 1);
            if (close != std::string_view::npos && close > i + 1) {
                out += "([^/]+)";
                i = close + 1;
                continue;
            }
        }
        out += pattern[i];
        ++i;
    }
    return out;
}

/// Go's strings.ReplaceAll: left to right, non-overlapping.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (true) {
        const auto hit = text.find(from, pos);
        if (hit == std::string_view::npos) {
            out.append(text.substr(pos));
            return out;
        }
        out.append(text.substr(pos, hit - pos));
        out.append(to);
        pos = hit + from.size();
    }
}

/// Tyk's PreparePathRegexp followed by generateRegex's `(?i)`.
std::string prepare_path_regexp(std::string_view path, const MatchOptions& options) {
    std::string pattern(path);
    if (is_mux_template(pattern)) {
        pattern = replace_mux_params(pattern);
    }
    if (pattern.find("/*") != std::string::npos) {
        pattern = replace_all(pattern, "/*/", "/[^/]+/");
        pattern = replace_all(pattern, "/*", "/.*");
    }
    if (options.prefix && pattern.starts_with('/')) {
        pattern.insert(0, "^");
    }
    if (options.suffix && !pattern.ends_with('$')) {
        pattern += '$';
    }
    if (options.ignore_case) {
        pattern.insert(0, "(?i)");
    }
    return pattern;
}

} // namespace

std::optional<PathPattern>
PathPattern::compile(std::string_view path, const MatchOptions& options, std::string& error) {
    re2::RE2::Options re_options;
    re_options.set_log_errors(false);
    auto regex = std::make_shared<const re2::RE2>(prepare_path_regexp(path, options), re_options);
    if (!regex->ok()) {
        error = regex->error();
        return std::nullopt;
    }
    PathPattern out;
    out.source_ = std::string(path);
    out.regex_ = std::move(regex);
    return out;
}

bool PathPattern::matches(std::string_view path) const {
    return regex_ != nullptr && re2::RE2::PartialMatch(path, *regex_);
}

} // namespace portcullis::transform
