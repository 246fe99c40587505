#!/usr/bin/python3
"""make memcheck: the demo's story with every refsync program under valgrind memcheck.

The binaries are the normal (non-sanitized, -g) build in build/normal/bin. A temporary
directory of wrapper scripts stands in for them (REFSYNC_BIN_DIR, see tests/e2e/harness.py):
each wrapper execs

    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
             --track-fds=no [--suppressions=tests/valgrind.supp] build/normal/bin/<program>

so a memory error, or a definite or indirect leak, turns the program's exit code into 99.
The story (as tests/demo.py tells it): check, first run (triggers), a stage change that
reaches refsync-hook as a signed Lever webhook, two completions and a hire, a second run,
a run 16 days later (REFSYNC_TEST_NOW) that mails the follow-up prompt, the owner's answer
page (GET) and answer (POST) through refsync-hook, a run that ingests the answer, status,
check, the exports (XML, CSV, HTML) and --verify. Every program must exit with the code
it is expected to (never 99). Valgrind's own reports are kept per process and shown when
non-empty. The last line is "memcheck: N passed, N failed".

Usage: /usr/bin/python3 tests/memcheck.py   (after `make normal-bins`; make memcheck does both)
Set REFSYNC_KEEP=1 to keep the tenant and the valgrind logs.
"""
import glob
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "e2e"))
import harness  # noqa: E402

PROGRAMS = ("refsync", "refsync-hook", "refsync-export")
BUILD_BIN = os.path.join(ROOT, "build", "normal", "bin")
SUPPRESSIONS = os.path.join(HERE, "valgrind.supp")
VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
DAY_MS = 86400000
# valgrind is 20-50 times slower than the program; the harness' default timeouts are for
# sanitizer builds
TIMEOUT = 600


def write_wrappers(bindir, logdir):
    """One shell script per program that runs the real binary under memcheck."""
    options = ["--error-exitcode=99", "--leak-check=full",
               "--errors-for-leak-kinds=definite,indirect", "--track-fds=no",
               "--num-callers=30", "-q", "--log-file=%s/%%q{VG_PROGRAM}.%%p.log" % logdir]
    if os.path.exists(SUPPRESSIONS):
        options.append("--suppressions=" + SUPPRESSIONS)
    for name in PROGRAMS:
        target = os.path.join(BUILD_BIN, name)
        if not os.access(target, os.X_OK):
            sys.exit("memcheck: %s is missing: run `make normal-bins` first" % target)
        path = os.path.join(bindir, name)
        with open(path, "w") as handle:
            handle.write("#!/bin/sh\n# written by tests/memcheck.py\nVG_PROGRAM=%s exec %s %s %s \"$@\"\n"
                         % (name, VALGRIND, " ".join(options), target))
        os.chmod(path, 0o755)


class Story:
    def __init__(self, logdir):
        self.logdir = logdir
        self.passed = 0
        self.failed = 0

    def expect(self, what, result, code):
        """Record one program run: its exit code must be `code`."""
        got = result.returncode
        if got == code:
            self.passed += 1
            print("memcheck: %-40s exit %d ok" % (what, got))
        else:
            self.failed += 1
            why = " (valgrind found errors)" if got == 99 else ""
            print("memcheck: %-40s exit %s, expected %d%s FAIL" % (what, got, code, why))
            err = result.stderr if isinstance(result.stderr, str) else \
                result.stderr.decode("utf-8", "replace")
            for line in err.strip().splitlines()[-15:]:
                print("    " + line)
        return result

    def check(self, what, condition, detail=""):
        """A fact about the story itself (so that it really went through every step)."""
        if condition:
            self.passed += 1
            print("memcheck: %-40s ok" % what)
        else:
            self.failed += 1
            print("memcheck: %-40s FAIL %s" % (what, detail))

    def valgrind_reports(self):
        """Non-empty valgrind logs (with -q, only errors and warnings are written)."""
        found = 0
        for path in sorted(glob.glob(os.path.join(self.logdir, "*.log"))):
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read().strip()
            if text:
                found += 1
                print("---- valgrind: %s" % os.path.basename(path))
                print(text)
        return found


def hook_env(path, method, content_type=None, query="", now_ms=None):
    """The CGI variables of one request (the harness fills in the rest)."""
    env = {"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": query}
    if now_ms is not None:
        env["REFSYNC_TEST_NOW"] = now_ms
    if content_type:
        env["CONTENT_TYPE"] = content_type
    return env


def answer_link(message):
    """The answer URL in a prompt mail."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_content()
            found = re.search(r"https?://\S+/answer\?\S+", text)
            if found:
                return found.group(0)
    return None


def story(t, s):
    state = t.lever.state()
    t.write_conf({"sync": {"trigger_since": "2026-11-01T00:00:00Z"},
                  "lever": {"perform_as": state["users"][0]["id"]}})
    s.expect("refsync check", t.run("check", timeout=TIMEOUT), 0)
    s.expect("refsync run (first: triggers)", t.run("run", timeout=TIMEOUT), 0)
    db = t.db()
    requests = db.execute("SELECT count(*) FROM cq_requests").fetchone()[0]
    db.close()
    s.check("first run started requests", requests > 0, "(%d requests)" % requests)

    # a candidate enters the trigger stage; Lever's signed webhook reaches refsync-hook
    stage = [x["id"] for x in state["stages"] if x["text"] == "Reference Check"][0]
    candidate = [o for o in state["opportunities"]
                 if o.get("stage") != stage and not o.get("archived") and o.get("emails")
                 and not o.get("isAnonymized")][0]
    t.lever.mutate([{"op": "move_stage", "id": candidate["id"], "stage_id": stage}])
    body = t.webhook("candidateStageChange", {"opportunityId": candidate["id"], "toStageId": stage})
    hook = t.run_hook(hook_env("/lever/stage-change", "POST", "application/json"), body,
                      timeout=TIMEOUT)
    s.expect("refsync-hook POST /lever/stage-change", hook, 0)
    s.check("the webhook was accepted (200)", hook.status == 200, repr(hook))

    # Crosschq completes two requests; one of those candidates is hired in Lever
    open_requests = [r for r in t.crosschq.state()["requests"]
                     if r["status"] in ("sent", "in_progress")][:2]
    t.crosschq.mutate([{"op": "complete", "id": r["id"]} for r in open_requests])
    hired_reason = [r["id"] for r in state["archive_reasons"] if r["type"] == "hired"][0]
    t.lever.mutate([{"op": "archive", "id": open_requests[0]["external_id"].split(":")[1],
                     "reason": hired_reason}])
    s.expect("refsync run (second: webhook, write-backs)", t.run("run", timeout=TIMEOUT), 0)
    candidate_requests = [r for r in t.crosschq.state()["requests"]
                          if r["external_id"].startswith("lever:%s:" % candidate["id"])]
    s.check("the webhook's candidate got a request", len(candidate_requests) == 1,
            "(%d)" % len(candidate_requests))

    # sixteen days later: the follow-up prompt
    later = int(time.time() * 1000) + 16 * DAY_MS
    s.expect("refsync run (16 days later: prompts)",
             t.run("run", env={"REFSYNC_TEST_NOW": later}, timeout=TIMEOUT), 0)
    mails = t.wait_for_mails(1)
    s.check("a follow-up prompt was mailed", len(mails) >= 1, "(%d mails)" % len(mails))
    link = answer_link(mails[0]) if mails else None
    s.check("the prompt carries an answer link", link is not None)
    if link:
        query = urllib.parse.urlsplit(link).query
        page = t.run_hook(hook_env("/answer", "GET", query=query, now_ms=later), timeout=TIMEOUT)
        s.expect("refsync-hook GET /answer", page, 0)
        s.check("the answer page was shown (200)", page.status == 200, repr(page))
        answer = t.run_hook(hook_env("/answer", "POST", "application/x-www-form-urlencoded",
                                     now_ms=later),
                            (query + "&answer=not_hired").encode(), timeout=TIMEOUT)
        s.expect("refsync-hook POST /answer", answer, 0)
        s.check("the answer was recorded (200)", answer.status == 200, repr(answer))
        s.expect("refsync run (ingests the answer)",
                 t.run("run", env={"REFSYNC_TEST_NOW": later}, timeout=TIMEOUT), 0)

    s.expect("refsync status", t.run("status", timeout=TIMEOUT), 0)
    s.expect("refsync check (after the story)", t.run("check", timeout=TIMEOUT), 0)
    out = t.path("exports")
    os.makedirs(out, exist_ok=True)
    for fmt, kind in (("xml", "events"), ("xml", "requests"), ("csv", "events"),
                      ("csv", "requests"), ("csv", "runs"), ("html", None)):
        args = ["--format", fmt, "-o", os.path.join(out, "%s-%s" % (kind or "report", fmt))]
        if kind:
            args += ["--kind", kind]
        s.expect("refsync-export %s" % " ".join(args[:2] + args[4:]),
                 t.run_export(*args, timeout=TIMEOUT), 0)
    s.expect("refsync-export --verify", t.run_export("--verify", timeout=TIMEOUT), 0)


def main():
    keep = os.environ.get("REFSYNC_KEEP") == "1"
    work = tempfile.mkdtemp(prefix="refsync-memcheck-")
    bindir, logdir = os.path.join(work, "bin"), os.path.join(work, "valgrind")
    os.makedirs(bindir)
    os.makedirs(logdir)
    write_wrappers(bindir, logdir)
    os.environ["REFSYNC_BIN_DIR"] = bindir
    s = Story(logdir)
    started = time.monotonic()
    try:
        with harness.Tenant() as t:
            story(t, s)
    finally:
        reports = s.valgrind_reports()
        print("memcheck: %d processes under valgrind, %d with a report, %.0f s" % (
            len(glob.glob(os.path.join(logdir, "*.log"))), reports, time.monotonic() - started))
        if keep or s.failed:
            print("memcheck: valgrind logs kept in %s" % logdir)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("memcheck: %d passed, %d failed" % (s.passed, s.failed))
    return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
