/* jobload: the active jobs of the catalogue, streamed from MySQL straight
 * into job records (jobtab.h) when a master starts to lead.
 *
 * One query in primary-key order, read row by row (mysql_use_result): a
 * million jobs never sit in memory as rows or JSON. Most rows need no
 * JSON work at all: a row whose columns other than id, name, version,
 * start and end were seen is made like the job it matched; a row whose
 * spec differs only in URL and parameters (jobs made per customer) is
 * made from the template of its shape. Only a row of a new shape takes
 * the slow path, through the job's API form and hg_job_to_assign, which
 * judges it like any job. */
#include "jobload.h"

#include "hg_error.h"
#include "hg_log.h"
#include "job.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The columns of a row, in S_LOAD_SQL's order. */
enum {
    S_COL_ID,
    S_COL_NS,
    S_COL_NAME,
    S_COL_KIND,
    S_COL_SCHEDULE,
    S_COL_TZ,
    S_COL_START,
    S_COL_END,
    S_COL_MISFIRE,
    S_COL_TIMEOUT,
    S_COL_SPEC,
    S_COL_VERSION,
    S_COLS
};
#define S_LOAD_SQL                                                                                 \
    "SELECT id, namespace, name, kind, schedule, timezone,"                                        \
    " CAST(ROUND(UNIX_TIMESTAMP(start_at) * 1000) AS SIGNED),"                                     \
    " CAST(ROUND(UNIX_TIMESTAMP(end_at) * 1000) AS SIGNED), misfire, timeout_ms, spec, version"    \
    " FROM jobs FORCE INDEX (PRIMARY) WHERE status = 'active' AND id > %" PRIu64 " ORDER BY id"

/* Rows whose columns other than id, name, version, start and end are the
 * same make the same template, URL and parameters: the load remembers a
 * record made from each of the last few thousand distinct ones, so that
 * most rows skip the JSON parse of their spec. */
#define S_SEEN_MAX 4096

static void s_seen_purge(hg_jobtab_t *tab, zhashx_t *seen)
{
    for (hg_jobrec_t *proto = zhashx_first(seen); proto; proto = zhashx_next(seen))
        hg_jobtab_free(tab, &proto);
    zhashx_purge(seen);
}

/* The slow path for a row not seen before: the job as the API shows it
 * (its spec column plus the columns), then its wire spec. */
static hg_jobrec_t *s_row_job(hg_jobtab_t *tab, MYSQL_ROW row, unsigned long *len)
{
    json_error_t jerr;
    json_t *job = json_loadb(row[S_COL_SPEC], len[S_COL_SPEC], 0, &jerr);
    if (!json_is_object(job)) {
        hg_error("cluster: job %s: spec is not a JSON object; skipped", row[S_COL_NAME]);
        json_decref(job);
        return NULL;
    }
    static const struct {
        int col;
        const char *key;
    } strs[] = {{S_COL_NS, "namespace"},      {S_COL_NAME, "name"},   {S_COL_KIND, "kind"},
                {S_COL_SCHEDULE, "schedule"}, {S_COL_TZ, "timezone"}, {S_COL_MISFIRE, "misfire"}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        json_object_set_new(job, strs[i].key,
                            row[strs[i].col] ? json_stringn(row[strs[i].col], len[strs[i].col])
                                             : json_null());
    json_object_set_new(job, "id", json_integer(strtoll(row[S_COL_ID], NULL, 10)));
    json_object_set_new(
        job, "version",
        json_integer(row[S_COL_VERSION] ? strtoll(row[S_COL_VERSION], NULL, 10) : 0));
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%sms", row[S_COL_TIMEOUT] ? row[S_COL_TIMEOUT] : "30000");
    json_object_set_new(job, "timeout", json_string(timeout));
    json_object_set_new(job, "status", json_string("active"));
    hg_assign_t spec = {0};
    hg_jobrec_t *rec = NULL;
    if (hg_job_to_assign(job, &spec) != 0) {
        hg_assign_clear(&spec);
        hg_error("cluster: job %s cannot be scheduled (invalid spec); skipped", row[S_COL_NAME]);
    } else {
        spec.start_ms = row[S_COL_START] ? strtoll(row[S_COL_START], NULL, 10) : 0;
        spec.end_ms = row[S_COL_END] ? strtoll(row[S_COL_END], NULL, 10) : 0;
        int rc = 0;
        rec = hg_jobtab_make(tab, &spec, hg_job_executor(job), &rc);
        if (!rec)
            hg_error("cluster: job %s cannot be scheduled (%s); skipped", row[S_COL_NAME],
                     hg_strerror(rc));
    }
    json_decref(job);
    return rec;
}

/* The second chance of a row whose columns were not seen: its spec
 * without the URL and the parameters, with the other columns (prefix),
 * makes a shape that may have been seen, since jobs made per customer
 * differ in those only. Returns the job's record when the shape was seen;
 * else NULL, with *shape set to the shape's key (owned) when the row has
 * one. Rows this cannot read exactly as hg_job_to_assign does (parameters
 * that are not all strings, say) have no shape: they take the slow path,
 * which judges them. */
static hg_jobrec_t *s_row_shaped(hg_jobtab_t *tab, MYSQL_ROW row, unsigned long *len,
                                 const char *prefix, size_t prefix_len, zhashx_t *shapes,
                                 char **shape)
{
    *shape = NULL;
    json_t *spec = json_loadb(row[S_COL_SPEC], len[S_COL_SPEC], 0, NULL);
    if (!json_is_object(spec)) {
        json_decref(spec);
        return NULL;
    }
    /* The URL counts for HTTP jobs only, as in the wire spec. */
    json_t *http = json_object_get(spec, "http");
    json_t *urlv = json_object_get(http, "url");
    bool is_http = row[S_COL_KIND] && streq(row[S_COL_KIND], "http");
    char *url = is_http && json_is_string(urlv) ? strdup(json_string_value(urlv)) : NULL;
    json_t *params = json_incref(json_object_get(spec, "params"));
    size_t n = json_is_object(params) ? json_object_size(params) : 0;
    hg_kv_t *kv = n ? calloc(n, sizeof *kv) : NULL;
    bool ok = (!is_http || url) && (!n || kv) && n <= HG_PROTO_MAX_ITEMS;
    const char *k;
    json_t *v;
    size_t i = 0;
    if (ok && n) {
        json_object_foreach(params, k, v)
        {
            if (!json_is_string(v)) {
                ok = false;
                break;
            }
            kv[i].key = (char *) k;
            kv[i].value = (char *) json_string_value(v);
            i++;
        }
    }
    hg_jobrec_t *rec = NULL;
    if (ok) {
        if (url) json_object_del(http, "url");
        json_object_del(spec, "params");
        char *rest = json_dumps(spec, JSON_COMPACT);
        char *key = rest ? malloc(prefix_len + strlen(rest) + 1) : NULL;
        if (key) {
            memcpy(key, prefix, prefix_len);
            strcpy(key + prefix_len, rest);
            hg_jobrec_t *like = zhashx_lookup(shapes, key);
            if (like) {
                rec = hg_jobtab_make_shaped(tab, like, strtoull(row[S_COL_ID], NULL, 10),
                                            row[S_COL_NAME], url, kv, n);
                free(key);
            } else {
                *shape = key;
            }
        }
        free(rest);
    }
    free(kv);
    free(url);
    json_decref(params);
    json_decref(spec);
    return rec;
}

unsigned hg_jobload_read(MYSQL *conn, hg_jobtab_t *tab, uint64_t *after, hg_jobload_put_fn *put,
                         void *arg)
{
    char sql[sizeof S_LOAD_SQL + 32];
    snprintf(sql, sizeof sql, S_LOAD_SQL, *after);
    if (mysql_real_query(conn, sql, strlen(sql)) != 0) return mysql_errno(conn);
    MYSQL_RES *res = mysql_use_result(conn);
    if (!res) return mysql_errno(conn);
    zhashx_t *seen = zhashx_new();   /* key -> hg_jobrec_t made like the row (owned) */
    zhashx_t *shapes = zhashx_new(); /* shape key -> hg_jobrec_t with its template (owned) */
    char *key = NULL;
    size_t key_cap = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *len = mysql_fetch_lengths(res);
        if (!row[S_COL_ID] || !row[S_COL_NAME] || !row[S_COL_SPEC]) continue;
        uint64_t id = strtoull(row[S_COL_ID], NULL, 10);
        *after = id;
        /* The row without id, name, version, start and end. */
        size_t need = 16;
        static const int cols[] = {S_COL_NS,      S_COL_KIND,    S_COL_SCHEDULE, S_COL_TZ,
                                   S_COL_MISFIRE, S_COL_TIMEOUT, S_COL_SPEC};
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            need += len[cols[i]] + 2;
        if (need > key_cap) {
            char *grown = realloc(key, need);
            if (!grown) break;
            key = grown;
            key_cap = need;
        }
        char *p = key;
        size_t prefix_len = 0; /* the columns before the spec */
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
            if (cols[i] == S_COL_SPEC) prefix_len = (size_t) (p - key);
            /* NULL and "" differ: a NULL column is "\2", a value "\1...". */
            *p++ = row[cols[i]] ? '\1' : '\2';
            if (row[cols[i]]) memcpy(p, row[cols[i]], len[cols[i]]);
            p += len[cols[i]];
            *p++ = '\x1f';
        }
        *p = '\0';
        hg_jobrec_t *like = zhashx_lookup(seen, key);
        hg_jobrec_t *rec = NULL;
        char *shape = NULL;
        bool remembered = true; /* made from a remembered record, not from the spec */
        if (like) {
            rec = hg_jobtab_make_like(tab, like, id, row[S_COL_NAME]);
        } else if ((rec = s_row_shaped(tab, row, len, key, prefix_len, shapes, &shape))) {
            /* a shape seen before */
        } else if ((remembered = false, rec = s_row_job(tab, row, len))) {
            if (zhashx_size(seen) >= S_SEEN_MAX) s_seen_purge(tab, seen);
            hg_jobrec_t *proto = hg_jobtab_make_like(tab, rec, 0, "");
            if (proto && zhashx_insert(seen, key, proto) != 0) hg_jobtab_free(tab, &proto);
            if (shape) {
                if (zhashx_size(shapes) >= S_SEEN_MAX) s_seen_purge(tab, shapes);
                proto = hg_jobtab_make_like(tab, rec, 0, "");
                if (proto && zhashx_insert(shapes, shape, proto) != 0) hg_jobtab_free(tab, &proto);
            }
        }
        free(shape);
        if (!rec) continue;
        if (remembered) { /* the row's own fields */
            rec->version = row[S_COL_VERSION] ? strtoull(row[S_COL_VERSION], NULL, 10) : 0;
            rec->start_ms = row[S_COL_START] ? strtoll(row[S_COL_START], NULL, 10) : 0;
            rec->end_ms = row[S_COL_END] ? strtoll(row[S_COL_END], NULL, 10) : 0;
        }
        put(arg, rec);
    }
    unsigned err = mysql_errno(conn);
    mysql_free_result(res);
    free(key);
    s_seen_purge(tab, seen);
    zhashx_destroy(&seen);
    s_seen_purge(tab, shapes);
    zhashx_destroy(&shapes);
    return err;
}
