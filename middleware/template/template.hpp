#pragma once

// Go text/template for body transforms: parsed once at load, executed per request.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::tmpl {

/// Bounds that keep a hostile template from hanging or exhausting the gateway. Exceeding one
/// is an execution error.
struct Limits {
    std::size_t max_output_bytes = 16 * 1024 * 1024;
    int max_template_depth = 64;                    // nested {{template}} / {{block}} calls
    std::uint64_t max_range_iterations = 1'000'000; // all range loops of one execution together
};

namespace detail {
struct Program;
}

/// A parsed Go text/template, with the templates it {{define}}s. Immutable once parsed;
/// execute() is const and may run on any number of threads at once.
///
/// Data model: the JSON value given to execute() is dot. JSON objects are Go maps
/// (map[string]interface{}: missing keys print `<no value>`, range visits keys in sorted order),
/// arrays are []interface{}, strings, booleans and null are themselves; a JSON integer is a Go
/// int and a JSON float a Go float64 (callers that mirror Go's encoding/json convert every
/// number to a float first). The functions are Go's builtins, Tyk's `jsonMarshal` and
/// `xmlMarshal`, and the Sprig functions Tyk templates commonly use.
class Template {
  public:
    /// Parses `text` as the template called `name`. On failure returns nothing and sets `error`
    /// to Go's message, e.g. `template: name:1:5: unexpected "}" in operand`.
    static std::optional<Template>
    parse(std::string_view name, std::string_view text, std::string& error);

    /// Executes with `data` as dot, appending to `out`. Returns "" on success, else Go's message,
    /// e.g. `template: name:1:3: executing "name" at <.a.b>: ...`; what was written before the
    /// error stays in `out`, as in Go.
    std::string
    execute(const nlohmann::json& data, std::string& out, const Limits& limits = {}) const;

    const std::string& name() const noexcept;

  private:
    std::shared_ptr<const detail::Program> program_;
};

} // namespace portcullis::tmpl
