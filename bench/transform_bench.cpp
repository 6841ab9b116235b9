// Micro-benchmarks of the per-request transform work: endpoint matching plus URL rewrite on a
// 10-rule API, trigger evaluation, and `$tyk_meta.`/`$tyk_context.` expansion into headers.
// Each reports ns per request and heap allocations per request ("allocs").
#include "bench/alloc_counter.hpp"
#include "middleware/keys/base64.hpp"
#include "middleware/transform/api_transforms.hpp"
#include "middleware/transform/body_transform.hpp"
#include "middleware/transform/header_transform.hpp"
#include "middleware/transform/url_rewrite.hpp"
#include "middleware/transform/variables.hpp"

#include <benchmark/benchmark.h>
#include <stdexcept>
#include <string>

using namespace portcullis;
using namespace portcullis::transform;
using nlohmann::json;

namespace {

/// An API whose Default version holds `extended_paths`.
config::ApiDefinition make_api(const json& extended_paths) {
    config::ApiDefinition api;
    api.api_id = "bench";
    api.source_file = "apps/bench.json";
    config::VersionInfo version;
    version.key = "Default";
    version.name = "Default";
    version.use_extended_paths = true;
    version.extended_paths = extended_paths;
    api.version_data.versions.push_back(version);
    return api;
}

/// Ten rewrite rules, /r0/{id} .. /r9/{id}, each with two groups, metadata and a context value.
json ten_rules() {
    json rules = json::array();
    for (int i = 0; i < 10; ++i) {
        const std::string n = std::to_string(i);
        json r = json::object();
        r["path"] = "/r" + n + "/{id}";
        r["method"] = "GET";
        r["match_pattern"] = "/r" + n + "/(\\w+)/(\\d+)";
        r["rewrite_to"] = "/users/$tyk_meta.user/$1/items/$2?req=$tyk_context.request_id";
        rules.push_back(r);
    }
    json paths = json::object();
    paths["url_rewrites"] = rules;
    return paths;
}

std::vector<Endpoint<UrlRewriteRule>> compile_rules(const config::ApiDefinition& api) {
    std::vector<config::ConfigError> errors;
    auto rules = compile_url_rewrites(api, api.version_data.versions[0], MatchOptions{}, errors);
    if (!errors.empty()) {
        throw std::runtime_error(errors[0].to_string());
    }
    return rules;
}

json session_meta() {
    return json::parse(R"({"user": "alice smith", "id": 42, "tier": "gold",
                           "tags": ["a b", "c"]})");
}

json context_vars() {
    return json::parse(R"({"request_id": "8f14e45f-ceea-467f-a8d5-0a1b2c3d4e5f",
                           "path": "/api/r9/abc/123", "remote_addr": "127.0.0.1"})");
}

void report_allocations(benchmark::State& state, std::uint64_t before) {
    state.counters["allocs"] = benchmark::Counter(
        static_cast<double>(bench::allocations() - before), benchmark::Counter::kAvgIterations);
}

/// One request through the rewrite step as the pipeline runs it: match subject, first matching
/// endpoint, rewrite, classification of the result.
void rewrite_request(benchmark::State& state, std::string_view path, std::string_view query) {
    const auto api = make_api(ten_rules());
    const auto rules = compile_rules(api);
    ApiTransforms transforms;
    const json meta = session_meta();
    json context = context_vars();
    Fields headers;
    headers.set("Host", "gateway.local");
    std::string storage;
    const auto before = bench::allocations();
    for (auto _ : state) {
        const auto subject = match_subject(path, "/api/", transforms, storage);
        const auto* rule = find_endpoint(rules, "GET", subject);
        if (rule == nullptr) {
            benchmark::DoNotOptimize(rule);
            continue;
        }
        RewriteInput input;
        input.escaped_path_with_listen_path = path;
        input.query = query;
        input.headers = &headers;
        input.meta = &meta;
        input.context = &context;
        auto result = apply_url_rewrite(rule->spec, input);
        auto url = classify_rewrite_target(result.target);
        benchmark::DoNotOptimize(url);
    }
    report_allocations(state, before);
}

void BM_Rewrite10Rules_LastRuleMatches(benchmark::State& state) {
    rewrite_request(state, "/api/r9/abc/123", "x=1");
}
BENCHMARK(BM_Rewrite10Rules_LastRuleMatches);

void BM_Rewrite10Rules_FirstRuleMatches(benchmark::State& state) {
    rewrite_request(state, "/api/r0/abc/123", "x=1");
}
BENCHMARK(BM_Rewrite10Rules_FirstRuleMatches);

void BM_Rewrite10Rules_NoRuleMatches(benchmark::State& state) {
    rewrite_request(state, "/api/other/abc/123", "x=1");
}
BENCHMARK(BM_Rewrite10Rules_NoRuleMatches);

/// One rule with a header trigger (all) and a session metadata trigger (any) that fires and
/// stores its trigger-* value.
void BM_RewriteWithTriggers(benchmark::State& state) {
    json rule = json::parse(R"J({"path": "/users/{id}", "method": "GET",
      "match_pattern": "/users/(\\w+)", "rewrite_to": "/accounts/$1",
      "triggers": [
        {"on": "all", "options": {"header_matches": {"X-Plan": {"match_rx": "^platinum$"}}},
         "rewrite_to": "/platinum/$1"},
        {"on": "any", "options": {"session_meta_matches": {"tier": {"match_rx": "^(gold)$"}}},
         "rewrite_to": "/tier/$tyk_context.trigger-1-tier-0/$1"}]})J");
    json paths = json::object();
    paths["url_rewrites"] = json::array();
    paths["url_rewrites"].push_back(rule);
    const auto api = make_api(paths);
    const auto rules = compile_rules(api);
    const json meta = session_meta();
    json context = context_vars();
    Fields headers;
    headers.set("X-Plan", "gold");
    const std::string_view path = "/api/users/7";
    const auto before = bench::allocations();
    for (auto _ : state) {
        RewriteInput input;
        input.escaped_path_with_listen_path = path;
        input.headers = &headers;
        input.meta = &meta;
        input.context = &context;
        auto result = apply_url_rewrite(rules[0].spec, input);
        benchmark::DoNotOptimize(result);
    }
    report_allocations(state, before);
}
BENCHMARK(BM_RewriteWithTriggers);

/// Expanding a header value template into a reused buffer (the expansion itself).
void BM_ExpandTemplate(benchmark::State& state) {
    const auto tpl = VarTemplate::parse("user=$tyk_meta.user id=$tyk_meta.id "
                                        "req=$tyk_context.request_id");
    const json meta = session_meta();
    const json context = context_vars();
    std::string out;
    out.reserve(256);
    const auto before = bench::allocations();
    for (auto _ : state) {
        out.clear();
        tpl.expand_into(out, &meta, &context, false);
        benchmark::DoNotOptimize(out.data());
    }
    report_allocations(state, before);
}
BENCHMARK(BM_ExpandTemplate);

/// The request header transform step with five global headers (the header values produced are
/// the allocations it must make).
void BM_RequestHeaderTransforms(benchmark::State& state) {
    config::ApiDefinition api = make_api(json::object());
    auto& globals = api.version_data.versions[0].global_headers;
    globals["X-User"] = "$tyk_meta.user";
    globals["X-Id"] = "$tyk_meta.id";
    globals["X-Tags"] = "$tyk_meta.tags";
    globals["X-Req"] = "$tyk_context.request_id";
    globals["X-Static"] = "portcullis";
    std::vector<config::ConfigError> errors;
    const auto transforms =
        compile_header_transforms(api, api.version_data.versions[0], MatchOptions{}, false, errors);
    const json meta = session_meta();
    const json context = context_vars();
    const MatchSubject subject{"/users/7", "/users/7", "/api/users/7"};
    const auto before = bench::allocations();
    for (auto _ : state) {
        Fields headers;
        headers.set("Host", "gateway.local");
        apply_request_headers(headers, transforms, "GET", subject, &meta, &context);
        benchmark::DoNotOptimize(headers);
    }
    report_allocations(state, before);
}
BENCHMARK(BM_RequestHeaderTransforms);

/// A ~1 KiB JSON body: 24 string fields, two numbers and an 8-item list.
std::string one_kib_body() {
    json body = json::object();
    for (int i = 0; i < 24; ++i) {
        body["field_" + std::to_string(i)] = "value number " + std::to_string(i * 7919);
    }
    body["count"] = 42;
    body["ratio"] = 0.75;
    json items = json::array();
    for (int i = 0; i < 8; ++i) {
        json item = json::object();
        item["id"] = i;
        item["name"] = "item-" + std::to_string(i);
        items.push_back(item);
    }
    body["items"] = items;
    return body.dump();
}

/// A request body transform as the pipeline runs it: parse the JSON body, add _tyk_meta and
/// _tyk_context, execute a 20-action template.
void BM_BodyTransform1KiB20Actions(benchmark::State& state) {
    const std::string text =
        R"({"user": "{{ ._tyk_meta.user }}", "id": {{ ._tyk_meta.id }}, )"
        R"("path": "{{ ._tyk_context.path }}", "f0": "{{ .field_0 }}", "f1": "{{ .field_1 }}", )"
        R"("f2": "{{ .field_2 | upper }}", "count": {{ .count }}, "ratio": {{ .ratio }}, )"
        R"("items": [{{ range $i, $e := .items }}{{ if $i }},{{ end }}{{ $e.id }}{{ end }}], )"
        R"("n": {{ len .items }}, "first": {{ jsonMarshal (index .items 0) }}, )"
        R"("has": {{ if .field_3 }}true{{ else }}false{{ end }}})";
    json entry = json::object();
    entry["path"] = "/t";
    entry["method"] = "POST";
    entry["template_data"] = json::object();
    entry["template_data"]["input_type"] = "json";
    entry["template_data"]["template_mode"] = "blob";
    entry["template_data"]["enable_session"] = true;
    entry["template_data"]["template_source"] = keys::base64_encode(text);
    json paths = json::object();
    paths["transform"] = json::array();
    paths["transform"].push_back(entry);
    const auto api = make_api(paths);
    std::vector<config::ConfigError> errors;
    const auto transforms = compile_body_transforms(api, api.version_data.versions[0],
                                                    MatchOptions{}, "transform", errors);
    if (!errors.empty() || transforms.size() != 1) {
        state.SkipWithError("template did not compile");
        return;
    }
    const std::string body = one_kib_body();
    const json meta = session_meta();
    const json context = context_vars();
    std::string out;
    const auto before = bench::allocations();
    for (auto _ : state) {
        out.clear();
        const auto error = render_body_transform(transforms[0].spec, body, &meta, &context, out);
        benchmark::DoNotOptimize(error);
        benchmark::DoNotOptimize(out.data());
    }
    report_allocations(state, before);
    state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_BodyTransform1KiB20Actions);

} // namespace

BENCHMARK_MAIN();
