#pragma once

// Helpers shared by the fuzz targets.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

namespace portcullis::fuzz {

/// The input split at NUL bytes into exactly `count` parts (missing parts are empty, the last
/// part keeps any further NULs), so one input can carry several fields.
inline std::vector<std::string_view>
split_parts(const std::uint8_t* data, std::size_t size, std::size_t count) {
    std::string_view rest{reinterpret_cast<const char*>(data), size};
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < count) {
        const auto nul = rest.find('\0');
        if (nul == std::string_view::npos) {
            break;
        }
        parts.push_back(rest.substr(0, nul));
        rest.remove_prefix(nul + 1);
    }
    parts.push_back(rest);
    parts.resize(count);
    return parts;
}

/// Replaces the file at `path` with `text` (the harnesses' own files: configuration they hand the
/// loaders, and restoring what a fuzzed call changed).
inline void write_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

/// Reports a broken invariant and aborts, so the fuzzer keeps the input as a crasher.
[[noreturn]] inline void invariant_failed(const char* what) {
    std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
    std::abort();
}

} // namespace portcullis::fuzz
