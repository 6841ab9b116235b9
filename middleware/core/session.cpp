#include "middleware/core/session.hpp"

#include <cmath>
#include <limits>
#include <utility>

namespace portcullis {

using Json = nlohmann::json;

// Integer reading shared by every int64 field: JSON integers that fit, and floats with an
// integral value; anything else is the zero value.
std::int64_t json_int64(const Json* value) {
    if (value == nullptr) {
        return 0;
    }
    if (value->is_number_unsigned()) {
        const auto u = value->get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return 0;
        }
        return static_cast<std::int64_t>(u);
    }
    if (value->is_number_integer()) {
        return value->get<std::int64_t>();
    }
    if (value->is_number_float()) {
        const auto d = value->get<double>();
        // 2^63 is exactly representable; anything at or beyond it would overflow the cast.
        constexpr double kLimit = 9223372036854775808.0;
        if (!std::isfinite(d) || std::trunc(d) != d || d < -kLimit || d >= kLimit) {
            return 0;
        }
        return static_cast<std::int64_t>(d);
    }
    return 0;
}

double json_double(const Json* value) {
    if (value == nullptr || !value->is_number()) {
        return 0.0;
    }
    return value->get<double>();
}

const Json* json_member(const Json& object, std::string_view name) {
    // The object's map itself: nlohmann's own find builds and compares its iterator type, which
    // costs several times the lookup.
    const auto* members = object.get_ptr<const Json::object_t*>();
    if (members == nullptr) {
        return nullptr;
    }
    const auto it = members->find(name);
    return it == members->end() ? nullptr : &it->second;
}

bool api_limit_is_empty(const Json& limit) {
    if (!limit.is_object()) {
        return true;
    }
    for (const char* name :
         {"rate", "per", "throttle_interval", "throttle_retry_limit", "max_query_depth",
          "quota_max", "quota_renews", "quota_remaining", "quota_renewal_rate"}) {
        if (json_double(json_member(limit, name)) != 0) {
            return false;
        }
    }
    const Json* smoothing = json_member(limit, "smoothing");
    return smoothing == nullptr || smoothing->is_null() ||
           (smoothing->is_object() && smoothing->empty());
}

namespace {

const Json& empty_object() {
    static const Json kEmpty = Json::object();
    return kEmpty;
}

std::int64_t to_int64(const Json* value) {
    return json_int64(value);
}

double to_double(const Json* value) {
    return json_double(value);
}

std::string to_string(const Json* value) {
    if (value == nullptr || !value->is_string()) {
        return {};
    }
    return value->get<std::string>();
}

std::vector<std::string> to_strings(const Json* value) {
    std::vector<std::string> out;
    if (value == nullptr || !value->is_array()) {
        return out;
    }
    for (const auto& item : *value) {
        if (item.is_string()) {
            out.push_back(item.get<std::string>());
        }
    }
    return out;
}

} // namespace

Session::Doc::Doc(Json document) : json(std::move(document)) {
    index();
}

void Session::Doc::index() {
    // In the order of Session::Field.
    static constexpr std::array<std::string_view, static_cast<std::size_t>(Field::count)>
        kFieldNames{"rate",           "per",
                    "quota_max",      "quota_remaining",
                    "quota_renews",   "quota_renewal_rate",
                    "expires",        "is_inactive",
                    "org_id",         "alias",
                    "meta_data",      "tags",
                    "apply_policies", "apply_policy_id",
                    "access_rights",  "session_lifetime",
                    "last_updated",   "date_created",
                    "oauth_client_id"};
    for (std::size_t i = 0; i < kFieldNames.size(); ++i) {
        fields[i] = json_member(json, kFieldNames[i]);
    }
    api_access.clear();
    holds = {};
}

Session::Session() : doc_(std::make_shared<Doc>(Json::object())) {}

Session::Session(Json document) : doc_(std::make_shared<Doc>(std::move(document))) {}

Session::Doc& Session::own() {
    if (doc_.use_count() > 1) {
        auto copy = std::make_shared<Doc>(doc_->json);
        if (!retired_) {
            retired_ = doc_;
        }
        doc_ = std::move(copy);
    }
    return *doc_;
}

std::optional<Session> Session::parse(std::string_view json_text, std::string& error) {
    Json document;
    try {
        document = Json::parse(json_text);
    } catch (const Json::parse_error& e) {
        // e.what() quotes the text around the error; the session may hold secrets.
        error = "session is not valid JSON (at byte " + std::to_string(e.byte) + ")";
        return std::nullopt;
    } catch (const Json::out_of_range&) {
        // A number beyond double's range (1e400): Go's decoder refuses it too.
        error = "session is not valid JSON (a number is out of range)";
        return std::nullopt;
    }
    return from_json(std::move(document), error);
}

std::optional<Session> Session::from_json(Json document, std::string& error) {
    if (!document.is_object()) {
        error = std::string("session is not a JSON object (found ") + document.type_name() + ")";
        return std::nullopt;
    }
    return Session(std::move(document));
}

std::string Session::serialize() const {
    return doc_->json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

double Session::rate() const {
    return to_double(find(Field::rate));
}

double Session::per() const {
    return to_double(find(Field::per));
}

std::int64_t Session::quota_max() const {
    return to_int64(find(Field::quota_max));
}

std::int64_t Session::quota_remaining() const {
    return to_int64(find(Field::quota_remaining));
}

std::int64_t Session::quota_renews() const {
    return to_int64(find(Field::quota_renews));
}

std::int64_t Session::quota_renewal_rate() const {
    return to_int64(find(Field::quota_renewal_rate));
}

std::int64_t Session::expires() const {
    return to_int64(find(Field::expires));
}

bool Session::is_inactive() const {
    const Json* value = find(Field::is_inactive);
    return value != nullptr && value->is_boolean() && value->get<bool>();
}

std::string Session::org_id() const {
    return to_string(find(Field::org_id));
}

std::string Session::alias() const {
    return to_string(find(Field::alias));
}

const Json& Session::meta_data() const {
    const Json* value = find(Field::meta_data);
    if (value == nullptr || !value->is_object()) {
        return empty_object();
    }
    return *value;
}

std::vector<std::string> Session::tags() const {
    return to_strings(find(Field::tags));
}

std::vector<std::string> Session::apply_policies() const {
    auto policies = to_strings(find(Field::apply_policies));
    if (!policies.empty()) {
        return policies;
    }
    auto legacy = to_string(find(Field::apply_policy_id));
    if (!legacy.empty()) {
        policies.push_back(std::move(legacy));
    }
    return policies;
}

const Json& Session::access_rights() const {
    const Json* value = find(Field::access_rights);
    if (value == nullptr || !value->is_object()) {
        return empty_object();
    }
    return *value;
}

bool Session::has_access_to(std::string_view api_id) const {
    return api_access(api_id).granted;
}

std::vector<AllowedUrl> Session::allowed_urls(std::string_view api_id) const {
    return api_access(api_id).allowed_urls;
}

const ApiAccess& Session::api_access(std::string_view api_id) const {
    for (const auto& [id, known] : doc_->api_access) {
        if (id == api_id) {
            return known;
        }
    }
    ApiAccess out;
    const Json* access = json_member(access_rights(), api_id);
    out.granted = access != nullptr;
    if (const Json* urls = access != nullptr ? json_member(*access, "allowed_urls") : nullptr;
        urls != nullptr && urls->is_array()) {
        for (const auto& entry : *urls) {
            const Json* url = json_member(entry, "url");
            if (url == nullptr || !url->is_string()) {
                continue;
            }
            out.allowed_urls.push_back(
                AllowedUrl{url->get<std::string>(), to_strings(json_member(entry, "methods"))});
        }
    }
    if (access != nullptr) {
        if (const Json* limit = json_member(*access, "limit");
            limit != nullptr && !api_limit_is_empty(*limit)) {
            out.limit = limit;
        }
        out.allowance_scope = to_string(json_member(*access, "allowance_scope"));
        if (const Json* endpoints = json_member(*access, "endpoints");
            endpoints != nullptr && endpoints->is_array() && !endpoints->empty()) {
            out.endpoints = endpoints;
        }
    }
    if (doc_->api_access.size() >= kApiAccessKept) {
        doc_->api_access.clear(); // a key used on many APIs: keep the latest few
    }
    doc_->api_access.emplace_back(std::string(api_id), std::move(out));
    return doc_->api_access.back().second;
}

bool Session::document_holds(bool (*predicate)(const Json&)) const {
    for (auto& [known, answer] : doc_->holds) {
        if (known == predicate) {
            return answer;
        }
        if (known == nullptr) {
            known = predicate;
            answer = predicate(doc_->json);
            return answer;
        }
    }
    return predicate(doc_->json); // more predicates than slots: not kept
}

std::int64_t Session::session_lifetime() const {
    return to_int64(find(Field::session_lifetime));
}

std::string Session::last_updated() const {
    return to_string(find(Field::last_updated));
}

std::string Session::date_created() const {
    return to_string(find(Field::date_created));
}

std::string Session::oauth_client_id() const {
    return to_string(find(Field::oauth_client_id));
}

void Session::set_meta(const std::string& key, Json value) {
    SessionPatch patch;
    patch.meta.emplace(key, std::move(value));
    record(std::move(patch));
}

void Session::erase_meta(const std::string& key) {
    SessionPatch patch;
    patch.meta.emplace(key, std::nullopt);
    record(std::move(patch));
}

void Session::replace_meta(Json object) {
    SessionPatch patch;
    patch.replace_meta = true;
    patch.meta_replacement = std::move(object);
    record(std::move(patch));
}

void Session::set_field(const std::string& name, Json value) {
    if (name == "meta_data") {
        replace_meta(std::move(value));
        return;
    }
    SessionPatch patch;
    patch.fields.emplace(name, std::move(value));
    record(std::move(patch));
}

void Session::set_at(const std::string& pointer, Json value) {
    SessionPatch patch;
    patch.at.emplace(pointer, std::move(value));
    record(std::move(patch));
}

void Session::set_view(Json document) {
    if (document.is_object()) {
        if (doc_.use_count() > 1 && !retired_) {
            retired_ = doc_;
        }
        doc_ = std::make_shared<Doc>(std::move(document));
    }
}

void Session::record(SessionPatch patch) {
    Doc& doc = own();
    apply_patch(doc.json, patch);
    doc.index();
    changes_.merge(patch);
}

} // namespace portcullis
