"""Self-tests of the fakes and the harness: they need no refsync binary.

They prove the behaviour that the end-to-end tests of refsync rely on: auth, Lever's offset
tokens and filters; Crosschq as crosschq-api.md section 1 describes it (bare key, trailing
slashes, DRF-style validation, no de-duplication of creates, Request shape and time spellings),
its section-2 capabilities switched on and off, its webhooks and lost create answers; fault
injection on the wire, SMTP delivery, the seed generator and the harness's config.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import smtplib
import socket
import stat
import sys
import time
import unittest
import urllib.parse
import email.policy
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import gen_tenant  # noqa: E402

TOKEN_RE = re.compile(r"^0\.\d{13}\.[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                      r"[0-9a-f]{12}$")
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
NOW = 1795000000000          # 2026-11-18T11:06:40Z in ms


def lever_tenant():
    return gen_tenant.generate(250, seed=3, confidential=0.3, archived=0.1, hired=0.05,
                               null_updated=0.1, legacy_archived=0.05, in_trigger=0.05,
                               prospects=10, deleted=3)


class FakeTestCase(unittest.TestCase):
    """One tenant per class; faults, log and clock are reset before each test."""

    seed = None

    @classmethod
    def setUpClass(cls):
        cls.tenant = harness.Tenant(cls.seed() if cls.seed else None)
        cls.tenant.__enter__()
        cls.lever, cls.crosschq = cls.tenant.lever, cls.tenant.crosschq

    @classmethod
    def tearDownClass(cls):
        cls.tenant.__exit__(None, None, None)

    def setUp(self):
        for fake in (self.lever, self.crosschq):
            fake.faults({})
            fake.clock(None)
            fake.reset_log()
        crosschq = self.crosschq
        crosschq.capabilities(list=False, hire=False, hired_field=False, cancel=False,
                              prospects=False)
        crosschq.auth_scheme("")
        crosschq.webhook_config()
        crosschq.lose_create(0)
        crosschq._control("POST", "fail_for", {})
        crosschq.pending_webhooks()
        self.lever._control("POST", "options", {})

    def all_pages(self, query):
        """Every opportunity id over all pages of a Lever list query."""
        ids, query, pages = [], dict(query), 0
        while True:
            answer = self.lever.api("GET", "/opportunities", query)
            self.assertEqual(answer.status, 200, answer.body)
            body = answer.json()
            ids.extend(o["id"] for o in body["data"])
            pages += 1
            if not body["hasNext"]:
                self.assertNotIn("next", body)
                return ids, pages
            self.assertRegex(body["next"], TOKEN_RE)
            query["offset"] = body["next"]


class LeverFakeTest(FakeTestCase):
    seed = staticmethod(lever_tenant)

    def test_auth_and_no_key_in_log(self):
        self.assertEqual(self.lever.api("GET", "/stages", auth=False).status, 401)
        for header in ("Basic " + base64.b64encode(b"wrong:").decode(),
                       "Basic " + base64.b64encode(
                           (self.lever.api_key + ":x").encode()).decode(),
                       "Bearer " + self.lever.api_key, "Basic %%%"):
            answer = self.lever.api("GET", "/stages", auth=False,
                                    headers={"Authorization": header})
            self.assertEqual(answer.status, 401, header)
            self.assertEqual(answer.json()["code"], "Unauthorized")
        self.assertEqual(self.lever.api("GET", "/stages").status, 200)
        self.assertEqual([e["auth_ok"] for e in self.lever.log()], [False] * 5 + [True])
        with open(self.tenant.path("fakes", "lever.log"), encoding="utf-8") as handle:
            text = handle.read()
        self.assertNotIn(self.lever.api_key, text)
        self.assertNotIn(self.lever.auth_header.split()[1], text)

    def test_pagination_covers_everything_once_in_a_non_updated_order(self):
        state = self.lever.state()["opportunities"]
        ids, pages = self.all_pages({"confidentiality": "all", "limit": 40})
        self.assertEqual(sorted(ids), sorted(o["id"] for o in state))
        self.assertEqual(pages, (len(state) + 39) // 40)
        updated = {o["id"]: o["updatedAt"] or 0 for o in state}
        self.assertNotEqual(ids, sorted(ids, key=updated.get))
        default, _ = self.all_pages({})
        self.assertEqual(sorted(default), sorted(o["id"] for o in state
                                                 if o["confidentiality"] == "non-confidential"))
        first = self.lever.api("GET", "/opportunities", {"limit": 100}).json()
        self.assertEqual(len(first["data"]), 100)

    def test_offset_tokens_are_opaque_frozen_and_tied_to_the_query(self):
        first = self.lever.api("GET", "/opportunities", {"limit": 5, "archived": "false"})
        token = first.json()["next"]
        again = [self.lever.api("GET", "/opportunities",
                                {"limit": 5, "archived": "false", "offset": token}).json()
                 for _ in range(2)]
        self.assertEqual(again[0]["data"], again[1]["data"])
        other = self.lever.api("GET", "/opportunities", {"limit": 5, "offset": token})
        self.assertEqual(other.status, 400)
        self.assertEqual(other.json(), {"code": "BadRequest", "message":
                                        "Invalid offset token: Offset token is invalid for sort"})
        for forged in ("0.1414895548650.a6070140-0000-4000-8000-000000000000", "10", ""):
            answer = self.lever.api("GET", "/opportunities", {"offset": forged})
            self.assertEqual(answer.status, 400, forged)
            self.assertTrue(answer.json()["message"].startswith("Invalid offset token"))
        for limit in ("0", "101", "x"):
            self.assertEqual(self.lever.api("GET", "/opportunities", {"limit": limit}).status,
                             400)
        # a change between pages does not make an id appear twice or vanish
        query = {"limit": 30, "confidentiality": "all"}
        page = self.lever.api("GET", "/opportunities", query).json()
        seen = [o["id"] for o in page["data"]]
        self.lever.mutate([{"op": "set", "id": seen[0], "fields": {"headline": "changed"}}])
        while page["hasNext"]:
            page = self.lever.api("GET", "/opportunities",
                                  dict(query, offset=page["next"])).json()
            seen.extend(o["id"] for o in page["data"])
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(len(seen), len(self.lever.state()["opportunities"]))

    def test_filters(self):
        opps = self.lever.state()["opportunities"]
        nulls = [o for o in opps if o["updatedAt"] is None]
        self.assertTrue(nulls)
        everything, _ = self.all_pages({"confidentiality": "all", "updated_at_start": 0,
                                        "updated_at_end": 2 ** 50})
        self.assertEqual(sorted(everything),
                         sorted(o["id"] for o in opps if o["updatedAt"] is not None))
        target = next(o for o in opps if o["updatedAt"])
        exact, _ = self.all_pages({"confidentiality": "all",
                                   "updated_at_start": target["updatedAt"],
                                   "updated_at_end": target["updatedAt"]})
        self.assertIn(target["id"], exact)
        self.assertTrue(all(o["updatedAt"] == target["updatedAt"] for o in opps
                            if o["id"] in exact))
        # created_at_* and updated_at_* together: both hold (Lever ANDs its filters)
        created = sorted(o["createdAt"] for o in opps)
        middle = created[len(created) // 2]
        both, _ = self.all_pages({"confidentiality": "all", "created_at_end": middle - 1,
                                  "updated_at_start": middle, "updated_at_end": 2 ** 50})
        expected_both = [o["id"] for o in opps if o["createdAt"] <= middle - 1
                         and o["updatedAt"] is not None and o["updatedAt"] >= middle]
        self.assertTrue(expected_both)
        self.assertEqual(sorted(both), sorted(expected_both))
        since, _ = self.all_pages({"confidentiality": "all", "created_at_start": middle})
        self.assertEqual(sorted(since), sorted(o["id"] for o in opps if o["createdAt"] >= middle))
        for tag in ("Engineering", "engineering"):
            tagged, _ = self.all_pages({"confidentiality": "all", "tag": tag})
            self.assertEqual(sorted(tagged), sorted(o["id"] for o in opps if tag in o["tags"]))
        union, _ = self.all_pages({"confidentiality": "all", "tag": ["Engineering", "sales"]})
        self.assertEqual(sorted(union), sorted(o["id"] for o in opps
                                               if {"Engineering", "sales"} & set(o["tags"])))
        stage = self.lever.api("GET", "/stages").json()["data"][7]["id"]
        in_stage, _ = self.all_pages({"confidentiality": "all", "stage_id": stage})
        self.assertEqual(sorted(in_stage), sorted(o["id"] for o in opps if o["stage"] == stage))
        archived, _ = self.all_pages({"confidentiality": "all", "archived": "true"})
        expected = [o["id"] for o in opps if o.get("archived") or o.get("archivedAt")]
        self.assertTrue(any("archivedAt" in o for o in opps))
        self.assertEqual(sorted(archived), sorted(expected))
        hired = self.lever.api("GET", "/archive_reasons", {"type": "hired"}).json()["data"]
        self.assertIsInstance(hired, dict)
        by_reason, _ = self.all_pages({"confidentiality": "all", "archived": "true",
                                       "archive_reason_id": hired["id"]})
        self.assertEqual(sorted(by_reason), sorted(
            o["id"] for o in opps if (o.get("archived") or {}).get("reason", o.get(
                "archiveReason")) == hired["id"]))
        email = next(o for o in opps if o["emails"] and
                     o["confidentiality"] == "non-confidential")["emails"][0]
        found = self.lever.api("GET", "/opportunities", {"email": email}).json()["data"]
        self.assertEqual([o["emails"] for o in found], [[email]])
        posting = next(o for o in opps if o["applications"])["applications"][0]["posting"]
        by_posting, _ = self.all_pages({"confidentiality": "all", "posting_id": posting})
        self.assertEqual(sorted(by_posting), sorted(
            o["id"] for o in opps if any(a["posting"] == posting for a in o["applications"])))
        self.assertEqual(self.lever.api("GET", "/opportunities",
                                        {"archived": "maybe"}).status, 400)

    def test_expand_and_include(self):
        plain = self.lever.api("GET", "/opportunities", {"limit": 3}).json()["data"]
        self.assertTrue(all(isinstance(o["stage"], str) and isinstance(o["owner"], str)
                            for o in plain))
        self.assertTrue(all(isinstance(a, str) for o in plain for a in o["applications"]))
        expanded = self.lever.api("GET", "/opportunities",
                                  {"limit": 3, "expand": ["applications,stage", "owner"]})
        for opp in expanded.json()["data"]:
            self.assertEqual(set(opp["stage"]), {"id", "text"})
            self.assertIn("email", opp["owner"])
            self.assertTrue(all(isinstance(a, dict) and "posting" in a
                                for a in opp["applications"]))
        narrow = self.lever.api("GET", "/opportunities", {"limit": 3, "include": ["name"],
                                                          "expand": "stage"}).json()["data"]
        self.assertEqual([set(o) for o in narrow], [{"id", "name", "stage"}] * 3)
        one = self.lever.api("GET", "/opportunities/%s" % plain[0]["id"],
                             {"expand": "contact"}).json()["data"]
        self.assertEqual(one["contact"]["emails"], plain[0]["emails"])
        missing = self.lever.api("GET", "/opportunities/nope")
        self.assertEqual((missing.status, missing.json()["code"]), (404, "ResourceNotFound"))

    def test_small_lists_and_postings(self):
        stages = self.lever.api("GET", "/stages").json()
        self.assertEqual(set(stages), {"data"})
        self.assertIn("Reference Check", [s["text"] for s in stages["data"]])
        non_hired = self.lever.api("GET", "/archive_reasons", {"type": "non-hired"}).json()
        self.assertIsInstance(non_hired["data"], list)
        postings = self.lever.state()["postings"]
        default = self.lever.api("GET", "/postings").json()["data"]
        self.assertEqual(sorted(p["id"] for p in default), sorted(
            p["id"] for p in postings if p["confidentiality"] == "non-confidential"))
        every = self.lever.api("GET", "/postings", {"confidentiality": "all",
                                                    "updated_at_start": 0}).json()["data"]
        self.assertEqual(len(every), len(postings))
        mixed = self.lever.api("GET", "/postings", {"updated_at_start": 0, "tag": "sales"})
        self.assertEqual(mixed.status, 400)
        owner = self.lever.api("GET", "/postings", {"expand": "owner", "limit": 1}).json()
        self.assertIsInstance(owner["data"][0]["owner"], dict)
        self.assertEqual(len(self.lever.api("GET", "/users").json()["data"]), 11)

    def test_writes(self):
        self.lever.clock(NOW)
        users = self.lever.api("GET", "/users").json()["data"]
        body = {"name": "Zoë Prospect", "emails": ["zoe.prospect@example.org"],
                "origin": "sourced", "sources": ["Crosschq"], "tags": ["design"]}
        self.assertEqual(self.lever.api("POST", "/opportunities", body=body).status, 400)
        created = self.lever.api("POST", "/opportunities", {"perform_as": users[0]["id"]},
                                 body=body)
        self.assertEqual(created.status, 201, created.body)
        opp = created.json()["data"]
        self.assertEqual((opp["createdAt"], opp["updatedAt"], opp["name"]),
                         (NOW, NOW, "Zoë Prospect"))
        path = "/opportunities/%s" % opp["id"]
        self.lever.clock(NOW + 1000)
        note = self.lever.api("POST", path + "/notes", body={"value": "Report: https://x/1",
                                                            "notifyFollowers": True})
        self.assertEqual(note.status, 201)
        self.assertEqual(set(note.json()["data"]), {"noteId"})
        self.assertEqual(self.lever.api("POST", path + "/notes", body={"secret": True}).status,
                         400)
        notes = self.lever.api("GET", path + "/notes").json()["data"]
        self.assertEqual([n["fields"][0]["value"] for n in notes], ["Report: https://x/1"])
        self.assertEqual(self.lever.api("GET", path).json()["data"]["updatedAt"], NOW)
        stages = self.lever.api("GET", "/stages").json()["data"]
        self.lever.clock(NOW + 2000)
        moved = self.lever.api("PUT", path + "/stage", body={"stage": stages[7]["id"]}).json()
        self.assertEqual(moved["data"]["updatedAt"], NOW + 2000)
        self.assertEqual(moved["data"]["stageChanges"][-1],
                         {"toStageId": stages[7]["id"], "toStageIndex": 7, "userId": None,
                          "updatedAt": NOW + 2000})
        self.lever.clock(NOW + 3000)
        for _ in range(2):
            linked = self.lever.api("POST", path + "/addLinks",
                                    body={"links": ["https://app.crosschq.com/report/1"]})
        self.assertEqual(linked.json()["data"]["links"], ["https://app.crosschq.com/report/1"])
        self.assertEqual(linked.json()["data"]["updatedAt"], NOW + 3000)
        self.assertEqual(self.lever.api("PUT", path + "/archived",
                                        body={"reason": "nope"}).status, 400)
        hired = self.lever.api("GET", "/archive_reasons", {"type": "hired"}).json()["data"]
        archived = self.lever.api("PUT", path + "/archived", body={"reason": hired["id"]})
        self.assertEqual(archived.json()["data"]["archived"],
                         {"reason": hired["id"], "archivedAt": NOW + 3000})
        for bad_body in (b"{not json", b"[]", b"\xff\xfe"):
            answer = self.lever.api("PUT", path + "/stage", body=bad_body)
            self.assertEqual(answer.status, 400, bad_body)
            self.assertEqual(answer.json()["code"], "BadRequest")
        self.assertEqual(self.lever.api("DELETE", path).status, 405)
        self.assertEqual(self.lever.api("GET", "/nothing/here").status, 404)
        logged = [(e["method"], e["status"]) for e in self.lever.log()]
        self.assertIn(("POST", 201), logged)

    def test_mutate_ops(self):
        self.lever.clock(NOW)
        stages = self.lever.api("GET", "/stages").json()["data"]
        opp = self.lever.mutate([{"op": "add_opportunity", "opportunity": {
            "name": "Añadido", "emails": ["added@example.com"]}}])[0]
        self.assertEqual((opp["createdAt"], opp["stage"]), (NOW, stages[0]["id"]))
        moved = self.lever.mutate([{"op": "move_stage", "id": opp["id"],
                                    "stage_id": stages[7]["id"], "at": NOW + 5}])[0]
        self.assertEqual((moved["updatedAt"], moved["stageChanges"][-1]["updatedAt"]),
                         (NOW + 5, NOW + 5))
        window = {"updated_at_start": NOW + 5, "updated_at_end": NOW + 5,
                  "confidentiality": "all"}
        self.assertEqual([o["id"] for o in self.lever.api("GET", "/opportunities",
                                                          window).json()["data"]], [opp["id"]])
        by_name = self.lever.mutate([{"op": "move_stage", "id": opp["id"], "at": NOW + 6,
                                      "stage_id": "Offer"},
                                     {"op": "archive", "id": opp["id"], "reason": "Hired",
                                      "at": NOW + 7}])
        self.assertEqual(by_name[0]["stage"], stages[8]["id"])
        self.assertEqual(by_name[1]["archived"]["archivedAt"], NOW + 7)
        self.assertEqual(self.lever.api("GET", "/opportunities", window).json()["data"], [])
        anonymized = self.lever.mutate([{"op": "anonymize", "id": opp["id"]}])[0]
        self.assertEqual((anonymized["name"], anonymized["emails"], anonymized["isAnonymized"]),
                         ("", [], True))
        self.lever.mutate([{"op": "delete", "id": opp["id"], "at": NOW + 9}])
        self.assertEqual(self.lever.api("GET", "/opportunities/" + opp["id"]).status, 404)
        deleted = self.lever.api("GET", "/opportunities/deleted",
                                 {"deleted_at_start": NOW, "deleted_at_end": NOW + 9}).json()
        self.assertEqual([d["id"] for d in deleted["data"]], [opp["id"]])
        with self.assertRaises(AssertionError):
            self.lever.mutate([{"op": "explode"}])


def iso_ms(text):
    """An ISO 8601 timestamp (any offset, optional fraction, 'Z') -> epoch ms, independently
    of the fakes' own parser."""
    import datetime
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    parsed = datetime.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, text
    return round(parsed.timestamp() * 1000)


REQUEST_KEYS = {"id", "candidate", "job_position", "status", "status_updated_on", "progress",
                "references", "report_url", "report_summary_pdf", "report_full_pdf",
                "created_at", "updated_on"}
COLLECTION = "/partners/reference-request/"


def create_body(email="jose.muller@example.com", **changes):
    """A create body exactly as crosschq-api.md section 1 shows it."""
    body = {"candidate": {"first_name": "José", "last_name": "Müller", "email": email,
                          "mobile_phone": "+15551234567"},
            "jobrole": "software-engineer", "requestor": "ana.souza@example.com",
            "use_sms": False,
            "config_params": {"managers": 2, "employees": 0, "peers": 1, "business": 0,
                              "social": 0},
            "send_past_due_notification": False, "send_completed_notification": False,
            "candidate_message": "Please name your references.",
            "job_position": "Senior Backend Engineer",
            "hiring_manager": {"first_name": "Tomás", "last_name": "Berg",
                               "email": "tomas.berg@example.com"}}
    body.update(changes)
    return body


class Receiver:
    """A tiny loopback HTTP server that records what it receives (for webhook deliveries)."""

    def __init__(self, status=200):
        import http.server
        import threading
        received = self.received = []
        answer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                received.append({"method": self.command, "path": self.path,
                                 "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": self.rfile.read(length)})
                self.send_response(answer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = _any

        self.status = status
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/cgi-bin/refsync-hook/crosschq" % \
            self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class CrosschqFakeTest(FakeTestCase):
    """crosschq-api.md section 1 exactly; section 2 as switches; webhooks; lost answers."""

    def create(self, body=None, **kwargs):
        answer = self.crosschq.api("POST", COLLECTION, body=body or create_body(), **kwargs)
        self.assertEqual(answer.status, 201, answer.body)
        return answer.json()["request_id"]

    def get(self, ident):
        answer = self.crosschq.api("GET", COLLECTION + ident + "/")
        self.assertEqual(answer.status, 200, answer.body)
        return answer.json()

    def test_auth_bare_key_and_token_only_when_enabled(self):
        key = self.crosschq.api_key
        self.assertEqual(self.crosschq.auth_header, key)
        ok = self.crosschq.api("GET", "/partners/config/")
        self.assertEqual(ok.status, 200)
        missing = self.crosschq.api("GET", "/partners/config/", auth=False)
        self.assertEqual((missing.status, missing.json()),
                         (401, {"detail": "Authentication credentials were not provided."}))
        for header in ("Token " + key, "Bearer " + key, key + "x", "Basic " + key, ""):
            wrong = self.crosschq.api("GET", "/partners/config/", auth=False,
                                      headers={"Authorization": header})
            self.assertEqual((wrong.status, wrong.json()), (401, {"detail": "Invalid token."}),
                             header)
        self.assertEqual(self.crosschq.api("OPTIONS", COLLECTION, auth=False).status, 401)
        self.crosschq.auth_scheme("Token")
        try:
            for header, status in (("Token " + key, 200), (key, 200), ("Bearer " + key, 401),
                                   ("token " + key, 401), ("Token " + key + "x", 401)):
                answer = self.crosschq.api("GET", "/partners/config/", auth=False,
                                           headers={"Authorization": header})
                self.assertEqual(answer.status, status, header)
        finally:
            self.crosschq.auth_scheme("")
        self.assertEqual(self.crosschq.api("GET", "/partners/config/", auth=False, headers={
            "Authorization": "Token " + key}).status, 401)
        self.assertEqual([e["auth_ok"] for e in self.crosschq.log()],
                         [True] + [False] * 7 + [True, True, False, False, False, False])
        with open(self.tenant.path("fakes", "crosschq.log"), encoding="utf-8") as handle:
            self.assertNotIn(key, handle.read())

    def test_trailing_slash(self):
        creates = len(self.crosschq.state()["creates"])
        for path in ("/partners/config", "/api/v2/settings/jobrole",
                     "/partners/reference-request/abc"):
            moved = self.crosschq.api("GET", path, {"a": "1"})
            self.assertEqual((moved.status, moved.body), (301, b""), path)
            self.assertEqual(moved.headers["location"], "http://127.0.0.1:%d%s/?a=1"
                             % (self.crosschq.port, path))
        self.assertEqual(self.crosschq.api("GET", "/partners/config", auth=False).status, 301)
        for path in ("/favicon.ico", "/partners/prospects"):       # prospects: capability off
            self.assertEqual(self.crosschq.api("GET", path).json(), {"detail": "Not found."})
        for method in ("POST", "PATCH", "PUT", "DELETE"):
            refused = self.crosschq.api(method, "/partners/reference-request",
                                        body=create_body())
            self.assertEqual((refused.status, refused.json()), (404, {"detail": "Not found."}),
                             method)
        for path in ("/api/v2/requests/", "/api/v2/templates/", "/partners/", "/"):
            self.assertEqual(self.crosschq.api("GET", path).json(), {"detail": "Not found."})
        self.assertEqual(len(self.crosschq.state()["creates"]), creates)

    def test_jobroles_and_config(self):
        roles = self.crosschq.api("GET", "/api/v2/settings/jobrole/").json()
        self.assertIsInstance(roles, list)
        self.assertEqual([r["codename"] for r in roles],
                         ["software-engineer", "account-executive", "generic",
                          "product-designer", "customer-success"])   # legacy-survey disabled
        for role in roles:
            self.assertEqual(set(role), {"codename", "name", "relationships"})
            self.assertEqual(set(role["relationships"]),
                             {"managers", "employees", "peers", "business", "social"})
            for limits in role["relationships"].values():
                self.assertEqual(set(limits), {"default", "label", "min", "max",
                                               "skip_reference_optin", "whv_mode"})
                self.assertTrue(all(isinstance(limits[k], int) for k in ("default", "min",
                                                                          "max")))
        self.assertEqual(roles[3]["relationships"]["managers"]["min"], 1)
        config = self.crosschq.api("GET", "/partners/config/").json()
        self.assertEqual(config["min_reference_count"], 2)
        self.assertEqual(config["relationships"][0],
                         {"id": 1, "name": "managers", "min": "0", "max": "5", "default": "1"})
        self.crosschq.mutate([
            {"op": "add_jobrole", "jobrole": {"codename": "nurse", "name": "Nurse",
                                              "relationships": {"peers": {"max": 2}}}},
            {"op": "set_jobrole", "codename": "generic", "fields": {"enabled": False}},
            {"op": "set_jobrole", "codename": "software-engineer",
             "fields": {"relationships": {"managers": {"min": 2}}}},
            {"op": "set_config", "min_reference_count": 4}])
        try:
            roles = {r["codename"]: r for r in
                     self.crosschq.api("GET", "/api/v2/settings/jobrole/").json()}
            self.assertNotIn("generic", roles)
            self.assertEqual(roles["nurse"]["relationships"]["peers"]["max"], 2)
            self.assertEqual(roles["software-engineer"]["relationships"]["managers"]["min"], 2)
            self.assertEqual(self.crosschq.api("GET", "/partners/config/").json()[
                "min_reference_count"], 4)
            refused = self.crosschq.api("POST", COLLECTION, body=create_body(jobrole="generic"))
            self.assertEqual((refused.status, refused.json()), (400, {"errors": {
                "jobrole": ["Object with codename=generic does not exist."],
                "config_params": {"non_field_errors": ["At least 4 references are required."]}}}))
        finally:
            self.crosschq.mutate([
                {"op": "set_jobrole", "codename": "generic", "fields": {"enabled": True}},
                {"op": "set_jobrole", "codename": "software-engineer",
                 "fields": {"relationships": {"managers": {"min": 0}}}},
                {"op": "set_config", "min_reference_count": 2}])

    def test_create_validation(self):
        before = len(self.crosschq.state()["requests"])
        creates = len(self.crosschq.state()["creates"])
        hm = create_body()["hiring_manager"]
        cases = [
            ({"external_id": "lever:x:1", "template_id": "t", "job_title": "E",
              "requester": {"email": "r@example.com"}},
             {"external_id": ["Unknown field."], "job_title": ["Unknown field."],
              "requester": ["Unknown field."], "template_id": ["Unknown field."]}),
            ({"candidate": {"first_name": "", "email": "not-an-email", "phone": "1"}},
             {"candidate": {"first_name": ["This field may not be blank."],
                            "email": ["Enter a valid email address."],
                            "phone": ["Unknown field."]}}),
            ({"candidate": None, "jobrole": None, "requestor": None, "job_position": None,
              "config_params": None},
             {"candidate": ["This field is required."], "jobrole": ["This field is required."],
              "requestor": ["This field is required."],
              "job_position": ["This field is required."],
              "config_params": ["This field is required."]}),
            ({"jobrole": "legacy-survey"},
             {"jobrole": ["Object with codename=legacy-survey does not exist."]}),
            ({"jobrole": "nope", "requestor": "ana"},
             {"jobrole": ["Object with codename=nope does not exist."],
              "requestor": ["Enter a valid email address."]}),
            ({"config_params": {"managers": 6, "employees": -1, "peers": "1", "business": 0,
                                "social": 0, "friends": 1}},
             {"config_params": {"managers": ["Ensure this value is less than or equal to 5."],
                                "employees": ["A valid integer is required."],
                                "peers": ["A valid integer is required."],
                                "friends": ["Unknown relationship."]}}),
            ({"config_params": {"managers": 1, "employees": 0, "peers": 0, "business": 0,
                                "social": 0}},
             {"config_params": {"non_field_errors": ["At least 2 references are required."]}}),
            ({"use_sms": True, "candidate": dict(create_body()["candidate"], mobile_phone="")},
             {"candidate": {"mobile_phone": [
                 "A mobile phone is required when use_sms is true."]}}),
            ({"use_sms": "no", "send_past_due_notification": 1},
             {"use_sms": ["Must be a valid boolean."],
              "send_past_due_notification": ["Must be a valid boolean."]}),
            ({"hiring_manager": dict(hm, email="")},
             {"hiring_manager": {"email": ["This field may not be blank."]}}),
            ({"hiring_manager": "Tomás Berg"},
             {"hiring_manager": ["Invalid data. Expected a dictionary."]}),
        ]
        for changes, errors in cases:
            answer = self.crosschq.api("POST", COLLECTION, body=create_body(**changes))
            self.assertEqual((answer.status, answer.json()), (400, {"errors": errors}), changes)
        product = create_body(jobrole="product-designer", config_params={
            "managers": 0, "employees": 0, "peers": 3, "business": 0, "social": 0})
        answer = self.crosschq.api("POST", COLLECTION, body=product)
        self.assertEqual(answer.json(), {"errors": {"config_params": {"managers": [
            "Ensure this value is greater than or equal to 1."]}}})
        for raw, detail in ((b"{", "JSON parse error - request body is not valid JSON."),
                            (b"[]", "Invalid data. Expected a dictionary, but got list.")):
            answer = self.crosschq.api("POST", COLLECTION, body=raw)
            self.assertEqual((answer.status, answer.json()), (400, {"detail": detail}))
        self.assertEqual(len(self.crosschq.state()["requests"]), before)
        self.assertEqual(len(self.crosschq.state()["creates"]), creates)
        self.assertEqual(self.crosschq.pending_webhooks(), [])
        # optional parts may be left out: no hiring manager, no phone, no message
        minimal = create_body(hiring_manager=None, candidate={
            "first_name": "Kai", "last_name": "", "email": "kai@example.com"})
        del minimal["candidate_message"], minimal["use_sms"]
        ident = self.create(minimal)
        self.assertEqual(self.get(ident)["candidate"], {"first_name": "Kai", "last_name": "",
                                                       "email": "kai@example.com",
                                                       "mobile_phone": ""})

    def test_no_deduplication_and_the_request_shape(self):
        self.crosschq.clock(NOW)
        start = len(self.crosschq.state()["creates"])
        body = create_body()
        first = self.crosschq.api("POST", COLLECTION, body=body)
        second = self.crosschq.api("POST", COLLECTION, body=body)
        self.assertEqual((first.status, second.status), (201, 201))
        self.assertEqual(set(first.json()), {"request_id", "message", "status"})
        ids = [first.json()["request_id"], second.json()["request_id"]]
        self.assertNotEqual(ids[0], ids[1])
        creates = self.crosschq.state()["creates"][start:]
        self.assertEqual(creates, [{"request_id": ids[0], "body": body},
                                   {"request_id": ids[1], "body": body}])
        for ident in ids:
            request = self.get(ident)
            self.assertEqual(set(request), REQUEST_KEYS)
            self.assertEqual(request["id"], ident)
            self.assertEqual(request["candidate"], body["candidate"])
            self.assertEqual((request["job_position"], request["status"], request["progress"],
                              request["references"], request["report_url"],
                              request["report_summary_pdf"], request["report_full_pdf"]),
                             ("Senior Backend Engineer", "Pending", 0, [], None, None, None))
            self.assertEqual([iso_ms(request[k]) for k in ("created_at", "updated_on",
                                                           "status_updated_on")], [NOW] * 3)
        for path in (COLLECTION + "nope/", COLLECTION + ids[0] + "/x/"):
            missing = self.crosschq.api("GET", path)
            self.assertEqual((missing.status, missing.json()), (404, {"detail": "Not found."}))

    def test_time_spellings_are_varied_but_the_same_instant(self):
        self.crosschq.clock(NOW + 123)
        made = self.crosschq.mutate([{"op": "add_request", "request": {
            "id": "spell-%d" % n, "candidate": {"email": "s%d@example.com" % n}}}
            for n in range(12)])
        self.assertEqual(len(made), 12)
        patterns = {"Z": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$",
                    "+00:00": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$",
                    "-05:00": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}-05:00$",
                    "+05:30": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+05:30$"}
        seen = set()
        for n in range(12):
            request = self.get("spell-%d" % n)
            text = request["created_at"]
            kinds = [k for k, p in patterns.items() if re.match(p, text)]
            self.assertEqual(len(kinds), 1, text)
            seen.add(kinds[0])
            self.assertEqual(iso_ms(text), NOW + 123)
            self.assertEqual(self.get("spell-%d" % n)["created_at"], text)   # deterministic
        self.assertEqual(seen, set(patterns))

    def test_status_words_and_mutate_ops(self):
        self.crosschq.clock(NOW)
        ident = self.create()
        self.crosschq.clock(NOW + 1000)
        self.crosschq.mutate([{"op": "set_status", "id": ident, "status": "In Progress",
                               "progress": 40}])
        self.crosschq.clock(NOW + 2000)
        request = self.crosschq.mutate([{"op": "set_status", "id": ident,
                                         "status": "In Progress", "progress": 60}])[0]
        self.assertEqual((request["status"], request["progress"]), ("In Progress", 60))
        self.assertEqual((iso_ms(request["status_updated_on"]), iso_ms(request["updated_on"])),
                         (NOW + 1000, NOW + 2000))
        self.crosschq.clock(NOW + 3000)
        odd = self.crosschq.mutate([{"op": "set_status", "id": ident,
                                     "status": "Awaiting Candidate"}])[0]
        self.assertEqual((odd["status"], odd["progress"], iso_ms(odd["status_updated_on"])),
                         ("Awaiting Candidate", 60, NOW + 3000))
        self.crosschq.clock(NOW + 4000)
        done = self.crosschq.mutate([{"op": "complete", "id": ident, "at": NOW + 3500}])[0]
        report = "https://app.crosschq.com/report/%s/" % ident
        self.assertEqual((done["status"], done["progress"], done["report_url"],
                          done["report_summary_pdf"], done["report_full_pdf"]),
                         ("Completed", 100, report, report + "summary.pdf",
                          report + "full.pdf"))
        self.assertEqual((iso_ms(done["status_updated_on"]), iso_ms(done["updated_on"])),
                         (NOW + 3500, NOW + 4000))
        self.assertEqual(self.get(ident)["status"], "Completed")
        raw = self.crosschq.mutate([{"op": "set_request", "id": ident, "fields": {
            "status": "EXPIRED", "surprise": {"x": 1},
            "updated_on": "2026-11-18T12:00:00+01:00"}}])[0]
        self.assertEqual((raw["status"], raw["surprise"], iso_ms(raw["updated_on"]),
                          iso_ms(raw["status_updated_on"])),
                         ("EXPIRED", {"x": 1}, NOW - 400 * 1000, NOW + 4000))
        self.assertEqual(self.get(ident)["surprise"], {"x": 1})
        hired = self.crosschq.mutate([{"op": "hire", "id": ident, "hired": True}])[0]
        self.assertIs(hired["hired"], True)
        self.assertNotIn("hired", self.get(ident))          # hired_field is off
        self.crosschq.mutate([{"op": "delete_request", "id": ident}])
        self.assertEqual(self.crosschq.api("GET", COLLECTION + ident + "/").status, 404)
        for bad in ({"op": "explode"}, {"op": "set_status", "id": "nope", "status": "x"},
                    {"op": "add_jobrole", "codename": "generic"}):
            with self.assertRaises(AssertionError):
                self.crosschq.mutate([bad])

    def test_capabilities_off_by_default_and_options_changes_nothing(self):
        self.assertEqual(self.crosschq.capabilities(),
                         {"list": False, "hire": False, "hired_field": False, "cancel": False,
                          "prospects": False})
        ident = self.create()
        state = self.crosschq.state()
        absent = [("GET", COLLECTION, {"updated_since": "2999-01-01T00:00:00Z"}),
                  ("GET", COLLECTION, None),
                  ("POST", COLLECTION + ident + "/cancel/", None),
                  ("OPTIONS", COLLECTION + ident + "/cancel/", None),
                  ("GET", "/partners/prospects/", None),
                  ("OPTIONS", "/partners/prospects/", None),
                  ("PATCH", "/partners/prospects/p1/", None),
                  ("OPTIONS", "/partners/prospects/p1/", None)]
        for method, path, query in absent:
            answer = self.crosschq.api(method, path, query,
                                       body={"ats_id": "x"} if method == "PATCH" else None)
            self.assertEqual((answer.status, answer.json()), (404, {"detail": "Not found."}),
                             (method, path))
        patch = self.crosschq.api("PATCH", COLLECTION + ident + "/", body={"hired": True})
        self.assertEqual((patch.status, patch.json()),
                         (405, {"detail": 'Method "PATCH" not allowed.'}))
        for path, allow in ((COLLECTION, "POST, OPTIONS"),
                            (COLLECTION + "any-id/", "GET, OPTIONS"),
                            ("/partners/config/", "GET, OPTIONS"),
                            ("/api/v2/settings/jobrole/", "GET, OPTIONS")):
            answer = self.crosschq.api("OPTIONS", path)
            self.assertEqual((answer.status, answer.headers["allow"]), (200, allow), path)
            self.assertEqual(set(answer.json()), {"name", "description", "renders", "parses"})
            self.assertEqual(answer.json()["renders"], ["application/json"])
        self.assertNotIn("hired", self.get(ident))
        self.assertEqual(self.crosschq.state(), state)
        self.assertEqual(self.crosschq.pending_webhooks()[-1]["status"], "Pending")

    def test_capabilities_on(self):
        self.crosschq.clock(NOW)
        flags = self.crosschq.capabilities(list=True, hire=True, hired_field=True, cancel=True,
                                           prospects=True)
        self.assertEqual(set(flags.values()), {True})
        with self.assertRaises(AssertionError):
            self.crosschq.capabilities(teleport=True)
        for path, allow in ((COLLECTION, "GET, POST, OPTIONS"),
                            (COLLECTION + "x/", "GET, PATCH, OPTIONS"),
                            (COLLECTION + "x/cancel/", "POST, OPTIONS"),
                            ("/partners/prospects/", "GET, OPTIONS"),
                            ("/partners/prospects/x/", "PATCH, OPTIONS")):
            answer = self.crosschq.api("OPTIONS", path)
            self.assertEqual((answer.status, answer.headers["allow"]), (200, allow), path)
        open_one, done = self.create(), self.create(create_body(email="b@example.com"))
        self.assertIsNone(self.get(open_one)["hired"])
        self.crosschq.clock(NOW + 1000)
        hired = self.crosschq.api("PATCH", COLLECTION + done + "/", body={"hired": True})
        self.assertEqual((hired.status, hired.json()["hired"], iso_ms(hired.json()["updated_on"])),
                         (200, True, NOW + 1000))
        for bad, errors in (({"hired": "yes"}, {"hired": ["Must be a valid boolean."]}),
                            ({"hired": True, "hired_at": "x"}, {"hired_at": ["Unknown field."]}),
                            ({}, {"hired": ["This field is required."]})):
            answer = self.crosschq.api("PATCH", COLLECTION + done + "/", body=bad)
            self.assertEqual((answer.status, answer.json()), (400, {"errors": errors}), bad)
        self.assertEqual(self.crosschq.api("PATCH", COLLECTION + "nope/",
                                           body={"hired": True}).status, 404)
        cancelled = self.crosschq.api("POST", COLLECTION + open_one + "/cancel/")
        self.assertEqual((cancelled.status, cancelled.json()["status"],
                          iso_ms(cancelled.json()["status_updated_on"])),
                         (200, "Cancelled", NOW + 1000))
        again = self.crosschq.api("POST", COLLECTION + open_one + "/cancel/")
        self.assertEqual((again.status, again.json()), (200, cancelled.json()))
        self.crosschq.mutate([{"op": "complete", "id": done}])
        refused = self.crosschq.api("POST", COLLECTION + done + "/cancel/")
        self.assertEqual((refused.status, refused.json()),
                         (400, {"detail": "Request already completed."}))
        prospect = self.crosschq.mutate([{"op": "add_prospect", "first_name": "Ana",
                                          "last_name": "Ñúñez", "email": "ana@example.org"}])[0]
        page = self.crosschq.api("GET", "/partners/prospects/").json()
        self.assertEqual(set(page), {"next", "previous", "results"})
        self.assertIn(prospect, page["results"])
        self.assertEqual(set(prospect), {"id", "first_name", "last_name", "email",
                                         "mobile_phone", "job_title", "tags", "source",
                                         "created_at", "updated_on", "ats_id"})
        exported = self.crosschq.api("PATCH", "/partners/prospects/%s/" % prospect["id"],
                                     body={"ats_id": "opp-1"})
        self.assertEqual((exported.status, exported.json()["ats_id"]), (200, "opp-1"))
        self.assertEqual(self.crosschq.api("PATCH", "/partners/prospects/%s/" % prospect["id"],
                                           body={"email": "x@example.org"}).json(),
                         {"errors": {"email": ["Unknown field."]}})

    def test_list_capability_pages(self):
        self.crosschq.capabilities(list=True)
        base = NOW + 200 * harness.DAY_MS
        ops = [{"op": "add_request", "request": {
            "id": "list-%03d" % n, "created_at": base + (n // 2) * 1000,
            "updated_on": base + (n // 2) * 1000}} for n in range(205)]
        self.crosschq.mutate(ops)
        since = "2027-06-06T11:06:40Z"          # base, written differently
        self.assertEqual(iso_ms(since), base)
        seen, url, pages = [], None, 0
        while True:
            if url is None:
                answer = self.crosschq.api("GET", COLLECTION, {"updated_since": since})
            else:
                parts = urllib.parse.urlsplit(url)
                self.assertEqual((parts.scheme, parts.netloc, parts.path),
                                 ("http", "127.0.0.1:%d" % self.crosschq.port, COLLECTION))
                answer = self.crosschq.request("GET", parts.path + "?" + parts.query)
            body = answer.json()
            self.assertEqual(set(body), {"next", "previous", "results"})
            seen.extend(body["results"])
            pages += 1
            url = body["next"]
            if url is None:
                break
        self.assertEqual(pages, 3)
        self.assertEqual([r["id"] for r in seen], ["list-%03d" % n for n in range(205)])
        small = self.crosschq.api("GET", COLLECTION, {"updated_since": seen[-2]["updated_on"],
                                                      "page_size": 1}).json()
        self.assertEqual([r["id"] for r in small["results"]], ["list-202"])   # inclusive
        self.assertIsNotNone(small["next"])
        future = self.crosschq.api("GET", COLLECTION, {"updated_since": "2999-01-01T00:00:00Z"})
        self.assertEqual(future.json(), {"next": None, "previous": None, "results": []})
        bad = self.crosschq.api("GET", COLLECTION, {"updated_since": "yesterday"})
        self.assertEqual((bad.status, bad.json()),
                         (400, {"errors": {"updated_since": ["Enter a valid date/time."]}}))
        cursor = self.crosschq.api("GET", COLLECTION, {"cursor": "garbage!"})
        self.assertEqual((cursor.status, cursor.json()), (404, {"detail": "Invalid cursor"}))

    def test_webhooks_pending_auth_and_lost(self):
        self.crosschq.clock(NOW)
        ident = self.create()
        pending = self.crosschq.pending_webhooks()
        self.assertEqual(len(pending), 1)
        self.assertEqual(pending[0]["method"], "POST")
        self.assertEqual(pending[0]["headers"], {"Content-Type": "application/json"})
        self.assertEqual(json.loads(pending[0]["body"]), self.get(ident))
        self.assertEqual(self.crosschq.pending_webhooks(), [])           # taken
        self.crosschq.webhook_config(method="PUT", auth="token", secret="s3cret")
        self.crosschq.mutate([{"op": "set_status", "id": ident, "status": "In Progress",
                               "progress": 10}])
        self.crosschq.webhook_config(auth="basic", secret="crosschq:pa ss")
        self.crosschq.mutate([{"op": "complete", "id": ident}])
        self.crosschq.mutate([{"op": "delete_request", "id": ident}])     # not delivered
        items = self.crosschq.pending_webhooks()
        self.assertEqual([(i["method"], i["headers"].get("Authorization"), i["status"])
                          for i in items],
                         [("PUT", "Token s3cret", "In Progress"),
                          ("POST", "Basic " + base64.b64encode(b"crosschq:pa ss").decode(),
                           "Completed")])
        self.assertEqual(json.loads(items[1]["body"])["progress"], 100)
        self.crosschq.webhook_config(deliver=False)
        lost = self.create()
        self.assertEqual(self.crosschq.pending_webhooks(), [])
        self.assertEqual(self.crosschq.state()["webhook"]["lost"][-1:],
                         [{"request_id": lost, "status": "Pending"}])
        for bad in ({"url": "http://example.com/hook"}, {"url": "https://127.0.0.1/x"},
                    {"method": "GET"}, {"auth": "digest"}, {"auth": "basic", "secret": "x"}):
            with self.assertRaises(AssertionError):
                self.crosschq._control("POST", "webhook", bad)

    def test_webhooks_delivered_in_order_with_each_auth(self):
        receiver = Receiver()
        try:
            self.crosschq.capabilities(hired_field=True)
            sent = []
            for method, auth, secret in (("POST", "none", ""), ("PUT", "token", "tok"),
                                         ("POST", "basic", "u:p")):
                self.crosschq.webhook_config(url=receiver.url, method=method, auth=auth,
                                             secret=secret)
                ident = self.create()
                self.crosschq.mutate([{"op": "set_status", "id": ident, "status": "In Progress",
                                       "progress": 50},
                                      {"op": "complete", "id": ident},
                                      {"op": "hire", "id": ident, "hired": False}])
                sent.extend((method, auth, secret, ident, word) for word in
                            ("Pending", "In Progress", "Completed", "Completed"))
            deadline = time.monotonic() + 10
            while len(self.crosschq.webhook_deliveries()) < 12 and time.monotonic() < deadline:
                time.sleep(0.02)
            deliveries = self.crosschq.webhook_deliveries()
            self.assertEqual([(d["request_id"], d["status"], d["ok"], d["http_status"])
                              for d in deliveries],
                             [(s[3], s[4], True, 200) for s in sent])
            self.assertEqual(len(receiver.received), 12)
            for got, (method, auth, secret, ident, word) in zip(receiver.received, sent):
                self.assertEqual((got["method"], got["path"]),
                                 (method, "/cgi-bin/refsync-hook/crosschq"))
                self.assertEqual(got["headers"]["content-type"], "application/json")
                expected = {"none": None, "token": "Token tok",
                            "basic": "Basic " + base64.b64encode(b"u:p").decode()}[auth]
                self.assertEqual(got["headers"].get("authorization"), expected)
                body = json.loads(got["body"])
                self.assertEqual((body["id"], body["status"]), (ident, word))
            self.assertIs(json.loads(receiver.received[-1]["body"])["hired"], False)
            self.assertEqual(self.crosschq.pending_webhooks(), [])
            receiver.status = 401
            ident = self.create()
            deadline = time.monotonic() + 10
            while len(self.crosschq.webhook_deliveries()) < 13 and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertEqual(self.crosschq.webhook_deliveries()[-1],
                             {"request_id": ident, "status": "Pending", "ok": False,
                              "http_status": 401, "error": None})
        finally:
            self.crosschq.webhook_config()
            receiver.close()

    def test_lose_create(self):
        before = len(self.crosschq.state()["requests"])
        start = len(self.crosschq.state()["creates"])
        self.crosschq.lose_create(2)
        for n in range(2):
            with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
                self.crosschq.api("POST", COLLECTION,
                                  body=create_body(email="lost%d@example.com" % n))
        kept = self.crosschq.api("POST", COLLECTION, body=create_body(email="kept@example.com"))
        self.assertEqual(kept.status, 201)
        state = self.crosschq.state()
        self.assertEqual(len(state["requests"]), before + 3)
        self.assertEqual([c["body"]["candidate"]["email"] for c in state["creates"][start:]],
                         ["lost0@example.com", "lost1@example.com", "kept@example.com"])
        self.assertEqual(state["lose_create"], 0)
        lost_ids = [c["request_id"] for c in state["creates"][start:start + 2]]
        self.assertEqual([self.get(i)["candidate"]["email"] for i in lost_ids],
                         ["lost0@example.com", "lost1@example.com"])
        self.assertEqual([i["request_id"] for i in self.crosschq.pending_webhooks()],
                         lost_ids + [kept.json()["request_id"]])
        self.assertEqual([(e["status"], e["fault"]) for e in self.crosschq.log()],
                         [(0, "lose_create"), (0, "lose_create"), (201, None)] +
                         [(200, None)] * 2)
        with self.assertRaises(AssertionError):
            self.crosschq.lose_create(-1)

    def test_fail_for(self):
        start = len(self.crosschq.state()["creates"])
        self.crosschq.fail_for("Bad@Example.com", 422, "Invalid candidate email")
        answer = self.crosschq.api("POST", COLLECTION, body=create_body(email="bad@example.com"))
        self.assertEqual((answer.status, answer.json()),
                         (422, {"detail": "Invalid candidate email"}))
        again = self.crosschq.api("POST", COLLECTION, body=create_body(email="BAD@example.com"))
        self.assertEqual(again.status, 422)
        fine = self.crosschq.api("POST", COLLECTION, body=create_body(email="good@example.com"))
        self.assertEqual(fine.status, 201)
        self.crosschq.fail_for("bad@example.com", None)
        self.assertEqual(self.crosschq.api("POST", COLLECTION,
                                           body=create_body(email="bad@example.com")).status, 201)
        self.assertEqual([(e["status"], e["fault"]) for e in self.crosschq.log()],
                         [(422, "fail_for"), (422, "fail_for"), (201, None), (201, None)])
        self.assertEqual([c["body"]["candidate"]["email"]
                          for c in self.crosschq.state()["creates"][start:]],
                         ["good@example.com", "bad@example.com"])


class FaultTest(FakeTestCase):

    def statuses(self, count, path="/stages"):
        return [self.lever.api("GET", path).status for _ in range(count)]

    def test_429_headers_and_only_paths(self):
        self.lever.faults({"rate_429": 1.0, "retry_after": "2", "ratelimit_reset": "epoch",
                           "only_paths": ["/v1/opportunities"]})
        self.assertEqual(self.statuses(3), [200] * 3)
        answer = self.lever.api("GET", "/opportunities")
        now = time.time()
        self.assertEqual(answer.status, 429)
        self.assertEqual(answer.json()["code"], "TooManyRequests")
        self.assertEqual(answer.headers["retry-after"], "2")
        self.assertTrue(now + 0.5 <= int(answer.headers["x-ratelimit-reset"]) <= now + 2.5)
        self.assertEqual([e["fault"] for e in self.lever.log()], [None] * 3 + ["429"])
        self.lever.faults({"rate_429": 1.0})
        self.assertNotIn("retry-after", self.lever.api("GET", "/stages").headers)
        self.crosschq.faults({"rate_429": 1.0})
        throttled = self.crosschq.api("GET", "/partners/config/")
        self.assertEqual((throttled.status, throttled.headers["retry-after"], throttled.json()),
                         (429, "1", {"detail": "Too many requests"}))
        self.crosschq.faults({"rate_503": 1.0, "retry_after": "Wed, 21 Oct 2026 07:28:00 GMT"})
        busy = self.crosschq.api("GET", "/partners/config/")
        self.assertEqual((busy.status, busy.headers["retry-after"]),
                         (503, "Wed, 21 Oct 2026 07:28:00 GMT"))

    def test_draws_are_reproducible_for_a_seed(self):
        plan = {"seed": 42, "rate_503": 0.3, "rate_500": 0.2}
        self.lever.faults(plan)
        first = self.statuses(40)
        self.lever.faults(plan)
        self.assertEqual(self.statuses(40), first)
        self.assertEqual(set(first), {200, 500, 503})
        self.lever.faults({})
        self.assertEqual(self.statuses(5), [200] * 5)

    def test_reset_truncate_malformed_stall_delay(self):
        self.lever.faults({"rate_reset": 1.0})
        with socket.create_connection(("127.0.0.1", self.lever.port)) as raw:
            raw.sendall(b"GET /v1/stages HTTP/1.1\r\nHost: x\r\n\r\n")
            with self.assertRaises(ConnectionResetError):
                raw.recv(100)
        self.lever.faults({"rate_truncate": 1.0})
        with self.assertRaises(http.client.IncompleteRead):
            self.lever.api("GET", "/stages")
        self.lever.faults({"rate_malformed": 1.0})
        broken = self.lever.api("GET", "/stages")
        self.assertEqual(broken.status, 200)
        with self.assertRaises(ValueError):
            broken.json()
        self.lever.faults({"rate_stall": 1.0, "stall_ms": 300})
        started = time.monotonic()
        stalled = self.lever.api("GET", "/stages")
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(len(stalled.json()["data"]), 9)
        self.lever.faults({"delay_ms": 200})
        started = time.monotonic()
        self.assertEqual(self.lever.api("GET", "/stages").status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertEqual([e["fault"] for e in self.lever.log()],
                         ["reset", "truncate", "malformed", "stall", "delay"])

    def test_reset_after_processing_keeps_the_effect(self):
        body = create_body(email="reset.after@example.com")
        before = len(self.crosschq.state()["requests"])
        self.crosschq.faults({"rate_reset": 1.0, "reset_phase": "after"})
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
            self.crosschq.api("POST", COLLECTION, body=body)
        self.crosschq.faults({})
        state = self.crosschq.state()
        self.assertEqual(len(state["requests"]), before + 1)
        self.assertEqual(state["creates"][-1]["body"], body)
        made = state["creates"][-1]["request_id"]
        self.assertEqual([i["request_id"] for i in self.crosschq.pending_webhooks()], [made])
        retried = self.crosschq.api("POST", COLLECTION, body=body)      # no de-duplication
        self.assertEqual(retried.status, 201)
        self.assertNotEqual(retried.json()["request_id"], made)
        self.crosschq.faults({"rate_reset": 1.0})          # before: nothing happens
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
            self.crosschq.api("POST", COLLECTION, body=create_body(email="reset.b@example.com"))
        self.crosschq.faults({})
        self.assertEqual(len(self.crosschq.state()["requests"]), before + 2)
        self.assertEqual([(e["status"], e["fault"]) for e in self.crosschq.log()],
                         [(0, "reset"), (201, None), (0, "reset")])

    def test_invalid_offset_once(self):
        first = self.lever.api("GET", "/opportunities", {"limit": 2}).json()
        self.lever.faults({"invalid_offset_once": True})
        self.assertEqual(self.lever.api("GET", "/opportunities", {"limit": 2}).status, 200)
        refused = self.lever.api("GET", "/opportunities", {"limit": 2, "offset": first["next"]})
        self.assertEqual((refused.status, refused.json()["message"]),
                         (400, "Invalid offset token: Offset token is invalid for sort"))
        # refused for good, like Lever; a new listing works
        again = self.lever.api("GET", "/opportunities", {"limit": 2, "offset": first["next"]})
        self.assertEqual(again.status, 400)
        self.assertEqual(self.lever.api("GET", "/opportunities", {"limit": 2}).status, 200)
        self.assertEqual([e["fault"] for e in self.lever.log()],
                         [None, None, "invalid_offset", "invalid_offset", None])

    def test_offset_error_with_another_status(self):
        first = self.lever.api("GET", "/opportunities", {"limit": 2}).json()
        self.lever._control("POST", "options", {"offset_error_status": 500})
        self.lever.faults({"invalid_offset_once": True})
        refused = self.lever.api("GET", "/opportunities", {"limit": 2, "offset": first["next"]})
        self.assertEqual((refused.status, refused.json()["message"]),
                         (500, "Invalid offset token: Offset token is invalid for sort"))

    def test_postings_updated_filter_takes_only_confidentiality(self):
        ok = self.lever.api("GET", "/postings", {"confidentiality": "all", "updated_at_start": 0})
        self.assertEqual(ok.status, 200)
        for extra in ({"limit": 100}, {"offset": "x"}, {"expand": "owner"}):
            refused = self.lever.api("GET", "/postings", dict(
                {"confidentiality": "all", "updated_at_start": 0}, **extra))
            self.assertEqual(refused.status, 400, extra)
        self.lever._control("POST", "options", {"refuse_postings_updated": True})
        self.assertEqual(self.lever.api("GET", "/postings", {"updated_at_start": 0}).status, 400)
        self.assertEqual(self.lever.api("GET", "/postings", {"limit": 5}).status, 200)

    def test_redirect_forbidden_and_confidential_access(self):
        moved = "http://127.0.0.1:%d/moved" % self.lever.port
        self.lever._control("POST", "options", {"redirect": {"location": moved,
                                                             "only_paths": ["/v1/stages"]}})
        answer = self.lever.api("GET", "/stages")
        self.assertEqual((answer.status, answer.headers["location"]), (301, moved + "/v1/stages"))
        self.assertEqual(self.lever.request("GET", "/moved/v1/stages").status, 200)
        opps = self.lever.state()["opportunities"]
        secret = next(o for o in opps if o["confidentiality"] == "confidential")
        public = next(o for o in opps if o["confidentiality"] != "confidential")
        self.lever._control("POST", "options", {"forbidden_paths": ["/v1/postings"],
                                                "no_confidential_access": True})
        self.assertEqual(self.lever.api("GET", "/postings").status, 403)
        self.assertEqual(self.lever.api("GET", "/opportunities/" + secret["id"]).status, 403)
        self.assertEqual(self.lever.api("GET", "/opportunities/" + public["id"]).status, 200)

    def test_deleted_filtered_by_confidentiality_and_archive_answer_unexpanded(self):
        opps = self.lever.state()["opportunities"]
        secret = next(o for o in opps if o["confidentiality"] == "confidential")
        self.lever.mutate([{"op": "delete", "id": secret["id"], "at": NOW + 3}])
        window = {"deleted_at_start": NOW + 3, "deleted_at_end": NOW + 3}
        self.assertEqual(self.lever.api("GET", "/opportunities/deleted", window).json()["data"], [])
        shown = self.lever.api("GET", "/opportunities/deleted",
                               dict(window, confidentiality="all")).json()["data"]
        self.assertEqual(shown, [{"id": secret["id"], "deletedAt": NOW + 3, "deletedBy": None}])
        target = next(o for o in opps if o["id"] != secret["id"] and o.get("owner"))
        reason = self.lever.state()["archive_reasons"][0]["id"]
        answer = self.lever.api("PUT", "/opportunities/%s/archived" % target["id"],
                                {"expand": "owner"}, body={"reason": reason}).json()["data"]
        self.assertIsInstance(answer["owner"], str)
        self.assertTrue(all(isinstance(a, str) for a in answer["applications"]))

    def test_token_bucket(self):
        self.lever.faults({"rate_limit_rps": 5})
        statuses = self.statuses(20)
        self.assertEqual(statuses[:5], [200] * 5)
        self.assertIn(429, statuses)
        time.sleep(0.5)
        self.assertEqual(self.statuses(2), [200, 200])

    def test_keep_alive_across_errors(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.lever.port, timeout=10)
        try:
            local = None
            for index in range(30):
                headers = {"Authorization": self.lever.auth_header if index % 3 else "Basic x",
                           "Content-Type": "application/json"}
                if index % 5 == 4:
                    conn.request("POST", "/v1/opportunities/nope/notes", body=b'{"value":"x"}',
                                 headers=headers)
                else:
                    conn.request("GET", "/v1/stages", headers=headers)
                answer = conn.getresponse()
                answer.read()
                self.assertIn(answer.status, (200, 401, 404))
                self.assertIsNone(answer.getheader("Connection"))
                port = conn.sock.getsockname()[1]
                self.assertIn(local, (None, port))
                local = port
        finally:
            conn.close()

    def test_control_api_validation(self):
        for bad in ({"rate_429": 0.7, "rate_503": 0.5}, {"nonsense": 1}, {"rate_500": -1},
                    {"retry_after": 2}, {"only_paths": "/v1"}):
            with self.assertRaises(AssertionError):
                self.lever.faults(bad)
        self.assertEqual(self.lever.clock(NOW)["now_ms"], NOW)
        self.assertEqual(self.lever.now_ms(), NOW)
        self.lever.clock(None)
        self.assertGreater(self.lever.now_ms(), NOW - 10 ** 12)
        self.assertEqual(self.lever.request("GET", "/_fake/unknown", auth=False).status, 404)


class SmtpSinkTest(unittest.TestCase):

    def message(self):
        msg = EmailMessage()
        msg["From"] = "Reference checks <refsync@example.com>"
        msg["To"] = "Tomás Berg <tomas.berg@example.com>"
        msg["Subject"] = "Was José Müller hired?"
        msg["Message-ID"] = "<refsync-1@example.com>"
        msg.set_content("Hallo Tomás,\nbitte antworten: http://127.0.0.1/answer?x=1\n")
        return msg

    def test_delivery_is_stored_raw(self):
        with harness.Tenant(gen_tenant.TenantBuilder()) as tenant:
            raw = self.message().as_bytes(policy=email.policy.SMTP)
            with smtplib.SMTP("127.0.0.1", tenant.smtp_port, timeout=10) as client:
                client.sendmail("refsync@example.com", ["tomas.berg@example.com",
                                                        "ana.souza@example.com"], raw)
            mails = tenant.wait_for_mails(1)
            envelope = tenant.mail_envelopes()
            self.assertEqual(len(mails), 1)
            self.assertEqual(envelope[0]["mail_from"], "refsync@example.com")
            self.assertEqual(envelope[0]["rcpt_tos"], ["tomas.berg@example.com",
                                                       "ana.souza@example.com"])
            with open(envelope[0]["file"], "rb") as handle:
                stored = handle.read()
            self.assertEqual(envelope[0]["size"], len(stored))
            self.assertEqual(stored, raw)
            self.assertEqual(mails[0]["Subject"], "Was José Müller hired?")
            self.assertIn("Hallo Tomás", mails[0].get_content())

    def test_auth_required_when_configured(self):
        with harness.Tenant(gen_tenant.TenantBuilder(), smtp_auth=True) as tenant:
            with smtplib.SMTP("127.0.0.1", tenant.smtp_port, timeout=10) as client:
                with self.assertRaises(smtplib.SMTPSenderRefused):
                    client.sendmail("refsync@example.com", ["a@example.com"], b"Subject: x\n\nx")
            with smtplib.SMTP("127.0.0.1", tenant.smtp_port, timeout=10) as client:
                with self.assertRaises(smtplib.SMTPAuthenticationError):
                    client.login("refsync", "wrong")
            for mechanism in ("PLAIN", "LOGIN"):
                with smtplib.SMTP("127.0.0.1", tenant.smtp_port, timeout=10) as client:
                    client.ehlo()
                    client.user, client.password = "refsync", tenant.secrets["smtp.password"]
                    client.auth(mechanism, getattr(client, "auth_" + mechanism.lower()))
                    client.sendmail("refsync@example.com", ["a@example.com"],
                                    b"Subject: x\n\nx")
            self.assertEqual(len(tenant.wait_for_mails(2)), 2)
            self.assertEqual(tenant.conf["followup"]["smtp_user"], "refsync")


class GeneratorAndHarnessTest(unittest.TestCase):

    def test_generator_is_deterministic_and_shaped(self):
        one = gen_tenant.generate(300, seed=9, in_trigger=0.1, entered_at=NOW,
                                  prospects=8).to_dict()
        self.assertEqual(one, gen_tenant.generate(300, seed=9, in_trigger=0.1, entered_at=NOW,
                                                  prospects=8).to_dict())
        self.assertNotEqual(one, gen_tenant.generate(300, seed=10).to_dict())
        lever = one["lever"]
        trigger = next(s["id"] for s in lever["stages"] if s["text"] == "Reference Check")
        in_trigger = [o for o in lever["opportunities"] if o["stage"] == trigger]
        self.assertTrue(15 <= len(in_trigger) <= 45)
        for opp in in_trigger:
            self.assertEqual(opp["stageChanges"][-1]["updatedAt"], NOW)
            self.assertTrue(opp["emails"] and opp["archived"] is None)
            stamps = [c["updatedAt"] for c in opp["stageChanges"]]
            self.assertEqual(stamps, sorted(stamps))
        self.assertTrue(any(not o["isAnonymized"] and not o["name"].isascii()
                            for o in lever["opportunities"]))
        crosschq = one["crosschq"]
        self.assertEqual(sorted(crosschq), ["config", "jobroles", "prospects", "requests"])
        self.assertEqual([j["codename"] for j in crosschq["jobroles"]],
                         ["software-engineer", "account-executive", "generic"])
        self.assertEqual(crosschq["config"]["min_reference_count"], 2)
        self.assertEqual(crosschq["config"]["relationships"][2],
                         {"id": 3, "name": "peers", "min": "0", "max": "5", "default": "1"})
        self.assertEqual(len(crosschq["prospects"]), 8)
        self.assertEqual(set(crosschq["prospects"][0]),
                         {"id", "first_name", "last_name", "email", "mobile_phone", "job_title",
                          "tags", "source", "created_at", "updated_on", "ats_id"})

    def test_sandbox_file_matches_the_builder(self):
        with open(os.path.join(harness.FAKES, "sandbox.json"), encoding="utf-8") as handle:
            stored = json.load(handle)
        self.assertEqual(stored, harness.sandbox().to_dict())
        lever = stored["lever"]
        self.assertEqual((len(lever["opportunities"]), len(lever["postings"]),
                          len(lever["users"])), (40, 6, 2))
        crosschq = stored["crosschq"]
        self.assertNotIn("templates", crosschq)
        self.assertEqual([(j["codename"], j.get("enabled", True)) for j in crosschq["jobroles"]],
                         [("software-engineer", True), ("account-executive", True),
                          ("generic", True), ("product-designer", True),
                          ("customer-success", True), ("legacy-survey", False)])
        self.assertEqual([(r["status"], r["progress"], r["job_position"])
                          for r in crosschq["requests"]],
                         [("Completed", 100, "Senior Backend Engineer"),
                          ("In Progress", 50, "Account Executive")])
        emails = {o["emails"][0] for o in lever["opportunities"] if o["emails"]}
        self.assertTrue(all(r["candidate"]["email"] in emails for r in crosschq["requests"]))
        trigger = next(s["id"] for s in lever["stages"] if s["text"] == "Reference Check")
        entries = sorted(time.strftime("%Y-%m-%d", time.gmtime(c["updatedAt"] // 1000))
                         for o in lever["opportunities"] for c in o["stageChanges"][-1:]
                         if c["toStageId"] == trigger and not o["archived"])
        self.assertEqual(entries[-8:], ["2026-11-%d" % d for d in range(20, 28)])

    def test_harness_writes_config_and_secrets(self):
        with harness.Tenant(gen_tenant.TenantBuilder()) as tenant:
            with open(tenant.conf_path, encoding="utf-8") as handle:
                text = handle.read()
            keys = re.findall(r"^(\w+) =", text, re.M)
            template_keys = ["ats_tag", "jobrole", "managers", "peers"]
            self.assertEqual(keys, ["database", "spool", "cancel_on_archive", "trigger_since",
                                    "url", "api_key_file", "trigger_stage", "hired_reason",
                                    "perform_as", "requests_per_second",
                                    "stage_change_token_file", "hired_token_file", "url",
                                    "api_key_file", "requests_per_second", "webhook_auth",
                                    "webhook_secret_file",
                                    "after_days", "smtp_url", "smtp_user", "smtp_password_file",
                                    "from", "answer_url", "answer_secret_file",
                                    "export_existing", "auto_export_new"]
                             # engineering, sales (+ hiring_manager), design, marketing
                             # (+ hiring_manager), executive
                             + template_keys
                             + template_keys + ["hiring_manager"]
                             + template_keys
                             + template_keys + ["hiring_manager"]
                             + template_keys)
            # templates live in the config: one [template NAME] section each (issue 15)
            self.assertEqual(re.findall(r"^\[([^\]]+)\]$", text, re.M),
                             ["sync", "lever", "crosschq", "followup", "prospects",
                              "template engineering", "template sales", "template design",
                              "template marketing", "template executive"])
            self.assertIn("[template engineering]\nats_tag = engineering\n"
                          "jobrole = software-engineer\nmanagers = 1\npeers = 1\n", text)
            self.assertIn("[template sales]\nats_tag = sales\njobrole = generic\nmanagers = 1\n"
                          "peers = 1\nhiring_manager = Hiring Manager <hm.sales@example.com>\n",
                          text)
            self.assertIn("webhook_auth = token\nwebhook_secret_file = %s\n"
                          % tenant.path("secrets", "crosschq-webhook.secret"), text)
            self.assertIn("url = http://127.0.0.1:%d/v1\n" % tenant.lever.port, text)
            for name in ("lever.key", "crosschq.key", "stage-change.token", "hired.token",
                         "answer.secret", "crosschq-webhook.secret"):
                mode = stat.S_IMODE(os.stat(tenant.path("secrets", name)).st_mode)
                self.assertEqual(mode, 0o600, name)
            tenant.write_conf({"lever": {"requests_per_second": 3, "perform_as": None}})
            with open(tenant.conf_path, encoding="utf-8") as handle:
                text = handle.read()
            self.assertIn("requests_per_second = 3\n", text)
            self.assertNotIn("perform_as", text)
            saved = os.environ.get("REFSYNC_BIN_DIR")
            os.environ["REFSYNC_BIN_DIR"] = tenant.path("nowhere")
            try:
                with self.assertRaisesRegex(AssertionError, "refsync not found"):
                    tenant.run("status")
            finally:
                if saved is None:
                    del os.environ["REFSYNC_BIN_DIR"]
                else:
                    os.environ["REFSYNC_BIN_DIR"] = saved
            body = json.loads(tenant.webhook("candidateStageChange", {"opportunityId": "x"},
                                             token="t" * 48, triggered_at=1234))
            expected = hmac.new(tenant.secrets["stage-change.token"].encode(),
                                ("t" * 48 + "1234").encode(), hashlib.sha256).hexdigest()
            self.assertEqual(body["signature"], expected)
            item = {"method": "PUT", "body": "{}", "headers": {
                "Content-Type": "application/json", "Authorization": "Token s"}}
            self.assertEqual(tenant.crosschq_webhook_env(item),
                             {"PATH_INFO": "/crosschq", "REQUEST_METHOD": "PUT",
                              "CONTENT_TYPE": "application/json",
                              "HTTP_AUTHORIZATION": "Token s"})
            del item["headers"]["Authorization"]
            self.assertNotIn("HTTP_AUTHORIZATION", tenant.crosschq_webhook_env(item))
            self.assertEqual(tenant.crosschq.auth_header, tenant.secrets["crosschq.key"])
            self.assertEqual(harness.parse_cgi(b"Status: 401 Unauthorized\r\n"
                                               b"Content-Type: text/plain\r\n\r\nno"),
                             (401, {"status": "401 Unauthorized",
                                    "content-type": "text/plain"}, b"no"))


if __name__ == "__main__":
    unittest.main()
