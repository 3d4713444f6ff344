/* cluster_route: routing inside the cluster actor (see cluster_route.h
 * and routing.h). */
#include "cluster_route.h"

#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"
#include "routing.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A broadcast or sharded job: its parent record and its slots. */
typedef struct {
    hg_jobrec_t *parent; /* the job as given; not in the job table (owned) */
    uint64_t *vid;       /* ids of its slots in the job table (hg_route_vid) */
    char **node;         /* broadcast: node of each slot (owned); shards: NULL each */
    size_t n;            /* slots */
    size_t cap;          /* room in vid and node */
} s_fanout_t;

struct hg_cluster_route {
    zhashx_t *fanout;    /* job id text -> s_fanout_t */
    hg_ring_t *ring;     /* every known node, for consistent_hash */
    uint64_t ring_sig;   /* signature of the node names on the ring */
    uint64_t active_sig; /* signature of the active nodes at the last rebalance */
    bool moving;         /* consistent_hash handovers under way (resent when unanswered) */
    uint64_t rr;         /* round_robin: placements made so far */
};

/* ------------------------------------------------------------ the state */

static void s_key(uint64_t id, char key[24])
{
    snprintf(key, 24, "%" PRIu64, id);
}

struct hg_cluster_route *hg_cluster__route_new(void)
{
    struct hg_cluster_route *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fanout = zhashx_new();
    r->ring = hg_ring_new();
    if (!r->fanout || !r->ring) {
        zhashx_destroy(&r->fanout);
        hg_ring_destroy(&r->ring);
        free(r);
        return NULL;
    }
    return r;
}

static void s_fanout_free(hg_cluster_t *self, s_fanout_t **fp)
{
    s_fanout_t *f = *fp;
    if (!f) return;
    hg_jobtab_free(self->jobs, &f->parent);
    for (size_t i = 0; i < f->n; i++)
        free(f->node[i]);
    free(f->node);
    free(f->vid);
    free(f);
    *fp = NULL;
}

void hg_cluster__route_destroy(hg_cluster_t *self)
{
    struct hg_cluster_route *r = self->route;
    if (!r) return;
    for (s_fanout_t *f = zhashx_first(r->fanout); f; f = zhashx_next(r->fanout))
        s_fanout_free(self, &f);
    zhashx_destroy(&r->fanout);
    hg_ring_destroy(&r->ring);
    free(r);
    self->route = NULL;
}

static s_fanout_t *s_fanout_find(hg_cluster_t *self, uint64_t job_id)
{
    if (!self->route || zhashx_size(self->route->fanout) == 0) return NULL;
    char key[24];
    s_key(job_id, key);
    return zhashx_lookup(self->route->fanout, key);
}

/* ------------------------------------------------------ matching nodes */

static bool s_pins_allow(const hg_jobtpl_t *tpl, const char *name)
{
    if (!tpl->pins || json_array_size(tpl->pins) == 0) return true;
    size_t i;
    json_t *v;
    json_array_foreach(tpl->pins, i, v)
    {
        if (json_is_string(v) && streq(json_string_value(v), name)) return true;
    }
    return false;
}

bool hg_cluster__route_allows(hg_cluster_t *self, hg_jobrec_t *job, hg_cluster_node_t *node)
{
    const hg_route_t *route = job->tpl->route;
    if (route && route->terms_n && !hg_route_matches(route, node->labels)) return false;
    uint32_t total;
    uint64_t id = hg_route_vid_split(job->id, NULL, &total);
    if (!hg_route_is_vid(job->id) || total != 0) return true;
    /* A broadcast slot runs on its own node only. */
    s_fanout_t *f = s_fanout_find(self, id);
    for (size_t i = 0; f && i < f->n; i++)
        if (f->vid[i] == job->id) return f->node[i] && streq(f->node[i], node->name);
    return false;
}

/* A node that may take the job now: active, talking, allowed, with room. */
static bool s_eligible(hg_cluster_t *self, hg_jobrec_t *job, hg_cluster_node_t *n)
{
    return n && n->state == HG_NODE_ACTIVE && !n->choked && hg_cluster__node_has_room(n) &&
           hg_cluster__node_allowed(self, job, n);
}

typedef struct {
    hg_cluster_t *self;
    hg_jobrec_t *job;
} s_accept_ctx_t;

static bool s_ring_accept(void *arg, const char *name)
{
    s_accept_ctx_t *ctx = arg;
    return s_eligible(ctx->self, ctx->job, zhashx_lookup(ctx->self->nodes, name));
}

/* A signature of a set of names (order-free). */
static uint64_t s_sig_add(uint64_t sig, const char *name)
{
    return sig + hg_route_hash(name, strlen(name));
}

static int s_node_cmp(const void *a, const void *b)
{
    const hg_cluster_node_t *x = *(const hg_cluster_node_t *const *) a;
    const hg_cluster_node_t *y = *(const hg_cluster_node_t *const *) b;
    return strcmp(x->name, y->name);
}

/* The ring holds every node in the table (live or not: a key's owner is
 * the first *eligible* node clockwise, so a node that goes and comes
 * back gets its own keys back). Rebuilt when the names change. */
static void s_ring_refresh(hg_cluster_t *self)
{
    struct hg_cluster_route *r = self->route;
    uint64_t sig = zhashx_size(self->nodes);
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        sig = s_sig_add(sig, n->name);
    if (sig == r->ring_sig && hg_ring_size(r->ring) == zhashx_size(self->nodes)) return;
    size_t count = zhashx_size(self->nodes), k = 0;
    const char **names = calloc(count ? count : 1, sizeof *names);
    if (!names) return;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        names[k++] = n->name;
    if (hg_ring_build(r->ring, names, k) == 0) r->ring_sig = sig;
    free(names);
}

hg_cluster_node_t *hg_cluster__route_pick(hg_cluster_t *self, hg_jobrec_t *job)
{
    struct hg_cluster_route *r = self->route;
    const hg_route_t *route = job->tpl->route;
    if (!r || !route) return NULL;
    if (route->strategy == HG_ROUTE_CONSISTENT_HASH) {
        s_ring_refresh(self);
        s_accept_ctx_t ctx = {self, job};
        const char *name = hg_ring_pick(r->ring, job->id, s_ring_accept, &ctx);
        return name ? zhashx_lookup(self->nodes, name) : NULL;
    }
    /* round_robin and random choose among the eligible nodes in name
     * order, so that the choice does not depend on the hash table's. */
    size_t count = zhashx_size(self->nodes), k = 0;
    hg_cluster_node_t **cand = calloc(count ? count : 1, sizeof *cand);
    if (!cand) return NULL;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        if (s_eligible(self, job, n)) cand[k++] = n;
    hg_cluster_node_t *pick = NULL;
    if (k) {
        qsort(cand, k, sizeof *cand, s_node_cmp);
        pick = route->strategy == HG_ROUTE_RANDOM ? cand[randombytes_uniform((uint32_t) k)]
                                                  : cand[r->rr++ % k];
    }
    free(cand);
    return pick;
}

/* ---------------------------------------------------------------- slots */

/* Make or update slot vid of f and settle it (assign, re-assign). */
static void s_slot_put(hg_cluster_t *self, s_fanout_t *f, uint64_t vid)
{
    hg_jobrec_t *p = f->parent;
    hg_jobrec_t *rec = hg_jobtab_make_like(self->jobs, p, vid, hg_jobrec_name(p));
    if (!rec) {
        hg_error("cluster: job %s: out of memory; a slot was not made", hg_jobrec_name(p));
        return;
    }
    rec->version = p->version;
    rec->start_ms = p->start_ms;
    rec->end_ms = p->end_ms;
    rec->last_fire_ms = p->last_fire_ms;
    rec->fresh = p->fresh;
    hg_jobrec_t *job = hg_cluster__job_put(self, rec);
    if (job) hg_cluster__job_settle(self, job);
}

static int s_slot_add(s_fanout_t *f, uint64_t vid, const char *node)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        uint64_t *v = realloc(f->vid, cap * sizeof *v);
        if (!v) return HG_ENOMEM;
        f->vid = v;
        char **nd = realloc(f->node, cap * sizeof *nd);
        if (!nd) return HG_ENOMEM;
        f->node = nd;
        f->cap = cap;
    }
    f->node[f->n] = node ? strdup(node) : NULL;
    if (node && !f->node[f->n]) return HG_ENOMEM;
    f->vid[f->n++] = vid;
    return 0;
}

/* Drop slot i of f: revoked from its holder, out of the table. */
static void s_slot_drop(hg_cluster_t *self, s_fanout_t *f, size_t i)
{
    hg_cluster__job_remove(self, f->vid[i]);
    free(f->node[i]);
    f->node[i] = f->node[f->n - 1];
    f->vid[i] = f->vid[f->n - 1];
    f->n--;
}

/* Does node match the parent's pins and labels (a broadcast slot's
 * candidate)? */
static bool s_bcast_match(s_fanout_t *f, hg_cluster_node_t *n)
{
    const hg_route_t *route = f->parent->tpl->route;
    return s_pins_allow(f->parent->tpl, n->name) &&
           (!route || !route->terms_n || hg_route_matches(route, n->labels));
}

/* Broadcast: one slot per matching active node. A slot whose node is gone
 * (lost, left, forgotten) or no longer matches is dropped; a draining
 * node keeps its slot until it is gone. Returns whether anything
 * changed. */
static bool s_bcast_sync(hg_cluster_t *self, s_fanout_t *f)
{
    bool changed = false;
    for (size_t i = f->n; i-- > 0;) {
        hg_cluster_node_t *n = f->node[i] ? zhashx_lookup(self->nodes, f->node[i]) : NULL;
        if (!n || !HG_NODE_LIVE(n) || !s_bcast_match(f, n)) {
            s_slot_drop(self, f, i);
            changed = true;
        }
    }
    size_t count = zhashx_size(self->nodes), k = 0;
    hg_cluster_node_t **add = calloc(count ? count : 1, sizeof *add);
    if (!add) return changed;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes)) {
        if (n->state != HG_NODE_ACTIVE || n->choked || !s_bcast_match(f, n)) continue;
        bool have = false;
        for (size_t i = 0; i < f->n && !have; i++)
            have = f->node[i] && streq(f->node[i], n->name);
        if (!have) add[k++] = n;
    }
    for (size_t j = 0; j < k && f->n < HG_ROUTE_BCAST_SLOTS; j++) {
        bool *taken = calloc(HG_ROUTE_BCAST_SLOTS, sizeof *taken);
        if (!taken) break;
        for (size_t i = 0; i < f->n; i++) {
            uint32_t index;
            hg_route_vid_split(f->vid[i], &index, NULL);
            taken[index] = true;
        }
        uint64_t vid = hg_route_vid(f->parent->id, hg_route_bcast_index(add[j]->name, taken), 0);
        free(taken);
        if (s_slot_add(f, vid, add[j]->name) != 0) break;
        s_slot_put(self, f, vid);
        changed = true;
    }
    free(add);
    return changed;
}

hg_jobrec_t *hg_cluster__route_adopt(hg_cluster_t *self, uint64_t vid, hg_cluster_node_t *node)
{
    uint32_t total;
    uint64_t id = hg_route_vid_split(vid, NULL, &total);
    if (!hg_route_is_vid(vid) || total != 0) return NULL;
    s_fanout_t *f = s_fanout_find(self, id);
    if (!f || f->parent->tpl->route->mode != HG_ROUTE_BROADCAST || !s_bcast_match(f, node))
        return NULL;
    for (size_t i = 0; i < f->n; i++)
        if (f->vid[i] == vid || (f->node[i] && streq(f->node[i], node->name))) return NULL;
    if (s_slot_add(f, vid, node->name) != 0) return NULL;
    hg_jobrec_t *rec = hg_jobtab_make_like(self->jobs, f->parent, vid, hg_jobrec_name(f->parent));
    if (!rec) {
        free(f->node[--f->n]);
        return NULL;
    }
    rec->version = f->parent->version;
    rec->start_ms = f->parent->start_ms;
    rec->end_ms = f->parent->end_ms;
    rec->last_fire_ms = f->parent->last_fire_ms;
    return hg_cluster__job_put(self, rec);
}

/* Make f's slots agree with its parent: shards 0..N-1 (others dropped),
 * or the broadcast nodes; every slot gets the parent's new spec. */
static void s_fanout_apply(hg_cluster_t *self, s_fanout_t *f)
{
    const hg_route_t *route = f->parent->tpl->route;
    uint64_t id = f->parent->id;
    if (route->mode == HG_ROUTE_SHARDS) {
        /* Slots of another mode or another shard count have other ids. */
        for (size_t i = f->n; i-- > 0;) {
            uint32_t index, total;
            hg_route_vid_split(f->vid[i], &index, &total);
            if (total != route->shards) s_slot_drop(self, f, i);
        }
        for (uint32_t s = 0; s < route->shards; s++) {
            uint64_t vid = hg_route_vid(id, s, route->shards);
            bool have = false;
            for (size_t i = 0; i < f->n && !have; i++)
                have = f->vid[i] == vid;
            if (!have && s_slot_add(f, vid, NULL) != 0) break;
            s_slot_put(self, f, vid);
        }
        return;
    }
    for (size_t i = f->n; i-- > 0;)
        if (!f->node[i]) s_slot_drop(self, f, i); /* was sharded */
    for (size_t i = 0; i < f->n; i++)
        s_slot_put(self, f, f->vid[i]);
    s_bcast_sync(self, f);
}

bool hg_cluster__route_take(hg_cluster_t *self, hg_jobrec_t **recp, int *rc)
{
    hg_jobrec_t *rec = *recp;
    const hg_route_t *route = rec->tpl->route;
    bool fan = route && route->mode != HG_ROUTE_SINGLE && !hg_route_is_vid(rec->id);
    s_fanout_t *f = s_fanout_find(self, rec->id);
    if (!fan) {
        if (f) hg_cluster__route_remove(self, rec->id); /* was broadcast or sharded */
        return false;
    }
    *rc = 0;
    if (!self->route) {
        *rc = HG_ENOMEM;
        hg_jobtab_free(self->jobs, recp);
        return true;
    }
    if (!f) {
        hg_cluster__job_remove(self, rec->id); /* it had one holder until now */
        f = calloc(1, sizeof *f);
        char key[24];
        s_key(rec->id, key);
        if (!f || zhashx_insert(self->route->fanout, key, f) != 0) {
            free(f);
            *rc = HG_ENOMEM;
            hg_jobtab_free(self->jobs, recp);
            return true;
        }
    } else {
        if (f->parent->last_fire_ms > rec->last_fire_ms)
            rec->last_fire_ms = f->parent->last_fire_ms;
        hg_jobtab_free(self->jobs, &f->parent);
    }
    f->parent = rec;
    *recp = NULL;
    s_fanout_apply(self, f);
    if (!self->loading) hg_cluster__place(self);
    return true;
}

void hg_cluster__route_remove(hg_cluster_t *self, uint64_t job_id)
{
    if (hg_route_is_vid(job_id)) return;
    s_fanout_t *f = s_fanout_find(self, job_id);
    if (!f) return;
    while (f->n)
        s_slot_drop(self, f, f->n - 1);
    char key[24];
    s_key(job_id, key);
    zhashx_delete(self->route->fanout, key);
    s_fanout_free(self, &f);
}

int hg_cluster__route_slots(hg_cluster_t *self, uint64_t job_id, hg_jobrec_t **out, size_t max)
{
    s_fanout_t *f = s_fanout_find(self, job_id);
    if (!f) return -1;
    size_t k = 0;
    for (size_t i = 0; i < f->n && k < max; i++) {
        hg_jobrec_t *slot = hg_jobtab_find(self->jobs, f->vid[i]);
        if (slot) out[k++] = slot;
    }
    return (int) k;
}

/* ----------------------------------------------------------------- tick */

/* Has lease + margin passed since we started? Until then the workers of a
 * previous master may still report what they hold: nothing moves. */
static bool s_settled(hg_cluster_t *self)
{
    return hg_mono_ms() - self->started_mono_ms >= self->args->lease_ms + self->args->margin_ms;
}

/* Is any job in the table placed by consistent_hash? (Templates are few
 * next to jobs.) */
static bool s_any_consistent(hg_cluster_t *self)
{
    size_t cur = 0;
    for (hg_jobtpl_t *tpl; (tpl = hg_jobtab_tpl_next(self->jobs, &cur));)
        if (tpl->route && tpl->route->strategy == HG_ROUTE_CONSISTENT_HASH) return true;
    return false;
}

/* consistent_hash jobs follow their ring owner: when the set of active
 * nodes changed (a node joined or came back), each job whose owner is now
 * another node is handed over as a drain hands over (REVOKE, then placed
 * with the last fire time the holder acknowledges), so nothing fires
 * twice. Only the jobs whose owner changed move: about 1/n of them. */
static void s_rebalance(hg_cluster_t *self)
{
    struct hg_cluster_route *r = self->route;
    uint64_t sig = 0;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        if (n->state == HG_NODE_ACTIVE && !n->choked) sig = s_sig_add(sig, n->name);
    if (sig == r->active_sig && !r->moving) return;
    /* Before lease + margin the workers of a previous leader may still be
     * reporting what they hold: judge the ring once they have. */
    if (!s_settled(self)) return;
    r->active_sig = sig;
    if (!s_any_consistent(self)) {
        r->moving = false;
        return;
    }
    int64_t now = hg_mono_ms(), window = self->args->lease_ms + self->args->margin_ms;
    size_t moved = 0, pending = 0, cur = 0;
    for (hg_jobrec_t *job; (job = hg_jobtab_next(self->jobs, &cur));) {
        const hg_route_t *route = job->tpl->route;
        if (!route || route->strategy != HG_ROUTE_CONSISTENT_HASH || !job->node[0]) continue;
        hg_cluster_node_t *holder = zhashx_lookup(self->nodes, job->node);
        if (!holder || !HG_NODE_SESSION(holder) || holder->state == HG_NODE_DRAINING) continue;
        if (job->revoking) {
            pending++;
            if (now - job->revoke_sent_mono_ms < window) continue;
        } else {
            hg_cluster_node_t *owner = hg_cluster__route_pick(self, job);
            if (!owner || owner == holder) continue;
            moved++;
            pending++;
        }
        job->revoking = true;
        job->revoke_sent_mono_ms = now;
        hg_cluster__send_revoke(self, holder->name, job->id, job->epoch);
    }
    r->moving = pending > 0;
    if (moved) hg_info("cluster: %zu consistent_hash jobs move to their ring owner", moved);
}

void hg_cluster__route_tick(hg_cluster_t *self)
{
    struct hg_cluster_route *r = self->route;
    if (!r) return;
    if (zhashx_size(r->fanout)) {
        /* The slots change the table while we walk the parents only. */
        for (s_fanout_t *f = zhashx_first(r->fanout); f; f = zhashx_next(r->fanout)) {
            const hg_route_t *route = f->parent->tpl->route;
            if (route->mode == HG_ROUTE_BROADCAST && s_settled(self)) s_bcast_sync(self, f);
        }
    }
    s_rebalance(self);
}

/* ------------------------------------------------------------ placement */

/* Why an unplaced job waits, in words for the operator. */
static void s_reason(hg_cluster_t *self, hg_jobrec_t *job, char *buf, size_t size)
{
    size_t live = 0, pinned = 0, matching = 0, room = 0;
    const hg_route_t *route = job->tpl->route;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes)) {
        if (n->state != HG_NODE_ACTIVE || n->choked) continue;
        live++;
        if (!s_pins_allow(job->tpl, n->name)) continue;
        pinned++;
        if (route && route->terms_n && !hg_route_matches(route, n->labels)) continue;
        matching++;
        room += hg_cluster__node_has_room(n);
    }
    char sel[512];
    hg_route_selector_text(route, sel, sizeof sel);
    if (!live)
        snprintf(buf, size, "no live worker");
    else if (!pinned)
        snprintf(buf, size, "no live worker among executor.nodes");
    else if (!matching)
        snprintf(buf, size, "no live worker matches executor.labels (%s)", sel);
    else if (!s_settled(self) && !job->fresh)
        snprintf(buf, size, "waiting for the workers of the previous leader to report");
    else if (!room)
        snprintf(buf, size, "every matching worker is full; waiting for room");
    else
        snprintf(buf, size, "waiting for placement");
}

static json_t *s_placement_single(hg_cluster_t *self, hg_jobrec_t *job)
{
    json_t *out = json_object();
    if (job->node[0]) {
        json_object_set_new(out, "state", json_string("placed"));
        json_object_set_new(out, "nodes", json_pack("[s]", job->node));
    } else {
        char why[600];
        s_reason(self, job, why, sizeof why);
        json_object_set_new(out, "state", json_string("unplaced"));
        json_object_set_new(out, "reason", json_string(why));
        json_object_set_new(out, "nodes", json_array());
    }
    return out;
}

json_t *hg_cluster__route_placement(hg_cluster_t *self, uint64_t job_id)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, job_id);
    json_t *out = NULL;
    const hg_route_t *route = NULL;
    if (job) {
        out = s_placement_single(self, job);
        route = job->tpl->route;
    } else {
        s_fanout_t *f = s_fanout_find(self, job_id);
        if (!f) return NULL;
        route = f->parent->tpl->route;
        out = json_object();
        json_t *nodes = json_array(), *slots = json_array();
        size_t placed = 0;
        for (size_t i = 0; i < f->n; i++) {
            hg_jobrec_t *slot = hg_jobtab_find(self->jobs, f->vid[i]);
            uint32_t index;
            hg_route_vid_split(f->vid[i], &index, NULL);
            const char *at = slot && slot->node[0] ? slot->node : NULL;
            if (at) {
                placed++;
                json_array_append_new(nodes, json_string(at));
            }
            json_t *one = json_pack("{s:o}", "node", at ? json_string(at) : json_null());
            if (route->mode == HG_ROUTE_SHARDS)
                json_object_set_new(one, "shard", json_integer(index));
            json_array_append_new(slots, one);
        }
        const char *state = placed == 0 ? "unplaced" : placed < f->n ? "partial" : "placed";
        json_object_set_new(out, "state", json_string(state));
        if (placed < f->n || f->n == 0) {
            char why[600];
            s_reason(self, f->parent, why, sizeof why);
            json_object_set_new(out, "reason", json_string(why));
        }
        json_object_set_new(out, "nodes", nodes);
        json_object_set_new(out, "slots", slots);
    }
    if (route) {
        json_object_set_new(out, "strategy", json_string(hg_route_strategy_name(route->strategy)));
        json_object_set_new(out, "mode", json_string(hg_route_mode_name(route->mode)));
        if (route->mode == HG_ROUTE_SHARDS)
            json_object_set_new(out, "shards", json_integer(route->shards));
    }
    return out;
}
