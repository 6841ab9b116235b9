#!/usr/bin/env bash
# Soak test: the gateway under a steady, modest load for a bounded time (10 minutes by default)
# while Redis is stopped and restarted and the configuration reloaded, to show that memory stays
# flat, that nothing fails outside the outages, that requests during an outage fail cleanly
# (the gateway's own 5xx, at once) and that none is lost, and that every acknowledged Gateway API
# key update survives.
#
# Starts on 127.0.0.1, in its own temp dir and on free ports: redis-server (AOF, appendfsync
# always, so a restart keeps every acknowledged write), echo-upstream and portcullis (2 workers)
# with five APIs (keyless; keyed with $tyk_meta headers; keyed with rate limit + quota on the key;
# keyed with a request body template using ._tyk_meta; URL rewrite with triggers), 20 keys made
# through the Gateway API. bench/soak_client.py sends the load and key updates and writes the
# outcome of every request; this script makes the disturbances, samples the gateway's RSS and
# writes the report (bench/SOAK_RESULTS.md). Everything it started is stopped on exit, Ctrl-C
# included. Uses the binaries in build/ (copied, so a rebuild during the run does not matter).
#
# Env: SOAK_SECONDS (default 600), SOAK_RATE (requests/s, default 300), SOAK_OUTAGE_EVERY
# (seconds between Redis outages, default min(120, SOAK_SECONDS/3)), SOAK_OUTAGE_SECONDS (5),
# SOAK_RELOAD_EVERY (default min(30, SOAK_SECONDS/6)), SOAK_REDIS_SIGNAL (TERM; KILL also keeps
# acknowledged writes thanks to appendfsync always), BUILD_DIR (build), SOAK_KEEP (a directory:
# where the run's files — request log, events, gateway log — are copied when the soak fails).
# Exit status 1 when errors happened outside the outages, a request was lost or an acknowledged
# update is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=soak
source bench/wrk_lib.sh # bench_die, bench_wait_for, bench_free_ports, bench_rss_kib, bench_cleanup

soak_seconds=${SOAK_SECONDS:-600}
rate=${SOAK_RATE:-300}
outage_every=${SOAK_OUTAGE_EVERY:-$((soak_seconds / 3 < 120 ? soak_seconds / 3 : 120))}
outage_seconds=${SOAK_OUTAGE_SECONDS:-5}
reload_every=${SOAK_RELOAD_EVERY:-$((soak_seconds / 6 < 30 ? soak_seconds / 6 : 30))}
redis_signal=${SOAK_REDIS_SIGNAL:-TERM}
warmup=$((soak_seconds / 6 < 10 ? soak_seconds / 6 : 10)) # RSS "at start" is read after it
tail_seconds=15 # no outage starts later than this before the end: the last checks need Redis
build_dir=${BUILD_DIR:-build}
results=bench/SOAK_RESULTS.md

[[ "$soak_seconds" -ge 30 ]] || bench_die "SOAK_SECONDS must be at least 30"
[[ "$outage_every" -ge 10 && "$reload_every" -ge 3 ]] || bench_die "disturbance periods too short"

# What the run needs: the Debian packages (installed only when missing) and the two binaries.
for tool in redis-server redis-cli python3 curl; do
    command -v "$tool" >/dev/null || { bash scripts/install-deps.sh; break; }
done
if [[ ! -x "$build_dir/portcullis" || ! -x "$build_dir/echo-upstream" ]]; then
    BUILD_DIR=$build_dir BUILD_TARGETS="portcullis echo-upstream" bash scripts/build.sh
fi

work=$(mktemp -d /tmp/soak.XXXXXX)
# shellcheck disable=SC2317 # run by the trap
soak_cleanup() {
    local status=$?
    if [[ $status -ne 0 && -s "$work/gateway.log" ]]; then
        echo "soak: gateway log (last 20 lines):" >&2
        tail -20 "$work/gateway.log" >&2
    fi
    bench_cleanup # stops every pid in "pids" (client, gateway, upstream, redis), removes $work
}
trap soak_cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/apps" "$work/bin" "$work/redis"
cp "$build_dir/portcullis" "$build_dir/echo-upstream" "$work/bin/"
read -r redis_port upstream_port gateway_port < <(bench_free_ports 3)
upstream="http://127.0.0.1:$upstream_port"
gateway="http://127.0.0.1:$gateway_port"
redis() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
# shellcheck disable=SC2317 # run by bench_wait_for
redis_up() { [[ $(redis ping 2>/dev/null) == PONG ]]; }
now() { local t=${EPOCHREALTIME/,/.}; echo "$t"; } # Unix seconds with microseconds
forget_pid() { # the pid was reaped: never signal it again (it may be reused)
    local keep=() p
    for p in "${pids[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
    pids=("${keep[@]}")
}

start_redis() {
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --save "" \
        --appendonly yes --appendfsync always --maxclients 1000 >>"$work/redis.log" 2>&1 &
    redis_pid=$!
    pids+=("$redis_pid")
    bench_wait_for redis-server redis_up
}

stop_redis() { # the signal, then up to 10 s for it to exit (SIGKILL after)
    kill -s "$redis_signal" "$redis_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    forget_pid "$redis_pid"
}

session_count() { redis --scan --pattern 'apikey-*' 2>/dev/null | wc -l; }

start_redis
"$work/bin/echo-upstream" --listen 127.0.0.1 --port "$upstream_port" >"$work/upstream.log" 2>&1 &
pids+=($!)
bench_wait_for echo-upstream curl -sf -o /dev/null "$upstream/"

# API definitions: the benchmark scenarios' routes.
python3 bench/scenario_apis.py "$work/apps" "$upstream"

# 2 workers; warnings only (Redis going away is logged); a 2 s storage timeout so that every
# answer comes well within the client's 5 s deadline.
cat >"$work/tyk.conf" <<JSON
{"listen_address": "127.0.0.1", "listen_port": $gateway_port, "secret": "$secret",
 "app_path": "$work/apps",
 "storage": {"type": "redis", "host": "127.0.0.1", "port": $redis_port, "timeout": 2},
 "hash_keys": false,
 "portcullis": {"workers": 2, "access_log": "off", "log_level": "warn"}}
JSON
"$work/bin/portcullis" --conf "$work/tyk.conf" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
bench_wait_for portcullis curl -sf -o /dev/null "$gateway/hello"

create_key() { # create_key SESSION_JSON -> prints the key (bench_create_key, with a deadline)
    local reply rc=0 re='"key": *"([^"]+)"'
    reply=$(curl -sS --max-time 10 -w ' HTTP %{http_code}' -H "X-Tyk-Authorization: $secret" \
        -X POST "$gateway/tyk/keys/create" -d "$1" 2>&1) || rc=$?
    [[ $rc -eq 0 && "$reply" == *' HTTP 200' && "$reply" =~ $re ]] ||
        bench_die "key creation failed (curl exit $rc): $reply"
    echo "${BASH_REMATCH[1]}"
}

# 20 keys: 15 for the keyed routes, 5 for the rate-limited route (5 requests/s each; the last
# one also has a small quota, so both 429 and 403 happen).
plain_rights='"meta": {"api_id": "meta", "versions": ["Default"]}, "body": {"api_id": "body", "versions": ["Default"]}, "rewrite": {"api_id": "rewrite", "versions": ["Default"]}'
limited_rights='"limited": {"api_id": "limited", "versions": ["Default"]}'
: >"$work/keys.txt"
for i in $(seq 0 19); do
    user="user-$i"
    if [[ $i -lt 15 ]]; then
        kind=plain
        session="{\"org_id\": \"o\", \"access_rights\": {$plain_rights}, \"meta_data\": {\"user\": \"$user\", \"plan\": \"gold\"}}"
    else
        kind=limited
        quota="100000, \"quota_renewal_rate\": 3600"
        [[ $i -eq 19 ]] && quota="50, \"quota_renewal_rate\": 20"
        session="{\"org_id\": \"o\", \"rate\": 5, \"per\": 1, \"quota_max\": $quota, \"access_rights\": {$limited_rights}, \"meta_data\": {\"user\": \"$user\", \"plan\": \"silver\"}}"
    fi
    key=$(create_key "$session") # an assignment: a failure here stops the script
    echo "$kind $key $user" >>"$work/keys.txt"
done

echo "soak: ${soak_seconds}s at $rate req/s; Redis outage (${outage_seconds}s, SIG$redis_signal) every ${outage_every}s, reload every ${reload_every}s; gateway pid $gateway_pid on :$gateway_port, work dir $work" >&2

# The load, bounded by its own count and by timeout(1).
timeout -s TERM $((soak_seconds + 90)) python3 bench/soak_client.py run --port "$gateway_port" \
    --secret "$secret" --keys "$work/keys.txt" --seconds "$soak_seconds" --rate "$rate" \
    --out "$work" >"$work/client.log" 2>&1 &
client_pid=$!
pids+=("$client_pid")
began=$(now)

# The disturbances, on this clock, until the client is done (one tick ~0.5 s, bounded count).
: >"$work/events.log"
: >"$work/rss.log"
elapsed() { awk -v a="$began" -v b="$(now)" 'BEGIN { printf "%d", b - a }'; }
next_outage=$outage_every
next_reload=$reload_every
next_sample=$warmup
outages=0
for ((tick = 0; tick < (soak_seconds + 120) * 2; tick++)); do
    kill -0 "$client_pid" 2>/dev/null || break
    kill -0 "$gateway_pid" 2>/dev/null || bench_die "the gateway exited during the soak"
    t=$(elapsed)
    if [[ $t -ge $next_sample ]]; then
        rss=$(bench_rss_kib VmRSS "$gateway_pid")
        [[ -s "$work/rss.log" ]] || echo "soak: ${t}s: gateway RSS after warm-up $((rss / 1024)) MiB" >&2
        echo "$t $rss" >>"$work/rss.log"
        next_sample=$((next_sample + 5))
    fi
    if [[ $t -ge $next_reload ]]; then
        at=$(now)
        status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
            -H "X-Tyk-Authorization: $secret" "$gateway/tyk/reload/group") || true
        echo "reload $at ${status:-0}" >>"$work/events.log"
        next_reload=$((next_reload + reload_every))
    fi
    if [[ $t -ge $next_outage ]]; then
        if [[ $((t + outage_seconds + tail_seconds)) -le $soak_seconds ]]; then
            before=$(session_count)
            start=$(now)
            stop_redis
            sleep "$outage_seconds"
            start_redis
            back=$(now)
            after=$(session_count)
            echo "outage $start $back $before $after $redis_signal" >>"$work/events.log"
            outages=$((outages + 1))
            echo "soak: ${t}s: Redis outage $outages, $(awk -v a="$start" -v b="$back" 'BEGIN { printf "%.1f", b - a }')s; sessions $before before, $after after" >&2
        fi
        next_outage=$((next_outage + outage_every))
    fi
    sleep 0.5
done
wait "$client_pid" || bench_die "the load client failed: $(tail -5 "$work/client.log")"
forget_pid "$client_pid"
kill -0 "$gateway_pid" 2>/dev/null || bench_die "the gateway exited during the soak"
[[ $outages -ge 1 ]] || bench_die "no Redis outage happened (SOAK_OUTAGE_EVERY too long?)"

echo "$(elapsed) $(bench_rss_kib VmRSS "$gateway_pid")" >>"$work/rss.log" # RSS at the end
rss_hwm=$(bench_rss_kib VmHWM "$gateway_pid")

set +e
python3 bench/soak_client.py report --dir "$work" --results "$results" --commit "$(bench_commit "$results")" \
    --warmup "$warmup" --rss-hwm "$rss_hwm" --gateway-log "$work/gateway.log"
verdict=$?
set -e
echo "soak: wrote $results" >&2
if [[ $verdict -ne 0 && -n "${SOAK_KEEP:-}" ]]; then
    cp -r "$work" "$SOAK_KEEP" && echo "soak: run files copied to $SOAK_KEEP" >&2
fi
exit "$verdict"
