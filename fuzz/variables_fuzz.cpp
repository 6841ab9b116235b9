// Fuzz target: `$tyk_meta.` / `$tyk_context.` expansion and the URL rewriter (match pattern,
// `$N` groups, triggers on headers, query, path parts, session meta, context and payload, then
// Go's url.Parse rules for the result).
// Input, NUL-separated: a variable template, a match pattern, a rewrite_to, the request path,
// its query, header lines ("Name: value"), the body, the session meta_data as JSON.
#include "fuzz/fuzz_input.hpp"
#include "middleware/core/http.hpp"
#include "middleware/transform/context_vars.hpp"
#include "middleware/transform/url_rewrite.hpp"
#include "middleware/transform/variables.hpp"

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include <memory>
#include <string>

namespace {

using portcullis::transform::RewriteTarget;
using portcullis::transform::RewriteTrigger;
using portcullis::transform::TriggerCheck;

std::shared_ptr<const re2::RE2> compile(std::string_view pattern) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto re =
        std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
    return re->ok() ? re : nullptr;
}

TriggerCheck check(std::string name, const char* pattern, bool reverse = false) {
    return TriggerCheck{std::move(name), compile(pattern), reverse};
}

/// Triggers of every kind, so their context values and `$tyk_context.trigger-*` references get
/// exercised by whatever rewrite_to the input brings.
std::vector<RewriteTrigger> fixed_triggers(std::string_view rewrite_to) {
    std::vector<RewriteTrigger> triggers(2);
    RewriteTrigger& any = triggers[0];
    any.any = true;
    any.headers.push_back(check("X-Plan", "^(gold|silver)$"));
    any.query.push_back(check("q", "(\\d+)"));
    any.session_meta.push_back(check("tier", "(.+)"));
    any.payload = check("payload", "\"kind\":\\s*\"(\\w+)\"");
    any.rewrite_to = RewriteTarget::parse("/t/$tyk_context.trigger-0-X-Plan-0/$1");
    RewriteTrigger& all = triggers[1];
    all.path_parts.push_back(check("id", "^\\d+$"));
    all.request_context.push_back(check("path", "users", true));
    all.rewrite_to = RewriteTarget::parse(rewrite_to);
    return triggers;
}

void add_header_lines(portcullis::Fields& fields, std::string_view text) {
    while (!text.empty()) {
        const auto eol = text.find('\n');
        const std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            continue;
        }
        try {
            fields.insert(line.substr(0, colon), line.substr(colon + 1));
        } catch (const std::exception&) {
            // Beast refuses some names and values; the gateway never sees those either.
        }
    }
}

bool has_control(std::string_view text) {
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return true;
        }
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace portcullis;
    const auto parts = fuzz::split_parts(data, size, 8);
    nlohmann::json meta = nlohmann::json::parse(parts[7], nullptr, false);
    if (meta.is_discarded() || !meta.is_object()) {
        meta = {{"user", "ada lovelace"},
                {"tier", "gold"},
                {"url", "http://x/y?z"},
                {"n", 7},
                {"tags", {"a", "b"}}};
    }

    Fields headers;
    add_header_lines(headers, parts[5]);
    transform::RequestFacts facts;
    facts.method = "POST";
    facts.path = parts[3];
    facts.query = parts[4];
    facts.headers = &headers;
    facts.body = parts[6];
    facts.peer_ip = "127.0.0.1";
    nlohmann::json context = transform::build_context_vars(facts, 0);

    // Expansion: the appending and the returning forms agree.
    const auto vars = transform::VarTemplate::parse(parts[0]);
    for (const bool escape : {false, true}) {
        std::string appended = "prefix";
        vars.expand_into(appended, &meta, &context, escape);
        const std::string expanded = vars.expand(&meta, &context, escape);
        if (appended != "prefix" + expanded) {
            fuzz::invariant_failed("expand_into and expand disagree");
        }
        (void)vars.expand(nullptr, nullptr, escape);
    }

    // The rewriter.
    transform::UrlRewriteRule rule;
    rule.path = "/";
    rule.match = compile(parts[1]);
    if (!rule.match) {
        return 0;
    }
    rule.rewrite_to = RewriteTarget::parse(parts[2]);
    rule.triggers = fixed_triggers(parts[2]);
    transform::RewriteInput input;
    input.escaped_path_with_listen_path = parts[3];
    input.query = parts[4];
    input.headers = &headers;
    input.body = parts[6];
    input.meta = &meta;
    input.context = &context;
    const auto result = transform::apply_url_rewrite(rule, input);
    if (!result.rewritten) {
        return 0;
    }
    const auto url = transform::classify_rewrite_target(result.target);
    // A URL the proxy would use never carries a control character onto the request line.
    if (url.valid && (has_control(url.path_and_query) || has_control(url.host_port))) {
        fuzz::invariant_failed("a usable rewrite result holds a control character");
    }
    return 0;
}
