"""Self-tests of the fakes and the harness: they need no refsync binary.

They prove the behaviour that the end-to-end tests of refsync rely on: auth, Lever's offset
tokens and filters, Crosschq's cursors and idempotent POST, fault injection on the wire,
SMTP delivery, the seed generator and the harness's config.
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


class CrosschqFakeTest(FakeTestCase):

    def request_body(self, external_id, email="cand@example.com", **changes):
        template = self.crosschq.state()["templates"][0]["id"]
        body = {"external_id": external_id, "template_id": template,
                "candidate": {"first_name": "José", "last_name": "Müller", "email": email,
                              "phone": None},
                "job_title": "Engineer", "requester": {"name": "R", "email": "r@example.com"},
                "hiring_manager": None, "ats": "lever",
                "ats_candidate_url": "https://hire.lever.co/candidates/x"}
        body.update(changes)
        return body

    def test_auth(self):
        answer = self.crosschq.api("GET", "/api/v2/templates/", auth=False)
        self.assertEqual((answer.status, set(answer.json())), (401, {"detail"}))
        wrong = self.crosschq.api("GET", "/api/v2/templates/", auth=False,
                                  headers={"Authorization": "Token nope"})
        self.assertEqual(wrong.status, 401)
        bearer = self.crosschq.api("GET", "/api/v2/templates/", auth=False, headers={
            "Authorization": "Bearer " + self.crosschq.api_key})
        self.assertEqual(bearer.status, 401)
        self.assertEqual(self.crosschq.api("GET", "/api/v2/templates/").status, 200)
        self.assertEqual(self.crosschq.api("GET", "/api/v2/templates").status, 404)

    def test_post_is_idempotent_on_external_id(self):
        self.crosschq.clock(NOW)
        first = self.crosschq.api("POST", "/api/v2/requests/", body=self.request_body("lever:a:1"))
        self.assertEqual(first.status, 201, first.body)
        request = first.json()["data"]
        self.assertEqual((request["status"], request["created_at"], request["updated_at"]),
                         ("sent", "2026-11-18T11:06:40Z", "2026-11-18T11:06:40Z"))
        self.assertEqual([request[k] for k in ("completed_at", "report_url", "hired", "hired_at",
                                               "hired_source")], [None] * 5)
        second = self.crosschq.api("POST", "/api/v2/requests/",
                                   body=self.request_body("lever:a:1", email="other@example.com"))
        self.assertEqual((second.status, second.json()["data"]), (200, request))
        self.assertEqual([r["external_id"] for r in self.crosschq.state()["requests"]
                          if r["external_id"] == "lever:a:1"], ["lever:a:1"])
        found = self.crosschq.api("GET", "/api/v2/requests/", {"external_id": "lever:a:1"})
        self.assertEqual(found.json(), {"data": [request], "next_cursor": None})
        none = self.crosschq.api("GET", "/api/v2/requests/", {"external_id": "lever:zz:1"})
        self.assertEqual(none.json()["data"], [])
        template = self.crosschq.state()["templates"][0]["id"]
        for broken in ({"external_id": ""}, {"template_id": "missing"}, {"ats": "greenhouse"},
                       {"candidate": {"first_name": "A"}},
                       {"candidate": {"first_name": "", "email": "a@b.c"}},
                       {"requester": {"name": "no email"}}, {"template_id": None}):
            body = self.request_body("lever:b:2")
            body.update(broken)
            answer = self.crosschq.api("POST", "/api/v2/requests/", body=body)
            self.assertEqual(answer.status, 400, broken)
            self.assertEqual(set(answer.json()), {"detail"})
        self.assertEqual(self.crosschq.api("POST", "/api/v2/requests/", body=b"{").status, 400)
        self.assertTrue(template)

    def test_cursor_paging_and_updated_since(self):
        made = []
        for index in range(25):
            # far after the other tests' objects; pairs share a second
            self.crosschq.clock(NOW + 100 * harness.DAY_MS + (index // 2) * 1000)
            body = self.request_body("lever:page:%d" % index, email="p%d@example.com" % index)
            made.append(self.crosschq.api("POST", "/api/v2/requests/", body=body).json()["data"])
        since = made[0]["updated_at"]
        seen, cursor, pages = [], None, 0
        while True:
            query = {"limit": 10, "updated_since": since}
            if cursor:
                query["cursor"] = cursor
            body = self.crosschq.api("GET", "/api/v2/requests/", query).json()
            seen.extend(body["data"])
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(pages, 3)
        keys = [(r["updated_at"], r["id"]) for r in seen]
        self.assertEqual(keys, sorted(keys))
        self.assertEqual(sorted(r["id"] for r in seen), sorted(r["id"] for r in made))
        later = self.crosschq.api("GET", "/api/v2/requests/",
                                  {"updated_since": made[24]["updated_at"]}).json()["data"]
        self.assertEqual(sorted(r["id"] for r in later), [made[24]["id"]])
        for bad in ({"cursor": "garbage!"}, {"updated_since": "yesterday"}, {"limit": 0}):
            self.assertEqual(self.crosschq.api("GET", "/api/v2/requests/", bad).status, 400)

    def test_cancel_patch_mutate_and_prospects(self):
        self.crosschq.clock(NOW)
        make = lambda ext: self.crosschq.api(  # noqa: E731
            "POST", "/api/v2/requests/", body=self.request_body(ext)).json()["data"]
        open_one, done = make("lever:c:1"), make("lever:c:2")
        self.crosschq.clock(NOW + 60000)
        cancel = "/api/v2/requests/%s/cancel/"
        cancelled = self.crosschq.api("POST", cancel % open_one["id"]).json()["data"]
        self.assertEqual((cancelled["status"], cancelled["updated_at"]),
                         ("cancelled", "2026-11-18T11:07:40Z"))
        again = self.crosschq.api("POST", cancel % open_one["id"])
        self.assertEqual((again.status, again.json()["data"]), (200, cancelled))
        completed = self.crosschq.mutate([{"op": "complete", "external_id": "lever:c:2",
                                           "at": NOW + 1000}])[0]
        self.assertEqual((completed["completed_at"], completed["report_url"]),
                         ("2026-11-18T11:06:41Z",
                          "https://app.crosschq.com/report/%s" % done["id"]))
        refused = self.crosschq.api("POST", cancel % done["id"])
        self.assertEqual((refused.status, refused.json()), (409, {"detail": "already completed"}))
        self.crosschq.clock(NOW + 120000)
        patched = self.crosschq.api("PATCH", "/api/v2/requests/%s/" % done["id"], body={
            "hired": True, "hired_at": "2026-11-18T08:00:00Z", "hired_source": "ats"})
        self.assertEqual(patched.json()["data"]["updated_at"], "2026-11-18T11:08:40Z")
        for bad in ({"hired": "yes"}, {"hired_source": "magic"}, {"hired_at": "soon"},
                    {"status": "completed"}):
            self.assertEqual(self.crosschq.api("PATCH", "/api/v2/requests/%s/" % done["id"],
                                               body=bad).status, 400, bad)
        hired = self.crosschq.mutate([{"op": "hire", "id": open_one["id"]}])[0]
        self.assertEqual((hired["hired"], hired["hired_source"]), (True, "crosschq"))
        prospect = self.crosschq.mutate([{"op": "add_prospect", "first_name": "Ana",
                                          "last_name": "Ñúñez", "email": "ana@example.org"}])[0]
        listed = self.crosschq.api("GET", "/api/v2/prospects/").json()["data"]
        self.assertIn(prospect["id"], [p["id"] for p in listed])
        exported = self.crosschq.api("PATCH", "/api/v2/prospects/%s/" % prospect["id"], body={
            "ats_id": "opp-1", "ats_exported_at": "2026-11-18T08:28:40Z"}).json()["data"]
        self.assertEqual(exported["ats_id"], "opp-1")
        self.assertEqual(self.crosschq.api("GET", "/api/v2/settings/jobrole/").status, 200)

    def test_fail_for(self):
        self.crosschq.fail_for("Bad@Example.com", 422, "Invalid candidate email")
        answer = self.crosschq.api("POST", "/api/v2/requests/",
                                   body=self.request_body("lever:f:1", email="bad@example.com"))
        self.assertEqual((answer.status, answer.json()),
                         (422, {"detail": "Invalid candidate email"}))
        fine = self.crosschq.api("POST", "/api/v2/requests/",
                                 body=self.request_body("lever:f:2", email="good@example.com"))
        self.assertEqual(fine.status, 201)
        self.assertEqual([(e["status"], e["fault"]) for e in self.crosschq.log()],
                         [(422, "fail_for"), (201, None)])


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
        throttled = self.crosschq.api("GET", "/api/v2/templates/")
        self.assertEqual((throttled.status, throttled.headers["retry-after"]), (429, "1"))
        self.crosschq.faults({"rate_503": 1.0, "retry_after": "Wed, 21 Oct 2026 07:28:00 GMT"})
        busy = self.crosschq.api("GET", "/api/v2/templates/")
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
        template = self.crosschq.state()["templates"][0]["id"]
        body = {"external_id": "lever:reset:1", "template_id": template, "ats": "lever",
                "candidate": {"first_name": "A", "email": "a@example.com"},
                "requester": {"email": "r@example.com"}}
        self.crosschq.faults({"rate_reset": 1.0, "reset_phase": "after"})
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
            self.crosschq.api("POST", "/api/v2/requests/", body=body)
        self.crosschq.faults({})
        retried = self.crosschq.api("POST", "/api/v2/requests/", body=body)
        self.assertEqual(retried.status, 200)
        self.crosschq.faults({"rate_reset": 1.0})          # before: nothing happens
        body["external_id"] = "lever:reset:2"
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
            self.crosschq.api("POST", "/api/v2/requests/", body=body)
        self.crosschq.faults({})
        self.assertEqual(self.crosschq.api("GET", "/api/v2/requests/", {
            "external_id": "lever:reset:2"}).json()["data"], [])

    def test_invalid_offset_once(self):
        first = self.lever.api("GET", "/opportunities", {"limit": 2}).json()
        self.lever.faults({"invalid_offset_once": True})
        self.assertEqual(self.lever.api("GET", "/opportunities", {"limit": 2}).status, 200)
        refused = self.lever.api("GET", "/opportunities", {"limit": 2, "offset": first["next"]})
        self.assertEqual((refused.status, refused.json()["message"]),
                         (400, "Invalid offset token: Offset token is invalid for sort"))
        again = self.lever.api("GET", "/opportunities", {"limit": 2, "offset": first["next"]})
        self.assertEqual(again.status, 200)
        self.assertEqual([e["fault"] for e in self.lever.log()],
                         [None, None, "invalid_offset", None])

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
        self.assertTrue(all(t["is_default"] is False and t["ats_tag"] == t["ats_tag"].lower()
                            for t in one["crosschq"]["templates"]))
        self.assertEqual(len(one["crosschq"]["prospects"]), 8)

    def test_sandbox_file_matches_the_builder(self):
        with open(os.path.join(harness.FAKES, "sandbox.json"), encoding="utf-8") as handle:
            stored = json.load(handle)
        self.assertEqual(stored, harness.sandbox().to_dict())
        lever = stored["lever"]
        self.assertEqual((len(lever["opportunities"]), len(lever["postings"]),
                          len(lever["users"]), len(stored["crosschq"]["templates"])),
                         (40, 6, 2, 4))
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
            self.assertEqual(keys, ["database", "spool", "cancel_on_archive", "trigger_since",
                                    "url", "api_key_file", "trigger_stage", "hired_reason",
                                    "perform_as", "requests_per_second",
                                    "stage_change_token_file", "hired_token_file", "url",
                                    "api_key_file", "default_template", "requests_per_second",
                                    "after_days", "smtp_url", "smtp_user", "smtp_password_file",
                                    "from", "answer_url", "answer_secret_file",
                                    "export_existing", "auto_export_new"])
            self.assertIn("url = http://127.0.0.1:%d/v1\n" % tenant.lever.port, text)
            for name in ("lever.key", "crosschq.key", "stage-change.token", "hired.token",
                         "answer.secret"):
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
            self.assertEqual(harness.parse_cgi(b"Status: 401 Unauthorized\r\n"
                                               b"Content-Type: text/plain\r\n\r\nno"),
                             (401, {"status": "401 Unauthorized",
                                    "content-type": "text/plain"}, b"no"))


if __name__ == "__main__":
    unittest.main()
