#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# each for a bounded time, starting from its checked-in seed corpus (fuzz/corpus/TARGET) and kept
# crashers (fuzz/regressions/TARGET). Prints executions, corpus growth and findings per target;
# exits non-zero when any target found a crash, leak, hang or sanitizer report.
#
#   bash scripts/fuzz.sh                       every target, 60 s each
#   FUZZ_SECONDS=3600 bash scripts/fuzz.sh template session   longer, chosen targets
#
# FUZZ_SECONDS (default 60) per target; FUZZ_PARALLEL (default 2) targets at once;
# FUZZ_BUILD_DIR (default build-fuzz) an existing clang build with PORTCULLIS_FUZZ=ON is reused;
# FUZZ_OUT (default FUZZ_BUILD_DIR/fuzz-out) holds each target's grown corpus, log and artifacts.
# A finding is written as FUZZ_OUT/TARGET/crash-* (or leak-*, timeout-*, oom-*): fix it, then keep
# the file in fuzz/regressions/TARGET/ so every test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitized_build.sh

all_targets=(request gateway_api template variables config session)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=("${all_targets[@]}")
fi
seconds=${FUZZ_SECONDS:-60}
parallel=${FUZZ_PARALLEL:-2}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
out=${FUZZ_OUT:-$build_dir/fuzz-out}

if [[ "${FUZZ_SKIP_DEPS:-}" == "" ]]; then
    bash scripts/install-deps.sh
fi
sanitized_configure "$build_dir"
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

sanitizer_env detect_leaks=1:abort_on_error=1:symbolize=1

run_target() {
    local target=$1 dir="$out/$1"
    mkdir -p "$dir/corpus"
    local inputs=("$dir/corpus" "fuzz/corpus/$target")
    if [[ -d "fuzz/regressions/$target" ]]; then
        inputs+=("fuzz/regressions/$target")
    fi
    # -timeout: one input running longer is a hang; -rss_limit_mb: a runaway allocation.
    # The outer timeout is a last resort should the fuzzer itself stop responding.
    local status=0
    timeout --kill-after=30 $((seconds + 120)) "$build_dir/fuzz/fuzz_$target" \
        -max_total_time="$seconds" -timeout=25 -rss_limit_mb=3072 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$dir/" "${inputs[@]}" \
        >"$dir/fuzz.log" 2>&1 || status=$?
    echo "$status" >"$dir/status"
}

echo "fuzz: ${targets[*]}, ${seconds} s each, ${parallel} at a time (output in $out)"
mkdir -p "$out"
running=0
for target in "${targets[@]}"; do
    run_target "$target" &
    running=$((running + 1))
    if ((running >= parallel)); then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

failed=0
printf '%-12s %8s %12s %8s %8s  %s\n' target seconds executions exec/s corpus result
for target in "${targets[@]}"; do
    dir="$out/$target"
    log="$dir/fuzz.log"
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    corpus=$(find "$dir/corpus" -type f | wc -l)
    status=$(cat "$dir/status")
    findings=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    result=ok
    if [[ "$status" != 0 || "$findings" != 0 ]]; then
        result="FAILED (exit $status, $findings finding(s); see $log)"
        failed=1
    fi
    printf '%-12s %8s %12s %8s %8s  %s\n' "$target" "$seconds" "${execs:-0}" "${rate:-0}" \
        "$corpus" "$result"
done
if ((failed)); then
    for target in "${targets[@]}"; do
        if [[ "$(cat "$out/$target/status")" != 0 ]]; then
            echo "---- $target: the report"
            grep -E -A40 'ERROR: |runtime error|invariant failed|SUMMARY' "$out/$target/fuzz.log" |
                head -80 || tail -40 "$out/$target/fuzz.log"
        fi
    done
fi
exit "$failed"
