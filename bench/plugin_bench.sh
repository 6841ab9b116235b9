#!/usr/bin/env bash
# Macro benchmark: what a trivial JavaScript `post` plugin costs per request, measured with wrk
# against the real gateway (build-bench/, Release): the same route with and without the plugin,
# served by one gateway process in one run (setup and measurement: bench/wrk_lib.sh).
# Keyless: a plugin that returns the request unchanged. Keyed: the same with require_session (the
# session goes to the plugin and its metadata comes back, unchanged, so nothing is saved).
# Env: DURATION (seconds per scenario, default 10), WARMUP (default 2), CONNECTIONS (default 32).
# Prints a Markdown table and writes it to bench/PLUGIN_RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=plugin_bench
source bench/wrk_lib.sh

bench_prepare
bench_start_redis
bench_start_echo_upstream
cat >"$work/noop.js" <<'JS'
var noopPost = new TykJS.TykMiddleware.NewMiddleware({});
noopPost.NewProcessRequest(function (request, session, config) {
    return noopPost.ReturnData(request, session.meta_data || {});
});
JS
api() { # api ID LISTEN_PATH KEYLESS CUSTOM_MIDDLEWARE_JSON
    cat >"$work/apps/$1.json" <<JSON
{"api_id": "$1", "org_id": "o", "name": "$1", "use_keyless": $3,
 "auth": {"auth_header_name": "Authorization"},
 "proxy": {"listen_path": "$2", "target_url": "$upstream", "strip_listen_path": true},
 "custom_middleware": $4,
 "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}}}
JSON
}
none='{}'
post='{"driver": "otto", "post": [{"name": "noopPost", "path": "'"$work"'/noop.js"}]}'
post_session='{"driver": "otto", "post": [{"name": "noopPost", "path": "'"$work"'/noop.js", "require_session": true}]}'
api plain /plain/ true "$none"
api plug /plug/ true "$post"
api kplain /kplain/ false "$none"
api kplug /kplug/ false "$post_session"

bench_start_gateway '"enable_jsvm": true'
key=$(bench_create_key '{"org_id": "o", "rate": 0, "per": 0, "quota_max": -1, "access_rights": {"kplain": {"api_id": "kplain", "versions": ["Default"]}, "kplug": {"api_id": "kplug", "versions": ["Default"]}}, "meta_data": {"user": "bench"}}')
bench_baseline
bench_run "keyless, no plugin" "$duration" "$gateway/plain/x"
bench_run "keyless + post plugin" "$duration" "$gateway/plug/x"
bench_baseline
bench_run "keyed, no plugin" "$duration" "$gateway/kplain/x" "Authorization: $key"
bench_run "keyed + post plugin (require_session)" "$duration" "$gateway/kplug/x" "Authorization: $key"
bench_stop_gateway

bench_write_results bench/PLUGIN_RESULTS.md "JavaScript plugin macro benchmark (bench/plugin_bench.sh)" \
    "One gateway process (\`enable_jsvm\`) serves all four routes (echo-upstream behind each); the
plugin rows are compared with the same kind of route without the plugin. The plugin is a
\`post\` plugin returning \`ReturnData(request, session.meta_data)\` unchanged."
