#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::cluster {

/// The Redis pub/sub channel every node of a Tyk cluster listens on.
inline constexpr std::string_view kChannel = "tyk.cluster.notifications";

/// Notification commands this gateway sends or acts on (Tyk's names).
inline constexpr std::string_view kGroupReload = "GroupReload";
inline constexpr std::string_view kKeySpaceUpdate = "KeySpaceUpdateNotification";

/// One message on the channel, as Tyk encodes it: {"command", "payload", "signature",
/// "algorithm"}, the signature being hex(SHA-256(command + payload + node_secret)) with
/// algorithm 5 (Go's crypto.SHA256).
struct Notification {
    std::string command;
    std::string payload;
};

/// What a node does with a notification it accepted.
enum class Action {
    ignore,     // a command for someone else (dashboard, DRL, config pushes): nothing to do here
    reload,     // ApiUpdated, ApiRemoved, ApiAdded, PolicyChanged, GroupReload
    flush_keys, // KeySpaceUpdateNotification: drop cached copies of the keys in the payload
};

/// The signed message for `notification`, ready to PUBLISH.
std::string encode(const Notification& notification, std::string_view node_secret);

/// Reads a message from the channel. nullopt with `error` set when it is not a notification,
/// or its signature does not match `node_secret` (unless `allow_insecure`, Tyk's
/// allow_insecure_configs, which accepts unsigned messages too).
std::optional<Notification> decode(std::string_view message,
                                   std::string_view node_secret,
                                   bool allow_insecure,
                                   std::string& error);

/// The action for an accepted notification's command (unknown commands are ignored).
Action action_for(std::string_view command);

/// The keys named by a KeySpaceUpdateNotification payload: comma-separated, each cut at its
/// first ':' (Tyk's handleKeySpaceEventCacheFlush), empty entries dropped.
std::vector<std::string> flushed_keys(std::string_view payload);

} // namespace portcullis::cluster
