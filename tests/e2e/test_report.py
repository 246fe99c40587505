"""End-to-end: the HTML report for people, and dry runs marked (issue 18, items 7 and 8).

A database is built here with every migration of schema/ and filled the way a real tenant
looks: Lever and Crosschq ids of 24 to 36 characters, long names, postings and hold reasons,
https report URLs (and one javascript: URL that must not become a link), a request someone
made in Crosschq by hand, an action that failed and was sent after `refsync retry`, and dry
runs. The real refsync-export writes the report; headless Chromium (Debian's
chromium-headless-shell, driven over the DevTools protocol on a pipe, so the page itself is
not changed) lays it out at 1,280 x 800 px and as printed on A4, and a script measures the
layout: tables within the page, ids on one line, the hold reason visible, links present.

The dry-run tests run the real `refsync run --dry-run` against the fakes (harness.Tenant).

Set REFSYNC_REPORT_PNG_DIR=DIR to keep the screenshots and the PDF in DIR.
Run alone: REFSYNC_BIN_DIR=$PWD/build/asan/bin /usr/bin/python3 tests/e2e/run.py test_report
"""

import base64
import csv
import fcntl
import glob
import io
import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_export import APPLICATION_ID, CHROMIUM, REPO, audit_hash, export_binary, insert  # noqa: E402

XSD = os.path.join(REPO, "schema", "audit.xsd")
DAY = 86400000
T0 = 1767225600000          # 2026-01-01T00:00:00Z
GENERATED = T0 + 40 * DAY    # REFSYNC_TEST_NOW: the report's generation time
GENERATED_ISO = "2026-02-10T00:00:00.000Z"
TENANT = "Acme <Robotics> & Co"
VIEW_WIDTH, VIEW_HEIGHT = 1280, 800
# A4 landscape less the 10 mm margins of @page, in CSS px (96 per inch)
A4_PRINT_WIDTH = round((297 - 20) / 25.4 * 96)
A4_POINTS = (841.89, 595.28)  # landscape, in PDF points


def uuid(n):
    return "%08x-4c1e-4b7a-9d2f-%012x" % (0x8f14e45f + n, 0x5e3a9c0b7d21 + n)


def cq_id(n):
    return "%024x" % (0x6571a2b3c4d5e6f7a8b9c0d1 + n)


LONG_NAME = "Maria-Magdalena Anastasia Papadopoulou-Fitzgerald"
LONG_POSTING = "Senior Backend Engineer, Payments Platform (Berlin or remote within EU time zones)"
HOLD_REASON = ("no template matches the posting's tags: payments-platform, backend-engineering, "
               "berlin-office; two templates match 'remote': engineering and design-contract")
RETRIED_ERROR = "HTTP 503 from Lever: service unavailable (the note was not posted)"
STILL_FAILED_ERROR = "HTTP 400 from Crosschq: candidate email rejected"


def migrated_database(path):
    """An empty database at the newest schema, made from schema/NNN_*.sql as refsync makes it."""
    db = sqlite3.connect(path)
    latest = 0
    for sql in sorted(glob.glob(os.path.join(REPO, "schema", "[0-9]*.sql"))):
        with open(sql, encoding="utf-8") as f:
            db.executescript(f.read())
        latest = int(os.path.basename(sql).split("_", 1)[0])
    db.execute("PRAGMA application_id = %d" % APPLICATION_ID)
    db.execute("PRAGMA user_version = %d" % latest)
    return db


class World:
    """What build() put in the database, for the assertions."""
    ours = []          # (request id, opportunity id, report url)
    foreign = None     # the request someone made in Crosschq
    retried_key = None
    failed_key = None


def build(path):
    db = migrated_database(path)
    w = World()
    insert(db, "lever_postings", {"id": uuid(900), "text": LONG_POSTING, "updated_at": T0})
    insert(db, "lever_postings", {"id": uuid(901), "text": "Account Executive", "updated_at": T0})
    names = [LONG_NAME, "Zoë Ångström", "Łukasz Wójcik", "Hiroshi Nakamura", "Siobhán O'Brien",
             "Ayşe Şahin", "Jürgen Müller", "Priya Patel"]
    for i, name in enumerate(names):
        insert(db, "lever_opportunities", {"id": uuid(i), "name": name,
                                           "posting_id": uuid(900 + i % 2), "pulled_at": T0})
    urls = ["https://partner.crosschq.com/report/%s?view=full&lang=en" % cq_id(0),
            "https://partner.crosschq.com/report/%s" % cq_id(1),
            "javascript:alert(document.cookie)",
            None, None]
    w.ours = []
    for i in range(5):
        created = T0 + (1 + 3 * i) * DAY
        done = created + 2 * DAY if urls[i] else None
        insert(db, "cq_requests", {
            "id": cq_id(i), "external_id": "lever:%s:%d" % (uuid(i), created - DAY),
            "opportunity_id": uuid(i), "template_id": "engineering" if i % 2 == 0 else "sales",
            "status": "completed" if done else "open", "candidate_name": names[i],
            "created_at": created, "updated_at": done or created, "completed_at": done,
            "report_url": urls[i], "hired": 1 if i == 0 else None,
            "hired_at": T0 + 20 * DAY if i == 0 else None, "hired_source": "ats" if i == 0 else None})
        w.ours.append((cq_id(i), uuid(i), urls[i]))
    # made in Crosschq by a recruiter: refsync only mirrors it (no external id)
    w.foreign = cq_id(50)
    insert(db, "cq_requests", {"id": w.foreign, "external_id": None, "opportunity_id": None,
                               "status": "open", "candidate_name": "Walk-in Candidate",
                               "created_at": T0 + 9 * DAY, "updated_at": T0 + 9 * DAY})
    insert(db, "triggers", {"opportunity_id": uuid(6), "entered_at": T0 + 11 * DAY, "state": "held",
                            "reason": HOLD_REASON, "first_seen_at": T0 + 11 * DAY,
                            "updated_at": T0 + 12 * DAY})
    # one action failed, was put back by `refsync retry` and sent; another is still failed
    w.retried_key = "lever:%s:%d:note" % (uuid(0), T0)
    w.failed_key = "lever:%s:%d" % (uuid(7), T0 + 13 * DAY)
    insert(db, "outbox", {"key": w.retried_key, "kind": "lever.add_note",
                          "subject": "opportunity:%s" % uuid(0), "payload": "{}", "reason": "completed",
                          "state": "done", "attempts": 2, "result": "note-1",
                          "created_at": T0 + 3 * DAY, "updated_at": T0 + 6 * DAY})
    insert(db, "outbox", {"key": w.failed_key, "kind": "cq.create_request",
                          "subject": "opportunity:%s" % uuid(7), "payload": "{}", "reason": "trigger",
                          "state": "failed", "attempts": 1, "last_error": STILL_FAILED_ERROR,
                          "created_at": T0 + 13 * DAY, "updated_at": T0 + 13 * DAY})
    inv = "%032x" % 0x3f2a9c0b7d214e6f8a1b2c3d4e5f6071
    runs = [(1, "run", 0, 0), (2, "run", 1, 0), (3, "run", 0, 1), (4, "backfill", 1, 0)]
    for rid, command, dry, code in runs:
        insert(db, "runs", {"id": rid, "command": command, "started_at": T0 + rid * 3 * DAY,
                            "ended_at": T0 + rid * 3 * DAY + 1500, "exit_code": code,
                            "invocation_id": inv, "pulled": 10 * rid, "dry_run": dry,
                            "error": "a failed action waits" if code else None})
    events = [
        (T0 + 3 * DAY, 1, "capability.probed", "capability:list", "present"),
        (T0 + 3 * DAY + 9, 1, "run.end", "run:1", "run exit=0 pulled=10"),
        (T0 + 5 * DAY, 0, "action.failed", "opportunity:%s" % uuid(0),
         "lever.add_note key=%s: %s" % (w.retried_key, RETRIED_ERROR)),
        (T0 + 5 * DAY + 5, 0, "action.requeued", "opportunity:%s" % uuid(0),
         "lever.add_note key=%s: put back to planned by refsync retry" % w.retried_key),
        (T0 + 6 * DAY, 2, "capability.probed", "capability:list", "present"),
        (T0 + 6 * DAY + 9, 2, "run.end", "run:2", "run --dry-run exit=0 pulled=20"),
        (T0 + 6 * DAY + 20, 0, "action.done", "opportunity:%s" % uuid(0),
         "lever.add_note key=%s result=note-1" % w.retried_key),
        (T0 + 13 * DAY, 3, "action.failed", "opportunity:%s" % uuid(7),
         "cq.create_request key=%s: %s" % (w.failed_key, STILL_FAILED_ERROR)),
    ]
    prev = ""
    for seq, (at, run_id, kind, subject, detail) in enumerate(events, start=1):
        h = audit_hash(prev, seq, at, run_id, kind, subject, detail)
        insert(db, "audit_events", {"seq": seq, "at": at, "run_id": run_id, "kind": kind,
                                    "subject": subject, "detail": detail, "prev_hash": prev, "hash": h})
        prev = h
    db.commit()
    db.close()
    return w


class DevTools:
    """Headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, browser, user_dir):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def wire():
            # copies above 10 first, so that neither end is overwritten by the other's dup2
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)  # dup2 to another number clears close-on-exec
            os.dup2(b, 4)
        self.proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--user-data-dir=" + user_dir, "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            os.close(self.to_chrome)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.from_chrome)

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise AssertionError("Chromium closed the DevTools pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, timeout=60, session=True, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError("%s: %s" % (method, reply["error"]))
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    del self.events[i]
                    return e
            self.events.append(self._read_message(deadline))

    def open(self, url, width, height, media=""):
        if not self.session:
            target = self.call("Target.createTarget", session=False, url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", session=False, targetId=target,
                                     flatten=True)["sessionId"]
            self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)
        self.call("Emulation.setEmulatedMedia", media=media)
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError("script failed: %s" % r["exceptionDetails"])
        return r["result"]["value"]

    def screenshot(self, width, height):
        r = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        return base64.b64decode(r["data"])

    def pdf(self):
        r = self.call("Page.printToPDF", preferCSSPageSize=True, printBackground=True, timeout=120)
        return base64.b64decode(r["data"])


# Measures the laid-out report; columns are found by their heading, so that the same script
# measures any version of the page. Lines of a cell are the distinct line boxes of its text.
MEASURE_JS = r"""
(() => {
  const vw = document.documentElement.clientWidth;
  const lines = (cell) => {
    const r = document.createRange();
    r.selectNodeContents(cell);
    const tops = new Set();
    for (const q of r.getClientRects()) if (q.width > 0 && q.height > 0) tops.add(Math.round(q.top));
    return tops.size;
  };
  const column = (section, label) => {
    const th = [...document.querySelectorAll('#' + section + ' thead th')]
      .find(t => t.textContent.trim() === label);
    if (!th) return null;
    const cells = [...document.querySelectorAll('#' + section + ' tbody tr')]
      .map(tr => tr.cells[th.cellIndex]).filter(c => c && c.textContent.trim() !== '');
    const box = th.getBoundingClientRect();
    return {left: box.left, right: box.right, width: box.width,
            cells: cells.map(c => ({text: c.textContent, lines: lines(c),
                                    left: c.getBoundingClientRect().left,
                                    right: c.getBoundingClientRect().right,
                                    title: (c.querySelector('[title]') || {title: null}).title}))};
  };
  const tables = [...document.querySelectorAll('table')].map(t => {
    const box = t.getBoundingClientRect();
    const holder = t.parentElement;
    return {section: (t.closest('section') || {id: ''}).id, left: box.left, right: box.right,
            hidden: Math.max(0, holder.scrollWidth - holder.clientWidth)};
  });
  const cols = {};
  for (const [section, label] of [['requests', 'Hold reason'], ['requests', 'Request'],
                                  ['requests', 'Opportunity'], ['requests', 'Candidate'],
                                  ['requests', 'Report'], ['holds', 'Reason'],
                                  ['holds', 'Opportunity'], ['failed-actions', 'Error'],
                                  ['runs', 'Invocation'], ['runs', 'Command']])
    cols[section + '/' + label] = column(section, label);
  const heads = {};
  for (const sec of ['requests', 'holds', 'failed-actions', 'runs'])
    heads[sec] = [...document.querySelectorAll('#' + sec + ' thead th')].map(t => t.textContent.trim());
  return JSON.stringify({
    vw, pageWidth: document.documentElement.scrollWidth, tables, cols, heads,
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    tenant: (document.getElementById('tenant') || {textContent: null}).textContent,
    generated: (document.querySelector('#generated time') || {dateTime: null}).dateTime,
  });
})()
"""


def find_browser():
    return next((shutil.which(b) for b in CHROMIUM if shutil.which(b)), None)


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = export_binary()
        if not os.access(cls.bin, os.X_OK):
            raise AssertionError("refsync-export not built at %s" % cls.bin)
        cls.dir = tempfile.mkdtemp(prefix="refsync-report-test.")
        cls.db = os.path.join(cls.dir, "refsync.db")
        cls.world = build(cls.db)
        cls.conf = os.path.join(cls.dir, "refsync.conf")
        with open(cls.conf, "w") as f:
            f.write("[sync]\ndatabase = %s\n\n[export]\ntenant_name = %s\n" % (cls.db, TENANT))
        cls.page = os.path.join(cls.dir, "report.html")
        r = cls.run_export(cls, "--format", "html", "-o", cls.page)
        if r.returncode != 0:
            raise AssertionError("refsync-export --format html: exit %d: %s" % (r.returncode, r.stderr))
        with open(cls.page, encoding="utf-8") as f:
            cls.html = f.read()
        cls.layouts = None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_export(self, *args, conf=None):
        env = dict(os.environ)
        env.pop("REFSYNC_CONFIG", None)
        env["REFSYNC_TEST_NOW"] = str(GENERATED)
        return subprocess.run([self.bin, "-c", conf or self.conf] + list(args), env=env, capture_output=True,
                              text=True, timeout=120)

    def export(self, *args, conf=None):
        r = self.run_export(*args, conf=conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def csv_records(self, *args):
        """The records of a CSV export, without its last line (the head line, not a record)."""
        text = self.export(*args)
        head = text.rindex("# refsync-export-head v1 format=csv ")
        self.assertEqual(text[head:].count("\n"), 1)
        return list(csv.DictReader(io.StringIO(text[:head], newline="")))

    def total(self, name, page=None):
        m = re.search(r'<td id="%s">([^<]*)</td>' % name, page or self.html)
        self.assertIsNotNone(m, name)
        return m.group(1)

    def section(self, name):
        m = re.search(r'<section id="%s">.*?</section>' % name, self.html, re.S)
        self.assertIsNotNone(m, name)
        return m.group(0)

    # ------------------------------------------------------------------ counting

    def test_requests_started_counts_only_requests_refsync_started(self):
        # five requests linked to refsync's creates, one made in Crosschq by hand
        self.assertEqual(self.total("requests-started"), "5")
        self.assertEqual(self.total("requests-foreign"), "1")
        bars = re.findall(r"<title>Week of (\S+): (\d+) requests? started</title>", self.section("chart"))
        self.assertEqual(sum(int(n) for _, n in bars), 5)
        # the hand-made request is still listed, as not started by refsync
        row = re.search(r"<tr>(?:(?!</tr>).)*%s(?:(?!</tr>).)*</tr>" % self.world.foreign, self.html, re.S)
        self.assertIsNotNone(row)
        self.assertIn("<td>someone else</td>", row.group(0))

    def test_a_failure_retried_later_is_still_a_failed_action(self):
        self.assertEqual(self.total("actions-failed"), "2")
        failed = self.section("failed-actions")
        self.assertIn(RETRIED_ERROR, failed)
        self.assertIn(STILL_FAILED_ERROR, failed)
        rows = re.findall(r"<tr>.*?</tr>", failed.split("<tbody>", 1)[1], re.S)
        self.assertEqual(len(rows), 2)
        self.assertIn("done after a retry", rows[0])
        self.assertIn('title="%s"' % self.world.retried_key, rows[0])
        self.assertIn("Maria-Magdalena", rows[0])  # the candidate's name, before the ids
        self.assertIn(">failed<", rows[1])
        # a window after the failure and before the retry's success: still one failure
        page = self.export("--format", "html", "--from", "2026-01-06", "--to", "2026-01-07")
        self.assertEqual(self.total("actions-failed", page), "1")

    # ------------------------------------------------------------------ header, ids, links

    def test_header_names_the_tenant_and_the_generation_time(self):
        self.assertIn('<span id="tenant">Acme &lt;Robotics&gt; &amp; Co</span>', self.html)
        self.assertIn('<p class="meta" id="generated">Generated <time datetime="%s"' % GENERATED_ISO,
                      self.html)
        self.assertIn("<span>2026-02-10</span> <span>00:00</span></time> UTC", self.html)
        # without the key: the instance's name from NAME.conf, else a hint
        named = os.path.join(self.dir, "acme-eu.conf")
        plain = os.path.join(self.dir, "plain", "refsync.conf")
        os.makedirs(os.path.dirname(plain), exist_ok=True)
        for path in (named, plain):
            with open(path, "w") as f:
                f.write("[sync]\ndatabase = %s\n" % self.db)
        self.assertIn('<span id="tenant">acme-eu</span>', self.export("--format", "html", conf=named))
        self.assertIn("Tenant not named: set [export] tenant_name", self.export("--format", "html", conf=plain))

    def test_ids_are_shortened_with_the_whole_id_on_hover(self):
        for request_id, opportunity_id, _ in self.world.ours:
            for ident in (request_id, opportunity_id):
                self.assertIn('<span class="id" title="%s">%s&#8230;</span>' % (ident, ident[:8]), self.html)
                self.assertNotIn(">%s<" % ident, self.html)

    def test_report_urls_are_links_only_when_http(self):
        hrefs = re.findall(r'<a href="([^"]*)"', self.html)
        self.assertEqual(hrefs, [self.world.ours[0][2].replace("&", "&amp;"), self.world.ours[1][2]])
        self.assertNotIn('href="javascript', self.html)
        self.assertIn('title="javascript:alert(document.cookie)">javascri&#8230;</span>', self.html)

    def test_names_come_before_ids(self):
        heads = re.findall(r'<th scope="col" data-col="([a-z_]+)">', self.section("requests"))
        self.assertEqual(heads, ["candidate_name", "posting", "status", "hold_reason", "created_at",
                                 "completed_at", "report_url", "hired", "started_by", "template_id",
                                 "request_id", "opportunity_id"])
        heads = re.findall(r'<th scope="col" data-col="([a-z_]+)">', self.section("holds"))
        self.assertEqual(heads[:3], ["candidate_name", "posting", "reason"])

    # ------------------------------------------------------------------ layout in Chromium

    def layout(self):
        """Measure the report at 1,280 x 800 px (screen) and at A4 (print); keep the PNGs and PDF."""
        if ReportTest.layouts is not None:
            return ReportTest.layouts
        browser = find_browser()
        if not browser:
            self.skipTest("no headless Chromium (apt-get install chromium-headless-shell)")
        keep = os.environ.get("REFSYNC_REPORT_PNG_DIR")
        tools = DevTools(browser, os.path.join(self.dir, "chromium"))
        try:
            url = "file://" + self.page
            tools.open(url, VIEW_WIDTH, VIEW_HEIGHT)
            screen = json.loads(tools.evaluate(MEASURE_JS))
            png = tools.screenshot(VIEW_WIDTH, 2400)
            tools.open(url, A4_PRINT_WIDTH, 700, media="print")
            paper = json.loads(tools.evaluate(MEASURE_JS))
            paper_png = tools.screenshot(A4_PRINT_WIDTH, 2400)
            pdf = tools.pdf()
        finally:
            tools.close()
        if keep:
            os.makedirs(keep, exist_ok=True)
            for name, data in (("report-1280.png", png), ("report-a4.png", paper_png), ("report.pdf", pdf)):
                with open(os.path.join(keep, name), "wb") as f:
                    f.write(data)
        ReportTest.layouts = {"screen": screen, "paper": paper, "png": png, "pdf": pdf}
        return ReportTest.layouts

    def assert_fits(self, m, width, where):
        # width: what the page has, less a classic scroll bar when the page scrolls down
        self.assertLessEqual(m["vw"], width, where)
        self.assertGreaterEqual(m["vw"], width - 20, where)
        width = m["vw"]
        self.assertLessEqual(m["pageWidth"], width, "%s: the page scrolls sideways" % where)
        for t in m["tables"]:
            self.assertEqual(t["hidden"], 0, "%s: table in #%s hides %s px" % (where, t["section"], t["hidden"]))
            self.assertLessEqual(t["right"], width + 0.5, "%s: table in #%s" % (where, t["section"]))
        # ids on one line each (they used to wrap one character per line)
        for key in ("requests/Request", "requests/Opportunity", "holds/Opportunity", "runs/Invocation"):
            col = m["cols"][key]
            self.assertIsNotNone(col, key)
            self.assertTrue(col["cells"], key)
            for cell in col["cells"]:
                self.assertEqual(cell["lines"], 1, "%s: %s: %r" % (where, key, cell))
                self.assertTrue(cell["title"] and cell["title"].startswith(cell["text"].rstrip("\u2026")),
                                "%s: %s: %r" % (where, key, cell))
        # the hold reason is on the page, readable (a few lines, not a character per line)
        for key in ("requests/Hold reason", "holds/Reason"):
            col = m["cols"][key]
            self.assertIsNotNone(col, key)
            self.assertGreaterEqual(col["left"], 0, key)
            self.assertLessEqual(col["right"], width + 0.5, "%s: %s is off-screen" % (where, key))
            self.assertGreaterEqual(col["width"], 100, key)
            self.assertEqual([c["text"] for c in col["cells"]], [HOLD_REASON])
            self.assertLessEqual(col["cells"][0]["lines"], 8, "%s: %s" % (where, key))
        name = m["cols"]["requests/Candidate"]
        self.assertIn(LONG_NAME, [c["text"] for c in name["cells"]])
        # short names on one line; the 50-character one wraps at its spaces and hyphens only
        for cell in name["cells"]:
            self.assertLessEqual(cell["lines"], 1 if len(cell["text"]) <= 20 else 4, "%s: %r" % (where, cell))
        self.assertEqual(m["links"], [u for _, _, u in self.world.ours if u and u.startswith("https://")])
        self.assertEqual(m["tenant"], TENANT)
        self.assertEqual(m["generated"], GENERATED_ISO)

    def test_layout_at_1280_px(self):
        m = self.layout()["screen"]
        self.assert_fits(m, VIEW_WIDTH, "1280 px")
        self.assertEqual(self.layout()["png"][:8], b"\x89PNG\r\n\x1a\n")

    def test_layout_printed_on_a4(self):
        layout = self.layout()
        self.assert_fits(layout["paper"], A4_PRINT_WIDTH, "A4 print")
        pdf = layout["pdf"]
        self.assertEqual(pdf[:5], b"%PDF-")
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        self.assertTrue(boxes)
        for w, h in boxes:
            self.assertAlmostEqual(float(w), A4_POINTS[0], delta=1.5)
            self.assertAlmostEqual(float(h), A4_POINTS[1], delta=1.5)

    # ------------------------------------------------------------------ dry runs in the exports

    def test_dry_runs_are_marked_in_every_export(self):
        self.assertEqual(self.total("runs"), "2")
        self.assertEqual(self.total("runs-failed"), "1")
        self.assertEqual(self.total("runs-dry"), "2")
        runs = self.section("runs")
        self.assertEqual(runs.count("(dry run: nothing sent)"), 2)
        self.assertIn("<td>run (dry run: nothing sent)</td>", runs)
        self.assertIn("<td>backfill (dry run: nothing sent)</td>", runs)
        rows = self.csv_records("--format", "csv", "--kind", "runs")
        self.assertEqual([(r["id"], r["dry_run"]) for r in rows], [("1", "0"), ("2", "1"), ("3", "0"), ("4", "1")])
        events = self.csv_records("--format", "csv")
        self.assertEqual([e["seq"] for e in events if e["dry_run"] == "1"], ["5", "6"])
        self.assertEqual({e["dry_run"] for e in events if e["seq"] not in ("5", "6")}, {""})
        for kind in ("runs", "events"):
            data = self.export("--format", "xml", "--kind", kind)
            path = os.path.join(self.dir, "dry-%s.xml" % kind)
            with open(path, "w", encoding="utf-8") as f:
                f.write(data)
            r = subprocess.run(["xmllint", "--noout", "--schema", XSD, path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            root = ET.fromstring(data)
            if kind == "runs":
                self.assertEqual([r.get("dry_run") for r in root.findall("run")], ["0", "1", "0", "1"])
            else:
                self.assertEqual([e.get("seq") for e in root.findall("event") if e.get("dry_run") == "1"],
                                 ["5", "6"])


def status_runs(tenant):
    r = tenant.run("status", "--json")
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return json.loads(r.stdout)["runs"]


class DryRunStatusTest(unittest.TestCase):
    def test_status_marks_dry_runs_and_the_migration_marks_old_ones(self):
        with harness.Tenant() as t:
            for args in (("run", "--dry-run"), ("run",)):
                r = t.run(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
            runs = status_runs(t)
            self.assertEqual([(x["id"], x["command"], x["dry_run"]) for x in runs],
                             [(2, "run", 0), (1, "run", 1)])
            text = t.run("status").stdout
            lines = [line for line in text.splitlines() if re.match(r"\s+#\d", line)]
            self.assertEqual(len(lines), 2, text)
            self.assertRegex(lines[0], r"^\s+#2\s+run\s+\d{4}-")
            self.assertRegex(lines[1], r"^\s+#1\s+run \(dry run\)\s+\d{4}-")
            # a database from before the column: status still reads it; the migration marks the
            # dry runs it recorded from their run.end events
            # (schema 5: 006_dry_runs and what came after it, 007_dismissed, undone)
            db = sqlite3.connect(t.path("state", "refsync.db"))
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 7)
            db.execute("ALTER TABLE runs DROP COLUMN dry_run")
            db.execute("ALTER TABLE outbox DROP COLUMN dismissed_at")
            db.execute("PRAGMA user_version = 5")
            db.commit()
            db.close()
            self.assertEqual([(x["id"], x["dry_run"]) for x in status_runs(t)], [(2, 0), (1, 0)])
            self.assertNotIn("(dry run)", t.run("status").stdout)
            r = t.run("run", "--dry-run")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([(x["id"], x["dry_run"]) for x in status_runs(t)], [(3, 1), (2, 0), (1, 1)])


if __name__ == "__main__":
    unittest.main()
