"""End-to-end: write-backs obey go-live, and notes and links are looked up before they are
posted (issue 18, item 4).

The story an admin met: the first run of a fresh install posted a Lever link and note and
emailed the owner for a request completed before go-live; a fresh database against the same
tenant (a reinstall) posted a second identical note. Both need refsync to hold a Crosschq
request it did not see complete: here the Crosschq fake answers a create for a candidate and
position it already has with that request (`dedupe_creates`, as a de-duplicating Crosschq
would; crosschq-api.md section 3 does not say whether the real one does).

  GoLiveTest.test_history_before_go_live_gets_nothing   completed (and hired) before go-live:
      no link, note, email or archive; each skip is an outbox row 'skipped' with an
      action.skipped audit event, and `refsync status` counts them
  GoLiveTest.test_hire_and_archive_dated_before_go_live_are_not_written_back   the same
      rule for the hire pushed to Crosschq and the cancel on archive
  GoLiveTest.test_reinstall_sends_nothing_twice          run to completion, delete the
      database, run again (same tenant, same trigger_since): link and note are found on
      Lever (action.found), the prompt is not sent again (action.skipped); once more without
      trigger_since: nothing at all
  GoLiveTest.test_completed_after_go_live_gets_each_once  one link, one note, one email, each
      post after exactly one look-up of the opportunity or its notes
  LeverFakeNotesTest: the Lever fake lists notes in the documented shape

Clocks: refsync's (REFSYNC_TEST_NOW) and both fakes' are pinned to the same moments.
Binary: $REFSYNC_BIN_DIR/refsync when set, else sync/refsync.
Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 tests/e2e/run.py test_golive
"""

import re
import calendar
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import DAY_MS, TenantBuilder  # noqa: E402

MINUTE_MS = 60 * 1000
HOUR_MS = 60 * MINUTE_MS
T0 = calendar.timegm((2026, 11, 2, 9, 0, 0)) * 1000
AFTER_DAYS = 14
JOB_POSITION = "Senior Backend Engineer"   # the posting's text: the create's job_position
TRIGGER = "Reference Check"
EX_OK = 0
NOT_BEFORE_GO_LIVE = "before go-live"


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def output_of(result):
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (result.returncode, result.stdout,
                                                   result.stderr[-4000:])


def posts(log, suffix):
    """The 2xx POSTs of a Lever log whose path ends with suffix."""
    return [e for e in log if e["method"] == "POST" and e["path"].endswith(suffix)
            and 200 <= e["status"] < 300]


class Tenant:
    """One tenant: users, an engineering posting, candidates; the go-live (trigger_since) and
    the Crosschq fake's de-duplication set by the test."""

    def __init__(self, go_live):
        self.go_live = go_live
        self.b = b = TenantBuilder(seed=18, base_ms=T0)
        self.owner = b.add_user("Ana Souza", "ana.souza@example.com", access_role="super admin")
        self.manager = b.add_user("Tomás Berg", "tomas.berg@example.com")
        self.posting = b.add_posting(JOB_POSITION, ["engineering"], self.owner, self.manager)
        self.count = 0

    def candidate(self, stages):
        """An open opportunity on the posting with these stage entries [(stage, at)]."""
        self.count += 1
        return self.b.add_opportunity("Zoë Müller %d" % self.count,
                                      "candidate.%d@example.org" % self.count, self.posting,
                                      stages, owner=self.owner, created=T0 - 120 * DAY_MS)

    def opportunity(self, ident):
        return next(o for o in self.b.lever["opportunities"] if o["id"] == ident)

    def history(self, opp, created, completed, hired=None):
        """A Crosschq request made for opp before refsync (e.g. by another connector)."""
        return self.b.add_request(opp, created, job_position=JOB_POSITION, completed=completed,
                                  hired=hired)

    def start(self, dedupe):
        t = harness.Tenant(self.b, now_ms=T0)
        t.__enter__()
        try:
            t.write_conf({"sync": {"trigger_since": iso(self.go_live)},
                          "lever": {"perform_as": self.owner, "requests_per_second": 1000},
                          "crosschq": {"requests_per_second": 1000},
                          "followup": {"after_days": AFTER_DAYS}})
            t.crosschq.capabilities(hire=True, hired_field=True, cancel=True)
            if dedupe:
                t.crosschq.dedupe_creates(True)
        except BaseException:
            t.__exit__(None, None, None)
            raise
        return t


class GoLiveCase(unittest.TestCase):
    maxDiff = 8000

    def at(self, t, when):
        """Move refsync's clock and both fakes' clocks to `when`."""
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

    def outbox(self, t, request_id, opp):
        """{key: (state, adopted)} of the write-backs of one request and its opportunity."""
        keys = ["link:" + request_id, "note:" + request_id, "prompt:" + request_id,
                "archive-hired:" + opp, "hired:" + request_id, "cancel:" + request_id]
        return {k: (s, f is not None) for k, s, f in self.rows(
            t, "SELECT key, state, found_at FROM outbox WHERE key IN (%s) ORDER BY key"
            % ",".join("?" * len(keys)), keys)}

    def events(self, t, kind):
        """{key=...: detail} of the audit events of that kind."""
        out = {}
        for (detail,) in self.rows(t, "SELECT detail FROM audit_events WHERE kind = ? "
                                      "ORDER BY seq", (kind,)):
            key = next(w[4:].rstrip(":") for w in detail.split() if w.startswith("key="))
            out[key] = detail
        return out


class GoLiveTest(GoLiveCase):

    def test_history_before_go_live_gets_nothing(self):
        """(a) A fresh install whose go-live (trigger_since, a week ago) is after two requests
        completed: the re-entered candidates get their requests back from Crosschq, and no
        link, note, email or archive goes out for them; every skip is recorded."""
        go_live = T0 - 7 * DAY_MS
        s = Tenant(go_live)
        stages = [("New applicant", T0 - 90 * DAY_MS), (TRIGGER, T0 - 60 * DAY_MS),
                  ("On-site interview", T0 - 50 * DAY_MS), (TRIGGER, T0 - 2 * DAY_MS)]
        completed = s.candidate(stages)["id"]
        hired = s.candidate(stages)["id"]
        old = s.history(s.opportunity(completed), T0 - 60 * DAY_MS, T0 - 40 * DAY_MS)
        old_hired = s.history(s.opportunity(hired), T0 - 60 * DAY_MS, T0 - 45 * DAY_MS,
                              hired=True)
        t = s.start(dedupe=True)
        try:
            # the first run starts a request per entry after go-live: Crosschq answers with
            # the requests it has; the next runs read them (completed, one hired)
            self.run_at(t, T0)
            creates = t.crosschq.state()["creates"]
            self.assertEqual(sorted((c["request_id"], c.get("deduplicated")) for c in creates),
                             sorted([(old["id"], True), (old_hired["id"], True)]))
            # a dry run first: it names each write-back that go-live skips, and why
            dry = self.run_at(t, T0 + MINUTE_MS, "run", "--dry-run")
            skips = re.findall(r"^SKIP +(\S+) +(\S+).*\n +because (.*)$", dry.stdout, re.M)
            self.assertEqual(sorted((kind, key) for kind, key, _ in skips),
                             sorted([("lever.add_link", "link:" + old["id"]),
                                     ("lever.add_note", "note:" + old["id"]),
                                     ("mail.followup", "prompt:" + old["id"]),
                                     ("lever.add_link", "link:" + old_hired["id"]),
                                     ("lever.add_note", "note:" + old_hired["id"]),
                                     ("lever.archive_hired", "archive-hired:" + hired)]), dry.stdout)
            self.assertTrue(all("go-live" in why for _, _, why in skips), dry.stdout)
            self.assertIn("\n0 actions would be carried out\n", dry.stdout)
            for minutes in (1, 2, 3):
                self.run_at(t, T0 + minutes * MINUTE_MS)
            log = t.lever.log()
            self.assertEqual(posts(log, "/addLinks"), [])
            self.assertEqual(posts(log, "/notes"), [])
            self.assertEqual([e for e in log if e["method"] == "PUT"], [])
            self.assertEqual(t.mail_envelopes(), [])
            self.assertEqual(t.lever.state()["notes"], {})
            skipped = ("skipped", False)
            self.assertEqual(self.outbox(t, old["id"], completed),
                             {"link:" + old["id"]: skipped, "note:" + old["id"]: skipped,
                              "prompt:" + old["id"]: skipped})
            self.assertEqual(self.outbox(t, old_hired["id"], hired),
                             {"link:" + old_hired["id"]: skipped,
                              "note:" + old_hired["id"]: skipped,
                              "archive-hired:" + hired: skipped})
            events = self.events(t, "action.skipped")
            self.assertEqual(sorted(events), sorted(
                ["link:" + old["id"], "note:" + old["id"], "prompt:" + old["id"],
                 "link:" + old_hired["id"], "note:" + old_hired["id"],
                 "archive-hired:" + hired]))
            for key, detail in events.items():
                self.assertIn(NOT_BEFORE_GO_LIVE, detail, key)
                self.assertIn(iso(go_live), detail, key)
            self.assertIn("completed at %s" % iso(T0 - 40 * DAY_MS),
                          events["note:" + old["id"]])
            self.assertIn("hired in Crosschq at %s" % iso(T0 - 45 * DAY_MS),
                          events["archive-hired:" + hired])
            status = t.run("status")
            self.assertEqual(status.returncode, EX_OK, output_of(status))
            self.assertRegex(status.stdout, r"\n  skipped +6\n")
            # the auditors' report counts them too, per kind
            report = t.run_export("--format", "html")
            self.assertEqual(report.returncode, EX_OK, report.stderr)
            section = report.stdout.split('<section id="actions">', 1)[1].split("</section>", 1)[0]
            self.assertIn('data-col="skipped">Skipped (before go-live)</th>', section)
            skipped_by_kind = {}
            for row in re.findall(r"<tr>(.*?)</tr>", section, re.S):
                cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
                if cells:
                    skipped_by_kind[cells[0]] = cells[-1]
            self.assertEqual(skipped_by_kind, {"cq.create_request": "0", "lever.add_link": "2", "lever.add_note": "2",
                                               "mail.followup": "1", "lever.archive_hired": "1"})
        finally:
            t.__exit__(None, None, None)

    def test_hire_and_archive_dated_before_go_live_are_not_written_back(self):
        """The same rule for the hire (Lever to Crosschq) and the cancel on archive: Lever
        records these archives as made before go-live (archivedAt), so neither is sent."""
        go_live = T0 - 7 * DAY_MS
        s = Tenant(go_live)
        stages = [("New applicant", T0 - 20 * DAY_MS), (TRIGGER, T0 - 2 * DAY_MS)]
        hired, withdrew = s.candidate(stages)["id"], s.candidate(stages)["id"]
        t = s.start(dedupe=False)
        try:
            self.run_at(t, T0)
            made = {c["body"]["candidate"]["email"]: c["request_id"]
                    for c in t.crosschq.state()["creates"]}
            r_hired = made[s.opportunity(hired)["emails"][0]]
            r_withdrew = made[s.opportunity(withdrew)["emails"][0]]
            archived_at = T0 - 8 * DAY_MS
            self.at(t, T0 + MINUTE_MS)
            t.lever.mutate([
                {"op": "set", "id": hired, "fields": {"archived": {
                    "reason": s.b.reason_id("Hired"), "archivedAt": archived_at}}},
                {"op": "set", "id": withdrew, "fields": {"archived": {
                    "reason": s.b.reason_id("Withdrew"), "archivedAt": archived_at}}}])
            t.crosschq.reset_log()
            for minutes in (1, 2):
                self.run_at(t, T0 + minutes * MINUTE_MS)
            self.assertEqual([(e["method"], e["path"]) for e in t.crosschq.log()
                              if e["method"] not in ("GET", "OPTIONS")], [])
            self.assertEqual(self.outbox(t, r_hired, hired),
                             {"hired:" + r_hired: ("skipped", False)})
            self.assertEqual(self.outbox(t, r_withdrew, withdrew),
                             {"cancel:" + r_withdrew: ("skipped", False)})
            events = self.events(t, "action.skipped")
            self.assertEqual(sorted(events), sorted(["hired:" + r_hired, "cancel:" + r_withdrew]))
            self.assertIn("hired in Lever at %s, before go-live %s" % (iso(archived_at),
                                                                       iso(go_live)),
                          events["hired:" + r_hired])
            self.assertIn("archived in Lever at %s, before go-live %s" % (iso(archived_at),
                                                                          iso(go_live)),
                          events["cancel:" + r_withdrew])
        finally:
            t.__exit__(None, None, None)

    def test_reinstall_sends_nothing_twice(self):
        """(b) Run to completion (request, link, note, prompt), delete the database, run again
        against the same tenant with the same trigger_since: Crosschq hands back the same
        request, and nothing is posted or mailed a second time."""
        go_live = T0 - DAY_MS
        s = Tenant(go_live)
        opp = s.candidate([("New applicant", T0 - 20 * DAY_MS), (TRIGGER, T0 - HOUR_MS)])
        t = s.start(dedupe=True)
        try:
            t1, t2 = T0 + HOUR_MS, T0 + HOUR_MS + 15 * DAY_MS
            self.run_at(t, T0)
            (create,) = t.crosschq.state()["creates"]
            rid = create["request_id"]
            self.at(t, t1)
            t.crosschq.mutate([{"op": "complete", "id": rid, "at": t1}])
            self.run_at(t, t1)
            self.run_at(t, t2)
            first = t.lever.log()
            self.assertEqual(len(posts(first, "/addLinks")), 1)
            self.assertEqual(len(posts(first, "/notes")), 1)
            self.assertEqual(len(t.mail_envelopes()), 1)

            # the reinstall: a fresh database, the same tenant, the same go-live
            database = t.conf["sync"]["database"]
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(database + suffix):
                    os.remove(database + suffix)
            t.lever.reset_log()
            t3 = t2 + HOUR_MS
            for minutes in (0, 1, 2):
                self.run_at(t, t3 + minutes * MINUTE_MS)
            creates = t.crosschq.state()["creates"]
            self.assertEqual([(c["request_id"], c.get("deduplicated")) for c in creates],
                             [(rid, None), (rid, True)])
            log = t.lever.log()
            self.assertEqual(posts(log, "/addLinks"), [])
            self.assertEqual(posts(log, "/notes"), [])
            self.assertEqual(len(t.mail_envelopes()), 1)
            lever = t.lever.state()
            self.assertEqual(len(lever["notes"][opp["id"]]), 1)
            (mine,) = [o for o in lever["opportunities"] if o["id"] == opp["id"]]
            self.assertEqual(mine["links"].count("https://app.crosschq.com/report/%s/" % rid), 1)
            self.assertEqual(self.outbox(t, rid, opp["id"]),
                             {"link:" + rid: ("done", True), "note:" + rid: ("done", True),
                              "prompt:" + rid: ("skipped", False)})
            found = self.events(t, "action.found")
            self.assertEqual(sorted(found), ["link:" + rid, "note:" + rid])
            for key, detail in found.items():
                self.assertIn("found on Lever, not posted", detail, key)
            skipped = self.events(t, "action.skipped")
            self.assertEqual(sorted(skipped), ["prompt:" + rid])
            self.assertIn("cannot be looked up", skipped["prompt:" + rid])
            # of this database's actions only the Crosschq create was carried out
            self.assertEqual(sorted(self.events(t, "action.done")),
                             ["lever:%s:%d" % (opp["id"], T0 - HOUR_MS)])

            # a second reinstall without trigger_since: go-live is its first run, after the
            # entry, so nothing at all is started or written back
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(database + suffix):
                    os.remove(database + suffix)
            t.write_conf({"sync": {"trigger_since": ""}})
            t.lever.reset_log()
            t4 = t3 + DAY_MS
            for minutes in (0, 1):
                self.run_at(t, t4 + minutes * MINUTE_MS)
            self.assertEqual(len(t.crosschq.state()["creates"]), 2)
            self.assertEqual([e for e in t.lever.log() if e["method"] != "GET"], [])
            self.assertEqual(len(t.mail_envelopes()), 1)
            self.assertEqual(self.rows(t, "SELECT key, state FROM outbox"), [])
        finally:
            t.__exit__(None, None, None)

    def test_completed_after_go_live_gets_each_once(self):
        """(c) A request completed after go-live: exactly one link, one note, one email; each
        post comes after exactly one look-up (the opportunity's links, its notes)."""
        s = Tenant(T0 - DAY_MS)
        opp = s.candidate([("New applicant", T0 - 20 * DAY_MS), (TRIGGER, T0 - HOUR_MS)])["id"]
        t = s.start(dedupe=False)
        try:
            t1, t2 = T0 + HOUR_MS, T0 + HOUR_MS + 15 * DAY_MS
            self.run_at(t, T0)
            (create,) = t.crosschq.state()["creates"]
            rid = create["request_id"]
            url = "https://app.crosschq.com/report/%s/" % rid
            self.at(t, t1)
            t.crosschq.mutate([{"op": "complete", "id": rid, "at": t1}])
            t.lever.reset_log()
            self.run_at(t, t1)
            base = "/v1/opportunities/" + opp
            log = [e for e in t.lever.log() if e["path"] == base
                   or e["path"].startswith(base + "/")]
            calls = [(e["method"], e["path"]) for e in log]
            self.assertEqual(calls, [("GET", base), ("POST", base + "/addLinks"),
                                     ("GET", base + "/notes"), ("POST", base + "/notes")])
            self.assertEqual(log[1]["body"], {"links": [url]})
            self.run_at(t, t2)
            self.run_at(t, t2 + MINUTE_MS)
            lever = t.lever.state()
            (note,) = lever["notes"][opp]
            self.assertIn(url, note["fields"][0]["value"])
            (mine,) = [o for o in lever["opportunities"] if o["id"] == opp]
            self.assertEqual(mine["links"], [url])
            log = t.lever.log()
            self.assertEqual((len(posts(log, "/addLinks")), len(posts(log, "/notes"))), (1, 1))
            (mail,) = t.mails()
            self.assertEqual(mail["To"].addresses[0].addr_spec, "ana.souza@example.com")
            self.assertEqual(self.outbox(t, rid, opp),
                             {"link:" + rid: ("done", False), "note:" + rid: ("done", False),
                              "prompt:" + rid: ("done", False)})
            self.assertEqual(self.events(t, "action.found"), {})
            self.assertEqual(self.events(t, "action.skipped"), {})
        finally:
            t.__exit__(None, None, None)


class LeverFakeNotesTest(unittest.TestCase):
    """The Lever fake lists notes with exactly the fields docs/lever-api.md names."""

    def test_notes_are_listed_in_the_documented_shape(self):
        b = TenantBuilder(seed=3, base_ms=T0)
        owner = b.add_user("Ana Souza", "ana.souza@example.com")
        opp = b.add_opportunity("Zoë Müller", "zoe@example.org", stages=[(TRIGGER, T0)],
                                owner=owner)
        with harness.Tenant(b, now_ms=T0) as t:
            t.lever.clock(T0)
            path = "/opportunities/%s/notes" % opp["id"]
            made = t.lever.api("POST", path, {"perform_as": owner},
                               body={"value": "Report: https://x/1", "notifyFollowers": True})
            self.assertEqual(made.status, 201, made.body)
            (note,) = t.lever.api("GET", path).json()["data"]
            self.assertEqual(set(note), {"id", "text", "fields", "user", "secret", "createdAt",
                                         "completedAt", "deletedAt"})
            self.assertEqual((note["id"], note["fields"][0]["value"], note["user"]),
                             (made.json()["data"]["noteId"], "Report: https://x/1", owner))
            self.assertIs(t.lever.state()["notes"][opp["id"]][0]["notifyFollowers"], True)


if __name__ == "__main__":
    unittest.main()
