"""End-to-end: issue 16, defects 1, 2, 3, 4, 5 and 10 (privacy and secrets).

Each test plays the defect's story against the fakes, on the clocks of test_writeback.py
(Scenario: T0 first run, T1 requests complete, T2 prompts due), and asserts the exact outcome.
Crosschq follows crosschq-api.md (issue 15): the first run makes each candidate's request
(Scenario.learn finds them), request states reach refsync through Crosschq's webhooks
(Scenario.deliver, before each run), and the section-2 capabilities the story uses are on in
the fake (Scenario.tenant). A hire goes to Crosschq as PATCH {"hired": true|false}; where and
when refsync saw it is refsync's own record (cq_requests.hired_source, hired_at).

* an erased candidate (deleted, anonymized) with actions in doubt, failed and planned: no
  crash, nothing sent for it, every other action sent, `retry` refuses its actions;
* an exported prospect's personal data goes with the Lever opportunity it became;
* "not hired" answered, then hired in Lever: the hire reaches Crosschq; hired in Lever, then
  a stale "not hired" click: the hire stays;
* a 1,500-byte report URL whose note POST loses its answer: one note, the URL whole;
* a prospect whose email differs only in case (and an in-doubt create): no duplicate;
* no answer_url: only the prompts wait (parked, in status), `check` names it;
* a run that crashes with SIGSEGV leaves no core dump holding an API key.

Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 -m unittest tests/e2e/test_hardening.py -v
"""

import glob
import json
import os
import resource
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_writeback as wb  # noqa: E402
from test_writeback import HOUR_MS, MINUTE_MS, T0, T1, T2, Scenario, request_path  # noqa: E402

EX_OK = 0
EX_USAGE = 64
EX_CONFIG = 78
EX_TEMPFAIL = 75


def answer(t, link, choice, at):
    """POST the owner's answer (hired / not_hired) through refsync-hook at `at`."""
    query = urllib.parse.urlsplit(link).query
    params = urllib.parse.parse_qs(query)
    form = {"r": params["r"][0], "e": params["e"][0], "s": params["s"][0], "answer": choice}
    body = urllib.parse.urlencode(form).encode("ascii")
    t.now_ms = at
    return t.run_hook(env={"REQUEST_METHOD": "POST", "PATH_INFO": "/answer", "QUERY_STRING": query,
                           "CONTENT_TYPE": "application/x-www-form-urlencoded"}, body=body)


def hire_records(t):
    """{request id: (hired, hired_source, hired_at)} of refsync's record of hires."""
    db = t.db()
    try:
        return {r[0]: tuple(r[1:]) for r in db.execute(
            "SELECT id, hired, hired_source, hired_at FROM cq_requests "
            "WHERE hired IS NOT NULL")}
    finally:
        db.close()


def hire_patches(t):
    """[(path, body)] of the PATCHes Crosschq accepted, in order."""
    return [(e["path"], e["body"]) for e in t.crosschq.log()
            if e["method"] == "PATCH" and wb.is_2xx(e)]


def lever_writes_to(t, opportunity_id, since=0):
    prefix = "/v1/opportunities/%s" % opportunity_id
    return [(e["method"], e["path"]) for e in wb.writes(t.lever.log()[since:])
            if e["path"].startswith(prefix)]


class ErasureTest(wb.WritebackCase):
    """Defects 1 and 10 (first half)."""

    def rows(self, t):
        db = t.db()
        try:
            return {r["key"]: dict(r) for r in db.execute(
                "SELECT key, kind, state, payload, last_error FROM outbox")}
        finally:
            db.close()

    def test_deleted_and_anonymized_candidates_with_unfinished_actions(self):
        s = Scenario({"prompted": 3}, prospects=0, prospects_known=0, seed=1601)
        t = s.tenant()
        try:
            self.run_ok(t)
            s.learn(t)
            creates_done = len(t.crosschq.log())
            # the first request (by id) is the first one acted on: its note is lost in doubt
            deleted, anonymized, other = sorted(s.candidates, key=lambda c: c.request)
            s.enter(t, T1)
            s.apply_events(t)
            s.deliver(t)
            notes_path = "/v1/opportunities/%s/notes" % deleted.opp
            # the note's POST (not the look-up before it) loses its answer
            t.lever.faults({"rate_reset": 1.0, "reset_phase": "after", "only_paths": [notes_path],
                            "only_methods": ["POST"]})
            self.run_ok(t, expect=EX_TEMPFAIL)
            t.lever.faults({})
            rows = self.rows(t)
            self.assertEqual(rows["note:%s" % deleted.request]["state"], "sending")
            self.assertEqual(rows["link:%s" % anonymized.request]["state"], "planned")
            # Lever refused the second candidate's note for good (as a 4xx would)
            db = t.db()
            try:
                with db:
                    db.execute("UPDATE outbox SET state = 'failed', last_error = 'HTTP 422' "
                               "WHERE key = ?", ("note:%s" % anonymized.request,))
            finally:
                db.close()

            # one candidate is deleted, the other anonymized in Lever
            s.enter(t, T1 + MINUTE_MS)
            t.lever.mutate([{"op": "delete", "id": deleted.opp},
                            {"op": "anonymize", "id": anonymized.opp}])
            mark = len(t.lever.log())
            s.deliver(t)
            result = self.run_ok(t)
            self.assertNotIn("AddressSanitizer", result.stderr)
            with self.subTest("nothing sent for the erased candidates"):
                self.assertEqual(lever_writes_to(t, deleted.opp, mark), [])
                self.assertEqual(lever_writes_to(t, anonymized.opp, mark), [])
                # nothing but the first run's creates, ever
                self.assertEqual(wb.writes(t.crosschq.log()[creates_done:]), [])
            with self.subTest("every other action sent"):
                self.assertEqual(sorted(lever_writes_to(t, other.opp, mark)),
                                 [("POST", "/v1/opportunities/%s/addLinks" % other.opp),
                                  ("POST", "/v1/opportunities/%s/notes" % other.opp)])
            rows = self.rows(t)
            erased_keys = ["link:%s" % anonymized.request, "note:%s" % anonymized.request,
                           "note:%s" % deleted.request]
            with self.subTest("erased rows: failed 'not sent', ids kept, no personal data"):
                for key in erased_keys:
                    row = rows[key]
                    self.assertEqual(row["state"], "failed", row)
                    self.assertTrue(row["last_error"].startswith("not sent"), row)
                    payload = json.loads(row["payload"])
                    self.assertIs(payload["erased"], True)
                    self.assertIn(payload["opportunity_id"], (deleted.opp, anonymized.opp))
                    self.assertNotIn("url", payload)
                done = rows["link:%s" % deleted.request]
                self.assertEqual(done["state"], "done")
                self.assertEqual(json.loads(done["payload"]),
                                 {"opportunity_id": deleted.opp, "request_id": deleted.request,
                                  "erased": True})
                self.assertEqual([rows["link:%s" % other.request]["state"],
                                  rows["note:%s" % other.request]["state"]], ["done", "done"])
            with self.subTest("each settled row is audited"):
                db = t.db()
                try:
                    audited = [r[0] for r in db.execute(
                        "SELECT detail FROM audit_events WHERE kind = 'action.failed' "
                        "AND detail LIKE '%not sent%'")]
                finally:
                    db.close()
                self.assertEqual(sorted(d.split()[1].rstrip(":") for d in audited),
                                 sorted("key=" + k for k in erased_keys))

            # retry refuses them; the next runs send nothing and do not crash
            retry = t.run("retry", "--failed")
            self.assertEqual(retry.returncode, EX_OK, wb.output_of(retry))
            self.assertIn("0 actions put back", retry.stdout)
            retry = t.run("retry", "note:%s" % deleted.request)
            self.assertEqual(retry.returncode, EX_USAGE, wb.output_of(retry))
            self.assertIn("not retried", retry.stderr)
            before = self.snapshot(t)
            s.enter(t, T1 + 2 * MINUTE_MS)
            s.deliver(t)
            self.run_ok(t)
            self.assertEqual(self.snapshot(t), before)
            self.assertEqual({k: self.rows(t)[k]["state"] for k in erased_keys},
                             {k: "failed" for k in erased_keys})
            status = json.loads(self.run_ok(t, "status", "--json").stdout)
            self.assertEqual(sorted(f["key"] for f in status["failed"]), sorted(erased_keys))
            self.assertSound(t)
        finally:
            t.__exit__(None, None, None)

    def test_damaged_payload_fails_its_row_only(self):
        # a stored action without the ids it needs (damaged, or written by another
        # version): that row fails with a clear message, in doubt or planned, and
        # every other action is still sent
        s = Scenario({"prompted": 3}, prospects=0, prospects_known=0, seed=1608)
        t = s.tenant()
        try:
            self.run_ok(t)
            s.learn(t)
            damaged, in_doubt, other = sorted(s.candidates, key=lambda c: c.request)
            s.enter(t, T1)
            s.apply_events(t)
            s.deliver(t)
            # decide only: every action planned, nothing sent
            self.run_ok(t, expect=wb.SIGKILLED, env={"REFSYNC_TEST_CRASH_AT": "after-decide"})
            db = t.db()
            try:
                with db:
                    db.execute("UPDATE outbox SET payload = json_remove(payload, '$.opportunity_id') "
                               "WHERE key = ?", ("link:%s" % damaged.request,))
                    db.execute("UPDATE outbox SET state = 'sending', "
                               "payload = json_remove(payload, '$.request_id') WHERE key = ?",
                               ("note:%s" % in_doubt.request,))
            finally:
                db.close()
            mark = len(t.lever.log())
            result = self.run_ok(t, expect=1)
            self.assertNotIn("AddressSanitizer", result.stderr)
            rows = {r["key"]: r for r in self.outbox(t)}
            self.assertEqual(rows["link:%s" % damaged.request]["state"], "failed")
            self.assertIn("has no 'opportunity_id'", rows["link:%s" % damaged.request]["last_error"])
            self.assertEqual(rows["note:%s" % in_doubt.request]["state"], "failed")
            self.assertIn("has no 'request_id'", rows["note:%s" % in_doubt.request]["last_error"])
            self.assertEqual({k: r["state"] for k, r in rows.items()
                              if k not in ("link:%s" % damaged.request,
                                           "note:%s" % in_doubt.request)},
                             {damaged.key: "done", in_doubt.key: "done", other.key: "done",
                              "note:%s" % damaged.request: "done",
                              "link:%s" % in_doubt.request: "done",
                              "link:%s" % other.request: "done",
                              "note:%s" % other.request: "done"})
            self.assertEqual(sorted(lever_writes_to(t, other.opp, mark)),
                             [("POST", "/v1/opportunities/%s/addLinks" % other.opp),
                              ("POST", "/v1/opportunities/%s/notes" % other.opp)])
        finally:
            t.__exit__(None, None, None)

    def test_exported_prospect_erased_with_its_opportunity(self):
        s = Scenario({"still_open": 1}, prospects=1, prospects_known=0, seed=1602)
        [prospect] = s.prospects
        t = s.tenant()
        try:
            self.run_ok(t)
            rows = self.rows(t)
            created = next(r for r in self.outbox(t) if r["key"] == "prospect:%s" % prospect["id"])
            opp = created["result"]
            self.assertTrue(opp)
            self.assertIn(prospect["email"], rows["prospect:%s" % prospect["id"]]["payload"])
            s.enter(t, T1)
            t.lever.mutate([{"op": "delete", "id": opp}])
            self.run_ok(t)
            self.run_ok(t)    # the prospect is pulled again from Crosschq: still erased
            db = t.db()
            try:
                stored = dict(db.execute(
                    "SELECT first_name, last_name, email, phone, job_title, tags FROM cq_prospects "
                    "WHERE id = ?", (prospect["id"],)).fetchone())
                payloads = [r[0] for r in db.execute(
                    "SELECT payload FROM outbox WHERE subject = ?", ("prospect:" + prospect["id"],))]
            finally:
                db.close()
            self.assertEqual(stored, {"first_name": None, "last_name": None, "email": None,
                                      "phone": None, "job_title": None, "tags": None})
            self.assertEqual(len(payloads), 2)
            for text in payloads:
                payload = json.loads(text)
                self.assertIs(payload["erased"], True)
                for value in (prospect["email"], prospect["first_name"], prospect["last_name"]):
                    self.assertNotIn(value, text)
            self.assertSound(t)
        finally:
            t.__exit__(None, None, None)


class HireFactTest(wb.WritebackCase):
    """Defect 2: the latest fact wins; "not hired" never undoes a hire Lever shows."""

    def test_not_hired_answer_then_lever_hire_and_stale_click_after_hire(self):
        s = Scenario({"prompted": 2}, prospects=0, prospects_known=0, seed=1603)
        answered_first, hired_first = s.candidates
        t = s.tenant()
        try:
            s.play(t, lambda index, phase: self.run_ok(t))
            links = {m[3]: m[2] for m in wb.prompt_mails(t)}
            self.assertEqual(sorted(links), sorted(c.request for c in s.candidates))

            # candidate 1: the owner answers "not hired" ...
            result = answer(t, links[answered_first.request], "not_hired", T2 + HOUR_MS)
            self.assertEqual(result.status, 200, result)
            # candidate 2: hired in Lever first
            s.enter(t, T2 + 2 * HOUR_MS)
            t.lever.mutate([{"op": "archive", "id": hired_first.opp, "reason": wb.HIRED}])
            s.deliver(t)
            self.run_ok(t)
            # what refsync records of the answer (Crosschq is told only "hired": false)
            self.assertEqual(hire_records(t)[answered_first.request], (0, "owner_answer", None))
            # ... then hired in Lever after all; and a stale "not hired" click for candidate 2
            s.enter(t, T2 + 3 * HOUR_MS)
            t.lever.mutate([{"op": "archive", "id": answered_first.opp, "reason": wb.HIRED}])
            result = answer(t, links[hired_first.request], "not_hired", T2 + 3 * HOUR_MS)
            self.assertEqual(result.status, 200, result)
            # Crosschq's webhooks of the PATCHes (the hired field shows false, then true)
            # come back too: neither undoes a hire
            for hours in (4, 5):
                s.enter(t, T2 + hours * HOUR_MS)
                s.deliver(t)
                self.run_ok(t)

            patches = {}
            for path, body in hire_patches(t):
                patches.setdefault(path, []).append(body)
            self.assertEqual(patches, {
                request_path(answered_first.request): [{"hired": False}, {"hired": True}],
                request_path(hired_first.request): [{"hired": True}]})
            requests = {r["id"]: r for r in t.crosschq.state()["requests"]}
            for c in s.candidates:
                self.assertIs(requests[c.request]["hired"], True, c.request)
            # the latest fact, refsync's record: hired, seen in Lever, at the archive's time
            self.assertEqual(hire_records(t), {
                answered_first.request: (1, "ats", T2 + 3 * HOUR_MS),
                hired_first.request: (1, "ats", T2 + 2 * HOUR_MS)})
        finally:
            t.__exit__(None, None, None)


class LongReportUrlTest(wb.WritebackCase):
    """Defect 3: a 1,500-byte report URL, its note's answer lost: one note, the URL whole."""

    def test_long_report_url_with_lost_note_answer_one_note(self):
        s = Scenario({"prompted": 1}, prospects=0, prospects_known=0, seed=1604)
        [c] = s.candidates
        notes_path = "/v1/opportunities/%s/notes" % c.opp
        t = s.tenant()
        try:
            self.run_ok(t)
            s.learn(t)
            url = "https://app.crosschq.com/report/%s?view=full&token=" % c.request
            url += "x" * (1500 - len(url))
            self.assertEqual(len(url), 1500)
            s.enter(t, T1)
            t.crosschq.mutate([{"op": "complete", "id": c.request, "at": T1, "report_url": url}])
            # the create's webhook and the completion's, with the long URL
            self.assertEqual(s.deliver(t), 2)
            # the note's POST (not the look-up before it) loses its answer
            t.lever.faults({"rate_reset": 1.0, "reset_phase": "after", "only_paths": [notes_path],
                            "only_methods": ["POST"]})
            self.run_ok(t, expect=EX_TEMPFAIL)
            t.lever.faults({})
            for minutes in (1, 2):
                s.enter(t, T1 + minutes * MINUTE_MS)
                s.deliver(t)
                self.run_ok(t)
            posts = [e for e in t.lever.log() if e["method"] == "POST" and e["path"] == notes_path]
            self.assertEqual(len(posts), 1, [e["status"] for e in posts])
            notes = t.lever.state()["notes"][c.opp]
            self.assertEqual(len(notes), 1)
            self.assertIn(url, notes[0]["fields"][0]["value"])
            opp = next(o for o in t.lever.state()["opportunities"] if o["id"] == c.opp)
            self.assertEqual(opp["links"], [url])
            db = t.db()
            try:
                stored = db.execute("SELECT report_url FROM cq_requests WHERE id = ?",
                                    (c.request,)).fetchone()[0]
            finally:
                db.close()
            self.assertEqual(stored, url)
            self.assertEqual(sorted((r["key"], r["state"]) for r in self.outbox(t)),
                             sorted([(c.key, "done"), ("link:" + c.request, "done"),
                                     ("note:" + c.request, "done")]))
        finally:
            t.__exit__(None, None, None)


class EmailCaseTest(wb.WritebackCase):
    """Defect 4: canonical emails (trimmed, lowercased) for searching and comparing."""

    def test_prospect_email_in_other_case_is_not_duplicated(self):
        s = Scenario({"still_open": 1}, prospects=2, prospects_known=1, seed=1605)
        known, new = s.prospects
        [c] = s.candidates
        known["email"] = "  " + c.email.upper() + " "
        new["email"] = "New.Person@Example.NET"
        t = s.tenant()
        try:
            # the create of the new prospect's opportunity loses its answer: in doubt
            t.lever.faults({"rate_reset": 1.0, "reset_phase": "after",
                            "only_paths": ["/v1/opportunities"], "only_methods": ["POST"]})
            first = t.run("run")
            t.lever.faults({})
            self.assertIn(first.returncode, (EX_OK, EX_TEMPFAIL), wb.output_of(first))
            for minutes in (1, 2):
                s.enter(t, T0 + minutes * MINUTE_MS)
                self.run_ok(t)
            creates = [e for e in t.lever.log() if e["method"] == "POST"
                       and e["path"] == "/v1/opportunities"]
            self.assertEqual([e["body"]["emails"] for e in creates], [["new.person@example.net"]])
            lever = t.lever.state()["opportunities"]
            self.assertEqual(len([o for o in lever if c.email in o["emails"]]), 1)
            self.assertEqual(len([o for o in lever if "new.person@example.net" in o["emails"]]), 1)
            created = next(o["id"] for o in lever if "new.person@example.net" in o["emails"])
            ats = {p["id"]: p["ats_id"] for p in t.crosschq.state()["prospects"]}
            self.assertEqual(ats, {known["id"]: c.opp, new["id"]: created})
            self.assertEqual([r for r in self.outbox(t) if r["state"] != "done"], [])
        finally:
            t.__exit__(None, None, None)


class ParkTest(wb.WritebackCase):
    """Defect 5: a follow-up misconfiguration parks the prompts only."""

    def test_missing_answer_url_parks_only_prompts(self):
        s = Scenario({"prompted": 1, "still_open": 1}, prospects=0, prospects_known=0, seed=1606)
        prompted, later = s.candidates
        t = s.tenant({"followup": {"answer_url": None}})
        try:
            check = t.run("check")
            self.assertEqual(check.returncode, EX_CONFIG, wb.output_of(check))
            self.assertIn("answer_url", check.stdout + check.stderr)
            self.assertNotIn("\n0 problems", "\n" + check.stdout)
            self.run_ok(t)
            s.learn(t)
            s.enter(t, T1)
            s.apply_events(t)
            s.deliver(t)
            self.run_ok(t)
            s.enter(t, T2)
            result = self.run_ok(t, expect=EX_CONFIG)
            self.assertIn("parked", result.stderr)
            # later, another candidate is hired in Lever: that goes out despite the prompt
            s.enter(t, T2 + HOUR_MS)
            t.lever.mutate([{"op": "archive", "id": later.opp, "reason": wb.HIRED}])
            self.run_ok(t, expect=EX_CONFIG)
            self.assertEqual(hire_patches(t), [(request_path(later.request), {"hired": True})])
            self.assertEqual(hire_records(t), {later.request: (1, "ats", T2 + HOUR_MS)})
            self.assertEqual(t.mail_envelopes(), [])
            rows = {r["key"]: r for r in self.outbox(t)}
            self.assertEqual(rows["prompt:%s" % prompted.request]["state"], "planned")
            status = self.run_ok(t, "status")
            self.assertIn("Parked", status.stdout)
            self.assertIn("mail.followup", status.stdout)
            self.assertIn("answer_url", status.stdout)
            # fixed: the prompt goes out, the run ends 0, status says nothing is parked
            t.write_conf({"followup": {"answer_url":
                                       "http://127.0.0.1/cgi-bin/refsync-hook/answer"}})
            s.enter(t, T2 + 2 * HOUR_MS)
            s.deliver(t)
            self.run_ok(t)
            self.assertEqual([m[3] for m in wb.prompt_mails(t)], [prompted.request])
            self.assertNotIn("Parked", self.run_ok(t, "status").stdout)
            self.assertEqual(json.loads(self.run_ok(t, "status", "--json").stdout)["parked"], [])
        finally:
            t.__exit__(None, None, None)


class ParkSecretTest(wb.WritebackCase):
    """Defect 5: an unreadable answer secret parks the prompts only."""

    def test_unreadable_answer_secret_parks_only_prompts(self):
        s = Scenario({"prompted": 1, "still_open": 1}, prospects=0, prospects_known=0, seed=1609)
        prompted, later = s.candidates
        t = s.tenant()
        try:
            secret = t.conf["followup"]["answer_secret_file"]
            self.run_ok(t)
            s.learn(t)
            s.enter(t, T1)
            s.apply_events(t)
            s.deliver(t)
            self.run_ok(t)
            os.chmod(secret, 0o644)      # refused: readable by others
            s.enter(t, T2)
            first = self.run_ok(t, expect=EX_CONFIG)
            # the prompt waits; a hire in Lever after it still goes out
            s.enter(t, T2 + MINUTE_MS)
            t.lever.mutate([{"op": "archive", "id": later.opp, "reason": wb.HIRED}])
            self.run_ok(t, expect=EX_CONFIG)
            self.assertEqual(hire_patches(t), [(request_path(later.request), {"hired": True})])
            self.assertEqual(hire_records(t), {later.request: (1, "ats", T2 + MINUTE_MS)})
            self.assertIn("1 mail.followup action parked", first.stderr)
            self.assertEqual(t.mail_envelopes(), [])
            check = t.run("check")
            self.assertEqual(check.returncode, EX_CONFIG, wb.output_of(check))
            self.assertIn("answer.secret", check.stdout + check.stderr)
            os.chmod(secret, 0o600)
            s.enter(t, T2 + HOUR_MS)
            s.deliver(t)
            self.run_ok(t)
            self.assertEqual([m[3] for m in wb.prompt_mails(t)], [prompted.request])
        finally:
            t.__exit__(None, None, None)


class CoreDumpTest(wb.WritebackCase):
    """Defect 10 (second half): a crashing run's core dump holds no key."""

    def test_crashing_run_leaves_no_core_with_the_key(self):
        s = Scenario({"still_open": 1}, prospects=0, prospects_known=0, seed=1607)
        t = s.tenant()
        try:
            workdir = t.path("crash")
            os.makedirs(workdir)
            # every Lever answer is slow: the run waits inside a call, its keys loaded
            t.lever.faults({"delay_ms": 3000})
            env = t.env({"ASAN_OPTIONS": "handle_segv=0:disable_coredump=0:use_madv_dontdump=1"
                                         ":detect_leaks=0",
                         "UBSAN_OPTIONS": "handle_segv=0"})

            def unlimited_core():
                resource.setrlimit(resource.RLIMIT_CORE,
                                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            proc = subprocess.Popen([harness.binary("refsync"), "-c", t.conf_path, "run"],
                                    cwd=workdir, env=env, preexec_fn=unlimited_core,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
            with open("/proc/%d/status" % proc.pid) as handle:
                self.assertIn("State:", handle.read())
            os.kill(proc.pid, signal.SIGSEGV)
            self.assertEqual(proc.wait(timeout=120), -signal.SIGSEGV)
            t.lever.faults({})
            keys = [t.secrets["lever.key"].encode(), t.secrets["crosschq.key"].encode()]
            cores = glob.glob(os.path.join(workdir, "core*"))
            for core in cores:
                with open(core, "rb") as handle:
                    data = handle.read()
                for key in keys:
                    self.assertFalse(key in data, "an API key in %s (%d bytes)" % (core, len(data)))
            self.assertEqual(cores, [], "a core dump was written")
        finally:
            t.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
