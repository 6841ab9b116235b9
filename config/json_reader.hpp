#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::config {

/// One JSON pointer token (RFC 6901): '~' -> "~0", '/' -> "~1".
std::string json_pointer_token(std::string_view key);

/// "expected <expected>, got <JSON type of got>".
std::string type_mismatch(std::string_view expected, const nlohmann::json& got);

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

    /// Throws ConfigException for `key` (or for this object when `key` is empty).
    [[noreturn]] void fail(std::string_view key, const std::string& message) const;

  private:
    const nlohmann::json* find(std::string_view key) const;
    std::string child_path(std::string_view key) const;

    const nlohmann::json* value_;
    std::string file_;
    std::string path_;
};

} // namespace portcullis::config
