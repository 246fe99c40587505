#!/usr/bin/python3
"""A fake of the Crosschq Partner API v2 on loopback, following docs/crosschq-api.md.

Simulated: Token auth, keyset cursors ordered by (updated_at, id), inclusive updated_since,
idempotent POST /requests/ on external_id, cancel rules, per-candidate failures (fail_for),
and timestamps taken from the fake clock.
Run: /usr/bin/python3 crosschq_fake.py --seed FILE --port-file P --log L --api-key-file K
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import HttpError, Response  # noqa: E402

LIMIT_MAX = 100
STATUSES = ("sent", "in_progress", "completed", "cancelled", "expired")
OPEN_STATUSES = ("sent", "in_progress")
HIRED_SOURCES = ("crosschq", "ats", "owner_answer")


def bad(message):
    return HttpError(400, message)


def not_found():
    return HttpError(404, "Not found.")


def iso_or_none(value, name):
    """Validate an ISO timestamp field (or null); return it unchanged."""
    if value is None:
        return None
    try:
        common.ms_from_iso(value)
    except (ValueError, TypeError):
        raise bad("%s: Datetime has wrong format. Use ISO 8601." % name)
    return value


def sort_key(obj):
    """The list order: updated_at ascending, then id."""
    stamp = obj.get("updated_at")
    try:
        ms = common.ms_from_iso(stamp) if stamp else 0
    except ValueError:
        ms = 0
    return (ms, str(obj.get("id", obj.get("codename", ""))))


def payload(op, key):
    """An op's object: op[key] when given, else the op's other fields."""
    if isinstance(op.get(key), dict):
        return dict(op[key])
    return {k: v for k, v in op.items() if k != "op"}


class CrosschqApp(common.App):
    """Crosschq's data and endpoints."""

    name = "crosschq"
    default_retry_after = "1"

    def __init__(self, seed, clock, faults):
        super().__init__(seed, clock, faults)
        self.jobroles = list(seed.get("jobroles", []))
        self.templates = {t["id"]: t for t in seed.get("templates", [])}
        self.requests = {r["id"]: r for r in seed.get("requests", [])}
        self.prospects = {p["id"]: p for p in seed.get("prospects", [])}
        self.by_external = {r["external_id"]: r["id"] for r in self.requests.values()}
        self.fail_for = {}
        self.api_key = None

    # ------------------------------------------------------------ framework hooks

    def check_auth(self, headers):
        return (headers.get("Authorization") or "") == "Token %s" % self.api_key

    def error_body(self, status, message, code=None):
        return {"detail": message}

    def state(self):
        return {"jobroles": self.jobroles, "templates": list(self.templates.values()),
                "requests": list(self.requests.values()),
                "prospects": list(self.prospects.values()),
                "fail_for": self.fail_for}

    def now_iso(self):
        return common.iso_from_ms(self.clock.now_ms())

    # ------------------------------------------------------------ routing

    def handle(self, request, auth_ok):
        if not auth_ok:
            if not request.headers.get("Authorization"):
                raise HttpError(401, "Authentication credentials were not provided.")
            raise HttpError(401, "Invalid token.")
        path = request.path
        if not path.startswith("/api/v2/") or not path.endswith("/"):
            raise not_found()
        parts = path[len("/api/v2/"):].strip("/").split("/")
        method = request.method
        routes = {
            ("GET", ("settings", "jobrole")): lambda: self.page(request, self.jobroles),
            ("GET", ("templates",)): lambda: self.page(request, self.templates.values()),
            ("GET", ("requests",)): lambda: self.list_requests(request),
            ("POST", ("requests",)): lambda: self.create_request(request),
            ("GET", ("prospects",)): lambda: self.page(request, self.prospects.values()),
        }
        key = tuple(parts)
        if (method, key) in routes:
            return routes[(method, key)]()
        if len(parts) == 2 and parts[0] in ("templates", "requests", "prospects"):
            store = {"templates": self.templates, "requests": self.requests,
                     "prospects": self.prospects}[parts[0]]
            obj = store.get(parts[1])
            if obj is None:
                raise not_found()
            if method == "GET":
                return Response(200, {"data": obj})
            if method == "PATCH" and parts[0] == "requests":
                return self.patch_request(request, obj)
            if method == "PATCH" and parts[0] == "prospects":
                return self.patch_prospect(request, obj)
            raise HttpError(405, 'Method "%s" not allowed.' % method)
        if len(parts) == 3 and parts[0] == "requests" and parts[2] == "cancel":
            obj = self.requests.get(parts[1])
            if obj is None:
                raise not_found()
            if method != "POST":
                raise HttpError(405, 'Method "%s" not allowed.' % method)
            return self.cancel_request(obj)
        if any(k == key for _, k in routes):
            raise HttpError(405, 'Method "%s" not allowed.' % method)
        raise not_found()

    # ------------------------------------------------------------ lists

    def page(self, request, objects, extra=None):
        """One page of `objects` ordered by (updated_at, id) after the cursor."""
        limit = request.arg("limit")
        try:
            limit = LIMIT_MAX if limit is None else int(limit)
        except ValueError:
            raise bad("limit: A valid integer is required.")
        if not 1 <= limit <= LIMIT_MAX:
            raise bad("limit: must be between 1 and %d." % LIMIT_MAX)
        since = request.arg("updated_since")
        since_ms = None
        if since is not None:
            try:
                since_ms = common.ms_from_iso(since)
            except ValueError:
                raise bad("updated_since: Datetime has wrong format. Use ISO 8601.")
        after = None
        cursor = request.arg("cursor")
        if cursor:
            try:
                after = tuple(json.loads(common.unb64url(cursor).decode("utf-8")))
                if len(after) != 2 or not isinstance(after[0], int) or \
                        not isinstance(after[1], str):
                    raise ValueError
            except (ValueError, UnicodeDecodeError, TypeError):
                raise bad("Invalid cursor")
        keyed = sorted((sort_key(o), o) for o in objects
                       if extra is None or extra(o))
        keyed = [(k, o) for k, o in keyed
                 if (since_ms is None or k[0] >= since_ms) and (after is None or k > after)]
        chunk = keyed[:limit]
        next_cursor = None
        if len(keyed) > limit:
            last = chunk[-1][0]
            next_cursor = common.b64url(json.dumps([last[0], last[1]]).encode("utf-8"))
        return Response(200, {"data": [o for _, o in chunk], "next_cursor": next_cursor})

    def list_requests(self, request):
        external = request.arg("external_id")
        if external is not None:
            ident = self.by_external.get(external)
            found = [self.requests[ident]] if ident in self.requests else []
            return Response(200, {"data": found, "next_cursor": None})
        statuses = set(request.args("status"))
        extra = (lambda r: r.get("status") in statuses) if statuses else None
        return self.page(request, self.requests.values(), extra)

    # ------------------------------------------------------------ requests

    def create_request(self, request):
        body = request.body_object(bad)
        external = body.get("external_id")
        if not isinstance(external, str) or not external:
            raise bad("external_id: This field is required.")
        template = body.get("template_id")
        if not isinstance(template, str) or not template:
            raise bad("template_id: This field is required.")
        if template not in self.templates:
            raise bad('template_id: Invalid pk "%s" - object does not exist.' % template)
        candidate = body.get("candidate")
        if not isinstance(candidate, dict):
            raise bad("candidate: This field is required.")
        for name in ("first_name", "email"):
            if not isinstance(candidate.get(name), str) or not candidate[name].strip():
                raise bad("candidate.%s: This field is required." % name)
        if "@" not in candidate["email"]:
            raise bad("candidate.email: Enter a valid email address.")
        for name in ("last_name", "phone"):
            if candidate.get(name) is not None and not isinstance(candidate[name], str):
                raise bad("candidate.%s: Not a valid string." % name)
        requester = body.get("requester")
        if not isinstance(requester, dict) or not isinstance(requester.get("email"), str) \
                or not requester["email"]:
            raise bad("requester.email: This field is required.")
        manager = body.get("hiring_manager")
        if manager is not None and not isinstance(manager, dict):
            raise bad("hiring_manager: must be an object or null.")
        if body.get("ats") != "lever":
            raise bad('ats: "%s" is not a valid choice.' % body.get("ats"))
        if external in self.by_external:
            return Response(200, {"data": self.requests[self.by_external[external]]})
        failure = self.fail_for.get(candidate["email"].lower())
        if failure:
            request.fault = "fail_for"
            raise HttpError(failure["status"], failure["detail"])
        now = self.now_iso()
        obj = {"id": common.new_id(), "external_id": external, "template_id": template,
               "status": "sent",
               "candidate": {"first_name": candidate["first_name"],
                             "last_name": candidate.get("last_name") or "",
                             "email": candidate["email"], "phone": candidate.get("phone")},
               "job_title": body.get("job_title"), "requester": requester,
               "hiring_manager": manager, "ats": "lever",
               "ats_candidate_url": body.get("ats_candidate_url"),
               "created_at": now, "updated_at": now, "completed_at": None,
               "report_url": None, "hired": None, "hired_at": None, "hired_source": None}
        self.requests[obj["id"]] = obj
        self.by_external[external] = obj["id"]
        return Response(201, {"data": obj})

    def patch_request(self, request, obj):
        body = request.body_object(bad)
        unknown = sorted(set(body) - {"hired", "hired_at", "hired_source"})
        if unknown:
            raise bad("unknown or read-only fields: %s" % ", ".join(unknown))
        if "hired" in body and body["hired"] is not None and not isinstance(body["hired"], bool):
            raise bad("hired: Must be a valid boolean.")
        if "hired_at" in body:
            iso_or_none(body["hired_at"], "hired_at")
        if body.get("hired_source") is not None and body["hired_source"] not in HIRED_SOURCES:
            raise bad('hired_source: "%s" is not a valid choice.' % body["hired_source"])
        obj.update(body)
        obj["updated_at"] = self.now_iso()
        return Response(200, {"data": obj})

    def cancel_request(self, obj):
        if obj["status"] == "completed":
            raise HttpError(409, "already completed")
        if obj["status"] == "expired":
            raise HttpError(409, "already expired")
        if obj["status"] in OPEN_STATUSES:
            obj["status"] = "cancelled"
            obj["updated_at"] = self.now_iso()
        return Response(200, {"data": obj})

    # ------------------------------------------------------------ prospects

    def patch_prospect(self, request, obj):
        body = request.body_object(bad)
        unknown = sorted(set(body) - {"ats_id", "ats_exported_at"})
        if unknown:
            raise bad("unknown or read-only fields: %s" % ", ".join(unknown))
        if body.get("ats_id") is not None and not isinstance(body["ats_id"], str):
            raise bad("ats_id: Not a valid string.")
        if "ats_exported_at" in body:
            iso_or_none(body["ats_exported_at"], "ats_exported_at")
        obj.update(body)
        obj["updated_at"] = self.now_iso()
        return Response(200, {"data": obj})

    # ------------------------------------------------------------ test control

    def control(self, request):
        route = (request.method, request.path.rstrip("/"))
        if route == ("GET", "/_fake/fail_for"):
            return {"fail_for": self.fail_for}
        if route != ("POST", "/_fake/fail_for"):
            raise KeyError(request.path)
        body = request.json if request.json_ok else None
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

    def _request_for(self, op):
        if "id" in op:
            obj = self.requests.get(op["id"])
        else:
            obj = self.requests.get(self.by_external.get(op["external_id"]))
        if obj is None:
            raise ValueError("no such request: %s" % (op.get("id") or op.get("external_id")))
        return obj

    def _at_iso(self, op):
        at = op.get("at")
        if at is None:
            return self.now_iso()
        if isinstance(at, int) and not isinstance(at, bool):
            return common.iso_from_ms(at)
        return iso_or_none(at, "at")

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

    def _mutate_one(self, op):
        kind = op.get("op")
        now = self.now_iso()
        if kind == "complete":
            obj = self._request_for(op)
            obj.update({"status": "completed", "completed_at": self._at_iso(op),
                        "report_url": op.get("report_url")
                        or "https://app.crosschq.com/report/%s" % obj["id"],
                        "updated_at": now})
            return obj
        if kind == "hire":
            obj = self._request_for(op)
            obj.update({"hired": True, "hired_at": self._at_iso(op), "hired_source": "crosschq",
                        "updated_at": now})
            return obj
        if kind == "set_status":
            obj = self._request_for(op)
            if op["status"] not in STATUSES:
                raise ValueError("unknown status %s" % op["status"])
            obj.update({"status": op["status"], "updated_at": now})
            return obj
        if kind == "set_request":
            obj = self._request_for(op)
            obj.update(op["fields"])
            if "updated_at" not in op["fields"]:
                obj["updated_at"] = now
            return obj
        if kind == "add_request":
            obj = payload(op, "request")
            obj.setdefault("id", common.new_id())
            if not obj.get("external_id") or obj["external_id"] in self.by_external:
                raise ValueError("add_request needs a new external_id")
            for name, value in (("status", "sent"), ("created_at", now), ("updated_at", now),
                                ("completed_at", None), ("report_url", None), ("hired", None),
                                ("hired_at", None), ("hired_source", None)):
                obj.setdefault(name, value)
            self.requests[obj["id"]] = obj
            self.by_external[obj["external_id"]] = obj["id"]
            return obj
        if kind == "add_template":
            obj = payload(op, "template")
            obj.setdefault("id", common.new_id())
            defaults = (("name", "Template"), ("ats_tag", None), ("description", ""),
                        ("jobrole", self.jobroles[0]["codename"] if self.jobroles else None),
                        ("position", ""), ("references", [{"relationship": "managers",
                                                           "count": 2}]),
                        ("any_relationship", False), ("reference_notes", ""),
                        ("hiring_manager", None), ("is_default", False))
            for name, value in defaults:
                obj.setdefault(name, value)
            obj["updated_at"] = obj.get("updated_at") or now
            self.templates[obj["id"]] = obj
            return obj
        if kind == "set_template":
            obj = self.templates.get(op["id"])
            if obj is None:
                raise ValueError("no such template %s" % op["id"])
            obj.update(op["fields"])
            obj["updated_at"] = now
            return obj
        if kind == "delete_template":
            obj = self.templates.pop(op["id"], None)
            if obj is None:
                raise ValueError("no such template %s" % op["id"])
            return obj
        if kind == "add_prospect":
            obj = payload(op, "prospect")
            obj.setdefault("id", common.new_id())
            for name, value in (("first_name", ""), ("last_name", ""), ("email", None),
                                ("phone", None), ("job_title", None), ("tags", []),
                                ("source", "crosschq"), ("created_at", now), ("ats_id", None),
                                ("ats_exported_at", None)):
                obj.setdefault(name, value)
            obj["updated_at"] = obj.get("updated_at") or now
            self.prospects[obj["id"]] = obj
            return obj
        if kind == "set_prospect":
            obj = self.prospects.get(op["id"])
            if obj is None:
                raise ValueError("no such prospect %s" % op["id"])
            obj.update(op["fields"])
            obj["updated_at"] = now
            return obj
        raise ValueError("unknown op %r" % (kind,))


if __name__ == "__main__":
    common.serve(CrosschqApp, "Fake Crosschq Partner API v2 on 127.0.0.1")
