#include "config/policy_loader.hpp"

#include "config/api_loader.hpp"
#include "config/json_reader.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

namespace portcullis::config {

namespace {

namespace fs = std::filesystem;

/// The whole file as JSON, or nullopt with the error (missing file, syntax error) reported.
std::optional<nlohmann::json> read_json_file(const std::string& file,
                                             std::vector<ConfigError>& errors) {
    try {
        return parse_json_text(read_text_file(file), file);
    } catch (const ConfigException& e) {
        errors.push_back(e.error());
        return std::nullopt;
    }
}

/// Adds `policy` unless its id is taken; a repeat is reported against `json_path`.
void add_policy(PolicySet& set,
                Policy policy,
                const std::string& json_path,
                std::vector<ConfigError>& errors) {
    if (const Policy* first = set.find(policy.id); first != nullptr) {
        errors.push_back(make_error(policy.source_file, json_path,
                                    "duplicate policy id " + policy.id + " (already loaded from " +
                                        first->source_file + ")"));
        return;
    }
    std::string id = policy.id;
    set.by_id.emplace(std::move(id), std::move(policy));
}

void load_directory(const std::string& dir, PolicySet& set, std::vector<ConfigError>& errors) {
    std::error_code ec;
    const std::vector<fs::path> files = list_json_files(dir, ec);
    if (ec) {
        errors.push_back(make_error(dir, "", "cannot read policy directory: " + ec.message()));
        return;
    }
    for (const fs::path& path : files) {
        const std::string file = path.string();
        auto doc = read_json_file(file, errors);
        if (!doc) {
            continue;
        }
        if (!doc->is_object()) {
            errors.push_back(make_error(file, "", type_mismatch("a policy object", *doc)));
            continue;
        }
        Policy policy;
        policy.source_file = file;
        if (const auto it = doc->find("id"); it != doc->end() && !it->is_null()) {
            if (!it->is_string()) {
                errors.push_back(make_error(file, "/id", type_mismatch("a string", *it)));
                continue;
            }
            policy.id = it->get<std::string>();
        }
        if (policy.id.empty()) {
            if (const auto it = doc->find("_id"); it != doc->end() && it->is_string()) {
                policy.id = it->get<std::string>();
            }
        }
        if (policy.id.empty()) {
            policy.id = path.stem().string();
        }
        (*doc)["id"] = policy.id;
        policy.raw = std::move(*doc);
        add_policy(set, std::move(policy), "/id", errors);
    }
}

void load_record_file(const std::string& file, PolicySet& set, std::vector<ConfigError>& errors) {
    auto doc = read_json_file(file, errors);
    if (!doc) {
        return;
    }
    if (!doc->is_object()) {
        errors.push_back(make_error(file, "", type_mismatch("an object of policies by id", *doc)));
        return;
    }
    for (auto& [key, value] : doc->items()) {
        const std::string json_path = "/" + json_pointer_token(key);
        if (!value.is_object()) {
            errors.push_back(make_error(file, json_path, type_mismatch("a policy object", value)));
            continue;
        }
        if (key.empty()) {
            errors.push_back(make_error(file, json_path, "empty policy id"));
            continue;
        }
        Policy policy;
        policy.id = key;
        policy.source_file = file;
        value["id"] = key; // the map key overrides the policy's own id, as in Tyk
        policy.raw = std::move(value);
        add_policy(set, std::move(policy), json_path, errors);
    }
}

} // namespace

bool policies_from_service(const PoliciesConfig& cfg) {
    return cfg.policy_source == "service" || cfg.policy_source == "rpc";
}

std::shared_ptr<const PolicySet> load_policies(const PoliciesConfig& cfg,
                                               std::vector<ConfigError>& errors) {
    auto set = std::make_shared<PolicySet>();
    if (policies_from_service(cfg)) {
        errors.push_back(make_error("", "/policies/policy_source",
                                    "policy_source \"" + cfg.policy_source +
                                        "\" is not supported (use files: policy_path or "
                                        "policy_record_name); no policies loaded"));
        return set;
    }
    if (!cfg.policy_path.empty()) {
        load_directory(cfg.policy_path, *set, errors);
    } else if (!cfg.policy_record_name.empty()) {
        load_record_file(cfg.policy_record_name, *set, errors);
    }
    return set;
}

} // namespace portcullis::config
