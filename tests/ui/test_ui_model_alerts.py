#!/usr/bin/env python3
"""The job detail's job model and dependency graph, and the alerts page,
in a real browser (issue 13):

- a child job (retry, overlap forbid, jitter) depending on a parent (7
  remaining runs) pinned by a label no worker has: the child's page shows
  its retry policy, overlap and jitter as the API stores them; the
  parent's page its remaining runs and placement "unplaced" with the API's
  reason (naming the label); both pages draw the dependency graph, and clicking
  the child's node on the parent's graph opens the child's page;
- alerts: a webhook rule created through the form (a bad URL first, whose
  error shows next to the URL field), listed; "send test" delivers to the
  hit server and the delivery shows in the history (every rule, and the
  rule's own); the secret never shows on the page; delete asks first;
- a viewer sees the rules but no create form, test or delete button.
"""

from uihelp import Ui, log  # first: it finds Debian's selenium
from harness import run_scenario
from selenium.webdriver.common.by import By

SECRET = "a-webhook-secret-of-the-test-0123"


def make_jobs(c):
    c.create_job("dep-parent", "0 0 3 * * ?", c.hits.url("/parent"),
                 remaining_runs=7, executor={"labels": {"gpu": "h100"}})
    c.create_job("dep-child", "@never", c.hits.url("/child"), overlap="forbid", jitter="5s",
                 depends_on=[{"job": "dep-parent", "on": "success"}],
                 retry={"max_attempts": 3, "backoff": "fixed", "initial": "2s"})


def check_model_and_graph(c, ui):
    child = c.job("dep-child")
    ui.go("#/job/default/dep-child")
    ui.wait(lambda: ui.text("jd-m-overlap") == "forbid", what="the child's job model")
    assert ui.text("jd-m-jitter") == child["jitter"], (ui.text("jd-m-jitter"), child["jitter"])
    assert ui.text("jd-m-remaining") == "unlimited", ui.text("jd-m-remaining")
    assert ui.text("jd-m-retry").startswith("3 attempts"), ui.text("jd-m-retry")
    ui.wait(lambda: ui.css("#jd-graph a.dep-node[data-job='dep-parent']"), what="the parent in the child's graph")
    ui.shot("job-model-child")
    parent = c.job("dep-parent")
    assert parent["placement"]["state"] == "unplaced", parent["placement"]
    ui.go("#/job/default/dep-parent")
    ui.wait(lambda: "unplaced" in ui.text("jd-m-placement"), what="the parent unplaced")
    assert ui.text("jd-m-reason") == parent["placement"]["reason"], ui.text("jd-m-reason")
    assert "gpu" in ui.text("jd-m-reason") and "gpu=h100" in ui.text("jd-m-exec-labels")
    assert ui.text("jd-m-remaining") == str(parent["remaining_runs"]) == "7", ui.text("jd-m-remaining")
    node = ui.wait(lambda: ui.css("#jd-graph a.dep-node[data-job='dep-child']"), what="the child in the parent's graph")
    assert len(ui.css("#jd-graph line.edge")) == 1
    ui.shot("job-deps-parent")
    node[0].click()
    ui.wait(lambda: ui.d.current_url.endswith("#/job/default/dep-child") and "dep-child" in ui.text("jd-def"),
            what="the child's page from the graph's link")
    log("job model shown as the API stores it; placement and reason; graph links parent <-> child")


def check_alerts(c, ui):
    ui.go("#/alerts")
    ui.wait_el("a-name").send_keys("ui-hook")
    ui.el("a-channel-url").send_keys("gopher://nowhere")
    ui.el("a-channel-secret").send_keys(SECRET)
    ui.el("a-submit").click()
    ui.wait(lambda: ui.text("err-a-channel-url"), what="the URL's error next to its field")
    st, body = c.api("POST", "/api/v1/alerts", {"name": "x", "events": ["failed"], "channel": {
        "type": "webhook", "url": "gopher://nowhere", "secret": SECRET}})
    assert st == 400 and ui.text("err-a-channel-url") == body["error"]["message"], (ui.text("err-a-channel-url"), body)
    url = ui.el("a-channel-url")
    url.clear()
    url.send_keys(c.hits.url("/hook"))
    ui.el("a-submit").click()
    ui.wait(lambda: any("ui-hook" in r for r in ui.rows("alerts-table")), what="the rule listed")
    st, rule = c.api("GET", "/api/v1/alerts/ui-hook")
    # The URL's path may carry a key (Slack's does): the API redacts it, and so does the page.
    assert st == 200 and rule["channel"]["url"] == c.hits.url("/<redacted>") and rule["events"] == ["failed"], rule
    assert SECRET not in ui.d.page_source and "/hook" not in ui.text("alerts-table"), "a secret is on the page"
    ui.css("#alerts-table tr[data-rule='ui-hook'] button.a-test")[0].click()
    c.wait_until(lambda: c.hits.count("/hook") >= 1, timeout=30, what="the test message at the webhook")
    ui.wait(lambda: any("ui-hook" in r and "sent" in r for r in ui.rows("alerts-history")), timeout=20,
            what="the test delivery in the history")
    st, hist = c.api("GET", "/api/v1/alerts/ui-hook/history")
    assert any(d["status"] == "sent" for d in hist["deliveries"]), hist
    ui.d.find_element(By.CSS_SELECTOR, "#ah-rule option[value='ui-hook']").click()
    ui.wait(lambda: ui.rows("alerts-history") and all("ui-hook" in r for r in ui.rows("alerts-history")),
            what="the rule's own history")
    assert SECRET not in ui.d.page_source
    ui.shot("alerts")
    ui.css("#alerts-table tr[data-rule='ui-hook'] button.a-delete")[0].click()
    ui.d.switch_to.alert.dismiss()
    assert c.api("GET", "/api/v1/alerts/ui-hook")[0] == 200, "deleted on cancel"
    log("alerts: form error by field, rule created and listed, test delivered and in the history, no secret shown")


def check_viewer(c, ui):
    st, tok = c.api("POST", "/api/v1/tokens", {"name": "ui-viewer", "role": "viewer"})
    assert st == 201, tok
    ui.login(tok["token"])
    ui.wait(lambda: "viewer" in ui.text("whoami"), what="logged in as the viewer")
    ui.go("#/alerts")
    ui.wait(lambda: any("ui-hook" in r for r in ui.rows("alerts-table")), what="the rule, for a viewer")
    assert not ui.visible("alert-form"), "a viewer sees the create form"
    shown = [b for b in ui.css("#alerts-table button") if b.is_displayed()]
    assert not shown, "a viewer sees %s" % [b.text for b in shown]
    log("a viewer sees the rules, no create, test or delete")


def scenario(c):
    make_jobs(c)
    ui = Ui(c)
    try:
        ui.login(c.token)
        ui.wait(lambda: ui.visible("logout"), what="logged in")
        check_model_and_graph(c, ui)
        check_alerts(c, ui)
    except BaseException:
        ui.shot("failure-model-alerts")
        raise
    finally:
        ui.close()
    ui = Ui(c)
    try:
        check_viewer(c, ui)
    finally:
        ui.close()


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
