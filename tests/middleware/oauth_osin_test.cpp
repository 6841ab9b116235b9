// The OAuth2 server logic Tyk delegates to osin (middleware/oauth/osin.hpp): forms, client
// authentication, responses, redirect URIs, the Redis records and the session of a new token.
// Expected values follow Go's net/http and net/url, osin (response.go, urivalidate.go,
// util.go, error.go) and Tyk's oauth_manager.go; base64 literals were computed with Python's
// base64.b64encode and unix times with `date -u -d`.
#include "config/policy.hpp"
#include "middleware/keys/base64.hpp"
#include "middleware/oauth/osin.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>

namespace oa = portcullis::oauth;
using Json = nlohmann::json;

namespace {

oa::Form form_of(std::string_view query,
                 std::string_view body = {},
                 std::string_view content_type = {},
                 bool read_body = true) {
    return oa::Form::parse(query, body, content_type, read_body);
}

portcullis::config::Policy policy_of(const std::string& id, Json raw) {
    portcullis::config::Policy p;
    p.id = id;
    p.raw = std::move(raw);
    p.raw["id"] = id;
    return p;
}

oa::Client client_of(Json meta = nullptr) {
    oa::Client c;
    c.id = "client-1";
    c.secret = "secret-1";
    c.redirect_uri = "http://client.example/cb";
    c.policy_id = "pol-1";
    c.description = "a client";
    c.meta_data = std::move(meta);
    return c;
}

oa::Response redirect_response(std::string base, Json output, bool fragment = false) {
    oa::Response r;
    r.redirect = std::move(base);
    r.redirect_in_fragment = fragment;
    r.output = std::move(output);
    return r;
}

/// redirect_url as text ("<nullopt>" when there is none), for readable failures.
std::string url_of(const oa::Response& r) {
    const auto url = oa::redirect_url(r);
    return url ? *url : std::string("<nullopt>");
}

bool is_base64url(const std::string& s) {
    for (const char c : s) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

constexpr std::int64_t kNow = 1767319445; // 2026-01-02T02:04:05Z

} // namespace

// ---- Form ------------------------------------------------------------------------------------

TEST_CASE("Form::parse: urlencoded body first, then the query; get returns the first value",
          "[unit][oauth]") {
    SECTION("body values come before query values") {
        const auto f =
            form_of("grant_type=from_query&scope=read&a=3", "grant_type=from_body&a=1&a=2",
                    "application/x-www-form-urlencoded", true);
        CHECK(f.get("grant_type") == "from_body");
        CHECK(f.get("scope") == "read");
        CHECK(f.get("a") == "1");
        CHECK(f.get("missing").empty());
    }
    SECTION("a charset parameter still reads the body") {
        const auto f =
            form_of("", "client_id=c1", "application/x-www-form-urlencoded; charset=utf-8", true);
        CHECK(f.get("client_id") == "c1");
        CHECK(f.has("client_id"));
    }
    SECTION("the media type compares case-insensitively") {
        const auto f = form_of("", "client_id=c1", "Application/X-WWW-Form-Urlencoded", true);
        CHECK(f.get("client_id") == "c1");
    }
    SECTION("the body is ignored when not read (GET, DELETE...)") {
        const auto f = form_of("q=1", "client_id=c1", "application/x-www-form-urlencoded", false);
        CHECK_FALSE(f.has("client_id"));
        CHECK(f.get("q") == "1");
    }
    SECTION("the body is ignored for other content types") {
        for (const char* type : {"text/plain", "text/plain; charset=utf-8", ""}) {
            INFO(type);
            const auto f = form_of("q=1", "client_id=c1", type, true);
            CHECK_FALSE(f.has("client_id"));
            CHECK(f.get("q") == "1");
        }
    }
}

TEST_CASE("Form::parse: '+' and %XX decoding, has(), malformed pairs skipped", "[unit][oauth]") {
    const auto f = form_of("redirect_uri=http%3A%2F%2Fclient.example%2Fcb%3Fx%3D1"
                           "&scope=read+write&na%6De=v%41l&empty=&bare&bad=%zz&semi=1;x=2&ok=1");
    CHECK(f.get("redirect_uri") == "http://client.example/cb?x=1");
    CHECK(f.get("scope") == "read write");
    CHECK(f.get("name") == "vAl"); // keys decode too
    CHECK(f.has("empty"));
    CHECK(f.get("empty").empty());
    CHECK(f.has("bare")); // "bare" without '=' is name "bare", value ""
    CHECK(f.get("bare").empty());
    CHECK_FALSE(f.has("bad")); // Go's ParseQuery drops a pair with a bad escape
    CHECK_FALSE(f.has("semi"));
    CHECK(f.get("ok") == "1");
    CHECK_FALSE(f.has("nothing"));
}

TEST_CASE("Form::parse: an application/json body of strings replaces form values",
          "[unit][oauth]") {
    SECTION("string members replace query values (Form.Set), other names kept") {
        const auto f = form_of("grant_type=from_query&scope=read",
                               R"({"grant_type":"client_credentials","client_id":"c1"})",
                               "application/json", true);
        CHECK(f.get("grant_type") == "client_credentials");
        CHECK(f.get("client_id") == "c1");
        CHECK(f.get("scope") == "read");
    }
    SECTION("a member that is not a string voids the whole body") {
        const auto f = form_of("grant_type=from_query",
                               R"({"grant_type":"client_credentials","expires":3600})",
                               "application/json", true);
        CHECK(f.get("grant_type") == "from_query");
        CHECK_FALSE(f.has("expires"));
    }
    SECTION("a body that is not an object, or not JSON, is ignored") {
        for (const char* body : {R"(["a","b"])", "not json", R"("text")", ""}) {
            INFO(body);
            const auto f = form_of("q=1", body, "application/json", true);
            CHECK(f.get("q") == "1");
            CHECK_FALSE(f.has("a"));
        }
    }
    SECTION("only exactly application/json is decoded") {
        const auto f =
            form_of("q=1", R"({"client_id":"c1"})", "application/json; charset=utf-8", true);
        CHECK_FALSE(f.has("client_id"));
        CHECK(f.get("q") == "1");
    }
    SECTION("a JSON body is not read as urlencoded") {
        const auto f = form_of("", "client_id=c1", "application/json", true);
        CHECK_FALSE(f.has("client_id"));
    }
}

// ---- client authentication -------------------------------------------------------------------

TEST_CASE("client_auth: form credentials, then Basic", "[unit][oauth]") {
    // "client-1:secret-1"
    const std::string basic = "Basic Y2xpZW50LTE6c2VjcmV0LTE=";

    SECTION("client_id + client_secret in the form win over the header") {
        const auto auth =
            oa::client_auth(basic, form_of("client_id=formid&client_secret=formsecret"));
        REQUIRE(auth);
        CHECK(auth->id == "formid");
        CHECK(auth->secret == "formsecret");
    }
    SECTION("an empty but present client_secret still counts") {
        const auto auth = oa::client_auth("", form_of("client_id=formid&client_secret="));
        REQUIRE(auth);
        CHECK(auth->id == "formid");
        CHECK(auth->secret.empty());
    }
    SECTION("an empty client_id with a secret falls back to Basic") {
        const auto auth = oa::client_auth(basic, form_of("client_id=&client_secret=formsecret"));
        REQUIRE(auth);
        CHECK(auth->id == "client-1");
        CHECK(auth->secret == "secret-1");
    }
    SECTION("client_id without client_secret falls back to Basic") {
        const auto auth = oa::client_auth(basic, form_of("client_id=formid"));
        REQUIRE(auth);
        CHECK(auth->id == "client-1");
        CHECK(auth->secret == "secret-1");
    }
    SECTION("an empty client_id and no header: nothing usable") {
        CHECK_FALSE(oa::client_auth("", form_of("client_id=&client_secret=formsecret")));
    }
    SECTION("no form credentials and no header") {
        CHECK_FALSE(oa::client_auth("", form_of("grant_type=client_credentials")));
    }
}

TEST_CASE("client_auth: Basic header parsing (osin CheckBasicAuth)", "[unit][oauth]") {
    const oa::Form none = form_of("");

    SECTION("the secret keeps every colon after the first") {
        // "my-client:s3cr:et"
        const auto auth = oa::client_auth("Basic bXktY2xpZW50OnMzY3I6ZXQ=", none);
        REQUIRE(auth);
        CHECK(auth->id == "my-client");
        CHECK(auth->secret == "s3cr:et");
    }
    SECTION("the scheme is case-sensitive") {
        CHECK_FALSE(oa::client_auth("basic Y2xpZW50LTE6c2VjcmV0LTE=", none));
        CHECK_FALSE(oa::client_auth("BASIC Y2xpZW50LTE6c2VjcmV0LTE=", none));
        CHECK_FALSE(oa::client_auth("Bearer Y2xpZW50LTE6c2VjcmV0LTE=", none));
    }
    SECTION("bad base64 is rejected, padding is required") {
        CHECK_FALSE(oa::client_auth("Basic !!!not-base64!!!", none));
        CHECK_FALSE(oa::client_auth("Basic YTpiYw", none)); // "a:bc" without its "=="
        const auto padded = oa::client_auth("Basic YTpiYw==", none);
        REQUIRE(padded);
        CHECK(padded->id == "a");
        CHECK(padded->secret == "bc");
    }
    SECTION("decoded text without a colon is rejected") {
        CHECK_FALSE(oa::client_auth("Basic bm9jb2xvbg==", none)); // "nocolon"
        CHECK_FALSE(oa::client_auth("Basic ", none));
    }
    SECTION("no space, or no header at all") {
        CHECK_FALSE(oa::client_auth("Basic", none));
        CHECK_FALSE(oa::client_auth("", none));
    }
}

// osin's CheckBasicAuth url.QueryUnescape()s the id and the secret, as RFC 6749 section 2.3.1
// asks.
TEST_CASE("client_auth: Basic id and secret are form-decoded (RFC 6749 2.3.1)", "[unit][oauth]") {
    const oa::Form none = form_of("");
    // "my%3Aclient:p%40ss+word"
    const auto auth = oa::client_auth("Basic bXklM0FjbGllbnQ6cCU0MHNzK3dvcmQ=", none);
    REQUIRE(auth);
    CHECK(auth->id == "my:client");
    CHECK(auth->secret == "p@ss word");
    // "id:100%": a bad escape is an error (invalid_request)
    CHECK_FALSE(oa::client_auth("Basic aWQ6MTAwJQ==", none));
}

TEST_CASE("secret_matches", "[unit][oauth]") {
    CHECK(oa::secret_matches("s3cret", "s3cret"));
    CHECK_FALSE(oa::secret_matches("s3cret", "s3creT"));
    CHECK_FALSE(oa::secret_matches("s3cret", "s3cret-longer"));
    CHECK_FALSE(oa::secret_matches("s3cret", "s3cre"));
    CHECK_FALSE(oa::secret_matches("s3cret", ""));
    CHECK_FALSE(oa::secret_matches("", "s3cret"));
    CHECK(oa::secret_matches("", ""));
}

// ---- responses -------------------------------------------------------------------------------

TEST_CASE("error_description: osin's default texts, the id itself when unknown", "[unit][oauth]") {
    CHECK(oa::error_description(oa::kUnauthorizedClient) ==
          "The client is not authorized to request a token using this method.");
    CHECK(oa::error_description(oa::kInvalidRequest) ==
          "The request is missing a required parameter, includes an invalid parameter value, "
          "includes a parameter more than once, or is otherwise malformed.");
    CHECK(oa::error_description(oa::kAccessDenied) ==
          "The resource owner or authorization server denied the request.");
    CHECK(oa::error_description(oa::kUnsupportedResponseType) ==
          "The authorization server does not support obtaining a token using this method.");
    CHECK(oa::error_description(oa::kServerError) ==
          "The authorization server encountered an unexpected condition that prevented it from "
          "fulfilling the request.");
    CHECK(oa::error_description(oa::kUnsupportedGrantType) ==
          "The authorization grant type is not supported by the authorization server.");
    CHECK(oa::error_description(oa::kInvalidGrant) ==
          "The provided authorization grant (e.g., authorization code, resource owner "
          "credentials) or refresh token is invalid, expired, revoked, does not match the "
          "redirection URI used in the authorization request, or was issued to another client.");
    CHECK(oa::error_description(oa::kInvalidClient) ==
          "Client authentication failed (e.g., unknown client, no client authentication "
          "included, or unsupported authentication method).");
    CHECK(oa::error_description("no_such_error") == "no_such_error");
    CHECK(oa::error_description("").empty());
}

TEST_CASE("Response::set_error: output cleared to error, description and state", "[unit][oauth]") {
    oa::Response r;
    r.output = {{"access_token", "t"}, {"expires_in", 3600}};

    SECTION("default status 403: status text is the description, no empty state") {
        r.set_error(oa::kUnauthorizedClient);
        CHECK(r.is_error);
        CHECK(r.status_text ==
              "The client is not authorized to request a token using this method.");
        CHECK(r.output ==
              Json{{"error", "unauthorized_client"},
                   {"error_description",
                    "The client is not authorized to request a token using this method."}});
    }
    SECTION("a state is carried") {
        r.set_error(oa::kAccessDenied, "st-1");
        CHECK(r.output.size() == 3);
        CHECK(r.output["error"] == "access_denied");
        CHECK(r.output["error_description"] ==
              "The resource owner or authorization server denied the request.");
        CHECK(r.output["state"] == "st-1");
    }
    SECTION("error status 200: no status text") {
        r.error_status = 200;
        r.set_error(oa::kInvalidGrant);
        CHECK(r.is_error);
        CHECK(r.status_text.empty());
        CHECK(r.output["error"] == "invalid_grant");
    }
    SECTION("an unknown id is its own description") {
        r.set_error("custom_error");
        CHECK(r.output == Json{{"error", "custom_error"}, {"error_description", "custom_error"}});
        CHECK(r.status_text == "custom_error");
    }
}

TEST_CASE("render: sorted keys, trailing newline, no HTML escaping, empty state dropped",
          "[unit][oauth]") {
    SECTION("a token response") {
        oa::Response r;
        r.output = {
            {"token_type", "bearer"}, {"access_token", "tok"}, {"expires_in", 3600}, {"state", ""}};
        CHECK(oa::render(r) ==
              "{\"access_token\":\"tok\",\"expires_in\":3600,\"token_type\":\"bearer\"}\n");
        CHECK_FALSE(r.output.contains("state"));
        CHECK_FALSE(r.output.contains("redirect_to"));
    }
    SECTION("a non-empty state stays") {
        oa::Response r;
        r.output = {{"code", "abc"}, {"state", "xyz"}};
        CHECK(oa::render(r) == "{\"code\":\"abc\",\"state\":\"xyz\"}\n");
    }
    SECTION("<, > and & are written as they are") {
        oa::Response r;
        r.output = {{"error_description", "a<b>&c"}};
        CHECK(oa::render(r) == "{\"error_description\":\"a<b>&c\"}\n");
    }
    SECTION("an error response") {
        oa::Response r;
        r.set_error(oa::kInvalidClient);
        CHECK(oa::render(r) ==
              "{\"error\":\"invalid_client\",\"error_description\":\"Client authentication "
              "failed (e.g., unknown client, no client authentication included, or unsupported "
              "authentication method).\"}\n");
    }
}

TEST_CASE("render and redirect_url: redirect_to for redirect responses", "[unit][oauth]") {
    SECTION("code and state as query parameters") {
        auto r = redirect_response("http://client.example/cb", {{"state", "xyz"}, {"code", "abc"}});
        CHECK(url_of(r) == "http://client.example/cb?code=abc&state=xyz");
        CHECK(oa::render(r) ==
              "{\"code\":\"abc\",\"redirect_to\":\"http://client.example/cb?code=abc&state=xyz\","
              "\"state\":\"xyz\"}\n");
    }
    SECTION("an empty state is dropped before the URL is built") {
        auto r = redirect_response("http://client.example/cb", {{"code", "abc"}, {"state", ""}});
        oa::render(r);
        CHECK(r.output["redirect_to"] == "http://client.example/cb?code=abc");
    }
    SECTION("the redirect's own query is kept, merged and sorted; output values replace") {
        auto r = redirect_response("http://client.example/cb?zeta=1&alpha=2&state=old&m=1&m=2",
                                   {{"code", "abc"}, {"state", "new"}});
        CHECK(url_of(r) == "http://client.example/cb?alpha=2&code=abc&m=1&m=2&state=new&zeta=1");
    }
    SECTION("implicit grant: parameters in the fragment") {
        auto r = redirect_response("http://client.example/cb",
                                   {{"access_token", "tok"},
                                    {"token_type", "bearer"},
                                    {"expires_in", 3600},
                                    {"state", ""}},
                                   true);
        oa::render(r);
        CHECK(r.output["redirect_to"] ==
              "http://client.example/cb#access_token=tok&expires_in=3600&token_type=bearer");
    }
    SECTION("values are query-escaped: space as '+', '/' and others as %XX") {
        auto r = redirect_response("http://client.example/cb",
                                   {{"code", "a b/c:d~e*f"}, {"scope", "read write"}});
        CHECK(url_of(r) == "http://client.example/cb?code=a+b%2Fc%3Ad~e%2Af&scope=read+write");
        auto f = redirect_response("http://client.example/cb", {{"access_token", "x/y z"}}, true);
        CHECK(url_of(f) == "http://client.example/cb#access_token=x%2Fy+z");
    }
    SECTION("non-string values print as fmt.Sprint does") {
        auto r =
            redirect_response("http://client.example/cb", {{"expires_in", 3600}, {"flag", true}});
        CHECK(url_of(r) == "http://client.example/cb?expires_in=3600&flag=true");
    }
    SECTION("an error redirect") {
        auto r = redirect_response("http://client.example/cb", Json::object());
        r.set_error(oa::kAccessDenied, "st");
        CHECK(url_of(r) ==
              "http://client.example/cb?error=access_denied&error_description=The+resource+"
              "owner+or+authorization+server+denied+the+request.&state=st");
    }
    SECTION("not a redirect: no URL") {
        oa::Response r;
        r.output = {{"code", "abc"}};
        CHECK_FALSE(oa::redirect_url(r));
    }
}

// osin GetRedirectUrl in fragment mode starts from an empty parameter set and keeps the
// redirect's own query in the URL (u.String() + "#" + q.Encode()).
TEST_CASE("redirect_url: fragment mode keeps the redirect's query in place", "[unit][oauth]") {
    auto r = redirect_response("http://client.example/cb?tenant=acme",
                               {{"access_token", "tok"}, {"token_type", "bearer"}}, true);
    CHECK(url_of(r) == "http://client.example/cb?tenant=acme#access_token=tok&token_type=bearer");
}

// ---- redirect URIs ---------------------------------------------------------------------------

TEST_CASE("redirect_uri_valid: osin ValidateUriList", "[unit][oauth]") {
    SECTION("exact match and subpaths") {
        CHECK(oa::redirect_uri_valid("http://a/cb", "http://a/cb", ""));
        CHECK(oa::redirect_uri_valid("http://a/cb", "http://a/cb/x", ""));
        CHECK(oa::redirect_uri_valid("http://a/cb", "http://a/cb/x/y?q=1", ""));
        CHECK(oa::redirect_uri_valid("http://a/cb/", "http://a/cb/x", ""));
        CHECK(oa::redirect_uri_valid("http://a/cb", "http://a/cb?x=1", ""));
        CHECK(oa::redirect_uri_valid("http://a", "http://a/anything", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://a/cbx", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://a/c", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://a/", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb/", "http://a/cb", ""));
    }
    SECTION("scheme, host and port must match") {
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "https://a/cb", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://b/cb", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://a:8080/cb", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a:80/cb", "http://a/cb", ""));
        CHECK(oa::redirect_uri_valid("http://a:8080/cb", "http://a:8080/cb/x", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://evil.a/cb", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://A/cb", "")); // Host as written
    }
    SECTION("the scheme compares case-insensitively (Go lowercases it)") {
        CHECK(oa::redirect_uri_valid("http://a/cb", "HTTP://a/cb", ""));
        CHECK(oa::redirect_uri_valid("HtTp://a/cb", "http://a/cb/x", ""));
    }
    SECTION("fragments are rejected on either side") {
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://a/cb#frag", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb#frag", "http://a/cb", ""));
    }
    SECTION("dot segments are resolved before the prefix check") {
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://a/cb/../evil", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://a/cb/%2e%2e/evil", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "http://a/cb/x/../../evil", ""));
        CHECK(oa::redirect_uri_valid("http://a/cb", "http://a/cb/x/../y", ""));
        CHECK(oa::redirect_uri_valid("http://a/cb", "http://a/cb/./x", ""));
        CHECK(oa::redirect_uri_valid("http://a/cb", "http://a/other/../cb", ""));
    }
    SECTION("empty either side") {
        CHECK_FALSE(oa::redirect_uri_valid("", "http://a/cb", ""));
        CHECK_FALSE(oa::redirect_uri_valid("http://a/cb", "", ""));
        CHECK_FALSE(oa::redirect_uri_valid("", "", ","));
    }
    SECTION("separator lists") {
        const std::string list = "http://a/cb,http://b/cb";
        CHECK(oa::redirect_uri_valid(list, "http://a/cb", ","));
        CHECK(oa::redirect_uri_valid(list, "http://b/cb", ","));
        CHECK(oa::redirect_uri_valid(list, "http://b/cb/deeper", ","));
        CHECK_FALSE(oa::redirect_uri_valid(list, "http://c/cb", ","));
        // without a separator the list is one (unmatchable) URI
        CHECK_FALSE(oa::redirect_uri_valid(list, "http://b/cb", ""));
        CHECK(oa::redirect_uri_valid("http://a/cb;;http://b/cb", "http://b/cb", ";;"));
    }
}

TEST_CASE("first_uri: osin FirstUri", "[unit][oauth]") {
    CHECK(oa::first_uri("http://a/cb,http://b/cb", ",") == "http://a/cb");
    CHECK(oa::first_uri("http://a/cb,http://b/cb", "") == "http://a/cb,http://b/cb");
    CHECK(oa::first_uri("http://a/cb", ",") == "http://a/cb");
    CHECK(oa::first_uri(",http://b/cb", ",").empty());
    CHECK(oa::first_uri("", ",").empty());
}

// ---- records ---------------------------------------------------------------------------------

TEST_CASE("client_record: Tyk's OAuthClient field order, meta_data omitted when null",
          "[unit][oauth]") {
    CHECK(oa::client_record(client_of()).dump() ==
          R"({"id":"client-1","secret":"secret-1","redirecturi":"http://client.example/cb",)"
          R"("policyid":"pol-1","description":"a client"})");
    CHECK(oa::client_record(client_of({{"tenant", "acme"}})).dump() ==
          R"({"id":"client-1","secret":"secret-1","redirecturi":"http://client.example/cb",)"
          R"("meta_data":{"tenant":"acme"},"policyid":"pol-1","description":"a client"})");
    const auto back = oa::parse_client_record(oa::client_record(client_of({{"k", 1}})).dump());
    CHECK(back.id == "client-1");
    CHECK(back.secret == "secret-1");
    CHECK(back.redirect_uri == "http://client.example/cb");
    CHECK(back.policy_id == "pol-1");
    CHECK(back.description == "a client");
    CHECK(back.meta_data == Json{{"k", 1}});
    const auto garbage = oa::parse_client_record("not json");
    CHECK(garbage.id.empty());
    CHECK(garbage.meta_data.is_null());
}

TEST_CASE("authorize_record and access_record round-trip through parse_grant", "[unit][oauth]") {
    oa::Grant g;
    g.client = client_of({{"tenant", "acme"}});
    g.expires_in = 250;
    g.scope = "read write";
    g.redirect_uri = "http://client.example/cb";
    g.created_at = kNow;

    SECTION("authorization code, key rules as user data") {
        g.code = "Zm9vYmFyYmF6cXV4MTIzNA";
        g.state = "st-1";
        g.user_data = R"({"rate":5,"per":1})";
        const std::string text = oa::authorize_record(g);
        const Json doc = Json::parse(text);
        CHECK(doc["CreatedAt"] == "2026-01-02T02:04:05Z");
        CHECK(doc["Code"] == "Zm9vYmFyYmF6cXV4MTIzNA");
        CHECK(doc["UserData"] == R"({"rate":5,"per":1})");
        CHECK(doc["Client"]["redirecturi"] == "http://client.example/cb");

        const auto back = oa::parse_grant(text);
        REQUIRE(back);
        CHECK(back->client.id == "client-1");
        CHECK(back->client.secret == "secret-1");
        CHECK(back->client.redirect_uri == "http://client.example/cb");
        CHECK(back->client.policy_id == "pol-1");
        CHECK(back->client.description == "a client");
        CHECK(back->client.meta_data == Json{{"tenant", "acme"}});
        CHECK(back->code == "Zm9vYmFyYmF6cXV4MTIzNA");
        CHECK(back->access_token.empty());
        CHECK(back->expires_in == 250);
        CHECK(back->scope == "read write");
        CHECK(back->redirect_uri == "http://client.example/cb");
        CHECK(back->state == "st-1");
        CHECK(back->created_at == kNow);
        CHECK(back->user_data == Json(R"({"rate":5,"per":1})"));
    }
    SECTION("access grant, null user data") {
        g.access_token = "tok-1";
        g.refresh_token = "refresh-1";
        g.expires_in = 3600;
        const std::string text = oa::access_record(g);
        const Json doc = Json::parse(text);
        CHECK(doc["AccessToken"] == "tok-1");
        CHECK(doc["ExpiresIn"] == 3600);
        CHECK(doc["CreatedAt"] == "2026-01-02T02:04:05Z");

        const auto back = oa::parse_grant(text);
        REQUIRE(back);
        CHECK(back->client.id == "client-1");
        CHECK(back->client.meta_data == Json{{"tenant", "acme"}});
        CHECK(back->access_token == "tok-1");
        CHECK(back->refresh_token == "refresh-1");
        CHECK(back->code.empty());
        CHECK(back->expires_in == 3600);
        CHECK(back->scope == "read write");
        CHECK(back->redirect_uri == "http://client.example/cb");
        CHECK(back->created_at == kNow);
        CHECK(back->user_data.is_null());
    }
}

TEST_CASE("parse_grant: Tyk-written records, RFC 3339 with fraction and offset; garbage",
          "[unit][oauth]") {
    SECTION("CreatedAt with nanoseconds and a +01:00 offset") {
        const auto g = oa::parse_grant(
            R"({"Client":{"id":"c1","secret":"s","redirecturi":"http://a/cb","policyid":"p",)"
            R"("description":""},"AccessToken":"t","RefreshToken":"","ExpiresIn":3600,)"
            R"("Scope":"","RedirectUri":"http://a/cb",)"
            R"("CreatedAt":"2026-01-02T03:04:05.123456789+01:00"})");
        REQUIRE(g);
        CHECK(g->created_at == 1767319445);
        CHECK(g->client.id == "c1");
        CHECK(g->client.meta_data.is_null());
        CHECK(g->access_token == "t");
        CHECK(g->expires_in == 3600);
        CHECK(g->user_data.is_null()); // UserData omitted (omitempty)
    }
    SECTION("a negative offset with minutes, and Z") {
        const auto neg =
            oa::parse_grant(R"({"Client":{"id":"c1"},"CreatedAt":"2026-01-01T20:34:05.5-05:30"})");
        REQUIRE(neg);
        CHECK(neg->created_at == 1767319445);
        const auto z =
            oa::parse_grant(R"({"Client":{"id":"c1"},"CreatedAt":"2026-01-02T02:04:05Z"})");
        REQUIRE(z);
        CHECK(z->created_at == 1767319445);
    }
    SECTION("not a grant") {
        CHECK_FALSE(oa::parse_grant("garbage"));
        CHECK_FALSE(oa::parse_grant(""));
        CHECK_FALSE(oa::parse_grant("[]"));
        CHECK_FALSE(oa::parse_grant(R"({"AccessToken":"t"})"));
        CHECK_FALSE(oa::parse_grant(R"({"Client":null,"AccessToken":"t"})"));
        CHECK_FALSE(oa::parse_grant(R"({"Client":"c1"})"));
    }
}

TEST_CASE("rfc3339: UTC at second precision", "[unit][oauth]") {
    CHECK(oa::rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(oa::rfc3339(kNow) == "2026-01-02T02:04:05Z");
}

// ---- the session of a new token --------------------------------------------------------------

TEST_CASE("session_from_policy: Tyk generateSessionFromPolicy(id, \"\", false)", "[unit][oauth]") {
    const Json rights = {{"api-1", {{"api_id", "api-1"}, {"versions", {"Default"}}}}};
    const auto policy = policy_of("pol-1", {{"org_id", "org-7"},
                                            {"rate", 10},
                                            {"per", 60},
                                            {"quota_max", 1000},
                                            {"quota_renewal_rate", 3600},
                                            {"throttle_interval", 2},
                                            {"access_rights", rights},
                                            {"tags", {"t1", "t2"}},
                                            {"is_inactive", true},
                                            {"meta_data", {{"from", "policy"}}},
                                            {"key_expires_in", 600}});
    const Json s = oa::session_from_policy(policy, kNow);
    CHECK(s["apply_policies"] == Json{"pol-1"});
    // enforceOrg false: "orgID = policy.OrgID" (the "" argument is not the org)
    CHECK(s["org_id"] == "org-7");
    CHECK(s["rate"] == 10);
    CHECK(s["allowance"] == 10); // Tyk's legacy copy of the rate
    CHECK(s["per"] == 60);
    CHECK(s["quota_max"] == 1000);
    CHECK(s["quota_renewal_rate"] == 3600);
    CHECK(s["throttle_interval"] == 2);
    CHECK(s["access_rights"] == rights);
    CHECK(s["tags"] == Json{"t1", "t2"});
    CHECK(s["is_inactive"] == true);
    CHECK(s["expires"] == kNow + 600);
    CHECK_FALSE(s.contains("meta_data")); // the policy's metadata is not copied

    SECTION("no key_expires_in, zero or negative: no expiry") {
        for (const Json& e : {Json(nullptr), Json(0), Json(-1)}) {
            Json raw = {{"rate", 1}};
            if (!e.is_null()) {
                raw["key_expires_in"] = e;
            }
            const Json t = oa::session_from_policy(policy_of("p2", raw), kNow);
            CHECK_FALSE(t.contains("expires"));
            CHECK(t["org_id"] == ""); // no org in the policy
            CHECK(t["access_rights"] == Json::object());
            CHECK(t["apply_policies"] == Json{"p2"});
        }
    }
}

TEST_CASE("token_session: key rules, else the client's policy", "[unit][oauth]") {
    const auto policy = policy_of(
        "pol-1", {{"org_id", "org-7"}, {"rate", 100}, {"per", 1}, {"key_expires_in", 99}});

    SECTION("a key_rules JSON string wins over the policy") {
        const auto s = oa::token_session(Json(R"({"rate":5,"per":2,"expires":1,"org_id":"o"})"),
                                         &policy, client_of(), 3600, kNow);
        REQUIRE(s);
        CHECK((*s)["rate"] == 5);
        CHECK((*s)["per"] == 2);
        CHECK((*s)["org_id"] == "o");
        CHECK_FALSE(s->contains("apply_policies"));
        CHECK((*s)["oauth_client_id"] == "client-1");
        CHECK((*s)["expires"] == kNow + 3600); // osin's lifetime overrides
    }
    SECTION("an unparsable rules string falls back to the policy") {
        const auto s = oa::token_session(Json("{not json"), &policy, client_of(), 3600, kNow);
        REQUIRE(s);
        CHECK((*s)["rate"] == 100);
        CHECK((*s)["apply_policies"] == Json{"pol-1"});
        CHECK((*s)["oauth_client_id"] == "client-1");
        CHECK((*s)["expires"] == kNow + 3600); // not key_expires_in
    }
    SECTION("no rules: the policy") {
        const auto s = oa::token_session(nullptr, &policy, client_of(), 120, kNow);
        REQUIRE(s);
        CHECK((*s)["rate"] == 100);
        CHECK((*s)["org_id"] == "org-7");
        CHECK((*s)["expires"] == kNow + 120);
    }
    SECTION("neither rules nor policy") {
        CHECK_FALSE(oa::token_session(nullptr, nullptr, client_of(), 3600, kNow));
        CHECK_FALSE(oa::token_session(Json("garbage"), nullptr, client_of(), 3600, kNow));
        CHECK(oa::token_session(Json(R"({"rate":1})"), nullptr, client_of(), 3600, kNow));
    }
}

TEST_CASE("token_session: client meta_data fills keys the session lacks", "[unit][oauth]") {
    const auto policy = policy_of("pol-1", {{"rate", 100}, {"per", 1}});

    SECTION("session values win, others are added") {
        const auto s =
            oa::token_session(Json(R"({"meta_data":{"tenant":"session","own":1}})"), &policy,
                              client_of({{"tenant", "client"}, {"plan", "gold"}}), 3600, kNow);
        REQUIRE(s);
        CHECK((*s)["meta_data"] == Json{{"tenant", "session"}, {"own", 1}, {"plan", "gold"}});
    }
    SECTION("a policy session gets the client's metadata") {
        const auto s =
            oa::token_session(nullptr, &policy, client_of({{"tenant", "acme"}}), 3600, kNow);
        REQUIRE(s);
        CHECK((*s)["meta_data"] == Json{{"tenant", "acme"}});
    }
    SECTION("a null session meta_data becomes an object") {
        const auto s = oa::token_session(Json(R"({"meta_data":null})"), &policy,
                                         client_of({{"a", "b"}}), 3600, kNow);
        REQUIRE(s);
        CHECK((*s)["meta_data"] == Json{{"a", "b"}});
    }
    SECTION("an empty client object still makes the map") {
        const auto s = oa::token_session(nullptr, &policy, client_of(Json::object()), 3600, kNow);
        REQUIRE(s);
        CHECK((*s)["meta_data"] == Json::object());
    }
    SECTION("client metadata that is not an object is ignored") {
        for (const Json& meta : {Json(nullptr), Json("text"), Json{1, 2}}) {
            const auto s = oa::token_session(Json(R"({"meta_data":{"k":"v"}})"), &policy,
                                             client_of(meta), 3600, kNow);
            REQUIRE(s);
            CHECK((*s)["meta_data"] == Json{{"k", "v"}});
            const auto p = oa::token_session(nullptr, &policy, client_of(meta), 3600, kNow);
            REQUIRE(p);
            CHECK_FALSE(p->contains("meta_data"));
        }
    }
}

// ---- generators ------------------------------------------------------------------------------

TEST_CASE("new_authorize_code: 22 chars of unpadded base64url, random", "[unit][oauth]") {
    const std::string a = oa::new_authorize_code();
    const std::string b = oa::new_authorize_code();
    CHECK(a.size() == 22);
    CHECK(b.size() == 22);
    CHECK(is_base64url(a));
    CHECK(is_base64url(b));
    CHECK(a != b);
    std::set<std::string> seen;
    for (int i = 0; i < 64; ++i) {
        seen.insert(oa::new_authorize_code());
    }
    CHECK(seen.size() == 64);
}

TEST_CASE("new_uuid_base64: standard base64 of a dashed UUIDv4", "[unit][oauth]") {
    const std::string a = oa::new_uuid_base64();
    CHECK(a.size() == 48); // 36 bytes, no padding
    CHECK(a != oa::new_uuid_base64());
    const auto text = portcullis::keys::base64_decode_strict(a);
    REQUIRE(text);
    REQUIRE(text->size() == 36);
    for (std::size_t i = 0; i < text->size(); ++i) {
        const char c = (*text)[i];
        INFO("position " << i << " in " << *text);
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            CHECK(c == '-');
        } else {
            CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
        }
    }
    CHECK((*text)[14] == '4');                                         // version 4
    CHECK(std::string("89ab").find((*text)[19]) != std::string::npos); // RFC 4122 variant
}
