#!/usr/bin/env bash
# The benchmark harness: Portcullis against nginx `proxy_pass` (keep-alive pool) to the same nginx
# upstream, scenario by scenario in the same run, in two layouts:
#   pinned: the process under test on CPU 0 (gateway 1 worker, nginx 1 worker); wrk, the upstream
#           and Redis on CPU 1;
#   shared: nothing pinned, gateway 2 workers, nginx 2 workers.
# Reports per scenario: requests/s, p50/p99/p99.9 latency, CPU µs per request of the process
# under test (its own utime+stime), peak RSS, and the ratios to nginx; then p50/p99 latency at
# fixed offered loads (fractions of nginx's saturation rate, h2load --rps) for the keyed
# `$tyk_meta` scenario and nginx, plotted to bench/latency_vs_load.png; and the gateway's RSS
# idle with 100 APIs loaded. Writes bench/RESULTS.md.
# Env: DURATION (seconds per scenario, default 10), WARMUP (default 2), CONNECTIONS (default 64),
# LAYOUTS ("pinned shared"), SCENARIOS (an extended regex on the names to run; default all), LOAD_SECONDS (per fixed-load
# step, default 5), ROUNDS (alternating gateway/nginx pairs per scenario, default 1; the row
# shows the pair with the median CPU ratio), RESULTS_FILE (default bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=gateway_vs_nginx
CONNECTIONS=${CONNECTIONS:-64}
source bench/wrk_lib.sh
layouts=${LAYOUTS:-pinned shared}
load_seconds=${LOAD_SECONDS:-5}
rounds=${ROUNDS:-1}
results=${RESULTS_FILE:-bench/RESULTS.md}
plot=bench/latency_vs_load.png

bench_prepare "nginx-light nghttp2-client gnuplot-nox"
# 10,000 connections need more than 10,000 descriptors in wrk, the gateway and nginx each.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge 12000 ]] ||
    bench_die "the open file limit is $(ulimit -n); 10,000 connections need at least 12,000"
pinned_aux=("${pin_aux[@]}")
bench_start_redis
bench_start_nginx_upstream

# API definitions: one per scenario family, all proxying to the nginx upstream.
python3 bench/scenario_apis.py "$work/apps" "$upstream"

# 100 API definitions for the idle-memory figure.
mkdir -p "$work/apps100"
for i in $(seq 100); do
    sed -e "s/\"api_id\": \"meta\"/\"api_id\": \"meta$i\"/" -e "s#\"/meta/\"#\"/meta$i/\"#" \
        "$work/apps/meta.json" >"$work/apps100/meta$i.json"
done

nginx_url="http://127.0.0.1:$nginx_port"
scenario_names=()
declare -A s_gw s_ng s_method s_bytes s_key s_conns s_extra
scenario() { # scenario NAME GATEWAY_PATH NGINX_PATH METHOD BODY_BYTES KEY(none|plain|limited) CONNS [HEADER]
    scenario_names+=("$1")
    s_gw[$1]=$2; s_ng[$1]=$3; s_method[$1]=$4; s_bytes[$1]=$5; s_key[$1]=$6; s_conns[$1]=$7
    s_extra[$1]=${8:-}
}
scenario "keyless passthrough" /open/x /x GET 0 none "$connections"
scenario "keyed, \$tyk_meta headers" /meta/x /x GET 0 plain "$connections"
scenario "keyed + rate limit + quota" /limited/x /x GET 0 limited "$connections"
scenario "keyed + body transform (1 KiB JSON)" /body/transform /transform POST 1024 plain "$connections"
scenario "keyed + URL rewrite with triggers" /rewrite/items/42 /gold/alice/42 GET 0 plain "$connections" "X-Plan: gold"
scenario "keyless, 1 KiB request and response bodies" /open/bytes/1k /bytes/1k POST 1024 none "$connections"
scenario "keyless, 64 KiB request and response bodies" /open/bytes/64k /bytes/64k POST 65536 none "$connections"
scenario "keyed, 1,000 connections" /meta/x /x GET 0 plain 1000
scenario "keyed, 10,000 connections" /meta/x /x GET 0 plain 10000

wanted() { [[ -z "${SCENARIOS:-}" ]] || grep -qE -- "$SCENARIOS" <<<"$1"; }

create_keys() {
    local rights='"access_rights": {"meta": {"api_id": "meta", "versions": ["Default"]}, "body": {"api_id": "body", "versions": ["Default"]}, "rewrite": {"api_id": "rewrite", "versions": ["Default"]}, "limited": {"api_id": "limited", "versions": ["Default"]}}'
    key_plain=$(bench_create_key "{\"org_id\": \"o\", $rights, \"meta_data\": {\"user\": \"alice\", \"plan\": \"gold\"}}")
    key_limited=$(bench_create_key "{\"org_id\": \"o\", \"rate\": 1e9, \"per\": 1, \"quota_max\": 1000000000000, \"quota_renewal_rate\": 3600, $rights, \"meta_data\": {\"user\": \"alice\", \"plan\": \"gold\"}}")
}

header_args() { # header_args NAME -> the scenario's headers, one per line
    local name=$1
    case ${s_key[$name]} in
    plain) echo "Authorization: $key_plain" ;;
    limited) echo "Authorization: $key_limited" ;;
    esac
    [[ -n "${s_extra[$name]}" ]] && echo "${s_extra[$name]}"
    return 0
}

reset_peak() { local pid; for pid in "$@"; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done; }

table_rows=()
measure() { # measure LAYOUT NAME
    local layout=$1 name=$2 headers=() line
    while IFS= read -r line; do [[ -n "$line" ]] && headers+=("$line"); done < <(header_args "$name")
    local conns=${s_conns[$name]}
    bench_lua "$work/scenario.lua" "${s_method[$name]}" "${s_bytes[$name]}" "${headers[@]}"
    # Probe: both answer 200 to the same request before anything is measured.
    local curl_args=(-s -o /dev/null -w '%{http_code}' -X "${s_method[$name]}")
    for line in "${headers[@]}"; do curl_args+=(-H "$line"); done
    if [[ "${s_bytes[$name]}" -gt 0 ]]; then
        curl_args+=(-H "Content-Type: application/json" --data-binary "@$work/scenario.lua.body")
    fi
    local st
    st=$(curl "${curl_args[@]}" "$gateway${s_gw[$name]}")
    [[ "$st" == 200 ]] || bench_die "$name: gateway probe answered $st"
    st=$(curl "${curl_args[@]}" "$nginx_url${s_ng[$name]}")
    [[ "$st" == 200 ]] || bench_die "$name: nginx probe answered $st"

    local ng_pids
    read -r -a ng_pids <<<"$(bench_children "$proxy_pid")"
    # ROUNDS alternating gateway/nginx pairs; the row is the pair with the median CPU ratio (every
    # number in it from that one pair), and the ratios of all pairs are listed beside it.
    local round rows_by_ratio=() ratios=()
    for ((round = 1; round <= rounds; round++)); do
        reset_peak "$gateway_pid"
        bench_wrk "$name (gateway)" "$duration" "$gateway${s_gw[$name]}" "$conns" "$work/scenario.lua" "$gateway_pid"
        local g_rps=$W_RPS g_p50=$W_P50 g_p99=$W_P99 g_p999=$W_P999 g_cpu=$W_CPU g_ucpu=$W_UCPU g_err=$W_ERRORS
        local g_rss
        g_rss=$(bench_rss_kib VmHWM "$gateway_pid")
        reset_peak "${ng_pids[@]}"
        bench_wrk "$name (nginx)" "$duration" "$nginx_url${s_ng[$name]}" "$conns" "$work/scenario.lua" "${ng_pids[@]}"
        local n_rps=$W_RPS n_p50=$W_P50 n_p99=$W_P99 n_p999=$W_P999 n_cpu=$W_CPU n_ucpu=$W_UCPU n_err=$W_ERRORS
        local n_rss
        n_rss=$(bench_rss_kib VmHWM "${ng_pids[@]}")
        local cpu_ratio rps_ratio
        cpu_ratio=$(awk -v a="$g_cpu" -v b="$n_cpu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
        rps_ratio=$(awk -v a="$g_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
        ratios+=("${cpu_ratio}x")
        rows_by_ratio+=("$cpu_ratio $n_rps #| $layout | $name | $conns | $(printf '%.0f' "$g_rps") / $(printf '%.0f' "$n_rps") | ${rps_ratio}x | $g_cpu / $n_cpu | **${cpu_ratio}x** | $(bench_ms "$g_p50") / $(bench_ms "$n_p50") | $(bench_ms "$g_p99") / $(bench_ms "$n_p99") | $(bench_ms "$g_p999") / $(bench_ms "$n_p999") | $((g_rss / 1024)) / $((n_rss / 1024)) | $g_err / $n_err |")
        echo "$BENCH_NAME: [$layout] $name (round $round/$rounds): gateway $g_rps req/s $g_cpu µs/req ($g_ucpu user); nginx $n_rps req/s $n_cpu µs/req ($n_ucpu user); CPU ratio ${cpu_ratio}x" >&2
    done
    local median
    median=$(printf '%s\n' "${rows_by_ratio[@]}" | sort -k1,1g | sed -n "$(((rounds + 1) / 2))p")
    local row=${median#*#}
    [[ $rounds -gt 1 ]] && row="$row ${ratios[*]} |"
    table_rows+=("$row")
    read -r _ n_rps _ <<<"$median"
    last_nginx_rps=$n_rps
}

# Latency at fixed offered loads (h2load: 32 connections, --rps per connection), from the
# per-request log: p50 and p99 in µs.
fixed_load() { # fixed_load URL RATE HEADER... -> "p50 p99 completed"
    local url=$1 rate=$2 clients=32
    shift 2
    local hargs=() h
    for h in "$@"; do hargs+=(-H "$h"); done
    local per_client
    per_client=$(awk -v r="$rate" -v c="$clients" 'BEGIN { v = r / c; printf "%d", (v < 1 ? 1 : v) }')
    rm -f "$work/h2load.log"
    "${pin_aux[@]}" h2load --h1 -t1 -c"$clients" --rps="$per_client" -D "$load_seconds" --warm-up-time=1 \
        "${hargs[@]}" --log-file="$work/h2load.log" "$url" >"$work/h2load.out" 2>&1 ||
        bench_die "h2load failed: $(tail -5 "$work/h2load.out")"
    python3 - "$work/h2load.log" <<'PY'
import sys
lat = sorted(int(l.split()[2]) for l in open(sys.argv[1]) if l.strip() and l.split()[1] == "200")
bad = sum(1 for l in open(sys.argv[1]) if l.strip() and l.split()[1] != "200")
if not lat or bad:
    print("0 0 0")
else:
    pick = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(pick(0.50), pick(0.99), len(lat))
PY
}

load_rows=()
plot_data="$work/latency.dat"
: >"$plot_data"
latency_vs_load() { # run on the pinned layout, against nginx's saturation rate of the keyed scenario
    local saturation=$1 frac rate g n
    for frac in 0.10 0.25 0.50 0.75 0.90; do
        rate=$(awk -v s="$saturation" -v f="$frac" 'BEGIN { printf "%d", s * f }')
        read -r g_p50 g_p99 g_n < <(fixed_load "$gateway/meta/x" "$rate" "Authorization: $key_plain")
        read -r n_p50 n_p99 n_n < <(fixed_load "$nginx_url/x" "$rate" "Authorization: $key_plain")
        [[ "$g_n" -gt 0 && "$n_n" -gt 0 ]] || bench_die "fixed load $rate req/s: errors or no answers"
        local achieved
        achieved="$(awk -v n="$g_n" -v s="$load_seconds" 'BEGIN { printf "%d", n / s }') / $(awk -v n="$n_n" -v s="$load_seconds" 'BEGIN { printf "%d", n / s }')"
        load_rows+=("| $frac | $rate | $achieved | $(bench_ms "$g_p50") / $(bench_ms "$n_p50") | $(bench_ms "$g_p99") / $(bench_ms "$n_p99") | $(awk -v a="$g_p99" -v b="$n_p99" 'BEGIN { printf "%+.2fms", (a - b) / 1000 }') |")
        echo "$rate $g_p50 $g_p99 $n_p50 $n_p99" >>"$plot_data"
        echo "$BENCH_NAME: fixed load $rate req/s: gateway p50/p99 $g_p50/$g_p99 µs, nginx $n_p50/$n_p99 µs" >&2
    done
}

for layout in $layouts; do
    case $layout in
    pinned) pin_sut=(taskset -c 0); pin_aux=("${pinned_aux[@]}"); workers=1 ;;
    shared) bench_unpin; workers=2 ;;
    *) bench_die "unknown layout $layout" ;;
    esac
    [[ $(nproc) -ge 2 ]] || { pin_sut=(); pin_aux=(); }
    NGINX_WORKERS=$workers bench_start_nginx_proxy
    bench_start_gateway '' "$workers"
    create_keys
    keyed_saturation=""
    for name in "${scenario_names[@]}"; do
        wanted "$name" || continue
        measure "$layout" "$name"
        if [[ "$layout" == pinned && "$name" == "keyed, \$tyk_meta headers" ]]; then
            keyed_saturation=$last_nginx_rps
        fi
    done
    if [[ "$layout" == pinned && -n "$keyed_saturation" ]]; then
        latency_vs_load "$keyed_saturation"
    fi
    bench_stop_gateway
    bench_stop_nginx proxy
done

# Memory with 10,000 open keep-alive connections, each having made one request (1 worker).
bench_start_gateway '' 1
held_rss=$(python3 - "$gateway_port" "$gateway_pid" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
conns = []
request = b"GET /open/x HTTP/1.1\r\nHost: bench\r\n\r\n"
for i in range(10000):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"hello from upstream\n"):
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection %d closed early" % i)
        data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        sys.exit("connection %d: %r" % (i, data[:40]))
    conns.append(s)
time.sleep(1)
rss = [l.split()[1] for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS:")][0]
print(rss, len(conns))
PY
) || bench_die "holding 10,000 connections failed"
read -r held_rss_kib held_count <<<"$held_rss"
bench_stop_gateway

# Idle memory: the gateway with 100 keyed APIs loaded and nothing to do.
mv "$work/apps" "$work/apps.scenarios"
mv "$work/apps100" "$work/apps"
bench_start_gateway '' 2
sleep 2
idle_rss=$(bench_rss_kib VmRSS "$gateway_pid")
api_count=$(curl -s -H "X-Tyk-Authorization: $secret" "$gateway/tyk/apis" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
bench_stop_gateway

if [[ -s "$plot_data" ]] && command -v gnuplot >/dev/null; then
    gnuplot <<GP
set terminal pngcairo size 900,540 noenhanced
set output "$plot"
set title "p50 / p99 latency vs offered load: keyed \$tyk_meta route (Portcullis) vs nginx proxy_pass"
set xlabel "offered load (requests/s)"
set ylabel "latency (ms)"
set key left top
set grid
plot "$plot_data" using 1:(\$3/1000) with linespoints title "Portcullis p99", \
     "$plot_data" using 1:(\$5/1000) with linespoints title "nginx p99", \
     "$plot_data" using 1:(\$2/1000) with linespoints title "Portcullis p50", \
     "$plot_data" using 1:(\$4/1000) with linespoints title "nginx p50"
GP
fi
bench_gateway_log_head

{
    echo "# Portcullis vs nginx (bench/gateway_vs_nginx.sh)"
    echo
    echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC') · nproc: $(nproc) · commit: $(bench_commit "$results" "$plot") ·" \
        "$(nginx -v 2>&1 | sed 's/^nginx version: //') · wrk, ${duration}s per scenario after ${warmup}s warm-up ·" \
        "CPUs ${busy}% busy before the run · Release build"
    echo
    echo "Each cell is \`Portcullis / nginx\`, measured one after the other in the same run against the"
    echo "same nginx upstream (20-byte body; /bytes/1k and /bytes/64k for the body rows) with the same"
    echo "request. nginx is \`proxy_pass\` with \`keepalive 64\` to the upstream; it does no key check,"
    echo "header injection, limits, transform or rewrite: the ratio is the cost of that work over a"
    echo "bare proxy hop. CPU = the process's own utime+stime (nginx: master + workers) over the"
    echo "measured run / requests served. Peak RSS = VmHWM during the scenario (reset before it)."
    echo "**pinned**: process under test on CPU 0 (1 worker each); wrk, upstream and Redis on CPU 1."
    echo "**shared**: nothing pinned, 2 workers each."
    echo
    if [[ $rounds -gt 1 ]]; then
        echo "Each row is the median of $rounds alternating gateway/nginx pairs by CPU ratio (every number"
        echo "in the row from that pair); the last column lists the CPU ratios of all pairs."
        echo
        echo "| layout | scenario | connections | req/s | req/s ratio | CPU µs/req | CPU ratio | p50 | p99 | p99.9 | peak RSS MiB | errors | CPU ratio of each pair |"
        echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    else
        echo "| layout | scenario | connections | req/s | req/s ratio | CPU µs/req | CPU ratio | p50 | p99 | p99.9 | peak RSS MiB | errors |"
        echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    fi
    printf '%s\n' "${table_rows[@]}"
    echo
    if [[ ${#load_rows[@]} -gt 0 ]]; then
        echo "## Latency at fixed offered load (pinned layout, keyed \`\$tyk_meta\` route vs nginx)"
        echo
        echo "h2load --h1, 32 connections, ${load_seconds}s per step; offered load as a fraction of nginx's"
        echo "saturation rate in the keyed row above. Plot: \`$(basename "$plot")\`."
        echo
        echo "| fraction | offered req/s | completed req/s | p50 | p99 | p99 difference |"
        echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
        printf '%s\n' "${load_rows[@]}"
        echo
    fi
    echo "## Memory"
    echo
    echo "Idle RSS with $api_count keyed APIs loaded (2 workers): $((idle_rss / 1024)) MiB."
    echo
    echo "RSS with $held_count open keep-alive connections, each after one proxied request (1 worker):"
    echo "$((held_rss_kib / 1024)) MiB. (Peak RSS under load is in the connection rows above.)"
} >"$results"
echo
cat "$results"
echo "$BENCH_NAME: wrote $results$([[ -s "$plot" ]] && echo " and $plot")"
