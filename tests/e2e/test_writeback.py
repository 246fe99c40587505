"""End-to-end: what follows a reference check, each effect exactly once (issue 4).

A tenant is seeded with candidates who entered "Reference Check" an hour before the first
run (after trigger_since), so that the first run makes each one's Crosschq request
(Crosschq stores no id of ours: refsync can follow only the requests it made, linked
through cq_requests.external_id = the outbox key). The test then plays the issue's story
against the fakes, with refsync's clock (REFSYNC_TEST_NOW) and both fakes' clocks pinned to
the same moments:

  T0            first run: one request per candidate (POST /partners/reference-request/);
                prospects are exported (export_existing = yes)
  T1 = T0 + 1 h requests complete; candidates are hired in Lever, marked hired in Crosschq,
                archived as not hired
  T2 = T1 + 15 days                   the follow-up prompts are due

and counts the effects in the fakes' state and request logs and in the SMTP sink.

Crosschq (crosschq-api.md, issue 15): completions reach refsync through Crosschq's webhooks
(the fake queues them; Scenario.deliver hands them to refsync-hook before each run), and
PollingTest proves the safety net without them (open requests read by id within
[crosschq] poll_open_minutes / poll_open_per_run). The section-2 features (hire sync to
Crosschq, the hired field, cancel on archive, prospects) are switched ON in the fake for the
story; CapabilityOffTest plays it with each one OFF: that feature is off, nothing fails.

The criterion's numbers are scaled down (200 -> 40 completed requests) with the proportions
kept; every expected count is derived from the module constants below.

Binary: $REFSYNC_BIN_DIR/refsync when set, else sync/refsync.
Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 -m unittest tests/e2e/test_writeback.py -v
Set REFSYNC_KEEP=1 to keep the temporary directories.
"""

import calendar
import collections
import json
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import DAY_MS, TenantBuilder  # noqa: E402

# ---------------------------------------------------------------- the scenario's sizes
# issue 4 says 200 / 50 / 20 / 30 / 40 (10 known); all scaled by 1/5
REQUESTS_COMPLETED = 40       # requests that complete at T1
HIRED_IN_LEVER = 10           # of those: archived with the "Hired" reason in Lever
HIRED_IN_CROSSCHQ = 4         # of those: marked hired in Crosschq
ARCHIVED_NOT_HIRED = 6        # open requests whose candidate is archived as not hired
PROSPECTS = 8                 # Crosschq prospects (export_existing = yes)
PROSPECTS_KNOWN = 2           # of those: with an email that a Lever opportunity already has
DAYS_PASSING = 15             # after T1; the prompt waits after_days = 14
# cases around the edges of the rules (not in the sentence; they must get nothing)
COMPLETED_THEN_ARCHIVED = 2   # completed, then archived as not hired: no prompt, no cancel
OWNER_WITHOUT_EMAIL = 3       # completed, owner has no email: no prompt
STILL_OPEN = 4                # open requests, candidate active: nothing at all

AFTER_DAYS = 14
MINUTE_MS = 60 * 1000
HOUR_MS = 60 * MINUTE_MS
T0 = calendar.timegm((2026, 11, 2, 9, 0, 0)) * 1000
T1 = T0 + HOUR_MS
T2 = T1 + DAYS_PASSING * DAY_MS
ENTERED = T0 - HOUR_MS        # every seeded stage entry: after trigger_since, before T0
TRIGGER_SINCE = T0 - DAY_MS
JOB_POSITION = "Senior Backend Engineer"
REQUESTS_PATH = "/partners/reference-request/"
PROSPECTS_PATH = "/partners/prospects/"
# the section-2 capabilities the story uses (the fake's are all off by default)
STORY_CAPABILITIES = ("hire", "hired_field", "cancel", "prospects")

EX_OK = 0
EX_TEMPFAIL = 75
SIGKILLED = -9
HIRED = "Hired"
NOT_HIRED_REASONS = ("Underqualified", "Withdrew", "Position filled", "Timing", "Unresponsive")

FIRST_NAMES = ("José", "Zoë", "Łukasz", "Søren", "François", "Ana", "Mia", "Noah", "Chloé",
               "Björn", "Ayşe", "Jürgen", "Siobhán", "Hiroshi", "Priya", "Marta", "Liam")
LAST_NAMES = ("Müller", "García", "Ångström", "Wójcik", "Dubois", "Smith", "O'Brien",
              "Nakamura", "Şahin", "Novák", "Ødegård", "Rossi", "Lee")


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def output_of(result):
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (result.returncode, result.stdout,
                                                   result.stderr[-4000:])


def is_2xx(entry):
    return 200 <= entry["status"] < 300


def writes(log):
    """The requests of a fake's log that can change something (all but GET and OPTIONS,
    which refsync's capability probes use)."""
    return [e for e in log if e["method"] not in ("GET", "OPTIONS")]


def request_path(request_id, suffix=""):
    return "%s%s/%s" % (REQUESTS_PATH, request_id, suffix)


# ---------------------------------------------------------------- groups of candidates
# name: (request completes at T1, what happens to the candidate at T1, owner has an email)
GROUPS = {
    "hired_in_lever": (True, "hire_in_lever", True),
    "hired_in_crosschq": (True, "hire_in_crosschq", True),
    "completed_then_archived": (True, "archive_not_hired", True),
    "owner_without_email": (True, None, False),
    "prompted": (True, None, True),
    "archived_not_hired": (False, "archive_not_hired", True),
    "still_open": (False, None, True),
}


def full_sizes():
    """The group sizes of issue 4's scenario, from the module constants."""
    prompted = (REQUESTS_COMPLETED - HIRED_IN_LEVER - HIRED_IN_CROSSCHQ
                - COMPLETED_THEN_ARCHIVED - OWNER_WITHOUT_EMAIL)
    return {"hired_in_lever": HIRED_IN_LEVER, "hired_in_crosschq": HIRED_IN_CROSSCHQ,
            "completed_then_archived": COMPLETED_THEN_ARCHIVED,
            "owner_without_email": OWNER_WITHOUT_EMAIL, "prompted": prompted,
            "archived_not_hired": ARCHIVED_NOT_HIRED, "still_open": STILL_OPEN}


class Candidate:
    """One seeded opportunity, the Crosschq request refsync makes for it (known after the
    first run: Scenario.learn), and what happens to it."""

    def __init__(self, group, opportunity, owner_email, off):
        self.group = group
        self.opp = opportunity["id"]
        self.email = opportunity["emails"][0]
        self.key = "lever:%s:%d" % (self.opp, ENTERED)
        self.request = None
        self.completes, self.event, _ = GROUPS[group]
        self.owner_email = owner_email
        self.off = off

    @property
    def report_url(self):
        """The fake's default report URL of a completed request."""
        return "https://app.crosschq.com/report/%s/" % self.request

    @property
    def hired(self):
        """Hired as refsync can know it: a hire in Crosschq shows only with hired_field."""
        return self.event == "hire_in_lever" or (self.event == "hire_in_crosschq"
                                                 and "hired_field" not in self.off)

    @property
    def archived(self):
        """Archived in Lever: by the test, or by refsync for a hire it saw in Crosschq."""
        return self.event is not None and (self.event != "hire_in_crosschq"
                                           or "hired_field" not in self.off)


class Scenario:
    """Issue 4's story for one tenant; sizes: {group: count} (default: the full scenario).

    off: section-2 capabilities left OFF in the fake (the rest of STORY_CAPABILITIES are
    switched on); the expected effects follow. webhooks: deliver Crosschq's webhooks to
    refsync-hook before each run of play() (False: they are lost)."""

    def __init__(self, sizes=None, prospects=PROSPECTS, prospects_known=PROSPECTS_KNOWN,
                 seed=4, off=(), webhooks=True):
        sizes = dict(full_sizes() if sizes is None else sizes)
        unknown = set(off) - set(STORY_CAPABILITIES)
        if unknown:
            raise ValueError("not a capability of the story: %s" % sorted(unknown))
        self.off = frozenset(off)
        self.webhooks = webhooks
        self.delivered = []         # webhooks handed to refsync-hook before each phase
        self.b = b = TenantBuilder(seed=seed, base_ms=T0)
        self.owners = [b.add_user("Ana Souza", "ana.souza@example.com",
                                  access_role="super admin"),
                       b.add_user("Tomás Berg", "tomas.berg@example.com"),
                       b.add_user("Carla Mendes", "carla.mendes@example.com")]
        self.performer = self.owners[0]
        self.emailless = b.add_user("Robin Quill")
        b.lever["users"][-1]["email"] = ""
        self.email_of = {u["id"]: u["email"] for u in b.lever["users"]}
        # served by the harness's [template engineering] (survey software-engineer)
        self.posting = b.add_posting(JOB_POSITION, ["engineering"],
                                     self.owners[0], self.owners[1])
        self.hired_reason = b.reason_id(HIRED)
        self.candidates = []
        for group, count in sizes.items():
            for _ in range(count):
                self._candidate(group)
        self.prospects, self.known_prospects = [], {}
        known = [c for c in self.candidates if c.group == "still_open"][:prospects_known]
        if len(known) != prospects_known:
            raise ValueError("prospects_known needs as many still_open candidates")
        for index in range(prospects):
            if index < prospects_known:
                first, last = FIRST_NAMES[index], LAST_NAMES[index]
                address = known[index].email
            else:
                first, last = FIRST_NAMES[-1 - index % 5], "Prospect%d" % index
                address = "prospect.%d@example.net" % index
            p = b.add_prospect(first, last, address, ["engineering"], "Site Reliability Engineer",
                               T0 - 10 * DAY_MS)
            self.prospects.append(p)
            if index < prospects_known:
                self.known_prospects[p["id"]] = known[index].opp

    def _candidate(self, group):
        index = len(self.candidates)
        completes, event, owner_has_email = GROUPS[group]
        owner = self.owners[index % len(self.owners)] if owner_has_email else self.emailless
        name = "%s %s" % (FIRST_NAMES[index % len(FIRST_NAMES)],
                          LAST_NAMES[(index * 7) % len(LAST_NAMES)])
        opp = self.b.add_opportunity(
            name, "candidate.%d@example.org" % index, self.posting,
            [("New applicant", T0 - 20 * DAY_MS), ("Reference Check", ENTERED)], owner=owner,
            created=T0 - 30 * DAY_MS)
        self.candidates.append(Candidate(group, opp, self.email_of[owner], self.off))

    def learn(self, t):
        """After the first run: each candidate's request, from the creates the fake accepted
        (exactly one per candidate; anything else is a failure here)."""
        made = collections.defaultdict(list)
        for create in t.crosschq.state()["creates"]:
            made[create["body"]["candidate"]["email"]].append(create["request_id"])
        for c in self.candidates:
            if len(made.get(c.email, [])) != 1:
                raise AssertionError("%d Crosschq creates for %s (%s): %s" % (
                    len(made.get(c.email, [])), c.email, c.group, made.get(c.email)))
            c.request = made[c.email][0]

    @staticmethod
    def deliver(t):
        """Hand Crosschq's queued webhooks to refsync-hook; each must be taken (200)."""
        results = t.deliver_crosschq_webhooks()
        for item, result in results:
            if result.status != 200:
                raise AssertionError("refsync-hook refused Crosschq's webhook for %s: %r"
                                     % (item["request_id"], result))
        return len(results)

    # ---- who should get what, derived from the candidates' facts

    def where(self, predicate):
        return [c for c in self.candidates if predicate(c)]

    def completed(self):
        return self.where(lambda c: c.completes)

    def hired_in_lever(self):
        """Hired in Lever, told to Crosschq (needs the hire capability)."""
        if "hire" in self.off:
            return []
        return self.where(lambda c: c.event == "hire_in_lever")

    def hired_in_crosschq(self):
        """Hired in Crosschq, archived as hired in Lever (needs the hired_field capability)."""
        if "hired_field" in self.off:
            return []
        return self.where(lambda c: c.event == "hire_in_crosschq")

    def to_cancel(self):
        """Open requests whose candidate is archived as not hired (needs cancel)."""
        if "cancel" in self.off:
            return []
        return self.where(lambda c: not c.completes and c.event == "archive_not_hired")

    def exported_prospects(self):
        """The prospects exported into Lever (needs the prospects capability)."""
        return [] if "prospects" in self.off else self.prospects

    def crosschq_status(self, c):
        """The status word the fake must show in the end for c's request."""
        return "Cancelled" if c in self.to_cancel() else "Completed" if c.completes \
            else "Pending"

    def crosschq_hired(self, c):
        """The fake's hired field in the end for c's request."""
        return True if c.event == "hire_in_crosschq" or c in self.hired_in_lever() else None

    def prompt_eligible(self):
        """Completed requests whose candidate is neither hired nor archived, with an owner
        email."""
        return self.where(lambda c: c.completes and not c.hired and not c.archived
                          and c.owner_email)

    def unknown_prospects(self):
        return [p for p in self.exported_prospects() if p["id"] not in self.known_prospects]

    def expected_actions(self):
        """{outbox key prefix: count} of the whole story ("lever": the creates)."""
        return {"lever": len(self.candidates),
                "link": len(self.completed()), "note": len(self.completed()),
                "hired": len(self.hired_in_lever()),
                "archive-hired": len(self.hired_in_crosschq()),
                "cancel": len(self.to_cancel()), "prompt": len(self.prompt_eligible()),
                "prospect": len(self.exported_prospects()),
                "prospect-link": len(self.exported_prospects())}

    # ---- the tenant and the story

    def tenant(self, conf=None):
        t = harness.Tenant(self.b, now_ms=T0)
        t.__enter__()
        try:
            t.write_conf({"sync": {"trigger_since": iso(TRIGGER_SINCE)},
                          "lever": {"perform_as": self.performer, "requests_per_second": 1000},
                          "crosschq": {"requests_per_second": 1000},
                          "followup": {"after_days": AFTER_DAYS},
                          "prospects": {"export_existing": "yes" if self.prospects else "no"}})
            if conf:
                t.write_conf(conf)
            t.crosschq.capabilities(**{name: name not in self.off
                                       for name in STORY_CAPABILITIES})
            if not self.webhooks:
                # the admin's webhook is set, but every delivery is lost on the way
                t.crosschq.webhook_config(auth="token",
                                          secret=t.secrets["crosschq-webhook.secret"],
                                          deliver=False)
            self.enter(t, T0)
        except BaseException:
            t.__exit__(None, None, None)
            raise
        return t

    @staticmethod
    def enter(t, at):
        """Move refsync's clock and both fakes' clocks to `at`."""
        t.now_ms = at
        t.lever.clock(at)
        t.crosschq.clock(at)

    def apply_events(self, t):
        """T1: requests complete; hires in Lever and in Crosschq; archives as not hired."""
        cq_ops = [{"op": "complete", "id": c.request, "at": T1} for c in self.completed()]
        cq_ops += [{"op": "hire", "id": c.request, "at": T1}
                   for c in self.where(lambda c: c.event == "hire_in_crosschq")]
        lever_ops = []
        for index, c in enumerate(self.candidates):
            if c.event == "hire_in_lever":
                lever_ops.append({"op": "archive", "id": c.opp, "reason": HIRED, "at": T1})
            elif c.event == "archive_not_hired":
                lever_ops.append({"op": "archive", "id": c.opp, "at": T1,
                                  "reason": NOT_HIRED_REASONS[index % len(NOT_HIRED_REASONS)]})
        if cq_ops:
            t.crosschq.mutate(cq_ops)
        if lever_ops:
            t.lever.mutate(lever_ops)

    def phases(self):
        """[(name, time, events or None, actions expected in the phase)]."""
        exp = self.expected_actions()
        return [("first run", T0, None, exp["lever"] + exp["prospect"] + exp["prospect-link"]),
                ("events", T1, self.apply_events,
                 exp["link"] + exp["note"] + exp["hired"] + exp["archive-hired"]
                 + exp["cancel"]),
                ("%d days later" % DAYS_PASSING, T2, None, exp["prompt"])]

    def play(self, t, run_phase):
        """Every phase: move the clocks, apply its events, deliver Crosschq's webhooks (unless
        lost), then run_phase(index, phase); after the first, learn the requests."""
        for index, phase in enumerate(self.phases()):
            name, at, events, _ = phase
            self.enter(t, at)
            if events:
                events(t)
            if self.webhooks:
                self.delivered.append(self.deliver(t))
            run_phase(index, phase)
            if index == 0:
                self.learn(t)


# ---------------------------------------------------------------- mails

def prompt_mails(t):
    """[(envelope, message, answer link, request id from the link)] of the sink's mails."""
    answer_url = t.conf["followup"]["answer_url"]
    pattern = re.compile(re.escape(answer_url) + r"\?[^\s<>\"]+")
    out = []
    for envelope, message in zip(t.mail_envelopes(), t.mails()):
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        links = sorted(set(pattern.findall(text)))
        if len(links) != 1:
            raise AssertionError("a prompt with %d answer links: %r" % (len(links), text[:2000]))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(links[0]).query)
        out.append((envelope, message, links[0], query.get("r", [None])[0]))
    return out


def address_of(header_value):
    match = re.search(r"<([^<>]+)>\s*$", header_value or "")
    return match.group(1) if match else (header_value or "").strip()


# ---------------------------------------------------------------- the base of the tests

class WritebackCase(unittest.TestCase):
    """Helpers shared with test_chaos.py (no tests here)."""

    maxDiff = 8000

    def run_ok(self, t, *args, expect=EX_OK, env=None):
        result = t.run(*(args or ("run",)), env=env)
        self.assertEqual(result.returncode, expect, output_of(result))
        return result

    def outbox(self, t):
        db = t.db()
        try:
            return [dict(r) for r in db.execute(
                "SELECT id, key, kind, state, result, last_error FROM outbox ORDER BY id")]
        finally:
            db.close()

    def create_links(self, t):
        """{outbox key: (the outbox's result, the request linked in cq_requests)} of every
        Crosschq create."""
        db = t.db()
        try:
            return {r[0]: (r[1], r[2]) for r in db.execute(
                "SELECT o.key, o.result, (SELECT group_concat(q.id) FROM cq_requests q "
                "WHERE q.external_id = o.key) FROM outbox o "
                "WHERE o.kind = 'cq.create_request' ORDER BY o.id")}
        finally:
            db.close()

    def snapshot(self, t):
        """What a quiet run must not change: outbox rows, write requests, mails."""
        return {"outbox": len(self.outbox(t)), "lever writes": len(writes(t.lever.log())),
                "crosschq writes": len(writes(t.crosschq.log())),
                "mails": len(t.mail_envelopes())}

    def assertCounts(self, got, want, what):
        """Two Counters are equal; a failure lists only what differs."""
        got, want = collections.Counter(got), collections.Counter(want)
        if got != want:
            more = {k: "%d, not %d" % (got[k], want[k]) for k in got if got[k] > want[k]}
            fewer = {k: "%d, not %d" % (got[k], want[k]) for k in want if got[k] < want[k]}
            self.fail("%s: %d in all, not %d; too many: %s; too few: %s"
                      % (what, sum(got.values()), sum(want.values()), more, fewer))

    def assertSound(self, t):
        """The database passes its integrity check and the audit chain verifies."""
        db = t.db()
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            db.close()
        verify = t.run_export("--verify")
        self.assertEqual(verify.returncode, 0, output_of(verify))

    def assertEffects(self, s, t, mail_in_doubt=None, **context):
        """Every effect of the story happened exactly once, in both fakes and the sink.

        mail_in_doubt: {request id: n}, prompts that a kill left in doubt n times; each may
        arrive up to 1 + n times (same Message-ID). Every other prompt arrives exactly once.
        Each kind of effect is checked in a subtest of its own (context: its parameters), so
        that one wrong count does not hide the others.
        """
        mail_in_doubt = mail_in_doubt or {}
        lever, cq = t.lever.state(), t.crosschq.state()
        lever_log, cq_log = t.lever.log(), t.crosschq.log()
        opps = {o["id"]: o for o in lever["opportunities"]}
        requests = {r["id"]: r for r in cq["requests"]}
        completed = s.completed()
        link_posts = [e for e in lever_log if e["method"] == "POST"
                      and e["path"].endswith("/addLinks") and is_2xx(e)]
        note_posts = [e for e in lever_log if e["method"] == "POST"
                      and e["path"].endswith("/notes") and is_2xx(e)]
        request_patches = [e for e in cq_log if e["method"] == "PATCH"
                           and e["path"].startswith(REQUESTS_PATH) and is_2xx(e)]
        request_posts = [e for e in cq_log if e["method"] == "POST"
                         and e["path"] == REQUESTS_PATH and is_2xx(e)]
        archives = [e for e in lever_log if e["method"] == "PUT"
                    and e["path"].endswith("/archived") and is_2xx(e)]
        cancels = [e for e in cq_log if e["method"] == "POST" and e["path"].endswith("/cancel/")
                   and is_2xx(e)]
        creates = [e for e in lever_log if e["method"] == "POST"
                   and e["path"] == "/v1/opportunities" and is_2xx(e)]
        prospect_patches = [e for e in cq_log if e["method"] == "PATCH"
                            and e["path"].startswith(PROSPECTS_PATH) and is_2xx(e)]

        with self.subTest("one Crosschq request per candidate", **context):
            # Crosschq does not de-duplicate creates: every accepted one is a request; each
            # candidate's must be exactly one, linked to its outbox key (the outbox's result
            # and cq_requests.external_id)
            self.assertCounts((c["body"]["candidate"]["email"] for c in cq["creates"]),
                              {c.email: 1 for c in s.candidates}, "accepted creates")
            made = {c["body"]["candidate"]["email"]: c["request_id"] for c in cq["creates"]}
            self.assertEqual(self.create_links(t), {c.key: (made.get(c.email),) * 2
                                                    for c in s.candidates})
            for create in cq["creates"]:
                body = create["body"]
                self.assertEqual((body["jobrole"], body["job_position"], body["config_params"]),
                                 ("software-engineer", JOB_POSITION,
                                  {"managers": 1, "employees": 0, "peers": 1, "business": 0,
                                   "social": 0}))

        with self.subTest("report links", **context):
            # one addLinks per completed request; the link on the candidate once
            self.assertCounts(
                ((e["path"].split("/")[3], tuple((e["body"] or {}).get("links") or ()))
                 for e in link_posts),
                {(c.opp, (c.report_url,)): 1 for c in completed}, "POST .../addLinks")
            for c in s.candidates:
                self.assertEqual(opps[c.opp]["links"].count(c.report_url),
                                 1 if c.completes else 0, "links of %s (%s)" % (c.opp, c.group))

        with self.subTest("notes", **context):
            # exactly one per completed request, on its opportunity, with the report link
            self.assertCounts((e["path"].split("/")[3] for e in note_posts),
                              {c.opp: 1 for c in completed}, "POST .../notes")
            for c in s.candidates:
                notes = lever["notes"].get(c.opp, [])
                self.assertEqual(len(notes), 1 if c.completes else 0, "notes on %s (%s): %s"
                                 % (c.opp, c.group, json.dumps(notes)[:1500]))
                if c.completes:
                    values = " ".join(f["value"] for f in notes[0]["fields"])
                    self.assertIn(c.report_url, values)
                    self.assertIs(notes[0]["notifyFollowers"], True)

        with self.subTest("hired in Lever -> Crosschq", **context):
            # PATCH {"hired": true} (the hire capability)
            self.assertCounts(
                ((e["path"], json.dumps(e["body"], sort_keys=True)) for e in request_patches),
                {(request_path(c.request), json.dumps({"hired": True})): 1
                 for c in s.hired_in_lever()},
                "PATCH /partners/reference-request/<id>/")
            for c in s.candidates:
                self.assertEqual(requests[c.request]["hired"], s.crosschq_hired(c), c.group)
            # refsync's own record: source ats, at the time of the archive
            db = t.db()
            try:
                hires = {r[0]: tuple(r[1:]) for r in db.execute(
                    "SELECT id, hired, hired_source, hired_at FROM cq_requests WHERE hired = 1")}
            finally:
                db.close()
            self.assertEqual({k: v for k, v in hires.items() if v[1] == "ats"},
                             {c.request: (1, "ats", T1) for c in s.hired_in_lever()})

        with self.subTest("hired in Crosschq -> Lever", **context):
            # PUT archived with the hired reason
            self.assertCounts(((e["path"], (e["body"] or {}).get("reason")) for e in archives),
                              {("/v1/opportunities/%s/archived" % c.opp, s.hired_reason): 1
                               for c in s.hired_in_crosschq()}, "PUT .../archived")
            for c in s.hired_in_crosschq():
                self.assertEqual(opps[c.opp]["archived"]["reason"], s.hired_reason)

        with self.subTest("cancel on archive", **context):
            self.assertCounts((e["path"] for e in cancels),
                              {request_path(c.request, "cancel/"): 1
                               for c in s.to_cancel()}, "POST .../cancel/")
            for c in s.candidates:
                self.assertEqual(requests[c.request]["status"], s.crosschq_status(c), c.group)

        with self.subTest("prompts", **context):
            # one per eligible request, to the owner, with a Message-ID of its own
            eligible = {c.request: c for c in s.prompt_eligible()}
            per_request = collections.defaultdict(list)
            for envelope, message, _, request_id in prompt_mails(t):
                per_request[request_id].append((envelope, message))
            self.assertEqual(sorted(per_request), sorted(eligible), "requests with a prompt")
            ids_of = {}
            for request_id, copies in per_request.items():
                allowed = 1 + mail_in_doubt.get(request_id, 0)
                self.assertTrue(1 <= len(copies) <= allowed,
                                "%d prompts for request %s (in doubt %d times)"
                                % (len(copies), request_id, mail_in_doubt.get(request_id, 0)))
                owner = eligible[request_id].owner_email
                for envelope, message in copies:
                    self.assertEqual(envelope["rcpt_tos"], [owner])
                    self.assertEqual(address_of(str(message["To"])), owner)
                message_ids = {str(m["Message-ID"]).strip() for _, m in copies}
                self.assertEqual(len(message_ids), 1, "one Message-ID per request: %s"
                                 % message_ids)
                ids_of[request_id] = message_ids.pop()
            self.assertEqual(len(set(ids_of.values())), len(ids_of), "unique Message-IDs")

        with self.subTest("prospects", **context):
            # unknown ones created, known ones linked; one PATCH per prospect
            self.assertCounts((tuple(e["body"]["emails"]) for e in creates),
                              {(p["email"],): 1 for p in s.unknown_prospects()},
                              "POST /v1/opportunities")
            created_id = {}
            for p in s.unknown_prospects():
                found = [o["id"] for o in lever["opportunities"] if p["email"] in o["emails"]]
                self.assertEqual(len(found), 1, "Lever opportunities with %s" % p["email"])
                created_id[p["id"]] = found[0]
            expected_link = dict(s.known_prospects, **created_id)
            if "prospects" in s.off:
                expected_link = {}
            self.assertCounts(((e["path"], e["body"]["ats_id"]) for e in prospect_patches),
                              {("%s%s/" % (PROSPECTS_PATH, pid), ats): 1
                               for pid, ats in expected_link.items()},
                              "PATCH /partners/prospects/<id>/")
            for p in cq["prospects"]:
                self.assertEqual(p["ats_id"], expected_link.get(p["id"]))

        with self.subTest("nothing else written", **context):
            self.assertEqual(len([e for e in writes(lever_log) if is_2xx(e)]),
                             len(link_posts) + len(note_posts) + len(archives) + len(creates),
                             "Lever writes")
            self.assertEqual(len([e for e in writes(cq_log) if is_2xx(e)]),
                             len(request_posts) + len(request_patches) + len(cancels)
                             + len(prospect_patches), "Crosschq writes")
            self.assertEqual(len(request_posts), len(cq["creates"]), "creates answered")

        with self.subTest("outbox", **context):
            # every action done, one row per effect
            rows = self.outbox(t)
            self.assertEqual([r for r in rows if r["state"] != "done"], [])
            counted = collections.Counter(r["key"].split(":", 1)[0] for r in rows)
            want = {k: v for k, v in s.expected_actions().items() if v}
            self.assertEqual(dict(counted), want, "outbox rows by key")


class FullScenarioTest(WritebackCase):

    def test_full_scenario_every_effect_exactly_once(self):
        s = Scenario()
        exp = s.expected_actions()
        # the derivations, stated: what the sentence implies at this scale
        self.assertEqual(exp["prompt"], REQUESTS_COMPLETED - HIRED_IN_LEVER - HIRED_IN_CROSSCHQ
                         - COMPLETED_THEN_ARCHIVED - OWNER_WITHOUT_EMAIL)
        self.assertEqual((exp["link"], exp["note"], exp["hired"], exp["archive-hired"],
                          exp["cancel"], len(s.unknown_prospects()), len(s.known_prospects)),
                         (REQUESTS_COMPLETED, REQUESTS_COMPLETED, HIRED_IN_LEVER,
                          HIRED_IN_CROSSCHQ, ARCHIVED_NOT_HIRED, PROSPECTS - PROSPECTS_KNOWN,
                          PROSPECTS_KNOWN))
        t = s.tenant()
        try:
            def run_phase(index, phase):
                self.run_ok(t)
                if index == 1:
                    self.assertEqual(t.mail_envelopes(), [], "a prompt before 14 days")
            s.play(t, run_phase)
            # the fast path: Crosschq's webhooks carried every change of a request (creates
            # and completions and hires at T1; cancels and hires told to Crosschq at T2)
            self.assertEqual(s.delivered, [
                0, len(s.candidates) + len(s.completed()) + len(s.hired_in_crosschq()),
                len(s.to_cancel()) + len(s.hired_in_lever())])
            self.assertEffects(s, t)
            self.assertSound(t)
        finally:
            t.__exit__(None, None, None)


class LoopTest(WritebackCase):

    def test_second_and_third_run_plan_nothing_new(self):
        s = Scenario()
        t = s.tenant()
        try:
            def run_phase(index, phase):
                name, at, _, _ = phase
                self.run_ok(t)
                for extra in (1, 2):
                    # refsync's own archives, links, hires and cancels come back in this pull
                    before = self.snapshot(t)
                    mark = len(t.lever.log())
                    s.enter(t, at + extra * MINUTE_MS)
                    self.run_ok(t)
                    self.assertEqual(self.snapshot(t), before,
                                     "run %d after the %s phase" % (extra + 1, name))
                    windows = [e["query"] for e in t.lever.log()[mark:]
                               if e["method"] == "GET" and e["path"] == "/v1/opportunities"
                               and "updated_at_start" in e["query"]]
                    self.assertTrue(any(int(q["updated_at_start"][0]) <= at
                                        <= int(q["updated_at_end"][0]) for q in windows),
                                    "the pull did not cover refsync's own changes: %s"
                                    % windows)
            s.play(t, run_phase)
            self.assertEffects(s, t)
        finally:
            t.__exit__(None, None, None)


class OwnerAnswerTest(WritebackCase):

    def hook(self, t, method, query, form=None):
        env = {"REQUEST_METHOD": method, "PATH_INFO": "/answer", "QUERY_STRING": query}
        body = b""
        if form is not None:
            env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(form).encode("ascii")
        result = t.run_hook(env=env, body=body)
        return result, result.body.decode("utf-8", "replace")

    def spooled(self, t):
        found = []
        for sub in ("tmp", "new", "cur"):
            directory = t.path("spool", sub)
            if os.path.isdir(directory):
                found += [os.path.join(sub, n) for n in sorted(os.listdir(directory))]
        return found

    def answers(self, t):
        db = t.db()
        try:
            return [tuple(r) for r in db.execute(
                "SELECT request_id, hired, answered_at FROM answers ORDER BY request_id")]
        finally:
            db.close()

    def test_owner_answers_hired_through_the_link(self):
        s = Scenario({"prompted": 2}, prospects=0, prospects_known=0, seed=41)
        answered, other = s.candidates
        t = s.tenant()
        try:
            s.play(t, lambda index, phase: self.run_ok(t))
            mails = prompt_mails(t)
            self.assertEqual(sorted(m[3] for m in mails), sorted([answered.request,
                                                                  other.request]))
            _, message, link, _ = next(m for m in mails if m[3] == answered.request)
            self.assertEqual(address_of(str(message["To"])), answered.owner_email)
            query = urllib.parse.urlsplit(link).query
            params = urllib.parse.parse_qs(query)

            # a GET (a mail scanner, the owner opening the page) changes nothing
            t.now_ms = T2 + HOUR_MS
            before = self.snapshot(t)
            for _ in range(2):
                result, page = self.hook(t, "GET", query)
                self.assertEqual(result.status, 200, result)
                self.assertIn('value="hired"', page)
                self.assertIn('value="not_hired"', page)
            self.assertEqual(self.spooled(t), [])
            self.assertEqual(self.answers(t), [])
            self.assertEqual(self.snapshot(t), before)

            # the POST records the answer
            answered_at = T2 + 2 * HOUR_MS
            t.now_ms = answered_at
            form = {"r": params["r"][0], "e": params["e"][0], "s": params["s"][0],
                    "answer": "hired"}
            result, page = self.hook(t, "POST", query, form)
            self.assertEqual(result.status, 200, result)
            self.assertIn("recorded", page.lower())
            self.assertIn("hired", page.lower())
            self.assertNotIn("not hired", page.lower())
            self.assertNotIn("already answered", page.lower())
            self.assertEqual(len(self.spooled(t)), 1)
            self.assertEqual(self.snapshot(t), before, "the hook itself sends nothing")

            # the next run: Crosschq PATCHed (the hire capability), Lever archived as hired
            s.enter(t, T2 + 3 * HOUR_MS)
            lever_mark, cq_mark = len(t.lever.log()), len(t.crosschq.log())
            self.run_ok(t)
            self.assertEqual(self.answers(t), [(answered.request, 1, answered_at)])
            cq_writes = [(e["method"], e["path"], e["body"], e["status"])
                         for e in writes(t.crosschq.log()[cq_mark:])]
            self.assertEqual(cq_writes, [("PATCH", request_path(answered.request),
                                          {"hired": True}, 200)])
            lever_writes = [(e["method"], e["path"], (e["body"] or {}).get("reason"),
                             e["status"]) for e in writes(t.lever.log()[lever_mark:])]
            self.assertEqual(lever_writes, [("PUT", "/v1/opportunities/%s/archived"
                                             % answered.opp, s.hired_reason, 200)])
            request = next(r for r in t.crosschq.state()["requests"]
                           if r["id"] == answered.request)
            self.assertIs(request["hired"], True)
            db = t.db()
            try:
                self.assertEqual(tuple(db.execute("SELECT hired, hired_source FROM cq_requests "
                                                  "WHERE id = ?", (answered.request,)).fetchone()),
                                 (1, "owner_answer"))
            finally:
                db.close()
            opp = next(o for o in t.lever.state()["opportunities"] if o["id"] == answered.opp)
            self.assertEqual(opp["archived"]["reason"], s.hired_reason)

            # a second answer: "already answered", and nothing more is sent
            before = self.snapshot(t)
            for answer in ("not_hired", "hired"):
                result, page = self.hook(t, "POST", query, dict(form, answer=answer))
                self.assertEqual(result.status, 200, result)
                self.assertIn("already answered", page.lower())
            self.assertEqual(self.answers(t), [(answered.request, 1, answered_at)])
            for minutes in (1, 2):
                s.enter(t, T2 + 3 * HOUR_MS + minutes * MINUTE_MS)
                self.run_ok(t)
            self.assertEqual(self.snapshot(t), before)
            self.assertEqual(len(t.mail_envelopes()), 2)
        finally:
            t.__exit__(None, None, None)


class CancelTest(WritebackCase):

    def test_cancel_on_archive_no_cancels_nothing(self):
        s = Scenario({"archived_not_hired": 3, "still_open": 1}, prospects=0,
                     prospects_known=0, seed=42)
        t = s.tenant({"sync": {"cancel_on_archive": "no"}})
        try:
            s.play(t, lambda index, phase: self.run_ok(t))
            for minutes in (1, 2):
                s.enter(t, T2 + minutes * MINUTE_MS)
                self.run_ok(t)
            # the cancel capability is on: the config alone keeps the requests open
            self.assertEqual(t.crosschq.capabilities()["cancel"], True)
            self.assertEqual([(e["method"], e["path"], e["status"])
                              for e in writes(t.crosschq.log())],
                             [("POST", REQUESTS_PATH, 201)] * 4, "only the four creates")
            self.assertEqual(writes(t.lever.log()), [])
            self.assertEqual([r for r in self.outbox(t) if r["key"].startswith("cancel:")], [])
            self.assertEqual(sorted(r["status"] for r in t.crosschq.state()["requests"]),
                             ["Pending"] * 4)
            self.assertEqual(t.mail_envelopes(), [])
        finally:
            t.__exit__(None, None, None)

    def test_cancel_refused_because_completed_meanwhile_is_done(self):
        s = Scenario({"archived_not_hired": 1}, prospects=0, prospects_known=0, seed=43)
        [c] = s.candidates
        t = s.tenant()
        try:
            self.run_ok(t)
            s.learn(t)
            s.enter(t, T1)
            s.apply_events(t)
            # the cancel is decided, then the run dies before sending it ...
            self.run_ok(t, expect=SIGKILLED, env={"REFSYNC_TEST_CRASH_AT": "after-decide"})
            self.assertEqual([(r["key"], r["state"]) for r in self.outbox(t)
                              if r["state"] != "done"],
                             [("cancel:%s" % c.request, "planned")])
            # ... and the references finish before the next run, whose webhook is lost (and
            # the request was read at T1: not due again within poll_open_minutes)
            s.enter(t, T1 + MINUTE_MS)
            t.crosschq.mutate([{"op": "complete", "id": c.request, "at": T1 + MINUTE_MS}])
            self.assertEqual([w["request_id"] for w in t.crosschq.pending_webhooks()],
                             [c.request, c.request])
            mark = len(t.crosschq.log())
            self.run_ok(t)
            # Crosschq refuses to cancel a completed request; refsync reads it and is done
            cancels = [(e["path"], e["status"], json.dumps(e["body"])) for e in t.crosschq.log()
                       if e["method"] == "POST" and e["path"].endswith("/cancel/")]
            self.assertEqual(cancels, [(request_path(c.request, "cancel/"), 400, "{}")])
            self.assertEqual([(e["method"], e["path"], e["status"])
                              for e in t.crosschq.log()[mark:]],
                             [("POST", request_path(c.request, "cancel/"), 400),
                              ("GET", request_path(c.request), 200)])
            row = next(r for r in self.outbox(t) if r["key"] == "cancel:%s" % c.request)
            self.assertEqual(row["state"], "done", row)
            status = json.loads(self.run_ok(t, "status", "--json").stdout)
            self.assertEqual(status["failed"], [])
            self.run_ok(t)
            self.assertEqual(len([e for e in t.crosschq.log() if e["method"] == "POST"
                                  and e["path"].endswith("/cancel/")]), 1)
            self.assertEqual(next(r for r in t.crosschq.state()["requests"]
                                  if r["id"] == c.request)["status"], "Completed")
            # the link and the note of the completed report follow
            self.assertEqual(sorted(r["key"] for r in self.outbox(t)),
                             sorted([c.key, "cancel:" + c.request, "link:" + c.request,
                                     "note:" + c.request]))
        finally:
            t.__exit__(None, None, None)


class InDoubtTest(WritebackCase):

    def test_note_in_doubt_is_found_by_listing_not_posted_again(self):
        s = Scenario({"prompted": 2}, prospects=0, prospects_known=0, seed=44)
        first, second = s.candidates
        notes_path = "/v1/opportunities/%s/notes" % first.opp
        t = s.tenant()

        def note_posts():
            return [(e["status"], e["fault"]) for e in t.lever.log()
                    if e["method"] == "POST" and e["path"] == notes_path]
        try:
            self.run_ok(t)
            s.learn(t)
            s.enter(t, T1)
            s.apply_events(t)
            s.deliver(t)
            # the note POST is carried out, but the connection is reset before the answer (the
            # look-up before it, a GET of the notes, is answered)
            t.lever.faults({"rate_reset": 1.0, "reset_phase": "after",
                            "only_paths": [notes_path], "only_methods": ["POST"]})
            self.run_ok(t, expect=EX_TEMPFAIL)
            row = next(r for r in self.outbox(t) if r["key"] == "note:%s" % first.request)
            self.assertEqual(row["state"], "sending", row)
            self.assertIn("in doubt", self.run_ok(t, "status").stdout)
            # subtests from here on, so that a duplicate does not hide how the lookup went
            with self.subTest("one POST of the note in the run that lost the answer"):
                self.assertEqual(note_posts(), [(0, "reset")])
                self.assertEqual(len(t.lever.state()["notes"].get(first.opp, [])), 1)
            posts_before = note_posts()
            t.lever.faults({})
            s.enter(t, T1 + MINUTE_MS)
            self.run_ok(t)
            notes = t.lever.state()["notes"]
            with self.subTest("the next run lists the notes and posts nothing"):
                self.assertEqual(note_posts(), posts_before)
                # one listing before the POST that lost its answer, one by the in-doubt look-up
                listed = [e for e in t.lever.log()
                          if e["method"] == "GET" and e["path"] == notes_path]
                self.assertEqual([e["status"] for e in listed], [200, 200])
                row = next(r for r in self.outbox(t) if r["key"] == "note:%s" % first.request)
                self.assertEqual(row["state"], "done", row)
                self.assertIn(row["result"], [n["id"] for n in notes[first.opp]])
                self.assertNotIn("in doubt", self.run_ok(t, "status").stdout)
            with self.subTest("exactly one note on each opportunity"):
                self.assertEqual(len(notes.get(first.opp, [])), 1, json.dumps(notes)[:2000])
                self.assertEqual(len(notes.get(second.opp, [])), 1)
        finally:
            t.__exit__(None, None, None)

    def test_prompt_in_doubt_is_sent_again_with_the_same_message_id(self):
        s = Scenario({"prompted": 2}, prospects=0, prospects_known=0, seed=45)
        t = s.tenant()
        try:
            for at, events in ((T0, None), (T1, s.apply_events)):
                s.enter(t, at)
                if events:
                    events(t)
                s.deliver(t)
                self.run_ok(t)
                if at == T0:
                    s.learn(t)
            s.enter(t, T2)
            self.run_ok(t, expect=SIGKILLED, env={"REFSYNC_TEST_CRASH_AT": "after-send"})
            in_doubt = [r["key"] for r in self.outbox(t) if r["state"] == "sending"]
            self.assertEqual(len(in_doubt), 1, in_doubt)
            self.assertTrue(in_doubt[0].startswith("prompt:"), in_doubt)
            doubtful = in_doubt[0].split(":", 1)[1]
            self.assertEqual([m[3] for m in prompt_mails(t)], [doubtful])
            self.run_ok(t)
            mails = prompt_mails(t)
            self.assertEqual(sorted(m[3] for m in mails),
                             sorted([doubtful] + [c.request for c in s.candidates]))
            ids = collections.Counter((m[3], str(m[1]["Message-ID"]).strip()) for m in mails)
            self.assertEqual(sorted(ids.values()), [1, 2])
            self.assertEqual([k[0] for k, n in ids.items() if n == 2], [doubtful])
            self.assertEqual(len({k[1] for k in ids}), 2)
            self.assertEffects(s, t, mail_in_doubt={doubtful: 1})
        finally:
            t.__exit__(None, None, None)

    def test_create_killed_after_its_answer_is_adopted_not_sent_again(self):
        # Crosschq answered the create and refsync recorded the request, then the run died
        # before the outbox row was marked done: the request is refsync's own record of it
        # (and Crosschq's webhook tells the same); the next run adopts it, never a second POST
        s = Scenario({"still_open": 2}, prospects=0, prospects_known=0, seed=48)
        t = s.tenant()
        try:
            self.run_ok(t, expect=SIGKILLED, env={"REFSYNC_TEST_CRASH_AT": "after-send:1"})
            [first] = t.crosschq.state()["creates"]
            [row] = [r for r in self.outbox(t) if r["state"] == "sending"]
            self.assertEqual(row["kind"], "cq.create_request")
            s.deliver(t)
            self.run_ok(t)
            s.learn(t)
            links = self.create_links(t)
            self.assertEqual(links[row["key"]], (first["request_id"], first["request_id"]))
            self.assertEqual(links, {c.key: (c.request, c.request) for c in s.candidates})
            self.assertEqual(len([e for e in t.crosschq.log() if e["method"] == "POST"]), 2)
            status = json.loads(self.run_ok(t, "status", "--json").stdout)
            self.assertEqual(status["in_doubt"], [])
        finally:
            t.__exit__(None, None, None)

    def test_create_with_lost_answer_waits_for_evidence_then_is_adopted(self):
        # the answer of the first create is lost after Crosschq made the request: in doubt,
        # never sent again by itself; Crosschq's webhook for the new request is the evidence
        s = Scenario({"still_open": 2}, prospects=0, prospects_known=0, seed=49)
        t = s.tenant()
        try:
            t.crosschq.lose_create(1)
            self.run_ok(t, expect=EX_TEMPFAIL)
            [first] = t.crosschq.state()["creates"]
            [row] = [r for r in self.outbox(t) if r["state"] == "sending"]
            posts = [(e["path"], e["status"], e["fault"]) for e in t.crosschq.log()
                     if e["method"] == "POST"]
            self.assertEqual(posts, [(REQUESTS_PATH, 0, "lose_create")])
            # without evidence: it stays in doubt (exit 1), shown with what to check
            s.enter(t, T0 + MINUTE_MS)
            mark = len(t.crosschq.log())
            result = self.run_ok(t, expect=1)
            self.assertIn("refsync resolve %s --sent REQUEST_ID" % row["key"],
                          self.run_ok(t, "status").stdout)
            self.assertEqual([e["body"]["candidate"]["email"] for e in t.crosschq.log()[mark:]
                              if e["method"] == "POST" and e["path"] == REQUESTS_PATH],
                             [c.email for c in s.candidates
                              if c.email != first["body"]["candidate"]["email"]],
                             output_of(result))
            # the webhook of the request Crosschq made: adopted, the other create sent once
            s.enter(t, T0 + 2 * MINUTE_MS)
            s.deliver(t)
            self.run_ok(t)
            s.learn(t)
            links = self.create_links(t)
            self.assertEqual(links[row["key"]], (first["request_id"], first["request_id"]))
            self.assertEqual(links, {c.key: (c.request, c.request) for c in s.candidates})
            self.assertEqual(len(t.crosschq.state()["creates"]), 2)
            status = json.loads(self.run_ok(t, "status", "--json").stdout)
            self.assertEqual(status["in_doubt"], [])
        finally:
            t.__exit__(None, None, None)

    def test_creates_in_doubt_settled_by_resolve_as_status_says(self):
        # no evidence (the webhooks are lost): the operator looks in Crosschq and runs the
        # command exactly as `refsync status` prints it; --sent adopts the request that
        # Crosschq made, --not-sent lets the next run send the create (once)
        s = Scenario({"still_open": 2}, prospects=0, prospects_known=0, seed=50,
                     webhooks=False)
        made_one, never_sent = s.candidates
        t = s.tenant()
        try:
            # the first create: made in Crosschq, its answer lost
            t.crosschq.lose_create(1)
            self.run_ok(t, expect=EX_TEMPFAIL)
            [first] = t.crosschq.state()["creates"]
            # the second: killed after "sending" was recorded, before its POST
            self.run_ok(t, expect=SIGKILLED, env={"REFSYNC_TEST_CRASH_AT": "before-send:1"})
            self.assertEqual(len(t.crosschq.state()["creates"]), 1)
            doubtful = {r["key"]: r for r in self.outbox(t) if r["state"] == "sending"}
            self.assertEqual(len(doubtful), 2, doubtful)
            text = self.run_ok(t, "status").stdout
            commands = dict(re.findall(r"refsync resolve (\S+) (--sent REQUEST_ID)", text))
            self.assertEqual(set(commands), set(doubtful), text)
            by_email = {c.email: c.key for c in s.candidates}
            sent_key = by_email[first["body"]["candidate"]["email"]]
            other_key = next(k for k in doubtful if k != sent_key)
            mark = len(t.crosschq.log())
            result = t.run("resolve", sent_key, "--sent", first["request_id"])
            self.assertEqual(result.returncode, EX_OK, output_of(result))
            result = t.run("resolve", other_key, "--not-sent")
            self.assertEqual(result.returncode, EX_OK, output_of(result))
            self.assertEqual([(e["method"], e["path"]) for e in t.crosschq.log()[mark:]],
                             [("GET", request_path(first["request_id"]))])
            s.enter(t, T0 + MINUTE_MS)
            self.run_ok(t)
            s.learn(t)
            self.assertEqual(self.create_links(t),
                             {c.key: (c.request, c.request) for c in s.candidates})
            self.assertEqual(made_one.request if made_one.key == sent_key
                             else never_sent.request, first["request_id"])
            self.assertEqual(len(t.crosschq.state()["creates"]), 2)
            self.assertEqual(json.loads(self.run_ok(t, "status", "--json").stdout)["in_doubt"],
                             [])
        finally:
            t.__exit__(None, None, None)

    def test_in_doubt_state_changes_are_looked_up_not_sent_again(self):
        # design.md, "State": a row left in sending is resolved by looking at the remote
        # state "before anything is sent again. Nothing is ever sent twice." One action per
        # step, killed right after its call returned (after-send), then rerun.
        s = Scenario({"hired_in_crosschq": 1, "hired_in_lever": 1, "archived_not_hired": 1,
                      "still_open": 1}, prospects=1, prospects_known=0, seed=46)
        by_group = {c.group: c for c in s.candidates}
        t = s.tenant({"prospects": {"export_existing": "no"}})
        try:
            self.run_ok(t)
            s.learn(t)
            steps = [
                ("hired in Crosschq -> PUT archived", "lever", "PUT",
                 "/v1/opportunities/%s/archived" % by_group["hired_in_crosschq"].opp,
                 [{"op": "hire", "id": by_group["hired_in_crosschq"].request}], [], None,
                 "after-send"),
                ("hired in Lever -> PATCH hired", "crosschq", "PATCH",
                 request_path(by_group["hired_in_lever"].request), [],
                 [{"op": "archive", "id": by_group["hired_in_lever"].opp, "reason": HIRED}],
                 None, "after-send"),
                ("archived -> POST cancel", "crosschq", "POST",
                 request_path(by_group["archived_not_hired"].request, "cancel/"), [],
                 [{"op": "archive", "id": by_group["archived_not_hired"].opp,
                   "reason": "Withdrew"}], None, "after-send"),
                # round 1 sends the export, round 2 the Lever id onto the prospect
                ("prospect -> PATCH ats_id", "crosschq", "PATCH",
                 "%s%s/" % (PROSPECTS_PATH, s.prospects[0]["id"]), [], [],
                 {"prospects": {"export_existing": "yes"}}, "after-send:2"),
            ]
            for number, (what, fake, method, path, cq_ops, lever_ops, conf, point) in \
                    enumerate(steps):
                with self.subTest(what):
                    s.enter(t, T1 + number * HOUR_MS)
                    if conf:
                        t.write_conf(conf)
                    if cq_ops:
                        t.crosschq.mutate(cq_ops)
                    if lever_ops:
                        t.lever.mutate(lever_ops)
                    s.deliver(t)
                    self.run_ok(t, expect=SIGKILLED, env={"REFSYNC_TEST_CRASH_AT": point})
                    self.run_ok(t)
                    self.run_ok(t)
                    client = getattr(t, fake)
                    sent = [(e["status"], e["body"]) for e in client.log()
                            if e["method"] == method and e["path"] == path]
                    self.assertEqual(len(sent), 1, "%s %s was sent %d times: %s"
                                     % (method, path, len(sent), sent))
                    self.assertEqual([r for r in self.outbox(t) if r["state"] != "done"], [])
        finally:
            t.__exit__(None, None, None)


# capability.c: what each section-2 capability is used for, as check and status name it
FEATURES = {"hire": "hires, Lever to Crosschq, and owners' answers to Crosschq",
            "hired_field": "hires, Crosschq to Lever",
            "cancel": "cancel on archive",
            "prospects": "prospect export to Lever"}


class CapabilityOffTest(WritebackCase):
    """crosschq-api.md section 2: each assumed feature is used only when its capability is
    present. The story with one capability OFF in the fake (the others on): that feature is
    off (its effects, and only those, are missing), every run exits 0, and check and status
    name the capability."""

    SIZES = {"hired_in_lever": 1, "hired_in_crosschq": 1, "archived_not_hired": 1,
             "prompted": 1, "still_open": 1}

    def check_off(self, name, seed):
        s = Scenario(self.SIZES, prospects=2, prospects_known=1, seed=seed, off=(name,))
        t = s.tenant()
        try:
            s.play(t, lambda index, phase: self.run_ok(t))
            for minutes in (1, 2):
                s.enter(t, T2 + minutes * MINUTE_MS)
                self.run_ok(t)
            self.assertEffects(s, t, off=name)
            status = json.loads(self.run_ok(t, "status", "--json").stdout)
            self.assertEqual(status["failed"], [])
            self.assertEqual(status["in_doubt"], [])
            self.assertEqual({c["name"]: c["state"] for c in status["capabilities"]},
                             dict({"list": "absent"}, **{
                                 n: "absent" if n == name else "present"
                                 for n in STORY_CAPABILITIES}))
            self.assertEqual([r for r in self.outbox(t) if r["state"] != "done"], [])
            self.assertRegex(self.run_ok(t, "status").stdout,
                             r"(?m)^  %s +absent +off: %s$" % (name, re.escape(FEATURES[name])))
            check = self.run_ok(t, "check")
            self.assertIn("note    Crosschq capability %s: not offered by this Crosschq API, "
                          "off: %s (" % (name, FEATURES[name]), check.stdout)
            for other in set(STORY_CAPABILITIES) - {name}:
                self.assertIn("ok      Crosschq capability %s: present: %s ("
                              % (other, FEATURES[other]), check.stdout)
        finally:
            t.__exit__(None, None, None)

    def test_hire_off_no_hire_sync_to_crosschq(self):
        self.check_off("hire", 51)

    def test_hired_field_off_no_hire_from_crosschq(self):
        self.check_off("hired_field", 52)

    def test_cancel_off_no_cancel_on_archive(self):
        self.check_off("cancel", 53)

    def test_prospects_off_no_prospect_export(self):
        self.check_off("prospects", 54)


class PollingTest(WritebackCase):
    """The safety net: with every Crosschq webhook lost and no list capability, open requests
    are read by id, at most poll_open_per_run (20) per run and each at most once per
    poll_open_minutes, oldest check first; every completion is seen within
    ceil(open requests / 20) runs."""

    def test_completions_seen_by_reading_open_requests_when_webhooks_are_lost(self):
        s = Scenario({"prompted": 30, "still_open": 5}, prospects=0, prospects_known=0,
                     seed=47, webhooks=False)
        t = s.tenant({"crosschq": {"poll_open_minutes": 1}})
        try:
            self.run_ok(t)
            s.learn(t)
            # a quiet run a minute later: the capabilities are probed with a request now,
            # and 20 of the 35 requests, never read yet, are read (nothing has changed)
            s.enter(t, T0 + MINUTE_MS)
            self.run_ok(t)
            s.enter(t, T1)
            s.apply_events(t)
            self.assertEqual(t.crosschq.pending_webhooks(), [])
            lost = collections.Counter(w["request_id"]
                                       for w in t.crosschq.state()["webhook"]["lost"])
            self.assertEqual(lost, collections.Counter(
                {c.request: 2 if c.completes else 1 for c in s.candidates}),
                "a webhook per create and per completion, all lost")
            completed = {c.request for c in s.completed()}
            for number, at in enumerate((T1, T1 + MINUTE_MS)):
                s.enter(t, at)
                mark = len(t.crosschq.log())
                self.run_ok(t)
                read = [e["path"].split("/")[3] for e in t.crosschq.log()[mark:]
                        if e["method"] == "GET" and e["path"].startswith(REQUESTS_PATH)]
                self.assertEqual(len(read), 20, "run %d reads poll_open_per_run" % number)
                self.assertEqual(len(set(read)), 20)
                if number == 0:
                    seen = completed & set(read)
                    self.assertEqual(sorted(r["key"] for r in self.outbox(t)
                                            if r["key"].startswith("note:")),
                                     sorted("note:" + r for r in seen))
            # within two runs every one of the 35 was read since the completions
            self.assertEqual(sorted(r["key"] for r in self.outbox(t)
                                    if r["key"].startswith(("link:", "note:"))),
                             sorted(["link:" + r for r in completed]
                                    + ["note:" + r for r in completed]))
            # and nothing more happens until the prompts are due
            before = self.snapshot(t)
            s.enter(t, T1 + 2 * MINUTE_MS)
            self.run_ok(t)
            self.assertEqual(self.snapshot(t), before)
            s.enter(t, T2)
            self.run_ok(t)
            self.assertEffects(s, t)
        finally:
            t.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
