# Shared parts of the macro benchmarks (sourced, not run): a Release build in build-bench/, its own
# redis-server, upstream (echo-upstream or nginx) and portcullis on 127.0.0.1, scenarios measured
# with wrk, and Markdown tables of the results. Everything started is stopped on exit.
#
# Pinned layout: the process under test on CPU 0, wrk/upstream/redis on CPU 1 (when there are at
# least 2 CPUs); `bench_unpin` switches to the shared layout (no pinning).
#
# Use: set BENCH_NAME, source this file, bench_prepare [EXTRA_PACKAGES], bench_start_redis, an
# upstream (bench_start_echo_upstream or bench_start_nginx_upstream), API definitions in
# "$work/apps", bench_start_gateway '<extra tyk.conf members>', then bench_wrk per scenario.
# Env: DURATION (seconds per scenario, default 10), WARMUP (default 2), CONNECTIONS (default 32).

duration=${DURATION:-10}
warmup=${WARMUP:-2}
connections=${CONNECTIONS:-32}
secret="${BENCH_NAME}-secret"
pids=()
gateway_pid=""
redis_pid=""
rows=()
base_cpu=""
base_rps=""
base_name=""

bench_die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

bench_cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}

bench_wait_for() { # bench_wait_for WHAT COMMAND...: up to WAIT_SECONDS (default 10) seconds
    local what=$1
    shift
    for _ in $(seq $((${WAIT_SECONDS:-10} * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    bench_die "$what did not come up"
}

bench_free_ports() { # bench_free_ports N: N distinct free loopback ports (bound at once, released)
    python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])' "$1"
}

# bench_prepare [EXTRA_PACKAGES]: installs wrk (and the extras), builds portcullis and
# echo-upstream (Release), makes the work directory, picks ports and the CPU layout.
bench_prepare() {
    PORTCULLIS_EXTRA_PACKAGES="wrk ${1:-}" bash scripts/install-deps.sh
    BUILD_DIR=build-bench BUILD_TYPE=Release CMAKE_ARGS="-DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=ON" \
        BUILD_TARGETS="portcullis echo-upstream" bash scripts/build.sh

    work=$(mktemp -d "/tmp/$BENCH_NAME.XXXXXX")
    trap bench_cleanup EXIT
    mkdir -p "$work/apps"
    pin_sut=()
    pin_aux=()
    if [[ $(nproc) -ge 2 ]]; then
        pin_sut=(taskset -c 0)
        pin_aux=(taskset -c 1)
    fi
    read -r redis_port upstream_port gateway_port nginx_port < <(bench_free_ports 4)
    upstream="http://127.0.0.1:$upstream_port"
    gateway="http://127.0.0.1:$gateway_port"
    clk_tck=$(getconf CLK_TCK)
    touch "$work/gateway.log"

    # Other work on the machine skews every number: measure how busy the CPUs are just before.
    local u1 n1 s1 i1 u2 n2 s2 i2
    read -r _ u1 n1 s1 i1 _ </proc/stat
    sleep 1
    read -r _ u2 n2 s2 i2 _ </proc/stat
    busy=$((100 * (u2 + n2 + s2 - u1 - n1 - s1) / (u2 + n2 + s2 + i2 - u1 - n1 - s1 - i1 + 1)))
    if [[ "$busy" -gt 10 ]]; then
        echo "$BENCH_NAME: WARNING: CPUs ${busy}% busy before the run; results will be noisy" >&2
    fi
}

# Shared layout: nothing pinned (the gateway's workers may use every CPU).
bench_unpin() { pin_sut=(); pin_aux=(); }

bench_start_redis() {
    "${pin_aux[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
        --maxclients 1000 >"$work/redis.log" 2>&1 &
    pids+=($!)
    redis_pid=$!
    bench_wait_for redis-server redis-cli -h 127.0.0.1 -p "$redis_port" ping
}

bench_start_echo_upstream() {
    "${pin_aux[@]}" build-bench/echo-upstream --listen 127.0.0.1 --port "$upstream_port" \
        >"$work/upstream.log" 2>&1 &
    pids+=($!)
    bench_wait_for echo-upstream curl -sf -o /dev/null "$upstream/"
}

# bench_nginx NAME CONF_BODY: starts nginx (master + workers, daemon off) with the given http{}
# contents; its pid file is "$work/NAME.pid". Pinned like the gateway when NAME is "proxy".
bench_nginx() {
    local name=$1 pin=("${pin_aux[@]}")
    [[ "$name" == proxy ]] && pin=("${pin_sut[@]}")
    mkdir -p "$work/$name"
    cat >"$work/$name/nginx.conf" <<CONF
worker_processes ${NGINX_WORKERS:-1};
worker_rlimit_nofile $(ulimit -n);
pid $work/$name.pid;
error_log $work/$name/error.log warn;
daemon off;
events { worker_connections 32768; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $work/$name/body;
    proxy_temp_path $work/$name/proxy;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    $2
}
CONF
    "${pin[@]}" nginx -c "$work/$name/nginx.conf" -p "$work/$name" >"$work/$name/stdout.log" 2>&1 &
    pids+=($!)
    eval "${name}_pid=$!"
}

# An nginx upstream answering every request with 200 and a 20-byte body, /bytes/1k and
# /bytes/64k with bodies of that size (any method).
bench_start_nginx_upstream() {
    mkdir -p "$work/www/bytes"
    chmod a+rx "$work" "$work/www" "$work/www/bytes" # nginx workers run unprivileged
    head -c 1024 /dev/zero | tr '\0' 'a' >"$work/www/bytes/1k"
    head -c 65536 /dev/zero | tr '\0' 'b' >"$work/www/bytes/64k"
    bench_nginx upstream "
    client_max_body_size 1m;
    client_body_buffer_size 128k;
    server {
        listen 127.0.0.1:$upstream_port backlog=4096;
        location / { return 200 \"hello from upstream\\n\"; }
        location /bytes/ { root $work/www; error_page 405 =200 \$uri; }
    }"
    bench_wait_for nginx-upstream curl -sf -o /dev/null "$upstream/"
}

# nginx as the peer: proxy_pass to the same upstream with a keep-alive pool, on port $nginx_port.
bench_start_nginx_proxy() {
    bench_nginx proxy "
    client_max_body_size 1m;
    client_body_buffer_size 128k;
    upstream backend { server 127.0.0.1:$upstream_port; keepalive 64; }
    server {
        listen 127.0.0.1:$nginx_port backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
    bench_wait_for nginx-proxy curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/"
}

bench_stop_nginx() { # bench_stop_nginx NAME
    local pid_var="${1}_pid"
    kill "${!pid_var}" 2>/dev/null || true
    wait "${!pid_var}" 2>/dev/null || true
}

# bench_start_gateway EXTRA [WORKERS]: access log off, warn level; EXTRA (JSON members, may be
# empty) is added to tyk.conf.
bench_start_gateway() {
    cat >"$work/tyk.conf" <<JSON
{"listen_address": "127.0.0.1", "listen_port": $gateway_port, "secret": "$secret",
 "app_path": "$work/apps", "storage": {"type": "redis", "host": "127.0.0.1", "port": $redis_port},
 "hash_keys": false, ${1:+$1,}
 "portcullis": {"workers": ${2:-1}, "access_log": "off", "log_level": "warn",
                "max_connections_per_worker": 20000}}
JSON
    "${pin_sut[@]}" build-bench/portcullis --conf "$work/tyk.conf" >>"$work/gateway.log" 2>&1 &
    gateway_pid=$!
    pids+=("$gateway_pid")
    bench_wait_for portcullis curl -sf -o /dev/null "$gateway/hello"
}

bench_stop_gateway() {
    kill "$gateway_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
}

bench_create_key() { # bench_create_key SESSION_JSON -> prints the key
    local reply
    reply=$(curl -s -H "X-Tyk-Authorization: $secret" -X POST "$gateway/tyk/keys/create" -d "$1")
    python3 -c 'import json, sys; print(json.loads(sys.argv[1])["key"])' "$reply" 2>/dev/null ||
        bench_die "key creation failed: $reply"
}

bench_ticks() { # bench_ticks AWK_SUM PID...: a sum of /proc/PID/stat fields over the PIDs
    local expr=$1 pid sum=0 t
    shift
    for pid in "$@"; do
        t=$(awk "{ sub(/^.*\\) /, \"\"); print $expr }" "/proc/$pid/stat")
        sum=$((sum + t))
    done
    echo "$sum"
}
# utime + stime (fields 14 and 15 of stat; $12 and $13 once the name is cut off), and utime alone
bench_cpu_ticks() { bench_ticks '$12 + $13' "$@"; }
bench_user_ticks() { bench_ticks '$12' "$@"; }

bench_children() { # bench_children PID: PID and its child processes (nginx master + workers)
    echo "$1" $(pgrep -P "$1" || true)
}

bench_rss_kib() { # bench_rss_kib FIELD PID...: sum of VmRSS or VmHWM in KiB
    local field=$1 pid sum=0 v
    shift
    for pid in "$@"; do
        v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status")
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# A wrk Lua script: METHOD, BODY_BYTES (0: none) and headers "Name: value"...; it prints the
# latency percentiles (µs) wrk's --latency does not (99.9).
bench_lua() { # bench_lua FILE METHOD BODY_BYTES [HEADER]...
    local file=$1 method=$2 bytes=$3 h
    shift 3
    {
        echo "wrk.method = \"$method\""
        if [[ "$bytes" -gt 0 ]]; then
            # A JSON document of exactly BODY_BYTES bytes, also written to FILE.body.
            python3 -c 'import sys; n = int(sys.argv[1]); sys.stdout.write("{\"pad\":\"" + "x" * max(0, n - 10) + "\"}")' \
                "$bytes" >"$file.body"
            echo "local f = io.open(\"$file.body\", \"rb\"); wrk.body = f:read(\"*a\"); f:close()"
            echo 'wrk.headers["Content-Type"] = "application/json"'
        fi
        for h in "$@"; do
            echo "wrk.headers[\"${h%%: *}\"] = \"${h#*: }\""
        done
        cat <<'LUA'
done = function(summary, latency, requests)
    io.write(string.format("PCT %d %d %d %d\n", latency:percentile(50), latency:percentile(99),
        latency:percentile(99.9), summary.requests))
    io.write(string.format("ERR %d %d %d %d %d\n", summary.errors.connect, summary.errors.read,
        summary.errors.write, summary.errors.status, summary.errors.timeout))
end
LUA
    } >"$file"
}

# bench_wrk NAME SECS URL CONNS LUA PID...: a warm-up, then wrk for SECS with CONNS connections
# (threads: 1, or 4 past 1,000 connections); the CPU of PID... is measured over the run. Sets
# W_RPS W_P50 W_P99 W_P999 (µs) W_REQS W_CPU (µs per request) W_UCPU (its user-space part)
# W_ERRORS (socket errors + non-2xx).
bench_wrk() {
    local name=$1 secs=$2 url=$3 conns=$4 lua=$5 out c0 c1 u0 u1 threads=1
    shift 5
    [[ "$conns" -gt 1000 ]] && threads=4
    "${pin_aux[@]}" wrk -t"$threads" -c"$conns" -d"${warmup}s" -s "$lua" "$url" >/dev/null 2>&1 || true
    c0=$(bench_cpu_ticks "$@")
    u0=$(bench_user_ticks "$@")
    out=$("${pin_aux[@]}" wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s -s "$lua" "$url" 2>&1) ||
        bench_die "$name: wrk failed: $out"
    c1=$(bench_cpu_ticks "$@")
    u1=$(bench_user_ticks "$@")
    W_RPS=$(awk '/^Requests\/sec:/{ print $2 }' <<<"$out")
    read -r _ W_P50 W_P99 W_P999 W_REQS < <(grep '^PCT ' <<<"$out")
    local e
    read -r _ e <<<"$(grep '^ERR ' <<<"$out" | awk '{ print $1, $2 + $3 + $4 + $5 + $6 }')"
    W_ERRORS=${e:-0}
    local non2xx
    non2xx=$(awk '/Non-2xx or 3xx responses:/{ print $NF }' <<<"$out")
    W_ERRORS=$((W_ERRORS + ${non2xx:-0}))
    [[ -n "$W_RPS" && -n "$W_REQS" && "$W_REQS" -gt 0 ]] || bench_die "$name: cannot parse wrk output: $out"
    W_CPU=$(awk -v d=$((c1 - c0)) -v t="$clk_tck" -v n="$W_REQS" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
    W_UCPU=$(awk -v d=$((u1 - u0)) -v t="$clk_tck" -v n="$W_REQS" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
}

# The next bench_run is the baseline the rows after it are compared with.
bench_baseline() { base_cpu=""; }

# bench_run NAME SECONDS URL [HEADER]: a probe request (must answer 200), then bench_wrk against
# the gateway; adds a table row. Any non-2xx answer or socket error fails the benchmark.
bench_run() {
    local name=$1 secs=$2 url=$3 header=${4:-} status logged r0 r1 hdr=()
    [[ -n "$header" ]] && hdr=(-H "$header")
    logged=$(wc -l <"$work/gateway.log")
    status=$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" "$url")
    [[ "$status" == 200 ]] || bench_die "$name: probe request answered $status"
    bench_lua "$work/run.lua" GET 0 ${header:+"$header"}
    r0=$(bench_cpu_ticks "$redis_pid")
    bench_wrk "$name" "$secs" "$url" "$connections" "$work/run.lua" "$gateway_pid"
    r1=$(bench_cpu_ticks "$redis_pid")
    [[ "$W_ERRORS" -eq 0 ]] || bench_die "scenario '$name' had $W_ERRORS errors or non-2xx answers"
    local redis_cpu lines
    lines=$(($(wc -l <"$work/gateway.log") - logged))
    redis_cpu=$(awk -v d=$((r1 - r0)) -v t="$clk_tck" -v n="$W_REQS" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
    if [[ -z "$base_cpu" ]]; then base_cpu=$W_CPU; base_rps=$W_RPS; base_name=$name; fi
    local cpu_ratio rps_ratio
    cpu_ratio=$(awk -v a="$W_CPU" -v b="$base_cpu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rps_ratio=$(awk -v a="$W_RPS" -v b="$base_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rows+=("| $name | ${secs}s | $(printf '%.0f' "$W_RPS") | $(bench_ms "$W_P50") | $(bench_ms "$W_P99") | $W_CPU | ${cpu_ratio}x | ${rps_ratio}x | $base_name | $redis_cpu | $lines |")
    echo "$BENCH_NAME: $name: $W_RPS req/s, $W_CPU µs gateway CPU/req (${cpu_ratio}x $base_name), $lines gateway log lines" >&2
}

bench_ms() { awk -v u="$1" 'BEGIN { printf "%.2fms", u / 1000 }'; }

bench_commit() { # bench_commit FILE...: the commit measured, "(dirty tree)" when other files changed
    local commit excludes=() f
    for f in "$@"; do excludes+=(":(exclude)$f"); done
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n $(git status --porcelain -- . "${excludes[@]}" 2>/dev/null | head -1) ]]; then
        commit="$commit (dirty tree)"
    fi
    echo "$commit"
}

bench_gateway_log_head() {
    if [[ -s "$work/gateway.log" ]]; then
        echo "$BENCH_NAME: gateway log ($(wc -l <"$work/gateway.log") lines, first 20):" >&2
        head -20 "$work/gateway.log" >&2
    fi
}

# bench_write_results FILE TITLE NOTES: prints the bench_run table and writes FILE.
bench_write_results() {
    local file=$1 title=$2 notes=$3 table
    bench_gateway_log_head
    table=$(
        echo "| scenario | duration | req/s | p50 | p99 | gateway CPU µs/req | CPU ratio | req/s ratio | compared with | redis CPU µs/req | gateway log lines |"
        echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
        printf '%s\n' "${rows[@]}"
    )
    echo
    echo "$table"
    {
        echo "# $title"
        echo
        echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC') · nproc: $(nproc) · commit: $(bench_commit "$file") · wrk -t1 -c$connections," \
            "${warmup}s warm-up · CPUs ${busy}% busy before the run · gateway 1 worker, Release$([[ ${#pin_sut[@]} -gt 0 ]] && echo ', gateway on CPU 0, wrk/upstream/redis on CPU 1')"
        echo
        echo "$table"
        echo
        echo "$notes"
        echo "Gateway/redis CPU = utime+stime over the measured run divided by the requests served;"
        echo "gateway log lines = lines the gateway logged (level warn) during the scenario, warm-up included."
    } >"$file"
    echo
    echo "$BENCH_NAME: wrote $file"
}
