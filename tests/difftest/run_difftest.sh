#!/usr/bin/env bash
# Differential test: our Go text/template port (template-render) against real Go.
#
#   run_difftest.sh path/to/template-render
#
# Builds gotemplate/main.go with the system Go (stdlib only, no network), generates the random
# cases (gen_corpus.py, fixed seed), renders the hand-written corpus.jsonl plus the generated
# cases with both, and compares them case by case:
#   - success: both succeed with byte-identical output;
#   - failure: both fail at the same stage (parse/exec) with the identical message, and an exec
#     failure leaves the identical partial output; for cases named `lenient-*` only the stage
#     has to match.
# Prints every mismatch and a summary; exits 1 on any mismatch. Go is required: without it the
# test fails (scripts/install-deps.sh installs golang-go), it never skips.
#
# Environment: DIFFTEST_SEED / DIFFTEST_COUNT change the generated cases (default 20240611 /
# 300); DIFFTEST_MISMATCHES=file also writes the mismatch report to that file; DIFFTEST_ONLY=regex
# keeps only the cases whose name matches.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
renderer=${1:-}
if [[ -z "$renderer" || ! -x "$renderer" ]]; then
    echo "run_difftest: FAIL: usage: run_difftest.sh path/to/template-render (got '${renderer}')" >&2
    exit 1
fi
renderer=$(cd "$(dirname "$renderer")" && pwd)/$(basename "$renderer")
if ! command -v go >/dev/null 2>&1; then
    echo "run_difftest: FAIL: 'go' not found; the differential test needs Go" \
        "(Debian package golang-go, installed by scripts/install-deps.sh)" >&2
    exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "run_difftest: FAIL: 'python3' not found (installed by scripts/install-deps.sh)" >&2
    exit 1
fi

start=$(date +%s.%N)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/difftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Go's text/template: the ground truth.
(
    cd "$here/gotemplate"
    GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GOMODCACHE="$tmp/gopath/pkg/mod" \
        GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOTOOLCHAIN=local GOENV=off \
        go build -o "$tmp/gotemplate" .
) || {
    echo "run_difftest: FAIL: building gotemplate/main.go with $(go version) failed" >&2
    exit 1
}

seed=${DIFFTEST_SEED:-20240611}
count=${DIFFTEST_COUNT:-300}
python3 "$here/gen_corpus.py" "$seed" "$count" "$tmp/generated.jsonl"
cat "$here/corpus.jsonl" "$tmp/generated.jsonl" >"$tmp/all.jsonl"
if [[ -n "${DIFFTEST_ONLY:-}" ]]; then
    python3 - "$tmp/all.jsonl" "$DIFFTEST_ONLY" <<'PY'
import json, re, sys
path, pattern = sys.argv[1], re.compile(sys.argv[2])
lines = [l for l in open(path, encoding="utf-8") if pattern.search(json.loads(l)["name"])]
open(path, "w", encoding="utf-8").writelines(lines)
PY
fi

"$tmp/gotemplate" "$tmp/all.jsonl" >"$tmp/go.jsonl"

python3 - "$renderer" "$tmp/all.jsonl" "$tmp/go.jsonl" "$here/corpus.jsonl" "$tmp" "$start" \
    <<'PY'
import base64, json, os, signal, subprocess, sys, time

renderer, all_path, go_path, hand_path, tmp, start = sys.argv[1:7]
lines = [l for l in open(all_path, encoding="utf-8") if l.strip()]
cases = [json.loads(l) for l in lines]
go = [json.loads(l) for l in open(go_path, encoding="utf-8") if l.strip()]
hand_names = {json.loads(l)["name"] for l in open(hand_path, encoding="utf-8") if l.strip()}
if len(go) != len(cases):
    sys.exit("run_difftest: FAIL: gotemplate answered %d of %d cases" % (len(go), len(cases)))
for c, g in zip(cases, go):
    if g["name"] != c["name"] or g.get("stage") == "data":
        sys.exit("run_difftest: FAIL: corpus problem at %s: %s" % (c["name"], g))

# Our renderer, restarted after the case that crashed or hung it (it flushes each answer).
ours = []
timeouts = 0
while len(ours) < len(cases):
    # The original lines: a JSON round trip in Python would turn the integer -0 into 0.
    rest = lines[len(ours):]
    in_path, out_path = os.path.join(tmp, "rest.jsonl"), os.path.join(tmp, "ours.jsonl")
    with open(in_path, "w", encoding="utf-8") as f:
        f.writelines(rest)
    failure = None
    with open(out_path, "wb") as out, open(os.path.join(tmp, "stderr"), "wb") as err:
        try:
            rc = subprocess.run([renderer, in_path], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, timeout=10).returncode
            if rc < 0:
                failure = ("crash", "template-render killed by %s" % signal.Signals(-rc).name)
            elif rc != 0:
                failure = ("crash", "template-render exited with status %d" % rc)
        except subprocess.TimeoutExpired:
            timeouts += 1
            failure = ("timeout", "template-render did not answer within 10 s")
    answered = []
    # Split on "\n" only: str.splitlines() would also split at U+2028 inside an answer.
    for line in open(out_path, "rb").read().decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        try:
            answered.append(json.loads(line))
        except ValueError:
            break
    answered = answered[:len(rest)]
    ours.extend(answered)
    if len(ours) < len(cases):
        if failure is None:
            failure = ("crash", "template-render stopped answering")
        stderr = open(os.path.join(tmp, "stderr"), "rb").read().decode("utf-8", "replace")
        detail = failure[1] + (": " + stderr.strip()[-500:] if stderr.strip() else "")
        ours.append({"name": cases[len(ours)]["name"], "ok": False, "stage": failure[0],
                     "error": detail})
        if timeouts >= 2:
            for c in cases[len(ours):]:
                ours.append({"name": c["name"], "ok": False, "stage": "not-run",
                             "error": "not run: too many timeouts"})


def raw(result, field):
    """The exact bytes of output/partial, from the *_b64 field."""
    b64 = result.get(field + "_b64")
    if b64 is None:
        return (result.get(field) or "").encode("utf-8")
    return base64.b64decode(b64)


def show(data, limit=600):
    text = repr(data.decode("utf-8", "backslashreplace"))
    return text if len(text) <= limit else text[:limit] + "... (%d bytes)" % len(data)


def describe(result):
    if result.get("ok"):
        return "ok     output=" + show(raw(result, "output"))
    text = "%-6s error=%r" % (result.get("stage"), result.get("error"))
    if result.get("stage") == "exec":
        text += "\n             partial=" + show(raw(result, "partial"))
    return text


def first_difference(a, b):
    n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return "first difference at byte %d: go %s / ours %s" % (
        n, show(a[max(0, n - 20):n + 40], 200), show(b[max(0, n - 20):n + 40], 200))


def compare(case, g, o):
    """None when equivalent, else a short reason."""
    if o.get("name") != case["name"]:
        return "renderer answered for %r" % o.get("name")
    lenient = case["name"].startswith("lenient-")
    if g["ok"]:
        if not o.get("ok"):
            return "go succeeds, ours fails (%s)" % o.get("stage")
        a, b = raw(g, "output"), raw(o, "output")
        return None if a == b else "output differs; " + first_difference(a, b)
    if o.get("ok"):
        return "go fails (%s), ours succeeds" % g["stage"]
    if o.get("stage") != g["stage"]:
        return "stage differs: go %s, ours %s" % (g["stage"], o.get("stage"))
    if lenient:
        return None
    if o.get("error") != g["error"]:
        return "%s error message differs" % g["stage"]
    if g["stage"] == "exec" and raw(o, "partial") != raw(g, "partial"):
        return "partial output differs; " + first_difference(raw(g, "partial"), raw(o, "partial"))
    return None


report = []
identical = 0
reasons = {}
for case, g, o in zip(cases, go, ours):
    reason = compare(case, g, o)
    if reason is None:
        identical += 1
        continue
    key = reason.split(";")[0]
    reasons[key] = reasons.get(key, 0) + 1
    origin = "hand-written" if case["name"] in hand_names else "generated"
    data = json.dumps(case.get("data"), ensure_ascii=False)
    report.append("\n".join([
        "=== MISMATCH %s (%s): %s" % (case["name"], origin, reason),
        "  template: " + repr(case["template"]),
        "  data:     " + (data if len(data) <= 400 else data[:400] + "..."),
        "  go:       " + describe(g),
        "  ours:     " + describe(o),
    ]))

text = "\n".join(report)
if report:
    print(text)
    print()
n_hand = sum(1 for c in cases if c["name"] in hand_names)
summary = "run_difftest: %d cases (%d hand-written, %d generated), %d identical, %d mismatches" % (
    len(cases), n_hand, len(cases) - n_hand, identical, len(cases) - identical)
for key, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
    summary += "\n  %4d  %s" % (n, key)
summary += "\nrun_difftest: %.1f s" % (time.time() - float(start))
print(summary)
target = os.environ.get("DIFFTEST_MISMATCHES")
if target:
    with open(target, "w", encoding="utf-8") as f:
        f.write(text + ("\n\n" if text else "") + summary + "\n")
sys.exit(1 if report else 0)
PY
