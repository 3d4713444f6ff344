/* routing: label selectors, routing strategies' hash ring and slot ids
 * (see routing.h). No cluster state here: the cluster actor's side is
 * cluster_route.c. */
#include "routing.h"

#include "hg_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_strategies[] = {"least_loaded", "round_robin", "random", "consistent_hash"};
static const char *s_modes[] = {"single", "broadcast"};

const char *hg_route_strategy_name(hg_route_strategy_t s)
{
    return (unsigned) s < 4 ? s_strategies[s] : "least_loaded";
}

const char *hg_route_mode_name(hg_route_mode_t m)
{
    return m == HG_ROUTE_BROADCAST ? "broadcast" : m == HG_ROUTE_SHARDS ? "shards" : "single";
}

/* ------------------------------------------------------------ validation */

typedef struct {
    char *field;
    size_t field_size;
    char *reason;
    size_t reason_size;
} s_err_t;

__attribute__((format(printf, 3, 4))) static int s_fail(s_err_t *e, const char *field,
                                                        const char *fmt, ...)
{
    if (e->field && e->field_size) snprintf(e->field, e->field_size, "%s", field);
    if (e->reason && e->reason_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->reason, e->reason_size, fmt, ap);
        va_end(ap);
    }
    return HG_EINVAL;
}

/* A label key or value: 1..HG_ROUTE_LABEL_MAX bytes, printable, none of
 * the characters the CLI form uses as syntax (so that every selector can
 * be written in it and read back the same). */
static bool s_label_text_ok(const char *s, size_t n, bool is_key)
{
    if (n == 0 || n > HG_ROUTE_LABEL_MAX || strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c <= ' ' || c == 0x7f || c == ',' || c == '=') return false;
        if (is_key && c == '!') return false;
    }
    return true;
}

static int s_validate_term(s_err_t *e, const char *key, json_t *val, json_t *out)
{
    char field[256];
    snprintf(field, sizeof field, "executor.labels.%.200s", key);
    if (!s_label_text_ok(key, strlen(key), true))
        return s_fail(e, "executor.labels",
                      "label keys must be 1-%d printable characters without spaces, ',', '=' "
                      "or '!'",
                      HG_ROUTE_LABEL_MAX);
    if (json_is_string(val)) {
        if (!s_label_text_ok(json_string_value(val), json_string_length(val), false))
            return s_fail(e, field, "must be 1-%d printable characters without spaces, ',' or '='",
                          HG_ROUTE_LABEL_MAX);
        json_object_set(out, key, val);
        return 0;
    }
    if (!json_is_object(val) || json_object_size(val) != 1)
        return s_fail(e, field,
                      "must be a string (equals), {\"not\": value} or {\"exists\": true|false}");
    json_t *not = json_object_get(val, "not"), *exists = json_object_get(val, "exists");
    if (not ) {
        if (!json_is_string(not ) ||
            !s_label_text_ok(json_string_value(not ), json_string_length(not ), false))
            return s_fail(e, field, "\"not\" must be a label value (1-%d printable characters)",
                          HG_ROUTE_LABEL_MAX);
        json_object_set_new(out, key, json_pack("{s:O}", "not", not ));
        return 0;
    }
    if (exists) {
        if (!json_is_boolean(exists)) return s_fail(e, field, "\"exists\" must be true or false");
        json_object_set_new(out, key, json_pack("{s:b}", "exists", json_is_true(exists)));
        return 0;
    }
    return s_fail(e, field, "must be a string (equals), {\"not\": value} or {\"exists\": bool}");
}

static int s_validate_labels(s_err_t *e, json_t *labels, json_t *out)
{
    if (!labels || json_is_null(labels)) return 0;
    if (!json_is_object(labels))
        return s_fail(e, "executor.labels", "must be an object of label key -> selector");
    if (json_object_size(labels) > HG_ROUTE_LABELS_MAX)
        return s_fail(e, "executor.labels", "at most %d labels", HG_ROUTE_LABELS_MAX);
    if (json_object_size(labels) == 0) return 0;
    json_t *sel = json_object();
    const char *key;
    json_t *val;
    json_object_foreach(labels, key, val)
    {
        int rc = s_validate_term(e, key, val, sel);
        if (rc) {
            json_decref(sel);
            return rc;
        }
    }
    json_object_set_new(out, "labels", sel);
    return 0;
}

/* The index of text in names (n of them), or -1. */
static int s_lookup(const char *text, const char **names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(text, names[i]) == 0) return i;
    return -1;
}

int hg_route_validate(json_t *executor, json_t *out, char *field, size_t field_size, char *reason,
                      size_t reason_size)
{
    s_err_t e = {field, field_size, reason, reason_size};
    if (!json_is_object(executor)) return 0;
    int rc = s_validate_labels(&e, json_object_get(executor, "labels"), out);
    if (rc) return rc;

    int strategy = HG_ROUTE_LEAST_LOADED;
    json_t *v = json_object_get(executor, "strategy");
    if (v && !json_is_null(v)) {
        strategy = json_is_string(v) ? s_lookup(json_string_value(v), s_strategies, 4) : -1;
        if (strategy < 0)
            return s_fail(&e, "executor.strategy",
                          "must be one of least_loaded, round_robin, random, consistent_hash");
    }
    int mode = HG_ROUTE_SINGLE;
    v = json_object_get(executor, "mode");
    if (v && !json_is_null(v)) {
        mode = json_is_string(v) ? s_lookup(json_string_value(v), s_modes, 2) : -1;
        if (mode < 0) return s_fail(&e, "executor.mode", "must be \"single\" or \"broadcast\"");
    }
    json_int_t shards = 1;
    v = json_object_get(executor, "shards");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > HG_ROUTE_SHARDS_MAX)
            return s_fail(&e, "executor.shards", "must be an integer from 1 to %d",
                          HG_ROUTE_SHARDS_MAX);
        shards = json_integer_value(v);
    }
    if (mode == HG_ROUTE_BROADCAST && shards > 1)
        return s_fail(&e, "executor.shards",
                      "cannot be combined with mode \"broadcast\" (one or the other)");
    if (mode == HG_ROUTE_BROADCAST && strategy != HG_ROUTE_LEAST_LOADED)
        return s_fail(&e, "executor.strategy",
                      "does not apply to mode \"broadcast\": every matching node runs the job");
    if (strategy != HG_ROUTE_LEAST_LOADED)
        json_object_set_new(out, "strategy", json_string(s_strategies[strategy]));
    if (mode != HG_ROUTE_SINGLE) json_object_set_new(out, "mode", json_string(s_modes[mode]));
    if (shards > 1) json_object_set_new(out, "shards", json_integer(shards));
    return 0;
}

/* -------------------------------------------------------------- the route */

void hg_route_destroy(hg_route_t **route)
{
    if (!route || !*route) return;
    for (size_t i = 0; i < (*route)->terms_n; i++) {
        free((*route)->terms[i].key);
        free((*route)->terms[i].value);
    }
    free((*route)->terms);
    free(*route);
    *route = NULL;
}

static int s_term_from(hg_sel_term_t *t, const char *key, json_t *val)
{
    t->key = strdup(key);
    if (json_is_string(val)) {
        t->op = HG_SEL_EQ;
        t->value = strdup(json_string_value(val));
    } else if (json_is_string(json_object_get(val, "not"))) {
        t->op = HG_SEL_NE;
        t->value = strdup(json_string_value(json_object_get(val, "not")));
    } else {
        t->op = json_is_true(json_object_get(val, "exists")) ? HG_SEL_EXISTS : HG_SEL_ABSENT;
        return t->key ? 0 : HG_ENOMEM;
    }
    return t->key && t->value ? 0 : HG_ENOMEM;
}

hg_route_t *hg_route_new(json_t *executor, int *err)
{
    if (err) *err = 0;
    json_t *labels = json_object_get(executor, "labels");
    const char *strategy = json_string_value(json_object_get(executor, "strategy"));
    const char *mode = json_string_value(json_object_get(executor, "mode"));
    json_int_t shards = json_integer_value(json_object_get(executor, "shards"));
    size_t terms_n = json_is_object(labels) ? json_object_size(labels) : 0;
    int si = strategy ? s_lookup(strategy, s_strategies, 4) : 0;
    bool bcast = mode && strcmp(mode, "broadcast") == 0;
    if (terms_n == 0 && si <= 0 && !bcast && shards <= 1) return NULL;
    hg_route_t *r = calloc(1, sizeof *r);
    if (r && terms_n) r->terms = calloc(terms_n, sizeof *r->terms);
    if (!r || (terms_n && !r->terms)) goto oom;
    r->strategy = si > 0 ? (hg_route_strategy_t) si : HG_ROUTE_LEAST_LOADED;
    r->mode = bcast ? HG_ROUTE_BROADCAST : shards > 1 ? HG_ROUTE_SHARDS : HG_ROUTE_SINGLE;
    r->shards = !bcast && shards > 1 ? (uint32_t) shards : 1;
    const char *key;
    json_t *val;
    json_object_foreach(labels, key, val)
    {
        if (s_term_from(&r->terms[r->terms_n++], key, val) != 0) goto oom;
    }
    return r;
oom:
    hg_route_destroy(&r);
    if (err) *err = HG_ENOMEM;
    return NULL;
}

bool hg_route_matches(const hg_route_t *route, json_t *labels)
{
    if (!route) return true;
    for (size_t i = 0; i < route->terms_n; i++) {
        const hg_sel_term_t *t = &route->terms[i];
        const char *have = json_string_value(json_object_get(labels, t->key));
        bool ok;
        switch (t->op) {
        case HG_SEL_EQ:
            ok = have && strcmp(have, t->value) == 0;
            break;
        case HG_SEL_NE:
            ok = !have || strcmp(have, t->value) != 0;
            break;
        case HG_SEL_EXISTS:
            ok = have != NULL;
            break;
        default:
            ok = have == NULL;
            break;
        }
        if (!ok) return false;
    }
    return true;
}

void hg_route_selector_text(const hg_route_t *route, char *buf, size_t size)
{
    if (!size) return;
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; route && i < route->terms_n && used < size; i++) {
        const hg_sel_term_t *t = &route->terms[i];
        const char *sep = i ? "," : "";
        int n = t->op == HG_SEL_EQ
                    ? snprintf(buf + used, size - used, "%s%s=%s", sep, t->key, t->value)
                : t->op == HG_SEL_NE
                    ? snprintf(buf + used, size - used, "%s%s!=%s", sep, t->key, t->value)
                : t->op == HG_SEL_EXISTS ? snprintf(buf + used, size - used, "%s%s", sep, t->key)
                                         : snprintf(buf + used, size - used, "%s!%s", sep, t->key);
        if (n < 0) break;
        used += (size_t) n;
    }
}

/* --------------------------------------------------------------- slot ids */

#define S_ID_MASK    ((UINT64_C(1) << HG_ROUTE_ID_BITS) - 1)
#define S_INDEX_BITS 12
#define S_TOTAL_BITS 11

uint64_t hg_route_vid(uint64_t job_id, uint32_t index, uint32_t total)
{
    return (UINT64_C(1) << 63) |
           ((uint64_t) (total & ((1u << S_TOTAL_BITS) - 1)) << (HG_ROUTE_ID_BITS + S_INDEX_BITS)) |
           ((uint64_t) (index & ((1u << S_INDEX_BITS) - 1)) << HG_ROUTE_ID_BITS) |
           (job_id & S_ID_MASK);
}

uint64_t hg_route_vid_split(uint64_t id, uint32_t *index, uint32_t *total)
{
    if (!hg_route_is_vid(id)) {
        if (index) *index = 0;
        if (total) *total = 0;
        return id;
    }
    if (index) *index = (uint32_t) (id >> HG_ROUTE_ID_BITS) & ((1u << S_INDEX_BITS) - 1);
    if (total)
        *total = (uint32_t) (id >> (HG_ROUTE_ID_BITS + S_INDEX_BITS)) & ((1u << S_TOTAL_BITS) - 1);
    return id & S_ID_MASK;
}

uint64_t hg_route_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    /* FNV alone clusters similar short strings ("w1", "w2"): mix it
     * (splitmix64's finalizer) so ring points spread evenly. */
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}

uint32_t hg_route_bcast_index(const char *node, const bool *taken)
{
    uint32_t i = (uint32_t) (hg_route_hash(node, strlen(node)) % HG_ROUTE_BCAST_SLOTS);
    for (uint32_t k = 0; taken && taken[i] && k < HG_ROUTE_BCAST_SLOTS; k++)
        i = (i + 1) % HG_ROUTE_BCAST_SLOTS;
    return i;
}

/* --------------------------------------------------------------- the ring */

typedef struct {
    uint64_t hash; /* position on the ring */
    uint32_t node; /* index in names */
} s_point_t;

struct hg_ring {
    char **names;      /* node names (owned) */
    size_t names_n;    /* nodes */
    s_point_t *points; /* sorted by hash */
    size_t points_n;   /* names_n * HG_RING_VNODES */
};

hg_ring_t *hg_ring_new(void)
{
    return calloc(1, sizeof(hg_ring_t));
}

static void s_ring_clear(hg_ring_t *ring)
{
    for (size_t i = 0; i < ring->names_n; i++)
        free(ring->names[i]);
    free(ring->names);
    free(ring->points);
    ring->names = NULL;
    ring->points = NULL;
    ring->names_n = ring->points_n = 0;
}

void hg_ring_destroy(hg_ring_t **ring)
{
    if (!ring || !*ring) return;
    s_ring_clear(*ring);
    free(*ring);
    *ring = NULL;
}

static int s_point_cmp(const void *a, const void *b)
{
    const s_point_t *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

int hg_ring_build(hg_ring_t *ring, const char *const *names, size_t n)
{
    s_ring_clear(ring);
    if (n == 0) return 0;
    ring->names = calloc(n, sizeof *ring->names);
    ring->points = calloc(n * HG_RING_VNODES, sizeof *ring->points);
    if (!ring->names || !ring->points) {
        s_ring_clear(ring);
        return HG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        ring->names[i] = strdup(names[i]);
        if (!ring->names[i]) {
            ring->names_n = i;
            s_ring_clear(ring);
            return HG_ENOMEM;
        }
        ring->names_n = i + 1;
        /* A point's position depends only on its node's name and number,
         * never on the other nodes: that is what keeps keys in place. */
        for (uint32_t v = 0; v < HG_RING_VNODES; v++) {
            char key[256];
            int len = snprintf(key, sizeof key, "%s#%u", names[i], v);
            s_point_t *p = &ring->points[ring->points_n++];
            p->hash = hg_route_hash(key, len > 0 && (size_t) len < sizeof key ? (size_t) len : 0);
            p->node = (uint32_t) i;
        }
    }
    qsort(ring->points, ring->points_n, sizeof *ring->points, s_point_cmp);
    return 0;
}

size_t hg_ring_size(const hg_ring_t *ring)
{
    return ring ? ring->names_n : 0;
}

const char *hg_ring_pick(const hg_ring_t *ring, uint64_t key,
                         bool (*accept)(void *arg, const char *name), void *arg)
{
    if (!ring || !ring->points_n) return NULL;
    uint64_t h = hg_route_hash(&key, sizeof key);
    size_t lo = 0, hi = ring->points_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring->points[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* A refused node is asked once, however many of its points follow. */
    unsigned char asked[512] = {0}; /* bit per node: 1 asked, 2 refused */
    for (size_t k = 0; k < ring->points_n; k++) {
        const s_point_t *p = &ring->points[(lo + k) % ring->points_n];
        const char *name = ring->names[p->node];
        if (!accept) return name;
        if (p->node < sizeof asked) {
            if (asked[p->node] == 2) continue;
            if (accept(arg, name)) return name;
            asked[p->node] = 2;
        } else if (accept(arg, name)) {
            return name;
        }
    }
    return NULL;
}
