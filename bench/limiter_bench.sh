#!/usr/bin/env bash
# Macro benchmark: what the rate limiter and quota add per request, measured with wrk against the
# real gateway (build-bench/, Release) and the same keyed route with limits disabled, in one run
# (setup and measurement: bench/wrk_lib.sh).
# Env: DURATION (seconds per scenario, default 10), WARMUP (default 2), ROLLING_DURATION
# (default min(DURATION, 5); 0 skips the rolling-limiter run), CONNECTIONS (default 32).
# Prints a Markdown table and writes it to bench/LIMITER_RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=limiter_bench
source bench/wrk_lib.sh
rolling_duration=${ROLLING_DURATION:-$((duration < 5 ? duration : 5))}
api_id="limiter-bench"

bench_prepare
bench_start_redis
bench_start_echo_upstream
cat >"$work/apps/$api_id.json" <<JSON
{"api_id": "$api_id", "org_id": "o", "name": "Limiter bench", "use_keyless": false,
 "use_standard_auth": true, "auth": {"auth_header_name": "Authorization"},
 "proxy": {"listen_path": "/k/", "target_url": "$upstream", "strip_listen_path": true},
 "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}}}
JSON

create_key() { # create_key RATE PER QUOTA_MAX QUOTA_RENEWAL_RATE -> prints the key
    bench_create_key "$(printf '{"org_id": "o", "rate": %s, "per": %s, "quota_max": %s, "quota_renewal_rate": %s, "access_rights": {"%s": {"api_id": "%s", "versions": ["Default"]}}, "meta_data": {}}' \
        "$1" "$2" "$3" "$4" "$api_id" "$api_id")"
}

expect_counter() { # expect_counter NAME PATTERN: the limiter left a counter in Redis
    [[ -n $(redis-cli -h 127.0.0.1 -p "$redis_port" --scan --pattern "$2" | head -1) ]] ||
        bench_die "scenario '$1': no Redis counter matching '$2' (limiter not engaged?)"
}

url="$gateway/k/bench"

# Run 1: the default (window) limiter; the three keys share one route and one gateway process.
bench_start_gateway '"enable_redis_rolling_limiter": false'
key_none=$(create_key 0 0 -1 0)
key_rate=$(create_key 1e9 1 -1 0)
key_quota=$(create_key 1e9 1 1000000000000 3600)
bench_baseline
bench_run "no limits" "$duration" "$url" "Authorization: $key_none"
bench_run "rate limit" "$duration" "$url" "Authorization: $key_rate"
expect_counter "rate limit" "rate-limit-$key_rate*"
bench_run "rate + quota" "$duration" "$url" "Authorization: $key_quota"
expect_counter "rate + quota" "quota-$key_quota*"
bench_stop_gateway

# Run 2: enable_redis_rolling_limiter (sliding log: one sorted-set entry per request, kept short).
# Rows of this run are compared with its own "no limits" baseline.
if [[ "$rolling_duration" -gt 0 ]]; then
    bench_start_gateway '"enable_redis_rolling_limiter": true'
    bench_baseline
    bench_run "no limits (rolling run)" "$rolling_duration" "$url" "Authorization: $key_none"
    bench_run "rolling rate limit" "$rolling_duration" "$url" "Authorization: $key_rate"
    expect_counter "rolling rate limit" "rate-limit-$key_rate"
    bench_stop_gateway
fi

bench_write_results bench/LIMITER_RESULTS.md "Rate limiter macro benchmark (bench/limiter_bench.sh)" \
    "Same keyed route (\`/k/\`, echo-upstream) and same gateway process for the first three rows;
the rolling rows come from a second gateway run with \`enable_redis_rolling_limiter\` and are
compared with that run's own baseline."
