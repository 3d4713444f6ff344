#!/usr/bin/env python3
"""The dashboard served by a standby master, in a real browser (issue 13):

- the Overview lists both masters from GET /api/v1/masters: the leader
  and the standby, each up, with the leader's epoch;
- a job created through the standby's form is created (the standby passes
  the write to the leader, server-side: the browser's token never crosses
  origins) and its "Created" message still shows on the job's page that
  follows; an edit's "Saved" message too;
- the jobs page filters by node server-side (the worker's name lists the
  job, another name none) and by last-run status;
- pausing the job with a note on the standby's page pauses it on the
  leader.
"""

from uihelp import Ui, log  # first: it finds Debian's selenium
from harness import run_scenario
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

JOB = "ui-standby"


def overview(c, ui, epoch):
    ui.wait(lambda: len(ui.rows("ov-masters")) == 2, what="two masters on the overview")
    rows = ui.rows("ov-masters")
    assert "leader" in rows[0] and "up" in rows[0] and str(epoch) in rows[0], rows
    assert "standby" in rows[1] and "up" in rows[1] and str(epoch) in rows[1], rows
    assert ui.text("ov-role") == "standby", ui.text("ov-role")
    ui.shot("standby-overview")
    log("standby's overview: %s" % " | ".join(rows))


def create_and_edit(c, ui, leader_url):
    ui.go("#/jobs/new")
    ui.wait_el("f-name").send_keys(JOB)
    ui.el("f-schedule").send_keys("@every 1h")
    ui.el("f-http-url").send_keys(c.hits.url("/sb"))
    ui.el("f-submit").click()
    ui.wait(lambda: ui.visible("jd-def") and JOB in ui.text("jd-def"), what="the job's page")
    assert ("Created " + JOB) in ui.flash(), repr(ui.flash())
    st, job = c.api_at(leader_url, "GET", "/api/v1/jobs/" + JOB)
    assert st == 200 and job["schedule"] == "@every 1h", (st, job)
    ui.go("#/job/default/%s/edit" % JOB)
    sched = ui.wait_el("f-schedule")
    ui.wait(lambda: sched.get_property("value") == "@every 1h", what="the form filled in")
    sched.clear()
    sched.send_keys("@every 2h")
    ui.el("f-submit").click()
    ui.wait(lambda: '"version": 2' in ui.text("jd-def"), what="the saved job's page")
    assert ("Saved " + JOB) in ui.flash(), repr(ui.flash())
    ui.shot("standby-saved")
    assert c.api_at(leader_url, "GET", "/api/v1/jobs/" + JOB)[1]["schedule"] == "@every 2h"
    log("created and edited through the standby; 'Created' and 'Saved' shown on the next page")


def filters(c, ui, node):
    ui.go("#/jobs")
    box = ui.wait_el("jobs-node")
    box.send_keys(node, Keys.TAB)
    ui.wait(lambda: [r.split()[0] for r in ui.rows("jobs-table")] == [JOB],
            what="the job listed under its node")
    box.clear()
    box.send_keys("elsewhere", Keys.TAB)
    ui.wait(lambda: ui.rows("jobs-table") == [] and "No jobs match" in ui.text("jobs-table"),
            what="no job on another node")
    box.clear()
    box.send_keys(Keys.TAB)
    Select(ui.el("jobs-last")).select_by_value("failed")
    ui.wait(lambda: "No jobs match" in ui.text("jobs-table"), what="no job whose last run failed")
    log("jobs page: node=%s lists the job, another node none; last run 'failed' none" % node)


def pause(c, ui, leader_url):
    ui.go("#/job/default/" + JOB)
    ui.wait(lambda: ui.visible("jd-pause"), what="the pause button")
    ui.el("jd-note").send_keys("through the standby")
    ui.el("jd-pause").click()
    ui.wait(lambda: ui.text("jd-status") == "paused", what="paused")
    st, job = c.api_at(leader_url, "GET", "/api/v1/jobs/" + JOB)
    assert job["status"] == "paused" and job["pause_note"] == "through the standby", job
    log("paused on the standby's page: paused on the leader")


def scenario(c):
    leader_url, standby_url = c.master_urls
    epoch = c.api_at(leader_url, "GET", "/healthz", token=None)[1]["epoch"]
    node = c.wait_until(lambda: (c.active_nodes() or [None])[0], timeout=20, what="a worker")
    c.wait_until(lambda: len(c.api_at(standby_url, "GET", "/api/v1/masters")[1]["masters"]) == 2,
                 timeout=20, what="both masters beating")
    ui = Ui(c)
    try:
        ui.d.get(standby_url + "/")
        ui.wait_el("token").send_keys(c.token)
        ui.el("login-btn").click()
        overview(c, ui, epoch)
        create_and_edit(c, ui, leader_url)
        c.wait_until(lambda: c.job_node(JOB) == node, timeout=20, what="the job placed")
        filters(c, ui, node)
        pause(c, ui, leader_url)
    finally:
        ui.close()


if __name__ == "__main__":
    run_scenario(scenario, workers=1, masters=2)
