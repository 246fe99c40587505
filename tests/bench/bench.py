#!/usr/bin/python3
"""make bench: refsync's benchmarks, run against the fakes, as ratios measured in one run.

    /usr/bin/python3 tests/bench/bench.py [--quick | --full] [--slices N] [--only NAMES]
                                          [--profile] [--since DATE] [--crosschq-list]

Every line compares a number with a floor measured in the same run on the same machine
(tests/bench/README.md says what each floor is). --quick (the default when
REFSYNC_BENCH_QUICK=1) uses smaller tenants and finishes in under a minute; the full run
takes about three minutes on 2 cores. The binaries are sync/refsync and
export/refsync-export (or $REFSYNC_BIN_DIR, as for the end-to-end tests); the floor
program tests/bench/floor.c is built into build/bench/. Exit status: 0 when every
benchmark could be measured (targets missed are reported, not failed), 1 when one could
not.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import harness  # noqa: E402
from harness import gen_tenant  # noqa: E402

FLOOR_SRC = os.path.join(HERE, "floor.c")
FLOOR_BIN = os.path.join(REPO, "build", "bench", "floor")
DECIDE_SQL = os.path.join(REPO, "sync", "decide_sql.h")   # floor.c runs decide's own queries

SIZES = {
    # rate: backfill under latency and a rate limit; local: the no-latency backfill, the
    # deciding and call-economy tenant; events: audit events exported; k/m: changed
    # opportunities and actions of the steady-state run
    "quick": {"rate": 2000, "local": 10000, "events": 100000, "k": 250, "m": 10, "quiet": 2000},
    "full": {"rate": 20000, "local": 100000, "events": 1000000, "k": 1000, "m": 25,
             "quiet": 2000},
}
LATENCY_MS = 300            # every Lever answer waits this long (fault delay_ms)
RATE = 10                   # Lever's limit (fault rate_limit_rps) and refsync's pacing
RATE_BURST = 20             # the fake's token bucket (rate_limit_burst), as Lever documents
DENSE_SHARE = 0.6           # the skewed tenant: this share created in one month
NO_LIMIT_RPS = 1000         # refsync's largest requests_per_second: pacing never waits
IN_TRIGGER = 0.01           # share of the local tenant in the trigger stage
TENANT_SEED = 8080
TRIGGER_STAGE = "Reference Check"
EXPORT_BEST_OF = 3
EX_USAGE = 64
TIMEOUT_S = 3600
SUMMARY = re.compile(r"Lever (\d+) requests, Crosschq (\d+) requests")
SLICES_USED = re.compile(r"pages, (\d+) slices?")

# targets of issues 8 and 17 (printed beside the ratios; never turned into a failure)
TARGET_PARTITIONED = 1.15
TARGET_QUIET_CPU_S = 0.030
TARGET_QUIET_RATIO = 1.3
TARGET_WEBHOOK_S = 0.5
QUIET_RUNS = 3
TARGET_LOCAL = 2.0
TARGET_PEAK_MIB = 64
TARGET_DECIDE_CPU_S = 1.0
TARGET_EXPORT = 1.0


# ---------------------------------------------------------------- measuring a process

class Measured:
    """One finished process: exit code, wall seconds, CPU seconds, peak RSS (KiB)."""

    def __init__(self, argv, returncode, wall, user, system, maxrss_kib, stderr):
        self.argv = argv
        self.returncode = returncode
        self.wall = wall
        self.user = user
        self.system = system
        self.cpu = user + system
        self.maxrss_kib = maxrss_kib
        self.stderr = stderr

    def summary_counts(self):
        """(Lever, Crosschq) requests from refsync's run summary line, or None."""
        found = SUMMARY.findall(self.stderr)
        return (int(found[-1][0]), int(found[-1][1])) if found else None

    def describe_failure(self):
        return "%s exited %s: %s" % (os.path.basename(self.argv[0]), self.returncode,
                                     self.stderr.strip()[-1500:])


def measure(argv, env=None, cwd=None, stdout_path=None, timeout=TIMEOUT_S):
    """Run argv alone under `floor run`, which forks it from a small process and reports
    its own rusage (wait4). Measuring straight from this (large) Python process would
    count Python's resident size in the child's peak: Linux carries it over the exec."""
    fd, usage_path = tempfile.mkstemp(prefix="refsync-bench-", suffix=".json")
    os.close(fd)
    out = open(stdout_path, "wb") if stdout_path else open(os.devnull, "wb")
    err = tempfile.TemporaryFile()
    try:
        process = subprocess.Popen([FLOOR_BIN, "run", usage_path, "--"] + list(argv),
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                   cwd=cwd, start_new_session=True)
        timer = threading.Timer(timeout, kill_group, (process.pid,))
        timer.start()
        try:
            process.wait()
        except BaseException:
            kill_group(process.pid)
            raise
        finally:
            timer.cancel()
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        try:
            with open(usage_path, encoding="utf-8") as handle:
                usage = json.load(handle)
        except (OSError, ValueError):
            raise BenchError("%s: no measurement (exit %s): %s" % (
                argv[0], process.returncode, text.strip()[-1000:]))
    finally:
        out.close()
        err.close()
        os.unlink(usage_path)
    return Measured(argv, usage["exit"], usage["wall_s"], usage["user_s"], usage["system_s"],
                    usage["maxrss_kib"], text)


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def refsync(t, *args, stdout_path=None, timeout=TIMEOUT_S):
    """`refsync -c <tenant conf> args...`, measured."""
    return measure([harness.binary("refsync"), "-c", t.conf_path] + list(args), env=t.env(),
                   cwd=t.dir, stdout_path=stdout_path, timeout=timeout)


class BenchError(Exception):
    """A benchmark that could not be measured."""


# ---------------------------------------------------------------- small helpers

def iso_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def now_ms():
    return int(time.time() * 1000)


def month_start_iso(ms):
    return time.strftime("%Y-%m-01", time.gmtime(ms // 1000))


def count(n):
    return "{:,}".format(n)


def mib(kib):
    return kib / 1024.0


def ratio_text(value):
    return "%.2f×" % value if value is not None else "—"


def build_floor():
    """Compile tests/bench/floor.c into build/bench/floor when it is missing or older."""
    newest = max(os.path.getmtime(FLOOR_SRC), os.path.getmtime(DECIDE_SQL))
    if os.path.exists(FLOOR_BIN) and os.path.getmtime(FLOOR_BIN) >= newest:
        return
    os.makedirs(os.path.dirname(FLOOR_BIN), exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "yajl", "sqlite3"],
                           capture_output=True, text=True, check=True).stdout.split()
    command = [os.environ.get("CC", "cc"), "-std=c17", "-D_GNU_SOURCE", "-O2", "-Wall",
               "-Wextra", "-o", FLOOR_BIN, FLOOR_SRC] + flags
    print("building the floor program: %s" % " ".join(command), flush=True)
    subprocess.run(command, check=True)


def floor_json(*args):
    """Run the floor program; returns (its JSON answer, Measured)."""
    with tempfile.NamedTemporaryFile(prefix="refsync-bench-floor-", suffix=".json") as out:
        result = measure([FLOOR_BIN] + list(args), stdout_path=out.name)
        if result.returncode != 0:
            raise BenchError(result.describe_failure())
        with open(out.name, encoding="utf-8") as handle:
            return json.loads(handle.read()), result


def useful(entries):
    """Requests that did work: everything but the rate limiter's 429s."""
    return [e for e in entries if e["status"] != 429]


def opportunity_rows(t):
    db = t.db()
    try:
        return db.execute("SELECT count(*) FROM lever_opportunities WHERE deleted_at IS NULL"
                          ).fetchone()[0]
    finally:
        db.close()


def history_start(builder):
    """The first day of the month of the tenant's oldest opportunity: what an operator
    backfilling "everything since we started with Lever" would type."""
    return month_start_iso(min(o["createdAt"] for o in builder.lever["opportunities"]))


# ---------------------------------------------------------------- the table

class Row:
    """One line of the table."""

    def __init__(self, name, measured="", floor="", ratio=None, target="", status=""):
        self.name, self.measured, self.floor = name, measured, floor
        self.ratio, self.target, self.status = ratio, target, status


class Report:
    def __init__(self):
        self.rows = []
        self.notes = []
        self.errors = []

    def row(self, *args, **kwargs):
        self.rows.append(Row(*args, **kwargs))

    def note(self, text):
        self.notes.append(text)
        print("  " + text, flush=True)

    def error(self, name, text):
        self.errors.append("%s: %s" % (name, text))
        self.row(name, "error", "", None, "", "ERROR")
        print("  %s: ERROR %s" % (name, text), flush=True)

    def table(self):
        head = ("benchmark", "measured", "floor (same run)", "ratio", "target", "")
        cells = [head] + [(r.name, r.measured, r.floor, ratio_text(r.ratio)
                           if r.ratio is not None else "", r.target, r.status)
                          for r in self.rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
        lines = []
        for index, c in enumerate(cells):
            lines.append("  ".join(c[i].ljust(widths[i]) if i != 3 else c[i].rjust(widths[i])
                                   for i in range(len(head))).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def guarded(report, name, function, *args):
    """Run one benchmark; a failure is reported and the others go on."""
    try:
        function(*args)
    except (BenchError, AssertionError, RuntimeError, OSError, ValueError,
            subprocess.SubprocessError) as err:
        report.error(name, str(err))


def verdict(ok):
    return "ok" if ok else "MISSED"


# ---------------------------------------------------------------- 1. backfill under a rate limit

def fixed_reads(builder):
    """The Lever reads besides the opportunity listings that no pull can do without:
    stages, archive reasons, the postings and deleted listings (a page per 100), and the
    users that postings name but no listed opportunity brings expanded (its owner)."""
    lever = builder.lever
    owners = {o.get("owner") for o in lever["opportunities"]}
    named = set()
    for posting in lever["postings"]:
        for field in ("owner", "hiringManager"):
            if posting.get(field):
                named.add(posting[field])
    unknown = len(named - owners)
    return (2 + max(1, -(-len(lever["postings"]) // 100)) + max(1, -(-len(lever["deleted"]) // 100))
            + unknown)


def bench_rate(report, n, slices=None, since=None):
    """Backfills (and a new install's first run) under latency and a rate limit, each
    against the true floor: (⌈N/100⌉ listing pages + the fixed reads) ÷ the rate."""
    label = "backfill %s, %d ms, %d/s (burst %d)" % (count(n), LATENCY_MS, RATE, RATE_BURST)
    print("\n[1] %s: generating the tenants" % label, flush=True)
    even = gen_tenant.generate(n, seed=TENANT_SEED)
    skewed = gen_tenant.generate(n, seed=TENANT_SEED, dense=DENSE_SHARE)
    extra = ["--slices", str(slices)] if slices else []
    cases = [
        (even, "--since %s (month of the oldest opportunity)" % (since or history_start(even)),
         ["backfill", "--since", since or history_start(even)] + extra),
        (even, "--since 2000-01-01", ["backfill", "--since", "2000-01-01"] + extra),
        (even, "first run of a new install", ["run"]),
        (skewed, "skewed (%d%% created in one month), --since %s" % (
            DENSE_SHARE * 100, since or history_start(skewed)),
         ["backfill", "--since", since or history_start(skewed)] + extra),
    ]
    for builder in (even, skewed):
        mine = [c for c in cases if c[0] is builder]
        with harness.Tenant(builder, start_timeout=300) as t:
            t.write_conf({"lever": {"requests_per_second": RATE}})
            floor_requests = int(math.ceil(n / 100.0)) + fixed_reads(builder)
            floor_s = floor_requests / float(RATE)
            floor_text = "%.1f s = (⌈N/100⌉ %d + fixed %d) ÷ %d/s" % (
                floor_s, int(math.ceil(n / 100.0)), fixed_reads(builder), RATE)
            for index, (_, name, args) in enumerate(mine):
                t.write_conf({"sync": {"database": t.path("state", "rate-%d.db" % index)}})
                # a new plan refills the fake's token bucket: every case starts alike
                t.lever.faults({"delay_ms": LATENCY_MS, "rate_limit_rps": RATE,
                                "rate_limit_burst": RATE_BURST})
                t.lever.reset_log()
                t.crosschq.reset_log()
                print("  refsync %s" % " ".join(args), flush=True)
                r = refsync(t, *args)
                if r.returncode != 0:
                    report.error("%s, %s" % (label, name), r.describe_failure())
                    continue
                log = t.lever.log()
                stored = opportunity_rows(t)
                pages = sum(1 for e in log if e["path"] == "/v1/opportunities")
                throttled = len(log) - len(useful(log))
                used = SLICES_USED.findall(r.stderr)
                report.note("%s: %.1f s wall, %.2f s CPU, %s Lever requests (%s opportunity "
                            "pages, %s others, %s answered 429), %s slices, %s opportunities "
                            "stored%s" % (
                                name, r.wall, r.cpu, count(len(log)), count(pages),
                                count(len(log) - pages), count(throttled),
                                used[-1] if used else "?", count(stored),
                                "" if stored == n else " (INCOMPLETE: expected %s)" % count(n)))
                if stored != n:
                    report.error("%s, %s" % (label, name), "stored %s of %s opportunities" % (
                        count(stored), count(n)))
                    continue
                ratio = r.wall / floor_s
                report.row("%s, %s" % (label, name), "%.1f s wall (%s req)" % (
                    r.wall, count(len(useful(log)))), floor_text, ratio,
                    "≤ %.2f×" % TARGET_PARTITIONED, verdict(ratio <= TARGET_PARTITIONED))
            t.lever.faults({})
    report.note("floor: ⌈N/100⌉ listing pages + the fixed reads (stages, archive reasons, "
                "postings, deleted, users named only by postings), at the limit's pace; "
                "latency and limit are on Lever only")


# -------------------------------------------------------- 2-4. local cost, deciding, economy

def listing_queries(log):
    """The first-page queries of every opportunity listing in a request log, in order."""
    seen, queries = set(), []
    for entry in sorted(log, key=lambda e: e["t"]):
        query = entry["query"]
        if (entry["method"] != "GET" or entry["path"] != "/v1/opportunities"
                or "offset" in query or "email" in query or entry["status"] != 200):
            continue
        key = tuple(sorted((k, tuple(v)) for k, v in query.items()))
        if key not in seen:
            seen.add(key)
            queries.append(query)
    return queries


def minimum_queries(log):
    """The listings a complete pull of the window cannot do without: each set of the window
    listed whole, once (refsync's roots: the first listing of each set, before any cut)."""
    queries = listing_queries(log)
    roots = []
    for query in queries:
        kind = "updated" if "updated_at_start" in query else "created"
        if kind not in [k for k, _ in roots]:
            roots.append((kind, query))
    return [q for _, q in roots]


def save_pages(t, queries, directory, skip_empty=False):
    """Fetch every page of each listing, as refsync did, into directory (one file each)."""
    os.makedirs(directory, exist_ok=True)
    conn = http.client.HTTPConnection("127.0.0.1", t.lever.port, timeout=120)
    headers = {"Authorization": t.lever.auth_header, "Accept": "application/json"}
    index = total = 0
    try:
        for query in queries:
            token = None
            while True:
                q = dict(query)
                if token:
                    q["offset"] = [token]
                conn.request("GET", "/v1/opportunities?" + urllib.parse.urlencode(q, doseq=True),
                             headers=headers)
                answer = conn.getresponse()
                body = answer.read()
                if answer.status != 200:
                    raise BenchError("saving pages: Lever fake answered %d" % answer.status)
                index += 1
                total += len(body)
                with open(os.path.join(directory, "%06d.json" % index), "wb") as handle:
                    handle.write(body)
                page = json.loads(body)
                if skip_empty and not token and not page.get("data") and not page.get("hasNext"):
                    # an empty set (nothing created before the window): no page at all
                    os.unlink(os.path.join(directory, "%06d.json" % index))
                    index -= 1
                    total -= len(body)
                    break
                token = page.get("next") if page.get("hasNext") else None
                if not token:
                    break
    finally:
        conn.close()
    return index, total


def eligible_movers(builder):
    """Open opportunities with an email whose posting's tags match exactly one template
    (ignoring case): moving one into the trigger stage plans exactly one request."""
    template_tags = [keys["ats_tag"].lower() for keys in harness.default_templates().values()]
    postings = {p["id"]: {tag.lower() for tag in p["tags"]} for p in builder.lever["postings"]}
    trigger = builder.stage_id(TRIGGER_STAGE)
    found = []
    for opp in builder.lever["opportunities"]:
        if (opp.get("archived") or opp.get("archivedAt") is not None or not opp["emails"]
                or opp.get("isAnonymized") or opp["stage"] == trigger or not opp["applications"]):
            continue
        tags = postings.get(opp["applications"][0]["posting"], set())
        if sum(1 for tag in template_tags if tag in tags) == 1:
            found.append(opp["id"])
    return found


def count_requests(t):
    lever, crosschq = t.lever.log(), t.crosschq.log()
    pages = sum(1 for e in lever if e["method"] == "GET" and e["path"] == "/v1/opportunities"
                and "email" not in e["query"])
    return lever, crosschq, pages


def bench_local(report, n, k, m, quiet_size, since=None, profile=False, crosschq_list=False):
    label = "local cost, backfill %s" % count(n)
    print("\n[2-4] %s opportunities, no latency, no limit: generating the tenant" % count(n),
          flush=True)
    builder = gen_tenant.generate(n, seed=TENANT_SEED + 1, in_trigger=IN_TRIGGER)
    since = since or history_start(builder)
    with harness.Tenant(builder, start_timeout=300) as t:
        t.write_conf({"lever": {"requests_per_second": NO_LIMIT_RPS},
                      "crosschq": {"requests_per_second": NO_LIMIT_RPS}})
        if crosschq_list:
            # the listing is then one of the fixed reads, and the creates are looked up in it
            t.crosschq.capabilities(list=True)
        database = t.conf["sync"]["database"]
        t.lever.reset_log()
        print("  refsync backfill --since %s" % since, flush=True)
        r = refsync(t, "backfill", "--since", since)
        if r.returncode != 0:
            report.error(label, r.describe_failure())
            return
        log = t.lever.log()
        stored = opportunity_rows(t)
        pages_dir = t.path("bench-pages")
        queries = minimum_queries(log)
        listed = sum(1 for e in log if e["path"] == "/v1/opportunities")
        n_pages, n_bytes = save_pages(t, queries, pages_dir, skip_empty=True)
        floor, floor_run = floor_json("pages", pages_dir, t.path("state", "floor.db"))
        shutil.rmtree(pages_dir, ignore_errors=True)
        report.note("refsync: %.2f s CPU (%.2f user, %.2f system), %.1f s wall, peak %.1f MiB, "
                    "%s Lever requests (%s opportunity pages), %s opportunities stored%s" % (
                        r.cpu, r.user, r.system, r.wall, mib(r.maxrss_kib), count(len(log)),
                        count(listed), count(stored),
                        "" if stored == n else " — INCOMPLETE, expected %s" % count(n)))
        report.note("floor: the window's %s set(s) listed whole once, %s pages, %.1f MB, %s values, "
                    "%s upserts (%s distinct): yajl %.2f s + SQLite %.2f s = %.2f s CPU, "
                    "peak %.1f MiB" % (
                        count(len(queries)), count(n_pages), n_bytes / 1e6,
                        count(floor["values"]), count(floor["rows"]),
                        count(floor["distinct_rows"]), floor["parse_cpu_s"],
                        floor["upsert_cpu_s"], floor["floor_cpu_s"],
                        mib(floor_run.maxrss_kib)))
        if n_pages != listed:
            report.note("refsync fetched %s opportunity pages, the floor %s (the cut roots' "
                        "first pages, the slices' last pages, an empty second set)" % (
                            count(listed), count(n_pages)))
        ratio = r.cpu / floor["floor_cpu_s"] if floor["floor_cpu_s"] > 0 else None
        report.row("%s, CPU" % label, "%.2f s CPU" % r.cpu,
                   "%.2f s (yajl %.2f + SQLite %.2f)" % (
                       floor["floor_cpu_s"], floor["parse_cpu_s"], floor["upsert_cpu_s"]),
                   ratio, "≤ %.1f×" % TARGET_LOCAL,
                   verdict(ratio is not None and ratio <= TARGET_LOCAL and stored == n))
        report.row("%s, peak memory" % label, "%.1f MiB" % mib(r.maxrss_kib),
                   "%.1f MiB (floor process)" % mib(floor_run.maxrss_kib),
                   r.maxrss_kib / float(floor_run.maxrss_kib), "< %d MiB" % TARGET_PEAK_MIB,
                   verdict(mib(r.maxrss_kib) < TARGET_PEAK_MIB))

        guarded(report, "deciding", bench_decide, report, t, builder, n, database)
        guarded(report, "call economy", bench_economy, report, t, builder, k, m, crosschq_list)
        guarded(report, "quiet run", bench_quiet, report, t, n, quiet_size)
        guarded(report, "webhook to request", bench_webhook, report, t, builder, n)
        if profile:
            guarded(report, "profile", profile_backfill, t, since)


def bench_decide(report, t, builder, n, database):
    label = "deciding %s opportunities" % count(n)
    entered_at = builder.base_ms       # gen_tenant's default entry time of "in trigger"
    t.write_conf({"sync": {"trigger_since": iso_ms(entered_at)}})
    plan_out = t.path("plan.txt")
    print("  refsync plan (trigger_since %s)" % iso_ms(entered_at), flush=True)
    r = refsync(t, "plan", stdout_path=plan_out)
    if r.returncode != 0:
        report.error(label, r.describe_failure())
        return
    with open(plan_out, encoding="utf-8") as handle:
        planned = sum(1 for line in handle if line.startswith("PLAN"))
    floor, _ = floor_json("decide", database, builder.stage_id(TRIGGER_STAGE), str(entered_at))
    report.note("plan: %.3f s CPU (%.3f user, %.3f system), %.2f s wall, %s stage entries to "
                "look at, %s actions planned (rolled back)" % (
                    r.cpu, r.user, r.system, r.wall, count(floor["entries"]), count(planned)))
    report.note("deciding floor: the trigger query, then each candidate and its posting's "
                "template matches read with deciding's own queries (sync/decide_sql.h): %.3f s CPU" %
                floor["floor_cpu_s"])
    ratio = r.cpu / floor["floor_cpu_s"] if floor["floor_cpu_s"] > 0 else None
    report.row("%s (%s in the trigger stage)" % (label, count(floor["entries"])),
               "%.3f s CPU" % r.cpu, "%.3f s (the reads alone)" % floor["floor_cpu_s"], ratio,
               "< %.0f s CPU" % TARGET_DECIDE_CPU_S, verdict(r.cpu < TARGET_DECIDE_CPU_S))


def bench_economy(report, t, builder, k, m, crosschq_list=False):
    label = "call economy, k=%s changed, m=%s actions%s" % (
        count(k), count(m), ", Crosschq list on" if crosschq_list else "")
    # only stage entries from now on count: the seeded ones are history
    start = now_ms()
    t.write_conf({"sync": {"trigger_since": iso_ms(start - start % 1000)}})
    time.sleep(1.1)
    print("  refsync run (settling after the backfill)", flush=True)
    t.lever.reset_log()
    t.crosschq.reset_log()
    first = refsync(t, "run")
    if first.returncode != 0:
        report.error(label, first.describe_failure())
        return
    lever, crosschq, pages = count_requests(t)
    report.note("first run after the backfill: %s Lever (%s opportunity pages) + %s Crosschq "
                "requests" % (count(len(lever)), count(pages), count(len(crosschq))))
    t.lever.reset_log()
    t.crosschq.reset_log()
    quiet = refsync(t, "run")
    if quiet.returncode != 0:
        report.error(label, quiet.describe_failure())
        return
    lever, crosschq, quiet_pages = count_requests(t)
    fixed = len(lever) + len(crosschq) - quiet_pages
    shown = sorted("%s %s" % (e["method"], e["path"]) for e in lever + crosschq)
    report.note("quiet run: %s requests, of which %s fixed reads (%s) and %s opportunity "
                "page(s)" % (count(len(lever) + len(crosschq)), fixed, ", ".join(shown),
                             quiet_pages))

    movers_pool = eligible_movers(builder)
    rng = random.Random(TENANT_SEED)
    movers = rng.sample(movers_pool, min(m, len(movers_pool)))
    others = [o["id"] for o in builder.lever["opportunities"] if o["id"] not in set(movers)]
    changed = rng.sample(others, k - len(movers))
    ops = [{"op": "move_stage", "id": ident, "stage_id": TRIGGER_STAGE} for ident in movers]
    ops += [{"op": "set", "id": ident, "fields": {"headline": "Changed for the benchmark"}}
            for ident in changed]
    mutated_at = now_ms()
    t.lever.mutate(ops)
    time.sleep(0.01)
    t.lever.reset_log()
    t.crosschq.reset_log()
    run_start = now_ms()
    print("  refsync run (%s changed, %s moved into %s)" % (count(k), count(len(movers)),
                                                            TRIGGER_STAGE), flush=True)
    r = refsync(t, "run")
    if r.returncode != 0:
        report.error(label, r.describe_failure())
        return
    lever, crosschq, pages = count_requests(t)
    made = len(lever) + len(crosschq)
    db = t.db()
    try:
        actions = db.execute("SELECT count(*) FROM outbox WHERE state IN ('done', 'failed') "
                             "AND updated_at >= ?", (run_start,)).fetchone()[0]
        # a link or note is looked up on Lever before it is posted (issue 18): one read each
        lookups = db.execute("SELECT count(*) FROM outbox WHERE state IN ('done', 'failed') "
                             "AND kind IN ('lever.add_link', 'lever.add_note') "
                             "AND updated_at >= ?", (run_start,)).fetchone()[0]
        stored = db.execute("SELECT count(*) FROM lever_opportunities WHERE id IN (%s) AND "
                            "updated_at >= ?" % ",".join("?" * len(ops)),
                            [op["id"] for op in ops] + [mutated_at - 1000]).fetchone()[0]
    finally:
        db.close()
    minimum = int(math.ceil(k / 100.0)) + actions + lookups + fixed
    summary = r.summary_counts()
    report.note("changed run: %s Lever (%s opportunity pages) + %s Crosschq requests; %s "
                "actions done; %s of the %s changes stored; refsync's summary says %s" % (
                    count(len(lever)), count(pages), count(len(crosschq)), count(actions),
                    count(stored), count(k),
                    "Lever %d, Crosschq %d" % summary if summary else "nothing"))
    if actions != len(movers):
        report.note("%s candidates were moved but %s actions were done" % (
            count(len(movers)), count(actions)))
    ratio = made / float(minimum)
    report.row(label, "%s requests" % count(made),
               "%s = ⌈k/100⌉ %d + m %d + look-ups %d + fixed %d" % (
                   count(minimum), int(math.ceil(k / 100.0)), actions, lookups, fixed),
               ratio, "1.00× (fixed reads included)", verdict(made <= minimum and stored == k))


def count_preads(t, *args):
    """pread64 calls of one `refsync args...` (strace -c), or None without strace."""
    if not shutil.which("strace"):
        return None
    out = t.path("strace-count.txt")
    subprocess.run(["strace", "-f", "-c", "-e", "trace=pread64", "-o", out,
                    harness.binary("refsync"), "-c", t.conf_path] + list(args),
                   env=t.env(), cwd=t.dir, capture_output=True, timeout=TIMEOUT_S)
    with open(out, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields and fields[-1] == "pread64":
                return int(fields[3])
    return 0


def quiet_runs(t):
    """A settling run, then QUIET_RUNS runs with nothing new: their CPU seconds (start to
    exit) and the pread64 calls of one more. refsync's clock is an hour ahead
    (REFSYNC_TEST_NOW), so that the listings' overlap (a few minutes before the last run)
    no longer holds the benchmark's own recent changes: nothing has changed for an hour.
    The fakes' clocks move with it: refsync ends a window at Lever's own time (its Date)."""
    t.now_ms = now_ms() + 3600 * 1000
    try:
        t.lever.clock(t.now_ms)
        t.crosschq.clock(t.now_ms)
        return quiet_runs_now(t)
    finally:
        t.lever.clock(None)
        t.crosschq.clock(None)
        t.now_ms = None


def quiet_runs_now(t):
    r = refsync(t, "run")
    if r.returncode != 0:
        raise BenchError(r.describe_failure())
    cpus = []
    for _ in range(QUIET_RUNS):
        r = refsync(t, "run")
        if r.returncode != 0:
            raise BenchError(r.describe_failure())
        cpus.append(r.cpu)
    return sorted(cpus), count_preads(t, "run")


def bench_quiet(report, t, n, small_n):
    """A run with nothing new, start to exit, on this tenant and on a small one."""
    print("  quiet runs, %s opportunities" % count(n), flush=True)
    big, big_preads = quiet_runs(t)
    print("\n  quiet runs, %s opportunities: generating the tenant" % count(small_n), flush=True)
    builder = gen_tenant.generate(small_n, seed=TENANT_SEED + 2, in_trigger=IN_TRIGGER)
    with harness.Tenant(builder, start_timeout=300) as small_t:
        small_t.write_conf({"lever": {"requests_per_second": NO_LIMIT_RPS},
                            "crosschq": {"requests_per_second": NO_LIMIT_RPS},
                            "sync": {"trigger_since": iso_ms(builder.base_ms)}})
        first = refsync(small_t, "run")
        if first.returncode != 0:
            raise BenchError(first.describe_failure())
        small, small_preads = quiet_runs(small_t)
    median = lambda xs: xs[len(xs) // 2]
    for size, cpus, preads in ((small_n, small, small_preads), (n, big, big_preads)):
        report.note("quiet run, %s opportunities: CPU %s s (median %.4f), %s pread calls" % (
            count(size), ", ".join("%.4f" % c for c in cpus), median(cpus),
            "?" if preads is None else count(preads)))
    ratio = median(big) / median(small) if median(small) > 0 else None
    report.row("quiet run, %s opportunities, CPU start to exit" % count(small_n),
               "%.1f ms (%s preads)" % (median(small) * 1000, "?" if small_preads is None
                                        else count(small_preads)), "", None, "", "info")
    report.row("quiet run, %s opportunities, CPU start to exit" % count(n),
               "%.1f ms (%s preads)" % (median(big) * 1000, "?" if big_preads is None
                                        else count(big_preads)),
               "", None, "≤ %.0f ms" % (TARGET_QUIET_CPU_S * 1000),
               verdict(median(big) <= TARGET_QUIET_CPU_S))
    report.row("quiet run, %s ÷ %s opportunities" % (count(n), count(small_n)),
               "%.1f ÷ %.1f ms" % (median(big) * 1000, median(small) * 1000), "", ratio,
               "≤ %.1f×" % TARGET_QUIET_RATIO,
               verdict(ratio is not None and ratio <= TARGET_QUIET_RATIO))


def bench_webhook(report, t, builder, n):
    """From refsync-hook's answer to a stage-change webhook until the Crosschq create
    reaches the fake, `refsync run` started the moment the spool file lands (as the path
    unit does)."""
    label = "webhook to request, %s opportunities, no latency" % count(n)
    trigger = builder.stage_id(TRIGGER_STAGE)
    db = t.db()
    try:
        planned = {row[0] for row in db.execute("SELECT subject FROM outbox")}
        staged = {row[0]: row[1] for row in db.execute(
            "SELECT id, stage_id FROM lever_opportunities")}
    finally:
        db.close()
    mover = next(ident for ident in eligible_movers(builder)
                 if "opportunity:%s" % ident not in planned and staged.get(ident) != trigger)
    t.lever.mutate([{"op": "move_stage", "id": mover, "stage_id": TRIGGER_STAGE}])
    body = t.webhook("candidateStageChange", {"opportunityId": mover, "candidateId": mover,
                                              "toStageId": trigger,
                                              "fromStageId": staged.get(mover)})
    spool = os.path.join(t.conf["sync"]["spool"], "new")
    t.crosschq.reset_log()
    started = {}

    def watch():
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.isdir(spool) and os.listdir(spool):
                started["at"] = time.time()
                started["process"] = subprocess.Popen(
                    [harness.binary("refsync"), "-c", t.conf_path, "run"], env=t.env(),
                    cwd=t.dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                return
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    hook = t.run_hook(env={"PATH_INFO": "/lever/stage-change"}, body=body)
    answered = time.time()
    watcher.join()
    if "process" not in started:
        raise BenchError("refsync-hook spooled nothing: %r" % hook)
    _, err = started["process"].communicate(timeout=TIMEOUT_S)
    if started["process"].returncode != 0:
        raise BenchError("refsync run exited %d: %s" % (started["process"].returncode,
                                                        err.decode()[-1000:]))
    creates = [e for e in t.crosschq.log() if e["method"] == "POST"
               and e["path"] == "/partners/reference-request/"]
    if len(creates) != 1:
        raise BenchError("%d Crosschq creates after the webhook" % len(creates))
    latency = creates[0]["t"] - answered
    report.note("webhook: refsync-hook answered; refsync run started %.3f s before that; the "
                "create reached Crosschq %.3f s after the answer" % (
                    answered - started["at"], latency))
    report.row(label, "%.3f s" % latency, "", None, "≤ %.1f s" % TARGET_WEBHOOK_S,
               verdict(latency <= TARGET_WEBHOOK_S))


def profile_backfill(t, since):
    """perf record a second backfill of the same tenant into a fresh database."""
    if not shutil.which("perf"):
        print("  profile: perf not installed", flush=True)
        return
    data = t.path("perf.data")
    t.write_conf({"sync": {"database": t.path("state", "profiled.db"), "trigger_since": ""}})
    print("  perf record: refsync backfill --since %s (fresh database)" % since, flush=True)
    r = measure(["perf", "record", "-q", "-F", "1999", "-o", data, "--",
                 harness.binary("refsync"), "-c", t.conf_path, "backfill", "--since", since],
                env=t.env(), cwd=t.dir)
    if r.returncode != 0:
        print("  profile: %s" % r.describe_failure(), flush=True)
        return
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                             "--sort", "dso,symbol", "--percent-limit", "1"],
                            capture_output=True, text=True)
    print("\nprofile of refsync backfill (perf, self time, ≥ 1%):")
    for line in report.stdout.splitlines():
        if line.strip() and not line.startswith("#"):
            print("  " + line.strip())


# ---------------------------------------------------------------- 5. CSV export

EVENT_KINDS = (
    ("action.planned", "opportunity:{opp}",
     "cq.create_request key=lever:{opp}:{ms}: entered the trigger stage at {iso}; "
     "template {tpl}"),
    ("action.done", "opportunity:{opp}",
     "cq.create_request key=lever:{opp}:{ms} result={req}"),
    ("trigger.held", "opportunity:{opp}:{ms}",
     "no template: no Crosschq template's ATS tag matches the tags of posting {tpl} or of "
     "the opportunity, and no default_template is configured"),
    ("action.retry", "request:{req}",
     "lever.add_note key=note:{req}: Lever POST /opportunities/{opp}/notes: HTTP 503 "
     "ServiceUnavailable: \"try again, later\""),
    ("privacy.erased", "opportunity:{opp}",
     "deleted in Lever: name, email, phone, links and tags removed"),
    ("run.end", "run:{run}",
     "run exit=0 pulled={pulled} decided=2 done=2 failed=0 held=1"),
)


def fill_events(path, n):
    """n audit events in refsync's canonical form (lib/audit.h), chained like refsync's."""
    rng = random.Random(TENANT_SEED + 2)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    prev, at, run = "", 1767225600000, 1
    rows = []

    def uid():
        return "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                               rng.getrandbits(12), rng.getrandbits(16),
                                               rng.getrandbits(48))

    for seq in range(1, n + 1):
        at += rng.randrange(1, 2000)
        kind, subject, detail = EVENT_KINDS[rng.randrange(len(EVENT_KINDS))]
        ms = at - rng.randrange(86400000)
        values = {"opp": uid(), "req": uid(), "tpl": uid(), "ms": ms, "iso": iso_ms(ms),
                  "run": run, "pulled": rng.randrange(10000)}
        subject, detail = subject.format(**values), detail.format(**values)
        if kind == "run.end":
            run += 1
        canonical = "refsync-audit-v1|%d|%d|%d|%d:%s|%d:%s|%d:%s" % (
            seq, at, run, len(kind.encode()), kind, len(subject.encode()), subject,
            len(detail.encode()), detail)
        digest = hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()
        rows.append((seq, at, run, kind, subject, detail, prev, digest))
        prev = digest
        if len(rows) == 50000:
            db.executemany("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?)", rows)
            rows = []
    db.executemany("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?)", rows)
    db.commit()
    db.close()


def bench_export(report, n):
    label = "CSV export of %s events" % count(n)
    print("\n[5] %s: building the database" % label, flush=True)
    if not shutil.which("sqlite3"):
        report.error(label, "the sqlite3 command-line program is not installed")
        return
    with harness.Tenant(None) as t:      # the sandbox: only its config is used
        database = t.path("state", "export.db")
        t.write_conf({"sync": {"database": database}})
        # refsync creates its schema on open; plan then stops: no Lever stages yet
        refsync(t, "plan")
        if not os.path.exists(database):
            report.error(label, "refsync did not create %s" % database)
            return
        fill_events(database, n)
        out_refsync, out_sqlite = t.path("events.csv"), t.path("sqlite3.csv")
        # the same columns as refsync-export writes (dry_run: empty, no run was a dry run)
        query = ("SELECT seq, at, run_id, kind, subject, detail, prev_hash, hash, NULL "
                 "FROM audit_events ORDER BY seq")
        best = {"refsync-export": None, "sqlite3": None}
        for _ in range(EXPORT_BEST_OF):
            r = measure([harness.binary("refsync-export"), "-c", t.conf_path, "--format", "csv",
                         "--kind", "events", "-o", out_refsync], env=t.env(), cwd=t.dir)
            if r.returncode != 0:
                report.error(label, r.describe_failure())
                return
            if not best["refsync-export"] or r.wall < best["refsync-export"].wall:
                best["refsync-export"] = r
            s = measure(["sqlite3", "-csv", database, query], stdout_path=out_sqlite,
                        cwd=t.dir)
            if s.returncode != 0:
                report.error(label, s.describe_failure())
                return
            if not best["sqlite3"] or s.wall < best["sqlite3"].wall:
                best["sqlite3"] = s
        ours, theirs = best["refsync-export"], best["sqlite3"]
        size_ours, size_theirs = os.path.getsize(out_refsync), os.path.getsize(out_sqlite)
        report.note("refsync-export -o: best of %d %.2f s wall, %.2f s CPU, %.0f MB; sqlite3 "
                    "-csv > file: best %.2f s wall, %.2f s CPU, %.0f MB" % (
                        EXPORT_BEST_OF, ours.wall, ours.cpu, size_ours / 1e6, theirs.wall,
                        theirs.cpu, size_theirs / 1e6))
        ratio = ours.wall / theirs.wall
        report.row(label, "%.2f s wall (%.2f s CPU)" % (ours.wall, ours.cpu),
                   "sqlite3 -csv %.2f s wall (%.2f s CPU)" % (theirs.wall, theirs.cpu), ratio,
                   "≤ %.1f×" % TARGET_EXPORT, verdict(ratio <= TARGET_EXPORT))


# ---------------------------------------------------------------- header and main

def machine_header(mode):
    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0))
    load = " ".join("%.2f" % v for v in os.getloadavg())

    def output(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = output("git", "rev-parse", "--short", "HEAD") or "?"
    dirty = " + uncommitted changes" if output("git", "status", "--porcelain",
                                                 "--untracked-files=no") else ""
    try:
        version = output(harness.binary("refsync"), "--version")
    except AssertionError:
        version = "refsync (not built)"
    sqlite_cli = output("sqlite3", "--version").split(" ")[0] or "none"
    libs = "SQLite %s, yajl %s" % (output("pkg-config", "--modversion", "sqlite3"),
                                   output("pkg-config", "--modversion", "yajl"))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        "refsync benchmarks (%s sizes), %s" % (mode, stamp),
        "machine: %d CPUs (nproc), %s, Linux %s, load average %s at start" % (
            cpus, model, platform.release(), load),
        "software: %s (git %s%s), %s, sqlite3 CLI %s" % (version, head, dirty, libs,
                                                         sqlite_cli),
    ])


def stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", default=None,
                      help="small sizes (default when REFSYNC_BENCH_QUICK=1)")
    size.add_argument("--full", action="store_true", help="the sizes of issue 8")
    parser.add_argument("--slices", type=int,
                        help="time slices of the partitioned backfill (default: refsync's)")
    parser.add_argument("--since", help="backfill --since DATE (default: the month of the "
                        "tenant's oldest opportunity)")
    parser.add_argument("--only", default="rate,local,export",
                        help="comma-separated subset of rate, local (local cost, deciding, "
                        "call economy), export")
    parser.add_argument("--crosschq-list", action="store_true",
                        help="the Crosschq fake offers the list capability (local benchmarks): "
                        "creates are checked against Crosschq's requests before they are sent")
    parser.add_argument("--profile", action="store_true",
                        help="also perf-record a second no-latency backfill and print its "
                        "top functions")
    args = parser.parse_args(argv)
    quick = args.quick if args.quick is not None else (
        not args.full and os.environ.get("REFSYNC_BENCH_QUICK") == "1")
    mode = "quick" if quick else "full"
    sizes = SIZES[mode]
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - {"rate", "local", "export"}
    if unknown:
        parser.error("--only: unknown benchmark(s) %s" % ", ".join(sorted(unknown)))

    # SIGTERM unwinds like Ctrl-C, so that every Tenant stops its fakes
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    header = machine_header(mode)
    print(header, flush=True)
    build_floor()
    report = Report()
    started = time.monotonic()
    steps = (("rate", lambda: bench_rate(report, sizes["rate"], args.slices, args.since)),
             ("local", lambda: bench_local(report, sizes["local"], sizes["k"], sizes["m"],
                                           sizes["quiet"], args.since, args.profile,
                                           args.crosschq_list)),
             ("export", lambda: bench_export(report, sizes["events"])))
    for name, step in steps:
        if name in only:
            guarded(report, name, step)
    print("\n" + header)
    print("%.0f s in all; every ratio divides two numbers measured in this run\n" % (
        time.monotonic() - started))
    print(report.table())
    if report.errors:
        print("\nnot measured:")
        for line in report.errors:
            print("  " + line)
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
