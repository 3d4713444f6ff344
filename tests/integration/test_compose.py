#!/usr/bin/env python3
"""docker-compose.yml and Dockerfile agree with the build: every Hourglass
service runs a binary that CMakeLists.txt builds and that exists in the
build directory, every HOURGLASS_* variable a service sets is a setting
that binary's --help lists, and the services point at each other
consistently. Docker itself is not needed."""

import os
import re
import shlex
import subprocess
import sys

try:
    import yaml
except ImportError:  # e.g. a pyenv python3 without PyYAML: use Debian's
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != "/usr/bin/python3" \
            and not os.environ.get("HG_COMPOSE_REEXEC"):
        os.environ["HG_COMPOSE_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("FAIL compose: PyYAML is missing (scripts/install-deps installs python3-yaml)")
    sys.exit(1)

from harness import BUILD_DIR, SOURCE_DIR  # noqa: E402

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def cmake_targets():
    text = open(os.path.join(SOURCE_DIR, "CMakeLists.txt")).read()
    return set(re.findall(r"add_executable\(\s*([A-Za-z0-9_.-]+)", text))


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def command_of(service):
    cmd = service.get("command") or service.get("entrypoint")
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    return cmd or []


def help_text(binary):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOURGLASS_")}
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30, env=clean)
    check(r.returncode == 0, "%s --help exits %d: %s" % (binary, r.returncode, r.stderr.strip()))
    return r.stdout + r.stderr


def main():
    with open(os.path.join(SOURCE_DIR, "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)
    services = compose.get("services") or {}
    print("services: %s" % ", ".join(services))
    for want in ("mysql", "master", "worker-1", "worker-2"):
        check(want in services, "docker-compose.yml has no service %s" % want)

    targets = cmake_targets()
    helps = {}
    checked = 0
    for name, svc in services.items():
        for dep in svc.get("depends_on") or []:
            check(dep in services, "%s depends on unknown service %s" % (name, dep))
        cmd = command_of(svc)
        if "build" not in svc and not str(svc.get("image", "")).startswith("hourglass"):
            continue  # a third-party image (MariaDB)
        if not check(cmd, "%s: no command" % name):
            continue
        binary = os.path.basename(cmd[0])
        check(binary in targets, "%s runs %s, which CMakeLists.txt does not build (targets: %s)"
              % (name, binary, ", ".join(sorted(targets))))
        path = os.path.join(BUILD_DIR, binary)
        if not check(os.access(path, os.X_OK), "%s runs %s, missing from the build (%s)" % (name, binary, path)):
            continue
        if binary not in helps:
            helps[binary] = help_text(path)
        settings = set(re.findall(r"\benv (HOURGLASS_[A-Z0-9_]+)", helps[binary]))
        check(settings, "%s --help lists no HOURGLASS_* settings" % binary)
        for var in env_of(svc):
            if var.startswith("HOURGLASS_"):
                check(var in settings, "%s sets %s, which %s --help does not list" % (name, var, binary))
                checked += 1
        print("%-9s %-17s %d HOURGLASS_* settings, all known to --help" % (
            name, binary, len([v for v in env_of(svc) if v.startswith("HOURGLASS_")])))

    # The pieces point at each other.
    db = env_of(services.get("mysql", {}))
    master = env_of(services.get("master", {}))
    check(master.get("HOURGLASS_MYSQL_HOST") in services, "master's HOURGLASS_MYSQL_HOST is not a service")
    for ours, theirs in (("USER", "USER"), ("PASSWORD", "PASSWORD"), ("DATABASE", "DATABASE")):
        check(master.get("HOURGLASS_MYSQL_" + ours) == db.get("MARIADB_" + theirs),
              "master HOURGLASS_MYSQL_%s does not match mysql MARIADB_%s" % (ours, theirs))
    bind_port = (master.get("HOURGLASS_BIND") or "").rsplit(":", 1)[-1]
    for w in ("worker-1", "worker-2"):
        env = env_of(services.get(w, {}))
        check(env.get("HOURGLASS_NAME") == w, "%s: HOURGLASS_NAME is %r" % (w, env.get("HOURGLASS_NAME")))
        check(env.get("HOURGLASS_MASTER_ENDPOINTS") == "tcp://master:%s" % bind_port,
              "%s: HOURGLASS_MASTER_ENDPOINTS %r does not reach the master's HOURGLASS_BIND port %s"
              % (w, env.get("HOURGLASS_MASTER_ENDPOINTS"), bind_port))
        # HOURGLASS_MASTER is the CLI's URL, not the worker's setting.
        check("HOURGLASS_MASTER" not in env,
              "%s: HOURGLASS_MASTER is the CLI's API URL; workers take HOURGLASS_MASTER_ENDPOINTS" % w)

    # CURVE as shipped, with no manual key step: the workers pin the public
    # half of the master's key and make their own pair in the master's
    # keys.workers directory, on a volume all three share.
    def mounted(svc, path):
        for v in svc.get("volumes") or []:
            vol, _, target = str(v).partition(":")
            target = target.split(":")[0]
            if path == target or path.startswith(target.rstrip("/") + "/"):
                return vol
        return None
    for svc_name, svc in services.items():
        check("HOURGLASS_INSECURE_PLAINTEXT" not in env_of(svc),
              "%s turns CURVE off (HOURGLASS_INSECURE_PLAINTEXT)" % svc_name)
    secret = master.get("HOURGLASS_KEYS_SECRET") or ""
    workers_dir = master.get("HOURGLASS_KEYS_WORKERS") or ""
    check(secret.endswith("_secret"), "master: HOURGLASS_KEYS_SECRET %r is not a secret certificate path" % secret)
    check(workers_dir, "master: no HOURGLASS_KEYS_WORKERS")
    master_vol = mounted(services.get("master", {}), secret)
    check(master_vol and mounted(services.get("master", {}), workers_dir) == master_vol,
          "master: its keys are not on a volume")
    for w in ("worker-1", "worker-2"):
        svc = services.get(w, {})
        env = env_of(svc)
        check(env.get("HOURGLASS_MASTER_KEY") == secret[:-len("_secret")],
              "%s: HOURGLASS_MASTER_KEY %r is not the public half of the master's key %r"
              % (w, env.get("HOURGLASS_MASTER_KEY"), secret))
        key = env.get("HOURGLASS_KEY") or ""
        check(os.path.dirname(key) == workers_dir.rstrip("/"),
              "%s: HOURGLASS_KEY %r is not made in the master's keys.workers %r" % (w, key, workers_dir))
        check(mounted(svc, key) == master_vol and mounted(svc, env.get("HOURGLASS_MASTER_KEY") or "") == master_vol,
              "%s: does not share the master's keys volume %r" % (w, master_vol))
    check("keys" in (compose.get("volumes") or {}), "docker-compose.yml declares no keys volume")

    # The Dockerfile copies only what exists, and its ENV settings are real.
    dockerfile = open(os.path.join(SOURCE_DIR, "Dockerfile")).read()
    check(re.search(r"^FROM debian:bookworm\b", dockerfile, re.M), "Dockerfile does not build FROM debian:bookworm")
    for line in dockerfile.splitlines():
        m = re.match(r"\s*COPY\s+(?!--from)(.+)", line)
        if m:
            for src in m.group(1).split()[:-1]:
                check(os.path.exists(os.path.join(SOURCE_DIR, src)), "Dockerfile copies missing %s" % src)
        m = re.match(r"\s*ENV\s+(HOURGLASS_[A-Z0-9_]+)=", line)
        if m and "hourglass-master" in helps:
            check(("env " + m.group(1)) in helps["hourglass-master"] or
                  ("env " + m.group(1)) in helps.get("hourglass-worker", ""),
                  "Dockerfile sets %s, which no daemon's --help lists" % m.group(1))

    print("%d HOURGLASS_* variables checked against --help" % checked)
    for f in failures:
        print("FAIL: " + f)
    print("%s compose" % ("FAIL" if failures else "PASS"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
