"""Shared machinery of the HTTP fakes: server bootstrap, request log, fault injection, clock, JSON.

A fake is an "app" object (see App below) plugged into FakeHandler. This module owns everything
that is the same for Lever and Crosschq: reading requests, the /_fake/ control API, the request
log, the fault plan and the way responses are written (or deliberately broken) on the wire.
It binds 127.0.0.1 only and never opens an outbound connection.
"""

import argparse
import base64
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024 * 1024          # bigger request bodies get 413
FAULT_KINDS = ("reset", "429", "503", "500", "truncate", "malformed", "stall")


# ---------------------------------------------------------------- JSON and time helpers

def json_bytes(obj):
    """Compact UTF-8 JSON (non-ASCII kept as is, as real APIs send it)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def new_id():
    """A fresh random UUID4 string."""
    return str(uuid.uuid4())


def iso_from_ms(ms):
    """Epoch milliseconds -> 'YYYY-MM-DDTHH:MM:SSZ' (UTC, whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def ms_from_iso(text):
    """Parse an ISO 8601 UTC-ish timestamp into epoch ms; raises ValueError when unparsable."""
    import datetime
    if not isinstance(text, str) or not text:
        raise ValueError("not a timestamp")
    value = text.strip()
    if value.endswith("Z") or value.endswith("z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return int(parsed.timestamp() * 1000)


def b64url(data):
    """Base64url without padding, for opaque cursors."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text):
    """Inverse of b64url; raises ValueError on garbage."""
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def load_seed(path, key):
    """Read a seed file; return its `key` object, or the whole object when `key` is absent."""
    with open(path, "rb") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError("seed %s: top level must be an object" % path)
    if key in data and isinstance(data[key], dict):
        return data[key]
    return data


# ---------------------------------------------------------------- requests, responses, errors

class HttpError(Exception):
    """An API error; the app turns `message` into its own error body."""

    def __init__(self, status, message, code=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


class Request:
    """One parsed HTTP request as the app sees it."""

    def __init__(self, method, path, query, headers, raw):
        self.method = method
        self.path = path
        self.query = query            # {name: [values]}
        self.headers = headers
        self.raw = raw
        self.json = None
        self.json_ok = False
        self.fault = None             # an app may name a fault it injected itself
        self.abort_after = False      # an app may ask to drop the connection after the effect
        if raw:
            try:
                self.json = json.loads(raw.decode("utf-8"))
                self.json_ok = True
            except (ValueError, UnicodeDecodeError):
                pass

    def arg(self, name, default=None):
        """First value of a query parameter, or default."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name, split_commas=False):
        """All values of a repeatable query parameter (optionally also comma-separated)."""
        values = self.query.get(name, [])
        if not split_commas:
            return list(values)
        out = []
        for value in values:
            out.extend(part for part in value.split(",") if part)
        return out

    def body_object(self, error):
        """The JSON body, which must be an object; else raise HttpError 400 via `error`."""
        if not self.json_ok or not isinstance(self.json, dict):
            raise error("request body must be a JSON object")
        return self.json


class Response:
    """What an app answers: a status, a JSON-able body and extra headers.

    raw, when given, is sent as the body bytes instead of the JSON of `body` (e.g. b"" for a
    redirect).
    """

    def __init__(self, status, body, headers=None, raw=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raw = raw


# ---------------------------------------------------------------- clock and log

class Clock:
    """The fake's clock in epoch ms: real time unless pinned through /_fake/clock."""

    def __init__(self):
        self._pinned = None
        self._lock = threading.Lock()

    def now_ms(self):
        with self._lock:
            if self._pinned is not None:
                return self._pinned
        return int(time.time() * 1000)

    def set(self, ms):
        with self._lock:
            self._pinned = ms

    def pinned(self):
        with self._lock:
            return self._pinned


class RequestLog:
    """Every API request as one JSON line in a file (flushed) and in memory."""

    def __init__(self, path):
        self._lock = threading.Lock()
        self._entries = []
        self._file = open(path, "a", encoding="utf-8") if path else None

    def append(self, entry):
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._entries.append(entry)
            if self._file:
                self._file.write(line + "\n")
                self._file.flush()

    def entries(self):
        with self._lock:
            return list(self._entries)

    def reset(self):
        with self._lock:
            self._entries = []


# ---------------------------------------------------------------- faults

class Decision:
    """The faults chosen for one request."""

    def __init__(self, kind=None, delay_ms=0):
        self.kind = kind
        self.delay_ms = delay_ms


class Faults:
    """The fault plan set through POST /_fake/faults, drawn with random.Random(seed)."""

    NUMBERS = ("rate_429", "rate_503", "rate_500", "rate_reset", "rate_truncate",
               "rate_malformed", "rate_stall", "delay_ms", "stall_ms", "rate_limit_rps",
               "rate_limit_burst")
    KNOWN = NUMBERS + ("seed", "retry_after", "ratelimit_reset", "invalid_offset_once",
                       "only_paths", "only_methods", "reset_phase")

    def __init__(self, default_retry_after=None):
        self._lock = threading.Lock()
        self._default_retry_after = default_retry_after
        self.configure({})

    def configure(self, spec):
        """Replace the plan; raises ValueError for a bad spec (the old plan then stays)."""
        if not isinstance(spec, dict):
            raise ValueError("faults: body must be a JSON object")
        unknown = sorted(set(spec) - set(self.KNOWN))
        if unknown:
            raise ValueError("faults: unknown keys %s" % ", ".join(unknown))
        plan = {}
        for key in self.NUMBERS:
            value = spec.get(key, 0) or 0
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError("faults: %s must be a number >= 0" % key)
            plan[key] = value
        total = sum(plan["rate_" + kind] for kind in FAULT_KINDS)
        if total > 1.0 + 1e-9:
            raise ValueError("faults: the rates add up to more than 1")
        retry_after = spec.get("retry_after", self._default_retry_after)
        if retry_after is not None and not isinstance(retry_after, str):
            raise ValueError("faults: retry_after must be a string or null")
        reset = spec.get("ratelimit_reset")
        if reset not in (None, "epoch"):
            raise ValueError("faults: ratelimit_reset must be null or \"epoch\"")
        only = spec.get("only_paths")
        if only is not None and (not isinstance(only, list)
                                 or not all(isinstance(p, str) for p in only)):
            raise ValueError("faults: only_paths must be null or a list of strings")
        methods = spec.get("only_methods")
        if methods is not None and (not isinstance(methods, list)
                                    or not all(isinstance(m, str) for m in methods)):
            raise ValueError("faults: only_methods must be null or a list of strings")
        phase = spec.get("reset_phase", "before")
        if phase not in ("before", "after"):
            raise ValueError("faults: reset_phase must be \"before\" or \"after\"")
        seed = spec.get("seed", 0)
        with self._lock:
            self._spec = dict(spec)
            self._plan = plan
            self._retry_after = retry_after
            self._ratelimit_reset = reset
            self._only = only
            self._methods = None if methods is None else {m.upper() for m in methods}
            self._phase = phase
            self._invalid_offset = bool(spec.get("invalid_offset_once", False))
            self._rng = random.Random(seed)
            self._tokens = float(plan["rate_limit_burst"] or plan["rate_limit_rps"])
            self._refilled = time.monotonic()

    def spec(self):
        with self._lock:
            return dict(self._spec)

    def reset_phase(self):
        with self._lock:
            return self._phase

    def _applies(self, path, method=None):
        if self._methods is not None and method is not None and method.upper() not in self._methods:
            return False
        return self._only is None or any(path.startswith(prefix) for prefix in self._only)

    def _bucket_allows(self):
        rps = self._plan["rate_limit_rps"]
        if rps <= 0:
            return True
        burst = self._plan["rate_limit_burst"] or rps
        now = time.monotonic()
        self._tokens = min(burst, self._tokens + (now - self._refilled) * rps)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def decide(self, path, method=None):
        """Choose this request's fault: one random draw per request that the plan covers."""
        with self._lock:
            if not self._applies(path, method):
                return Decision()
            delay = self._plan["delay_ms"]
            allowed = self._bucket_allows()
            if not any(self._plan["rate_" + kind] for kind in FAULT_KINDS):
                return Decision(None if allowed else "429", delay)
            draw = self._rng.random()
            if not allowed:
                return Decision("429", delay)
            edge = 0.0
            for kind in FAULT_KINDS:
                edge += self._plan["rate_" + kind]
                if draw < edge:
                    return Decision(kind, delay)
            return Decision(None, delay)

    def take_invalid_offset(self, path):
        """True once after invalid_offset_once was set (for a request the plan covers)."""
        with self._lock:
            if self._invalid_offset and self._applies(path):
                self._invalid_offset = False
                return True
            return False

    def throttle_headers(self):
        """Headers sent with a 429 or 503: Retry-After and/or X-RateLimit-Reset."""
        with self._lock:
            headers = {}
            if self._retry_after is not None:
                headers["Retry-After"] = self._retry_after
            if self._ratelimit_reset == "epoch":
                headers["X-RateLimit-Reset"] = str(int(time.time()) + 2)
            return headers

    def stall_ms(self):
        with self._lock:
            return self._plan["stall_ms"]


# ---------------------------------------------------------------- the app interface

class App:
    """Base of a fake's application logic. Subclasses set `name` and implement the hooks."""

    name = "fake"
    default_retry_after = None

    def __init__(self, seed, clock, faults):
        self.lock = threading.RLock()
        self.clock = clock
        self.faults = faults

    def check_auth(self, headers):
        """True when the request carries the right credentials."""
        raise NotImplementedError

    def handle(self, request, auth_ok):
        """Answer one API request with a Response or raise HttpError."""
        raise NotImplementedError

    def error_body(self, status, message, code=None):
        """The JSON error body in this API's format."""
        raise NotImplementedError

    def state(self):
        raise NotImplementedError

    def mutate(self, ops):
        raise NotImplementedError

    def control(self, request):
        """App-specific /_fake/ endpoints; return a JSON-able object or raise KeyError."""
        raise KeyError(request.path)


STATUS_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
                404: "ResourceNotFound", 405: "MethodNotAllowed", 409: "Conflict",
                413: "PayloadTooLarge", 422: "UnprocessableEntity", 429: "TooManyRequests",
                500: "InternalServerError", 503: "ServiceUnavailable"}
FAULT_MESSAGES = {"429": "Too many requests", "503": "Service unavailable (maintenance)",
                  "500": "Internal server error"}


# ---------------------------------------------------------------- HTTP handling

class FakeHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler shared by both fakes (server.app, .log, .faults, .clock)."""

    protocol_version = "HTTP/1.1"
    server_version = "refsync-fake/1"
    timeout = 300

    def date_time_string(self, timestamp=None):
        """The Date header on the fake's clock (Lever and Crosschq send their own time)."""
        if timestamp is None:
            timestamp = self.server.clock.now_ms() / 1000.0
        return super().date_time_string(timestamp)

    def log_message(self, fmt, *args):
        """Quiet: the JSON request log is the record."""

    def setup(self):
        super().setup()
        # headers and body go out in separate writes; without this, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self):
        self._aborted = False
        try:
            super().handle_one_request()
        except (OSError, ValueError):
            # the client went away, or we aborted the connection on purpose
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = lambda self: self._dispatch()

    def do_OPTIONS(self):
        """OPTIONS reaches apps that set allow_options (else 501, as before)."""
        if getattr(self.server.app, "allow_options", False):
            self._dispatch()
        else:
            self.send_error(501, "Unsupported method ('OPTIONS')")

    # ---- reading

    def _read_body(self):
        """The request body as bytes; raises HttpError (and closes) when it cannot be read."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise HttpError(400, "invalid Content-Length")
        if size < 0:
            self.close_connection = True
            raise HttpError(400, "invalid Content-Length")
        if size > MAX_BODY:
            self.close_connection = True
            raise HttpError(413, "request body too large")
        data = self.rfile.read(size)
        if len(data) != size:
            self.close_connection = True
            raise HttpError(400, "request body shorter than Content-Length")
        return data

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise HttpError(400, "bad chunked encoding")
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                raise HttpError(413, "request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    # ---- writing

    def _send(self, status, body, headers=None, declared_length=None):
        """Write status, headers and body bytes (Content-Length may lie when asked to)."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length",
                         str(len(body) if declared_length is None else declared_length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _abort(self):
        """Drop the connection with a TCP RST and no response (SO_LINGER 0, then close)."""
        self._aborted = True
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        for stream in (self.rfile, self.wfile):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        self.connection.close()

    def _send_stalled(self, status, body, headers):
        """Send the headers and half the body, sleep stall_ms, then the rest."""
        self._send(status, b"", headers, declared_length=len(body))
        half = len(body) // 2
        self.wfile.write(body[:half])
        self.wfile.flush()
        time.sleep(self.server.faults.stall_ms() / 1000.0)
        self.wfile.write(body[half:])

    # ---- dispatch

    def _dispatch(self):
        started = time.time()
        app = self.server.app
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            raw = self._read_body()
        except HttpError as err:
            if not path.startswith("/_fake"):
                self.server.log.append({
                    "t": started, "method": self.command, "path": path, "query": query,
                    "body": None, "raw_len": 0, "status": err.status, "fault": None,
                    "auth_ok": bool(app.check_auth(self.headers))})
            self._send(err.status, json_bytes(app.error_body(err.status, err.message)))
            return
        request = Request(self.command, path, query, self.headers, raw)
        if path.startswith("/_fake/") or path == "/_fake":
            self._control(request)
            return
        auth_ok = bool(app.check_auth(self.headers))
        decision = self.server.faults.decide(path, self.command)
        entry = {"t": started, "method": self.command, "path": path, "query": query,
                 "body": request.json if request.json_ok else None, "raw_len": len(raw),
                 "status": 0, "fault": decision.kind or ("delay" if decision.delay_ms else None),
                 "auth_ok": auth_ok}
        if decision.delay_ms:
            time.sleep(decision.delay_ms / 1000.0)
        phase = self.server.faults.reset_phase()
        if decision.kind == "reset" and phase == "before":
            self.server.log.append(entry)
            self._abort()
            return
        if decision.kind in FAULT_MESSAGES:
            status = int(decision.kind)
            headers = self.server.faults.throttle_headers() if status in (429, 503) else {}
            body = json_bytes(app.error_body(status, FAULT_MESSAGES[decision.kind]))
            entry["status"] = status
            self.server.log.append(entry)
            self._send(status, body, headers)
            return
        status, body, headers = self._answer(app, request, auth_ok)
        if request.fault:
            entry["fault"] = request.fault
        if decision.kind == "reset" or request.abort_after:
            self.server.log.append(entry)
            self._abort()
            return
        if decision.kind == "malformed":
            status, body = 200, b'{"data": [{"id": "broken", ' + body[:20]
        entry["status"] = status
        self.server.log.append(entry)
        if decision.kind == "truncate":
            self.close_connection = True
            self._send(status, body, headers, declared_length=len(body) + 4096)
        elif decision.kind == "stall":
            self._send_stalled(status, body, headers)
        else:
            self._send(status, body, headers)

    def _answer(self, app, request, auth_ok):
        """Run the app under its lock; return (status, body bytes, headers)."""
        try:
            with app.lock:
                response = app.handle(request, auth_ok)
                payload = response.raw if getattr(response, "raw", None) is not None \
                    else json_bytes(response.body)
                return response.status, payload, response.headers
        except HttpError as err:
            if err.status in (429, 503):
                err.headers = dict(self.server.faults.throttle_headers(), **err.headers)
            return err.status, json_bytes(app.error_body(err.status, err.message, err.code)), \
                err.headers
        except Exception:  # a fake must never die on a request
            traceback.print_exc(file=sys.stderr)
            return 500, json_bytes(app.error_body(500, "fake crashed; see its stderr")), {}

    def _control(self, request):
        """The /_fake/ API: JSON in and out, no auth, not logged, no faults."""
        server, app = self.server, self.server.app
        route = (request.method, request.path.rstrip("/"))
        try:
            if route[0] in ("POST", "PUT", "PATCH") and request.raw and not request.json_ok:
                raise ValueError("body is not valid JSON")
            body = request.json if request.json_ok else {}
            if route == ("POST", "/_fake/faults"):
                server.faults.configure(body)
                result = {"faults": server.faults.spec()}
            elif route == ("GET", "/_fake/faults"):
                result = {"faults": server.faults.spec()}
            elif route == ("POST", "/_fake/clock"):
                now = body.get("now_ms") if isinstance(body, dict) else None
                if now is not None and (isinstance(now, bool) or not isinstance(now, int)):
                    raise ValueError("clock: now_ms must be an integer or null")
                server.clock.set(now)
                result = {"now_ms": server.clock.now_ms(), "pinned": now is not None}
            elif route == ("GET", "/_fake/clock"):
                result = {"now_ms": server.clock.now_ms(),
                          "pinned": server.clock.pinned() is not None}
            elif route == ("GET", "/_fake/log"):
                result = server.log.entries()
            elif route == ("POST", "/_fake/log/reset"):
                server.log.reset()
                result = {"ok": True}
            elif route == ("GET", "/_fake/state"):
                with app.lock:
                    payload = json_bytes(app.state())
                self._send(200, payload)
                return
            elif route == ("POST", "/_fake/mutate"):
                if not isinstance(body, list):
                    raise ValueError("mutate: body must be a JSON list of ops")
                with app.lock:
                    payload = json_bytes(app.mutate(body))
                self._send(200, payload)
                return
            elif route == ("POST", "/_fake/shutdown"):
                self.close_connection = True
                self._send(200, json_bytes({"ok": True}))
                threading.Thread(target=server.shutdown, daemon=True).start()
                return
            else:
                with app.lock:
                    result = app.control(request)
        except KeyError:
            self._send(404, json_bytes({"error": "no such control endpoint: %s %s" % route}))
            return
        except (ValueError, TypeError, HttpError) as err:
            self._send(400, json_bytes({"error": str(err)}))
            return
        except Exception as err:
            traceback.print_exc(file=sys.stderr)
            self._send(500, json_bytes({"error": "control crashed: %s" % err}))
            return
        self._send(200, json_bytes(result))


# ---------------------------------------------------------------- bootstrap

class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


def parse_args(description, argv=None):
    """The command line shared by both HTTP fakes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", required=True, help="seed JSON file")
    parser.add_argument("--port-file", required=True, help="written with the port once listening")
    parser.add_argument("--log", help="request log, one JSON line per request")
    parser.add_argument("--api-key-file", required=True, help="file holding the API key")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free)")
    return parser.parse_args(argv)


def write_atomically(path, text):
    """Write text to path via a temporary file and rename."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def read_key(path):
    """The API key: the file's content without surrounding whitespace."""
    with open(path, "r", encoding="utf-8") as handle:
        key = handle.read().strip()
    if not key:
        raise SystemExit("%s: empty API key file" % path)
    return key


def serve(app_class, description, argv=None):
    """Parse the CLI, build the app from its seed, bind 127.0.0.1, write the port file, serve."""
    args = parse_args(description, argv)
    clock = Clock()
    faults = Faults(app_class.default_retry_after)
    seed = load_seed(args.seed, app_class.name)
    app = app_class(seed, clock, faults)
    app.api_key = read_key(args.api_key_file)
    server = FakeServer(("127.0.0.1", args.port), FakeHandler)
    server.app, server.clock, server.faults = app, clock, faults
    server.log = RequestLog(args.log)
    signal.signal(signal.SIGTERM,
                  lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    write_atomically(args.port_file, "%d\n" % server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
