#!/usr/bin/python3
"""A fake of the Crosschq Partner API on loopback, following docs/crosschq-api.md.

Section 1 (evidenced) exactly: the bare key as the Authorization value (optionally also
"Token <key>"), trailing slashes (301 for a GET without one, 404 otherwise), the jobrole and
config reads, POST /partners/reference-request/ validated like a Django REST Framework serializer
(NO de-duplication: every accepted POST makes a new request), GET of one Request without an
envelope, times in several ISO 8601 spellings, free status words, errors as {"detail"} or
{"errors"}. Section 2 (assumed) as switchable capabilities, all off by default: list, hire,
hired_field, cancel, prospects (OPTIONS answers 200 with Allow when on, 404 when off).
Outbound webhooks (Settings > Connectors > Partner API): a Request as the body, POST or PUT,
auth none / basic / token, to a loopback URL only, or kept in a pending queue.
Run: /usr/bin/python3 crosschq_fake.py --seed FILE --port-file P --log L --api-key-file K
"""

import base64
import datetime
import hashlib
import http.client
import json
import os
import queue
import re
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import HttpError, Response  # noqa: E402

PAGE_SIZE = 100
RELATIONSHIPS = ("managers", "employees", "peers", "business", "social")
CAPABILITIES = ("list", "hire", "hired_field", "cancel", "prospects")
TIME_KEYS = ("created_at", "updated_on", "status_updated_on")
CREATE_KEYS = ("candidate", "jobrole", "requestor", "use_sms", "config_params",
               "send_past_due_notification", "send_completed_notification",
               "candidate_message", "job_position", "hiring_manager")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
NOT_FOUND = "Not found."
JSON_TYPES = ["application/json"]


def not_found():
    return HttpError(404, NOT_FOUND)


def not_allowed(method):
    return HttpError(405, 'Method "%s" not allowed.' % method)


def field_errors(errors):
    """A 400 whose body is {"errors": errors} (DRF serializer style)."""
    return HttpError(400, "Invalid input.", code=errors)


def detail_error(message, status=400):
    return HttpError(status, message)


# ---------------------------------------------------------------- times

def spelling(ident):
    """0..3, fixed per object id (sha1, so the same in every process)."""
    return hashlib.sha1(str(ident).encode("utf-8")).digest()[0] % 4


def render_time(ms, variant):
    """Epoch ms as ISO 8601 the way a Django service might write it.

    0: microseconds and 'Z'; 1: '+00:00' (fraction only when non-zero);
    2: '-05:00' with microseconds; 3: '+05:30' (fraction only when non-zero).
    Every spelling names the same instant.
    """
    offset_min, always_fraction = ((0, True), (0, False), (-300, True), (330, False))[variant]
    zone = datetime.timezone(datetime.timedelta(minutes=offset_min))
    moment = datetime.datetime.fromtimestamp(ms // 1000, zone)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    micros = (ms % 1000) * 1000
    if micros or always_fraction:
        text += ".%06d" % micros
    if variant == 0:
        return text + "Z"
    sign = "-" if offset_min < 0 else "+"
    return text + "%s%02d:%02d" % (sign, abs(offset_min) // 60, abs(offset_min) % 60)


def time_value(value, name):
    """An op's time: epoch ms (int) or an ISO 8601 string -> ms."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return common.ms_from_iso(value)
    except (TypeError, ValueError):
        raise ValueError("%s: not epoch ms or ISO 8601: %r" % (name, value))


def payload(op, key):
    """An op's object: op[key] when given, else the op's other fields."""
    if isinstance(op.get(key), dict):
        return dict(op[key])
    return {k: v for k, v in op.items() if k != "op"}


# ---------------------------------------------------------------- webhooks

class Webhooks:
    """Outbound deliveries: one worker thread sends them in order, or they wait in `pending`."""

    def __init__(self):
        self.url = None
        self.method = "POST"
        self.auth = "none"
        self.secret = ""
        self.deliver = True
        self.pending = []
        self.lost = []
        self._deliveries = []
        self._lock = threading.Lock()
        self._queue = queue.Queue()
        self._worker = None

    def configure(self, body):
        """Replace the settings from a control body; raises ValueError when invalid."""
        if not isinstance(body, dict):
            raise ValueError("webhook: body must be an object")
        unknown = sorted(set(body) - {"url", "method", "auth", "secret", "deliver"})
        if unknown:
            raise ValueError("webhook: unknown keys %s" % ", ".join(unknown))
        url = body.get("url")
        if url is not None:
            parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
            if parts is None or parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
                raise ValueError("webhook: url must be http:// on loopback (127.0.0.1)")
        method = body.get("method", "POST")
        if method not in ("POST", "PUT"):
            raise ValueError("webhook: method must be POST or PUT")
        auth = body.get("auth", "none")
        if auth not in ("none", "basic", "token"):
            raise ValueError("webhook: auth must be none, basic or token")
        secret = body.get("secret", "")
        if not isinstance(secret, str):
            raise ValueError("webhook: secret must be a string")
        if auth == "basic" and ":" not in secret:
            raise ValueError("webhook: a basic secret is \"user:password\"")
        deliver = body.get("deliver", True)
        if not isinstance(deliver, bool):
            raise ValueError("webhook: deliver must be a boolean")
        self.url, self.method, self.auth = url, method, auth
        self.secret, self.deliver = secret, deliver

    def settings(self):
        return {"url": self.url, "method": self.method, "auth": self.auth,
                "deliver": self.deliver, "pending": len(self.pending), "lost": list(self.lost)}

    def headers(self):
        headers = {"Content-Type": "application/json"}
        if self.auth == "token":
            headers["Authorization"] = "Token " + self.secret
        elif self.auth == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(
                self.secret.encode("utf-8")).decode("ascii")
        return headers

    def emit(self, request_obj):
        """A request changed: deliver, queue or lose its Request JSON (under the app lock)."""
        body = json.dumps(request_obj, ensure_ascii=False, separators=(",", ":"))
        item = {"method": self.method, "headers": self.headers(), "body": body,
                "request_id": request_obj["id"], "status": request_obj["status"]}
        if not self.deliver:
            self.lost.append({"request_id": item["request_id"], "status": item["status"]})
        elif self.url is None:
            self.pending.append(item)
        else:
            item["url"] = self.url
            self._queue.put(item)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, daemon=True)
                self._worker.start()

    def take_pending(self):
        items, self.pending = self.pending, []
        return items

    def deliveries(self):
        with self._lock:
            return list(self._deliveries)

    def _run(self):
        while True:
            item = self._queue.get()
            record = {"request_id": item["request_id"], "status": item["status"],
                      "ok": False, "http_status": None, "error": None}
            parts = urllib.parse.urlsplit(item["url"])
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=5)
                try:
                    conn.request(item["method"], path, body=item["body"].encode("utf-8"),
                                 headers=item["headers"])
                    answer = conn.getresponse()
                    answer.read()
                    record["http_status"] = answer.status
                    record["ok"] = 200 <= answer.status < 300
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException) as err:
                record["error"] = "%s: %s" % (type(err).__name__, err)
            with self._lock:
                self._deliveries.append(record)


# ---------------------------------------------------------------- the app

class CrosschqApp(common.App):
    """Crosschq's data and endpoints."""

    name = "crosschq"
    default_retry_after = "1"
    allow_options = True

    def __init__(self, seed, clock, faults):
        super().__init__(seed, clock, faults)
        self.api_key = None
        self.auth_scheme = seed.get("auth_scheme", "") or ""
        if self.auth_scheme not in ("", "Token"):
            raise ValueError("seed: auth_scheme must be \"\" or \"Token\"")
        self.jobroles = [self._jobrole(j) for j in seed.get("jobroles", [])]
        self.config = self._config(seed.get("config"))
        self.capabilities = {name: False for name in CAPABILITIES}
        self.set_capabilities(seed.get("capabilities") or {})
        self.requests = {}
        for obj in seed.get("requests", []):
            self._store_request(obj)
        self.prospects = {}
        for obj in seed.get("prospects", []):
            self._store_prospect(obj)
        self.creates = []
        self.fail_for = {}
        self.lose_count = 0
        self.dedupe_creates = False
        self.webhooks = Webhooks()

    # ------------------------------------------------------------ seed objects

    def now(self):
        return self.clock.now_ms()

    def _jobrole(self, obj):
        if not isinstance(obj, dict) or not isinstance(obj.get("codename"), str):
            raise ValueError("a jobrole needs a codename")
        role = {"codename": obj["codename"], "name": obj.get("name", obj["codename"]),
                "relationships": {}, "enabled": obj.get("enabled", True) is not False}
        given = obj.get("relationships") or {}
        for rel in RELATIONSHIPS:
            spec = dict(given.get(rel) or {})
            full = {"default": 0, "label": rel.capitalize(), "min": 0, "max": 5,
                    "skip_reference_optin": False, "whv_mode": "off"}
            full.update(spec)
            role["relationships"][rel] = full
        return role

    @staticmethod
    def _config(obj):
        if obj is None:
            obj = {"relationships": [
                {"id": index + 1, "name": rel, "min": "0", "max": "5",
                 "default": "1" if rel in ("managers", "peers") else "0"}
                for index, rel in enumerate(RELATIONSHIPS)], "min_reference_count": 2}
        if not isinstance(obj, dict):
            raise ValueError("config must be an object")
        return json.loads(json.dumps(obj))

    def _store_request(self, obj):
        """Normalise a Request (seed or add_request) and store it; times kept as epoch ms."""
        now = self.now()
        obj = dict(obj)
        obj.setdefault("id", common.new_id())
        if obj["id"] in self.requests:
            raise ValueError("request id %s already exists" % obj["id"])
        candidate = {"first_name": "", "last_name": "", "email": "", "mobile_phone": ""}
        candidate.update(obj.get("candidate") or {})
        obj["candidate"] = candidate
        for name, value in (("job_position", ""), ("status", "Pending"), ("progress", 0),
                            ("references", []), ("report_url", None),
                            ("report_summary_pdf", None), ("report_full_pdf", None),
                            ("hired", None)):
            obj.setdefault(name, value)
        obj["created_at"] = time_value(obj.get("created_at", now), "created_at")
        obj["updated_on"] = time_value(obj.get("updated_on", obj["created_at"]), "updated_on")
        obj["status_updated_on"] = time_value(obj.get("status_updated_on", obj["created_at"]),
                                              "status_updated_on")
        self.requests[obj["id"]] = obj
        return obj

    def _store_prospect(self, obj):
        now = self.now()
        obj = dict(obj)
        obj.setdefault("id", common.new_id())
        for name, value in (("first_name", ""), ("last_name", ""), ("email", None),
                            ("mobile_phone", None), ("job_title", None), ("tags", []),
                            ("source", "crosschq"), ("ats_id", None)):
            obj.setdefault(name, value)
        obj["created_at"] = time_value(obj.get("created_at", now), "created_at")
        obj["updated_on"] = time_value(obj.get("updated_on", obj["created_at"]), "updated_on")
        self.prospects[obj["id"]] = obj
        return obj

    def set_capabilities(self, flags):
        if not isinstance(flags, dict):
            raise ValueError("capabilities: body must be an object")
        unknown = sorted(set(flags) - set(CAPABILITIES))
        if unknown:
            raise ValueError("capabilities: unknown %s (known: %s)"
                             % (", ".join(unknown), ", ".join(CAPABILITIES)))
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise ValueError("capabilities: %s must be true or false" % name)
            self.capabilities[name] = value
        return dict(self.capabilities)

    # ------------------------------------------------------------ rendering

    def render_request(self, obj, hired=None):
        """The Request as the API shows it ("hired" only with hired_field, or when asked)."""
        variant = spelling(obj["id"])
        out = {}
        for key, value in obj.items():
            if key in TIME_KEYS and isinstance(value, int) and not isinstance(value, bool):
                value = render_time(value, variant)
            out[key] = value
        show_hired = self.capabilities["hired_field"] if hired is None else hired
        if not show_hired:
            out.pop("hired", None)
        return json.loads(json.dumps(out))

    def render_prospect(self, obj):
        variant = spelling(obj["id"])
        out = dict(obj)
        for key in ("created_at", "updated_on"):
            if isinstance(out.get(key), int):
                out[key] = render_time(out[key], variant)
        return json.loads(json.dumps(out))

    def changed(self, obj, status_before=None, status_at=None):
        """Bump updated_on (and status_updated_on, to status_at or now, when the word changed);
        deliver the webhook."""
        now = self.now()
        obj["updated_on"] = now
        if status_at is not None:
            obj["status_updated_on"] = status_at
        elif status_before is not None and status_before != obj["status"]:
            obj["status_updated_on"] = now
        self.webhooks.emit(self.render_request(obj))

    # ------------------------------------------------------------ framework hooks

    def check_auth(self, headers):
        value = headers.get("Authorization")
        if value is None or not self.api_key:
            return False
        if value == self.api_key:
            return True
        return self.auth_scheme == "Token" and value == "Token " + self.api_key

    def error_body(self, status, message, code=None):
        if isinstance(code, dict):
            return {"errors": code}
        return {"detail": message}

    def state(self):
        return {"jobroles": self.jobroles, "config": self.config,
                "requests": [self.render_request(r, hired=True) for r in self.requests.values()],
                "prospects": [self.render_prospect(p) for p in self.prospects.values()],
                "capabilities": dict(self.capabilities), "webhook": self.webhooks.settings(),
                "creates": self.creates, "fail_for": self.fail_for,
                "lose_create": self.lose_count, "auth_scheme": self.auth_scheme,
                "dedupe_creates": self.dedupe_creates}

    # ------------------------------------------------------------ routing

    def handle(self, request, auth_ok):
        path = request.path
        if not path.endswith("/"):
            # Django's APPEND_SLASH: only a GET whose slashed path exists is redirected
            if request.method == "GET" and self.resolve((path + "/").strip("/").split("/")):
                host = request.headers.get("Host") or "127.0.0.1"
                location = "http://%s%s/" % (host, path)
                if request.query:
                    location += "?" + urllib.parse.urlencode(request.query, doseq=True)
                return Response(301, None, {"Location": location}, raw=b"")
            raise not_found()
        route = self.resolve(path.strip("/").split("/"))
        if route is None:
            raise not_found()
        if not auth_ok:
            if request.headers.get("Authorization") is None:
                raise HttpError(401, "Authentication credentials were not provided.",
                                headers={"WWW-Authenticate": "Token"})
            raise HttpError(401, "Invalid token.", headers={"WWW-Authenticate": "Token"})
        name, methods, ident = route
        if request.method == "OPTIONS":
            return Response(200, {"name": name, "description": "", "renders": JSON_TYPES,
                                  "parses": JSON_TYPES},
                            {"Allow": ", ".join(list(methods) + ["OPTIONS"])})
        handler = methods.get(request.method)
        if handler is None:
            if name == "Reference Request List" and request.method == "GET":
                raise not_found()          # no list capability: the GET is simply absent
            raise not_allowed(request.method)
        return handler(request, ident) if ident is not None else handler(request)

    def resolve(self, parts):
        """(view name, {method: handler}, id or None) for a path, or None when it is absent."""
        caps = self.capabilities
        if parts == ["api", "v2", "settings", "jobrole"]:
            return "Job Role List", {"GET": self.list_jobroles}, None
        if parts == ["partners", "config"]:
            return "Partner Config", {"GET": self.get_config}, None
        if parts[:2] == ["partners", "reference-request"]:
            rest = parts[2:]
            if not rest:
                methods = {"GET": self.list_requests} if caps["list"] else {}
                methods["POST"] = self.create_request
                return "Reference Request List", methods, None
            if len(rest) == 1:
                methods = {"GET": self.get_request}
                if caps["hire"]:
                    methods["PATCH"] = self.patch_request
                return "Reference Request Detail", methods, rest[0]
            if len(rest) == 2 and rest[1] == "cancel" and caps["cancel"]:
                return "Reference Request Cancel", {"POST": self.cancel_request}, rest[0]
            return None
        if parts[:2] == ["partners", "prospects"] and caps["prospects"]:
            if len(parts) == 2:
                return "Prospect List", {"GET": self.list_prospects}, None
            if len(parts) == 3:
                return "Prospect Detail", {"PATCH": self.patch_prospect}, parts[2]
        return None

    # ------------------------------------------------------------ reads

    def list_jobroles(self, request):
        out = []
        for role in self.jobroles:
            if role["enabled"]:
                out.append({"codename": role["codename"], "name": role["name"],
                            "relationships": role["relationships"]})
        return Response(200, out)

    def get_config(self, request):
        return Response(200, self.config)

    def get_request(self, request, ident):
        obj = self.requests.get(ident)
        if obj is None:
            raise not_found()
        return Response(200, self.render_request(obj))

    def page(self, request, objects, render):
        """DRF cursor pagination over (updated_on, id), updated_since inclusive."""
        since_ms = None
        since = request.arg("updated_since")
        if since is not None:
            try:
                since_ms = common.ms_from_iso(since)
            except ValueError:
                raise field_errors({"updated_since": ["Enter a valid date/time."]})
        size = request.arg("page_size")
        try:
            size = PAGE_SIZE if size is None else int(size)
        except ValueError:
            raise field_errors({"page_size": ["A valid integer is required."]})
        size = max(1, min(size, PAGE_SIZE))
        after = None
        cursor = request.arg("cursor")
        if cursor:
            try:
                after = json.loads(common.unb64url(cursor).decode("utf-8"))
                if not (isinstance(after, list) and len(after) == 2
                        and isinstance(after[0], int) and isinstance(after[1], str)):
                    raise ValueError
                after = tuple(after)
            except (ValueError, UnicodeDecodeError, TypeError):
                raise detail_error("Invalid cursor", 404)
        keyed = sorted(((o["updated_on"], o["id"]), o) for o in objects
                       if isinstance(o["updated_on"], int))
        keyed = [(k, o) for k, o in keyed
                 if (since_ms is None or k[0] >= since_ms) and (after is None or k > after)]
        chunk = keyed[:size]
        next_url = None
        if len(keyed) > size:
            last = chunk[-1][0]
            query = {name: values for name, values in request.query.items()
                     if name != "cursor"}
            query["cursor"] = [common.b64url(json.dumps([last[0], last[1]]).encode("utf-8"))]
            next_url = "http://%s%s?%s" % (request.headers.get("Host") or "127.0.0.1",
                                           request.path,
                                           urllib.parse.urlencode(query, doseq=True))
        return Response(200, {"next": next_url, "previous": None,
                              "results": [render(o) for _, o in chunk]})

    def list_requests(self, request):
        return self.page(request, self.requests.values(), self.render_request)

    def list_prospects(self, request):
        return self.page(request, self.prospects.values(), self.render_prospect)

    # ------------------------------------------------------------ create

    def validate_create(self, body):
        """DRF-style validation of a create body; raises a 400 with {"errors": {...}}."""
        errors = {}
        for key in sorted(set(body) - set(CREATE_KEYS)):
            errors[key] = ["Unknown field."]

        def text(container, key, errs, required=True, allow_blank=False):
            value = container.get(key)
            if value is None:
                if required:
                    errs[key] = ["This field is required."]
                return None
            if not isinstance(value, str):
                errs[key] = ["Not a valid string."]
                return None
            if not value.strip() and not allow_blank:
                errs[key] = ["This field may not be blank."]
                return None
            return value

        def email(container, key, errs, required=True):
            value = text(container, key, errs, required)
            if value is not None and not EMAIL_RE.match(value):
                errs[key] = ["Enter a valid email address."]

        def boolean(key):
            if key in body and not isinstance(body[key], bool):
                errors[key] = ["Must be a valid boolean."]

        candidate = body.get("candidate")
        if not isinstance(candidate, dict):
            errors["candidate"] = ["This field is required."] if candidate is None else \
                ["Invalid data. Expected a dictionary."]
        else:
            errs = {}
            text(candidate, "first_name", errs)
            text(candidate, "last_name", errs, required=False, allow_blank=True)
            email(candidate, "email", errs)
            text(candidate, "mobile_phone", errs, required=False, allow_blank=True)
            for key in sorted(set(candidate) - {"first_name", "last_name", "email",
                                               "mobile_phone"}):
                errs[key] = ["Unknown field."]
            if body.get("use_sms") is True and not (candidate.get("mobile_phone") or "").strip():
                errs["mobile_phone"] = ["A mobile phone is required when use_sms is true."]
            if errs:
                errors["candidate"] = errs
        role = None
        codename = text(body, "jobrole", errors)
        if codename is not None:
            role = next((r for r in self.jobroles if r["codename"] == codename
                         and r["enabled"]), None)
            if role is None:
                errors["jobrole"] = ["Object with codename=%s does not exist." % codename]
        email(body, "requestor", errors)
        for key in ("use_sms", "send_past_due_notification", "send_completed_notification"):
            boolean(key)
        text(body, "candidate_message", errors, required=False, allow_blank=True)
        text(body, "job_position", errors)
        manager = body.get("hiring_manager")
        if manager is not None:
            if not isinstance(manager, dict):
                errors["hiring_manager"] = ["Invalid data. Expected a dictionary."]
            else:
                errs = {}
                text(manager, "first_name", errs, required=False, allow_blank=True)
                text(manager, "last_name", errs, required=False, allow_blank=True)
                email(manager, "email", errs)
                for key in sorted(set(manager) - {"first_name", "last_name", "email"}):
                    errs[key] = ["Unknown field."]
                if errs:
                    errors["hiring_manager"] = errs
        params = body.get("config_params")
        if not isinstance(params, dict):
            errors["config_params"] = ["This field is required."] if params is None else \
                ["Invalid data. Expected a dictionary."]
        else:
            errs, total = {}, 0
            for key in sorted(set(params) - set(RELATIONSHIPS)):
                errs[key] = ["Unknown relationship."]
            for rel in RELATIONSHIPS:
                value = params.get(rel, 0)
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    errs[rel] = ["A valid integer is required."]
                    continue
                total += value
                if role is not None:
                    limits = role["relationships"][rel]
                    if value < limits["min"]:
                        errs[rel] = ["Ensure this value is greater than or equal to %d."
                                     % limits["min"]]
                    elif value > limits["max"]:
                        errs[rel] = ["Ensure this value is less than or equal to %d."
                                     % limits["max"]]
            minimum = self.config.get("min_reference_count", 0)
            if not errs and total < int(minimum):
                errs["non_field_errors"] = ["At least %s references are required." % minimum]
            if errs:
                errors["config_params"] = errs
        if errors:
            raise field_errors(errors)

    def create_request(self, request):
        if not request.json_ok:
            raise detail_error("JSON parse error - request body is not valid JSON.")
        body = request.json
        if not isinstance(body, dict):
            raise detail_error("Invalid data. Expected a dictionary, but got %s."
                               % type(body).__name__)
        self.validate_create(body)
        candidate = body["candidate"]
        failure = self.fail_for.get(candidate["email"].lower())
        if failure:
            request.fault = "fail_for"
            raise HttpError(failure["status"], failure["detail"])
        if self.dedupe_creates:
            # a Crosschq that de-duplicates (UNCONFIRMED either way, crosschq-api.md section 3):
            # the request it already has for this candidate and position, nothing made
            existing = self._existing_request(candidate["email"], body["job_position"])
            if existing is not None:
                self.creates.append({"request_id": existing["id"], "body": body,
                                     "deduplicated": True})
                return Response(201, {"request_id": existing["id"],
                                      "message": "Reference request created.",
                                      "status": existing["status"]})
        now = self.now()
        obj = self._store_request({
            "id": common.new_id(),
            "candidate": {"first_name": candidate["first_name"],
                          "last_name": candidate.get("last_name") or "",
                          "email": candidate["email"],
                          "mobile_phone": candidate.get("mobile_phone") or ""},
            "job_position": body["job_position"], "status": "Pending", "progress": 0,
            "references": [], "created_at": now, "updated_on": now, "status_updated_on": now})
        self.creates.append({"request_id": obj["id"], "body": body})
        self.webhooks.emit(self.render_request(obj))
        if self.lose_count > 0:
            self.lose_count -= 1
            request.fault = "lose_create"
            request.abort_after = True
        return Response(201, {"request_id": obj["id"], "message": "Reference request created.",
                              "status": obj["status"]})

    def _existing_request(self, email, job_position):
        """The oldest stored request for that candidate email (case-insensitive) and job
        position, or None."""
        found = [r for r in self.requests.values()
                 if str(r["candidate"].get("email") or "").lower() == email.lower()
                 and (r.get("job_position") or "") == (job_position or "")]
        return min(found, key=lambda r: (r["created_at"], r["id"])) if found else None

    # ------------------------------------------------------------ capability writes

    def patch_request(self, request, ident):
        obj = self.requests.get(ident)
        if obj is None:
            raise not_found()
        if not request.json_ok or not isinstance(request.json, dict):
            raise detail_error("Invalid data. Expected a dictionary.")
        body = request.json
        errors = {key: ["Unknown field."] for key in body if key != "hired"}
        if "hired" not in body:
            errors["hired"] = ["This field is required."]
        elif not isinstance(body["hired"], bool):
            errors["hired"] = ["Must be a valid boolean."]
        if errors:
            raise field_errors(errors)
        obj["hired"] = body["hired"]
        self.changed(obj)
        return Response(200, self.render_request(obj))

    def cancel_request(self, request, ident):
        obj = self.requests.get(ident)
        if obj is None:
            raise not_found()
        word = str(obj["status"]).lower()
        if word in ("completed", "complete"):
            raise detail_error("Request already completed.")
        if word == "expired":
            raise detail_error("Request already expired.")
        if word not in ("cancelled", "canceled"):
            before = obj["status"]
            obj["status"] = "Cancelled"
            self.changed(obj, before)
        return Response(200, self.render_request(obj))

    def patch_prospect(self, request, ident):
        obj = self.prospects.get(ident)
        if obj is None:
            raise not_found()
        if not request.json_ok or not isinstance(request.json, dict):
            raise detail_error("Invalid data. Expected a dictionary.")
        body = request.json
        errors = {key: ["Unknown field."] for key in body if key != "ats_id"}
        if "ats_id" in body and body["ats_id"] is not None and \
                not isinstance(body["ats_id"], str):
            errors["ats_id"] = ["Not a valid string."]
        if errors:
            raise field_errors(errors)
        if "ats_id" in body:
            obj["ats_id"] = body["ats_id"]
        obj["updated_on"] = self.now()
        return Response(200, self.render_prospect(obj))

    # ------------------------------------------------------------ test control

    def control(self, request):
        route = (request.method, request.path.rstrip("/"))
        body = request.json if request.json_ok else None
        if route == ("GET", "/_fake/fail_for"):
            return {"fail_for": self.fail_for}
        if route == ("POST", "/_fake/fail_for"):
            return self.control_fail_for(body)
        if route == ("GET", "/_fake/capabilities"):
            return dict(self.capabilities)
        if route == ("POST", "/_fake/capabilities"):
            return self.set_capabilities(body if body is not None else {})
        if route == ("POST", "/_fake/auth_scheme"):
            scheme = (body or {}).get("auth_scheme") if isinstance(body, dict) else None
            if scheme not in ("", "Token"):
                raise ValueError("auth_scheme: must be \"\" or \"Token\"")
            self.auth_scheme = scheme
            return {"auth_scheme": scheme}
        if route == ("POST", "/_fake/lose_create"):
            count = body.get("count") if isinstance(body, dict) else None
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError("lose_create: count must be an integer >= 0")
            self.lose_count = count
            return {"lose_create": count}
        if route == ("POST", "/_fake/dedupe_creates"):
            on = body.get("on") if isinstance(body, dict) else None
            if not isinstance(on, bool):
                raise ValueError("dedupe_creates: on must be true or false")
            self.dedupe_creates = on
            return {"dedupe_creates": on}
        if route == ("GET", "/_fake/webhook"):
            return self.webhooks.settings()
        if route == ("POST", "/_fake/webhook"):
            self.webhooks.configure(body)
            return self.webhooks.settings()
        if route == ("GET", "/_fake/webhook/pending"):
            return self.webhooks.take_pending()
        if route == ("GET", "/_fake/webhook/deliveries"):
            return self.webhooks.deliveries()
        raise KeyError(request.path)

    def control_fail_for(self, body):
        if not isinstance(body, dict):
            raise ValueError("fail_for: body must be an object")
        if not body:
            self.fail_for = {}
            return {"fail_for": self.fail_for}
        email = body.get("email")
        if not isinstance(email, str) or not email:
            raise ValueError("fail_for: email is required")
        status = body.get("status", 422)
        if status is None:
            self.fail_for.pop(email.lower(), None)
            return {"fail_for": self.fail_for}
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("fail_for: status must be an HTTP error status")
        self.fail_for[email.lower()] = {"status": status,
                                        "detail": str(body.get("detail") or "Invalid candidate")}
        return {"fail_for": self.fail_for}

    def mutate(self, ops):
        """Apply test ops in order; answer the objects they produced."""
        results = []
        for index, op in enumerate(ops):
            try:
                if not isinstance(op, dict):
                    raise ValueError("an op must be an object")
                results.append(self._mutate_one(op))
            except HttpError as err:
                raise ValueError("op %d: %s" % (index, err.message))
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise ValueError("op %d (%s): %s" % (index, op.get("op") if isinstance(op, dict)
                                                     else op, err))
        return results

    def _request_for(self, op):
        obj = self.requests.get(op["id"])
        if obj is None:
            raise ValueError("no such request: %s" % op["id"])
        return obj

    def _jobrole_for(self, codename):
        role = next((r for r in self.jobroles if r["codename"] == codename), None)
        if role is None:
            raise ValueError("no such jobrole: %s" % codename)
        return role

    def _mutate_one(self, op):
        kind = op.get("op")
        if kind == "add_request":
            obj = self._store_request(payload(op, "request"))
            self.webhooks.emit(self.render_request(obj))
            return self.render_request(obj, hired=True)
        if kind == "set_status":
            obj = self._request_for(op)
            if not isinstance(op["status"], str):
                raise ValueError("status must be a string")
            before = obj["status"]
            obj["status"] = op["status"]
            if "progress" in op:
                obj["progress"] = op["progress"]
            self.changed(obj, before)
            return self.render_request(obj, hired=True)
        if kind == "complete":
            obj = self._request_for(op)
            before = obj["status"]
            base = "https://app.crosschq.com/report/%s/" % obj["id"]
            obj.update({"status": "Completed", "progress": 100,
                        "report_url": op.get("report_url") or base,
                        "report_summary_pdf": obj.get("report_summary_pdf") or
                        base + "summary.pdf",
                        "report_full_pdf": obj.get("report_full_pdf") or base + "full.pdf"})
            at = op.get("at")
            self.changed(obj, before, time_value(at, "at") if at is not None else None)
            return self.render_request(obj, hired=True)
        if kind == "set_request":
            obj = self._request_for(op)
            fields = op["fields"]
            if not isinstance(fields, dict) or "id" in fields:
                raise ValueError("fields must be an object without id")
            before = obj["status"]
            for key, value in fields.items():
                if key in TIME_KEYS and value is not None:
                    try:
                        value = time_value(value, key)
                    except ValueError:
                        pass              # kept verbatim: tests may send odd spellings
                obj[key] = value
            now = self.now()
            if "updated_on" not in fields:
                obj["updated_on"] = now
            if "status_updated_on" not in fields and obj["status"] != before:
                obj["status_updated_on"] = now
            self.webhooks.emit(self.render_request(obj))
            return self.render_request(obj, hired=True)
        if kind == "delete_request":
            obj = self.requests.pop(op["id"], None)
            if obj is None:
                raise ValueError("no such request: %s" % op["id"])
            return self.render_request(obj, hired=True)
        if kind == "hire":
            obj = self._request_for(op)
            hired = op.get("hired", True)
            if hired is not None and not isinstance(hired, bool):
                raise ValueError("hired must be true, false or null")
            obj["hired"] = hired
            self.changed(obj)
            return self.render_request(obj, hired=True)
        if kind == "add_jobrole":
            role = self._jobrole(payload(op, "jobrole"))
            if any(r["codename"] == role["codename"] for r in self.jobroles):
                raise ValueError("jobrole %s already exists" % role["codename"])
            self.jobroles.append(role)
            return role
        if kind == "set_jobrole":
            role = self._jobrole_for(op["codename"])
            for key, value in op["fields"].items():
                if key == "relationships":
                    for rel, spec in value.items():
                        if rel not in RELATIONSHIPS:
                            raise ValueError("unknown relationship %s" % rel)
                        role["relationships"][rel].update(spec)
                elif key == "enabled":
                    role["enabled"] = bool(value)
                elif key == "codename":
                    raise ValueError("codename cannot change")
                else:
                    role[key] = value
            return role
        if kind == "set_config":
            self.config.update(self._config(payload(op, "config")))
            return self.config
        if kind == "add_prospect":
            return self.render_prospect(self._store_prospect(payload(op, "prospect")))
        if kind == "set_prospect":
            obj = self.prospects.get(op["id"])
            if obj is None:
                raise ValueError("no such prospect %s" % op["id"])
            for key, value in op["fields"].items():
                if key in ("created_at", "updated_on"):
                    value = time_value(value, key)
                obj[key] = value
            if "updated_on" not in op["fields"]:
                obj["updated_on"] = self.now()
            return self.render_prospect(obj)
        raise ValueError("unknown op %r" % (kind,))


if __name__ == "__main__":
    common.serve(CrosschqApp, "Fake Crosschq Partner API on 127.0.0.1")
