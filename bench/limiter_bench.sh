#!/usr/bin/env bash
# Macro benchmark: what the rate limiter and quota add per request, measured with wrk against the
# real gateway (build-bench/, Release) and the same keyed route with limits disabled, in one run.
# Starts its own redis-server, echo-upstream and portcullis on 127.0.0.1 (gateway pinned to CPU 0,
# wrk/upstream/redis to CPU 1 when there are >= 2 CPUs) and stops them all on exit.
# Env: DURATION (seconds per scenario, default 10), WARMUP (default 2), ROLLING_DURATION
# (default min(DURATION, 5); 0 skips the rolling-limiter run), CONNECTIONS (default 32).
# Prints a Markdown table and writes it to bench/LIMITER_RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-10}
warmup=${WARMUP:-2}
rolling_duration=${ROLLING_DURATION:-$((duration < 5 ? duration : 5))}
connections=${CONNECTIONS:-32}
secret="limiter-bench-secret"
api_id="limiter-bench"

PORTCULLIS_EXTRA_PACKAGES="wrk" bash scripts/install-deps.sh
BUILD_DIR=build-bench BUILD_TYPE=Release CMAKE_ARGS="-DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=ON" \
    BUILD_TARGETS="portcullis echo-upstream" bash scripts/build.sh

work=$(mktemp -d /tmp/limiter-bench.XXXXXX)
pids=()
gateway_pid=""
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
die() { echo "limiter_bench: $*" >&2; exit 1; }

pin_gateway=()
pin_aux=()
if [[ $(nproc) -ge 2 ]]; then
    pin_gateway=(taskset -c 0)
    pin_aux=(taskset -c 1)
fi

# Three distinct free loopback ports (all bound at once, then released).
read -r redis_port upstream_port gateway_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

wait_for() { # wait_for WHAT COMMAND...: up to 10 s
    local what=$1
    shift
    for _ in $(seq 100); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "$what did not come up"
}

"${pin_aux[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    >"$work/redis.log" 2>&1 &
pids+=($!)
redis_pid=$!
wait_for redis-server redis-cli -h 127.0.0.1 -p "$redis_port" ping
"${pin_aux[@]}" build-bench/echo-upstream --listen 127.0.0.1 --port "$upstream_port" \
    >"$work/upstream.log" 2>&1 &
pids+=($!)
wait_for echo-upstream curl -sf -o /dev/null "http://127.0.0.1:$upstream_port/"

mkdir -p "$work/apps"
cat >"$work/apps/$api_id.json" <<JSON
{"api_id": "$api_id", "org_id": "o", "name": "Limiter bench", "use_keyless": false,
 "use_standard_auth": true, "auth": {"auth_header_name": "Authorization"},
 "proxy": {"listen_path": "/k/", "target_url": "http://127.0.0.1:$upstream_port",
           "strip_listen_path": true},
 "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}}}
JSON

start_gateway() { # start_gateway ROLLING(true|false)
    cat >"$work/tyk.conf" <<JSON
{"listen_address": "127.0.0.1", "listen_port": $gateway_port, "secret": "$secret",
 "app_path": "$work/apps", "storage": {"type": "redis", "host": "127.0.0.1", "port": $redis_port},
 "hash_keys": false, "enable_redis_rolling_limiter": $1,
 "portcullis": {"workers": 1, "access_log": "off", "log_level": "warn"}}
JSON
    "${pin_gateway[@]}" build-bench/portcullis --conf "$work/tyk.conf" >>"$work/gateway.log" 2>&1 &
    gateway_pid=$!
    pids+=("$gateway_pid")
    wait_for portcullis curl -sf -o /dev/null "http://127.0.0.1:$gateway_port/hello"
}

stop_gateway() {
    kill "$gateway_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
}

create_key() { # create_key RATE PER QUOTA_MAX QUOTA_RENEWAL_RATE -> prints the key
    local body reply
    body=$(printf '{"org_id": "o", "rate": %s, "per": %s, "quota_max": %s, "quota_renewal_rate": %s, "access_rights": {"%s": {"api_id": "%s", "versions": ["Default"]}}, "meta_data": {}}' \
        "$1" "$2" "$3" "$4" "$api_id" "$api_id")
    reply=$(curl -s -H "X-Tyk-Authorization: $secret" -X POST \
        "http://127.0.0.1:$gateway_port/tyk/keys/create" -d "$body")
    python3 -c 'import json, sys; print(json.loads(sys.argv[1])["key"])' "$reply" 2>/dev/null ||
        die "key creation failed: $reply"
}

cpu_ticks() { # utime + stime of PID (fields 14 and 15 of /proc/PID/stat)
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

clk_tck=$(getconf CLK_TCK)
url="http://127.0.0.1:$gateway_port/k/bench"
rows=()
base_cpu=""
base_rps=""

run_scenario() { # run_scenario NAME KEY SECONDS COUNTER_PATTERN(or "")
    local name=$1 key=$2 secs=$3 pattern=$4 out g0 g1 r0 r1 status logged
    logged=$(wc -l <"$work/gateway.log")
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $key" "$url")
    [[ "$status" == 200 ]] || die "$name: probe request answered $status"
    "${pin_aux[@]}" wrk -t1 -c"$connections" -d"${warmup}s" -H "Authorization: $key" "$url" >/dev/null
    g0=$(cpu_ticks "$gateway_pid")
    r0=$(cpu_ticks "$redis_pid")
    out=$("${pin_aux[@]}" wrk -t1 -c"$connections" -d"${secs}s" --latency -H "Authorization: $key" "$url")
    g1=$(cpu_ticks "$gateway_pid")
    r1=$(cpu_ticks "$redis_pid")
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' <<<"$out"; then
        echo "$out" >&2
        die "scenario '$name' had errors (see wrk output above)"
    fi
    if [[ -n "$pattern" ]] && [[ -z $(redis-cli -h 127.0.0.1 -p "$redis_port" --scan --pattern "$pattern" | head -1) ]]; then
        die "scenario '$name': no Redis counter matching '$pattern' (limiter not engaged?)"
    fi
    local total rps p50 p99
    total=$(awk '/ requests in /{ print $1 }' <<<"$out")
    rps=$(awk '/^Requests\/sec:/{ print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    [[ -n "$total" && "$total" -gt 0 && -n "$rps" ]] || die "$name: cannot parse wrk output"
    local cpu redis_cpu warnings
    warnings=$(($(wc -l <"$work/gateway.log") - logged))
    cpu=$(awk -v d=$((g1 - g0)) -v t="$clk_tck" -v n="$total" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
    redis_cpu=$(awk -v d=$((r1 - r0)) -v t="$clk_tck" -v n="$total" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
    if [[ -z "$base_cpu" ]]; then base_cpu=$cpu; base_rps=$rps; fi
    local cpu_ratio rps_ratio
    cpu_ratio=$(awk -v a="$cpu" -v b="$base_cpu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rps_ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rows+=("| $name | ${secs}s | $(printf '%.0f' "$rps") | $p50 | $p99 | $cpu | ${cpu_ratio}x | ${rps_ratio}x | $redis_cpu | $warnings |")
    echo "limiter_bench: $name: $rps req/s, $cpu µs gateway CPU/req, $warnings gateway log lines" >&2
}

# Other work on the machine skews every number: measure how busy the CPUs are just before.
read -r _ u1 n1 s1 i1 _ </proc/stat
sleep 1
read -r _ u2 n2 s2 i2 _ </proc/stat
busy=$((100 * (u2 + n2 + s2 - u1 - n1 - s1) / (u2 + n2 + s2 + i2 - u1 - n1 - s1 - i1 + 1)))
if [[ "$busy" -gt 10 ]]; then
    echo "limiter_bench: WARNING: CPUs ${busy}% busy before the run; results will be noisy" >&2
fi

# Run 1: the default (window) limiter; the three keys share one route and one gateway process.
start_gateway false
key_none=$(create_key 0 0 -1 0)
key_rate=$(create_key 1e9 1 -1 0)
key_quota=$(create_key 1e9 1 1000000000000 3600)
run_scenario "no limits" "$key_none" "$duration" ""
run_scenario "rate limit" "$key_rate" "$duration" "rate-limit-$key_rate*"
run_scenario "rate + quota" "$key_quota" "$duration" "quota-$key_quota*"
stop_gateway

# Run 2: enable_redis_rolling_limiter (sliding log: one sorted-set entry per request, kept short).
# Ratios of these rows are against this run's own "no limits" baseline.
if [[ "$rolling_duration" -gt 0 ]]; then
    base_cpu=""
    start_gateway true
    run_scenario "no limits (rolling run)" "$key_none" "$rolling_duration" ""
    run_scenario "rolling rate limit" "$key_rate" "$rolling_duration" "rate-limit-$key_rate"
    stop_gateway
fi

if [[ -s "$work/gateway.log" ]]; then
    echo "limiter_bench: gateway log ($(wc -l <"$work/gateway.log") lines, first 20):" >&2
    head -20 "$work/gateway.log" >&2
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain -- . ":(exclude)bench/LIMITER_RESULTS.md" 2>/dev/null | head -1) ]]; then commit="$commit (dirty tree)"; fi
table=$(
    echo "| scenario | duration | req/s | p50 | p99 | gateway CPU µs/req | CPU vs no limits | req/s vs no limits | redis CPU µs/req | gateway warnings |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
)
echo
echo "$table"
{
    echo "# Rate limiter macro benchmark (bench/limiter_bench.sh)"
    echo
    echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC') · nproc: $(nproc) · commit: $commit · wrk -t1 -c$connections," \
        "${warmup}s warm-up · CPUs ${busy}% busy before the run · gateway 1 worker, Release$([[ ${#pin_gateway[@]} -gt 0 ]] && echo ', gateway on CPU 0, wrk/upstream/redis on CPU 1')"
    echo
    echo "$table"
    echo
    echo "Same keyed route (\`/k/\`, echo-upstream) and same gateway process for the first three rows;"
    echo "the rolling rows come from a second gateway run with \`enable_redis_rolling_limiter\` and"
    echo "are compared with that run's own baseline. Gateway/redis CPU = utime+stime over the measured run;"
    echo "gateway warnings = lines the gateway logged (level warn) during the scenario, warm-up included."
} >bench/LIMITER_RESULTS.md
echo
echo "limiter_bench: wrote bench/LIMITER_RESULTS.md"
