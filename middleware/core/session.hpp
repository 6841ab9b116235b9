#pragma once

#include "middleware/core/session_patch.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis {

/// Lenient JSON number readers shared by every session field: an integer field reads JSON
/// integers that fit in int64 and floats with an integral value; a missing, null or other value
/// (or a fractional float) reads as 0. json_double reads any JSON number, else 0.
std::int64_t json_int64(const nlohmann::json* value);
double json_double(const nlohmann::json* value);

/// `object[name]` when `object` is an object that has it, else null.
const nlohmann::json* json_member(const nlohmann::json& object, std::string_view name);

/// Tyk's APILimit.IsEmpty for an access definition's `limit`: not an object, or every field at
/// its zero value (then the session-level limits apply).
bool api_limit_is_empty(const nlohmann::json& limit);

/// One `allowed_urls` entry of an access definition (Tyk `user.AccessSpec`): `url` is a regular
/// expression matched against the request path, `methods` the HTTP methods it allows.
struct AllowedUrl {
    std::string url;
    std::vector<std::string> methods;
};

/// What a session's `access_rights` entry for one API (Tyk `user.AccessDefinition`) says, as
/// the request path reads it. The pointers point into the session's document.
struct ApiAccess {
    bool granted = false;                 // access_rights has an entry for the API
    std::vector<AllowedUrl> allowed_urls; // its `allowed_urls`; empty: no restriction
    /// Its `limit` when that is an object with a non-zero field (api_limit_is_empty is false):
    /// per-API limits. Null otherwise: the session-level limits apply.
    const nlohmann::json* limit = nullptr;
    std::string allowance_scope;               // its `allowance_scope` when a string
    const nlohmann::json* endpoints = nullptr; // its `endpoints` when a non-empty array
};

/// A key's session: the JSON object stored at `apikey-<key>` in Redis (Tyk `user.SessionState`,
/// reference section 1), kept verbatim so reading then writing keeps every field, including ones
/// Portcullis does not model. Both Tyk styles are accepted: every field written (zeros, `null`;
/// up to v5.11) and zero fields omitted (v5.12+).
///
/// Readers are lenient where Tyk's Go decoder would reject the whole session: a known field that
/// is missing, `null` or of the wrong type reads as its zero value (an integer field also accepts
/// a float with an integral value, as JSON has one number type; a fractional float or an integer
/// outside int64 reads as 0). Unknown fields are never looked at.
///
/// Mutators change the document and record the change in a SessionPatch, so the store can replay
/// only that change onto a fresh copy (compare-and-set) instead of writing this whole copy back.
///
/// Copies share one document (copy-on-write): copying a Session is cheap, and the first mutator
/// of a copy whose document is shared gives that copy its own. The document it had shared is kept
/// until the Session is destroyed, so a reference taken from a reader before a mutation (say
/// `&meta_data()`) never dangles; it shows the values from before the mutation, so take readers
/// again after mutating. A plain value; one request owns it; not thread-safe, and copies that
/// share a document stay on one thread (the readers fill in what they derive from it).
class Session {
  public:
    /// An empty session (`{}`): every reader gives its default.
    Session();

    /// Parses stored session JSON. Fails (nullopt, `error` set) when the text is not JSON or not
    /// a JSON object; the error names the byte offset, never the content (it may hold secrets).
    static std::optional<Session> parse(std::string_view json_text, std::string& error);

    /// Wraps an already-parsed document; fails when it is not an object.
    static std::optional<Session> from_json(nlohmann::json document, std::string& error);

    /// Compact JSON of the whole document. nlohmann orders object keys alphabetically; integers
    /// stay integers and floats stay floats (`2.0` stays `2.0`). Invalid UTF-8 that a mutator put
    /// in a string is written as U+FFFD rather than failing.
    std::string serialize() const;

    /// The whole document, verbatim.
    const nlohmann::json& document() const noexcept { return doc_->json; }

    // Rate limit: `rate` requests per `per` seconds; rate <= 0 means unlimited.
    double rate() const;
    double per() const;

    // Quota: quota_max <= 0 means unlimited; quota_renewal_rate <= 0 means never renews.
    std::int64_t quota_max() const;
    std::int64_t quota_remaining() const;
    std::int64_t quota_renews() const;
    std::int64_t quota_renewal_rate() const;

    /// Unix seconds; >= 1 and in the past means expired; 0 and -1 mean never.
    std::int64_t expires() const;
    bool is_inactive() const;
    std::string org_id() const;
    std::string alias() const;
    /// `meta_data` when it is an object; otherwise (missing, null, wrong type) an empty object.
    const nlohmann::json& meta_data() const;
    /// String members of `tags`; other members are skipped.
    std::vector<std::string> tags() const;
    /// Tyk `PolicyIDs()`: `apply_policies` when non-empty, else the legacy `apply_policy_id`
    /// when non-empty, else nothing.
    std::vector<std::string> apply_policies() const;
    /// `access_rights` (api_id -> access definition) when it is an object, else an empty object.
    /// Empty means a master key (valid on every API when `allow_master_keys` is on).
    const nlohmann::json& access_rights() const;
    /// True when `access_rights` has an entry for `api_id`.
    bool has_access_to(std::string_view api_id) const;
    /// The access entry of `api_id`, read once per document (for the last few APIs asked):
    /// copies share it, a mutation reads it afresh. Use the reference at once: it is valid until
    /// this Session is mutated or asked for another API.
    const ApiAccess& api_access(std::string_view api_id) const;
    /// `predicate(document())`, computed once per document (copies share the answer, a mutation
    /// computes it again): for checks of the whole document that every request makes.
    bool document_holds(bool (*predicate)(const nlohmann::json&)) const;
    /// `allowed_urls` of the access definition for `api_id`; empty when none (no restriction).
    /// Entries whose `url` is not a string are skipped; non-string methods are skipped.
    std::vector<AllowedUrl> allowed_urls(std::string_view api_id) const;
    /// Seconds; > 0 overrides the API's session_lifetime for the Redis TTL (see session_ttl.hpp).
    std::int64_t session_lifetime() const;
    /// Unix seconds as a decimal string, as Tyk writes it (`strconv.Itoa`).
    std::string last_updated() const;
    /// RFC 3339 timestamp string as Tyk writes it.
    std::string date_created() const;
    std::string oauth_client_id() const;

    /// Sets `meta_data[key]` (creating `meta_data` when missing or not an object).
    void set_meta(const std::string& key, nlohmann::json value);
    /// Removes `meta_data[key]`; recorded even when the key is absent here, since the fresh copy
    /// the patch is replayed onto may have it.
    void erase_meta(const std::string& key);
    /// Replaces `meta_data` wholesale; earlier per-key changes are superseded.
    void replace_meta(nlohmann::json object);
    /// Replaces the top-level field `name`. `meta_data` is routed to replace_meta().
    void set_field(const std::string& name, nlohmann::json value);

    /// Sets the value at `pointer` (a JSON pointer such as
    /// "/access_rights/a1/limit/quota_remaining") when its parent exists and is an object;
    /// otherwise nothing changes here, and the patch does the same on the fresh copy it is replayed
    /// onto.
    void set_at(const std::string& pointer, nlohmann::json value);

    /// Replaces the whole document WITHOUT recording a change: for derived views (policies
    /// applied) that must never be written back. Later mutators record as usual.
    void set_view(nlohmann::json document);

    /// True once any mutator ran.
    bool modified() const { return !changes_.empty(); }
    /// Everything the mutators changed, to replay onto a fresh copy of the stored session.
    const SessionPatch& changes() const noexcept { return changes_; }

  private:
    /// The top-level fields the readers look at, found once per document (not per read).
    enum class Field : std::uint8_t {
        rate,
        per,
        quota_max,
        quota_remaining,
        quota_renews,
        quota_renewal_rate,
        expires,
        is_inactive,
        org_id,
        alias,
        meta_data,
        tags,
        apply_policies,
        apply_policy_id,
        access_rights,
        session_lifetime,
        last_updated,
        date_created,
        oauth_client_id,
        count
    };
    /// A document, where its known fields are (null: absent), and what requests derived from
    /// it so far (read on first use; copies sharing the document share these).
    struct Doc {
        nlohmann::json json;
        std::array<const nlohmann::json*, static_cast<std::size_t>(Field::count)> fields{};
        /// By api_id, kApiAccessKept at most.
        std::list<std::pair<std::string, ApiAccess>> api_access;
        std::array<std::pair<bool (*)(const nlohmann::json&), bool>, 4> holds{};
        explicit Doc(nlohmann::json document);
        /// Finds the known fields again and forgets what was derived: after every change to
        /// `json`.
        void index();
    };

    /// APIs whose access entry a document keeps read (more are read again on each ask).
    static constexpr std::size_t kApiAccessKept = 8;

    explicit Session(nlohmann::json document);
    void record(SessionPatch patch);
    /// The document, made this Session's own first when it is shared.
    Doc& own();
    const nlohmann::json* find(Field field) const {
        return doc_->fields[static_cast<std::size_t>(field)];
    }

    std::shared_ptr<Doc> doc_;
    /// The shared document replaced by own() or set_view(), kept alive for earlier references.
    std::shared_ptr<const Doc> retired_;
    SessionPatch changes_;
};

} // namespace portcullis
