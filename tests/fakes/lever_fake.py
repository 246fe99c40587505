#!/usr/bin/python3
"""A fake of Lever's Data API v1 on loopback, following docs/lever-api.md (rough edges included).

Simulated: Basic auth with the key as user name, opaque offset tokens over frozen snapshots,
an order that is not updatedAt, default confidentiality=non-confidential, null updatedAt,
legacy archivedAt/archiveReason, `?type=hired` answering a single object, the postings
updated_at filter restriction (nothing but confidentiality with it), notes that do not bump
updatedAt, expand/include, unexpanded archive answers, /opportunities/deleted filtered by
confidentiality, refused offset tokens staying refused; and, through POST /_fake/options,
301 redirects, 403 per endpoint and per confidential opportunity, the "Invalid offset token"
refusal on another status.
Run: /usr/bin/python3 lever_fake.py --seed FILE --port-file P --log L --api-key-file K
"""

import base64
import binascii
import bisect
import collections
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import HttpError, Response  # noqa: E402

LIST_LIMIT_MAX = 100
MAX_SNAPSHOTS = 256
MAX_TOKENS = 200000
USER_EXPANDS = ("owner", "sourcedBy", "followers")
POSTING_USER_FIELDS = ("owner", "hiringManager", "user", "followers")
# DOCS: "the updated_at_* filters can be combined only with confidentiality" (no limit,
# offset, expand or include either)
POSTING_UPDATED_ALLOWED = {"confidentiality", "updated_at_start", "updated_at_end"}
MOVED_PREFIX = "/moved"
OPTION_KEYS = ("redirect", "forbidden_paths", "no_confidential_access", "offset_error_status",
               "refuse_postings_updated")


def bad(message):
    """A 400 in Lever's format."""
    return HttpError(400, message, "BadRequest")


def not_found(kind, ident):
    return HttpError(404, "%s %s was not found" % (kind, ident), "ResourceNotFound")


def order_key(ident):
    """Stable pseudo-random position of an object (Lever's order is not documented)."""
    return hashlib.sha1(ident.encode("utf-8")).digest()


def int_arg(request, name):
    """An integer query parameter or None; 400 when not an integer."""
    value = request.arg(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad("Invalid value for %s: %s" % (name, value))


def bool_arg(request, name):
    value = request.arg(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise bad("Invalid value for %s: must be true or false" % name)
    return value == "true"


def string_list(body, name, required=False):
    """body[name] as a list of strings (400 otherwise)."""
    value = body.get(name)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad("%s must be an array of strings" % name)
    return value


class Snapshot:
    """The frozen result ids of one list query, shared by all its offset tokens."""

    def __init__(self, signature, ids):
        self.signature = signature
        self.ids = ids


class LeverApp(common.App):
    """Lever's data and endpoints."""

    name = "lever"

    def __init__(self, seed, clock, faults):
        super().__init__(seed, clock, faults)
        self.stages = list(seed.get("stages", []))
        self.archive_reasons = list(seed.get("archive_reasons", []))
        self.users = {u["id"]: u for u in seed.get("users", [])}
        self.postings = {p["id"]: p for p in seed.get("postings", [])}
        self.opportunities = {}
        self.order = []                      # sorted [(order_key, id)]
        for opp in seed.get("opportunities", []):
            self.opportunities[opp["id"]] = opp
            self.order.append((order_key(opp["id"]), opp["id"]))
        self.order.sort()
        self.deleted = list(seed.get("deleted", []))
        self.version = 0                     # bumped by every write; invalidates the index
        self.updated_index = (None, [])      # (version, sorted [(updatedAt, id)])
        self.notes = {k: list(v) for k, v in (seed.get("notes") or {}).items()}
        self.snapshots = collections.OrderedDict()
        self.tokens = collections.OrderedDict()
        self.api_key = None
        self.options = {}
        self.refused_tokens = {}             # offset token -> the status it is refused with

    # ------------------------------------------------------------ framework hooks

    def check_auth(self, headers):
        value = headers.get("Authorization") or ""
        if not value.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        return bool(sep) and password == "" and user == self.api_key

    def error_body(self, status, message, code=None):
        return {"code": code or common.STATUS_CODES.get(status, "Error"), "message": message}

    def state(self):
        return {"stages": self.stages, "archive_reasons": self.archive_reasons,
                "users": list(self.users.values()), "postings": list(self.postings.values()),
                "opportunities": list(self.opportunities.values()), "deleted": self.deleted,
                "notes": self.notes}

    # ------------------------------------------------------------ routing

    def handle(self, request, auth_ok):
        redirect = self.options.get("redirect")
        if request.path.startswith(MOVED_PREFIX + "/"):
            request.path = request.path[len(MOVED_PREFIX):]
        elif redirect and any(request.path.startswith(p) for p in redirect["only_paths"]):
            # Lever documents 301 (follow Location); location names the new origin + prefix
            query = "&".join("%s=%s" % (k, v) for k, vs in request.query.items() for v in vs)
            target = redirect["location"] + request.path + ("?" + query if query else "")
            raise HttpError(301, "Moved Permanently", "MovedPermanently",
                            headers={"Location": target})
        if not auth_ok:
            raise HttpError(401, "Invalid API key or missing Basic authentication",
                            "Unauthorized")
        if request.method != "GET":
            self.version += 1
        parts = [p for p in request.path.split("/") if p]
        if not parts or parts[0] != "v1":
            raise HttpError(404, "Unknown path %s" % request.path, "ResourceNotFound")
        parts = parts[1:]
        method = request.method
        route = self._route(method, parts)
        if route is None:
            if self._path_exists(parts):
                raise HttpError(405, "Method %s not allowed on %s" % (method, request.path),
                                "MethodNotAllowed")
            raise HttpError(404, "Unknown path %s" % request.path, "ResourceNotFound")
        for prefix in self.options.get("forbidden_paths") or ():
            if request.path.startswith(prefix):
                raise HttpError(403, "This API key does not have permission to access %s"
                                % request.path, "Forbidden")
        handler, params = route
        return handler(request, *params)

    def control(self, request):
        """POST /_fake/options: Lever behaviours a test switches on (see OPTION_KEYS)."""
        if (request.method, request.path.rstrip("/")) != ("POST", "/_fake/options"):
            raise KeyError(request.path)
        body = request.json if request.json_ok else None
        if not isinstance(body, dict) or set(body) - set(OPTION_KEYS):
            raise ValueError("options: an object with keys among %s" % ", ".join(OPTION_KEYS))
        redirect = body.get("redirect")
        if redirect is not None and not (isinstance(redirect, dict)
                                         and isinstance(redirect.get("location"), str)
                                         and isinstance(redirect.get("only_paths"), list)):
            raise ValueError("options: redirect is {location, only_paths}")
        self.options = dict(body)
        return {"options": self.options}

    def _route(self, method, parts):
        """Map (method, path parts) to (handler, params) or None."""
        n = len(parts)
        table = {
            ("GET", ("stages",)): self.list_stages,
            ("GET", ("archive_reasons",)): self.list_archive_reasons,
            ("GET", ("users",)): self.list_users,
            ("GET", ("postings",)): self.list_postings,
            ("GET", ("tags",)): self.list_tags,
            ("GET", ("opportunities",)): self.list_opportunities,
            ("POST", ("opportunities",)): self.create_opportunity,
            ("GET", ("opportunities", "deleted")): self.list_deleted,
        }
        if (method, tuple(parts)) in table:
            return table[(method, tuple(parts))], ()
        if n == 2 and method == "GET":
            getters = {"stages": self.get_stage, "archive_reasons": self.get_archive_reason,
                       "users": self.get_user, "postings": self.get_posting,
                       "opportunities": self.get_opportunity}
            if parts[0] in getters and parts[1] != "deleted":
                return getters[parts[0]], (parts[1],)
        if n == 3 and parts[0] == "opportunities":
            actions = {("PUT", "stage"): self.put_stage, ("PUT", "archived"): self.put_archived,
                       ("POST", "addLinks"): self.add_links,
                       ("POST", "removeLinks"): self.remove_links,
                       ("POST", "addTags"): self.add_tags, ("POST", "removeTags"): self.remove_tags,
                       ("GET", "notes"): self.list_notes, ("POST", "notes"): self.create_note}
            if (method, parts[2]) in actions:
                return actions[(method, parts[2])], (parts[1],)
        return None

    def _path_exists(self, parts):
        for method in ("GET", "POST", "PUT"):
            if self._route(method, parts) is not None:
                return True
        return False

    # ------------------------------------------------------------ pagination

    def _limit(self, request):
        limit = int_arg(request, "limit")
        if limit is None:
            return LIST_LIMIT_MAX
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise bad("Invalid value for limit: must be between 1 and %d" % LIST_LIMIT_MAX)
        return limit

    def _issue_token(self, snapshot_id, position):
        token = "0.%d.%s" % (int(time.time() * 1000), common.new_id())
        self.tokens[token] = (snapshot_id, position)
        while len(self.tokens) > MAX_TOKENS:
            self.tokens.popitem(last=False)
        return token

    def paginate(self, request, kind, compute_ids, render):
        """A Lever list answer over a frozen snapshot, with opaque offset tokens."""
        limit = self._limit(request)
        signature = (kind, tuple(sorted((k, tuple(v)) for k, v in request.query.items()
                                        if k not in ("offset", "limit"))))
        token = request.arg("offset")
        if token is not None:
            status = self.options.get("offset_error_status", 400)
            if self.faults.take_invalid_offset(request.path):
                # refused for good: Lever never takes that token again
                self.refused_tokens[token] = status
            if token in self.refused_tokens:
                request.fault = "invalid_offset"
                raise HttpError(self.refused_tokens[token],
                                "Invalid offset token: Offset token is invalid for sort",
                                "BadRequest")
            found = self.tokens.get(token)
            if found is None or found[0] not in self.snapshots:
                raise bad("Invalid offset token")
            snapshot_id, position = found
            snapshot = self.snapshots[snapshot_id]
            if snapshot.signature != signature:
                raise bad("Invalid offset token: Offset token is invalid for sort")
            self.snapshots.move_to_end(snapshot_id)
        else:
            snapshot_id, position = common.new_id(), 0
            snapshot = Snapshot(signature, compute_ids())
            self.snapshots[snapshot_id] = snapshot
            while len(self.snapshots) > MAX_SNAPSHOTS:
                self.snapshots.popitem(last=False)
        end = position + limit
        data = [obj for obj in (render(i) for i in snapshot.ids[position:end]) if obj is not None]
        body = {"data": data, "hasNext": end < len(snapshot.ids)}
        if body["hasNext"]:
            body["next"] = self._issue_token(snapshot_id, end)
        return Response(200, body)

    # ------------------------------------------------------------ rendering

    def user_object(self, user_id):
        """A user id expanded to the user object (unknown ids become {id})."""
        if user_id is None:
            return None
        user = self.users.get(user_id)
        return dict(user) if user else {"id": user_id}

    def stage_text(self, stage_id):
        for stage in self.stages:
            if stage["id"] == stage_id:
                return stage.get("text")
        return None

    def render_opportunity(self, opp, expand, include):
        """The API form of a stored opportunity, honouring expand and include."""
        out = dict(opp)
        apps = opp.get("applications") or []
        if "applications" in expand:
            out["applications"] = [a if isinstance(a, dict) else {"id": a} for a in apps]
        else:
            out["applications"] = [a["id"] if isinstance(a, dict) else a for a in apps]
        if "stage" in expand and opp.get("stage") is not None:
            out["stage"] = {"id": opp["stage"], "text": self.stage_text(opp["stage"])}
        for field in ("owner", "sourcedBy"):
            if field in expand:
                out[field] = self.user_object(opp.get(field))
        if "followers" in expand:
            out["followers"] = [self.user_object(u) for u in opp.get("followers") or []]
        if "contact" in expand:
            out["contact"] = {"id": opp.get("contact"), "name": opp.get("name"),
                              "headline": opp.get("headline"),
                              "isAnonymized": opp.get("isAnonymized", False),
                              "location": {"name": opp.get("location")},
                              "emails": opp.get("emails", []), "phones": opp.get("phones", [])}
        if include:
            keep = set(include) | set(expand) | {"id"}
            out = {k: v for k, v in out.items() if k in keep}
        return out

    def render_posting(self, posting, expand, include):
        out = dict(posting)
        for field in POSTING_USER_FIELDS:
            if field in expand and field in posting:
                value = posting[field]
                out[field] = ([self.user_object(u) for u in value] if isinstance(value, list)
                              else self.user_object(value))
        if include:
            keep = set(include) | set(expand) | {"id"}
            out = {k: v for k, v in out.items() if k in keep}
        return out

    # ------------------------------------------------------------ small lists

    def list_stages(self, request):
        return Response(200, {"data": self.stages})

    def get_stage(self, request, ident):
        for stage in self.stages:
            if stage["id"] == ident:
                return Response(200, {"data": stage})
        raise not_found("stages", ident)

    def list_archive_reasons(self, request):
        kind = request.arg("type")
        if kind is None:
            return Response(200, {"data": self.archive_reasons})
        if kind not in ("hired", "non-hired"):
            raise bad("Invalid value for type: must be hired or non-hired")
        matching = [r for r in self.archive_reasons if r.get("type") == kind]
        if len(matching) == 1:
            return Response(200, {"data": matching[0]})   # the documented rough edge
        return Response(200, {"data": matching})

    def get_archive_reason(self, request, ident):
        for reason in self.archive_reasons:
            if reason["id"] == ident:
                return Response(200, {"data": reason})
        raise not_found("archive_reasons", ident)

    def list_tags(self, request):
        counts = collections.Counter()
        for opp in self.opportunities.values():
            counts.update(opp.get("tags") or [])
        return Response(200, {"data": [{"text": t, "count": c} for t, c in sorted(counts.items())]})

    # ------------------------------------------------------------ users

    def list_users(self, request):
        emails = request.args("email")
        roles = request.args("accessRole")
        deactivated = bool_arg(request, "includeDeactivated")

        def matches(user):
            if emails and user.get("email") not in emails:
                return False
            if roles and user.get("accessRole") not in roles:
                return False
            return deactivated or not user.get("deactivatedAt")

        ids = sorted((u for u in self.users.values() if matches(u)),
                     key=lambda u: order_key(u["id"]))
        return self.paginate(request, "users", lambda: [u["id"] for u in ids],
                             lambda i: self.users.get(i))

    def get_user(self, request, ident):
        if ident not in self.users:
            raise not_found("users", ident)
        return Response(200, {"data": self.users[ident]})

    # ------------------------------------------------------------ postings

    def list_postings(self, request):
        confidentiality = request.arg("confidentiality", "non-confidential")
        if confidentiality not in ("confidential", "non-confidential", "all"):
            raise bad("Invalid value for confidentiality")
        start, end = int_arg(request, "updated_at_start"), int_arg(request, "updated_at_end")
        if start is not None or end is not None:
            others = sorted(set(request.query) - POSTING_UPDATED_ALLOWED)
            if self.options.get("refuse_postings_updated"):
                raise bad("updated_at_start and updated_at_end are not supported here")
            if others:
                raise bad("updated_at_start and updated_at_end can only be combined with "
                          "confidentiality (got %s)" % ", ".join(others))
        states = request.args("state")
        tags = request.args("tag")
        channels = request.args("distributionChannel")
        categories = {c: request.args(c) for c in
                      ("team", "department", "location", "commitment", "level")}
        expand = set(request.args("expand", split_commas=True))
        include = request.args("include", split_commas=True)

        def matches(p):
            conf = p.get("confidentiality", "non-confidential")
            if confidentiality != "all" and conf != confidentiality:
                return False
            updated = p.get("updatedAt")
            if start is not None and (updated is None or updated < start):
                return False
            if end is not None and (updated is None or updated > end):
                return False
            if states and p.get("state") not in states:
                return False
            if tags and not set(tags) & set(p.get("tags") or []):
                return False
            if channels and not set(channels) & set(p.get("distributionChannels") or []):
                return False
            for name, wanted in categories.items():
                if wanted and (p.get("categories") or {}).get(name) not in wanted:
                    return False
            return True

        def compute():
            found = [p["id"] for p in self.postings.values() if matches(p)]
            return sorted(found, key=order_key)

        def render(ident):
            posting = self.postings.get(ident)
            return self.render_posting(posting, expand, include) if posting else None

        return self.paginate(request, "postings", compute, render)

    def get_posting(self, request, ident):
        posting = self.postings.get(ident)
        if posting is None:
            raise not_found("postings", ident)
        expand = set(request.args("expand", split_commas=True))
        return Response(200, {"data": self.render_posting(posting, expand, [])})

    # ------------------------------------------------------------ opportunities: reads

    def opportunity_filter(self, request):
        """A predicate implementing the documented list filters (only those given)."""
        confidentiality = request.arg("confidentiality", "non-confidential")
        if confidentiality not in ("confidential", "non-confidential", "all"):
            raise bad("Invalid value for confidentiality")
        tests = []
        if confidentiality != "all":
            tests.append(lambda o: o.get("confidentiality", "non-confidential")
                         == confidentiality)
        for name, getter in (("updated_at", lambda o: o.get("updatedAt")),
                             ("created_at", lambda o: o.get("createdAt")),
                             ("advanced_at", lambda o: o.get("lastAdvancedAt")),
                             ("archived_at", archived_at)):
            low, high = int_arg(request, name + "_start"), int_arg(request, name + "_end")
            if low is not None or high is not None:
                tests.append(in_range(getter, low, high))
        for name, getter in (("stage_id", lambda o: {o.get("stage")}),
                             ("contact_id", lambda o: {o.get("contact")}),
                             ("origin", lambda o: {o.get("origin")}),
                             ("location", lambda o: {o.get("location")}),
                             # Lever matches the canonical email exactly (lever-api.md
                             # section 8): a query in another case finds nothing
                             ("email", lambda o: {e.strip().lower()
                                                  for e in o.get("emails") or ()}),
                             ("tag", lambda o: set(o.get("tags") or ())),
                             ("source", lambda o: set(o.get("sources") or ())),
                             ("posting_id", posting_ids),
                             ("archive_reason_id", lambda o: {archive_reason(o)}),
                             ("archived_posting_id",
                              lambda o: posting_ids(o) if archived_at(o) is not None else set())):
            wanted = set(request.args(name))
            if wanted:
                tests.append(lambda o, g=getter, w=wanted: not w.isdisjoint(g(o)))
        archived_flag = bool_arg(request, "archived")
        if archived_flag is not None:
            tests.append(lambda o: archived_flag == (archive_reason(o) is not None
                                                     or archived_at(o) is not None))
        snoozed = bool_arg(request, "snoozed")
        if snoozed is not None:
            now = self.clock.now_ms()
            tests.append(lambda o: snoozed == ((o.get("snoozedUntil") or 0) > now))
        return lambda o: all(test(o) for test in tests)

    def list_opportunities(self, request):
        matches = self.opportunity_filter(request)
        expand = set(request.args("expand", split_commas=True))
        include = request.args("include", split_commas=True)

        low, high = int_arg(request, "updated_at_start"), int_arg(request, "updated_at_end")

        def compute():
            opps = self.opportunities
            if low is None and high is None:
                return [i for _, i in self.order if matches(opps[i])]
            found = [i for i in self.updated_between(low, high) if matches(opps[i])]
            return sorted(found, key=order_key)

        def render(ident):
            opp = self.opportunities.get(ident)
            return self.render_opportunity(opp, expand, include) if opp else None

        return self.paginate(request, "opportunities", compute, render)

    def updated_between(self, low, high):
        """Ids whose updatedAt lies within [low, high], via an index rebuilt after writes."""
        version, index = self.updated_index
        if version != self.version:
            index = sorted((o["updatedAt"], i) for i, o in self.opportunities.items()
                           if isinstance(o.get("updatedAt"), int))
            self.updated_index = (self.version, index)
        start = 0 if low is None else bisect.bisect_left(index, (low, ""))
        found = []
        for updated, ident in index[start:]:
            if high is not None and updated > high:
                break
            found.append(ident)
        return found

    def list_deleted(self, request):
        low, high = int_arg(request, "deleted_at_start"), int_arg(request, "deleted_at_end")
        confidentiality = request.arg("confidentiality", "non-confidential")
        if confidentiality not in ("confidential", "non-confidential", "all"):
            raise bad("Invalid value for confidentiality")
        by_id = {d["id"]: d for d in self.deleted}

        def shown(d):
            # filtered like the other lists (default non-confidential); the record itself
            # carries only id, deletedAt and deletedBy
            return confidentiality == "all" or \
                d.get("_confidentiality", "non-confidential") == confidentiality

        def render(ident):
            record = by_id.get(ident)
            return {k: v for k, v in record.items() if not k.startswith("_")} if record else None

        def compute():
            found = [d["id"] for d in self.deleted if shown(d)
                     and (low is None or (d.get("deletedAt") or 0) >= low)
                     and (high is None or (d.get("deletedAt") or 0) <= high)]
            return sorted(found, key=order_key)

        return self.paginate(request, "deleted", compute, render)

    def get_opportunity(self, request, ident):
        opp = self._opportunity(ident)
        if self.options.get("no_confidential_access") and \
                opp.get("confidentiality") == "confidential":
            raise HttpError(403, "This API key does not have access to confidential data",
                            "Forbidden")
        expand = set(request.args("expand", split_commas=True))
        include = request.args("include", split_commas=True)
        return Response(200, {"data": self.render_opportunity(opp, expand, include)})

    def _opportunity(self, ident):
        opp = self.opportunities.get(ident)
        if opp is None:
            raise not_found("opportunities", ident)
        return opp

    def _answer_opportunity(self, request, opp, status=200):
        expand = set(request.args("expand", split_commas=True))
        return Response(status, {"data": self.render_opportunity(opp, expand, [])})

    def _perform_as(self, request, required=False):
        user = request.arg("perform_as")
        if user is None or user == "":
            if required:
                raise bad("Missing required parameter: perform_as")
            return None
        if user not in self.users:
            raise bad("perform_as: user %s was not found" % user)
        return user

    # ------------------------------------------------------------ opportunities: writes

    def create_opportunity(self, request):
        performer = self._perform_as(request, required=True)
        body = request.body_object(bad)
        for name in ("name", "headline", "origin", "owner", "stage", "location"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise bad("%s must be a string" % name)
        emails = string_list(body, "emails")
        links, tags, sources = (string_list(body, n) for n in ("links", "tags", "sources"))
        postings = string_list(body, "postings")
        if len(postings) > 1:
            raise bad("an opportunity can be created for at most one posting")
        for posting in postings:
            if posting not in self.postings:
                raise bad("posting %s was not found" % posting)
        phones = body.get("phones") or []
        if not isinstance(phones, list) or not all(
                isinstance(p, dict) and isinstance(p.get("value"), str) for p in phones):
            raise bad("phones must be an array of {type, value}")
        origin = body.get("origin") or "sourced"
        if origin not in ("agency", "applied", "internal", "referred", "sourced", "university"):
            raise bad("Invalid value for origin: %s" % origin)
        owner = body.get("owner") or performer
        if owner not in self.users:
            raise bad("owner %s was not found" % owner)
        stage = body.get("stage") or (self.stages[0]["id"] if self.stages else None)
        if stage is not None and self.stage_text(stage) is None:
            raise bad("stage %s was not found" % stage)
        now = self.clock.now_ms()
        ident = common.new_id()
        contact = next((o.get("contact") for o in self.opportunities.values()
                        if emails and set(emails) & set(o.get("emails") or [])), None)
        applications = []
        for posting_id in postings:
            posting = self.postings[posting_id]
            applications.append({
                "id": common.new_id(), "type": "user", "candidateId": ident,
                "opportunityId": ident, "posting": posting_id,
                "postingOwner": posting.get("owner"),
                "postingHiringManager": posting.get("hiringManager"), "user": performer,
                "name": None, "email": None, "phone": None, "company": None, "links": [],
                "comments": None, "customQuestions": [], "createdAt": now, "archived": None,
                "requisitionForHire": None})
        confidential = any(self.postings[p].get("confidentiality") == "confidential"
                           for p in postings)
        opp = {
            "id": ident, "name": body.get("name") or "", "headline": body.get("headline") or "",
            "contact": contact or common.new_id(), "emails": emails, "phones": phones,
            "confidentiality": "confidential" if confidential else "non-confidential",
            "location": body.get("location") or "", "links": links, "archived": None,
            "tags": tags, "sources": sources,
            "stageChanges": [] if stage is None else [
                {"toStageId": stage, "toStageIndex": self.stage_index(stage),
                 "userId": performer, "updatedAt": now}],
            "origin": origin, "sourcedBy": performer if origin == "sourced" else None,
            "owner": owner, "followers": sorted({performer, owner}),
            "applications": applications, "createdAt": now, "updatedAt": now,
            "lastInteractionAt": now, "lastAdvancedAt": now, "snoozedUntil": None,
            "urls": urls(ident), "isAnonymized": False, "dataProtection": None,
            "resume": None, "stage": stage}
        self._insert(opp)
        return self._answer_opportunity(request, opp, 201)

    def stage_index(self, stage_id):
        for index, stage in enumerate(self.stages):
            if stage["id"] == stage_id:
                return index
        return None

    def put_stage(self, request, ident):
        opp = self._opportunity(ident)
        performer = self._perform_as(request)
        body = request.body_object(bad)
        stage = body.get("stage")
        if not isinstance(stage, str) or self.stage_text(stage) is None:
            raise bad("stage %r was not found" % (stage,))
        self._move_stage(opp, stage, self.clock.now_ms(), performer)
        return self._answer_opportunity(request, opp)

    def _move_stage(self, opp, stage, at, user):
        opp.setdefault("stageChanges", []).append(
            {"toStageId": stage, "toStageIndex": self.stage_index(stage),
             "userId": user, "updatedAt": at})
        opp["stage"] = stage
        opp["lastAdvancedAt"] = at
        opp["updatedAt"] = at

    def put_archived(self, request, ident):
        opp = self._opportunity(ident)
        self._perform_as(request)
        body = request.body_object(bad)
        if "reason" not in body:
            raise bad("Missing required field: reason")
        if body.get("cleanInterviews") is not None and not isinstance(body["cleanInterviews"],
                                                                      bool):
            raise bad("cleanInterviews must be a boolean")
        requisition = body.get("requisitionId")
        if requisition is not None and not isinstance(requisition, str):
            raise bad("requisitionId must be a string")
        self._archive(opp, body["reason"], self.clock.now_ms())
        # the answer is never expanded: owner, followers and applications are ids, stage too
        return Response(200, {"data": self.render_opportunity(opp, set(), [])})

    def _archive(self, opp, reason, at):
        """Archive with `reason` (None unarchives); 400 for an unknown reason."""
        if reason is not None and not any(r["id"] == reason for r in self.archive_reasons):
            raise bad("archive reason %r was not found" % (reason,))
        opp.pop("archivedAt", None)
        opp.pop("archiveReason", None)
        value = None if reason is None else {"reason": reason, "archivedAt": at}
        opp["archived"] = value
        for app in opp.get("applications") or []:
            if isinstance(app, dict):
                app["archived"] = dict(value) if value else None
        opp["updatedAt"] = at

    def _edit_list(self, request, ident, field, add):
        opp = self._opportunity(ident)
        self._perform_as(request)
        body = request.body_object(bad)
        values = string_list(body, field, required=True)
        current = list(opp.get(field) or [])
        if add:
            updated = current + [v for i, v in enumerate(values)
                                 if v not in current and v not in values[:i]]
        else:
            updated = [v for v in current if v not in values]
        if updated != current:
            opp[field] = updated
            opp["updatedAt"] = self.clock.now_ms()
        return self._answer_opportunity(request, opp)

    def add_links(self, request, ident):
        return self._edit_list(request, ident, "links", True)

    def remove_links(self, request, ident):
        return self._edit_list(request, ident, "links", False)

    def add_tags(self, request, ident):
        return self._edit_list(request, ident, "tags", True)

    def remove_tags(self, request, ident):
        return self._edit_list(request, ident, "tags", False)

    # ------------------------------------------------------------ notes

    def list_notes(self, request, ident):
        self._opportunity(ident)
        notes = {n["id"]: n for n in self.notes.get(ident, [])}
        return self.paginate(request, "notes:" + ident,
                             lambda: [n["id"] for n in self.notes.get(ident, [])],
                             lambda i: listed_note(notes.get(i)))

    def create_note(self, request, ident):
        self._opportunity(ident)
        performer = self._perform_as(request)
        body = request.body_object(bad)
        value = body.get("value")
        if not isinstance(value, str) or value == "":
            raise bad("Missing required field: value")
        now = self.clock.now_ms()
        created = body.get("createdAt", now)
        if created is None:
            created = now
        if isinstance(created, bool) or not isinstance(created, int) or created > now:
            raise bad("createdAt must be a timestamp in ms, not in the future")
        score = body.get("score")
        if score is not None and (isinstance(score, bool) or score not in (1, 2, 3, 4)):
            raise bad("score must be 1-4 or null")
        for flag in ("secret", "notifyFollowers"):
            if body.get(flag) is not None and not isinstance(body[flag], bool):
                raise bad("%s must be a boolean" % flag)
        field = {"type": "note", "text": "Comment", "value": value, "createdAt": created,
                 "user": performer, "score": score, "stage": self._opportunity(ident)["stage"]}
        thread = request.arg("note_id")
        if thread:
            note = next((n for n in self.notes.get(ident, []) if n["id"] == thread), None)
            if note is None:
                raise bad("note %s was not found" % thread)
            note["fields"].append(field)
            return Response(201, {"data": {"noteId": thread}})
        note = {"id": common.new_id(), "text": None, "fields": [field], "user": performer,
                "secret": bool(body.get("secret", False)),
                "notifyFollowers": bool(body.get("notifyFollowers", False)),
                "createdAt": created, "completedAt": created, "deletedAt": None}
        self.notes.setdefault(ident, []).append(note)
        return Response(201, {"data": {"noteId": note["id"]}})

    # ------------------------------------------------------------ test control

    def _insert(self, opp):
        if opp["id"] in self.opportunities:
            raise ValueError("opportunity %s exists already" % opp["id"])
        self.opportunities[opp["id"]] = opp
        bisect.insort(self.order, (order_key(opp["id"]), opp["id"]))

    def mutate(self, ops):
        """Apply test ops in order; answer the objects they produced."""
        self.version += 1
        results = []
        for index, op in enumerate(ops):
            try:
                results.append(self._mutate_one(op))
            except HttpError as err:
                raise ValueError("op %d: %s" % (index, err.message))
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise ValueError("op %d (%s): %s" % (index, op.get("op") if isinstance(op, dict)
                                                     else op, err))
        return results

    @staticmethod
    def _by_id_or_text(objects, value):
        """The id of the object whose id or text is `value` (tests may name stages)."""
        for obj in objects:
            if obj["id"] == value:
                return value
        for obj in objects:
            if obj.get("text") == value:
                return obj["id"]
        return None

    def _mutate_one(self, op):
        if not isinstance(op, dict):
            raise ValueError("an op must be an object")
        kind = op.get("op")
        now = self.clock.now_ms()
        at = op.get("at", now)
        if kind == "move_stage":
            opp = self._opportunity(op["id"])
            stage = self._by_id_or_text(self.stages, op["stage_id"])
            if stage is None:
                raise ValueError("unknown stage %s" % op["stage_id"])
            self._move_stage(opp, stage, at, op.get("user"))
            return opp
        if kind == "archive":
            opp = self._opportunity(op["id"])
            reason = self._by_id_or_text(self.archive_reasons, op["reason"])
            self._archive(opp, reason or op["reason"], at)
            return opp
        if kind == "unarchive":
            opp = self._opportunity(op["id"])
            self._archive(opp, None, at)
            return opp
        if kind == "set":
            opp = self._opportunity(op["id"])
            fields = op["fields"]
            opp.update(fields)
            if "updatedAt" not in fields:
                opp["updatedAt"] = at
            return opp
        if kind == "add_opportunity":
            opp = dict(op["opportunity"])
            opp.setdefault("id", common.new_id())
            opp.setdefault("createdAt", now)
            opp.setdefault("updatedAt", now)
            opp.setdefault("confidentiality", "non-confidential")
            opp.setdefault("archived", None)
            for name in ("emails", "phones", "links", "tags", "sources", "followers",
                         "applications", "stageChanges"):
                opp.setdefault(name, [])
            opp.setdefault("stage", self.stages[0]["id"] if self.stages else None)
            opp.setdefault("isAnonymized", False)
            opp.setdefault("contact", common.new_id())
            opp.setdefault("urls", urls(opp["id"]))
            self._insert(opp)
            return opp
        if kind == "delete":
            opp = self.opportunities.pop(op["id"], None)
            if opp is None:
                raise ValueError("unknown opportunity %s" % op["id"])
            self.order.remove((order_key(op["id"]), op["id"]))
            record = {"id": op["id"], "deletedAt": at, "deletedBy": op.get("user"),
                      "_confidentiality": opp.get("confidentiality", "non-confidential")}
            self.deleted.append(record)
            return record
        if kind == "anonymize":
            opp = self._opportunity(op["id"])
            opp.update({"name": "", "headline": "", "emails": [], "phones": [], "links": [],
                        "isAnonymized": True, "updatedAt": at})
            return opp
        if kind == "set_posting":
            posting = self.postings.get(op["id"])
            if posting is None:
                raise ValueError("unknown posting %s" % op["id"])
            posting.update(op["fields"])
            if "updatedAt" not in op["fields"]:
                posting["updatedAt"] = at
            return posting
        if kind == "add_posting":
            posting = dict(op["posting"])
            posting.setdefault("id", common.new_id())
            posting.setdefault("createdAt", now)
            posting.setdefault("updatedAt", now)
            posting.setdefault("confidentiality", "non-confidential")
            posting.setdefault("tags", [])
            self.postings[posting["id"]] = posting
            return posting
        raise ValueError("unknown op %r" % (kind,))


def archived_at(opp):
    """archivedAt in either the current or the legacy form."""
    archived = opp.get("archived")
    if isinstance(archived, dict):
        return archived.get("archivedAt")
    return opp.get("archivedAt")


def archive_reason(opp):
    archived = opp.get("archived")
    if isinstance(archived, dict):
        return archived.get("reason")
    return opp.get("archiveReason")


def in_range(getter, low, high):
    """A predicate: getter(o) is not None and within the inclusive bounds."""
    def test(opp):
        value = getter(opp)
        return value is not None and (low is None or value >= low) and \
            (high is None or value <= high)
    return test


# the fields of a note as GET /opportunities/:id/notes lists it (docs/lever-api.md section 6);
# what the POST was given besides (notifyFollowers) stays in /_fake/state only
NOTE_FIELDS = ("id", "text", "fields", "user", "secret", "createdAt", "completedAt", "deletedAt")


def listed_note(note):
    """A stored note as the list endpoint shows it (None stays None)."""
    if note is None:
        return None
    return {k: note.get(k) for k in NOTE_FIELDS}


def posting_ids(opp):
    return {a.get("posting") for a in opp.get("applications") or [] if isinstance(a, dict)}


def urls(ident):
    return {"list": "https://hire.lever.co/candidates",
            "show": "https://hire.lever.co/candidates/%s" % ident}


if __name__ == "__main__":
    common.serve(LeverApp, "Fake Lever Data API v1 on 127.0.0.1")
