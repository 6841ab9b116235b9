#include "middleware/core/session_patch.hpp"

namespace portcullis {

namespace {

constexpr const char* kMetaData = "meta_data";

} // namespace

bool SessionPatch::empty() const {
    return fields.empty() && meta.empty() && !replace_meta;
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
}

void apply_patch(nlohmann::json& session, const SessionPatch& patch) {
    if (!session.is_object()) {
        session = nlohmann::json::object();
    }
    for (const auto& [name, value] : patch.fields) {
        session[name] = value;
    }
    if (patch.replace_meta) {
        session[kMetaData] = patch.meta_replacement;
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
