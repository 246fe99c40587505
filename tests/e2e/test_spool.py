"""End-to-end: the webhook spool between refsync-hook and refsync (issue 16, items 9 and 14).

Replays must be refused for the whole window refsync-hook accepts a delivery in
([lever] webhook_max_age_hours, up to 720 hours), including the envelope of a signed test
delivery; files that killed hook processes leave in spool/tmp/ are removed and shown; a
damaged file in spool/new/ never blocks the valid redelivery of its event.

Binary: $REFSYNC_BIN_DIR/refsync{,-hook} when set, else sync/.
Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 tests/e2e/run.py test_spool
"""

import hashlib
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import DAY_MS, TenantBuilder  # noqa: E402

HOUR_MS = 3600 * 1000
EX_OK = 0


def now_ms():
    return int(time.time() * 1000)


def webhook_name(token, route="stage-change"):
    """The spool name refsync-hook gives a delivery (one name per token)."""
    return "wh-%s-%s.json" % (route, hashlib.sha256(token.encode()).hexdigest()[:32])


def one_candidate():
    """A tenant with one opportunity the webhooks can name."""
    b = TenantBuilder(seed=16, base_ms=now_ms() - 40 * DAY_MS)
    owner = b.add_user("Ana Souza", "ana.souza@example.com", access_role="super admin")
    posting = b.add_posting("Backend Engineer", ["engineering"], owner, owner)
    opp = b.add_opportunity("Grace Hopper", "grace@example.org", posting,
                            [("New applicant", now_ms() - 30 * DAY_MS)], owner=owner,
                            created=now_ms() - 31 * DAY_MS)
    return b, opp["id"]


class SpoolCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        seed, self.opp = one_candidate()
        self.t = harness.Tenant(seed)
        self.t.__enter__()
        self.addCleanup(self.t.__exit__, None, None, None)

    def run_ok(self, *args):
        result = self.t.run(*(args or ("run",)))
        self.assertEqual(result.returncode, EX_OK, "exit %s\n%s\n%s" % (
            result.returncode, result.stdout, result.stderr[-3000:]))
        return result

    def post(self, body, route="stage-change"):
        result = self.t.run_hook(env={"PATH_INFO": "/lever/" + route}, body=body)
        self.assertIsNotNone(result.status, result)
        return result

    def listing(self, sub):
        d = self.t.path("spool", sub)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def fetches_of(self, opp):
        """GET requests of the Lever fake for one opportunity (a webhook's effect)."""
        return [e for e in self.t.lever.log()
                if e["method"] == "GET" and e["path"] == "/v1/opportunities/%s" % opp]

    def age(self, sub, name, ms):
        path = self.t.path("spool", sub, name)
        os.utime(path, (ms / 1000.0, ms / 1000.0))


class ReplayWindowTest(SpoolCase):
    """Item 9: done/ (the replay memory) lives as long as the window, test deliveries too."""

    def test_replay_past_the_prune_age_is_refused(self):
        self.t.write_conf({"lever": {"webhook_max_age_hours": 720}})
        self.run_ok()
        triggered = now_ms() - 16 * DAY_MS         # within 720 hours
        body = self.t.webhook("candidateStageChange", {"opportunityId": self.opp},
                              token="a" * 48, triggered_at=triggered)
        result = self.post(body)
        self.assertEqual(result.status, 200, result)
        name = webhook_name("a" * 48)
        self.assertEqual(self.listing("new"), [name])
        self.run_ok()                                # taken in: new/ -> done/
        self.assertEqual(self.listing("new"), [])
        self.assertEqual(len(self.fetches_of(self.opp)), 1)
        # received 15 days ago: older than the 14 days done/ used to be kept
        self.age("done", name, now_ms() - 15 * DAY_MS)
        self.run_ok()
        self.assertIn(name, self.listing("done"))
        # the same delivery again, still inside webhook_max_age_hours
        result = self.post(body)
        self.assertEqual(result.status, 200, result)
        self.assertIn(b"already", result.body)
        self.assertEqual(self.listing("new"), [])
        self.run_ok()
        self.assertEqual(len(self.fetches_of(self.opp)), 1, "the replay was taken in")

    def test_done_is_pruned_after_the_window(self):
        self.t.write_conf({"lever": {"webhook_max_age_hours": 48}})
        os.makedirs(self.t.path("spool", "done"), exist_ok=True)
        for name, age_days in (("wh-stage-change-old.json", 15), ("wh-stage-change-kept.json", 13)):
            with open(self.t.path("spool", "done", name), "w") as f:
                f.write("{}\n")
            self.age("done", name, now_ms() - age_days * DAY_MS)
        self.run_ok()
        self.assertEqual(self.listing("done"), ["wh-stage-change-kept.json"])

    def test_test_delivery_envelope_replayed_with_data_is_refused(self):
        self.run_ok()
        triggered = now_ms() - 2000
        for route, event in (("stage-change", "candidateStageChange"), ("hired", "candidateHired")):
            with self.subTest(route=route):
                token = (route[0] * 48)
                test = self.t.webhook(event, {}, kind=route, token=token, triggered_at=triggered)
                result = self.post(test, route)
                self.assertEqual(result.status, 200, result)
                self.assertIn(b"test delivery", result.body)
                self.assertEqual(self.listing("new"), [])
                # the same token, triggeredAt and signature (they do not cover data),
                # now with an opportunity
                doc = json.loads(test)
                doc["data"] = {"opportunityId": self.opp, "toStageId": "stage-x"}
                result = self.post(json.dumps(doc).encode(), route)
                self.assertEqual(result.status, 200, result)
                self.assertIn(b"already", result.body)
                self.assertEqual(self.listing("new"), [])
                # Lever sending its test delivery again is still fine
                result = self.post(test, route)
                self.assertEqual(result.status, 200, result)
                self.assertIn(webhook_name(token, route), self.listing("done"))
        self.run_ok()
        self.assertEqual(self.fetches_of(self.opp), [])


class SpoolLeaksTest(SpoolCase):
    """Item 14: tmp/ leftovers are removed and shown; a damaged file is set aside."""

    def test_stale_tmp_files_are_removed_and_shown(self):
        self.run_ok()
        os.makedirs(self.t.path("spool", "tmp"), exist_ok=True)
        stale = ["wh-stage-change-%032d.json.%d" % (i, 4000 + i) for i in range(3)]
        fresh = "answer-%032d.json.5000" % 7
        for name in stale + [fresh]:
            with open(self.t.path("spool", "tmp", name), "w") as f:
                f.write('{"type":"web')            # cut short by the kill
        for name in stale:
            self.age("tmp", name, now_ms() - 2 * HOUR_MS)
        status = self.t.run("status")
        self.assertEqual(status.returncode, EX_OK, status.stderr)
        self.assertIn("4 unfinished file(s) in tmp/", status.stdout)
        doc = json.loads(self.t.run("status", "--json").stdout)
        self.assertEqual(doc["spool_unfinished"], 4)
        self.run_ok()
        self.assertEqual(self.listing("tmp"), [fresh])
        status = self.t.run("status")
        self.assertIn("1 unfinished file(s) in tmp/", status.stdout)

    def test_damaged_file_does_not_block_the_redelivery(self):
        self.run_ok()
        token = "d" * 48
        name = webhook_name(token)
        os.makedirs(self.t.path("spool", "new"), exist_ok=True)
        with open(self.t.path("spool", "new", name), "w") as f:
            f.write('{"type":"webhook","event":"candidateStageChange","opport')  # torn
        self.run_ok()
        self.assertEqual(self.listing("new"), [])
        self.assertEqual(self.listing("done"), [name + ".rejected"])
        doc = json.loads(self.t.run("status", "--json").stdout)
        self.assertEqual(doc["spool_rejected"], 1)
        self.assertEqual(self.fetches_of(self.opp), [])
        # Lever delivers the event (again): it must be queued and taken in
        body = self.t.webhook("candidateStageChange", {"opportunityId": self.opp},
                              token=token, triggered_at=now_ms() - 1000)
        result = self.post(body)
        self.assertEqual(result.status, 200, result)
        self.assertIn(b"accepted", result.body)
        self.assertEqual(self.listing("new"), [name])
        self.run_ok()
        self.assertEqual(self.listing("new"), [])
        self.assertEqual(self.listing("done"), [name, name + ".rejected"])
        self.assertEqual(len(self.fetches_of(self.opp)), 1)


if __name__ == "__main__":
    unittest.main()
