#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace portcullis::test {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    /// Writes `content` to `relative` (creating parent directories) and returns the full path.
    std::filesystem::path write(const std::string& relative, std::string_view content) const;

  private:
    std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);

} // namespace portcullis::test
