"""End-to-end: a reinstall does not start a second Crosschq reference check when Crosschq can
tell (issue 18, task j4b).

The story: with `[sync] trigger_since` set, a reinstall (a fresh database against the same
Lever and Crosschq tenant) planned the creates again for the stage entries after
trigger_since; the earlier installation had made those requests, and Crosschq does not
de-duplicate creates (crosschq-api.md section 3; the fake's `dedupe_creates` stays off here),
so each became a second reference check sent to the candidate's references.

  ReinstallTest.test_list_capability_adopts_the_requests_made_before   the list capability
      present: install, run until two requests are made and one is complete, delete the
      database, run again with the same trigger_since: no create is POSTed, both are adopted
      (outbox done with found_at, action.found "found in Crosschq, not created", linked to
      their opportunities), and the run's own listing was all it took (no extra listing)
  ReinstallTest.test_one_listing_for_all_creates_and_none_sent_unchecked   the run's listing
      fails: the creates are not sent (one listing tried for both, not one each); the next
      run's listing fails again, and ONE listing from the earliest stage entry serves both
      creates, which are adopted
  ReinstallTest.test_without_list_capability_a_second_create_and_a_warning   the capability
      absent: what happens is documented by the test: a second create for the same
      candidate; the first run of each database warns (one line, warning priority), and
      `refsync status` (text and JSON) keeps the warning

Clocks: refsync's (REFSYNC_TEST_NOW) and both fakes' are pinned to the same moments.
Binary: $REFSYNC_BIN_DIR/refsync when set, else sync/refsync.
Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 tests/e2e/run.py test_reinstall
"""

import calendar
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import DAY_MS, TenantBuilder  # noqa: E402

MINUTE_MS = 60 * 1000
HOUR_MS = 60 * MINUTE_MS
SKEW_MS = MINUTE_MS                        # CQ_EVIDENCE_SKEW_MS: the two clocks' allowance
T0 = calendar.timegm((2026, 11, 16, 9, 0, 0)) * 1000
JOB_POSITION = "Senior Backend Engineer"
TRIGGER = "Reference Check"
REQUESTS = "/partners/reference-request/"
EX_OK = 0
FOUND = "found in Crosschq, not created (adopted)"
WARNING = "warning: trigger_since %s is before this database's first run, and the Crosschq list " \
          "capability is absent"


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def output_of(result):
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (result.returncode, result.stdout,
                                                   result.stderr[-4000:])


def creates_posted(log):
    return [e for e in log if e["method"] == "POST" and e["path"] == REQUESTS]


def listings(log, now):
    """(updated_since, fault) of the request listings in a Crosschq log, the capability
    probe (updated_since in the far future) left out."""
    out = []
    for e in log:
        if e["method"] != "GET" or e["path"] != REQUESTS:
            continue
        since = e["query"].get("updated_since", [""])[0]
        if since[:19] > iso(now + DAY_MS):
            continue
        out.append((since[:19], e.get("fault")))
    return out


class ReinstallCase(unittest.TestCase):
    maxDiff = 8000

    def setUp(self):
        self.go_live = T0 - DAY_MS
        b = self.b = TenantBuilder(seed=24, base_ms=T0)
        self.owner = b.add_user("Ana Souza", "ana.souza@example.com", access_role="super admin")
        manager = b.add_user("Tomás Berg", "tomas.berg@example.com")
        posting = b.add_posting(JOB_POSITION, ["engineering"], self.owner, manager)
        # two candidates entered the trigger stage after go-live (trigger_since)
        self.entries = {}
        for n, entered in ((1, T0 - 2 * HOUR_MS), (2, T0 - HOUR_MS)):
            opp = b.add_opportunity("Zoë Müller %d" % n, "Candidate.%d@Example.org" % n, posting,
                                    [("New applicant", T0 - 20 * DAY_MS), (TRIGGER, entered)],
                                    owner=self.owner, created=T0 - 30 * DAY_MS)
            self.entries[opp["id"]] = entered
        self.opps = sorted(self.entries, key=self.entries.get)

    def start(self, list_capability):
        t = harness.Tenant(self.b, now_ms=T0)
        t.__enter__()
        self.addCleanup(t.__exit__, None, None, None)
        t.write_conf({"sync": {"trigger_since": iso(self.go_live)},
                      "lever": {"perform_as": self.owner, "requests_per_second": 1000},
                      "crosschq": {"requests_per_second": 1000}})
        t.crosschq.capabilities(list=list_capability)
        return t

    def key(self, opp):
        return "lever:%s:%d" % (opp, self.entries[opp])

    def at(self, t, when):
        t.now_ms = when
        t.lever.clock(when)
        t.crosschq.clock(when)

    def run_at(self, t, when, *args):
        self.at(t, when)
        result = t.run(*(args or ("run",)))
        self.assertEqual(result.returncode, EX_OK, output_of(result))
        return result

    def rows(self, t, sql, params=()):
        db = t.db()
        try:
            return [tuple(r) for r in db.execute(sql, params)]
        finally:
            db.close()

    def events(self, t, kind):
        """{key: detail} of the audit events of that kind."""
        out = {}
        for (detail,) in self.rows(t, "SELECT detail FROM audit_events WHERE kind = ? ORDER BY seq",
                                   (kind,)):
            key = next(w[4:].rstrip(":") for w in detail.split() if w.startswith("key="))
            out[key] = detail
        return out

    def install(self, t):
        """The earlier installation: a request per entry; the first one completes and gets its
        link and note. Returns ({opportunity: request id}, the first run)."""
        first = self.run_at(t, T0)
        made = {c["body"]["candidate"]["email"]: c["request_id"]
                for c in t.crosschq.state()["creates"]}
        opps = {o["id"]: o for o in self.b.lever["opportunities"]}
        rids = {opp: made[opps[opp]["emails"][0]] for opp in self.opps}
        self.assertEqual(len(made), 2)
        self.at(t, T0 + HOUR_MS)
        t.crosschq.mutate([{"op": "complete", "id": rids[self.opps[0]], "at": T0 + HOUR_MS}])
        self.run_at(t, T0 + HOUR_MS)
        posted = [e["path"].rsplit("/", 1)[1] for e in t.lever.log() if e["method"] == "POST"]
        self.assertEqual(sorted(posted), ["addLinks", "notes"])
        return rids, first

    def reinstall(self, t):
        database = t.conf["sync"]["database"]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(database + suffix):
                os.remove(database + suffix)
        t.lever.reset_log()
        t.crosschq.reset_log()

    def assert_adopted(self, t, rids):
        """Both creates done as found, linked to their opportunities, nothing POSTed."""
        self.assertEqual(len(t.crosschq.state()["creates"]), 2)
        self.assertEqual(creates_posted(t.crosschq.log()), [])
        keys = [self.key(opp) for opp in self.opps]
        self.assertEqual(
            self.rows(t, "SELECT key, state, result, found_at IS NOT NULL FROM outbox WHERE kind = "
                         "'cq.create_request' ORDER BY key"),
            sorted((self.key(opp), "done", rids[opp], 1) for opp in self.opps))
        found = self.events(t, "action.found")
        for opp in self.opps:
            self.assertEqual(found[self.key(opp)], "cq.create_request key=%s: %s: %s"
                             % (self.key(opp), FOUND, rids[opp]))
        self.assertEqual([k for k in self.events(t, "action.done") if k in keys], [])
        self.assertEqual(
            self.rows(t, "SELECT id, external_id, opportunity_id FROM cq_requests WHERE "
                         "external_id IS NOT NULL ORDER BY id"),
            sorted((rids[opp], self.key(opp), opp) for opp in self.opps))


class ReinstallTest(ReinstallCase):

    def test_list_capability_adopts_the_requests_made_before(self):
        t = self.start(list_capability=True)
        rids, first = self.install(t)
        self.assertNotIn("trigger_since", first.stderr)      # nothing to warn about
        # Crosschq shows the second candidate's email in capitals now: compared ignoring case
        second = self.opps[1]
        t.crosschq.mutate([{"op": "set_request", "id": rids[second], "fields": {"candidate": {
            "first_name": "Zoë", "last_name": "Müller 2", "email": "CANDIDATE.2@EXAMPLE.ORG",
            "mobile_phone": ""}}}])

        self.reinstall(t)
        t3 = T0 + 2 * HOUR_MS
        result = self.run_at(t, t3)
        self.assertEqual(creates_posted(t.crosschq.log()), [])
        # the run's own listing (from the start: a new database) held both requests
        self.assertEqual(listings(t.crosschq.log(), t3), [("1970-01-01T00:00:00", None)])
        for opp in self.opps:
            self.assertIn("cq.create_request %s: %s: %s" % (self.key(opp), FOUND, rids[opp]),
                          result.stderr)
        self.assertNotIn("warning: trigger_since", result.stderr)
        self.run_at(t, t3 + MINUTE_MS)
        self.assert_adopted(t, rids)
        # the completed one: its link and note were found on Lever, not posted again
        self.assertEqual([e for e in t.lever.log() if e["method"] == "POST"], [])
        self.assertEqual(sorted(k.split(":")[0] for k in self.events(t, "action.found")),
                         ["lever", "lever", "link", "note"])
        status = t.run("status")
        self.assertEqual(status.returncode, EX_OK, output_of(status))
        self.assertIn("Found already made, adopted, not sent again (counted as done; audit: "
                      "action.found):\n  cq.create_request  2\n  lever.add_link     1\n"
                      "  lever.add_note     1\n", status.stdout)
        self.assertNotIn("Warning:", status.stdout)
        shown = json.loads(t.run("status", "--json").stdout)
        self.assertEqual(shown["found"], [{"kind": "cq.create_request", "count": 2},
                                          {"kind": "lever.add_link", "count": 1},
                                          {"kind": "lever.add_note", "count": 1}])
        self.assertIsNone(shown["unchecked_creates"])

    def test_one_listing_for_all_creates_and_none_sent_unchecked(self):
        t = self.start(list_capability=True)
        rids, _ = self.install(t)
        self.reinstall(t)
        earliest = self.entries[self.opps[0]] - SKEW_MS
        only = {"only_paths": [REQUESTS], "only_methods": ["GET"]}

        # every listing answers garbage: Crosschq cannot be searched, so nothing is created;
        # one listing was tried for both creates
        t.crosschq.faults(dict(only, rate_malformed=1.0))
        t3 = T0 + 2 * HOUR_MS
        self.run_at(t, t3)
        self.assertEqual(listings(t.crosschq.log(), t3),
                         [("1970-01-01T00:00:00", "malformed"), (iso(earliest)[:19], "malformed")])
        self.assertEqual(creates_posted(t.crosschq.log()), [])
        self.assertEqual(
            [(k, s) for k, s, e in self.rows(
                t, "SELECT key, state, last_error FROM outbox WHERE kind = 'cq.create_request' "
                   "ORDER BY key") if e.startswith("not created: looking in Crosschq for a request "
                                                   "already made for this stage entry failed")],
            sorted((self.key(opp), "planned") for opp in self.opps))
        self.assertEqual(sorted(self.events(t, "action.retry")),
                         sorted(self.key(opp) for opp in self.opps))

        # the next run: its own listing fails (the first draw of seed 1), the one listing
        # for the creates, from the earliest entry, works and serves both
        t.crosschq.reset_log()
        t.crosschq.faults(dict(only, rate_malformed=0.5, seed=1))
        t4 = t3 + 10 * MINUTE_MS
        self.run_at(t, t4)
        t.crosschq.faults({})
        self.assertEqual(listings(t.crosschq.log(), t4),
                         [("1970-01-01T00:00:00", "malformed"), (iso(earliest)[:19], None)])
        self.assert_adopted(t, rids)

    def test_without_list_capability_a_second_create_and_a_warning(self):
        t = self.start(list_capability=False)
        self.at(t, T0)
        first = t.run("run")
        self.assertEqual(first.returncode, EX_OK, output_of(first))
        warning = WARNING % iso(self.go_live)
        self.assertEqual([line for line in first.stderr.splitlines() if "trigger_since" in line],
                         [line for line in first.stderr.splitlines() if line.startswith(
                             "refsync: " + warning)])
        self.assertEqual(first.stderr.count(warning), 1)
        second = self.run_at(t, T0 + MINUTE_MS)
        self.assertNotIn("trigger_since", second.stderr)
        made = [c["request_id"] for c in t.crosschq.state()["creates"]]
        self.assertEqual(len(made), 2)

        self.reinstall(t)
        again = self.run_at(t, T0 + HOUR_MS)
        self.assertEqual(again.stderr.count(warning), 1)
        # documented: nothing to look at, so each entry gets a second reference check
        creates = t.crosschq.state()["creates"]
        self.assertEqual(len(creates), 4)
        emails = sorted(c["body"]["candidate"]["email"] for c in creates)
        self.assertEqual(emails, sorted(2 * ["Candidate.1@Example.org", "Candidate.2@Example.org"]))
        self.assertEqual(len(set(c["request_id"] for c in creates)), 4)
        self.assertEqual(self.events(t, "action.found"), {})
        self.assertEqual(sorted(self.events(t, "action.done")),
                         sorted(self.key(opp) for opp in self.opps))
        status = t.run("status")
        self.assertEqual(status.returncode, EX_OK, output_of(status))
        self.assertIn("\nWarning: " + warning[len("warning: "):], status.stdout)
        self.assertIn("a second reference check", status.stdout)
        shown = json.loads(t.run("status", "--json").stdout)
        self.assertTrue(shown["unchecked_creates"].startswith(warning[len("warning: "):]))


if __name__ == "__main__":
    unittest.main()
