/* peer_guard: the rules for what a worker may say, and the refusal log. */
#include "peer_guard.h"
#include "hg_error.h"
#include "hg_keyhash.h"
#include "hg_log.h"

#include <czmq.h>
#include <ctype.h>
#include <inttypes.h>

/* A set of job ids (never 0): open addressing, linear probing, at most
 * half full. 8 bytes a slot, so 16 bytes a job at worst. */
typedef struct {
    uint64_t *slots; /* 0 = empty */
    size_t cap;      /* slots, a power of two (0 before the first insert) */
    size_t n;        /* ids in the set */
} s_idset_t;

/* What the guard keeps about one node. */
typedef struct {
    s_idset_t moved[2]; /* jobs it held and lost: this generation, the one before */
    bool capped;        /* a move was not remembered for the cap (logged once) */
} s_gnode_t;

/* Refusals from one sender since the first of its current burst. */
typedef struct {
    char name[200];                      /* sender, printable */
    int64_t first_mono_ms;               /* the refusal that opened the burst (logged) */
    int64_t last_mono_ms;                /* latest refusal */
    int64_t reported_mono_ms;            /* when the burst was last summed up */
    uint64_t count;                      /* refusals after the logged one */
    uint64_t by_reason[HG_PEER_REASONS]; /* the same, per reason */
} s_burst_t;

struct hg_peer_guard {
    int64_t lease_ms;                   /* how far ahead a fire time may be */
    zhashx_t *nodes;                    /* node name -> s_gnode_t */
    size_t moved_total;                 /* ids in every node's moved sets */
    int64_t aged_mono_ms;               /* when the moved sets last aged (first tick: start) */
    zhashx_t *bursts;                   /* sender name -> s_burst_t, at most HG_PEER_BURSTS_MAX */
    s_burst_t others;                   /* the burst of senders beyond that cap */
    uint64_t refusals[HG_PEER_REASONS]; /* per reason, since start */
};

static const char *s_reason_text[HG_PEER_REASONS] = {
    "accepted", "no session", "job not held by the sender", "fire time too far ahead", "malformed"};

const char *hg_peer_reason_text(hg_peer_reason_t why)
{
    return why >= 0 && why < HG_PEER_REASONS ? s_reason_text[why] : "unknown reason";
}

/* ------------------------------------------------------------ id sets */

static size_t s_idset_slot(uint64_t id, size_t cap)
{
    return (size_t) hg_keyhash_bytes(&id, sizeof id) & (cap - 1);
}

static bool s_idset_has(const s_idset_t *set, uint64_t id)
{
    if (!set->cap || !id) return false;
    for (size_t i = s_idset_slot(id, set->cap);; i = (i + 1) & (set->cap - 1)) {
        if (set->slots[i] == id) return true;
        if (set->slots[i] == 0) return false;
    }
}

static void s_idset_put_new(s_idset_t *set, uint64_t id)
{
    size_t i = s_idset_slot(id, set->cap);
    while (set->slots[i])
        i = (i + 1) & (set->cap - 1);
    set->slots[i] = id;
    set->n++;
}

/* Add id (not in the set). 0 or HG_ENOMEM. */
static int s_idset_add(s_idset_t *set, uint64_t id)
{
    if ((set->n + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        uint64_t *slots = calloc(cap, sizeof *slots);
        if (!slots) return HG_ENOMEM;
        s_idset_t grown = {slots, cap, 0};
        for (size_t i = 0; i < set->cap; i++)
            if (set->slots[i]) s_idset_put_new(&grown, set->slots[i]);
        free(set->slots);
        *set = grown;
    }
    s_idset_put_new(set, id);
    return 0;
}

/* -------------------------------------------------------------- guard */

static void s_gnode_free(void **item)
{
    s_gnode_t *g = *item;
    if (g) {
        free(g->moved[0].slots);
        free(g->moved[1].slots);
        free(g);
        *item = NULL;
    }
}

static void s_burst_free(void **item)
{
    free(*item);
    *item = NULL;
}

hg_peer_guard_t *hg_peer_guard_new(int64_t lease_ms)
{
    hg_peer_guard_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->lease_ms = lease_ms;
    self->nodes = zhashx_new();
    self->bursts = zhashx_new();
    if (!self->nodes || !self->bursts) {
        hg_peer_guard_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->nodes, s_gnode_free);
    zhashx_set_key_hasher(self->nodes, hg_keyhash_str);
    zhashx_set_destructor(self->bursts, s_burst_free);
    zhashx_set_key_hasher(self->bursts, hg_keyhash_str);
    snprintf(self->others.name, sizeof self->others.name, "(%d and more senders)",
             HG_PEER_BURSTS_MAX);
    return self;
}

void hg_peer_guard_destroy(hg_peer_guard_t **p)
{
    if (!p || !*p) return;
    hg_peer_guard_t *self = *p;
    zhashx_destroy(&self->nodes);
    zhashx_destroy(&self->bursts);
    free(self);
    *p = NULL;
}

int hg_peer_guard_moved(hg_peer_guard_t *self, const char *node, uint64_t job_id)
{
    if (!node || !node[0] || !job_id) return HG_EINVAL;
    s_gnode_t *g = zhashx_lookup(self->nodes, node);
    if (!g) {
        if (!(g = calloc(1, sizeof *g))) return HG_ENOMEM;
        if (zhashx_insert(self->nodes, node, g) != 0) {
            free(g);
            return HG_ENOMEM;
        }
    }
    if (s_idset_has(&g->moved[0], job_id)) return 0;
    size_t n = g->moved[0].n + g->moved[1].n;
    if (n >= HG_PEER_MOVED_NODE_MAX || self->moved_total >= HG_PEER_MOVED_TOTAL_MAX) {
        if (!g->capped)
            hg_warn("cluster: more jobs moved away from %s than the master remembers (%zu); its "
                    "late records of further ones will be refused",
                    node, n);
        g->capped = true;
        return HG_ETOOBIG;
    }
    int rc = s_idset_add(&g->moved[0], job_id);
    if (rc == 0) self->moved_total++;
    return rc;
}

bool hg_peer_guard_held(hg_peer_guard_t *self, const char *node, uint64_t job_id)
{
    s_gnode_t *g = node ? zhashx_lookup(self->nodes, node) : NULL;
    return g && (s_idset_has(&g->moved[0], job_id) || s_idset_has(&g->moved[1], job_id));
}

void hg_peer_guard_forget(hg_peer_guard_t *self, const char *node)
{
    s_gnode_t *g = zhashx_lookup(self->nodes, node);
    if (!g) return;
    self->moved_total -= g->moved[0].n + g->moved[1].n;
    zhashx_delete(self->nodes, node);
}

/* A worker reports the runs of a job it lost within seconds of its next
 * session, or after an outage as long as its records last; a day and more
 * later nothing of it is still to come. So the moved sets age by
 * generations: each HG_PEER_MOVED_GENERATION_MS the older one is dropped,
 * and a move is remembered between one and two generations. */
void hg_peer_guard_age(hg_peer_guard_t *self)
{
    zlist_t *empty = NULL;
    for (s_gnode_t *g = zhashx_first(self->nodes); g; g = zhashx_next(self->nodes)) {
        self->moved_total -= g->moved[1].n;
        free(g->moved[1].slots);
        g->moved[1] = g->moved[0];
        memset(&g->moved[0], 0, sizeof g->moved[0]);
        g->capped = false;
        if (g->moved[1].n == 0) {
            if (!empty) empty = zlist_new();
            if (empty) zlist_append(empty, (void *) zhashx_cursor(self->nodes));
        }
    }
    for (const char *k = empty ? zlist_first(empty) : NULL; k; k = zlist_next(empty))
        zhashx_delete(self->nodes, k);
    zlist_destroy(&empty);
}

hg_peer_reason_t hg_peer_guard_check_run(hg_peer_guard_t *self, const char *node, bool live,
                                         const char *holder, uint64_t job_id, int64_t scheduled_ms,
                                         int64_t now_ms)
{
    if (!live) return HG_PEER_NO_SESSION;
    /* A worker fires only under a lease, and a lease never reaches further
     * ahead than lease_ms: a later fire time was never a real fire. */
    if (scheduled_ms > now_ms + self->lease_ms) return HG_PEER_FUTURE;
    if (holder && holder[0] && streq(holder, node)) return HG_PEER_OK;
    if (hg_peer_guard_held(self, node, job_id)) return HG_PEER_OK;
    return HG_PEER_NOT_HOLDER;
}

/* ------------------------------------------------------- refusal log */

/* A peer chooses its name: keep control characters out of the log. */
static void s_printable(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in && in[i] && i + 1 < size; i++)
        out[i] = isprint((unsigned char) in[i]) ? in[i] : '?';
    out[i] = '\0';
}

static void s_burst_report(s_burst_t *b, int64_t now_mono_ms)
{
    if (b->count == 0) return;
    hg_warn("cluster: %" PRIu64 " records refused from %s over %lld ms (no session %" PRIu64
            ", not held %" PRIu64 ", too far ahead %" PRIu64 ", malformed %" PRIu64 ")",
            b->count, b->name, (long long) (b->last_mono_ms - b->first_mono_ms),
            b->by_reason[HG_PEER_NO_SESSION], b->by_reason[HG_PEER_NOT_HOLDER],
            b->by_reason[HG_PEER_FUTURE], b->by_reason[HG_PEER_MALFORMED]);
    b->count = 0;
    memset(b->by_reason, 0, sizeof b->by_reason);
    b->first_mono_ms = b->last_mono_ms;
    b->reported_mono_ms = now_mono_ms;
}

void hg_peer_guard_refused(hg_peer_guard_t *self, const char *node, hg_peer_reason_t why,
                           const char *what, uint64_t job_id, const char *detail,
                           int64_t now_mono_ms)
{
    if (why <= HG_PEER_OK || why >= HG_PEER_REASONS) return;
    self->refusals[why]++;
    char name[200];
    s_printable(node, name, sizeof name);
    s_burst_t *b = zhashx_lookup(self->bursts, name);
    if (!b && zhashx_size(self->bursts) >= HG_PEER_BURSTS_MAX) b = &self->others;
    if (b && (b != &self->others || b->first_mono_ms)) {
        b->count++;
        b->by_reason[why]++;
        b->last_mono_ms = now_mono_ms;
        return;
    }
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || zhashx_insert(self->bursts, name, b) != 0) {
            free(b);
            return; /* counted, not logged: out of memory */
        }
        snprintf(b->name, sizeof b->name, "%s", name);
    }
    b->first_mono_ms = b->last_mono_ms = b->reported_mono_ms = now_mono_ms;
    char job[40] = "";
    if (job_id) snprintf(job, sizeof job, " for job %" PRIu64, job_id);
    hg_warn("cluster: %s%s from %s refused: %s%s%s; further refusals from it are summed up", what,
            job, b->name, hg_peer_reason_text(why), detail ? ": " : "", detail ? detail : "");
}

void hg_peer_guard_tick(hg_peer_guard_t *self, int64_t now_mono_ms)
{
    if (!self->aged_mono_ms) self->aged_mono_ms = now_mono_ms;
    if (now_mono_ms - self->aged_mono_ms >= HG_PEER_MOVED_GENERATION_MS) {
        hg_peer_guard_age(self);
        self->aged_mono_ms = now_mono_ms;
    }
    zlist_t *ended = NULL;
    for (s_burst_t *b = zhashx_first(self->bursts); b; b = zhashx_next(self->bursts)) {
        bool quiet = now_mono_ms - b->last_mono_ms >= HG_PEER_BURST_QUIET_MS;
        if (quiet || now_mono_ms - b->reported_mono_ms >= HG_PEER_BURST_REPORT_MS)
            s_burst_report(b, now_mono_ms);
        if (quiet) {
            if (!ended) ended = zlist_new();
            if (ended) zlist_append(ended, (void *) zhashx_cursor(self->bursts));
        }
    }
    for (const char *k = ended ? zlist_first(ended) : NULL; k; k = zlist_next(ended))
        zhashx_delete(self->bursts, k);
    zlist_destroy(&ended);
    s_burst_t *o = &self->others;
    if (o->first_mono_ms) {
        bool quiet = now_mono_ms - o->last_mono_ms >= HG_PEER_BURST_QUIET_MS;
        if (quiet || now_mono_ms - o->reported_mono_ms >= HG_PEER_BURST_REPORT_MS)
            s_burst_report(o, now_mono_ms);
        if (quiet) o->first_mono_ms = 0;
    }
}

uint64_t hg_peer_guard_refusals(hg_peer_guard_t *self, hg_peer_reason_t why)
{
    if (why == HG_PEER_OK) {
        uint64_t all = 0;
        for (int i = 1; i < HG_PEER_REASONS; i++)
            all += self->refusals[i];
        return all;
    }
    return why > 0 && why < HG_PEER_REASONS ? self->refusals[why] : 0;
}

size_t hg_peer_guard_moved_count(hg_peer_guard_t *self)
{
    return self->moved_total;
}
