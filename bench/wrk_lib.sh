# Shared parts of the wrk macro benchmarks (sourced, not run): a Release build in build-bench/,
# its own redis-server, echo-upstream and portcullis on 127.0.0.1 (gateway pinned to CPU 0,
# wrk/upstream/redis to CPU 1 when there are >= 2 CPUs), scenarios measured with wrk, and a
# Markdown table of the results. Everything started is stopped on exit.
#
# Use: set BENCH_NAME, source this file, call bench_setup, write API definitions into
# "$work/apps", bench_start_gateway '<extra tyk.conf fields>', then bench_baseline / bench_run for
# each scenario, bench_stop_gateway, and bench_write_results FILE TITLE NOTES.
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

bench_wait_for() { # bench_wait_for WHAT COMMAND...: up to 10 s
    local what=$1
    shift
    for _ in $(seq 100); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    bench_die "$what did not come up"
}

# Installs wrk, builds portcullis and echo-upstream (Release), starts Redis and the upstream.
bench_setup() {
    PORTCULLIS_EXTRA_PACKAGES="wrk" bash scripts/install-deps.sh
    BUILD_DIR=build-bench BUILD_TYPE=Release CMAKE_ARGS="-DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=ON" \
        BUILD_TARGETS="portcullis echo-upstream" bash scripts/build.sh

    work=$(mktemp -d "/tmp/$BENCH_NAME.XXXXXX")
    trap bench_cleanup EXIT
    mkdir -p "$work/apps"
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

    "${pin_aux[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
        >"$work/redis.log" 2>&1 &
    pids+=($!)
    redis_pid=$!
    bench_wait_for redis-server redis-cli -h 127.0.0.1 -p "$redis_port" ping
    "${pin_aux[@]}" build-bench/echo-upstream --listen 127.0.0.1 --port "$upstream_port" \
        >"$work/upstream.log" 2>&1 &
    pids+=($!)
    bench_wait_for echo-upstream curl -sf -o /dev/null "http://127.0.0.1:$upstream_port/"
    upstream="http://127.0.0.1:$upstream_port"
    gateway="http://127.0.0.1:$gateway_port"
    clk_tck=$(getconf CLK_TCK)

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

# bench_start_gateway EXTRA: one worker, access log off, warn level; EXTRA (JSON members, may be
# empty) is added to tyk.conf.
bench_start_gateway() {
    cat >"$work/tyk.conf" <<JSON
{"listen_address": "127.0.0.1", "listen_port": $gateway_port, "secret": "$secret",
 "app_path": "$work/apps", "storage": {"type": "redis", "host": "127.0.0.1", "port": $redis_port},
 "hash_keys": false, ${1:+$1,}
 "portcullis": {"workers": 1, "access_log": "off", "log_level": "warn"}}
JSON
    "${pin_gateway[@]}" build-bench/portcullis --conf "$work/tyk.conf" >>"$work/gateway.log" 2>&1 &
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

bench_cpu_ticks() { # utime + stime of PID (fields 14 and 15 of /proc/PID/stat)
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# The next bench_run is the baseline the rows after it are compared with.
bench_baseline() { base_cpu=""; }

# bench_run NAME SECONDS URL [HEADER]: a probe request (must answer 200), a warm-up, then wrk
# for SECONDS; adds a table row. Any non-2xx answer or socket error fails the benchmark.
bench_run() {
    local name=$1 secs=$2 url=$3 header=${4:-} out g0 g1 r0 r1 status logged
    local hdr=()
    [[ -n "$header" ]] && hdr=(-H "$header")
    logged=$(wc -l <"$work/gateway.log")
    status=$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" "$url")
    [[ "$status" == 200 ]] || bench_die "$name: probe request answered $status"
    "${pin_aux[@]}" wrk -t1 -c"$connections" -d"${warmup}s" "${hdr[@]}" "$url" >/dev/null
    g0=$(bench_cpu_ticks "$gateway_pid")
    r0=$(bench_cpu_ticks "$redis_pid")
    out=$("${pin_aux[@]}" wrk -t1 -c"$connections" -d"${secs}s" --latency "${hdr[@]}" "$url")
    g1=$(bench_cpu_ticks "$gateway_pid")
    r1=$(bench_cpu_ticks "$redis_pid")
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' <<<"$out"; then
        echo "$out" >&2
        bench_die "scenario '$name' had errors (see wrk output above)"
    fi
    local total rps p50 p99
    total=$(awk '/ requests in /{ print $1 }' <<<"$out")
    rps=$(awk '/^Requests\/sec:/{ print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    [[ -n "$total" && "$total" -gt 0 && -n "$rps" ]] || bench_die "$name: cannot parse wrk output"
    local cpu redis_cpu lines
    lines=$(($(wc -l <"$work/gateway.log") - logged))
    cpu=$(awk -v d=$((g1 - g0)) -v t="$clk_tck" -v n="$total" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
    redis_cpu=$(awk -v d=$((r1 - r0)) -v t="$clk_tck" -v n="$total" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
    if [[ -z "$base_cpu" ]]; then base_cpu=$cpu; base_rps=$rps; base_name=$name; fi
    local cpu_ratio rps_ratio
    cpu_ratio=$(awk -v a="$cpu" -v b="$base_cpu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rps_ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rows+=("| $name | ${secs}s | $(printf '%.0f' "$rps") | $p50 | $p99 | $cpu | ${cpu_ratio}x | ${rps_ratio}x | $base_name | $redis_cpu | $lines |")
    echo "$BENCH_NAME: $name: $rps req/s, $cpu µs gateway CPU/req (${cpu_ratio}x $base_name), $lines gateway log lines" >&2
}

# bench_write_results FILE TITLE NOTES: prints the table and writes FILE.
bench_write_results() {
    local file=$1 title=$2 notes=$3 commit table
    if [[ -s "$work/gateway.log" ]]; then
        echo "$BENCH_NAME: gateway log ($(wc -l <"$work/gateway.log") lines, first 20):" >&2
        head -20 "$work/gateway.log" >&2
    fi
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n $(git status --porcelain -- . ":(exclude)$file" 2>/dev/null | head -1) ]]; then
        commit="$commit (dirty tree)"
    fi
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
        echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC') · nproc: $(nproc) · commit: $commit · wrk -t1 -c$connections," \
            "${warmup}s warm-up · CPUs ${busy}% busy before the run · gateway 1 worker, Release$([[ ${#pin_gateway[@]} -gt 0 ]] && echo ', gateway on CPU 0, wrk/upstream/redis on CPU 1')"
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
