#include "config/policy_loader.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace pc = portcullis::config;
namespace fs = std::filesystem;
using portcullis::test::TempDir;

namespace {

const pc::ConfigError* error_for(const std::vector<pc::ConfigError>& errors,
                                 const std::string& file) {
    for (const pc::ConfigError& error : errors) {
        if (error.file == file) {
            return &error;
        }
    }
    return nullptr;
}

pc::PoliciesConfig from_dir(const fs::path& dir) {
    pc::PoliciesConfig cfg;
    cfg.policy_source = "file";
    cfg.policy_path = dir.string();
    return cfg;
}

pc::PoliciesConfig from_record(const fs::path& file) {
    pc::PoliciesConfig cfg;
    cfg.policy_record_name = file.string();
    return cfg;
}

} // namespace

TEST_CASE("policy directory: each *.json file is one policy", "[unit][policies]") {
    const TempDir dir;
    dir.write("gold.json", R"({"id": "gold", "rate": 100, "per": 1, "org_id": "o1"})");
    dir.write("b-silver.json", R"({"id": "silver", "quota_max": 10})");
    dir.write("README.md", "not a policy");
    dir.write("old.json.bak", "{");
    fs::create_directory(dir.path() / "nested.json");

    std::vector<pc::ConfigError> errors;
    const auto set = pc::load_policies(from_dir(dir.path()), errors);

    CHECK(errors.empty());
    REQUIRE(set->by_id.size() == 2);
    const pc::Policy* gold = set->find("gold");
    REQUIRE(gold != nullptr);
    CHECK(gold->id == "gold");
    CHECK(gold->source_file == (dir.path() / "gold.json").string());
    CHECK(gold->raw["rate"] == 100);
    CHECK(gold->raw["org_id"] == "o1");
    const pc::Policy* silver = set->find("silver");
    REQUIRE(silver != nullptr);
    CHECK(silver->raw["quota_max"] == 10);
    CHECK(set->find("b-silver") == nullptr);
    CHECK(set->find("nope") == nullptr);
}

TEST_CASE("policy directory: id falls back to _id, then to the file name", "[unit][policies]") {
    const TempDir dir;
    dir.write("a.json", R"({"_id": "5e1f00000000000000000001", "name": "legacy"})");
    dir.write("b.json", R"({"id": "", "name": "from file name"})");
    dir.write("c.json", R"({"name": "no id at all", "_id": 42})");
    dir.write("d.json", R"({"id": "explicit", "_id": "ignored"})");

    std::vector<pc::ConfigError> errors;
    const auto set = pc::load_policies(from_dir(dir.path()), errors);

    CHECK(errors.empty());
    REQUIRE(set->by_id.size() == 4);
    REQUIRE(set->find("5e1f00000000000000000001") != nullptr);
    CHECK(set->find("5e1f00000000000000000001")->raw["id"] == "5e1f00000000000000000001");
    REQUIRE(set->find("b") != nullptr);
    CHECK(set->find("b")->raw["id"] == "b");
    CHECK(set->find("b")->raw["name"] == "from file name");
    REQUIRE(set->find("c") != nullptr);
    CHECK(set->find("c")->raw["name"] == "no id at all");
    REQUIRE(set->find("explicit") != nullptr);
    CHECK(set->find("ignored") == nullptr);
}

TEST_CASE("policy directory: broken files are reported and skipped, the rest load",
          "[unit][policies]") {
    const TempDir dir;
    dir.write("10-good.json", R"({"id": "good"})");
    const auto broken = dir.write("20-broken.json", "{\n  \"id\": \"broken\",\n  ,\n}");
    const auto array = dir.write("30-array.json", R"([{"id": "in-array"}])");
    const auto bad_id = dir.write("40-bad-id.json", R"({"id": 7})");
    dir.write("50-also-good.json", R"({"id": "also-good"})");

    std::vector<pc::ConfigError> errors;
    const auto set = pc::load_policies(from_dir(dir.path()), errors);

    REQUIRE(set->by_id.size() == 2);
    CHECK(set->find("good") != nullptr);
    CHECK(set->find("also-good") != nullptr);
    REQUIRE(errors.size() == 3);

    const pc::ConfigError* syntax = error_for(errors, broken.string());
    REQUIRE(syntax != nullptr);
    CHECK(syntax->line == 3);
    CHECK(syntax->column == 3);

    const pc::ConfigError* not_object = error_for(errors, array.string());
    REQUIRE(not_object != nullptr);
    CHECK(not_object->message.find("object") != std::string::npos);

    const pc::ConfigError* wrong_id = error_for(errors, bad_id.string());
    REQUIRE(wrong_id != nullptr);
    CHECK(wrong_id->json_path == "/id");
}

TEST_CASE("policy directory: the first file with an id wins, the repeat is reported",
          "[unit][policies]") {
    const TempDir dir;
    dir.write("a.json", R"({"id": "p1", "rate": 1})");
    const auto second = dir.write("b.json", R"({"id": "p1", "rate": 2})");

    std::vector<pc::ConfigError> errors;
    const auto set = pc::load_policies(from_dir(dir.path()), errors);

    REQUIRE(set->by_id.size() == 1);
    CHECK(set->find("p1")->raw["rate"] == 1);
    CHECK(set->find("p1")->source_file == (dir.path() / "a.json").string());
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].file == second.string());
    CHECK(errors[0].json_path == "/id");
    CHECK(errors[0].message.find("duplicate policy id p1") != std::string::npos);
}

TEST_CASE("policy directory: a missing directory is one error", "[unit][policies]") {
    const TempDir dir;
    std::vector<pc::ConfigError> errors;
    const auto set = pc::load_policies(from_dir(dir.path() / "absent"), errors);
    REQUIRE(set != nullptr);
    CHECK(set->by_id.empty());
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].file == (dir.path() / "absent").string());
}

TEST_CASE("policy record file: an object map id -> policy, the key overrides id",
          "[unit][policies]") {
    const TempDir dir;
    const auto file = dir.write("policies.json", R"({
  "gold": {"id": "something-else", "rate": 100},
  "silver": {"quota_max": 5},
  "broken": "not a policy",
  "a/b": [1]
})");

    std::vector<pc::ConfigError> errors;
    const auto set = pc::load_policies(from_record(file), errors);

    REQUIRE(set->by_id.size() == 2);
    REQUIRE(set->find("gold") != nullptr);
    CHECK(set->find("gold")->raw["id"] == "gold");
    CHECK(set->find("gold")->raw["rate"] == 100);
    CHECK(set->find("gold")->source_file == file.string());
    CHECK(set->find("something-else") == nullptr);
    REQUIRE(set->find("silver") != nullptr);
    CHECK(set->find("silver")->raw["id"] == "silver");

    REQUIRE(errors.size() == 2);
    CHECK(errors[0].file == file.string());
    CHECK(errors[0].json_path == "/a~1b");
    CHECK(errors[1].json_path == "/broken");
}

TEST_CASE("policy record file: missing, broken or not an object loads nothing",
          "[unit][policies]") {
    const TempDir dir;
    std::vector<pc::ConfigError> errors;

    SECTION("missing") {
        const auto set = pc::load_policies(from_record(dir.path() / "absent.json"), errors);
        CHECK(set->by_id.empty());
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].file == (dir.path() / "absent.json").string());
    }
    SECTION("not JSON") {
        const auto file = dir.write("policies.json", "{\"a\": {}\n,,");
        const auto set = pc::load_policies(from_record(file), errors);
        CHECK(set->by_id.empty());
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].line == 2);
    }
    SECTION("an array") {
        const auto file = dir.write("policies.json", R"([{"id": "a"}])");
        const auto set = pc::load_policies(from_record(file), errors);
        CHECK(set->by_id.empty());
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].file == file.string());
    }
}

TEST_CASE("policy sources: policy_path wins over policy_record_name; none is empty",
          "[unit][policies]") {
    const TempDir dir;
    dir.write("pols/a.json", R"({"id": "from-dir"})");
    const auto record = dir.write("record.json", R"({"from-record": {}})");
    std::vector<pc::ConfigError> errors;

    SECTION("both set") {
        pc::PoliciesConfig cfg = from_dir(dir.path() / "pols");
        cfg.policy_record_name = record.string();
        const auto set = pc::load_policies(cfg, errors);
        CHECK(errors.empty());
        CHECK(set->find("from-dir") != nullptr);
        CHECK(set->find("from-record") == nullptr);
    }
    SECTION("neither set") {
        const auto set = pc::load_policies(pc::PoliciesConfig{}, errors);
        REQUIRE(set != nullptr);
        CHECK(set->by_id.empty());
        CHECK(errors.empty());
    }
}

TEST_CASE("policy source service or rpc is not supported: one error, nothing loaded",
          "[unit][policies]") {
    const TempDir dir;
    dir.write("a.json", R"({"id": "a"})");
    pc::PoliciesConfig cfg = from_dir(dir.path());
    cfg.policy_source = GENERATE(std::string("service"), std::string("rpc"));

    std::vector<pc::ConfigError> errors;
    const auto set = pc::load_policies(cfg, errors);
    CHECK(set->by_id.empty());
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].json_path == "/policies/policy_source");
    CHECK(errors[0].message.find(cfg.policy_source) != std::string::npos);
    CHECK(pc::policies_from_service(cfg));
}
