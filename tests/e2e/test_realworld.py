"""Lever as it really behaves (issue 16, items 6, 7, 8, 11, 12 and the Lever behaviours of
lever-api.md sections 2, 4, 6, 8 that the fakes did not show before).

SIMULATED: Lever and Crosschq are the loopback fakes of tests/fakes; the Lever fake's
/_fake/options switch on 301 redirects, 403s, offset errors on other statuses and the
postings filter rule. Database corruption is real: pages of the test database file are
overwritten.
"""
import json
import os
import sqlite3
import time
import unittest

import harness
from harness import gen_tenant

EX_OK, EX_SOFTWARE, EX_TEMPFAIL, EX_CONFIG = 0, 70, 75, 78
MINUTE_MS = 60 * 1000


def opp_by_name(t, name):
    return next(o for o in t.lever.state()["opportunities"] if o["name"] == name)


def lever_options(t, options):
    return t.lever._control("POST", "options", options)


def deliver(t, opportunity_id, kind="stage-change"):
    """A signed Lever webhook through refsync-hook; it lands in spool/new/."""
    event = "candidateStageChange" if kind == "stage-change" else "candidateHired"
    data = {"opportunityId": opportunity_id, "candidateId": opportunity_id}
    if kind == "stage-change":
        data.update({"toStageId": "x", "fromStageId": "y"})
    result = t.run_hook({"PATH_INFO": "/lever/" + kind}, t.webhook(event, data, kind=kind))
    assert result.status == 200, result


def linked_request(t, name):
    """Move the candidate into Reference Check and let refsync start its Crosschq request
    (Crosschq keeps no id of ours: only requests refsync made are linked to Lever); returns
    that request as the Crosschq fake shows it."""
    opp = opp_by_name(t, name)
    t.lever.mutate([{"op": "move_stage", "id": opp["id"], "stage_id": "Reference Check"}])
    result = t.run("run")
    assert result.returncode == EX_OK, result.stderr
    db = t.db()
    try:
        row = db.execute("SELECT id FROM cq_requests WHERE opportunity_id = ?", (opp["id"],)).fetchone()
    finally:
        db.close()
    assert row, "no request for %s" % name
    return next(r for r in t.crosschq.state()["requests"] if r["id"] == row[0])


def spooled(t, sub):
    d = t.path("spool", sub)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def status_json(t):
    result = t.run("status", "--json")
    assert result.returncode == EX_OK, result.stderr
    return json.loads(result.stdout)


class WebhookHintTest(unittest.TestCase):
    """Item 6: a webhook Lever answers badly never jams the connector."""

    def test_webhooks_lever_refuses_are_retried_then_set_aside_and_the_run_goes_on(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            secret = opp_by_name(t, "Olúwaseun Okafor")     # confidential posting
            self.assertEqual(secret["confidentiality"], "confidential")
            down = opp_by_name(t, "Noah Smith")
            moved = opp_by_name(t, "Grace Lee")
            # 403 for the confidential one, 503 (no Retry-After) for another
            lever_options(t, {"no_confidential_access": True})
            t.lever.faults({"rate_503": 1.0, "only_paths": ["/v1/opportunities/" + down["id"]]})
            deliver(t, secret["id"])
            deliver(t, down["id"])
            # and a change the run must still act on
            t.lever.mutate([{"op": "move_stage", "id": moved["id"], "stage_id": "Reference Check"}])
            started = time.monotonic()
            result = t.run("run")
            took = time.monotonic() - started
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            self.assertLess(took, 30, "a bad webhook is not retried for a minute within a run")
            self.assertIn("HTTP 403", result.stderr)
            self.assertIn("HTTP 503", result.stderr)
            posts = [e for e in t.crosschq.log() if e["method"] == "POST"]
            self.assertEqual([p["body"]["candidate"]["email"] for p in posts], moved["emails"][:1])
            # kept for a later retry, shown in status
            self.assertEqual(len(spooled(t, "new")), 2)
            hooks = status_json(t)["webhooks"]
            self.assertEqual(sorted((h["opportunity_id"], h["state"], h["attempts"]) for h in hooks),
                             sorted([(secret["id"], "retrying", 1), (down["id"], "retrying", 1)]))
            self.assertTrue(all(h["error"] for h in hooks))
            # a run before the backoff is over does not ask again
            mark = len(t.lever.log())
            self.assertEqual(t.run("run").returncode, EX_OK)
            asked = [e["path"] for e in t.lever.log()[mark:] if e["path"].startswith(
                "/v1/opportunities/") and e["path"] != "/v1/opportunities/deleted"]
            self.assertEqual(asked, [])
            # later runs retry with backoff, then set them aside for good
            now = int(time.time() * 1000)
            for day in range(1, 8):
                t.now_ms = now + day * 24 * 3600 * 1000
                self.assertEqual(t.run("run").returncode, EX_OK)
            self.assertEqual(spooled(t, "new"), [])
            hooks = status_json(t)["webhooks"]
            self.assertEqual(sorted((h["opportunity_id"], h["state"]) for h in hooks),
                             sorted([(secret["id"], "set aside"), (down["id"], "set aside")]))
            text = t.run("status").stdout
            self.assertIn("set aside", text)
            self.assertIn(down["id"], text)
            # once Lever answers again, a new webhook for it is taken in normally
            t.lever.faults({})
            t.now_ms = None
            deliver(t, down["id"])
            self.assertEqual(t.run("run").returncode, EX_OK)
            self.assertEqual(spooled(t, "new"), [])

    def test_malformed_answer_and_redirect_elsewhere_are_hints_too(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            broken = opp_by_name(t, "Noah Smith")
            away = opp_by_name(t, "Mia Rossi")
            t.lever.faults({"rate_malformed": 1.0,
                            "only_paths": ["/v1/opportunities/" + broken["id"]]})
            lever_options(t, {"redirect": {"location": t.crosschq.url,
                                           "only_paths": ["/v1/opportunities/" + away["id"]]}})
            deliver(t, broken["id"])
            deliver(t, away["id"])
            result = t.run("run")
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            states = {h["opportunity_id"]: h["state"] for h in status_json(t)["webhooks"]}
            self.assertEqual(states, {broken["id"]: "retrying", away["id"]: "retrying"})


class ClockSkewTest(unittest.TestCase):
    """Item 7: the host 10 minutes ahead of Lever loses no stage change."""

    def test_ten_minute_skew(self):
        with harness.Tenant() as t:
            lever_now = int(time.time() * 1000) // 1000 * 1000
            t.lever.clock(lever_now)
            t.now_ms = lever_now + 10 * MINUTE_MS
            self.assertEqual(t.run("run").returncode, EX_OK)
            grace = opp_by_name(t, "Grace Lee")
            at = lever_now + 1 * MINUTE_MS
            t.lever.mutate([{"op": "move_stage", "id": grace["id"], "stage_id": "Offer", "at": at}])
            t.lever.clock(lever_now + 2 * MINUTE_MS)
            t.now_ms = lever_now + 12 * MINUTE_MS
            self.assertEqual(t.run("run").returncode, EX_OK)
            offer = next(s["id"] for s in t.lever.state()["stages"] if s["text"] == "Offer")
            db = t.db()
            row = db.execute("SELECT stage_id, updated_at FROM lever_opportunities WHERE id = ?",
                             (grace["id"],)).fetchone()
            self.assertEqual(tuple(row), (offer, at))


    def test_quiet_run_after_a_burst_lists_it_once(self):
        # the window ends at Lever's clock (its Date), not at the newest change: a burst of
        # changes is listed by the run after it, not again by every quiet run that follows
        seed = gen_tenant.generate(300, seed=7, postings=10)
        with harness.Tenant(seed) as t:
            lever_now = int(time.time() * 1000) // 1000 * 1000
            t.lever.clock(lever_now)
            t.now_ms = lever_now
            self.assertEqual(t.run("run").returncode, EX_OK)
            ids = [o["id"] for o in t.lever.state()["opportunities"]][:250]
            t.lever.clock(lever_now + MINUTE_MS)
            t.lever.mutate([{"op": "set", "id": i, "fields": {"headline": "burst"}} for i in ids])
            t.lever.clock(lever_now + 2 * MINUTE_MS)
            t.now_ms = lever_now + 2 * MINUTE_MS
            self.assertEqual(t.run("run").returncode, EX_OK)
            pages = lambda: [e for e in t.lever.log()                          # noqa: E731
                             if e["path"] == "/v1/opportunities" and e["method"] == "GET"]
            self.assertGreaterEqual(len(pages()), 3)       # the burst: 250 opportunities
            # the first quiet run re-reads the overlap (overlap_minutes before the last end, as
            # updates are not strictly ordered); the ones after it read one empty page
            for hour in (1, 2, 3):
                t.lever.reset_log()
                t.lever.clock(lever_now + hour * 60 * MINUTE_MS)
                t.now_ms = lever_now + hour * 60 * MINUTE_MS
                self.assertEqual(t.run("run").returncode, EX_OK)
                if hour > 1:
                    self.assertEqual(len(pages()), 1, "quiet run %d lists the burst again" % hour)


class RedirectTest(unittest.TestCase):
    """Item 8: Lever's documented 301 is followed on the same origin only."""

    def test_same_origin_301_is_followed_for_reads_and_writes(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            request = linked_request(t, "Nguyễn Thị Lan")
            t.crosschq.mutate([{"op": "complete", "id": request["id"]}])
            t.deliver_crosschq_webhooks()
            t.lever.reset_log()
            moved = "http://127.0.0.1:%d/moved" % t.lever.port
            lever_options(t, {"redirect": {"location": moved, "only_paths": ["/v1/"]}})
            result = t.run("run")
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            log = t.lever.log()
            self.assertTrue(any(e["status"] == 301 for e in log))
            writes = [(e["method"], e["path"], e["status"]) for e in log if e["method"] != "GET"]
            # the completed request: its link and its note, both through the new location
            self.assertEqual(sorted(w[0] for w in writes if w[2] // 100 == 2), ["POST", "POST"])
            self.assertTrue(all(w[1].startswith("/moved/v1/") for w in writes if w[2] // 100 == 2))
            self.assertEqual(t.run("run").returncode, EX_OK)

    def test_cross_origin_301_is_refused_and_sends_no_credentials(self):
        with harness.Tenant() as t:
            lever_options(t, {"redirect": {"location": t.crosschq.url,
                                           "only_paths": ["/v1/stages"]}})
            result = t.run("run")
            self.assertEqual(result.returncode, EX_CONFIG, result.stderr)
            self.assertIn("redirected to another origin", result.stderr)
            self.assertIn("not followed", result.stderr)
            # nothing reached the other origin
            self.assertEqual([e for e in t.crosschq.log() if e["path"].startswith("/v1/")], [])


class RetryAfterTest(unittest.TestCase):
    """Item 12: absurd Retry-After values and the wait budget of one run."""

    def test_absurd_retry_after_date_is_bounded(self):
        with harness.Tenant() as t:
            # (int64_t)t * 1000 overflowed for this date: UBSan ended the run
            t.lever.faults({"rate_503": 1.0, "only_paths": ["/v1/stages"],
                            "retry_after": "Fri, 31 Dec 2147483647 23:59:59 GMT"})
            started = time.monotonic()
            result = t.run("run")
            self.assertLess(time.monotonic() - started, 30)
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            self.assertNotIn("runtime error", result.stderr)
            self.assertIn("Lever GET /stages: HTTP 503", result.stderr)
            self.assertIn("asked to wait 86400 s", result.stderr)
            self.assertEqual(len([e for e in t.lever.log() if e["path"] == "/v1/stages"]), 1)

    def test_total_wait_on_one_remote_is_bounded(self):
        with harness.Tenant() as t:
            t.write_conf({"sync": {"remote_wait_seconds": "3"}})
            t.lever.faults({"rate_503": 1.0, "only_paths": ["/v1/stages"], "retry_after": "2"})
            started = time.monotonic()
            result = t.run("run")
            took = time.monotonic() - started
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            self.assertIn("would exceed the 3 s this run may wait on Lever "
                          "([sync] remote_wait_seconds)", result.stderr)
            self.assertLess(took, 10)
            self.assertEqual(len([e for e in t.lever.log() if e["path"] == "/v1/stages"]), 2)


class LeverBehaviourTest(unittest.TestCase):
    """lever-api.md sections 2, 4, 6, 8."""

    def test_offset_error_on_another_status_restarts_the_listing(self):
        seed = gen_tenant.generate(250, seed=5, confidential=0.3, archived=0.1, hired=0.03,
                                   null_updated=0.05, legacy_archived=0.03, postings=20)
        with harness.Tenant(seed) as t:
            # postings (1 page), then the first opportunity page of the sequential listing
            # (--full: a new install's first run is partitioned): killed with a token stored
            crashed = t.run("run", "--full", env={"REFSYNC_TEST_CRASH_AT": "after-page:2"})
            self.assertNotEqual(crashed.returncode, EX_OK)
            token = t.db().execute("SELECT token FROM cursors WHERE name = "
                                   "'lever.opportunities.full'").fetchone()[0]
            self.assertTrue(token)
            lever_options(t, {"offset_error_status": 422})
            t.lever.faults({"invalid_offset_once": True})
            result = t.run("run", "--full")
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            self.assertIn("refused the stored offset token", result.stderr)
            stored = {r[0] for r in t.db().execute("SELECT id FROM lever_opportunities")}
            self.assertEqual(stored, {o["id"] for o in t.lever.state()["opportunities"]})
            self.assertEqual(t.run("run").returncode, EX_OK)

    def test_postings_updated_filter_goes_alone(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            mark = len(t.lever.log())
            result = t.run("run")
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            postings = [e for e in t.lever.log()[mark:] if e["path"] == "/v1/postings"]
            self.assertEqual([sorted(e["query"]) for e in postings],
                             [["confidentiality", "updated_at_start"]])

    def test_postings_fall_back_to_a_full_list_once(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            lever_options(t, {"refuse_postings_updated": True})
            t.lever.mutate([{"op": "set_posting", "id": t.lever.state()["postings"][0]["id"],
                             "fields": {"text": "Renamed posting"}}])
            mark = len(t.lever.log())
            result = t.run("run")
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            postings = [(e["status"], "updated_at_start" in e["query"])
                        for e in t.lever.log()[mark:] if e["path"] == "/v1/postings"]
            self.assertEqual(postings, [(400, True), (200, False)])
            self.assertEqual(t.db().execute("SELECT count(*) FROM lever_postings WHERE text = ?",
                                            ("Renamed posting",)).fetchone()[0], 1)

    def test_403_on_one_endpoint_is_not_a_refused_key(self):
        with harness.Tenant() as t:
            lever_options(t, {"forbidden_paths": ["/v1/postings"]})
            result = t.run("run")
            self.assertEqual(result.returncode, EX_CONFIG, result.stderr)
            self.assertNotIn("the API key was refused", result.stderr)
            self.assertIn("Lever GET /postings: HTTP 403", result.stderr)
            self.assertIn("no permission for this endpoint", result.stderr)
            check = t.run("check")
            self.assertNotEqual(check.returncode, EX_OK)
            self.assertIn("no permission for this endpoint", check.stdout + check.stderr)
            self.assertNotIn("the API key was refused", check.stdout + check.stderr)

    def test_401_is_still_a_refused_key(self):
        with harness.Tenant() as t:
            harness.write_secret(t.path("secrets", "lever.key"), "wrong-key")
            result = t.run("run")
            self.assertEqual(result.returncode, EX_CONFIG, result.stderr)
            self.assertIn("the API key was refused", result.stderr)

    def test_archive_answer_does_not_wipe_the_stored_opportunity(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            lan = opp_by_name(t, "Nguyễn Thị Lan")
            query = "SELECT owner_id, posting_id, stage_id, url FROM lever_opportunities WHERE id = ?"
            request = linked_request(t, "Nguyễn Thị Lan")
            before = tuple(t.db().execute(query, (lan["id"],)).fetchone())
            self.assertTrue(all(before), before)
            # Crosschq shows hires only with the (assumed) hired_field capability
            t.crosschq.capabilities(hired_field=True)
            t.crosschq.mutate([{"op": "hire", "id": request["id"]}])
            t.deliver_crosschq_webhooks()
            result = t.run("run")
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            puts = [e for e in t.lever.log() if e["method"] == "PUT"]
            self.assertEqual([(e["path"], e["status"]) for e in puts],
                             [("/v1/opportunities/%s/archived" % lan["id"], 200)])
            hired = next(r["id"] for r in t.lever.state()["archive_reasons"] if r["text"] == "Hired")
            db = t.db()
            self.assertEqual(tuple(db.execute(query, (lan["id"],)).fetchone()), before)
            self.assertEqual(db.execute("SELECT archive_reason_id FROM lever_opportunities "
                                        "WHERE id = ?", (lan["id"],)).fetchone()[0], hired)

    def test_confidential_deletion_is_erased(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            secret = opp_by_name(t, "Olúwaseun Okafor")
            self.assertEqual(secret["confidentiality"], "confidential")
            t.lever.mutate([{"op": "delete", "id": secret["id"]}])
            self.assertEqual(t.run("run").returncode, EX_OK)
            row = t.db().execute("SELECT name, email, deleted_at FROM lever_opportunities "
                                 "WHERE id = ?", (secret["id"],)).fetchone()
            self.assertIsNone(row[0])
            self.assertIsNone(row[1])
            self.assertIsNotNone(row[2])
            deleted = [e for e in t.lever.log() if e["path"] == "/v1/opportunities/deleted"]
            self.assertTrue(all(e["query"].get("confidentiality") == ["all"] for e in deleted))


def corrupt_table(path, table):
    """Overwrite the root page of `table` in the database file with garbage."""
    db = sqlite3.connect(path)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(bytes((i * 37 + 11) % 256 for i in range(page_size)))


class CorruptionTest(unittest.TestCase):
    """Item 11: a corrupted database is named as such, exits 70, never 'will retry'."""

    def test_corrupted_stages_table(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            corrupt_table(t.conf["sync"]["database"], "lever_stages")
            result = t.run("run")
            self.assertEqual(result.returncode, EX_SOFTWARE, result.stderr)
            self.assertNotIn("will retry", result.stderr)
            self.assertNotIn("not an error", result.stderr)
            self.assertIn("malformed", result.stderr)
            self.assertIn("lever_stages", result.stderr)   # the statement is named

    def inject(self, t, sql):
        db = sqlite3.connect(t.conf["sync"]["database"])
        db.execute(sql)
        db.commit()
        db.close()

    def test_failed_commit_of_the_run_record_is_not_exit_0(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            self.inject(t, "CREATE TRIGGER no_end BEFORE UPDATE OF ended_at ON runs "
                           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
            result = t.run("run")
            self.assertEqual(result.returncode, EX_SOFTWARE, result.stderr)
            self.assertIn("cannot record the end of run", result.stderr)
            self.assertIn("UPDATE runs SET ended_at", result.stderr)
            self.assertIn("injected failure", result.stderr)

    def test_database_error_while_deciding_is_said(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            request = linked_request(t, "Nguyễn Thị Lan")
            t.crosschq.mutate([{"op": "complete", "id": request["id"]}])
            t.deliver_crosschq_webhooks()
            self.inject(t, "CREATE TRIGGER no_plan BEFORE INSERT ON outbox "
                           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
            result = t.run("run")
            self.assertEqual(result.returncode, EX_SOFTWARE, result.stderr)
            self.assertIn("database error while deciding: 'INSERT", result.stderr)
            self.assertIn("injected failure", result.stderr)
            self.assertNotIn("not an error", result.stderr)

    def test_status_check_verify_and_exports_refuse_a_corrupt_database(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            corrupt_table(t.conf["sync"]["database"], "lever_stages")
            for args in (("status",), ("status", "--json")):
                result = t.run(*args)
                self.assertEqual(result.returncode, EX_SOFTWARE, (args, result.stderr))
                self.assertIn("corrupt", result.stderr)
            check = t.run("check")
            self.assertNotEqual(check.returncode, EX_OK)
            self.assertIn("corrupt", check.stdout + check.stderr)
            for args in (("--verify",), ("--format", "csv"), ("--format", "xml")):
                result = t.run_export(*args)
                self.assertEqual(result.returncode, EX_SOFTWARE, (args, result.stderr))
                self.assertIn("corrupt", result.stderr)


if __name__ == "__main__":
    unittest.main()
