#!/usr/bin/env python3
"""The dashboard as a viewer, and on a phone-width screen (issue 13):

- a viewer token sees no create, trigger, pause, edit, delete, drain or
  push button, and the job's secret header as "***" (never its value);
- a page the role may not read (the audit log, admin only) shows a clear
  403 message naming the role it needs;
- at 390 px wide no page scrolls sideways (tables scroll in their box),
  and the navigation is reachable with the keyboard;
- log out forgets the token: a reload shows the login form.
Screenshots go to var/ui/.
"""

from uihelp import Ui, log  # first: it finds Debian's selenium
from harness import run_scenario
from selenium.webdriver.common.keys import Keys

SECRET = "Bearer s3cret-value-of-the-job"


def make_viewer(c):
    st, tok = c.api("POST", "/api/v1/tokens", {"name": "ui-viewer", "role": "viewer"})
    assert st == 201, tok
    return tok["token"]


def check_viewer(c, ui):
    ui.login(c.viewer)
    ui.wait(lambda: "viewer" in ui.text("whoami"), what="logged in as the viewer")
    assert not ui.visible("nav-audit-link") and not [
        a for a in ui.css("#nav a") if a.get_attribute("href").endswith("#/audit") and a.is_displayed()]
    ui.go("#/jobs")
    ui.wait(lambda: any("guarded" in r for r in ui.rows("jobs-table")), what="the job listed")
    assert not ui.visible("job-new"), "a viewer sees the create button"
    ui.go("#/job/default/guarded")
    ui.wait(lambda: "guarded" in ui.text("jd-def"), what="the job's page")
    definition = ui.text("jd-def")
    assert "***" in definition and "s3cret" not in definition, definition
    for b in ("jd-trigger", "jd-pause", "jd-resume", "jd-edit", "jd-delete"):
        assert not ui.visible(b), "a viewer sees #%s" % b
    ui.shot("viewer-job-detail")
    ui.go("#/nodes")
    ui.wait(lambda: len(ui.rows("nodes-table")) == 1, what="the node listed")
    assert not [b for b in ui.css("#nodes-table button") if b.is_displayed()], "drain shown"
    ui.go("#/plugins")
    ui.wait(lambda: ui.css("#plugins-table tbody tr"), what="plug-ins page")
    assert not ui.visible("pl-form"), "a viewer sees the push form"
    ui.go("#/audit")
    ui.wait(lambda: "Not allowed" in ui.flash(), what="a 403 message")
    msg = ui.flash()
    assert "admin" in msg and "viewer" in msg, msg
    ui.shot("viewer-403")
    log("viewer: no write buttons, secret header redacted, 403 shown: %s" % msg)


def check_phone(c, ui):
    ui.login(c.token)
    ui.wait(lambda: ui.visible("logout"), what="logged in")
    width = ui.d.execute_script("return window.innerWidth")
    assert width <= 420, "the window is %d px wide" % width
    for page, ready in (("#/overview", "ov-nodes-active"), ("#/jobs", "jobs-table"),
                        ("#/job/default/guarded", "jd-runs"), ("#/runs", "runs-table"),
                        ("#/nodes", "nodes-table"), ("#/plugins", "plugins-table"),
                        ("#/audit", "audit-table"), ("#/jobs/new", "f-schedule")):
        ui.go(page)
        ui.wait(lambda: ui.visible(ready), what=page)
        ui.wait(ui.no_horizontal_overflow, timeout=5, what="no sideways scroll on " + page)
        ui.shot("phone-" + (page.strip("#/").replace("/", "-") or "overview"))
    # Keyboard: Tab from the top reaches the navigation links.
    ui.go("#/overview")
    body = ui.css("body")[0]
    body.send_keys(Keys.TAB)
    reached = set()
    for _ in range(12):
        reached.add(ui.d.switch_to.active_element.text)
        ui.d.switch_to.active_element.send_keys(Keys.TAB)
    assert {"Jobs", "Runs", "Nodes"} <= reached, reached
    log("phone width %d px: no page scrolls sideways; nav reachable by keyboard" % width)
    ui.el("logout").click()
    ui.wait(lambda: ui.visible("login"), what="the login form")
    ui.d.refresh()
    ui.wait(lambda: ui.visible("login") and not ui.visible("logout"), what="still logged out")


def scenario(c):
    c.create_job("guarded", "@every 1h", c.hits.url("/g"),
                 **{"http": {"url": c.hits.url("/g"), "headers": {"Authorization": SECRET}}})
    c.viewer = make_viewer(c)
    ui = Ui(c)
    try:
        check_viewer(c, ui)
    finally:
        ui.close()
    ui = Ui(c, width=390, height=844)
    try:
        check_phone(c, ui)
    finally:
        ui.close()


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
