// Fuzz target: the session JSON codec (what Redis holds for a key) and policy application.
// Parses the input as a stored session, reads every field the gateway reads, serializes,
// parses the result again and requires the same serialization (the codec is stable), then
// checks that the changes a request makes replay onto the stored copy to the same document
// (twice = once), then applies a fixed set of policies to it.
#include "config/policy.hpp"
#include "fuzz/fuzz_input.hpp"
#include "middleware/core/session.hpp"
#include "middleware/core/session_patch.hpp"
#include "middleware/policy/apply.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace {

const portcullis::config::PolicySet& policies() {
    static const portcullis::config::PolicySet set = [] {
        portcullis::config::PolicySet s;
        const auto add = [&s](const char* id, const char* raw) {
            portcullis::config::Policy p;
            p.id = id;
            p.raw = nlohmann::json::parse(raw);
            p.raw["id"] = id;
            s.by_id.emplace(id, std::move(p));
        };
        add("gold", R"({"rate": 100, "per": 1, "quota_max": 1000, "quota_renewal_rate": 3600,
                        "access_rights": {"api1": {"api_id": "api1", "versions": ["Default"]}},
                        "meta_data": {"tier": "gold"}, "tags": ["paid"]})");
        add("acl", R"({"partitions": {"acl": true}, "access_rights":
                        {"api2": {"api_id": "api2", "versions": ["v1", "v2"],
                                  "allowed_urls": [{"url": "/x", "methods": ["GET"]}]}}})");
        add("perapi", R"({"partitions": {"per_api": true}, "access_rights":
                        {"api3": {"api_id": "api3", "limit": {"rate": 5, "per": 60,
                                  "quota_max": -1}}}})");
        return s;
    }();
    return set;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    std::string error;
    auto session = portcullis::Session::parse(text, error);
    if (!session) {
        if (error.empty()) {
            portcullis::fuzz::invariant_failed("a refused session has no message");
        }
        return 0;
    }
    // Every reader must cope with any JSON value in any field.
    volatile double sink =
        session->rate() + session->per() + static_cast<double>(session->quota_max()) +
        static_cast<double>(session->quota_remaining()) + static_cast<double>(session->expires());
    sink = sink + static_cast<double>(session->meta_data().size());
    const std::string once = session->serialize();
    auto again = portcullis::Session::parse(once, error);
    if (!again) {
        portcullis::fuzz::invariant_failed("a serialized session does not parse");
    }
    if (again->serialize() != once) {
        portcullis::fuzz::invariant_failed("serialize(parse(serialize(s))) != serialize(s)");
    }
    // A save-back replays only what changed onto the stored copy: the replay must give the
    // document the request saw, and replaying twice must change nothing more.
    portcullis::Session changed = *session;
    const nlohmann::json& meta = session->meta_data();
    if (meta.is_object() && !meta.empty()) {
        changed.erase_meta(meta.begin().key());
    }
    changed.set_meta("fuzz", nlohmann::json::array({1, "two"}));
    changed.set_field("last_check", 42);
    nlohmann::json replay = session->document();
    portcullis::apply_patch(replay, changed.changes());
    if (replay != changed.document()) {
        portcullis::fuzz::invariant_failed("a replayed patch differs from the changed session");
    }
    nlohmann::json twice = replay;
    portcullis::apply_patch(twice, changed.changes());
    if (twice != replay) {
        portcullis::fuzz::invariant_failed("applying a patch twice differs from once");
    }

    portcullis::Session with_policies = *session;
    (void)portcullis::policy::apply_policies(with_policies, policies());
    (void)with_policies.serialize();
    return 0;
}
