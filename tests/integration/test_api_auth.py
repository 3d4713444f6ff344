#!/usr/bin/env python3
"""REST API tokens, roles, redaction and audit (issue 10, test 5), against
two real masters (leader and standby) on one MariaDB and a real worker.

- The first master created the admin token in <data dir>/admin.token, mode
  0600, and logged its path but never the token.
- Without a token every route but /healthz answers 401 (every row of the
  route table, on the leader and on the standby).
- A viewer cannot create a job (403 naming editor); an editor cannot push a
  plug-in nor create a shell job (403 naming admin).
- A viewer sees Authorization headers and secret parameters as "***"; an
  admin with ?reveal=true sees them; so does the worker that runs the job
  (the endpoint receives the real header).
- A token revoked on the leader is refused at once by the leader and the
  standby.
- The writes are in the audit log, refusals (403) too, with the token name.
- A token scoped to a namespace cannot see another one.
- `hourglass token create|list|revoke` and `hourglass audit` work, and
  `hourglass-master token create` (straight against MySQL) gives a working
  token when no admin token is at hand.
"""

import json
import os
import stat
import subprocess

from harness import MASTER_BIN, log, run_scenario

# Every route of the table in master/auth.c, with a concrete path.
ROUTES = [
    ("GET", "/api/v1/jobs"), ("POST", "/api/v1/jobs"), ("POST", "/api/v1/jobs:batch"),
    ("GET", "/api/v1/jobs/x"), ("DELETE", "/api/v1/jobs/x"), ("POST", "/api/v1/jobs/x/pause"),
    ("POST", "/api/v1/jobs/x/resume"), ("POST", "/api/v1/jobs/x/trigger"),
    ("GET", "/api/v1/runs"), ("GET", "/api/v1/nodes"), ("POST", "/api/v1/nodes/w/drain"),
    ("POST", "/api/v1/nodes/w/activate"), ("GET", "/api/v1/plugins"),
    ("POST", "/api/v1/plugins?name=p&version=1"), ("GET", "/api/v1/plugins/" + "0" * 64),
    ("DELETE", "/api/v1/plugins/" + "0" * 64), ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/x"), ("GET", "/api/v1/worker-keys"),
    ("POST", "/api/v1/worker-keys"), ("DELETE", "/api/v1/worker-keys?node=w"),
    ("GET", "/api/v1/audit"), ("GET", "/api/v1/no-such-route"),
]


def make_token(c, name, role, namespace=None):
    body = {"name": name, "role": role}
    if namespace:
        body["namespace"] = namespace
    st, tok = c.api("POST", "/api/v1/tokens", body)
    assert st == 201, (st, tok)
    assert tok["token"].startswith("hg_") and len(tok["token"]) == 46, tok
    return tok["token"]


def check_bootstrap(c):
    path = os.path.join(c.master_data_dir(0), "admin.token")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, "admin.token has mode %o" % mode
    assert c.token and c.token.startswith("hg_"), c.token
    log_text = open(os.path.join(c.log_dir, "master.log")).read()
    assert path in log_text or "admin.token" in log_text, "the master did not log where the token is"
    assert c.token not in log_text, "the admin token reached the master's log"
    # The standby found tokens in the database and created none.
    assert not os.path.exists(os.path.join(c.master_data_dir(1), "admin.token"))


def check_401_everywhere(c):
    for url in c.master_urls:
        for method, path in ROUTES:
            st, body = c.api_at(url, method, path, body={} if method == "POST" else None,
                                token=None)
            assert st == 401, "%s %s%s without a token: %s %r" % (method, url, path, st, body)
            assert body["error"]["code"] == "unauthorized", body
            st, _ = c.api_at(url, method, path, body={} if method == "POST" else None,
                             token="hg_" + "A" * 43)
            assert st == 401, "%s %s with an unknown token: %s" % (method, path, st)
        st, _ = c.api_at(url, "GET", "/healthz", token=None)
        assert st == 200, st
    log("401 without a token on %d routes, both masters; /healthz open" % len(ROUTES))


def check_roles(c, viewer, editor):
    job = {"name": "by-viewer", "schedule": "@daily", "http": {"url": c.hits.url("/v")}}
    st, body = c.api("POST", "/api/v1/jobs", job, token=viewer)
    assert st == 403 and body["error"]["role"] == "editor", (st, body)
    assert "editor" in body["error"]["message"], body
    st, body = c.api("POST", "/api/v1/plugins?name=evil&version=1", raw=b"\x7fELF",
                     headers={"Content-Type": "application/octet-stream"}, token=editor)
    assert st == 403 and body["error"]["role"] == "admin", (st, body)
    shell = {"name": "sh", "schedule": "@daily", "plugin": {"name": "shell"},
             "params": {"command": "id"}}
    st, body = c.api("POST", "/api/v1/jobs", shell, token=editor)
    assert st == 403 and body["error"]["role"] == "admin", (st, body)
    rc, out, err = c.cli("job", "create", "by-cli", "--schedule", "@daily", "--http-url",
                         c.hits.url("/v"), env={"HOURGLASS_TOKEN": viewer})
    assert rc == 1 and "editor" in err, (rc, out, err)
    log("viewer cannot create (403 editor); editor cannot push a plug-in or use shell (403 admin)")


def check_redaction(c, viewer, editor):
    job = {"name": "secretive", "schedule": "@every 1s",
           "http": {"url": c.hits.url("/secretive"),
                    "headers": {"Authorization": "Bearer s3cr3t-upstream", "X-Trace": "t1"}},
           "params": {"db_password": "hunter2", "region": "eu"}}
    st, body = c.api("POST", "/api/v1/jobs", job, token=editor)
    assert st == 201, (st, body)
    # Creations answer with the job as stored, secrets redacted; a batch
    # redacts the jobs that have any and shows the others as they are.
    assert body["http"]["headers"]["Authorization"] == "***", body
    assert body["params"]["db_password"] == "***" and body["params"]["region"] == "eu", body
    st, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": [
        {"name": "plain-b", "schedule": "@daily", "http": {"url": c.hits.url("/plain")}},
        {"name": "secretive-b", "schedule": "@daily",
         "http": {"url": c.hits.url("/sb"), "headers": {"Cookie": "sid=b4tch"}}}]}, token=editor)
    assert st == 201, (st, body)
    assert [j["name"] for j in body["jobs"]] == ["plain-b", "secretive-b"], body
    assert body["jobs"][1]["http"]["headers"]["Cookie"] == "***", body
    assert "b4tch" not in json.dumps(body), body
    st, got = c.api("GET", "/api/v1/jobs/secretive", token=viewer)
    assert st == 200, (st, got)
    assert got["http"]["headers"]["Authorization"] == "***", got
    assert got["http"]["headers"]["X-Trace"] == "t1", got
    assert got["params"]["db_password"] == "***" and got["params"]["region"] == "eu", got
    st, listed = c.api("GET", "/api/v1/jobs", token=viewer)
    assert "s3cr3t-upstream" not in str(listed) and "hunter2" not in str(listed), listed
    rc, out, err = c.cli("job", "get", "secretive", env={"HOURGLASS_TOKEN": viewer})
    assert rc == 0 and "s3cr3t-upstream" not in out and "***" in out, (rc, out, err)
    st, body = c.api("GET", "/api/v1/jobs/secretive?reveal=true", token=viewer)
    assert st == 403, (st, body)
    st, full = c.api("GET", "/api/v1/jobs/secretive?reveal=true")
    assert st == 200 and full["http"]["headers"]["Authorization"] == "Bearer s3cr3t-upstream", full
    assert full["params"]["db_password"] == "hunter2", full
    # The worker still sends the real header.
    c.wait_until(lambda: c.hits.count("/secretive") >= 1, timeout=15, what="a hit of secretive")
    hit = c.hits.hits("/secretive")[0]
    sent = {k.lower(): v for k, v in hit.get("headers", {}).items()}
    if sent:
        assert sent.get("authorization") == "Bearer s3cr3t-upstream", sent
    for name in ["master.log", "master-2.log", "worker-1.log"]:
        p = os.path.join(c.log_dir, name)
        if os.path.exists(p):
            text = open(p).read()
            assert "s3cr3t-upstream" not in text and "hunter2" not in text, "secret in " + name
    log("secrets redacted for a viewer, in clear for an admin's reveal, in no log")


def check_revocation(c):
    leader, standby = c.master_urls
    doomed = make_token(c, "doomed", "viewer")
    for url in (leader, standby):
        st, _ = c.api_at(url, "GET", "/api/v1/jobs", token=doomed)
        assert st == 200, (url, st)
    rc, out, err = c.cli("token", "revoke", "doomed")
    assert rc == 0, (rc, out, err)
    for url in (leader, standby):
        st, body = c.api_at(url, "GET", "/api/v1/jobs", token=doomed)
        assert st == 401, "revoked token on %s: %s %r" % (url, st, body)
    log("a revoked token is refused at once by the leader and the standby")


def check_scope(c):
    scoped = make_token(c, "team-a", "editor", namespace="team-a")
    st, body = c.api("POST", "/api/v1/jobs", {"name": "a-job", "schedule": "@daily",
                                              "http": {"url": c.hits.url("/a")}}, token=scoped)
    assert st == 201 and body["namespace"] == "team-a", (st, body)
    c.api("POST", "/api/v1/jobs", {"name": "b-job", "namespace": "team-b", "schedule": "@daily",
                                   "http": {"url": c.hits.url("/b")}})
    st, _ = c.api("GET", "/api/v1/jobs/b-job?namespace=team-b", token=scoped)
    assert st == 403, st
    st, body = c.api("GET", "/api/v1/jobs", token=scoped)
    assert st == 200 and {j["namespace"] for j in body["jobs"]} == {"team-a"}, body
    log("a token scoped to team-a sees team-a only")


def check_audit(c):
    rows = c.cli_json("audit", "--limit", "1000")["audit"]
    seen = {(r["action"], r["object"], r["token"], r["status"]) for r in rows}
    assert ("job.create", "default/secretive", "editor", 201) in seen, sorted(seen)
    # Refused on its role before the body is read: the object is the route.
    assert ("job.create", "/api/v1/jobs", "viewer", 403) in seen, sorted(seen)
    assert ("job.create", "default/sh", "editor", 403) in seen, sorted(seen)
    assert ("token.revoke", "doomed", "bootstrap-admin", 200) in seen, sorted(seen)
    assert ("plugin.push", "evil@1", "editor", 403) in seen, sorted(seen)
    assert all(r["address"] == "127.0.0.1" for r in rows), rows
    log("%d audit rows, with the writes and the refusals" % len(rows))


def check_recovery(c):
    m = c.mysql
    r = subprocess.run([MASTER_BIN, "token", "create", "--role", "admin", "--name", "recovery",
                        "--mysql-host", m["host"], "--mysql-port", str(m["port"]),
                        "--mysql-user", m["user"], "--mysql-password", m["password"],
                        "--mysql-database", c.db_name],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (r.returncode, r.stderr)
    token = r.stdout.strip()
    st, body = c.api("GET", "/api/v1/tokens", token=token)
    assert st == 200 and "recovery" in {t["name"] for t in body["tokens"]}, (st, body)
    assert token not in str(body), "a token list shows a token"
    log("hourglass-master token create gives a working admin token")


def scenario(c):
    check_bootstrap(c)
    check_401_everywhere(c)
    viewer = make_token(c, "viewer", "viewer")
    rc, out, err = c.cli("token", "create", "editor", "--role", "editor")
    assert rc == 0 and out.strip().startswith("hg_"), (rc, out, err)
    editor = out.strip()
    check_roles(c, viewer, editor)
    check_redaction(c, viewer, editor)
    check_revocation(c)
    check_scope(c)
    check_audit(c)
    check_recovery(c)


if __name__ == "__main__":
    run_scenario(scenario, workers=1, masters=2)
