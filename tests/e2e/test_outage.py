"""Outages that will not heal are not "try again later" (issue 18, item 3).

A certificate that does not verify is configuration (78) at the first
attempt; a refused connection is transient (75) until it has lasted
[sync] outage_alert_minutes, then it fails (69) with a warning naming the
host; a database refsync cannot write is the environment's fault (73/70).
Every transport message names the method, the URL and libcurl's detail.
SIMULATED: the TLS server is a loopback python ssl socket with a self-signed
certificate made here; the refused port is a loopback port nobody listens on.
"""
import os
import re
import socket
import ssl
import subprocess
import threading
import unittest

import harness
from test_trigger import Scenario, created_requests, move  # noqa: E402

EX_OK, EX_SOFTWARE, EX_CANTCREAT, EX_TEMPFAIL, EX_CONFIG = 0, 70, 73, 75, 78
EX_UNAVAILABLE = 69


class TLSServer:
    """A loopback TLS listener with an untrusted self-signed certificate; counts connections."""

    def __init__(self, directory):
        self.cert = os.path.join(directory, "cert.pem")
        self.key = os.path.join(directory, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert, self.key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def close(self):
        self.sock.close()


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class OutageTest(unittest.TestCase):

    def test_untrusted_certificate_is_config_at_the_first_attempt(self):
        with harness.Tenant() as t:
            server = TLSServer(t.path())
            try:
                t.write_conf({"lever": {"url": "https://127.0.0.1:%d/v1" % server.port}})
                result = t.run("run", timeout=120)
            finally:
                server.close()
            self.assertEqual(result.returncode, EX_CONFIG, result.stderr)
            # each request of the run (the pull asks for a few pages at once) was tried once:
            # one connection each, no retry
            sent = int(re.search(r"Lever (\d+) requests", result.stderr).group(1))
            self.assertEqual(server.connections, sent, result.stderr)
            self.assertLessEqual(sent, 4)
            self.assertNotIn("retrying", result.stderr)
            # the method, the URL (scheme, host, port, path: no query), curl's name and its detail
            self.assertRegex(result.stderr,
                             r"Lever GET https://127\.0\.0\.1:%d/v1/[a-z/]+: SSL peer certificate or SSH "
                             r"remote key was not OK \(curl error 60\): [^\n]*certificate" % server.port)
            self.assertNotIn("?", result.stderr.split("Lever GET ")[1].split(":")[1])
            self.assertIn("check the url in the config, the host's name and its certificate", result.stderr)
            runs = [tuple(r) for r in t.db().execute("SELECT command, exit_code FROM runs ORDER BY id")]
            self.assertEqual(runs, [("run", EX_CONFIG)])

    def test_untrusted_crosschq_certificate_is_config_too(self):
        # three candidates entered the trigger stage: their Crosschq creates meet the certificate
        scenario = Scenario(seed=28)
        ids = scenario.candidates(3)
        t = scenario.tenant()
        try:
            move(t, ids)
            server = TLSServer(t.path())
            try:
                t.write_conf({"crosschq": {"url": "https://127.0.0.1:%d" % server.port}})
                result = t.run("run", timeout=120)
            finally:
                server.close()
            self.assertEqual(result.returncode, EX_CONFIG, result.stderr)
            self.assertNotIn("retrying", result.stderr)
            self.assertRegex(result.stderr,
                             r"Crosschq [A-Z]+ https://127\.0\.0\.1:%d/[^ ]*: SSL peer certificate or SSH "
                             r"remote key was not OK \(curl error 60\): [^\n]*certificate" % server.port)
            # nothing was sent: the creates wait, planned, for the fixed configuration
            states = {r[0] for r in t.db().execute("SELECT state FROM outbox")}
            self.assertEqual(states, {"planned"})
            self.assertEqual(created_requests(t), [])
        finally:
            t.__exit__(None, None, None)

    def test_untrusted_crosschq_certificate_while_reading_requests_is_config(self):
        # the requests exist; the next run reads them from a Crosschq whose certificate fails
        scenario = Scenario(seed=29)
        ids = scenario.candidates(2)
        t = scenario.tenant()
        try:
            move(t, ids)
            self.assertEqual(t.run("run").returncode, EX_OK)
            self.assertEqual(len(created_requests(t)), 2)
            server = TLSServer(t.path())
            try:
                t.write_conf({"crosschq": {"url": "https://127.0.0.1:%d" % server.port}})
                result = t.run("run", timeout=120)
            finally:
                server.close()
            self.assertEqual(result.returncode, EX_CONFIG, result.stderr)
            self.assertNotIn("retrying", result.stderr)
            self.assertRegex(result.stderr,
                             r"refsync: error: Crosschq GET https://127\.0\.0\.1:%d/[^ ]*: SSL peer certificate "
                             r"or SSH remote key was not OK \(curl error 60\): [^\n]*certificate[^\n]*: not "
                             r"retried: check the url in the config" % server.port)
        finally:
            t.__exit__(None, None, None)

    def test_untrusted_crosschq_certificate_while_resolving_is_config(self):
        # a create left in doubt (its answer lost); the operator settles it with resolve --sent
        # while Crosschq's certificate fails: that is the set-up (78), not "try again later"
        scenario = Scenario(seed=31)
        ids = scenario.candidates(1)
        t = scenario.tenant()
        try:
            move(t, ids)
            t.crosschq.lose_create(1)
            self.assertEqual(t.run("run").returncode, EX_TEMPFAIL)
            [create] = t.crosschq.state()["creates"]
            [key] = [r[0] for r in t.db().execute("SELECT key FROM outbox WHERE state = 'sending'")]
            server = TLSServer(t.path())
            try:
                t.write_conf({"crosschq": {"url": "https://127.0.0.1:%d" % server.port}})
                result = t.run("resolve", key, "--sent", create["request_id"], timeout=120)
            finally:
                server.close()
            self.assertEqual(result.returncode, EX_CONFIG, result.stderr)
            self.assertNotIn("retrying", result.stderr)
            self.assertRegex(result.stderr,
                             r"Crosschq GET https://127\.0\.0\.1:%d/[^ ]*: SSL peer certificate or SSH "
                             r"remote key was not OK \(curl error 60\)" % server.port)
            # nothing was settled: the create is still in doubt
            states = [r[0] for r in t.db().execute("SELECT state FROM outbox WHERE key = ?", (key,))]
            self.assertEqual(states, ["sending"])
        finally:
            t.__exit__(None, None, None)

    def test_refused_connection_names_the_url_and_stays_transient(self):
        with harness.Tenant() as t:
            port = closed_port()
            t.write_conf({"lever": {"url": "http://127.0.0.1:%d/v1" % port},
                          "sync": {"remote_wait_seconds": "1"}})
            result = t.run("run", timeout=120)
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            self.assertRegex(result.stderr,
                             r"Lever GET http://127\.0\.0\.1:%d/v1/[a-z/]+: Couldn't connect to server "
                             r"\(curl error 7\): Failed to connect to 127\.0\.0\.1 port %d" % (port, port))

    def test_refusals_that_last_turn_into_69_with_a_warning_until_a_run_succeeds(self):
        minute = 60000
        with harness.Tenant() as t:
            base = t.lever.now_ms()
            t.now_ms = base
            self.assertEqual(t.run("run").returncode, EX_OK)
            port = closed_port()
            good_url = t.conf["lever"]["url"]
            t.write_conf({"lever": {"url": "http://127.0.0.1:%d/v1" % port},
                          "sync": {"remote_wait_seconds": "1", "outage_alert_minutes": "60"}})
            refused = (r"Lever GET http://127\.0\.0\.1:%d/v1/[a-z_/]+: Couldn't connect to server "
                       r"\(curl error 7\): Failed to connect to 127\.0\.0\.1 port %d" % (port, port))

            def run_at(minutes):
                t.now_ms = base + minutes * minute
                return t.run("run", timeout=120)

            # failing runs for 1 to 59 minutes: transient, no warning
            for at in (1, 31, 60):
                result = run_at(at)
                self.assertEqual(result.returncode, EX_TEMPFAIL, (at, result.stderr))
                self.assertNotIn("warning", result.stderr)
                self.assertRegex(result.stderr, refused)
            # 61 minutes since the first failing run began: 69, with the warning
            result = run_at(62)
            self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stderr)
            self.assertRegex(result.stderr,
                             r"refsync: warning: Lever \(127\.0\.0\.1\) unreachable for 61 minutes: " + refused +
                             r"[^\n]*; exit 69 until a run succeeds \(\[sync\] outage_alert_minutes = 60\)\n")
            # and it stays failing while the outage lasts
            result = run_at(90)
            self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stderr)
            self.assertIn("refsync: warning: Lever (127.0.0.1) unreachable for 89 minutes: ", result.stderr)
            # Lever back: 0; the next failure is transient again
            t.write_conf({"lever": {"url": good_url}})
            self.assertEqual(run_at(95).returncode, EX_OK)
            t.write_conf({"lever": {"url": "http://127.0.0.1:%d/v1" % port}})
            result = run_at(100)
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            self.assertNotIn("warning", result.stderr)
            result = run_at(161)
            self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stderr)
            self.assertIn("unreachable for 61 minutes", result.stderr)
            # 0 turns the alert off
            t.write_conf({"sync": {"outage_alert_minutes": "0"}})
            result = run_at(300)
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            self.assertNotIn("warning", result.stderr)
            runs = [r[0] for r in t.db().execute("SELECT exit_code FROM runs ORDER BY id")]
            self.assertEqual(runs, [EX_OK, EX_TEMPFAIL, EX_TEMPFAIL, EX_TEMPFAIL, EX_UNAVAILABLE, EX_UNAVAILABLE,
                                    EX_OK, EX_TEMPFAIL, EX_UNAVAILABLE, EX_TEMPFAIL])


class CrosschqReadsTest(unittest.TestCase):

    def test_crosschq_down_while_reading_requests_is_75_then_69_until_it_answers(self):
        # the requests exist and are due for a read; Crosschq answers 503 to everything. The
        # run does all the rest, but it must not look like success: 75, and 69 once it lasts
        minute = 60000
        scenario = Scenario(seed=31)
        ids = scenario.candidates(2)
        t = scenario.tenant()
        try:
            base = t.lever.now_ms()
            t.now_ms = base
            move(t, ids)
            self.assertEqual(t.run("run").returncode, EX_OK)
            self.assertEqual(len(created_requests(t)), 2)
            t.write_conf({"sync": {"remote_wait_seconds": "1", "outage_alert_minutes": "60"}})
            t.crosschq.faults({"rate_503": 1.0, "retry_after": "0"})
            t.now_ms = base + 1 * minute
            result = t.run("run", timeout=120)
            self.assertEqual(result.returncode, EX_TEMPFAIL, result.stderr)
            self.assertRegex(result.stderr, r"Crosschq GET /partners/reference-request/[^ ]+: HTTP 503")
            self.assertIn("Crosschq request states are read again next run", result.stderr)
            t.now_ms = base + 62 * minute
            result = t.run("run", timeout=120)
            self.assertEqual(result.returncode, EX_UNAVAILABLE, result.stderr)
            self.assertRegex(result.stderr, r"refsync: warning: Crosschq \(127\.0\.0\.1\) unreachable for 61 "
                                            r"minutes: [^\n]*HTTP 503[^\n]*; exit 69 until a run succeeds")
            t.crosschq.faults({})
            t.now_ms = base + 63 * minute
            result = t.run("run", timeout=120)
            self.assertEqual(result.returncode, EX_OK, result.stderr)
        finally:
            t.__exit__(None, None, None)


def give_to(uid, top):
    """chown -R uid:uid top."""
    os.chown(top, uid, uid)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid)


NOBODY = 65534


class DatabaseTest(unittest.TestCase):

    def run_as_nobody(self, t, *args):
        """refsync as an unprivileged user (root writes anything), or the test is skipped."""
        if os.getuid() == 0:
            argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
        else:
            argv = []
        return subprocess.run(argv + [harness.shared_binary("refsync"), "-c", t.conf_path] + list(args),
                              env=t.env(), capture_output=True, text=True, timeout=120)

    def test_read_only_database_is_73_not_75(self):
        with harness.Tenant() as t:
            self.assertEqual(t.run("run").returncode, EX_OK)
            if os.getuid() == 0:
                give_to(NOBODY, t.path())
            db = t.path("state", "refsync.db")
            os.chmod(db, 0o444)
            result = self.run_as_nobody(t, "run")
            self.assertEqual(result.returncode, EX_CANTCREAT, result.stderr)
            # the state directory's check (before the lock) finds it and names the fix
            self.assertIn("%s is not writable by user nobody (owner nobody, mode 0444): run refsync as its "
                          "owner, or give it to this user: chown nobody: %s" % (db, db), result.stderr)
            # writable again (SQLite gave its -wal and -shm the database's mode): the next run goes ahead
            for name in os.listdir(t.path("state")):
                if name.startswith("refsync.db"):
                    os.chmod(t.path("state", name), 0o644)
            again = self.run_as_nobody(t, "run")
            self.assertEqual(again.returncode, EX_OK, again.stderr)

    def test_database_path_that_cannot_be_opened_is_73(self):
        with harness.Tenant() as t:
            os.makedirs(t.path("state", "refsync.db"))
            result = t.run("run")
            self.assertEqual(result.returncode, EX_CANTCREAT, result.stderr)
            self.assertIn("%s: cannot open the database: unable to open database file" % t.path("state", "refsync.db"),
                          result.stderr)

    def test_not_a_database_is_still_70(self):
        with harness.Tenant() as t:
            os.makedirs(t.path("state"), exist_ok=True)
            with open(t.path("state", "refsync.db"), "wb") as handle:
                handle.write(b"this is not an SQLite database, it is a text file" * 100)
            result = t.run("run")
            self.assertEqual(result.returncode, EX_SOFTWARE, result.stderr)
            self.assertNotIn("cannot write the database", result.stderr)


if __name__ == "__main__":
    unittest.main()
