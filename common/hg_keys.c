/* hg_keys: CURVE key pairs in czmq's certificate format; see hg_keys.h. */
#include "hg_keys.h"

#include "hg_error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_SECRET_SUFFIX "_secret"

int hg_keys_paths(const char *path, char *pub, size_t pub_size, char *sec, size_t sec_size)
{
    size_t len = strlen(path), sl = strlen(S_SECRET_SUFFIX);
    int n1, n2;
    if (len > sl && streq(path + len - sl, S_SECRET_SUFFIX)) {
        n1 = snprintf(pub, pub_size, "%.*s", (int) (len - sl), path);
        n2 = snprintf(sec, sec_size, "%s", path);
    } else {
        n1 = snprintf(pub, pub_size, "%s", path);
        n2 = snprintf(sec, sec_size, "%s%s", path, S_SECRET_SUFFIX);
    }
    if (!*path || n1 < 0 || (size_t) n1 >= pub_size || n2 < 0 || (size_t) n2 >= sec_size)
        return HG_EINVAL;
    return 0;
}

bool hg_keys_is_z85(const char *spec)
{
    if (!spec || strlen(spec) != HG_KEY_Z85_LEN) return false;
    uint8_t key[32];
    return zmq_z85_decode(key, spec) != NULL;
}

zcert_t *hg_keys_load_pair(const char *path, char *err, size_t err_size)
{
    char pub[4096], sec[4096];
    if (hg_keys_paths(path, pub, sizeof pub, sec, sizeof sec) != 0) {
        snprintf(err, err_size, "key path \"%s\" is empty or too long", path);
        return NULL;
    }
    struct stat st;
    if (stat(sec, &st) != 0) {
        snprintf(err, err_size, "cannot read secret key %s: %s", sec, strerror(errno));
        return NULL;
    }
    /* A secret key that others may read is a shared key: refuse it rather
     * than run with a key that does not prove who we are. */
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, err_size,
                 "secret key %s is accessible to other users (mode %03o); chmod 600 it", sec,
                 (unsigned) (st.st_mode & 0777));
        return NULL;
    }
    /* zcert_load(X) reads X_secret when it exists, else X: given the
     * secret file itself it reads both keys from it. */
    zcert_t *cert = zcert_load(sec);
    if (!cert) {
        snprintf(err, err_size, "%s is not a CURVE certificate", sec);
        return NULL;
    }
    static const char zeros[] = "0000000000000000000000000000000000000000";
    if (streq(zcert_secret_txt(cert), zeros) || !hg_keys_is_z85(zcert_public_txt(cert))) {
        snprintf(err, err_size, "%s holds no secret key", sec);
        zcert_destroy(&cert);
        return NULL;
    }
    return cert;
}

/* mkdir -p of the directory holding file. */
static void s_mkdir_parent(const char *file)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", file);
    char *dir = dirname(copy);
    if (dir && *dir && !streq(dir, ".")) zsys_dir_create("%s", dir);
}

int hg_keys_create(const char *path, const char *node, char *err, size_t err_size)
{
    char pub[4096], sec[4096];
    if (hg_keys_paths(path, pub, sizeof pub, sec, sizeof sec) != 0) {
        snprintf(err, err_size, "key path \"%s\" is empty or too long", path);
        return HG_EINVAL;
    }
    if (access(pub, F_OK) == 0 || access(sec, F_OK) == 0) {
        snprintf(err, err_size, "%s or %s already exists; not overwritten", pub, sec);
        return HG_EEXIST;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(err, err_size, "cannot create a key pair");
        return HG_ENOMEM;
    }
    if (node) zcert_set_meta(cert, "node", "%s", node);
    s_mkdir_parent(sec);
    /* The secret file must never exist with wider permissions, not even
     * for a moment: create it under a private umask. */
    mode_t old = umask(077);
    int rc = zcert_save_secret(cert, sec);
    umask(old);
    if (rc == 0) rc = zcert_save_public(cert, pub);
    if (rc == 0) rc = chmod(sec, 0600) | chmod(pub, 0644);
    zcert_destroy(&cert);
    if (rc != 0) {
        snprintf(err, err_size, "cannot write %s: %s", sec, strerror(errno));
        return HG_EIO;
    }
    return 0;
}

zcert_t *hg_keys_load_or_create(const char *path, const char *node, bool *created, char *err,
                                size_t err_size)
{
    char pub[4096], sec[4096];
    *created = false;
    if (hg_keys_paths(path, pub, sizeof pub, sec, sizeof sec) != 0) {
        snprintf(err, err_size, "key path \"%s\" is empty or too long", path);
        return NULL;
    }
    if (access(pub, F_OK) != 0 && access(sec, F_OK) != 0) {
        if (hg_keys_create(path, node, err, err_size) != 0) return NULL;
        *created = true;
    }
    return hg_keys_load_pair(path, err, err_size);
}

int hg_keys_parse_public(const char *spec, char out[HG_KEY_Z85_LEN + 1], char *err, size_t err_size)
{
    if (hg_keys_is_z85(spec)) {
        memcpy(out, spec, HG_KEY_Z85_LEN + 1);
        return 0;
    }
    zcert_t *cert = access(spec, R_OK) == 0 ? zcert_load(spec) : NULL;
    if (!cert) {
        snprintf(err, err_size,
                 "\"%s\" is neither a Z85 public key (40 characters) nor a readable public "
                 "certificate file",
                 spec);
        return HG_EINVAL;
    }
    int rc = 0;
    if (hg_keys_is_z85(zcert_public_txt(cert))) {
        memcpy(out, zcert_public_txt(cert), HG_KEY_Z85_LEN + 1);
    } else {
        snprintf(err, err_size, "%s holds no public key", spec);
        rc = HG_EINVAL;
    }
    zcert_destroy(&cert);
    return rc;
}

bool hg_endpoint_is_loopback(const char *ep)
{
    if (!ep) return false;
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0) return true;
    if (strncmp(ep, "tcp://", 6) != 0) return false;
    /* tcp://HOST:PORT, where HOST must be an address (or "localhost")
     * that only this machine reaches; "a;b" (a source address) is not. */
    const char *h = ep + 6, *colon = strrchr(h, ':');
    if (!colon || strchr(h, ';')) return false;
    char host[256];
    size_t n = (size_t) (colon - h);
    if (n == 0 || n >= sizeof host) return false;
    memcpy(host, h, n);
    host[n] = '\0';
    if (streq(host, "localhost")) return true;
    if (host[0] == '[' && host[n - 1] == ']') {
        host[n - 1] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, host + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    struct in_addr a4;
    return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static void s_keygen_usage(const char *prog, bool need_node, FILE *out)
{
    fprintf(out,
            "usage: %s keygen %s[--out PATH]\n"
            "Writes a new CURVE key pair: the public certificate PATH and the secret one\n"
            "PATH_secret (mode 0600).%s\n",
            prog, need_node ? "--name NODE " : "",
            need_node ? " The certificate names NODE, the only node the key may be;\n"
                        "copy PATH into the master's keys.workers directory to admit it."
                      : " Give PATH to the workers' master.key setting.");
}

int hg_keys_keygen_main(const char *prog, int argc, char **argv, bool need_node,
                        const char *default_out)
{
    const char *out = NULL, *node = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((streq(a, "--out") || streq(a, "--name")) && i + 1 < argc) {
            if (streq(a, "--out"))
                out = argv[++i];
            else
                node = argv[++i];
        } else if (strncmp(a, "--out=", 6) == 0) {
            out = a + 6;
        } else if (strncmp(a, "--name=", 7) == 0) {
            node = a + 7;
        } else if (streq(a, "--help") || streq(a, "-h")) {
            s_keygen_usage(prog, need_node, stdout);
            return 0;
        } else {
            fprintf(stderr, "%s keygen: unexpected argument \"%s\"\n", prog, a);
            s_keygen_usage(prog, need_node, stderr);
            return 2;
        }
    }
    if (need_node && (!node || !*node)) {
        fprintf(stderr, "%s keygen: --name NODE is required\n", prog);
        s_keygen_usage(prog, need_node, stderr);
        return 2;
    }
    char def[512];
    if (!out) {
        snprintf(def, sizeof def, "%s", default_out ? default_out : "key");
        if (need_node) snprintf(def, sizeof def, "%s.key", node);
        out = def;
    }
    char err[1024] = "", pub[4096], sec[4096];
    if (hg_keys_paths(out, pub, sizeof pub, sec, sizeof sec) != 0 ||
        hg_keys_create(out, need_node ? node : NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s keygen: %s\n", prog, *err ? err : "bad --out");
        return 1;
    }
    zcert_t *cert = zcert_load(pub);
    printf("public certificate: %s\nsecret certificate: %s (keep it private)\npublic key: %s\n",
           pub, sec, cert ? zcert_public_txt(cert) : "?");
    zcert_destroy(&cert);
    return 0;
}
