#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite (unit, Redis and
# integration tests; the tests start their own redis-server and upstreams on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 300 -j "${TEST_JOBS:-2}" -LE cost "$@"
# The deterministic cost check (instructions per request under callgrind), printed.
ctest --output-on-failure --timeout 300 -L cost -V | grep -E "instructions per request|tests passed|Failed"
