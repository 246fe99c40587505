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

Beyond that story (issue 16, item 15):

* refsync-hook is SIGKILLed mid-request (webhooks and answers), then the sender retries;
  `refsync run` is killed while it takes the spool in (REFSYNC_TEST_CRASH_AT=after-ingest:N,
  then random SIGKILLs): every delivery is taken in, no answer has an effect twice;
* `refsync run` is killed while it creates Crosschq requests (after-send:N, then random
  SIGKILLs): never two requests for one candidate in Crosschq, and every create is either
  done or left in the outbox in doubt.

A kill may land before the first migration commits: the test then finds no schema, which is
fine. The random choices come from one seed: REFSYNC_CHAOS_SEED when set, else a fresh one;
a failure prints it, and REFSYNC_CHAOS_SEED=<it> replays the same kills.

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
import urllib.parse
import time
import sqlite3
import secrets
import hashlib
import os
import random
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_trigger as tr  # noqa: E402
import test_writeback as wb  # noqa: E402

def chaos_seed():
    """REFSYNC_CHAOS_SEED when set (to replay a failure), else a fresh seed."""
    text = os.environ.get("REFSYNC_CHAOS_SEED", "").strip()
    if text:
        return int(text)
    return secrets.randbelow(2 ** 31 - 1) + 1


KILLS = int(os.environ.get("REFSYNC_CHAOS_KILLS", "10"))
CHAOS_SEED = chaos_seed()
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
INGEST_KILLS = 4              # random SIGKILLs of a run taking the spool in
CREATES = 12                  # Crosschq creates in the create test (paced at 10 per second)
CREATE_KILLS = 5              # random SIGKILLs while they are sent


class ChaosCase(wb.WritebackCase):

    def run(self, result=None):
        """Run the test; a failure or error names the seed that reproduces it."""
        if result is None:
            return super().run(result)
        before = (len(result.failures), len(result.errors))
        out = super().run(result)
        note = "\nreproduce with REFSYNC_CHAOS_SEED=%d\n" % CHAOS_SEED
        for problems, start in ((result.failures, before[0]), (result.errors, before[1])):
            for i in range(start, len(problems)):
                test, trace = problems[i]
                problems[i] = (test, trace + note)
        if (len(result.failures), len(result.errors)) != before:
            sys.stderr.write("chaos: %s failed; REFSYNC_CHAOS_SEED=%d\n" % (self.id(), CHAOS_SEED))
        return out

    def rng(self, *what):
        """A random generator for one part of one test, from the chaos seed."""
        return random.Random(":".join([str(CHAOS_SEED), self.id()] + [str(w) for w in what]))

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
        self.assertEffects(s, t, mail_in_doubt, kills=history, seed=CHAOS_SEED)
        with self.subTest("creates in doubt", kills=history, doubtful=self.doubtful_creates):
            self.assertDoubtfulCreates(t)
        with self.subTest("integrity", kills=history, seed=CHAOS_SEED):
            self.assertSound(t)


    def kill_run(self, t, delay, args=("run",)):
        """Start `refsync args`, SIGKILL it after delay seconds unless it ended; returns
        (exit status, stderr)."""
        process = subprocess.Popen([harness.binary("refsync"), "-c", t.conf_path] + list(args),
                                   env=t.env(), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=t.dir)
        try:
            _, err = process.communicate(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            _, err = process.communicate(timeout=60)
        return process.returncode, err.decode("utf-8", "replace")


class CrashPointTest(ChaosCase):

    def crash_bound(self, point, t, first, actions):
        """The largest useful N for point:N in the next run."""
        if point == "after-page":
            return PAGES_PER_RUN
        if point == "after-decide":
            return DECIDES_PER_RUN
        return max(1, actions if first else self.pending(t))

    def check_point(self, point):
        rng = self.rng(point)
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
        rng = self.rng()
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


def spool_name(prefix, key):
    """The spool name refsync-hook gives a webhook (key: its token) or an answer (its id)."""
    return "%s%s.json" % (prefix, hashlib.sha256(key.encode()).hexdigest()[:32])


class SpoolChaosTest(ChaosCase):
    """Killed hook processes, and a sync killed while it takes webhooks and answers in."""

    def deliveries(self, s, t, rng):
        """[(spool name, CGI env, body)]: an answer for each prompt (hired or not, by rng) and
        a stage-change webhook for each prompted candidate; {request id: hired}."""
        out, answers = [], {}
        for _, _, link, request_id in wb.prompt_mails(t):
            params = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
            hired = rng.random() < 0.5
            answers[request_id] = hired
            form = {"r": params["r"][0], "e": params["e"][0], "s": params["s"][0],
                    "answer": "hired" if hired else "not_hired"}
            out.append((spool_name("answer-", request_id),
                        {"REQUEST_METHOD": "POST", "PATH_INFO": "/answer",
                         "CONTENT_TYPE": "application/x-www-form-urlencoded"},
                        urllib.parse.urlencode(form).encode("ascii")))
        for c in s.prompt_eligible():
            token = "%048x" % rng.getrandbits(192)
            body = t.webhook("candidateStageChange", {"opportunityId": c.opp, "toStageId": "x"},
                             token=token, triggered_at=t.now_ms - 1000)
            out.append((spool_name("wh-stage-change-", token),
                        {"PATH_INFO": "/lever/stage-change"}, body))
        return out, answers

    def spool(self, t, sub):
        d = t.path("spool", sub)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def test_kills_of_the_hook_and_during_ingestion(self):
        rng = self.rng()
        s = wb.Scenario({"prompted": 4}, prospects=0, prospects_known=0,
                        seed=CHAOS_SEED % 1000 + 500)
        t = s.tenant()
        history = []
        try:
            s.play(t, lambda index, phase: self.run_ok(t))
            t.now_ms = wb.T2 + wb.HOUR_MS
            deliveries, answers = self.deliveries(s, t, rng)
            self.assertEqual(len(answers), len(s.prompt_eligible()))

            # every delivery: the first attempt's hook process is SIGKILLed at a random
            # moment of its life (twice what a request refused after its signature check
            # takes, at its quickest of three: the spool write comes after that; the first
            # delivery's at once, so that at least one kill lands however fast the machine
            # runs the hook); the sender (Lever, the owner's browser) then tries again
            forged = t.webhook("candidateStageChange", {"opportunityId": "x"},
                               signing_token="not-the-token")
            took = []
            for _ in range(3):
                started = time.monotonic()
                self.assertEqual(t.run_hook(env={"PATH_INFO": "/lever/stage-change"},
                                            body=forged).status, 401)
                took.append(time.monotonic() - started)
            window = 2 * min(took)
            for index, (name, env, body) in enumerate(deliveries):
                delay = rng.uniform(0.0, window) if index else 0.0
                process = subprocess.Popen([harness.binary("refsync-hook")],
                                           env=t.hook_env(env, body), stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           cwd=t.dir)
                try:
                    process.communicate(input=body, timeout=delay)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.communicate(timeout=30)
                history.append(("hook", name[:12], "%.3f s" % delay, process.returncode))
                self.assertIn(process.returncode, (0, wb.SIGKILLED), history[-1])
                retry = t.run_hook(env=env, body=body)
                self.assertEqual(retry.status, 200, (retry, history))
            self.assertIn(wb.SIGKILLED, [h[3] for h in history], "no kill landed: %s" % history)
            # nothing torn, nothing lost: each delivery queued once, complete
            queued = self.spool(t, "new")
            self.assertEqual(queued, sorted(name for name, _, _ in deliveries), history)
            for name in queued:
                with open(t.path("spool", "new", name), encoding="utf-8") as f:
                    self.assertIn(json.load(f)["type"], ("webhook", "answer"), name)
            # what killed hooks left in tmp/ is removed by a run once it is old enough
            for name in self.spool(t, "tmp"):
                old = time.time() - 2 * 3600
                os.utime(t.path("spool", "tmp", name), (old, old))

            # the sync, killed while it takes the spool in
            s.enter(t, wb.T2 + 2 * wb.HOUR_MS)
            mark_lever, mark_cq = len(t.lever.log()), len(t.crosschq.log())
            for attempt in range(3):
                crash = "after-ingest:%d" % rng.randint(1, len(deliveries))
                result = t.run("run", env={"REFSYNC_TEST_CRASH_AT": crash})
                history.append(("ingest", crash, result.returncode))
                if attempt == 0:
                    self.assertEqual(result.returncode, wb.SIGKILLED, wb.output_of(result))
                    self.assertIn("REFSYNC_TEST_CRASH_AT=%s reached" % crash, result.stderr)
                self.assertIn(result.returncode, (wb.EX_OK, wb.SIGKILLED), wb.output_of(result))
            for _ in range(INGEST_KILLS):
                delay = rng.uniform(0.0, KILL_WINDOW_S)
                code, err = self.kill_run(t, delay)
                history.append(("ingest", "%.3f s" % delay, code))
                self.assertIn(code, (wb.EX_OK, wb.SIGKILLED), err[-3000:])
            self.finish(s, t, "ingestion after kills %s" % history)
            if os.environ.get("REFSYNC_CHAOS_VERBOSE"):
                sys.stderr.write("chaos history: %s\n" % history)

            with self.subTest("spool", kills=history, seed=CHAOS_SEED):
                self.assertEqual(self.spool(t, "new"), [])
                self.assertEqual(self.spool(t, "tmp"), [])
                # (Crosschq's webhooks, cq-*, are handed in by settle() as well)
                self.assertEqual([n for n in self.spool(t, "done") if not n.startswith("cq-")],
                                 sorted(name for name, _, _ in deliveries))
            with self.subTest("answers once", kills=history, seed=CHAOS_SEED):
                db = t.db()
                try:
                    rows = db.execute("SELECT request_id, hired FROM answers").fetchall()
                    audited = collections.Counter(r[0] for r in db.execute(
                        "SELECT subject FROM audit_events WHERE kind = 'answer.recorded'"))
                finally:
                    db.close()
                self.assertEqual(sorted((r[0], bool(r[1])) for r in rows), sorted(answers.items()))
                self.assertEqual(audited, collections.Counter(answers.keys()))
            with self.subTest("no effect twice", kills=history, seed=CHAOS_SEED):
                new_writes = [(e["method"], e["path"], json.dumps(e["body"], sort_keys=True))
                              for e in wb.writes(t.lever.log()[mark_lever:])
                              + wb.writes(t.crosschq.log()[mark_cq:]) if wb.is_2xx(e)]
                self.assertEqual([w for w, n in collections.Counter(new_writes).items() if n > 1],
                                 [])
                # each answer reaches Crosschq once (hired or not)
                answered = {wb.request_path(rid) for rid in answers}
                patches = [e for e in wb.writes(t.crosschq.log()[mark_cq:]) if wb.is_2xx(e)
                           and e["method"] == "PATCH" and e["path"] in answered]
                self.assertCounts(((e["path"], e["body"]["hired"]) for e in patches),
                                  {(wb.request_path(rid), hired): 1
                                   for rid, hired in answers.items()}, "PATCH of the answers")
            with self.subTest("webhooks taken in", kills=history, seed=CHAOS_SEED):
                fetched = {e["path"] for e in t.lever.log()[mark_lever:] if e["method"] == "GET"}
                for c in s.prompt_eligible():
                    self.assertIn("/v1/opportunities/%s" % c.opp, fetched)
            with self.subTest("integrity", kills=history, seed=CHAOS_SEED):
                self.assertSound(t)
        finally:
            t.__exit__(None, None, None)


class CreateChaosTest(ChaosCase):
    """Kills while Crosschq requests are created.

    Crosschq does not de-duplicate a create: never two requests for one candidate in
    Crosschq, and every create either done or left in the outbox in doubt (for evidence or a
    person: test_crosschq settles them)."""

    def test_kills_during_crosschq_create(self):
        rng = self.rng()
        sc = tr.Scenario(seed=CHAOS_SEED % 1000 + 900)
        ids = sc.candidates(CREATES)
        # a slower Crosschq pace (the creates take about a second) so that kills land in them
        t = sc.tenant({"crosschq": {"requests_per_second": 10}})
        history = []
        try:
            self.run_ok(t)
            entries = tr.move(t, ids)
            keys = sorted(tr.key(i, at) for i, at in entries.items())
            crash = "after-send:%d" % rng.randint(1, CREATES)
            result = t.run("run", env={"REFSYNC_TEST_CRASH_AT": crash})
            history.append(("create", crash, result.returncode))
            self.assertEqual(result.returncode, wb.SIGKILLED, wb.output_of(result))
            self.assertIn("REFSYNC_TEST_CRASH_AT=%s reached" % crash, result.stderr)
            for _ in range(CREATE_KILLS):
                delay = rng.uniform(0.05, 1.5)
                code, err = self.kill_run(t, delay)
                history.append(("create", "%.3f s" % delay, code))
                self.assertGreaterEqual(code, wb.SIGKILLED, err[-3000:])
                self.assertNotIn(code, (70,), err[-3000:])
            for _ in range(MAX_RUNS_PER_PHASE):
                result = t.run("run")
                history.append(("create", "rerun", result.returncode))
                self.assertIn(result.returncode, (wb.EX_OK, 1, 75), wb.output_of(result))
                if result.returncode == wb.EX_OK or not self.creates_planned(t):
                    break

            with self.subTest("never two requests for one candidate", kills=history, seed=CHAOS_SEED):
                made = collections.Counter(tr.posted_opportunities(t, [{"body": c["body"]}
                                                                       for c in tr.creates(t)]))
                self.assertEqual({k: n for k, n in made.items() if n > 1}, {})
                self.assertLessEqual(set(made), set(ids))
            with self.subTest("each create done or in doubt", kills=history, seed=CHAOS_SEED):
                db = t.db()
                try:
                    rows = db.execute("SELECT key, state FROM outbox "
                                      "WHERE kind = 'cq.create_request'").fetchall()
                finally:
                    db.close()
                states = {r["key"]: r["state"] for r in rows}
                self.assertEqual(sorted(states), keys, "a create was lost or made up")
                self.assertEqual({k: v for k, v in states.items()
                                  if v not in ("done", "sending")}, {})
                for k, state in states.items():
                    if state == "done":
                        self.assertEqual(made[k.split(":")[1]], 1, k)
            with self.subTest("integrity", kills=history, seed=CHAOS_SEED):
                self.assertSound(t)
        finally:
            t.__exit__(None, None, None)

    def creates_planned(self, t):
        """Creates still planned (to be sent by a later run)."""
        db = t.db()
        try:
            return db.execute("SELECT count(*) FROM outbox WHERE kind = 'cq.create_request' "
                              "AND state = 'planned'").fetchone()[0]
        finally:
            db.close()


if __name__ == "__main__":
    unittest.main()
