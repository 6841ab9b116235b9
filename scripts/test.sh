#!/usr/bin/env bash
# Installs what is missing, then runs everything CI checks:
# 1. the whole test suite (unit, Redis, integration tests against the real gateway binary, the
#    template differential test, the fuzz corpora and kept crashers) built with clang-14 under
#    AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/;
# 2. every libFuzzer target for FUZZ_SECONDS (default 30) from its seed corpus (scripts/fuzz.sh);
# 3. the gateway and the echo upstream built with g++ -O2 as shipped, in build-cost/, and the
#    deterministic cost check: instructions per request under callgrind, printed.
# Extra arguments go to ctest (e.g. -R <name>). SKIP_FUZZ=1 or SKIP_COST=1 leave a step out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitized_build.sh

bash scripts/install-deps.sh
jobs=${JOBS:-$(nproc)}

san_dir=${SANITIZE_BUILD_DIR:-build-asan}
sanitized_configure "$san_dir"
cmake --build "$san_dir" -j "$jobs"

sanitizer_env detect_leaks=1
(cd "$san_dir" && ctest --output-on-failure --timeout 300 -j "${TEST_JOBS:-2}" -LE cost "$@")

if [[ "${SKIP_FUZZ:-}" == "" ]]; then
    FUZZ_SKIP_DEPS=1 FUZZ_BUILD_DIR="$san_dir" FUZZ_SECONDS="${FUZZ_SECONDS:-30}" \
        bash scripts/fuzz.sh
fi

if [[ "${SKIP_COST:-}" == "" ]]; then
    # -O2 as RelWithDebInfo, without the debug information (it does not change the code).
    cost_dir=${COST_BUILD_DIR:-build-cost}
    if [[ ! -f "$cost_dir/CMakeCache.txt" ]]; then
        cmake -S . -B "$cost_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
            -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DPORTCULLIS_TESTS=OFF
    fi
    cmake --build "$cost_dir" -j "$jobs" --target portcullis echo-upstream
    bash bench/callgrind_cost.sh --portcullis "$cost_dir/portcullis" \
        --upstream "$cost_dir/echo-upstream" --requests 500 |
        grep -E "instructions per request"
fi
