#include "gateway/oauth/oauth_server.hpp"

#include "config/api_definition.hpp"
#include "gateway/api/gateway_api.hpp"
#include "gateway/common/clock.hpp"
#include "gateway/oauth/oauth_keys.hpp"
#include "gateway/redis/redis_client.hpp"
#include "gateway/server/worker.hpp"
#include "gateway/session/session_store.hpp"
#include "middleware/core/session.hpp"
#include "middleware/core/session_ttl.hpp"
#include "middleware/keys/key_hash.hpp"
#include "middleware/keys/token.hpp"
#include "middleware/oauth/osin.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <crypt.h>
#include <memory>
#include <optional>
#include <unordered_map>

namespace portcullis::oauth_server {

namespace {

using Json = nlohmann::json;
using Args = std::vector<std::string>;
using oauth::Client;
using oauth::Response;

constexpr std::string_view kTokenType = "bearer";

bool failed(const error_code& ec, const redis::Reply& reply) {
    return ec || reply.is_error();
}

/// Tyk's storage.HashKey for OAuth records: the token's hash with hash_keys, else the token.
std::string token_ref(const config::GatewayConfig& cfg, std::string_view token) {
    return cfg.hash_keys ? keys::hash_key(token) : std::string(token);
}

int error_status(const config::GatewayConfig& cfg) {
    return cfg.oauth_error_status_code != 0 ? cfg.oauth_error_status_code : 403;
}

Response new_response(const config::GatewayConfig& cfg) {
    Response resp;
    resp.error_status = error_status(cfg);
    return resp;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
    for (const auto& item : list) {
        if (item == value) {
            return true;
        }
    }
    return false;
}

/// osin's AllowedAuthorizeType.Exists: space-separated lists compared as sequences.
bool authorize_type_allowed(const std::vector<std::string>& allowed, std::string_view type) {
    return contains(allowed, type);
}

Reply json_reply(http::status status, std::string body) {
    Reply out;
    out.status = status;
    out.body = std::move(body);
    return out;
}

Reply status_message(http::status status, std::string_view state, std::string_view message) {
    nlohmann::ordered_json body = nlohmann::ordered_json::object();
    body["status"] = state;
    body["message"] = message;
    return json_reply(status, body.dump());
}

Reply osin_reply(Response& resp, bool no_cache) {
    const auto status =
        resp.is_error ? static_cast<http::status>(resp.error_status) : http::status::ok;
    Reply out = json_reply(status, oauth::render(resp));
    out.no_cache = no_cache;
    return out;
}

std::string pointer_escape(std::string_view token) {
    std::string out;
    for (const char c : token) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

/// bcrypt runs off the worker's event loop: one shared thread does every comparison.
asio::thread_pool& hashing_pool() {
    static asio::thread_pool pool(1);
    return pool;
}

asio::awaitable<bool> bcrypt_matches(std::string hash, std::string password) {
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
    co_return out != nullptr&& out[0] != '*' && oauth::secret_matches(std::string_view(out), hash);
}

// ---- storage --------------------------------------------------------------------------------

struct ClientLookup {
    bool redis_ok = false;
    std::optional<Client> client;
};

awaitable<ClientLookup>
fetch_client(server::Worker& worker, std::string api_id, std::string client_id) {
    ClientLookup out;
    Args args = oauth_keys::command("GET", oauth_keys::client(api_id, client_id));
    auto [ec, reply] = co_await worker.redis().command(std::move(args));
    if (failed(ec, reply)) {
        co_return out;
    }
    out.redis_ok = true;
    if (reply.is_string()) {
        out.client = oauth::parse_client_record(reply.str);
    }
    co_return out;
}

/// A grant record at `key`: (Redis answered, the record).
awaitable<std::pair<bool, std::optional<oauth::Grant>>> fetch_grant(server::Worker& worker,
                                                                    std::string key) {
    Args args = oauth_keys::command("GET", key);
    auto [ec, reply] = co_await worker.redis().command(std::move(args));
    std::pair<bool, std::optional<oauth::Grant>> out;
    out.first = !failed(ec, reply);
    if (out.first && reply.is_string()) {
        out.second = oauth::parse_grant(reply.str);
    }
    co_return out;
}

/// Deletes `key`; true when it existed (the caller consumed it).
awaitable<bool> take_key(server::Worker& worker, std::string key) {
    Args args = oauth_keys::command("DEL", key);
    auto [ec, reply] = co_await worker.redis().command(std::move(args));
    co_return !failed(ec, reply) && reply.integer > 0;
}

/// Tyk's RemoveAccess: the access grant, its token-list entry and the token's session.
awaitable<void> remove_access(server::Worker& worker,
                              const config::GatewayConfig& cfg,
                              std::string api_id,
                              std::string token) {
    const std::string ref = token_ref(cfg, token);
    auto [ok, grant] = co_await fetch_grant(worker, oauth_keys::access(api_id, ref));
    if (grant) {
        Args zrem =
            oauth_keys::command("ZREM", oauth_keys::client_tokens(api_id, grant->client.id), ref);
        (void)co_await worker.redis().command(std::move(zrem));
    }
    Args del = oauth_keys::command("DEL", oauth_keys::access(api_id, ref),
                                   keys::storage_key(token, cfg.hash_keys));
    (void)co_await worker.redis().command(std::move(del));
}

awaitable<void> remove_refresh(server::Worker& worker, std::string api_id, std::string token) {
    Args del = oauth_keys::command("DEL", oauth_keys::refresh(api_id, token));
    (void)co_await worker.redis().command(std::move(del));
}

// ---- access requests -----------------------------------------------------------------------

/// osin's AccessRequest, once checked.
struct AccessRequest {
    Client client;
    Json user_data;
    std::string scope;
    std::string redirect_uri;
    bool generate_refresh = true;
    bool authorized = true;
    std::optional<oauth::Grant> previous; // refresh_token: the grant being replaced
};

/// osin getClient: the client named by `auth`, with its secret checked. Sets the error on
/// failure.
awaitable<std::optional<Client>> authenticate_client(server::Worker& worker,
                                                     std::string api_id,
                                                     oauth::ClientAuth auth,
                                                     Response& resp) {
    ClientLookup found = co_await fetch_client(worker, api_id, auth.id);
    if (!found.redis_ok) {
        resp.set_error(oauth::kServerError);
        co_return std::nullopt;
    }
    if (!found.client || !oauth::secret_matches(found.client->secret, auth.secret) ||
        found.client->redirect_uri.empty()) {
        resp.set_error(oauth::kUnauthorizedClient);
        co_return std::nullopt;
    }
    co_return found.client;
}

/// An authenticated client and the grant its request names.
struct ClientGrant {
    std::optional<Client> client;
    std::optional<oauth::Grant> grant; // set only when the checks passed
};

/// osin's common steps for codes and refresh tokens: `code` required (else invalid_grant), the
/// client authenticated, then the grant stored at `key` (none: invalid_grant; its client without
/// a redirect URI: unauthorized_client).
awaitable<ClientGrant> client_and_grant(server::Worker& worker,
                                        std::string api_id,
                                        oauth::ClientAuth auth,
                                        std::string code,
                                        std::string key,
                                        Response& resp) {
    ClientGrant out;
    if (code.empty()) {
        resp.set_error(oauth::kInvalidGrant);
        co_return out;
    }
    out.client = co_await authenticate_client(worker, api_id, std::move(auth), resp);
    if (!out.client) {
        co_return out;
    }
    auto [ok, grant] = co_await fetch_grant(worker, key);
    if (!ok) {
        resp.set_error(oauth::kServerError);
    } else if (!grant) {
        resp.set_error(oauth::kInvalidGrant);
    } else if (grant->client.redirect_uri.empty()) {
        resp.set_error(oauth::kUnauthorizedClient);
    } else {
        out.grant = std::move(grant);
    }
    co_return out;
}

/// osin FinishAccessRequest + Tyk's token generator and SaveAccess: a new token saved as a
/// session, its grants and list entry; the used code or previous grant removed; the output set.
/// Returns the new access token ("" on error).
awaitable<std::string> finish_access(server::Worker& worker,
                                     std::shared_ptr<const GatewayState> state,
                                     std::string api_id,
                                     AccessRequest ar,
                                     Response& resp) {
    const auto& cfg = *state->config;
    if (!ar.authorized) {
        resp.set_error(oauth::kAccessDenied);
        co_return std::string{};
    }
    const std::int64_t now = unix_now();
    const std::int64_t expires_in =
        cfg.oauth_token_expire != 0 ? cfg.oauth_token_expire : oauth::kAccessExpiration;
    const auto* policy = state->policies->find(ar.client.policy_id);
    auto session = oauth::token_session(ar.user_data, policy, ar.client, expires_in, now);
    if (!session) {
        spdlog::warn("oauth: api {} client {}: no key rules and no policy {}; token refused",
                     api_id, ar.client.id, ar.client.policy_id);
        resp.set_error(oauth::kServerError);
        co_return std::string{};
    }
    std::string org;
    if (const auto it = session->find("org_id"); it != session->end() && it->is_string()) {
        org = it->get<std::string>();
    }
    const std::string token = keys::generate_token(org, keys::new_key_id(), cfg.hash_key_function);
    const std::string refresh = ar.generate_refresh ? oauth::new_uuid_base64() : std::string{};

    const auto ec = co_await worker.sessions().put(keys::storage_key(token, cfg.hash_keys),
                                                   session->dump(), expires_in);
    if (ec) {
        spdlog::warn("oauth: api {}: token session not saved: {}", api_id, ec.message());
        resp.set_error(oauth::kServerError);
        co_return std::string{};
    }
    oauth::Grant grant;
    grant.client = ar.client;
    grant.access_token = token;
    grant.refresh_token = refresh;
    grant.expires_in = expires_in;
    grant.scope = ar.scope;
    grant.redirect_uri = ar.redirect_uri;
    grant.created_at = now;
    grant.user_data = ar.user_data;
    const std::string record = oauth::access_record(grant);
    const std::string ref = token_ref(cfg, token);
    Args set_access = oauth_keys::command("SET", oauth_keys::access(api_id, ref), record, "EX",
                                          std::to_string(expires_in));
    auto [access_ec, access_reply] = co_await worker.redis().command(std::move(set_access));
    Args zadd = oauth_keys::command("ZADD", oauth_keys::client_tokens(api_id, ar.client.id),
                                    std::to_string(now + expires_in), ref);
    auto [list_ec, list_reply] = co_await worker.redis().command(std::move(zadd));
    bool stored = !failed(access_ec, access_reply) && !failed(list_ec, list_reply);
    if (!refresh.empty()) {
        const std::int64_t refresh_ttl = cfg.oauth_refresh_token_expire != 0
                                             ? cfg.oauth_refresh_token_expire
                                             : oauth::kRefreshExpiration;
        Args set_refresh = oauth_keys::command("SET", oauth_keys::refresh(api_id, refresh), record,
                                               "EX", std::to_string(refresh_ttl));
        auto [refresh_ec, refresh_reply] = co_await worker.redis().command(std::move(set_refresh));
        stored = stored && !failed(refresh_ec, refresh_reply);
    }
    if (!stored) {
        // Half-written grants must not leave a usable token behind.
        std::vector<std::string> undo;
        undo.push_back(keys::storage_key(token, cfg.hash_keys));
        (void)co_await worker.sessions().remove(std::move(undo));
        resp.set_error(oauth::kServerError);
        co_return std::string{};
    }
    if (ar.previous) {
        co_await remove_access(worker, cfg, api_id, ar.previous->access_token);
    }
    resp.output["access_token"] = token;
    resp.output["token_type"] = kTokenType;
    resp.output["expires_in"] = expires_in;
    if (!refresh.empty()) {
        resp.output["refresh_token"] = refresh;
    }
    if (!ar.scope.empty()) {
        resp.output["scope"] = ar.scope;
    }
    spdlog::info("oauth: api {}: token issued to client {}", api_id, ar.client.id);
    co_return token;
}

/// Password grant: the basic-auth user `org_id + username` and its password (bcrypt or plain).
struct PasswordUser {
    bool redis_ok = true;
    std::optional<session::StoredSession> stored;
    bool password_ok = false;
};

awaitable<PasswordUser> check_user(server::Worker& worker,
                                   std::shared_ptr<const GatewayState> state,
                                   std::string org_id,
                                   std::string username,
                                   std::string password) {
    PasswordUser out;
    std::vector<std::string> keys_to_load;
    keys_to_load.push_back(keys::storage_key(org_id + username, state->config->hash_keys));
    auto [ec, found] = co_await worker.sessions().load(std::move(keys_to_load));
    if (ec) {
        out.redis_ok = false;
        co_return out;
    }
    if (!found) {
        spdlog::warn("oauth: password grant for a user that does not exist");
        co_return out;
    }
    const Json& doc = found->session.document();
    std::string hash_type;
    std::string stored_password;
    if (const auto it = doc.find("basic_auth_data"); it != doc.end() && it->is_object()) {
        if (const auto h = it->find("hash_type"); h != it->end() && h->is_string()) {
            hash_type = h->get<std::string>();
        }
        if (const auto p = it->find("password"); p != it->end() && p->is_string()) {
            stored_password = p->get<std::string>();
        }
    }
    if (hash_type == "bcrypt") {
        auto check = bcrypt_matches(stored_password, password);
        out.password_ok = co_await asio::co_spawn(hashing_pool(), std::move(check), use_awaitable);
    } else if (hash_type.empty()) {
        out.password_ok = oauth::secret_matches(stored_password, password);
    }
    out.stored = std::move(found);
    co_return out;
}

/// After a password grant: the user's session records the token for this client, and its
/// metadata becomes the client's (`tyk_developer_email` -> `alias`), as Tyk.
/// TTL of the password grant's user session: the API's lifetime rule.
struct UserTtl {
    std::vector<ApiLifetime> lifetimes;
    std::shared_ptr<const GatewayState> state;
    std::int64_t operator()(const Session& s) const {
        return session_ttl_seconds(s, lifetimes, state->config->force_global_session_lifetime,
                                   state->config->global_session_lifetime, unix_now());
    }
};

awaitable<void> update_user(server::Worker& worker,
                            std::shared_ptr<const GatewayState> state,
                            const config::ApiDefinition& api,
                            session::StoredSession user,
                            Client client,
                            std::string token) {
    Session& s = user.session;
    const Json* keys_object = json_member(s.document(), "oauth_keys");
    if (keys_object != nullptr && keys_object->is_object()) {
        s.set_at("/oauth_keys/" + pointer_escape(client.id), token);
    } else {
        Json object = Json::object();
        object[client.id] = token;
        s.set_field("oauth_keys", std::move(object));
    }
    if (client.meta_data.is_object()) {
        Json meta = client.meta_data;
        if (const auto it = meta.find("tyk_developer_email"); it != meta.end() && it->is_string()) {
            s.set_field("alias", *it);
            meta.erase(it);
        }
        s.replace_meta(std::move(meta));
    } else if (!client.meta_data.is_null()) {
        spdlog::warn("oauth: client {} meta_data is not an object; user metadata kept", client.id);
    }
    std::vector<ApiLifetime> lifetimes;
    lifetimes.push_back(ApiLifetime{api.api_id, api.session_lifetime,
                                    api.session_lifetime_respects_key_expiration});
    // Named, not a temporary inside co_await (g++ 12 coroutine bug).
    session::SessionStore::TtlFn ttl = UserTtl{std::move(lifetimes), state};
    auto [ec, saved] =
        co_await worker.sessions().save_patch(user.storage_key, user.raw, s.changes(), ttl);
    if (ec || saved != session::SaveResult::saved) {
        spdlog::warn("oauth: password grant user session not updated for client {}", client.id);
    }
}

awaitable<Reply> token_endpoint(server::Worker& worker,
                                std::shared_ptr<const GatewayState> state,
                                const config::ApiDefinition& api,
                                EndpointRequest request) {
    const auto& cfg = *state->config;
    Response resp = new_response(cfg);
    if (request.method != http::verb::get && request.method != http::verb::post) {
        co_return status_message(http::status::method_not_allowed, "error", "Method Not Allowed");
    }
    const auto form = oauth::Form::parse(request.query, request.body, request.content_type,
                                         request.method == http::verb::post);
    const std::string grant_type = form.get("grant_type");
    const std::string api_id = api.api_id;
    if (!contains(api.oauth_meta.allowed_access_types, grant_type) ||
        (grant_type != "authorization_code" && grant_type != "refresh_token" &&
         grant_type != "password" && grant_type != "client_credentials")) {
        resp.set_error(oauth::kUnsupportedGrantType);
        co_return osin_reply(resp, true);
    }
    const auto auth = oauth::client_auth(request.authorization, form);
    if (!auth) {
        resp.set_error(oauth::kInvalidRequest);
        co_return osin_reply(resp, true);
    }

    AccessRequest ar;
    std::optional<session::StoredSession> user;
    if (grant_type == "authorization_code") {
        const std::string code = form.get("code");
        ClientGrant found = co_await client_and_grant(worker, api_id, *auth, code,
                                                      oauth_keys::authorize(api_id, code), resp);
        if (!found.grant) {
            co_return osin_reply(resp, true);
        }
        auto& client = found.client;
        auto& grant = found.grant;
        std::string redirect = form.get("redirect_uri");
        if (redirect.empty()) {
            redirect = client->redirect_uri;
        }
        if (grant->client.id != client->id || grant->created_at + grant->expires_in < unix_now()) {
            resp.set_error(oauth::kInvalidGrant);
            co_return osin_reply(resp, true);
        }
        if (!oauth::redirect_uri_valid(client->redirect_uri, redirect,
                                       cfg.oauth_redirect_uri_separator) ||
            grant->redirect_uri != redirect) {
            resp.set_error(oauth::kInvalidRequest);
            co_return osin_reply(resp, true);
        }
        // The code is single-use: whoever deletes it first gets the token.
        const bool taken = co_await take_key(worker, oauth_keys::authorize(api_id, code));
        if (!taken) {
            resp.set_error(oauth::kInvalidGrant);
            co_return osin_reply(resp, true);
        }
        ar.client = std::move(*client);
        ar.user_data = grant->user_data;
        ar.scope = grant->scope;
        ar.redirect_uri = redirect;
    } else if (grant_type == "refresh_token") {
        const std::string refresh = form.get("refresh_token");
        ClientGrant found = co_await client_and_grant(worker, api_id, *auth, refresh,
                                                      oauth_keys::refresh(api_id, refresh), resp);
        if (!found.grant) {
            co_return osin_reply(resp, true);
        }
        auto& client = found.client;
        auto& grant = found.grant;
        if (grant->client.id != client->id) {
            resp.set_error(oauth::kInvalidClient);
            co_return osin_reply(resp, true);
        }
        const bool taken = co_await take_key(worker, oauth_keys::refresh(api_id, refresh));
        if (!taken) {
            resp.set_error(oauth::kInvalidGrant);
            co_return osin_reply(resp, true);
        }
        ar.client = std::move(*client);
        ar.user_data = grant->user_data;
        ar.scope = form.get("scope");
        if (ar.scope.empty()) {
            ar.scope = grant->scope;
        }
        ar.redirect_uri = grant->redirect_uri;
        ar.previous = std::move(grant);
    } else if (grant_type == "password") {
        const std::string username = form.get("username");
        const std::string password = form.get("password");
        if (username.empty() || password.empty()) {
            resp.set_error(oauth::kInvalidGrant);
            co_return osin_reply(resp, true);
        }
        auto client = co_await authenticate_client(worker, api_id, *auth, resp);
        if (!client) {
            co_return osin_reply(resp, true);
        }
        ar.client = std::move(*client);
        ar.redirect_uri = ar.client.redirect_uri;
        ar.scope = form.get("scope");
        PasswordUser checked = co_await check_user(worker, state, api.org_id, username, password);
        if (!checked.redis_ok) {
            resp.set_error(oauth::kServerError);
            co_return osin_reply(resp, true);
        }
        ar.authorized = checked.password_ok && checked.stored;
        if (ar.authorized) {
            Json rules = checked.stored->session.document();
            if (rules.contains("basic_auth_data") && rules["basic_auth_data"].is_object()) {
                rules["basic_auth_data"]["password"] = "";
                rules["basic_auth_data"]["hash_type"] = "";
            }
            ar.user_data = rules.dump();
            // The user's earlier token for this client is revoked (Tyk; here only once the
            // password matched, so a failed attempt cannot revoke anyone's token).
            const Json* old_keys = json_member(checked.stored->session.document(), "oauth_keys");
            const Json* old = old_keys ? json_member(*old_keys, ar.client.id) : nullptr;
            if (old != nullptr && old->is_string() && !old->get<std::string>().empty()) {
                co_await remove_access(worker, cfg, api_id, old->get<std::string>());
            }
            user = std::move(checked.stored);
        }
    } else { // client_credentials
        auto client = co_await authenticate_client(worker, api_id, *auth, resp);
        if (!client) {
            co_return osin_reply(resp, true);
        }
        ar.client = std::move(*client);
        ar.redirect_uri = ar.client.redirect_uri;
        ar.scope = form.get("scope");
        ar.generate_refresh = false; // RFC 6749 4.4.3
    }

    Client client = ar.client;
    const std::string token = co_await finish_access(worker, state, api_id, std::move(ar), resp);
    if (!token.empty() && user) {
        co_await update_user(worker, state, api, std::move(*user), std::move(client), token);
    }
    co_return osin_reply(resp, true);
}

// ---- authorization -----------------------------------------------------------------------------

/// osin's AuthorizeRequest, once checked.
struct AuthorizeRequest {
    std::string type; // "code" or "token"
    Client client;
    std::string redirect_uri;
    std::string state;
    std::string scope;
};

/// osin HandleAuthorizeRequest: the client, its redirect URI and the response type. On error
/// the response carries it (with a redirect once the redirect URI is known).
awaitable<std::optional<AuthorizeRequest>>
check_authorize(server::Worker& worker,
                std::shared_ptr<const GatewayState> state,
                std::string api_id,
                std::vector<std::string> allowed,
                oauth::Form form,
                Response& resp) {
    AuthorizeRequest ar;
    ar.state = form.get("state");
    ar.scope = form.get("scope");
    ar.redirect_uri = form.get("redirect_uri"); // already decoded once by the form parser
    ClientLookup found = co_await fetch_client(worker, api_id, form.get("client_id"));
    if (!found.redis_ok) {
        resp.set_error(oauth::kServerError, ar.state);
        co_return std::nullopt;
    }
    if (!found.client || found.client->redirect_uri.empty()) {
        resp.set_error(oauth::kUnauthorizedClient, ar.state);
        co_return std::nullopt;
    }
    ar.client = std::move(*found.client);
    const std::string& separator = state->config->oauth_redirect_uri_separator;
    if (ar.redirect_uri.empty() &&
        oauth::first_uri(ar.client.redirect_uri, separator) == ar.client.redirect_uri) {
        ar.redirect_uri = ar.client.redirect_uri;
    }
    if (!oauth::redirect_uri_valid(ar.client.redirect_uri, ar.redirect_uri, separator)) {
        resp.set_error(oauth::kInvalidRequest, ar.state);
        co_return std::nullopt;
    }
    resp.redirect = ar.redirect_uri;
    ar.type = form.get("response_type");
    if ((ar.type != "code" && ar.type != "token") || !authorize_type_allowed(allowed, ar.type)) {
        resp.set_error(oauth::kUnsupportedResponseType, ar.state);
        co_return std::nullopt;
    }
    co_return ar;
}

awaitable<Reply> authorize_endpoint(server::Worker& worker,
                                    std::shared_ptr<const GatewayState> state,
                                    const config::ApiDefinition& api,
                                    EndpointRequest request) {
    if (request.method != http::verb::get && request.method != http::verb::post) {
        co_return status_message(http::status::method_not_allowed, "error", "Method Not Allowed");
    }
    Response resp = new_response(*state->config);
    auto form = oauth::Form::parse(request.query, request.body, request.content_type,
                                   request.method == http::verb::post);
    auto checked = co_await check_authorize(
        worker, state, api.api_id, api.oauth_meta.allowed_authorize_types, std::move(form), resp);
    if (!checked) {
        co_return status_message(static_cast<http::status>(resp.error_status), "error",
                                 resp.status_text);
    }
    Reply out;
    out.status = http::status::temporary_redirect;
    out.location = api.oauth_meta.auth_login_redirect;
    if (request.method == http::verb::get) {
        out.location += "?" + request.query;
    }
    co_return out;
}

awaitable<Reply> authorize_client_endpoint(server::Worker& worker,
                                           std::shared_ptr<const GatewayState> state,
                                           const config::ApiDefinition& api,
                                           EndpointRequest request) {
    const auto& cfg = *state->config;
    if (!api::admin_authorized(cfg, request.admin_authorization)) {
        co_return status_message(http::status::forbidden, "error",
                                 "Attempted administrative access with invalid or missing key!");
    }
    if (request.method != http::verb::post) {
        co_return status_message(http::status::method_not_allowed, "error", "Method Not Allowed");
    }
    Response resp = new_response(cfg);
    auto form = oauth::Form::parse(request.query, request.body, request.content_type, true);
    const std::string key_rules = form.get("key_rules");
    if (key_rules.empty()) {
        spdlog::warn("oauth: api {}: authorize-client without key_rules; the client's policy "
                     "will be required",
                     api.api_id);
    }
    auto checked = co_await check_authorize(
        worker, state, api.api_id, api.oauth_meta.allowed_authorize_types, std::move(form), resp);
    if (!checked) {
        co_return osin_reply(resp, false);
    }
    const std::string api_id = api.api_id;
    if (checked->type == "token") {
        // Implicit grant: the token at once, returned in the redirect's fragment.
        resp.redirect_in_fragment = true;
        AccessRequest ar;
        ar.client = checked->client;
        ar.user_data = key_rules;
        ar.scope = checked->scope;
        ar.redirect_uri = checked->redirect_uri;
        ar.generate_refresh = false;
        const std::string token =
            co_await finish_access(worker, state, api_id, std::move(ar), resp);
        if (!token.empty() && !checked->state.empty()) {
            resp.output["state"] = checked->state;
        }
        co_return osin_reply(resp, false);
    }
    oauth::Grant grant;
    grant.client = checked->client;
    grant.code = oauth::new_authorize_code();
    grant.expires_in = oauth::kAuthorizationExpiration;
    grant.scope = checked->scope;
    grant.redirect_uri = checked->redirect_uri;
    grant.state = checked->state;
    grant.created_at = unix_now();
    grant.user_data = key_rules;
    Args set =
        oauth_keys::command("SET", oauth_keys::authorize(api_id, grant.code),
                            oauth::authorize_record(grant), "EX", std::to_string(grant.expires_in));
    auto [ec, reply] = co_await worker.redis().command(std::move(set));
    if (failed(ec, reply)) {
        resp.set_error(oauth::kServerError, checked->state);
        co_return osin_reply(resp, false);
    }
    resp.output["code"] = grant.code;
    resp.output["state"] = grant.state;
    co_return osin_reply(resp, false);
}

// ---- revocation -------------------------------------------------------------------------------

/// Tyk's RevokeToken.
awaitable<void> revoke_token(server::Worker& worker,
                             const config::GatewayConfig& cfg,
                             std::string api_id,
                             std::string token,
                             std::string hint) {
    if (hint != "refresh_token") {
        co_await remove_access(worker, cfg, api_id, token);
    }
    if (hint != "access_token") {
        co_await remove_refresh(worker, api_id, token);
    }
}

/// Tyk's RevokeAllTokens for one API: 404 unknown client, 401 wrong secret, else 200.
awaitable<http::status> revoke_all(server::Worker& worker,
                                   std::shared_ptr<const GatewayState> state,
                                   std::string api_id,
                                   std::string client_id,
                                   std::string secret) {
    ClientLookup found = co_await fetch_client(worker, api_id, client_id);
    if (!found.client) {
        co_return http::status::not_found;
    }
    if (!oauth::secret_matches(found.client->secret, secret)) {
        co_return http::status::unauthorized;
    }
    (void)co_await revoke_client_tokens(worker, state, api_id, client_id);
    co_return http::status::ok;
}

awaitable<Reply> revoke_endpoint(server::Worker& worker,
                                 std::shared_ptr<const GatewayState> state,
                                 const config::ApiDefinition& api,
                                 EndpointRequest request,
                                 bool all) {
    if (request.method != http::verb::post) {
        co_return status_message(http::status::method_not_allowed, "error", "Method Not Allowed");
    }
    const auto form =
        oauth::Form::parse(std::string_view(), request.body, request.content_type, true);
    const std::string api_id = api.api_id;
    if (!all) {
        const std::string token = form.get("token");
        if (token.empty()) {
            co_return status_message(http::status::bad_request, "error", "token is required");
        }
        co_await revoke_token(worker, *state->config, api_id, token, form.get("token_type_hint"));
        co_return status_message(http::status::ok, "ok", "token revoked successfully");
    }
    const std::string client_id = form.get("client_id");
    const std::string secret = form.get("client_secret");
    if (client_id.empty()) {
        co_return status_message(http::status::unauthorized, "error", "client_id is required");
    }
    if (secret.empty()) {
        co_return status_message(http::status::unauthorized, "error", "client_secret is required");
    }
    const http::status status = co_await revoke_all(worker, state, api_id, client_id, secret);
    if (status == http::status::not_found) {
        co_return status_message(status, "error", "error getting oauth client");
    }
    if (status == http::status::unauthorized) {
        co_return status_message(status, "error", "client secret is wrong");
    }
    co_return status_message(http::status::ok, "ok", "tokens revoked successfully");
}

ApiReply deleted_reply(const std::string& key) {
    nlohmann::ordered_json reply = nlohmann::ordered_json::object();
    reply["key"] = key;
    reply["status"] = "ok";
    reply["action"] = "deleted";
    return ApiReply{http::status::ok, reply.dump()};
}

ApiReply api_message(http::status status, std::string_view state, std::string_view message) {
    Reply r = status_message(status, state, message);
    return ApiReply{r.status, std::move(r.body)};
}

} // namespace

Endpoint endpoint_for(std::string_view listen_prefix, std::string_view path) {
    if (!path.starts_with(listen_prefix)) {
        return Endpoint::none;
    }
    std::string_view rest = path.substr(listen_prefix.size());
    while (rest.starts_with('/')) {
        rest.remove_prefix(1);
    }
    if (rest.ends_with('/')) {
        rest.remove_suffix(1);
    }
    if (rest == "oauth/token") {
        return Endpoint::token;
    }
    if (rest == "oauth/authorize") {
        return Endpoint::authorize;
    }
    if (rest == "tyk/oauth/authorize-client") {
        return Endpoint::authorize_client;
    }
    if (rest == "oauth/revoke") {
        return Endpoint::revoke;
    }
    if (rest == "oauth/revoke_all") {
        return Endpoint::revoke_all;
    }
    return Endpoint::none;
}

awaitable<Reply> handle(server::Worker& worker,
                        std::shared_ptr<const GatewayState> state,
                        const config::ApiDefinition& api,
                        Endpoint endpoint,
                        EndpointRequest request) {
    switch (endpoint) {
    case Endpoint::token:
        co_return co_await token_endpoint(worker, state, api, std::move(request));
    case Endpoint::authorize:
        co_return co_await authorize_endpoint(worker, state, api, std::move(request));
    case Endpoint::authorize_client:
        co_return co_await authorize_client_endpoint(worker, state, api, std::move(request));
    case Endpoint::revoke:
        co_return co_await revoke_endpoint(worker, state, api, std::move(request), false);
    case Endpoint::revoke_all:
        co_return co_await revoke_endpoint(worker, state, api, std::move(request), true);
    case Endpoint::none:
        break;
    }
    co_return status_message(http::status::not_found, "error", "Not Found");
}

awaitable<bool> client_deleted(server::Worker& worker, std::string api_id, std::string client_id) {
    constexpr auto kCacheFor = std::chrono::seconds(1);
    struct Entry {
        bool deleted;
        std::chrono::steady_clock::time_point at;
    };
    thread_local std::unordered_map<std::string, Entry> cache;
    const std::string key = api_id + '\n' + client_id;
    const auto now = std::chrono::steady_clock::now();
    if (const auto it = cache.find(key); it != cache.end() && now - it->second.at < kCacheFor) {
        co_return it->second.deleted;
    }
    ClientLookup found = co_await fetch_client(worker, api_id, client_id);
    const bool deleted = !found.client;
    if (cache.size() >= 10000) {
        cache.clear();
    }
    cache[key] = Entry{deleted, now};
    co_return deleted;
}

awaitable<std::vector<std::string>> apis_with_client(server::Worker& worker,
                                                     std::shared_ptr<const GatewayState> state,
                                                     std::string client_id,
                                                     std::string org_id) {
    std::vector<std::string> out;
    for (const auto& api : state->router->apis()) {
        if (!api->use_oauth2 || (!org_id.empty() && api->org_id != org_id)) {
            continue;
        }
        const std::string api_id = api->api_id;
        Args exists = oauth_keys::command("EXISTS", oauth_keys::client(api_id, client_id));
        auto [ec, reply] = co_await worker.redis().command(std::move(exists));
        if (!failed(ec, reply) && reply.integer > 0) {
            out.push_back(api_id);
        }
    }
    co_return out;
}

awaitable<int> revoke_client_tokens(server::Worker& worker,
                                    std::shared_ptr<const GatewayState> state,
                                    std::string api_id,
                                    std::string client_id) {
    const auto& cfg = *state->config;
    Args range =
        oauth_keys::command("ZRANGE", oauth_keys::client_tokens(api_id, client_id), "0", "-1");
    auto [ec, reply] = co_await worker.redis().command(std::move(range));
    if (failed(ec, reply)) {
        co_return 0;
    }
    int count = 0;
    for (const auto& member : reply.elements) {
        auto [ok, grant] = co_await fetch_grant(worker, oauth_keys::access(api_id, member.str));
        if (!grant) {
            continue;
        }
        ++count;
        co_await remove_access(worker, cfg, api_id, grant->access_token);
        if (!grant->refresh_token.empty()) {
            co_await remove_refresh(worker, api_id, grant->refresh_token);
        }
    }
    Args del = oauth_keys::command("DEL", oauth_keys::client_tokens(api_id, client_id));
    (void)co_await worker.redis().command(std::move(del));
    spdlog::info("oauth: api {}: {} token(s) of client {} revoked", api_id, count, client_id);
    co_return count;
}

awaitable<ApiReply> gateway_route(server::Worker& worker,
                                  std::shared_ptr<const GatewayState> state,
                                  http::verb method,
                                  std::vector<std::string> segments,
                                  std::string query,
                                  std::string body) {
    // segments: "oauth", then "revoke" | "revoke_all" | "refresh", {token}
    const std::string action = segments.size() > 1 ? segments[1] : std::string{};
    if (action == "refresh" && segments.size() == 3) {
        if (method != http::verb::delete_) {
            co_return api_message(http::status::method_not_allowed, "error",
                                  "Method not supported");
        }
        const std::string api_id =
            oauth::Form::parse(query, std::string_view(), std::string_view(), false).get("api_id");
        if (api_id.empty()) {
            co_return api_message(http::status::bad_request, "error", "Missing parameter api_id");
        }
        const auto* api = state->router->find_by_id(api_id);
        if (api == nullptr) {
            co_return api_message(http::status::not_found, "error",
                                  "API for this refresh token not found");
        }
        if (!api->use_oauth2) {
            co_return api_message(http::status::not_found, "error",
                                  "OAuth is not enabled on this API");
        }
        co_await remove_refresh(worker, api_id, segments[2]);
        co_return deleted_reply(segments[2]);
    }
    if ((action != "revoke" && action != "revoke_all") || segments.size() != 2) {
        co_return api_message(http::status::not_found, "error", "Not Found");
    }
    if (method != http::verb::post) {
        co_return api_message(http::status::method_not_allowed, "error", "Method not supported");
    }
    const auto form =
        oauth::Form::parse(std::string_view(), body, "application/x-www-form-urlencoded", true);
    const std::string client_id = form.get("client_id");
    if (action == "revoke") {
        const std::string token = form.get("token");
        if (token.empty()) {
            co_return api_message(http::status::bad_request, "error", "token is required");
        }
        if (client_id.empty()) {
            co_return api_message(http::status::bad_request, "error", "client_id is required");
        }
        const auto apis = co_await apis_with_client(worker, state, client_id, std::string{});
        if (apis.empty()) {
            co_return api_message(http::status::bad_request, "error", "oauth client doesn't exist");
        }
        const std::string hint = form.get("token_type_hint");
        for (const auto& api_id : apis) {
            co_await revoke_token(worker, *state->config, api_id, token, hint);
        }
        co_return api_message(http::status::ok, "ok", "token revoked successfully");
    }
    const std::string secret = form.get("client_secret");
    if (client_id.empty()) {
        co_return api_message(http::status::unauthorized, "error", "client_id is required");
    }
    if (secret.empty()) {
        co_return api_message(http::status::unauthorized, "error", "client_secret is required");
    }
    const auto apis = co_await apis_with_client(worker, state, client_id, std::string{});
    if (apis.empty()) {
        co_return api_message(http::status::not_found, "error", "oauth client doesn't exist");
    }
    bool any_revoked = false;
    for (const auto& api_id : apis) {
        const http::status status = co_await revoke_all(worker, state, api_id, client_id, secret);
        any_revoked = any_revoked || status == http::status::ok;
    }
    if (!any_revoked) {
        co_return api_message(http::status::unauthorized, "error", "client secret is wrong");
    }
    co_return api_message(http::status::ok, "ok", "tokens revoked successfully");
}

} // namespace portcullis::oauth_server
