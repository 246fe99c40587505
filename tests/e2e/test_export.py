"""End-to-end tests of refsync-export against a database built here.

The database is made the way refsync makes it (schema/001_initial.sql, the refsync
application_id, user_version 1) and filled with hostile text: a candidate named like a
spreadsheet formula, one named like a script tag, one with control bytes and one with
invalid UTF-8. The audit events carry correct hashes, computed here from the canonical form
in lib/audit.h. Then the real binary is run, and its output checked: the XML against
schema/audit.xsd with xmllint, the CSV with Python's csv module, the HTML for anything that
could run or load; --verify on an intact and an edited trail; byte-identical repeats;
atomic -o (no file on failure, exit 73).

Binary: $REFSYNC_BIN_DIR/refsync-export when set, else build/normal/bin/refsync-export.
Run alone: /usr/bin/python3 -m unittest tests/e2e/test_export.py
"""

import csv
import hashlib
import html.parser
import io
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_SQL = os.path.join(REPO, "schema", "001_initial.sql")
XSD = os.path.join(REPO, "schema", "audit.xsd")
APPLICATION_ID = 0x52465343
DAY = 86400000
WEEK = 7 * DAY
T0 = 1767225600000  # 2026-01-01T00:00:00Z, a Thursday

FORMULA_NAME = '=HYPERLINK("http://x","y")'
SCRIPT_NAME = "<script>alert(1)</script>"
CONTROL_NAME = "Ctl\x01\x1b[31mRed\x7f\x9bEnd\x0bX"
BAD_UTF8_NAME = b"Bad\xff\xc3(\xed\xa0\x80Name"  # stray byte, cut sequence, a surrogate
SCRIPT_POSTING = "<img src=x onerror=alert(2)>"


def export_binary():
    bindir = os.environ.get("REFSYNC_BIN_DIR")
    if bindir:
        return os.path.join(bindir, "refsync-export")
    return os.path.join(REPO, "build", "normal", "bin", "refsync-export")


def audit_hash(prev, seq, at, run_id, kind, subject, detail):
    """hash = hex(SHA-256(prev_hash || canonical(event))), canonical as in lib/audit.h."""
    def enc(v):
        return v if isinstance(v, bytes) else v.encode("utf-8")
    h = hashlib.sha256()
    h.update(prev.encode("ascii"))
    h.update(("refsync-audit-v1|%d|%d|%s|" % (seq, at, "" if run_id is None else run_id)).encode())
    fields = [enc(kind), enc(subject), enc(detail)]
    for i, f in enumerate(fields):
        h.update(b"%d:" % len(f))
        h.update(f)
        if i < 2:
            h.update(b"|")
    return h.hexdigest()


def insert(db, table, row):
    """Insert row (a dict); bytes values are cast to TEXT, so invalid UTF-8 is stored as TEXT."""
    cols = list(row)
    marks = ["CAST(? AS TEXT)" if isinstance(row[c], bytes) else "?" for c in cols]
    db.execute("INSERT INTO %s(%s) VALUES (%s)" % (table, ", ".join(cols), ", ".join(marks)),
               [row[c] for c in cols])


def build_database(path):
    """A refsync database with requests, holds, actions, runs and a correct audit chain.
    Returns the list of (seq, hash) of the audit events."""
    db = sqlite3.connect(path)
    with open(SCHEMA_SQL, encoding="utf-8") as f:
        db.executescript(f.read())
    db.execute("PRAGMA application_id = %d" % APPLICATION_ID)
    db.execute("PRAGMA user_version = 1")
    insert(db, "lever_postings", {"id": "post-1", "text": "Engineer, Platform", "updated_at": T0})
    insert(db, "lever_postings", {"id": "post-2", "text": SCRIPT_POSTING, "updated_at": T0})
    people = [
        ("opp-formula", FORMULA_NAME, "post-1", 0, None),
        ("opp-script", SCRIPT_NAME, "post-2", 0, None),
        ("opp-control", CONTROL_NAME, "post-1", 0, None),
        ("opp-bad", BAD_UTF8_NAME, "post-1", 0, None),
        ("opp-gone", "Erased Person", "post-1", 1, None),
        ("opp-held", "@SUM(1+1)", "post-1", 0, None),
        ("opp-plain", "Ada Lovelace", "post-1", 0, None),
    ]
    for oid, name, posting, anonymized, deleted in people:
        insert(db, "lever_opportunities", {"id": oid, "name": name, "posting_id": posting,
                                           "anonymized": anonymized, "deleted_at": deleted,
                                           "pulled_at": T0})
    # requests: started in three different weeks; completed, cancelled, hired
    requests = [
        ("req-1", "opp-formula", "completed", T0 + 1 * DAY, T0 + 3 * DAY, 1, T0 + 5 * DAY),
        ("req-2", "opp-script", "completed", T0 + 8 * DAY, T0 + 12 * DAY, None, None),
        ("req-3", "opp-control", "cancelled", T0 + 9 * DAY, None, 0, None),
        ("req-4", "opp-bad", "sent", T0 + 9 * DAY, None, None, None),
        ("req-5", "opp-gone", "completed", T0 + 22 * DAY, T0 + 23 * DAY, None, None),
        ("req-6", "opp-plain", "in_progress", T0 + 22 * DAY, None, None, None),
    ]
    for rid, opp, status, created, completed, hired, hired_at in requests:
        insert(db, "cq_requests", {
            "id": rid, "external_id": "lever:%s:%d" % (opp, created), "opportunity_id": opp,
            "template_id": "tpl-1", "status": status, "candidate_name": "cq copy",
            "created_at": created, "updated_at": (completed or created) + 1000,
            "completed_at": completed,
            "report_url": "https://partner.crosschq.com/report/%s" % rid if completed else None,
            "hired": hired, "hired_at": hired_at, "hired_source": "lever" if hired else None})
    insert(db, "triggers", {"opportunity_id": "opp-held", "entered_at": T0 + 10 * DAY,
                            "state": "held", "reason": "no template for tags: -sales, =ops",
                            "first_seen_at": T0 + 10 * DAY, "updated_at": T0 + 11 * DAY})
    insert(db, "triggers", {"opportunity_id": "opp-plain", "entered_at": T0 + 21 * DAY,
                            "state": "queued", "first_seen_at": T0 + 21 * DAY,
                            "updated_at": T0 + 21 * DAY})
    insert(db, "outbox", {"key": "k1", "kind": "cq.create_request", "subject": "opportunity:opp-formula",
                          "payload": "{}", "reason": "trigger", "state": "done", "attempts": 1,
                          "created_at": T0 + DAY, "updated_at": T0 + DAY})
    insert(db, "outbox", {"key": "k2", "kind": "lever.add_note", "subject": "opportunity:opp-script",
                          "payload": "{}", "reason": "completed", "state": "failed", "attempts": 3,
                          "last_error": "HTTP 400: <b>bad</b> \x07 +cmd", "created_at": T0 + 12 * DAY,
                          "updated_at": T0 + 13 * DAY})
    insert(db, "runs", {"id": 1, "command": "run", "started_at": T0 + DAY, "ended_at": T0 + DAY + 900,
                        "exit_code": 0, "pulled": 10, "decided": 2, "done": 2})
    insert(db, "runs", {"id": 2, "command": "run", "started_at": T0 + 13 * DAY,
                        "ended_at": T0 + 13 * DAY + 500, "exit_code": 1, "done": 0, "failed": 1,
                        "error": "=cmd|' /C calc'!A0"})
    events = [
        (T0 + DAY, 1, "run.start", "run:1", "command run"),
        (T0 + DAY + 10, 1, "action.planned", "opportunity:opp-formula", "cq.create_request"),
        (T0 + DAY + 20, 1, "action.done", "opportunity:opp-formula", "request req-1"),
        (T0 + 10 * DAY, None, "trigger.held", "opportunity:opp-held", "no template: =1+1"),
        (T0 + 13 * DAY, 2, "action.failed", "opportunity:opp-script", SCRIPT_NAME),
        (T0 + 13 * DAY + 5, 2, "note", "x", "control \x01\x02 bytes and tab\tand\nnewline"),
        (T0 + 13 * DAY + 6, 2, "note", "y", b"invalid \xc0\xaf utf-8"),
        (T0 + 13 * DAY + 7, 2, "run.end", "run:2", "exit 1"),
    ]
    chain = []
    prev = ""
    for seq, (at, run_id, kind, subject, detail) in enumerate(events, start=1):
        h = audit_hash(prev, seq, at, run_id, kind, subject, detail)
        insert(db, "audit_events", {"seq": seq, "at": at, "run_id": run_id, "kind": kind,
                                    "subject": subject, "detail": detail, "prev_hash": prev,
                                    "hash": h})
        chain.append((seq, h))
        prev = h
    db.commit()
    db.close()
    return chain


CHROMIUM = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
ALLOWED_HTML_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "time",
                     "span", "section", "div", "table", "thead", "tbody", "tr", "th", "td", "svg", "line",
                     "text", "rect", "footer", "a"}


class TagCollector(html.parser.HTMLParser):
    """Every start tag of a page with its attributes, and the text of its style elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.names, self.styles, self.in_style = [], set(), "", False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self.names.add(tag)
        self.in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self.names.add(tag)

    def handle_endtag(self, tag):
        self.in_style = False

    def handle_data(self, data):
        if self.in_style:
            self.styles += data


def split_head_line(case, data, fmt, chain):
    """The export without its last line, which must be the unsigned head line (anchor.h)."""
    end = b"\r\n" if fmt == "csv" else b"\n"
    body, _, line = data[:-len(end)].rpartition(end)
    seq, digest = chain[-1]
    at = "2026-01-14T00:00:00.007Z"  # the time of the newest event
    head = "refsync-export-head v1 format=%s seq=%d hash=%s at=%s" % (fmt, seq, digest, at)
    case.assertEqual(line.decode(), "# " + head if fmt == "csv" else "<!-- %s -->" % head)
    return body + end


def assert_no_forbidden_controls(case, data):
    """No C0 control other than tab/LF/CR, no DEL, no C1 control in decoded text."""
    bad = re.findall("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", data)
    case.assertEqual(bad, [], "control characters in the output")


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = export_binary()
        if not os.access(cls.bin, os.X_OK):
            raise AssertionError("refsync-export not built at %s (make build/normal/bin/refsync-export)"
                                 % cls.bin)
        cls.dir = tempfile.mkdtemp(prefix="refsync-export-test.")
        cls.db = os.path.join(cls.dir, "refsync.db")
        cls.chain = build_database(cls.db)
        cls.conf = os.path.join(cls.dir, "refsync.conf")
        with open(cls.conf, "w") as f:
            f.write("[sync]\ndatabase = %s\n" % cls.db)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_export(self, *args, conf=None, **kw):
        env = dict(os.environ)
        env.pop("REFSYNC_CONFIG", None)
        env["REFSYNC_TEST_NOW"] = str(T0 + 60 * DAY)  # the HTML report's generation time
        if "stdout" not in kw:
            kw["capture_output"] = True
        return subprocess.run([self.bin, "-c", conf or self.conf] + list(args), env=env, timeout=120,
                              **kw)

    def export(self, *args):
        r = self.run_export(*args)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout

    # ------------------------------------------------------------------ XML

    def xml_validates(self, data):
        path = os.path.join(self.dir, "check.xml")
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run(["xmllint", "--noout", "--schema", XSD, path], capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))

    def test_xml_validates_against_xsd_for_every_kind(self):
        for kind in ("events", "requests", "runs"):
            with self.subTest(kind=kind):
                self.xml_validates(self.export("--format", "xml", "--kind", kind))
                self.xml_validates(self.export("--format", "xml", "--kind", kind,
                                               "--from", "2026-01-05", "--to", "2026-01-20T00:00:00Z"))

    def test_xml_carries_chain_head_and_window(self):
        root = ET.fromstring(self.export("--format", "xml", "--from", "2026-01-10", "--to", "2026-01-15"))
        self.assertEqual(root.tag, "refsync-audit")
        self.assertEqual(root.get("kind"), "events")
        self.assertEqual(root.get("from"), "2026-01-10T00:00:00.000Z")
        self.assertEqual(root.get("to"), "2026-01-15T00:00:00.000Z")
        head = root.find("chain-head")
        self.assertEqual(head.get("seq"), str(self.chain[-1][0]))
        self.assertEqual(head.get("hash"), self.chain[-1][1])
        seqs = [int(e.get("seq")) for e in root.findall("event")]
        self.assertEqual(seqs, [4, 5, 6, 7, 8])
        self.assertEqual(root.find("end").get("records"), "5")

    def test_xml_hostile_text_is_inert(self):
        data = self.export("--format", "xml", "--kind", "requests")
        text_data = data.decode("utf-8")  # strict: fails on invalid UTF-8
        assert_no_forbidden_controls(self, text_data)
        root = ET.fromstring(data)
        names = {r.get("opportunity_id"): r.findtext("candidate_name") for r in root}
        self.assertEqual(names["opp-formula"], FORMULA_NAME)
        self.assertEqual(names["opp-script"], SCRIPT_NAME)  # text, not markup
        self.assertEqual(names["opp-control"], "Ctl\ufffd\ufffd[31mRed\ufffd\ufffdEnd\ufffdX")
        self.assertEqual(names["opp-bad"], "Bad\ufffd\ufffd(\ufffd\ufffd\ufffdName")
        self.assertIsNone(names["opp-gone"])  # anonymized: no name
        self.assertNotIn("<script", text_data)
        self.assertEqual(root.findall(".//script"), [])
        hold = root.find("hold")
        self.assertEqual(hold.get("status"), "held")
        self.assertEqual(hold.findtext("hold_reason"), "no template for tags: -sales, =ops")
        events = ET.fromstring(self.export("--format", "xml"))
        details = [e.findtext("detail") for e in events.findall("event")]
        self.assertIn("control \ufffd\ufffd bytes and tab\tand\nnewline", details)
        self.assertIn("invalid \ufffd\ufffd utf-8", details)

    # ------------------------------------------------------------------ CSV

    def test_csv_events_exact_header_and_rfc4180(self):
        data = split_head_line(self, self.export("--format", "csv"), "csv", self.chain)
        self.assertTrue(data.startswith(b"seq,at,run_id,kind,subject,detail,prev_hash,hash,dry_run\r\n"))
        self.assertTrue(data.endswith(b"\r\n"))
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        self.assertEqual(len(rows), 1 + len(self.chain))
        self.assertEqual(rows[1][:5], ["1", "2026-01-02T00:00:00.000Z", "1", "run.start", "run:1"])
        self.assertEqual(rows[4][2], "")  # NULL run_id
        self.assertEqual(rows[4][5], "no template: =1+1")  # only the start of a cell matters
        self.assertEqual(rows[6][5], "control \ufffd\ufffd bytes and tab\tand\nnewline")
        self.assertEqual([r[7] for r in rows[1:]], [h for _, h in self.chain])

    def test_csv_hostile_text_is_inert(self):
        data = split_head_line(self, self.export("--format", "csv", "--kind", "requests"), "csv", self.chain)
        text_data = data.decode("utf-8")
        assert_no_forbidden_controls(self, text_data.replace("\t", ""))
        self.assertIn(b'"\'=HYPERLINK(""http://x"",""y"")"', data)
        rows = list(csv.reader(io.StringIO(text_data, newline="")))
        header = rows[0]
        self.assertEqual(header, ["record", "request_id", "external_id", "opportunity_id", "candidate_name",
                                  "posting", "status", "template_id", "created_at", "completed_at",
                                  "report_url", "hired", "hired_at", "hired_source", "hold_reason"])
        for row in rows[1:]:
            for cell in row:
                self.assertFalse(cell[:1] in ("=", "+", "-", "@", "\t", "\r"),
                                 "a cell a spreadsheet would run: %r" % cell)
        by_opp = {r[3]: dict(zip(header, r)) for r in rows[1:]}
        self.assertEqual(by_opp["opp-formula"]["candidate_name"], "'" + FORMULA_NAME)
        self.assertEqual(by_opp["opp-script"]["candidate_name"], SCRIPT_NAME)
        self.assertEqual(by_opp["opp-held"]["candidate_name"], "'@SUM(1+1)")
        self.assertEqual(by_opp["opp-held"]["record"], "hold")
        self.assertEqual(by_opp["opp-gone"]["candidate_name"], "")
        self.assertEqual(by_opp["opp-bad"]["candidate_name"], "Bad\ufffd\ufffd(\ufffd\ufffd\ufffdName")
        runs = list(csv.reader(io.StringIO(split_head_line(self, self.export("--format", "csv", "--kind", "runs"),
                                                           "csv", self.chain).decode(), newline="")))
        self.assertEqual(runs[2][runs[0].index("error")], "'=cmd|' /C calc'!A0")

    # ------------------------------------------------------------------ HTML

    def test_html_is_static_and_inert(self):
        data = self.export("--format", "html")
        page = data.decode("utf-8")
        assert_no_forbidden_controls(self, page)
        tags = TagCollector()
        tags.feed(page)
        tags.close()
        self.assertLessEqual(tags.names, ALLOWED_HTML_TAGS)
        for name, attrs in tags.tags:
            for attr, value in attrs:
                if name == "a" and attr == "href":
                    # the only link: a Crosschq report, http(s) only (issue 18 item 7)
                    self.assertRegex(value, r"^https?://[^\s\"<>]+$")
                    continue
                self.assertFalse(attr.startswith("on") or attr in ("src", "href", "xlink:href", "srcset",
                                                                   "action", "formaction"),
                                 "<%s %s=...> in the report" % (name, attr))
        self.assertEqual(tags.styles.count("url("), 0)
        self.assertNotIn("@import", tags.styles)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", page)
        self.assertIn("=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)", page)
        self.assertIn("&lt;img src=x onerror=alert(2)&gt;", page)
        self.assertIn("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                      "style-src 'unsafe-inline'\">", page)
        self.assertTrue(page.startswith("<!DOCTYPE html>"))
        self.assertTrue(split_head_line(self, data, "html", self.chain).endswith(b"</html>\n"))

    def test_html_totals_and_chart(self):
        page = self.export("--format", "html").decode("utf-8")

        def total(name):
            m = re.search(r'<td id="%s">([^<]*)' % name, page)
            self.assertIsNotNone(m, name)
            return m.group(1)
        self.assertEqual(total("requests-started"), "6")
        self.assertEqual(total("requests-completed"), "3")
        self.assertEqual(total("requests-cancelled"), "1")
        self.assertEqual(total("triggers-held"), "1")
        self.assertEqual(total("hires"), "1")
        self.assertEqual(total("actions-failed"), "1")
        self.assertEqual(total("runs"), "2")
        self.assertEqual(total("audit-events"), str(len(self.chain)))
        # turnarounds 2 d, 4 d, 1 d: the median is 2 days
        self.assertIn('<td id="median-turnaround">2 d 00:00:00', page)
        svg = re.search(r"<svg .*?</svg>", page, re.S).group(0)
        # requests started in the weeks of 2025-12-29 (1), 2026-01-05 (3), 2026-01-19 (2)
        bars = re.findall(r"<title>Week of (\d{4}-\d\d-\d\d): (\d+) requests? started</title>", svg)
        self.assertEqual(bars, [("2025-12-29", "1"), ("2026-01-05", "3"), ("2026-01-19", "2")])
        ET.fromstring(svg)  # well-formed SVG

    def test_html_renders_in_headless_chromium(self):
        browser = next((shutil.which(b) for b in CHROMIUM if shutil.which(b)), None)
        if not browser:
            self.skipTest("no headless Chromium installed (apt-get install chromium-headless-shell)")
        page = os.path.join(self.dir, "report.html")
        self.assertEqual(self.run_export("--format", "html", "-o", page).returncode, 0)
        shot = os.path.join(self.dir, "report.png")
        args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600"]
        r = subprocess.run(args + ["--screenshot=" + shot, "file://" + page], capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        # the DOM Chromium built: totals as text, the chart as SVG with one bar per week
        r = subprocess.run(args + ["--dump-dom", "file://" + page], capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        dom = r.stdout.decode("utf-8")
        self.assertIn('<td id="requests-started">6</td>', dom)
        self.assertIn("Median time from start to completion", dom)
        self.assertEqual(len(re.findall(r"<rect ", dom)), 3)
        self.assertNotIn("<script", dom)

    def test_html_window(self):
        page = self.export("--format", "html", "--from", "2026-01-09", "--to", "2026-01-12").decode()
        self.assertIn('<td id="requests-started">3</td>', page)
        self.assertIn('<td id="triggers-held">1</td>', page)
        self.assertIn("2026-01-09T00:00:00.000Z", page)

    # ------------------------------------------------------------------ determinism

    def test_same_export_twice_is_byte_identical(self):
        for args in (("--format", "xml"), ("--format", "xml", "--kind", "requests"),
                     ("--format", "csv", "--kind", "runs"), ("--format", "html")):
            with self.subTest(args=args):
                self.assertEqual(self.export(*args), self.export(*args))

    def test_output_file_equals_stdout(self):
        out = os.path.join(self.dir, "events.csv")
        self.assertEqual(self.run_export("--format", "csv", "-o", out).returncode, 0)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), self.export("--format", "csv"))
        leftovers = [n for n in os.listdir(self.dir) if n.startswith(".events.csv.")]
        self.assertEqual(leftovers, [])

    # ------------------------------------------------------------------ verify

    def test_verify_intact(self):
        r = self.run_export("--verify")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("intact", out)
        self.assertIn("%d events checked" % len(self.chain), out)
        self.assertIn(self.chain[-1][1], out)

    def test_verify_names_the_edited_event(self):
        for seq in (1, 5, len(self.chain)):
            with self.subTest(seq=seq):
                db = os.path.join(self.dir, "tampered-%d.db" % seq)
                shutil.copy(self.db, db)
                r = subprocess.run(["sqlite3", db, "UPDATE audit_events SET detail = 'nothing happened' "
                                    "WHERE seq = %d" % seq], capture_output=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                conf = os.path.join(self.dir, "tampered-%d.conf" % seq)
                with open(conf, "w") as f:
                    f.write("[sync]\ndatabase = %s\n" % db)
                r = self.run_export("--verify", conf=conf)
                self.assertEqual(r.returncode, 65, r.stdout + r.stderr)
                out = r.stdout.decode()
                self.assertIn("BROKEN at event %d " % seq, out)
                self.assertIn("%d events checked" % seq, out)

    def test_verify_finds_a_deleted_event(self):
        db = os.path.join(self.dir, "deleted.db")
        shutil.copy(self.db, db)
        subprocess.run(["sqlite3", db, "DELETE FROM audit_events WHERE seq = 3"], check=True)
        conf = os.path.join(self.dir, "deleted.conf")
        with open(conf, "w") as f:
            f.write("[sync]\ndatabase = %s\n" % db)
        r = self.run_export("--verify", conf=conf)
        self.assertEqual(r.returncode, 65)
        self.assertIn("BROKEN at event 4 ", r.stdout.decode())

    # ------------------------------------------------------------------ failures

    def test_unwritable_output_exits_73_and_leaves_nothing(self):
        for target in ("/dev/null/report.csv", os.path.join(self.dir, "missing", "report.csv"), self.dir):
            with self.subTest(target=target):
                r = self.run_export("--format", "csv", "-o", target)
                self.assertEqual(r.returncode, 73, r.stderr)
                self.assertTrue(r.stderr.strip())
                if target != self.dir:
                    self.assertFalse(os.path.exists(target))

    def test_full_disk_on_output_file_leaves_no_file(self):
        # A file size limit makes write() fail with EFBIG part way, as a full disk fails with
        # ENOSPC: the export must stop, remove its temporary file and leave the old file alone.
        out_dir = os.path.join(self.dir, "full")
        os.makedirs(out_dir, exist_ok=True)
        target = os.path.join(out_dir, "report.html")
        with open(target, "w") as f:
            f.write("old report\n")

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
        r = self.run_export("--format", "html", "-o", target, preexec_fn=limit)
        self.assertEqual(r.returncode, 73, r.stderr)
        self.assertIn(b"no file was written", r.stderr)
        with open(target) as f:
            self.assertEqual(f.read(), "old report\n")
        self.assertEqual(sorted(os.listdir(out_dir)), ["report.html"])

    def test_full_disk_on_stdout_exits_73(self):
        with open("/dev/full", "wb") as full:
            r = self.run_export("--format", "csv", stdout=full, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 73, r.stderr)
        self.assertIn(b"No space left", r.stderr)

    def test_usage_config_and_database_errors(self):
        self.assertEqual(self.run_export().returncode, 64)
        self.assertEqual(self.run_export("--format", "pdf").returncode, 64)
        self.assertEqual(self.run_export("--format", "csv", "--kind", "people").returncode, 64)
        self.assertEqual(self.run_export("--format", "csv", "--from", "yesterday").returncode, 64)
        self.assertEqual(self.run_export("--format", "csv", "--from", "2026-02-01",
                                         "--to", "2026-01-01").returncode, 64)
        self.assertEqual(self.run_export("--verify", "--format", "csv").returncode, 64)
        self.assertEqual(self.run_export("--format", "html", "--kind", "runs").returncode, 64)
        self.assertEqual(self.run_export("--format", "csv", "extra").returncode, 64)
        r = self.run_export("--format", "csv", conf=os.path.join(self.dir, "no-such.conf"))
        self.assertEqual(r.returncode, 78)
        conf = os.path.join(self.dir, "nodb.conf")
        with open(conf, "w") as f:
            f.write("[sync]\ndatabase = %s\n" % os.path.join(self.dir, "no-such.db"))
        self.assertEqual(self.run_export("--format", "csv", conf=conf).returncode, 70)
        r = subprocess.run([self.bin, "--help"], capture_output=True)
        self.assertEqual(r.returncode, 0)
        for option in (b"--format", b"--kind", b"--from", b"--to", b"--output", b"--verify", b"--config"):
            self.assertIn(option, r.stdout)


if __name__ == "__main__":
    unittest.main()
