/* cluster_node: the sessions of the worker nodes, as the cluster actor
 * keeps them: a HELLO (in parts or whole) opens one and reconciles what
 * the worker holds with the job table; a node goes (lost to the lease
 * rule, or left), announces its leave, is choked when it stops reading,
 * is drained by an operator and hands its jobs over through the REVOKE
 * handshake, and is forgotten some time after it went.
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "cluster_route.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"

#include <inttypes.h>

/* Nodes the master keeps (live, lost, left). A lost or left node is
 * forgotten nodes.forget_after (S_NODE_FORGET_MS when unset) after it went,
 * from the node list and from the nodes table, its runs kept (one an
 * operator drained is kept: its drain must outlive its absence); at the
 * cap a HELLO from a new name forgets the longest gone first, and is
 * refused when none is. */
#define S_NODES_MAX      4096
#define S_NODE_FORGET_MS (24LL * 3600 * 1000)

/* HELLOs in parts gathered at once, and how long one may take. */
#define S_HELLO_PARTS_MAX    64
#define S_HELLO_PARTS_TTL_MS 60000

/* The node's session ends now (nothing more is sent to it, nothing it
 * says is taken), because it does not read what we send (its queue is
 * full) or because an admin removed its key. Its jobs stay until the
 * usual lease rule moves them: it may still hold a lease from heartbeats
 * echoed before, and an echo still queued for it renews its lease only up
 * to the send time of that heartbeat + lease, which is before our last
 * receipt + lease + margin. s_on_tick (cluster.c) moves them. */
void hg_cluster__node_choke(hg_cluster_t *self, hg_cluster_node_t *node, const char *why)
{
    if (node->choked) return;
    node->choked = true;
    hg_warn("cluster: worker %s %s; its session ends and its %u jobs move once its lease has "
            "run out",
            node->name, why, node->jobs);
}

/* -------------------------------------------------------------- node gone */

/* A node is gone (lost: silent past its lease window; left: it said
 * LEAVE): its jobs go to others at once, its runs in flight are closed. */
void hg_cluster__node_gone(hg_cluster_t *self, hg_cluster_node_t *node, hg_node_state_t state,
                           const char *why)
{
    node->state = state;
    node->leaving = false;
    node->choked = false; /* nothing is owed to it now: let it hear "send HELLO" */
    node->gone_mono_ms = hg_mono_ms();
    node->inflight = 0; /* its entries are closed below */
    size_t moved = 0;
    size_t cur = 0;
    for (hg_jobrec_t *job; (job = hg_jobtab_next(self->jobs, &cur));) {
        if (streq(job->node, node->name)) {
            hg_cluster__job_unassign(self, job);
            moved++;
        }
    }
    node->jobs = 0;
    /* Close the runs it had in flight: they are "lost", not "running". If
     * the worker was only cut off and reports them later, its record
     * replaces this one (same run id). */
    zlist_t *lost = zlist_new();
    for (hg_cluster_inflight_t *f = lost ? zhashx_first(self->inflight) : NULL; f;
         f = zhashx_next(self->inflight))
        if (streq(f->node, node->name)) zlist_append(lost, (void *) zhashx_cursor(self->inflight));
    char cause[512];
    snprintf(cause, sizeof cause, "worker %s %s (%s)", node->name,
             state == HG_NODE_LOST ? "was lost" : "left", why);
    size_t lost_n = lost ? hg_cluster__runs_close_lost(self, node->name, lost, cause) : 0;
    zlist_destroy(&lost);
    hg_log_write(state == HG_NODE_LOST ? HG_LOG_WARN : HG_LOG_INFO,
                 "cluster: worker %s %s (%s); reassigning its %zu jobs, %zu runs in flight "
                 "marked lost",
                 node->name, hg_cluster__node_state_name(state), why, moved, lost_n);
    hg_cluster__store_node(self, node);
    self->placement_due = true;
    hg_cluster__place(self);
}

/* Drop a lost or left node from the table. Jobs and the assignments on
 * their way to the store point at its name: flush those, and make sure no
 * job still points at it (none should: it lost them when it went). */
static void s_node_forget(hg_cluster_t *self, hg_cluster_node_t *node)
{
    hg_cluster__store_flush(self);
    if (node->jobs) {
        size_t cur = 0;
        for (hg_jobrec_t *job; (job = hg_jobtab_next(self->jobs, &cur));)
            if (job->node == node->name) hg_cluster__job_unassign(self, job);
    }
    hg_info("cluster: forgetting worker %s (%s for %lld s)", node->name,
            hg_cluster__node_state_name(node->state),
            (long long) ((hg_mono_ms() - node->gone_mono_ms) / 1000));
    hg_peer_guard_forget(self->guard, node->name);
    hg_cluster__store_forget(self, node->name);
    self->chunk_bytes -= node->chunk_bytes;
    zhashx_delete(self->nodes, node->name);
}

/* The lost or left node gone longest that may be forgotten (an operator's
 * drain is kept), or NULL. */
static hg_cluster_node_t *s_node_oldest_gone(hg_cluster_t *self)
{
    hg_cluster_node_t *oldest = NULL;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        if (!HG_NODE_LIVE(n) && !n->cordoned && n->gone_mono_ms &&
            (!oldest || n->gone_mono_ms < oldest->gone_mono_ms))
            oldest = n;
    return oldest;
}

/* --------------------------------------------------------------- handover */

/* Move the jobs of draining nodes, one REVOKE handshake each: the holder
 * takes the job off its timers and acknowledges with the last scheduled
 * time it fired (hg_cluster__on_revoke_ack); only then is the job placed elsewhere,
 * with that time, so the new holder's misfire policy covers the moments
 * of the handover and nothing fires twice. A job stays (and keeps firing
 * on an operator-drained node) while no other node may take it. A REVOKE
 * unanswered for a lease window is sent again; a holder that dies
 * mid-drain is handled by its lease like any lost worker. */
void hg_cluster__drain(hg_cluster_t *self)
{
    bool any = false;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n && !any; n = zhashx_next(self->nodes))
        any = n->state == HG_NODE_DRAINING && n->jobs > 0;
    if (!any) return;
    int64_t now = hg_mono_ms();
    int64_t resend_after = self->args->lease_ms + self->args->margin_ms;
    size_t cur = 0;
    for (hg_jobrec_t *job; (job = hg_jobtab_next(self->jobs, &cur));) {
        if (!job->node[0]) continue;
        hg_cluster_node_t *holder = zhashx_lookup(self->nodes, job->node);
        if (!holder || holder->state != HG_NODE_DRAINING) continue;
        if (job->revoking) {
            if (now - job->revoke_sent_mono_ms < resend_after) continue;
            hg_warn("cluster: %s has not acknowledged the REVOKE of job %s; sending it again",
                    holder->name, hg_jobrec_name(job));
        } else if (!hg_cluster__pick_node(self, job)) {
            continue; /* nowhere to go yet */
        } else if (hg_cluster__overlap_busy(self, job, holder)) {
            continue; /* its overlap policy: it moves once its runs there have ended */
        }
        job->revoking = true;
        job->revoke_sent_mono_ms = now;
        hg_cluster__send_revoke(self, holder->name, job->id, job->epoch);
    }
}

/* A worker's acknowledgement of a REVOKE. Only the one for the handover
 * under way (same holder, same epoch) moves the job; acknowledgements of
 * other revokes (pause, delete, reconciliation) need nothing more. */
void hg_cluster__on_revoke_ack(hg_cluster_t *self, const char *name, hg_revoke_t *ack)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, ack->job_id);
    if (!job || !job->revoking || !streq(job->node, name) || ack->epoch != job->epoch) {
        hg_debug("cluster: REVOKE acknowledgement of job %" PRIu64 " epoch %" PRIu64
                 " from %s needs nothing",
                 ack->job_id, ack->epoch, name);
        return;
    }
    if (ack->last_fire_ms > job->last_fire_ms) job->last_fire_ms = ack->last_fire_ms;
    char last[40] = "never";
    if (job->last_fire_ms) hg_time_format_ms(job->last_fire_ms, last, sizeof last);
    hg_cluster__job_unassign(self, job);
    hg_cluster__store_assign(self, job);
    hg_cluster__place(self);
    hg_info("cluster: job %s handed over by %s (last scheduled fire %s) to %s", hg_jobrec_name(job),
            name, last, job->node[0] ? job->node : "(nobody yet)");
}

/* A worker announced a graceful leave (SIGTERM): it fires nothing more;
 * place nothing on it and take its jobs back now, while its runs in
 * flight finish. Its final LEAVE ends the session. */
void hg_cluster__node_leaving(hg_cluster_t *self, hg_cluster_node_t *node)
{
    node->leaving = true;
    node->state = HG_NODE_DRAINING;
    hg_info("cluster: worker %s is leaving; handing its %u jobs over", node->name, node->jobs);
    hg_cluster__store_node(self, node);
    hg_cluster__drain(self);
}

/* Operator request: drain (no new placements, hand every job over) or
 * activate (take placements again). A node that is not live keeps its
 * state; the choice applies when it joins again. 0, HG_ENOTFOUND (unknown
 * node) or HG_EUNAVAIL (activate a node that is leaving). */
int hg_cluster__node_set_drain(hg_cluster_t *self, const char *name, bool drain)
{
    hg_cluster_node_t *node = zhashx_lookup(self->nodes, name);
    if (!node) return HG_ENOTFOUND;
    if (drain) {
        node->cordoned = true;
        if (node->state == HG_NODE_ACTIVE) {
            node->state = HG_NODE_DRAINING;
            hg_info("cluster: draining worker %s: handing its %u jobs over", node->name,
                    node->jobs);
            hg_cluster__store_node(self, node);
        }
        hg_cluster__drain(self);
        return 0;
    }
    if (node->leaving) return HG_EUNAVAIL;
    node->cordoned = false;
    if (node->state == HG_NODE_DRAINING) {
        node->state = HG_NODE_ACTIVE;
        hg_info("cluster: worker %s is active again", node->name);
        hg_cluster__store_node(self, node);
        self->placement_due = true;
        hg_cluster__place(self);
    }
    return 0;
}

/* ------------------------------------------------------------------ HELLO */

/* Held jobs of a HELLO in parts, gathered until the last part. */
typedef struct {
    hg_held_t *held;         /* entries of the parts so far (owned) */
    size_t held_n;           /* entries in held */
    uint32_t parts;          /* parts so far */
    int64_t started_mono_ms; /* its first part; dropped after S_HELLO_PARTS_TTL_MS */
    size_t *total;           /* the cluster's count of held entries in all (borrowed) */
    hg_inflight_run_t *runs; /* runs in flight of the parts so far (owned) */
    size_t runs_n;           /* entries in runs */
} s_hello_parts_t;

/* Held jobs one worker may report in all (a bound on what a HELLO in
 * parts makes us keep; 512 MB). */
#define S_HELLO_HELD_MAX (16u << 20)

/* Held jobs one HELLO may list: no worker holds many more jobs than the
 * master has (a job deleted while it held it is revoked at once), so the
 * bound follows the job table, with room for a small catalogue. All HELLOs
 * in parts under way together may list twice that. */
static size_t s_hello_held_cap(hg_cluster_t *self)
{
    size_t cap = 2 * hg_jobtab_size(self->jobs) + 65536;
    return cap < S_HELLO_HELD_MAX ? cap : S_HELLO_HELD_MAX;
}

void hg_cluster__hello_parts_free(void **item)
{
    s_hello_parts_t *p = *item;
    if (p) {
        if (p->total) *p->total -= p->held_n;
        free(p->held);
        free(p->runs);
        free(p);
        *item = NULL;
    }
}

/* HELLOs in parts that never finished (a peer that stopped half way). */
static void s_hello_parts_expire(hg_cluster_t *self, int64_t now_mono_ms)
{
    zlist_t *old = NULL;
    for (s_hello_parts_t *p = zhashx_first(self->hello_parts); p;
         p = zhashx_next(self->hello_parts))
        if (now_mono_ms - p->started_mono_ms > S_HELLO_PARTS_TTL_MS) {
            if (!old && !(old = zlist_new())) return;
            zlist_append(old, (void *) zhashx_cursor(self->hello_parts));
        }
    for (const char *k = old ? zlist_first(old) : NULL; k; k = zlist_next(old)) {
        hg_warn("cluster: HELLO in parts from %s unfinished after %d s; dropped", k,
                S_HELLO_PARTS_TTL_MS / 1000);
        zhashx_delete(self->hello_parts, k);
    }
    zlist_destroy(&old);
}

/* Gather one part of a HELLO in parts. Returns true when the last part
 * came: h then lists the held jobs of every part; false while parts are
 * to come, or when one is out of order (the worker repeats its HELLO). */
static bool s_hello_gather(hg_cluster_t *self, const char *name, hg_hello_t *h)
{
    s_hello_parts_t *p = zhashx_lookup(self->hello_parts, name);
    if (h->part == 0) {
        zhashx_delete(self->hello_parts, name);
        if (zhashx_size(self->hello_parts) >= S_HELLO_PARTS_MAX) {
            hg_cluster__send_error(self, name, HG_EUNAVAIL,
                                   "too many HELLOs in parts under way; say HELLO again later");
            return false;
        }
        p = calloc(1, sizeof *p);
        if (!p) return false;
        p->started_mono_ms = hg_mono_ms();
        p->total = &self->hello_held_total;
        zhashx_insert(self->hello_parts, name, p);
    } else if (!p || p->parts != h->part) {
        hg_warn("cluster: HELLO part %u from %s does not follow part %u; waiting for the "
                "worker to say HELLO again",
                h->part, name, p ? p->parts - 1 : 0);
        zhashx_delete(self->hello_parts, name);
        return false;
    }
    size_t cap = s_hello_held_cap(self);
    if (p->held_n + h->held_n > cap) {
        hg_error("cluster: worker %s reports more than %zu held jobs; HELLO refused", name, cap);
        hg_cluster__send_error(self, name, HG_ETOOBIG, "HELLO lists too many held jobs");
        zhashx_delete(self->hello_parts, name);
        return false;
    }
    if (self->hello_held_total + h->held_n > 2 * cap) {
        hg_cluster__send_error(self, name, HG_EUNAVAIL,
                               "too many HELLOs in parts under way; say HELLO again later");
        zhashx_delete(self->hello_parts, name);
        return false;
    }
    if (h->held_n) {
        hg_held_t *grown = realloc(p->held, (p->held_n + h->held_n) * sizeof *grown);
        if (!grown) {
            hg_error("cluster: out of memory gathering the HELLO of %s", name);
            zhashx_delete(self->hello_parts, name);
            return false;
        }
        memcpy(grown + p->held_n, h->held, h->held_n * sizeof *grown);
        p->held = grown;
        p->held_n += h->held_n;
        self->hello_held_total += h->held_n;
    }
    if (h->runs_n && !hg_cluster__runlost_gather(&p->runs, &p->runs_n, h, s_hello_held_cap(self))) {
        hg_cluster__send_error(self, name, HG_ETOOBIG, "HELLO lists too many runs in flight");
        zhashx_delete(self->hello_parts, name);
        return false;
    }
    p->parts++;
    if (h->more) return false;
    free(h->runs); /* the message's own, replaced by all parts' */
    h->runs = p->runs;
    h->runs_n = p->runs_n;
    p->runs = NULL;
    p->runs_n = 0;
    free(h->held); /* the message's own, replaced by all parts' */
    h->held = p->held;
    h->held_n = p->held_n;
    p->held = NULL;
    self->hello_held_total -= p->held_n;
    p->held_n = 0;
    zhashx_delete(self->hello_parts, name);
    return true;
}

/* A HELLO may open a session for its node on this connection unless the
 * node has a live session with another key (hg_conn_may_take). */
static bool s_hello_conn_ok(hg_cluster_t *self, const char *name)
{
    hg_cluster_node_t *node = zhashx_lookup(self->nodes, name);
    if (node && node->removed.id_n && hg_conn_same(&node->removed, &self->cur)) {
        /* The handshake was admitted before the key was removed; a new
         * connection with that key would be refused by the ZAP handler. */
        hg_peer_guard_refused(self->guard, name, HG_PEER_NO_SESSION, "HELLO", 0,
                              "its key was removed", hg_mono_ms());
        return false;
    }
    if (!node || hg_conn_may_take(&node->conn, HG_NODE_LIVE(node), &self->cur)) return true;
    hg_warn("cluster: node %s has a live session with another key; HELLO on a second "
            "connection refused",
            name);
    hg_cluster__send_error(self, name, HG_EEXIST, "node has a live session with another key");
    return false;
}

/* The node's session moves to the connection of its accepted HELLO. */
static void s_node_take_conn(hg_cluster_t *self, hg_cluster_node_t *node)
{
    if (self->by_conn) {
        if (node->conn.id_n) hg_conn_names_forget(self->by_conn, &node->conn);
        hg_conn_names_put(self->by_conn, &self->cur, node->name);
    }
    node->conn = self->cur;
}

/* The node a HELLO from name opens a session for: known, or new (at the
 * cap, in place of the node gone longest). NULL when refused (answered)
 * or out of memory. */
static hg_cluster_node_t *s_hello_node(hg_cluster_t *self, const char *name)
{
    hg_cluster_node_t *node = zhashx_lookup(self->nodes, name);
    if (!node && zhashx_size(self->nodes) >= S_NODES_MAX) {
        hg_cluster_node_t *oldest = s_node_oldest_gone(self);
        if (!oldest) {
            hg_error("cluster: HELLO from %s refused: the master knows %d workers already", name,
                     S_NODES_MAX);
            hg_cluster__send_error(self, name, HG_ETOOBIG, "the master knows too many workers");
            return NULL;
        }
        s_node_forget(self, oldest);
    }
    if (!node) {
        node = calloc(1, sizeof *node);
        if (!node) return NULL;
        snprintf(node->name, sizeof node->name, "%s", name);
        zhashx_insert(self->nodes, name, node);
    }
    return node;
}

/* A new session for node on this connection, as its HELLO h describes it. */
static void s_node_open(hg_cluster_t *self, hg_cluster_node_t *node, const hg_hello_t *h)
{
    node->choked = false;
    node->gone_mono_ms = 0;
    s_node_take_conn(self, node);
    /* A new session: whatever leave it announced is over; a drain an
     * operator asked for stays until they activate the node. */
    node->leaving = false;
    node->state = node->cordoned ? HG_NODE_DRAINING : HG_NODE_ACTIVE;
    node->capacity = h->capacity;
    snprintf(node->version, sizeof node->version, "%s", h->version ? h->version : "");
    json_decref(node->labels);
    node->labels = json_object();
    for (size_t i = 0; i < h->labels_n; i++)
        json_object_set_new(node->labels, h->labels[i].key, json_string(h->labels[i].value));
    node->last_hb_mono_ms = hg_mono_ms();
    node->last_hb_wall_ms = hg_now_ms();
    node->hb_read_ms = 0; /* a new session: no gap to measure yet */
    node->unacked = h->unacked;
    node->held = (uint32_t) h->held_n;
    hg_assign_pace_reset(&node->pace);
}

/* Reconcile what the worker says it holds with our table: keep what is
 * still ours to give (adopting it after a master restart), revoke the
 * rest. REVOKEs go out before WELCOME; the worker handles them before its
 * next lease extension. Kept jobs are marked for s_hello_resend. */
static void s_hello_reconcile(hg_cluster_t *self, hg_cluster_node_t *node, const hg_hello_t *h,
                              size_t *adopted, size_t *revoked)
{
    const char *name = node->name;
    for (size_t i = 0; i < h->held_n; i++) {
        hg_held_t *hj = &h->held[i];
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, hj->job_id);
        if (!job) job = hg_cluster__route_adopt(self, hj->job_id, node); /* broadcast slot */
        bool keep = false;
        if (job) {
            if (streq(job->node, name)) {
                keep = hj->epoch == job->epoch;
            } else if (!job->node[0]) {
                keep = hg_cluster__node_allowed(self, job, node);
                if (keep) {
                    job->node = node->name;
                    node->jobs++;
                    (*adopted)++;
                }
            }
        }
        if (keep) {
            if (hj->epoch > job->epoch) job->epoch = hj->epoch;
            if (hj->last_fire_ms > job->last_fire_ms) job->last_fire_ms = hj->last_fire_ms;
            job->kept = true; /* cleared by s_hello_resend: job->node is this node */
            job->current = hj->version == job->version && hj->epoch == job->epoch;
        } else {
            hg_cluster__send_revoke(self, name, hj->job_id, hj->epoch);
            (*revoked)++;
        }
    }
}

static void s_send_welcome(hg_cluster_t *self, const char *name)
{
    hg_msg_t welcome = {.type = HG_MSG_WELCOME};
    welcome.u.welcome.master = (char *) self->args->master_name;
    welcome.u.welcome.master_epoch = self->master_epoch;
    welcome.u.welcome.heartbeat_ms = (uint32_t) self->args->heartbeat_ms;
    welcome.u.welcome.lease_ms = (uint32_t) self->args->lease_ms;
    hg_cluster__send_to(self, name, &welcome);
}

/* Re-send every assignment of this node: the spec may have changed while
 * it was away, and a restarted worker holds nothing. node->jobs counts
 * them (adoptions included): when it is 0 there is nothing to find, and
 * the walk over every job is skipped (a worker repeats HELLO while a
 * master loading a million jobs cannot answer yet). Returns how many were
 * left to be placed again. */
static size_t s_hello_resend(hg_cluster_t *self, hg_cluster_node_t *node)
{
    const char *name = node->name;
    bool any = node->jobs > 0;
    node->jobs = 0;
    size_t cur = 0, sent = 0, deferred = 0;
    for (hg_jobrec_t *job; any && (job = hg_jobtab_next(self->jobs, &cur));) {
        if (streq(job->node, name)) {
            /* Sends never wait (hg_cluster__send_to), so at most a window
             * of ASSIGNs go now, as placement does; a job the worker does
             * not hold beyond that is placed again, as the worker catches
             * up. */
            if (!job->kept && sent >= node->pace.window) {
                hg_peer_guard_moved(self->guard, name, job->id);
                job->node = "";
                job->revoking = false;
                if (job->fresh) self->fresh_waiting = true;
                hg_cluster__store_assign(self, job);
                deferred++;
                continue;
            }
            if (!job->current) sent++;
            if (!job->kept) job->epoch++;
            /* A worker that says it holds this version under this epoch
             * has the spec: after a master restart a million ASSIGNs
             * would only repeat what it holds. */
            if (!job->current)
                hg_cluster__send_assign(self, job);
            else /* the count of runs elsewhere it may hold from before */
                hg_cluster__overlap_resync(self, job);
            job->kept = job->current = false;
            job->revoking = false; /* a draining node is asked again, under this epoch */
            node->jobs++;
            hg_cluster__store_assign(self, job);
            hg_cluster__send_recoveries(self, job); /* lost runs of a job it adopted */
        }
    }
    return deferred;
}

void hg_cluster__on_hello(hg_cluster_t *self, const char *name, hg_msg_t *msg)
{
    hg_hello_t *h = &msg->u.hello;
    if (!streq(h->node, name)) {
        hg_warn("cluster: HELLO names node %s but the connection's key is registered for "
                "node %s; refused",
                h->node, name);
        hg_cluster__send_error(self, name, HG_EINVAL,
                               "HELLO node name is not the node of this key");
        return;
    }
    if (!s_hello_conn_ok(self, name)) return;
    if ((h->part > 0 || h->more) && !s_hello_gather(self, name, h)) return;
    hg_cluster_node_t *node = s_hello_node(self, name);
    if (!node) return;
    bool was_active = HG_NODE_LIVE(node) && node->last_hb_mono_ms > 0;
    s_node_open(self, node, h);
    hg_cluster__runlost_hello(self, node, h); /* which runs in flight it still has */
    size_t adopted = 0, revoked = 0;
    s_hello_reconcile(self, node, h, &adopted, &revoked);
    s_send_welcome(self, name);
    size_t deferred = s_hello_resend(self, node);
    hg_info("cluster: worker %s %s%s (capacity %u, holds %zu, adopted %zu, revoked %zu, "
            "unacked %u, re-placed %zu)",
            name, was_active ? "re-joined" : "joined", node->cordoned ? " as draining" : "",
            node->capacity, h->held_n, adopted, revoked, h->unacked, deferred);
    hg_cluster__store_node(self, node);
    self->placement_due = true;
    hg_cluster__place(self);
}

/* What node sessions made us keep, past its time: HELLOs in parts never
 * finished, and one node gone for longer than S_NODE_FORGET_MS (a forget
 * may walk the job table, so one per tick). */
void hg_cluster__nodes_expire(hg_cluster_t *self, int64_t now_mono_ms)
{
    s_hello_parts_expire(self, now_mono_ms);
    hg_cluster_node_t *oldest = s_node_oldest_gone(self);
    int64_t after =
        self->args->forget_after_ms > 0 ? self->args->forget_after_ms : S_NODE_FORGET_MS;
    if (oldest && now_mono_ms - oldest->gone_mono_ms > after) s_node_forget(self, oldest);
}
