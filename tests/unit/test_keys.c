/* Unit tests for the CURVE key handling: key files (common/hg_keys.c),
 * the master's keyring and ZAP decision (master/zap.c) and the rule for
 * which connection may hold a node's session (master/conn.c). */
// hg-test-sources: master/zap.c master/conn.c master/db.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn.h"
#include "hg_error.h"
#include "hg_keys.h"
#include "zap.h"

static char s_dir[256];

static int s_setup(void **state)
{
    (void) state;
    snprintf(s_dir, sizeof s_dir, "/tmp/hg_test_keys_XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void) state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd);
}

static void s_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", s_dir, name);
}

static mode_t s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 0777;
}

static void test_create_and_load(void **state)
{
    (void) state;
    char pub[512], sec[600], err[512];
    s_path(pub, sizeof pub, "sub/w1.key");
    snprintf(sec, sizeof sec, "%s_secret", pub);
    assert_int_equal(hg_keys_create(pub, "worker-1", err, sizeof err), 0);
    assert_int_equal(s_mode(sec), 0600);
    assert_int_equal(s_mode(pub), 0644);
    /* Never overwritten. */
    assert_int_equal(hg_keys_create(pub, "worker-1", err, sizeof err), HG_EEXIST);
    assert_int_equal(hg_keys_create(sec, NULL, err, sizeof err), HG_EEXIST);

    /* Either name of the pair loads the same keys. */
    zcert_t *a = hg_keys_load_pair(sec, err, sizeof err);
    zcert_t *b = hg_keys_load_pair(pub, err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(zcert_public_txt(a), zcert_public_txt(b));
    assert_string_equal(zcert_secret_txt(a), zcert_secret_txt(b));
    assert_string_equal(zcert_meta(a, "node"), "worker-1");
    assert_true(hg_keys_is_z85(zcert_public_txt(a)));

    /* The public file alone carries no secret, and pins fine. */
    char pinned[HG_KEY_Z85_LEN + 1];
    assert_int_equal(hg_keys_parse_public(pub, pinned, err, sizeof err), 0);
    assert_string_equal(pinned, zcert_public_txt(a));
    assert_int_equal(hg_keys_parse_public(zcert_public_txt(a), pinned, err, sizeof err), 0);
    assert_string_equal(pinned, zcert_public_txt(a));
    assert_int_equal(hg_keys_parse_public("not-a-key", pinned, err, sizeof err), HG_EINVAL);
    assert_non_null(strstr(err, "neither"));
    zcert_destroy(&a);
    zcert_destroy(&b);
}

static void test_load_refuses(void **state)
{
    (void) state;
    char pub[512], sec[600], err[512];
    s_path(pub, sizeof pub, "shared.key");
    snprintf(sec, sizeof sec, "%s_secret", pub);
    assert_null(hg_keys_load_pair(pub, err, sizeof err)); /* missing */
    assert_non_null(strstr(err, "cannot read"));
    assert_int_equal(hg_keys_create(pub, NULL, err, sizeof err), 0);
    assert_int_equal(chmod(sec, 0640), 0);
    assert_null(hg_keys_load_pair(pub, err, sizeof err));
    assert_non_null(strstr(err, "chmod 600"));
    /* A public certificate where the secret should be: no secret key. */
    char only[512];
    s_path(only, sizeof only, "only.key_secret");
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 600 '%s'", pub, only, only);
    assert_int_equal(system(cmd), 0);
    assert_null(hg_keys_load_pair(only, err, sizeof err));
    assert_non_null(strstr(err, "no secret key"));
}

static void test_load_or_create(void **state)
{
    (void) state;
    char path[512], err[512];
    s_path(path, sizeof path, "auto/master.key_secret");
    bool created = false;
    zcert_t *a = hg_keys_load_or_create(path, NULL, &created, err, sizeof err);
    assert_non_null(a);
    assert_true(created);
    zcert_t *b = hg_keys_load_or_create(path, NULL, &created, err, sizeof err);
    assert_non_null(b);
    assert_false(created);
    assert_string_equal(zcert_public_txt(a), zcert_public_txt(b));
    zcert_destroy(&a);
    zcert_destroy(&b);
}

static void test_loopback(void **state)
{
    (void) state;
    assert_true(hg_endpoint_is_loopback("tcp://127.0.0.1:8643"));
    assert_true(hg_endpoint_is_loopback("tcp://127.1.2.3:1"));
    assert_true(hg_endpoint_is_loopback("tcp://[::1]:8643"));
    assert_true(hg_endpoint_is_loopback("tcp://localhost:8643"));
    assert_true(hg_endpoint_is_loopback("ipc:///tmp/hg.sock"));
    assert_false(hg_endpoint_is_loopback("tcp://0.0.0.0:8643"));
    assert_false(hg_endpoint_is_loopback("tcp://*:8643"));
    assert_false(hg_endpoint_is_loopback("tcp://10.0.0.1:8643"));
    assert_false(hg_endpoint_is_loopback("tcp://127.0.0.1.evil.example:8643"));
    assert_false(hg_endpoint_is_loopback("tcp://eth0;127.0.0.1:8643"));
    assert_false(hg_endpoint_is_loopback("tcp://master:8643"));
    assert_false(hg_endpoint_is_loopback(NULL));
}

/* A fresh Z85 public key and its raw 32 bytes. */
static void s_key(char z85[HG_KEY_Z85_LEN + 1], uint8_t raw[32])
{
    zcert_t *c = zcert_new();
    memcpy(raw, zcert_public_key(c), 32);
    memcpy(z85, zcert_public_txt(c), HG_KEY_Z85_LEN + 1);
    zcert_destroy(&c);
}

static void test_keyring(void **state)
{
    (void) state;
    char k1[41], k2[41];
    uint8_t r[32];
    s_key(k1, r);
    s_key(k2, r);
    hg_keyring_t *ring = hg_keyring_new();
    assert_int_equal(hg_keyring_add(ring, k1, "worker-1"), 0);
    assert_int_equal(hg_keyring_add(ring, k1, "worker-1"), 0);
    assert_int_equal(hg_keyring_add(ring, k1, "worker-2"), HG_EEXIST);
    assert_string_equal(hg_keyring_lookup(ring, k1), "worker-1");
    /* A node may have several keys (rotation). */
    assert_int_equal(hg_keyring_add(ring, k2, "worker-1"), 0);
    assert_int_equal(hg_keyring_add(ring, "short", "worker-3"), HG_EINVAL);
    assert_int_equal(hg_keyring_add(ring, k2, ""), HG_EINVAL);
    assert_int_equal(hg_keyring_add(ring, k2, "has space"), HG_EINVAL);
    assert_int_equal(hg_keyring_size(ring), 2);
    hg_keyring_destroy(&ring);
    assert_null(ring);
}

static void test_keyring_dir(void **state)
{
    (void) state;
    char dir[512], path[700], err[512];
    s_path(dir, sizeof dir, "workers");
    snprintf(path, sizeof path, "%s/w1.key", dir);
    assert_int_equal(hg_keys_create(path, "worker-1", err, sizeof err), 0); /* + w1.key_secret */
    snprintf(path, sizeof path, "%s/anon.key", dir);
    assert_int_equal(hg_keys_create(path, NULL, err, sizeof err), 0); /* no node: skipped */
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("not a certificate\n", f);
    fclose(f);
    hg_keyring_t *ring = hg_keyring_new();
    assert_int_equal(hg_keyring_load_dir(ring, dir), 1);
    assert_int_equal(hg_keyring_size(ring), 1);
    snprintf(path, sizeof path, "%s/w1.key", dir);
    zcert_t *c = zcert_load(path);
    assert_string_equal(hg_keyring_lookup(ring, zcert_public_txt(c)), "worker-1");
    zcert_destroy(&c);
    /* A missing directory is an empty allow-list. */
    assert_int_equal(hg_keyring_load_dir(ring, "/nonexistent/hg"), 0);
    hg_keyring_destroy(&ring);
}

static void test_zap_decide(void **state)
{
    (void) state;
    char k1[41], k2[41], k3[41], key[41];
    uint8_t r1[32], r2[32], r3[32];
    s_key(k1, r1);
    s_key(k2, r2);
    s_key(k3, r3);
    hg_keyring_t *dir = hg_keyring_new(), *db = hg_keyring_new();
    hg_keyring_add(dir, k1, "worker-1");
    hg_keyring_add(db, k2, "worker-2");
    hg_keyring_add(dir, k3, "worker-3");
    hg_keyring_add(db, k3, "worker-4"); /* the sources disagree */
    const char *node, *why;

    assert_int_equal(hg_zap_decide(dir, db, "CURVE", r1, 32, &node, key, &why), 200);
    assert_string_equal(node, "worker-1");
    assert_string_equal(key, k1);
    assert_int_equal(hg_zap_decide(dir, db, "CURVE", r2, 32, &node, key, &why), 200);
    assert_string_equal(node, "worker-2");
    assert_int_equal(hg_zap_decide(dir, db, "CURVE", r3, 32, &node, key, &why), 400);
    assert_null(node);
    assert_int_equal(hg_zap_decide(dir, NULL, "CURVE", r2, 32, &node, key, &why), 400);
    assert_string_equal(why, "unknown key");
    /* The reason never carries the key. */
    assert_null(strstr(why, k2));
    assert_int_equal(hg_zap_decide(dir, db, "NULL", r1, 32, &node, key, &why), 400);
    assert_int_equal(hg_zap_decide(dir, db, "PLAIN", r1, 32, &node, key, &why), 400);
    assert_int_equal(hg_zap_decide(dir, db, NULL, r1, 32, &node, key, &why), 400);
    assert_int_equal(hg_zap_decide(dir, db, "CURVE", r1, 31, &node, key, &why), 400);
    assert_int_equal(hg_zap_decide(dir, db, "CURVE", NULL, 0, &node, key, &why), 400);
    hg_keyring_destroy(&dir);
    hg_keyring_destroy(&db);
}

static void s_conn(hg_conn_t *c, const char *id, const char *key)
{
    zframe_t *f = zframe_new(id, strlen(id));
    hg_conn_set(c, f, key);
    zframe_destroy(&f);
}

static void test_conn_take(void **state)
{
    (void) state;
    hg_conn_t none = {0}, a, a2, b;
    s_conn(&a, "\x01\x01\x02\x03\x04", "KEY-A");
    s_conn(&a2, "\x01\x09\x09\x09\x09", "KEY-A");
    s_conn(&b, "\x01\x05\x06\x07\x08", "KEY-B");
    assert_true(hg_conn_may_take(&none, true, &b)); /* first session */
    assert_true(hg_conn_may_take(&a, true, &a));    /* same connection */
    assert_true(hg_conn_may_take(&a, true, &a2));   /* restart with its key */
    assert_false(hg_conn_may_take(&a, true, &b));   /* another key, session live */
    assert_true(hg_conn_may_take(&a, false, &b));   /* another key, session over */
    assert_true(hg_conn_same(&a, &a));
    assert_false(hg_conn_same(&a, &a2));
    assert_false(hg_conn_same(&none, &none));
    zframe_t *f = hg_conn_frame(&a);
    assert_int_equal(zframe_size(f), 5);
    zframe_destroy(&f);
    assert_null(hg_conn_frame(&none));
}

static void test_conn_names(void **state)
{
    (void) state;
    hg_conn_names_t *names = hg_conn_names_new(2);
    hg_conn_t a, b, c;
    s_conn(&a, "aa", "");
    s_conn(&b, "bb", "");
    s_conn(&c, "cc", "");
    hg_conn_names_put(names, &a, "worker-1");
    hg_conn_names_put(names, &b, "worker-2");
    assert_string_equal(hg_conn_names_get(names, &a), "worker-1");
    hg_conn_names_put(names, &c, "worker-3"); /* full: the oldest goes */
    assert_null(hg_conn_names_get(names, &a));
    assert_string_equal(hg_conn_names_get(names, &b), "worker-2");
    assert_string_equal(hg_conn_names_get(names, &c), "worker-3");
    hg_conn_names_forget(names, &b);
    assert_null(hg_conn_names_get(names, &b));
    hg_conn_names_put(names, &c, "worker-4"); /* a connection is one node */
    assert_string_equal(hg_conn_names_get(names, &c), "worker-4");
    hg_conn_names_destroy(&names);
    assert_null(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_load), cmocka_unit_test(test_load_refuses),
        cmocka_unit_test(test_load_or_create),  cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_keyring),         cmocka_unit_test(test_keyring_dir),
        cmocka_unit_test(test_zap_decide),      cmocka_unit_test(test_conn_take),
        cmocka_unit_test(test_conn_names),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
