/* jobtab: the cluster actor's compact table of active jobs (see jobtab.h).
 *
 * Why not zhashx keyed by the id's text: with a million jobs its item
 * (40 bytes), the key copy (32) and a full hg_assign_t per job (248, plus
 * a dozen small strings) came to some 700 bytes a job. Here a job is one
 * allocation of about 100 bytes plus its name and URL, and one 8-byte slot
 * in a table kept at most 3/4 full; what jobs have in common is kept once
 * per distinct value, in a template. */
#include "jobtab.h"

#include "hg_error.h"
#include "hg_oatab.h"

#include <stdlib.h>
#include <string.h>

struct hg_jobtab {
    hg_oatab_t jobs; /* hg_jobrec_t *, by id */
    hg_oatab_t tpls; /* hg_jobtpl_t *, by key */
};

static size_t s_job_hash(const void *e)
{
    return hg_oatab_hash_id(((const hg_jobrec_t *) e)->id);
}

static size_t s_tpl_hash(const void *e)
{
    return ((const hg_jobtpl_t *) e)->hash;
}

/* ------------------------------------------------------------ templates */

/* Canonical bytes of a template's fields: their wire encoding with the
 * per-job fields empty, then the pinned nodes (or, for a job with
 * routing, the whole executor object). Two jobs share a template exactly
 * when these are equal. */
static int s_tpl_key(const hg_assign_t *shared, json_t *pins, uint8_t **key, size_t *len)
{
    hg_msg_t msg = {.type = HG_MSG_ASSIGN};
    msg.u.assign = *shared;
    msg.u.assign.name = ""; /* required on the wire; the job's own */
    if (shared->http.method) msg.u.assign.http.url = "";
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = hg_msg_encode(&msg, &buf, &n);
    if (rc != 0) return rc;
    char *p = pins ? json_dumps(pins, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    size_t plen = p ? strlen(p) : 0;
    /* An exact copy: the encoder's buffer has room to spare (8 KB at
     * least), and a catalogue of distinct templates keeps one each. */
    uint8_t *exact = malloc(n + (plen ? 1 + plen : 0));
    if (exact) {
        memcpy(exact, buf, n);
        if (plen) {
            exact[n] = 0;
            memcpy(exact + n + 1, p, plen);
            n += 1 + plen;
        }
    }
    free(buf);
    free(p);
    if (!exact) return HG_ENOMEM;
    *key = exact;
    *len = n;
    return 0;
}

static hg_jobtpl_t *s_tpl_find(hg_jobtab_t *self, const uint8_t *key, size_t len, size_t hash)
{
    hg_oatab_t *t = &self->tpls;
    if (!t->cap) return NULL;
    for (size_t j = hash & (t->cap - 1);; j = (j + 1) & (t->cap - 1)) {
        hg_jobtpl_t *e = t->slots[j];
        if (!e) return NULL;
        if (e != HG_OATAB_TOMB && e->hash == hash && e->key_len == len &&
            memcmp(e->key, key, len) == 0)
            return e;
    }
}

static void s_tpl_release(hg_jobtab_t *self, hg_jobtpl_t *tpl)
{
    if (!tpl || --tpl->refs > 0) return;
    hg_oatab_t *t = &self->tpls;
    for (size_t j = tpl->hash & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
        if (t->slots[j] == tpl) {
            t->slots[j] = HG_OATAB_TOMB;
            t->live--;
            break;
        }
    }
    hg_assign_clear(&tpl->spec);
    json_decref(tpl->pins);
    hg_route_destroy(&tpl->route);
    free(tpl->key);
    free(tpl);
}

/* The template for shared (whose members it takes) and pins, with one
 * more reference; NULL when out of memory or the fields cannot be
 * encoded (shared is cleared either way). */
static hg_jobtpl_t *s_tpl_intern(hg_jobtab_t *self, hg_assign_t *shared, json_t *pins, int *err)
{
    /* An executor object: its nodes are the pins, the rest is routing. */
    hg_route_t *route = NULL;
    json_t *executor = NULL;
    if (json_is_object(pins)) {
        route = hg_route_new(pins, err);
        if (*err != 0) {
            hg_assign_clear(shared);
            return NULL;
        }
        executor = route ? pins : NULL;
        pins = json_object_get(pins, "nodes");
    }
    if (json_array_size(pins) == 0) pins = NULL;
    uint8_t *key = NULL;
    size_t len = 0;
    *err = s_tpl_key(shared, executor ? executor : pins, &key, &len);
    if (*err != 0) hg_route_destroy(&route);
    if (*err != 0) {
        hg_assign_clear(shared);
        return NULL;
    }
    *err = HG_ENOMEM; /* the only failure from here on */
    size_t hash = hg_oatab_hash_bytes(key, len);
    hg_jobtpl_t *tpl = s_tpl_find(self, key, len, hash);
    if (tpl) {
        free(key);
        hg_assign_clear(shared);
        hg_route_destroy(&route);
        tpl->refs++;
        return tpl;
    }
    tpl = calloc(1, sizeof *tpl);
    if (!tpl || hg_oatab_reserve(&self->tpls, s_tpl_hash) != 0) {
        free(tpl);
        free(key);
        hg_route_destroy(&route);
        hg_assign_clear(shared);
        return NULL;
    }
    tpl->spec = *shared;
    memset(shared, 0, sizeof *shared);
    tpl->pins = pins ? json_deep_copy(pins) : NULL;
    tpl->route = route;
    tpl->refs = 1;
    tpl->hash = hash;
    tpl->key = key;
    tpl->key_len = len;
    hg_oatab_t *t = &self->tpls;
    size_t j = hash & (t->cap - 1);
    while (t->slots[j] && t->slots[j] != HG_OATAB_TOMB)
        j = (j + 1) & (t->cap - 1);
    if (!t->slots[j]) t->used++;
    t->slots[j] = tpl;
    t->live++;
    return tpl;
}

/* -------------------------------------------------------------- records */

hg_jobtab_t *hg_jobtab_new(void)
{
    return calloc(1, sizeof(hg_jobtab_t));
}

void hg_jobtab_free(hg_jobtab_t *self, hg_jobrec_t **rec)
{
    if (!rec || !*rec) return;
    s_tpl_release(self, (*rec)->tpl);
    free((*rec)->recoveries);
    free(*rec);
    *rec = NULL;
}

void hg_jobtab_destroy(hg_jobtab_t **self)
{
    if (!self || !*self) return;
    hg_jobtab_t *t = *self;
    for (size_t i = 0; i < t->jobs.cap; i++) {
        hg_jobrec_t *rec = t->jobs.slots[i];
        if (rec && rec != HG_OATAB_TOMB) hg_jobtab_free(t, &rec);
    }
    free(t->jobs.slots);
    free(t->tpls.slots); /* every template went with its last job */
    free(t);
    *self = NULL;
}

/* Bytes of rec's text after the name: URL and parameters. */
static size_t s_tail_len(const hg_jobrec_t *rec)
{
    const char *start = rec->text + strlen(rec->text) + 1, *p = start;
    for (size_t i = (rec->has_url ? 1 : 0) + 2u * rec->params_n; i > 0; i--)
        p += strlen(p) + 1;
    return (size_t) (p - start);
}

/* A record with id, name and the given tail (URL and parameters, laid
 * out as in text) and no template yet. */
static hg_jobrec_t *s_rec_new(uint64_t id, const char *name, const char *tail, size_t tail_len)
{
    size_t nlen = strlen(name) + 1;
    hg_jobrec_t *rec = calloc(1, sizeof *rec + nlen + tail_len);
    if (!rec) return NULL;
    rec->id = id;
    rec->node = "";
    memcpy(rec->text, name, nlen);
    if (tail_len) memcpy(rec->text + nlen, tail, tail_len);
    return rec;
}

/* A record with id, name, URL (may be NULL) and parameters and no
 * template yet; NULL when out of memory or with more parameters than the
 * wire carries. */
static hg_jobrec_t *s_rec_make(uint64_t id, const char *name, const char *url,
                               const hg_kv_t *params, size_t params_n)
{
    if (params_n > HG_PROTO_MAX_ITEMS) return NULL;
    /* The tail: URL, then each parameter's key and value. */
    size_t tail_len = url ? strlen(url) + 1 : 0;
    for (size_t i = 0; i < params_n; i++)
        tail_len += strlen(params[i].key) + strlen(params[i].value) + 2;
    char *tail = tail_len ? malloc(tail_len) : NULL;
    if (tail_len && !tail) return NULL;
    char *p = tail;
    if (url) p = stpcpy(p, url) + 1;
    for (size_t i = 0; i < params_n; i++) {
        p = stpcpy(p, params[i].key) + 1;
        p = stpcpy(p, params[i].value) + 1;
    }
    hg_jobrec_t *rec = s_rec_new(id, name ? name : "", tail, tail_len);
    free(tail);
    if (rec) {
        rec->has_url = url != NULL;
        rec->params_n = (uint16_t) params_n;
    }
    return rec;
}

hg_jobrec_t *hg_jobtab_make(hg_jobtab_t *self, hg_assign_t *spec, json_t *pins, int *err)
{
    int rc = spec->params_n > HG_PROTO_MAX_ITEMS ? HG_ETOOBIG : HG_ENOMEM;
    if (!err) err = &rc;
    *err = rc;
    hg_jobrec_t *rec =
        s_rec_make(spec->job_id, spec->name, spec->http.url, spec->params, spec->params_n);
    if (!rec) {
        hg_assign_clear(spec);
        return NULL;
    }
    rec->version = spec->version;
    rec->start_ms = spec->start_ms;
    rec->end_ms = spec->end_ms;
    rec->last_fire_ms = spec->last_fire_ms;
    /* What is left is the shared part. */
    free(spec->name);
    free(spec->http.url);
    spec->name = spec->http.url = NULL;
    for (size_t i = 0; i < spec->params_n; i++) {
        free(spec->params[i].key);
        free(spec->params[i].value);
    }
    free(spec->params);
    spec->params = NULL;
    spec->params_n = 0;
    spec->job_id = spec->version = spec->epoch = 0;
    spec->start_ms = spec->end_ms = spec->last_fire_ms = 0;
    rec->tpl = s_tpl_intern(self, spec, pins, err);
    if (!rec->tpl) {
        free(rec);
        return NULL;
    }
    *err = 0;
    return rec;
}

hg_jobrec_t *hg_jobtab_make_shaped(hg_jobtab_t *self, const hg_jobrec_t *like, uint64_t id,
                                   const char *name, const char *url, const hg_kv_t *params,
                                   size_t params_n)
{
    (void) self;
    hg_jobrec_t *rec = s_rec_make(id, name, url, params, params_n);
    if (!rec) return NULL;
    rec->tpl = like->tpl;
    rec->tpl->refs++;
    return rec;
}

hg_jobrec_t *hg_jobtab_make_like(hg_jobtab_t *self, const hg_jobrec_t *like, uint64_t id,
                                 const char *name)
{
    (void) self;
    hg_jobrec_t *rec = s_rec_new(id, name, like->text + strlen(like->text) + 1, s_tail_len(like));
    if (!rec) return NULL;
    rec->has_url = like->has_url;
    rec->params_n = like->params_n;
    rec->tpl = like->tpl;
    rec->tpl->refs++;
    return rec;
}

int hg_jobtab_put(hg_jobtab_t *self, hg_jobrec_t *rec, hg_jobrec_t **old)
{
    if (old) *old = NULL;
    hg_oatab_t *t = &self->jobs;
    if (hg_oatab_reserve(t, s_job_hash) != 0) return HG_ENOMEM;
    size_t free_slot = SIZE_MAX;
    size_t j = hg_oatab_hash_id(rec->id) & (t->cap - 1);
    for (;; j = (j + 1) & (t->cap - 1)) {
        hg_jobrec_t *e = t->slots[j];
        if (!e) break;
        if (e == HG_OATAB_TOMB) {
            if (free_slot == SIZE_MAX) free_slot = j;
            continue;
        }
        if (e->id == rec->id) {
            t->slots[j] = rec;
            if (old)
                *old = e;
            else
                hg_jobtab_free(self, &e);
            return 0;
        }
    }
    if (free_slot == SIZE_MAX) {
        free_slot = j;
        t->used++;
    }
    t->slots[free_slot] = rec;
    t->live++;
    return 0;
}

hg_jobrec_t *hg_jobtab_find(hg_jobtab_t *self, uint64_t id)
{
    hg_oatab_t *t = &self->jobs;
    if (!t->cap) return NULL;
    for (size_t j = hg_oatab_hash_id(id) & (t->cap - 1);; j = (j + 1) & (t->cap - 1)) {
        hg_jobrec_t *e = t->slots[j];
        if (!e) return NULL;
        if (e != HG_OATAB_TOMB && e->id == id) return e;
    }
}

void hg_jobtab_remove(hg_jobtab_t *self, uint64_t id)
{
    hg_oatab_t *t = &self->jobs;
    if (!t->cap) return;
    for (size_t j = hg_oatab_hash_id(id) & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
        hg_jobrec_t *e = t->slots[j];
        if (e != HG_OATAB_TOMB && e->id == id) {
            t->slots[j] = HG_OATAB_TOMB;
            t->live--;
            hg_jobtab_free(self, &e);
            return;
        }
    }
}

size_t hg_jobtab_size(hg_jobtab_t *self)
{
    return self->jobs.live;
}

hg_jobrec_t *hg_jobtab_next(hg_jobtab_t *self, size_t *cursor)
{
    return hg_oatab_next(&self->jobs, cursor);
}

hg_jobrec_t *hg_jobtab_at(hg_jobtab_t *self, size_t i)
{
    hg_jobrec_t *e = i < self->jobs.cap ? self->jobs.slots[i] : NULL;
    return e == HG_OATAB_TOMB ? NULL : e;
}

size_t hg_jobtab_slots(hg_jobtab_t *self)
{
    return self->jobs.cap;
}

hg_jobtpl_t *hg_jobtab_tpl_next(hg_jobtab_t *self, size_t *cursor)
{
    return hg_oatab_next(&self->tpls, cursor);
}

size_t hg_jobtab_tpl_count(hg_jobtab_t *self)
{
    return self->tpls.live;
}

const char *hg_jobrec_url(const hg_jobrec_t *rec)
{
    return rec->has_url ? rec->text + strlen(rec->text) + 1 : NULL;
}

void hg_jobrec_spec(const hg_jobrec_t *rec, hg_assign_t *out, hg_kv_t *kv)
{
    *out = rec->tpl->spec;
    out->job_id = rec->id;
    out->version = rec->version;
    out->name = (char *) rec->text;
    out->http.url = (char *) hg_jobrec_url(rec);
    out->start_ms = rec->start_ms;
    out->end_ms = rec->end_ms;
    out->epoch = rec->epoch;
    out->last_fire_ms = rec->last_fire_ms;
    out->params = rec->params_n ? kv : NULL;
    out->params_n = rec->params_n;
    char *p = (char *) rec->text + strlen(rec->text) + 1;
    if (rec->has_url) p += strlen(p) + 1;
    for (size_t i = 0; i < rec->params_n; i++) {
        kv[i].key = p;
        p += strlen(p) + 1;
        kv[i].value = p;
        p += strlen(p) + 1;
    }
}
