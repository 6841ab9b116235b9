#include "middleware/core/session.hpp"
#include "middleware/core/session_patch.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

using nlohmann::json;
using portcullis::apply_patch;
using portcullis::patch_from_update;
using portcullis::Session;
using portcullis::SessionPatch;

namespace {

Session parse_ok(const std::string& text) {
    std::string error;
    auto session = Session::parse(text, error);
    INFO(error);
    REQUIRE(session.has_value());
    return *session;
}

const char* const kStored = R"({
  "rate": 100, "per": 60, "quota_max": 1000, "quota_remaining": 900,
  "org_id": "org", "tags": ["a"], "some_future_field": {"x": [1, 2.5]},
  "meta_data": {"user_id": "u-1", "tier": 3, "keep": {"deep": true}}
})";

} // namespace

TEST_CASE("an empty patch changes nothing", "[unit][session]") {
    const SessionPatch patch;
    CHECK(patch.empty());
    json session = json::parse(kStored);
    apply_patch(session, patch);
    CHECK(session == json::parse(kStored));
}

TEST_CASE("a patch is empty only when it names nothing", "[unit][session]") {
    SessionPatch fields;
    fields.fields["rate"] = 1;
    SessionPatch meta;
    meta.meta["k"] = std::nullopt;
    SessionPatch replace;
    replace.replace_meta = true;
    CHECK_FALSE(fields.empty());
    CHECK_FALSE(meta.empty());
    CHECK_FALSE(replace.empty());
}

TEST_CASE("a patch applied to a different base keeps the base's other fields and meta keys",
          "[unit][session]") {
    // The writer read an older copy and changed one meta key and one field.
    Session old_copy = parse_ok(R"({"rate": 1, "meta_data": {"user_id": "old"}})");
    old_copy.set_meta("user_id", "u-9");
    old_copy.set_field("quota_remaining", 5);

    // Meanwhile the stored copy gained fields and meta keys the writer never saw.
    json fresh = json::parse(kStored);
    apply_patch(fresh, old_copy.changes());

    json expected = json::parse(kStored);
    expected["meta_data"]["user_id"] = "u-9";
    expected["quota_remaining"] = 5;
    CHECK(fresh == expected);
    // The writer's stale `rate` is not written back.
    CHECK(fresh.at("rate") == 100);
}

TEST_CASE("two writers' patches applied in sequence keep both changes", "[unit][session]") {
    const std::string stored_text = kStored;
    // Both writers load the same stored copy.
    Session writer_a = parse_ok(stored_text);
    Session writer_b = parse_ok(stored_text);
    writer_a.set_meta("last_ip", "10.0.0.1");
    writer_a.erase_meta("tier");
    writer_a.set_field("quota_remaining", 899);
    writer_b.set_meta("plugin_flag", true);
    writer_b.set_field("alias", "renamed");

    // A saves first; B's compare-and-set fails, so B re-reads (A's result) and replays its patch.
    json stored = json::parse(stored_text);
    apply_patch(stored, writer_a.changes());
    json reread = stored;
    apply_patch(reread, writer_b.changes());

    json expected = json::parse(stored_text);
    expected["meta_data"]["last_ip"] = "10.0.0.1";
    expected["meta_data"].erase("tier");
    expected["quota_remaining"] = 899;
    expected["meta_data"]["plugin_flag"] = true;
    expected["alias"] = "renamed";
    CHECK(reread == expected);

    // The other order gives the same document: the writers touched different things.
    json other = json::parse(stored_text);
    apply_patch(other, writer_b.changes());
    apply_patch(other, writer_a.changes());
    CHECK(other == expected);
}

TEST_CASE("applying a patch twice equals applying it once", "[unit][session]") {
    SessionPatch patch;
    patch.fields["quota_remaining"] = 7;
    patch.fields["new_field"] = json{{"a", json::array({1, 2.5})}};
    patch.replace_meta = true;
    patch.meta_replacement = json{{"base", 1}, {"gone", 2}};
    patch.meta["added"] = json("x");
    patch.meta["gone"] = std::nullopt;

    json once = json::parse(kStored);
    apply_patch(once, patch);
    json twice = once;
    apply_patch(twice, patch);
    CHECK(twice == once);
    CHECK(once.at("meta_data") == json{{"base", 1}, {"added", "x"}});
    CHECK(once.at("new_field") == json{{"a", json::array({1, 2.5})}});
    CHECK(once.at("some_future_field") == json::parse(R"({"x": [1, 2.5]})"));
}

TEST_CASE("meta changes against missing, null or non-object meta_data", "[unit][session]") {
    auto [base, meta_key, value,
          expected] = GENERATE(table<std::string, std::string, std::optional<json>, std::string>({
        {R"({"a":1})", "k", json(1), R"({"a":1,"meta_data":{"k":1}})"},
        {R"({"a":1})", "k", std::nullopt, R"({"a":1})"},
        {R"({"meta_data":null})", "k", json(1), R"({"meta_data":{"k":1}})"},
        {R"({"meta_data":null})", "k", std::nullopt, R"({"meta_data":null})"},
        {R"({"meta_data":"str"})", "k", json(1), R"({"meta_data":{"k":1}})"},
        {R"({"meta_data":"str"})", "k", std::nullopt, R"({"meta_data":"str"})"},
        {R"({"meta_data":{"k":0,"o":2}})", "k", std::nullopt, R"({"meta_data":{"o":2}})"},
        {R"({"meta_data":{"k":0,"o":2}})", "k", json(nullptr), R"({"meta_data":{"k":null,"o":2}})"},
    }));
    CAPTURE(base, meta_key, expected);
    SessionPatch patch;
    patch.meta[meta_key] = value;
    json session = json::parse(base);
    apply_patch(session, patch);
    CHECK(session == json::parse(expected));
}

TEST_CASE("a non-object session becomes an object before the patch applies", "[unit][session]") {
    SessionPatch patch;
    patch.fields["rate"] = 5;
    json session = json::array();
    apply_patch(session, patch);
    CHECK(session == json{{"rate", 5}});
}

TEST_CASE("replace_meta replaces meta_data wholesale, per-key changes apply on top",
          "[unit][session]") {
    SessionPatch patch;
    patch.replace_meta = true;
    patch.meta_replacement = json{{"fresh", 1}};
    patch.meta["extra"] = json(2);
    json session = json::parse(kStored);
    apply_patch(session, patch);
    CHECK(session.at("meta_data") == json{{"fresh", 1}, {"extra", 2}});
    CHECK(session.at("org_id") == "org");

    // A null replacement (Tyk writes a nil map as null) is kept as null.
    SessionPatch to_null;
    to_null.replace_meta = true;
    json nulled = json::parse(kStored);
    apply_patch(nulled, to_null);
    CHECK(nulled.at("meta_data").is_null());
}

TEST_CASE("merge folds a later patch in as if applied in order", "[unit][session]") {
    SessionPatch earlier;
    earlier.fields["rate"] = 1;
    earlier.fields["per"] = 2;
    earlier.meta["a"] = json("old");
    earlier.meta["b"] = json("keep");

    SessionPatch later;
    later.fields["rate"] = 10;
    later.meta["a"] = std::nullopt;
    later.meta["c"] = json("new");

    SessionPatch merged = earlier;
    merged.merge(later);
    CHECK(merged.fields.at("rate") == 10);
    CHECK(merged.fields.at("per") == 2);
    CHECK_FALSE(merged.meta.at("a").has_value());
    CHECK(merged.meta.at("b") == std::optional<json>(json("keep")));
    CHECK(merged.meta.at("c") == std::optional<json>(json("new")));
    CHECK_FALSE(merged.replace_meta);

    json in_order = json::parse(kStored);
    apply_patch(in_order, earlier);
    apply_patch(in_order, later);
    json folded = json::parse(kStored);
    apply_patch(folded, merged);
    CHECK(folded == in_order);

    // A later wholesale replacement discards earlier per-key changes.
    SessionPatch replacing;
    replacing.replace_meta = true;
    replacing.meta_replacement = json{{"z", 0}};
    merged.merge(replacing);
    CHECK(merged.replace_meta);
    CHECK(merged.meta.empty());
    apply_patch(in_order, replacing);
    json folded_again = json::parse(kStored);
    apply_patch(folded_again, merged);
    CHECK(folded_again == in_order);
    CHECK(folded_again.at("meta_data") == json{{"z", 0}});
}

TEST_CASE("patch_from_update sets the body's fields and nothing else", "[unit][session]") {
    auto [body, expected] = GENERATE(table<std::string, std::string>({
        // A full body: every field it names is set, meta_data replaced wholesale.
        {R"({"rate": 5, "per": 1.5, "tags": [], "meta_data": {"new": 1}})",
         R"({"rate": 5, "per": 1.5, "quota_max": 1000, "quota_remaining": 900, "org_id": "org",
             "tags": [], "some_future_field": {"x": [1, 2.5]}, "meta_data": {"new": 1}})"},
        // Fields absent from the body are not touched, meta_data included.
        {R"({"quota_max": -1})",
         R"({"rate": 100, "per": 60, "quota_max": -1, "quota_remaining": 900, "org_id": "org",
             "tags": ["a"], "some_future_field": {"x": [1, 2.5]},
             "meta_data": {"user_id": "u-1", "tier": 3, "keep": {"deep": true}}})"},
        // Explicit zeros and nulls in the body are written as given.
        {R"({"rate": 0, "org_id": "", "meta_data": null, "unknown": {"y": 2.0}})",
         R"({"rate": 0, "per": 60, "quota_max": 1000, "quota_remaining": 900, "org_id": "",
             "tags": ["a"], "some_future_field": {"x": [1, 2.5]}, "meta_data": null,
             "unknown": {"y": 2.0}})"},
        // An empty body, or one that is not an object, changes nothing.
        {R"({})", kStored},
        {R"([1, 2])", kStored},
        {R"("text")", kStored},
    }));
    CAPTURE(body);
    const SessionPatch patch = patch_from_update(json::parse(body));
    json session = json::parse(kStored);
    apply_patch(session, patch);
    CHECK(session == json::parse(expected));
}

TEST_CASE("patch_from_update keeps meta_data out of fields", "[unit][session]") {
    const SessionPatch patch =
        patch_from_update(json::parse(R"({"alias": "a", "meta_data": {"k": 1}})"));
    CHECK(patch.fields.size() == 1);
    CHECK(patch.fields.at("alias") == "a");
    CHECK(patch.replace_meta);
    CHECK(patch.meta_replacement == json{{"k", 1}});
    CHECK(patch.meta.empty());

    const SessionPatch no_meta = patch_from_update(json::parse(R"({"alias": "a"})"));
    CHECK_FALSE(no_meta.replace_meta);
    CHECK(patch_from_update(json::object()).empty());
}
