#include "gateway/api/gateway_api.hpp"

#include "config/api_definition.hpp"
#include "config/json_reader.hpp"
#include "config/policy_loader.hpp"
#include "gateway/api/oauth_clients.hpp"
#include "gateway/common/clock.hpp"
#include "gateway/control_plane.hpp"
#include "gateway/oauth/oauth_server.hpp"
#include "gateway/server/client_connection.hpp"
#include "gateway/server/worker.hpp"
#include "middleware/auth/auth_token.hpp"
#include "middleware/cluster/notification.hpp"
#include "middleware/core/error_reply.hpp"
#include "middleware/core/session_ttl.hpp"
#include "middleware/core/text.hpp"
#include "middleware/keys/key_hash.hpp"
#include "middleware/keys/token.hpp"
#include "middleware/limits/limits.hpp"
#include "middleware/policy/apply.hpp"
#include "middleware/proxy/upstream_target.hpp"

#include <boost/beast/http/read.hpp>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

namespace portcullis::api {

namespace {

using Json = nlohmann::json;
constexpr std::uint64_t kMaxBody = 2 * 1024 * 1024;

/// One Gateway API request, after its body was read.
struct ApiRequest {
    http::verb method;
    std::vector<std::string> segments; // path below /tyk, no empty segments
    std::string query;
    std::string body;
};

struct ApiReply {
    http::status status;
    std::string body; // JSON text
};

ApiReply status_reply(http::status status, std::string_view result, std::string_view message) {
    return {status, Json{{"status", result}, {"message", message}}.dump()};
}

ApiReply error_reply(http::status status, std::string_view message) {
    return status_reply(status, "error", message);
}

ApiReply action_reply(const std::string& key, std::string_view action, std::string key_hash = {}) {
    Json body = {{"key", key}, {"status", "ok"}, {"action", action}};
    if (!key_hash.empty()) {
        body["key_hash"] = key_hash;
    }
    return {http::status::ok, body.dump()};
}

std::string rfc3339_now() {
    const auto now = std::chrono::system_clock::now();
    const auto secs = std::chrono::system_clock::to_time_t(now);
    const auto nanos =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()) %
        std::chrono::seconds(1);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[96];
    std::snprintf(out, sizeof out, "%s.%09lldZ", buf, static_cast<long long>(nanos.count()));
    return out;
}

/// Ids that become file names under app_path or policy_path must not escape it.
bool safe_file_id(std::string_view id) {
    if (id.empty() || id.size() > 200 || id == "." || id == "..") {
        return false;
    }
    for (char c : id) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

std::string query_value(std::string_view query, std::string_view name) {
    return auth::query_param(query, name).value_or(std::string{});
}

std::vector<ApiLifetime> lifetimes(const GatewayState& state) {
    std::vector<ApiLifetime> out;
    for (const auto& api : state.router->apis()) {
        out.push_back(ApiLifetime{api->api_id, api->session_lifetime,
                                  api->session_lifetime_respects_key_expiration});
    }
    return out;
}

std::int64_t ttl_for(const GatewayState& state, const Session& session) {
    const auto& cfg = *state.config;
    return session_ttl_seconds(session, lifetimes(state), cfg.force_global_session_lifetime,
                               cfg.global_session_lifetime, unix_now());
}

struct TtlForState {
    std::shared_ptr<const GatewayState> state;
    std::int64_t operator()(const Session& s) const { return ttl_for(*state, s); }
};

/// Writes `content` to `path` atomically (temp file + rename).
bool write_file_atomically(const std::filesystem::path& path, const std::string& content) {
    const auto tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            return false;
        }
        out << content;
        if (!out.flush()) {
            return false;
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    return !ec;
}

/// Plain functions build JSON: g++ 12 mishandles braced initializer lists inside coroutines.
ApiReply keys_reply(Json keys) {
    Json body = Json::object();
    body["keys"] = std::move(keys);
    return {http::status::ok, body.dump()};
}

StringResponse status_response(http::status status, std::string_view message, bool keep_alive) {
    return make_json_response(status, status_reply(status, "error", message).body, keep_alive);
}

// ---- keys -----------------------------------------------------------------------------------

awaitable<ApiReply> create_key(server::Worker& worker,
                               std::shared_ptr<const GatewayState> state,
                               std::string custom_id,
                               std::string body_text,
                               bool legacy_create) {
    const auto& cfg = *state->config;
    Json body = Json::parse(body_text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        co_return legacy_create
            ? error_reply(http::status::internal_server_error, "Unmarshalling failed")
            : error_reply(http::status::bad_request, "Request malformed");
    }
    std::string error;
    auto parsed = Session::from_json(body, error);
    if (!parsed) {
        co_return error_reply(http::status::bad_request, "Request malformed");
    }
    const auto& rights = parsed->access_rights();
    if ((!rights.is_object() || rights.empty()) && !cfg.allow_master_keys &&
        parsed->apply_policies().empty()) {
        co_return error_reply(http::status::bad_request,
                              "Failed to create key, keys must have at least one Access Rights "
                              "record set.");
    }
    if (!custom_id.empty() && static_cast<int>(custom_id.size()) < cfg.min_token_length) {
        co_return error_reply(http::status::bad_request, "Failed to create key, key id too short");
    }
    const std::string org = parsed->org_id();
    const std::string token = keys::generate_token(
        org, custom_id.empty() ? keys::new_key_id() : custom_id, cfg.hash_key_function);

    const auto now = unix_now();
    body["last_updated"] = std::to_string(now);
    body["date_created"] = rfc3339_now();
    if (parsed->quota_renewal_rate() > 0) {
        body["quota_renews"] = now + parsed->quota_renewal_rate();
    }
    auto session = Session::from_json(body, error);
    // As Tyk: the key is stored with its policies applied.
    if (const std::string policy_error = policy::apply_policies(*session, *state->policies);
        !policy_error.empty()) {
        co_return error_reply(http::status::bad_request, "Failed to create key: " + policy_error);
    }
    const std::string storage = keys::storage_key(token, cfg.hash_keys);
    const auto ec =
        co_await worker.sessions().put(storage, session->serialize(), ttl_for(*state, *session));
    if (ec) {
        co_return error_reply(http::status::service_unavailable,
                              "Failed to create key: session store unavailable");
    }
    if (!custom_id.empty()) {
        // A custom key id may have counters from an earlier key of the same name.
        const std::string key_id = cfg.hash_keys ? keys::hash_key(token) : token;
        std::vector<std::string> counters = limits::reset_keys(key_id, rights);
        auto [reset_ec, reset_count] = co_await worker.sessions().remove(std::move(counters));
        if (reset_ec) {
            spdlog::warn("key create: quota counters not reset: {}", reset_ec.message());
        }
    }
    spdlog::info("key {} created", keys::hash_key(token).substr(0, 8));
    const bool report_hash = cfg.hash_keys;
    co_return action_reply(token, "added", report_hash ? keys::hash_key(token) : std::string{});
}

/// The Redis key a Gateway API path segment names (`?hashed=` means the segment is the hash).
std::optional<std::string>
storage_key_for(const config::GatewayConfig& cfg, const std::string& key, bool hashed) {
    if (hashed) {
        return "apikey-" + key;
    }
    return keys::storage_key(key, cfg.hash_keys);
}

awaitable<ApiReply> get_key(server::Worker& worker,
                            std::shared_ptr<const GatewayState> state,
                            std::string key,
                            bool hashed) {
    const auto& cfg = *state->config;
    if (hashed && !cfg.hash_keys) {
        co_return error_reply(http::status::bad_request,
                              "Key requested by hash but key hashing is not enabled");
    }
    std::vector<std::string> keys;
    keys.push_back(*storage_key_for(cfg, key, hashed));
    auto [ec, stored] = co_await worker.sessions().load(std::move(keys));
    if (ec) {
        co_return error_reply(http::status::service_unavailable, "Session store unavailable");
    }
    if (!stored) {
        co_return error_reply(http::status::not_found, "Key not found");
    }
    // As Tyk: the key as its policies make it.
    if (const std::string error = policy::apply_policies(stored->session, *state->policies);
        !error.empty()) {
        spdlog::warn("key get: policies not applied: {}", error);
    }
    Json doc = stored->session.document();
    if (doc.contains("basic_auth_data") && doc["basic_auth_data"].is_object()) {
        doc["basic_auth_data"]["password"] = "";
    }
    // As Tyk: quota_remaining comes from the live counter (the stored copy is written lazily).
    const std::int64_t quota_max = stored->session.quota_max();
    if (quota_max > 0) {
        std::vector<std::string> get;
        get.emplace_back("GET");
        get.push_back("quota-" + stored->storage_key.substr(std::string_view("apikey-").size()));
        auto [qec, used] = co_await worker.sessions().redis().command(std::move(get));
        std::int64_t count = 0;
        if (!qec && used.is_string() && parse_int64(used.str, count)) {
            doc["quota_remaining"] = std::max<std::int64_t>(0, quota_max - count);
        }
    }
    co_return ApiReply{http::status::ok, doc.dump()};
}

/// Publishes `notification` to every node of the cluster (this one included) on Tyk's channel;
/// a failure is logged (best effort: the caller's own work is done either way).
awaitable<void> publish(server::Worker& worker,
                        const config::GatewayConfig& cfg,
                        cluster::Notification notification) {
    std::vector<std::string> command{"PUBLISH", std::string(cluster::kChannel),
                                     cluster::encode(notification, cfg.node_secret)};
    auto [ec, receivers] = co_await worker.redis().command(std::move(command));
    if (ec) {
        spdlog::warn("cluster notification {} not sent: {}", notification.command, ec.message());
    }
}

/// Tells every node that the session at `storage_key` changed or went (Tyk's
/// KeySpaceUpdateNotification, naming the key as stored). Best effort: a node that misses it
/// still reads the session from Redis on every request.
awaitable<void> notify_key_change(server::Worker& worker,
                                  const config::GatewayConfig& cfg,
                                  std::string storage_key) {
    constexpr std::string_view kPrefix = "apikey-";
    if (storage_key.starts_with(kPrefix)) {
        storage_key.erase(0, kPrefix.size());
    }
    cluster::Notification notification{std::string(cluster::kKeySpaceUpdate),
                                       std::move(storage_key)};
    co_await publish(worker, cfg, std::move(notification));
}

awaitable<ApiReply> update_key(server::Worker& worker,
                               std::shared_ptr<const GatewayState> state,
                               std::string key,
                               bool hashed,
                               std::string query,
                               std::string body_text) {
    const auto& cfg = *state->config;
    Json body = Json::parse(body_text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        co_return error_reply(http::status::bad_request, "Request malformed");
    }
    if (hashed && !cfg.hash_keys) {
        co_return error_reply(http::status::bad_request,
                              "Key requested by hash but key hashing is not enabled");
    }
    SessionPatch patch = patch_from_update(body);
    patch.fields.erase("date_created"); // kept from the stored session
    if (query_value(query, "suppress_reset") != "1") {
        patch.fields["last_updated"] = std::to_string(unix_now());
    } else {
        patch.fields.erase("last_updated");
        patch.fields.erase("quota_renews");
    }
    const bool reset = query_value(query, "suppress_reset") != "1";
    if (reset) {
        // Tyk restarts the quota period on an update.
        if (const auto rate = body.find("quota_renewal_rate");
            rate != body.end() && rate->is_number()) {
            patch.fields["quota_renews"] = unix_now() + json_int64(&*rate);
        }
        // The counter starts again, so does the informational copy.
        if (const auto max = body.find("quota_max");
            max != body.end() && max->is_number() && !body.contains("quota_remaining")) {
            patch.fields["quota_remaining"] = std::max<std::int64_t>(0, json_int64(&*max));
        }
    }
    const std::string storage = *storage_key_for(cfg, key, hashed);
    // Named std::function, not a lambda converted inside co_await (g++ 12 coroutine bug).
    const session::SessionStore::TtlFn ttl = TtlForState{state};
    auto [ec, result] =
        co_await worker.sessions().save_patch(storage, std::string{}, std::move(patch), ttl);
    if (ec) {
        co_return error_reply(http::status::service_unavailable, "Session store unavailable");
    }
    if (result == session::SaveResult::gone) {
        co_return error_reply(http::status::not_found, "Key is not found");
    }
    if (result == session::SaveResult::conflict) {
        co_return error_reply(http::status::conflict, "Key is being changed concurrently, retry");
    }
    if (reset) {
        const std::string key_id = hashed || !cfg.hash_keys ? key : keys::hash_key(key);
        const Json no_rights = Json::object();
        const auto rights = body.find("access_rights");
        std::vector<std::string> counters =
            limits::reset_keys(key_id, rights != body.end() ? *rights : no_rights);
        auto [reset_ec, reset_count] = co_await worker.sessions().remove(std::move(counters));
        if (reset_ec) {
            spdlog::warn("key update: quota counters not reset: {}", reset_ec.message());
        }
    }
    co_await notify_key_change(worker, cfg, storage);
    co_return action_reply(key, "modified");
}

awaitable<ApiReply> delete_key(server::Worker& worker,
                               std::shared_ptr<const GatewayState> state,
                               std::string key,
                               bool hashed,
                               std::string query) {
    const auto& cfg = *state->config;
    if (query_value(query, "api_id") == "-1") {
        co_return ApiReply{http::status::ok, "null"};
    }
    if (hashed && !cfg.hash_keys) {
        co_return error_reply(http::status::bad_request,
                              "Key requested by hash but key hashing is not enabled");
    }
    std::vector<std::string> keys;
    keys.push_back(*storage_key_for(cfg, key, hashed));
    std::string storage = keys.front();
    const std::string key_hash = hashed || !cfg.hash_keys ? key : keys::hash_key(key);
    keys.push_back("quota-" + key_hash);
    auto [ec, removed] = co_await worker.sessions().remove(std::move(keys));
    if (ec) {
        co_return error_reply(http::status::service_unavailable, "Session store unavailable");
    }
    if (removed == 0) {
        co_return error_reply(http::status::not_found, "There is no such key found");
    }
    co_await notify_key_change(worker, cfg, std::move(storage));
    co_return action_reply(key, "deleted");
}

awaitable<ApiReply> list_keys(server::Worker& worker, std::shared_ptr<const GatewayState> state) {
    const auto& cfg = *state->config;
    if (cfg.hash_keys && !cfg.enable_hashed_keys_listing) {
        co_return error_reply(http::status::not_found, "Hashed key listing is disabled in config "
                                                       "(enable_hashed_keys_listing)");
    }
    Json keys = Json::array();
    std::string cursor = "0";
    for (int round = 0; round < 100000; ++round) {
        std::vector<std::string> scan;
        scan.emplace_back("SCAN");
        scan.push_back(cursor);
        scan.emplace_back("MATCH");
        scan.emplace_back("apikey-*");
        scan.emplace_back("COUNT");
        scan.emplace_back("1000");
        auto [ec, reply] = co_await worker.redis().command(std::move(scan));
        if (ec || reply.elements.size() != 2) {
            co_return error_reply(http::status::service_unavailable, "Session store unavailable");
        }
        cursor = reply.elements[0].str;
        for (const auto& k : reply.elements[1].elements) {
            keys.push_back(k.str.substr(7));
        }
        if (cursor == "0") {
            break;
        }
    }
    co_return keys_reply(std::move(keys));
}

awaitable<ApiReply>
keys_route(server::Worker& worker, std::shared_ptr<const GatewayState> state, ApiRequest req) {
    const bool hashed = !query_value(req.query, "hashed").empty();
    if (req.segments.size() == 1) {
        if (req.method == http::verb::get) {
            co_return co_await list_keys(worker, state);
        }
        if (req.method == http::verb::post) {
            co_return co_await create_key(worker, state, {}, std::move(req.body), false);
        }
        co_return error_reply(http::status::method_not_allowed, "Method not supported");
    }
    if (req.segments.size() != 2) {
        co_return error_reply(http::status::not_found, "Not Found");
    }
    std::string key = req.segments[1];
    if (key == "create" && req.method == http::verb::post) {
        co_return co_await create_key(worker, state, {}, std::move(req.body), true);
    }
    switch (req.method) {
    case http::verb::get:
        co_return co_await get_key(worker, state, std::move(key), hashed);
    case http::verb::post:
        co_return co_await create_key(worker, state, std::move(key), std::move(req.body), false);
    case http::verb::put:
        co_return co_await update_key(worker, state, std::move(key), hashed, std::move(req.query),
                                      std::move(req.body));
    case http::verb::delete_:
        co_return co_await delete_key(worker, state, std::move(key), hashed, std::move(req.query));
    default:
        co_return error_reply(http::status::method_not_allowed, "Method not supported");
    }
}

// ---- APIs -----------------------------------------------------------------------------------

ApiReply write_api(const GatewayState& state,
                   std::string id_from_path,
                   const std::string& body_text,
                   bool update) {
    Json body = Json::parse(body_text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        return error_reply(http::status::bad_request, "Request malformed");
    }
    std::string api_id;
    if (!config::read_optional_string(body, "api_id", api_id)) {
        // (found by fuzz_gateway_api: a non-string api_id used to throw past the handler)
        return error_reply(http::status::bad_request, "Request malformed");
    }
    if (!id_from_path.empty()) {
        if (!api_id.empty() && api_id != id_from_path) {
            return error_reply(http::status::bad_request,
                               "Request APIID does not match that in Definition! For Update "
                               "operations these must match.");
        }
        api_id = id_from_path;
    }
    if (api_id.empty()) {
        api_id = keys::new_key_id();
    }
    if (!safe_file_id(api_id)) {
        return error_reply(http::status::bad_request,
                           "api_id may only contain letters, digits, '-', '_' and '.'");
    }
    body["api_id"] = api_id;
    const auto path = std::filesystem::path(state.config->app_path) / (api_id + ".json");
    try {
        (void)config::parse_api_definition(body, path.string());
    } catch (const config::ConfigException& e) {
        return error_reply(http::status::bad_request, e.what());
    }
    if (update && state.router->find_by_id(api_id) == nullptr && !std::filesystem::exists(path)) {
        return error_reply(http::status::not_found, "API not found");
    }
    if (!write_file_atomically(path, body.dump(2) + "\n")) {
        return error_reply(http::status::internal_server_error, "Failed to write API definition");
    }
    return action_reply(api_id, update ? "modified" : "added");
}

ApiReply apis_route(const GatewayState& state, const ApiRequest& req) {
    if (req.segments.size() == 1) {
        if (req.method == http::verb::get) {
            Json list = Json::array();
            for (const auto& api : state.router->apis()) {
                list.push_back(api->raw);
            }
            return {http::status::ok, list.dump()};
        }
        if (req.method == http::verb::post) {
            return write_api(state, {}, req.body, false);
        }
        return error_reply(http::status::method_not_allowed, "Method not supported");
    }
    if (req.segments.size() != 2) {
        return error_reply(http::status::not_found, "Not Found");
    }
    const std::string& id = req.segments[1];
    switch (req.method) {
    case http::verb::get: {
        const auto* api = state.router->find_by_id(id);
        if (api == nullptr) {
            return error_reply(http::status::not_found, "API not found");
        }
        return {http::status::ok, api->raw.dump()};
    }
    case http::verb::post:
    case http::verb::put:
        return write_api(state, id, req.body, req.method == http::verb::put);
    case http::verb::delete_: {
        if (!safe_file_id(id)) {
            return error_reply(http::status::bad_request, "Invalid API id");
        }
        const auto path = std::filesystem::path(state.config->app_path) / (id + ".json");
        std::error_code ec;
        if (!std::filesystem::remove(path, ec)) {
            return error_reply(http::status::not_found, "API not found");
        }
        return action_reply(id, "deleted");
    }
    default:
        return error_reply(http::status::method_not_allowed, "Method not supported");
    }
}

// ---- policies -------------------------------------------------------------------------------

// Written to the files the gateway loads policies from; effective after /tyk/reload, as APIs.

/// Serialises read-modify-write of the policy record file across workers (plain functions only:
/// never held across a co_await).
std::mutex policy_record_mutex;

constexpr std::string_view kPolicyIdRule =
    "Policy id may only contain letters, digits, '-', '_' and '.'";

/// The policy record file as an object map, or an error reply (an absent file is an empty map).
std::optional<ApiReply> read_policy_record(const std::filesystem::path& path, Json& map) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        map = Json::object();
        return std::nullopt;
    }
    try {
        map = config::parse_json_text(config::read_text_file(path.string()), path.string());
    } catch (const config::ConfigException& e) {
        spdlog::error("policy record file unreadable: {}", e.what());
        return error_reply(http::status::internal_server_error,
                           "Failed to read the policy record file");
    }
    if (!map.is_object()) {
        return error_reply(http::status::internal_server_error,
                           "The policy record file is not an object of policies by id");
    }
    return std::nullopt;
}

/// Why policies cannot be written, or nullopt when they are stored in files.
std::optional<ApiReply> policy_storage_error(const config::PoliciesConfig& cfg) {
    if (config::policies_from_service(cfg) ||
        (cfg.policy_path.empty() && cfg.policy_record_name.empty())) {
        return error_reply(http::status::internal_server_error,
                           "Policies are not stored in files (set policies.policy_path or "
                           "policies.policy_record_name)");
    }
    return std::nullopt;
}

/// Whether the fields Tyk's decoder types (user.Policy) have those types: a body Tyk would
/// refuse with "Request malformed" is not stored here either. Null stands for absent.
bool policy_types_ok(const Json& body) {
    const auto is = [&](const char* name, auto check) {
        const auto it = body.find(name);
        return it == body.end() || it->is_null() || check(*it);
    };
    const auto number = [](const Json& v) { return v.is_number(); };
    const auto object = [](const Json& v) { return v.is_object(); };
    const auto array = [](const Json& v) { return v.is_array(); };
    const auto boolean = [](const Json& v) { return v.is_boolean(); };
    const auto string = [](const Json& v) { return v.is_string(); };
    for (const char* name : {"rate", "per", "quota_max", "quota_renewal_rate", "throttle_interval",
                             "throttle_retry_limit", "max_query_depth", "key_expires_in"}) {
        if (!is(name, number)) {
            return false;
        }
    }
    return is("access_rights", object) && is("partitions", object) && is("meta_data", object) &&
           is("tags", array) && is("active", boolean) && is("is_inactive", boolean) &&
           is("hmac_enabled", boolean) && is("name", string) && is("org_id", string);
}

ApiReply write_policy(const GatewayState& state,
                      std::string id_from_path,
                      const std::string& body_text,
                      bool update) {
    const auto& cfg = state.config->policies;
    Json body = Json::parse(body_text, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !policy_types_ok(body)) {
        return error_reply(http::status::bad_request, "Request malformed");
    }
    std::string id = id_from_path;
    if (id.empty() && !config::read_optional_string(body, "id", id)) {
        return error_reply(http::status::bad_request, "Request malformed");
    }
    if (id.empty()) {
        id = keys::new_key_id();
    }
    if (!safe_file_id(id)) {
        return error_reply(http::status::bad_request, kPolicyIdRule);
    }
    if (auto error = policy_storage_error(cfg)) {
        return *error;
    }
    body["id"] = id;
    if (!cfg.policy_path.empty()) {
        const auto path = std::filesystem::path(cfg.policy_path) / (id + ".json");
        if (!write_file_atomically(path, body.dump(2) + "\n")) {
            return error_reply(http::status::internal_server_error, "Failed to write policy");
        }
        return action_reply(id, update ? "modified" : "added");
    }
    const std::filesystem::path path(cfg.policy_record_name);
    std::lock_guard lock{policy_record_mutex};
    Json map;
    if (auto error = read_policy_record(path, map)) {
        return *error;
    }
    map[id] = std::move(body);
    if (!write_file_atomically(path, map.dump(2) + "\n")) {
        return error_reply(http::status::internal_server_error, "Failed to write policy");
    }
    return action_reply(id, update ? "modified" : "added");
}

ApiReply delete_policy(const GatewayState& state, const std::string& id) {
    const auto& cfg = state.config->policies;
    if (!safe_file_id(id)) {
        return error_reply(http::status::bad_request, kPolicyIdRule);
    }
    if (auto error = policy_storage_error(cfg)) {
        return *error;
    }
    if (!cfg.policy_path.empty()) {
        const auto path = std::filesystem::path(cfg.policy_path) / (id + ".json");
        std::error_code ec;
        if (!std::filesystem::remove(path, ec)) {
            return error_reply(http::status::not_found, "Policy not found");
        }
        return action_reply(id, "deleted");
    }
    const std::filesystem::path path(cfg.policy_record_name);
    std::lock_guard lock{policy_record_mutex};
    Json map;
    if (auto error = read_policy_record(path, map)) {
        return *error;
    }
    if (map.erase(id) == 0) {
        return error_reply(http::status::not_found, "Policy not found");
    }
    if (!write_file_atomically(path, map.dump(2) + "\n")) {
        return error_reply(http::status::internal_server_error, "Failed to write policies");
    }
    return action_reply(id, "deleted");
}

ApiReply policies_route(const GatewayState& state, const ApiRequest& req) {
    if (req.segments.size() == 1) {
        if (req.method == http::verb::get) {
            Json list = Json::array();
            for (const auto& [id, policy] : state.policies->by_id) {
                list.push_back(policy.raw);
            }
            return {http::status::ok, list.dump()};
        }
        if (req.method == http::verb::post) {
            return write_policy(state, {}, req.body, false);
        }
        return error_reply(http::status::method_not_allowed, "Method not supported");
    }
    if (req.segments.size() != 2) {
        return error_reply(http::status::not_found, "Not Found");
    }
    const std::string& id = req.segments[1];
    switch (req.method) {
    case http::verb::get: {
        const auto* policy = state.policies->find(id);
        if (policy == nullptr) {
            return error_reply(http::status::not_found, "Policy not found");
        }
        return {http::status::ok, policy->raw.dump()};
    }
    case http::verb::put:
        return write_policy(state, id, req.body, true);
    case http::verb::delete_:
        return delete_policy(state, id);
    default:
        return error_reply(http::status::method_not_allowed, "Method not supported");
    }
}

ApiReply from_oauth_reply(OauthClientsReply reply) {
    return {reply.status, std::move(reply.body)};
}

awaitable<ApiReply>
route(server::Worker& worker, std::shared_ptr<const GatewayState> state, ApiRequest req) {
    if (req.segments.empty()) {
        co_return error_reply(http::status::not_found, "Not Found");
    }
    const std::string& head = req.segments[0];
    if (head == "keys") {
        co_return co_await keys_route(worker, state, std::move(req));
    }
    if (head == "apis") {
        co_return apis_route(*state, req);
    }
    if (head == "policies") {
        co_return policies_route(*state, req);
    }
    if (head == "oauth" && req.segments.size() > 1 && req.segments[1] == "clients") {
        OauthClientsReply reply =
            co_await oauth_clients_route(worker, state, req.method, std::move(req.segments),
                                         std::move(req.query), std::move(req.body));
        co_return from_oauth_reply(std::move(reply));
    }
    if (head == "oauth" && req.segments.size() > 1 &&
        (req.segments[1] == "revoke" || req.segments[1] == "revoke_all" ||
         req.segments[1] == "refresh")) {
        oauth_server::ApiReply reply =
            co_await oauth_server::gateway_route(worker, state, req.method, std::move(req.segments),
                                                 std::move(req.query), std::move(req.body));
        co_return ApiReply{reply.status, std::move(reply.body)};
    }
    if (head == "reload") {
        if (req.method != http::verb::get) {
            co_return error_reply(http::status::method_not_allowed, "Method not supported");
        }
        worker.control().reload();
        if (req.segments.size() > 1 && req.segments[1] == "group") {
            // Then every node reloads when the notification reaches it (this one again:
            // harmless, and Tyk's messages carry no sender to tell).
            cluster::Notification group{std::string(cluster::kGroupReload), std::string()};
            co_await publish(worker, *state->config, std::move(group));
        }
        co_return status_reply(http::status::ok, "ok", "");
    }
    if (head == "hello") {
        co_return status_reply(http::status::ok, "ok", "Hello Tiki");
    }
    co_return error_reply(http::status::not_found, "Not Found");
}

/// Writes `res` and says what came of it.
awaitable<Served> answer(server::ClientConnection& conn, StringResponse& res) {
    Served served;
    served.status = res.result_int();
    served.keep_alive = co_await server::write_reply(conn, res);
    co_return served;
}

} // namespace

bool admin_authorized(const config::GatewayConfig& config, std::string_view given) {
    if (config.secret.empty() || given.size() != config.secret.size()) {
        return false;
    }
    return CRYPTO_memcmp(config.secret.data(), given.data(), given.size()) == 0;
}

bool is_gateway_api_path(std::string_view path) {
    return path == "/tyk" || path.starts_with("/tyk/");
}

awaitable<Served> handle_gateway_api(server::ClientConnection& conn,
                                     http::request_parser<http::empty_body>& parser,
                                     std::shared_ptr<const GatewayState> state) {
    const auto& cfg = *state->config;
    const bool keep_alive = parser.get().keep_alive() && parser.get().version() >= 11;

    // authorise before reading anything more
    const auto given = parser.get()["X-Tyk-Authorization"];
    if (!admin_authorized(cfg, given)) {
        StringResponse res = status_response(
            http::status::forbidden, "Attempted administrative access with invalid or missing key!",
            keep_alive && parser.is_done());
        co_return co_await answer(conn, res);
    }

    // read the (bounded) body
    if (const auto length = parser.content_length(); length && *length > kMaxBody) {
        StringResponse res =
            status_response(http::status::payload_too_large, "Request body too large", false);
        co_return co_await answer(conn, res);
    }
    http::request_parser<http::string_body> body_parser{std::move(parser)};
    body_parser.body_limit(kMaxBody);
    if (!body_parser.is_done()) {
        conn.stream.expires_after(to_steady(cfg.http_server_options.read_timeout));
        auto [ec, n] =
            co_await http::async_read(conn.stream, conn.buffer, body_parser, use_nothrow);
        if (ec) {
            const bool too_big = ec == http::error::body_limit;
            StringResponse res = status_response(
                too_big ? http::status::payload_too_large : http::status::bad_request,
                too_big ? "Request body too large" : "Request malformed", false);
            co_return co_await answer(conn, res);
        }
    }
    auto& msg = body_parser.get();
    ApiRequest req;
    req.method = msg.method();
    const auto [path, query] = proxy::split_target(msg.target());
    req.query = std::string(query);
    std::string_view rest = path.substr(4); // after "/tyk"
    while (!rest.empty()) {
        while (rest.starts_with('/')) {
            rest.remove_prefix(1);
        }
        const auto slash = rest.find('/');
        if (!rest.empty()) {
            req.segments.emplace_back(rest.substr(0, slash));
        }
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    }
    req.body = std::move(msg.body());

    ApiReply reply = co_await route(conn.worker, state, std::move(req));
    StringResponse res = make_json_response(reply.status, std::move(reply.body), keep_alive);
    co_return co_await answer(conn, res);
}

} // namespace portcullis::api
