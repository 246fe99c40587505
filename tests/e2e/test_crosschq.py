"""End-to-end: Crosschq as it is known (issue 15, crosschq-api.md).

The Crosschq fake follows crosschq-api.md section 1 strictly (bare key, trailing slashes, the
documented fields, request_id, free status words) and offers each section-2 capability only
when a test switches it on (simulated: nothing public says the real API has them). The tests
run the real refsync and refsync-hook against it and the Lever fake, and count what the fakes
received.

Run alone:
    REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 tests/e2e/run.py test_crosschq
"""

import json
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_trigger as base  # noqa: E402
from test_trigger import EX_SOME_FAILED, EX_TEMPFAIL, SIGKILLED, key, move, output_of  # noqa: E402

EX_CONFIG = 78
CAPABILITIES = ("list", "hire", "hired_field", "cancel", "prospects")
OBJECT_READ = "/partners/reference-request/"


def lever_writes(t, suffix):
    """Successful Lever POSTs whose path ends with suffix ("/addLinks", "/notes"), by opportunity."""
    out = {}
    for e in t.lever.log():
        if e["method"] == "POST" and e["path"].endswith(suffix) and 200 <= e["status"] < 300:
            opportunity = e["path"].split("/")[-2]
            out[opportunity] = out.get(opportunity, 0) + 1
    return out


def reads_by_id(t):
    """GET /partners/reference-request/<id>/ the Crosschq fake answered, in order."""
    return [e["path"].split("/")[-2] for e in t.crosschq.log()
            if e["method"] == "GET" and e["path"].startswith(OBJECT_READ)
            and e["path"] != OBJECT_READ]


def request_of_opportunity(t):
    """{opportunity id: Crosschq request id} from the outbox (the create's result)."""
    db = t.db()
    try:
        rows = db.execute("SELECT key, result FROM outbox WHERE kind = 'cq.create_request' "
                          "AND state = 'done'").fetchall()
    finally:
        db.close()
    return {r["key"].split(":")[1]: r["result"] for r in rows}


class CrosschqTest(base.TriggerTestCase):

    def test_the_key_is_the_authorization_value_and_token_is_a_choice(self):
        s = base.Scenario(seed=41)
        ids = s.candidates(2)
        t = s.tenant()
        try:
            move(t, ids)
            self.run_ok(t)
            calls = t.crosschq.log()
            self.assertTrue(calls)
            self.assertTrue(all(e["auth_ok"] for e in calls))
            self.assertEqual(len(base.creates(t)), 2)
            # "Token <key>" where Crosschq takes the bare key only: a clear config error
            t.write_conf({"crosschq": {"auth_scheme": "Token"}})
            result = t.run("check")
            self.assertEqual(result.returncode, EX_CONFIG, output_of(result))
            self.assertIn("auth_scheme", result.stdout)
            # a Crosschq that also takes "Token <key>"
            t.crosschq.auth_scheme("Token")
            result = self.run_ok(t, "check")
            self.assertIn("Crosschq accepts the API key", result.stdout)
            t.write_conf({"crosschq": {"auth_scheme": "Bearer"}})
            result = t.run("run")
            self.assertEqual(result.returncode, EX_CONFIG)
            self.assertIn("auth_scheme", result.stderr)
        finally:
            t.__exit__(None, None, None)

    def test_forty_requests_complete_through_webhooks_only(self):
        s = base.Scenario(seed=42)
        ids = s.candidates(40)
        # no list capability (the fake's default), and no reading by id: webhooks alone
        t = s.tenant({"crosschq": {"poll_open_per_run": "0"}})
        try:
            entries = move(t, ids)
            self.run_ok(t)
            self.assertExactlyOnce(t, [key(i, at) for i, at in entries.items()])
            state = t.lever.state()
            got = sorted((base.comparable(c["body"]) for c in base.creates(t)),
                         key=lambda b: b["candidate"]["email"])
            want = sorted((base.expected_body(s, state, i) for i in ids),
                          key=lambda b: b["candidate"]["email"])
            self.assertEqual(got, want)
            t.crosschq.mutate([{"op": "complete", "id": r["id"]} for r in base.created_requests(t)])
            delivered = t.deliver_crosschq_webhooks()
            self.assertEqual(len(delivered), 80)       # 40 created, 40 completed
            self.assertTrue(all(result.status == 200 for _, result in delivered))
            self.run_ok(t)
            self.assertEqual(lever_writes(t, "/addLinks"), {i: 1 for i in ids})
            self.assertEqual(lever_writes(t, "/notes"), {i: 1 for i in ids})
            self.assertEqual(reads_by_id(t), [])
            # the same webhooks again, and a quiet run: nothing more
            self.run_ok(t)
            self.assertEqual(lever_writes(t, "/notes"), {i: 1 for i in ids})
        finally:
            t.__exit__(None, None, None)

    def test_lost_webhooks_completions_are_read_within_the_polling_bound(self):
        s = base.Scenario(seed=43)
        ids = s.candidates(15)
        per_run = 5
        t = s.tenant({"crosschq": {"poll_open_per_run": str(per_run),
                                   "poll_open_minutes": "60"}})
        try:
            t.crosschq.webhook_config(auth="token", secret=t.secrets["crosschq-webhook.secret"],
                                      deliver=False)
            t.now_ms = base.now_ms()
            move(t, ids)
            self.run_ok(t)
            requests = request_of_opportunity(t)
            self.assertEqual(len(requests), 15)
            done, still_open = ids[:12], ids[12:]
            t.crosschq.mutate([{"op": "complete", "id": requests[i]} for i in done])
            self.assertEqual(t.crosschq.pending_webhooks(), [])     # every webhook was lost
            # check probes every capability (a request exists now): no probe in the runs below
            self.assertIn("Crosschq capability hired_field", self.run_ok(t, "check").stdout)
            t.crosschq.reset_log()
            # each run reads at most per_run open requests, the never-read first
            for run in range(3):
                self.run_ok(t)
                self.assertEqual(len(reads_by_id(t)), per_run * (run + 1))
            self.assertEqual(sorted(set(reads_by_id(t))), sorted(requests.values()))
            self.assertEqual(lever_writes(t, "/notes"), {i: 1 for i in done})
            self.assertEqual(lever_writes(t, "/addLinks"), {i: 1 for i in done})
            # within poll_open_minutes nothing is read again: a quiet run stays cheap
            t.crosschq.reset_log()
            t.now_ms += 30 * 60000
            self.run_ok(t)
            self.assertEqual(reads_by_id(t), [])
            # after it, the open ones (only) are read again
            t.now_ms += 31 * 60000
            self.run_ok(t)
            self.assertEqual(sorted(reads_by_id(t)), sorted(requests[i] for i in still_open))
        finally:
            t.__exit__(None, None, None)

    def test_without_any_capability_runs_exit_0_and_check_names_each(self):
        s = base.Scenario(seed=44)
        ids = s.candidates(4)
        t = s.tenant({"prospects": {"export_existing": "yes"}})
        try:
            # creating opportunities for prospects needs a Lever user to act as
            t.write_conf({"lever": {"perform_as": t.lever.state()["users"][0]["id"]}})
            entries = move(t, ids)
            self.run_ok(t)
            requests = request_of_opportunity(t)
            t.crosschq.mutate([{"op": "complete", "id": requests[ids[0]]}])
            t.deliver_crosschq_webhooks()
            # hired in Lever, archived as not hired: both would need a capability
            t.lever.mutate([{"op": "archive", "id": ids[0], "reason": "Hired"},
                            {"op": "archive", "id": ids[1], "reason": "Withdrew"}])
            self.run_ok(t)
            self.run_ok(t)
            check = t.run("check")
            self.assertEqual(check.returncode, 0, output_of(check))
            for name in CAPABILITIES:
                line = next(l for l in check.stdout.splitlines()
                            if "Crosschq capability %s:" % name in l)
                self.assertIn("off", line)
            status = base.status_json(t)
            self.assertEqual(sorted(c["name"] for c in status["capabilities"]),
                             sorted(CAPABILITIES))
            self.assertTrue(all(c["state"] == "absent" for c in status["capabilities"]),
                            status["capabilities"])
            self.assertEqual(status["failed"], [])
            text = self.run_ok(t, "status").stdout
            self.assertIn("off: cancel on archive", text)
            # nothing was asked of Crosschq that it does not offer
            calls = [(e["method"], e["path"]) for e in t.crosschq.log()]
            self.assertFalse([c for c in calls if c[0] == "PATCH" or
                              (c[0] == "POST" and c[1].endswith("/cancel/"))])
            # the exports note it
            export = t.run_export("--format", "csv", "--kind", "events")
            self.assertEqual(export.returncode, 0, export.stderr)
            self.assertIn("capability.probed", export.stdout)
            self.assertIn("absent: cancel on archive", export.stdout)
            # the link and note still happened for the completed one
            self.assertEqual(lever_writes(t, "/notes"), {ids[0]: 1})
            self.assertEqual(len(entries), 4)
            # switched on in Crosschq: the next check finds them, and the run uses them
            t.crosschq.capabilities(**{name: True for name in CAPABILITIES})
            check = self.run_ok(t, "check")
            self.assertEqual(check.stdout.count("present"), len(CAPABILITIES), check.stdout)
            self.run_ok(t)
            patched = [e for e in t.crosschq.log() if e["method"] == "PATCH"]
            cancelled = [e for e in t.crosschq.log() if e["method"] == "POST"
                         and e["path"].endswith("/cancel/")]
            self.assertEqual([e["body"] for e in patched], [{"hired": True}])
            self.assertEqual(len(cancelled), 1)
            self.assertIn(requests[ids[1]], cancelled[0]["path"])
        finally:
            t.__exit__(None, None, None)

    def test_lost_answers_and_kills_never_duplicate_a_create(self):
        s = base.Scenario(seed=45)
        ids = s.candidates(20)
        t = s.tenant()
        rng = random.Random(int(os.environ.get("REFSYNC_CHAOS_SEED", "4545")))
        try:
            entries = move(t, ids)
            t.crosschq.lose_create(20)
            resolved_sent = resolved_not_sent = 0
            for attempt in range(120):
                crash = rng.choice((None, None, "before-send", "after-send"))
                result = t.run("run", env={"REFSYNC_TEST_CRASH_AT": crash} if crash else None)
                self.assertIn(result.returncode, (0, SIGKILLED, EX_TEMPFAIL, EX_SOME_FAILED),
                              output_of(result))
                if result.returncode == 0:
                    break
                if result.returncode == EX_SOME_FAILED:
                    self.assertIn("in doubt", result.stderr)
                    if attempt % 3 == 0:
                        # a webhook is lost now and then: the operator reads Crosschq
                        t.crosschq.pending_webhooks()
                    t.deliver_crosschq_webhooks()
                    again = t.run("run")
                    if again.returncode != EX_SOME_FAILED:
                        continue
                    made = {c["body"]["candidate"]["email"].lower(): c["request_id"]
                            for c in base.creates(t)}
                    state = t.lever.state()
                    for d in base.status_json(t)["in_doubt"]:
                        email = base.email_of(state, d["key"].split(":")[1]).lower()
                        if email in made:
                            r = t.run("resolve", d["key"], "--sent", made[email])
                            resolved_sent += 1
                        else:
                            r = t.run("resolve", d["key"], "--not-sent")
                            resolved_not_sent += 1
                        self.assertEqual(r.returncode, 0, output_of(r))
            else:
                self.fail("not settled after 120 runs")
            self.assertExactlyOnce(t, [key(i, at) for i, at in entries.items()])
            lost = [e for e in t.crosschq.log() if e.get("fault") == "lose_create"]
            self.assertGreaterEqual(len(lost), 1)
            # every resolution is in the audit trail
            db = t.db()
            try:
                audited = db.execute("SELECT count(*) FROM audit_events WHERE kind = "
                                     "'action.resolved'").fetchone()[0]
            finally:
                db.close()
            self.assertEqual(audited, resolved_sent + resolved_not_sent)
        finally:
            t.__exit__(None, None, None)

    def test_a_lost_answer_is_adopted_from_the_webhook_and_never_resent(self):
        s = base.Scenario(seed=46)
        ids = s.candidates(3)
        t = s.tenant()
        try:
            entries = move(t, ids)
            t.crosschq.lose_create(1)
            result = t.run("run")
            self.assertEqual(result.returncode, EX_TEMPFAIL, output_of(result))
            self.assertIn("outcome is unknown", result.stderr)
            # without evidence the create stays in doubt: never sent again by itself
            for _ in range(2):
                result = t.run("run")
                self.assertEqual(result.returncode, EX_SOME_FAILED, output_of(result))
            self.assertEqual(len(base.request_posts(t)), 3)
            doubt = base.status_json(t)["in_doubt"]
            self.assertEqual(len(doubt), 1)
            text = self.run_ok(t, "status").stdout
            self.assertIn("refsync resolve %s --sent REQUEST_ID" % doubt[0]["key"], text)
            self.assertIn(doubt[0]["job_position"], text)
            # the webhook is the evidence
            t.deliver_crosschq_webhooks()
            result = self.run_ok(t)
            self.assertIn("was in doubt: it happened", result.stderr)
            self.assertEqual(len(base.request_posts(t)), 3)
            self.assertExactlyOnce(t, [key(i, at) for i, at in entries.items()])
        finally:
            t.__exit__(None, None, None)

    def test_list_capability_is_evidence_and_replaces_reading_by_id(self):
        s = base.Scenario(seed=47)
        ids = s.candidates(3)
        t = s.tenant()
        try:
            t.crosschq.capabilities(list=True)
            t.crosschq.webhook_config(deliver=False)
            entries = move(t, ids)
            t.crosschq.lose_create(1)
            self.assertEqual(t.run("run").returncode, EX_TEMPFAIL)
            result = self.run_ok(t)
            self.assertIn("was in doubt: it happened", result.stderr)
            self.assertExactlyOnce(t, [key(i, at) for i, at in entries.items()])
            requests = request_of_opportunity(t)
            t.crosschq.mutate([{"op": "complete", "id": requests[ids[1]]}])
            t.crosschq.reset_log()
            self.run_ok(t)
            self.assertEqual(reads_by_id(t), [])
            lists = [e for e in t.crosschq.log() if e["method"] == "GET"
                     and e["path"] == OBJECT_READ]
            self.assertEqual(len(lists), 1)
            self.assertEqual(lever_writes(t, "/notes"), {ids[1]: 1})
        finally:
            t.__exit__(None, None, None)

    def test_unknown_status_words_are_kept_open_and_shown(self):
        s = base.Scenario(seed=48)
        ids = s.candidates(2)
        t = s.tenant()
        try:
            move(t, ids)
            self.run_ok(t)
            requests = request_of_opportunity(t)
            t.crosschq.mutate([{"op": "set_status", "id": requests[ids[0]],
                                "status": "Awaiting Reference Approval", "progress": 40},
                               {"op": "set_status", "id": requests[ids[1]],
                                "status": "COMPLETED", "progress": 100}])
            t.crosschq.mutate([{"op": "set_request", "id": requests[ids[1]],
                                "fields": {"report_url": "https://app.crosschq.com/r/x/"}}])
            t.deliver_crosschq_webhooks()
            self.run_ok(t)
            status = base.status_json(t)
            self.assertEqual(status["unknown_status_words"],
                             [{"word": "Awaiting Reference Approval", "open_requests": 1}])
            self.assertIn("'Awaiting Reference Approval': 1 open request",
                          self.run_ok(t, "status").stdout)
            db = t.db()
            try:
                states = dict(db.execute("SELECT id, status FROM cq_requests").fetchall())
            finally:
                db.close()
            self.assertEqual(states, {requests[ids[0]]: "open", requests[ids[1]]: "completed"})
            self.assertEqual(lever_writes(t, "/notes"), {ids[1]: 1})
        finally:
            t.__exit__(None, None, None)

    def test_check_validates_every_template_against_the_surveys(self):
        s = base.Scenario(seed=49)
        t = s.tenant({
            "template disabled": harness.template_section("ops", "legacy-survey"),
            "template unknown": harness.template_section("hr", "no-such-survey"),
            "template toomany": harness.template_section("finance", "generic", managers=9),
            "template toofew": harness.template_section("legal", "generic", managers=1, peers=0),
        })
        try:
            result = t.run("check")
            self.assertEqual(result.returncode, EX_CONFIG, output_of(result))
            problems = [l for l in result.stdout.splitlines() if l.startswith("PROBLEM")]
            self.assertEqual(len(problems), 4, result.stdout)
            self.assertTrue(any("[template disabled] jobrole:" in p and "legacy-survey" in p
                                for p in problems), problems)
            self.assertTrue(any("[template unknown] jobrole:" in p for p in problems), problems)
            self.assertTrue(any("[template toomany] managers:" in p and "0 to 5" in p
                                for p in problems), problems)
            self.assertTrue(any("[template toofew] managers:" in p and "min_reference_count 2" in p
                                for p in problems), problems)
            for name in ("engineering", "sales", "design", "executive"):
                self.assertIn("template %s (survey" % name, result.stdout)
        finally:
            t.__exit__(None, None, None)

    def test_template_keys_shape_the_request(self):
        s = base.Scenario(seed=50)
        with_phone = s.candidate("operations")       # no tag matches: the default template
        fixed = s.candidate("sales")
        t = s.tenant()
        message = os.path.join(t.dir, "message.txt")
        with open(message, "w", encoding="utf-8") as handle:
            handle.write("Bitte nennen Sie zwei Vorgesetzte. " * 8 + "\n")
        try:
            t.write_conf({"template fallback": {"jobrole": "generic", "default": "yes",
                                                "any_relationship": "no", "managers": "2",
                                                "hiring_manager": "none", "use_sms": "yes",
                                                "candidate_message_file": message},
                          "template sales": {"hiring_manager": "\"Olga Lead\" <lead@example.com>",
                                             "position": "Account Executive (EMEA)"}})
            t.lever.mutate([{"op": "set", "id": with_phone,
                             "fields": {"phones": [{"type": "mobile", "value": "+1 (555) 010-9999"}]}}])
            move(t, [with_phone, fixed])
            self.run_ok(t)
            bodies = {base.posted_opportunities(t, [{"body": c["body"]}])[0]: c["body"]
                      for c in base.creates(t)}
            self.assertEqual(sorted(bodies), sorted([with_phone, fixed]))
            fallback = bodies[with_phone]
            self.assertNotIn("hiring_manager", fallback)
            self.assertTrue(fallback["use_sms"])
            self.assertEqual(fallback["candidate"]["mobile_phone"], "+15550109999")
            self.assertEqual(fallback["config_params"], {"managers": 2, "employees": 0, "peers": 0,
                                                         "business": 0, "social": 0})
            self.assertEqual(fallback["candidate_message"],
                             ("Bitte nennen Sie zwei Vorgesetzte. " * 8).strip())
            self.assertEqual(fallback["job_position"], "Office Manager")
            sales = bodies[fixed]
            self.assertEqual(sales["hiring_manager"], {"first_name": "Olga", "last_name": "Lead",
                                                       "email": "lead@example.com"})
            self.assertEqual(sales["job_position"], "Account Executive (EMEA)")
            # two defaults: refused with the section and key
            t.write_conf({"template engineering": {"default": "yes"}})
            result = t.run("run")
            self.assertEqual(result.returncode, EX_CONFIG)
            self.assertRegex(result.stderr, r"\[template (engineering|fallback)\] default:")
        finally:
            t.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
