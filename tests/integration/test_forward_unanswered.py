#!/usr/bin/env python3
"""A write a standby passed to a leader that does not answer
(master/forward.c): the leader is frozen (SIGSTOP: its port still accepts,
nothing answers), and a write sent to the standby with "Hourglass-Forward:
leader" (what the dashboard sends) comes back, after the forward's 15 s
limit, as 504 gateway_timeout naming the leader, saying that the leader
may still carry it out; the standby's log says which request went
unanswered, without its query string. And the leader does carry it out
once it runs again: the job exists, as the answer warned (an answer of
"nothing was done" here would have been wrong, as the first version of
this test found).

Then the leader is frozen again, a second write goes to the standby, and
the leader is killed (SIGKILL) while it holds the request unread: its
connection is reset. The answer is 502 bad_gateway, at once rather than
after 15 s, saying the connection ended before the leader answered and
that it may have carried the write out; both answers carry
"outcome": "unknown". (Before, this case answered curl's bare reason, as
if the write had never reached the leader.)"""

import signal
import threading
import time

from harness import log, run_scenario


def scenario(c):
    leader_url, standby_url = c.master_urls
    c.wait_until(lambda: c.api_at(standby_url, "GET", "/api/v1/masters")[0] == 200,
                 timeout=20, what="the standby answering")
    spec = {"name": "made-late", "schedule": "@every 1h", "http": {"url": c.hits.url("/v")}}
    leader = c.master_proc(0)
    leader.send_signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        st, body = c.api_at(standby_url, "POST", "/api/v1/jobs?namespace=default", spec,
                            headers={"Hourglass-Forward": "leader"}, timeout=40)
        took = time.monotonic() - t0
    finally:
        leader.popen.send_signal(signal.SIGCONT)
    log("forward to a frozen leader: HTTP %s after %.1f s: %s" % (st, took, body))
    assert st == 504, (st, body)
    err = body["error"]
    assert err["code"] == "gateway_timeout" and err["leader"] == leader_url, err
    assert err.get("outcome") == "unknown", err
    assert "may still carry it out" in err["message"], err
    assert 10 <= took <= 30, "answered after %.1f s, want the forward's 15 s limit" % took
    with open(c.master_proc(1).log_path, errors="replace") as f:
        lines = [l for l in f if "got no answer within" in l]
    assert lines, "the standby's log does not say the forward went unanswered"
    assert "POST /api/v1/jobs " in lines[-1] and leader_url in lines[-1], lines[-1]
    assert "namespace=" not in lines[-1], "the query reached the log: %s" % lines[-1]
    log("the standby's log: %s" % lines[-1].strip())
    # The leader runs again and serves what it had received: the write the
    # standby could not confirm is carried out (read from the catalogue).
    c.wait_until(lambda: c.api_at(standby_url, "GET", "/api/v1/jobs/made-late")[0] == 200,
                 timeout=20, what="the job created by the leader once it ran again")
    log("the leader carried the write out once it ran again, as the 504 warned")
    cut_off(c, leader_url, standby_url)


def cut_off(c, leader_url, standby_url):
    spec = {"name": "cut-off", "schedule": "@every 1h", "http": {"url": c.hits.url("/v")}}
    got = {}

    def post():
        t0 = time.monotonic()
        got["answer"] = c.api_at(standby_url, "POST", "/api/v1/jobs", spec,
                                 headers={"Hourglass-Forward": "leader"}, timeout=40)
        got["took"] = time.monotonic() - t0

    c.master_proc(0).send_signal(signal.SIGSTOP)
    sender = threading.Thread(target=post)
    sender.start()
    time.sleep(1.5)  # the request waits, unread, at the frozen leader
    killed = time.monotonic()
    c.kill_master(0, signal.SIGKILL)
    sender.join(40)
    assert "answer" in got, "no answer from the standby"
    st, body = got["answer"]
    log("forward cut off by the leader's death: HTTP %s %.1f s after the kill: %s"
        % (st, time.monotonic() - killed, body))
    assert st == 502, (st, body)
    err = body["error"]
    assert err["code"] == "bad_gateway" and err["leader"] == leader_url, err
    assert err.get("outcome") == "unknown", err
    assert "connection ended before it answered" in err["message"], err
    assert "may have carried it out" in err["message"], err
    assert got["took"] < 10, "answered after %.1f s: it waited for the timeout" % got["took"]


if __name__ == "__main__":
    run_scenario(scenario, workers=0, masters=2)
