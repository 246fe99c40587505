"""End-to-end: refsync-hook as a CGI program behind a real web server (lighttpd).

lighttpd from Debian runs on a loopback port chosen at run time, with a lighttpd.conf
generated in a temporary directory (mod_cgi; REFSYNC_CONFIG set with mod_setenv). The
test signs Lever deliveries and answer links itself (Python's hmac, not the C code),
sends them with urllib and checks the HTTP statuses and what landed in the spool.

Binary: $REFSYNC_BIN_DIR/refsync-hook when set, else build/normal/bin/refsync-hook.
Run alone: /usr/bin/python3 -m unittest tests/e2e/test_hook.py
Set REFSYNC_KEEP=1 to keep the temporary directory.
"""

import base64
import glob
import hashlib
import hmac
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIGHTTPD = shutil.which("lighttpd", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/lighttpd"

STAGE_TOKEN = "e2e-stage-change-signature-token-5f1c2a"
HIRED_TOKEN = "e2e-hired-signature-token-9d8e7f"
ANSWER_SECRET = "e2e-answer-secret-0b1c2d3e4f"
CQ_TOKEN = "e2e-crosschq-webhook-token-7a6b5c"
CQ_BASIC = ("crosschq-e2e", "basic-pa55-e2e-44aa")
BODY_MAX = 64 * 1024
HOUR_MS = 3600 * 1000
# sanitizer runtime settings the hook should run with (lighttpd passes no environment)
SANITIZER_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


def hook_binary():
    """The refsync-hook under test; a missing binary is a failure, never a skip."""
    bindir = os.environ.get("REFSYNC_BIN_DIR")
    path = os.path.join(bindir, "refsync-hook") if bindir else \
        os.path.join(REPO, "build", "normal", "bin", "refsync-hook")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("refsync-hook not found at %s: build it with `make` (or set REFSYNC_BIN_DIR)"
                             % path)
    return os.path.abspath(path)


def free_port():
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_ms():
    return int(time.time() * 1000)


def lever_signature(secret, token, triggered_at):
    """hex(HMAC-SHA256(webhook token, body.token + body.triggeredAt)), as Lever signs."""
    message = (token + str(triggered_at)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def delivery(secret, event="candidateStageChange", token=None, triggered_at=None, data=None, **overrides):
    """A Lever webhook body (bytes) signed with secret; overrides replace top-level fields."""
    token = token or os.urandom(24).hex()  # 48 characters, like Lever's
    triggered_at = now_ms() - 2000 if triggered_at is None else triggered_at
    if data is None:
        data = {"opportunityId": "opp-e2e-1", "candidateId": "opp-e2e-1", "contactId": "contact-1",
                "toStageId": "stage-reference", "fromStageId": "stage-screen"}
    body = {"event": event, "triggeredAt": triggered_at, "token": token,
            "signature": lever_signature(secret, token, triggered_at), "data": data}
    body.update(overrides)
    return json.dumps(body).encode(), token


def spool_name(prefix, key):
    return "%s%s.json" % (prefix, hashlib.sha256(key.encode()).hexdigest()[:32])


def answer_query(request_id, expires_at_s, secret=ANSWER_SECRET):
    """The query of an answer link, signed as refsync signs it."""
    message = "refsync-answer-v1|%s|%d" % (request_id, expires_at_s)
    sig = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return "r=%s&e=%d&s=%s" % (urllib.parse.quote(request_id, safe="-._~"), expires_at_s, sig)


class _Keep(urllib.request.HTTPErrorProcessor):
    """Return 4xx/5xx responses like 2xx ones instead of raising."""

    def http_response(self, request, response):
        return response

    https_response = http_response


class HookBehindLighttpd(unittest.TestCase):
    """One lighttpd for the class; every test starts with an empty spool."""

    @classmethod
    def setUpClass(cls):
        cls.binary = hook_binary()
        cls.dir = tempfile.mkdtemp(prefix="refsync-e2e-hook-")
        cls.spool = os.path.join(cls.dir, "state", "spool")
        cls.database = os.path.join(cls.dir, "state", "refsync.db")
        os.makedirs(os.path.join(cls.dir, "state"))
        cls._write_secrets_and_config()
        cls._create_database()
        cls.opener = urllib.request.build_opener(_Keep)
        cls.server = None
        try:
            cls._start_lighttpd()
        except BaseException:
            cls._stop_lighttpd()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._stop_lighttpd()
        if os.environ.get("REFSYNC_KEEP"):
            print("kept %s" % cls.dir)
        else:
            shutil.rmtree(cls.dir, ignore_errors=True)

    # -------------------------------------------------------------- set-up

    @classmethod
    def _secret(cls, name, value):
        path = os.path.join(cls.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        os.chmod(path, 0o600)
        return path

    @classmethod
    def _write_secrets_and_config(cls):
        stage = cls._secret("lever-stage-change.token", STAGE_TOKEN)
        hired = cls._secret("lever-hired.token", HIRED_TOKEN)
        lever_key = cls._secret("lever.key", "e2e-lever-api-key")
        cq_key = cls._secret("crosschq.key", "e2e-crosschq-api-key")
        answer = cls._secret("answer.secret", ANSWER_SECRET)
        cq_token = cls._secret("crosschq-webhook.token", CQ_TOKEN)
        cq_basic = cls._secret("crosschq-webhook.basic", "%s:%s" % CQ_BASIC)
        template = ("[sync]\ndatabase = %s\nspool = %s\n\n"
                    "[lever]\nurl = http://127.0.0.1:9/v1\napi_key_file = %s\n"
                    "stage_change_token_file = %s\nhired_token_file = %s\n\n"
                    "[crosschq]\nurl = http://127.0.0.1:9\napi_key_file = %s\n"
                    "webhook_auth = %s\nwebhook_secret_file = %s\n\n"
                    "[followup]\nanswer_url = http://127.0.0.1:9/refsync-hook/answer\n"
                    "answer_secret_file = %s\n")
        cls.config = os.path.join(cls.dir, "refsync.conf")
        with open(cls.config, "w") as f:
            f.write(template % (cls.database, cls.spool, lever_key, stage, hired, cq_key, "token", cq_token,
                                answer))
        # the same installation with Crosschq's webhook on Basic auth (served under /basic/)
        cls.basic_config = os.path.join(cls.dir, "refsync-basic.conf")
        with open(cls.basic_config, "w") as f:
            f.write(template % (cls.database, cls.spool, lever_key, stage, hired, cq_key, "basic", cq_basic,
                                answer))

    @classmethod
    def _create_database(cls):
        """The tenant database as refsync's migrations make it, with one completed request."""
        con = sqlite3.connect(cls.database)
        version = 0
        for path in sorted(glob.glob(os.path.join(REPO, "schema", "[0-9]*.sql"))):
            version = int(os.path.basename(path).split("_")[0])
            with open(path) as f:
                con.executescript(f.read())
            con.execute("PRAGMA user_version = %d" % version)
        con.execute("PRAGMA application_id = %d" % 0x52465343)
        con.execute("INSERT INTO lever_postings(id, text) VALUES('post-1', 'Staff <Engineer> & Co')")
        con.execute("INSERT INTO lever_opportunities(id, name, posting_id, pulled_at) "
                    "VALUES('opp-1', 'Grace \"<b>Hopper</b>\"', 'post-1', 1)")
        for rid in ("cq-req-1", "cq-req-2", "cq-req-3", "cq-req-4"):
            con.execute("INSERT INTO cq_requests(id, opportunity_id, status) VALUES(?, 'opp-1', 'completed')",
                        (rid,))
        con.commit()
        con.close()

    @classmethod
    def _start_lighttpd(cls):
        www = os.path.join(cls.dir, "www")
        os.makedirs(os.path.join(www, "broken"))
        os.makedirs(os.path.join(www, "basic"))
        os.symlink(cls.binary, os.path.join(www, "refsync-hook"))
        os.symlink(cls.binary, os.path.join(www, "broken", "refsync-hook"))
        os.symlink(cls.binary, os.path.join(www, "basic", "refsync-hook"))
        env = [("REFSYNC_CONFIG", cls.config)]
        env += [(k, os.environ[k]) for k in SANITIZER_ENV if os.environ.get(k)]
        env_text = ", ".join('"%s" => "%s"' % kv for kv in env)
        broken_env = ", ".join('"%s" => "%s"' % kv for kv in
                               [("REFSYNC_CONFIG", os.path.join(cls.dir, "missing.conf"))] + env[1:])
        basic_env = ", ".join('"%s" => "%s"' % kv for kv in [("REFSYNC_CONFIG", cls.basic_config)] + env[1:])
        cls.server_log = os.path.join(cls.dir, "lighttpd.out")
        for attempt in range(5):
            cls.port = free_port()
            conf = os.path.join(cls.dir, "lighttpd.conf")
            with open(conf, "w") as f:
                f.write('server.document-root = "%s"\n' % www)
                f.write('server.bind = "127.0.0.1"\n')
                f.write("server.port = %d\n" % cls.port)
                f.write('server.errorlog = "%s"\n' % os.path.join(cls.dir, "lighttpd-error.log"))
                f.write('server.modules = ( "mod_setenv", "mod_cgi" )\n')
                # bodies up to 1 MiB reach the hook, so that it is the hook that says 413
                f.write("server.max-request-size = 1024\n")
                f.write('cgi.assign = ( "/refsync-hook" => "" )\n')
                f.write("setenv.add-environment = ( %s )\n" % env_text)
                f.write('$HTTP["url"] =~ "^/broken/" {\n  setenv.add-environment = ( %s )\n}\n' % broken_env)
                f.write('$HTTP["url"] =~ "^/basic/" {\n  setenv.add-environment = ( %s )\n}\n' % basic_env)
                # lighttpd's mod_cgi passes the Authorization header as HTTP_AUTHORIZATION
                # without any setting (Apache needs CGIPassAuth On; see refsync-hook(8))
                # running as root in CI: lighttpd keeps that user (no server.username)
            log = open(cls.server_log, "ab")
            cls.server = subprocess.Popen([LIGHTTPD, "-D", "-f", conf], stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT, env={"PATH": "/usr/sbin:/usr/bin:/bin"})
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if cls.server.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", cls.port), timeout=0.5).close()
                    return
                except OSError:
                    time.sleep(0.05)
            cls._stop_lighttpd()
        with open(cls.server_log, errors="replace") as f:
            raise AssertionError("lighttpd did not start:\n" + f.read())

    @classmethod
    def _stop_lighttpd(cls):
        if cls.server is None:
            return
        if cls.server.poll() is None:
            cls.server.terminate()
            try:
                cls.server.wait(10)
            except subprocess.TimeoutExpired:
                cls.server.kill()
                cls.server.wait()
        cls.server = None

    def setUp(self):
        shutil.rmtree(self.spool, ignore_errors=True)
        self.log_offset = os.path.getsize(self.server_log)

    def tearDown(self):
        # Sanitizer reports of the hook land in lighttpd's stderr.
        with open(self.server_log, errors="replace") as f:
            f.seek(self.log_offset)
            new = f.read()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, new, "refsync-hook reported a sanitizer error:\n" + new)

    # -------------------------------------------------------------- helpers

    def request(self, method, path, body=None, content_type=None, query=None, prefix="/refsync-hook",
                authorization=None):
        url = "http://127.0.0.1:%d%s%s" % (self.port, prefix, path)
        if query is not None:
            url += "?" + query
        req = urllib.request.Request(url, data=body, method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        if authorization is not None:
            req.add_header("Authorization", authorization)
        with self.opener.open(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read().decode("utf-8", "replace")

    def post_json(self, route, body, content_type="application/json"):
        status, _, text = self.request("POST", "/lever/" + route, body, content_type)
        return status, text

    def spooled(self, sub="new"):
        d = os.path.join(self.spool, sub)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def assertNothingSpooled(self):
        for sub in ("new", "tmp", "done"):
            self.assertEqual(self.spooled(sub), [], sub)

    def read_spooled(self, name, sub="new"):
        with open(os.path.join(self.spool, sub, name)) as f:
            return json.load(f)

    # -------------------------------------------------------------- webhooks

    def test_valid_event_delivered_five_times_is_queued_once(self):
        before = now_ms()
        body, token = delivery(STAGE_TOKEN)
        for _ in range(5):
            status, text = self.post_json("stage-change", body)
            self.assertEqual(status, 200, text)
        name = spool_name("wh-stage-change-", token)
        self.assertEqual(self.spooled(), [name])
        self.assertEqual(self.spooled("tmp"), [])
        record = self.read_spooled(name)
        triggered = json.loads(body)["triggeredAt"]
        received = record.pop("received_at")
        self.assertEqual(record, {"type": "webhook", "event": "candidateStageChange", "route": "stage-change",
                                  "opportunity_id": "opp-e2e-1", "to_stage_id": "stage-reference",
                                  "triggered_at": triggered})
        self.assertTrue(before - 1000 <= received <= now_ms() + 1000, received)

    def test_valid_hired_event(self):
        body, token = delivery(HIRED_TOKEN, "candidateHired",
                               data={"opportunityId": "opp-e2e-2", "candidateId": "opp-e2e-2"})
        status, text = self.post_json("hired", body, "application/json; charset=utf-8")
        self.assertEqual(status, 200, text)
        record = self.read_spooled(spool_name("wh-hired-", token))
        self.assertEqual((record["route"], record["event"], record["opportunity_id"], record["to_stage_id"]),
                         ("hired", "candidateHired", "opp-e2e-2", None))

    def test_forged_signatures_are_refused(self):
        body, _ = delivery(STAGE_TOKEN, signature="0" * 64)
        self.assertEqual(self.post_json("stage-change", body)[0], 401)
        body, _ = delivery("a-guessed-token", "candidateStageChange")
        self.assertEqual(self.post_json("stage-change", body)[0], 401)
        # a real signature with the last digit changed
        body, _ = delivery(STAGE_TOKEN)
        doc = json.loads(body)
        doc["signature"] = doc["signature"][:-1] + ("1" if doc["signature"][-1] == "0" else "0")
        self.assertEqual(self.post_json("stage-change", json.dumps(doc).encode())[0], 401)
        # a valid signature moved onto another triggeredAt
        doc = json.loads(delivery(STAGE_TOKEN)[0])
        doc["triggeredAt"] -= 1
        self.assertEqual(self.post_json("stage-change", json.dumps(doc).encode())[0], 401)
        # no signature at all
        doc.pop("signature")
        self.assertEqual(self.post_json("stage-change", json.dumps(doc).encode())[0], 401)
        self.assertNothingSpooled()

    def test_resigned_with_the_other_webhooks_token(self):
        body, _ = delivery(HIRED_TOKEN, "candidateStageChange")
        self.assertEqual(self.post_json("stage-change", body)[0], 401)
        body, _ = delivery(STAGE_TOKEN, "candidateHired", data={"opportunityId": "opp-e2e-2"})
        self.assertEqual(self.post_json("hired", body)[0], 401)
        self.assertNothingSpooled()

    def test_replay_after_processing_queues_nothing(self):
        body, token = delivery(STAGE_TOKEN)
        self.assertEqual(self.post_json("stage-change", body)[0], 200)
        name = spool_name("wh-stage-change-", token)
        # the sync takes it in: new/ -> done/
        os.rename(os.path.join(self.spool, "new", name), os.path.join(self.spool, "done", name))
        for _ in range(3):
            self.assertEqual(self.post_json("stage-change", body)[0], 200)
        self.assertEqual(self.spooled(), [])
        self.assertEqual(self.spooled("done"), [name])

    def test_stale_and_future_deliveries(self):
        stale, _ = delivery(STAGE_TOKEN, triggered_at=now_ms() - 25 * HOUR_MS)
        self.assertEqual(self.post_json("stage-change", stale)[0], 401)
        future, _ = delivery(STAGE_TOKEN, triggered_at=now_ms() + 10 * 60 * 1000)
        self.assertEqual(self.post_json("stage-change", future)[0], 401)
        old_test, _ = delivery(HIRED_TOKEN, "candidateHired", triggered_at=now_ms() - 48 * HOUR_MS, data={})
        self.assertEqual(self.post_json("hired", old_test)[0], 401)
        self.assertNothingSpooled()
        recent, _ = delivery(STAGE_TOKEN, triggered_at=now_ms() - 23 * HOUR_MS)
        self.assertEqual(self.post_json("stage-change", recent)[0], 200)
        self.assertEqual(len(self.spooled()), 1)

    def test_oversized_body(self):
        body, _ = delivery(STAGE_TOKEN)
        padded = body + b" " * (BODY_MAX + 1 - len(body))
        self.assertEqual(len(padded), BODY_MAX + 1)
        self.assertEqual(self.post_json("stage-change", padded)[0], 413)
        self.assertEqual(self.post_json("stage-change", body + b" " * (700 * 1024))[0], 413)
        self.assertNothingSpooled()
        # exactly the limit is accepted
        self.assertEqual(self.post_json("stage-change", padded[:BODY_MAX])[0], 200)
        self.assertEqual(len(self.spooled()), 1)

    def test_malformed_bodies(self):
        good, _ = delivery(STAGE_TOKEN)
        bad = [b"", b"{", b"[]", b"null", b"not json", good[:-1], good + b"{}",
               b'{"token": "x", /* comment */ "triggeredAt": 1}', b'{"a": "\xff"}', good + b"\x00"]
        for body in bad:
            with self.subTest(body=body[:40]):
                self.assertEqual(self.post_json("stage-change", body)[0], 400)
        doc = json.loads(good)
        for field in ("token", "triggeredAt"):
            d = dict(doc)
            d.pop(field)
            self.assertEqual(self.post_json("stage-change", json.dumps(d).encode())[0], 400, field)
        d = dict(doc)
        d["triggeredAt"] = str(d["triggeredAt"])
        self.assertEqual(self.post_json("stage-change", json.dumps(d).encode())[0], 400)
        # signed, but the fields the sync needs are missing
        for data in ({"contactId": "c"}, {"opportunityId": 7}, [1]):
            body, _ = delivery(STAGE_TOKEN, data=data)
            self.assertEqual(self.post_json("stage-change", body)[0], 400, data)
        body, _ = delivery(STAGE_TOKEN)
        d = json.loads(body)
        d.pop("data")
        self.assertEqual(self.post_json("stage-change", json.dumps(d).encode())[0], 400)
        self.assertNothingSpooled()

    def test_wrong_method(self):
        body, _ = delivery(STAGE_TOKEN)
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            status, headers, _ = self.request(method, "/lever/stage-change",
                                              None if method in ("GET", "DELETE") else body, "application/json")
            self.assertEqual(status, 405, method)
            self.assertEqual(headers.get("Allow"), "POST")
        status, headers, _ = self.request("PUT", "/answer", b"x", "application/x-www-form-urlencoded")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("Allow"), "GET, POST")
        self.assertNothingSpooled()

    def test_wrong_content_type(self):
        body, _ = delivery(STAGE_TOKEN)
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonp", None):
            status, _, _ = self.request("POST", "/lever/stage-change", body, ctype)
            self.assertEqual(status, 415, ctype)
        self.assertNothingSpooled()

    def test_lever_test_delivery(self):
        seen = []
        for route, token in (("hired", HIRED_TOKEN), ("stage-change", STAGE_TOKEN)):
            body, envelope = delivery(token, "candidateHired", data={})
            self.assertEqual(self.post_json(route, body)[0], 200, route)
            seen.append(spool_name("wh-%s-" % route, envelope))
        # nothing queued; each envelope recorded as seen, so that it cannot be replayed
        self.assertEqual(self.spooled("new"), [])
        self.assertEqual(self.spooled("tmp"), [])
        self.assertEqual(self.spooled("done"), sorted(seen))

    def test_unknown_route(self):
        self.assertEqual(self.request("POST", "/lever/archived", b"{}", "application/json")[0], 404)
        self.assertNothingSpooled()

    def test_config_error_is_a_generic_500(self):
        body, _ = delivery(STAGE_TOKEN)
        status, _, text = self.request("POST", "/lever/stage-change", body, "application/json",
                                       prefix="/broken/refsync-hook")
        self.assertEqual(status, 500)
        self.assertNotIn(self.dir, text)
        self.assertNotIn("missing.conf", text)
        self.assertNothingSpooled()
        with open(self.server_log, errors="replace") as f:
            f.seek(self.log_offset)
            self.assertIn("missing.conf", f.read())  # the detail is in the server's log

    # -------------------------------------------------------------- Crosschq's webhook

    def crosschq(self, body, authorization, method="POST", prefix="/refsync-hook", content_type="application/json"):
        return self.request(method, "/crosschq", body, content_type, prefix=prefix, authorization=authorization)

    def server_log_since_setup(self):
        with open(self.server_log, errors="replace") as f:
            f.seek(self.log_offset)
            return f.read()

    def assertCrosschqRecord(self, body, before):
        """body is spooled once, as cq-<sha256>.json, in the documented record."""
        name = "cq-%s.json" % hashlib.sha256(body).hexdigest()[:32]
        self.assertIn(name, self.spooled())
        with open(os.path.join(self.spool, "new", name), "rb") as f:
            raw = f.read()
        head = b'{"type":"crosschq","received_at":'
        self.assertTrue(raw.startswith(head), raw[:80])
        received, rest = raw[len(head):].split(b",", 1)
        self.assertTrue(before - 1000 <= int(received) <= now_ms() + 1000, received)
        self.assertEqual(rest, b'"request":' + body + b"}\n")
        return name

    def test_crosschq_token_webhook(self):
        before = now_ms()
        forms = ("Token " + CQ_TOKEN, "Bearer " + CQ_TOKEN, CQ_TOKEN)
        for i, auth in enumerate(forms):
            body = json.dumps({"id": "cq-e2e-%d" % i, "candidate": {"first_name": "Ada", "last_name": "L",
                               "email": "ada@example.com", "mobile_phone": ""}, "job_position": "Engineer",
                               "status": "Completed", "progress": 100,
                               "report_url": "https://app.crosschq.com/r/%d" % i}).encode()
            status, headers, text = self.crosschq(body, auth, method="PUT" if i == 1 else "POST",
                                                  content_type=None if i == 2 else "application/json")
            self.assertEqual(status, 200, (auth, text))
            name = self.assertCrosschqRecord(body, before)
            self.assertEqual(text, "accepted: %s (request cq-e2e-%d)\n" % (name, i))
            self.assertIsNone(headers.get("WWW-Authenticate"))
        self.assertEqual(len(self.spooled()), 3)
        # delivered again: the same file
        status, _, text = self.crosschq(body, "Token " + CQ_TOKEN)
        self.assertEqual((status, text), (200, "already queued: %s\n" % name))
        self.assertEqual(len(self.spooled()), 3)
        self.assertNotIn(CQ_TOKEN, self.server_log_since_setup())

    def test_crosschq_wrong_or_missing_secret(self):
        body = json.dumps({"id": "cq-e2e-bad", "status": "Completed", "progress": 100}).encode()
        for auth in (None, "Token wrong-" + CQ_TOKEN, "Bearer " + CQ_TOKEN[:-1], CQ_TOKEN + "x",
                     "Basic " + base64.b64encode(CQ_TOKEN.encode()).decode()):
            with self.subTest(auth=auth):
                status, headers, text = self.crosschq(body, auth)
                self.assertEqual(status, 401, text)
                self.assertEqual(headers.get("WWW-Authenticate"), "Token")
        self.assertNothingSpooled()
        log = self.server_log_since_setup()
        self.assertIn("POST /crosschq: 401", log)
        self.assertNotIn(CQ_TOKEN, log)

    def test_crosschq_basic_webhook(self):
        before = now_ms()
        user, password = CQ_BASIC
        good = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        body = json.dumps({"id": "cq-e2e-basic", "status": "Sent", "progress": 0}).encode()
        for auth in (None, "Token %s:%s" % CQ_BASIC,
                     "Basic " + base64.b64encode(("%s:%sx" % CQ_BASIC).encode()).decode(),
                     "Basic " + base64.b64encode(("x%s:%s" % CQ_BASIC).encode()).decode()):
            with self.subTest(auth=auth):
                status, headers, text = self.crosschq(body, auth, prefix="/basic/refsync-hook")
                self.assertEqual(status, 401, text)
                self.assertEqual(headers.get("WWW-Authenticate"), 'Basic realm="refsync"')
        self.assertNothingSpooled()
        status, _, text = self.crosschq(body, good, method="PUT", prefix="/basic/refsync-hook")
        self.assertEqual(status, 200, text)
        self.assertCrosschqRecord(body, before)
        self.assertNotIn(password, self.server_log_since_setup())

    def test_crosschq_bad_requests(self):
        auth = "Token " + CQ_TOKEN
        for method in ("GET", "DELETE", "PATCH"):
            status, headers, _ = self.crosschq(None if method != "PATCH" else b"{}", auth, method=method)
            self.assertEqual(status, 405, method)
            self.assertEqual(headers.get("Allow"), "POST, PUT")
        for body in (b"", b"not json", b"[]", b'{"id": 7}', b'{"status": "Completed"}', b'{"id": "a"} x'):
            with self.subTest(body=body):
                status, _, text = self.crosschq(body, auth)
                self.assertEqual(status, 400, text)
        big = b'{"id": "cq-big"}' + b" " * BODY_MAX
        self.assertEqual(self.crosschq(big, auth)[0], 413)
        self.assertNothingSpooled()

    # -------------------------------------------------------------- answers

    def test_answer_get_changes_nothing(self):
        query = answer_query("cq-req-1", int(time.time()) + 86400)
        with open(self.database, "rb") as f:
            db_before = f.read()
        for _ in range(3):  # a mail scanner, a preview, the owner
            status, headers, page = self.request("GET", "/answer", query=query)
            self.assertEqual(status, 200, page)
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertIn("noindex", headers.get("X-Robots-Tag", ""))
        self.assertIn("Grace &quot;&lt;b&gt;Hopper&lt;/b&gt;&quot;", page)
        self.assertIn("Staff &lt;Engineer&gt; &amp; Co", page)
        self.assertNotIn("<b>Hopper", page)
        self.assertNotIn("<script", page.lower())
        self.assertIn('name="answer" value="hired"', page)
        self.assertIn('name="answer" value="not_hired"', page)
        # a HEAD is no different
        self.assertEqual(self.request("HEAD", "/answer", query=query)[0], 405)
        self.assertNothingSpooled()
        with open(self.database, "rb") as f:
            self.assertEqual(f.read(), db_before)

    def test_answer_post_once_then_already_answered(self):
        query = answer_query("cq-req-2", int(time.time()) + 86400)
        status, _, page = self.request("GET", "/answer", query=query)
        self.assertEqual(status, 200)
        # post the form the page carries, as a browser would (to the same URL)
        form = urllib.parse.urlencode({"r": "cq-req-2", "e": query.split("&e=")[1].split("&")[0],
                                       "s": query.split("&s=")[1], "answer": "not_hired"}).encode()
        status, _, page = self.request("POST", "/answer", form, "application/x-www-form-urlencoded",
                                       query=query)
        self.assertEqual(status, 200, page)
        self.assertIn("not hired", page)
        name = spool_name("answer-", "cq-req-2")
        self.assertEqual(self.spooled(), [name])
        record = self.read_spooled(name)
        self.assertEqual((record["type"], record["request_id"], record["hired"]), ("answer", "cq-req-2", False))
        # a second answer does not replace the first
        form2 = form.replace(b"not_hired", b"hired")
        status, _, page = self.request("POST", "/answer", form2, "application/x-www-form-urlencoded")
        self.assertEqual(status, 200)
        self.assertIn("already answered", page)
        self.assertEqual(self.spooled(), [name])
        self.assertEqual(self.read_spooled(name), record)

    def test_answer_link_altered_or_expired(self):
        exp = int(time.time()) + 86400
        good = answer_query("cq-req-3", exp)
        altered = [good.replace("cq-req-3", "cq-req-4"),
                   good.replace("e=%d" % exp, "e=%d" % (exp + 86400)),
                   good[:-1] + ("1" if good[-1] == "0" else "0"),
                   answer_query("cq-req-3", exp, secret="not-the-secret"),
                   good.split("&s=")[0], ""]
        for query in altered:
            with self.subTest(query=query):
                self.assertEqual(self.request("GET", "/answer", query=query)[0], 403)
                status, _, _ = self.request("POST", "/answer", (query + "&answer=hired").encode(),
                                            "application/x-www-form-urlencoded")
                self.assertEqual(status, 403)
        expired = answer_query("cq-req-3", int(time.time()) - 60)
        status, _, page = self.request("GET", "/answer", query=expired)
        self.assertEqual(status, 410)
        self.assertIn("expired", page)
        self.assertEqual(self.request("POST", "/answer", (expired + "&answer=hired").encode(),
                                      "application/x-www-form-urlencoded")[0], 410)
        self.assertNothingSpooled()


if __name__ == "__main__":
    unittest.main()
