"""End-to-end: runs as an operator meets them (issue 18, item 9).

Interrupted runs are closed (SIGINT, SIGTERM) and say how to resume; a killed run is closed
as abandoned by the next; a backfill resumed with another --slices keeps its partition; exit
1 means the same everywhere and lasts while failed actions wait; `status` sorts cursors by
number and shows the go-live time; `plan` and holds name the posting; the backfill progress
line on a terminal.

Run alone:
    REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 tests/e2e/run.py test_runs
"""

import json
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import gen_tenant  # noqa: E402
from test_trigger import Scenario, move, key, TEMPLATES  # noqa: E402,F401

OPPORTUNITIES_PATH = "/v1/opportunities"
EX_SOME_FAILED = 1
EX_TEMPFAIL = 75
EX_SIGINT = 130
EX_SIGTERM = 143
SIGKILLED = -9
EX_USAGE = 64
WAITING = ("1 failed action waits for you: refsync status lists it; fix the cause, then refsync "
           "retry (or refsync resolve KEY --dismiss to give up on one)")


def output_of(result):
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (result.returncode, result.stdout,
                                                   result.stderr[-4000:])


def big_tenant(opportunities=1000, seed=20261206):
    return gen_tenant.generate(opportunities, seed=seed, confidential=0.3, archived=0.1,
                               hired=0.03, null_updated=0.05, postings=20)


def listing_requests(t):
    return [e for e in t.lever.log() if e["path"] == OPPORTUNITIES_PATH]


def runs(t):
    db = t.db()
    try:
        return [dict(r) for r in db.execute("SELECT * FROM runs ORDER BY id")]
    finally:
        db.close()


def scalar(t, sql, *args):
    db = t.db()
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


def start(t, *args):
    return subprocess.Popen([harness.binary("refsync"), "-c", t.conf_path] + list(args),
                            env=t.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=t.dir)


def wait_for(predicate, timeout=60, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


def resume_argv(stderr):
    """The command after 'to resume: ' in stderr, as argv (the binary made ours)."""
    found = re.search(r"to resume: (refsync .*?) \((?:each slice|the next run) goes on", stderr)
    if not found:
        raise AssertionError("no resume command in:\n" + stderr)
    argv = shlex.split(found.group(1))
    return found.group(1), [harness.binary("refsync")] + argv[1:]


class InterruptedRuns(unittest.TestCase):

    def test_sigint_closes_the_backfill_and_its_resume_command_finishes_it(self):
        with harness.Tenant(big_tenant()) as t:
            t.lever.faults({"delay_ms": 150, "only_paths": [OPPORTUNITIES_PATH]})
            p = start(t, "backfill", "--since", "2020-01-01", "--slices", "4")
            try:
                wait_for(lambda: len(listing_requests(t)) >= 3, what="three listing pages")
                p.send_signal(signal.SIGINT)
                out, err = p.communicate(timeout=20)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
            self.assertEqual(p.returncode, EX_SIGINT, err)
            shown, argv = resume_argv(err)
            self.assertEqual(shown, "refsync -c %s backfill --since 2020-01-01T00:00:00Z --slices 4"
                             % t.conf_path)
            self.assertIn("interrupted by SIGINT", err)
            [run] = runs(t)
            stored = scalar(t, "SELECT count(*) FROM lever_opportunities")
            self.assertEqual(run["command"], "backfill")
            self.assertEqual(run["exit_code"], EX_SIGINT)
            self.assertIsNotNone(run["ended_at"])
            self.assertGreaterEqual(run["ended_at"], run["started_at"])
            self.assertTrue(run["error"].startswith("interrupted by SIGINT"), run["error"])
            self.assertGreater(stored, 0)
            self.assertLess(stored, 1000)
            self.assertGreaterEqual(run["pulled"], stored)
            text = t.run("status").stdout
            self.assertIn("exit 130", text)
            self.assertIn("interrupted by SIGINT", text)
            # the command it printed resumes and finishes the same backfill
            t.lever.faults({})
            resumed = subprocess.run(argv, env=t.env(), capture_output=True, text=True,
                                     timeout=120, cwd=t.dir)
            self.assertEqual(resumed.returncode, 0, output_of(resumed))
            self.assertIn("resuming the interrupted backfill", resumed.stderr)
            self.assertEqual(scalar(t, "SELECT count(*) FROM lever_opportunities"), 1000)
            self.assertEqual(scalar(t, "SELECT count(*) FROM cursors WHERE name LIKE "
                                       "'backfill.%'"), 0)

    def test_sigterm_drops_a_slow_request_and_closes_the_run_with_143(self):
        with harness.Tenant(big_tenant(150, seed=3)) as t:
            # a config path that needs quoting in the command it prints
            conf = t.path("it's a refsync.conf")
            os.rename(t.conf_path, conf)
            t.conf_path = conf
            first = t.run("run")
            self.assertEqual(first.returncode, 0, output_of(first))
            # every Lever answer now takes 20 s: the run is inside a single request
            t.lever.faults({"delay_ms": 20000})
            t.lever.reset_log()
            p = start(t, "run")
            try:
                time.sleep(1.5)
                self.assertIsNone(p.poll(), "the run ended before the signal")
                sent = time.monotonic()
                p.send_signal(signal.SIGTERM)
                out, err = p.communicate(timeout=30)
                elapsed = time.monotonic() - sent
            finally:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
            self.assertEqual(p.returncode, EX_SIGTERM, err)
            self.assertLess(elapsed, 5.0, "the run waited for the slow request")
            shown, argv = resume_argv(err)
            self.assertEqual(shown, "refsync -c '%s' run" % t.conf_path.replace("'", "'\\''"))
            self.assertEqual(argv[1:], ["-c", conf, "run"])
            last = runs(t)[-1]
            self.assertEqual(last["exit_code"], EX_SIGTERM)
            self.assertIsNotNone(last["ended_at"])
            self.assertTrue(last["error"].startswith("interrupted by SIGTERM"), last["error"])
            # nothing said the remote was at fault
            self.assertNotIn("will retry at the next run", err)
            t.lever.faults({})
            again = subprocess.run(argv, env=t.env(), capture_output=True, text=True, timeout=120,
                                   cwd=t.dir)
            self.assertEqual(again.returncode, 0, output_of(again))

    def test_a_killed_run_is_closed_as_abandoned_by_the_next(self):
        with harness.Tenant(big_tenant(300, seed=4)) as t:
            killed = t.run("run", env={"REFSYNC_TEST_CRASH_AT": "after-page:2"})
            self.assertEqual(killed.returncode, SIGKILLED, output_of(killed))
            [open_run] = runs(t)
            self.assertIsNone(open_run["ended_at"])
            result = t.run("run")
            self.assertEqual(result.returncode, 0, output_of(result))
            self.assertIn("run %d ended without closing its record" % open_run["id"],
                          result.stderr)
            first, second = runs(t)
            self.assertIsNotNone(first["ended_at"])
            self.assertIsNone(first["exit_code"])
            self.assertTrue(first["error"].startswith("abandoned:"), first["error"])
            self.assertEqual(second["exit_code"], 0)
            self.assertEqual(scalar(t, "SELECT count(*) FROM audit_events WHERE kind = 'run.abandoned' "
                                       "AND subject = ?", "run:%d" % first["id"]), 1)
            self.assertIn("abandoned:", t.run("status").stdout)
            # the closed row is in the audit chain: the trail still verifies
            verify = t.run_export("--verify")
            self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

    def test_a_backfill_resumed_with_other_slices_keeps_its_partition(self):
        with harness.Tenant(big_tenant(1500, seed=5)) as t:
            killed = t.run("backfill", "--since", "2020-01-01", "--slices", "4",
                           env={"REFSYNC_TEST_CRASH_AT": "after-page:4"})
            self.assertEqual(killed.returncode, SIGKILLED, output_of(killed))
            slices = scalar(t, "SELECT count(*) FROM cursors WHERE name LIKE 'backfill.c.%'")
            self.assertEqual(slices, 4)
            t.lever.reset_log()
            result = t.run("backfill", "--since", "2020-01-01", "--slices", "8")
            self.assertEqual(result.returncode, 0, output_of(result))
            self.assertIn("in the 4 slices it was cut into, not --slices 8", result.stderr)
            self.assertIn("resuming the interrupted backfill", result.stderr)
            self.assertEqual(scalar(t, "SELECT count(*) FROM lever_opportunities"), 1500)
            # the stored slices went on: the created set's listing (cut into those 4) did
            # not start over from its root (the whole window: --since to the backfill's end)
            since = "1577836800000"  # 2020-01-01T00:00:00Z
            fresh = [e["query"] for e in listing_requests(t) if "offset" not in e["query"]]
            until = str(max(int(q["created_at_end"][0]) for q in fresh if "created_at_end" in q))
            roots = [q for q in fresh
                     if q.get("created_at_start") == [since] and q.get("created_at_end") == [until]]
            self.assertEqual(roots, [])


class ExitOne(unittest.TestCase):

    def test_failed_action_fails_every_run_until_retried(self):
        s = Scenario(seed=91)
        ids = s.candidates(2)
        bad = ids[0]
        t = s.tenant()
        try:
            bad_email = next(o for o in t.lever.state()["opportunities"]
                             if o["id"] == bad)["emails"][0]
            t.crosschq.fail_for(bad_email, 422, "Invalid candidate email")
            move(t, ids)
            first = t.run("run")
            self.assertEqual(first.returncode, EX_SOME_FAILED, output_of(first))
            for _ in range(2):
                later = t.run("run")
                self.assertEqual(later.returncode, EX_SOME_FAILED, output_of(later))
                self.assertIn(WAITING, later.stderr)
            self.assertEqual(runs(t)[-1]["error"], WAITING)
            t.crosschq._control("POST", "fail_for", {})
            self.assertEqual(t.run("retry", "--failed").returncode, 0)
            fixed = t.run("run")
            self.assertEqual(fixed.returncode, 0, output_of(fixed))
        finally:
            t.__exit__(None, None, None)

    def test_a_dismissed_failure_no_longer_fails_the_runs(self):
        s = Scenario(seed=93)
        ids = s.candidates(2)
        bad = ids[1]
        t = s.tenant()
        try:
            bad_email = next(o for o in t.lever.state()["opportunities"]
                             if o["id"] == bad)["emails"][0]
            t.crosschq.fail_for(bad_email, 422, "Candidate email is on the do-not-contact list")
            entries = move(t, ids)
            self.assertEqual(t.run("run").returncode, EX_SOME_FAILED)
            bad_key = key(bad, entries[bad])
            for args in (("resolve", bad_key), ("resolve", bad_key, "--dismiss", "--not-sent"),
                         ("resolve", "lever:nobody:1", "--dismiss")):
                wrong = t.run(*args)
                self.assertEqual(wrong.returncode, EX_USAGE, output_of(wrong))
            self.assertIn("no failed action has the key lever:nobody:1", wrong.stderr)
            done = t.run("resolve", bad_key, "--dismiss")
            self.assertEqual(done.returncode, 0, output_of(done))
            self.assertIn("%s: dismissed; it is never sent" % bad_key, done.stdout)
            quiet = t.run("run")
            self.assertEqual(quiet.returncode, 0, output_of(quiet))
            self.assertIsNone(runs(t)[-1]["error"])
            status = t.run("status").stdout
            self.assertIn("(dismissed)", next(line for line in status.splitlines()
                                              if bad_key in line))
            failed = json.loads(t.run("status", "--json").stdout)["failed"]
            self.assertEqual([f["key"] for f in failed], [bad_key])
            self.assertIsNotNone(failed[0]["dismissed_at"])
            self.assertEqual(scalar(t, "SELECT count(*) FROM audit_events WHERE kind = "
                                       "'action.dismissed'"), 1)
            # --failed leaves it alone; named by its key, it is sent after all
            self.assertIn("0 actions put back", t.run("retry", "--failed").stdout)
            t.crosschq._control("POST", "fail_for", {})
            self.assertEqual(t.run("retry", bad_key).returncode, 0)
            sent = t.run("run")
            self.assertEqual(sent.returncode, 0, output_of(sent))
            self.assertEqual(scalar(t, "SELECT state FROM outbox WHERE key = ?", bad_key), "done")
        finally:
            t.__exit__(None, None, None)

    def test_the_three_descriptions_of_exit_1_agree(self):
        phrase = "every run exits 1 until"
        with open(os.path.join(harness.REPO, "README.md"), encoding="utf-8") as handle:
            readme = handle.read()
        row = next(line for line in readme.splitlines() if line.startswith("| 1 |"))
        with open(os.path.join(harness.REPO, "sync", "refsync.1"), encoding="utf-8") as handle:
            man = handle.read()
        man_one = man.split(".Sh EXIT STATUS", 1)[1].split(".It 1\n", 1)[1].split(".It 64", 1)[0]
        man_one = " ".join(man_one.replace("\n", " ").split())
        with harness.Tenant() as t:
            usage = t.run("--help").stdout
        usage = " ".join(usage.split())
        with open(os.path.join(harness.REPO, "systemd", "README.md"), encoding="utf-8") as handle:
            units = " ".join(handle.read().split())
        for name, text in (("README", row), ("refsync.1", man_one), ("--help", usage),
                           ("systemd/README.md", units)):
            with self.subTest(name):
                self.assertIn(phrase, text.lower())
                self.assertIn("retry", text)
                self.assertIn("resolve", text)
                self.assertIn("dismiss", text)
        self.assertNotIn("retried next run", usage)


class StatusAndPlan(unittest.TestCase):

    def test_status_sorts_cursors_by_number_and_shows_go_live(self):
        with harness.Tenant() as t:
            result = t.run("run")
            self.assertIn(result.returncode, (0, EX_SOME_FAILED), output_of(result))
            live = int(scalar(t, "SELECT value FROM settings WHERE key = 'live_since'"))
            db = t.db()
            try:
                for n in (0, 1, 2, 10, 11, 3, 20):
                    db.execute("INSERT INTO cursors(name, since, until, token, pages, updated_at) "
                               "VALUES (?, 0, 1, NULL, 0, 0)", ("backfill.c.%d" % n,))
                db.execute("INSERT INTO cursors(name, since, until, token, pages, updated_at) "
                           "VALUES ('backfill.c', 0, 1, NULL, 1, 0)")
                db.commit()
            finally:
                db.close()
            text = t.run("status")
            self.assertEqual(text.returncode, 0, output_of(text))
            names = re.findall(r"^  (backfill\.c[.0-9]*) ", text.stdout, re.M)
            want = ["backfill.c"] + ["backfill.c.%d" % n for n in (0, 1, 2, 3, 10, 11, 20)]
            self.assertEqual(names, want)
            data = json.loads(t.run("status", "--json").stdout)
            self.assertEqual([c["name"] for c in data["cursors"] if c["name"].startswith("backfill")],
                             want)
            iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(live // 1000))
            self.assertIn("Live since %s (from the first run)" % iso, text.stdout)
            self.assertEqual(data["live_since"], live)
            self.assertEqual(data["live_since_source"], "the first run")
            t.write_conf({"sync": {"trigger_since": "2026-03-01T12:00:00Z"}})
            text = t.run("status").stdout
            self.assertIn("Live since 2026-03-01T12:00:00Z (from [sync] trigger_since)", text)

    def test_plan_and_holds_name_the_posting_and_its_tags(self):
        s = Scenario(seed=92)
        good = s.candidate("design")
        held = s.candidate("operations")
        t = s.tenant()
        try:
            entries = move(t, [good, held])
            dry = t.run("run", "--dry-run")
            self.assertEqual(dry.returncode, 0, output_of(dry))
            plan = t.run("plan")
            self.assertEqual(plan.returncode, 0, output_of(plan))
            plan_line = next(line for line in plan.stdout.splitlines()
                             if key(good, entries[good]) in line)
            self.assertIn("(posting Product Designer [design, remote])", plan_line)
            hold_line = next(line for line in plan.stdout.splitlines()
                             if line.startswith("HOLD") and held in line)
            self.assertIn("; posting Office Manager [operations])", hold_line)
            result = t.run("run")
            self.assertEqual(result.returncode, 0, output_of(result))
            status = t.run("status").stdout
            line = next(row for row in status.splitlines() if held in row)
            self.assertIn(", posting Office Manager [operations]", line)
            holds = json.loads(t.run("status", "--json").stdout)["holds"]
            self.assertEqual([(h["opportunity_id"], h["posting"]) for h in holds],
                             [(held, "Office Manager [operations]")])
        finally:
            t.__exit__(None, None, None)

    def test_plan_on_a_fresh_install_suggests_a_dry_run(self):
        with harness.Tenant() as t:
            plan = t.run("plan")
            self.assertEqual(plan.returncode, EX_TEMPFAIL, output_of(plan))
            self.assertIn("run 'refsync run --dry-run' once", plan.stderr)
            dry = t.run("run", "--dry-run")
            self.assertIn(dry.returncode, (0, EX_SOME_FAILED), output_of(dry))
            self.assertEqual([e for e in t.crosschq.log() + t.lever.log()
                              if e["method"] not in ("GET", "OPTIONS")], [])
            again = t.run("plan")
            self.assertEqual(again.returncode, 0, output_of(again))


class ProgressLine(unittest.TestCase):

    def run_on_tty(self, t, *args):
        """Run refsync with stderr on a pseudo-terminal; (exit code, bytes written there)."""
        master, slave = pty.openpty()
        p = subprocess.Popen([harness.binary("refsync"), "-c", t.conf_path] + list(args),
                             env=t.env(), stdout=subprocess.DEVNULL, stderr=slave,
                             stdin=subprocess.DEVNULL, cwd=t.dir)
        os.close(slave)
        got = b""
        try:
            while True:
                ready, _, _ = select.select([master], [], [], 120)
                if not ready:
                    raise AssertionError("no output for 120 s")
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                got += chunk
        finally:
            os.close(master)
            p.wait(30)
        return p.returncode, got

    def test_backfill_progress_counts_opportunities_with_percentage_and_is_cleared(self):
        with harness.Tenant(big_tenant(1000, seed=7)) as t:
            code, got = self.run_on_tty(t, "backfill", "--since", "2000-01-01")
            self.assertEqual(code, 0, got[-3000:])
            text = got.decode("utf-8", "replace")
            self.assertNotIn("records,", text.split("backfill: 1000 of")[0])
            frames = re.findall(r"\r\x1b\[K(backfill: [^\r\n]*)", text)
            self.assertTrue(frames, text[-2000:])
            self.assertEqual(frames[-1], "backfill: 1000 of 1000 opportunities (100%)")
            estimated = [f for f in frames if re.search(r" of ~\d+ opportunities \(\d+%\), "
                                                       r"\d+ listings? running, about \d+ (s|min) left",
                                                       f)]
            self.assertTrue(estimated, frames)
            # the last frame is erased before the summary line, which has a line of its own
            tail = text.split(frames[-1], 1)[1]
            self.assertTrue(tail.startswith("\r\x1b[K"), repr(tail[:80]))
            self.assertRegex(tail, r"^\r\x1b\[Krefsync: backfill: \d+ opportunity records in")
            counts = [int(re.match(r"backfill: (\d+)", f).group(1)) for f in frames]
            self.assertEqual(counts, sorted(counts))

    def test_no_progress_line_when_stderr_is_not_a_terminal(self):
        with harness.Tenant(big_tenant(300, seed=8)) as t:
            result = t.run("backfill", "--since", "2000-01-01")
            self.assertEqual(result.returncode, 0, output_of(result))
            self.assertNotIn("\r", result.stderr)
            self.assertNotIn("\x1b", result.stderr)
            self.assertNotIn("of ~", result.stderr)


if __name__ == "__main__":
    unittest.main()
