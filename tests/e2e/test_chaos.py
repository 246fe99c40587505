"""End-to-end chaos: issue 4's whole story with refsync killed at random moments (SIGKILL).

"The same with SIGKILL at random moments and reruns: not one effect twice." The scenario,
its phases and the exact effect counts are those of test_writeback.py (Scenario,
assertEffects); here every phase is interrupted before it is allowed to finish:

* at the named crash points (REFSYNC_TEST_CRASH_AT=after-page|after-decide|before-send|
  after-send, each as "<point>:N" with N drawn by a seeded random within what the run has
  to do), CRASHES_PER_PHASE times per phase, then rerun until exit 0;
* by os.kill(SIGKILL) of a running `refsync run` after a seeded random delay, KILLS times in
  all (REFSYNC_CHAOS_KILLS overrides; 100 is fine by hand), then rerun until exit 0. When the
  story ends with kills left, it is played again on a fresh tenant.

The only effect that may repeat is a prompt that a kill left in doubt ("sending" in the
outbox): it is sent again with the same Message-ID (design.md, "State"); it may arrive once
more per such kill. Everything else must happen exactly once.

Crosschq creates (crosschq-api.md section 3): Crosschq does not de-duplicate a create, so a
kill between "sending" and the record of the answer leaves the create in doubt, and refsync
never sends it again by itself. Before every rerun the test hands Crosschq's pending
webhooks to refsync-hook (the evidence); a create in doubt whose request exists in Crosschq
must then be adopted by the next run (never a second POST for that key); one whose request
does not exist (killed before the POST reached Crosschq) is settled as the operator would,
with `refsync resolve KEY --not-sent` after looking in Crosschq (here: the fake's accepted
creates). The "no duplicate" check counts the fake's accepted creates per outbox key.

Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 -m unittest tests/e2e/test_chaos.py -v
"""

import collections
import json
import os
import random
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_writeback as wb  # noqa: E402

KILLS = int(os.environ.get("REFSYNC_CHAOS_KILLS", "10"))
CHAOS_SEED = 20261102
CRASHES_PER_PHASE = 3         # runs per phase that die at the crash point before a clean one
MAX_RUNS_PER_PHASE = 30       # reruns before a phase is declared stuck
MAX_KILLS_PER_PHASE = 15      # SIGKILLs before a phase is let finish
MAX_ROUNDS = 40               # fresh tenants the random kills may use up
# a kill lands after a delay drawn from [0, KILL_WINDOW_S]; a run of the story takes
# 0.05-0.25 s (1 s for the phase that sends the prompts) with the ASan build on 2 cores
KILL_WINDOW_S = 0.4
# listings committed per run with an after-page point (Lever's postings, opportunities,
# deleted; Crosschq's prospect pages and request reads have none): the range of N for
# after-page:N
PAGES_PER_RUN = 3
DECIDES_PER_RUN = 2           # decide runs at most twice per run (two rounds)


class ChaosCase(wb.WritebackCase):

    def setUp(self):
        # creates a kill left in doubt: {outbox key: request id (adopted) or None (not sent)}
        self.doubtful_creates = {}

    def has_outbox(self, t):
        """The database exists and has its tables (a kill may land before the migrations)."""
        if not os.path.exists(t.conf["sync"]["database"]):
            return False
        db = t.db()
        try:
            return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                              "name = 'outbox'").fetchone() is not None
        finally:
            db.close()

    def settle(self, s, t):
        """Before a rerun: deliver Crosschq's webhooks; an in-doubt create without a request
        in Crosschq is resolved --not-sent (what an operator who looked would do)."""
        s.deliver(t)
        if not self.has_outbox(t):
            return
        db = t.db()
        try:
            rows = db.execute("SELECT key, payload FROM outbox WHERE state = 'sending' AND "
                              "kind = 'cq.create_request' ORDER BY id").fetchall()
        finally:
            db.close()
        if not rows:
            return
        made = collections.defaultdict(list)
        for create in t.crosschq.state()["creates"]:
            made[create["body"]["candidate"]["email"].lower()].append(create["request_id"])
        for key, payload in rows:
            email = json.loads(payload)["candidate"]["email"].lower()
            found = made.get(email, [])
            self.assertLessEqual(len(found), 1, "duplicate creates for %s: %s" % (key, found))
            if found:
                # the webhook just delivered is the evidence: the next run adopts it
                self.doubtful_creates[key] = found[0]
            else:
                self.doubtful_creates[key] = None
                result = t.run("resolve", key, "--not-sent")
                self.assertEqual(result.returncode, wb.EX_OK, wb.output_of(result))

    def assertDoubtfulCreates(self, t):
        """Every create in doubt was adopted (the request Crosschq had) or sent once after
        --not-sent; never posted twice."""
        links = self.create_links(t)
        creates = collections.Counter(c["body"]["candidate"]["email"].lower()
                                      for c in t.crosschq.state()["creates"])
        for key, request_id in self.doubtful_creates.items():
            result, linked = links[key]
            self.assertEqual(result, linked, key)
            if request_id is not None:
                self.assertEqual(result, request_id, "%s: adopted, not sent again" % key)
        self.assertEqual([e for e, n in creates.items() if n != 1], [], "duplicate creates")

    def pending(self, t):
        """Outbox rows still to be sent or resolved."""
        return len([r for r in self.outbox(t) if r["state"] in ("planned", "sending")])

    def note_kill(self, t, mail_in_doubt):
        """After a SIGKILL: count the prompts it left in doubt (they may be sent twice)."""
        if not self.has_outbox(t):
            return                       # killed before it created the database
        for row in self.outbox(t):
            if row["state"] == "sending" and row["key"].startswith("prompt:"):
                mail_in_doubt[row["key"].split(":", 1)[1]] += 1

    def finish(self, s, t, what):
        """Rerun without interruptions until exit 0."""
        for _ in range(MAX_RUNS_PER_PHASE):
            self.settle(s, t)
            result = t.run("run")
            if result.returncode == wb.EX_OK:
                return
            self.assertEqual(result.returncode, wb.SIGKILLED, what + "\n" + wb.output_of(result))
        self.fail("%s: no clean run after %d reruns" % (what, MAX_RUNS_PER_PHASE))

    def assertEffectsAfter(self, s, t, mail_in_doubt, history):
        """assertEffects, each failure naming the kills (phase, how, exit) that came before."""
        self.assertEffects(s, t, mail_in_doubt, kills=history)
        with self.subTest("creates in doubt", kills=history, doubtful=self.doubtful_creates):
            self.assertDoubtfulCreates(t)
        with self.subTest("integrity", kills=history):
            self.assertSound(t)


class CrashPointTest(ChaosCase):

    def crash_bound(self, point, t, first, actions):
        """The largest useful N for point:N in the next run."""
        if point == "after-page":
            return PAGES_PER_RUN
        if point == "after-decide":
            return DECIDES_PER_RUN
        return max(1, actions if first else self.pending(t))

    def check_point(self, point):
        rng = random.Random("%d:%s" % (CHAOS_SEED, point))
        s = wb.Scenario(seed=CHAOS_SEED % 1000)
        t = s.tenant()
        mail_in_doubt = collections.Counter()
        history = []
        try:
            def run_phase(index, phase):
                name, _, _, actions = phase
                for attempt in range(CRASHES_PER_PHASE):
                    crash = "%s:%d" % (point, rng.randint(
                        1, self.crash_bound(point, t, attempt == 0, actions)))
                    self.settle(s, t)
                    result = t.run("run", env={"REFSYNC_TEST_CRASH_AT": crash})
                    history.append((name, crash, result.returncode))
                    if attempt == 0 or result.returncode != wb.EX_OK:
                        # the first always has that much to do: it must die there
                        self.assertEqual(result.returncode, wb.SIGKILLED,
                                         "%s, %s\n%s" % (name, crash, wb.output_of(result)))
                        self.assertIn("REFSYNC_TEST_CRASH_AT=%s reached" % crash,
                                      result.stderr)
                        self.note_kill(t, mail_in_doubt)
                    else:
                        return
                self.finish(s, t, "%s after %s" % (name, point))
            s.play(t, run_phase)
            self.assertGreaterEqual(len([h for h in history if h[2] == wb.SIGKILLED]),
                                    len(s.phases()))
            self.assertEffectsAfter(s, t, mail_in_doubt, history)
        finally:
            t.__exit__(None, None, None)

    def test_crash_after_page(self):
        self.check_point("after-page")

    def test_crash_after_decide(self):
        self.check_point("after-decide")

    def test_crash_before_send(self):
        self.check_point("before-send")

    def test_crash_after_send(self):
        self.check_point("after-send")


class RandomKillTest(ChaosCase):

    def test_random_sigkills(self):
        rng = random.Random(CHAOS_SEED)
        budget = KILLS
        delivered = 0
        for round_number in range(MAX_ROUNDS):
            if budget == 0:
                break
            s = wb.Scenario(seed=CHAOS_SEED % 1000 + round_number)
            t = s.tenant()
            mail_in_doubt = collections.Counter()
            history = []
            self.doubtful_creates = {}
            try:
                def run_phase(index, phase):
                    nonlocal budget, delivered
                    name = phase[0]
                    kills = 0
                    while budget > 0 and kills < MAX_KILLS_PER_PHASE:
                        self.settle(s, t)
                        process = subprocess.Popen(
                            [harness.binary("refsync"), "-c", t.conf_path, "run"], env=t.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=t.dir)
                        delay = rng.uniform(0.0, KILL_WINDOW_S)
                        try:
                            _, err = process.communicate(timeout=delay)
                        except subprocess.TimeoutExpired:
                            os.kill(process.pid, signal.SIGKILL)
                            _, err = process.communicate(timeout=60)
                        history.append((name, "%.3f s" % delay, process.returncode))
                        self.assertIn(process.returncode, (wb.EX_OK, wb.SIGKILLED),
                                      err.decode("utf-8", "replace")[-3000:])
                        if process.returncode == wb.EX_OK:
                            return               # it finished before the kill
                        kills += 1
                        budget -= 1
                        delivered += 1
                        self.note_kill(t, mail_in_doubt)
                    self.finish(s, t, "%s after %d kills" % (name, kills))
                s.play(t, run_phase)
                self.assertEffectsAfter(s, t, mail_in_doubt, history)
            finally:
                t.__exit__(None, None, None)
        self.assertEqual(delivered, KILLS, "SIGKILLs that landed in a running refsync")


if __name__ == "__main__":
    unittest.main()
