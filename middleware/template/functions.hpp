#pragma once

// The template functions: Go's builtins, Tyk's jsonMarshal/xmlMarshal and Sprig v3's generic
// functions (minus env/expandenv), with Go signatures so argument checks and messages match.
#include "middleware/template/value.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::tmpl::detail {

/// A Go parameter type, as far as argument evaluation and validateType care.
enum class ParamType : std::uint8_t {
    none,  // a nil reflect.Type (evalChainNode's receiver)
    any,   // interface{}
    value, // reflect.Value (builtins that see arguments unconverted)
    string_,
    int_,
    int64_,
    float64_,
    bool_,
    map_any,  // map[string]interface{}
    list_any, // []interface{}
    time_,    // time.Time
};

std::string_view param_type_name(ParamType t);

/// Bounds a function must respect (strings it builds, collections it creates).
struct CallContext {
    std::size_t max_bytes;
    std::uint64_t max_items;
};

/// An error returned by a function: execution stops with `error calling NAME: message`.
struct CallError {
    std::string message;
};

using FunctionImpl = Value (*)(CallContext& ctx, std::vector<Value>& args);

struct Function {
    std::string_view name;
    std::vector<ParamType> params; // fixed parameters
    bool variadic = false;
    ParamType variadic_type = ParamType::any;
    bool builtin = false; // Go's isBuiltin: and/or short-circuit
    FunctionImpl impl = nullptr;
};

/// The function called `name` in templates, or nullptr.
const Function* find_function(std::string_view name);
/// A method of time.Time (`now.Unix`), or nullptr.
const Function* find_time_method(std::string_view name);

} // namespace portcullis::tmpl::detail
