#!/usr/bin/env bash
# Installs the Debian 12 packages Portcullis needs to build, run and test.
# Only missing packages are installed; safe to run repeatedly. Needs root (or sudo).
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config
    libboost1.81-dev libboost-url1.81-dev
    libhiredis-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcrypt-dev
    libre2-dev libssl-dev duktape-dev libpugixml-dev zlib1g-dev libmimalloc-dev
    catch2 redis-server curl ca-certificates procps valgrind
    golang-go python3
    clang-14 libclang-rt-14-dev libfuzzer-14-dev llvm-14
)
if [[ "${PORTCULLIS_BUILD_ONLY:-}" == 1 ]]; then
    # Only what building the gateway needs (the Docker image's build stage): no test, fuzz or
    # benchmark tools.
    packages=(
        build-essential cmake ninja-build pkg-config
        libboost1.81-dev libboost-url1.81-dev
        libhiredis-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcrypt-dev
        libre2-dev libssl-dev duktape-dev libpugixml-dev zlib1g-dev libmimalloc-dev
        ca-certificates
    )
fi
if [[ "${PORTCULLIS_EXTRA_PACKAGES:-}" != "" ]]; then
    # shellcheck disable=SC2206
    packages+=(${PORTCULLIS_EXTRA_PACKAGES})
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all packages present"
    exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Installing a server package (redis-server, nginx for the benchmarks) must not start its system
# service as a side effect: the scripts start their own instances on loopback ports. A
# policy-rc.d answering 101 ("action forbidden") stops invoke-rc.d for the install only.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod +x "$policy"
    added_policy=1
fi
remove_policy() { if [[ $added_policy -eq 1 ]]; then "${sudo_cmd[@]}" rm -f "$policy"; fi; }
trap remove_policy EXIT
"${sudo_cmd[@]}" apt-get update -q </dev/null
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
