/* deps_db: the SQL side of the dependency graph (deps.h): the job_deps
 * edges, cycle and dependent checks, cascaded deletes, the tree of a job.
 * Every query is a prepared statement on the caller's connection. */
#include "job_internal.h"
#include "deps.h"
#include "db.h"
#include "job_db.h"
#include "hg_error.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define S_NAME_MAX 190 /* job_deps.child_name / parent_name */

/* ---------------------------------------------------------------------------
 * SQL helpers
 * ------------------------------------------------------------------------ */

static int s_stmt_fail(MYSQL_STMT *stmt, const char *what, char *err, size_t err_size)
{
    if (err && err_size) snprintf(err, err_size, "%s: %s", what, mysql_stmt_error(stmt));
    return HG_EDB;
}

/* Run sql with string parameters args[0..nargs) and append each row, as
 * an array of its ncols (<= 3) string columns, to rows. */
static int s_rows(MYSQL *db, const char *sql, const char **args, int nargs, int ncols, json_t *rows,
                  char *err, size_t err_size)
{
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) return HG_EDB;
    MYSQL_BIND in[4], out[3];
    unsigned long in_len[4], out_len[3];
    my_bool out_null[3];
    char buf[3][S_NAME_MAX + 2];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    for (int i = 0; i < nargs; i++)
        hg_db_bind_str(&in[i], args[i], &in_len[i]);
    for (int i = 0; i < ncols; i++)
        hg_db_bind_out(&out[i], MYSQL_TYPE_STRING, buf[i], sizeof buf[i], &out_len[i],
                       &out_null[i]);
    int rc = 0;
    if (mysql_stmt_bind_param(stmt, in) || mysql_stmt_execute(stmt) ||
        mysql_stmt_bind_result(stmt, out) || mysql_stmt_store_result(stmt)) {
        rc = s_stmt_fail(stmt, "job dependencies", err, err_size);
    } else {
        int f;
        while ((f = mysql_stmt_fetch(stmt)) == 0 || f == MYSQL_DATA_TRUNCATED) {
            json_t *row = json_array();
            for (int i = 0; i < ncols; i++) {
                size_t n = out_len[i] < sizeof buf[i] ? out_len[i] : sizeof buf[i] - 1;
                json_array_append_new(row, out_null[i] ? json_null() : json_stringn(buf[i], n));
            }
            json_array_append_new(rows, row);
        }
        if (f == 1) rc = s_stmt_fail(stmt, "job dependencies", err, err_size);
    }
    mysql_stmt_close(stmt);
    return rc;
}

/* Execute sql with string parameters (no result). */
static int s_exec(MYSQL *db, const char *sql, const char **args, int nargs, char *err,
                  size_t err_size)
{
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) return HG_EDB;
    MYSQL_BIND in[8];
    unsigned long len[8];
    memset(in, 0, sizeof in);
    for (int i = 0; i < nargs; i++)
        hg_db_bind_str(&in[i], args[i], &len[i]);
    int rc = 0;
    if (mysql_stmt_bind_param(stmt, in) || mysql_stmt_execute(stmt))
        rc = s_stmt_fail(stmt, "job dependencies", err, err_size);
    mysql_stmt_close(stmt);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Graph checks
 * ------------------------------------------------------------------------ */

/* The parents of ns/name: from the jobs being written (their new
 * definitions win) or else from job_deps. New array of names. */
static json_t *s_parents(MYSQL *db, json_t *jobs, const char *ns, const char *name, int *rc,
                         char *err, size_t err_size)
{
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        if (strcmp(json_string_value(json_object_get(job, "name")), name) != 0 ||
            strcmp(json_string_value(json_object_get(job, "namespace")), ns) != 0)
            continue;
        json_t *names = json_array();
        size_t k;
        json_t *d;
        json_array_foreach(json_object_get(job, "depends_on"), k, d)
            json_array_append(names, json_object_get(d, "job"));
        return names;
    }
    json_t *rows = json_array();
    const char *args[] = {ns, name};
    *rc = s_rows(db,
                 "SELECT parent_name FROM job_deps WHERE namespace = ? AND child_name = ? "
                 "ORDER BY parent_name",
                 args, 2, 1, rows, err, err_size);
    json_t *names = json_array();
    json_array_foreach(rows, i, job) json_array_append(names, json_array_get(job, 0));
    json_decref(rows);
    return names;
}

/* Depth-first from start along "depends on" edges, looking for target;
 * on reaching it, path holds start .. target. 1 found, 0 not, < 0 error. */
static int s_reach(MYSQL *db, json_t *jobs, const char *ns, const char *start, const char *target,
                   zhashx_t *seen, json_t *path, char *err, size_t err_size)
{
    json_array_append_new(path, json_string(start));
    if (strcmp(start, target) == 0) return 1;
    if (zhashx_lookup(seen, start)) {
        json_array_remove(path, json_array_size(path) - 1);
        return 0;
    }
    if (zhashx_size(seen) >= HG_DEPS_WALK_MAX) {
        snprintf(err, err_size, "the dependency graph has more than %d jobs", HG_DEPS_WALK_MAX);
        return HG_ERANGE;
    }
    zhashx_insert(seen, start, (void *) 1);
    int rc = 0;
    json_t *parents = s_parents(db, jobs, ns, start, &rc, err, err_size);
    size_t i;
    json_t *p;
    json_array_foreach(parents, i, p)
    {
        if (rc) break;
        rc = s_reach(db, jobs, ns, json_string_value(p), target, seen, path, err, err_size);
        if (rc) break;
    }
    json_decref(parents);
    if (rc == 0) json_array_remove(path, json_array_size(path) - 1);
    return rc;
}

/* Does ns/name exist in the catalogue or among jobs (a batch may name
 * a parent anywhere in it)? */
static int s_exists(MYSQL *db, json_t *jobs, const char *ns, const char *name, char *err,
                    size_t err_size)
{
    for (size_t i = 0; i < json_array_size(jobs); i++) {
        json_t *job = json_array_get(jobs, i);
        if (strcmp(json_string_value(json_object_get(job, "name")), name) == 0 &&
            strcmp(json_string_value(json_object_get(job, "namespace")), ns) == 0)
            return 1;
    }
    json_t *rows = json_array();
    const char *args[] = {ns, name};
    int rc = s_rows(db, "SELECT name FROM jobs WHERE namespace = ? AND name = ?", args, 2, 1, rows,
                    err, err_size);
    size_t n = json_array_size(rows);
    json_decref(rows);
    return rc ? rc : n > 0;
}

/* The checks of jobs[i]. */
static int s_check_one(MYSQL *db, json_t *jobs, size_t i, hg_job_err_t *e, const char *pfx)
{
    json_t *job = json_array_get(jobs, i);
    const char *ns = json_string_value(json_object_get(job, "namespace"));
    const char *name = json_string_value(json_object_get(job, "name"));
    json_t *deps = json_object_get(job, "depends_on");
    char f[128];
    size_t k;
    json_t *d;
    json_array_foreach(deps, k, d)
    {
        const char *parent = json_string_value(json_object_get(d, "job"));
        int rc = s_exists(db, jobs, ns, parent, e->message, e->message_size);
        if (rc < 0) return rc;
        snprintf(f, sizeof f, "%sdepends_on[%zu].job", pfx, k);
        if (rc == 0) return hg_job__fail(e, f, "no job \"%s\" in namespace \"%s\"", parent, ns);
    }
    /* A cycle through this job: some parent reaches it back. */
    json_array_foreach(deps, k, d)
    {
        zhashx_t *seen = zhashx_new();
        json_t *path = json_array();
        json_array_append_new(path, json_string(name));
        int rc = s_reach(db, jobs, ns, json_string_value(json_object_get(d, "job")), name, seen,
                         path, e->message, e->message_size);
        zhashx_destroy(&seen);
        snprintf(f, sizeof f, "%sdepends_on", pfx);
        if (rc == 1) {
            char text[1024] = "";
            size_t used = 0, n;
            json_t *step;
            json_array_foreach(path, n, step)
            {
                int w = snprintf(text + used, sizeof text - used, "%s%s", n ? " -> " : "",
                                 json_string_value(step));
                if (w < 0 || (size_t) w >= sizeof text - used) break;
                used += (size_t) w;
            }
            json_decref(path);
            return hg_job__fail(e, f, "would make a cycle: %s", text);
        }
        json_decref(path);
        if (rc == HG_ERANGE)
            return hg_job__fail(e, f, "the dependency graph is too large to check");
        if (rc < 0) return rc;
    }
    return 0;
}

int hg_deps_db_check(MYSQL *db, json_t *jobs, bool prefix, char *field, size_t field_size,
                     char *message, size_t message_size)
{
    hg_job_err_t e = {field, field_size, message, message_size};
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        char pfx[32] = "";
        if (prefix) snprintf(pfx, sizeof pfx, "jobs[%zu].", i);
        int rc = s_check_one(db, jobs, i, &e, pfx);
        if (rc) return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Edges
 * ------------------------------------------------------------------------ */

int hg_deps_db_forget(MYSQL *db, const char *ns, const char *name, char *err, size_t err_size)
{
    const char *args[] = {ns, name};
    return s_exec(db, "DELETE FROM job_deps WHERE namespace = ? AND child_name = ?", args, 2, err,
                  err_size);
}

int hg_deps_db_put(MYSQL *db, json_t *job, char *err, size_t err_size)
{
    const char *ns = json_string_value(json_object_get(job, "namespace"));
    const char *name = json_string_value(json_object_get(job, "name"));
    const char *rule = json_string_value(json_object_get(job, "trigger_rule"));
    if (!ns || !name) return HG_EINVAL;
    int rc = hg_deps_db_forget(db, ns, name, err, err_size);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(job, "depends_on"), i, d)
    {
        if (rc) break;
        const char *args[] = {ns, name, json_string_value(json_object_get(d, "job")),
                              json_string_value(json_object_get(d, "on")), rule ? rule : "all"};
        rc = s_exec(db,
                    "INSERT INTO job_deps (namespace, child_name, parent_name, on_status, "
                    "trigger_rule, created_at) VALUES (?, ?, ?, ?, ?, NOW(3))",
                    args, 5, err, err_size);
    }
    return rc;
}

int hg_deps_db_dependents(MYSQL *db, const char *ns, const char *name, json_t **out, char *err,
                          size_t err_size)
{
    *out = json_array();
    zhashx_t *seen = zhashx_new();
    zhashx_insert(seen, name, (void *) 1);
    int rc = 0;
    /* Breadth first over *out itself: nearest dependents first. */
    const char *cur = name;
    for (size_t next = 0; !rc; next++) {
        json_t *rows = json_array();
        const char *args[] = {ns, cur};
        rc = s_rows(db,
                    "SELECT child_name FROM job_deps WHERE namespace = ? AND parent_name = ? "
                    "ORDER BY child_name",
                    args, 2, 1, rows, err, err_size);
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            const char *child = json_string_value(json_array_get(row, 0));
            if (zhashx_lookup(seen, child) || zhashx_size(seen) >= HG_DEPS_WALK_MAX) continue;
            zhashx_insert(seen, child, (void *) 1);
            json_array_append(*out, json_array_get(row, 0));
        }
        json_decref(rows);
        if (next >= json_array_size(*out)) break;
        cur = json_string_value(json_array_get(*out, next));
    }
    zhashx_destroy(&seen);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Tree
 * ------------------------------------------------------------------------ */

/* Entries of one direction below name: up (parents) or down (children). */
static json_t *s_branch(MYSQL *db, const char *ns, const char *name, bool up, int depth,
                        size_t *budget, int *rc, char *err, size_t err_size)
{
    json_t *list = json_array();
    if (*rc || depth > 64 || *budget == 0) return list;
    json_t *rows = json_array();
    const char *args[] = {ns, name};
    *rc = s_rows(db,
                 up ? "SELECT parent_name, on_status FROM job_deps WHERE namespace = ? AND "
                      "child_name = ? ORDER BY parent_name"
                    : "SELECT child_name, on_status FROM job_deps WHERE namespace = ? AND "
                      "parent_name = ? ORDER BY child_name",
                 args, 2, 2, rows, err, err_size);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (*rc || *budget == 0) break;
        (*budget)--;
        const char *other = json_string_value(json_array_get(row, 0));
        json_t *sub = s_branch(db, ns, other, up, depth + 1, budget, rc, err, err_size);
        json_array_append_new(list,
                              json_pack("{s:O, s:O, s:o}", "job", json_array_get(row, 0), "on",
                                        json_array_get(row, 1), up ? "parents" : "children", sub));
    }
    json_decref(rows);
    return list;
}

int hg_deps_db_tree(MYSQL *db, const char *ns, const char *name, json_t **out, char *err,
                    size_t err_size)
{
    *out = NULL;
    int rc = 0;
    size_t budget = HG_DEPS_WALK_MAX;
    json_t *parents = s_branch(db, ns, name, true, 0, &budget, &rc, err, err_size);
    json_t *children = s_branch(db, ns, name, false, 0, &budget, &rc, err, err_size);
    json_t *rule_rows = json_array();
    const char *args[] = {ns, name};
    if (!rc)
        rc = s_rows(db,
                    "SELECT trigger_rule FROM job_deps WHERE namespace = ? AND child_name = ? "
                    "LIMIT 1",
                    args, 2, 1, rule_rows, err, err_size);
    json_t *rule = json_array_get(json_array_get(rule_rows, 0), 0);
    rule = rule ? json_incref(rule) : json_string("all");
    if (rc == 0)
        *out = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b}", "job", name, "namespace", ns,
                         "trigger_rule", rule, "parents", parents, "children", children,
                         "truncated", budget == 0);
    else {
        json_decref(rule);
        json_decref(parents);
        json_decref(children);
    }
    json_decref(rule_rows);
    return rc;
}

int hg_deps_db_put_all(MYSQL *db, json_t *jobs, char *err, size_t err_size)
{
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        if (!hg_deps_listed(job)) continue;
        int rc = hg_deps_db_put(db, job, err, err_size);
        if (rc) return rc;
    }
    return 0;
}

int hg_deps_db_delete_jobs(MYSQL *db, const char *ns, json_t *names, json_t **deleted, char *err,
                           size_t err_size)
{
    *deleted = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        json_t *job = NULL;
        const char *name = json_string_value(n);
        int rc = hg_job_db_get(db, ns, name, &job, err, err_size);
        if (rc == HG_ENOTFOUND) continue; /* an edge to a job gone already */
        if (rc == 0) rc = hg_deps_db_forget(db, ns, name, err, err_size);
        if (rc == 0)
            rc = hg_job_db_delete(db, (uint64_t) json_integer_value(json_object_get(job, "id")),
                                  err, err_size);
        if (rc) {
            json_decref(job);
            return rc;
        }
        json_array_append_new(*deleted, job);
    }
    return 0;
}

int hg_deps_db_on_update(MYSQL *db, json_t *old_job, json_t *new_job, json_t **dependents,
                         char *field, size_t field_size, char *message, size_t message_size)
{
    *dependents = NULL;
    const char *ns = json_string_value(json_object_get(old_job, "namespace"));
    const char *old_name = json_string_value(json_object_get(old_job, "name"));
    const char *new_name = json_string_value(json_object_get(new_job, "name"));
    if (!ns || !old_name || !new_name) return HG_EINVAL;
    int rc;
    if (strcmp(old_name, new_name) != 0) {
        rc = hg_deps_db_dependents(db, ns, old_name, dependents, message, message_size);
        if (rc) return rc;
        if (json_array_size(*dependents) > 0) return HG_EEXIST;
        json_decref(*dependents);
        *dependents = NULL;
        if ((rc = hg_deps_db_forget(db, ns, old_name, message, message_size))) return rc;
    }
    json_t *one = json_pack("[O]", new_job);
    rc = hg_deps_db_check(db, one, false, field, field_size, message, message_size);
    json_decref(one);
    if (rc) return rc;
    return hg_deps_db_put(db, new_job, message, message_size);
}
