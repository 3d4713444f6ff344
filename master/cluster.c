/* cluster: workers, heartbeats, leases and run-record flow.
 *
 * Lease rule (DESIGN.md section 3): a worker fires only while it holds a
 * lease, which it extends when this actor echoes its heartbeats. This actor
 * reassigns a silent worker's jobs only after lease + margin has passed
 * since it last *received* a heartbeat from it; by then the worker's own
 * lease has run out, whatever the direction of a partition, so two workers
 * never hold a firing lease for the same job at once.
 *
 * This file is the actor itself: who sent a frame and the non-blocking
 * send (first below), heartbeats, run records, the job table, plug-ins,
 * the tick, leading and standing by. Node sessions are in cluster_node.c,
 * placement in cluster_placement.c, the API threads' requests in
 * cluster_api.c; cluster_internal.h holds the state they share. */
#include "cluster.h"
#include "cluster_internal.h"
#include "depfire.h"
#include "cluster_route.h"
#include "actor_loop.h"
#include "alert_engine.h"
#include "conn.h"
#include "hg_error.h"
#include "hg_keyhash.h"
#include "hg_log.h"
#include "hg_proto.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "hg_zsock.h"
#include "job.h"
#include "jobload.h"
#include "jobtab.h"
#include "peer_guard.h"
#include "plugin_serve.h"
#include "plugins.h"
#include "metrics.h"
#include "store.h"
#include "zap.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>

/* Plaintext test mode: connections whose node name we remember. */
#define S_PLAIN_NAMES_MAX 4096

/* Start rows waiting for store.start_write_after, at most (24 bytes
 * each); beyond, a start row is written at once (cluster_startdefer.c). */
#define S_STARTQ_MAX (1u << 20)

/* Plug-in bytes sent to a node that it has not said it read (its
 * heartbeat's echo names the last message it got): a peer that asks for
 * chunks and never reads would otherwise queue 512 KiB a request in the
 * master. Beyond either bound a PLUGIN_GET is not answered; the worker
 * asks again (its fetch resends), by then its heartbeat has confirmed.
 * The bound in chunks per node, HG_CLUSTER_CHUNKS_UNREAD_MAX, is in
 * cluster_internal.h (it sizes hg_cluster_node_t.chunks). */
#define S_CHUNK_UNREAD_BYTES (16u << 20)    /* bytes per node */
#define S_CHUNK_UNREAD_ALL   (128ull << 20) /* bytes, all nodes */

/* Assignments reach the store in batches of up to this many, one
 * message each rather than one per job: placing a million jobs queued a
 * million messages and a 300-byte write each behind the store. A batch
 * names up to HG_CLUSTER_ASSIGN_NAMES nodes: placement gives consecutive
 * jobs to different nodes (the least loaded each time), and a batch of
 * one node's jobs was a batch of one job. */
#define S_ASSIGN_BATCH 4096

/* Workers' messages read per wake-up of the actor, at most, and for at
 * most this long (s_on_router). */
#define S_ROUTER_BATCH    1024
#define S_ROUTER_SLICE_MS 50

static const char *s_node_state_names[] = {"active", "draining", "lost", "left"};

const char *hg_cluster__node_state_name(hg_node_state_t state)
{
    return s_node_state_names[state];
}

/* ------------------------------------- who sent a frame, where answers go */

/* Who sent this frame: the one place that decides which node a message
 * comes from. With CURVE, the node its key is bound to (User-Id, set by
 * the ZAP handler, zap.h); in plaintext test mode, the node of the HELLO
 * accepted on this connection, or for a HELLO the node it names. The
 * routing id the peer chose is never trusted: a peer holding worker-1's
 * key could pick "worker-2". Fills name and self->cur. Returns false when
 * the message must be dropped: a leader answers a message other than
 * HELLO from a connection that is not its node's current session with
 * ERROR ENOTFOUND, which makes a real worker say HELLO again. */
static bool s_frame_sender(hg_cluster_t *self, zframe_t *id, zframe_t *body, const hg_msg_t *msg,
                           char *name, size_t size)
{
    const char *key = !self->by_conn && body ? zframe_meta(body, HG_ZAP_KEY_PROPERTY) : NULL;
    hg_conn_set(&self->cur, id, key);
    const char *who = NULL;
    if (!self->by_conn)
        who = body ? zframe_meta(body, "User-Id") : NULL;
    else if (msg && msg->type == HG_MSG_HELLO)
        who = msg->u.hello.node;
    else
        who = hg_conn_names_get(self->by_conn, &self->cur);
    snprintf(name, size, "%s", who ? who : "");
    self->cur_name = name;
    if (!self->leading || !msg || msg->type == HG_MSG_HELLO) return true;
    hg_cluster_node_t *node = *name ? zhashx_lookup(self->nodes, name) : NULL;
    if (*name && (!node || !node->conn.id_n || hg_conn_same(&node->conn, &self->cur))) return true;
    if (msg->type != HG_MSG_ERROR)
        hg_cluster__send_error(self, name, HG_ENOTFOUND,
                               "no session on this connection; send HELLO");
    return false;
}

/* Where messages for node go: the connection we are answering when it is
 * that node's, else the connection of the node's session. NULL when the
 * node has none. */
static const hg_conn_t *s_conn_of(hg_cluster_t *self, const char *node)
{
    if (self->cur_name && streq(node, self->cur_name)) return &self->cur;
    hg_cluster_node_t *n = zhashx_lookup(self->nodes, node);
    return n && n->conn.id_n ? &n->conn : NULL;
}

/* Every send to a peer is non-blocking: with ROUTER_MANDATORY a blocking
 * send to a peer whose queue is full waits for it, and one peer that never
 * reads would stop this actor and with it every lease. A send that does
 * not fit is dropped: to a node, that ends its session
 * (hg_cluster__node_choke); to a peer that is gone (EHOSTUNREACH) or has
 * no session, it is nothing. */
int hg_cluster__send_to(hg_cluster_t *self, const char *node, hg_msg_t *msg)
{
    hg_cluster_node_t *peer = zhashx_lookup(self->nodes, node);
    if (peer && peer->choked) {
        self->sends_dropped++;
        return -1;
    }
    msg->seq = ++self->seq;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = hg_msg_encode(msg, &buf, &len);
    if (rc != 0) {
        hg_error("cluster: cannot encode %s for %s: %s", hg_msg_type_name(msg->type), node,
                 hg_strerror(rc));
        return -1;
    }
    /* The routing frame is where ROUTER_MANDATORY says EAGAIN or
     * EHOSTUNREACH; once it is taken, the body is queued with it. */
    const hg_conn_t *to = s_conn_of(self, node);
    if (!to) {
        self->sends_dropped++;
        hg_debug("cluster: %s to %s not sent (no connection)", hg_msg_type_name(msg->type), node);
        free(buf);
        return -1;
    }
    void *sock = zsock_resolve(self->router);
    rc = -1;
    if (zmq_send(sock, to->id, to->id_n, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        int err = zmq_errno();
        self->sends_dropped++;
        if (err == EAGAIN && peer && HG_NODE_LIVE(peer))
            hg_cluster__node_choke(self, peer,
                                   "does not read what the master sends (its queue is full)");
        else
            hg_debug("cluster: %s to %s not delivered (%s)", hg_msg_type_name(msg->type), node,
                     zmq_strerror(err));
    } else if (zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0) {
        self->sends_dropped++;
        hg_debug("cluster: %s to %s not delivered (%s)", hg_msg_type_name(msg->type), node,
                 zmq_strerror(zmq_errno()));
    } else {
        rc = 0;
    }
    free(buf);
    return rc;
}

void hg_cluster__send_error(hg_cluster_t *self, const char *node, int code, const char *text)
{
    hg_msg_t msg = {.type = HG_MSG_ERROR};
    msg.u.error.code = code;
    msg.u.error.message = (char *) text;
    hg_cluster__send_to(self, node, &msg);
}

/* The node read everything up to our message read_seq: its plug-in
 * chunks up to there no longer count against it. */
static void s_chunks_read(hg_cluster_t *self, hg_cluster_node_t *node, uint64_t read_seq)
{
    if (read_seq > node->read_seq) node->read_seq = read_seq;
    while (node->chunks_n && node->chunks[node->chunks_head].seq <= node->read_seq) {
        uint64_t b = node->chunks[node->chunks_head].bytes;
        node->chunk_bytes -= b;
        self->chunk_bytes -= b;
        node->chunks_head = (node->chunks_head + 1) % HG_CLUSTER_CHUNKS_UNREAD_MAX;
        node->chunks_n--;
    }
}

/* hg_cluster__send_to as plugin_serve calls it. A chunk with data goes only within
 * the node's unread budget (S_CHUNK_UNREAD_BYTES); else it is not sent,
 * and the worker's fetch asks again. */
static void s_send_to_cb(void *arg, const char *node, hg_msg_t *msg)
{
    hg_cluster_t *self = arg;
    uint64_t bytes = msg->type == HG_MSG_PLUGIN_CHUNK ? msg->u.plugin_chunk.data.len : 0;
    if (!bytes) {
        hg_cluster__send_to(self, node, msg);
        return;
    }
    hg_cluster_node_t *n = zhashx_lookup(self->nodes, node);
    if (!n || n->chunks_n >= HG_CLUSTER_CHUNKS_UNREAD_MAX ||
        n->chunk_bytes + bytes > S_CHUNK_UNREAD_BYTES ||
        self->chunk_bytes + bytes > S_CHUNK_UNREAD_ALL) {
        self->sends_dropped++;
        hg_debug("cluster: plug-in chunk for %s held back: too much sent it has not read", node);
        return;
    }
    if (hg_cluster__send_to(self, node, msg) != 0) return;
    uint32_t at = (n->chunks_head + n->chunks_n) % HG_CLUSTER_CHUNKS_UNREAD_MAX;
    n->chunks[at].seq = msg->seq;
    n->chunks[at].bytes = bytes;
    n->chunks_n++;
    n->chunk_bytes += bytes;
    self->chunk_bytes += bytes;
}

/* ------------------------------------------------------------------ store */

/* Pass the assignments gathered so far to the store. Every other write
 * to the store calls this first, so the store sees writes in the order
 * they were made; the loop handlers call it before they return. */
void hg_cluster__store_flush(hg_cluster_t *self)
{
    if (!self->assigns_n || !self->store) {
        self->assigns_n = self->assign_names_n = 0;
        return;
    }
    /* The names, each ended by a NUL, in the order of their indexes. */
    size_t len = 0;
    for (size_t i = 0; i < self->assign_names_n; i++)
        len += strlen(self->assign_names[i]) + 1;
    zframe_t *names = zframe_new(NULL, len);
    char *p = (char *) zframe_data(names);
    for (size_t i = 0; i < self->assign_names_n; i++) {
        size_t n = strlen(self->assign_names[i]) + 1;
        memcpy(p, self->assign_names[i], n);
        p += n;
    }
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "ASSIGN");
    zmsg_append(m, &names);
    zmsg_addmem(m, self->assigns, self->assigns_n * 3 * sizeof(uint64_t));
    if (zmsg_send(&m, self->store) != 0) zmsg_destroy(&m);
    self->assigns_n = 0;
    self->assign_names_n = 0;
}

void hg_cluster__store_node(hg_cluster_t *self, hg_cluster_node_t *node)
{
    hg_cluster__store_flush(self);
    char *labels = json_dumps(node->labels ? node->labels : json_object(), JSON_COMPACT);
    char cap[16];
    snprintf(cap, sizeof cap, "%u", node->capacity);
    zsock_send(self->store, "ssssss", "NODE", node->name, hg_cluster__node_state_name(node->state),
               labels ? labels : "{}", cap, node->version);
    free(labels);
}

/* The node's row goes, with every row of a node lost or left longer than
 * nodes.forget_after (rows a previous leader left behind); a drained
 * node's row stays. */
void hg_cluster__store_forget(hg_cluster_t *self, const char *name)
{
    hg_cluster__store_flush(self);
    char cutoff[24];
    int64_t after =
        self->args->forget_after_ms > 0 ? self->args->forget_after_ms : 24LL * 3600 * 1000;
    snprintf(cutoff, sizeof cutoff, "%lld", (long long) (hg_now_ms() - after));
    zsock_send(self->store, "sss", "FORGET", name, cutoff);
}

void hg_cluster__store_runs(hg_cluster_t *self, hg_store_batch_t *batch)
{
    hg_cluster__store_flush(self);
    batch->gated = batch->msg ? batch->msg->u.runs.runs_n : 0;
    hg_store_gate_add(&self->gate, batch->gated);
    zsock_send(self->store, "sp", "RUNS", batch);
}

void hg_cluster__store_assign(hg_cluster_t *self, hg_jobrec_t *job)
{
    if (job->node[0]) {
        /* job->node points into the node table, which outlives the batch:
         * one node, one pointer. */
        size_t k = 0;
        while (k < self->assign_names_n && self->assign_names[k] != job->node)
            k++;
        if (self->assigns_n == S_ASSIGN_BATCH || k == HG_CLUSTER_ASSIGN_NAMES) {
            hg_cluster__store_flush(self);
            k = 0;
        }
        if (!self->assigns && !(self->assigns = malloc(S_ASSIGN_BATCH * 3 * sizeof(uint64_t)))) {
            hg_error("cluster: out of memory; assignment of job %" PRIu64 " not recorded", job->id);
            return;
        }
        if (k == self->assign_names_n) self->assign_names[self->assign_names_n++] = job->node;
        self->assigns[3 * self->assigns_n] = k;
        self->assigns[3 * self->assigns_n + 1] = job->id;
        self->assigns[3 * self->assigns_n + 2] = job->epoch;
        self->assigns_n++;
    } else {
        hg_cluster__store_flush(self);
        char id[24];
        snprintf(id, sizeof id, "%" PRIu64, job->id);
        zsock_send(self->store, "ss", "UNASSIGN", id);
    }
}

/* -------------------------------------------------------- jobs to workers */

void hg_cluster__send_assign(hg_cluster_t *self, hg_jobrec_t *job)
{
    hg_msg_t msg = {.type = HG_MSG_ASSIGN};
    hg_kv_t some[16], *kv = job->params_n <= 16 ? some : malloc(job->params_n * sizeof *kv);
    if (!kv) {
        hg_error("cluster: out of memory; job %s not sent to %s", hg_jobrec_name(job), job->node);
        return;
    }
    hg_jobrec_spec(job, &msg.u.assign, kv);
    hg_route_vid_split(job->id, &msg.u.assign.shard_index, &msg.u.assign.shard_total);
    /* Its runs still in flight on the node it left count there (issue 11). */
    msg.u.assign.running = hg_cluster__overlap_assign_count(self, job);
    hg_cluster__send_to(self, job->node, &msg);
    if (kv != some) free(kv);
}

void hg_cluster__send_revoke(hg_cluster_t *self, const char *node, uint64_t job_id, uint64_t epoch)
{
    hg_msg_t msg = {.type = HG_MSG_REVOKE};
    msg.u.revoke.job_id = job_id;
    msg.u.revoke.epoch = epoch;
    hg_cluster__send_to(self, node, &msg);
}

/* Forget where a job is held (the caller has revoked it or its node is
 * gone). */
void hg_cluster__job_unassign(hg_cluster_t *self, hg_jobrec_t *job)
{
    if (!job->node[0]) return;
    hg_cluster_node_t *node = zhashx_lookup(self->nodes, job->node);
    if (node && node->jobs > 0) node->jobs--;
    /* Its late records of this job's runs stay acceptable (peer_guard). */
    hg_peer_guard_moved(self->guard, job->node, job->id);
    job->node = "";
    job->revoking = false;
    self->placement_due = true;
    if (job->fresh) self->fresh_waiting = true;
}

/* -------------------------------------------------------------- job table */

/* A plug-in job that names its plug-in by name (and version) but not by
 * hash gets the hash the store holds for it, so that workers fetch it from
 * us; with none stored it stays without, and workers look in their local
 * plug-in directory. *resolved tells whether the spec's hash is ours to
 * change (false when the job gave it). Returns true when the hash changed. */
static bool s_resolve_plugin(hg_cluster_t *self, hg_assign_t *spec, bool *resolved)
{
    if (!spec->kind || !streq(spec->kind, "plugin") || !spec->plugin.name) return false;
    if (spec->plugin.sha256 && !*resolved) return false;
    const char *sha =
        hg_plugin_index_resolve(self->plugins, spec->plugin.name, spec->plugin.version);
    /* A job that names a version (or a hash) asks for pushed bytes; for one
     * that names neither, the pick is only a fallback for workers without
     * a plug-in of that name (a push must not shadow theirs). */
    spec->plugin.local_first = !(spec->plugin.version && *spec->plugin.version);
    const char *cur = spec->plugin.sha256;
    if ((!sha && !cur) || (sha && cur && streq(sha, cur))) return false;
    char *copy = sha ? strdup(sha) : NULL;
    if (sha && !copy) return false; /* out of memory: keep what it had */
    free(spec->plugin.sha256);
    spec->plugin.sha256 = copy;
    *resolved = copy != NULL;
    return true;
}

/* Put a new record for a job into the table: a job already there passes
 * on what this actor knows of it (holder, epoch, last fire, handover,
 * lost runs) and is freed. Returns the record in the table, or NULL when
 * out of memory (rec is freed). */
hg_jobrec_t *hg_cluster__job_put(hg_cluster_t *self, hg_jobrec_t *rec)
{
    /* The template may be new: give it the stored plug-in's hash. */
    s_resolve_plugin(self, &rec->tpl->spec, &rec->tpl->sha_resolved);
    hg_jobrec_t *old = hg_jobtab_find(self->jobs, rec->id);
    if (old) {
        rec->node = old->node;
        rec->epoch = old->epoch;
        if (old->last_fire_ms > rec->last_fire_ms) rec->last_fire_ms = old->last_fire_ms;
        rec->handed_from_epoch = old->handed_from_epoch;
        rec->handed_last_ms = old->handed_last_ms;
        rec->revoke_sent_mono_ms = old->revoke_sent_mono_ms;
        rec->recoveries = old->recoveries;
        rec->recoveries_n = old->recoveries_n;
        rec->fresh = old->fresh;
        rec->revoking = old->revoking;
        old->recoveries = NULL;
        old->recoveries_n = 0;
    }
    if (hg_jobtab_put(self->jobs, rec, &old) != 0) {
        hg_jobtab_free(self->jobs, &rec);
        return NULL;
    }
    hg_jobtab_free(self->jobs, &old);
    return rec;
}

/* A job record just put into the table: its holder gets the new spec
 * under a new epoch, or loses the job when it may no longer run it; an
 * unassigned job makes placement due. */
void hg_cluster__job_settle(hg_cluster_t *self, hg_jobrec_t *job)
{
    if (job->node[0]) {
        hg_cluster_node_t *node = zhashx_lookup(self->nodes, job->node);
        if (node && HG_NODE_LIVE(node) && hg_cluster__node_allowed(self, job, node)) {
            /* Same holder, new spec: a new epoch replaces the old one.
             * During a handover the epoch must stay the one being
             * revoked; the next holder gets the new spec. */
            if (!job->revoking) {
                job->epoch++;
                hg_cluster__send_assign(self, job);
                hg_cluster__store_assign(self, job);
            }
        } else {
            if (node) hg_cluster__send_revoke(self, job->node, job->id, job->epoch);
            hg_cluster__job_unassign(self, job);
        }
    } else {
        self->placement_due = true;
        if (job->fresh) self->fresh_waiting = true;
    }
}

/* Add or replace a job from its API object. Takes a reference. */
int hg_cluster__job_upsert(hg_cluster_t *self, json_t *json, int64_t last_fire_ms, bool fresh)
{
    json_t *idv = json_object_get(json, "id");
    const char *status = json_string_value(json_object_get(json, "status"));
    if (!json_is_integer(idv) || !status) return HG_EINVAL;
    bool others_due = self->placement_due;
    if (!streq(status, "active")) {
        hg_cluster__job_remove(self, (uint64_t) json_integer_value(idv));
        return 0;
    }
    hg_assign_t spec = {0};
    int rc = hg_job_to_assign(json, &spec);
    if (rc != 0) {
        hg_assign_clear(&spec);
        return rc;
    }
    /* hg_job_to_assign may have set a floor (remaining_runs counts from
     * the edit that set it: job_ext.h); what was fired since wins. */
    if (last_fire_ms > spec.last_fire_ms) spec.last_fire_ms = last_fire_ms;
    hg_jobrec_t *rec = hg_jobtab_make(self->jobs, &spec, hg_job_executor(json), &rc);
    if (!rec) return rc;
    rec->fresh = fresh;
    /* A broadcast or sharded job is held as slots (cluster_route.c). */
    if (hg_cluster__route_take(self, &rec, &rc)) return rc;
    hg_jobrec_t *job = hg_cluster__job_put(self, rec);
    if (!job) return HG_ENOMEM;
    hg_cluster__job_settle(self, job);
    /* At start-up every job is added first and placed once afterwards:
     * placing after each one walks the whole table each time. */
    if (self->loading) return 0;
    if (others_due || job->node[0])
        hg_cluster__place(self);
    else
        hg_cluster__placed_these(self, hg_cluster__place_job(self, job), job->node[0]);
    return 0;
}

void hg_cluster__job_remove(hg_cluster_t *self, uint64_t job_id)
{
    hg_cluster__route_remove(self, job_id); /* its slots, when it has any */
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, job_id);
    if (!job) return;
    if (job->node[0]) hg_cluster__send_revoke(self, job->node, job->id, job->epoch);
    hg_cluster__job_unassign(self, job);
    hg_cluster__store_assign(self, job);
    hg_jobtab_remove(self->jobs, job_id);
}

/* --------------------------------------------- heartbeats and run records */

static void s_on_heartbeat(hg_cluster_t *self, const char *name, hg_msg_t *msg)
{
    hg_cluster_node_t *node = zhashx_lookup(self->nodes, name);
    if (!node || !HG_NODE_SESSION(node)) {
        /* Unknown (we restarted), declared lost or choked: its lease is not
         * renewed until it says HELLO again and we reconcile. */
        hg_cluster__send_error(self, name, HG_ENOTFOUND, "no session for this node; send HELLO");
        return;
    }
    node->last_hb_mono_ms = hg_mono_ms();
    node->last_hb_wall_ms = hg_now_ms();
    /* A worker beats every heartbeat_ms; read much further apart, its
     * beats waited behind its other messages (or it was held itself), and
     * its lease, counted from their departure, may lapse. Said once per
     * 10 s. */
    int64_t gap = node->hb_read_ms ? node->last_hb_mono_ms - node->hb_read_ms : 0;
    node->hb_read_ms = node->last_hb_mono_ms;
    if (gap >= self->args->lease_ms / 2 && node->last_hb_mono_ms - self->gap_logged_ms >= 10000) {
        self->gap_logged_ms = node->last_hb_mono_ms;
        hg_info("cluster: heartbeats of %s read %lld ms apart; its lease may lapse", name,
                (long long) gap);
    }
    s_chunks_read(self, node, msg->u.heartbeat.echo);
    node->running = msg->u.heartbeat.running;
    node->held = msg->u.heartbeat.jobs;
    hg_assign_pace_heartbeat(&node->pace, node->last_hb_mono_ms, node->held,
                             hg_cluster__node_behind(node));
    node->unacked = msg->u.heartbeat.unacked;
    hg_msg_t echo = {.type = HG_MSG_HEARTBEAT};
    echo.u.heartbeat.echo = msg->seq;
    echo.u.heartbeat.jobs = node->jobs;
    hg_cluster__send_to(self, name, &echo);
}

/* Acknowledge refused records at once: the sender must not send them
 * again forever, and nothing of them is stored. */
static void s_ack_refused(hg_cluster_t *self, const char *name,
                          uint8_t (*ids)[HG_PROTO_RUN_ID_SIZE], size_t n)
{
    if (!n) return;
    hg_msg_t ack = {.type = HG_MSG_ACK};
    ack.u.ack.run_ids_n = n;
    ack.u.ack.run_ids = ids;
    hg_cluster__send_to(self, name, &ack);
}

/* Keep in runs only the records the guard accepts; the refused ones are
 * cleared, counted and (RUN_FINISHED) their ids put in refused. Returns
 * how many were refused. */
static size_t s_runs_filter(hg_cluster_t *self, const char *name, hg_msg_t *msg,
                            uint8_t (*refused)[HG_PROTO_RUN_ID_SIZE])
{
    hg_runs_t *runs = &msg->u.runs;
    int64_t now = hg_now_ms(), mono = hg_mono_ms();
    size_t kept = 0, n_refused = 0;
    for (size_t i = 0; i < runs->runs_n; i++) {
        hg_run_t *r = &runs->runs[i];
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, r->job_id);
        hg_peer_reason_t why = hg_peer_guard_check_run(
            self->guard, name, true, job ? job->node : NULL, r->job_id, r->scheduled_ms, now);
        if (why == HG_PEER_OK) {
            /* A run in flight belongs to the node and job that started it:
             * another may not close it (its id is no secret). */
            hg_cluster_inflight_t *f =
                zhashx_size(self->inflight) ? zhashx_lookup(self->inflight, r->run_id) : NULL;
            if (f && (!streq(f->node, name) || f->job_id != r->job_id)) why = HG_PEER_NOT_HOLDER;
        }
        if (why != HG_PEER_OK) {
            hg_peer_guard_refused(self->guard, name, why, hg_msg_type_name(msg->type), r->job_id,
                                  NULL, mono);
            if (msg->type == HG_MSG_RUN_FINISHED)
                memcpy(refused[n_refused], r->run_id, HG_PROTO_RUN_ID_SIZE);
            n_refused++;
            hg_run_clear(r);
            continue;
        }
        if (kept != i) {
            runs->runs[kept] = *r;
            memset(r, 0, sizeof *r);
        }
        kept++;
    }
    runs->runs_n = kept;
    return n_refused;
}

static void s_on_runs(hg_cluster_t *self, const char *name, hg_msg_t **msgp)
{
    hg_msg_t *msg = *msgp;
    hg_cluster_node_t *node = zhashx_lookup(self->nodes, name);
    hg_runs_t *runs = &msg->u.runs;
    if (!node || !HG_NODE_SESSION(node)) {
        /* Nothing is taken and nothing acknowledged: a real worker whose
         * session ended (lost, choked, master restarted) says HELLO again
         * and sends its records inside the new session. */
        for (size_t i = 0; i < runs->runs_n; i++)
            hg_peer_guard_refused(self->guard, name, HG_PEER_NO_SESSION,
                                  hg_msg_type_name(msg->type), runs->runs[i].job_id, NULL,
                                  hg_mono_ms());
        hg_cluster__send_error(self, name, HG_ENOTFOUND, "no session for this node; send HELLO");
        return;
    }
    node->last_hb_mono_ms = hg_mono_ms();
    bool gate_open =
        hg_store_gate_open(&self->gate, msg->type == HG_MSG_RUN_FINISHED, node->last_hb_mono_ms);
    if (!gate_open && msg->type == HG_MSG_RUN_FINISHED) {
        /* Back-pressure: not taken, not acknowledged; the worker keeps
         * the records and sends them again (store_gate.h). */
        hg_store_gate_defer(&self->gate, runs->runs_n);
        /* Say so: the worker pauses, then sends them again, instead of
         * waiting out its resend timer while the store runs dry. */
        hg_cluster__send_error(self, name, HG_EBUSY, "store busy: run records deferred");
        return;
    }
    uint8_t(*refused)[HG_PROTO_RUN_ID_SIZE] =
        runs->runs_n ? malloc(runs->runs_n * HG_PROTO_RUN_ID_SIZE) : NULL;
    if (runs->runs_n && !refused) return; /* out of memory: not acknowledged, sent again */
    size_t n_refused = s_runs_filter(self, name, msg, refused);
    if (msg->type == HG_MSG_RUN_FINISHED) s_ack_refused(self, name, refused, n_refused);
    free(refused);
    if (!runs->runs_n) return;
    /* Which finished runs the store recorded as started: only those can
     * be in runs_by_status, which a success must then leave. */
    uint8_t *had_start =
        msg->type == HG_MSG_RUN_FINISHED ? calloc(runs->runs_n ? runs->runs_n : 1, 1) : NULL;
    for (size_t i = 0; i < runs->runs_n; i++) {
        hg_run_t *r = &runs->runs[i];
        /* A start is tracked below (hg_cluster__starts_take); a finished
         * run leaves runs_by_status only if its start row was written. */
        if (msg->type == HG_MSG_RUN_FINISHED) {
            int written = hg_cluster__inflight_remove(self, node, r->run_id);
            if (written > 0 && had_start) had_start[i] = 1;
            if (written >= 0) /* a moved job's holder counts it no more */
                hg_cluster__overlap_run_ended(self, r->job_id, name);
        }
        hg_cluster__retry_on_run(self, name, r, msg->type == HG_MSG_RUN_FINISHED);
        /* A pending re-run ran, or was passed on (cluster_refire.c). */
        bool handed_on = hg_cluster__recovery_seen(self, name, r);
        /* A fire a lapsed lease kept from being sent is not a fire: it
         * does not move last_fire_ms, and the holder may fire it again. */
        if (msg->type == HG_MSG_RUN_FINISHED && hg_cluster__refire_check(self, name, r, handed_on))
            continue;
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, r->job_id);
        if (job && r->scheduled_ms > job->last_fire_ms && r->reason &&
            (streq(r->reason, "schedule") || streq(r->reason, "misfire")))
            job->last_fire_ms = r->scheduled_ms;
    }
    if (msg->type == HG_MSG_RUN_STARTED) {
        /* Every start is tracked in memory; its row is written now only
         * when it must be (cluster_startdefer.c). Under back-pressure none
         * is: the finished record writes the whole row (store_gate.h). */
        size_t shed = hg_cluster__starts_take(self, node, msg, gate_open);
        if (shed) hg_store_gate_shed(&self->gate, shed);
        if (!runs->runs_n) return;
    }
    hg_store_batch_t *batch = calloc(1, sizeof *batch);
    if (!batch) {
        free(had_start);
        return;
    }
    snprintf(batch->node, sizeof batch->node, "%s", name);
    batch->msg = msg;
    batch->had_start = had_start; /* NULL (out of memory): as if all had */
    *msgp = NULL;
    hg_cluster__store_runs(self, batch);
}

/* A standby serves no worker: it answers everything but ERROR with
 * ERROR {HG_EUNAVAIL, "not the leader", leader endpoint}, and the worker
 * dials the leader. Nothing from a worker is kept or acknowledged here;
 * its run records stay with it until the leader acknowledges them. */
static void s_refuse_standby(hg_cluster_t *self, const char *name, hg_msg_t *msg)
{
    if (msg->type == HG_MSG_ERROR) return;
    /* A HELLO in parts is refused once, at its first part. */
    if (msg->type == HG_MSG_HELLO && msg->u.hello.part > 0) return;
    if (msg->type == HG_MSG_HELLO)
        hg_info("cluster: standby refuses worker %s; leader %s at %s", name,
                self->leader_name[0] ? self->leader_name : "unknown",
                self->leader_endpoint[0] ? self->leader_endpoint : "unknown");
    hg_msg_t err = {.type = HG_MSG_ERROR};
    err.u.error.code = HG_EUNAVAIL;
    err.u.error.message = "not the leader";
    err.u.error.leader = self->leader_endpoint[0] ? self->leader_endpoint : NULL;
    hg_cluster__send_to(self, name, &err);
}

/* --------------------------------------------------------------- plug-ins */

/* The plug-in loader answered: plugin_serve serves whoever waited. */
static int s_on_loader(zloop_t *loop, zsock_t *sock, void *arg)
{
    hg_cluster_t *self = arg;
    hg_plugin_serve_on_loader(self->pserve);
    return 0;
}

/* Resolve every template's plug-in hash again after the plug-in store
 * changed, marking the templates whose hash changed. Returns whether any
 * did. */
static bool s_resolve_templates(hg_cluster_t *self)
{
    bool any = false;
    size_t cur = 0;
    for (hg_jobtpl_t *tpl; (tpl = hg_jobtab_tpl_next(self->jobs, &cur));) {
        tpl->changed = s_resolve_plugin(self, &tpl->spec, &tpl->sha_resolved);
        any |= tpl->changed;
    }
    return any;
}

/* A plug-in was stored: re-resolve the jobs that name plug-ins without a
 * hash; a holder whose job now means other bytes gets a new ASSIGN. */
void hg_cluster__plugin_put(hg_cluster_t *self, const char *name, const char *version,
                            const char *sha)
{
    if (hg_plugin_index_put(self->plugins, name, version, sha) != 0) return;
    /* Bytes of a replaced (name, version) must not be served from an old
     * open copy of another hash: copies are per hash, nothing to drop. */
    size_t moved = 0;
    bool changed = s_resolve_templates(self);
    size_t cur = 0;
    for (hg_jobrec_t *job; changed && (job = hg_jobtab_next(self->jobs, &cur));) {
        if (!job->tpl->changed || !job->node[0]) continue;
        hg_cluster_node_t *node = zhashx_lookup(self->nodes, job->node);
        /* During a handover the epoch stays the one being revoked; the
         * next holder gets the new spec. */
        if (!node || !HG_NODE_LIVE(node) || job->revoking) continue;
        job->epoch++;
        hg_cluster__send_assign(self, job);
        hg_cluster__store_assign(self, job);
        moved++;
    }
    hg_info("cluster: plug-in %s %s is sha256 %s%s", name, version, sha,
            moved ? "; jobs naming it re-assigned" : "");
}

void hg_cluster__plugin_remove(hg_cluster_t *self, const char *sha)
{
    hg_plugin_index_remove(self->plugins, sha);
    hg_plugin_serve_forget(self->pserve, sha);
    bool changed = s_resolve_templates(self);
    size_t cur = 0;
    for (hg_jobrec_t *job; changed && (job = hg_jobtab_next(self->jobs, &cur));) {
        if (!job->tpl->changed || !job->node[0]) continue;
        if (job->revoking) continue; /* the next holder gets the new spec */
        job->epoch++;
        hg_cluster__send_assign(self, job);
        hg_cluster__store_assign(self, job);
    }
}

/* -------------------------------------------------- messages from workers */

/* The sender's node when it has a session; else NULL, and the refusal
 * of msg is counted (and logged once per burst). */
static hg_cluster_node_t *s_has_session(hg_cluster_t *self, const char *name, hg_msg_t *msg)
{
    hg_cluster_node_t *node = zhashx_lookup(self->nodes, name);
    if (node && HG_NODE_SESSION(node)) return node;
    uint64_t job_id = msg->type == HG_MSG_REVOKE ? msg->u.revoke.job_id : 0;
    hg_peer_guard_refused(self->guard, name, HG_PEER_NO_SESSION, hg_msg_type_name(msg->type),
                          job_id, NULL, hg_mono_ms());
    return NULL;
}

/* One message from a worker; false when none was there to read. */
static bool s_on_router_one(hg_cluster_t *self, zsock_t *router)
{
    zmsg_t *z = zmsg_recv(router);
    if (!z) return false;
    zframe_t *id = zmsg_pop(z);
    zframe_t *body = zmsg_pop(z);
    char name[192] = "";
    hg_msg_t *msg = NULL;
    char detail[256] = "";
    int rc = body ? hg_msg_decode(zframe_data(body), zframe_size(body), &msg, detail, sizeof detail)
                  : HG_ETRUNC;
    bool known = s_frame_sender(self, id, body, rc == 0 ? msg : NULL, name, sizeof name);
    if (!known) {
        /* answered by s_frame_sender */
    } else if (rc != 0 || zmsg_size(z) != 0) {
        self->decode_errors++;
        /* Logged once per burst: a peer sending garbage must not flood the log. */
        char why[384];
        snprintf(why, sizeof why, "%s (%s)", hg_strerror(rc ? rc : HG_ETRAILING), detail);
        hg_peer_guard_refused(self->guard, name, HG_PEER_MALFORMED, "message", 0, why,
                              hg_mono_ms());
        char text[384];
        snprintf(text, sizeof text, "malformed message: %s: %s", hg_strerror(rc), detail);
        hg_cluster__send_error(self, name, rc ? rc : HG_ETRAILING, text);
    } else if (!self->leading) {
        s_refuse_standby(self, name, msg);
    } else {
        switch (msg->type) {
        case HG_MSG_HELLO:
            hg_cluster__on_hello(self, name, msg);
            break;
        case HG_MSG_HEARTBEAT:
            s_on_heartbeat(self, name, msg);
            break;
        case HG_MSG_RUN_STARTED:
        case HG_MSG_RUN_FINISHED:
            s_on_runs(self, name, &msg);
            break;
        case HG_MSG_PLUGIN_GET:
            if (!s_has_session(self, name, msg)) {
                hg_cluster__send_error(self, name, HG_ENOTFOUND,
                                       "no session for this node; send HELLO");
            } else if (self->pserve) {
                hg_plugin_serve_get(self->pserve, name, &msg->u.plugin_get);
            } else {
                hg_cluster__send_error(self, name, HG_EUNAVAIL, "the master cannot serve plug-ins");
            }
            break;
        case HG_MSG_LEAVE: {
            hg_cluster_node_t *node = s_has_session(self, name, msg);
            if (node) {
                if (msg->u.leave.handover)
                    hg_cluster__node_leaving(self, node);
                else
                    hg_cluster__node_gone(self, node, HG_NODE_LEFT, "graceful leave");
            }
            break;
        }
        case HG_MSG_REVOKE:
            if (s_has_session(self, name, msg))
                hg_cluster__on_revoke_ack(self, name, &msg->u.revoke);
            break;
        case HG_MSG_ERROR:
            /* Only a worker's own report is worth a line each. */
            if (s_has_session(self, name, msg))
                hg_warn("cluster: worker %s reports error %d: %s", name, msg->u.error.code,
                        msg->u.error.message);
            break;
        default:
            hg_peer_guard_refused(self->guard, name, HG_PEER_MALFORMED, hg_msg_type_name(msg->type),
                                  0, "a message type the master does not take", hg_mono_ms());
            hg_cluster__send_error(self, name, HG_EUNKNOWN,
                                   "message type not accepted by the master");
        }
    }
    self->cur_name = NULL; /* name lives on this stack */
    hg_msg_destroy(&msg);
    zframe_destroy(&id);
    zframe_destroy(&body);
    zmsg_destroy(&z);
    return true;
}

/* The workers' messages: what is queued, up to S_ROUTER_BATCH or
 * S_ROUTER_SLICE_MS a wake-up. zloop calls a reader once per wake-up, and
 * a wake-up also runs the timers (a placement slice): one message each
 * time left a heartbeat behind the run records queued ahead of it for
 * seconds while a large placement went on. */
static int s_on_router(zloop_t *loop, zsock_t *router, void *arg)
{
    (void) loop;
    hg_cluster_t *self = arg;
    int64_t began = hg_mono_ms();
    for (int i = 0; i < S_ROUTER_BATCH && s_on_router_one(self, router); i++) {
        if (!(zsock_events(router) & ZMQ_POLLIN) || hg_mono_ms() - began >= S_ROUTER_SLICE_MS)
            break;
    }
    hg_cluster__store_flush(self);
    return 0;
}

/* ------------------------------------------------------------- store side */

static int s_on_store(zloop_t *loop, zsock_t *sock, void *arg)
{
    hg_cluster_t *self = arg;
    char *cmd = NULL;
    void *ptr = NULL;
    if (zsock_recv(sock, "sp", &cmd, &ptr) != 0) return 0;
    if (cmd && streq(cmd, "DONE") && ptr) {
        hg_store_batch_t *batch = ptr;
        hg_msg_t *m = batch->msg;
        hg_store_gate_done(&self->gate, batch->gated, hg_mono_ms());
        /* Committed: alerts may be produced for these runs now. */
        hg_alert_feed_runs(self->alerts, m, batch->node);
        if (m->type == HG_MSG_RUN_FINISHED && !batch->no_ack) {
            /* Durable now: tell the worker it may forget these records. */
            hg_msg_t ack = {.type = HG_MSG_ACK};
            ack.u.ack.run_ids_n = m->u.runs.runs_n;
            ack.u.ack.run_ids = malloc(HG_PROTO_RUN_ID_SIZE * m->u.runs.runs_n);
            if (ack.u.ack.run_ids) {
                for (size_t i = 0; i < m->u.runs.runs_n; i++)
                    memcpy(ack.u.ack.run_ids[i], m->u.runs.runs[i].run_id, HG_PROTO_RUN_ID_SIZE);
                hg_cluster__send_to(self, batch->node, &ack);
                free(ack.u.ack.run_ids);
            }
        }
        hg_cluster__metrics_batch(self, batch);
        hg_cluster__deps_runs(self, &batch);
        hg_store_batch_destroy(&batch);
    }
    zstr_free(&cmd);
    return 0;
}

/* ------------------------------------------------------------------- tick */

/* What peers made us keep, past its time: refusal bursts to sum up, HELLOs
 * in parts never finished, one node gone for longer than
 * S_NODE_FORGET_MS (cluster_node.c) per tick (a forget may walk the job
 * table). */
static void s_expire(hg_cluster_t *self, int64_t now)
{
    hg_peer_guard_tick(self->guard, now);
    hg_cluster__nodes_expire(self, now);
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    hg_cluster_t *self = arg;
    if (!self->leading) return 0;
    if (self->stopping) {
        /* Only what was received is written (hg_cluster_stopping). */
        hg_cluster__starts_flush(self, hg_mono_ms());
        hg_cluster__store_flush(self);
        return 0;
    }
    int64_t now = hg_mono_ms();
    int64_t window = self->args->lease_ms + self->args->margin_ms;
    /* If this loop itself was busy (a large placement), heartbeats may be
     * waiting unread on the socket: judge silence only on a tick that comes
     * on time. Waiting longer never breaks the lease rule. */
    bool stalled = self->last_tick_mono_ms && now - self->last_tick_mono_ms > 500;
    /* Nor does the time this loop was busy count as a node's silence:
     * what the nodes sent meanwhile is still queued behind the work that
     * held the loop (a HELLO listing a million jobs, say), and judging
     * them before it is read would declare live nodes lost. */
    if (stalled) {
        for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
            if (HG_NODE_LIVE(n)) n->last_hb_mono_ms += now - self->last_tick_mono_ms;
        /* Workers count their lease from the heartbeat's departure: a loop
         * held this long lets theirs lapse. Said once per 10 s. */
        if (now - self->last_tick_mono_ms >= self->args->lease_ms / 2 &&
            now - self->stall_logged_ms >= 10000) {
            self->stall_logged_ms = now;
            hg_info("cluster: this master's loop was held %lld ms; heartbeats were answered late",
                    (long long) (now - self->last_tick_mono_ms));
        }
    }
    self->last_tick_mono_ms = now;
    for (hg_cluster_node_t *n = stalled ? NULL : zhashx_first(self->nodes); n;
         n = zhashx_next(self->nodes)) {
        if (HG_NODE_LIVE(n) && now - n->last_hb_mono_ms > window) {
            char why[96];
            snprintf(why, sizeof why, "silent for %lld ms", (long long) (now - n->last_hb_mono_ms));
            hg_cluster__node_gone(self, n, HG_NODE_LOST, why);
            break; /* the hash was iterated inside; resume next tick */
        }
    }
    if (!stalled) hg_cluster__runlost_tick(self, now); /* cluster_runlost.c */
    hg_cluster__overlap_tick(self, now);               /* cluster_overlap.c */
    s_expire(self, now);
    if (now - self->metrics_mono_ms >= 1000) {
        self->metrics_mono_ms = now;
        hg_cluster__metrics_tick(self);
    }
    hg_cluster__route_tick(self);
    hg_cluster__place(self);
    hg_cluster__drain(self);
    hg_cluster__starts_flush(self, now); /* cluster_startdefer.c */
    hg_cluster__store_flush(self);
    return 0;
}

/* ------------------------------------------------ leading and standing by */

/* Add one job of the catalogue (API form) when we start leading. */
static void s_load_one(hg_cluster_t *self, json_t *job, json_t *last_fires, size_t *loaded)
{
    char key[24];
    snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(job, "id")));
    json_t *lf = json_object_get(last_fires, key);
    if (hg_cluster__job_upsert(self, job, lf ? json_integer_value(lf) : 0, false) == 0)
        (*loaded)++;
    else
        hg_error("cluster: job %s cannot be scheduled (invalid spec); skipped",
                 json_string_value(json_object_get(job, "name")));
}

/* Where the jobs of the start-up load go. */
typedef struct {
    hg_cluster_t *self; /* the actor */
    json_t *last_fires; /* job id text -> last scheduled ms (borrowed), or NULL */
    size_t *loaded;     /* jobs added so far */
} s_put_ctx_t;

static void s_load_put(void *arg, hg_jobrec_t *rec)
{
    s_put_ctx_t *ctx = arg;
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%" PRIu64, rec->id);
    json_t *lf = ctx->last_fires ? json_object_get(ctx->last_fires, idtext) : NULL;
    /* The spec may hold a floor of its own (remaining_runs: job_ext.h). */
    if (lf && json_integer_value(lf) > rec->last_fire_ms)
        rec->last_fire_ms = json_integer_value(lf);
    int rc = 0;
    if (hg_cluster__route_take(ctx->self, &rec, &rc)) {
        if (rc == 0) (*ctx->loaded)++;
    } else if (hg_cluster__job_put(ctx->self, rec)) {
        (*ctx->loaded)++;
        ctx->self->placement_due = true;
    }
}

/* The active jobs: from jobs when main passed them, else streamed from
 * MySQL straight into the job table (a million jobs as JSON took
 * gigabytes, and seconds of parsing). A result that breaks off is read on
 * from the last job added, a few times, before the rest is given up
 * (logged). */
static void s_load_jobs(hg_cluster_t *self, json_t *jobs, json_t *last_fires, size_t *loaded)
{
    size_t i;
    json_t *job;
    if (jobs) {
        json_array_foreach(jobs, i, job) s_load_one(self, job, last_fires, loaded);
        return;
    }
    if (!self->args->db) return;
    char err[512] = "";
    uint64_t after = 0;
    s_put_ctx_t ctx = {self, last_fires, loaded};
    for (int failures = 0; failures < 5;) {
        err[0] = '\0';
        MYSQL *conn = hg_db_connect(self->args->db, err, sizeof err);
        if (conn) {
            unsigned rc = hg_jobload_read(conn, self->jobs, &after, s_load_put, &ctx);
            if (rc) snprintf(err, sizeof err, "%s (%u)", mysql_error(conn), rc);
        } else if (!err[0]) {
            snprintf(err, sizeof err, "cannot connect to MySQL");
        }
        hg_db_close(&conn);
        if (!err[0]) return;
        failures++;
        hg_warn("cluster: loading jobs after id %" PRIu64 ": %s%s", after, err,
                failures < 5 ? "; trying again" : "");
        zclock_sleep(200 * failures);
    }
    hg_error("cluster: jobs after id %" PRIu64 " could not be read (%s); they are not scheduled "
             "until this master leads again",
             after, err);
}

/* The nodes an operator drained, as recorded by the API: they stay
 * draining when they re-join this leader. A node not seen yet is listed
 * with the state its row has ("left" or, for any other, "lost": it has no
 * session with us) and its last time seen. A failure to read is logged:
 * those nodes then come back active, as before drains were recorded. */
static void s_load_drained(hg_cluster_t *self)
{
    if (!self->args->db) return;
    char err[512] = "";
    MYSQL *conn = hg_db_connect(self->args->db, err, sizeof err);
    if (!conn) {
        hg_warn("cluster: cannot read the drained nodes: %s", err);
        return;
    }
    if (mysql_query(conn, "SELECT name, state, CAST(ROUND(UNIX_TIMESTAMP(last_seen_at) * 1000)"
                          " AS SIGNED) FROM nodes WHERE drained = 1") != 0) {
        hg_warn("cluster: cannot read the drained nodes: %s", mysql_error(conn));
        hg_db_close(&conn);
        return;
    }
    MYSQL_RES *res = mysql_store_result(conn);
    MYSQL_ROW row;
    size_t n = 0;
    while (res && (row = mysql_fetch_row(res))) {
        if (!row[0]) continue;
        hg_cluster_node_t *node = zhashx_lookup(self->nodes, row[0]);
        if (!node) {
            node = calloc(1, sizeof *node);
            if (!node) break;
            snprintf(node->name, sizeof node->name, "%s", row[0]);
            node->state = row[1] && streq(row[1], "left") ? HG_NODE_LEFT : HG_NODE_LOST;
            node->last_hb_wall_ms = row[2] ? strtoll(row[2], NULL, 10) : 0;
            zhashx_insert(self->nodes, node->name, node);
        }
        node->cordoned = true;
        if (node->state == HG_NODE_ACTIVE) node->state = HG_NODE_DRAINING;
        n++;
    }
    if (res) mysql_free_result(res);
    hg_db_close(&conn);
    if (n) hg_info("cluster: %zu node(s) drained by an operator stay draining when they join", n);
}

/* We lead from now on: start the store, load the jobs and hold placement
 * back for lease + margin, exactly as a master starting alone, so that the
 * workers of the previous leader report (HELLO) what they still hold and
 * keep it. Takes jobs and last_fires. */
static void s_lead(hg_cluster_t *self, uint64_t epoch, json_t *jobs, json_t *last_fires,
                   json_t *plugins)
{
    if (self->leading) {
        hg_error("cluster: LEAD while already leading; ignored");
        json_decref(jobs);
        json_decref(last_fires);
        json_decref(plugins);
        return;
    }
    self->leading = true;
    self->master_epoch = epoch;
    if (self->args->metrics) hg_metrics_role(self->args->metrics, true, epoch);
    self->started_mono_ms = hg_mono_ms();
    self->store = hg_store_new(self->args->store);
    hg_store_gate_init(&self->gate, self->args->store ? self->args->store->queue_max : 0);
    zloop_reader(self->loop, zactor_sock(self->store), s_on_store, self);
    hg_cluster__deps_start(self);
    self->alerts = hg_alert_feed_new();
    hg_cluster__store_forget(self, ""); /* rows of nodes gone before we led */
    /* Stored plug-ins first, so that jobs naming one without a hash
     * resolve from their first ASSIGN on. */
    size_t pi;
    json_t *pm;
    json_array_foreach(plugins, pi, pm)
    {
        hg_plugin_index_put(self->plugins, json_string_value(json_object_get(pm, "name")),
                            json_string_value(json_object_get(pm, "version")),
                            json_string_value(json_object_get(pm, "sha256")));
    }
    json_decref(plugins);

    s_load_drained(self);
    size_t loaded = 0;
    self->loading = true;
    s_load_jobs(self, jobs, last_fires, &loaded);
    self->loading = false;
    hg_cluster__retry_load(self);   /* cluster_retry.c */
    hg_cluster__runlost_load(self); /* cluster_runlost.c */
    json_decref(jobs);
    json_decref(last_fires);
    /* Loading leaves many freed JSON fragments behind: give them back. */
    malloc_trim(0);
    /* Workers can report what they hold only once we answer them again:
     * the wait before placing the catalogue starts now, not before loading
     * it (a million jobs take seconds). */
    self->started_mono_ms = hg_mono_ms();
    /* A placement pass cut short under an earlier leadership walked
     * another table: a new pass starts. */
    self->lap_left = self->pass_placed = self->pass_waiting = 0;
    hg_cluster__runlost_start(self);
    hg_info("cluster: leading (epoch %" PRIu64 "); %zu active jobs and %zu plug-ins loaded; "
            "workers on %s",
            epoch, loaded, hg_plugin_index_size(self->plugins), self->args->bind);
}

static int s_on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    hg_cluster_t *self = arg;
    zmsg_t *m = zmsg_recv(pipe);
    char *cmd = m ? zmsg_popstr(m) : NULL;
    int rc = (!cmd || streq(cmd, "$TERM")) ? -1 : 0;
    if (cmd && streq(cmd, "LEAD")) {
        /* epoch text, then the jobs array and last fires object as pointers */
        char *epoch = zmsg_popstr(m);
        json_t *docs[3] = {NULL, NULL, NULL}; /* jobs, last fires, plug-ins */
        for (int i = 0; i < 3; i++) {
            zframe_t *f = zmsg_pop(m);
            if (f && zframe_size(f) == sizeof docs[i])
                memcpy(&docs[i], zframe_data(f), sizeof docs[i]);
            zframe_destroy(&f);
        }
        s_lead(self, epoch ? strtoull(epoch, NULL, 10) : 0, docs[0], docs[1], docs[2]);
        zstr_free(&epoch);
    } else if (cmd && streq(cmd, "FOLLOW")) {
        /* name, endpoint, api_url, epoch of the leader as a standby sees it */
        char *f[4];
        for (int i = 0; i < 4; i++)
            f[i] = zmsg_popstr(m);
        if (!self->leading) {
            snprintf(self->leader_name, sizeof self->leader_name, "%s", f[0] ? f[0] : "");
            snprintf(self->leader_endpoint, sizeof self->leader_endpoint, "%s", f[1] ? f[1] : "");
            snprintf(self->leader_api, sizeof self->leader_api, "%s", f[2] ? f[2] : "");
            self->master_epoch = f[3] ? strtoull(f[3], NULL, 10) : 0;
            if (self->args->metrics)
                hg_metrics_role(self->args->metrics, false, self->master_epoch);
        }
        for (int i = 0; i < 4; i++)
            zstr_free(&f[i]);
    } else if (cmd && streq(cmd, "STOPPING")) {
        if (self->leading && !self->stopping)
            hg_info("cluster: shutting down; no node is judged lost from now on");
        self->stopping = true;
    }
    zstr_free(&cmd);
    zmsg_destroy(&m);
    hg_cluster__store_flush(self);
    return rc;
}

/* -------------------------------------------------------------- the actor */

static void s_inflight_free(void **item)
{
    hg_runtrack_destroy((hg_runtrack_t **) item);
}

static void s_node_free(void **item)
{
    hg_cluster_node_t *node = *item;
    if (node) {
        json_decref(node->labels);
        free(node);
        *item = NULL;
    }
}

/* The actor's tables; a failure to allocate shows as a NULL guard. */
static void s_tables_new(hg_cluster_t *self)
{
    self->nodes = zhashx_new();
    zhashx_set_destructor(self->nodes, s_node_free);
    /* Every table keyed by what peers send is hashed with a secret key
     * (hg_keyhash): chosen names or run ids cannot pile into one bucket. */
    zhashx_set_key_hasher(self->nodes, hg_keyhash_str);
    self->guard = hg_peer_guard_new(self->args->lease_ms);
    self->jobs = hg_jobtab_new();
    self->route = hg_cluster__route_new();
    /* Keyed by the raw run id: formatting each id as text cost more than
     * the lookup (every finished run is looked up). */
    self->inflight = zhashx_new();
    self->names = hg_strpool_new();
    hg_startq_init(&self->startq, S_STARTQ_MAX);
    zhashx_set_destructor(self->inflight, s_inflight_free);
    zhashx_set_key_hasher(self->inflight, hg_runid_hash);
    zhashx_set_key_comparator(self->inflight, hg_runid_compare);
    zhashx_set_key_duplicator(self->inflight, hg_runid_dup);
    zhashx_set_key_destructor(self->inflight, hg_runid_free);
    self->hello_parts = zhashx_new();
    zhashx_set_destructor(self->hello_parts, hg_cluster__hello_parts_free);
    zhashx_set_key_hasher(self->hello_parts, hg_keyhash_str);
    self->plugins = hg_plugin_index_new();
    self->refire = hg_refire_new();
}

/* The ZAP handler says a key is admitted no more: every session opened
 * with it ends (its node keeps its jobs until the lease rule moves them,
 * as for a node that stopped reading), and no HELLO is taken again from
 * that connection. A new connection with the key is refused by ZAP. */
static int s_on_key_removed(zloop_t *loop, zsock_t *sock, void *arg)
{
    hg_cluster_t *self = arg;
    char *key = zstr_recv(sock);
    if (!key) return 0;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes)) {
        if (!n->conn.id_n || !streq(n->conn.key, key)) continue;
        n->removed = n->conn;
        if (HG_NODE_LIVE(n))
            hg_cluster__node_choke(self, n, "is connected with a key that was removed");
    }
    zstr_free(&key);
    return 0;
}

/* The workers' ROUTER and the API socket, bound. false: logged. */
static bool s_sockets_bind(hg_cluster_t *self)
{
    self->router = zsock_new(ZMQ_ROUTER);
    /* Checked setters (hg_zsock.h): a failure is a failed start, not abort(). */
    int rc = self->router ? 0 : -1;
    rc |= hg_zsock_set_int(self->router, ZMQ_ROUTER_MANDATORY, 1);
    /* No handover: a node's identity comes from its key (s_frame_sender),
     * and a peer must not take another connection's routing id. */
    rc |= hg_zsock_set_int(self->router, ZMQ_ROUTER_HANDOVER, 0);
    rc |= hg_zsock_set_i64(self->router, ZMQ_MAXMSGSIZE, (int64_t) HG_PROTO_MAX_MSG);
    if (rc != 0) {
        hg_error("cluster: cannot set up the workers' socket: %s", zmq_strerror(zmq_errno()));
        return false;
    }
    if (self->args->curve_cert) {
        zcert_apply(self->args->curve_cert, zsock_resolve(self->router));
        rc |= hg_zsock_set_int(self->router, ZMQ_CURVE_SERVER, 1);
        self->key_removed = zsock_new(ZMQ_PULL);
        if (!self->key_removed || zsock_bind(self->key_removed, HG_ZAP_REMOVED_ENDPOINT) < 0) {
            hg_error("cluster: cannot bind %s", HG_ZAP_REMOVED_ENDPOINT);
            return false;
        }
    } else {
        self->by_conn = hg_conn_names_new(S_PLAIN_NAMES_MAX);
    }
    rc |= hg_zsock_set_int(self->router, ZMQ_SNDHWM, 100000);
    rc |= hg_zsock_set_int(self->router, ZMQ_RCVHWM, 100000);
    rc |= hg_zsock_set_int(self->router, ZMQ_LINGER, 0);
    if (rc != 0) {
        hg_error("cluster: cannot set up the workers' socket: %s", zmq_strerror(zmq_errno()));
        return false;
    }
    self->api = zsock_new(ZMQ_ROUTER);
    if (!self->guard || !self->api || zsock_bind(self->router, "%s", self->args->bind) < 0 ||
        zsock_bind(self->api, "%s", HG_CLUSTER_CLIENT_ENDPOINT) < 0) {
        hg_error("cluster: cannot bind %s: %s", self->args->bind, zmq_strerror(zmq_errno()));
        return false;
    }
    return true;
}

/* Take back the batches the store still hands over (zactor_destroy would
 * drop them unread): it answers DRAINED after its last DONE. */
static void s_store_stop(hg_cluster_t *self)
{
    if (!self->store) return;
    hg_cluster__store_flush(self);
    zstr_send(self->store, "DRAIN");
    for (;;) {
        char *cmd = NULL;
        void *ptr = NULL;
        if (zsock_recv(self->store, "sp", &cmd, &ptr) != 0) break;
        bool drained = cmd && streq(cmd, "DRAINED");
        if (cmd && streq(cmd, "DONE") && ptr) {
            hg_store_batch_t *batch = ptr;
            hg_store_batch_destroy(&batch);
        }
        zstr_free(&cmd);
        if (drained) break;
    }
    zactor_destroy(&self->store);
}

/* Everything the actor holds; also after a failed start (NULLs are fine). */
static void s_destroy(hg_cluster_t *self)
{
    hg_depfire_destroy(&self->depfire);
    zactor_destroy(&self->store);
    hg_alert_feed_destroy(&self->alerts);
    hg_plugin_serve_destroy(&self->pserve);
    hg_cluster__route_destroy(self); /* before the table: its jobs' templates */
    hg_jobtab_destroy(&self->jobs);
    free(self->assigns);
    self->assigns = NULL;
    zhashx_destroy(&self->nodes);
    zhashx_destroy(&self->inflight);
    hg_strpool_destroy(&self->names); /* after the entries that hold its strings */
    hg_startq_free(&self->startq);
    hg_cluster__retry_destroy(self);
    hg_cluster__overlap_destroy(self);
    zhashx_destroy(&self->hello_parts);
    hg_plugin_index_destroy(&self->plugins);
    hg_peer_guard_destroy(&self->guard);
    hg_refire_destroy(&self->refire);
    hg_conn_names_destroy(&self->by_conn);
    zsock_destroy(&self->api);
    zsock_destroy(&self->key_removed);
    zsock_destroy(&self->router);
}

static void s_actor(zsock_t *pipe, void *arg)
{
    hg_cluster_t self = {0};
    self.args = arg;
    self.pipe = pipe;
    self.started_mono_ms = hg_mono_ms();
    s_tables_new(&self);
    if (!s_sockets_bind(&self)) {
        s_destroy(&self);
        self.args->failed = true;
        zsock_signal(pipe, 1);
        return;
    }
    self.pserve = hg_plugin_serve_new(self.args->db, self.args->data_dir, s_send_to_cb, &self);
    hg_info("cluster: standing by for the leadership; workers on %s", self.args->bind);

    self.loop = zloop_new();
    zloop_set_nonstop(self.loop, true); /* stop on $TERM only, in order */
    zloop_reader(self.loop, pipe, s_on_pipe, &self);
    zloop_reader(self.loop, self.router, s_on_router, &self);
    zloop_reader(self.loop, self.api, hg_cluster__on_api, &self);
    if (self.key_removed) zloop_reader(self.loop, self.key_removed, s_on_key_removed, &self);
    if (self.pserve)
        zloop_reader(self.loop, hg_plugin_serve_loader_sock(self.pserve), s_on_loader, &self);
    zloop_timer(self.loop, 50, 0, s_on_tick, &self);
    zsock_signal(pipe, 0);
    hg_actor_loop_run(self.loop);

    zloop_destroy(&self.loop);
    s_store_stop(&self);
    s_destroy(&self);
}

zactor_t *hg_cluster_new(hg_cluster_args_t *args)
{
    zactor_t *actor = zactor_new(s_actor, args);
    return actor;
}

void hg_cluster_lead(zactor_t *cluster, uint64_t epoch, json_t *jobs, json_t *last_fires,
                     json_t *plugins)
{
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "LEAD");
    zmsg_addstrf(m, "%" PRIu64, epoch);
    zmsg_addmem(m, &jobs, sizeof jobs);
    zmsg_addmem(m, &last_fires, sizeof last_fires);
    zmsg_addmem(m, &plugins, sizeof plugins);
    if (zmsg_send(&m, cluster) != 0) {
        zmsg_destroy(&m);
        json_decref(jobs);
        json_decref(last_fires);
        json_decref(plugins);
    }
}

void hg_cluster_stopping(zactor_t *cluster)
{
    zstr_send(cluster, "STOPPING");
}

void hg_cluster_follow(zactor_t *cluster, const char *name, const char *endpoint,
                       const char *api_url, const char *epoch)
{
    zstr_sendx(cluster, "FOLLOW", name ? name : "", endpoint ? endpoint : "",
               api_url ? api_url : "", epoch ? epoch : "", NULL);
}
