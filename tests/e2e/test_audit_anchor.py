"""An audit trail that proves what it claims (issue 18, item 5).

Runs are in the hash chain (a run.start and a run.end event carry the hash of the runs
row), every run logs the chain head it leaves behind, every export ends with the head it
was made at, `refsync-export --verify --head SEQ:HASH` / `--since-export EXPORT` prove
that nothing up to that head was cut or edited, and an export signed with the Ed25519 key
of `[audit] signing_key_file` is checked offline with `refsync-export --verify-file EXPORT
--pubkey KEY`.

The tenant makes three runs: one that creates three requests (exit 0), one that cannot
reach Lever (exit 75), one that succeeds again. Each test then tampers with a copy of the
database the way an attacker with write access to it would.
SIMULATED: Lever and Crosschq are the fakes; the refused port is a loopback port nobody
listens on.
"""
import hashlib
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import unittest

import harness
from test_outage import closed_port
from test_trigger import Scenario, move

EX_OK, EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_CANTCREAT, EX_TEMPFAIL = 0, 64, 65, 66, 73, 75
HEAD_LINE = re.compile(r"^refsync: run (\d+): audit head (\d+):([0-9a-f]{64})$", re.M)


def audit_hash(prev, seq, at, run_id, kind, subject, detail):
    """hash = hex(SHA-256(prev_hash || canonical(event))), canonical as in lib/audit.h."""
    h = hashlib.sha256()
    h.update(prev.encode("ascii"))
    h.update(("refsync-audit-v1|%d|%d|%s|" % (seq, at, "" if run_id is None else run_id)).encode())
    fields = [kind.encode(), subject.encode(), detail.encode()]
    for i, f in enumerate(fields):
        h.update(b"%d:" % len(f))
        h.update(f)
        if i < 2:
            h.update(b"|")
    return h.hexdigest()


class AuditAnchorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="refsync-anchor-test.")
        scenario = Scenario(seed=55)
        ids = scenario.candidates(3)
        t = scenario.tenant()
        try:
            move(t, ids)
            cls.runs = [t.run("run")]
            good = t.conf["lever"]["url"]
            t.write_conf({"lever": {"url": "http://127.0.0.1:%d/v1" % closed_port()},
                          "sync": {"remote_wait_seconds": "1"}})
            cls.runs.append(t.run("run"))
            t.write_conf({"lever": {"url": good}})
            # the last run under a journal: stderr is the stream JOURNAL_STREAM names
            journal = os.path.join(cls.dir, "journal")
            with open(journal, "wb") as stream:
                st = os.fstat(stream.fileno())
                env = t.env({"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
                code = subprocess.run([harness.binary("refsync"), "-c", t.conf_path, "run"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=stream, timeout=120,
                                      cwd=t.dir).returncode
            with open(journal, encoding="utf-8") as f:
                cls.journal = f.read()
            cls.last_code = code
            cls.db = os.path.join(cls.dir, "refsync.db")
            source = sqlite3.connect(t.conf["sync"]["database"])
            target = sqlite3.connect(cls.db)
            source.backup(target)
            source.close()
            target.close()
        finally:
            t.__exit__(None, None, None)
        db = sqlite3.connect(cls.db)
        cls.events = db.execute("SELECT seq, at, run_id, kind, subject, detail, hash FROM audit_events "
                                "ORDER BY seq").fetchall()
        cls.run_rows = db.execute("SELECT id, exit_code FROM runs ORDER BY id").fetchall()
        db.close()
        cls.head = (cls.events[-1][0], cls.events[-1][6])
        cls.count = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    # ---- helpers

    def copy(self, *sql, signing_key=None):
        """A copy of the database with sql applied, and a config naming it. Returns the config."""
        AuditAnchorTest.count += 1
        n = AuditAnchorTest.count
        db = os.path.join(self.dir, "copy-%d.db" % n)
        shutil.copy(self.db, db)
        connection = sqlite3.connect(db)
        for statement in sql:
            if callable(statement):
                statement(connection)
            else:
                connection.execute(statement)
        connection.commit()
        connection.close()
        conf = os.path.join(self.dir, "copy-%d.conf" % n)
        with open(conf, "w") as f:
            f.write("[sync]\ndatabase = %s\n" % db)
            if signing_key:
                f.write("\n[audit]\nsigning_key_file = %s\n" % signing_key)
        return conf

    def export(self, conf, *args):
        env = {k: v for k, v in os.environ.items() if k not in harness.DROPPED_ENV}
        return subprocess.run([harness.binary("refsync-export"), "-c", conf] + list(args), env=env,
                              capture_output=True, text=True, timeout=120, cwd=self.dir)

    def offline(self, *args):
        """refsync-export with no config at all (an auditor's machine)."""
        env = {k: v for k, v in os.environ.items() if k not in harness.DROPPED_ENV}
        env["REFSYNC_CONFIG"] = os.path.join(self.dir, "no-such.conf")
        return subprocess.run([harness.binary("refsync-export")] + list(args), env=env,
                              capture_output=True, text=True, timeout=120, cwd=self.dir)

    def head_arg(self):
        return "%d:%s" % self.head

    def run_event(self, run_id, kind):
        return [e[0] for e in self.events if e[2] == run_id and e[3] == kind][-1]

    def keygen(self, name):
        key = os.path.join(self.dir, name + ".key")
        pub = os.path.join(self.dir, name + ".pub")
        r = self.export(self.copy(signing_key=key), "--keygen", "-o", pub)
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        return key, pub

    def broken(self, result, seq, *phrases):
        self.assertEqual(result.returncode, EX_DATAERR, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"^[a-z ]+ BROKEN at event %d[ :]" % seq)
        for phrase in phrases:
            self.assertIn(phrase, result.stdout)

    # ---- the runs and the journal

    def test_the_three_runs_and_their_chained_records(self):
        self.assertEqual([r.returncode for r in self.runs] + [self.last_code], [EX_OK, EX_TEMPFAIL, EX_OK])
        self.assertEqual(self.run_rows, [(1, 0), (2, 75), (3, 0)])
        for run_id in (1, 2, 3):
            for kind in ("run.start", "run.end"):
                detail = [e[5] for e in self.events if e[2] == run_id and e[3] == kind]
                self.assertEqual(len(detail), 1, (run_id, kind))
                self.assertRegex(detail[0], r"; row [0-9a-f]{64}$")
        r = self.export(self.copy(), "--verify")
        self.assertEqual(r.returncode, EX_OK, r.stdout + r.stderr)
        self.assertIn("audit chain intact: %d events checked" % len(self.events), r.stdout)
        self.assertIn("runs intact: all 3 runs match the chain", r.stdout)

    def test_every_run_logs_its_head_at_info_priority(self):
        for number, result in ((1, self.runs[0]), (2, self.runs[1])):
            found = HEAD_LINE.findall(result.stderr)
            self.assertEqual(len(found), 1, result.stderr)
            run_id, seq, digest = found[0]
            self.assertEqual(int(run_id), number)
            end = self.run_event(number, "run.end")
            self.assertEqual(int(seq), end)
            self.assertEqual(digest, self.events[end - 1][6])
        line = "<6>run 3: audit head %d:%s\n" % self.head
        self.assertIn(line, self.journal)

    # ---- truncation, deletion, edits

    def test_deleting_the_last_ten_events_is_detected(self):
        seq = self.head[0]
        conf = self.copy("DELETE FROM audit_events WHERE seq > %d" % (seq - 10))
        r = self.export(conf, "--verify", "--head", self.head_arg())
        self.broken(r, seq - 9, "the trail ends at event %d, but the anchored head is event %d: events %d "
                    "to %d were cut" % (seq - 10, seq, seq - 9, seq))
        # without the anchor too: the last run's row says it ended, its record is gone
        r = self.export(conf, "--verify")
        self.assertEqual(r.returncode, EX_DATAERR, r.stdout)
        self.assertRegex(r.stdout, r"^runs BROKEN at event \d+ \(kind run\.(start|end), at [^)]*\): run \d+ "
                         r"does not match event \d+, its newest record: the runs row was edited\n")

    def test_deleting_a_failed_run_is_detected(self):
        conf = self.copy("DELETE FROM runs WHERE exit_code <> 0")
        end = self.run_event(2, "run.end")
        r = self.export(conf, "--verify")
        self.broken(r, end, "run 2, recorded by event %d, is missing from the runs table (deleted)" % end)
        # the report such a deletion would change
        page = self.export(conf, "--format", "html").stdout
        self.assertIn('<td id="runs-failed">0</td>', page)

    def test_editing_a_run_row_is_detected(self):
        end = self.run_event(2, "run.end")
        r = self.export(self.copy("UPDATE runs SET exit_code = 0 WHERE id = 2"), "--verify")
        self.broken(r, end, "run 2 does not match event %d, its newest record: the runs row was edited" % end)

    def test_an_inserted_run_is_detected(self):
        conf = self.copy("INSERT INTO runs(id, command, started_at, ended_at, exit_code) "
                         "VALUES (4, 'run', 1, 2, 0)")
        r = self.export(conf, "--verify")
        self.assertEqual(r.returncode, EX_DATAERR, r.stdout)
        self.assertIn("runs BROKEN: run 4 is in the runs table but not in the audit chain (inserted)", r.stdout)

    def test_editing_one_event_is_detected(self):
        r = self.export(self.copy("UPDATE audit_events SET detail = 'nothing happened' WHERE seq = 5"),
                        "--verify", "--head", self.head_arg())
        self.broken(r, 5, "content does not match its hash (edited)")

    def test_deleting_an_event_in_the_middle_is_detected(self):
        r = self.export(self.copy("DELETE FROM audit_events WHERE seq = 6"), "--verify", "--head",
                        self.head_arg())
        self.broken(r, 7, "events are missing")

    def test_a_rewritten_chain_is_detected_by_the_anchored_head(self):
        def rewrite(connection):
            prev = ""
            for seq, at, run_id, kind, subject, detail, _ in self.events:
                if seq == 5:
                    detail = "nothing happened"
                digest = audit_hash(prev, seq, at, run_id, kind, subject, detail)
                connection.execute("UPDATE audit_events SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                                   (detail, prev, digest, seq))
                prev = digest
        conf = self.copy(rewrite)
        r = self.export(conf, "--verify")
        self.assertEqual(r.returncode, EX_OK, r.stdout)  # consistent in itself: only an anchor can tell
        r = self.export(conf, "--verify", "--head", self.head_arg())
        self.broken(r, self.head[0], "has another hash than the anchored head: the trail up to event %d was "
                    "rewritten" % self.head[0])
        # an events export made before names the first event changed; a report only the head
        intact = self.copy()
        for fmt, first in (("xml", 5), ("csv", 5), ("html", self.head[0])):
            with self.subTest(fmt=fmt):
                path = os.path.join(self.dir, "before-rewrite.%s" % fmt)
                self.assertEqual(self.export(intact, "--format", fmt, "-o", path).returncode, EX_OK)
                r = self.export(conf, "--verify", "--since-export", path)
                self.broken(r, first, "has another hash than the ")

    def test_an_events_export_names_the_first_event_of_a_renumbered_trail(self):
        cut = 6
        def remove_and_renumber(connection):
            connection.execute("DELETE FROM audit_events WHERE seq = %d" % cut)
            prev = ""
            kept = [e for e in self.events if e[0] != cut]
            for new_seq, (seq, at, run_id, kind, subject, detail, _) in enumerate(kept, start=1):
                digest = audit_hash(prev, new_seq, at, run_id, kind, subject, detail)
                connection.execute("UPDATE audit_events SET seq = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                                   (new_seq, prev, digest, seq))
                prev = digest
        conf = self.copy(remove_and_renumber)
        self.assertEqual(self.export(conf, "--verify").returncode, EX_OK)
        path = os.path.join(self.dir, "before-cut.csv")
        self.assertEqual(self.export(self.copy(), "--format", "csv", "--from", "2000-01-01", "-o", path).returncode,
                         EX_OK)
        r = self.export(conf, "--verify", "--since-export", path)
        self.broken(r, cut, "event %d has another hash than the export lists: it was edited, or an event before "
                    "it was removed, and the chain recomputed" % cut)

    def test_an_intact_trail_holds_its_anchored_head_and_an_older_one(self):
        conf = self.copy()
        r = self.export(conf, "--verify", "--head", self.head_arg())
        self.assertEqual(r.returncode, EX_OK, r.stdout + r.stderr)
        self.assertIn("anchored head holds: event %d has hash %s; nothing recorded up to it was cut or edited"
                      % self.head, r.stdout)
        end = self.run_event(1, "run.end")
        r = self.export(conf, "--verify", "--head", "%d:%s" % (end, self.events[end - 1][6]))
        self.assertEqual(r.returncode, EX_OK, r.stdout + r.stderr)
        for bad in ("12", "x:%s" % self.head[1], "%d:%s" % (self.head[0], self.head[1][:-1]),
                    "%d:%s" % (self.head[0], self.head[1].upper())):
            r = self.export(conf, "--verify", "--head", bad)
            self.assertEqual(r.returncode, EX_USAGE, bad)
            self.assertIn("--head takes SEQ:HASH", r.stderr)

    def test_since_export_finds_what_was_cut_after_the_export(self):
        conf = self.copy()
        for fmt in ("xml", "csv", "html"):
            with self.subTest(fmt=fmt):
                path = os.path.join(self.dir, "since.%s" % fmt)
                self.assertEqual(self.export(conf, "--format", fmt, "-o", path).returncode, EX_OK)
                r = self.export(conf, "--verify", "--since-export", path)
                self.assertEqual(r.returncode, EX_OK, r.stdout + r.stderr)
                self.assertIn("anchored head holds: event %d" % self.head[0], r.stdout)
                cut = self.copy("DELETE FROM audit_events WHERE seq > %d" % (self.head[0] - 3),
                                "DELETE FROM runs WHERE id = 3")
                r = self.export(cut, "--verify", "--since-export", path)
                self.broken(r, self.head[0] - 2, "were cut")
        r = self.export(conf, "--verify", "--since-export", os.path.join(self.dir, "missing.xml"))
        self.assertEqual(r.returncode, EX_NOINPUT, r.stderr)

    # ---- signed exports

    def test_signed_exports_verify_offline_and_nothing_else_does(self):
        key, pub = self.keygen("signing")
        other_key, other_pub = self.keygen("other")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        with open(key) as f:
            private = f.read()
        self.assertIn("BEGIN PRIVATE KEY", private)
        with open(pub) as f:
            self.assertIn("BEGIN PUBLIC KEY", f.read())
        conf = self.copy(signing_key=key)
        body = private.strip().splitlines()[1]
        for fmt, kinds in (("xml", ("events", "runs")), ("csv", ("events", "requests")), ("html", (None,))):
            for kind in kinds:
                with self.subTest(fmt=fmt, kind=kind):
                    path = os.path.join(self.dir, "signed-%s-%s" % (fmt, kind))
                    args = ["--format", fmt, "-o", path] + (["--kind", kind] if kind else [])
                    r = self.export(conf, *args)
                    self.assertEqual(r.returncode, EX_OK, r.stderr)
                    self.assertNotIn(body, r.stderr)
                    with open(path, "rb") as f:
                        data = f.read()
                    self.assertNotIn(body.encode(), data)
                    self.assertRegex(data.rsplit(b"\n", 2)[-2].decode(),
                                     r"refsync-export-head v1 format=%s seq=%d hash=%s at=\S+ body-sha256="
                                     r"[0-9a-f]{64} key=[0-9a-f]{16} ed25519=[A-Za-z0-9+/]{86}==" %
                                     (fmt, self.head[0], self.head[1]))
                    r = self.offline("--verify-file", path, "--pubkey", pub)
                    self.assertEqual(r.returncode, EX_OK, r.stdout + r.stderr)
                    self.assertIn("export verified: %s is signed by key" % path, r.stdout)
                    self.assertIn("made at audit head %d:%s" % self.head, r.stdout)
                    # one byte of the content changed
                    edited = path + ".edited"
                    middle = len(data) // 2
                    with open(edited, "wb") as f:
                        f.write(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1:])
                    r = self.offline("--verify-file", edited, "--pubkey", pub)
                    self.assertEqual(r.returncode, EX_DATAERR, r.stdout)
                    self.assertIn("its content does not match its signed digest", r.stdout)
                    # the head line changed: another seq
                    forged = path + ".forged"
                    with open(forged, "wb") as f:
                        f.write(data.replace(b" seq=%d " % self.head[0], b" seq=%d " % (self.head[0] - 1)))
                    r = self.offline("--verify-file", forged, "--pubkey", pub)
                    self.assertEqual(r.returncode, EX_DATAERR, r.stdout)
                    self.assertIn("the signature of its head line is not valid", r.stdout)
                    # the wrong public key
                    r = self.offline("--verify-file", path, "--pubkey", other_pub)
                    self.assertEqual(r.returncode, EX_DATAERR, r.stdout)
                    self.assertIn("is not valid for the public key %s" % other_pub, r.stdout)
                    # and the database still holds what it was made at
                    r = self.export(conf, "--verify", "--since-export", path, "--pubkey", pub)
                    self.assertEqual(r.returncode, EX_OK, r.stdout + r.stderr)
                    r = self.export(conf, "--verify", "--since-export", edited, "--pubkey", pub)
                    self.assertEqual(r.returncode, EX_DATAERR, r.stdout + r.stderr)
        # an unsigned export is not "verified"
        unsigned = os.path.join(self.dir, "unsigned.csv")
        self.assertEqual(self.export(self.copy(), "--format", "csv", "-o", unsigned).returncode, EX_OK)
        r = self.offline("--verify-file", unsigned, "--pubkey", pub)
        self.assertEqual(r.returncode, EX_DATAERR, r.stdout)
        self.assertIn("is not signed", r.stdout)
        # not an export, not a key
        r = self.offline("--verify-file", key, "--pubkey", pub)
        self.assertEqual(r.returncode, EX_DATAERR, r.stdout)
        self.assertIn("not a refsync-export head line", r.stdout)
        r = self.offline("--verify-file", unsigned, "--pubkey", unsigned)
        self.assertEqual(r.returncode, EX_NOINPUT, r.stderr)
        self.assertIn("not an Ed25519 public key", r.stderr)
        r = self.offline("--verify-file", unsigned)
        self.assertEqual(r.returncode, EX_USAGE, r.stderr)

    def test_keygen_never_replaces_a_key_and_a_bad_key_is_refused(self):
        key, _ = self.keygen("kept")
        with open(key) as f:
            before = f.read()
        r = self.export(self.copy(signing_key=key), "--keygen")
        self.assertEqual(r.returncode, EX_CANTCREAT, r.stderr)
        self.assertIn("a key is there already", r.stderr)
        with open(key) as f:
            self.assertEqual(f.read(), before)
        r = self.export(self.copy(), "--keygen")
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("[audit] signing_key_file is not set", r.stderr)
        # readable by others: refused, like every secret file; not a key: refused
        os.chmod(key, 0o644)
        r = self.export(self.copy(signing_key=key), "--format", "csv")
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("refusing a secret file readable by group or others", r.stderr)
        self.assertEqual(r.stdout, "")
        junk = os.path.join(self.dir, "junk.key")
        with open(junk, "w") as f:
            f.write("not a key at all\n")
        os.chmod(junk, 0o600)
        r = self.export(self.copy(signing_key=junk), "--format", "csv")
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("[audit] signing_key_file: not an Ed25519 private key", r.stderr)
        self.assertNotIn("not a key at all", r.stderr)


class OldDatabaseTest(unittest.TestCase):
    """A database written before runs were chained: its events stay valid, and the runs are
    covered from the first run of this version on."""

    def test_an_old_database_is_covered_from_its_first_new_run(self):
        with harness.Tenant() as t:
            path = t.conf["sync"]["database"]
            db = sqlite3.connect(path)
            with open(os.path.join(os.path.dirname(harness.__file__), "..", "..", "schema",
                                   "001_initial.sql")) as f:
                db.executescript(f.read())
            db.execute("PRAGMA application_id = %d" % 0x52465343)
            db.execute("PRAGMA user_version = 1")
            prev = ""
            for run_id, code in ((1, 0), (2, 1)):
                db.execute("INSERT INTO runs(id, command, started_at, ended_at, exit_code) VALUES (?, 'run', ?, ?, ?)",
                           (run_id, run_id * 1000, run_id * 1000 + 500, code))
                detail = "run exit=%d pulled=0 decided=0 done=0 failed=0 held=0" % code
                digest = audit_hash(prev, run_id, run_id * 1000 + 500, run_id, "run.end", "run:%d" % run_id, detail)
                db.execute("INSERT INTO audit_events VALUES (?, ?, ?, 'run.end', ?, ?, ?, ?)",
                           (run_id, run_id * 1000 + 500, run_id, "run:%d" % run_id, detail, prev, digest))
                prev = digest
            db.commit()
            db.close()
            r = t.run_export("--verify")
            self.assertEqual(r.returncode, EX_OK, r.stdout + r.stderr)
            self.assertIn("runs: no run is in the chain yet", r.stdout)
            result = t.run("run")
            self.assertEqual(result.returncode, EX_OK, result.stderr)
            start = [row[0] for row in t.db().execute(
                "SELECT seq FROM audit_events WHERE kind = 'run.start' AND run_id = 3")]
            self.assertEqual(start, [3])
            r = t.run_export("--verify")
            self.assertEqual(r.returncode, EX_OK, r.stdout + r.stderr)
            self.assertIn("runs intact: 1 run from run 3 (event 3) on matches the chain; runs before run 3 "
                          "predate runs in the chain and are not covered", r.stdout)
            # an old run is not covered (said above); the new one is
            db = t.db()
            db.execute("DELETE FROM runs WHERE id = 2")
            db.commit()
            self.assertEqual(t.run_export("--verify").returncode, EX_OK)
            db.execute("UPDATE runs SET exit_code = 1 WHERE id = 3")
            db.commit()
            db.close()
            r = t.run_export("--verify")
            self.assertEqual(r.returncode, EX_DATAERR, r.stdout)
            self.assertIn("run 3 does not match event", r.stdout)


if __name__ == "__main__":
    unittest.main()
