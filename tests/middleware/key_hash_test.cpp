#include "middleware/keys/base64.hpp"
#include "middleware/keys/key_hash.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>

namespace pk = portcullis::keys;

// Expected digests were computed independently with a pure-Python MurmurHash3_x64_128 (itself
// checked against the SMHasher verification value 0x6384BA69), a pure-Python model of Tyk's
// murmur32 (block mix only) and hashlib.sha256.

TEST_CASE("MurmurHash3_x64_128 passes the SMHasher verification test", "[unit][keys]") {
    // Hash {}, {0}, {0,1}, ... {0..254} with seed 256-i, hash the concatenated little-endian
    // digests with seed 0; the low 32 bits of h1 are the published verification value.
    std::string key;
    std::string all;
    for (int i = 0; i < 256; ++i) {
        const auto h = pk::murmur3_x64_128(key, static_cast<std::uint32_t>(256 - i));
        for (const std::uint64_t part : h) {
            for (int b = 0; b < 8; ++b) {
                all.push_back(static_cast<char>((part >> (8 * b)) & 0xFF));
            }
        }
        key.push_back(static_cast<char>(i));
    }
    const auto final_hash = pk::murmur3_x64_128(all, 0);
    CHECK(static_cast<std::uint32_t>(final_hash[0] & 0xFFFFFFFFU) == 0x6384BA69U);
}

TEST_CASE("hash vectors for every algorithm", "[unit][keys]") {
    const auto [input, m32, m64, m128, sha] =
        GENERATE(table<std::string, std::string, std::string, std::string, std::string>({
            {"", "00000000", "0000000000000000", "00000000000000000000000000000000",
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
            {"a", "00000000", "85555565f6597889", "85555565f6597889e6b53a48510e895a",
             "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
            {"abc", "00000000", "b4963f3f3fad7867", "b4963f3f3fad78673ba2744126ca2d52",
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
            {"abcd", "86a7049e", "b87bb7d64656cd4f", "b87bb7d64656cd4ff2003e886073e875",
             "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"},
            {"hello", "ef13efcd", "cbd8a7b341bd9b02", "cbd8a7b341bd9b025b1e906a48ae1d19",
             "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
            {"hello world", "da5f6aad", "533f6046eb7f610e", "533f6046eb7f610eab97467d60eb63b1",
             "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"},
            {"The quick brown fox jumps over the lazy dog", "d453972f", "e34bbc7bbc071b6c",
             "e34bbc7bbc071b6c7a433ca9c49a9347",
             "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
            {"012345678", "a228a3cb", "4c1e87519fe738ba", "4c1e87519fe738ba72a17af899d597f1",
             "36f50957f5e0b6ee3ef455674da35a86667f3314209dc1514c510fe95e840831"},
            {"exactly16bytes!!", "c7bb76de", "5553cb122c80516c", "5553cb122c80516cd4d860e5f3b09d31",
             "d0467cc44f6bbdfa877046ef4839e522a1ef6cab92c13f40330e5ad3178277f3"},
            {"0123456789abcdef0", "61c9613e", "eb24ae8785a5c075",
             "eb24ae8785a5c07573fb68b3313128ca",
             "d4022b7a487c57c12cde98550a8adb6da38f7f30aa3b44deb347c9cbb5383514"},
            {"5e1e38108cf2410001c8a972b8f5e9c2d5d94f5a9f0c4b7da1a3b4c5d6e7f809", "a3b79911",
             "c5149a25a4e403c9", "c5149a25a4e403c960c60dfd3a150eb5",
             "d123ceef0779599a5d2a110c83ebb5bebc342a67326b9d0a5126fa7508420c9b"},
        }));
    CAPTURE(input);
    CHECK(pk::murmur32_tyk(input) == m32);
    CHECK(pk::murmur64_hex(input) == m64);
    CHECK(pk::murmur128_hex(input) == m128);
    CHECK(pk::sha256_hex(input) == sha);
    CHECK(pk::hash_with(pk::HashAlgorithm::murmur32, input) == m32);
    CHECK(pk::hash_with(pk::HashAlgorithm::murmur64, input) == m64);
    CHECK(pk::hash_with(pk::HashAlgorithm::murmur128, input) == m128);
    CHECK(pk::hash_with(pk::HashAlgorithm::sha256, input) == sha);
}

TEST_CASE("Tyk murmur32 ignores the 1-3 tail bytes (TestMurmur3CharBug)", "[unit][keys]") {
    const std::string key =
        GENERATE(std::string("abcd"), std::string("1mysecretkey"),
                 // A murmur32 custom-key token: base64 output is always a multiple of 4 long.
                 std::string("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXIzMiJ9"));
    CAPTURE(key);
    REQUIRE(key.size() % 4 == 0);
    CHECK(pk::murmur32_tyk(key + "abc") == pk::murmur32_tyk(key));
    CHECK(pk::murmur32_tyk(key + "1") == pk::murmur32_tyk(key));
    CHECK(pk::murmur32_tyk(key + "12") == pk::murmur32_tyk(key));
    // A fourth byte completes a block and changes the hash.
    CHECK(pk::murmur32_tyk(key + "abcd") != pk::murmur32_tyk(key));
    // hash_key reads the algorithm from the token, so the suffixed murmur32 token collides too.
    CHECK(pk::hash_key(key + "abc") == pk::hash_key(key));
}

TEST_CASE("Tyk murmur32 of anything shorter than 4 bytes is zero", "[unit][keys]") {
    const std::string input = GENERATE(std::string(""), std::string("x"), std::string("ab"),
                                       std::string("abc"), std::string("\xff\xfe\xfd"));
    CHECK(pk::murmur32_tyk(input) == "00000000");
}

TEST_CASE("a legacy key whose length is not a multiple of 4 does not collide with key+abc",
          "[unit][keys]") {
    // "default" + 32 hex = 39 chars: the appended bytes complete a block (Tyk's legacy subtest).
    const std::string key = "default0123456789abcdef0123456789abcdef";
    REQUIRE(key.size() == 39);
    CHECK(pk::murmur32_tyk(key + "abc") != pk::murmur32_tyk(key));
    // murmur64 mixes the tail and length: no collision even on a multiple of 4.
    CHECK(pk::murmur64_hex(std::string("abcd") + "abc") != pk::murmur64_hex("abcd"));
}

TEST_CASE("parse_hash_algorithm knows Tyk's four names, case-sensitively", "[unit][keys]") {
    using Opt = std::optional<pk::HashAlgorithm>;
    const auto [name, expected] = GENERATE(table<std::string, Opt>({
        {"murmur32", pk::HashAlgorithm::murmur32},
        {"murmur64", pk::HashAlgorithm::murmur64},
        {"murmur128", pk::HashAlgorithm::murmur128},
        {"sha256", pk::HashAlgorithm::sha256},
        {"", pk::HashAlgorithm::murmur32}, // legacy default
        {"MURMUR64", std::nullopt},
        {"murmur3", std::nullopt},
        {"md5", std::nullopt},
        {"sha256 ", std::nullopt},
    }));
    CAPTURE(name);
    CHECK(pk::parse_hash_algorithm(name) == expected);
    if (expected && !name.empty()) {
        CHECK(pk::hash_algorithm_name(*expected) == name);
    }
}

TEST_CASE("hash_key takes the algorithm from the token itself", "[unit][keys]") {
    const auto [token, expected] = GENERATE(table<std::string, std::string>({
        // {"org":"default","id":"mykey","h":"murmur64"}
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXI2NCJ9", "20996d934a45f3af"},
        // ... "h":"murmur128"
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXIxMjgifQ==",
         "a253b911598da48c88c821365424c14b"},
        // ... "h":"sha256"
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJzaGEyNTYifQ==",
         "103870ea2b2743f8a275d1e65e917ff9e44ebfae66eade42ae92f2195bb3f5c0"},
        // ... "h":"murmur32"
        {"eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXIzMiJ9", "266c2727"},
        // Legacy tokens are murmur32.
        {"5e1e38108cf2410001c8a972b8f5e9c2d5d94f5a9f0c4b7da1a3b4c5d6e7f809", "a3b79911"},
        {"hello world", "da5f6aad"},
    }));
    CAPTURE(token);
    CHECK(pk::hash_key(token) == expected);
}

TEST_CASE("hash_key falls back to murmur32 when the token's h is unusable", "[unit][keys]") {
    const std::string token = GENERATE(
        // Unknown algorithm name.
        pk::base64_encode(R"({"org":"o","id":"k","h":"md5"})"),
        // "h" missing, empty, or not a string.
        pk::base64_encode(R"({"org":"o","id":"k"})"),
        pk::base64_encode(R"({"org":"o","id":"k","h":""})"),
        pk::base64_encode(R"({"org":"o","id":"k","h":64})"),
        // Starts with "ey" but is not base64 of JSON.
        std::string("eyinvalid_base64"),
        // Padding stripped: Go's StdEncoding rejects it, so it is not a custom token.
        std::string("eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJzaGEyNTYifQ"),
        // Valid JSON, but the token does not start with "ey" (leading space in the JSON).
        pk::base64_encode(R"( {"h":"sha256"})"));
    CAPTURE(token);
    CHECK(pk::hash_key(token) == pk::murmur32_tyk(token));
}

TEST_CASE("hash_str: an explicit algorithm wins, unknown means murmur32, empty reads the token",
          "[unit][keys]") {
    const std::string token = "eyJvcmciOiJkZWZhdWx0IiwiaWQiOiJteWtleSIsImgiOiJtdXJtdXI2NCJ9";
    CHECK(pk::hash_str(token, "") == "20996d934a45f3af");
    CHECK(pk::hash_str(token, "sha256") == pk::sha256_hex(token));
    CHECK(pk::hash_str(token, "murmur32") == "7c4c86d2");
    CHECK(pk::hash_str("abc", "unknown") == "00000000");
    CHECK(pk::hash_str("abc", "sha256") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
