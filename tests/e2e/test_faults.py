"""Fault suite (issue 9): a stalled server, a locked database, a Lever outage.

Each fault ends in a clear message and the documented exit code, loses
nothing, and a later run completes the work. SIMULATED: Lever and Crosschq
are the loopback fakes of tests/fakes, whose fault switches inject the
stalls and 503s; the database lock is a real SQLite write transaction held
by this test.
"""
import sqlite3
import time
import unittest

import harness

EX_OK, EX_TEMPFAIL = 0, 75


class FaultTest(unittest.TestCase):

    def test_stalled_transfers_are_abandoned_and_retried(self):
        with harness.Tenant() as t:
            t.write_conf({"sync": {"http_stall_seconds": "1", "trigger_since": "2026-11-01T00:00:00Z"}})
            # half of the answers of three Lever listings stall 20 s mid-body (only
            # GETs: a stalled POST would rightly leave its action in doubt)
            t.lever.faults({"seed": 1, "rate_stall": 0.5, "stall_ms": 20000,
                            "only_paths": ["/v1/stages"]})
            started = time.monotonic()
            result = t.run("run", timeout=200)
            took = time.monotonic() - started
            stalls = [e for e in t.lever.log() if e["fault"] == "stall"]
            self.assertGreater(len(stalls), 0)
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            self.assertIn("timed out (no data for 1 s", result.stderr)
            # each stalled transfer was abandoned after about a second, never waited out
            self.assertLess(took, 20 * len(stalls))
            t.lever.faults({})
            # the same content as a run without stalls: every opportunity of the fake is stored
            stored = {r[0] for r in t.db().execute("SELECT id FROM lever_opportunities")}
            self.assertEqual(stored, {o["id"] for o in t.lever.state()["opportunities"]})
            self.assertEqual(t.run("run").returncode, EX_OK)

    def test_database_locked_by_another_writer_waits_then_75(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            other = sqlite3.connect(t.path("state", "refsync.db"), isolation_level=None, timeout=1)
            other.execute("BEGIN IMMEDIATE")
            try:
                started = time.monotonic()
                result = t.run("run", timeout=60)
                took = time.monotonic() - started
            finally:
                other.execute("ROLLBACK")
                other.close()
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            self.assertIn("locked", result.stderr)
            self.assertGreaterEqual(took, 9.0)  # waited for the other writer (busy timeout 10 s)
            # the next run, with the database free, works normally
            self.assertEqual(t.run("run").returncode, EX_OK)
            runs = [tuple(r) for r in t.db().execute("SELECT command, exit_code FROM runs ORDER BY id")]
            self.assertEqual(runs[-1], ("run", EX_OK))

    def test_lever_outage_ends_75_then_the_next_run_catches_up(self):
        with harness.Tenant() as t:
            t.write_conf({"sync": {"trigger_since": "2026-11-01T00:00:00Z"}})
            t.lever.faults({"seed": 1, "rate_503": 1.0, "retry_after": "0"})
            result = t.run("run")
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            # a new install's first run reads the listings and the stages at once: the
            # first to fail is named
            self.assertRegex(result.stderr, r"error: Lever GET /(stages|opportunities): HTTP 503")
            self.assertIn("will retry at the next run", result.stderr)
            self.assertEqual([e for e in t.crosschq.log() if e["method"] == "POST"], [])
            t.lever.faults({})
            self.assertEqual(t.run("run").returncode, EX_OK)
            # every trigger sent once, after the outage: Crosschq stores no id of ours, so
            # the creates are matched to outbox keys through the outbox's result (the
            # request id) and cq_requests.external_id
            creates = t.crosschq.state()["creates"]
            posts = [e for e in t.crosschq.log() if e["method"] == "POST"]
            self.assertGreater(len(creates), 0)
            self.assertEqual([(e["path"], e["status"]) for e in posts],
                             [("/partners/reference-request/", 201)] * len(creates))
            db = t.db()
            try:
                done = dict(db.execute("SELECT result, key FROM outbox WHERE kind = "
                                       "'cq.create_request' AND state = 'done'").fetchall())
                linked = dict(db.execute("SELECT id, external_id FROM cq_requests "
                                         "WHERE external_id IS NOT NULL").fetchall())
            finally:
                db.close()
            made = [c["request_id"] for c in creates]
            self.assertEqual(sorted(done), sorted(made))
            self.assertEqual(linked, done)
            self.assertEqual(len(set(done.values())), len(made), "one create per outbox key")
            self.assertTrue(all(k.startswith("lever:") for k in done.values()), done)
            self.assertEqual(len({(c["body"]["candidate"]["email"].lower(),
                                   c["body"]["job_position"]) for c in creates}), len(creates))

if __name__ == "__main__":
    unittest.main()
