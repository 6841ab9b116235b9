#include "middleware/template/value.hpp"

#include <limits>
#include <utility>

namespace portcullis::tmpl::detail {

Value Value::nil_interface() {
    Value v;
    v.kind_ = Kind::nil;
    v.boxed_ = true;
    return v;
}

Value Value::boolean(bool b) {
    Value v;
    v.kind_ = Kind::boolean;
    v.u_.b = b;
    return v;
}

Value Value::integer(std::int64_t i) {
    Value v;
    v.kind_ = Kind::int_;
    v.u_.i = i;
    return v;
}

Value Value::int64(std::int64_t i) {
    Value v;
    v.kind_ = Kind::int64;
    v.u_.i = i;
    return v;
}

Value Value::uint8(std::uint8_t b) {
    Value v;
    v.kind_ = Kind::uint8;
    v.u_.i = b;
    return v;
}

Value Value::float64(double f) {
    Value v;
    v.kind_ = Kind::float64;
    v.u_.f = f;
    return v;
}

Value Value::complex(double re, double im) {
    Value v;
    v.kind_ = Kind::complex128;
    v.u_.c.re = re;
    v.u_.c.im = im;
    return v;
}

Value Value::borrowed_string(std::string_view s) {
    Value v;
    v.kind_ = Kind::string;
    v.str_ = s;
    return v;
}

Value Value::owned_string(std::string s) {
    Value v;
    v.kind_ = Kind::string;
    auto owned = std::make_shared<const std::string>(std::move(s));
    v.str_ = *owned;
    v.owner_ = std::move(owned);
    return v;
}

Value Value::from_json(const nlohmann::json& j, bool boxed) {
    Value v;
    switch (j.type()) {
    case nlohmann::json::value_t::null:
        return boxed ? nil_interface() : Value();
    case nlohmann::json::value_t::boolean:
        v = boolean(j.get<bool>());
        break;
    case nlohmann::json::value_t::number_integer:
        v = integer(j.get<std::int64_t>());
        break;
    case nlohmann::json::value_t::number_unsigned: {
        const auto u = j.get<std::uint64_t>();
        if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            v = integer(static_cast<std::int64_t>(u));
        } else {
            v = float64(static_cast<double>(u));
        }
        break;
    }
    case nlohmann::json::value_t::number_float:
        v = float64(j.get<double>());
        break;
    case nlohmann::json::value_t::string:
        v = borrowed_string(j.get_ref<const std::string&>());
        break;
    case nlohmann::json::value_t::array:
        v.kind_ = Kind::list;
        v.json_ = &j;
        break;
    case nlohmann::json::value_t::object:
        v.kind_ = Kind::map;
        v.json_ = &j;
        break;
    default:
        return boxed ? nil_interface() : Value();
    }
    v.boxed_ = boxed;
    return v;
}

Value Value::list(std::vector<Value> items, Elem elem) {
    Value v;
    v.kind_ = Kind::list;
    v.elem_ = elem;
    auto data = std::make_shared<ListData>();
    data->items = std::move(items);
    v.owner_ = std::move(data);
    return v;
}

Value Value::map(std::map<std::string, Value, std::less<>> items, Elem elem) {
    Value v;
    v.kind_ = Kind::map;
    v.elem_ = elem;
    auto data = std::make_shared<MapData>();
    data->items = std::move(items);
    v.owner_ = std::move(data);
    return v;
}

Value Value::time(std::int64_t unix_seconds, std::int32_t nanos) {
    Value v;
    v.kind_ = Kind::time;
    v.u_.i = unix_seconds;
    v.nanos_ = nanos;
    return v;
}

Value Value::with_boxed(bool boxed) const {
    Value v = *this;
    v.boxed_ = boxed;
    return v;
}

Value Value::unboxed() const {
    if (!boxed_) {
        return *this;
    }
    if (kind_ == Kind::nil) {
        return Value();
    }
    Value v = *this;
    v.boxed_ = false;
    return v;
}

const ListData* Value::owned_list() const noexcept {
    if (kind_ != Kind::list || json_ != nullptr) {
        return nullptr;
    }
    return static_cast<const ListData*>(owner_.get());
}

const MapData* Value::owned_map() const noexcept {
    if (kind_ != Kind::map || json_ != nullptr) {
        return nullptr;
    }
    return static_cast<const MapData*>(owner_.get());
}

std::size_t Value::size() const {
    switch (kind_) {
    case Kind::string:
        return str_.size();
    case Kind::list:
        if (json_ != nullptr) {
            return json_->size();
        }
        return owned_list() != nullptr ? owned_list()->items.size() : 0;
    case Kind::map:
        if (json_ != nullptr) {
            return json_->size();
        }
        return owned_map() != nullptr ? owned_map()->items.size() : 0;
    default:
        return 0;
    }
}

Value Value::at(std::size_t i) const {
    if (json_ != nullptr) {
        return from_json((*json_)[i], true);
    }
    const ListData* data = owned_list();
    if (data == nullptr || i >= data->items.size()) {
        return Value();
    }
    const Value& item = data->items[i];
    return elem_ == Elem::any ? item.with_boxed(true) : item;
}

bool Value::find(std::string_view key, Value& out) const {
    if (json_ != nullptr) {
        auto it = json_->find(key);
        if (it == json_->end()) {
            return false;
        }
        out = from_json(*it, true);
        return true;
    }
    const MapData* data = owned_map();
    if (data == nullptr) {
        return false;
    }
    auto it = data->items.find(key);
    if (it == data->items.end()) {
        return false;
    }
    out = elem_ == Elem::any ? it->second.with_boxed(true) : it->second;
    return true;
}

bool truth(const Value& value) {
    const Value v = value.unboxed();
    switch (v.kind()) {
    case Kind::invalid:
    case Kind::nil:
        return false;
    case Kind::boolean:
        return v.as_bool();
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        return v.as_int() != 0;
    case Kind::float64:
        return v.as_float() != 0;
    case Kind::complex128:
        return v.real() != 0 || v.imag() != 0;
    case Kind::string:
    case Kind::list:
    case Kind::map:
        return v.size() > 0;
    case Kind::time:
        return true;
    }
    return false;
}

std::string_view dynamic_type_name(const Value& v) {
    switch (v.kind()) {
    case Kind::invalid:
    case Kind::nil:
        return "<nil>";
    case Kind::boolean:
        return "bool";
    case Kind::int_:
        return "int";
    case Kind::int64:
        return "int64";
    case Kind::uint8:
        return "uint8";
    case Kind::float64:
        return "float64";
    case Kind::complex128:
        return "complex128";
    case Kind::string:
        return "string";
    case Kind::list:
        switch (v.elem()) {
        case Elem::string:
            return "[]string";
        case Elem::int_:
            return "[]int";
        default:
            return "[]interface {}";
        }
    case Kind::map:
        return v.elem() == Elem::string ? "map[string]string" : "map[string]interface {}";
    case Kind::time:
        return "time.Time";
    }
    return "<nil>";
}

std::string_view static_type_name(const Value& v) {
    if (v.boxed()) {
        return "interface {}";
    }
    return dynamic_type_name(v);
}

} // namespace portcullis::tmpl::detail
