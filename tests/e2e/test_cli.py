"""End-to-end: issue 18, item 10 (conventions of the command line and the config).

* one usage error on all three programs: "PROG: what", then "Try 'PROG --help'." on
  stderr, nothing on stdout, exit 64;
* `refsync COMMAND --help` prints that command's usage (stdout, exit 0) for every command;
* `--version` on refsync, refsync-export and refsync-hook prints the same "refsync 0.1.0";
* a config with several problems: every one is reported in one go, each on its own line
  naming the file and the line; a misspelt key or section names the one meant ("did you
  mean"); an unknown section is named as a section, once;
* `status` before the first run says there has been none and what to do (exit 0);
* `retry` with a key that names no failed action is an error that says so, and puts
  nothing back, before the first run (no database made) and after one.

None of these needs the fakes.

Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 -m unittest tests/e2e/test_cli.py -v
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

EX_OK = 0
EX_USAGE = 64
EX_CONFIG = 78
VERSION = "refsync 0.1.0"
COMMANDS = {
    "run": "usage: refsync [-c FILE] [-v | -q] run [--dry-run] [--full]\n",
    "backfill": "usage: refsync [-c FILE] [-v | -q] backfill --since DATE [--until DATE] [--slices N] "
                "[--dry-run]\n",
    "plan": "usage: refsync [-c FILE] [-v | -q] plan\n",
    "status": "usage: refsync [-c FILE] [-v | -q] status [--json]\n",
    "retry": "usage: refsync [-c FILE] [-v | -q] retry (--failed | KEY...)\n",
    "resolve": "usage: refsync [-c FILE] [-v | -q] resolve KEY (--sent REQUEST_ID | --not-sent | --dismiss)\n",
    "check": "usage: refsync [-c FILE] [-v | -q] check\n",
}


def run(program, *args, env=None, cwd=None):
    """Run a refsync program without a web server's or systemd's environment."""
    base = {k: v for k, v in os.environ.items() if k not in harness.DROPPED_ENV
            and k not in ("REQUEST_METHOD",)}
    base.update(env or {})
    return subprocess.run([harness.binary(program)] + list(args), env=base, capture_output=True,
                          text=True, timeout=60, cwd=cwd or "/")


class Workdir(unittest.TestCase):
    """A temporary directory with a config whose database does not exist yet."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="refsync-cli-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.mkdir(os.path.join(self.dir, "state"), 0o700)
        self.database = os.path.join(self.dir, "state", "refsync.db")
        self.conf = self.write("refsync.conf", "[sync]\ndatabase = %s\n" % self.database)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path


class UsageErrors(Workdir):
    def assert_usage_error(self, result, program, what):
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (EX_USAGE, "", "%s: %s\nTry '%s --help'.\n" % (program, what, program)))

    def test_refsync_usage_errors_are_one_line_and_a_hint(self):
        self.assert_usage_error(run("refsync"), "refsync",
                                "no command given (run, backfill, plan, status, retry, resolve or check)")
        self.assert_usage_error(run("refsync", "frob"), "refsync",
                                "unknown command 'frob' (run, backfill, plan, status, retry, resolve or "
                                "check)")
        self.assert_usage_error(run("refsync", "--frob"), "refsync", "unknown option '--frob'")
        self.assert_usage_error(run("refsync", "-x", "run"), "refsync", "unknown option '-x'")
        self.assert_usage_error(run("refsync", "-c"), "refsync", "option '-c' needs a value")
        self.assert_usage_error(run("refsync", "-c", self.conf, "run", "--bogus"), "refsync",
                                "run: unknown option '--bogus'")
        self.assert_usage_error(run("refsync", "-c", self.conf, "status", "extra"), "refsync",
                                "status takes no argument 'extra'")
        self.assert_usage_error(run("refsync", "-c", self.conf, "backfill"), "refsync",
                                "backfill needs --since DATE")
        self.assert_usage_error(run("refsync", "-c", self.conf, "backfill", "--since", "yesterday"),
                                "refsync", "--since 'yesterday': expected an ISO 8601 date or time such "
                                "as 2026-01-31 or 2026-01-31T12:00:00Z")
        self.assert_usage_error(run("refsync", "-c", self.conf, "backfill", "--since", "2026-01-01",
                                    "--slices", "0"), "refsync",
                                "--slices '0': expected a whole number from 1 to 64")
        self.assert_usage_error(run("refsync", "-c", self.conf, "retry"), "refsync",
                                "retry takes --failed, or the keys of failed actions (refsync status "
                                "lists them)")
        # nothing was made by any of these
        self.assertEqual(os.listdir(os.path.join(self.dir, "state")), [])

    def test_export_usage_errors_are_one_line_and_a_hint(self):
        self.assert_usage_error(run("refsync-export", "--bogus"), "refsync-export",
                                "unknown option '--bogus'")
        self.assert_usage_error(run("refsync-export", "-c", self.conf), "refsync-export",
                                "say what to do: --format xml|csv|html, --verify, --verify-file or --keygen")
        self.assert_usage_error(run("refsync-export", "--format", "pdf"), "refsync-export",
                                "--format must be xml, csv or html, not 'pdf'")
        self.assert_usage_error(run("refsync-export", "--format", "csv", "--from", "soon"),
                                "refsync-export", "--from: 'soon' is not an ISO 8601 time such as "
                                "2026-01-31 or 2026-01-31T12:00:00Z")

    def test_hook_usage_errors_are_one_line_and_a_hint(self):
        self.assert_usage_error(run("refsync-hook", "--bogus"), "refsync-hook", "unknown option '--bogus'")
        self.assert_usage_error(run("refsync-hook", "extra"), "refsync-hook",
                                "unexpected argument 'extra': the request comes from the CGI environment")
        self.assert_usage_error(run("refsync-hook"), "refsync-hook",
                                "REQUEST_METHOD is not set: refsync-hook is a CGI program that a web "
                                "server runs (see refsync-hook(8))")


class HelpAndVersion(Workdir):
    def test_every_command_has_its_own_help(self):
        for command, first in COMMANDS.items():
            with self.subTest(command=command):
                result = run("refsync", "-c", self.conf, command, "--help")
                self.assertEqual((result.returncode, result.stderr), (EX_OK, ""))
                self.assertTrue(result.stdout.startswith(first), result.stdout)
                self.assertTrue(result.stdout.endswith(
                    "Global options (before the command): -c FILE, -v, -q. See refsync --help and "
                    "refsync(1).\n"), result.stdout)
                # no other command's usage in it
                others = [c for c in COMMANDS if c != command
                          and "[-v | -q] %s " % c in result.stdout.replace("\n", " ")]
                self.assertEqual(others, [])
        whole = run("refsync", "--help")
        self.assertEqual((whole.returncode, whole.stderr), (EX_OK, ""))
        self.assertTrue(whole.stdout.startswith("usage: refsync [-c FILE] [-v | -q] COMMAND [OPTIONS]\n"
                                                "       refsync COMMAND --help\n"), whole.stdout)

    def test_version_is_the_same_line_on_all_three(self):
        for program in ("refsync", "refsync-export", "refsync-hook"):
            for flag in ("--version", "-V"):
                with self.subTest(program=program, flag=flag):
                    result = run(program, flag, env={"REQUEST_METHOD": "GET"}
                                 if program == "refsync-hook" else None)
                    self.assertEqual((result.returncode, result.stdout, result.stderr),
                                     (EX_OK, VERSION + "\n", ""))


class ConfigErrors(Workdir):
    def check(self, text):
        conf = self.write("bad.conf", text)
        result = run("refsync", "-c", conf, "check")
        return conf, result

    def test_every_problem_is_reported_at_once(self):
        conf, result = self.check(
            "[sync]\n"                              # 1
            "databse = /tmp/refsync-cli.db\n"       # 2: misspelt
            "overlap_minutes = lots\n"              # 3: bad value
            "[lever]\n"                             # 4
            "trigger_stag = Reference Check\n"      # 5: misspelt
            "this is not a setting\n"               # 6: not INI
            "requests_per_second = 0\n"             # 7: bad value
            "[syncc]\n"                             # 8: unknown section, close to [sync]
            "foo = 1\n"                             # 9: (its keys are not named again)
            "[mail]\n"                              # 10: unknown section
            "smtp_url = smtp://x\n"                 # 11
            "[template eng]\n"                      # 12
            "jobrol = engineer\n"                   # 13: misspelt template key
            "managers = 1\n"                        # 14
            "ats_tag = Engineering\n")              # 15
        self.assertEqual(result.returncode, EX_CONFIG)
        self.assertEqual(result.stdout, "")
        want = [
            "%s:2: [sync] databse: unknown key (did you mean database?)",
            "%s:3: [sync] overlap_minutes: expected minutes from 0 to 1440, got 'lots'",
            "%s:5: [lever] trigger_stag: unknown key (did you mean trigger_stage?)",
            "%s:6: not a valid INI line (expected [section] or key = value)",
            "%s:7: [lever] requests_per_second: expected a number above 0 and at most 1000, got '0'",
            "%s:8: [syncc]: unknown section (did you mean [sync]?)",
            "%s:10: [mail]: unknown section (the sections are [sync], [lever], [crosschq], [followup], "
            "[prospects] and [template NAME]; see refsync.conf(5))",
            "%s:13: [template eng] jobrol: unknown key (did you mean jobrole?)",
            "%s: [sync] database: required: the path of the SQLite database",
            "%s:13: [template eng] jobrole: required: the codename of the Crosschq survey ('refsync "
            "check' lists them)",
        ]
        self.assertEqual(result.stderr.splitlines(), ["refsync: error: " + line % conf for line in want])

    def test_export_and_hook_report_every_problem_too(self):
        conf = self.write("bad.conf", "[sync]\ndatabse = /x\n[levr]\n")
        want = ["%s:2: [sync] databse: unknown key (did you mean database?)" % conf,
                "%s:3: [levr]: unknown section (did you mean [lever]?)" % conf,
                "%s: [sync] database: required: the path of the SQLite database" % conf]
        result = run("refsync-export", "-c", conf, "--verify")
        self.assertEqual((result.returncode, result.stdout), (EX_CONFIG, ""))
        self.assertEqual(result.stderr.splitlines(), ["refsync-export: error: " + w for w in want])
        hook = run("refsync-hook", env={"REFSYNC_CONFIG": conf, "REQUEST_METHOD": "GET",
                                        "PATH_INFO": "/answer", "QUERY_STRING": ""})
        self.assertEqual(hook.returncode, EX_OK)
        self.assertTrue(hook.stdout.startswith("Status: 500"), hook.stdout)
        self.assertEqual(hook.stderr.splitlines()[:3], ["refsync-hook: error: " + w for w in want])


class BeforeTheFirstRun(Workdir):
    def test_status_says_there_is_no_run_yet_and_what_to_do(self):
        result = run("refsync", "-c", self.conf, "status")
        self.assertEqual((result.returncode, result.stderr), (EX_OK, ""))
        self.assertEqual(result.stdout,
                         "No run yet: the database %s does not exist (the first run creates it).\n"
                         "Next: check the set-up with 'refsync check', then start a run: 'refsync run' "
                         "(or 'refsync run --dry-run' to see what it would do first), or the timer: "
                         "systemctl enable --now refsync.timer.\n" % self.database)
        result = run("refsync", "-c", self.conf, "status", "--json")
        self.assertEqual((result.returncode, result.stderr), (EX_OK, ""))
        doc = json.loads(result.stdout)
        self.assertEqual((doc["no_run_yet"], doc["database"], doc["runs"]), (True, self.database, []))
        self.assertFalse(os.path.exists(self.database))

    def test_retry_of_an_unknown_key_before_any_run_is_an_error_and_makes_nothing(self):
        result = run("refsync", "-c", self.conf, "retry", "cq.create_request:nope")
        self.assertEqual(result.returncode, EX_USAGE)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr,
                         "refsync: no failed action has the key cq.create_request:nope\n"
                         "refsync: error: retry: there has been no run yet (%s does not exist): nothing "
                         "was put back\n" % self.database)
        self.assertEqual(os.listdir(os.path.join(self.dir, "state")), [])


class RetryUnknownKey(Workdir):
    def test_retry_of_an_unknown_key_is_an_error_and_puts_nothing_back(self):
        # `plan` makes the database (and stops: nothing pulled yet); then one failed action
        run("refsync", "-c", self.conf, "plan")
        key = "lever.note:opp-1:req-1"
        with sqlite3.connect(self.database) as db:
            db.execute("INSERT INTO outbox(key, kind, subject, payload, reason, state, last_error, created_at, "
                       "updated_at) VALUES (?, 'lever.note', 'opp-1', '{}', 'test', 'failed', 'refused', 1, 1)",
                       (key,))
        db.close()
        result = run("refsync", "-c", self.conf, "retry", key, "no-such-key")
        self.assertEqual(result.returncode, EX_USAGE)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr,
                         "refsync: no failed action has the key no-such-key (refsync status lists "
                         "the failed actions)\n"
                         "refsync: error: retry: 1 key named no failed action: nothing was put back\n")
        with sqlite3.connect(self.database) as db:
            state = db.execute("SELECT state FROM outbox WHERE key = ?", (key,)).fetchone()[0]
        db.close()
        self.assertEqual(state, "failed")
        # the known key alone is put back
        result = run("refsync", "-c", self.conf, "retry", key)
        self.assertEqual((result.returncode, result.stderr), (EX_OK, ""))
        self.assertEqual(result.stdout, "requeued lever.note %s\n"
                         "1 action put back to planned; the next run sends it\n" % key)


if __name__ == "__main__":
    unittest.main()
