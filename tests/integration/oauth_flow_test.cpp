// OAuth2 flows end to end, as Tyk's (osin-based) OAuth2 server: the token endpoint's grants,
// replies and errors, bearer tokens on the proxied API, the authorization-code flow, refresh,
// revocation (API and Gateway API), client deletion, token expiry, and secrets kept out of the
// log. The real portcullis process, a real redis-server and the echo upstream, which reflects
// the request headers so a test sees what reached the upstream.
#include "examples/echo_upstream/echo_server.hpp"
#include "middleware/keys/base64.hpp"
#include "tests/support/admin_api.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using portcullis::examples::EchoServer;
using portcullis::test::admin;
using portcullis::test::GatewayFixture;
using portcullis::test::get_key;
using portcullis::test::http_request;
using portcullis::test::HttpResponse;
using portcullis::test::keyed_api;
using portcullis::test::kTestSecret;
using portcullis::test::session_for;
using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using Fields = std::vector<std::pair<std::string, std::string>>;

namespace {

constexpr const char* kApi = "oauth";               // the OAuth2 API with every grant type
constexpr const char* kLp = "/oauth-api/";          // its listen path
constexpr const char* kLimited = "limited";         // an OAuth2 API allowing client_credentials
constexpr const char* kLimitedLp = "/limited-api/"; // only
constexpr const char* kRedirect = "http://client.example/cb";
constexpr const char* kLoginRedirect = "http://127.0.0.1:1/login";
constexpr const char* kFormType = "application/x-www-form-urlencoded";

// osin's default error descriptions (osin ERROR_MAP / DefaultErrors), sent by Tyk as
// {"error": id, "error_description": text}.
const std::map<std::string, std::string> kOsinErrors = {
    {"invalid_request",
     "The request is missing a required parameter, includes an invalid parameter value, includes "
     "a parameter more than once, or is otherwise malformed."},
    {"unauthorized_client", "The client is not authorized to request a token using this method."},
    {"access_denied", "The resource owner or authorization server denied the request."},
    {"unsupported_grant_type",
     "The authorization grant type is not supported by the authorization server."},
    {"invalid_grant",
     "The provided authorization grant (e.g., authorization code, resource owner credentials) or "
     "refresh token is invalid, expired, revoked, does not match the redirection URI used in the "
     "authorization request, or was issued to another client."},
};

// ---- small helpers --------------------------------------------------------------------------

/// Go's url.QueryEscape: unreserved bytes kept, space as '+', the rest %XX (upper-case hex).
std::string query_escape(std::string_view in) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : in) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0x0f]);
        }
    }
    return out;
}

/// An application/x-www-form-urlencoded body, fields in the given order.
std::string form(const Fields& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += query_escape(name) + "=" + query_escape(value);
    }
    return out;
}

/// `Authorization: Basic base64(user:password)`.
std::string basic_auth(const std::string& user, const std::string& password) {
    return "Basic " + portcullis::keys::base64_encode(user + ":" + password);
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

/// Polls `done` every 50 ms until it returns true or `limit` has passed; returns the last result.
template <class Done> bool eventually(std::chrono::milliseconds limit, Done&& done) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
        if (done()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

Json parse_or_null(const std::string& text) {
    Json j = Json::parse(text, nullptr, false);
    return j.is_discarded() ? Json() : j;
}

std::string str(const Json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

Json access(const std::string& api) {
    return {{"api_id", api}, {"api_name", api}, {"versions", {"Default"}}};
}

/// First value of a header the echo upstream received, or "<absent>".
std::string upstream_header(const HttpResponse& res, const std::string& name) {
    const Json echo = parse_or_null(res.body);
    if (!echo.is_object() || !echo.contains("headers") || !echo["headers"].contains(name)) {
        return "<absent>";
    }
    return echo["headers"][name].at(0).get<std::string>();
}

// ---- checks ---------------------------------------------------------------------------------

/// A successful token endpoint reply: 200, JSON, no-cache headers, and exactly Tyk's body (osin
/// output through Go's json.Encoder: keys sorted, compact, trailing newline). Returns the body.
Json check_token_reply(const HttpResponse& res, bool with_refresh, std::int64_t expires_in = 3600) {
    INFO("token reply: status " << res.status << " body " << res.body);
    REQUIRE(res.status == 200);
    CHECK(res.header("Content-Type") == "application/json");
    CHECK(res.header("Cache-Control") == "no-cache, no-store, must-revalidate");
    CHECK(res.header("Pragma") == "no-cache");
    const Json body = parse_or_null(res.body);
    REQUIRE(body.is_object());
    REQUIRE(body.contains("access_token"));
    REQUIRE(body["access_token"].is_string());
    REQUIRE_FALSE(body["access_token"].get<std::string>().empty());
    Json expected = {{"access_token", body["access_token"]},
                     {"expires_in", expires_in},
                     {"token_type", "bearer"}};
    if (with_refresh) {
        REQUIRE(body.contains("refresh_token"));
        REQUIRE(body["refresh_token"].is_string());
        REQUIRE_FALSE(body["refresh_token"].get<std::string>().empty());
        CHECK(body["refresh_token"] != body["access_token"]);
        expected["refresh_token"] = body["refresh_token"];
    }
    CHECK(body == expected);
    CHECK(res.body == expected.dump() + "\n");
    return body;
}

/// An OAuth error from the token endpoint: the status, JSON content type and exactly
/// {"error": id, "error_description": osin's text} as Tyk encodes it.
void check_oauth_error(const HttpResponse& res, unsigned status, const std::string& id) {
    INFO("expected " << status << " " << id << "; got status " << res.status << " body "
                     << res.body);
    CHECK(res.status == status);
    CHECK(res.header("Content-Type") == "application/json");
    const Json expected = {{"error", id}, {"error_description", kOsinErrors.at(id)}};
    CHECK(parse_or_null(res.body) == expected);
    CHECK(res.body == expected.dump() + "\n");
}

/// A gateway-made error on the proxied API, compared as parsed JSON: status and "error".
void check_gateway_error(const HttpResponse& res, unsigned status, const std::string& message) {
    INFO("expected " << status << " \"" << message << "\"; got status " << res.status << " body "
                     << res.body);
    CHECK(res.status == status);
    const Json body = parse_or_null(res.body);
    CHECK(body.is_object());
    CHECK((body.is_object() && body.contains("error") && body["error"] == message));
}

/// A Gateway-API-style {"status": ..., "message": ...} body.
void check_status_message(const HttpResponse& res,
                          unsigned status,
                          const std::string& status_field,
                          const std::string& message) {
    INFO("got status " << res.status << " body " << res.body);
    CHECK(res.status == status);
    CHECK(parse_or_null(res.body) == Json{{"status", status_field}, {"message", message}});
}

// ---- the environment ------------------------------------------------------------------------

struct Client {
    std::string id;
    std::string secret;
};

struct Options {
    std::int64_t token_expire = 0; // tyk.conf oauth_token_expire (0: not set)
    int error_status = 0;          // tyk.conf oauth_error_status_code (0: not set)
    bool verbose_logs = false;     // log_level debug, access log on
};

Json oauth_api(const std::string& id,
               const std::string& listen_path,
               const EchoServer& echo,
               const Json& access_types) {
    Json api = keyed_api(id, listen_path, echo);
    api["use_standard_auth"] = false;
    api["use_keyless"] = false;
    api["use_oauth2"] = true;
    api["oauth_meta"] = {{"allowed_access_types", access_types},
                         {"allowed_authorize_types", {"code", "token"}},
                         {"auth_login_redirect", kLoginRedirect}};
    api["version_data"]["versions"]["Default"]["global_headers"] = {
        {"X-Tenant", "$tyk_meta.tenant"},
        {"X-Plan", "$tyk_meta.plan"},
        {"X-Role", "$tyk_meta.role"}};
    return api;
}

struct Env {
    EchoServer echo;
    GatewayFixture fx;

    explicit Env(Options options = {}) {
        const auto dir = fx.dir.path() / "policies";
        std::filesystem::create_directories(dir);
        // The clients' policy: access to both OAuth APIs, no metadata of its own.
        fx.dir.write("policies/oauthpol.json",
                     Json{{"id", "oauthpol"},
                          {"org_id", "default"},
                          {"rate", 1000},
                          {"per", 1},
                          {"quota_max", -1},
                          {"access_rights", {{kApi, access(kApi)}, {kLimited, access(kLimited)}}}}
                         .dump());
        fx.conf["policies"] = {{"policy_source", "file"}, {"policy_path", dir.string()}};
        if (options.token_expire != 0) {
            fx.conf["oauth_token_expire"] = options.token_expire;
        }
        if (options.error_status != 0) {
            fx.conf["oauth_error_status_code"] = options.error_status;
        }
        if (options.verbose_logs) {
            fx.conf["portcullis"]["log_level"] = "debug";
            fx.conf["portcullis"]["access_log"] = "info";
        }
        fx.add_api(
            oauth_api(kApi, kLp, echo,
                      {"client_credentials", "password", "authorization_code", "refresh_token"}));
        fx.add_api(oauth_api(kLimited, kLimitedLp, echo, {"client_credentials"}));
        fx.start();
    }

    std::uint16_t port() const { return fx.port(); }
    std::string redis(const std::vector<std::string>& args) const {
        return fx.redis->command(args);
    }

    /// POST /tyk/oauth/clients/create with a given id and secret (plain characters, so Basic
    /// auth never depends on how the secret would be escaped), tenant "acme" in meta_data.
    Client create_client(const std::string& id,
                         const std::string& api = kApi,
                         const Json& meta = Json{{"tenant", "acme"}}) {
        const Client client{id, "secret-" + id + "-7f3a9c1e5b"};
        const Json body = {{"client_id", client.id}, {"secret", client.secret},
                           {"api_id", api},          {"redirect_uri", kRedirect},
                           {"meta_data", meta},      {"policy_id", "oauthpol"}};
        auto res = admin(port(), "POST", "/tyk/oauth/clients/create", body.dump());
        INFO(res.body);
        REQUIRE(res.status == 200);
        REQUIRE(res.json()["client_id"] == client.id);
        REQUIRE(res.json()["secret"] == client.secret);
        return client;
    }

    /// A form POST with `headers` added.
    HttpResponse
    post_form(const std::string& target, const Fields& fields, Headers headers = {}) const {
        headers.emplace_back("Content-Type", kFormType);
        return http_request(port(), "POST", target, headers, form(fields));
    }

    /// POST <lp>oauth/token with the client's credentials in Basic auth.
    HttpResponse token(const Client& client,
                       const Fields& fields,
                       const std::string& lp = kLp,
                       const std::string& suffix = "oauth/token") const {
        return post_form(lp + suffix, fields,
                         {{"Authorization", basic_auth(client.id, client.secret)}});
    }

    /// A client_credentials token; REQUIREs success.
    std::string client_credentials(const Client& client) const {
        return check_token_reply(token(client, {{"grant_type", "client_credentials"}}),
                                 false)["access_token"];
    }

    /// A call through the OAuth API with `Authorization: Bearer <token>`.
    HttpResponse call(const std::string& access_token, const std::string& path = "resource") const {
        return http_request(port(), "GET", std::string(kLp) + path,
                            {{"Authorization", "Bearer " + access_token}});
    }

    /// A Gateway API form POST with the secret.
    HttpResponse admin_form(const std::string& target, const Fields& fields) const {
        return post_form(target, fields, {{"X-Tyk-Authorization", kTestSecret}});
    }

    /// POST <lp>tyk/oauth/authorize-client/ for response_type=code with `key_rules`; REQUIREs
    /// success and returns the reply body (the raw text in `raw` when given).
    Json authorize_client(const Client& client,
                          const Json& key_rules,
                          std::string* raw = nullptr) const {
        auto res = post_form(std::string(kLp) + "tyk/oauth/authorize-client/",
                             {{"response_type", "code"},
                              {"client_id", client.id},
                              {"redirect_uri", kRedirect},
                              {"state", "xyz"},
                              {"key_rules", key_rules.dump()}},
                             {{"X-Tyk-Authorization", kTestSecret}});
        INFO("authorize-client: status " << res.status << " body " << res.body);
        REQUIRE(res.status == 200);
        const Json body = parse_or_null(res.body);
        REQUIRE(body.is_object());
        REQUIRE(body.contains("code"));
        REQUIRE(body["code"].is_string());
        REQUIRE_FALSE(body["code"].get<std::string>().empty());
        if (raw != nullptr) {
            *raw = res.body;
        }
        return body;
    }

    /// The whole code flow for `client` with key_rules granting the API and plan "gold": the
    /// token reply (with a refresh token).
    Json code_flow(const Client& client) const {
        const Json rules = session_for({kApi}, {{"meta_data", {{"plan", "gold"}}}});
        const std::string code = authorize_client(client, rules)["code"];
        return check_token_reply(token(client, {{"grant_type", "authorization_code"},
                                                {"code", code},
                                                {"redirect_uri", kRedirect}}),
                                 true);
    }

    /// A basic-auth user for the password grant: POST /tyk/keys/<name> with org "default", so the
    /// key is "default" + name (Tyk's org + username). Returns the key.
    std::string create_user(const std::string& name, const std::string& password) const {
        const Json user =
            session_for({kApi}, {{"basic_auth_data", {{"password", password}, {"hash_type", ""}}},
                                 {"meta_data", {{"role", "admin"}}}});
        auto res = admin(port(), "POST", "/tyk/keys/" + name, user.dump());
        INFO(res.body);
        REQUIRE(res.status == 200);
        const std::string key = res.json()["key"];
        REQUIRE(key == "default" + name);
        return key;
    }
};

/// The token is no longer accepted: 403 "Key not authorised".
void check_rejected(const Env& env, const std::string& access_token) {
    check_gateway_error(env.call(access_token), 403, "Key not authorised");
}

/// The token is accepted and the request reaches the upstream.
void check_accepted(const Env& env, const std::string& access_token) {
    auto res = env.call(access_token);
    INFO("call with token: status " << res.status << " body " << res.body);
    CHECK(res.status == 200);
    CHECK(parse_or_null(res.body).value("path", "") == "/resource");
}

} // namespace

// ---- the token endpoint -----------------------------------------------------------------------

TEST_CASE("OAuth client_credentials: Tyk's token reply, a stored session, a working bearer token",
          "[integration][oauth]") {
    Env env;
    const auto port = env.port();
    const Client client = env.create_client("cc-app");

    const auto before = unix_now();
    const Json reply =
        check_token_reply(env.token(client, {{"grant_type", "client_credentials"}}), false);
    const auto after = unix_now();
    const std::string token = reply["access_token"];
    CHECK_FALSE(reply.contains("refresh_token")); // never for client_credentials

    // The token reaches the upstream with the client's metadata in $tyk_meta.
    auto res = env.call(token);
    REQUIRE(res.status == 200);
    CHECK(parse_or_null(res.body)["path"] == "/resource");
    CHECK(upstream_header(res, "X-Tenant") == "acme");

    // Its session is a normal key: Gateway API and Redis.
    const Json session = get_key(port, token);
    CHECK(session["oauth_client_id"] == client.id);
    CHECK(session["meta_data"]["tenant"] == "acme");
    CHECK(session["access_rights"].contains(kApi));
    REQUIRE(session["expires"].is_number_integer());
    CHECK(session["expires"].get<std::int64_t>() >= before + 3600);
    CHECK(session["expires"].get<std::int64_t>() <= after + 3600 + 1);
    CHECK(env.redis({"EXISTS", "apikey-" + token}) == "1");
    const auto ttl = std::stoll(env.redis({"TTL", "apikey-" + token}));
    CHECK(ttl > 0); // the session goes with the token (Tyk: Redis TTL = expires_in)
    CHECK(ttl <= 3600);

    // The client's token list has it, with its expiry.
    {
        auto tokens = admin(
            port, "GET", std::string("/tyk/oauth/clients/") + kApi + "/" + client.id + "/tokens");
        INFO(tokens.body);
        REQUIRE(tokens.status == 200);
        const Json list = parse_or_null(tokens.body);
        REQUIRE(list.is_array());
        REQUIRE(list.size() == 1);
        CHECK(list[0]["expires"].get<std::int64_t>() >= before + 3600);
        CHECK(list[0]["expires"].get<std::int64_t>() <= after + 3600 + 1);
    }
    CHECK(env.redis({"ZCARD", std::string("oauth-data.") + kApi + ".oauth-client-tokens." +
                                  client.id}) == "1");

    SECTION("the token path with a trailing slash, and client credentials in the form") {
        const Json slash = check_token_reply(
            env.token(client, {{"grant_type", "client_credentials"}}, kLp, "oauth/token/"), false);
        const Json in_form = check_token_reply(
            env.post_form(std::string(kLp) + "oauth/token", {{"grant_type", "client_credentials"},
                                                             {"client_id", client.id},
                                                             {"client_secret", client.secret}}),
            false);
        CHECK(slash["access_token"] != token);
        CHECK(in_form["access_token"] != token);
        CHECK(in_form["access_token"] != slash["access_token"]);
        check_accepted(env, str(slash["access_token"]));
        check_accepted(env, str(in_form["access_token"]));
        check_accepted(env, token); // earlier tokens of the client stay valid
        auto three = admin(port, "GET",
                           std::string("/tyk/oauth/clients/") + kApi + "/" + client.id + "/tokens");
        REQUIRE(three.status == 200);
        CHECK(parse_or_null(three.body).size() == 3);
    }
}

TEST_CASE("OAuth token endpoint errors: Tyk's error ids, osin's descriptions, status 403",
          "[integration][oauth]") {
    Env env;
    const Client client = env.create_client("err-app");
    const Client limited = env.create_client("limited-app", kLimited);
    const auto served_before = env.echo.requests_served();

    SECTION("client authentication") {
        check_oauth_error(
            env.token(Client{client.id, "wrong-secret"}, {{"grant_type", "client_credentials"}}),
            403, "unauthorized_client");
        check_oauth_error(
            env.token(Client{"no-such-client", "whatever"}, {{"grant_type", "client_credentials"}}),
            403, "unauthorized_client");
        check_oauth_error(
            env.post_form(std::string(kLp) + "oauth/token", {{"grant_type", "client_credentials"},
                                                             {"client_id", client.id},
                                                             {"client_secret", "wrong-secret"}}),
            403, "unauthorized_client");
        check_oauth_error(
            env.post_form(std::string(kLp) + "oauth/token", {{"grant_type", "client_credentials"}}),
            403, "invalid_request");
    }
    SECTION("grant types") {
        check_oauth_error(env.token(client, {{"grant_type", "foo"}}), 403,
                          "unsupported_grant_type");
        check_oauth_error(env.token(client, {}), 403, "unsupported_grant_type");
        // the limited API allows client_credentials only
        check_oauth_error(
            env.token(limited,
                      {{"grant_type", "password"}, {"username", "alice"}, {"password", "pw"}},
                      kLimitedLp),
            403, "unsupported_grant_type");
        check_oauth_error(env.token(limited,
                                    {{"grant_type", "refresh_token"}, {"refresh_token", "abc"}},
                                    kLimitedLp),
                          403, "unsupported_grant_type");
        check_token_reply(env.token(limited, {{"grant_type", "client_credentials"}}, kLimitedLp),
                          false);
    }
    SECTION("bad grants") {
        check_oauth_error(env.token(client, {{"grant_type", "authorization_code"},
                                             {"code", "not-a-code"},
                                             {"redirect_uri", kRedirect}}),
                          403, "invalid_grant");
        check_oauth_error(env.token(client, {{"grant_type", "refresh_token"},
                                             {"refresh_token", "not-a-refresh-token"}}),
                          403, "invalid_grant");
    }
    SECTION("methods other than GET and POST") {
        for (const std::string method : {"PUT", "DELETE", "PATCH"}) {
            INFO(method);
            auto res = http_request(env.port(), method, std::string(kLp) + "oauth/token",
                                    {{"Authorization", basic_auth(client.id, client.secret)}},
                                    "grant_type=client_credentials");
            CHECK(res.status == 405);
        }
    }
    // None of it issued a token for the client or reached the upstream.
    auto tokens = admin(env.port(), "GET",
                        std::string("/tyk/oauth/clients/") + kApi + "/" + client.id + "/tokens");
    CHECK(tokens.status == 200);
    CHECK(parse_or_null(tokens.body) == Json::array());
    CHECK(env.echo.requests_served() == served_before);
}

TEST_CASE("bearer tokens on an OAuth API: missing, malformed and unknown Authorization",
          "[integration][oauth]") {
    Env env;
    const auto port = env.port();
    const std::string token = env.client_credentials(env.create_client("bearer-app"));
    const std::string target = std::string(kLp) + "resource";
    const auto served_before = env.echo.requests_served();

    check_gateway_error(http_request(port, "GET", target), 400, "Authorization field missing");
    check_gateway_error(http_request(port, "GET", target, {{"Authorization", token}}), 400,
                        "Authorization field missing");
    check_gateway_error(http_request(port, "GET", target, {{"Authorization", "Basic xyz"}}), 400,
                        "Bearer token malformed");
    check_gateway_error(http_request(port, "GET", target, {{"Authorization", "Token " + token}}),
                        400, "Bearer token malformed");
    check_gateway_error(
        http_request(port, "GET", target, {{"Authorization", "Bearer not-an-issued-token-123"}}),
        403, "Key not authorised");
    CHECK(env.echo.requests_served() == served_before); // nothing rejected reached the upstream

    // "bearer" is case-insensitive.
    for (const std::string scheme : {"Bearer", "bearer", "BEARER"}) {
        INFO(scheme);
        auto res = http_request(port, "GET", target, {{"Authorization", scheme + " " + token}});
        CHECK(res.status == 200);
        CHECK(upstream_header(res, "X-Tenant") == "acme");
    }
}

TEST_CASE("tyk.conf oauth_token_expire and oauth_error_status_code; an expired token is rejected",
          "[integration][oauth]") {
    Env env{Options{1, 400, false}};
    const Client client = env.create_client("short-app");

    check_oauth_error(env.token(Client{client.id, "wrong"}, {{"grant_type", "client_credentials"}}),
                      400, "unauthorized_client");
    check_oauth_error(env.token(client, {{"grant_type", "nope"}}), 400, "unsupported_grant_type");

    const Json reply =
        check_token_reply(env.token(client, {{"grant_type", "client_credentials"}}), false, 1);
    const auto issued = unix_now();
    const std::string token = reply["access_token"];
    check_accepted(env, token); // at once

    // Rejected once expired (the session's expiry passed or Redis dropped it); bounded wait.
    HttpResponse last;
    const bool rejected = eventually(std::chrono::milliseconds(4000), [&] {
        last = env.call(token);
        return last.status != 200;
    });
    INFO("last answer: " << last.status << " " << last.body);
    REQUIRE(rejected);
    const Json body = parse_or_null(last.body);
    const std::string error = body.is_object() ? body.value("error", "") : "";
    CHECK(((last.status == 401 && error == "Key has expired, please renew") ||
           (last.status == 403 && error == "Key not authorised")));

    // An expired token (its expiry second has passed) is no longer listed for the client.
    while (unix_now() < issued + 2) { // at most ~2 s
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto tokens = admin(env.port(), "GET",
                        std::string("/tyk/oauth/clients/") + kApi + "/" + client.id + "/tokens");
    CHECK(tokens.status == 200);
    CHECK(parse_or_null(tokens.body) == Json::array());
}

// ---- password grant ---------------------------------------------------------------------------

TEST_CASE("OAuth password grant: the user's basic-auth key, metadata, one token per client",
          "[integration][oauth]") {
    Env env;
    const auto port = env.port();
    const Client client = env.create_client("pw-app");
    const std::string user_key = env.create_user("alice", "pw123");

    check_oauth_error(
        env.token(client,
                  {{"grant_type", "password"}, {"username", "alice"}, {"password", "wrong"}}),
        403, "access_denied");
    check_oauth_error(
        env.token(client,
                  {{"grant_type", "password"}, {"username", "nobody"}, {"password", "pw123"}}),
        403, "access_denied");

    const Json first = check_token_reply(
        env.token(client,
                  {{"grant_type", "password"}, {"username", "alice"}, {"password", "pw123"}}),
        true);
    const std::string token1 = first["access_token"];

    // The token's session is the user's, plus the client's metadata where the user has none.
    const Json session = get_key(port, token1);
    CHECK(session["oauth_client_id"] == client.id);
    CHECK(session["meta_data"]["role"] == "admin");
    CHECK(session["meta_data"]["tenant"] == "acme");
    auto res = env.call(token1);
    REQUIRE(res.status == 200);
    CHECK(upstream_header(res, "X-Role") == "admin");
    CHECK(upstream_header(res, "X-Tenant") == "acme");

    // The user's own record: the client's metadata, and the token under the client's id.
    const Json user = get_key(port, user_key);
    CHECK(user["meta_data"] == Json{{"tenant", "acme"}});
    REQUIRE(user.contains("oauth_keys"));
    CHECK(user["oauth_keys"][client.id] == token1);

    // A second grant for the same client replaces (revokes) the first token.
    const Json second = check_token_reply(
        env.token(client,
                  {{"grant_type", "password"}, {"username", "alice"}, {"password", "pw123"}}),
        true);
    const std::string token2 = second["access_token"];
    CHECK(token2 != token1);
    check_rejected(env, token1);
    check_accepted(env, token2);
    CHECK(get_key(port, user_key)["oauth_keys"][client.id] == token2);
}

// ---- authorization code -----------------------------------------------------------------------

TEST_CASE("OAuth authorize: a redirect to the login page; unknown clients refused",
          "[integration][oauth]") {
    Env env;
    const Client client = env.create_client("web-app");
    const std::string query = "response_type=code&client_id=" + client.id +
                              "&redirect_uri=http%3A%2F%2Fclient.example%2Fcb&state=xyz";

    auto res = http_request(env.port(), "GET", std::string(kLp) + "oauth/authorize?" + query);
    INFO(res.status << " " << res.body);
    CHECK(res.status == 307);
    CHECK(res.header("Location") == std::string(kLoginRedirect) + "?" + query);

    auto slash = http_request(env.port(), "GET", std::string(kLp) + "oauth/authorize/?" + query);
    CHECK(slash.status == 307);

    const std::string unknown = "response_type=code&client_id=nope"
                                "&redirect_uri=http%3A%2F%2Fclient.example%2Fcb&state=xyz";
    auto refused = http_request(env.port(), "GET", std::string(kLp) + "oauth/authorize?" + unknown);
    check_status_message(refused, 403, "error",
                         "The client is not authorized to request a token using this method.");
    CHECK_FALSE(refused.has_header("Location"));
}

TEST_CASE("OAuth authorization code: authorize-client, code exchange, key_rules and client meta",
          "[integration][oauth]") {
    Env env;
    const auto port = env.port();
    const Client client = env.create_client("code-app");
    const Client other = env.create_client("other-app");
    const Json rules = session_for({kApi}, {{"meta_data", {{"plan", "gold"}}}});
    const std::string authorize_client = std::string(kLp) + "tyk/oauth/authorize-client/";
    const Fields code_form = {{"response_type", "code"},
                              {"client_id", client.id},
                              {"redirect_uri", kRedirect},
                              {"state", "xyz"},
                              {"key_rules", rules.dump()}};

    // The resource provider must present the Gateway secret.
    for (const Headers& bad : {Headers{{"X-Tyk-Authorization", "not-the-secret"}}, Headers{}}) {
        auto res = env.post_form(authorize_client, code_form, bad);
        INFO(res.body);
        CHECK(res.status == 403);
        CHECK_FALSE(contains(res.body, "\"code\""));
    }

    std::string raw;
    const Json issued = env.authorize_client(client, rules, &raw);
    const std::string code = issued["code"];
    const Json expected = {
        {"code", code},
        {"redirect_to", std::string(kRedirect) + "?code=" + query_escape(code) + "&state=xyz"},
        {"state", "xyz"}};
    CHECK(issued == expected);
    CHECK(raw == expected.dump() + "\n"); // Go's json.Encoder, no HTML escaping of '&'
    CHECK(contains(issued.value("redirect_to", ""), "code="));

    // A code belongs to the client it was issued to.
    check_oauth_error(env.token(other, {{"grant_type", "authorization_code"},
                                        {"code", code},
                                        {"redirect_uri", kRedirect}}),
                      403, "invalid_grant");

    const auto before = unix_now();
    const Json reply = check_token_reply(env.token(client, {{"grant_type", "authorization_code"},
                                                            {"code", code},
                                                            {"redirect_uri", kRedirect}}),
                                         true);
    const auto after = unix_now();
    const std::string token = reply["access_token"];

    // key_rules make the session; the client's metadata fills what they lack.
    auto res = env.call(token);
    REQUIRE(res.status == 200);
    CHECK(upstream_header(res, "X-Plan") == "gold");
    CHECK(upstream_header(res, "X-Tenant") == "acme");
    const Json session = get_key(port, token);
    CHECK(session["oauth_client_id"] == client.id);
    CHECK(session["meta_data"]["plan"] == "gold");
    CHECK(session["meta_data"]["tenant"] == "acme");
    CHECK(session["expires"].get<std::int64_t>() >= before + 3600);
    CHECK(session["expires"].get<std::int64_t>() <= after + 3600 + 1);

    // A code is good once.
    check_oauth_error(env.token(client, {{"grant_type", "authorization_code"},
                                         {"code", code},
                                         {"redirect_uri", kRedirect}}),
                      403, "invalid_grant");
    check_accepted(env, token);
}

TEST_CASE("OAuth refresh_token grant: a new pair; the old access and refresh tokens die",
          "[integration][oauth]") {
    Env env;
    const Client client = env.create_client("refresh-app");
    const Json first = env.code_flow(client);
    const std::string access1 = first["access_token"];
    const std::string refresh1 = first["refresh_token"];
    check_accepted(env, access1);

    const Json second = check_token_reply(
        env.token(client, {{"grant_type", "refresh_token"}, {"refresh_token", refresh1}}), true);
    const std::string access2 = second["access_token"];
    const std::string refresh2 = second["refresh_token"];
    CHECK(access2 != access1);
    CHECK(refresh2 != refresh1);

    check_rejected(env, access1);
    auto res = env.call(access2);
    REQUIRE(res.status == 200);
    // The refreshed session is the same grant's: key_rules metadata and the client's.
    CHECK(upstream_header(res, "X-Plan") == "gold");
    CHECK(upstream_header(res, "X-Tenant") == "acme");
    CHECK(get_key(env.port(), access2)["oauth_client_id"] == client.id);

    check_oauth_error(
        env.token(client, {{"grant_type", "refresh_token"}, {"refresh_token", refresh1}}), 403,
        "invalid_grant");
    // The new refresh token works in turn.
    const Json third = check_token_reply(
        env.token(client, {{"grant_type", "refresh_token"}, {"refresh_token", refresh2}}), true);
    check_rejected(env, access2);
    check_accepted(env, str(third["access_token"]));
}

// ---- revocation -------------------------------------------------------------------------------

TEST_CASE("OAuth revoke under the listen path: access and refresh tokens", "[integration][oauth]") {
    Env env;
    const Client client = env.create_client("revoke-app");
    const std::string revoke = std::string(kLp) + "oauth/revoke";
    const Headers client_auth{{"Authorization", basic_auth(client.id, client.secret)}};

    SECTION("an access token") {
        const std::string token = env.client_credentials(client);
        const std::string kept = env.client_credentials(client);
        check_accepted(env, token);
        check_status_message(
            env.post_form(
                revoke,
                {{"token", token}, {"token_type_hint", "access_token"}, {"client_id", client.id}},
                client_auth),
            200, "ok", "token revoked successfully");
        check_rejected(env, token);
        check_accepted(env, kept); // only that token
        CHECK(env.redis({"EXISTS", "apikey-" + token}) == "0");
    }
    SECTION("a refresh token: it can no longer refresh, the access token stays") {
        const Json pair = env.code_flow(client);
        check_status_message(env.post_form(revoke,
                                           {{"token", str(pair["refresh_token"])},
                                            {"token_type_hint", "refresh_token"},
                                            {"client_id", client.id}},
                                           client_auth),
                             200, "ok", "token revoked successfully");
        check_oauth_error(env.token(client, {{"grant_type", "refresh_token"},
                                             {"refresh_token", str(pair["refresh_token"])}}),
                          403, "invalid_grant");
        check_accepted(env, str(pair["access_token"]));
    }
    SECTION("no token: 400, nothing revoked") {
        const std::string token = env.client_credentials(client);
        auto res = env.post_form(revoke, {{"token_type_hint", "access_token"}}, client_auth);
        CHECK(res.status == 400);
        check_accepted(env, token);
    }
}

TEST_CASE("OAuth revoke through the Gateway API: /tyk/oauth/revoke and /tyk/oauth/revoke_all",
          "[integration][oauth]") {
    Env env;
    const Client client = env.create_client("gw-revoke-app");
    const Client bystander = env.create_client("bystander-app");
    const std::string t1 = env.client_credentials(client);
    const std::string t2 = env.client_credentials(client);
    const std::string t3 = env.client_credentials(client);
    const std::string theirs = env.client_credentials(bystander);

    // The Gateway API needs its secret.
    auto anonymous = env.post_form(
        "/tyk/oauth/revoke",
        {{"token", t1}, {"token_type_hint", "access_token"}, {"client_id", client.id}});
    CHECK(anonymous.status == 403);
    check_accepted(env, t1);

    check_status_message(env.admin_form("/tyk/oauth/revoke", {{"token", t1},
                                                              {"token_type_hint", "access_token"},
                                                              {"client_id", client.id}}),
                         200, "ok", "token revoked successfully");
    check_rejected(env, t1);
    check_accepted(env, t2);

    // revoke_all checks the client's secret.
    auto wrong = env.admin_form("/tyk/oauth/revoke_all",
                                {{"client_id", client.id}, {"client_secret", "wrong-secret"}});
    INFO(wrong.body);
    CHECK(wrong.status == 401);
    CHECK(parse_or_null(wrong.body).value("status", "") == "error");
    check_accepted(env, t2);
    check_accepted(env, t3);

    auto all = env.admin_form("/tyk/oauth/revoke_all",
                              {{"client_id", client.id}, {"client_secret", client.secret}});
    INFO(all.body);
    CHECK(all.status == 200);
    CHECK(parse_or_null(all.body).value("status", "") == "ok");
    check_rejected(env, t2);
    check_rejected(env, t3);
    check_accepted(env, theirs); // another client's token is untouched
}

TEST_CASE("deleting an OAuth client revokes its tokens' access (within the 1 s client cache)",
          "[integration][oauth]") {
    Env env;
    const auto port = env.port();
    const Client client = env.create_client("doomed-app");
    const Client survivor = env.create_client("survivor-app");
    const std::string token = env.client_credentials(client);
    const std::string other = env.client_credentials(survivor);
    // Warm every worker's client cache: fresh connections spread over the workers.
    for (int i = 0; i < 6; ++i) {
        check_accepted(env, token);
    }

    auto deleted =
        admin(port, "DELETE", std::string("/tyk/oauth/clients/") + kApi + "/" + client.id);
    REQUIRE(deleted.status == 200);
    const auto t0 = std::chrono::steady_clock::now();

    HttpResponse last;
    const bool refused = eventually(std::chrono::milliseconds(3000), [&] {
        last = env.call(token);
        return last.status != 200;
    });
    INFO("last answer: " << last.status << " " << last.body);
    REQUIRE(refused);
    check_gateway_error(last, 403, "Key not authorised. OAuth client access was revoked");

    // Past the cache interval every worker refuses it.
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(1500));
    for (int i = 0; i < 6; ++i) {
        check_gateway_error(env.call(token), 403,
                            "Key not authorised. OAuth client access was revoked");
    }
    check_accepted(env, other);
    // The deleted client cannot get new tokens.
    check_oauth_error(env.token(client, {{"grant_type", "client_credentials"}}), 403,
                      "unauthorized_client");
}

// ---- secrets ------------------------------------------------------------------------------------

TEST_CASE("OAuth secrets never reach the gateway log", "[integration][oauth]") {
    Env env{Options{0, 0, true}}; // debug log level, access log on
    const Client client = env.create_client("quiet-app");
    const std::string password = "pw-Zq81-user-password";
    env.create_user("bob", password);
    std::vector<std::pair<std::string, std::string>> secrets{{"client secret", client.secret},
                                                             {"user password", password}};
    const auto remember = [&](const std::string& what, const Json& value) {
        secrets.emplace_back(what, str(value));
    };

    // client_credentials, with Basic auth and in the form; a failed attempt
    remember("client_credentials token", Json(env.client_credentials(client)));
    remember("form client_credentials token",
             check_token_reply(env.post_form(std::string(kLp) + "oauth/token",
                                             {{"grant_type", "client_credentials"},
                                              {"client_id", client.id},
                                              {"client_secret", client.secret}}),
                               false)["access_token"]);
    check_oauth_error(
        env.token(Client{client.id, client.secret + "x"}, {{"grant_type", "client_credentials"}}),
        403, "unauthorized_client");

    // password grant, twice (the second revokes the first); a wrong password
    for (int i = 0; i < 2; ++i) {
        const Json pw = check_token_reply(
            env.token(client,
                      {{"grant_type", "password"}, {"username", "bob"}, {"password", password}}),
            true);
        remember("password token", pw["access_token"]);
        remember("password refresh token", pw["refresh_token"]);
    }
    check_oauth_error(env.token(client, {{"grant_type", "password"},
                                         {"username", "bob"},
                                         {"password", password + "-wrong"}}),
                      403, "access_denied");

    // authorization code, then refresh, then revoke
    const Json code =
        env.authorize_client(client, session_for({kApi}, {{"meta_data", {{"plan", "gold"}}}}));
    remember("authorization code", code["code"]);
    const Json exchanged =
        check_token_reply(env.token(client, {{"grant_type", "authorization_code"},
                                             {"code", str(code["code"])},
                                             {"redirect_uri", kRedirect}}),
                          true);
    remember("code token", exchanged["access_token"]);
    remember("code refresh token", exchanged["refresh_token"]);
    const Json refreshed =
        check_token_reply(env.token(client, {{"grant_type", "refresh_token"},
                                             {"refresh_token", str(exchanged["refresh_token"])}}),
                          true);
    remember("refreshed token", refreshed["access_token"]);
    remember("refreshed refresh token", refreshed["refresh_token"]);
    check_accepted(env, str(refreshed["access_token"]));
    check_rejected(env, str(exchanged["access_token"]));
    check_status_message(env.post_form(std::string(kLp) + "oauth/revoke",
                                       {{"token", str(refreshed["access_token"])},
                                        {"token_type_hint", "access_token"},
                                        {"client_id", client.id}},
                                       {{"Authorization", basic_auth(client.id, client.secret)}}),
                         200, "ok", "token revoked successfully");
    check_rejected(env, str(refreshed["access_token"]));
    CHECK(env.admin_form("/tyk/oauth/revoke_all",
                         {{"client_id", client.id}, {"client_secret", client.secret}})
              .status == 200);

    // Logging is asynchronous in places: give it a moment, bounded, to flush what it will.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const std::string log = env.fx.gateway().log();
    REQUIRE(contains(log, "listening on")); // the log is the gateway's and is being written
    for (const auto& [what, value] : secrets) {
        INFO(what << " appears in the gateway log");
        REQUIRE(value.size() >= 8);
        CHECK_FALSE(contains(log, value));
    }
}
