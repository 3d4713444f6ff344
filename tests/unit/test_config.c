/* Unit tests for hg_config: precedence default < file < env < flag, typed
 * values, bounds, and the messages a user sees for a bad setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hg_config.h"
#include "hg_error.h"

static const hg_cfg_def_t s_defs[] = {
    {"mysql.host", HG_CFG_STR, "127.0.0.1", 0, 0, "MySQL host"},
    {"mysql.port", HG_CFG_INT, "3306", 1, 65535, "MySQL port"},
    {"lease", HG_CFG_DURATION, "2s", 50, 600000, "lease"},
    {"debug", HG_CFG_BOOL, "false", 0, 0, "debug mode"},
};
#define NDEFS (sizeof s_defs / sizeof s_defs[0])

static char s_file[64];

static int setup(void **state)
{
    unsetenv("HOURGLASS_MYSQL_HOST");
    unsetenv("HOURGLASS_MYSQL_PORT");
    unsetenv("HOURGLASS_LEASE");
    unsetenv("HOURGLASS_DEBUG");
    unsetenv("HOURGLASS_CONFIG");
    snprintf(s_file, sizeof s_file, "/tmp/hg-test-config-%d.ini", (int) getpid());
    FILE *f = fopen(s_file, "w");
    fprintf(f, "lease = 3s\n[mysql]\nhost = db.example\nport = 3310\n");
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    unlink(s_file);
    return 0;
}

static int load(hg_config_t *cfg, int argc, char **argv, char *err, size_t size)
{
    return hg_config_load(cfg, "test", argc, argv, err, size);
}

static void test_defaults(void **state)
{
    hg_config_t *cfg = hg_config_new(s_defs, NDEFS);
    char *argv[] = {"test"};
    char err[256];
    assert_int_equal(load(cfg, 1, argv, err, sizeof err), 0);
    assert_string_equal(hg_config_str(cfg, "mysql.host"), "127.0.0.1");
    assert_int_equal(hg_config_int(cfg, "mysql.port"), 3306);
    assert_int_equal(hg_config_int(cfg, "lease"), 2000);
    assert_false(hg_config_bool(cfg, "debug"));
    assert_string_equal(hg_config_source(cfg, "lease"), "default");
    hg_config_destroy(&cfg);
    assert_null(cfg);
}

static void test_file_over_default(void **state)
{
    hg_config_t *cfg = hg_config_new(s_defs, NDEFS);
    char *argv[] = {"test", "--config", s_file};
    char err[256];
    assert_int_equal(load(cfg, 3, argv, err, sizeof err), 0);
    assert_string_equal(hg_config_str(cfg, "mysql.host"), "db.example");
    assert_int_equal(hg_config_int(cfg, "mysql.port"), 3310);
    assert_int_equal(hg_config_int(cfg, "lease"), 3000);
    assert_string_equal(hg_config_source(cfg, "mysql.port"), "file");
    hg_config_destroy(&cfg);
}

static void test_env_over_file_flag_over_env(void **state)
{
    setenv("HOURGLASS_MYSQL_PORT", "3320", 1);
    setenv("HOURGLASS_LEASE", "4s", 1);
    hg_config_t *cfg = hg_config_new(s_defs, NDEFS);
    char *argv[] = {"test", "--config", s_file, "--lease", "750ms", "--debug"};
    char err[256];
    assert_int_equal(load(cfg, 6, argv, err, sizeof err), 0);
    assert_string_equal(hg_config_str(cfg, "mysql.host"), "db.example"); /* file */
    assert_int_equal(hg_config_int(cfg, "mysql.port"), 3320);            /* env */
    assert_string_equal(hg_config_source(cfg, "mysql.port"), "env");
    assert_int_equal(hg_config_int(cfg, "lease"), 750); /* flag beats env */
    assert_string_equal(hg_config_source(cfg, "lease"), "flag");
    assert_true(hg_config_bool(cfg, "debug")); /* bare boolean flag */
    hg_config_destroy(&cfg);
}

static void test_config_from_environment(void **state)
{
    setenv("HOURGLASS_CONFIG", s_file, 1);
    hg_config_t *cfg = hg_config_new(s_defs, NDEFS);
    char *argv[] = {"test", "--mysql-port=3400"};
    char err[256];
    assert_int_equal(load(cfg, 2, argv, err, sizeof err), 0);
    assert_string_equal(hg_config_str(cfg, "mysql.host"), "db.example");
    assert_int_equal(hg_config_int(cfg, "mysql.port"), 3400);
    hg_config_destroy(&cfg);
}

static void test_errors_name_the_setting(void **state)
{
    char err[256];
    hg_config_t *cfg = hg_config_new(s_defs, NDEFS);
    char *a1[] = {"test", "--mysql-port", "70000"};
    assert_int_equal(load(cfg, 3, a1, err, sizeof err), HG_ECONFIG);
    assert_string_equal(err, "mysql.port (from flag): 70000 is out of range 1-65535");

    char *a2[] = {"test", "--lease", "soon"};
    assert_int_equal(load(cfg, 3, a2, err, sizeof err), HG_ECONFIG);
    assert_non_null(strstr(err, "lease (from flag): \"soon\" is not a duration"));

    setenv("HOURGLASS_MYSQL_PORT", "abc", 1);
    char *a3[] = {"test"};
    assert_int_equal(load(cfg, 1, a3, err, sizeof err), HG_ECONFIG);
    assert_string_equal(err, "mysql.port (from env): \"abc\" is not an integer");
    unsetenv("HOURGLASS_MYSQL_PORT");

    char *a4[] = {"test", "--no-such-thing", "1"};
    assert_int_equal(load(cfg, 3, a4, err, sizeof err), HG_ECONFIG);
    assert_string_equal(err, "unknown option \"--no-such-thing\" (see --help)");

    char *a5[] = {"test", "--mysql-host"};
    assert_int_equal(load(cfg, 2, a5, err, sizeof err), HG_ECONFIG);
    assert_string_equal(err, "option --mysql-host needs a value");
    hg_config_destroy(&cfg);
}

static void test_bad_file(void **state)
{
    char err[256];
    char bad[80];
    snprintf(bad, sizeof bad, "%s.bad", s_file);
    FILE *f = fopen(bad, "w");
    fprintf(f, "[mysql]\ncolour = blue\n");
    fclose(f);
    hg_config_t *cfg = hg_config_new(s_defs, NDEFS);
    char *a1[] = {"test", "--config", bad};
    assert_int_equal(load(cfg, 3, a1, err, sizeof err), HG_ECONFIG);
    assert_non_null(strstr(err, "unknown setting \"mysql.colour\""));
    unlink(bad);
    char *a2[] = {"test", "--config", "/nonexistent/hourglass.ini"};
    assert_int_equal(load(cfg, 3, a2, err, sizeof err), HG_ECONFIG);
    assert_non_null(strstr(err, "cannot read config file"));
    hg_config_destroy(&cfg);
}

static void test_help_lists_every_setting(void **state)
{
    hg_config_t *cfg = hg_config_new(s_defs, NDEFS);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    hg_config_usage(cfg, "test", out);
    fclose(out);
    assert_non_null(strstr(buf, "--mysql-host"));
    assert_non_null(strstr(buf, "HOURGLASS_MYSQL_HOST"));
    assert_non_null(strstr(buf, "default \"3306\""));
    assert_non_null(strstr(buf, "--lease DURATION"));
    free(buf);
    hg_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_over_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_over_file_flag_over_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_from_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_the_setting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_lists_every_setting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
