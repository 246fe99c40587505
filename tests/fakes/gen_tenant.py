#!/usr/bin/python3
"""Seed files for the Lever and Crosschq fakes: {"lever": {...}, "crosschq": {...}}.

TenantBuilder builds a tenant object by object (e2e tests use it for exact scenarios);
generate() fills one at random but deterministically for a seed; sandbox() is the small
hand-shaped tenant of tests/fakes/sandbox.json (`make demo`).
Run: /usr/bin/python3 gen_tenant.py --opportunities N --out FILE [--seed S] [options]
     /usr/bin/python3 gen_tenant.py --sandbox --out tests/fakes/sandbox.json
"""

import argparse
import calendar
import json
import os
import random
import sys
import time
import unicodedata

DAY_MS = 86400 * 1000
DENSE_MONTH_DAYS_AGO = 400   # generate(dense=...): where the dense month starts
DEFAULT_BASE_MS = calendar.timegm((2026, 11, 1, 0, 0, 0)) * 1000
STANDARD_STAGES = ("New lead", "Reached out", "Responded", "New applicant", "Recruiter screen",
                   "Phone interview", "On-site interview", "{trigger}", "Offer")
STANDARD_REASONS = (("Hired", "hired", "active"), ("Underqualified", "non-hired", "active"),
                    ("Withdrew", "non-hired", "active"),
                    ("Position filled", "non-hired", "active"),
                    ("Timing", "non-hired", "active"), ("Unresponsive", "non-hired", "active"),
                    ("Legacy reason", "non-hired", "inactive"))
RELATIONSHIPS = ("managers", "employees", "peers", "business", "social")
FIRST_NAMES = ("José", "Zoë", "Łukasz", "Søren", "François", "Ana", "Mia", "Noah", "Chloé",
               "Björn", "Ayşe", "Jürgen", "Siobhán", "Hiroshi", "Priya", "Olúwaseun", "Marta",
               "Liam", "Émile", "Nguyễn", "Ines", "Kai", "Renée", "Dmitrij", "Grace")
LAST_NAMES = ("Müller", "García", "Ångström", "Wójcik", "Kierkegaard", "Dubois", "Smith",
              "O'Brien", "Nakamura", "Şahin", "Novák", "Ødegård", "Rossi", "Kowalczyk", "Lee",
              "Fernández", "Schäfer", "Björk", "Okafor", "Patel", "Brown", "Zapata", "Čapek")
POSTING_TITLES = ("Backend Engineer", "Frontend Engineer", "Account Executive",
                  "Product Designer", "Marketing Manager", "Support Specialist",
                  "Financial Analyst", "Data Scientist", "Office Manager", "Legal Counsel")
POSTING_TAGS = ("engineering", "Engineering", "sales", "Sales", "Design", "design", "marketing",
                "support", "Finance", "data science", "operations", "legal")
TEMPLATE_TAGS = ("engineering", "sales", "design", "marketing", "support", "finance",
                 "data science")
LEGACY_TEMPLATE_DRAWS = 5   # generate() drew 5 template ids; templates now live in refsync.conf
ASCII_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "ı": "i",
                            "'": ""})


def ascii_fold(text):
    """'Łukasz Ødegård' -> 'Lukasz Odegard' (for email addresses)."""
    text = unicodedata.normalize("NFKD", text.translate(ASCII_FOLD))
    return text.encode("ascii", "ignore").decode("ascii")


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


class TenantBuilder:
    """Builds both fakes' data; every id is a UUID-like string drawn from the seed."""

    def __init__(self, seed=1, base_ms=DEFAULT_BASE_MS, trigger_stage="Reference Check",
                 standard=True):
        self.rng = random.Random(seed)
        self.base_ms = base_ms
        self.trigger_stage = trigger_stage
        self.lever = {"stages": [], "archive_reasons": [], "users": [], "postings": [],
                      "opportunities": [], "deleted": [], "notes": {}}
        self.crosschq = {"jobroles": [], "config": None, "requests": [], "prospects": []}
        self._stage_ids, self._reason_ids, self._postings = {}, {}, {}
        if standard:
            for text in STANDARD_STAGES:
                self.add_stage(text.replace("{trigger}", trigger_stage))
            for text, kind, status in STANDARD_REASONS:
                self.add_archive_reason(text, kind, status)
            for codename, name in (("software-engineer", "Software Engineer"),
                                   ("account-executive", "Account Executive"),
                                   ("generic", "Generic role")):
                self.add_jobrole(codename, name)
            self.set_config()

    def uid(self):
        """A UUID4-shaped id from the builder's random stream."""
        value = self.rng.getrandbits(128)
        text = "%032x" % value
        return "%s-%s-4%s-%s%s-%s" % (text[:8], text[8:12], text[13:16],
                                      "89ab"[value & 3], text[17:20], text[20:32])

    # ------------------------------------------------------------ Lever reference data

    def add_stage(self, text):
        ident = self.uid()
        self.lever["stages"].append({"id": ident, "text": text})
        self._stage_ids[text] = ident
        return ident

    def stage_id(self, text_or_id):
        """A stage id from its text (ids pass through)."""
        return self._stage_ids.get(text_or_id, text_or_id)

    def stage_index(self, stage_id):
        for index, stage in enumerate(self.lever["stages"]):
            if stage["id"] == stage_id:
                return index
        return None

    def add_archive_reason(self, text, kind="non-hired", status="active"):
        ident = self.uid()
        self.lever["archive_reasons"].append({"id": ident, "text": text, "status": status,
                                              "type": kind})
        self._reason_ids[text] = ident
        return ident

    def reason_id(self, text_or_id):
        return self._reason_ids.get(text_or_id, text_or_id)

    def add_user(self, name, email=None, deactivated=False, access_role="interviewer"):
        ident = self.uid()
        username = ascii_fold(name).lower().replace(" ", ".")
        self.lever["users"].append({
            "id": ident, "name": name, "username": username,
            "email": email or "%s@example.com" % username, "createdAt": self.base_ms - 900 * DAY_MS,
            "deactivatedAt": self.base_ms - DAY_MS if deactivated else None,
            "accessRole": access_role, "photo": None, "externalDirectoryId": None,
            "linkedContactIds": [], "jobTitle": None, "managerId": None})
        return ident

    def add_posting(self, text, tags, owner=None, hiring_manager=None, confidential=False,
                    state="published", team="Product", location="Berlin", created=None,
                    updated=None):
        ident = self.uid()
        users = [u["id"] for u in self.lever["users"]]
        owner = owner or (users[0] if users else None)
        created = created if created is not None else self.base_ms - 200 * DAY_MS
        posting = {
            "id": ident, "text": text, "state": state, "distributionChannels": ["public"],
            "confidentiality": "confidential" if confidential else "non-confidential",
            "user": owner, "owner": owner, "hiringManager": hiring_manager or owner,
            "followers": [owner] if owner else [], "tags": list(tags),
            "categories": {"team": team, "department": team, "location": location,
                           "allLocations": [location], "commitment": "Full-time",
                           "level": None},
            "country": "DE", "reqCode": None, "requisitionCodes": [],
            "urls": {"list": "https://jobs.lever.co/example",
                     "show": "https://jobs.lever.co/example/%s" % ident,
                     "apply": "https://jobs.lever.co/example/%s/apply" % ident},
            "workplaceType": "hybrid", "createdAt": created,
            "updatedAt": updated if updated is not None else created}
        self.lever["postings"].append(posting)
        self._postings[ident] = posting
        return ident

    # ------------------------------------------------------------ opportunities

    def add_opportunity(self, name, email="", posting=None, stages=(), owner=None, tags=(),
                        archived=None, archived_at=None, legacy_archived=False,
                        created=None, updated="auto", anonymized=False, origin=None,
                        confidential=None, phones=None, links=None, followers=None,
                        sources=None, headline=None, location="Berlin"):
        """Add one opportunity.

        email: a string ('' for none) or a list. stages: [(stage text or id, at ms), ...] in
        order; the last one is the current stage. archived: a reason text or id.
        updated: 'auto' (the latest change), None (null updatedAt) or ms.
        """
        ident, contact = self.uid(), self.uid()
        users = self.lever["users"]
        owner = owner or (users[0]["id"] if users else None)
        created = created if created is not None else self.base_ms - 30 * DAY_MS
        changes = []
        for text, at in stages or ((self.lever["stages"][0]["text"], created),):
            stage = self.stage_id(text)
            changes.append({"toStageId": stage, "toStageIndex": self.stage_index(stage),
                            "userId": owner, "updatedAt": at})
        last_change = changes[-1]["updatedAt"]
        applications = []
        if posting:
            p = self._postings.get(posting, {})
            applications.append({
                "id": self.uid(), "type": "posting", "candidateId": ident,
                "opportunityId": ident, "posting": posting, "postingOwner": p.get("owner"),
                "postingHiringManager": p.get("hiringManager"), "user": None,
                "createdAt": created, "archived": None, "requisitionForHire": None})
        if confidential is None:
            confidential = self._postings.get(posting, {}).get("confidentiality") == \
                "confidential"
        emails = [email] if isinstance(email, str) and email else list(email or [])
        opp = {
            "id": ident, "name": "" if anonymized else name,
            "headline": "" if anonymized else (headline if headline is not None else
                                                "Experienced professional"),
            "contact": contact, "emails": [] if anonymized else emails,
            "phones": [] if anonymized else (phones if phones is not None else
                                             [{"type": "mobile", "value": "+49 30 1234567"}]),
            "confidentiality": "confidential" if confidential else "non-confidential",
            "location": location, "links": [] if anonymized else list(links or []),
            "archived": None, "tags": list(tags), "sources": list(sources or ["LinkedIn"]),
            "stageChanges": changes, "origin": origin or ("applied" if posting else "sourced"),
            "sourcedBy": None if posting else owner, "owner": owner,
            "followers": list(followers) if followers is not None else ([owner] if owner else []),
            "applications": applications, "createdAt": created, "updatedAt": None,
            "lastInteractionAt": last_change, "lastAdvancedAt": last_change,
            "snoozedUntil": None,
            "urls": {"list": "https://hire.lever.co/candidates",
                     "show": "https://hire.lever.co/candidates/%s" % ident},
            "isAnonymized": bool(anonymized), "dataProtection": None, "resume": None,
            "stage": changes[-1]["toStageId"],
            "opportunityLocation": self._postings.get(posting, {}).get(
                "categories", {}).get("location", "unspecified")}
        latest = last_change
        if archived is not None:
            at = archived_at if archived_at is not None else last_change + DAY_MS
            reason = self.reason_id(archived)
            latest = max(latest, at)
            if legacy_archived:
                del opp["archived"]
                opp["archivedAt"], opp["archiveReason"] = at, reason
            else:
                opp["archived"] = {"reason": reason, "archivedAt": at}
                for app in applications:
                    app["archived"] = {"reason": reason, "archivedAt": at}
        opp["updatedAt"] = latest if updated == "auto" else updated
        self.lever["opportunities"].append(opp)
        return opp

    def add_note(self, opportunity_id, value, created, user=None):
        note = {"id": self.uid(), "text": None,
                "fields": [{"type": "note", "text": "Comment", "value": value,
                            "createdAt": created, "user": user, "score": None, "stage": None}],
                "user": user, "secret": False, "createdAt": created, "completedAt": created,
                "deletedAt": None}
        self.lever["notes"].setdefault(opportunity_id, []).append(note)
        return note

    def add_deleted(self, deleted_at, deleted_by=None):
        record = {"id": self.uid(), "deletedAt": deleted_at, "deletedBy": deleted_by}
        self.lever["deleted"].append(record)
        return record

    # ------------------------------------------------------------ Crosschq

    def add_jobrole(self, codename, name, relationships=None, enabled=True):
        """A Crosschq survey. relationships: {rel: {"min", "max", "default", ...}} overriding
        the standard limits (min 0, max 5; default 1 for managers and peers, else 0).
        enabled=False: the fake hides it and refuses creates with it."""
        full = {}
        for rel in RELATIONSHIPS:
            full[rel] = {"default": 1 if rel in ("managers", "peers") else 0,
                         "label": rel.capitalize(), "min": 0, "max": 5,
                         "skip_reference_optin": False, "whv_mode": "off"}
            full[rel].update((relationships or {}).get(rel, {}))
        role = {"codename": codename, "name": name, "relationships": full}
        if not enabled:
            role["enabled"] = False
        self.crosschq["jobroles"].append(role)
        return role

    def set_config(self, min_reference_count=2, limits=None):
        """Crosschq's /partners/config/: min/max/default as strings, as the API sends them.
        limits: {rel: (min, max, default)} overriding (0, 5, 1 or 0)."""
        relationships = []
        for index, rel in enumerate(RELATIONSHIPS):
            low, high, default = (limits or {}).get(
                rel, (0, 5, 1 if rel in ("managers", "peers") else 0))
            relationships.append({"id": index + 1, "name": rel, "min": str(low),
                                  "max": str(high), "default": str(default)})
        self.crosschq["config"] = {"relationships": relationships,
                                   "min_reference_count": min_reference_count}
        return self.crosschq["config"]

    def add_request(self, opportunity, created, job_position="", status="Pending",
                    progress=0, completed=None, references=(), hired=None):
        """A Crosschq Request (section 1 shape) for an opportunity's candidate.

        completed (ms): status "Completed", progress 100 and the report URLs.
        references: [(first, last, email, status word), ...]."""
        ident = self.uid()
        name = opportunity["name"].split(" ", 1) + [""]
        report = "https://app.crosschq.com/report/%s/" % ident
        request = {
            "id": ident,
            "candidate": {"first_name": name[0], "last_name": name[1],
                          "email": (opportunity["emails"] or [""])[0], "mobile_phone": ""},
            "job_position": job_position, "status": "Completed" if completed else status,
            "status_updated_on": iso(completed if completed is not None else created),
            "progress": 100 if completed else progress,
            "references": [{"first_name": first, "last_name": last, "email": mail,
                            "mobile_phone": "", "status": word}
                           for first, last, mail, word in references],
            "report_url": report if completed else None,
            "report_summary_pdf": report + "summary.pdf" if completed else None,
            "report_full_pdf": report + "full.pdf" if completed else None,
            "created_at": iso(created),
            "updated_on": iso(completed if completed is not None else created),
            "hired": hired}
        self.crosschq["requests"].append(request)
        return request

    def add_prospect(self, first_name, last_name, email, tags=(), job_title=None, created=None):
        created = created if created is not None else self.base_ms - 10 * DAY_MS
        prospect = {"id": self.uid(), "first_name": first_name, "last_name": last_name,
                    "email": email, "mobile_phone": None, "job_title": job_title,
                    "tags": list(tags), "source": "crosschq", "created_at": iso(created),
                    "updated_on": iso(created), "ats_id": None}
        self.crosschq["prospects"].append(prospect)
        return prospect

    # ------------------------------------------------------------ output

    def to_dict(self):
        return {"lever": self.lever, "crosschq": self.crosschq}

    def write(self, path, indent=None):
        """Write the seed file atomically as UTF-8 (compact unless indent is given)."""
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, ensure_ascii=False, indent=indent,
                      separators=(",", ": ") if indent else (",", ":"))
            handle.write("\n")
        os.replace(tmp, path)


def generate(opportunities, seed=1, confidential=0.33, archived=0.1, hired=0.03,
             null_updated=0.05, legacy_archived=0.02, in_trigger=0.0,
             trigger_stage="Reference Check", entered_at=None, postings=50,
             prospects=0, deleted=0, base_ms=DEFAULT_BASE_MS, dense=0.0):
    """A random tenant, identical for identical arguments. Returns a TenantBuilder.

    dense: the share of the opportunities created within one month (the 30 days from
    DENSE_MONTH_DAYS_AGO days before base_ms); the others spread over three years."""
    b = TenantBuilder(seed, base_ms, trigger_stage)
    rng = b.rng
    entered_at = base_ms if entered_at is None else entered_at
    for index in range(12):
        first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[index % len(LAST_NAMES)]
        b.add_user("%s %s" % (first, last), deactivated=(index == 11),
                   access_role="super admin" if index == 0 else "team member")
    users = [u["id"] for u in b.lever["users"][:11]]
    pools = {True: [], False: []}
    for index in range(postings):
        tags = rng.sample(POSTING_TAGS, rng.choice((1, 1, 2)))
        conf = rng.random() < confidential
        pid = b.add_posting("%s %d" % (POSTING_TITLES[index % len(POSTING_TITLES)], index + 1),
                            tags, owner=rng.choice(users), hiring_manager=rng.choice(users),
                            confidential=conf,
                            state=rng.choice(("published", "published", "internal", "closed")),
                            created=base_ms - rng.randrange(400) * DAY_MS)
        pools[conf].append(pid)
    for _ in range(LEGACY_TEMPLATE_DRAWS):
        b.uid()      # the ids of the former Crosschq templates: keeps every tenant identical
    stages = [s["id"] for s in b.lever["stages"]]
    trigger = b.stage_id(trigger_stage)
    trigger_index = stages.index(trigger)
    hired_reason = b.reason_id("Hired")
    other_reasons = [r["id"] for r in b.lever["archive_reasons"] if r["type"] == "non-hired"]
    emails_seen = []
    for index in range(opportunities):
        conf = rng.random() < confidential
        pool = pools[conf] or pools[not conf]
        posting = rng.choice(pool) if pool and rng.random() < 0.95 else None
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = "%s %s" % (first, last)
        email = "%s.%s.%d@example.com" % (ascii_fold(first).lower(),
                                          ascii_fold(last).lower(), index)
        if rng.random() < 0.02:
            email = ""
        created = base_ms - rng.randrange(3 * 365 * DAY_MS)
        if dense and rng.random() < dense:
            created = base_ms - DENSE_MONTH_DAYS_AGO * DAY_MS + rng.randrange(30 * DAY_MS)
        roll = rng.random()
        if roll < in_trigger:
            final, fate = trigger_index, "trigger"
        elif roll < in_trigger + hired:
            final, fate = len(stages) - 1, "hired"
        elif roll < in_trigger + hired + archived:
            final, fate = rng.randrange(len(stages)), "archived"
        elif roll < in_trigger + hired + archived + legacy_archived:
            final, fate = rng.randrange(len(stages)), "legacy"
        else:
            final, fate = rng.randrange(len(stages)), "active"
        if final == trigger_index and fate != "trigger":
            final -= 1
        latest = (entered_at if fate == "trigger" else base_ms) - 1
        created = min(created, latest - 60 * DAY_MS)
        path = sorted(set(rng.sample(range(final), min(final, rng.randrange(4)))) | {final})
        at, changes = created, []
        for stage_index in path:
            at += rng.randrange(1, 20 * DAY_MS)
            changes.append((stages[stage_index], min(at, latest)))
        if fate == "trigger":
            email = email or "trigger.%d@example.com" % index
            changes[-1] = (trigger, entered_at)
        reason = {"hired": hired_reason, "archived": rng.choice(other_reasons),
                  "legacy": rng.choice(other_reasons + [hired_reason])}.get(fate)
        anonymized = fate != "trigger" and rng.random() < 0.01
        opp = b.add_opportunity(
            name, email=email, posting=posting, stages=changes, owner=rng.choice(users),
            tags=rng.sample(POSTING_TAGS, 1) if rng.random() < 0.1 else (),
            archived=reason, legacy_archived=(fate == "legacy"),
            archived_at=min(changes[-1][1] + DAY_MS, base_ms - 1) if reason else None,
            created=created, anonymized=anonymized, confidential=conf,
            updated=None if fate != "trigger" and rng.random() < null_updated else "auto",
            phones=[{"type": "mobile", "value": "+49 151 %07d" % index}],
            links=["https://www.linkedin.com/in/candidate-%d" % index])
        if opp["emails"] and len(emails_seen) < 1000:
            emails_seen.append((first, last, opp["emails"][0]))
    for index in range(prospects):
        if emails_seen and index % 4 == 0:
            first, last, email = emails_seen[(index // 4) % len(emails_seen)]
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = "prospect.%d@example.org" % index
        b.add_prospect(first, last, email, tags=rng.sample(TEMPLATE_TAGS, 1),
                       job_title="Prospect", created=base_ms - rng.randrange(90) * DAY_MS)
    for index in range(deleted):
        b.add_deleted(base_ms - rng.randrange(60) * DAY_MS, rng.choice(users))
    return b


def sandbox():
    """The demo tenant of sandbox.json: small, readable, one of each interesting case."""
    base = calendar.timegm((2026, 11, 28, 0, 0, 0)) * 1000
    b = TenantBuilder(seed=20261128, base_ms=base)
    ana = b.add_user("Ana Souza", "ana.souza@example.com", access_role="super admin")
    tomas = b.add_user("Tomás Berg", "tomas.berg@example.com", access_role="team member")
    backend = b.add_posting("Senior Backend Engineer", ["engineering"], ana, tomas)
    frontend = b.add_posting("Frontend Engineer", ["Engineering", "remote"], ana, tomas)
    sales = b.add_posting("Account Executive", ["sales"], tomas, tomas, team="Sales")
    design = b.add_posting("Product Designer", ["design"], ana, ana, team="Design")
    success = b.add_posting("Customer Success Lead", ["customer-success"], tomas, ana,
                            confidential=True, team="Customer Success")
    office = b.add_posting("Office Manager", ["operations"], ana, ana, team="Operations")
    for _ in range(4):
        b.uid()      # the ids of the former Crosschq templates: keeps the Lever data identical
    # surveys for the demo config's [template] sections (refsync.conf.example): the standard
    # software-engineer, account-executive and generic, plus these; one disabled survey
    b.add_jobrole("product-designer", "Product Designer",
                  {"managers": {"min": 1}, "peers": {"default": 2}})
    b.add_jobrole("customer-success", "Customer Success",
                  {"managers": {"min": 1, "max": 3}, "business": {"default": 1, "max": 3}})
    b.add_jobrole("legacy-survey", "Legacy survey (disabled)", enabled=False)
    day = lambda d: base - d * DAY_MS                                   # noqa: E731
    ref = lambda d, h=10: calendar.timegm((2026, 11, d, h, 0, 0)) * 1000  # noqa: E731
    early = ("New applicant", "Recruiter screen", "Phone interview", "On-site interview")

    def path(upto, start):
        """Stage entries through `early` up to index upto, one every 4 days from `start`."""
        return [(early[i], day(start - 4 * i)) for i in range(upto + 1)]

    # eight candidates who entered Reference Check between 2026-11-20 and 2026-11-27
    trigger = [("José Müller", backend, []), ("Zoë Ångström", frontend, []),
               ("Łukasz Wójcik", backend, ["Referral"]), ("Chloé Dubois", sales, []),
               ("Björn Ødegård", design, []), ("Siobhán O'Brien", success, []),
               ("Priya Patel", office, []), ("Marta Novák", None, ["Design"])]
    for offset, (name, posting, tags) in enumerate(trigger):
        entries = path(3, 30) + [("Reference Check", ref(20 + offset))]
        email = "%s@example.com" % ascii_fold(name).lower().replace(" ", ".")
        b.add_opportunity(name, email, posting, entries, owner=ana if offset % 2 else tomas,
                          tags=tags, created=day(40), followers=[ana, tomas])
    # seventeen more in earlier or later stages
    active = [("Noah Smith", backend, 0), ("Mia Rossi", frontend, 1), ("Kai Nakamura", sales, 2),
              ("Ines Fernández", design, 3), ("Grace Lee", backend, 1),
              ("Émile Dubois", frontend, 2), ("Ayşe Şahin", sales, 0),
              ("Jürgen Schäfer", office, 1), ("Renée Björk", design, 2),
              ("Olúwaseun Okafor", success, 3), ("Hiroshi Čapek", backend, 3),
              ("Dmitrij Kowalczyk", sales, 1), ("Liam Brown", frontend, 0),
              ("Ana Zapata", design, 1), ("François García", backend, 2)]
    for number, (name, posting, upto) in enumerate(active):
        email = "" if name == "Liam Brown" else \
            "%s@example.com" % ascii_fold(name).lower().replace(" ", ".")
        b.add_opportunity(name, email, posting, path(upto, 25 + number % 5),
                          owner=tomas if number % 2 else ana, created=day(35))
    offer = b.add_opportunity("Søren Kierkegaard", "soren.kierkegaard@example.com", backend,
                              path(3, 60) + [("Reference Check", day(30)), ("Offer", day(10))],
                              owner=ana, created=day(70))
    in_progress = b.add_opportunity("Nguyễn Thị Lan", "lan.nguyen@example.com", sales,
                                    path(3, 40) + [("Reference Check", day(12))], owner=tomas,
                                    created=day(45))
    b.add_request(offer, day(30) + 60 * 1000, "Senior Backend Engineer", completed=day(16),
                  references=[("Ingrid", "Holm", "ingrid.holm@example.org", "Completed"),
                              ("Rafael", "Costa", "rafael.costa@example.org", "Completed"),
                              ("Yuki", "Tanaka", "yuki.tanaka@example.org", "Completed")])
    b.add_request(in_progress, day(12) + 60 * 1000, "Account Executive", "In Progress", 50,
                  references=[("Pedro", "Alves", "pedro.alves@example.org", "Completed"),
                              ("Hanna", "Virtanen", "hanna.virtanen@example.org", "Pending")])
    # six archived: one hired, one in the legacy form, one anonymized
    b.add_opportunity("Marta García", "marta.garcia@example.com", design,
                      path(3, 90) + [("Reference Check", day(70)), ("Offer", day(60))],
                      owner=ana, archived="Hired", archived_at=day(50), created=day(100))
    b.add_opportunity("Noah Rossi", "noah.rossi@example.com", backend, path(2, 80), owner=tomas,
                      archived="Underqualified", created=day(90))
    b.add_opportunity("Kai Smith", "kai.smith@example.com", sales, path(1, 200), owner=ana,
                      archived="Withdrew", legacy_archived=True, created=day(210))
    b.add_opportunity("", "", frontend, path(2, 300), owner=ana, archived="Timing",
                      anonymized=True, created=day(320))
    b.add_opportunity("Grace Patel", "grace.patel@example.com", office, path(1, 50),
                      owner=tomas, archived="Position filled", created=day(60), updated=None)
    b.add_opportunity("Mia Okafor", "mia.okafor@example.com", success,
                      path(3, 50) + [("Reference Check", day(33))], owner=tomas,
                      archived="Unresponsive", created=day(50))
    # nine leads with no posting
    for number in range(9):
        first, last = FIRST_NAMES[(number * 7) % 25], LAST_NAMES[(number * 5 + 3) % 23]
        stage = ("New lead", "Reached out", "Responded")[number % 3]
        b.add_opportunity("%s %s" % (first, last),
                          "lead.%d@example.net" % (number + 1), None, [(stage, day(5 + number))],
                          owner=ana, origin="sourced", created=day(5 + number),
                          sources=["Crosschq"] if number == 0 else ["LinkedIn"])
    b.add_prospect("Chloé", "Dubois", "chloe.dubois@example.com", ["sales"], "Account Executive",
                   day(20))
    b.add_prospect("Tariq", "Haddad", "tariq.haddad@example.org", ["engineering"],
                   "Site Reliability Engineer", day(8))
    b.add_prospect("Małgorzata", "Zielińska", "m.zielinska@example.org", ["design"],
                   "UX Researcher", day(3))
    b.add_prospect("Owen", "Hughes", "owen.hughes@example.org", [], None, day(1))
    return b


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--opportunities", type=int, default=0)
    parser.add_argument("--sandbox", action="store_true", help="write the demo tenant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--confidential", type=float, default=0.33)
    parser.add_argument("--archived", type=float, default=0.1)
    parser.add_argument("--hired", type=float, default=0.03)
    parser.add_argument("--null-updated", type=float, default=0.05)
    parser.add_argument("--legacy-archived", type=float, default=0.02)
    parser.add_argument("--in-trigger", type=float, default=0.0)
    parser.add_argument("--trigger-stage", default="Reference Check")
    parser.add_argument("--entered-at", type=int, help="ms; default --base-ms")
    parser.add_argument("--postings", type=int, default=50)
    parser.add_argument("--prospects", type=int, default=0)
    parser.add_argument("--deleted", type=int, default=0)
    parser.add_argument("--dense", type=float, default=0.0,
                        help="share of the opportunities created in one month")
    parser.add_argument("--base-ms", type=int, default=DEFAULT_BASE_MS,
                        help="the generated tenant's 'now' (default 2026-11-01T00:00:00Z)")
    args = parser.parse_args(argv)
    if args.sandbox:
        builder = sandbox()
    else:
        if args.in_trigger + args.hired + args.archived + args.legacy_archived > 1:
            parser.error("--in-trigger + --hired + --archived + --legacy-archived exceed 1")
        builder = generate(args.opportunities, args.seed, args.confidential, args.archived,
                           args.hired, args.null_updated, args.legacy_archived, args.in_trigger,
                           args.trigger_stage, args.entered_at, args.postings,
                           args.prospects, args.deleted, args.base_ms, args.dense)
    builder.write(args.out, indent=1 if args.sandbox else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
