"""End-to-end: the foundation and the Lever pull (issue 2).

Every test runs the real `refsync` against the Lever/Crosschq fakes of tests/fakes/ on
loopback (tests/e2e/harness.py) and asserts on what landed in the database and on what the
fakes' request logs saw.

Binary: $REFSYNC_BIN_DIR/refsync when set, else sync/refsync.
Run alone:
    REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 -m unittest tests/e2e/test_pull.py -v
Set REFSYNC_KEEP=1 to keep the temporary directories.
"""

import base64
import os
import random
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import gen_tenant  # noqa: E402

# The backfill criterion names 1,000 opportunities; that size is kept (a backfill of it
# takes about a second with the ASan build).
BACKFILL_OPPORTUNITIES = 1000
TENANT_SEED = 20261128
# Lever pacing for the tests that measure the request rate: the criterion's own "20 for speed".
LEVER_RPS = 20
# A `run` right after a backfill, with nothing changed in Lever, may make this many requests.
MAX_QUIET_RUN_REQUESTS = 6
# How late a retry may come after the Retry-After the fake asked for (seconds).
RETRY_AFTER_S = 1.0
RETRY_LATE_S = 1.5
# A request that reached the fake this soon after a 429 was already on its way.
IN_FLIGHT_S = 0.02
EX_TEMPFAIL = 75
EX_CONFIG = 78
OPPORTUNITIES_PATH = "/v1/opportunities"


def backfill_tenant():
    """The 1,000-opportunity tenant: a third confidential, archived ones (some in the legacy
    top-level form), some with updatedAt null. Identical for every call (fixed seed)."""
    return gen_tenant.generate(BACKFILL_OPPORTUNITIES, seed=TENANT_SEED, confidential=0.33,
                               archived=0.1, hired=0.03, null_updated=0.05,
                               legacy_archived=0.03, postings=40)


def small_tenant(opportunities=250, seed=5):
    """A generated tenant (250 opportunities: 3 pages) for tests where size is no criterion."""
    return gen_tenant.generate(opportunities, seed=seed, confidential=0.3, archived=0.1,
                               hired=0.03, null_updated=0.05, legacy_archived=0.03, postings=20)


def same_instant_tenant(opportunities=250, seed=9):
    """Opportunities all created and updated at one and the same millisecond, so that no
    slicing of a time window can avoid paging through them with offset tokens."""
    b = gen_tenant.TenantBuilder(seed=seed)
    owner = b.add_user("Ana Souza", "ana.souza@example.com")
    posting = b.add_posting("Backend Engineer", ["engineering"], owner, owner)
    instant = b.base_ms - 100 * gen_tenant.DAY_MS
    for index in range(opportunities):
        b.add_opportunity("Candidate %d" % index, "candidate.%d@example.org" % index, posting,
                          [("New applicant", instant)], owner=owner, created=instant)
    return b


def canonical_dump(db):
    """The pulled Lever content, sorted: lever_opportunities (minus pulled_at, the time
    of the pull), stage_entries and lever_tags."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(lever_opportunities)")
               if row[1] != "pulled_at"]
    opportunities = sorted(tuple(row) for row in db.execute(
        "SELECT %s FROM lever_opportunities" % ", ".join(columns)))
    entries = sorted(tuple(row) for row in db.execute(
        "SELECT opportunity_id, stage_id, entered_at FROM stage_entries"))
    tags = sorted(tuple(row) for row in db.execute(
        "SELECT owner_kind, owner_id, tag FROM lever_tags"))
    return {"columns": columns, "lever_opportunities": opportunities,
            "stage_entries": entries, "lever_tags": tags}


def archive_of(opp):
    """(archived_at, archive_reason_id) as Lever shows it, in either form, or (None, None)."""
    archived = opp.get("archived")
    if archived:
        return archived["archivedAt"], archived["reason"]
    if opp.get("archivedAt") is not None or opp.get("archiveReason") is not None:
        return opp.get("archivedAt"), opp.get("archiveReason")
    return None, None


def lever_requests(t):
    """The Lever fake's logged API requests, oldest first."""
    return sorted(t.lever.log(), key=lambda e: e["t"])


def max_in_one_second(times):
    """The largest number of requests that fall in any window [t, t + 1 s)."""
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def output_of(result):
    return "stdout:\n%s\nstderr:\n%s" % (result.stdout, result.stderr)


class BackfillTest(unittest.TestCase):
    """One clean backfill of the 1,000-opportunity tenant, shared by the tests of the class."""

    @classmethod
    def setUpClass(cls):
        cls.tenant = harness.Tenant(backfill_tenant())
        cls.tenant.__enter__()
        try:
            cls.tenant.write_conf({"lever": {"requests_per_second": LEVER_RPS}})
            cls.result = cls.tenant.run("backfill", "--since", "2020-01-01")
            cls.backfill_log = lever_requests(cls.tenant)
            cls.state = cls.tenant.lever.state()
            db = cls.tenant.db()
            try:
                cls.dump = canonical_dump(db)
                cls.opportunity_rows = {row["id"]: dict(row) for row in db.execute(
                    "SELECT * FROM lever_opportunities")}
                cls.user_rows = {row["id"]: dict(row) for row in db.execute(
                    "SELECT * FROM lever_users")}
            finally:
                db.close()
        except BaseException:
            cls.tenant.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.tenant.__exit__(None, None, None)

    def test_backfill_exits_0(self):
        self.assertEqual(self.result.returncode, 0, output_of(self.result))

    def test_backfill_stores_every_opportunity_with_its_facts(self):
        opps = self.state["opportunities"]
        self.assertEqual(len(opps), BACKFILL_OPPORTUNITIES)
        # the tenant really has the awkward cases the criterion names
        self.assertGreater(sum(o["confidentiality"] == "confidential" for o in opps), 250)
        self.assertTrue(any(o["updatedAt"] is None for o in opps))
        self.assertTrue(any("archivedAt" in o and "archived" not in o for o in opps))
        self.assertTrue(any(o.get("archived") for o in opps))
        rows = self.opportunity_rows
        self.assertEqual(sorted(rows), sorted(o["id"] for o in opps))
        for opp in opps:
            row = rows[opp["id"]]
            archived_at, reason = archive_of(opp)
            posting = opp["applications"][0]["posting"] if opp["applications"] else None
            expected = {"archived_at": archived_at, "archive_reason_id": reason,
                        "owner_id": opp["owner"], "posting_id": posting,
                        "stage_id": opp["stage"], "updated_at": opp["updatedAt"],
                        "created_at": opp["createdAt"],
                        "confidential": int(opp["confidentiality"] == "confidential"),
                        "anonymized": int(opp["isAnonymized"]),
                        "name": None if opp["isAnonymized"] else (opp["name"] or None),
                        "email": None if opp["isAnonymized"] else
                        (opp["emails"][0] if opp["emails"] else None)}
            self.assertEqual({k: row[k] for k in expected}, expected, opp["id"])

    def test_backfill_stores_every_stage_change(self):
        expected = [(o["id"], c["toStageId"], c["updatedAt"])
                    for o in self.state["opportunities"] for c in o["stageChanges"]]
        self.assertEqual(len(self.dump["stage_entries"]), len(expected))
        self.assertEqual(self.dump["stage_entries"], sorted(expected))

    def test_backfill_stores_owners_and_posting_tags(self):
        users = {u["id"]: u for u in self.state["users"]}
        owners = {o["owner"] for o in self.state["opportunities"]}
        for owner in owners:
            self.assertIn(owner, self.user_rows)
            self.assertEqual((self.user_rows[owner]["name"], self.user_rows[owner]["email"]),
                             (users[owner]["name"], users[owner]["email"]), owner)
        posting_tags = sorted(("posting", p["id"], tag) for p in self.state["postings"]
                              for tag in p["tags"])
        stored = [row for row in self.dump["lever_tags"] if row[0] == "posting"]
        self.assertEqual(stored, posting_tags)

    def test_backfill_asks_for_everything_expanded(self):
        listings = [e for e in self.backfill_log if e["path"] == OPPORTUNITIES_PATH]
        self.assertGreaterEqual(len(listings), BACKFILL_OPPORTUNITIES // 100)
        for entry in listings:
            self.assertEqual(entry["query"].get("confidentiality"), ["all"], entry)
            expanded = {part for value in entry["query"].get("expand", [])
                        for part in value.split(",")}
            self.assertLessEqual({"owner", "stage", "applications"}, expanded, entry)

    def test_backfill_paces_lever(self):
        times = [e["t"] for e in self.backfill_log]
        self.assertLessEqual(max_in_one_second(times), 2 * LEVER_RPS)

    def test_zz_quiet_run_after_backfill_is_cheap(self):
        # named zz so that it runs last in the class: it adds a run to the shared database
        t = self.tenant
        t.lever.reset_log()
        result = t.run("run")
        self.assertEqual(result.returncode, 0, output_of(result))
        requests = lever_requests(t)
        shown = ["%s %s %s" % (e["method"], e["path"], sorted(e["query"])) for e in requests]
        self.assertLessEqual(len(requests), MAX_QUIET_RUN_REQUESTS, "\n".join(shown))
        db = t.db()
        try:
            self.assertEqual(canonical_dump(db), self.dump)
        finally:
            db.close()


class FaultyLeverTest(unittest.TestCase):

    def test_backfill_under_faults_stores_the_same_as_without(self):
        with harness.Tenant(backfill_tenant()) as clean:
            clean.write_conf({"lever": {"requests_per_second": LEVER_RPS}})
            result = clean.run("backfill", "--since", "2020-01-01")
            self.assertEqual(result.returncode, 0, output_of(result))
            db = clean.db()
            try:
                expected = canonical_dump(db)
            finally:
                db.close()
        with harness.Tenant(backfill_tenant()) as t:
            t.write_conf({"lever": {"requests_per_second": LEVER_RPS}})
            t.lever.faults({"seed": 11, "rate_429": 0.2, "rate_503": 0.05, "rate_reset": 0.02,
                            "retry_after": "1"})
            result = t.run("backfill", "--since", "2020-01-01", timeout=180)
            self.assertEqual(result.returncode, 0, output_of(result))
            db = t.db()
            try:
                got = canonical_dump(db)
            finally:
                db.close()
            self.assertEqual(len(got["lever_opportunities"]), BACKFILL_OPPORTUNITIES)
            self.assertEqual(got, expected)
            log = lever_requests(t)
            faults = [e["fault"] for e in log]
            self.assertGreater(faults.count("429"), 0, "the fault plan injected no 429")
            self.assertLessEqual(max_in_one_second([e["t"] for e in log]), 2 * LEVER_RPS)
            # Every answer that carried Retry-After: 1 (429 and 503): its retry (the next
            # request for the same path and query) comes no earlier than 1 s and no later than
            # 1 s + 1.5 s after it, and Lever, whose budget is per key, sees no other request
            # in between either (a request that arrived within IN_FLIGHT_S of the refusal was
            # sent before refsync could have read it).
            throttled = 0
            for index, entry in enumerate(log):
                if entry["status"] not in (429, 503):
                    continue
                throttled += 1
                later = [e for e in log[index + 1:] if e["t"] > entry["t"] + IN_FLIGHT_S]
                self.assertTrue(later, "nothing was asked after %s" % entry)
                gap = later[0]["t"] - entry["t"]
                self.assertGreaterEqual(
                    gap, RETRY_AFTER_S, "%s %s asked %.3f s after a %d (Retry-After: 1)" % (
                        later[0]["path"], sorted(later[0]["query"]), gap, entry["status"]))
                retry = next((e for e in log[index + 1:] if (e["path"], e["query"]) ==
                              (entry["path"], entry["query"])), None)
                self.assertIsNotNone(retry, "the refused call was never retried: %s" % entry)
                gap = retry["t"] - entry["t"]
                self.assertGreaterEqual(gap, RETRY_AFTER_S,
                                        "retry %.3f s after a %d" % (gap, entry["status"]))
                self.assertLessEqual(gap, RETRY_AFTER_S + RETRY_LATE_S,
                                     "retry %.3f s after a %d" % (gap, entry["status"]))
            self.assertGreater(throttled, 0)

    def test_invalid_offset_restarts_the_window(self):
        for command in (("run",), ("backfill", "--since", "2020-01-01")):
            with self.subTest(command=command):
                self.check_invalid_offset(command)

    def check_invalid_offset(self, command):
        with harness.Tenant(same_instant_tenant()) as t:
            t.lever.faults({"invalid_offset_once": True, "only_paths": [OPPORTUNITIES_PATH]})
            result = t.run(*command)
            self.assertEqual(result.returncode, 0, output_of(result))
            listing = [e for e in lever_requests(t) if e["path"] == OPPORTUNITIES_PATH]
            refused = [i for i, e in enumerate(listing) if e["status"] == 400]
            self.assertEqual(len(refused), 1, listing)
            at = refused[0]
            self.assertIn("offset", listing[at]["query"])
            # the same window is asked again from its first page (other listings may come
            # in between when refsync lists several windows at once)
            without_offset = {k: v for k, v in listing[at]["query"].items() if k != "offset"}
            restart = [e for e in listing[at + 1:] if e["query"] == without_offset]
            self.assertTrue(restart, "the window was not restarted: %s" % listing[at + 1:])
            self.assertEqual(restart[0]["status"], 200)
            db = t.db()
            try:
                stored = sorted(r[0] for r in db.execute("SELECT id FROM lever_opportunities"))
                entries = db.execute("SELECT count(*) FROM stage_entries").fetchone()[0]
            finally:
                db.close()
            opps = t.lever.state()["opportunities"]
            self.assertEqual(stored, sorted(o["id"] for o in opps))
            self.assertEqual(entries, sum(len(o["stageChanges"]) for o in opps))

    def test_truncated_and_malformed_pages_are_retried(self):
        # A fault seed whose draws never put two faults in a row over the first 40 draws,
        # with at least two of each kind among the first 12 (the listing's requests), so that
        # the outcome does not hang on how many tries the client allows per page.
        rate = 0.15

        def draws(seed):
            rng = random.Random(seed)
            out = []
            for _ in range(40):
                value = rng.random()
                out.append("truncate" if value < rate else
                           "malformed" if value < 2 * rate else None)
            return out

        def usable(seed):
            kinds = draws(seed)
            if any(a and b for a, b in zip(kinds, kinds[1:])):
                return False
            return kinds[:12].count("truncate") >= 2 and kinds[:12].count("malformed") >= 2

        fault_seed = next(seed for seed in range(10000) if usable(seed))
        with harness.Tenant(small_tenant(1000, seed=8)) as t:
            t.lever.faults({"seed": fault_seed, "rate_truncate": rate, "rate_malformed": rate,
                            "only_paths": [OPPORTUNITIES_PATH]})
            result = t.run("run")
            self.assertEqual(result.returncode, 0, output_of(result))
            listing = [e for e in lever_requests(t) if e["path"] == OPPORTUNITIES_PATH]
            kinds = [e["fault"] for e in listing]
            self.assertGreaterEqual(kinds.count("truncate"), 1, kinds)
            self.assertGreaterEqual(kinds.count("malformed"), 1, kinds)
            db = t.db()
            try:
                got = canonical_dump(db)
            finally:
                db.close()
        with harness.Tenant(small_tenant(1000, seed=8)) as clean:
            result = clean.run("run")
            self.assertEqual(result.returncode, 0, output_of(result))
            db = clean.db()
            try:
                expected = canonical_dump(db)
            finally:
                db.close()
        self.assertEqual(len(got["lever_opportunities"]), 1000)
        self.assertEqual(got, expected)


DAY_MS = gen_tenant.DAY_MS


def listings(log):
    """The opportunity listings of a request log: {query without offset: pages}, in order."""
    found = {}
    for e in log:
        if e["path"] != OPPORTUNITIES_PATH or e["status"] != 200:
            continue
        key = tuple(sorted((k, tuple(v)) for k, v in e["query"].items() if k != "offset"))
        found[key] = found.get(key, 0) + 1
    return found


def bounds(query, name):
    """(start, end) of the created_at or updated_at filter of a listing key (None: open)."""
    q = dict(query)
    start, end = q.get(name + "_start"), q.get(name + "_end")
    return (int(start[0]) if start else None, int(end[0]) if end else None)


def stored_ids(t):
    db = t.db()
    try:
        return sorted(r[0] for r in db.execute("SELECT id FROM lever_opportunities"))
    finally:
        db.close()


class PartitionedPullTest(unittest.TestCase):
    """Issue 17: a window is listed as two disjoint sets (created in it; created before it
    and updated in it), cut where the data is dense, resumable after a crash; a new
    install's first run is pulled the same way."""

    def check_partition(self, log, since_ms, until_ms, n_expected):
        """The listings' filters: each created-set listing a created_at range, the final
        ones tiling [since, until] without overlap; each updated-set listing created before
        since and an updated_at range inside the window, tiling it; and about one page per
        100 opportunities. Returns the final created-set ranges."""
        found = listings(log)
        created, updated = [], []
        for query, pages in found.items():
            names = {k for k, _ in query}
            self.assertIn("created_at_end", names, query)
            if "updated_at_start" in names or "updated_at_end" in names:
                self.assertEqual(bounds(query, "created_at"), (None, since_ms - 1), query)
                updated.append((bounds(query, "updated_at"), pages))
            else:
                created.append((bounds(query, "created_at"), pages))
        finals = {}
        for ranges, what in ((created, "created"), (updated, "updated")):
            if not ranges:
                continue
            lo = since_ms if since_ms > 0 else -1
            spans = [((r[0] if r[0] is not None else -1, r[1]), pages) for r, pages in ranges]
            # a listing cut after its first page contains the listings it was cut into
            cut = [(r, p) for r, p in spans if any(o != r and o[0] >= r[0] and o[1] <= r[1]
                                                   for o, _ in spans)]
            final = sorted(r for r, p in spans if (r, p) not in cut)
            for r, p in cut:
                self.assertEqual(p, 1, "a cut listing listed more than its first page: %s" % (r,))
            self.assertEqual(final[0][0], lo, (what, final))
            self.assertEqual(final[-1][1], until_ms, (what, final))
            for (a, b), (c, d) in zip(final, final[1:]):
                self.assertEqual(c, b + 1, "%s slices overlap or leave a gap: %s" % (what, final))
            finals[what] = final
        pages = sum(found.values())
        self.assertLessEqual(pages, -(-n_expected // 100) + len(found),
                             "%d listing pages for %d opportunities in %d listings" % (
                                 pages, n_expected, len(found)))
        return finals.get("created", [])

    def until_of(self, log):
        first = next(e for e in log if e["path"] == OPPORTUNITIES_PATH)
        return int(first["query"]["created_at_end"][0])

    def test_window_lists_two_disjoint_sets_once(self):
        # a window in the middle of the tenant's history: some opportunities were created
        # in it, some before it and updated in it, some (null updatedAt included) neither
        b = gen_tenant.generate(1500, seed=41, null_updated=0.1, postings=20)
        since = "2025-06-01"
        with harness.Tenant(b) as t:
            result = t.run("backfill", "--since", since)
            self.assertEqual(result.returncode, 0, output_of(result))
            log = lever_requests(t)
            since_ms = int(next(e for e in log if e["path"] == OPPORTUNITIES_PATH)
                           ["query"]["created_at_start"][0])
            until_ms = self.until_of(log)
            opps = b.lever["opportunities"]
            expected = sorted(o["id"] for o in opps if since_ms <= o["createdAt"] <= until_ms
                              or (o["createdAt"] < since_ms and o["updatedAt"] is not None
                                  and since_ms <= o["updatedAt"] <= until_ms))
            nulls = [o["id"] for o in opps if o["updatedAt"] is None
                     and o["createdAt"] >= since_ms]
            self.assertTrue(nulls)
            self.assertGreater(len(expected), 300)
            self.assertLess(len(expected), len(opps))
            self.assertEqual(stored_ids(t), expected)
            self.check_partition(log, since_ms, until_ms, len(expected))

    def test_skewed_tenant_since_2000_is_cut_where_the_data_is(self):
        # 60% of the opportunities created in one month; a window of 26 years
        b = gen_tenant.generate(3000, seed=42, dense=0.6, postings=20)
        with harness.Tenant(b) as t:
            result = t.run("backfill", "--since", "2000-01-01", "--slices", "8")
            self.assertEqual(result.returncode, 0, output_of(result))
            log = lever_requests(t)
            since_ms = int(next(e for e in log if e["path"] == OPPORTUNITIES_PATH)
                           ["query"]["created_at_start"][0])
            until_ms = self.until_of(log)
            self.assertEqual(stored_ids(t), sorted(o["id"] for o in b.lever["opportunities"]))
            parts = self.check_partition(log, since_ms, until_ms, 3000)
            self.assertGreaterEqual(len(parts), 8)
            dense_from = b.base_ms - gen_tenant.DENSE_MONTH_DAYS_AGO * DAY_MS
            dense_to = dense_from + 30 * DAY_MS
            in_dense = [p for p in parts if p[0] <= dense_to and p[1] >= dense_from]
            self.assertGreaterEqual(len(in_dense), 4, parts)
            # nothing was created before 2000: the second set is one empty page
            updated = [q for q in listings(log) if "updated_at_start" in dict(q)]
            self.assertEqual([listings(log)[q] for q in updated], [1])

    def test_new_install_first_run_is_partitioned_and_complete(self):
        b = gen_tenant.generate(1200, seed=43, null_updated=0.1, postings=20)
        with harness.Tenant(b) as t:
            result = t.run("run")
            self.assertEqual(result.returncode, 0, output_of(result))
            log = lever_requests(t)
            until_ms = self.until_of(log)
            for query in listings(log):
                # one set only: created up to now (updatedAt null included)
                self.assertNotIn("updated_at_start", dict(query))
            parts = self.check_partition(log, 0, until_ms, 1200)
            self.assertGreaterEqual(len(parts), 8)
            self.assertEqual(stored_ids(t), sorted(o["id"] for o in b.lever["opportunities"]))
            # the next run goes on from there, by update time
            t.lever.reset_log()
            result = t.run("run")
            self.assertEqual(result.returncode, 0, output_of(result))
            again = [e for e in lever_requests(t) if e["path"] == OPPORTUNITIES_PATH]
            self.assertEqual(len(again), 1)
            self.assertIn("updated_at_start", again[0]["query"])

    def test_backfill_resumes_each_slice_after_a_crash(self):
        b = gen_tenant.generate(2500, seed=44, null_updated=0.1, postings=20)
        with harness.Tenant(b) as clean:
            result = clean.run("backfill", "--since", "2020-01-01")
            self.assertEqual(result.returncode, 0, output_of(result))
            db = clean.db()
            try:
                expected = canonical_dump(db)
            finally:
                db.close()
            full_pages = sum(listings(lever_requests(clean)).values())
        self.assertEqual(len(expected["lever_opportunities"]), 2500)
        for crash in ("after-page:1", "after-page:2", "after-page:9", "after-page:20"):
            with self.subTest(crash=crash), harness.Tenant(b) as t:
                killed = t.run("backfill", "--since", "2020-01-01",
                               env={"REFSYNC_TEST_CRASH_AT": crash})
                self.assertEqual(killed.returncode, -9, output_of(killed))
                self.assertIn("REFSYNC_TEST_CRASH_AT=%s reached" % crash, killed.stderr)
                before = sum(listings(lever_requests(t)).values())
                t.lever.reset_log()
                result = t.run("backfill", "--since", "2020-01-01")
                self.assertEqual(result.returncode, 0, output_of(result))
                self.assertIn("resuming the interrupted backfill", result.stderr)
                db = t.db()
                try:
                    got = canonical_dump(db)
                    left = db.execute("SELECT count(*) FROM cursors WHERE name LIKE "
                                      "'backfill.%'").fetchone()[0]
                finally:
                    db.close()
                self.assertEqual(got, expected)
                self.assertEqual(left, 0)
                # what was stored before the crash is not listed again (a slice in
                # flight loses at most its page, a cut root its first page)
                after = sum(listings(lever_requests(t)).values())
                self.assertLessEqual(after + before, full_pages + 12, (before, after))


def quiet_tenant():
    """40 opportunities and no Crosschq requests: a run has nothing to send."""
    return gen_tenant.generate(40, seed=3, postings=6)


class SecretsAndConfigTest(unittest.TestCase):
    """Small tenants: keys, secret files, URLs, the lock, 401, check."""

    def secret_forms(self, key):
        """The ways a key could leak: as is, and inside a Basic or Token header."""
        return [key, base64.b64encode((key + ":").encode()).decode(),
                base64.b64encode(key.encode()).decode().rstrip("=")]

    def assertNoSecret(self, text, keys, where):
        for key in keys:
            for form in self.secret_forms(key):
                self.assertNotIn(form, text, "a key appears in %s" % where)

    def test_api_key_never_in_output_or_database(self):
        with harness.Tenant(quiet_tenant()) as t:
            keys = [t.lever.api_key, t.crosschq.api_key]
            outputs = []
            for args in (("run",), ("-v", "run"), ("backfill", "--since", "2026-01-01"),
                         ("-v", "backfill", "--since", "2026-06-01"), ("status",),
                         ("status", "--json"), ("check",), ("-v", "check"), ("plan",)):
                result = t.run(*args)
                outputs.append((args, result))
                self.assertEqual(result.returncode, 0, "%s\n%s" % (args, output_of(result)))
            # a run whose key Lever refuses: the fake keeps its key, refsync gets another one
            wrong = "wrong" + t.lever.api_key[5:]
            wrong_file = t.path("secrets", "lever-wrong.key")
            harness.write_secret(wrong_file, wrong)
            t.write_conf({"lever": {"api_key_file": wrong_file}})
            for args in (("run",), ("-v", "run"), ("check",)):
                result = t.run(*args)
                outputs.append((args, result))
                self.assertEqual(result.returncode, EX_CONFIG, output_of(result))
            self.assertTrue(any(e["auth_ok"] is False for e in t.lever.log()))
            for args, result in outputs:
                self.assertNoSecret(result.stdout, keys + [wrong], "stdout of %s" % (args,))
                self.assertNoSecret(result.stderr, keys + [wrong], "stderr of %s" % (args,))
            database = t.conf["sync"]["database"]
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(database + suffix):
                    with open(database + suffix, "rb") as handle:
                        data = handle.read()
                    for key in keys + [wrong]:
                        for form in self.secret_forms(key):
                            self.assertNotIn(form.encode(), data, database + suffix)

    def test_group_readable_secret_file_is_refused(self):
        with harness.Tenant(quiet_tenant()) as t:
            secret_files = [(section, name) for section, values in t.conf.items()
                            for name, value in values.items()
                            if name.endswith("_file") and value]
            self.assertEqual(secret_files, [
                ("lever", "api_key_file"), ("lever", "stage_change_token_file"),
                ("lever", "hired_token_file"), ("crosschq", "api_key_file"),
                ("crosschq", "webhook_secret_file"), ("followup", "answer_secret_file")])
            for section, name in secret_files:
                path = t.conf[section][name]
                commands = [("check",)]
                if name == "api_key_file":
                    commands.append(("run",))   # the keys a run cannot do without
                for command in commands:
                    with self.subTest(key="%s.%s" % (section, name), command=command):
                        t.lever.reset_log()
                        t.crosschq.reset_log()
                        os.chmod(path, 0o644)
                        try:
                            result = t.run(*command)
                        finally:
                            os.chmod(path, 0o600)
                        self.assertEqual(result.returncode, EX_CONFIG, output_of(result))
                        self.assertIn("chmod 600", result.stdout + result.stderr)
                        self.assertIn(path, result.stdout + result.stderr)
                        if command == ("run",):
                            self.assertEqual(t.crosschq.log(), [])
            result = t.run("check")
            self.assertEqual(result.returncode, 0, output_of(result))

    def test_plain_http_to_a_non_loopback_host_is_refused(self):
        with harness.Tenant(quiet_tenant()) as t:
            good = dict(t.conf["lever"]), dict(t.conf["crosschq"])
            for section, url in (("lever", "http://example.com/v1"),
                                 ("crosschq", "http://example.com")):
                with self.subTest(section=section):
                    t.write_conf({"lever": good[0], "crosschq": good[1]})
                    t.write_conf({section: {"url": url}})
                    t.lever.reset_log()
                    t.crosschq.reset_log()
                    result = t.run("run")
                    self.assertEqual(result.returncode, EX_CONFIG, output_of(result))
                    self.assertIn(url, result.stdout + result.stderr)
                    self.assertEqual(t.crosschq.log(), [])
                    self.assertEqual(t.lever.log(), [])

    def test_second_concurrent_run_exits_75_at_once(self):
        with harness.Tenant(quiet_tenant()) as t:
            t.lever.faults({"delay_ms": 200})
            first = subprocess.Popen([harness.binary("refsync"), "-c", t.conf_path, "run"],
                                     env=t.env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=t.dir)
            try:
                deadline = time.monotonic() + 30
                while not t.lever.log() and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertTrue(t.lever.log(), "the first run never reached Lever")
                started = time.monotonic()
                second = t.run("run", timeout=30)
                elapsed = time.monotonic() - started
                self.assertIsNone(first.poll(), "the first run ended before the second began")
            finally:
                out, err = first.communicate(timeout=120)
            self.assertEqual(second.returncode, EX_TEMPFAIL, output_of(second))
            self.assertLess(elapsed, 2.0, "the second run waited %.2f s" % elapsed)
            self.assertIn("lock", second.stderr)
            self.assertEqual(first.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (out, err))

    def test_lever_401_ends_the_run_with_78(self):
        with harness.Tenant(quiet_tenant()) as t:
            wrong_file = t.path("secrets", "lever-other.key")
            harness.write_secret(wrong_file, "0123456789abcdef0123456789abcdef")
            t.write_conf({"lever": {"api_key_file": wrong_file}})
            result = t.run("run")
            self.assertEqual(result.returncode, EX_CONFIG, output_of(result))
            self.assertIn("401", result.stderr)
            self.assertIn("API key", result.stderr)
            self.assertEqual([e["method"] for e in t.crosschq.log() if e["method"] == "POST"], [])
            db = t.db()
            try:
                run = db.execute("SELECT exit_code, error FROM runs ORDER BY id DESC").fetchone()
            finally:
                db.close()
            self.assertEqual(run["exit_code"], EX_CONFIG)
            self.assertIn("401", run["error"])

    def test_check_lists_the_stages_when_the_trigger_stage_is_unknown(self):
        with harness.Tenant(quiet_tenant()) as t:
            t.write_conf({"lever": {"trigger_stage": "Reference Chek"}})
            result = t.run("check")
            self.assertEqual(result.returncode, EX_CONFIG, output_of(result))
            text = result.stdout + result.stderr
            self.assertIn("Reference Chek", text)
            for stage in t.lever.state()["stages"]:
                self.assertIn(stage["text"], text)

    def test_check_passes_on_a_good_config(self):
        with harness.Tenant(quiet_tenant()) as t:
            result = t.run("check")
            self.assertEqual(result.returncode, 0, output_of(result))

    def test_check_reads_the_crosschq_webhook_secret_when_set(self):
        with harness.Tenant(quiet_tenant()) as t:
            # not set: the webhook is optional, check passes and says nothing of it (the
            # harness sets it by default: unset it here)
            t.write_conf({"crosschq": {"webhook_auth": None, "webhook_secret_file": None}})
            with open(t.conf_path, encoding="utf-8") as handle:
                self.assertNotIn("webhook_secret_file", handle.read())
            result = t.run("check")
            self.assertEqual(result.returncode, 0, output_of(result))
            self.assertNotIn("webhook_secret_file", result.stdout + result.stderr)
            path = t.path("secrets", "crosschq-webhook.secret")
            harness.write_secret(path, "no-colon-webhook-secret")
            t.write_conf({"crosschq": {"webhook_auth": "basic", "webhook_secret_file": path}})
            result = t.run("check")
            self.assertEqual(result.returncode, EX_CONFIG, output_of(result))
            self.assertIn("[crosschq] webhook_secret_file: webhook_auth = basic wants \"user:password\"",
                          result.stdout + result.stderr)
            self.assertNotIn("no-colon-webhook-secret", result.stdout + result.stderr)
            harness.write_secret(path, "crosschq:webhook-pa55")
            result = t.run("check")
            self.assertEqual(result.returncode, 0, output_of(result))
            self.assertIn("secret is readable and private: [crosschq] webhook_secret_file", result.stdout)


if __name__ == "__main__":
    unittest.main()
