#!/usr/bin/env python3
"""mysql.password_file with the real master and MariaDB (issue 10): a
password file that group or others may read is refused at start (exit
non-zero, a message saying chmod 600 that does not hold the password);
with mode 0600 the master starts, serves the API and runs jobs, the
password appearing nowhere on its command line."""

import os
import subprocess

from harness import log, run_scenario


def scenario(c):
    os.makedirs(c.data_dir, exist_ok=True)
    # The master's command line carries no password (the harness's own
    # client keeps it): the file gives it.
    harness_argv = c.master_argv

    def master_argv(index=0):
        argv = harness_argv(index)
        argv[argv.index("--mysql-password") + 1] = ""
        return argv
    c.master_argv = master_argv

    # A file others may read: refused, naming the file, not its content.
    loose = os.path.join(c.data_dir, "loose.password")
    with open(loose, "w") as f:
        f.write("S3cret-that-must-not-be-logged\n")
    os.chmod(loose, 0o644)
    argv = c.master_argv() + ["--mysql-password-file", loose]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=c._daemon_env())
    out = r.stdout + r.stderr
    log("master with a 0644 password file: exit %d: %s" % (r.returncode, out.strip()[-300:]))
    assert r.returncode != 0, out
    assert "chmod 600" in out and loose in out, out
    assert "S3cret" not in out, "the password file's content reached the log"

    # Mode 0600 with the real password: the master runs jobs.
    path = os.path.join(c.data_dir, "mysql.password")
    with open(path, "w") as f:
        f.write(c.mysql["password"] + "\n")
    os.chmod(path, 0o600)
    c.master_args += ["--mysql-password-file", path]
    argv = c.master_argv()
    assert argv[argv.index("--mysql-password") + 1] == "", argv
    c.start_master()
    c.start_worker("worker-1")
    c.create_job("tick", "@every 1s", c.hits.url("/tick"))
    c.wait_until(lambda: len([r for r in c.runs_in_db("tick") if r["status"] == "success"]) >= 2,
                 timeout=20, what="two recorded runs through a master that read its password file")

if __name__ == "__main__":
    run_scenario(scenario, workers=0, start_master=False)
