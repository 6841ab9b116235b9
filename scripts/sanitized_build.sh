# Sourced by scripts/test.sh and scripts/fuzz.sh: the clang-14 build with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer coverage, and the sanitizers' run-time options.

# sanitized_configure DIR: configures DIR unless it already is.
sanitized_configure() {
    local dir=$1
    if [[ ! -f "$dir/CMakeCache.txt" ]]; then
        CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=None \
            -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" -DCMAKE_C_FLAGS="-O1" \
            -DPORTCULLIS_SANITIZE=ON -DPORTCULLIS_FUZZ=ON
    fi
}

# sanitizer_env ASAN_DEFAULT: exports ASAN_OPTIONS (ASAN_DEFAULT unless already set),
# UBSAN_OPTIONS and the symbolizer for readable reports.
sanitizer_env() {
    export ASAN_OPTIONS=${ASAN_OPTIONS:-$1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    if command -v llvm-symbolizer-14 >/dev/null 2>&1; then
        export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
    fi
}
