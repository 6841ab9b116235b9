#include "config/api_loader.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace pc = portcullis::config;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class ScratchDir {
  public:
    ScratchDir() {
        static std::atomic<unsigned> counter{0};
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ = fs::temp_directory_path() / ("portcullis-config-test-" + std::to_string(stamp) +
                                             "-" + std::to_string(counter++));
        fs::create_directories(path_);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }

    const fs::path& path() const { return path_; }

    std::string write(const std::string& name, const std::string& text) const {
        const fs::path file = path_ / name;
        std::ofstream(file, std::ios::binary) << text;
        return file.string();
    }

  private:
    fs::path path_;
};

std::string api_json(const std::string& api_id, const std::string& listen_path) {
    return R"({"api_id": ")" + api_id + R"(", "proxy": {"listen_path": ")" + listen_path +
           R"(", "target_url": "http://upstream:8000"}})";
}

const pc::ConfigError* error_for(const pc::ApiLoadReport& report, const std::string& file) {
    for (const pc::ConfigError& error : report.errors) {
        if (error.file == file) {
            return &error;
        }
    }
    return nullptr;
}

} // namespace

TEST_CASE("loading an app directory keeps the good definitions and names the bad files",
          "[unit][config]") {
    const ScratchDir dir;
    dir.write("10-zeta.json", api_json("zeta", "/zeta/"));
    dir.write("20-alpha.json", api_json("alpha", "/alpha/"));
    const std::string broken = dir.write("30-broken.json", "{\n  \"api_id\": \"broken\",\n  ,\n}");
    const std::string invalid = dir.write("40-invalid.json", api_json("invalid", "no-slash"));
    const std::string duplicate_id = dir.write("50-dup-id.json", api_json("alpha", "/other/"));
    const std::string duplicate_path = dir.write("60-dup-path.json", api_json("beta", "/zeta/"));
    dir.write("README.md", "not an API");
    dir.write("70-backup.json.bak", "{");
    fs::create_directory(dir.path() / "nested.json");

    const pc::ApiLoadReport report = pc::load_api_directory(dir.path().string());

    REQUIRE(report.apis.size() == 2);
    CHECK(report.apis[0]->api_id == "alpha");
    CHECK(report.apis[0]->source_file == (dir.path() / "20-alpha.json").string());
    CHECK(report.apis[1]->api_id == "zeta");
    CHECK(report.apis[1]->proxy.listen_path == "/zeta/");

    REQUIRE(report.errors.size() == 4);

    const pc::ConfigError* syntax = error_for(report, broken);
    REQUIRE(syntax != nullptr);
    CHECK(syntax->line == 3);
    CHECK(syntax->column == 3);
    CHECK_THAT(syntax->to_string(), Catch::StartsWith(broken + ":3:3: syntax error"));

    const pc::ConfigError* validation = error_for(report, invalid);
    REQUIRE(validation != nullptr);
    CHECK(validation->json_path == "/proxy/listen_path");

    const pc::ConfigError* same_id = error_for(report, duplicate_id);
    REQUIRE(same_id != nullptr);
    CHECK(same_id->message == "duplicate api_id alpha (already loaded from " +
                                  (dir.path() / "20-alpha.json").string() + ")");

    const pc::ConfigError* same_path = error_for(report, duplicate_path);
    REQUIRE(same_path != nullptr);
    CHECK(same_path->message == "listen path /zeta/ already used by api zeta");
}

TEST_CASE("an empty app directory loads nothing without errors", "[unit][config]") {
    const ScratchDir dir;
    const pc::ApiLoadReport report = pc::load_api_directory(dir.path().string());
    CHECK(report.apis.empty());
    CHECK(report.errors.empty());
}

TEST_CASE("a missing app directory is a single error naming it", "[unit][config]") {
    const ScratchDir dir;
    const std::string missing = (dir.path() / "no-such-apps").string();
    const pc::ApiLoadReport report = pc::load_api_directory(missing);
    CHECK(report.apis.empty());
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].file == missing);
    CHECK_THAT(report.errors[0].message, Catch::StartsWith("cannot read directory"));
}
