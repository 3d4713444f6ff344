/* job_db: the SQL of the jobs table (job_db.h), prepared statements only.
 * The table keeps the fields the master queries on as columns and the task
 * ({"http", "plugin", "params", "executor"}) as JSON text in `spec`;
 * s_job_object puts the API object of job.h back together, from a row read
 * or from the values just inserted. */
#include "job_db.h"
#include "deps.h"
#include "job_ext.h"
#include "job_internal.h"
#include "job_policy.h"
#include "db.h"
#include "hg_error.h"
#include "hg_time.h"

#include <czmq.h>
#include <jansson.h>
#include <mysqld_error.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_JOB_COLUMNS                                                                              \
    "id, namespace, name, kind, schedule, timezone, status, start_at, end_at, misfire, "           \
    "timeout_ms, spec, version, created_at, updated_at"

static int s_stmt_fail(MYSQL_STMT *stmt, const char *what, char *err, size_t err_size)
{
    if (err && err_size) snprintf(err, err_size, "%s: %s", what, mysql_stmt_error(stmt));
    return HG_EDB;
}

static void s_bind_i32(MYSQL_BIND *b, int32_t *v)
{
    b->buffer_type = MYSQL_TYPE_LONG;
    b->buffer = v;
}

/* A DATETIME parameter; NULL when ms == 0. */
static void s_bind_time(MYSQL_BIND *b, int64_t ms, MYSQL_TIME *t, my_bool *is_null)
{
    memset(t, 0, sizeof *t);
    *is_null = ms == 0;
    if (ms) hg_db_time_from_ms(ms, t);
    b->buffer_type = MYSQL_TYPE_DATETIME;
    b->buffer = t;
    b->is_null = is_null;
}

/* One fetched row of the jobs table. */
typedef struct {
    uint64_t id;                    /* jobs.id */
    char ns[HG_JOB_NS_MAX * 4 + 1]; /* utf8mb4 worst case */
    char name[HG_JOB_NAME_MAX * 4 + 1];
    char kind[65];
    char schedule[HG_JOB_SCHEDULE_MAX * 4 + 1];
    char tz[HG_JOB_TZ_MAX * 4 + 1];
    char status[65];
    MYSQL_TIME start_at, end_at, created_at, updated_at;
    char misfire[65];
    uint32_t timeout_ms;
    char *spec;             /* grown on demand */
    unsigned long spec_cap; /* bytes in spec */
    uint64_t version;
    unsigned long len[15]; /* lengths of the columns */
    my_bool is_null[15];   /* NULL flags of the columns */
    MYSQL_BIND bind[15];   /* result bindings */
} s_row_t;

static void s_bind_result_str(MYSQL_BIND *b, char *buf, size_t size, unsigned long *len,
                              my_bool *is_null)
{
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = buf;
    b->buffer_length = size;
    b->length = len;
    b->is_null = is_null;
}

static int s_row_bind(MYSQL_STMT *stmt, s_row_t *r)
{
    memset(r->bind, 0, sizeof r->bind);
    if (!r->spec) {
        r->spec_cap = 16384;
        r->spec = malloc(r->spec_cap);
        if (!r->spec) return HG_ENOMEM;
    }
    MYSQL_BIND *b = r->bind;
    b[0].buffer_type = MYSQL_TYPE_LONGLONG;
    b[0].buffer = &r->id;
    b[0].is_unsigned = 1;
    s_bind_result_str(&b[1], r->ns, sizeof r->ns, &r->len[1], &r->is_null[1]);
    s_bind_result_str(&b[2], r->name, sizeof r->name, &r->len[2], &r->is_null[2]);
    s_bind_result_str(&b[3], r->kind, sizeof r->kind, &r->len[3], &r->is_null[3]);
    s_bind_result_str(&b[4], r->schedule, sizeof r->schedule, &r->len[4], &r->is_null[4]);
    s_bind_result_str(&b[5], r->tz, sizeof r->tz, &r->len[5], &r->is_null[5]);
    s_bind_result_str(&b[6], r->status, sizeof r->status, &r->len[6], &r->is_null[6]);
    MYSQL_TIME *times[] = {&r->start_at, &r->end_at};
    for (int i = 0; i < 2; i++) {
        b[7 + i].buffer_type = MYSQL_TYPE_DATETIME;
        b[7 + i].buffer = times[i];
        b[7 + i].is_null = &r->is_null[7 + i];
    }
    s_bind_result_str(&b[9], r->misfire, sizeof r->misfire, &r->len[9], &r->is_null[9]);
    b[10].buffer_type = MYSQL_TYPE_LONG;
    b[10].buffer = &r->timeout_ms;
    b[10].is_unsigned = 1;
    s_bind_result_str(&b[11], r->spec, r->spec_cap, &r->len[11], &r->is_null[11]);
    b[12].buffer_type = MYSQL_TYPE_LONGLONG;
    b[12].buffer = &r->version;
    b[12].is_unsigned = 1;
    b[13].buffer_type = MYSQL_TYPE_DATETIME;
    b[13].buffer = &r->created_at;
    b[14].buffer_type = MYSQL_TYPE_DATETIME;
    b[14].buffer = &r->updated_at;
    return mysql_stmt_bind_result(stmt, b) ? HG_EDB : 0;
}

/* Fetch the next row; 0, 1 at the end, or a negative HG_E* code. A spec
 * longer than the buffer is fetched again into a larger one (whether or not
 * the connection reports truncation). */
static int s_row_fetch(MYSQL_STMT *stmt, s_row_t *r, char *err, size_t err_size)
{
    int rc = mysql_stmt_fetch(stmt);
    if (rc == MYSQL_NO_DATA) return 1;
    if (rc == 1) return s_stmt_fail(stmt, "fetch job", err, err_size);
    if (!r->is_null[11] && r->len[11] > r->spec_cap) {
        char *bigger = realloc(r->spec, r->len[11] + 1);
        if (!bigger) return HG_ENOMEM;
        r->spec = bigger;
        r->spec_cap = r->len[11] + 1;
        MYSQL_BIND col = r->bind[11];
        col.buffer = r->spec;
        col.buffer_length = r->spec_cap;
        if (mysql_stmt_fetch_column(stmt, &col, 11, 0))
            return s_stmt_fail(stmt, "fetch job spec", err, err_size);
        /* Later rows use the larger buffer. */
        r->bind[11].buffer = r->spec;
        r->bind[11].buffer_length = r->spec_cap;
        if (mysql_stmt_bind_result(stmt, r->bind))
            return s_stmt_fail(stmt, "bind job", err, err_size);
    }
    return 0;
}

static json_t *s_time_json(const MYSQL_TIME *t, my_bool is_null)
{
    if (is_null) return json_null();
    char buf[40];
    hg_time_format_ms(hg_db_time_to_ms(t), buf, sizeof buf);
    return json_string(buf);
}

static json_t *s_str_json(const char *s, unsigned long len)
{
    return json_stringn(s, len);
}

/* The column values of one job, wherever they come from: a fetched row or
 * a row just inserted. */
typedef struct {
    uint64_t id;                  /* jobs.id */
    const char *str[7];           /* namespace, name, kind, schedule, timezone, status, misfire */
    unsigned long len[7];         /* their lengths */
    const MYSQL_TIME *start_at;   /* NULL when the column is NULL */
    const MYSQL_TIME *end_at;     /* NULL when the column is NULL */
    uint32_t timeout_ms;          /* jobs.timeout_ms */
    json_t *spec;                 /* jobs.spec, parsed (borrowed) */
    uint64_t version;             /* jobs.version */
    const MYSQL_TIME *created_at; /* jobs.created_at */
    const MYSQL_TIME *updated_at; /* jobs.updated_at */
} s_job_cols_t;

/* The API object of a job's columns: the one place that shapes it, so a
 * job answered from the values just inserted is the job a later read
 * returns. */
static json_t *s_job_object(const s_job_cols_t *c)
{
    static const char *keys[7] = {"namespace", "name",   "kind",   "schedule",
                                  "timezone",  "status", "misfire"};
    json_t *str[7];
    for (int i = 0; i < 7; i++)
        str[i] = s_str_json(c->str[i], c->len[i]);
    char tbuf[64];
    hg_job__duration_format(c->timeout_ms, tbuf, sizeof tbuf);
    json_t *job = json_object();
    json_object_set_new(job, "id", json_integer((json_int_t) c->id));
    for (int i = 0; i < 6; i++)
        json_object_set_new(job, keys[i], str[i]);
    json_object_set_new(job, "start_at", s_time_json(c->start_at, c->start_at == NULL));
    json_object_set_new(job, "end_at", s_time_json(c->end_at, c->end_at == NULL));
    json_object_set_new(job, keys[6], str[6]);
    json_object_set_new(job, "timeout", json_string(tbuf));
    json_t *spec = c->spec;
    json_object_set_new(job, "recover",
                        json_boolean(json_is_true(json_object_get(spec, "recover"))));
    hg_job_policy_copy(spec, job);
    json_t *http = json_object_get(spec, "http");
    json_object_set_new(job, "http", http ? json_incref(http) : json_object());
    json_t *plugin = json_object_get(spec, "plugin");
    json_object_set_new(job, "plugin", plugin ? json_incref(plugin) : json_null());
    json_t *params = json_object_get(spec, "params");
    json_object_set_new(job, "params", params ? json_incref(params) : json_object());
    static const char *secret_keys[] = {"secret_headers", "secret_params"};
    for (int i = 0; i < 2; i++) {
        json_t *names = json_object_get(spec, secret_keys[i]);
        json_object_set_new(job, secret_keys[i],
                            json_is_array(names) ? json_incref(names) : json_array());
    }
    hg_deps_from_spec(spec, job);
    json_t *executor = json_object_get(spec, "executor");
    json_object_set_new(job, "executor",
                        executor ? json_incref(executor) : json_pack("{s:[]}", "nodes"));
    json_object_set_new(job, "version", json_integer((json_int_t) c->version));
    json_object_set_new(job, "created_at", s_time_json(c->created_at, 0));
    json_object_set_new(job, "updated_at", s_time_json(c->updated_at, 0));
    hg_job_ext_from_spec(spec, job, hg_now_ms());
    return job;
}

/* The API object of a fetched row. */
static json_t *s_row_to_json(s_row_t *r, char *err, size_t err_size)
{
    json_error_t jerr;
    json_t *spec = json_loadb(r->spec, r->len[11], 0, &jerr);
    if (!json_is_object(spec)) {
        if (err && err_size)
            snprintf(err, err_size, "job %llu: spec is not a JSON object: %s",
                     (unsigned long long) r->id, spec ? "wrong type" : jerr.text);
        json_decref(spec);
        return NULL;
    }
    s_job_cols_t c = {
        .id = r->id,
        .str = {r->ns, r->name, r->kind, r->schedule, r->tz, r->status, r->misfire},
        .len = {r->len[1], r->len[2], r->len[3], r->len[4], r->len[5], r->len[6], r->len[9]},
        .start_at = r->is_null[7] ? NULL : &r->start_at,
        .end_at = r->is_null[8] ? NULL : &r->end_at,
        .timeout_ms = r->timeout_ms,
        .spec = spec,
        .version = r->version,
        .created_at = &r->created_at,
        .updated_at = &r->updated_at,
    };
    json_t *job = s_job_object(&c);
    json_decref(spec);
    return job;
}

/* Run a prepared SELECT of S_JOB_COLUMNS and append every row to out. */
static int s_select_jobs(MYSQL_STMT *stmt, json_t *out, char *err, size_t err_size)
{
    if (mysql_stmt_execute(stmt) || mysql_stmt_store_result(stmt))
        return s_stmt_fail(stmt, "select jobs", err, err_size);
    s_row_t *r = calloc(1, sizeof *r);
    if (!r) return HG_ENOMEM;
    int rc = s_row_bind(stmt, r);
    if (rc == HG_EDB) rc = s_stmt_fail(stmt, "bind jobs", err, err_size);
    while (rc == 0) {
        rc = s_row_fetch(stmt, r, err, err_size);
        if (rc != 0) break;
        json_t *job = s_row_to_json(r, err, err_size);
        if (!job) {
            rc = HG_EDB;
            break;
        }
        json_array_append_new(out, job);
    }
    free(r->spec);
    free(r);
    mysql_stmt_free_result(stmt);
    return rc == 1 ? 0 : rc;
}

/* One row of an INSERT INTO jobs: the values and the storage the binds
 * point at. */
#define S_INS_COLS 13
typedef struct {
    const char *strs[6];      /* namespace, name, kind, schedule, timezone, status */
    const char *misfire;      /* misfire policy */
    int64_t start_ms, end_ms; /* start_at / end_at, 0 = NULL */
    uint64_t timeout_ms;      /* timeout */
    json_t *spec_json;        /* spec as an object (owned) */
    char *spec;               /* spec JSON text (owned) */
    unsigned long lens[8];    /* string lengths */
    MYSQL_TIME tstart, tend;  /* times */
    MYSQL_TIME tnow;          /* created_at = updated_at */
    my_bool null_start, null_end, null_now;
} s_ins_row_t;

#define S_INS_ROW_SQL "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
#define S_INS_HEAD                                                                                 \
    "INSERT INTO jobs (namespace, name, kind, schedule, timezone, status, "                        \
    "start_at, end_at, misfire, timeout_ms, spec, version, created_at, "                           \
    "updated_at) VALUES "

/* Rows per multi-row INSERT of a batch. */
#define S_INS_CHUNK 500

struct hg_job_stmts {
    MYSQL *db;               /* connection the statements belong to; NULL: none yet */
    MYSQL_STMT *insert_one;  /* INSERT of one row */
    MYSQL_STMT *insert_full; /* INSERT of S_INS_CHUNK rows */
    int consecutive;         /* -1 not known yet; 1: a multi-row INSERT's ids are consecutive */
    uint64_t id_step;        /* @@auto_increment_increment: the gap between those ids */
};

hg_job_stmts_t *hg_job_stmts_new(void)
{
    hg_job_stmts_t *s = calloc(1, sizeof *s);
    if (s) s->consecutive = -1;
    return s;
}

void hg_job_stmts_reset(hg_job_stmts_t *s)
{
    if (!s) return;
    if (s->insert_one) mysql_stmt_close(s->insert_one);
    if (s->insert_full) mysql_stmt_close(s->insert_full);
    s->insert_one = s->insert_full = NULL;
    s->db = NULL;
    s->consecutive = -1;
}

void hg_job_stmts_destroy(hg_job_stmts_t **s)
{
    if (!s || !*s) return;
    hg_job_stmts_reset(*s);
    free(*s);
    *s = NULL;
}

/* Values of a normalized job for its row; HG_EINVAL or HG_ENOMEM. */
static int s_ins_row_fill(json_t *job, s_ins_row_t *row)
{
    memset(row, 0, sizeof *row);
    int64_t timeout_ms = 30000;
    if (hg_job__time_field_ms(job, "start_at", &row->start_ms) ||
        hg_job__time_field_ms(job, "end_at", &row->end_ms))
        return HG_EINVAL;
    json_t *t = json_object_get(job, "timeout");
    if (json_is_string(t) && hg_duration_parse_ms(json_string_value(t), &timeout_ms) != 0)
        return HG_EINVAL;
    row->timeout_ms = (uint64_t) timeout_ms;
    const char *status = json_string_value(json_object_get(job, "status"));
    static const char *keys[] = {"namespace", "name", "kind", "schedule", "timezone"};
    for (size_t i = 0; i < 5; i++)
        if (!(row->strs[i] = json_string_value(json_object_get(job, keys[i])))) return HG_EINVAL;
    row->strs[5] = status ? status : "active";
    row->misfire = json_string_value(json_object_get(job, "misfire"));
    if (!row->misfire) row->misfire = "fire_once";
    json_t *spec = json_object();
    json_t *http = json_object_get(job, "http"), *params = json_object_get(job, "params"),
           *executor = json_object_get(job, "executor"), *plugin = json_object_get(job, "plugin");
    json_object_set(spec, "http", http ? http : json_null());
    json_object_set(spec, "plugin", plugin ? plugin : json_null());
    json_object_set_new(spec, "params", params ? json_incref(params) : json_object());
    json_object_set_new(spec, "executor",
                        executor ? json_incref(executor) : json_pack("{s:[]}", "nodes"));
    json_object_set_new(spec, "recover",
                        json_boolean(json_is_true(json_object_get(job, "recover"))));
    hg_job_policy_copy(job, spec);
    /* Only when set, so that the spec of other jobs stays as it was. */
    static const char *secret_keys[] = {"secret_headers", "secret_params"};
    for (int i = 0; i < 2; i++) {
        json_t *names = json_object_get(job, secret_keys[i]);
        if (json_array_size(names) > 0) json_object_set(spec, secret_keys[i], names);
    }
    hg_deps_to_spec(job, spec);
    hg_job_ext_to_spec(job, spec);
    row->end_ms = hg_job_ext_end_ms(job, row->end_ms);
    row->spec_json = spec;
    row->spec = json_dumps(spec, JSON_COMPACT);
    return row->spec ? 0 : HG_ENOMEM;
}

static void s_ins_row_free(s_ins_row_t *row)
{
    free(row->spec);
    row->spec = NULL;
    json_decref(row->spec_json);
    row->spec_json = NULL;
}

/* Point b[0..S_INS_COLS) at the row's values. */
static void s_ins_row_bind(s_ins_row_t *row, MYSQL_BIND *b, int64_t now)
{
    memset(b, 0, sizeof *b * S_INS_COLS);
    for (int i = 0; i < 6; i++)
        hg_db_bind_str(&b[i], row->strs[i], &row->lens[i]);
    s_bind_time(&b[6], row->start_ms, &row->tstart, &row->null_start);
    s_bind_time(&b[7], row->end_ms, &row->tend, &row->null_end);
    hg_db_bind_str(&b[8], row->misfire, &row->lens[6]);
    hg_db_bind_u64(&b[9], &row->timeout_ms);
    hg_db_bind_str(&b[10], row->spec, &row->lens[7]);
    s_bind_time(&b[11], now, &row->tnow, &row->null_now);
    b[12] = b[11];
}

/* The API object of a row just inserted with id: built from the values
 * bound (what the table now holds), not read back. */
static json_t *s_ins_row_object(s_ins_row_t *row, uint64_t id)
{
    s_job_cols_t c = {
        .id = id,
        .str = {row->strs[0], row->strs[1], row->strs[2], row->strs[3], row->strs[4], row->strs[5],
                row->misfire},
        .len = {row->lens[0], row->lens[1], row->lens[2], row->lens[3], row->lens[4], row->lens[5],
                row->lens[6]},
        .start_at = row->null_start ? NULL : &row->tstart,
        .end_at = row->null_end ? NULL : &row->tend,
        .timeout_ms = (uint32_t) row->timeout_ms,
        .spec = row->spec_json,
        .version = 1,
        .created_at = &row->tnow,
        .updated_at = &row->tnow,
    };
    return s_job_object(&c);
}

/* Whether a multi-row INSERT on db gets consecutive ids (step apart):
 * InnoDB guarantees it for an INSERT of a known number of rows unless
 * innodb_autoinc_lock_mode is 2 ("interleaved", as Galera requires). Asked
 * once per connection. */
static void s_learn_id_mode(MYSQL *db, hg_job_stmts_t *s)
{
    s->consecutive = 0;
    s->id_step = 1;
    if (mysql_query(db, "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment")) return;
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW r = res ? mysql_fetch_row(res) : NULL;
    if (r && r[0] && r[1]) {
        long mode = strtol(r[0], NULL, 10);
        long step = strtol(r[1], NULL, 10);
        if ((mode == 0 || mode == 1) && step >= 1) {
            s->consecutive = 1;
            s->id_step = (uint64_t) step;
        }
    }
    if (res) mysql_free_result(res);
}

/* The INSERT statement for n rows: one of the kept ones when n is 1 or
 * S_INS_CHUNK (*owned false), else a new one (*owned true). */
static MYSQL_STMT *s_insert_stmt(MYSQL *db, hg_job_stmts_t *s, size_t n, bool *owned, char *err,
                                 size_t err_size)
{
    MYSQL_STMT **keep = !s                 ? NULL
                        : n == 1           ? &s->insert_one
                        : n == S_INS_CHUNK ? &s->insert_full
                                           : NULL;
    *owned = keep == NULL;
    if (keep && *keep) return *keep;
    size_t size = sizeof S_INS_HEAD + n * (sizeof S_INS_ROW_SQL + 1);
    char *sql = malloc(size);
    if (!sql) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    char *p = sql + sprintf(sql, "%s", S_INS_HEAD);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", S_INS_ROW_SQL);
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    free(sql);
    if (keep) *keep = stmt;
    return stmt;
}

/* Insert rows [0, n) in one statement; *first_id gets the id of the first.
 * HG_EEXIST when a name is taken (nothing inserted; err names the job when
 * n is 1). */
static int s_insert_rows(MYSQL *db, hg_job_stmts_t *s, s_ins_row_t *rows, size_t n, int64_t now,
                         uint64_t *first_id, char *err, size_t err_size)
{
    MYSQL_BIND one[S_INS_COLS];
    MYSQL_BIND *b = n == 1 ? one : calloc(n * S_INS_COLS, sizeof *b);
    if (!b) return HG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        s_ins_row_bind(&rows[i], b + i * S_INS_COLS, now);
    bool owned;
    int rc = 0;
    MYSQL_STMT *stmt = s_insert_stmt(db, s, n, &owned, err, err_size);
    if (!stmt) {
        rc = HG_EDB;
    } else if (mysql_stmt_bind_param(stmt, b) || mysql_stmt_execute(stmt)) {
        if (mysql_stmt_errno(stmt) == ER_DUP_ENTRY) {
            if (n == 1)
                snprintf(err, err_size, "job \"%s\" already exists in namespace \"%s\"",
                         rows[0].strs[1], rows[0].strs[0]);
            rc = HG_EEXIST;
        } else {
            rc = s_stmt_fail(stmt, n == 1 ? "insert job" : "insert jobs", err, err_size);
        }
    } else if (mysql_stmt_affected_rows(stmt) != (my_ulonglong) n) {
        snprintf(err, err_size, "insert jobs: %llu rows inserted of %zu",
                 (unsigned long long) mysql_stmt_affected_rows(stmt), n);
        rc = HG_EDB;
    } else {
        *first_id = (uint64_t) mysql_stmt_insert_id(stmt);
    }
    if (stmt && owned) mysql_stmt_close(stmt);
    if (b != one) free(b);
    return rc;
}

/* Ids of rows [0, n) by their names, in one query: for servers that do not
 * hand out a multi-row INSERT's ids consecutively. */
static int s_ids_by_name(MYSQL *db, s_ins_row_t *rows, size_t n, uint64_t *ids, char *err,
                         size_t err_size)
{
    size_t size = 96 + n * 10;
    char *sql = malloc(size);
    MYSQL_BIND *b = calloc(2 * n, sizeof *b);
    unsigned long *lens = calloc(2 * n, sizeof *lens);
    zhashx_t *index = zhashx_new(); /* "namespace/name" -> row index + 1 */
    MYSQL_STMT *stmt = NULL;
    int rc = 0;
    if (!sql || !b || !lens || !index) {
        rc = HG_ENOMEM;
        goto done;
    }
    char *p =
        sql + sprintf(sql, "SELECT id, namespace, name FROM jobs WHERE (namespace, name) IN (");
    char key[HG_JOB_NS_MAX * 4 + HG_JOB_NAME_MAX * 4 + 2];
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%s(?,?)", i ? "," : "");
        hg_db_bind_str(&b[2 * i], rows[i].strs[0], &lens[2 * i]);
        hg_db_bind_str(&b[2 * i + 1], rows[i].strs[1], &lens[2 * i + 1]);
        snprintf(key, sizeof key, "%s/%s", rows[i].strs[0], rows[i].strs[1]);
        zhashx_insert(index, key, (void *) (uintptr_t) (i + 1));
    }
    sprintf(p, ")");
    stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) {
        rc = HG_EDB;
        goto done;
    }
    uint64_t id = 0;
    char ns[HG_JOB_NS_MAX * 4 + 1], name[HG_JOB_NAME_MAX * 4 + 1];
    unsigned long ns_len = 0, name_len = 0;
    MYSQL_BIND out[3];
    memset(out, 0, sizeof out);
    hg_db_bind_u64(&out[0], &id);
    hg_db_bind_out(&out[1], MYSQL_TYPE_STRING, ns, sizeof ns, &ns_len, NULL);
    hg_db_bind_out(&out[2], MYSQL_TYPE_STRING, name, sizeof name, &name_len, NULL);
    if (mysql_stmt_bind_param(stmt, b) || mysql_stmt_execute(stmt) ||
        mysql_stmt_bind_result(stmt, out) || mysql_stmt_store_result(stmt)) {
        rc = s_stmt_fail(stmt, "read back job ids", err, err_size);
        goto done;
    }
    size_t found = 0;
    while (mysql_stmt_fetch(stmt) == 0) {
        if (ns_len >= sizeof ns || name_len >= sizeof name) continue;
        ns[ns_len] = '\0';
        name[name_len] = '\0';
        snprintf(key, sizeof key, "%s/%s", ns, name);
        uintptr_t at = (uintptr_t) zhashx_lookup(index, key);
        if (at) {
            ids[at - 1] = id;
            found++;
        }
    }
    if (found != n) {
        snprintf(err, err_size, "read back %zu of %zu job ids just inserted", found, n);
        rc = HG_EDB;
    }
done:
    if (stmt) mysql_stmt_close(stmt);
    zhashx_destroy(&index);
    free(sql);
    free(b);
    free(lens);
    return rc;
}

int hg_job_db_create(MYSQL *db, hg_job_stmts_t *stmts, json_t *jobs, json_t **stored,
                     size_t *failed, char *err, size_t err_size)
{
    if (stored) *stored = NULL;
    if (failed) *failed = 0;
    if (!db || !json_is_array(jobs) || !stored) return HG_EINVAL;
    if (stmts && stmts->db != db) {
        hg_job_stmts_reset(stmts);
        stmts->db = db;
    }
    size_t n = json_array_size(jobs);
    size_t chunk = n < S_INS_CHUNK ? n : S_INS_CHUNK;
    s_ins_row_t *rows = calloc(chunk ? chunk : 1, sizeof *rows);
    uint64_t *ids = calloc(chunk ? chunk : 1, sizeof *ids);
    json_t *out = json_array();
    if (!rows || !ids || !out) {
        free(rows);
        free(ids);
        json_decref(out);
        return HG_ENOMEM;
    }
    int64_t now = hg_now_ms();
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += S_INS_CHUNK) {
        size_t k = n - at < S_INS_CHUNK ? n - at : S_INS_CHUNK;
        size_t filled = 0;
        for (; filled < k && rc == 0; filled++) {
            if (failed) *failed = at + filled;
            rc = s_ins_row_fill(json_array_get(jobs, at + filled), &rows[filled]);
        }
        uint64_t first = 0;
        if (rc == 0) rc = s_insert_rows(db, stmts, rows, k, now, &first, err, err_size);
        if (rc == HG_EEXIST && k > 1) {
            /* The statement inserted nothing: one row at a time tells which
             * job clashes (the caller rolls the transaction back anyway). */
            rc = 0;
            for (size_t i = 0; i < k && rc == 0; i++) {
                if (failed) *failed = at + i;
                rc = s_insert_rows(db, stmts, &rows[i], 1, now, &first, err, err_size);
            }
            if (rc == 0) {
                snprintf(err, err_size, "duplicate job in a batch insert, not found again");
                rc = HG_EDB;
            }
        }
        if (rc == 0) {
            if (k == 1) {
                ids[0] = first;
            } else {
                if (stmts && stmts->consecutive < 0) s_learn_id_mode(db, stmts);
                if (stmts && stmts->consecutive == 1) {
                    for (size_t i = 0; i < k; i++)
                        ids[i] = first + i * stmts->id_step;
                } else {
                    rc = s_ids_by_name(db, rows, k, ids, err, err_size);
                }
            }
        }
        for (size_t i = 0; i < k && rc == 0; i++) {
            json_t *job = s_ins_row_object(&rows[i], ids[i]);
            if (!job || json_array_append_new(out, job)) rc = HG_ENOMEM;
        }
        for (size_t i = 0; i < filled; i++)
            s_ins_row_free(&rows[i]);
    }
    free(rows);
    free(ids);
    if (rc != 0) {
        json_decref(out);
        return rc;
    }
    *stored = out;
    return 0;
}

int hg_job_db_get(MYSQL *db, const char *ns, const char *name, json_t **job, char *err,
                  size_t err_size)
{
    if (!db || !name || !job) return HG_EINVAL;
    *job = NULL;
    if (!ns || !*ns) ns = "default";
    MYSQL_STMT *stmt = hg_db_prepare(
        db, "SELECT " S_JOB_COLUMNS " FROM jobs WHERE namespace = ? AND name = ?", err, err_size);
    if (!stmt) return HG_EDB;
    MYSQL_BIND b[2];
    memset(b, 0, sizeof b);
    unsigned long lens[2];
    hg_db_bind_str(&b[0], ns, &lens[0]);
    hg_db_bind_str(&b[1], name, &lens[1]);
    json_t *rows = json_array();
    int rc = mysql_stmt_bind_param(stmt, b) ? s_stmt_fail(stmt, "get job", err, err_size)
                                            : s_select_jobs(stmt, rows, err, err_size);
    mysql_stmt_close(stmt);
    if (rc == 0 && json_array_size(rows) == 0) {
        if (err && err_size)
            snprintf(err, err_size, "job \"%s\" not found in namespace \"%s\"", name, ns);
        rc = HG_ENOTFOUND;
    }
    if (rc == 0) *job = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return rc;
}

int hg_job_db_list(MYSQL *db, const char *ns, const char *status, int limit, int offset,
                   json_t **jobs, int64_t *total, char *err, size_t err_size)
{
    if (!db || !jobs || limit < 0 || offset < 0) return HG_EINVAL;
    *jobs = NULL;
    if (ns && !*ns) ns = NULL;
    if (status && !*status) status = NULL;
    /* Filters are bound as NULL when absent: "? IS NULL OR column = ?". */
    MYSQL_BIND b[6];
    memset(b, 0, sizeof b);
    unsigned long lens[4];
    my_bool ns_null = ns == NULL, status_null = status == NULL;
    hg_db_bind_str(&b[0], ns, &lens[0]);
    b[0].is_null = &ns_null;
    hg_db_bind_str(&b[1], ns, &lens[1]);
    b[1].is_null = &ns_null;
    hg_db_bind_str(&b[2], status, &lens[2]);
    b[2].is_null = &status_null;
    hg_db_bind_str(&b[3], status, &lens[3]);
    b[3].is_null = &status_null;
    int32_t lim = limit, off = offset;
    s_bind_i32(&b[4], &lim);
    s_bind_i32(&b[5], &off);
    const char *where = " FROM jobs WHERE (? IS NULL OR namespace = ?) AND "
                        "(? IS NULL OR status = ?)";
    char sql[512];

    int rc = 0;
    if (total) {
        snprintf(sql, sizeof sql, "SELECT COUNT(*)%s", where);
        MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
        if (!stmt) return HG_EDB;
        long long count = 0;
        MYSQL_BIND rb;
        memset(&rb, 0, sizeof rb);
        rb.buffer_type = MYSQL_TYPE_LONGLONG;
        rb.buffer = &count;
        if (mysql_stmt_bind_param(stmt, b) || mysql_stmt_execute(stmt) ||
            mysql_stmt_store_result(stmt) || mysql_stmt_bind_result(stmt, &rb) ||
            mysql_stmt_fetch(stmt) != 0)
            rc = s_stmt_fail(stmt, "count jobs", err, err_size);
        mysql_stmt_close(stmt);
        if (rc) return rc;
        *total = count;
    }
    snprintf(sql, sizeof sql,
             "SELECT " S_JOB_COLUMNS "%s ORDER BY namespace, name LIMIT ? OFFSET ?", where);
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) return HG_EDB;
    json_t *rows = json_array();
    rc = mysql_stmt_bind_param(stmt, b) ? s_stmt_fail(stmt, "list jobs", err, err_size)
                                        : s_select_jobs(stmt, rows, err, err_size);
    mysql_stmt_close(stmt);
    if (rc)
        json_decref(rows);
    else
        *jobs = rows;
    return rc;
}

/* Run a one-row UPDATE/DELETE by id; HG_ENOTFOUND when no row matched. */
static int s_exec_by_id(MYSQL *db, const char *sql, MYSQL_BIND *b, const char *what, uint64_t id,
                        char *err, size_t err_size)
{
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) return HG_EDB;
    int rc = 0;
    if (mysql_stmt_bind_param(stmt, b) || mysql_stmt_execute(stmt)) {
        rc = s_stmt_fail(stmt, what, err, err_size);
    } else if (mysql_stmt_affected_rows(stmt) == 0) {
        if (err && err_size) snprintf(err, err_size, "job %llu not found", (unsigned long long) id);
        rc = HG_ENOTFOUND;
    }
    mysql_stmt_close(stmt);
    return rc;
}

int hg_job_db_set_status(MYSQL *db, uint64_t id, const char *status, char *err, size_t err_size)
{
    if (!db || !status) return HG_EINVAL;
    MYSQL_BIND b[3];
    memset(b, 0, sizeof b);
    unsigned long len;
    hg_db_bind_str(&b[0], status, &len);
    MYSQL_TIME now;
    my_bool now_null;
    s_bind_time(&b[1], hg_now_ms(), &now, &now_null);
    hg_db_bind_u64(&b[2], &id);
    return s_exec_by_id(db,
                        "UPDATE jobs SET status = ?, version = version + 1, updated_at = ? "
                        "WHERE id = ?",
                        b, "set job status", id, err, err_size);
}

int hg_job_db_delete(MYSQL *db, uint64_t id, char *err, size_t err_size)
{
    if (!db) return HG_EINVAL;
    MYSQL_BIND b[1];
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&b[0], &id);
    return s_exec_by_id(db, "DELETE FROM jobs WHERE id = ?", b, "delete job", id, err, err_size);
}

int hg_job_db_select(MYSQL *db, const char *tail, MYSQL_BIND *params, json_t **jobs, char *err,
                     size_t err_size)
{
    if (!db || !tail || !jobs) return HG_EINVAL;
    *jobs = NULL;
    char sql[2048];
    if ((size_t) snprintf(sql, sizeof sql, "SELECT " S_JOB_COLUMNS " FROM jobs %s", tail) >=
        sizeof sql) {
        snprintf(err, err_size, "select jobs: query too long");
        return HG_EINVAL;
    }
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) return HG_EDB;
    json_t *rows = json_array();
    int rc = params && mysql_stmt_bind_param(stmt, params)
                 ? s_stmt_fail(stmt, "select jobs", err, err_size)
                 : s_select_jobs(stmt, rows, err, err_size);
    mysql_stmt_close(stmt);
    if (rc)
        json_decref(rows);
    else
        *jobs = rows;
    return rc;
}

int hg_job_db_update(MYSQL *db, uint64_t id, uint64_t version, json_t *job, char *err,
                     size_t err_size)
{
    if (!db || !job) return HG_EINVAL;
    s_ins_row_t row;
    int rc = s_ins_row_fill(job, &row);
    if (rc != 0) {
        s_ins_row_free(&row);
        if (err && err_size) snprintf(err, err_size, "job cannot be stored: %s", hg_strerror(rc));
        return rc;
    }
    /* kind, schedule, timezone, status, start_at, end_at, misfire,
     * timeout_ms, spec, updated_at, then the row: id and version. */
    MYSQL_BIND b[12];
    memset(b, 0, sizeof b);
    for (int i = 2; i < 6; i++)
        hg_db_bind_str(&b[i - 2], row.strs[i], &row.lens[i]);
    s_bind_time(&b[4], row.start_ms, &row.tstart, &row.null_start);
    s_bind_time(&b[5], row.end_ms, &row.tend, &row.null_end);
    hg_db_bind_str(&b[6], row.misfire, &row.lens[6]);
    hg_db_bind_u64(&b[7], &row.timeout_ms);
    hg_db_bind_str(&b[8], row.spec, &row.lens[7]);
    s_bind_time(&b[9], hg_now_ms(), &row.tnow, &row.null_now);
    hg_db_bind_u64(&b[10], &id);
    hg_db_bind_u64(&b[11], &version);
    rc = s_exec_by_id(db,
                      "UPDATE jobs SET kind = ?, schedule = ?, timezone = ?, status = ?, "
                      "start_at = ?, end_at = ?, misfire = ?, timeout_ms = ?, spec = ?, "
                      "version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
                      b, "update job", id, err, err_size);
    s_ins_row_free(&row);
    return rc;
}
