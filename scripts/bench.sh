#!/usr/bin/env bash
# Builds and runs the micro-benchmarks in bench/ (Google Benchmark) in build-bench/ (Release).
# Extra arguments go to every benchmark binary, e.g. --benchmark_filter=Rewrite.
set -euo pipefail
cd "$(dirname "$0")/.."
PORTCULLIS_EXTRA_PACKAGES="libbenchmark-dev" bash scripts/install-deps.sh
BUILD_DIR=build-bench BUILD_TYPE=Release CMAKE_ARGS="-DPORTCULLIS_BENCH=ON -DPORTCULLIS_TESTS=OFF" \
    BUILD_TARGETS=transform_bench bash scripts/build.sh
build-bench/bench/transform_bench --benchmark_min_time=0.3 "$@"
