#include "middleware/cluster/notification.hpp"

#include "middleware/keys/key_hash.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

namespace portcullis::cluster {

namespace {

constexpr int kSha256 = 5; // Go's crypto.SHA256

std::string
signature_of(std::string_view command, std::string_view payload, std::string_view node_secret) {
    std::string signed_text;
    signed_text.reserve(command.size() + payload.size() + node_secret.size());
    signed_text.append(command).append(payload).append(node_secret);
    return keys::sha256_hex(signed_text);
}

} // namespace

std::string encode(const Notification& notification, std::string_view node_secret) {
    nlohmann::json message = {
        {"command", notification.command},
        {"payload", notification.payload},
        {"signature", signature_of(notification.command, notification.payload, node_secret)},
        {"algorithm", kSha256},
    };
    return message.dump();
}

std::optional<Notification> decode(std::string_view message,
                                   std::string_view node_secret,
                                   bool allow_insecure,
                                   std::string& error) {
    const auto json = nlohmann::json::parse(message, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        error = "not a JSON object";
        return std::nullopt;
    }
    const auto text_field = [&](const char* name) -> std::optional<std::string> {
        const auto it = json.find(name);
        if (it == json.end() || it->is_null()) {
            return std::string();
        }
        if (!it->is_string()) {
            return std::nullopt;
        }
        return it->get<std::string>();
    };
    auto command = text_field("command");
    auto payload = text_field("payload");
    const auto signature = text_field("signature");
    if (!command || !payload || !signature) {
        error = "command, payload and signature must be strings";
        return std::nullopt;
    }
    if (!allow_insecure) {
        const auto algorithm = json.find("algorithm");
        if (algorithm == json.end() || !algorithm->is_number_integer() ||
            algorithm->get<long long>() != kSha256) {
            error = "not signed with SHA-256 and node_secret";
            return std::nullopt;
        }
        const std::string expected = signature_of(*command, *payload, node_secret);
        if (signature->size() != expected.size() ||
            CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
            error = "signature does not match node_secret";
            return std::nullopt;
        }
    }
    return Notification{std::move(*command), std::move(*payload)};
}

Action action_for(std::string_view command) {
    if (command == kGroupReload || command == "ApiUpdated" || command == "ApiRemoved" ||
        command == "ApiAdded" || command == "PolicyChanged") {
        return Action::reload;
    }
    if (command == kKeySpaceUpdate) {
        return Action::flush_keys;
    }
    return Action::ignore;
}

std::vector<std::string> flushed_keys(std::string_view payload) {
    std::vector<std::string> keys;
    while (!payload.empty()) {
        const auto comma = payload.find(',');
        std::string_view entry = payload.substr(0, comma);
        payload = comma == std::string_view::npos ? std::string_view() : payload.substr(comma + 1);
        entry = entry.substr(0, entry.find(':'));
        if (!entry.empty()) {
            keys.emplace_back(entry);
        }
    }
    return keys;
}

} // namespace portcullis::cluster
