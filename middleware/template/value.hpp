#pragma once

// The values a Go template execution handles: a small tagged value that mirrors the reflect.Value
// cases text/template meets when dot is a decoded JSON document (map[string]interface{}) and the
// functions are Go's builtins, Sprig's and Tyk's.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::tmpl::detail {

/// The dynamic kind of a value. `invalid` is Go's zero reflect.Value (a missing map key, an
/// untyped nil); `nil` is a nil interface{} (a JSON null inside a container), always boxed.
enum class Kind : std::uint8_t {
    invalid,
    nil,
    boolean,
    int_,  // Go int
    int64, // Go int64 (Sprig arithmetic results)
    uint8, // Go uint8 (a byte of a string: index "abc" 0)
    float64,
    complex128,
    string,
    list, // []interface{} / []string / []int
    map,  // map[string]interface{} / map[string]string
    time, // time.Time (UTC)
};

/// The element type of a list or the value type of a map.
enum class Elem : std::uint8_t { any, string, int_ };

class Value;

/// Storage of a list built during execution. Elements are stored unboxed; Value::at() boxes
/// them when the element type is interface{}.
struct ListData {
    std::vector<Value> items;
};

/// Storage of a map built during execution, sorted like Go sorts map keys when printing.
struct MapData {
    std::map<std::string, Value, std::less<>> items;
};

/// A template value. Cheap to copy: strings, lists and maps either point into the JSON document
/// being rendered (which outlives the execution), into the parsed program, or share ownership
/// of storage built during execution.
class Value {
  public:
    Value() = default;

    static Value nil_interface();
    static Value boolean(bool b);
    static Value integer(std::int64_t i); // Go int
    static Value int64(std::int64_t i);
    static Value uint8(std::uint8_t b);
    static Value float64(double f);
    static Value complex(double re, double im);
    /// A string the caller keeps alive for the whole execution.
    static Value borrowed_string(std::string_view s);
    static Value owned_string(std::string s);
    static Value from_json(const nlohmann::json& j, bool boxed);
    static Value list(std::vector<Value> items, Elem elem);
    static Value map(std::map<std::string, Value, std::less<>> items, Elem elem);
    static Value time(std::int64_t unix_seconds, std::int32_t nanos);

    Kind kind() const noexcept { return kind_; }
    /// True when the static type is interface{} (an element of a []interface{} or
    /// map[string]interface{}, or the result of a function returning interface{}).
    bool boxed() const noexcept { return boxed_; }
    bool valid() const noexcept { return kind_ != Kind::invalid; }
    /// True for an invalid value or a nil interface.
    bool is_nil() const noexcept { return kind_ == Kind::invalid || kind_ == Kind::nil; }
    Elem elem() const noexcept { return elem_; }

    /// The same value with static type interface{} (or not).
    Value with_boxed(bool boxed) const;
    /// Go's "dig down one level" for interface{} values: a nil interface becomes invalid.
    Value unboxed() const;

    bool as_bool() const noexcept { return u_.b; }
    std::int64_t as_int() const noexcept { return u_.i; }
    double as_float() const noexcept { return u_.f; }
    double real() const noexcept { return u_.c.re; }
    double imag() const noexcept { return u_.c.im; }
    std::string_view as_string() const noexcept { return str_; }
    std::int64_t unix_seconds() const noexcept { return u_.i; }
    std::int32_t nanos() const noexcept { return nanos_; }

    /// Length of a string (bytes), list or map.
    std::size_t size() const;
    /// Element i of a list, boxed when the element type is interface{}.
    Value at(std::size_t i) const;
    /// Looks up a map key; false when absent.
    bool find(std::string_view key, Value& out) const;
    /// Calls f(std::string_view key, const Value& value) for each map entry in key order.
    template <class F> void for_each_entry(F&& f) const;

    /// The JSON node behind a list or map, if any.
    const nlohmann::json* json() const noexcept { return json_; }
    const ListData* owned_list() const noexcept;
    const MapData* owned_map() const noexcept;

  private:
    Kind kind_ = Kind::invalid;
    bool boxed_ = false;
    Elem elem_ = Elem::any;
    std::int32_t nanos_ = 0;
    union Scalar {
        bool b;
        std::int64_t i;
        double f;
        struct {
            double re;
            double im;
        } c;
    } u_{};
    std::string_view str_;
    const nlohmann::json* json_ = nullptr;
    std::shared_ptr<const void> owner_;
};

/// text/template's truth of a value (isTrue after indirecting an interface): zero values, empty
/// strings/lists/maps and nil are false.
bool truth(const Value& v);

/// How deep printers and encoders descend into nested lists and maps (deeper input is cut off
/// rather than risking the stack).
constexpr int kMaxValueDepth = 1000;

/// Go's reflect type name of the value's static type, e.g. `interface {}`, `string`,
/// `map[string]interface {}`.
std::string_view static_type_name(const Value& v);
/// Go's reflect type name of the dynamic type (what %T prints); "<nil>" for nil.
std::string_view dynamic_type_name(const Value& v);

template <class F> void Value::for_each_entry(F&& f) const {
    if (json_ != nullptr) {
        for (auto it = json_->begin(); it != json_->end(); ++it) {
            f(std::string_view(it.key()), Value::from_json(it.value(), true));
        }
        return;
    }
    const MapData* data = owned_map();
    if (data == nullptr) {
        return;
    }
    for (const auto& [key, value] : data->items) {
        f(std::string_view(key), elem_ == Elem::any ? value.with_boxed(true) : value);
    }
}

} // namespace portcullis::tmpl::detail
