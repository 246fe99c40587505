#!/usr/bin/python3
"""make demo: the whole connector against the loopback fakes, end to end.

SIMULATED: Lever, Crosschq and the SMTP relay are the fakes in tests/fakes/,
seeded with a small sandbox tenant (tests/fakes/sandbox.json). Everything else
is the real refsync, refsync-hook and refsync-export. The story:

  1. first run: pulls the tenant; candidates who entered "Reference Check"
     since trigger_since get one Crosschq request each, shaped by the
     [template NAME] whose ats_tag matches the job (one is held: its job has
     no matching template tag);
  2. a recruiter moves one more candidate into the stage, and Lever sends the
     signed stage-change webhook, which refsync-hook spools;
  3. Crosschq completes two requests and sends its request-status webhooks
     (Token auth), which refsync-hook spools; a candidate is hired in Lever;
  4. second run: the webhook's candidate gets a request, report links and
     notes go onto Lever, the hire goes to Crosschq (the fake offers the
     assumed "hire" capability, which refsync probes before using it);
  5. sixteen days later (REFSYNC_TEST_NOW) the owners of still-undecided
     candidates get the follow-up email;
  6. exports: XML (validated against schema/audit.xsd), CSV and HTML.

The results are copied to ./demo/ (database, exports, mails, logs).
"""
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "e2e"))
import harness  # noqa: E402

OUT = os.path.join(ROOT, "demo")
DAY = 86400000
# the sandbox tenant's templates (the sandbox's surveys: tests/fakes/gen_tenant.py sandbox())
SANDBOX_TEMPLATES = {
    "template engineering": harness.template_section(
        "engineering", "software-engineer", managers=2, peers=1,
        candidate_message="Please include a manager from your last company."),
    "template sales": harness.template_section("sales", "account-executive", managers=1, peers=1,
                                               business=1),
    "template design": harness.template_section("design", "product-designer", managers=1, peers=2),
    "template customer-success": harness.template_section(
        "customer-success", "customer-success", managers=1, peers=0, business=1,
        hiring_manager="Tomás Berg <tomas.berg@example.com>"),
}


def step(title):
    print("\n== " + title)


def show(result, what):
    for line in (result.stdout + result.stderr).splitlines():
        print("   " + line)
    print("   (%s exited %d)" % (what, result.returncode))
    return result


def write_demo_conf(t):
    """demo/refsync.conf: the tenant's config with the database and the spool in demo/, so
    that `refsync -c demo/refsync.conf status` (and plan, refsync-export) work once the
    fakes and the temporary directory are gone. Its secret files went with them."""
    os.makedirs(os.path.join(OUT, "spool"), exist_ok=True)
    lines = ["; the demo's tenant, after `make demo`: the database and the spool are in this",
             "; directory; the fakes and the secret files below are gone, so status, plan and",
             "; refsync-export work, run and check do not"]
    for section, values in t.conf.items():
        values = dict(values)
        if section == "sync":
            values["database"] = os.path.join(OUT, "refsync.db")
            values["spool"] = os.path.join(OUT, "spool")
        lines += ["", "[%s]" % section]
        lines += ["%s = %s" % (k, v) if v != "" else "%s =" % k for k, v in values.items()]
    with open(os.path.join(OUT, "refsync.conf"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    with harness.Tenant() as t:
        t.write_conf({name: None for name in t.conf if name.startswith("template ")})
        t.write_conf({"sync": {"trigger_since": "2026-11-01T00:00:00Z"},
                      "lever": {"perform_as": t.lever.state()["users"][0]["id"]},
                      "export": {"tenant_name": "Sandbox tenant (simulated Lever and Crosschq)"}})
        t.write_conf(SANDBOX_TEMPLATES)
        # SIMULATED: this sandbox Crosschq offers setting the hired status and cancelling,
        # which nothing public documents; refsync probes them before it uses them
        t.crosschq.capabilities(hire=True, hired_field=True, cancel=True)
        step("refsync check: config, secrets, Lever, Crosschq, SMTP")
        show(t.run("check"), "refsync check")
        step("first run")
        show(t.run("run"), "refsync run")

        step("a candidate enters Reference Check; Lever's webhook reaches refsync-hook")
        state = t.lever.state()
        stage = [s["id"] for s in state["stages"] if s["text"] == "Reference Check"][0]
        candidate = [o for o in state["opportunities"]
                     if o.get("stage") != stage and not o.get("archived") and o.get("emails")
                     and not o.get("isAnonymized")][0]
        t.lever.mutate([{"op": "move_stage", "id": candidate["id"], "stage_id": stage}])
        body = t.webhook("candidateStageChange", {"opportunityId": candidate["id"],
                                                  "toStageId": stage}, kind="stage-change")
        hook = t.run_hook({"PATH_INFO": "/lever/stage-change", "CONTENT_TYPE": "application/json"},
                          body)
        print("   refsync-hook answered %s" % hook.status)

        step("Crosschq completes two requests and sends its webhooks; one candidate is hired in Lever")
        made = [c["request_id"] for c in t.crosschq.state()["creates"]]
        requests = [r for r in t.crosschq.state()["requests"] if r["id"] in made]
        done = [r for r in requests if r["status"] in ("Pending", "In Progress")][:2]
        t.crosschq.mutate([{"op": "complete", "id": r["id"]} for r in done])
        delivered = t.deliver_crosschq_webhooks()
        for item, answer in delivered:
            print("   Crosschq webhook %s (%s) -> refsync-hook answered %s"
                  % (item["request_id"], item["status"], answer.status))
        hired_reason = [r["id"] for r in state["archive_reasons"] if r["type"] == "hired"][0]
        by_email = {o["emails"][0].lower(): o["id"] for o in state["opportunities"] if o.get("emails")}
        hired_opp = by_email[done[0]["candidate"]["email"].lower()]
        t.lever.mutate([{"op": "archive", "id": hired_opp, "reason": hired_reason}])

        step("second run")
        show(t.run("run"), "refsync run")

        step("sixteen days later: the follow-up prompts")
        later = str(int(time.time() * 1000) + 16 * DAY)
        show(t.run("run", env={"REFSYNC_TEST_NOW": later}), "refsync run")
        print("   %d email(s) delivered to the SMTP sink" % len(t.mails()))

        step("refsync status")
        show(t.run("status"), "refsync status")

        step("exports")
        for fmt, kind, name in (("xml", "events", "audit-events.xml"), ("csv", "events", "audit-events.csv"),
                                ("csv", "requests", "requests.csv"), ("html", None, "report.html")):
            args = ["--format", fmt, "-o", os.path.join(OUT, name)]
            if kind:
                args += ["--kind", kind]
            r = t.run_export(*args)
            print("   %-18s exit %d %s" % (name, r.returncode, r.stderr.strip()))
        xsd = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(ROOT, "schema", "audit.xsd"),
                              os.path.join(OUT, "audit-events.xml")], capture_output=True, text=True)
        print("   xmllint: " + (xsd.stderr.strip() or "ok"))
        r = t.run_export("--verify")
        print("   refsync-export --verify: " + (r.stdout + r.stderr).strip())

        shutil.copytree(t.path("mail"), os.path.join(OUT, "mail"))
        shutil.copy(t.path("state", "refsync.db"), os.path.join(OUT, "refsync.db"))
        write_demo_conf(t)
        for name in ("lever.log", "crosschq.log"):
            shutil.copy(t.path("fakes", name), os.path.join(OUT, "fake-" + name))
    # the tenant's directory is gone now: the copied config must still work on its own
    status = subprocess.run([harness.binary("refsync"), "-c", os.path.join(OUT, "refsync.conf"), "status"],
                            capture_output=True, text=True)
    if status.returncode != 0 or not re.search(r"^Last runs:\n +#\d+ +run ", status.stdout, re.M):
        sys.exit("demo: refsync -c demo/refsync.conf status exited %d without the demo's runs: %s"
                 % (status.returncode, (status.stdout + status.stderr).strip()[:400]))
    print("\nDemo output in %s:" % OUT)
    for name in sorted(os.listdir(OUT)):
        print("   " + os.path.join(OUT, name))
    print("Open %s in a browser for the auditors' report." % os.path.join(OUT, "report.html"))


if __name__ == "__main__":
    main()
