#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

namespace portcullis {

/// What one writer changed in a stored session, kept apart from the session itself so the change
/// can be replayed onto a fresh copy read from Redis (compare-and-set retry): a save never
/// overwrites fields another writer changed meanwhile. Tyk itself writes the whole session back
/// (last writer wins); Portcullis writes back only what changed.
///
/// A patch names top-level fields to replace and `meta_data` keys to set or erase. `meta_data`
/// itself is never in `fields`: replacing it wholesale is `replace_meta`, which `apply_patch` does
/// before the per-key changes, so per-key changes made after a replacement survive. A plain value
/// type; not thread-safe, copy it between threads.
struct SessionPatch {
    /// Top-level replacements: field name -> new value (verbatim JSON).
    std::map<std::string, nlohmann::json> fields;
    /// Per `meta_data` key: the new value, or `std::nullopt` to erase the key.
    std::map<std::string, std::optional<nlohmann::json>> meta;
    /// True when `meta_data` is replaced wholesale by `meta_replacement`.
    bool replace_meta = false;
    nlohmann::json meta_replacement;
    /// Nested replacements: JSON pointer -> new value, applied only where the pointer's parent
    /// exists and is an object (a per-API limit the stored copy no longer has is left alone).
    std::map<std::string, nlohmann::json> at;

    bool empty() const;

    /// Folds a later patch into this one, as if both were applied in order: later field values
    /// and meta keys win; a later wholesale `meta_data` replacement discards earlier per-key
    /// changes.
    void merge(const SessionPatch& later);
};

/// Applies `patch` to `session` (the stored session JSON), touching only what the patch names:
/// fields are replaced, then `meta_data` is replaced when `replace_meta`, then nested `at`
/// values are set (only under an existing parent object; an invalid pointer is skipped), then
/// per-key meta changes apply on top (setting a key on a missing, null or non-object `meta_data`
/// starts an empty object; erasing from one does nothing). Idempotent: applying twice equals
/// applying once. A non-object `session` is first made an empty object.
///
/// One domain rule: a `quota_remaining` (top-level or nested) that the patch sets together with
/// its `quota_renews` is skipped when the stored object has the same `quota_renews` and a lower
/// `quota_remaining`: within a quota period the remaining count only goes down, so the lower
/// value is the newer one (requests finish out of order).
void apply_patch(nlohmann::json& session, const SessionPatch& patch);

/// The patch for a Gateway API key update (`PUT /tyk/keys/{key}`, `POST /tyk/keys[/{key}]`):
/// every top-level field present in `body` is set; `meta_data` present in the body replaces
/// `meta_data` wholesale. Fields absent from the body are not touched. This is a documented
/// Portcullis rule: Tyk replaces the whole stored session with the decoded body (absent fields
/// become zero), Portcullis never drops a field the body did not mention, so a concurrent change
/// to another field is never lost. A non-object body gives an empty patch.
SessionPatch patch_from_update(const nlohmann::json& body);

} // namespace portcullis
