#include "gateway/api/oauth_clients.hpp"

#include "config/api_definition.hpp"
#include "config/json_reader.hpp"
#include "gateway/common/clock.hpp"
#include "gateway/oauth/oauth_keys.hpp"
#include "gateway/oauth/oauth_server.hpp"
#include "gateway/redis/redis_client.hpp"
#include "gateway/server/worker.hpp"
#include "middleware/auth/auth_token.hpp"
#include "middleware/keys/token.hpp"
#include "middleware/oauth/osin.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>

namespace portcullis::api {

namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json; // replies and records keep Tyk's (Go struct) field order
using Args = std::vector<std::string>;

constexpr int kScanCount = 1000;
constexpr int kMaxScanRounds = 100000;
constexpr int kTokensPerPage = 100; // Tyk's GetPaginatedClientTokens page size

using oauth_keys::client_set;
using oauth_keys::client_tokens;

std::string client_key(const std::string& api_id, const std::string& client_id) {
    return oauth_keys::client(api_id, client_id);
}

std::string index_key(const std::string& api_id, const std::string& org_id) {
    return oauth_keys::client_index(api_id, org_id);
}

/// `text` as a literal inside a Redis glob pattern.
std::string glob_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

template <class... Parts> Args cmd(const Parts&... parts) {
    return oauth_keys::command(parts...);
}

bool failed(const boost::system::error_code& ec, const redis::Reply& reply) {
    return ec || reply.is_error();
}

// ---- replies --------------------------------------------------------------------------------

OauthClientsReply reply_of(http::status status, std::string body) {
    OauthClientsReply out;
    out.status = status;
    out.body = std::move(body);
    return out;
}

OauthClientsReply error_reply(http::status status, std::string_view message) {
    OJson body = OJson::object();
    body["status"] = "error";
    body["message"] = message;
    return reply_of(status, body.dump());
}

OauthClientsReply deleted_reply(const std::string& client_id) {
    OJson body = OJson::object();
    body["key"] = client_id;
    body["status"] = "ok";
    body["action"] = "deleted";
    return reply_of(http::status::ok, body.dump());
}

// ---- the client -----------------------------------------------------------------------------

using oauth::Client;

bool by_id(const Client& a, const Client& b) {
    return a.id < b.id;
}

OJson to_ordered(const Json& value) {
    return OJson::parse(value.dump());
}

std::string record_json(const Client& c) {
    return oauth::client_record(c).dump();
}

/// The outward form (Tyk's NewClientRequest; `api_id` and an empty `policy_id` are omitted).
OJson client_view(const Client& c) {
    OJson out = OJson::object();
    out["client_id"] = c.id;
    out["redirect_uri"] = c.redirect_uri;
    if (!c.policy_id.empty()) {
        out["policy_id"] = c.policy_id;
    }
    out["secret"] = c.secret;
    out["meta_data"] = to_ordered(c.meta_data);
    out["description"] = c.description;
    return out;
}

OauthClientsReply client_reply(const Client& c) {
    return reply_of(http::status::ok, client_view(c).dump());
}

/// A NewClientRequest body: the client fields and `api_id`. Nullopt where Tyk's decode fails.
struct ClientRequest {
    Client client;
    std::string api_id;
};

std::optional<ClientRequest> parse_request(const std::string& text) {
    Json body = Json::parse(text, nullptr, false);
    if (body.is_discarded()) {
        return std::nullopt;
    }
    ClientRequest out;
    if (body.is_null()) {
        return out; // Go decodes `null` into the zero struct
    }
    if (!body.is_object()) {
        return std::nullopt;
    }
    if (!config::read_optional_string(body, "client_id", out.client.id) ||
        !config::read_optional_string(body, "secret", out.client.secret) ||
        !config::read_optional_string(body, "redirect_uri", out.client.redirect_uri) ||
        !config::read_optional_string(body, "policy_id", out.client.policy_id) ||
        !config::read_optional_string(body, "description", out.client.description) ||
        !config::read_optional_string(body, "api_id", out.api_id)) {
        return std::nullopt;
    }
    if (const auto it = body.find("meta_data"); it != body.end()) {
        out.client.meta_data = *it;
    }
    return out;
}

Client parse_record(const std::string& text) {
    return oauth::parse_client_record(text);
}

bool json_flag(const Json& raw, const char* name) {
    const auto it = raw.find(name);
    return it != raw.end() && it->is_boolean() && it->get<bool>();
}

/// Whether Tyk gives the API an OAuth manager that client calls can use.
bool has_oauth_manager(const config::ApiDefinition& api) {
    return api.use_oauth2 || json_flag(api.raw, "enable_jwt");
}

std::vector<std::string> policy_api_ids(const config::Policy& policy) {
    std::vector<std::string> out;
    const auto it = policy.raw.find("access_rights");
    if (it != policy.raw.end() && it->is_object()) {
        for (const auto& [api_id, rights] : it->items()) {
            out.push_back(api_id);
        }
    }
    return out;
}

bool policy_covers(const config::Policy& policy, const std::string& api_id) {
    const auto ids = policy_api_ids(policy);
    return std::find(ids.begin(), ids.end(), api_id) != ids.end();
}

OJson token_list(const redis::Reply& reply, std::size_t from, std::size_t to) {
    OJson out = OJson::array();
    for (std::size_t i = from; i < to; ++i) {
        OJson token = OJson::object();
        token["code"] = reply.elements[2 * i].str;
        token["expires"] =
            static_cast<std::int64_t>(std::strtod(reply.elements[2 * i + 1].str.c_str(), nullptr));
        out.push_back(std::move(token));
    }
    return out;
}

OauthClientsReply paginated_tokens_reply(const redis::Reply& reply, int page) {
    const std::size_t count = reply.elements.size() / 2;
    const std::size_t start = std::min(count, static_cast<std::size_t>(page - 1) * kTokensPerPage);
    const std::size_t end = std::min(count, start + kTokensPerPage);
    OJson pagination = OJson::object();
    pagination["page_num"] = page;
    pagination["page_total"] = (count + kTokensPerPage - 1) / kTokensPerPage;
    pagination["page_size"] = kTokensPerPage;
    OJson body = OJson::object();
    body["Pagination"] = std::move(pagination);
    body["Tokens"] = token_list(reply, start, end);
    return reply_of(http::status::ok, body.dump());
}

int page_param(const std::string& text) {
    int page = 1;
    try {
        std::size_t used = 0;
        page = std::stoi(text, &used);
        if (used != text.size()) {
            page = 1;
        }
    } catch (const std::exception&) {
        page = 1;
    }
    return page <= 0 ? 1 : page;
}

// ---- storage (coroutines: by-value parameters, no lambdas, no braced lists) -----------------

struct LoadResult {
    bool ok = false; // Redis answered
    std::optional<Client> client;
};

awaitable<LoadResult>
load_client(server::Worker& worker, std::string api_id, std::string client_id) {
    LoadResult out;
    Args args = cmd("GET", client_key(api_id, client_id));
    auto [ec, reply] = co_await worker.redis().command(std::move(args));
    if (failed(ec, reply)) {
        co_return out;
    }
    out.ok = true;
    if (reply.is_string()) {
        out.client = parse_record(reply.str);
    }
    co_return out;
}

/// Tyk's SetClient: the record (no expiry), the per-org index list and the client set. Only a
/// failed write of the record itself is an error; the indexes are best effort, as in Tyk.
awaitable<bool> store_client(server::Worker& worker,
                             std::string api_id,
                             std::string org_id,
                             Client client,
                             std::optional<std::string> previous_json) {
    const std::string key = client_key(api_id, client.id);
    const std::string json = record_json(client);
    Args set = cmd("SET", key, json);
    auto [ec, reply] = co_await worker.redis().command(std::move(set));
    if (failed(ec, reply)) {
        co_return false;
    }
    const std::string index = index_key(api_id, org_id);
    Args lrem = cmd("LREM", index, "0", key);
    auto [lrem_ec, lrem_reply] = co_await worker.redis().command(std::move(lrem));
    Args rpush = cmd("RPUSH", index, key);
    auto [push_ec, push_reply] = co_await worker.redis().command(std::move(rpush));
    if (previous_json && *previous_json != json) {
        Args srem = cmd("SREM", client_set(api_id), *previous_json);
        (void)co_await worker.redis().command(std::move(srem));
    }
    Args sadd = cmd("SADD", client_set(api_id), json);
    auto [sadd_ec, sadd_reply] = co_await worker.redis().command(std::move(sadd));
    if (failed(lrem_ec, lrem_reply) || failed(push_ec, push_reply) || failed(sadd_ec, sadd_reply)) {
        spdlog::warn("oauth client {}: index not updated for API {}", client.id, api_id);
    }
    co_return true;
}

/// The raw record text at `key`, when there is one.
awaitable<std::optional<std::string>> raw_record(server::Worker& worker, std::string key) {
    Args args = cmd("GET", key);
    auto [ec, reply] = co_await worker.redis().command(std::move(args));
    if (!failed(ec, reply) && reply.is_string()) {
        co_return reply.str;
    }
    co_return std::nullopt;
}

// ---- handlers -------------------------------------------------------------------------------

awaitable<OauthClientsReply>
create_client(server::Worker& worker, std::shared_ptr<const GatewayState> state, std::string body) {
    auto request = parse_request(body);
    if (!request) {
        co_return error_reply(http::status::internal_server_error, "Unmarshalling failed");
    }
    Client client = std::move(request->client);
    if (client.id.empty()) {
        client.id = keys::new_key_id();
    }
    if (client.secret.empty()) {
        client.secret = oauth::new_uuid_base64();
    }

    // The APIs to store the client for: the one named, or the policy's OAuth (or JWT) APIs.
    std::vector<const config::ApiDefinition*> targets;
    if (!request->api_id.empty()) {
        const auto* api = state->router->find_by_id(request->api_id);
        if (api == nullptr) {
            co_return error_reply(http::status::bad_request, "API doesn't exist");
        }
        if (!api->use_oauth2) {
            co_return error_reply(http::status::bad_request, "API is not OAuth2");
        }
        targets.push_back(api);
    } else {
        const auto* policy = state->policies->find(client.policy_id);
        if (policy == nullptr) {
            co_return error_reply(http::status::bad_request, "Policy doesn't exist");
        }
        for (const auto& api_id : policy_api_ids(*policy)) {
            const auto* api = state->router->find_by_id(api_id);
            if (api == nullptr) {
                co_return error_reply(http::status::bad_request, "API doesn't exist");
            }
            if (has_oauth_manager(*api)) {
                targets.push_back(api);
            }
        }
        if (targets.empty()) {
            co_return error_reply(http::status::bad_request, "API is not OAuth2");
        }
    }

    for (const auto* api : targets) {
        const std::string api_id = api->api_id;
        const std::string org_id = api->org_id;
        auto previous = co_await raw_record(worker, client_key(api_id, client.id));
        const bool stored = co_await store_client(worker, api_id, org_id, client, previous);
        if (!stored) {
            co_return error_reply(http::status::internal_server_error,
                                  "Failure in storing client data.");
        }
        spdlog::info("oauth client {} created for API {}", client.id, api_id);
    }
    co_return client_reply(client);
}

awaitable<OauthClientsReply> list_clients(server::Worker& worker,
                                          std::shared_ptr<const GatewayState> state,
                                          std::string api_id) {
    const auto* api = state->router->find_by_id(api_id);
    if (api == nullptr) {
        co_return error_reply(http::status::not_found, "OAuth client not found");
    }
    OJson list = OJson::array();
    if (!api->use_oauth2) {
        co_return reply_of(http::status::ok, list.dump());
    }
    const std::string pattern = glob_escape(client_key(api_id, "")) + "*";
    const std::string count = std::to_string(kScanCount);
    std::set<std::string> seen;
    std::vector<Client> clients;
    std::string cursor = "0";
    for (int round = 0; round < kMaxScanRounds; ++round) {
        Args scan = cmd("SCAN", cursor, "MATCH", pattern, "COUNT", count);
        auto [ec, reply] = co_await worker.redis().command(std::move(scan));
        if (failed(ec, reply) || reply.elements.size() != 2) {
            co_return error_reply(http::status::not_found, "OAuth client not found");
        }
        cursor = reply.elements[0].str;
        Args mget;
        mget.emplace_back("MGET");
        for (const auto& k : reply.elements[1].elements) {
            if (seen.insert(k.str).second) {
                mget.push_back(k.str);
            }
        }
        if (mget.size() > 1) {
            auto [mec, values] = co_await worker.redis().command(std::move(mget));
            if (failed(mec, values)) {
                co_return error_reply(http::status::not_found, "OAuth client not found");
            }
            for (const auto& v : values.elements) {
                if (v.is_string()) {
                    clients.push_back(parse_record(v.str));
                }
            }
        }
        if (cursor == "0") {
            break;
        }
    }
    std::sort(clients.begin(), clients.end(), by_id);
    for (const auto& c : clients) {
        list.push_back(client_view(c));
    }
    co_return reply_of(http::status::ok, list.dump());
}

awaitable<OauthClientsReply> get_client(server::Worker& worker,
                                        std::shared_ptr<const GatewayState> state,
                                        std::string api_id,
                                        std::string client_id) {
    if (state->router->find_by_id(api_id) == nullptr) {
        co_return error_reply(http::status::not_found, "OAuth Client ID not found");
    }
    LoadResult loaded = co_await load_client(worker, api_id, client_id);
    if (!loaded.client) {
        co_return error_reply(http::status::not_found, "OAuth Client ID not found");
    }
    co_return client_reply(*loaded.client);
}

/// PUT /tyk/oauth/clients/{api}/{client} (`rotate` false: new redirect_uri, policy_id,
/// meta_data and description, same secret) and PUT .../rotate (`rotate` true: same fields, a new
/// secret).
awaitable<OauthClientsReply> update_client(server::Worker& worker,
                                           std::shared_ptr<const GatewayState> state,
                                           std::string api_id,
                                           std::string client_id,
                                           std::string body,
                                           bool rotate) {
    std::optional<ClientRequest> request;
    if (!rotate) {
        request = parse_request(body);
        if (!request) {
            co_return error_reply(http::status::internal_server_error, "Unmarshalling failed");
        }
    }
    const auto* api = state->router->find_by_id(api_id);
    if (api == nullptr) {
        co_return error_reply(http::status::not_found, "API doesn't exist");
    }
    const std::string org_id = api->org_id;
    if (request && !request->client.policy_id.empty()) {
        const auto* policy = state->policies->find(request->client.policy_id);
        if (policy == nullptr) {
            co_return error_reply(http::status::not_found, "Policy doesn't exist");
        }
        if (!policy_covers(*policy, api_id)) {
            co_return error_reply(
                http::status::bad_request,
                "Policy access rights doesn't contain API this OAuth client belongs to");
        }
    }
    auto previous = co_await raw_record(worker, client_key(api_id, client_id));
    if (!previous) {
        co_return error_reply(http::status::not_found, "OAuth Client ID not found");
    }
    const Client existing = parse_record(*previous);
    Client updated = existing;
    if (rotate) {
        updated.secret = oauth::new_uuid_base64();
    } else {
        updated.redirect_uri = request->client.redirect_uri;
        updated.policy_id = request->client.policy_id;
        updated.meta_data = request->client.meta_data;
        updated.description = request->client.description;
    }
    // The record stays where it was found even if its `id` field says otherwise.
    const std::string stored_id = updated.id;
    updated.id = client_id;
    const bool stored = co_await store_client(worker, api_id, org_id, updated, previous);
    updated.id = stored_id;
    if (!stored) {
        co_return error_reply(http::status::internal_server_error,
                              "Failure in storing client data");
    }
    if (!existing.policy_id.empty() && existing.policy_id != updated.policy_id) {
        // As Tyk: tokens issued under the previous policy stop working.
        (void)co_await oauth_server::revoke_client_tokens(worker, state, api_id, client_id);
    }
    spdlog::info("oauth client {} {} for API {}", client_id, rotate ? "rotated" : "updated",
                 api_id);
    co_return client_reply(updated);
}

/// Tyk's DeleteClient: the record, its index entries and the client's token list (the tokens
/// themselves stay valid until they expire). Succeeds whether or not the client existed.
awaitable<OauthClientsReply> delete_client(server::Worker& worker,
                                           std::shared_ptr<const GatewayState> state,
                                           std::string api_id,
                                           std::string client_id) {
    const auto* api = state->router->find_by_id(api_id);
    if (api == nullptr || !has_oauth_manager(*api)) {
        co_return error_reply(http::status::not_found, "OAuth Client ID not found");
    }
    const std::string org_id = api->org_id;
    const std::string key = client_key(api_id, client_id);
    auto previous = co_await raw_record(worker, key);
    if (previous) {
        Args srem = cmd("SREM", client_set(api_id), *previous);
        (void)co_await worker.redis().command(std::move(srem));
    }
    Args del = cmd("DEL", key, client_tokens(api_id, client_id));
    auto [ec, reply] = co_await worker.redis().command(std::move(del));
    if (failed(ec, reply)) {
        co_return error_reply(http::status::internal_server_error, "Delete failed");
    }
    Args lrem = cmd("LREM", index_key(api_id, org_id), "0", key);
    (void)co_await worker.redis().command(std::move(lrem));
    spdlog::info("oauth client {} deleted for API {}", client_id, api_id);
    co_return deleted_reply(client_id);
}

/// The client's tokens that have not expired: `[{"code": <hashed token>, "expires": <unix>}]`,
/// or with `?page=N` Tyk's paginated form (100 per page).
awaitable<OauthClientsReply> client_tokens(server::Worker& worker,
                                           std::shared_ptr<const GatewayState> state,
                                           std::string api_id,
                                           std::string client_id,
                                           std::string query) {
    if (state->router->find_by_id(api_id) == nullptr) {
        co_return error_reply(http::status::not_found, "OAuth Client ID not found");
    }
    const std::string now = std::to_string(unix_now());
    Args range = cmd("ZRANGEBYSCORE", client_tokens(api_id, client_id), now, "+inf", "WITHSCORES");
    auto [ec, reply] = co_await worker.redis().command(std::move(range));
    if (failed(ec, reply)) {
        co_return error_reply(http::status::internal_server_error, "Get client tokens failed");
    }
    const std::string page = auth::query_param(query, "page").value_or(std::string{});
    if (!page.empty()) {
        co_return paginated_tokens_reply(reply, page_param(page));
    }
    co_return reply_of(http::status::ok, token_list(reply, 0, reply.elements.size() / 2).dump());
}

/// GET /tyk/oauth/clients/apis/{client_id}?orgID=: the OAuth APIs (of the org; all when empty)
/// that have this client.
awaitable<OauthClientsReply> apis_for_client(server::Worker& worker,
                                             std::shared_ptr<const GatewayState> state,
                                             std::string client_id,
                                             std::string org_id) {
    const auto apis = co_await oauth_server::apis_with_client(worker, state, std::move(client_id),
                                                              std::move(org_id));
    OJson list = OJson::array();
    for (const auto& api_id : apis) {
        list.push_back(api_id);
    }
    co_return reply_of(http::status::ok, list.dump());
}

OauthClientsReply method_not_allowed() {
    return error_reply(http::status::method_not_allowed, "Method not supported");
}

} // namespace

awaitable<OauthClientsReply> oauth_clients_route(server::Worker& worker,
                                                 std::shared_ptr<const GatewayState> state,
                                                 http::verb method,
                                                 std::vector<std::string> segments,
                                                 std::string query,
                                                 std::string body) {
    // segments: "oauth", "clients", ...
    const std::size_t n = segments.size();
    if (n < 3 || n > 5 || segments[1] != "clients") {
        co_return error_reply(http::status::not_found, "Not Found");
    }
    if (n == 3 && segments[2] == "create" && method == http::verb::post) {
        co_return co_await create_client(worker, state, std::move(body));
    }
    const std::string api_id = segments[2];
    if (n == 3) {
        if (method == http::verb::get) {
            co_return co_await list_clients(worker, state, api_id);
        }
        if (method == http::verb::delete_) {
            co_return co_await delete_client(worker, state, api_id, std::string{});
        }
        co_return method_not_allowed();
    }
    const std::string client_id = segments[3];
    if (n == 4) {
        const auto org = auth::query_param(query, "orgID");
        if (api_id == "apis" && org && method == http::verb::get) {
            co_return co_await apis_for_client(worker, state, client_id, *org);
        }
        switch (method) {
        case http::verb::get:
            co_return co_await get_client(worker, state, api_id, client_id);
        case http::verb::put:
            co_return co_await update_client(worker, state, api_id, client_id, std::move(body),
                                             false);
        case http::verb::delete_:
            co_return co_await delete_client(worker, state, api_id, client_id);
        default:
            co_return method_not_allowed();
        }
    }
    if (segments[4] == "tokens") {
        if (method != http::verb::get) {
            co_return method_not_allowed();
        }
        co_return co_await client_tokens(worker, state, api_id, client_id, std::move(query));
    }
    if (segments[4] == "rotate") {
        if (method != http::verb::put) {
            co_return method_not_allowed();
        }
        co_return co_await update_client(worker, state, api_id, client_id, std::string{}, true);
    }
    co_return error_reply(http::status::not_found, "Not Found");
}

} // namespace portcullis::api
