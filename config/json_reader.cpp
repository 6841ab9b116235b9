#include "config/json_reader.hpp"

#include "config/config_error.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace portcullis::config {

namespace {

using Json = nlohmann::json;

// Readers of missing sections point here so that every reader always has a value to look at.
const Json& empty_object() {
    static const Json kEmpty = Json::object();
    return kEmpty;
}

const Json& null_value() {
    static const Json kNull;
    return kNull;
}

} // namespace

std::string json_pointer_token(std::string_view key) {
    std::string out;
    out.reserve(key.size());
    for (const char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string type_mismatch(std::string_view expected, const Json& got) {
    return "expected " + std::string(expected) + ", got " + got.type_name();
}

namespace {

[[noreturn]] void throw_at(const std::string& file, std::string path, std::string message) {
    ConfigError error;
    error.file = file;
    error.json_path = std::move(path);
    error.message = std::move(message);
    throw ConfigException(std::move(error));
}

// Go's encoding/json decodes 3.0 into an int but rejects 3.5; mirror that. Returns nullopt when
// the value is not an integer at all, and throws for integers that do not fit.
std::optional<std::int64_t>
to_int64(const Json& value, const std::string& file, const std::string& path) {
    if (value.is_number_unsigned()) {
        const auto u = value.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            throw_at(file, path, "integer out of range");
        }
        return static_cast<std::int64_t>(u);
    }
    if (value.is_number_integer()) {
        return value.get<std::int64_t>();
    }
    if (value.is_number_float()) {
        const auto d = value.get<double>();
        if (!std::isfinite(d) || std::trunc(d) != d) {
            return std::nullopt;
        }
        // 2^63 is exactly representable; anything at or beyond it would overflow the cast.
        constexpr double kLimit = 9223372036854775808.0;
        if (d < -kLimit || d >= kLimit) {
            throw_at(file, path, "integer out of range");
        }
        return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
}

} // namespace

JsonReader::JsonReader(const nlohmann::json& value, std::string file, std::string path)
    : value_(&value), file_(std::move(file)), path_(std::move(path)) {
    if (!value.is_object()) {
        throw_at(file_, path_, type_mismatch("an object", value));
    }
}

bool read_optional_string(const nlohmann::json& object, const char* name, std::string& out) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) {
        return true;
    }
    if (!it->is_string()) {
        return false;
    }
    out = it->get<std::string>();
    return true;
}

std::array<std::string, 2> environment_names(std::string_view path) {
    std::string ours = "PORTCULLIS";
    std::string tyks = "TYK_GW";
    bool first = true;
    while (!path.empty()) {
        path.remove_prefix(1); // the '/'
        const auto end = path.find('/');
        std::string token(path.substr(0, end));
        path = end == std::string_view::npos ? std::string_view() : path.substr(end);
        // JSON pointer escapes back to the key
        for (std::size_t at = 0; (at = token.find('~', at)) != std::string::npos; ++at) {
            if (at + 1 < token.size()) {
                token.replace(at, 2, token[at + 1] == '1' ? "/" : "~");
            }
        }
        ours += first ? "_" : "__";
        tyks += '_';
        first = false;
        for (const char c : token) {
            const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            ours += upper;
            if (c != '_') {
                tyks += upper;
            }
        }
    }
    return {ours, tyks};
}

bool JsonReader::has(std::string_view key) const {
    return find(key) != nullptr;
}

const nlohmann::json* JsonReader::find(std::string_view key) const {
    const auto it = value_->find(key);
    if (it == value_->end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

std::optional<std::pair<std::string, std::string>>
JsonReader::from_env(std::string_view key) const {
    if (env_ == nullptr || env_->values.empty()) {
        return std::nullopt;
    }
    for (auto& name : environment_names(child_path(key))) {
        const auto it = env_->values.find(name);
        if (it != env_->values.end()) {
            env_->used.insert(name);
            return std::pair{std::move(name), it->second};
        }
    }
    return std::nullopt;
}

void JsonReader::fail_env(std::string_view key,
                          const std::string& name,
                          std::string_view expected) const {
    // The value is not repeated: it may be a secret.
    fail(key, "environment variable " + name + ": expected " + std::string(expected));
}

std::string JsonReader::child_path(std::string_view key) const {
    return path_ + "/" + json_pointer_token(key);
}

void JsonReader::fail(std::string_view key, const std::string& message) const {
    throw_at(file_, key.empty() ? path_ : child_path(key), message);
}

void JsonReader::read(std::string_view key, bool& out) const {
    if (const auto env = from_env(key)) {
        if (env->second == "true" || env->second == "1") {
            out = true;
        } else if (env->second == "false" || env->second == "0") {
            out = false;
        } else {
            fail_env(key, env->first, "true or false");
        }
        return;
    }
    const Json* value = find(key);
    if (value == nullptr) {
        return;
    }
    if (!value->is_boolean()) {
        fail(key, type_mismatch("a boolean", *value));
    }
    out = value->get<bool>();
}

void JsonReader::read(std::string_view key, std::string& out) const {
    if (const auto env = from_env(key)) {
        out = env->second;
        return;
    }
    const Json* value = find(key);
    if (value == nullptr) {
        return;
    }
    if (!value->is_string()) {
        fail(key, type_mismatch("a string", *value));
    }
    out = value->get<std::string>();
}

void JsonReader::read(std::string_view key, std::int64_t& out) const {
    if (const auto env = from_env(key)) {
        const std::string& text = env->second;
        std::int64_t number = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (ec != std::errc{} || end != text.data() + text.size()) {
            fail_env(key, env->first, "an integer");
        }
        out = number;
        return;
    }
    const Json* value = find(key);
    if (value == nullptr) {
        return;
    }
    const auto number = to_int64(*value, file_, child_path(key));
    if (!number) {
        fail(key, type_mismatch("an integer", *value));
    }
    out = *number;
}

void JsonReader::read(std::string_view key, int& out) const {
    std::int64_t wide = out;
    read(key, wide);
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
        fail(key, "integer out of range");
    }
    out = static_cast<int>(wide);
}

void JsonReader::read(std::string_view key, double& out) const {
    if (const auto env = from_env(key)) {
        const std::string& text = env->second;
        char* end = nullptr;
        errno = 0;
        const double number = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE ||
            !std::isfinite(number)) {
            fail_env(key, env->first, "a number");
        }
        out = number;
        return;
    }
    const Json* value = find(key);
    if (value == nullptr) {
        return;
    }
    if (!value->is_number()) {
        fail(key, type_mismatch("a number", *value));
    }
    out = value->get<double>();
}

void JsonReader::read(std::string_view key, std::vector<std::string>& out) const {
    if (const auto env = from_env(key)) {
        // comma-separated; empty entries dropped
        std::vector<std::string> items;
        std::string_view rest = env->second;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            if (const auto item = rest.substr(0, comma); !item.empty()) {
                items.emplace_back(item);
            }
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
        out = std::move(items);
        return;
    }
    const Json* value = find(key);
    if (value == nullptr) {
        return;
    }
    if (!value->is_array()) {
        fail(key, type_mismatch("an array of strings", *value));
    }
    std::vector<std::string> items;
    items.reserve(value->size());
    for (std::size_t i = 0; i < value->size(); ++i) {
        const Json& item = (*value)[i];
        if (!item.is_string()) {
            throw_at(file_, child_path(key) + "/" + std::to_string(i),
                     type_mismatch("a string", item));
        }
        items.push_back(item.get<std::string>());
    }
    out = std::move(items);
}

void JsonReader::read(std::string_view key, std::map<std::string, std::string>& out) const {
    const Json* value = find(key);
    if (value == nullptr) {
        return;
    }
    if (!value->is_object()) {
        fail(key, type_mismatch("an object of strings", *value));
    }
    std::map<std::string, std::string> items;
    for (const auto& [name, item] : value->items()) {
        if (!item.is_string()) {
            throw_at(file_, child_path(key) + "/" + json_pointer_token(name),
                     type_mismatch("a string", item));
        }
        items.emplace(name, item.get<std::string>());
    }
    out = std::move(items);
}

JsonReader JsonReader::object(std::string_view key) const {
    const Json* value = find(key);
    JsonReader child(value == nullptr ? empty_object() : *value, file_, child_path(key));
    child.env_ = env_;
    return child;
}

const nlohmann::json& JsonReader::raw(std::string_view key) const {
    const auto it = value_->find(key);
    return it == value_->end() ? null_value() : *it;
}

std::vector<std::pair<std::string, JsonReader>> JsonReader::members(std::string_view key) const {
    const JsonReader parent = object(key);
    std::vector<std::pair<std::string, JsonReader>> out;
    for (const auto& [name, item] : parent.value_->items()) {
        // A null member decodes to a zero value in Go, so it reads as an empty object here.
        const Json& member = item.is_null() ? empty_object() : item;
        out.emplace_back(name, JsonReader(member, file_, parent.child_path(name)));
    }
    return out;
}

std::vector<JsonReader> JsonReader::elements(std::string_view key) const {
    std::vector<JsonReader> out;
    const Json* value = find(key);
    if (value == nullptr) {
        return out;
    }
    if (!value->is_array()) {
        fail(key, type_mismatch("an array", *value));
    }
    const std::string path = child_path(key);
    for (std::size_t i = 0; i < value->size(); ++i) {
        JsonReader element((*value)[i], file_, path + "/" + std::to_string(i));
        element.env_ = env_;
        out.push_back(std::move(element));
    }
    return out;
}

} // namespace portcullis::config
