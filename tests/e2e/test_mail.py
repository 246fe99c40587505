"""End-to-end: a follow-up prompt composed and sent by sync/mail.c, received by a real SMTP server.

The C side is `test_send_live` in tests/unit/test_mail.c: when REFSYNC_TEST_SMTP_URL is set, the
unit-test binary runs only that test, which composes a fixed prompt (José Müller, Tomás Berg, a
signed answer link), writes it to REFSYNC_TEST_SMTP_MESSAGE_OUT and sends it with mail_send().
This side starts tests/fakes/smtp_sink.py (aiosmtpd) on loopback, runs the binary, and reads what
the sink stored. The binary is $REFSYNC_BIN_DIR/../tests/test_mail when REFSYNC_BIN_DIR is set
(it points at build/asan/bin), else build/asan/tests/test_mail; a missing binary fails the tests.
"""

import email
import email.policy
import email.utils
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"
SINK = os.path.join(REPO, "tests", "fakes", "smtp_sink.py")

# what test_send_live composes (tests/unit/test_mail.c)
ANSWER_SECRET = b"e2e-answer-secret"
REQUEST_ID = "cq-req-e2e-1"
EXPIRES_S = 1798476599                # 2026-12-28T16:49:59Z
DATE_S = 1795884599                   # 2026-11-28T16:49:59Z
REPORT = "https://app.crosschq.example/reports/cq-req-e2e-1"
SMTP_USER = "refsync"
SMTP_PASSWORD = "sink-password-7f3a"


def test_binary():
    """Path of the sanitizer build's test_mail; AssertionError (a failure, not a skip) if missing."""
    bindir = os.environ.get("REFSYNC_BIN_DIR")
    if bindir:
        path = os.path.normpath(os.path.join(bindir, "..", "tests", "test_mail"))
    else:
        path = os.path.join(REPO, "build", "asan", "tests", "test_mail")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("test_mail not found at %s: build it with "
                             "`make build/asan/tests/test_mail`" % path)
    return path


class Sink:
    """tests/fakes/smtp_sink.py in a temporary directory, optionally requiring AUTH."""

    def __init__(self, auth=False):
        self.auth = auth
        self.dir = tempfile.mkdtemp(prefix="refsync-mail-")
        self.maildir = os.path.join(self.dir, "mail")
        self.process = None
        self.port = None

    def __enter__(self):
        port_file = os.path.join(self.dir, "smtp.port")
        argv = [PYTHON, SINK, "--port-file", port_file, "--maildir", self.maildir]
        if self.auth:
            password_file = os.path.join(self.dir, "smtp.password")
            with open(os.open(password_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
                handle.write(SMTP_PASSWORD + "\n")
            argv += ["--auth", "%s:%s" % (SMTP_USER, password_file)]
        self.stderr = open(os.path.join(self.dir, "sink.stderr"), "wb")
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self.stderr, cwd=self.dir)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as handle:
                    text = handle.read().strip()
                if text:
                    self.port = int(text)
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.__exit__(None, None, None)
        raise RuntimeError("smtp_sink.py did not start (exit %s)" % self.process.returncode)

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()
        if not os.environ.get("REFSYNC_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def envelopes(self):
        """[{"mail_from", "rcpt_tos", "size", "raw"}] of every complete message, in order."""
        found = []
        for name in sorted(os.listdir(self.maildir)):
            if name.endswith(".json"):
                with open(os.path.join(self.maildir, name), encoding="utf-8") as handle:
                    meta = json.load(handle)
                with open(os.path.join(self.maildir, name[:-5] + ".eml"), "rb") as handle:
                    meta["raw"] = handle.read()
                found.append(meta)
        return found


class PromptMailTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.binary = test_binary()

    def send(self, sink, user=None, password=None, expect_fail=False):
        """Run test_send_live against sink; returns (stdout, the composed message bytes)."""
        out_file = os.path.join(sink.dir, "composed.eml")
        env = {k: v for k, v in os.environ.items() if not k.startswith("REFSYNC_TEST_")}
        env["REFSYNC_TEST_SMTP_URL"] = sink.url
        env["REFSYNC_TEST_SMTP_MESSAGE_OUT"] = out_file
        if user is not None:
            env["REFSYNC_TEST_SMTP_USER"] = user
        if password is not None:
            env["REFSYNC_TEST_SMTP_PASSWORD"] = password
        if expect_fail:
            env["REFSYNC_TEST_SMTP_EXPECT_FAIL"] = "1"
        result = subprocess.run([self.binary], env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=120, cwd=sink.dir)
        output = result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")
        self.assertEqual(result.returncode, 0, output)
        # the live test ran (it is skipped without the URL) and was the only one
        self.assertIn("[       OK ] test_send_live", output)
        self.assertIn("[  PASSED  ] 1 test(s).", output)
        self.assertNotIn("SKIPPED", output)
        with open(out_file, "rb") as handle:
            composed = handle.read()
        return output, composed

    def assert_prompt(self, sink, composed):
        """Exactly one message arrived, byte for byte as composed, and it reads right."""
        envelopes = sink.envelopes()
        self.assertEqual(len(envelopes), 1)
        self.assertEqual(envelopes[0]["mail_from"], "refsync@example.com")
        self.assertEqual(envelopes[0]["rcpt_tos"], ["tomas.berg@example.com"])
        raw = envelopes[0]["raw"]
        self.assertEqual(raw, composed)

        head, sep, body = raw.partition(b"\r\n\r\n")
        self.assertTrue(sep)
        self.assertTrue(raw.endswith(b"\r\n"))
        for line in head.split(b"\r\n"):
            self.assertLessEqual(len(line), 78, line)
        for line in body[:-2].split(b"\r\n"):
            self.assertLessEqual(len(line), 76, line)
        self.assertNotIn(b"\r\n", raw.replace(b"\r\n", b""))
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""))
        self.assertTrue(all(byte < 0x80 for byte in raw), "the message is 7-bit")

        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(len(msg["To"].addresses), 1)
        self.assertEqual(msg["To"].addresses[0].display_name, "Tomás Berg")
        self.assertEqual(msg["To"].addresses[0].addr_spec, "tomas.berg@example.com")
        self.assertEqual(msg["From"].addresses[0].display_name, "Reference checks")
        self.assertEqual(msg["From"].addresses[0].addr_spec, "refsync@example.com")
        self.assertEqual(msg["Subject"], "Was José Müller hired?")
        self.assertEqual(msg["Message-ID"], "<refsync-cq-req-e2e-1@refsync.example.com>")
        self.assertEqual(msg["Date"], "Sat, 28 Nov 2026 16:49:59 +0000")
        self.assertEqual(email.utils.parsedate_to_datetime(msg["Date"]).timestamp(), DATE_S)
        self.assertEqual(msg["Auto-Submitted"], "auto-generated")
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        self.assertEqual(msg["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(msg.defects, [])

        # the decoded text keeps the message's CRLF line ends
        text = msg.get_content()
        self.assertNotIn("\n", text.replace("\r\n", ""))
        text = text.replace("\r\n", "\n")
        self.assertIn("Hello Tomás Berg,\n", text)
        self.assertIn("\nCandidate: José Müller\n", text)
        self.assertIn("\nJob: Senior Engineer — Platform\n", text)
        self.assertIn("\nReport: %s\n" % REPORT, text)
        self.assertIn("The link works until 28 December 2026, 16:49 UTC.", text)
        self.assertIn("nothing changes until you press a button", text)
        match = re.search(r"\nWas José Müller hired\? Answer here: (\S+)\n", text)
        self.assertIsNotNone(match, text)
        link = urllib.parse.urlsplit(match.group(1))
        self.assertEqual((link.scheme, link.netloc, link.path),
                         ("http", "127.0.0.1:8080", "/cgi-bin/refsync-hook/answer"))
        query = urllib.parse.parse_qs(link.query, strict_parsing=True)
        self.assertEqual(query["r"], [REQUEST_ID])
        self.assertEqual(query["e"], [str(EXPIRES_S)])
        signed = ("refsync-answer-v1|%s|%d" % (REQUEST_ID, EXPIRES_S)).encode()
        self.assertEqual(query["s"], [hmac.new(ANSWER_SECRET, signed, hashlib.sha256).hexdigest()])

    def test_prompt_delivered_without_auth(self):
        with Sink() as sink:
            _, composed = self.send(sink)
            self.assert_prompt(sink, composed)

    def test_prompt_delivered_with_auth(self):
        with Sink(auth=True) as sink:
            _, composed = self.send(sink, user=SMTP_USER, password=SMTP_PASSWORD)
            self.assert_prompt(sink, composed)

    def test_wrong_password_fails(self):
        with Sink(auth=True) as sink:
            output, _ = self.send(sink, user=SMTP_USER, password="not-the-password",
                                  expect_fail=True)
            self.assertEqual(sink.envelopes(), [])
            self.assertRegex(output, r"mail_send: -1 SMTP smtp://127\.0\.0\.1:%d: AUTH refused: 535 "
                             % sink.port)
            self.assertNotIn("not-the-password", output)

    def test_resend_is_identical(self):
        """A prompt sent again after a crash carries the same bytes, Message-ID included."""
        with Sink() as sink:
            _, first = self.send(sink)
            _, second = self.send(sink)
            envelopes = sink.envelopes()
            self.assertEqual(len(envelopes), 2)
            self.assertEqual(first, second)
            self.assertEqual(envelopes[0]["raw"], envelopes[1]["raw"])
            ids = [email.message_from_bytes(e["raw"], policy=email.policy.default)["Message-ID"]
                   for e in envelopes]
            self.assertEqual(ids, ["<refsync-cq-req-e2e-1@refsync.example.com>"] * 2)


if __name__ == "__main__":
    unittest.main()
