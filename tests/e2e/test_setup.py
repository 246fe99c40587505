"""End-to-end: issue 18, items 1 and 2 (a set-up that works as written).

* a config the running user cannot read: the error names the file, the user and the fix;
* the state directory (the directory of [sync] database): `check` reports it missing, not a
  directory, or not writable, with the fix, and exits 78; a run on a missing one exits 73
  naming the directory, and creates nothing;
* a run as root on a state directory another user owns is refused (exit 77) before any file
  is created in it, and `check` says so.

Tests run as root in CI; the cases that need an ordinary user run refsync as `nobody`
through a preexec_fn (os.setgid/os.setuid), and are skipped when not root.

Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 -m unittest tests/e2e/test_setup.py -v
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

EX_OK = 0
EX_CANTCREAT = 73
EX_NOPERM = 77
EX_CONFIG = 78

NOBODY = pwd.getpwnam("nobody")


def as_nobody():
    """preexec_fn: drop to user nobody (from root)."""
    os.setgroups([])
    os.setgid(NOBODY.pw_gid)
    os.setuid(NOBODY.pw_uid)


def run_as_nobody(t, *args, conf=None):
    """`refsync -c CONF args...` as user nobody; CompletedProcess (text)."""
    return subprocess.run([harness.shared_binary("refsync"), "-c", conf or t.conf_path] + list(args),
                          env=t.env(), capture_output=True, text=True, timeout=120,
                          cwd="/", preexec_fn=as_nobody)


def problems(out):
    """The PROBLEM lines of `check`'s output, without the prefix."""
    return [line[len("PROBLEM "):] for line in out.splitlines() if line.startswith("PROBLEM ")]


def need_root(test):
    """Skip unless root: only root can become another user or chown to one."""
    return unittest.skipUnless(os.geteuid() == 0, "needs root, to run refsync as user nobody "
                               "and to give the state directory to nobody")(test)


class ConfigPermissions(unittest.TestCase):

    @need_root
    def test_unreadable_config_names_the_file_the_user_and_the_fix(self):
        with harness.Tenant() as t:
            # the set-up a root `make install` used to leave: root:root 0640 in a public directory
            etc = tempfile.mkdtemp(prefix="refsync-etc-")
            try:
                os.chmod(etc, 0o755)
                conf = os.path.join(etc, "refsync.conf")
                shutil.copyfile(t.conf_path, conf)
                os.chown(conf, 0, 0)
                os.chmod(conf, 0o640)
                r = run_as_nobody(t, "check", conf=conf)
                self.assertEqual(r.returncode, EX_CONFIG, r.stdout + r.stderr)
                self.assertIn("cannot read %s as user nobody: Permission denied; it must be readable "
                              "by group refsync: chgrp refsync %s" % (conf, conf), r.stderr)
                self.assertEqual(r.stdout, "")
            finally:
                shutil.rmtree(etc)


class StateDirectory(unittest.TestCase):

    def test_missing_state_directory_is_a_check_problem_and_a_run_exits_73(self):
        with harness.Tenant() as t:
            state = t.path("state", "missing")
            t.write_conf({"sync": {"database": os.path.join(state, "refsync.db")}})
            check = t.run("check")
            self.assertEqual(check.returncode, EX_CONFIG, check.stdout + check.stderr)
            self.assertEqual(problems(check.stdout), [
                "%s: the state directory (of [sync] database) does not exist; create it: "
                "install -d -o %s -m 0750 %s" % (state, "refsync -g refsync" if os.geteuid() == 0
                                                 else pwd.getpwuid(os.geteuid()).pw_name, state)])
            self.assertNotIn("no database yet (the first run creates it)", check.stdout)
            self.assertTrue(check.stdout.endswith("\n1 problem\n"), check.stdout)
            run = t.run("run")
            self.assertEqual(run.returncode, EX_CANTCREAT, run.stdout + run.stderr)
            self.assertIn("%s: the state directory (of [sync] database) does not exist" % state,
                          run.stderr)
            self.assertNotIn("lock file", run.stderr)
            self.assertFalse(os.path.exists(state), "the run created the state directory")

    def test_state_directory_that_is_a_file_is_a_problem(self):
        with harness.Tenant() as t:
            state = t.path("state", "file")
            with open(state, "w") as handle:
                handle.write("x")
            t.write_conf({"sync": {"database": os.path.join(state, "refsync.db")}})
            check = t.run("check")
            self.assertEqual(check.returncode, EX_CONFIG, check.stdout + check.stderr)
            self.assertEqual(problems(check.stdout), [
                "%s: the state directory (of [sync] database) is not a directory" % state])
            run = t.run("run")
            self.assertEqual(run.returncode, EX_CANTCREAT, run.stdout + run.stderr)
            self.assertIn("%s: the state directory (of [sync] database) is not a directory" % state,
                          run.stderr)

    def test_check_with_a_usable_state_directory_says_so(self):
        with harness.Tenant() as t:
            check = t.run("check")
            self.assertEqual(check.returncode, EX_OK, check.stdout + check.stderr)
            self.assertIn("ok      state directory is writable by this user: %s\n" % t.path("state"),
                          check.stdout)
            self.assertTrue(check.stdout.endswith("\n0 problems\n"), check.stdout)

    @need_root
    def test_root_run_on_another_users_state_directory_is_refused(self):
        with harness.Tenant() as t:
            state = t.path("state")
            os.chown(state, NOBODY.pw_uid, NOBODY.pw_gid)
            for command in ("run", "plan"):
                r = t.run(command)
                self.assertEqual(r.returncode, EX_NOPERM, r.stdout + r.stderr)
                self.assertIn("%s is owned by user nobody: refusing to run as root, which would leave "
                              "files that nobody cannot open; run refsync as that user: "
                              "runuser -u nobody -- refsync ..." % state, r.stderr)
            self.assertEqual(os.listdir(state), [], "a refused run created files")
            check = t.run("check")
            self.assertEqual(check.returncode, EX_CONFIG, check.stdout + check.stderr)
            self.assertEqual(problems(check.stdout), [
                "%s is owned by user nobody: refusing to run as root, which would leave files that "
                "nobody cannot open; run refsync as that user: runuser -u nobody -- refsync ..."
                % state])
            self.assertEqual(os.listdir(state), [], "check created files")

    @need_root
    def test_unwritable_state_directory_and_database_are_problems_for_that_user(self):
        with harness.Tenant() as t:
            # nobody must reach the config, the secrets and the state directory
            os.chmod(t.dir, 0o755)
            os.chmod(t.conf_path, 0o644)
            for name in os.listdir(t.path("secrets")):
                os.chown(t.path("secrets", name), NOBODY.pw_uid, NOBODY.pw_gid)
            os.chmod(t.path("secrets"), 0o755)
            state = t.path("state")
            os.chmod(state, 0o755)          # root's, and not writable by nobody
            check = run_as_nobody(t, "check")
            self.assertEqual(check.returncode, EX_CONFIG, check.stdout + check.stderr)
            self.assertEqual(problems(check.stdout), [
                "%s: the state directory is not writable by user nobody (owner root, mode 0755): "
                "run refsync as its owner, or give it to this user: chown nobody: %s" % (state, state)])
            run = run_as_nobody(t, "run")
            self.assertEqual(run.returncode, EX_CANTCREAT, run.stdout + run.stderr)
            self.assertIn("%s: the state directory is not writable by user nobody" % state, run.stderr)
            self.assertEqual(os.listdir(state), [])

            # the directory is nobody's, but a root run left the database behind
            os.chown(state, NOBODY.pw_uid, NOBODY.pw_gid)
            database = t.conf["sync"]["database"]
            for suffix in ("", "-wal"):
                with open(database + suffix, "w"):
                    pass
                os.chmod(database + suffix, 0o644)
            check = run_as_nobody(t, "check")
            self.assertEqual(check.returncode, EX_CONFIG, check.stdout + check.stderr)
            self.assertEqual(problems(check.stdout)[:2], [
                "%s%s is not writable by user nobody (owner root, mode 0644): run refsync as its "
                "owner, or give it to this user: chown nobody: %s%s" % (database, s, database, s)
                for s in ("", "-wal")])
            run = run_as_nobody(t, "run")
            self.assertEqual(run.returncode, EX_CANTCREAT, run.stdout + run.stderr)
            self.assertIn("%s is not writable by user nobody (owner root, mode 0644)" % database,
                          run.stderr)


if __name__ == "__main__":
    unittest.main()
