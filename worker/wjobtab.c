/* wjobtab: the worker's compact table of held jobs (see wjobtab.h).
 *
 * Why not the zhashx of s_job_t it replaces: per job that kept the zhashx
 * item and key copy (some 70 bytes), a full hg_assign_t (248) with a
 * dozen small strings (namespace, kind, schedule, zone, misfire, method,
 * URL, ...: 300 more), and a parsed schedule of its own (about 350): 1,084
 * bytes a job in all. Here a job is one allocation of about 128 bytes
 * (its name and URL inside), one 8-byte slot in a table kept at most 3/4
 * full, and references to what it shares with other jobs. */
#include "wjobtab.h"

#include "hg_error.h"
#include "hg_oatab.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* A shared piece (template or schedule): found by the bytes of its key. */
typedef struct {
    uint32_t refs;  /* records pointing at it */
    size_t hash;    /* hash of key */
    size_t key_len; /* bytes in key */
    uint8_t *key;   /* canonical bytes of what is shared (owned) */
} s_shared_t;

struct hg_wjobtpl {
    s_shared_t sh;     /* must come first: the shared tables see an s_shared_t */
    hg_assign_t spec;  /* shared fields (owned); the per-job ones are 0 / NULL */
    size_t heap_bytes; /* bytes of the strings it owns, for the accounting */
};

struct hg_wjobsched {
    s_shared_t sh;     /* must come first */
    hg_sched_t *sched; /* parsed (owned) */
    int64_t start_ms;  /* the jobs' start (0 = unbounded), part of the key */
    int64_t end_ms;    /* the jobs' end (0 = unbounded), part of the key */
};

struct hg_wjobtab {
    hg_oatab_t jobs; /* hg_wjob_t *, by id */
    /* The id of the job in each slot of jobs (jobs.cap of them; NULL when
     * out of memory, then a probe reads the job itself): a probe compares
     * ids here, one load beside the last, instead of a cache miss into
     * each job it passes (22% of a worker's CPU while a million jobs were
     * placed). */
    uint64_t *ids;
    hg_oatab_t tpls;     /* hg_wjobtpl_t *, by key */
    hg_oatab_t scheds;   /* hg_wjobsched_t *, by key */
    size_t record_bytes; /* heap bytes of the records and their parameters */
    size_t shared_bytes; /* heap bytes of templates and schedule entries */
};

/* Heap bytes of a block as malloc holds it (its header included). */
static size_t s_block(const void *p)
{
    return p ? malloc_usable_size((void *) p) + sizeof(size_t) : 0;
}

static size_t s_job_hash(const void *e)
{
    return hg_oatab_hash_id(((const hg_wjob_t *) e)->id);
}

static size_t s_shared_hash(const void *e)
{
    return ((const s_shared_t *) e)->hash;
}

/* Slot of the shared entry with these key bytes, or SIZE_MAX. */
static size_t s_shared_slot(const hg_oatab_t *t, const uint8_t *key, size_t len, size_t hash)
{
    if (!t->cap) return SIZE_MAX;
    for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        s_shared_t *e = t->slots[i];
        if (!e) return SIZE_MAX;
        if (e != HG_OATAB_TOMB && e->hash == hash && e->key_len == len && !memcmp(e->key, key, len))
            return i;
    }
}

static int s_shared_insert(hg_oatab_t *t, s_shared_t *e)
{
    if (hg_oatab_reserve(t, s_shared_hash) != 0) return HG_ENOMEM;
    size_t i = e->hash & (t->cap - 1);
    while (t->slots[i] && t->slots[i] != HG_OATAB_TOMB)
        i = (i + 1) & (t->cap - 1);
    if (!t->slots[i]) t->used++;
    t->slots[i] = e;
    t->live++;
    return 0;
}

/* Drop one reference; true when it was the last (the entry is then out
 * of the table and the caller frees it). */
static bool s_shared_release(hg_oatab_t *t, s_shared_t *e)
{
    if (--e->refs > 0) return false;
    size_t i = s_shared_slot(t, e->key, e->key_len, e->hash);
    if (i != SIZE_MAX) {
        t->slots[i] = HG_OATAB_TOMB;
        t->live--;
    }
    return true;
}

/* ------------------------------------------------------------ schedules */

static void s_sched_free(hg_wjobtab_t *self, hg_wjobsched_t *s)
{
    self->shared_bytes -= s_block(s) + s_block(s->sh.key);
    hg_sched_destroy(&s->sched);
    free(s->sh.key);
    free(s);
}

/* The parsed schedule of a (shared when another job has the same
 * expression, zone, start and end), one reference more. NULL with *rc. */
static hg_wjobsched_t *s_sched_get(hg_wjobtab_t *self, const hg_assign_t *a, int *rc, char *err,
                                   size_t err_size)
{
    const char *expr = a->schedule ? a->schedule : "";
    const char *tz = a->tz ? a->tz : "";
    size_t el = strlen(expr), tl = strlen(tz), len = el + 1 + tl + 1 + 16;
    uint8_t *key = malloc(len);
    if (!key) {
        *rc = HG_ENOMEM;
        return NULL;
    }
    memcpy(key, expr, el + 1);
    memcpy(key + el + 1, tz, tl + 1);
    memcpy(key + el + tl + 2, &a->start_ms, 8);
    memcpy(key + el + tl + 10, &a->end_ms, 8);
    size_t hash = hg_oatab_hash_bytes(key, len);
    size_t i = s_shared_slot(&self->scheds, key, len, hash);
    if (i != SIZE_MAX) {
        free(key);
        hg_wjobsched_t *s = self->scheds.slots[i];
        s->sh.refs++;
        return s;
    }
    hg_sched_opts_t opts = {.tz = a->tz, .start_ms = a->start_ms, .end_ms = a->end_ms};
    hg_wjobsched_t *s = calloc(1, sizeof *s);
    if (!s || hg_sched_parse(a->schedule, &opts, &s->sched, err, err_size) != 0) {
        *rc = s ? HG_ESCHEDULE : HG_ENOMEM;
        free(s);
        free(key);
        return NULL;
    }
    s->sh = (s_shared_t){.refs = 1, .hash = hash, .key_len = len, .key = key};
    s->start_ms = a->start_ms;
    s->end_ms = a->end_ms;
    if (s_shared_insert(&self->scheds, &s->sh) != 0) {
        hg_sched_destroy(&s->sched);
        free(key);
        free(s);
        *rc = HG_ENOMEM;
        return NULL;
    }
    self->shared_bytes += s_block(s) + s_block(key);
    return s;
}

/* ------------------------------------------------------------ templates */

static void s_tpl_free(hg_wjobtab_t *self, hg_wjobtpl_t *t)
{
    self->shared_bytes -= s_block(t) + s_block(t->sh.key) + t->heap_bytes;
    hg_assign_clear(&t->spec);
    free(t->sh.key);
    free(t);
}

/* Canonical bytes of the shared fields: their wire encoding (the
 * per-job ones empty). Two jobs share a template exactly when these are
 * equal. 0 or a negative HG_E* code. */
static int s_tpl_key(const hg_assign_t *shared, uint8_t **key, size_t *len)
{
    hg_msg_t msg = {.type = HG_MSG_ASSIGN};
    msg.u.assign = *shared;
    msg.u.assign.name = "";                              /* required on the wire; the job's own */
    if (shared->http.method) msg.u.assign.http.url = ""; /* likewise */
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = hg_msg_encode(&msg, &buf, &n);
    if (rc != 0) return rc;
    /* An exact copy: the encoder's buffer has room to spare. */
    *key = malloc(n);
    if (*key) memcpy(*key, buf, n);
    free(buf);
    *len = n;
    return *key ? 0 : HG_ENOMEM;
}

/* Rough heap bytes of a template's strings (for the accounting only). */
static size_t s_spec_bytes(const hg_assign_t *s)
{
    const void *p[] = {s->ns,
                       s->kind,
                       s->schedule,
                       s->tz,
                       s->misfire,
                       s->http.method,
                       s->http.headers,
                       s->http.body.data,
                       s->http.form,
                       s->http.expect,
                       s->http.expect_body,
                       s->plugin.name,
                       s->plugin.version,
                       s->plugin.sha256,
                       s->plugin.isolation};
    size_t n = 0;
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        n += s_block(p[i]);
    return n;
}

/* The template of *shared (whose members are a's, per-job ones NULL),
 * one reference more. Takes shared's members when it makes a new one,
 * else frees them; shared is cleared either way unless NULL is returned. */
static hg_wjobtpl_t *s_tpl_get(hg_wjobtab_t *self, hg_assign_t *shared, int *rc)
{
    uint8_t *key = NULL;
    size_t len = 0;
    *rc = s_tpl_key(shared, &key, &len);
    if (*rc != 0) return NULL;
    size_t hash = hg_oatab_hash_bytes(key, len);
    size_t i = s_shared_slot(&self->tpls, key, len, hash);
    if (i != SIZE_MAX) {
        free(key);
        hg_wjobtpl_t *t = self->tpls.slots[i];
        t->sh.refs++;
        hg_assign_clear(shared);
        return t;
    }
    hg_wjobtpl_t *t = calloc(1, sizeof *t);
    if (t) t->sh = (s_shared_t){.refs = 1, .hash = hash, .key_len = len, .key = key};
    if (!t || s_shared_insert(&self->tpls, &t->sh) != 0) {
        free(t);
        free(key);
        *rc = HG_ENOMEM;
        return NULL;
    }
    t->spec = *shared;
    memset(shared, 0, sizeof *shared);
    t->heap_bytes = s_spec_bytes(&t->spec);
    self->shared_bytes += s_block(t) + s_block(key) + t->heap_bytes;
    return t;
}

/* ---------------------------------------------------------------- table */

hg_wjobtab_t *hg_wjobtab_new(void)
{
    return calloc(1, sizeof(hg_wjobtab_t));
}

void hg_wjobtab_destroy(hg_wjobtab_t **self_p)
{
    if (!self_p || !*self_p) return;
    hg_wjobtab_t *self = *self_p;
    for (size_t i = 0; i < self->jobs.cap; i++) {
        hg_wjob_t *job = self->jobs.slots[i];
        if (job && job != HG_OATAB_TOMB) hg_wjobtab_free(self, &job);
    }
    free(self->jobs.slots);
    free(self->ids);
    free(self->tpls.slots);
    free(self->scheds.slots);
    free(self);
    *self_p = NULL;
}

static void s_params_free(hg_kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static size_t s_params_bytes(const hg_kv_t *kv, size_t n)
{
    size_t b = s_block(kv);
    for (size_t i = 0; i < n; i++)
        b += s_block(kv[i].key) + s_block(kv[i].value);
    return b;
}

hg_wjob_t *hg_wjobtab_make(hg_wjobtab_t *self, hg_assign_t *a, int *rc, char *err, size_t err_size)
{
    int dummy;
    if (!rc) rc = &dummy;
    *rc = 0;
    const char *name = a->name ? a->name : "";
    size_t nl = strlen(name), ul = a->http.url ? strlen(a->http.url) : 0;
    if (a->params_n > UINT16_MAX) {
        *rc = HG_ETOOBIG;
        return NULL;
    }
    hg_wjob_t *job = malloc(sizeof *job + nl + 1 + (a->http.url ? ul + 1 : 0));
    if (!job) {
        *rc = HG_ENOMEM;
        return NULL;
    }
    hg_wjobsched_t *sched = s_sched_get(self, a, rc, err, err_size);
    if (!sched) {
        free(job);
        return NULL;
    }
    *job = (hg_wjob_t){.id = a->job_id,
                       .epoch = a->epoch,
                       .version = a->version,
                       .next_ms = HG_SCHED_NEVER,
                       .last_fire_ms = a->last_fire_ms,
                       .sched = sched,
                       .heap_index = HG_WJOB_NO_HEAP,
                       .has_url = a->http.url != NULL};
    int policy = hg_misfire_parse(a->misfire);
    job->misfire = (uint8_t) (policy < 0 ? HG_MISFIRE_FIRE_ONCE : policy);
    memcpy(job->text, name, nl + 1);
    if (a->http.url) memcpy(job->text + nl + 1, a->http.url, ul + 1);
    /* What stays per job leaves a; the rest is the template's. */
    hg_assign_t shared = *a;
    shared.job_id = shared.epoch = shared.version = 0;
    shared.start_ms = shared.end_ms = shared.last_fire_ms = 0;
    shared.name = NULL;
    shared.http.url = NULL;
    shared.params = NULL;
    shared.params_n = 0;
    const hg_wjobtpl_t *tpl = s_tpl_get(self, &shared, rc);
    if (!tpl) {
        if (s_shared_release(&self->scheds, &sched->sh)) s_sched_free(self, sched);
        free(job);
        return NULL; /* a still owns its members */
    }
    job->tpl = tpl;
    job->params = a->params;
    job->params_n = (uint16_t) a->params_n;
    free(a->name);
    free(a->http.url);
    memset(a, 0, sizeof *a);
    self->record_bytes += s_block(job) + s_params_bytes(job->params, job->params_n);
    return job;
}

static size_t s_job_slot(const hg_wjobtab_t *self, uint64_t id)
{
    if (!self->jobs.cap) return SIZE_MAX;
    size_t mask = self->jobs.cap - 1;
    const uint64_t *ids = self->ids;
    for (size_t i = hg_oatab_hash_id(id) & mask;; i = (i + 1) & mask) {
        hg_wjob_t *e = self->jobs.slots[i];
        if (!e) return SIZE_MAX;
        if (e != HG_OATAB_TOMB && (ids ? ids[i] : e->id) == id) return i;
    }
}

/* After the slots were rebuilt (grown, or tombstones dropped): the ids
 * again, slot by slot. Out of memory, probes read the jobs instead. */
static void s_ids_rebuild(hg_wjobtab_t *self)
{
    free(self->ids);
    self->ids = malloc(self->jobs.cap * sizeof *self->ids);
    if (!self->ids) return;
    for (size_t i = 0; i < self->jobs.cap; i++) {
        const hg_wjob_t *e = self->jobs.slots[i];
        self->ids[i] = e && e != HG_OATAB_TOMB ? e->id : 0;
    }
}

int hg_wjobtab_put(hg_wjobtab_t *self, hg_wjob_t *job, hg_wjob_t **old)
{
    if (old) *old = NULL;
    size_t i = s_job_slot(self, job->id);
    if (i != SIZE_MAX) {
        if (old)
            *old = self->jobs.slots[i];
        else
            hg_wjobtab_free(self, (hg_wjob_t **) &self->jobs.slots[i]);
        self->jobs.slots[i] = job;
        return 0;
    }
    void **before = self->jobs.slots;
    if (hg_oatab_reserve(&self->jobs, s_job_hash) != 0) return HG_ENOMEM;
    if (self->jobs.slots != before) s_ids_rebuild(self); /* a new array: new places */
    size_t mask = self->jobs.cap - 1;
    for (i = hg_oatab_hash_id(job->id) & mask;
         self->jobs.slots[i] && self->jobs.slots[i] != HG_OATAB_TOMB; i = (i + 1) & mask)
        ;
    if (!self->jobs.slots[i]) self->jobs.used++;
    self->jobs.slots[i] = job;
    if (self->ids) self->ids[i] = job->id;
    self->jobs.live++;
    return 0;
}

hg_wjob_t *hg_wjobtab_find(hg_wjobtab_t *self, uint64_t id)
{
    size_t i = s_job_slot(self, id);
    return i == SIZE_MAX ? NULL : self->jobs.slots[i];
}

void hg_wjobtab_remove(hg_wjobtab_t *self, uint64_t id)
{
    size_t i = s_job_slot(self, id);
    if (i == SIZE_MAX) return;
    hg_wjob_t *job = self->jobs.slots[i];
    self->jobs.slots[i] = HG_OATAB_TOMB;
    self->jobs.live--;
    hg_wjobtab_free(self, &job);
}

void hg_wjobtab_free(hg_wjobtab_t *self, hg_wjob_t **job_p)
{
    hg_wjob_t *job = *job_p;
    if (!job) return;
    self->record_bytes -= s_block(job) + s_params_bytes(job->params, job->params_n);
    hg_wjobtpl_t *tpl = (hg_wjobtpl_t *) job->tpl;
    if (s_shared_release(&self->tpls, &tpl->sh)) s_tpl_free(self, tpl);
    if (s_shared_release(&self->scheds, &job->sched->sh)) s_sched_free(self, job->sched);
    s_params_free(job->params, job->params_n);
    free(job);
    *job_p = NULL;
}

size_t hg_wjobtab_size(const hg_wjobtab_t *self)
{
    return self->jobs.live;
}

hg_wjob_t *hg_wjobtab_next(hg_wjobtab_t *self, size_t *cursor)
{
    for (; *cursor < self->jobs.cap; (*cursor)++) {
        hg_wjob_t *e = self->jobs.slots[*cursor];
        if (e && e != HG_OATAB_TOMB) {
            (*cursor)++;
            return e;
        }
    }
    return NULL;
}

size_t hg_wjobtab_tpl_count(const hg_wjobtab_t *self)
{
    return self->tpls.live;
}

size_t hg_wjobtab_sched_count(const hg_wjobtab_t *self)
{
    return self->scheds.live;
}

size_t hg_wjobtab_bytes(const hg_wjobtab_t *self)
{
    size_t slots = s_block(self->jobs.slots) + s_block(self->ids) + s_block(self->tpls.slots) +
                   s_block(self->scheds.slots);
    /* A parsed schedule's own blocks are the parser's business; counted
     * as the size of one (about 350 bytes) per distinct schedule. */
    return s_block(self) + slots + self->record_bytes + self->shared_bytes +
           self->scheds.live * 352;
}

/* ----------------------------------------------------------------- views */

void hg_wjob_spec(const hg_wjob_t *job, hg_assign_t *out)
{
    *out = job->tpl->spec;
    out->job_id = job->id;
    out->epoch = job->epoch;
    out->version = job->version;
    out->name = (char *) job->text;
    out->http.url = (char *) hg_wjob_url(job);
    out->params = job->params;
    out->params_n = job->params_n;
    out->start_ms = job->sched->start_ms;
    out->end_ms = job->sched->end_ms;
    out->last_fire_ms = job->last_fire_ms;
}

const hg_assign_t *hg_wjob_tpl(const hg_wjob_t *job)
{
    return &job->tpl->spec;
}

const hg_sched_t *hg_wjob_sched(const hg_wjob_t *job)
{
    return job->sched->sched;
}

const char *hg_wjob_url(const hg_wjob_t *job)
{
    return job->has_url ? job->text + strlen(job->text) + 1 : NULL;
}
