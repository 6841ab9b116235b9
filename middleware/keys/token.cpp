#include "middleware/keys/token.hpp"

#include "middleware/keys/base64.hpp"
#include "middleware/keys/key_hash.hpp"

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

namespace portcullis::keys {

namespace {

constexpr std::string_view kB64JsonPrefix = "ey"; // `{"` in base64
constexpr std::size_t kMongoIdLength = 24;
constexpr std::string_view kDefaultHashAlgorithm = "murmur64";

bool is_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
}

// Tyk reads these fields with buger/jsonparser, which ignores anything after the top-level
// value; nlohmann's stream extraction is equally non-strict about trailing text.
std::optional<nlohmann::json> parse_object(const std::string& text) {
    std::istringstream in(text);
    nlohmann::json doc;
    try {
        in >> doc;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
    if (!doc.is_object()) {
        return std::nullopt;
    }
    return doc;
}

std::string string_field(const nlohmann::json& doc, const char* name) {
    const auto it = doc.find(name);
    if (it == doc.end() || !it->is_string()) {
        return {};
    }
    return it->get<std::string>();
}

// GenerateToken after the org prefix is gone and the id is known non-empty.
std::string
make_token(std::string_view org_id, std::string_view key_id, std::string_view hash_algorithm) {
    if (hash_algorithm.empty()) {
        std::string token(org_id);
        token += key_id;
        return token;
    }
    const std::string_view algo =
        parse_hash_algorithm(hash_algorithm) ? hash_algorithm : kDefaultHashAlgorithm;
    std::string json = R"({"org":")";
    json += org_id;
    json += R"(","id":")";
    json += key_id;
    json += R"(","h":")";
    json += algo;
    json += R"("})";
    return base64_encode(json);
}

std::string_view trim_org(std::string_view key_id, std::string_view org_id) {
    if (key_id.starts_with(org_id)) {
        key_id.remove_prefix(org_id.size());
    }
    return key_id;
}

} // namespace

std::string
generate_token(std::string_view org_id, std::string_view key_id, std::string_view hash_algorithm) {
    const std::string_view id = trim_org(key_id, org_id);
    if (id.empty()) {
        return make_token(org_id, new_key_id(), hash_algorithm);
    }
    return make_token(org_id, id, hash_algorithm);
}

std::string new_key_id() {
    std::array<unsigned char, 16> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40); // version 4
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(32);
    for (const unsigned char b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0F]);
    }
    return out;
}

TokenInfo parse_token(std::string_view token) {
    TokenInfo info;
    if (token.starts_with(kB64JsonPrefix)) {
        if (const auto decoded = base64_decode_strict(token)) {
            if (const auto doc = parse_object(*decoded)) {
                info.custom_form = true;
                info.org_id = string_field(*doc, "org");
                info.key_id = string_field(*doc, "id");
                info.hash_algorithm = string_field(*doc, "h");
                return info;
            }
        }
    }
    if (token.size() > kMongoIdLength && is_hex(token.substr(0, kMongoIdLength))) {
        info.org_id = std::string(token.substr(0, kMongoIdLength));
        info.key_id = std::string(token.substr(kMongoIdLength));
    } else {
        info.key_id = std::string(token);
    }
    return info;
}

namespace {

/// parse_token(key).org_id, remembered per thread for the keys seen last (the same keys come
/// back request after request; decoding the base64 JSON form each time is most of the lookup).
const std::string& token_org(std::string_view key) {
    constexpr std::size_t kEntries = 1024;
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    thread_local std::unordered_map<std::string, std::string, Hash, std::equal_to<>> orgs;
    if (const auto it = orgs.find(key); it != orgs.end()) {
        return it->second;
    }
    if (orgs.size() >= kEntries) {
        orgs.clear();
    }
    return orgs.emplace(std::string(key), parse_token(key).org_id).first->second;
}

} // namespace

std::vector<std::string> lookup_candidates(std::string_view key,
                                           std::string_view api_org,
                                           std::string_view hash_key_function,
                                           const std::vector<std::string>& fallbacks,
                                           bool disable_key_actions_by_username) {
    std::vector<std::string> out;
    if (token_org(key) == api_org) {
        out.emplace_back(key);
        return out;
    }
    const auto add = [&out](std::string candidate) {
        if (std::find(out.begin(), out.end(), candidate) == out.end()) {
            out.push_back(std::move(candidate));
        }
    };
    const std::string_view id = trim_org(key, api_org);
    const bool generated = !disable_key_actions_by_username && !id.empty();
    if (generated) {
        add(make_token(api_org, id, hash_key_function));
    }
    add(std::string(key));
    if (generated) {
        for (const auto& fallback : fallbacks) {
            add(make_token(api_org, id, fallback));
        }
    }
    return out;
}

std::string storage_key(std::string_view token, bool hash_keys) {
    return "apikey-" + (hash_keys ? hash_key(token) : std::string(token));
}

} // namespace portcullis::keys
