// hg-test-sources: master/deps.c master/deps_db.c master/job_db.c master/job.c master/db.c
// hg-test-sources: master/job_policy.c master/job_ext.c master/routing.c tests/unit/db_fixture.c
/* test_deps: the dependency graph's SQL (master/deps_db.c) in its own
 * database of the private MariaDB (hourglass_test_deps, recreated on every
 * run): a cycle made by an update is refused naming its path, a rename of
 * a job others depend on is refused naming them, a rename of a leaf moves
 * its edges, dependents come nearest first, and the tree nests both ways.
 * The update seam is what the edit lane calls (hg_deps_db_on_update); the
 * create and delete paths are covered end to end by
 * tests/integration/test_deps.py. */
#include "db_fixture.h"
#include "deps.h"
#include "hg_error.h"
#include "hg_log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    hg_db_params_t db; /* the test database */
    MYSQL *conn;       /* the test's own connection */
} s_fx;

/* The job object name with depends_on parents (NULL-terminated). */
static json_t *s_obj(const char *name, const char *const *parents)
{
    json_t *deps = json_array();
    for (; parents && *parents; parents++)
        json_array_append_new(deps, json_pack("{s:s, s:s}", "job", *parents, "on", "success"));
    return json_pack("{s:s, s:s, s:o, s:s}", "namespace", "default", "name", name, "depends_on",
                     deps, "trigger_rule", "all");
}

/* A job row named name with depends_on parents (NULL-terminated), its
 * edges stored; returns the job object (new). */
static json_t *s_job(const char *name, const char *const *parents)
{
    char q[512];
    snprintf(q, sizeof q,
             "INSERT INTO jobs (namespace, name, kind, schedule, spec) VALUES ('default', '%s', "
             "'http', '@never', '{}')",
             name);
    assert_int_equal(mysql_query(s_fx.conn, q), 0);
    json_t *job = s_obj(name, parents);
    char err[512];
    assert_int_equal(hg_deps_db_put(s_fx.conn, job, err, sizeof err), 0);
    return job;
}

static int s_setup(void **state)
{
    (void) state;
    hg_log_init("test_deps", getenv("HG_TEST_VERBOSE") ? HG_LOG_DEBUG : HG_LOG_ERROR);
    s_fx.conn = hg_test_db_open("test_deps", "hourglass_test_deps", &s_fx.db);
    return s_fx.conn ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void) state;
    hg_db_close(&s_fx.conn);
    return 0;
}

static void test_graph(void **state)
{
    (void) state;
    static const char *const on_a[] = {"a", NULL}, *const on_b[] = {"b", NULL},
                             *const on_c[] = {"c", NULL};
    json_t *a = s_job("a", NULL), *b = s_job("b", on_a), *c = s_job("c", on_b);
    char field[256], msg[1024];
    json_t *dependents = NULL;

    /* a made to depend on c closes a -> c -> b -> a: refused, nothing stored */
    json_t *a2 = s_obj("a", on_c);
    assert_int_equal(
        hg_deps_db_on_update(s_fx.conn, a, a2, &dependents, field, sizeof field, msg, sizeof msg),
        HG_EINVAL);
    assert_string_equal(field, "depends_on");
    assert_string_equal(msg, "depends_on: would make a cycle: a -> c -> b -> a");
    json_t *tree = NULL;
    assert_int_equal(hg_deps_db_tree(s_fx.conn, "default", "a", &tree, msg, sizeof msg), 0);
    assert_int_equal(json_array_size(json_object_get(tree, "parents")), 0);
    json_decref(tree);

    /* b has a dependent: its rename is refused naming c */
    json_t *b2 = s_obj("b-renamed", on_a);
    assert_int_equal(
        hg_deps_db_on_update(s_fx.conn, b, b2, &dependents, field, sizeof field, msg, sizeof msg),
        HG_EEXIST);
    assert_int_equal(json_array_size(dependents), 1);
    assert_string_equal(json_string_value(json_array_get(dependents, 0)), "c");
    json_decref(dependents);

    /* c is a leaf: renamed with its edge */
    json_t *c2 = s_obj("c2", on_b);
    assert_int_equal(
        hg_deps_db_on_update(s_fx.conn, c, c2, &dependents, field, sizeof field, msg, sizeof msg),
        0);
    assert_null(dependents);
    assert_int_equal(hg_deps_db_dependents(s_fx.conn, "default", "a", &dependents, msg, sizeof msg),
                     0);
    assert_int_equal(json_array_size(dependents), 2);
    assert_string_equal(json_string_value(json_array_get(dependents, 0)), "b");
    assert_string_equal(json_string_value(json_array_get(dependents, 1)), "c2");
    json_decref(dependents);

    /* the tree of b: a above, c2 below */
    assert_int_equal(hg_deps_db_tree(s_fx.conn, "default", "b", &tree, msg, sizeof msg), 0);
    json_t *up = json_object_get(tree, "parents"), *down = json_object_get(tree, "children");
    assert_int_equal(json_array_size(up), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(up, 0), "job")), "a");
    assert_int_equal(json_array_size(down), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(down, 0), "job")), "c2");
    json_decref(tree);

    /* editing the parent a (no rename) keeps its dependents */
    assert_int_equal(
        hg_deps_db_on_update(s_fx.conn, a, a, &dependents, field, sizeof field, msg, sizeof msg),
        0);
    assert_int_equal(hg_deps_db_dependents(s_fx.conn, "default", "a", &dependents, msg, sizeof msg),
                     0);
    assert_int_equal(json_array_size(dependents), 2);
    json_decref(dependents);
    json_decref(a);
    json_decref(a2);
    json_decref(b);
    json_decref(b2);
    json_decref(c);
    json_decref(c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
