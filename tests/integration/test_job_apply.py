#!/usr/bin/env python3
"""The CLI's run control (docs/jobs.md):

- `hourglass job apply -f job.json` creates the job, a second apply of the
  same file changes nothing (same version), an apply of a changed file
  updates it; a YAML file in JSON form is read too;
- `hourglass job edit NAME --schedule ... --header ...` changes only what
  it names;
- `hourglass runs --follow` prints runs as they end and stops on SIGINT."""

import json
import os
import signal
import subprocess
import time

from harness import CLI_BIN, log, run_scenario


def check_apply(c):
    path = os.path.join(c.data_dir, "nightly.json")
    spec = {"name": "nightly", "schedule": "0 0 3 * * *", "timezone": "Europe/Paris",
            "http": {"url": c.hits.url("/nightly"), "method": "POST",
                     "headers": {"X-Team": "data"}}, "jitter": "30s"}
    with open(path, "w") as f:
        json.dump(spec, f)
    rc, out, err = c.cli("job", "apply", "-f", path)
    assert rc == 0 and out.startswith("created job nightly"), (rc, out, err)
    v1 = c.job("nightly")["version"]
    rc, out, err = c.cli("job", "apply", "-f", path)
    assert rc == 0 and out.startswith("unchanged job nightly"), (rc, out, err)
    assert c.job("nightly")["version"] == v1, "an apply of the same file changed the job"
    spec["schedule"] = "0 30 3 * * *"
    with open(path.replace(".json", ".yaml"), "w") as f:
        json.dump(spec, f, indent=2)
    rc, out, err = c.cli("job", "apply", "-f", path.replace(".json", ".yaml"))
    assert rc == 0 and out.startswith("updated job nightly"), (rc, out, err)
    job = c.job("nightly")
    assert job["schedule"] == "0 30 3 * * *" and job["version"] == v1 + 1, job
    assert job["next_fires"][0].endswith(("+01:00", "+02:00")) and "T03:30:00" in job["next_fires"][0], job
    with open(path, "w") as f:
        f.write("name: nightly\nschedule: '@daily'\n")
    rc, out, err = c.cli("job", "apply", "-f", path)
    assert rc == 2 and "JSON form" in err, (rc, out, err)


def check_edit(c):
    c.create_job("tweak", "@every 1h", c.hits.url("/tweak"), params={"a": "1", "b": "2"})
    rc, out, err = c.cli("job", "edit", "tweak", "--schedule", "@every 2h", "--param", "b=3",
                         "--header", "X-Trace: on", "--remaining-runs", "4")
    assert rc == 0 and "edited job tweak" in out, (rc, out, err)
    job = c.job("tweak")
    assert job["schedule"] == "@every 2h" and job["params"] == {"a": "1", "b": "3"}, job
    assert job["http"]["headers"] == {"X-Trace": "on"} and job["http"]["url"].endswith("/tweak"), job
    assert job["remaining_runs"] == 4 and len(job["next_fires"]) == 4, job
    rc, out, err = c.cli("job", "get", "tweak")
    assert rc == 0 and "Runs left:" in out and "Next fires:" in out, out
    rc, out, err = c.cli("job", "edit", "tweak")
    assert rc == 2 and "nothing to change" in err, (rc, out, err)


def check_follow(c):
    c.create_job("ticker", "@every 1s", c.hits.url("/ticker"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOURGLASS_")}
    env["HOURGLASS_TOKEN"] = c.token
    proc = subprocess.Popen([CLI_BIN, "--master", c.api_url, "runs", "--follow", "--job", "ticker"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    lines = [l for l in out.splitlines() if "ticker" in l]
    log("runs --follow printed %d lines in 5 s" % len(lines))
    assert proc.returncode == 0, (proc.returncode, err)
    assert len(lines) >= 2 and all("success" in l for l in lines), out
    ids = [l.split()[-1] for l in lines]
    assert len(set(ids)) == len(ids), "a run printed twice: %r" % lines


def scenario(c):
    check_apply(c)
    check_edit(c)
    check_follow(c)


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
