#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::config {

/// One JSON pointer token (RFC 6901): '~' -> "~0", '/' -> "~1".
std::string json_pointer_token(std::string_view key);

/// Reads the optional string member `name` of `object` as Go's encoding/json does: absent or
/// null leaves `out` as it is, a string sets it, any other type returns false (the whole decode
/// fails).
bool read_optional_string(const nlohmann::json& object, const char* name, std::string& out);

/// "expected <expected>, got <JSON type of got>".
std::string type_mismatch(std::string_view expected, const nlohmann::json& got);

/// Environment variables that may override configuration fields (tyk.conf only), and the names
/// of those a reader used.
struct Environment {
    std::map<std::string, std::string> values;
    mutable std::set<std::string> used;
};

/// The two variables naming the field at JSON pointer `path` ("/storage/host"): ours,
/// PORTCULLIS_ + the keys in upper case joined by "__" (PORTCULLIS_STORAGE__HOST,
/// PORTCULLIS_LISTEN_PORT), then Tyk's, TYK_GW_ + each key in upper case without its
/// underscores, joined by "_" (TYK_GW_STORAGE_HOST, TYK_GW_LISTENPORT).
std::array<std::string, 2> environment_names(std::string_view path);

/// Reads typed fields out of one JSON object while tracking the JSON pointer of every field, so a
/// wrong type is reported as "at /proxy/listen_path: expected a string". Missing fields and JSON
/// `null` keep the caller's default (as Go's encoding/json does); unknown fields are ignored.
/// Type errors throw ConfigException with `file` and the path filled in.
class JsonReader {
  public:
    /// `value` must outlive the reader. A non-object `value` is itself a type error, reported
    /// when the reader is constructed.
    JsonReader(const nlohmann::json& value, std::string file, std::string path = "");

    const std::string& path() const noexcept { return path_; }
    const std::string& file() const noexcept { return file_; }
    /// Fields named by a variable of `env` (see environment_names; ours first) take its value
    /// instead of the JSON's, here and in the objects read through this reader. `env` must
    /// outlive the reader.
    void use_environment(const Environment* env) noexcept { env_ = env; }
    bool has(std::string_view key) const;

    void read(std::string_view key, bool& out) const;
    void read(std::string_view key, std::string& out) const;
    void read(std::string_view key, std::int64_t& out) const;
    void read(std::string_view key, int& out) const;
    void read(std::string_view key, double& out) const;
    void read(std::string_view key, std::vector<std::string>& out) const;
    void read(std::string_view key, std::map<std::string, std::string>& out) const;

    /// The nested object at `key`; an empty object when missing or null.
    JsonReader object(std::string_view key) const;
    /// The raw JSON at `key` (null when missing), for sections kept verbatim.
    const nlohmann::json& raw(std::string_view key) const;
    /// Each member of the object at `key` as (name, reader); empty when missing.
    std::vector<std::pair<std::string, JsonReader>> members(std::string_view key) const;
    /// Each element of the array of objects at `key`; empty when missing or null.
    std::vector<JsonReader> elements(std::string_view key) const;

    /// Throws ConfigException for `key` (or for this object when `key` is empty).
    [[noreturn]] void fail(std::string_view key, const std::string& message) const;

  private:
    const nlohmann::json* find(std::string_view key) const;
    /// The variable overriding `key` and its value, when `env` has one.
    std::optional<std::pair<std::string, std::string>> from_env(std::string_view key) const;
    [[noreturn]] void
    fail_env(std::string_view key, const std::string& name, std::string_view expected) const;
    std::string child_path(std::string_view key) const;

    const nlohmann::json* value_;
    std::string file_;
    std::string path_;
    const Environment* env_ = nullptr;
};

} // namespace portcullis::config
