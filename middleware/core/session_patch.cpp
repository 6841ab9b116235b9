#include "middleware/core/session_patch.hpp"

namespace portcullis {

namespace {

constexpr const char* kMetaData = "meta_data";

/// Within one quota period (the same `quota_renews`) the remaining quota only goes down: a
/// replayed `quota_remaining` that would raise the stored one is a stale write from a request
/// that finished later, and is skipped. `object` is the stored object holding both fields.
bool stale_quota_remaining(const nlohmann::json& object,
                           const nlohmann::json& remaining,
                           const nlohmann::json* renews) {
    if (renews == nullptr || !object.is_object()) {
        return false;
    }
    const auto stored_renews = object.find("quota_renews");
    const auto stored_remaining = object.find("quota_remaining");
    return stored_renews != object.end() && stored_remaining != object.end() &&
           stored_renews->is_number_integer() && renews->is_number_integer() &&
           *stored_renews == *renews && stored_remaining->is_number_integer() &&
           remaining.is_number_integer() &&
           stored_remaining->get<std::int64_t>() < remaining.get<std::int64_t>();
}

const nlohmann::json* find_in(const std::map<std::string, nlohmann::json>& values,
                              const std::string& name) {
    const auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
}

} // namespace

bool SessionPatch::empty() const {
    return fields.empty() && meta.empty() && !replace_meta && at.empty();
}

void SessionPatch::merge(const SessionPatch& later) {
    for (const auto& [name, value] : later.fields) {
        fields[name] = value;
    }
    if (later.replace_meta) {
        replace_meta = true;
        meta_replacement = later.meta_replacement;
        meta.clear();
    }
    for (const auto& [key, value] : later.meta) {
        meta[key] = value;
    }
    for (const auto& [pointer, value] : later.at) {
        at[pointer] = value;
    }
}

void apply_patch(nlohmann::json& session, const SessionPatch& patch) {
    if (!session.is_object()) {
        session = nlohmann::json::object();
    }
    const auto* renews = find_in(patch.fields, "quota_renews");
    const auto* remaining = find_in(patch.fields, "quota_remaining");
    const bool skip_remaining =
        remaining != nullptr && stale_quota_remaining(session, *remaining, renews);
    for (const auto& [name, value] : patch.fields) {
        if (skip_remaining && name == "quota_remaining") {
            continue;
        }
        session[name] = value;
    }
    if (patch.replace_meta) {
        session[kMetaData] = patch.meta_replacement;
    }
    for (const auto& [pointer, value] : patch.at) {
        try {
            const nlohmann::json::json_pointer ptr(pointer);
            if (ptr.empty()) {
                continue;
            }
            const auto parent = ptr.parent_pointer();
            if (!session.contains(parent) || !session.at(parent).is_object()) {
                continue;
            }
            if (ptr.back() == "quota_remaining" &&
                stale_quota_remaining(session.at(parent), value,
                                      find_in(patch.at, parent.to_string() + "/quota_renews"))) {
                continue;
            }
            session[ptr] = value;
        } catch (const nlohmann::json::exception&) {
            // not a valid pointer: nothing to set
        }
    }
    if (patch.meta.empty()) {
        return;
    }
    const bool had_meta = session.contains(kMetaData);
    auto& meta = session[kMetaData];
    for (const auto& [key, value] : patch.meta) {
        if (value) {
            if (!meta.is_object()) {
                meta = nlohmann::json::object();
            }
            meta[key] = *value;
        } else if (meta.is_object()) {
            meta.erase(key);
        }
    }
    if (!had_meta && meta.is_null()) {
        // Only erasures on a missing meta_data: leave the document as it was (no new null).
        session.erase(kMetaData);
    }
}

SessionPatch patch_from_update(const nlohmann::json& body) {
    SessionPatch patch;
    if (!body.is_object()) {
        return patch;
    }
    for (const auto& [name, value] : body.items()) {
        if (name == kMetaData) {
            patch.replace_meta = true;
            patch.meta_replacement = value;
        } else {
            patch.fields[name] = value;
        }
    }
    return patch;
}

} // namespace portcullis
