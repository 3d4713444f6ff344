#!/usr/bin/env python3
"""scripts/quickstart comes up with no manual key step (issue 10, test 8):
`scripts/quickstart --no-watch` in a directory of its own (own MariaDB and
ports) starts a master and two workers that join over CURVE, with keys it
made itself, and the example jobs fire; `scripts/quickstart stop` stops
it all."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

from harness import BUILD_DIR, SOURCE_DIR, TEST_VAR, free_port, log, read_cert

QS = os.path.join(SOURCE_DIR, "scripts", "quickstart")


def build_env():
    """Build settings equal to the build directory's, so that quickstart's
    own build step reuses it instead of reconfiguring it."""
    cache = open(os.path.join(BUILD_DIR, "CMakeCache.txt")).read()
    def opt(name, default):
        m = re.search(r"^%s:[A-Z]+=(.*)$" % name, cache, re.M)
        return m.group(1) if m else default
    return {"HG_BUILD_DIR": BUILD_DIR, "HG_WERROR": opt("HG_WERROR", "OFF"),
            "HG_BUILD_TYPE": opt("CMAKE_BUILD_TYPE", "RelWithDebInfo"),
            "HG_CMAKE_ARGS": "-DHG_SANITIZE=%s" % opt("HG_SANITIZE", "OFF")}


def get(var, api_port, path):
    """GET an API path as JSON, with the master's first admin token when it
    wrote one (API tokens, issue 10)."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (api_port, path))
    token = os.path.join(var, "master", "admin.token")
    if os.path.exists(token):
        req.add_header("Authorization", "Bearer " + open(token).read().strip())
    with urllib.request.urlopen(req, timeout=5) as f:
        return json.load(f)


def main():
    var = os.path.join(TEST_VAR, "quickstart")
    shutil.rmtree(var, ignore_errors=True)
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOURGLASS_")}
    env.update(build_env())
    env.update({"HG_QUICKSTART_VAR": var, "HG_DB_PORT": str(free_port()),
                "HG_API_PORT": str(api_port), "HG_WORKER_PORT": str(free_port()),
                "HG_HITS_PORT": str(free_port())})
    ok = False
    try:
        r = subprocess.run([QS, "--no-watch"], env=env, cwd=SOURCE_DIR, capture_output=True,
                           text=True, timeout=400)
        log("quickstart exited %d\n%s" % (r.returncode, r.stderr[-3000:]))
        assert r.returncode == 0, "scripts/quickstart failed"
        for name in ("master.key", "master.key_secret", "worker-1.key_secret", "workers/worker-2.key"):
            assert os.path.exists(os.path.join(var, "keys", name)), "quickstart made no %s" % name
        assert os.stat(os.path.join(var, "keys", "master.key_secret")).st_mode & 0o077 == 0
        nodes = get(var, api_port, "/api/v1/nodes")["nodes"]
        assert sorted(n["name"] for n in nodes if n["state"] == "active") == ["worker-1", "worker-2"]
        master_log = open(os.path.join(var, "log", "master.log")).read()
        assert "2 worker keys admitted" in master_log, "the master did not admit the two keys"
        assert "insecure.plaintext" not in master_log
        secret = read_cert(os.path.join(var, "keys", "master.key_secret"))["secret"]
        for f in os.listdir(os.path.join(var, "log")):
            assert secret not in open(os.path.join(var, "log", f), errors="replace").read(), \
                "the master's secret key is in %s" % f
        deadline = time.time() + 20
        while time.time() < deadline:
            if get(var, api_port, "/api/v1/runs?limit=5").get("runs"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("no run recorded within 20 s")
        ok = True
        print("PASS quickstart")
    finally:
        subprocess.run([QS, "stop"], env=env, cwd=SOURCE_DIR, capture_output=True, timeout=120)
        if not ok:
            for f in ("master.log", "worker-1.log"):
                p = os.path.join(var, "log", f)
                if os.path.exists(p):
                    print("---- %s ----\n%s" % (f, open(p).read()[-3000:]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
