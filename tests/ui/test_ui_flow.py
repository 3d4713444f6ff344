#!/usr/bin/env python3
"""The dashboard in a real browser (headless chromium), as an admin, on a
real master with two workers (issue 13):

- a wrong token is refused on the login form; the admin token logs in;
- the overview's numbers are the API's (active nodes, jobs by status);
- the nodes page shows both workers;
- a job created through the form: a bad schedule first, whose error shows
  next to the schedule field (and the live explain says the same), then a
  good one whose next fires the form lists; the job fires (the hit server
  sees it) and its run appears on the job's page with status and duration;
  the run's detail shows the job's output;
- pause with a note (shown on the job's page and in the jobs list),
  resume, trigger (a run with trigger "manual");
- edit through the form: saved (PUT), the new version shown, the API
  answers the changed field;
- drain a node from the nodes page (the API then says draining), activate.
Screenshots of each page go to var/ui/.
"""

import time

from uihelp import Ui, log, wait_until  # first: it finds Debian's selenium
from harness import run_scenario
from selenium.webdriver.support.ui import Select

JOB = "ui-job"


def check_login_overview(c, ui):
    ui.login("hg_" + "A" * 43)
    ui.wait(lambda: "unknown" in ui.text("login-error"), what="the login error")
    ui.login(c.token)
    ui.wait(lambda: ui.visible("logout") and ui.text("ov-nodes-active") == "2",
            what="the overview with 2 active nodes")
    st, body = c.api("GET", "/api/v1/jobs?status=active&limit=1")
    assert ui.text("ov-jobs-active") == str(body["total"]), (ui.text("ov-jobs-active"), body)
    health = c.health()
    assert ui.text("ov-epoch") == str(health["epoch"]), (ui.text("ov-epoch"), health)
    assert ui.text("ov-role") == "leader"
    assert "bootstrap-admin" in ui.text("whoami")
    ui.shot("overview")
    ui.go("#/nodes")
    ui.wait(lambda: len(ui.rows("nodes-table")) == 2, what="two nodes listed")
    names = sorted(r.split()[0] for r in ui.rows("nodes-table"))
    assert names == sorted(c.workers), names
    ui.shot("nodes")
    log("login (a bad token refused), overview numbers as the API's, both workers listed")


def create_through_form(c, ui):
    ui.go("#/jobs")
    ui.wait_el("job-new").click()
    ui.wait_el("f-name").send_keys(JOB)
    ui.el("f-schedule").send_keys("0 0 12 32 * ?")
    ui.el("f-http-url").send_keys(c.hits.url("/ui-job"))
    ui.wait(lambda: "day-of-month" in ui.text("err-schedule"), what="live explain error")
    ui.el("f-submit").click()
    ui.wait(lambda: ui.text("err-schedule").startswith("schedule:"), what="the API's schedule error")
    st, body = c.api("POST", "/api/v1/jobs", {"name": "x", "schedule": "0 0 12 32 * ?",
                                               "http": {"url": c.hits.url("/x")}})
    assert ui.text("err-schedule") == body["error"]["message"], (ui.text("err-schedule"), body)
    ui.shot("job-form-error")
    sched = ui.el("f-schedule")
    sched.clear()
    sched.send_keys("@every 2s")
    ui.wait(lambda: len(ui.css("#f-explain li")) == 5 and not ui.text("err-schedule"),
            what="five next fires listed")
    ui.shot("job-form")
    ui.el("f-submit").click()
    ui.wait(lambda: ui.visible("jd-def") and JOB in ui.text("jd-def"), what="the job's page")
    c.wait_until(lambda: c.hits.count("/ui-job") >= 1, timeout=20, what="the job fired")
    ui.wait(lambda: any("success" in r and " ms" in r for r in ui.rows("jd-runs")), timeout=20,
            what="a successful run with its duration on the job's page")
    # Newest first: the top row may be a run still in flight, with no
    # output yet; open one that has finished.
    done = [r for r in ui.css("#jd-runs tbody tr.clickable") if "success" in r.text]
    assert done, "no finished run to open"
    done[0].click()
    ui.wait(lambda: '"ok": true' in ui.text("run-output"), what="the run's output")
    ui.shot("job-detail")
    log("form: bad schedule error next to the field; created, fired, run with output shown")


def pause_resume_trigger(c, ui):
    ui.el("jd-note").send_keys("maintenance window")
    ui.el("jd-pause").click()
    ui.wait(lambda: ui.text("jd-status") == "paused", what="paused")
    job = c.job(JOB)
    assert job["status"] == "paused" and job["pause_note"] == "maintenance window", job
    ui.wait(lambda: ui.text("jd-m-pause-note") == "maintenance window", what="the note on the job's page")
    ui.go("#/jobs")
    ui.wait(lambda: any(JOB in r and "paused (maintenance window)" in r for r in ui.rows("jobs-table")),
            what="the note in the jobs list")
    ui.go("#/job/default/" + JOB)
    ui.wait(lambda: ui.text("jd-status") == "paused" and ui.visible("jd-resume"), what="the job's page again")
    ui.wait(lambda: ui.visible("jd-resume"), what="a resume button")
    ui.el("jd-resume").click()
    ui.wait(lambda: ui.text("jd-status") == "active", what="active again")
    assert c.job(JOB)["status"] == "active"
    # A resumed job is placed again first; a trigger before that is
    # refused (409 no_worker), which the page would show.
    c.wait_until(lambda: c.job_node(JOB), timeout=20, what="the job placed again")
    before = len(c.api("GET", "/api/v1/runs?job=%s&limit=1000" % JOB)[1]["runs"])
    ui.el("jd-trigger").click()


    def accepted():
        text = ui.flash()
        assert text in ("", "Triggered"), "the trigger was refused: %s" % text
        return text == "Triggered"
    wait_until(accepted, timeout=20, what="the trigger accepted")

    def manual_run():
        runs = c.api("GET", "/api/v1/runs?job=%s&limit=1000" % JOB)[1]["runs"]
        return [r for r in runs if r["trigger"] != "schedule"] if len(runs) > before else None
    c.wait_until(manual_run, timeout=20, what="a triggered run")
    ui.wait(lambda: any("manual" in r or "trigger" in r for r in ui.rows("jd-runs")),
            what="the triggered run on the page")
    log("pause with a note, resume, trigger")


def edit_through_form(c, ui):
    """The form's edit path saves (PUT with the version read): the job's
    page then shows the new version and the API the changed field."""
    before = c.job(JOB)
    ui.el("jd-edit").click()
    to = ui.wait_el("f-timeout")
    ui.wait(lambda: ui.el("f-schedule").get_property("value") == before["schedule"], what="the form filled in")
    to.clear()
    to.send_keys("17s")
    ui.el("f-submit").click()
    ui.wait(lambda: '"version": %d' % (before["version"] + 1) in ui.text("jd-def"),
            what="the new version on the job's page")
    assert ui.d.current_url.endswith("#/job/default/" + JOB), ui.d.current_url
    after = c.job(JOB)
    assert after["version"] == before["version"] + 1 and after["timeout"] == "17s", after
    assert '"timeout": "17s"' in ui.text("jd-def"), ui.text("jd-def")
    log("edit through the form: saved as version %d, timeout 17s" % after["version"])


def drain(c, ui):
    ui.go("#/nodes")
    ui.wait(lambda: len(ui.css("#nodes-table button.drain")) == 2, what="two drain buttons")
    row = ui.css("#nodes-table tbody tr")[0]
    node = row.get_attribute("data-node")
    row.find_element("css selector", "button.drain").click()
    c.wait_until(lambda: any(n["name"] == node and n["state"] == "draining" for n in c.nodes()),
                 timeout=15, what="%s draining" % node)
    ui.wait(lambda: "draining" in ui.css('#nodes-table tr[data-node="%s"]' % node)[0].text,
            what="draining shown")
    ui.shot("nodes-draining")
    ui.css('#nodes-table tr[data-node="%s"] button.activate' % node)[0].click()
    c.wait_until(lambda: any(n["name"] == node and n["state"] == "active" for n in c.nodes()),
                 timeout=15, what="%s active" % node)
    log("drained and activated %s from the nodes page" % node)


def other_pages(c, ui):
    for page, table in (("#/runs", "runs-table"), ("#/plugins", "plugins-table"),
                        ("#/audit", "audit-table"), ("#/jobs", "jobs-table")):
        ui.go(page)
        ui.wait(lambda: ui.css("#%s tbody tr" % table), what=page)
        ui.shot(page.strip("#/"))
    ui.go("#/audit")
    ui.wait(lambda: any("job.pause" in r for r in ui.rows("audit-table")),
            what="the pause in the audit log")
    Select(ui.el("audit-since")).select_by_value("1h")
    assert not ui.flash(), ui.flash()
    # The overview again, now with runs in its chart (the README's picture).
    ui.go("#/overview")
    ui.wait(lambda: ui.css("#ov-chart rect.ok"), what="runs in the overview's chart")
    ui.shot("overview-runs")


def scenario(c):
    ui = Ui(c)
    try:
        t0 = time.monotonic()
        check_login_overview(c, ui)
        create_through_form(c, ui)
        pause_resume_trigger(c, ui)
        edit_through_form(c, ui)
        drain(c, ui)
        other_pages(c, ui)
        log("browser part: %.1f s" % (time.monotonic() - t0))
    except BaseException:
        try:
            ui.shot("failure-flow")
        finally:
            raise
    finally:
        ui.close()


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
