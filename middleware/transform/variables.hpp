#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace portcullis::transform {

/// Tyk's valToStr: how a metadata or context value becomes text. Strings as they are; numbers in
/// shortest decimal form without exponent (`123`, `12.22`); arrays of strings joined with ","
/// (Tyk drops one leading ","); other JSON arrays: elements stringified, empties dropped, each
/// query-escaped, joined with ","; url.Values-like objects of arrays (`request_data`) as
/// `k:v1,v2;k2:v` ; booleans, null, other objects -> "". With `escape`, the result is
/// query-escaped (space `+`, `/` `%2F`) unless it begins with "http".
std::string stringify(const nlohmann::json& value, bool escape);

/// Go's url.QueryEscape.
std::string query_escape(std::string_view text);

/// A text with `$tyk_meta.NAME` and `$tyk_context.NAME` references, parsed once at load into
/// literal and variable parts. Names match `[A-Za-z0-9_\-\.]+` after the prefix (a trailing "."
/// is part of the name, as in Tyk). Expansion never fails: a missing name, a missing session or
/// missing context gives "".
class VarTemplate {
  public:
    VarTemplate() = default;
    static VarTemplate parse(std::string_view text);

    /// True when the text holds at least one reference.
    bool has_variables() const noexcept { return has_variables_; }
    /// True when references interact so that expansion always emulates Tyk's string passes.
    bool exact() const noexcept { return exact_; }
    /// True when the end of `literal` could begin a `$tyk_meta`/`$tyk_context` reference that
    /// text appended after it completes.
    static bool tail_may_start_reference(std::string_view literal);
    const std::string& source() const noexcept { return source_; }

    /// Expands with `meta` (session meta_data object, may be null) and `context` (context
    /// variables object, may be null). Appends to `out` (no allocation beyond its growth).
    void expand_into(std::string& out,
                     const nlohmann::json* meta,
                     const nlohmann::json* context,
                     bool escape) const;
    std::string
    expand(const nlohmann::json* meta, const nlohmann::json* context, bool escape) const;

  private:
    enum class Source { literal, meta, context };
    struct Part {
        Source source;
        std::string text; // literal text, or the variable name
    };
    /// Tyk's string passes run literally (references that interact; see variables.cpp).
    void expand_exact(std::string& out,
                      const nlohmann::json* meta,
                      const nlohmann::json* context,
                      bool escape) const;

    std::string source_;
    std::vector<Part> parts_;
    bool has_variables_ = false;
    bool exact_ = false; // parts_ unused: always expand with Tyk's string passes
};

} // namespace portcullis::transform
