#include "config/api_loader.hpp"

#include "config/gateway_config.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

namespace portcullis::config {

ConfigError make_error(std::string file, std::string json_path, std::string message) {
    ConfigError error;
    error.file = std::move(file);
    error.json_path = std::move(json_path);
    error.message = std::move(message);
    return error;
}

std::vector<std::filesystem::path> list_json_files(const std::filesystem::path& dir,
                                                   std::error_code& ec) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    fs::directory_iterator it(dir, ec);
    if (ec) {
        return files;
    }
    const fs::directory_iterator end;
    for (; it != end; it.increment(ec)) {
        if (ec) {
            return files;
        }
        std::error_code type_ec;
        if (it->path().extension() == ".json" && it->is_regular_file(type_ec)) {
            files.push_back(it->path());
        }
    }
    if (ec) {
        return files;
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    return files;
}

namespace {

namespace fs = std::filesystem;

} // namespace

ApiLoadReport load_api_directory(const std::string& dir) {
    ApiLoadReport report;
    std::error_code ec;
    const std::vector<fs::path> files = list_json_files(dir, ec);
    if (ec) {
        report.errors.push_back(make_error(dir, "", "cannot read directory: " + ec.message()));
        return report;
    }

    std::map<std::string, std::string> file_by_api_id;
    std::map<std::string, std::string> api_id_by_listen_path;
    for (const fs::path& path : files) {
        const std::string file = path.string();
        ApiDefinition api;
        try {
            api = parse_api_definition(parse_json_text(read_text_file(file), file), file);
        } catch (const ConfigException& e) {
            report.errors.push_back(e.error());
            continue;
        }
        if (const auto it = file_by_api_id.find(api.api_id); it != file_by_api_id.end()) {
            report.errors.push_back(make_error(file, "/api_id",
                                               "duplicate api_id " + api.api_id +
                                                   " (already loaded from " + it->second + ")"));
            continue;
        }
        const std::string& listen_path = api.proxy.listen_path;
        if (const auto it = api_id_by_listen_path.find(listen_path);
            it != api_id_by_listen_path.end()) {
            report.errors.push_back(
                make_error(file, "/proxy/listen_path",
                           "listen path " + listen_path + " already used by api " + it->second));
            continue;
        }
        file_by_api_id.emplace(api.api_id, file);
        api_id_by_listen_path.emplace(listen_path, api.api_id);
        report.apis.push_back(std::make_shared<const ApiDefinition>(std::move(api)));
    }

    std::sort(report.apis.begin(), report.apis.end(),
              [](const auto& a, const auto& b) { return a->api_id < b->api_id; });
    return report;
}

} // namespace portcullis::config
