#include "middleware/keys/base64.hpp"
#include "middleware/keys/key_hash.hpp"
#include "middleware/keys/token.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace pk = portcullis::keys;

namespace {

bool is_lower_hex(const std::string& s) {
    for (const char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

} // namespace

// Expected token texts were computed independently with Python's base64.b64encode of the
// literal `{"org":"<org>","id":"<id>","h":"<algo>"}`.

TEST_CASE("generate_token writes the custom form as padded base64 of literal JSON",
          "[unit][keys]") {
    const auto [org, id, algo,
                expected] = GENERATE(table<std::string, std::string, std::string, std::string>({
        {"default", "mykey", "murmur64",
         "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXI2NCJ9"},
        {"default", "mykey", "murmur128",
         "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXIxMjgifQ=="},
        {"default", "mykey", "sha256",
         "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJzaGEyNTYifQ=="},
        {"default", "mykey", "murmur32",
         "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXIzMiJ9"},
        {"", "x", "murmur32", "eyJvcmciOiIiLCJpZCI6IngiLCJoIjoibXVybXVyMzIifQ=="},
        // Unknown (and wrongly cased) names are written as murmur64.
        {"default", "mykey", "MURMUR64",
         "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXI2NCJ9"},
        {"default", "mykey", "md5", "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXI2NCJ9"},
        // An id starting with the org loses that prefix.
        {"5e1e38108cf2410001c8a972", "5e1e38108cf2410001c8a972abc123", "sha256",
         "eyJvcmciOiI1ZTFlMzgxMDhjZjI0MTAwMDFjOGE5NzIiLCJpZCI6ImFiYzEyMyIsImgiOiJzaGEyNTYifQ=="},
        {"5e1e38108cf2410001c8a972", "abc123", "sha256",
         "eyJvcmciOiI1ZTFlMzgxMDhjZjI0MTAwMDFjOGE5NzIiLCJpZCI6ImFiYzEyMyIsImgiOiJzaGEyNTYifQ=="},
    }));
    CAPTURE(org, id, algo);
    CHECK(pk::generate_token(org, id, algo) == expected);
}

TEST_CASE("generate_token without an algorithm makes legacy org+id tokens", "[unit][keys]") {
    const auto [org, id, expected] = GENERATE(table<std::string, std::string, std::string>({
        {"5e1e38108cf2410001c8a972", "abc123", "5e1e38108cf2410001c8a972abc123"},
        // The org prefix is removed before concatenating, so it is not doubled.
        {"5e1e38108cf2410001c8a972", "5e1e38108cf2410001c8a972abc123",
         "5e1e38108cf2410001c8a972abc123"},
        {"", "mykey", "mykey"},
        {"default", "mykey", "defaultmykey"},
        // Only a prefix is removed, not an occurrence elsewhere.
        {"org", "myorgkey", "orgmyorgkey"},
    }));
    CAPTURE(org, id);
    CHECK(pk::generate_token(org, id, "") == expected);
}

TEST_CASE("generate_token makes a fresh UUID id when none is left", "[unit][keys]") {
    SECTION("empty id") {
        const std::string token = pk::generate_token("5e1e38108cf2410001c8a972", "", "");
        REQUIRE(token.size() == 24 + 32);
        CHECK(token.starts_with("5e1e38108cf2410001c8a972"));
        CHECK(is_lower_hex(token.substr(24)));
    }
    SECTION("id equal to the org") {
        const std::string token = pk::generate_token("default", "default", "murmur64");
        const pk::TokenInfo info = pk::parse_token(token);
        CHECK(info.custom_form);
        CHECK(info.org_id == "default");
        CHECK(info.key_id.size() == 32);
        CHECK(is_lower_hex(info.key_id));
        CHECK(info.hash_algorithm == "murmur64");
    }
}

TEST_CASE("new_key_id is a random UUIDv4 in hex without dashes", "[unit][keys]") {
    const std::string a = pk::new_key_id();
    const std::string b = pk::new_key_id();
    CHECK(a != b);
    for (const std::string& id : {a, b}) {
        CAPTURE(id);
        REQUIRE(id.size() == 32);
        CHECK(is_lower_hex(id));
        CHECK(id[12] == '4');
        CHECK(std::string("89ab").find(id[16]) != std::string::npos);
    }
}

TEST_CASE("parse_token reads back what generate_token wrote", "[unit][keys]") {
    const auto [org, id, algo] = GENERATE(table<std::string, std::string, std::string>({
        {"default", "mykey", "murmur64"},
        {"5e1e38108cf2410001c8a972", "c8zj99aze7hdvtaqh4qvcck7", "sha256"},
        {"", "x", "murmur32"},
        {"org-1", "key-1", "murmur128"},
    }));
    CAPTURE(org, id, algo);
    const pk::TokenInfo info = pk::parse_token(pk::generate_token(org, id, algo));
    CHECK(info.custom_form);
    CHECK(info.org_id == org);
    CHECK(info.key_id == id);
    CHECK(info.hash_algorithm == algo);
}

TEST_CASE("parse_token on legacy tokens: the org is the first 24 chars when hex", "[unit][keys]") {
    const auto [token, org, id] = GENERATE(table<std::string, std::string, std::string>({
        {"5e1e38108cf2410001c8a972b8f5e9c2d5d94f5a", "5e1e38108cf2410001c8a972",
         "b8f5e9c2d5d94f5a"},
        {"507f1f77bcf86cd799439011legacy-key", "507f1f77bcf86cd799439011", "legacy-key"},
        // Go's hex decoder accepts upper case.
        {"5E1E38108CF2410001C8A972abc", "5E1E38108CF2410001C8A972", "abc"},
        // Exactly 24 chars: Tyk wants more than 24.
        {"5e1e38108cf2410001c8a972", "", "5e1e38108cf2410001c8a972"},
        // Not hex in the first 24.
        {"defaultmykeymykeymykeymykey", "", "defaultmykeymykeymykeymykey"},
        {"short", "", "short"},
        {"", "", ""},
        // Starts with "ey" but does not decode to JSON: legacy.
        {"eyinvalid_base64", "", "eyinvalid_base64"},
    }));
    CAPTURE(token);
    const pk::TokenInfo info = pk::parse_token(token);
    CHECK_FALSE(info.custom_form);
    CHECK(info.org_id == org);
    CHECK(info.key_id == id);
    CHECK(info.hash_algorithm.empty());
}

TEST_CASE("parse_token on custom tokens with missing or odd fields", "[unit][keys]") {
    SECTION("no org") {
        const pk::TokenInfo info = pk::parse_token(pk::base64_encode(R"({"id":"key"})"));
        CHECK(info.custom_form);
        CHECK(info.org_id.empty());
        CHECK(info.key_id == "key");
        CHECK(info.hash_algorithm.empty());
    }
    SECTION("unknown algorithm is reported as written") {
        const pk::TokenInfo info =
            pk::parse_token(pk::base64_encode(R"({"org":"o","id":"k","h":"md5"})"));
        CHECK(info.custom_form);
        CHECK(info.hash_algorithm == "md5");
    }
    SECTION("unpadded base64 is not a custom token (Go's StdEncoding needs padding)") {
        const pk::TokenInfo info =
            pk::parse_token("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJzaGEyNTYifQ");
        CHECK_FALSE(info.custom_form);
        CHECK(info.org_id.empty());
    }
}

TEST_CASE("lookup_candidates follows SessionDetail's order", "[unit][keys]") {
    const std::string m64 = "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXI2NCJ9";
    const std::string sha = "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJzaGEyNTYifQ==";
    using Strings = std::vector<std::string>;

    SECTION("the key's org is the API org: just the key") {
        const std::string legacy = "5e1e38108cf2410001c8a972b8f5e9c2d5d94f5a";
        CHECK(pk::lookup_candidates(legacy, "5e1e38108cf2410001c8a972", "murmur64", {"sha256"},
                                    false) == Strings{legacy});
        CHECK(pk::lookup_candidates(m64, "default", "sha256", {}, false) == Strings{m64});
        // No org on either side also counts as equal.
        CHECK(pk::lookup_candidates("mykey", "", "murmur64", {"sha256"}, false) ==
              Strings{"mykey"});
    }
    SECTION("custom form, raw key, then one per fallback") {
        CHECK(pk::lookup_candidates("mykey", "default", "murmur64", {"sha256", ""}, false) ==
              Strings{m64, "mykey", sha, "defaultmykey"});
    }
    SECTION("legacy hash_key_function: org+key first") {
        CHECK(pk::lookup_candidates("mykey", "default", "", {}, false) ==
              Strings{"defaultmykey", "mykey"});
    }
    SECTION("disable_key_actions_by_username leaves only the raw key") {
        CHECK(pk::lookup_candidates("mykey", "default", "murmur64", {"sha256"}, true) ==
              Strings{"mykey"});
    }
    SECTION("identical candidates appear once") {
        CHECK(pk::lookup_candidates("mykey", "default", "murmur64", {"murmur64", "md5"}, false) ==
              Strings{m64, "mykey"});
    }
    SECTION("a key already carrying the org prefix is not prefixed twice") {
        CHECK(pk::lookup_candidates("defaultmykey", "default", "murmur64", {}, false) ==
              Strings{m64, "defaultmykey"});
    }
    SECTION("a key equal to the org yields no generated candidates") {
        CHECK(pk::lookup_candidates("default", "default", "murmur64", {"sha256"}, false) ==
              Strings{"default"});
    }
    SECTION("a legacy key of another org is looked up under this org too") {
        const std::string other = "aaaaaaaaaaaaaaaaaaaaaaaabbbb";
        CHECK(pk::lookup_candidates(other, "5e1e38108cf2410001c8a972", "", {}, false) ==
              Strings{"5e1e38108cf2410001c8a972" + other, other});
    }
}

TEST_CASE("storage_key prefixes apikey- and hashes when asked", "[unit][keys]") {
    const std::string m64 = "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXI2NCJ9";
    CHECK(pk::storage_key("mykey", false) == "apikey-mykey");
    CHECK(pk::storage_key(m64, false) == "apikey-" + m64);
    CHECK(pk::storage_key(m64, true) == "apikey-20996d934a45f3af");
    CHECK(pk::storage_key("hello world", true) == "apikey-da5f6aad");
    CHECK(pk::storage_key("abc", true) == "apikey-00000000");
}

TEST_CASE("base64_encode matches RFC 4648 test vectors", "[unit][keys]") {
    const auto [plain, encoded] = GENERATE(table<std::string, std::string>({
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"\xff\xfe\xfd", "//79"},
    }));
    CAPTURE(plain);
    CHECK(pk::base64_encode(plain) == encoded);
    CHECK(pk::base64_decode(encoded) == plain);
    CHECK(pk::base64_decode_strict(encoded) == plain);
}

TEST_CASE("base64 decoders: padding, alphabets and errors", "[unit][keys]") {
    using Opt = std::optional<std::string>;
    const auto [input, lenient, url, strict] = GENERATE(table<std::string, Opt, Opt, Opt>({
        {"Zm9vYg==", "foob", "foob", "foob"},
        {"Zm9vYg", "foob", "foob", std::nullopt},
        {"Zm9vYmE", "fooba", "fooba", std::nullopt},
        {"Zm9vYg=", std::nullopt, std::nullopt, std::nullopt},
        {"Zm9vY", std::nullopt, std::nullopt, std::nullopt},
        {"//79", "\xff\xfe\xfd", std::nullopt, "\xff\xfe\xfd"},
        {"__79", std::nullopt, "\xff\xfe\xfd", std::nullopt},
        {"Zm9v\r\nYmFy", std::nullopt, std::nullopt, "foobar"},
        {"Zm=9", std::nullopt, std::nullopt, std::nullopt},
        {"Zm9v===", std::nullopt, std::nullopt, std::nullopt},
        {"Zm9v!", std::nullopt, std::nullopt, std::nullopt},
    }));
    CAPTURE(input);
    CHECK(pk::base64_decode(input) == lenient);
    CHECK(pk::base64url_decode(input) == url);
    CHECK(pk::base64_decode_strict(input) == strict);
}

TEST_CASE("lookup_candidates answers the same for keys seen before, past its memo's size",
          "[unit][keys]") {
    using Strings = std::vector<std::string>;
    // Legacy keys whose first 24 characters are hex: that is their org.
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 1500; ++i) {
            const std::string org = "5e1e38108cf2410001c8" +
                                    std::string(4 - std::to_string(i % 10000).size(), '0') +
                                    std::to_string(i % 10000);
            const std::string key = org + "b8f5e9c2d5d94f5a" + std::to_string(i);
            CAPTURE(round, i);
            REQUIRE(pk::lookup_candidates(key, org, "", {}, false) == Strings{key});
            REQUIRE(pk::lookup_candidates(key, "other", "", {}, true) == Strings{key});
            REQUIRE(pk::lookup_candidates(key, "other", "", {}, false) ==
                    Strings{"other" + key, key});
        }
    }
}
