#!/usr/bin/env bash
# Deterministic cost check: instructions per request of the gateway under valgrind's callgrind,
# for a fixed number of keyed requests ($tyk_meta header injection, session in Redis) and of
# keyless passthrough requests, on one keep-alive connection. Prints the numbers (no pass/fail on
# them: they are for tracking); fails only if the gateway does not answer every request with 200.
# Runs from ctest (label "cost") on the test build, or by hand:
#   bench/callgrind_cost.sh [--portcullis BIN] [--upstream BIN] [--requests N]
# PROFILE_DIR=dir keeps each profile there (callgrind_annotate dir/keyless.callgrind).
# Needs valgrind, redis-server, curl. Uses loopback ports only; stops everything on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

portcullis=build/portcullis
upstream_bin=build/echo-upstream
requests=${REQUESTS:-2000}
while [[ $# -gt 0 ]]; do
    case $1 in
    --portcullis) portcullis=$2; shift 2 ;;
    --upstream) upstream_bin=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    *) echo "callgrind_cost: unknown argument $1" >&2; exit 2 ;;
    esac
done
for tool in valgrind callgrind_control redis-server curl; do
    command -v "$tool" >/dev/null || { echo "callgrind_cost: $tool is not installed" >&2; exit 1; }
done

BENCH_NAME=callgrind_cost
source bench/wrk_lib.sh # bench_free_ports, bench_wait_for, bench_cleanup
work=$(mktemp -d /tmp/callgrind-cost.XXXXXX)
trap bench_cleanup EXIT
die() { echo "callgrind_cost: $*" >&2; [[ -f "$work/gateway.log" ]] && tail -20 "$work/gateway.log" >&2; exit 1; }

read -r redis_port upstream_port gateway_port < <(bench_free_ports 3)
secret=callgrind-secret
gateway="http://127.0.0.1:$gateway_port"

redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
bench_wait_for redis-server redis-cli -h 127.0.0.1 -p "$redis_port" ping
"$upstream_bin" --listen 127.0.0.1 --port "$upstream_port" >"$work/upstream.log" 2>&1 &
pids+=($!)
bench_wait_for echo-upstream curl -sf -o /dev/null "http://127.0.0.1:$upstream_port/"

mkdir -p "$work/apps"
cat >"$work/apps/open.json" <<JSON
{"api_id": "open", "org_id": "o", "name": "open", "use_keyless": true,
 "proxy": {"listen_path": "/open/", "target_url": "http://127.0.0.1:$upstream_port", "strip_listen_path": true},
 "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}}}
JSON
cat >"$work/apps/meta.json" <<JSON
{"api_id": "meta", "org_id": "o", "name": "meta", "use_keyless": false,
 "auth": {"auth_header_name": "Authorization"},
 "proxy": {"listen_path": "/meta/", "target_url": "http://127.0.0.1:$upstream_port", "strip_listen_path": true},
 "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default",
   "global_headers": {"X-User": "\$tyk_meta.user", "X-Plan": "\$tyk_meta.plan"}}}}}
JSON
cat >"$work/tyk.conf" <<JSON
{"listen_address": "127.0.0.1", "listen_port": $gateway_port, "secret": "$secret",
 "app_path": "$work/apps", "storage": {"type": "redis", "host": "127.0.0.1", "port": $redis_port},
 "hash_keys": false,
 "portcullis": {"workers": 1, "access_log": "off", "log_level": "warn"}}
JSON

# Names uncompressed: each dump is a file of its own, readable by callgrind_annotate alone.
valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$work/callgrind.out.%p" \
    "$portcullis" --conf "$work/tyk.conf" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
WAIT_SECONDS=120 bench_wait_for portcullis curl -sf -o /dev/null "$gateway/hello"

reply=$(curl -s -H "X-Tyk-Authorization: $secret" -X POST "$gateway/tyk/keys/create" \
    -d '{"org_id": "o", "access_rights": {"meta": {"api_id": "meta", "versions": ["Default"]}}, "meta_data": {"user": "alice", "plan": "gold"}}')
key=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["key"])' "$reply" 2>/dev/null) ||
    die "key creation failed: $reply"

# curl sends every URL of one invocation over one keep-alive connection; -w prints each status.
send() { # send N URL [HEADER] -> fails unless every answer is 200
    local n=$1 url=$2 header=${3:-} args=() i
    for ((i = 0; i < n; i++)); do args+=(-o /dev/null "$url"); done
    local statuses
    statuses=$(curl -s -w '%{http_code}\n' ${header:+-H "$header"} "${args[@]}")
    local ok
    ok=$(grep -c '^200$' <<<"$statuses" || true)
    [[ "$ok" -eq "$n" ]] || die "$url: $ok of $n requests answered 200"
}

measure() { # measure NAME URL [HEADER]: prints instructions per request
    local name=$1 url=$2 header=${3:-}
    send 50 "$url" "$header" # warm-up: connections, caches, first-use allocations
    callgrind_control --zero "$gateway_pid" >/dev/null 2>&1
    send "$requests" "$url" "$header"
    rm -f "$work"/callgrind.out.*
    callgrind_control --dump="$name" "$gateway_pid" >/dev/null 2>&1
    local total
    total=$(awk '/^summary:/{ s += $2 } /^totals:/{ t += $2 } END { print (s > 0 ? s : t) }' "$work"/callgrind.out.*)
    [[ -n "$total" && "$total" -gt 0 ]] || die "no callgrind totals for $name"
    echo "$name: $((total / requests)) instructions per request ($requests requests, $total in all)"
    if [[ -n "${PROFILE_DIR:-}" ]]; then # keep the profile for callgrind_annotate
        mkdir -p "$PROFILE_DIR"
        cat "$work"/callgrind.out.* >"$PROFILE_DIR/$name.callgrind"
    fi
}

measure keyless "$gateway/open/x"
measure keyed-meta "$gateway/meta/x" "Authorization: $key"
