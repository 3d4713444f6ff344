/* metrics: the master's Prometheus figures (metrics.h): counters and
 * histograms fed by the actors under one mutex, rendered from a copy. */
#include "metrics.h"

#include "hg_procstat.h"
#include "hg_time.h"

#include <czmq.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Run duration buckets (seconds): HTTP callbacks of milliseconds up to
 * maintenance tasks of minutes. */
static const double s_dur_le[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                  1,     2.5,  5,     10,   30,  60,   300};
static const char *const s_dur_le_text[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                            "1",     "2.5",  "5",     "10",   "30",  "60",   "300"};
#define S_DUR_N (sizeof s_dur_le / sizeof s_dur_le[0])
/* Fire lateness buckets (seconds): a healthy cluster fires within a few
 * milliseconds; seconds mean a stalled worker or a misfire. */
static const double s_late_le[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60};
static const char *const s_late_le_text[] = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1",
                                             "0.25",  "0.5",   "1",    "2.5",   "10",   "60"};
#define S_LATE_N (sizeof s_late_le / sizeof s_late_le[0])
/* API latency buckets (seconds). */
static const double s_api_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,   0.25,   0.5,   1,    2.5,   10};
static const char *const s_api_le_text[] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                            "0.1",   "0.25",   "0.5",   "1",    "2.5",   "10"};
#define S_API_N (sizeof s_api_le / sizeof s_api_le[0])

#define S_STATUS_N    7    /* hg_run_status_t values */
#define S_SKIP_N      4    /* skip reasons kept per series; more add up under "other" */
#define S_OTHER_NS    1000 /* namespaces that get their own job="_other" series */
#define S_API_ROUTES  64   /* routes with their own latency histogram */
#define S_API_CODES   512  /* (route, code) pairs counted */
#define S_PURGE_TABLE 16   /* tables with a purged-rows counter */

/* One per-job (or per-namespace "_other") series. Plain data, so that a
 * scrape copies all of them with one memcpy. */
typedef struct {
    char ns[129];                   /* namespace label */
    char job[191];                  /* job label, "_other" for the aggregate */
    uint64_t runs[S_STATUS_N];      /* finished runs by status */
    char skip_reason[S_SKIP_N][24]; /* skip reasons seen ("" = unused slot) */
    uint64_t skipped[S_SKIP_N];     /* skipped runs by reason */
    uint64_t dur[S_DUR_N];          /* duration histogram (non-cumulative) */
    uint64_t dur_count;             /* durations observed */
    double dur_sum;                 /* their sum, seconds */
    uint64_t late[S_LATE_N];        /* lateness histogram (non-cumulative) */
    uint64_t late_count;            /* latenesses observed */
    double late_sum;                /* their sum, seconds */
    int64_t last_success_ms;        /* finish of the latest success, 0 = none */
    int64_t next_fire_ms;           /* next scheduled fire, 0 = unknown or none */
    uint64_t job_id;                /* catalogue id of the job its last record named */
    int64_t next_check_ms;          /* when to look for its next fire again */
    bool other;                     /* the aggregate of jobs past the cap */
} s_series_t;

typedef struct {
    char name[192]; /* node */
    char state[12]; /* state name */
    uint32_t jobs, running, unacked;
} s_node_t;

typedef struct {
    char ns[129];    /* namespace */
    char status[16]; /* job status */
    uint64_t count;  /* jobs */
} s_jobs_t;

typedef struct {
    char route[64]; /* route pattern */
    int code;       /* HTTP status */
    uint64_t count; /* requests */
} s_api_code_t;

typedef struct {
    char route[64];       /* route pattern */
    uint64_t le[S_API_N]; /* latency histogram (non-cumulative) */
    uint64_t count;       /* requests */
    double sum;           /* seconds */
} s_api_route_t;

typedef struct {
    char table[32]; /* table name */
    uint64_t rows;  /* rows purged */
} s_purged_t;

/* Everything a scrape renders but the per-job series: small, copied whole. */
typedef struct {
    bool leading;                           /* leader or standby */
    uint64_t epoch;                         /* fencing epoch */
    uint64_t store_queue, spill_bytes;      /* store figures */
    uint64_t runs_tracked;                  /* runs in flight in the cluster's memory */
    uint64_t starts_deferred;               /* start rows put off, ever */
    uint64_t starts_written_late;           /* of which written (the run went on) */
    uint64_t committed_started;             /* RUN_STARTED records committed, ever */
    uint64_t committed_finished;            /* RUN_FINISHED records committed, ever */
    uint64_t db_errors;                     /* failed MySQL operations */
    uint64_t alert_feed_dropped;            /* record batches the alert engine missed */
    uint64_t alert_queue_dropped;           /* alerts dropped on a full delivery queue */
    s_api_code_t api_codes[S_API_CODES];    /* requests by (route, code) */
    size_t api_codes_n;                     /* entries used */
    s_api_route_t api_routes[S_API_ROUTES]; /* latency by route */
    size_t api_routes_n;                    /* entries used */
    s_purged_t purged[S_PURGE_TABLE];       /* rows purged by table */
    size_t purged_n;                        /* entries used */
} s_scalars_t;

struct hg_metrics {
    pthread_mutex_t lock;  /* guards everything below */
    size_t job_max;        /* per-job series allowed */
    size_t jobs_own;       /* per-job series held (not "_other") */
    s_series_t *series;    /* flat array, never shrinks (indexes stay valid) */
    size_t series_n;       /* entries used */
    size_t series_cap;     /* entries allocated (job_max + S_OTHER_NS + 1) */
    zhashx_t *index;       /* "ns/job" -> series index + 1 */
    size_t refresh_cursor; /* next series hg_metrics_next_fire_refresh looks at */
    s_node_t *nodes;       /* node figures */
    size_t nodes_n;        /* entries */
    s_jobs_t *jobs;        /* catalogue counts */
    size_t jobs_n;         /* entries */
    s_scalars_t sc;        /* the rest */
};

hg_metrics_t *hg_metrics_new(size_t job_series_max)
{
    hg_metrics_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->job_max = job_series_max ? job_series_max : HG_METRICS_JOB_SERIES_DEFAULT;
    self->series_cap = self->job_max + S_OTHER_NS + 1;
    self->index = zhashx_new();
    pthread_mutex_init(&self->lock, NULL);
    if (!self->index) {
        hg_metrics_destroy(&self);
        return NULL;
    }
    return self;
}

void hg_metrics_destroy(hg_metrics_t **p)
{
    if (!p || !*p) return;
    hg_metrics_t *self = *p;
    zhashx_destroy(&self->index);
    free(self->series);
    free(self->nodes);
    free(self->jobs);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *p = NULL;
}

/* ----------------------------------------------------------------- series */

/* The series at index i of a new entry (ns, job); NULL when out of room. */
static s_series_t *s_series_add(hg_metrics_t *self, const char *key, const char *ns,
                                const char *job, bool other)
{
    if (self->series_n >= self->series_cap) return NULL;
    if (!self->series) {
        /* Allocated in full once: a realloc would move what the refresh
         * walk names by index, and the cap is known. Pages are touched
         * only as series are added. */
        self->series = calloc(self->series_cap, sizeof *self->series);
        if (!self->series) return NULL;
    }
    s_series_t *s = &self->series[self->series_n];
    memset(s, 0, sizeof *s);
    snprintf(s->ns, sizeof s->ns, "%s", ns);
    snprintf(s->job, sizeof s->job, "%s", job);
    s->other = other;
    zhashx_insert(self->index, key, (void *) (uintptr_t) (self->series_n + 1));
    self->series_n++;
    if (!other) self->jobs_own++;
    return s;
}

static s_series_t *s_series_find(hg_metrics_t *self, const char *key)
{
    uintptr_t i = (uintptr_t) zhashx_lookup(self->index, key);
    return i ? &self->series[i - 1] : NULL;
}

/* The series a record of job in ns counts in: its own while there is
 * room, else its namespace's "_other", else the global "_other". */
static s_series_t *s_series_of(hg_metrics_t *self, const char *ns, const char *job)
{
    char key[330];
    snprintf(key, sizeof key, "%s/%s", ns, job);
    s_series_t *s = s_series_find(self, key);
    if (s) return s;
    if (self->jobs_own < self->job_max) {
        s = s_series_add(self, key, ns, job, false);
        if (s) return s;
    }
    snprintf(key, sizeof key, "%s/\x01other", ns);
    s = s_series_find(self, key);
    if (s) return s;
    /* The last slot is kept for the global aggregate. */
    if (self->series_n + 1 < self->series_cap) {
        s = s_series_add(self, key, ns, "_other", true);
        if (s) return s;
    }
    s = s_series_find(self, "\x01other/\x01other");
    return s ? s : s_series_add(self, "\x01other/\x01other", "_other", "_other", true);
}

static void s_observe(uint64_t *buckets, const double *le, size_t n, uint64_t *count, double *sum,
                      double v)
{
    size_t i = 0;
    while (i < n && v > le[i])
        i++;
    if (i < n) buckets[i]++;
    (*count)++;
    *sum += v;
}

void hg_metrics_skip_reason(const char *error, char *out, size_t size)
{
    const char *r = "other";
    char word[24];
    if (error && strncmp(error, "worker overloaded", 17) == 0)
        r = "overloaded";
    else if (error && strstr(error, "lease lapsed"))
        r = "lease_lapsed";
    else if (error) {
        /* "overlap: ..." names its reason: a lowercase word and a colon. */
        size_t n = strspn(error, "abcdefghijklmnopqrstuvwxyz_");
        if (n > 0 && n < sizeof word && error[n] == ':') {
            memcpy(word, error, n);
            word[n] = '\0';
            r = word;
        }
    }
    snprintf(out, size, "%s", r);
}

/* A skipped record may stand for many fires the worker did not run
 * (hg_run_t.fires, worker/backlog.h); a peer's claim is bounded. */
#define S_FIRES_MAX 1000000u

static void s_count_skip(s_series_t *s, const char *error, uint32_t fires)
{
    char reason[24];
    hg_metrics_skip_reason(error, reason, sizeof reason);
    size_t i;
    for (i = 0; i < S_SKIP_N; i++) {
        if (!s->skip_reason[i][0])
            snprintf(s->skip_reason[i], sizeof s->skip_reason[i], "%s", reason);
        if (strcmp(s->skip_reason[i], reason) == 0) break;
    }
    /* All slots taken by other reasons: the last one becomes "other". */
    if (i == S_SKIP_N) {
        i = S_SKIP_N - 1;
        snprintf(s->skip_reason[i], sizeof s->skip_reason[i], "other");
    }
    s->skipped[i] += fires > 1 ? (fires < S_FIRES_MAX ? fires : S_FIRES_MAX) : 1;
}

void hg_metrics_runs_begin(hg_metrics_t *self)
{
    pthread_mutex_lock(&self->lock);
}

void hg_metrics_runs_end(hg_metrics_t *self)
{
    pthread_mutex_unlock(&self->lock);
}

void hg_metrics_run(hg_metrics_t *self, const char *ns, const hg_run_t *run, bool started)
{
    if (!run) return;
    char idkey[32];
    snprintf(idkey, sizeof idkey, "#%" PRIu64, run->job_id);
    s_series_t *s = NULL;
    if (!ns || !*ns) {
        /* The job left the table (deleted, paused) with runs still coming
         * in: they count where its earlier runs did. */
        s = s_series_find(self, idkey);
        if (!s) ns = "_unknown";
    }
    if (!s) s = s_series_of(self, ns, run->job_name && *run->job_name ? run->job_name : "_unknown");
    if (!s) return;
    if (!s->other && s->job_id != run->job_id) {
        /* Remember which series this job id counts in (a job re-created
         * under the same name has a new id). Bounded: one key per own
         * series, as a re-created job's old key is dropped. */
        if (s->job_id) {
            char old[32];
            snprintf(old, sizeof old, "#%" PRIu64, s->job_id);
            zhashx_delete(self->index, old);
        }
        zhashx_update(self->index, idkey, (void *) (uintptr_t) (s - self->series + 1));
    }
    s->job_id = run->job_id;
    if (started) {
        /* Lateness of fires the schedule made (a manual trigger or a
         * retry has no schedule to be late against). */
        bool scheduled = !run->reason || strcmp(run->reason, "schedule") == 0 ||
                         strcmp(run->reason, "misfire") == 0;
        if (scheduled && run->started_ms && run->scheduled_ms) {
            int64_t late = run->started_ms - run->scheduled_ms;
            s_observe(s->late, s_late_le, S_LATE_N, &s->late_count, &s->late_sum,
                      late > 0 ? (double) late / 1000.0 : 0.0);
        }
        return;
    }
    if (run->status < 0 || run->status >= S_STATUS_N || run->status == HG_RUN_RUNNING) return;
    s->runs[run->status]++;
    if (run->status == HG_RUN_SKIPPED) {
        s_count_skip(s, run->error, run->fires);
        return;
    }
    if (run->started_ms && run->finished_ms >= run->started_ms)
        s_observe(s->dur, s_dur_le, S_DUR_N, &s->dur_count, &s->dur_sum,
                  (double) (run->finished_ms - run->started_ms) / 1000.0);
    if (run->status == HG_RUN_SUCCESS && run->finished_ms > s->last_success_ms)
        s->last_success_ms = run->finished_ms;
}

void hg_metrics_next_fire_refresh(hg_metrics_t *self, int64_t now_ms, size_t max,
                                  hg_metrics_next_fire_fn fn, void *arg)
{
    enum { S_BATCH = 256 };
    size_t idx[S_BATCH];
    uint64_t ids[S_BATCH];
    if (max > S_BATCH) max = S_BATCH;
    pthread_mutex_lock(&self->lock);
    size_t n = 0, seen = 0, total = self->series_n;
    /* A series is looked at again once its next fire has passed, or a
     * minute later when it had none (paused, ended, not in the table). */
    while (n < max && seen < total) {
        size_t i = self->refresh_cursor++ % total;
        seen++;
        s_series_t *s = &self->series[i];
        if (s->other || s->next_check_ms > now_ms) continue;
        idx[n] = i;
        ids[n++] = s->job_id;
    }
    pthread_mutex_unlock(&self->lock);
    int64_t next[S_BATCH];
    for (size_t k = 0; k < n; k++)
        next[k] = fn(arg, ids[k]);
    pthread_mutex_lock(&self->lock);
    for (size_t k = 0; k < n; k++) {
        s_series_t *s = &self->series[idx[k]];
        s->next_fire_ms = next[k] > 0 ? next[k] : 0;
        s->next_check_ms = next[k] > now_ms ? next[k] : now_ms + 60000;
    }
    pthread_mutex_unlock(&self->lock);
}

/* ----------------------------------------------------------- the others */

void hg_metrics_role(hg_metrics_t *self, bool leading, uint64_t epoch)
{
    pthread_mutex_lock(&self->lock);
    self->sc.leading = leading;
    self->sc.epoch = epoch;
    pthread_mutex_unlock(&self->lock);
}

void hg_metrics_nodes_set(hg_metrics_t *self, const hg_metrics_node_t *nodes, size_t n)
{
    s_node_t *copy = n ? calloc(n, sizeof *copy) : NULL;
    if (n && !copy) return;
    for (size_t i = 0; i < n; i++) {
        snprintf(copy[i].name, sizeof copy[i].name, "%s", nodes[i].name);
        snprintf(copy[i].state, sizeof copy[i].state, "%s", nodes[i].state);
        copy[i].jobs = nodes[i].jobs;
        copy[i].running = nodes[i].running;
        copy[i].unacked = nodes[i].unacked;
    }
    pthread_mutex_lock(&self->lock);
    s_node_t *old = self->nodes;
    self->nodes = copy;
    self->nodes_n = n;
    pthread_mutex_unlock(&self->lock);
    free(old);
}

void hg_metrics_store_set(hg_metrics_t *self, uint64_t queued_records, uint64_t spill_bytes)
{
    pthread_mutex_lock(&self->lock);
    self->sc.store_queue = queued_records;
    self->sc.spill_bytes = spill_bytes;
    pthread_mutex_unlock(&self->lock);
}

uint64_t hg_metrics_records_waiting(hg_metrics_t *self)
{
    pthread_mutex_lock(&self->lock);
    uint64_t n = self->sc.store_queue;
    for (size_t i = 0; i < self->nodes_n; i++)
        n += self->nodes[i].unacked;
    pthread_mutex_unlock(&self->lock);
    return n;
}

void hg_metrics_starts_set(hg_metrics_t *self, uint64_t tracked, uint64_t deferred,
                           uint64_t written_late)
{
    pthread_mutex_lock(&self->lock);
    self->sc.runs_tracked = tracked;
    self->sc.starts_deferred = deferred;
    self->sc.starts_written_late = written_late;
    pthread_mutex_unlock(&self->lock);
}

void hg_metrics_store_committed(hg_metrics_t *self, uint64_t started, uint64_t finished)
{
    pthread_mutex_lock(&self->lock);
    self->sc.committed_started += started;
    self->sc.committed_finished += finished;
    pthread_mutex_unlock(&self->lock);
}

void hg_metrics_alerts_set(hg_metrics_t *self, uint64_t feed_dropped, uint64_t queue_dropped)
{
    pthread_mutex_lock(&self->lock);
    self->sc.alert_feed_dropped = feed_dropped;
    self->sc.alert_queue_dropped = queue_dropped;
    pthread_mutex_unlock(&self->lock);
}

void hg_metrics_db_error(hg_metrics_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->sc.db_errors++;
    pthread_mutex_unlock(&self->lock);
}

void hg_metrics_jobs_set(hg_metrics_t *self, char **ns, char **status, const uint64_t *count,
                         size_t n)
{
    s_jobs_t *copy = n ? calloc(n, sizeof *copy) : NULL;
    if (n && !copy) return;
    for (size_t i = 0; i < n; i++) {
        snprintf(copy[i].ns, sizeof copy[i].ns, "%s", ns[i] ? ns[i] : "");
        snprintf(copy[i].status, sizeof copy[i].status, "%s", status[i] ? status[i] : "");
        copy[i].count = count[i];
    }
    pthread_mutex_lock(&self->lock);
    s_jobs_t *old = self->jobs;
    self->jobs = copy;
    self->jobs_n = n;
    pthread_mutex_unlock(&self->lock);
    free(old);
}

void hg_metrics_purged(hg_metrics_t *self, const char *table, uint64_t rows)
{
    pthread_mutex_lock(&self->lock);
    size_t i;
    for (i = 0; i < self->sc.purged_n; i++)
        if (strcmp(self->sc.purged[i].table, table) == 0) break;
    if (i == self->sc.purged_n && i < S_PURGE_TABLE) {
        snprintf(self->sc.purged[i].table, sizeof self->sc.purged[i].table, "%s", table);
        self->sc.purged_n++;
    }
    if (i < self->sc.purged_n) self->sc.purged[i].rows += rows;
    pthread_mutex_unlock(&self->lock);
}

void hg_metrics_api(hg_metrics_t *self, const char *route, int code, double seconds)
{
    if (!self) return;
    s_scalars_t *sc = &self->sc;
    pthread_mutex_lock(&self->lock);
    size_t i;
    for (i = 0; i < sc->api_codes_n; i++)
        if (sc->api_codes[i].code == code && strcmp(sc->api_codes[i].route, route) == 0) break;
    if (i == sc->api_codes_n && i < S_API_CODES) {
        snprintf(sc->api_codes[i].route, sizeof sc->api_codes[i].route, "%s", route);
        sc->api_codes[i].code = code;
        sc->api_codes_n++;
    }
    if (i < sc->api_codes_n) sc->api_codes[i].count++;
    for (i = 0; i < sc->api_routes_n; i++)
        if (strcmp(sc->api_routes[i].route, route) == 0) break;
    if (i == sc->api_routes_n && i < S_API_ROUTES) {
        snprintf(sc->api_routes[i].route, sizeof sc->api_routes[i].route, "%s", route);
        sc->api_routes_n++;
    }
    if (i < sc->api_routes_n)
        s_observe(sc->api_routes[i].le, s_api_le, S_API_N, &sc->api_routes[i].count,
                  &sc->api_routes[i].sum, seconds);
    pthread_mutex_unlock(&self->lock);
}

size_t hg_metrics_job_series(hg_metrics_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->jobs_own;
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* -------------------------------------------------------------- rendering */

/* A growing text buffer; oom once any append failed. */
typedef struct {
    char *buf;  /* text */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    bool oom;   /* an allocation failed */
} s_out_t;

static bool s_room(s_out_t *o, size_t more)
{
    if (o->oom) return false;
    if (o->len + more + 1 <= o->cap) return true;
    size_t cap = o->cap ? o->cap : 65536;
    while (cap < o->len + more + 1)
        cap *= 2;
    char *b = realloc(o->buf, cap);
    if (!b) {
        o->oom = true;
        return false;
    }
    o->buf = b;
    o->cap = cap;
    return true;
}

__attribute__((format(printf, 2, 3))) static void s_printf(s_out_t *o, const char *fmt, ...)
{
    for (int pass = 0; pass < 2; pass++) {
        if (!s_room(o, pass ? 0 : 256)) return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t) n < o->cap - o->len) {
            o->len += (size_t) n;
            return;
        }
        if (!s_room(o, (size_t) n)) return;
    }
}

/* # HELP and # TYPE of a metric. */
static void s_head(s_out_t *o, const char *name, const char *type, const char *help)
{
    s_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value escaped as the format wants (backslash, quote, newline). */
static const char *s_esc(const char *in, char *out, size_t size)
{
    size_t j = 0;
    for (; *in && j + 2 < size; in++) {
        if (*in == '\\' || *in == '"') out[j++] = '\\';
        if (*in == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
            continue;
        }
        out[j++] = *in;
    }
    out[j] = '\0';
    return out;
}

/* Plain appends: a scrape writes some 35 lines per job series, and
 * vsnprintf per line made 10,000 series cost seconds. */
static void s_put(s_out_t *o, const char *text, size_t n)
{
    if (!s_room(o, n)) return;
    memcpy(o->buf + o->len, text, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void s_puts(s_out_t *o, const char *text)
{
    s_put(o, text, strlen(text));
}

static void s_u64(s_out_t *o, uint64_t v)
{
    char d[24];
    size_t i = sizeof d;
    do {
        d[--i] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    s_put(o, d + i, sizeof d - i);
}

/* The bucket lines, _sum and _count of one histogram; labels is the text
 * inside the braces ("" for none); le_text the bounds as text. The line
 * head up to the bound is built once and copied per bucket. */
static void s_histogram(s_out_t *o, const char *name, const char *labels,
                        const char *const *le_text, const uint64_t *buckets, size_t n,
                        uint64_t count, double sum)
{
    char head[1024];
    int hn = snprintf(head, sizeof head, "%s_bucket{%s%sle=\"", name, labels, *labels ? "," : "");
    if (hn < 0 || (size_t) hn >= sizeof head) return;
    uint64_t cum = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *le = i < n ? le_text[i] : "+Inf";
        size_t le_len = strlen(le);
        cum += i < n ? buckets[i] : 0;
        if (!s_room(o, (size_t) hn + le_len + 32)) return;
        char *p = o->buf + o->len;
        memcpy(p, head, (size_t) hn);
        p += hn;
        memcpy(p, le, le_len);
        p += le_len;
        memcpy(p, "\"} ", 3);
        p += 3;
        /* The count, digits written backwards into place. */
        char d[24];
        size_t k = sizeof d;
        uint64_t v = i < n ? cum : count;
        do {
            d[--k] = (char) ('0' + v % 10);
            v /= 10;
        } while (v);
        memcpy(p, d + k, sizeof d - k);
        p += sizeof d - k;
        *p++ = '\n';
        *p = '\0';
        o->len = (size_t) (p - o->buf);
    }
    if (*labels) {
        s_printf(o, "%s_sum{%s} %.6f\n%s_count{%s} %" PRIu64 "\n", name, labels, sum, name, labels,
                 count);
    } else {
        s_printf(o, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name, sum, name, count);
    }
}

/* namespace="..",job=".." of a series. */
static void s_series_labels(const s_series_t *s, char *out, size_t size)
{
    char ns[300], job[400];
    snprintf(out, size, "namespace=\"%s\",job=\"%s\"", s_esc(s->ns, ns, sizeof ns),
             s_esc(s->job, job, sizeof job));
}

static void s_render_runs(s_out_t *o, const s_series_t *series, size_t n)
{
    char l[800], r[64];
    s_head(o, "hourglass_runs_total", "counter",
           "Finished runs by namespace, job and final status of the attempt.");
    for (size_t i = 0; i < n; i++) {
        s_series_labels(&series[i], l, sizeof l);
        for (int st = 1; st < S_STATUS_N; st++) {
            if (!series[i].runs[st]) continue;
            s_puts(o, "hourglass_runs_total{");
            s_puts(o, l);
            s_puts(o, ",status=\"");
            s_puts(o, hg_run_status_name(st));
            s_puts(o, "\"} ");
            s_u64(o, series[i].runs[st]);
            s_put(o, "\n", 1);
        }
    }
    s_head(o, "hourglass_runs_skipped_total", "counter",
           "Runs recorded as skipped, by namespace, job and reason.");
    for (size_t i = 0; i < n; i++) {
        if (!series[i].runs[HG_RUN_SKIPPED]) continue;
        s_series_labels(&series[i], l, sizeof l);
        for (int k = 0; k < S_SKIP_N; k++)
            if (series[i].skipped[k])
                s_printf(o, "hourglass_runs_skipped_total{%s,reason=\"%s\"} %" PRIu64 "\n", l,
                         s_esc(series[i].skip_reason[k], r, sizeof r), series[i].skipped[k]);
    }
}

static void s_render_histograms(s_out_t *o, const s_series_t *series, size_t n)
{
    char l[800];
    s_head(o, "hourglass_run_duration_seconds", "histogram",
           "Time from a run's start to its end, by namespace and job (skipped runs excluded).");
    for (size_t i = 0; i < n; i++) {
        if (!series[i].dur_count) continue;
        s_series_labels(&series[i], l, sizeof l);
        s_histogram(o, "hourglass_run_duration_seconds", l, s_dur_le_text, series[i].dur, S_DUR_N,
                    series[i].dur_count, series[i].dur_sum);
    }
    s_head(o, "hourglass_fire_lateness_seconds", "histogram",
           "Time from a scheduled fire time to the run's start, by namespace and job.");
    for (size_t i = 0; i < n; i++) {
        if (!series[i].late_count) continue;
        s_series_labels(&series[i], l, sizeof l);
        s_histogram(o, "hourglass_fire_lateness_seconds", l, s_late_le_text, series[i].late,
                    S_LATE_N, series[i].late_count, series[i].late_sum);
    }
}

static void s_render_job_times(s_out_t *o, const s_series_t *series, size_t n)
{
    char l[800];
    s_head(o, "hourglass_job_last_success_timestamp_seconds", "gauge",
           "End of the job's latest successful run (Unix seconds); for job=\"_other\" the latest "
           "of those jobs.");
    for (size_t i = 0; i < n; i++) {
        if (!series[i].last_success_ms) continue;
        s_series_labels(&series[i], l, sizeof l);
        s_printf(o, "hourglass_job_last_success_timestamp_seconds{%s} %.3f\n", l,
                 (double) series[i].last_success_ms / 1000.0);
    }
    s_head(o, "hourglass_job_next_fire_timestamp_seconds", "gauge",
           "The job's next scheduled fire time (Unix seconds), for jobs with their own series.");
    for (size_t i = 0; i < n; i++) {
        if (series[i].other || series[i].next_fire_ms <= 0) continue;
        s_series_labels(&series[i], l, sizeof l);
        s_printf(o, "hourglass_job_next_fire_timestamp_seconds{%s} %.3f\n", l,
                 (double) series[i].next_fire_ms / 1000.0);
    }
}

static void s_render_cluster(s_out_t *o, const s_scalars_t *sc, const s_node_t *nodes,
                             size_t nodes_n, const s_jobs_t *jobs, size_t jobs_n, size_t own)
{
    char a[300], b[64];
    s_head(o, "hourglass_leader", "gauge", "1 when this master leads the cluster, 0 on a standby.");
    s_printf(o, "hourglass_leader %d\n", sc->leading ? 1 : 0);
    s_head(o, "hourglass_epoch", "gauge",
           "Fencing epoch: this master's while it leads, else the leader's as known.");
    s_printf(o, "hourglass_epoch %" PRIu64 "\n", sc->epoch);
    s_head(o, "hourglass_jobs", "gauge",
           "Jobs in the catalogue by namespace and status (refreshed by the leader every 30 s).");
    for (size_t i = 0; i < jobs_n; i++)
        s_printf(o, "hourglass_jobs{namespace=\"%s\",status=\"%s\"} %" PRIu64 "\n",
                 s_esc(jobs[i].ns, a, sizeof a), s_esc(jobs[i].status, b, sizeof b), jobs[i].count);
    s_head(o, "hourglass_metrics_job_series", "gauge",
           "Jobs with their own per-job series (at most metrics.job_series_max).");
    s_printf(o, "hourglass_metrics_job_series %zu\n", own);
    static const char *states[] = {"active", "draining", "lost", "left"};
    s_head(o, "hourglass_nodes", "gauge", "Workers known to the leader, by state.");
    for (size_t k = 0; k < 4; k++) {
        uint64_t c = 0;
        for (size_t i = 0; i < nodes_n; i++)
            c += strcmp(nodes[i].state, states[k]) == 0;
        s_printf(o, "hourglass_nodes{state=\"%s\"} %" PRIu64 "\n", states[k], c);
    }
    static const char *what[][2] = {
        {"hourglass_node_jobs", "Jobs assigned to the worker."},
        {"hourglass_node_running", "Runs in flight on the worker (its last heartbeat)."},
        {"hourglass_node_unacked_records",
         "Run records the worker holds, not yet acknowledged (its last heartbeat)."}};
    for (size_t k = 0; k < 3; k++) {
        s_head(o, what[k][0], "gauge", what[k][1]);
        for (size_t i = 0; i < nodes_n; i++) {
            uint32_t v = k == 0 ? nodes[i].jobs : k == 1 ? nodes[i].running : nodes[i].unacked;
            s_printf(o, "%s{node=\"%s\"} %u\n", what[k][0], s_esc(nodes[i].name, a, sizeof a), v);
        }
    }
}

static void s_render_scalars(s_out_t *o, const s_scalars_t *sc)
{
    char a[200];
    s_head(o, "hourglass_store_queue_records", "gauge",
           "Run records waiting in the store's memory queue for MySQL.");
    s_printf(o, "hourglass_store_queue_records %" PRIu64 "\n", sc->store_queue);
    s_head(o, "hourglass_store_records_total", "counter",
           "Run records the store committed to MySQL, by kind (a start row is written only for a "
           "run still going after store.start_write_after, or of a recover job).");
    s_printf(o, "hourglass_store_records_total{kind=\"started\"} %" PRIu64 "\n",
             sc->committed_started);
    s_printf(o, "hourglass_store_records_total{kind=\"finished\"} %" PRIu64 "\n",
             sc->committed_finished);
    s_head(o, "hourglass_runs_tracked", "gauge",
           "Runs in flight the master tracks in memory (closed as lost with their worker).");
    s_printf(o, "hourglass_runs_tracked %" PRIu64 "\n", sc->runs_tracked);
    s_head(o, "hourglass_start_rows_deferred_total", "counter",
           "Start rows put off for store.start_write_after (most runs end before and never "
           "need one).");
    s_printf(o, "hourglass_start_rows_deferred_total %" PRIu64 "\n", sc->starts_deferred);
    s_head(o, "hourglass_start_rows_written_late_total", "counter",
           "Start rows put off and then written because the run was still going.");
    s_printf(o, "hourglass_start_rows_written_late_total %" PRIu64 "\n", sc->starts_written_late);
    s_head(o, "hourglass_spill_bytes", "gauge",
           "Size of the run-record spill file (records kept on disk while MySQL is down).");
    s_printf(o, "hourglass_spill_bytes %" PRIu64 "\n", sc->spill_bytes);
    s_head(o, "hourglass_db_errors_total", "counter",
           "MySQL operations of the store and the retention purge that failed.");
    s_printf(o, "hourglass_db_errors_total %" PRIu64 "\n", sc->db_errors);
    s_head(o, "hourglass_alert_record_batches_dropped_total", "counter",
           "Batches of run records the alert engine did not see because it was behind: "
           "alerts for those runs may be missing.");
    s_printf(o, "hourglass_alert_record_batches_dropped_total %" PRIu64 "\n",
             sc->alert_feed_dropped);
    s_head(o, "hourglass_alerts_dropped_total", "counter",
           "Alerts not delivered because the delivery queue was full (alerts.queue_max).");
    s_printf(o, "hourglass_alerts_dropped_total %" PRIu64 "\n", sc->alert_queue_dropped);
    s_head(o, "hourglass_purged_rows_total", "counter",
           "Rows deleted by the retention rule and manual purges, by table.");
    for (size_t i = 0; i < sc->purged_n; i++)
        s_printf(o, "hourglass_purged_rows_total{table=\"%s\"} %" PRIu64 "\n",
                 s_esc(sc->purged[i].table, a, sizeof a), sc->purged[i].rows);
    s_head(o, "hourglass_api_requests_total", "counter",
           "REST API requests answered, by route pattern and HTTP status.");
    for (size_t i = 0; i < sc->api_codes_n; i++)
        s_printf(o, "hourglass_api_requests_total{route=\"%s\",code=\"%d\"} %" PRIu64 "\n",
                 s_esc(sc->api_codes[i].route, a, sizeof a), sc->api_codes[i].code,
                 sc->api_codes[i].count);
    s_head(o, "hourglass_api_request_duration_seconds", "histogram",
           "Time to answer a REST API request, by route pattern.");
    for (size_t i = 0; i < sc->api_routes_n; i++) {
        char l[256];
        snprintf(l, sizeof l, "route=\"%s\"", s_esc(sc->api_routes[i].route, a, sizeof a));
        s_histogram(o, "hourglass_api_request_duration_seconds", l, s_api_le_text,
                    sc->api_routes[i].le, S_API_N, sc->api_routes[i].count, sc->api_routes[i].sum);
    }
}

/* Ask for transparent huge pages under a large text buffer. Faulting in
 * 4 KiB pages one at a time cost as much as the rendering itself on a
 * virtual machine (about 100 ms for the 36 MB of 10,000 series); with
 * 2 MiB pages it is a few milliseconds. Only the 2 MiB-aligned middle of
 * the buffer qualifies; advice that cannot be taken changes nothing. */
static void s_huge_pages(s_out_t *o)
{
    const uintptr_t huge = (uintptr_t) 2 << 20;
    if (o->cap < 2 * huge) return;
    uintptr_t lo = ((uintptr_t) o->buf + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t) o->buf + o->cap) & ~(huge - 1);
#ifdef MADV_HUGEPAGE
    if (hi > lo) (void) madvise((void *) lo, hi - lo, MADV_HUGEPAGE);
#else
    (void) lo;
    (void) hi;
#endif
}

char *hg_metrics_render(hg_metrics_t *self, size_t *len)
{
    /* Copy under the lock, render without it (see metrics.h). */
    pthread_mutex_lock(&self->lock);
    size_t n = self->series_n, nodes_n = self->nodes_n, jobs_n = self->jobs_n, own = self->jobs_own;
    s_series_t *series = n ? malloc(n * sizeof *series) : NULL;
    s_node_t *nodes = nodes_n ? malloc(nodes_n * sizeof *nodes) : NULL;
    s_jobs_t *jobs = jobs_n ? malloc(jobs_n * sizeof *jobs) : NULL;
    s_scalars_t *sc = malloc(sizeof *sc);
    bool ok = (!n || series) && (!nodes_n || nodes) && (!jobs_n || jobs) && sc;
    if (ok) {
        if (n) memcpy(series, self->series, n * sizeof *series);
        if (nodes_n) memcpy(nodes, self->nodes, nodes_n * sizeof *nodes);
        if (jobs_n) memcpy(jobs, self->jobs, jobs_n * sizeof *jobs);
        *sc = self->sc;
    }
    pthread_mutex_unlock(&self->lock);
    s_out_t o = {0};
    /* Sized once: growing a buffer of tens of megabytes by realloc cost
     * more than the rendering (copies and fresh pages each time). A job
     * series with both histograms takes about 3.5 KB. */
    if (ok && s_room(&o, 65536 + n * 3600 + nodes_n * 300 + jobs_n * 120)) s_huge_pages(&o);
    if (ok) {
        s_render_cluster(&o, sc, nodes, nodes_n, jobs, jobs_n, own);
        s_render_runs(&o, series, n);
        s_render_histograms(&o, series, n);
        s_render_job_times(&o, series, n);
        s_render_scalars(&o, sc);
        if (!o.oom && !hg_procstat_append(&o.buf, &o.len, &o.cap)) o.oom = true;
    }
    free(series);
    free(nodes);
    free(jobs);
    free(sc);
    if (!ok || o.oom || !o.buf) {
        free(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}
