#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine: installs what is missing, builds, starts a local
# Redis when none answers on 127.0.0.1:6379, starts the example upstream (echo-upstream on
# 127.0.0.1:9000) and runs the gateway in the foreground on config/examples/tyk.conf
# (http://127.0.0.1:8080). Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
BUILD_TARGETS="portcullis echo-upstream" bash scripts/build.sh

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "quickstart: starting redis-server on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/tmp/portcullis-redis.log 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

./build/echo-upstream --listen 127.0.0.1 --port 9000 &
pids+=($!)

cat <<'MSG'
quickstart: gateway on http://127.0.0.1:8080 — try:
  curl -i http://127.0.0.1:8080/hello
  curl -i http://127.0.0.1:8080/echo/anything?x=1
MSG
./build/portcullis --conf config/examples/tyk.conf &
pids+=($!)
wait "${pids[-1]}"
