// hg-test-sources: master/db.c tests/unit/db_fixture.c
/* test_db_opts: how the master's MySQL secrets reach Connector/C.
 * mysql.password_file is read like ssh reads a private key (refused when
 * group or others may read it, with a message that never holds the
 * password); the mysql.ssl_* settings become the client's TLS options,
 * and any of them makes TLS required, so that a server that does not
 * prove itself (here the private MariaDB, which has no certificate signed
 * by our CA) is refused rather than used in clear. */
#include "db_fixture.h"
#include "hg_error.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[] = "/tmp/hg_test_db_opts_XXXXXX";

static int s_setup(void **state)
{
    (void) state;
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void) state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write text to <dir>/name with mode; returns the path (static). */
static const char *s_file(const char *name, const char *text, mode_t mode)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void test_password_file(void **state)
{
    (void) state;
    char *pw = NULL, err[512];
    assert_int_equal(
        hg_db_read_password_file(s_file("ok", "s3cret pass\n", 0600), &pw, err, sizeof err), 0);
    assert_string_equal(pw, "s3cret pass");
    free(pw);
    assert_int_equal(hg_db_read_password_file(s_file("crlf", "p\r\n", 0400), &pw, err, sizeof err),
                     0);
    assert_string_equal(pw, "p");
    free(pw);

    /* Readable by group or others: refused, saying how to fix it, and
     * without the password in the message. */
    const mode_t loose[] = {0640, 0604, 0660, 0666};
    for (size_t i = 0; i < 4; i++) {
        pw = NULL;
        assert_int_equal(hg_db_read_password_file(s_file("loose", "topsecret\n", loose[i]), &pw,
                                                  err, sizeof err),
                         HG_EINVAL);
        assert_null(pw);
        assert_non_null(strstr(err, "lets group or others at it"));
        assert_non_null(strstr(err, "chmod 600"));
        assert_null(strstr(err, "topsecret"));
    }
    assert_int_equal(hg_db_read_password_file(s_file("two", "a\nb\n", 0600), &pw, err, sizeof err),
                     HG_EINVAL);
    assert_non_null(strstr(err, "more than one line"));
    assert_int_equal(hg_db_read_password_file(s_dir, &pw, err, sizeof err), HG_EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing", s_dir);
    assert_int_equal(hg_db_read_password_file(missing, &pw, err, sizeof err), HG_EIO);
}

static void test_tls_options_reach_the_client(void **state)
{
    (void) state;
    char err[512];
    MYSQL *conn = mysql_init(NULL);
    assert_non_null(conn);
    hg_db_params_t plain = {.host = "127.0.0.1"};
    assert_int_equal(hg_db_set_options(conn, &plain, err, sizeof err), 0);
    char *ca = (char *) "unset";
    my_bool enforce = 1;
    assert_int_equal(mysql_get_optionv(conn, MYSQL_OPT_SSL_CA, &ca), 0);
    assert_null(ca);
    assert_int_equal(mysql_get_optionv(conn, MYSQL_OPT_SSL_ENFORCE, &enforce), 0);
    assert_int_equal(enforce, 0);
    mysql_close(conn);

    conn = mysql_init(NULL);
    assert_non_null(conn);
    hg_db_params_t tls = {.host = "127.0.0.1",
                          .ssl_ca = "/etc/hourglass/ca.pem",
                          .ssl_cert = "/etc/hourglass/client.pem",
                          .ssl_key = "/etc/hourglass/client.key",
                          .ssl_verify = true};
    assert_int_equal(hg_db_set_options(conn, &tls, err, sizeof err), 0);
    char *cert = NULL, *key = NULL;
    my_bool verify = 0;
    assert_int_equal(mysql_get_optionv(conn, MYSQL_OPT_SSL_CA, &ca), 0);
    assert_int_equal(mysql_get_optionv(conn, MYSQL_OPT_SSL_CERT, &cert), 0);
    assert_int_equal(mysql_get_optionv(conn, MYSQL_OPT_SSL_KEY, &key), 0);
    assert_int_equal(mysql_get_optionv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify), 0);
    assert_int_equal(mysql_get_optionv(conn, MYSQL_OPT_SSL_ENFORCE, &enforce), 0);
    assert_string_equal(ca, "/etc/hourglass/ca.pem");
    assert_string_equal(cert, "/etc/hourglass/client.pem");
    assert_string_equal(key, "/etc/hourglass/client.key");
    assert_int_equal(verify, 1);
    assert_int_equal(enforce, 1);
    mysql_close(conn);
}

/* Against the real private MariaDB: it connects in clear with no TLS
 * setting, and is refused when its certificate must be signed by a CA
 * that did not sign it (a made-up one). */
static void test_tls_required_when_asked(void **state)
{
    (void) state;
    hg_db_params_t db = {0};
    MYSQL *conn = hg_test_db_open("test_db_opts", "hourglass_test_db_opts", &db);
    assert_non_null(conn);
    hg_db_close(&conn);
    char err[512];
    conn = hg_db_connect(&db, err, sizeof err);
    assert_non_null(conn);
    hg_db_close(&conn);

    const char *ca = s_file("ca.pem",
                            "-----BEGIN CERTIFICATE-----\n"
                            "MIIBszCCAVmgAwIBAgIUQk9HVVNDQUJPR1VTQ0FCT0dVU0NBMAoGCCqGSM49BAMC\n"
                            "-----END CERTIFICATE-----\n",
                            0644);
    db.ssl_ca = ca;
    db.ssl_verify = true;
    conn = hg_db_connect(&db, err, sizeof err);
    if (conn) {
        hg_db_close(&conn);
        fail_msg("connected although the server's certificate cannot be verified");
    }
    assert_non_null(strstr(err, "cannot connect to MySQL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_file),
        cmocka_unit_test(test_tls_options_reach_the_client),
        cmocka_unit_test(test_tls_required_when_asked),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
