#!/usr/bin/env python3
"""The load client and the report of the soak test (bench/soak.sh); standard library only.

  soak_client.py run --port P --secret S --keys FILE --seconds N --rate R --out DIR
      Sends a steady, bounded load (R requests/s for N seconds, no more) over a mix of routes and
      keys on raw keep-alive HTTP/1.1 connections, plus one Gateway API key update
      (PUT /tyk/keys/ID changing meta_data) every --update-every seconds. Every request has a
      client-side deadline; its outcome (status, connection error, timeout) is written to
      DIR/requests.csv with its send and completion times. After the load it reads every key back
      (GET /tyk/keys/ID) and writes DIR/keys.json: the last acknowledged meta_data of each key
      and what the gateway reports.

  soak_client.py report --dir DIR --results FILE [--rss-start KIB ...]
      Classifies the outcomes against the disturbance windows recorded by soak.sh in
      DIR/events.log, prints the report, writes it to FILE and exits 1 when the soak failed:
      errors outside the outage windows, requests lost, or an acknowledged key update missing.

Routes (API definitions written by soak.sh):
  open      GET  /open/x                 keyless passthrough
  meta      GET  /meta/x                 keyed; global_headers X-User/X-Plan from $tyk_meta
  limited   GET  /limited/x              keyed; rate limit + quota on the key (429/403 expected)
  body      POST /body/transform         keyed; request body template with {{ ._tyk_meta.user }}
  rewrite   GET  /rewrite/items/N        keyed; URL rewrite with a header and a metadata trigger
  keys-put  PUT  /tyk/keys/ID            Gateway API update of a key's meta_data
Every 200 is checked against what echo-upstream says it received (the key's own user in the
injected header, the transformed body and the rewritten path), so a response meant for another
key or a wrong rewrite counts as an error too.
"""

import argparse
import asyncio
import collections
import csv
import json
import os
import random
import sys
import time

PLANS = ("gold", "silver", "bronze")
# Route mix: (route, weight). Keyed routes use a key of the matching kind.
MIX = (("open", 25), ("meta", 25), ("limited", 15), ("body", 15), ("rewrite", 20))
KEYED_PLAIN = ("meta", "body", "rewrite")
# Statuses a route may answer outside an outage (200 everywhere; the limited route also
# answers 429 Rate Limit Exceeded and 403 Quota exceeded).
EXPECTED = {"limited": {200, 429, 403}}
# What a clean failure looks like while Redis is away: the gateway's own 5xx.
CLEAN_OUTAGE = {500, 503}
OUTAGE_GRACE = 2.0  # seconds after Redis is back during which 5xx are still expected


# --------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 client on asyncio streams
# --------------------------------------------------------------------------------------------


class Connection:
    """One keep-alive connection to the gateway."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.last_used = time.monotonic()
        self.used = 0  # responses read on it

    def close(self):
        try:
            self.writer.close()
        except Exception:  # already broken: nothing to release
            pass


class Pool:
    """Idle keep-alive connections, used first in, first out so that every connection stays
    busy (none sits idle long enough to meet the gateway's idle timeout), and capped."""

    def __init__(self, port, max_connections, max_idle_seconds=20.0):
        self.port = port
        self.max_connections = max_connections
        self.max_idle_seconds = max_idle_seconds
        self.idle = collections.deque()
        self.open_count = 0
        self.opened_total = 0
        self.closed = collections.Counter()  # why connections were given up

    async def acquire(self):
        """An idle connection, or a new one; None when the cap is reached."""
        now = time.monotonic()
        while self.idle:
            conn = self.idle.popleft()
            if conn.reader.at_eof():
                self.discard(conn, "closed by the gateway while idle")
                continue
            if now - conn.last_used > self.max_idle_seconds:
                self.discard(conn, "idle too long (client side)")
                continue
            return conn, True
        if self.open_count >= self.max_connections:
            return None, False
        self.open_count += 1
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except BaseException:
            self.open_count -= 1
            raise
        self.opened_total += 1
        return Connection(reader, writer), False

    def release(self, conn):
        conn.last_used = time.monotonic()
        self.idle.append(conn)

    def discard(self, conn, why):
        conn.close()
        self.open_count -= 1
        self.closed[why] += 1

    def close_all(self):
        while self.idle:
            self.discard(self.idle.popleft(), "end of the run")


class ClientBusy(Exception):
    """The client's own connection cap was reached: the request was not sent."""


class NoResponse(Exception):
    """The connection ended before a complete response arrived."""


async def read_response(reader):
    """Reads one response: (status, headers with lower-case names, body, close_after)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        raise NoResponse("eof after %d bytes of header" % len(e.partial)) from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise NoResponse("not an HTTP status line: %r" % lines[0][:60])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    close_after = headers.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0"
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            for _ in range(100000):  # bounded: our bodies are a few KiB
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            body = bytes(body)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif status in (204, 304) or status < 200:
            body = b""
        else:
            body = await reader.read(1 << 20)  # until the server closes
            close_after = True
    except asyncio.IncompleteReadError as e:
        raise NoResponse("eof in body after %d bytes" % len(e.partial)) from None
    return status, headers, body, close_after


async def exchange(pool, method, target, headers, body=b""):
    """Sends one request on a pooled connection and reads its response. Any failure closes the
    connection; cancellation (the deadline) too."""
    conn, reused = await pool.acquire()
    if conn is None:
        raise ClientBusy()
    try:
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: soak"]
        lines += ["%s: %s" % kv for kv in headers]
        if body or method in ("POST", "PUT"):
            lines.append("Content-Length: %d" % len(body))
        conn.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await conn.writer.drain()
        status, rheaders, rbody, close_after = await read_response(conn.reader)
    except (NoResponse, OSError) as e:
        pool.discard(conn, "failed")
        # Tell a reused connection dying before its answer (the keep-alive race) apart.
        raise NoResponse("%s connection (%d answers before): %s: %s" % (
            "reused" if reused else "fresh", conn.used, type(e).__name__, e)) from None
    except BaseException:  # the deadline (cancellation)
        pool.discard(conn, "deadline")
        raise
    conn.used += 1
    if close_after:
        pool.discard(conn, "answer with Connection: close (status %d)" % status)
    else:
        pool.release(conn)
    return status, rheaders, rbody


# --------------------------------------------------------------------------------------------
# The load
# --------------------------------------------------------------------------------------------


def load_keys(path):
    """soak.sh writes one key a line: KIND KEY USER."""
    keys = []
    with open(path) as f:
        for line in f:
            if line.strip():
                kind, key, user = line.split()
                keys.append({"kind": kind, "key": key, "user": user})
    return keys


def header(headers_json, name):
    """A header echo-upstream received (its JSON maps names to lists of values)."""
    for k, v in headers_json.items():
        if k.lower() == name.lower():
            return v[0] if len(v) == 1 else v
    return None


def check_echo(route, key, extra, body):
    """None when a 200's body is what the route must have sent upstream, else a reason."""
    try:
        echo = json.loads(body)
    except ValueError:
        return "200 without an echo document"
    if route == "open":
        return None if echo.get("path") == "/x" else "path %r" % echo.get("path")
    user = key["user"]
    if route in ("meta", "limited"):
        got = header(echo.get("headers", {}), "X-User")
        if got != user:
            return "X-User %r, expected %r" % (got, user)
        plan = header(echo.get("headers", {}), "X-Plan")
        return None if plan in PLANS else "X-Plan %r" % plan
    if route == "body":
        try:
            sent = json.loads(echo.get("body", ""))
        except ValueError:
            return "transformed body is not JSON: %r" % echo.get("body", "")[:80]
        if sent.get("user") != user or sent.get("pad") != extra:
            return "transformed body %r" % echo.get("body", "")[:80]
        return None
    if route == "rewrite":
        item, gold_header = extra
        path = echo.get("path")
        allowed = {"/gold/%s/%s" % (user, item)} if gold_header else {
            "/silver/%s" % item, "/catalog/%s" % item}
        return None if path in allowed else "rewritten to %r, expected one of %s" % (
            path, sorted(allowed))
    return None


class Load:
    def __init__(self, args):
        self.args = args
        self.keys = load_keys(args.keys)
        self.plain = [i for i, k in enumerate(self.keys) if k["kind"] == "plain"]
        self.limited = [i for i, k in enumerate(self.keys) if k["kind"] == "limited"]
        self.pool = Pool(args.port, args.max_connections)
        self.admin_pool = Pool(args.port, 2)
        self.records = []  # (send, done, route, key index, status, outcome, detail)
        self.inflight = set()
        self.rng = random.Random(args.seed)
        self.updates = {i: [] for i in range(len(self.keys))}  # key index -> [(meta, acked)]
        self.version = 0

    def record(self, send, route, key_idx, status, outcome, detail=""):
        """Writes one outcome; returns its index in self.records."""
        self.records.append((send, time.time(), route, key_idx, status, outcome, detail))
        return len(self.records) - 1

    async def request(self, pool, route, key_idx, method, target, headers, body=b""):
        """One request with the deadline; records its outcome and returns (status, headers,
        body, record index), or None when no response arrived."""
        send = time.time()
        try:
            result = await asyncio.wait_for(exchange(pool, method, target, headers, body),
                                            self.args.deadline)
        except asyncio.TimeoutError:
            self.record(send, route, key_idx, 0, "timeout", "no response in %gs" % self.args.deadline)
            return None
        except ClientBusy:
            self.record(send, route, key_idx, 0, "skipped", "client connection cap reached")
            return None
        except NoResponse as e:
            self.record(send, route, key_idx, 0, "conn_error", str(e))
            return None
        except OSError as e:  # connect() failed
            self.record(send, route, key_idx, 0, "conn_error", "connect: %s" % e)
            return None
        detail = ""
        if result[0] != 200:  # keep the gateway's message: {"error": "..."} as Tyk
            try:
                detail = str(json.loads(result[2]).get("error") or json.loads(result[2]))[:80]
            except (ValueError, AttributeError):
                detail = "body not JSON: %r" % result[2][:60]
        idx = self.record(send, route, key_idx, result[0], "response", detail)
        return result + (idx,)

    async def one(self, route):
        """One request of the mix."""
        if route == "open":
            key_idx, key = -1, None
        else:
            key_idx = self.rng.choice(self.limited if route == "limited" else self.plain)
            key = self.keys[key_idx]
        headers = [] if key is None else [("Authorization", key["key"])]
        body, extra = b"", None
        if route in ("open", "meta", "limited"):
            method, target = "GET", "/%s/x" % route
        elif route == "body":
            extra = "p%06d" % self.rng.randrange(1000000)
            method, target = "POST", "/body/transform"
            headers.append(("Content-Type", "application/json"))
            body = json.dumps({"pad": extra}).encode()
        else:  # rewrite: half the requests carry the header the first trigger matches
            item = str(self.rng.randrange(1, 100000))
            gold = self.rng.random() < 0.5
            extra = (item, gold)
            method, target = "GET", "/rewrite/items/%s" % item
            if gold:
                headers.append(("X-Plan", "gold"))
        result = await self.request(self.pool, route, key_idx, method, target, headers, body)
        if result is not None and result[0] == 200:
            problem = check_echo(route, key, extra, result[2])
            if problem:  # answered, but not what this request should have produced
                idx = result[3]
                self.records[idx] = self.records[idx][:5] + ("bad_content", problem)

    async def updater(self, stop_at):
        """One PUT /tyk/keys/ID every --update-every seconds, keys in turn, one at a time (so
        the updates of one key are ordered); remembers which were acknowledged."""
        count = int(self.args.seconds / self.args.update_every)
        start = time.monotonic()
        for n in range(count):
            delay = start + n * self.args.update_every - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.monotonic() >= stop_at:
                break
            key_idx = n % len(self.keys)
            key = self.keys[key_idx]
            self.version += 1
            meta = {"user": key["user"], "plan": self.rng.choice(PLANS), "v": self.version}
            # Every other update keeps the quota (suppress_reset=1), the rest restart it.
            query = "?suppress_reset=1" if n % 2 else ""
            result = await self.request(
                self.admin_pool, "keys-put", key_idx, "PUT", "/tyk/keys/%s%s" % (key["key"], query),
                [("X-Tyk-Authorization", self.args.secret), ("Content-Type", "application/json")],
                json.dumps({"meta_data": meta}).encode())
            acked = False
            if result is not None and result[0] == 200:
                try:
                    acked = json.loads(result[2]).get("status") == "ok"
                except ValueError:
                    acked = False
            self.updates[key_idx].append((meta, acked))

    async def run(self):
        args = self.args
        total = int(args.seconds * args.rate)
        routes = [r for r, w in MIX for _ in range(w)]
        start = time.monotonic()
        stop_at = start + args.seconds
        updater = asyncio.ensure_future(self.updater(stop_at))
        for i in range(total):  # bounded: exactly rate * seconds requests are attempted
            delay = start + i / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(self.inflight) >= args.max_inflight:
                self.record(time.time(), "any", -1, 0, "skipped", "client in-flight cap reached")
                continue
            task = asyncio.ensure_future(self.one(self.rng.choice(routes)))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        # Every request has its own deadline, so this ends within it.
        if self.inflight:
            await asyncio.wait(list(self.inflight), timeout=args.deadline + 5)
        await asyncio.wait_for(updater, timeout=args.deadline + 5)
        self.pool.close_all()
        await self.check_keys()
        self.admin_pool.close_all()

    async def check_keys(self):
        """Reads every key back and writes keys.json for the report."""
        out = []
        for i, key in enumerate(self.keys):
            stored, status = None, 0
            for _ in range(5):  # bounded retries: Redis is up by now, but be patient once
                result = await self.request(
                    self.admin_pool, "keys-get", i, "GET", "/tyk/keys/%s" % key["key"],
                    [("X-Tyk-Authorization", self.args.secret)])
                status = 0 if result is None else result[0]
                if status == 200:
                    stored = json.loads(result[2]).get("meta_data")
                    break
                await asyncio.sleep(1)
            out.append({"key": i, "user": key["user"], "kind": key["kind"], "status": status,
                        "stored": stored, "updates": self.updates[i]})
        with open(os.path.join(self.args.out, "keys.json"), "w") as f:
            json.dump(out, f)


def cmd_run(args):
    load = Load(args)
    began = time.time()
    try:
        asyncio.run(load.run())
    finally:
        with open(os.path.join(args.out, "requests.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(("send", "done", "route", "key", "status", "outcome", "detail"))
            w.writerows(load.records)
        with open(os.path.join(args.out, "client.json"), "w") as f:
            json.dump({"began": began, "ended": time.time(), "rate": args.rate,
                       "seconds": args.seconds, "connections_opened": load.pool.opened_total +
                       load.admin_pool.opened_total,
                       "connections_closed": dict(load.pool.closed + load.admin_pool.closed)}, f)
    return 0


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def read_events(path):
    """events.log lines written by soak.sh (times in Unix seconds):
    outage START BACK KEYS_BEFORE KEYS_AFTER SIGNAL | reload TIME STATUS"""
    outages, reloads = [], []
    with open(path) as f:
        for line in f:
            p = line.split()
            if p and p[0] == "outage":
                outages.append({"start": float(p[1]), "back": float(p[2]),
                                "keys_before": int(p[3]), "keys_after": int(p[4]), "signal": p[5]})
            elif p and p[0] == "reload":
                reloads.append({"time": float(p[1]), "status": int(p[2])})
    return outages, reloads


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def last_acked_check(entry):
    """Whether the key's stored meta_data is its last acknowledged update (or an update sent
    after it whose answer was lost or refused). Returns (ok, note)."""
    updates = entry["updates"]
    last_ack = max((i for i, (_, acked) in enumerate(updates) if acked), default=None)
    if last_ack is None:
        return True, "no acknowledged update"
    if entry["stored"] == updates[last_ack][0]:
        return True, "v%d" % updates[last_ack][0]["v"]
    later = [meta for meta, acked in updates[last_ack + 1:] if not acked]
    if entry["stored"] in later:
        return True, "unacknowledged later update v%d applied" % entry["stored"]["v"]
    return False, "stored %s, last acknowledged %s" % (json.dumps(entry["stored"]),
                                                         json.dumps(updates[last_ack][0]))


def cmd_report(args):
    client = json.load(open(os.path.join(args.dir, "client.json")))
    outages, reloads = read_events(os.path.join(args.dir, "events.log"))
    keys = json.load(open(os.path.join(args.dir, "keys.json")))
    with open(os.path.join(args.dir, "requests.csv"), newline="") as f:
        rows = list(csv.DictReader(f))

    windows = [(o["start"], o["back"] + OUTAGE_GRACE) for o in outages]

    def in_outage(send, done):  # the request's life overlaps an outage window
        return any(send <= end and done >= start for start, end in windows)

    by_outcome = collections.Counter()
    by_route = collections.defaultdict(collections.Counter)
    errors, clean, lost, examples = collections.Counter(), collections.Counter(), [], []
    outage_ok = 0
    latencies = []
    for r in rows:
        send, done, route = float(r["send"]), float(r["done"]), r["route"]
        status, outcome = int(r["status"]), r["outcome"]
        label = str(status) if outcome == "response" else outcome
        by_outcome[label] += 1
        by_route[route][label] += 1
        if outcome in ("timeout", "conn_error"):
            lost.append(r)
            continue
        if outcome == "skipped":
            continue
        outage = in_outage(send, done)
        expected = EXPECTED.get(route, {200})
        if outcome == "response" and status in expected:
            if outage:
                outage_ok += 1
            elif status == 200:
                latencies.append(done - send)
            continue
        if outage and outcome == "response" and status in CLEAN_OUTAGE:
            clean["%s %s %s" % (route, status, json.dumps(r["detail"]))] += 1
            continue
        errors["%s %s" % (route, label)] += 1
        if len(examples) < 10:
            examples.append(r)
    skipped = by_outcome.get("skipped", 0)
    for rl in reloads:  # a reload is a Gateway API call: 200 unless Redis was away
        if rl["status"] != 200:
            if in_outage(rl["time"], rl["time"]) and rl["status"] in CLEAN_OUTAGE:
                clean["reload %d" % rl["status"]] += 1
            else:
                errors["reload %d" % rl["status"]] += 1

    # Recovery: the first keyed 200 sent after Redis was back, per outage.
    recovery = []
    keyed_ok = sorted(float(r["send"]) for r in rows if r["route"] in KEYED_PLAIN
                      and r["status"] == "200" and r["outcome"] == "response")
    for o in outages:
        first = next((t for t in keyed_ok if t >= o["back"]), None)
        recovery.append(None if first is None else first - o["back"])

    missing = []
    key_notes = collections.Counter()
    acked_total = sum(1 for k in keys for _, a in k["updates"] if a)
    sent_total = sum(len(k["updates"]) for k in keys)
    for k in keys:
        ok, note = last_acked_check(k)
        if not ok:
            missing.append("key %d (%s): %s" % (k["key"], k["user"], note))
        elif note.startswith("unacknowledged"):
            key_notes["an update refused or unanswered was applied"] += 1

    # soak.sh samples the gateway's VmRSS every 5 s from the end of the warm-up ("SECONDS KIB").
    rss = [tuple(int(x) for x in line.split()) for line in open(os.path.join(args.dir, "rss.log"))
           if line.strip()]
    rss_kib = [kib for _, kib in rss] or [0]
    duration = client["ended"] - client["began"]
    latencies.sort()
    failed = sum(errors.values()) > 0 or len(lost) > 0 or len(missing) > 0
    mib = lambda kib: "%.1f MiB" % (kib / 1024.0)

    out = []
    out.append("# Soak test (bench/soak.sh)")
    out.append("")
    out.append("Date: %s · nproc: %d · commit: %s · result: **%s**" % (
        time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(client["began"])), os.cpu_count(),
        args.commit, "FAIL" if failed else "PASS"))
    out.append("")
    out.append("Load: %g req/s for %gs over the route mix %s; one `PUT /tyk/keys/ID` every %gs; "
               "%d keys; client deadline %gs per request; gateway with 2 workers. Disturbances: "
               "%d Redis outages (stopped with SIG%s, restarted on the same AOF data dir), %d "
               "reloads (`GET /tyk/reload/group`)." % (
                   client["rate"], client["seconds"],
                   ", ".join("%s %d%%" % (r, w) for r, w in MIX), args.update_every, len(keys),
                   args.deadline, len(outages), outages[0]["signal"] if outages else "TERM",
                   len(reloads)))
    out.append("")
    out.append("| figure | value |")
    out.append("| --- | ---: |")
    out.append("| duration | %.1f s |" % duration)
    out.append("| requests sent | %d (%d connections opened) |" % (
        len(rows) - skipped, client["connections_opened"]))
    out.append("| by outcome | %s |" % ", ".join(
        "%s: %d" % kv for kv in sorted(by_outcome.items())))
    out.append("| gateway RSS at start (after %gs warm-up) | %s |" % (args.warmup, mib(rss_kib[0])))
    out.append("| gateway RSS at end | %s |" % mib(rss_kib[-1]))
    out.append("| gateway RSS min / max of %d samples (every 5 s) | %s / %s |" % (
        len(rss), mib(min(rss_kib)), mib(max(rss_kib))))
    out.append("| gateway peak RSS (VmHWM, since its start) | %s |" % mib(args.rss_hwm))
    out.append("| errors outside outage windows | **%d** |" % sum(errors.values()))
    out.append("| clean 5xx inside outage windows (+%gs grace) | %d |" % (
        OUTAGE_GRACE, sum(clean.values())))
    out.append("| expected answers inside outage windows | %d |" % outage_ok)
    out.append("| requests lost (no response, connection reset, timeout) | **%d** |" % len(lost))
    out.append("| not sent (client caps reached) | %d |" % skipped)
    out.append("| key updates sent / acknowledged | %d / %d |" % (sent_total, acked_total))
    out.append("| acknowledged updates missing at the end | **%d** |" % len(missing))
    out.append("| latency of 200s outside outages p50 / p99 / max | %.1f / %.1f / %.1f ms |" % (
        percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3,
        (latencies[-1] if latencies else 0) * 1e3))
    out.append("| reloads (status: count) | %s |" % (", ".join(
        "%d: %d" % kv for kv in sorted(collections.Counter(r["status"] for r in reloads).items()))
        or "none"))
    out.append("| connections given up, by reason | %s |" % ", ".join(
        "%s: %d" % kv for kv in sorted(client.get("connections_closed", {}).items())))
    log = open(args.gateway_log, errors="replace").read().splitlines() if args.gateway_log else []
    out.append("| gateway log lines (level warn) | %d (%d mention error) |" % (
        len(log), sum(1 for line in log if "error" in line.lower())))
    out.append("")
    step = max(1, len(rss) // 12)
    out.append("Gateway RSS over time (s: MiB): %s." % ", ".join(
        "%d: %.1f" % (t, kib / 1024.0) for t, kib in rss[::step] + ([rss[-1]] if (len(rss) - 1) % step else [])))
    out.append("")
    out.append("Per route (status or outcome: count):")
    out.append("")
    for route in sorted(by_route):
        out.append("- %s: %s" % (route, ", ".join("%s: %d" % kv for kv in sorted(by_route[route].items()))))
    out.append("")
    if outages:
        out.append("Redis outages (seconds since the start of the load):")
        out.append("")
        for o, rec in zip(outages, recovery):
            out.append("- %.1f to %.1f s (%.1f s down); sessions in Redis %d before, %d after; "
                       "first keyed 200 %s after Redis answered" % (
                           o["start"] - client["began"], o["back"] - client["began"],
                           o["back"] - o["start"], o["keys_before"], o["keys_after"],
                           "never" if rec is None else "%.0f ms" % (rec * 1e3)))
        out.append("")
    if clean:
        out.append("Clean failures inside outage windows: %s." % ", ".join(
            "%s: %d" % kv for kv in sorted(clean.items())))
        out.append("")
    if errors:
        out.append("Errors outside outage windows: %s. First ones:" % ", ".join(
            "%s: %d" % kv for kv in sorted(errors.items())))
        out.append("")
        for r in examples:
            out.append("- t=%.3f s %s key %s: %s %s %s" % (
                float(r["send"]) - client["began"], r["route"], r["key"], r["status"],
                r["outcome"], r["detail"]))
        out.append("")
    if lost:
        out.append("Lost requests (first 10):")
        out.append("")
        for r in lost[:10]:
            out.append("- t=%.3f s (%s) %s key %s: %s %s" % (
                float(r["send"]) - client["began"],
                "in outage" if in_outage(float(r["send"]), float(r["done"])) else "outside outages",
                r["route"], r["key"], r["outcome"], r["detail"]))
        out.append("")
    if missing:
        out.append("Acknowledged updates missing:")
        out.append("")
        out.extend("- " + m for m in missing)
        out.append("")
    if log:
        out.append("Gateway log (first %d of %d lines):" % (min(len(log), 12), len(log)))
        out.append("")
        out.append("```")
        out.extend(line[:200] for line in log[:12])
        out.append("```")
        out.append("")
    if key_notes:
        out.append("Note: %s." % ", ".join("%s (%d keys)" % kv for kv in key_notes.items()))
        out.append("")
    out.append("Outage window = from the stop signal until Redis answers PING again, plus %gs; a "
               "request counts as inside when its life overlaps a window. Expected outside: 200, "
               "and 429/403 on the rate-limited route; inside, the gateway's own 500/503 is a "
               "clean failure. Every 200 is checked against what the upstream received (the "
               "key's user in the injected header and the transformed body, the rewritten "
               "path)." % OUTAGE_GRACE)
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(args.results, "w") as f:
        f.write(text)
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--secret", required=True)
    run.add_argument("--keys", required=True)
    run.add_argument("--seconds", type=float, required=True)
    run.add_argument("--rate", type=float, default=300)
    run.add_argument("--out", required=True)
    run.add_argument("--deadline", type=float, default=5.0)
    run.add_argument("--update-every", type=float, default=0.5)
    run.add_argument("--max-connections", type=int, default=400)
    run.add_argument("--max-inflight", type=int, default=2000)
    run.add_argument("--seed", type=int, default=1)
    rep = sub.add_parser("report")
    rep.add_argument("--dir", required=True)
    rep.add_argument("--results", required=True)
    rep.add_argument("--commit", default="unknown")
    rep.add_argument("--deadline", type=float, default=5.0)
    rep.add_argument("--update-every", type=float, default=0.5)
    rep.add_argument("--warmup", type=float, default=10)
    rep.add_argument("--gateway-log", default="")
    rep.add_argument("--rss-hwm", type=int, default=0)
    args = parser.parse_args()
    return cmd_run(args) if args.cmd == "run" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
