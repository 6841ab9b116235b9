#!/usr/bin/env bash
# Builds the Docker image without a Docker engine and checks what is in it:
#   1. a debian:bookworm base image made with debootstrap (when no such image is stored yet, e.g.
#      no registry is reachable), tagged as the Dockerfile's debian:12 and debian:12-slim;
#   2. `buildah bud --isolation chroot` of docker/Dockerfile (the multi-stage build, as root);
#   3. the image's own portcullis and echo-upstream binaries, run from the image's filesystem
#      (chroot, host network) against a redis-server on loopback: GET /hello, a proxied request,
#      and a key created through the Gateway API used for a keyed request.
# Prints the image size. Takes 15-30 minutes on 2 cores (the build stage compiles the gateway);
# not part of CI. Needs root.
#   docker/verify.sh [--keep]     (--keep: leave the image in buildah's store)
# Env: WORK (scratch directory, default /var/tmp/portcullis-image), MIRROR (Debian mirror for
# debootstrap), STORAGE_DRIVER (buildah's, default vfs: works inside containers and chroots).
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
[[ "${1:-}" == "--keep" ]] && keep=1
work=${WORK:-/var/tmp/portcullis-image}
mirror=${MIRROR:-http://deb.debian.org/debian}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
image=localhost/portcullis:verify
say() { echo "verify: $*"; }
die() { echo "verify: FAILED: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (buildah's chroot isolation, debootstrap, chroot)"
missing=()
for tool in buildah debootstrap redis-server curl; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing buildah debootstrap redis-server curl"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q buildah debootstrap redis-server curl
fi
mkdir -p "$work"

# 1. the base image
if ! buildah inspect --type image docker.io/library/debian:12 >/dev/null 2>&1; then
    say "making debian:bookworm with debootstrap from $mirror"
    rm -rf "$work/rootfs"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        die "debootstrap (see $work/debootstrap.log)"
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    base=$(buildah from scratch)
    mnt=$(buildah mount "$base")
    cp -a "$work/rootfs/." "$mnt/"
    buildah umount "$base" >/dev/null
    buildah commit -q "$base" localhost/debian:bookworm >/dev/null
    buildah rm "$base" >/dev/null
    buildah tag localhost/debian:bookworm docker.io/library/debian:12 docker.io/library/debian:12-slim
fi

# 2. the image
say "building $image (docker/Dockerfile, chroot isolation)"
started=$(date +%s)
buildah bud --isolation chroot --pull=never -f docker/Dockerfile -t "$image" . >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; die "buildah bud (see $work/build.log)"; }
say "built in $(($(date +%s) - started)) s"
size=$(buildah images --format '{{.Size}}' "$image" | head -1)
base_size=$(buildah images --format '{{.Size}}' docker.io/library/debian:12-slim | head -1)
say "image size: $size (its base, debian:12-slim here: $base_size)"

# 3. the image's binaries against Redis
ctr=$(buildah from "$image")
mnt=$(buildah mount "$ctr")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    buildah umount "$ctr" >/dev/null 2>&1 || true
    buildah rm "$ctr" >/dev/null 2>&1 || true
    if [[ $keep -eq 0 ]]; then buildah rmi "$image" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
redis_port=$(free_port)
upstream_port=$(free_port)
gateway_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)

mkdir -p "$mnt/tmp/verify/apps" "$mnt/tmp/verify/policies"
cat >"$mnt/tmp/verify/tyk.conf" <<EOF
{"listen_address": "127.0.0.1", "listen_port": $gateway_port, "secret": "verify-secret",
 "app_path": "/tmp/verify/apps",
 "policies": {"policy_source": "file", "policy_path": "/tmp/verify/policies"},
 "storage": {"host": "127.0.0.1", "port": $redis_port},
 "portcullis": {"workers": 1}}
EOF
for kind in open keyed; do
    keyless=$([[ $kind == open ]] && echo true || echo false)
    cat >"$mnt/tmp/verify/apps/$kind.json" <<EOF
{"api_id": "$kind", "org_id": "default", "name": "$kind", "active": true, "use_keyless": $keyless,
 "proxy": {"listen_path": "/$kind/", "target_url": "http://127.0.0.1:$upstream_port/",
           "strip_listen_path": true},
 "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}}}
EOF
done
chroot "$mnt" /usr/local/bin/echo-upstream --listen 127.0.0.1 --port "$upstream_port" \
    >"$work/upstream.log" 2>&1 &
pids+=($!)
chroot --userspec=10001 "$mnt" /usr/local/bin/portcullis --conf /tmp/verify/tyk.conf \
    >"$work/gateway.log" 2>&1 &
pids+=($!)

gateway="http://127.0.0.1:$gateway_port"
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$gateway/hello" 2>/dev/null && break
    sleep 0.1
done
hello=$(curl -fsS "$gateway/hello") || { tail -20 "$work/gateway.log" >&2; die "GET /hello"; }
grep -q '"status":"pass"' <<<"$hello" || die "GET /hello answered $hello"
say "GET /hello: $hello"

echoed=$(curl -fsS "$gateway/open/checked?from=verify") || die "proxied GET /open/checked"
grep -q '"path":"/checked"' <<<"$echoed" || die "proxied request answered $echoed"
say "proxied GET /open/checked: 200, the upstream saw /checked"

created=$(curl -fsS -X POST -H "X-Tyk-Authorization: verify-secret" \
    -d '{"access_rights": {"keyed": {"api_id": "keyed", "versions": ["Default"]}}, "meta_data": {}}' \
    "$gateway/tyk/keys/create") || die "POST /tyk/keys/create"
key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$created")
[[ $(curl -s -o /dev/null -w '%{http_code}' "$gateway/keyed/x") == 401 ]] || die "keyed route without a key is not 401"
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $key" "$gateway/keyed/x") == 200 ]] ||
    die "keyed route with the created key is not 200"
say "keyed route: 401 without a key, 200 with one created through the Gateway API"
say "OK: image $image, $size"
