"""End-to-end harness: a throwaway tenant (fakes, secrets, config) around the real binaries.

    with harness.Tenant(seed) as t:          # seed: TenantBuilder | dict | path | None (sandbox)
        t.lever.mutate([...]); r = t.run("run"); t.db(); t.mails(); t.crosschq.log()

Binaries come from $REFSYNC_BIN_DIR when set (refsync, refsync-hook, refsync-export all
there), else from the repository (sync/refsync, hook/refsync-hook, export/refsync-export).
A missing binary fails the test with a clear message; it is never skipped. Starting a Tenant
needs only the fakes, so the fakes' own tests run without any C code.
Set REFSYNC_KEEP=1 (or keep_dir=True) to keep the temporary directory for debugging.
"""

import atexit
import base64
import email
import email.policy
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKES = os.path.join(REPO, "tests", "fakes")
PYTHON = "/usr/bin/python3"
sys.path.insert(0, FAKES)
import gen_tenant  # noqa: E402
from gen_tenant import TenantBuilder, DAY_MS  # noqa: E402,F401  (re-exported for tests)

PASS_THROUGH_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS",
                    "LD_LIBRARY_PATH", "LANG", "LC_ALL", "TZ")
DROPPED_ENV = ("REFSYNC_CONFIG", "CREDENTIALS_DIRECTORY", "JOURNAL_STREAM", "INVOCATION_ID",
               "REFSYNC_TEST_CRASH_AT")


def sandbox():
    """The demo tenant (the TenantBuilder behind tests/fakes/sandbox.json)."""
    return gen_tenant.sandbox()


def binary(name):
    """Path of a refsync binary; AssertionError (a test failure) when it is missing."""
    bindir = os.environ.get("REFSYNC_BIN_DIR")
    if bindir:
        path = os.path.join(bindir, name)
    elif name == "refsync-export":
        path = os.path.join(REPO, "export", name)
    elif name == "refsync-hook":
        path = os.path.join(REPO, "hook", name)
    else:
        path = os.path.join(REPO, "sync", name)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("%s not found or not executable at %s: build it with `make` "
                             "(or point REFSYNC_BIN_DIR at the binaries)" % (name, path))
    return path


_SHARED_BIN_DIR = None


def shared_binary(name):
    """A copy of binary(name) that any user can run: tests that drop to user nobody need
    it, and the checkout may sit below a directory only root can enter (mktemp -d is 0700).
    The copy lives in a 0755 directory made once per test process, removed at exit."""
    global _SHARED_BIN_DIR
    if _SHARED_BIN_DIR is None:
        _SHARED_BIN_DIR = tempfile.mkdtemp(prefix="refsync-bin-")
        os.chmod(_SHARED_BIN_DIR, 0o755)
        atexit.register(shutil.rmtree, _SHARED_BIN_DIR, True)
    path = os.path.join(_SHARED_BIN_DIR, name)
    if not os.path.exists(path):
        shutil.copy2(binary(name), path)
        os.chmod(path, 0o755)
    return path


# ---------------------------------------------------------------- talking to a fake

class ApiResponse:
    """A raw answer of a fake's API: status, headers (lower-case names), body, json()."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class FakeClient:
    """Control API (/_fake/) and plain API calls for one HTTP fake."""

    def __init__(self, name, port, api_key, auth_header, base_path):
        self.name = name
        self.port = port
        self.api_key = api_key
        self.auth_header = auth_header
        self.base_path = base_path
        self.url = "http://127.0.0.1:%d%s" % (port, base_path)

    def request(self, method, path, query=None, body=None, auth=True, headers=None,
                timeout=30):
        """One API request on a fresh connection; body is JSON-encoded unless bytes."""
        if query:
            path += "?" + urllib.parse.urlencode(query, doseq=True)
        all_headers = {"Accept": "application/json"}
        if auth:
            all_headers["Authorization"] = self.auth_header
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            answer = conn.getresponse()
            data = answer.read()
            return ApiResponse(answer.status, {k.lower(): v for k, v in answer.getheaders()},
                               data)
        finally:
            conn.close()

    def api(self, method, path, query=None, body=None, **kwargs):
        """A request under the API base path (/v1 for Lever, '' for Crosschq)."""
        return self.request(method, self.base_path + path, query, body, **kwargs)

    def _control(self, method, path, body=None):
        answer = self.request(method, "/_fake/" + path, body=body, auth=False)
        if answer.status != 200:
            raise AssertionError("%s fake: %s /_fake/%s -> %d %s" % (
                self.name, method, path, answer.status, answer.body.decode("utf-8", "replace")))
        return answer.json()

    def mutate(self, ops):
        """Apply test ops (see tests/fakes/README.md); returns the resulting objects."""
        return self._control("POST", "mutate", ops)

    def faults(self, spec):
        """Set the fault plan ({} clears it)."""
        return self._control("POST", "faults", spec)

    def clock(self, now_ms):
        """Pin the fake's clock (None: real time again)."""
        return self._control("POST", "clock", {"now_ms": now_ms})

    def now_ms(self):
        return self._control("GET", "clock")["now_ms"]

    def log(self):
        """Logged API requests, oldest first."""
        return self._control("GET", "log")

    def reset_log(self):
        return self._control("POST", "log/reset", {})

    def state(self):
        return self._control("GET", "state")

    def fail_for(self, email_address, status=422, detail="Invalid candidate email"):
        """Crosschq only: creates for this candidate email answer `status {"detail"}`
        (status None removes the entry)."""
        return self._control("POST", "fail_for",
                             {"email": email_address, "status": status, "detail": detail})

    def capabilities(self, **flags):
        """Crosschq only: switch section-2 capabilities (list, hire, hired_field, cancel,
        prospects) on or off; answers all of them. No arguments: just read them."""
        if not flags:
            return self._control("GET", "capabilities")
        return self._control("POST", "capabilities", flags)

    def auth_scheme(self, scheme):
        """Crosschq only: "" (bare key only, the default) or "Token" (also "Token <key>")."""
        return self._control("POST", "auth_scheme", {"auth_scheme": scheme})

    def webhook_config(self, url=None, method="POST", auth="none", secret="", deliver=True):
        """Crosschq only: the outbound webhook as an admin sets it in Crosschq. url None keeps
        deliveries in the pending queue; deliver False loses them."""
        return self._control("POST", "webhook", {"url": url, "method": method, "auth": auth,
                                                 "secret": secret, "deliver": deliver})

    def pending_webhooks(self):
        """Crosschq only: take (and clear) the queued deliveries:
        [{"method", "headers", "body" (raw JSON text), "request_id", "status"}]."""
        return self._control("GET", "webhook/pending")

    def webhook_deliveries(self):
        """Crosschq only: deliveries made to the url so far:
        [{"request_id", "status", "ok", "http_status", "error"}]."""
        return self._control("GET", "webhook/deliveries")

    def lose_create(self, count):
        """Crosschq only: the next `count` accepted creates happen, then the answer is lost."""
        return self._control("POST", "lose_create", {"count": count})

    def dedupe_creates(self, on=True):
        """Crosschq only: a create for a candidate email and job position that a request
        already has answers that request (as a de-duplicating Crosschq would)."""
        return self._control("POST", "dedupe_creates", {"on": on})

    def shutdown(self):
        return self._control("POST", "shutdown", {})


class HookResult:
    """What refsync-hook wrote as a CGI program, parsed (RFC 3875 section 6)."""

    def __init__(self, completed):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr.decode("utf-8", "replace")
        self.status, self.headers, self.body = parse_cgi(completed.stdout)

    def __repr__(self):
        return "HookResult(rc=%s, status=%s, body=%r, stderr=%r)" % (
            self.returncode, self.status, self.body[:200], self.stderr[-500:])


def parse_cgi(output):
    """Split CGI output into (status int or None, {lower-case name: value}, body bytes)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = output.partition(separator)
        if found:
            break
    else:
        return None, {}, output
    headers = {}
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        name, colon, value = line.decode("latin-1").partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    status = 200
    if "status" in headers:
        try:
            status = int(headers["status"].split()[0])
        except (ValueError, IndexError):
            status = None
    elif "location" in headers:
        status = 302
    return status, headers, body


# ---------------------------------------------------------------- the tenant

def template_section(ats_tag, jobrole="generic", managers=1, peers=1, hiring_manager=None,
                     **extra):
    """One [template NAME] section's keys (refsync.conf(5), TEMPLATES)."""
    keys = {"ats_tag": ats_tag, "jobrole": jobrole, "managers": str(managers),
            "peers": str(peers)}
    if hiring_manager:
        keys["hiring_manager"] = hiring_manager
    keys.update({k: str(v) for k, v in extra.items()})
    return keys


def default_templates():
    """The templates that serve gen_tenant.generate()'s tenants (its former Crosschq templates:
    engineering, sales, design, marketing, and executive that matches no posting)."""
    return {
        "template engineering": template_section("engineering", "software-engineer"),
        "template sales": template_section("sales",
                                           hiring_manager="Hiring Manager <hm.sales@example.com>"),
        "template design": template_section("design"),
        "template marketing": template_section(
            "marketing", hiring_manager="Hiring Manager <hm.marketing@example.com>"),
        "template executive": template_section("executive"),
    }


def write_secret(path, value):
    """Create a secret file with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)


class Tenant:
    """A temporary tenant: secrets, the Lever/Crosschq/SMTP fakes, and refsync.conf."""

    def __init__(self, seed=None, smtp_auth=False, keep_dir=None, now_ms=None,
                 start_timeout=60):
        self.seed = sandbox() if seed is None else seed
        self.builder = self.seed if isinstance(self.seed, TenantBuilder) else None
        self.smtp_auth = smtp_auth
        self.keep_dir = os.environ.get("REFSYNC_KEEP") == "1" if keep_dir is None else keep_dir
        self.now_ms = now_ms
        self.start_timeout = start_timeout
        self.processes = {}
        self.dir = None

    # ---- lifecycle

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="refsync-e2e-")
        for sub in ("secrets", "state", "spool", "fakes", "mail"):
            os.makedirs(self.path(sub), mode=0o700, exist_ok=True)
        self.secrets = {}
        for name in ("lever.key", "crosschq.key", "stage-change.token", "hired.token",
                     "answer.secret", "smtp.password", "crosschq-webhook.secret"):
            self.secrets[name] = secrets.token_hex(24)
            write_secret(self.path("secrets", name), self.secrets[name])
        seed_path = self._write_seed()
        for name, script, key in (("lever", "lever_fake.py", "lever.key"),
                                  ("crosschq", "crosschq_fake.py", "crosschq.key")):
            self._spawn(name, [PYTHON, os.path.join(FAKES, script), "--seed", seed_path,
                               "--port-file", self.path("fakes", name + ".port"),
                               "--log", self.path("fakes", name + ".log"),
                               "--api-key-file", self.path("secrets", key)])
        smtp = [PYTHON, os.path.join(FAKES, "smtp_sink.py"),
                "--port-file", self.path("fakes", "smtp.port"), "--maildir", self.path("mail")]
        if self.smtp_auth:
            smtp += ["--auth", "refsync:" + self.path("secrets", "smtp.password")]
        self._spawn("smtp", smtp)
        ports = {name: self._wait_port(name) for name in ("lever", "crosschq", "smtp")}
        self.smtp_port = ports["smtp"]
        lever_key, crosschq_key = self.secrets["lever.key"], self.secrets["crosschq.key"]
        self.lever = FakeClient(
            "lever", ports["lever"], lever_key,
            "Basic " + base64.b64encode((lever_key + ":").encode()).decode(), "/v1")
        self.crosschq = FakeClient("crosschq", ports["crosschq"], crosschq_key,
                                   crosschq_key, "")
        # the webhook as an admin sets it in Crosschq: Token auth with the shared secret;
        # deliveries wait in the fake's queue until a test hands them to refsync-hook
        self.crosschq.webhook_config(auth="token", secret=self.secrets["crosschq-webhook.secret"])
        self.conf_path = self.path("refsync.conf")
        self.conf = self.default_conf()
        self._write_conf_file()

    def stop(self):
        """Stop the fakes (SIGTERM, then SIGKILL) and remove the directory unless kept."""
        for name, (process, out, err) in list(self.processes.items()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
            out.close()
            err.close()
        self.processes = {}
        if self.dir and os.path.isdir(self.dir):
            if self.keep_dir:
                sys.stderr.write("refsync e2e: kept %s\n" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def _write_seed(self):
        path = self.path("fakes", "seed.json")
        if isinstance(self.seed, TenantBuilder):
            self.seed.write(path)
        elif isinstance(self.seed, dict):
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(self.seed, handle, ensure_ascii=False)
        else:
            shutil.copyfile(self.seed, path)
        return path

    def _spawn(self, name, argv):
        out = open(self.path("fakes", name + ".stdout"), "wb")
        err = open(self.path("fakes", name + ".stderr"), "wb")
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   cwd=self.dir)
        self.processes[name] = (process, out, err)

    def _wait_port(self, name):
        port_file = self.path("fakes", name + ".port")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as handle:
                    text = handle.read().strip()
                if text:
                    return int(text)
            process = self.processes[name][0]
            if process.poll() is not None:
                raise RuntimeError("%s fake exited with %s: %s" % (
                    name, process.returncode, self.fake_stderr(name)[-2000:]))
            time.sleep(0.02)
        raise RuntimeError("%s fake did not write its port file within %ss"
                           % (name, self.start_timeout))

    def fake_stderr(self, name):
        """What a fake wrote to stderr (tracebacks land here)."""
        with open(self.path("fakes", name + ".stderr"), "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    # ---- configuration

    def default_conf(self):
        """The config as {section: {key: value}}, exactly design.md's keys."""
        return {
            "sync": {"database": self.path("state", "refsync.db"),
                     "spool": self.path("spool"), "cancel_on_archive": "yes",
                     "trigger_since": ""},
            "lever": {"url": self.lever.url, "api_key_file": self.path("secrets", "lever.key"),
                      "trigger_stage": "Reference Check", "hired_reason": "Hired",
                      "perform_as": "", "requests_per_second": "50",
                      "stage_change_token_file": self.path("secrets", "stage-change.token"),
                      "hired_token_file": self.path("secrets", "hired.token")},
            "crosschq": {"url": self.crosschq.url,
                         "api_key_file": self.path("secrets", "crosschq.key"),
                         "requests_per_second": "50", "webhook_auth": "token",
                         "webhook_secret_file": self.path("secrets", "crosschq-webhook.secret")},
            "followup": {"after_days": "14", "smtp_url": "smtp://127.0.0.1:%d" % self.smtp_port,
                         "smtp_user": "refsync" if self.smtp_auth else "",
                         "smtp_password_file": self.path("secrets", "smtp.password")
                         if self.smtp_auth else "",
                         "from": "Reference checks <refsync@example.com>",
                         "answer_url": "http://127.0.0.1/cgi-bin/refsync-hook/answer",
                         "answer_secret_file": self.path("secrets", "answer.secret")},
            "prospects": {"export_existing": "no", "auto_export_new": "no"},
            **default_templates(),
        }

    def write_conf(self, overrides):
        """Merge {section: {key: value}} into the config and rewrite it (None deletes a key;
        a section given as None is removed)."""
        for section, values in overrides.items():
            if values is None:
                self.conf.pop(section, None)
                continue
            target = self.conf.setdefault(section, {})
            for key, value in values.items():
                if value is None:
                    target.pop(key, None)
                else:
                    target[key] = str(value)
        self._write_conf_file()

    def _write_conf_file(self):
        lines = ["; written by tests/e2e/harness.py"]
        for section, values in self.conf.items():
            lines.append("")
            lines.append("[%s]" % section)
            lines.extend("%s = %s" % (key, value) if value != "" else "%s =" % key
                         for key, value in values.items())
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, self.conf_path)

    # ---- running the programs

    def env(self, extra=None):
        """The environment for a refsync program: ours minus systemd/config leftovers."""
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        if self.now_ms is not None:
            env["REFSYNC_TEST_NOW"] = str(self.now_ms)
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    def run(self, *args, env=None, timeout=120, input=None):
        """Run `refsync -c <conf> args...`; returns subprocess.CompletedProcess (text)."""
        return subprocess.run([binary("refsync"), "-c", self.conf_path] + list(args),
                              env=self.env(env), capture_output=True, text=True,
                              timeout=timeout, input=input, cwd=self.dir)

    def run_export(self, *args, env=None, timeout=120, text=True):
        """Run `refsync-export -c <conf> args...`; returns subprocess.CompletedProcess."""
        return subprocess.run([binary("refsync-export"), "-c", self.conf_path] + list(args),
                              env=self.env(env), capture_output=True, text=text,
                              timeout=timeout, cwd=self.dir)

    def run_hook(self, env=None, body=b"", timeout=30):
        """Run refsync-hook as a web server would (CGI); returns a HookResult.

        env: CGI variables, e.g. {"PATH_INFO": "/lever/stage-change"}; defaults fill the
        rest (REQUEST_METHOD is POST when a body is given, else GET).
        """
        if isinstance(body, str):
            body = body.encode("utf-8")
        completed = subprocess.run([binary("refsync-hook")], env=self.hook_env(env, body),
                                   input=body, capture_output=True, timeout=timeout, cwd=self.dir)
        return HookResult(completed)

    def hook_env(self, env=None, body=b""):
        """The CGI environment run_hook gives refsync-hook for env and body (bytes)."""
        cgi = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
               "SERVER_SOFTWARE": "refsync-e2e", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "443", "HTTPS": "on", "REMOTE_ADDR": "127.0.0.1",
               "SCRIPT_NAME": "/cgi-bin/refsync-hook", "PATH_INFO": "",
               "QUERY_STRING": "", "REQUEST_METHOD": "POST" if body else "GET",
               "REFSYNC_CONFIG": self.conf_path, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if body:
            cgi["CONTENT_LENGTH"] = str(len(body))
            cgi["CONTENT_TYPE"] = "application/json"
        for key in PASS_THROUGH_ENV:
            if key in os.environ:
                cgi[key] = os.environ[key]
        if self.now_ms is not None:
            cgi["REFSYNC_TEST_NOW"] = str(self.now_ms)
        elif "REFSYNC_TEST_NOW" in os.environ:
            cgi["REFSYNC_TEST_NOW"] = os.environ["REFSYNC_TEST_NOW"]
        for key, value in (env or {}).items():
            if value is None:
                cgi.pop(key, None)
            else:
                cgi[key] = str(value)
        return cgi

    def webhook(self, event, data, kind="stage-change", token=None, triggered_at=None,
                signing_token=None):
        """A Lever webhook body (bytes) signed like Lever does: HMAC(token + triggeredAt)."""
        token = token or secrets.token_hex(24)
        triggered_at = triggered_at if triggered_at is not None else int(time.time() * 1000)
        key = signing_token or self.secrets["stage-change.token" if kind == "stage-change"
                                            else "hired.token"]
        signature = hmac.new(key.encode("utf-8"), (token + str(triggered_at)).encode("utf-8"),
                             hashlib.sha256).hexdigest()
        return json.dumps({"event": event, "triggeredAt": triggered_at, "token": token,
                           "signature": signature, "data": data}).encode("utf-8")

    def crosschq_webhook_env(self, item, path_info="/crosschq"):
        """CGI variables for refsync-hook receiving one Crosschq webhook delivery (an item of
        t.crosschq.pending_webhooks())."""
        env = {"PATH_INFO": path_info, "REQUEST_METHOD": item["method"],
               "CONTENT_TYPE": item["headers"].get("Content-Type", "application/json")}
        if "Authorization" in item["headers"]:
            env["HTTP_AUTHORIZATION"] = item["headers"]["Authorization"]
        return env

    def deliver_crosschq_webhooks(self, path_info="/crosschq"):
        """Hand every pending Crosschq webhook to refsync-hook (CGI), in order; returns
        [(item, HookResult)]."""
        out = []
        for item in self.crosschq.pending_webhooks():
            out.append((item, self.run_hook(self.crosschq_webhook_env(item, path_info),
                                            item["body"].encode("utf-8"))))
        return out

    # ---- looking at the results

    def db(self):
        """A sqlite3 connection (rows as sqlite3.Row) to the tenant's database."""
        path = self.conf["sync"]["database"]
        if not os.path.exists(path):
            raise AssertionError("no database at %s (has refsync run?)" % path)
        connection = sqlite3.connect(path, timeout=10)
        connection.row_factory = sqlite3.Row
        return connection

    def mail_envelopes(self):
        """[{"mail_from", "rcpt_tos", "size", "file"}] of every delivered message, in order."""
        found = []
        directory = self.path("mail")
        for name in sorted(os.listdir(directory)):
            if name.endswith(".json"):
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    meta = json.load(handle)
                meta["file"] = os.path.join(directory, name[:-5] + ".eml")
                found.append(meta)
        return found

    def mails(self):
        """Delivered messages as email.message.EmailMessage objects, in order."""
        out = []
        for meta in self.mail_envelopes():
            with open(meta["file"], "rb") as handle:
                out.append(email.message_from_bytes(handle.read(), policy=email.policy.default))
        return out

    def wait_for_mails(self, count, timeout=10):
        """Wait until at least `count` messages arrived; returns mails()."""
        deadline = time.monotonic() + timeout
        while len(self.mail_envelopes()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.mails()
