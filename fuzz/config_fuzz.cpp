// Fuzz target: configuration loading as the gateway does it at start and on every reload.
// The first byte picks what the rest is:
//   0: tyk.conf text (parse_gateway_config);
//   1: an API definition file: parsed, validated, its middleware compiled (URL rewrites,
//      header and body transforms, limits...) and routed;
//   2: a policy file (`policy_record_name`): loaded and applied to a session.
// Only ConfigException is an expected failure (the loaders report it and skip the file); any
// other exception escaping would take the gateway down on a reload, so the fuzzer reports it.
#include "config/api_definition.hpp"
#include "config/config_error.hpp"
#include "config/gateway_config.hpp"
#include "config/policy_loader.hpp"
#include "fuzz/fuzz_input.hpp"
#include "middleware/core/session.hpp"
#include "middleware/policy/apply.hpp"
#include "middleware/proxy/api_router.hpp"
#include "middleware/transform/api_transforms.hpp"

#include <string>
#include <unistd.h>

namespace {

using namespace portcullis;

void gateway_conf(std::string_view text) {
    try {
        const config::GatewayConfig conf = config::parse_gateway_config(text, "tyk.conf");
        (void)conf.listen_port;
    } catch (const config::ConfigException&) {
    }
}

void api_definition(std::string_view text) {
    static const config::GatewayConfig conf =
        config::parse_gateway_config(R"({"listen_port": 8080, "secret": "s"})", "tyk.conf");
    std::shared_ptr<const config::ApiDefinition> api;
    try {
        api = std::make_shared<const config::ApiDefinition>(
            config::parse_api_definition(config::parse_json_text(text, "api.json"), "api.json"));
    } catch (const config::ConfigException&) {
        return;
    }
    std::vector<config::ConfigError> errors;
    const auto transforms = transform::compile_api_transforms(*api, conf, errors);
    const proxy::ApiRouter router{{api}, false};
    for (const char* path : {"/", "/a/b", "/users/7?x=1", "//", "/%2e%2E/"}) {
        (void)router.match(path);
    }
    (void)transforms;
}

void policies(std::string_view text) {
    // The loader reads files; one per process, rewritten for each input.
    static const std::string file = [] {
        const char* dir = std::getenv("TMPDIR");
        return std::string(dir != nullptr ? dir : "/tmp") + "/portcullis-fuzz-policies-" +
               std::to_string(::getpid()) + ".json";
    }();
    fuzz::write_file(file, text);
    config::PoliciesConfig cfg;
    cfg.policy_record_name = file;
    std::vector<config::ConfigError> errors;
    const auto set = config::load_policies(cfg, errors);
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& [id, policy] : set->by_id) {
        ids.push_back(id);
    }
    std::string error;
    auto session = Session::parse(R"({"org_id": "default", "rate": 10, "per": 1,
        "quota_max": 100, "meta_data": {"a": 1}, "access_rights": {}})",
                                  error);
    session->set_view([&] {
        nlohmann::json doc = session->document();
        doc["apply_policies"] = ids;
        return doc;
    }());
    (void)policy::apply_policies(*session, *set);
    nlohmann::json raw = session->document();
    (void)policy::apply_policies(raw, *set, "default");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view text{reinterpret_cast<const char*>(data) + 1, size - 1};
    switch (data[0] % 3) {
    case 0:
        gateway_conf(text);
        break;
    case 1:
        api_definition(text);
        break;
    default:
        policies(text);
        break;
    }
    return 0;
}
