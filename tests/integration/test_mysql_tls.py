#!/usr/bin/env python3
"""TLS from the master to MySQL (issue 10), for real: a throw-away MariaDB
(scripts/db with its own var directory and port) that requires TLS on TCP
(require_secure_transport) with a server certificate for 127.0.0.1 signed
by a CA made here with openssl. The master given that CA and
mysql.ssl_verify starts and serves its API (every TCP connection to this
server is TLS); given another CA it refuses the server and exits, naming
the failure; with no TLS setting the server refuses it."""

import os
import shutil
import subprocess
import sys
import time
import traceback
import urllib.request

from harness import MASTER_BIN, SOURCE_DIR, TEST_VAR, free_port, log, wait_until

VAR = os.path.join(TEST_VAR, "tls-db")
CERTS = os.path.join(VAR, "certs")


def run(*argv, env=None):
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv), r.returncode, r.stdout,
                                                   r.stderr))
    return r.stdout


def make_ca(name):
    key, pem = os.path.join(CERTS, name + ".key"), os.path.join(CERTS, name + ".pem")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", pem,
        "-days", "2", "-subj", "/CN=hourglass test " + name)
    return key, pem


def make_certs():
    os.makedirs(CERTS)
    ca_key, ca = make_ca("ca")
    make_ca("other-ca")
    key, csr = os.path.join(CERTS, "server.key"), os.path.join(CERTS, "server.csr")
    cert, ext = os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


def master(port, tls_args):
    """Run the master against the TLS-only server; returns (Popen, api URL)."""
    api = free_port()
    data = os.path.join(VAR, "master")
    argv = [MASTER_BIN, "--mysql-host", "127.0.0.1", "--mysql-port", str(port),
            "--mysql-user", "hourglass", "--mysql-password", "hourglass",
            "--mysql-database", "hourglass", "--mysql-wait", "1s",
            "--api-port", str(api), "--bind", "tcp://127.0.0.1:%d" % free_port(),
            "--data-dir", data] + tls_args
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOURGLASS_")}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=SOURCE_DIR)
    return proc, "http://127.0.0.1:%d" % api


def healthy(url):
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def refused(port, tls_args, want):
    proc, _ = master(port, tls_args)
    out, _ = proc.communicate(timeout=60)
    log("master with %s: exit %d: %s" % (tls_args or "no TLS setting", proc.returncode,
                                         out.strip()[-300:]))
    assert proc.returncode != 0, out
    assert any(w in out for w in want), "expected one of %s in:\n%s" % (want, out)


def scenario(port):
    ca = os.path.join(CERTS, "ca.pem")
    other = os.path.join(CERTS, "other-ca.pem")

    proc, url = master(port, ["--mysql-ssl-ca", ca, "--mysql-ssl-verify", "true"])
    try:
        wait_until(lambda: healthy(url) or proc.poll() is not None, timeout=30,
                   what="the master's /healthz over TLS to MySQL")
        assert proc.poll() is None, proc.communicate()[0]
        log("master with mysql.ssl_ca and mysql.ssl_verify: healthy")
    finally:
        proc.terminate()
        proc.wait(timeout=15)

    refused(port, ["--mysql-ssl-ca", other, "--mysql-ssl-verify", "true"],
            ["certificate", "TLS", "SSL"])
    # MariaDB answers a clear-text login under require_secure_transport
    # with "Access denied" (MySQL names secure transport).
    refused(port, [], ["secure transport", "Access denied"])


def main():
    t0 = time.monotonic()
    shutil.rmtree(VAR, ignore_errors=True)
    port = free_port()
    rc = 0
    db_env = None
    try:
        ca, cert, key = make_certs()
        db_env = dict(os.environ, HG_VAR=VAR, HG_DB_PORT=str(port),
                      HG_DB_ARGS="--ssl-ca=%s --ssl-cert=%s --ssl-key=%s "
                                 "--require-secure-transport=ON --innodb-buffer-pool-size=64M"
                                 % (ca, cert, key))
        run(os.path.join(SOURCE_DIR, "scripts", "db"), "start", env=db_env)
        scenario(port)
    except BaseException as e:
        traceback.print_exc()
        print("FAIL mysql_tls (%.1f s): %s" % (time.monotonic() - t0, e), flush=True)
        rc = 1
    else:
        print("PASS mysql_tls (%.1f s)" % (time.monotonic() - t0), flush=True)
    finally:
        if db_env:
            subprocess.run([os.path.join(SOURCE_DIR, "scripts", "db"), "stop"], env=db_env,
                           capture_output=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
