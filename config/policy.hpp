#pragma once

#include "config/config_error.hpp"
#include "config/gateway_config.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::config {

/// One Tyk policy (reference section 12), kept as read: `raw` is the policy object with `id`
/// set to the id it is known by. Readers are lenient like the session's (missing or wrong-typed
/// fields read as zero values).
struct Policy {
    std::string id;
    std::string source_file;
    nlohmann::json raw = nlohmann::json::object();
};

/// Every loaded policy by id; immutable once built and shared by every worker (swapped whole on
/// reload).
struct PolicySet {
    std::map<std::string, Policy, std::less<>> by_id;

    const Policy* find(std::string_view id) const {
        const auto it = by_id.find(id);
        return it == by_id.end() ? nullptr : &it->second;
    }
};

} // namespace portcullis::config
