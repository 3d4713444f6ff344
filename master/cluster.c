/* cluster: workers, heartbeats, leases, placement and run-record flow.
 *
 * Lease rule (DESIGN.md section 3): a worker fires only while it holds a
 * lease, which it extends when this actor echoes its heartbeats. This actor
 * reassigns a silent worker's jobs only after lease + margin has passed
 * since it last *received* a heartbeat from it; by then the worker's own
 * lease has run out, whatever the direction of a partition, so two workers
 * never hold a firing lease for the same job at once. */
#include "cluster.h"
#include "cluster_internal.h"
#include "actor_loop.h"
#include "conn.h"
#include "hg_error.h"
#include "hg_keyhash.h"
#include "hg_log.h"
#include "hg_proto.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "job.h"
#include "jobload.h"
#include "jobtab.h"
#include "peer_guard.h"
#include "plugin_serve.h"
#include "plugins.h"
#include "store.h"
#include "zap.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>

/* Plaintext test mode: connections whose node name we remember. */
#define S_PLAIN_NAMES_MAX 4096

/* Node states. A draining node keeps its session and lease (its jobs
 * fire until they are handed over) but gets no new placements; its jobs
 * move one by one through the REVOKE handshake. */
typedef enum { S_NODE_ACTIVE, S_NODE_DRAINING, S_NODE_LOST, S_NODE_LEFT } s_node_state_t;
static const char *s_node_state_names[] = {"active", "draining", "lost", "left"};

/* A node with a session: it heartbeats and may hold jobs. */
#define S_NODE_LIVE(n) ((n)->state == S_NODE_ACTIVE || (n)->state == S_NODE_DRAINING)
/* A live node we still talk to: not choked (see s_send_to). Only such a
 * node's heartbeats, run records, plug-in requests, REVOKE answers and
 * LEAVE are taken; a choked one keeps its jobs until the lease rule
 * moves them. */
#define S_NODE_SESSION(n) (S_NODE_LIVE(n) && !(n)->choked)

/* Nodes the master keeps (live, lost, left). A lost or left node is
 * forgotten S_NODE_FORGET_MS after it went (one an operator drained is
 * kept: its drain must outlive its absence); at the cap a HELLO from a new
 * name forgets the longest gone first, and is refused when none is. */
#define S_NODES_MAX      4096
#define S_NODE_FORGET_MS (3600 * 1000)

/* Runs in flight the master tracks (to close them as lost with their
 * worker): per node and in all. Beyond, a run is still recorded; only its
 * "lost" closing is not. */
#define S_INFLIGHT_NODE_MAX 65536
#define S_INFLIGHT_MAX      (1u << 20)

/* Plug-in bytes sent to a node that it has not said it read (its
 * heartbeat's echo names the last message it got): a peer that asks for
 * chunks and never reads would otherwise queue 512 KiB a request in the
 * master. Beyond either bound a PLUGIN_GET is not answered; the worker
 * asks again (its fetch resends), by then its heartbeat has confirmed. */
#define S_CHUNKS_UNREAD_MAX  32             /* chunks per node */
#define S_CHUNK_UNREAD_BYTES (16u << 20)    /* bytes per node */
#define S_CHUNK_UNREAD_ALL   (128ull << 20) /* bytes, all nodes */

/* HELLOs in parts gathered at once, and how long one may take. */
#define S_HELLO_PARTS_MAX    64
#define S_HELLO_PARTS_TTL_MS 60000

typedef struct {
    char name[192];          /* node name, from its key (plaintext: from its HELLO) */
    hg_conn_t conn;          /* connection of its current session: answers go there */
    s_node_state_t state;    /* active / draining / lost / left */
    bool cordoned;           /* an operator drained it; it stays draining across re-joins */
    bool leaving;            /* it announced a graceful leave (SIGTERM) */
    json_t *labels;          /* object of strings */
    uint32_t capacity;       /* concurrent runs it accepts */
    char version[32];        /* software version */
    int64_t last_hb_mono_ms; /* when we last heard from it (monotonic) */
    int64_t last_hb_wall_ms; /* same, wall clock, for display */
    uint32_t jobs;           /* assignments it holds (by our table) */
    uint32_t running;        /* runs in flight, from its heartbeat */
    uint32_t held;           /* assignments it holds, from its heartbeat */
    uint32_t unacked;        /* records it holds unacknowledged */
    bool choked;             /* its send queue was full: session over, jobs wait for the lease */
    int64_t gone_mono_ms;    /* when it was lost or left (monotonic), 0 while live */
    uint32_t inflight;       /* its entries in the cluster's inflight table */
    uint64_t read_seq;       /* last of our messages it says it got (heartbeat echo) */
    struct {
        uint64_t seq;              /* our seq of the chunk */
        uint64_t bytes;            /* its data bytes */
    } chunks[S_CHUNKS_UNREAD_MAX]; /* plug-in chunks sent, not yet confirmed read (a ring) */
    uint32_t chunks_head;          /* oldest in chunks */
    uint32_t chunks_n;             /* entries in chunks */
    uint64_t chunk_bytes;          /* their bytes */
} s_node_t;

/* One per active job; see jobtab.h for how a million of them stay small. */
typedef hg_jobrec_t s_job_t;
typedef hg_jobrec_recovery_t s_recovery_t;

/* A run a worker reported started and not yet finished. If its worker is
 * lost, the run is closed in the history as "lost" rather than left
 * "running" forever. */
typedef struct {
    char node[192]; /* worker running it */
    hg_run_t run;   /* the RUN_STARTED record (owned) */
} s_inflight_t;

typedef struct {
    hg_cluster_args_t *args;    /* settings */
    zsock_t *pipe;              /* to main */
    zsock_t *router;            /* workers */
    zsock_t *api;               /* hg_cluster_client_t requests */
    zactor_t *store;            /* store writer */
    zloop_t *loop;              /* reactor */
    zhashx_t *nodes;            /* name -> s_node_t; never removed while running: jobs point
                                   at their names */
    hg_jobtab_t *jobs;          /* active jobs by id */
    const char *assigns_node;   /* node of the assignments waiting in assigns, NULL if none */
    uint64_t *assigns;          /* (job id, epoch) pairs not yet passed to the store */
    size_t assigns_n;           /* pairs in assigns */
    zhashx_t *inflight;         /* raw run id -> s_inflight_t: started, not finished */
    zhashx_t *hello_parts;      /* node name -> s_hello_parts_t: HELLO parts so far */
    uint64_t seq;               /* our message sequence */
    int64_t started_mono_ms;    /* start time; placement waits for workers to re-HELLO */
    bool placement_due;         /* some active job is unassigned */
    uint64_t decode_errors;     /* malformed messages seen */
    uint64_t master_epoch;      /* fencing epoch: ours when leading, else the leader's as known */
    bool leading;               /* false: standby, refusing workers until "LEAD" */
    char leader_name[192];      /* standby: the leader's name, "" when unknown */
    char leader_endpoint[256];  /* standby: where workers should dial the leader */
    char leader_api[256];       /* standby: the leader's REST API URL */
    hg_plugin_index_t *plugins; /* stored plug-ins: (name, version) -> sha256 */
    hg_plugin_serve_t *pserve;  /* answers PLUGIN_GET from the plug-in copies */
    hg_peer_guard_t *guard;     /* what a peer may say; refusal counts and log */
    uint64_t sends_dropped;     /* messages not sent: peer gone or its queue full */
    bool inflight_capped;       /* the inflight cap was hit (logged once per filling) */
    size_t hello_held_total;    /* held entries in hello_parts, all peers */
    uint64_t chunk_bytes;       /* plug-in bytes unread, all nodes (s_node_t.chunks) */
    bool loading;               /* adding the jobs of the catalogue at start-up */
    bool fresh_waiting;         /* a job created since start-up waits for placement */
    int64_t last_tick_mono_ms;  /* when the tick last ran */
    size_t placed_since_trim;   /* jobs placed since memory was last trimmed */
    size_t place_cursor;        /* job table slot where placement stopped last, full nodes */
    hg_conn_t cur;              /* connection of the message being handled */
    const char *cur_name;       /* its node name (see s_frame_sender), NULL between messages */
    hg_conn_names_t *by_conn;   /* plaintext mode: node names of connections */
} s_cluster_t;

/* ---------------------------------------------------------------- helpers */

/* Where messages for node go: the connection we are answering when it is
 * that node's, else the connection of the node's session. NULL when the
 * node has none. */
static const hg_conn_t *s_conn_of(s_cluster_t *self, const char *node)
{
    if (self->cur_name && streq(node, self->cur_name)) return &self->cur;
    s_node_t *n = zhashx_lookup(self->nodes, node);
    return n && n->conn.id_n ? &n->conn : NULL;
}

/* The node's queue is full: it does not read what we send. Its session
 * ends now (nothing more is sent to it, nothing it says is taken), but its
 * jobs stay until the usual lease rule moves them: it may still hold a
 * lease from heartbeats echoed before, and an echo still queued for it
 * renews its lease only up to the send time of that heartbeat + lease,
 * which is before our last receipt + lease + margin. s_on_tick moves them. */
static void s_node_choke(s_cluster_t *self, s_node_t *node)
{
    if (node->choked) return;
    node->choked = true;
    hg_warn("cluster: worker %s does not read what the master sends (its queue is full); its "
            "session ends and its %u jobs move once its lease has run out",
            node->name, node->jobs);
}

/* Every send to a peer is non-blocking: with ROUTER_MANDATORY a blocking
 * send to a peer whose queue is full waits for it, and one peer that never
 * reads would stop this actor and with it every lease. A send that does
 * not fit is dropped: to a node, that ends its session (s_node_choke); to
 * a peer that is gone (EHOSTUNREACH) or has no session, it is nothing. */
static int s_send_to(s_cluster_t *self, const char *node, hg_msg_t *msg)
{
    s_node_t *peer = zhashx_lookup(self->nodes, node);
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
        if (err == EAGAIN && peer && S_NODE_LIVE(peer))
            s_node_choke(self, peer);
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

static void s_send_error(s_cluster_t *self, const char *node, int code, const char *text)
{
    hg_msg_t msg = {.type = HG_MSG_ERROR};
    msg.u.error.code = code;
    msg.u.error.message = (char *) text;
    s_send_to(self, node, &msg);
}

/* The node read everything up to our message read_seq: its plug-in
 * chunks up to there no longer count against it. */
static void s_chunks_read(s_cluster_t *self, s_node_t *node, uint64_t read_seq)
{
    if (read_seq > node->read_seq) node->read_seq = read_seq;
    while (node->chunks_n && node->chunks[node->chunks_head].seq <= node->read_seq) {
        uint64_t b = node->chunks[node->chunks_head].bytes;
        node->chunk_bytes -= b;
        self->chunk_bytes -= b;
        node->chunks_head = (node->chunks_head + 1) % S_CHUNKS_UNREAD_MAX;
        node->chunks_n--;
    }
}

/* s_send_to as plugin_serve calls it. A chunk with data goes only within
 * the node's unread budget (S_CHUNK_UNREAD_BYTES); else it is not sent,
 * and the worker's fetch asks again. */
static void s_send_to_cb(void *arg, const char *node, hg_msg_t *msg)
{
    s_cluster_t *self = arg;
    uint64_t bytes = msg->type == HG_MSG_PLUGIN_CHUNK ? msg->u.plugin_chunk.data.len : 0;
    if (!bytes) {
        s_send_to(self, node, msg);
        return;
    }
    s_node_t *n = zhashx_lookup(self->nodes, node);
    if (!n || n->chunks_n >= S_CHUNKS_UNREAD_MAX || n->chunk_bytes + bytes > S_CHUNK_UNREAD_BYTES ||
        self->chunk_bytes + bytes > S_CHUNK_UNREAD_ALL) {
        self->sends_dropped++;
        hg_debug("cluster: plug-in chunk for %s held back: too much sent it has not read", node);
        return;
    }
    if (s_send_to(self, node, msg) != 0) return;
    uint32_t at = (n->chunks_head + n->chunks_n) % S_CHUNKS_UNREAD_MAX;
    n->chunks[at].seq = msg->seq;
    n->chunks[at].bytes = bytes;
    n->chunks_n++;
    n->chunk_bytes += bytes;
    self->chunk_bytes += bytes;
}

static s_job_t *s_job_find(s_cluster_t *self, uint64_t id)
{
    return hg_jobtab_find(self->jobs, id);
}

static void s_inflight_free(void **item)
{
    s_inflight_t *f = *item;
    if (f) {
        hg_run_clear(&f->run);
        free(f);
        *item = NULL;
    }
}

static void s_node_free(void **item)
{
    s_node_t *node = *item;
    if (node) {
        json_decref(node->labels);
        free(node);
        *item = NULL;
    }
}

/* Assignments reach the store in batches of up to this many, one
 * message each rather than one per job: placing a million jobs queued a
 * million messages and a 300-byte write each behind the store. */
#define S_ASSIGN_BATCH 4096

/* Pass the assignments gathered so far to the store. Every other write
 * to the store calls this first, so the store sees writes in the order
 * they were made; the loop handlers call it before they return. */
static void s_store_flush(s_cluster_t *self)
{
    if (!self->assigns_n || !self->store) return;
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "ASSIGN");
    zmsg_addstr(m, self->assigns_node);
    zmsg_addmem(m, self->assigns, self->assigns_n * 2 * sizeof(uint64_t));
    if (zmsg_send(&m, self->store) != 0) zmsg_destroy(&m);
    self->assigns_n = 0;
    self->assigns_node = NULL;
}

static void s_store_node(s_cluster_t *self, s_node_t *node)
{
    s_store_flush(self);
    char *labels = json_dumps(node->labels ? node->labels : json_object(), JSON_COMPACT);
    char cap[16];
    snprintf(cap, sizeof cap, "%u", node->capacity);
    zsock_send(self->store, "ssssss", "NODE", node->name, s_node_state_names[node->state],
               labels ? labels : "{}", cap, node->version);
    free(labels);
}

static void s_store_runs(s_cluster_t *self, hg_store_batch_t *batch)
{
    s_store_flush(self);
    zsock_send(self->store, "sp", "RUNS", batch);
}

static void s_store_assign(s_cluster_t *self, s_job_t *job)
{
    if (job->node[0]) {
        /* job->node points into the node table, which outlives the batch. */
        if (self->assigns_n == S_ASSIGN_BATCH ||
            (self->assigns_n && self->assigns_node != job->node))
            s_store_flush(self);
        if (!self->assigns && !(self->assigns = malloc(S_ASSIGN_BATCH * 2 * sizeof(uint64_t)))) {
            hg_error("cluster: out of memory; assignment of job %" PRIu64 " not recorded", job->id);
            return;
        }
        self->assigns_node = job->node;
        self->assigns[2 * self->assigns_n] = job->id;
        self->assigns[2 * self->assigns_n + 1] = job->epoch;
        self->assigns_n++;
    } else {
        s_store_flush(self);
        char id[24];
        snprintf(id, sizeof id, "%" PRIu64, job->id);
        zsock_send(self->store, "ss", "UNASSIGN", id);
    }
}

static void s_send_assign(s_cluster_t *self, s_job_t *job)
{
    hg_msg_t msg = {.type = HG_MSG_ASSIGN};
    hg_kv_t some[16], *kv = job->params_n <= 16 ? some : malloc(job->params_n * sizeof *kv);
    if (!kv) {
        hg_error("cluster: out of memory; job %s not sent to %s", hg_jobrec_name(job), job->node);
        return;
    }
    hg_jobrec_spec(job, &msg.u.assign, kv);
    s_send_to(self, job->node, &msg);
    if (kv != some) free(kv);
}

static void s_send_revoke(s_cluster_t *self, const char *node, uint64_t job_id, uint64_t epoch)
{
    hg_msg_t msg = {.type = HG_MSG_REVOKE};
    msg.u.revoke.job_id = job_id;
    msg.u.revoke.epoch = epoch;
    s_send_to(self, node, &msg);
}

/* Forget where a job is held (the caller has revoked it or its node is
 * gone). */
static void s_job_unassign(s_cluster_t *self, s_job_t *job)
{
    if (!job->node[0]) return;
    s_node_t *node = zhashx_lookup(self->nodes, job->node);
    if (node && node->jobs > 0) node->jobs--;
    /* Its late records of this job's runs stay acceptable (peer_guard). */
    hg_peer_guard_moved(self->guard, job->node, job->id);
    job->node = "";
    job->revoking = false;
    self->placement_due = true;
    if (job->fresh) self->fresh_waiting = true;
}

static bool s_node_allowed(s_job_t *job, const char *name)
{
    json_t *pins = job->tpl->pins;
    if (!pins || json_array_size(pins) == 0) return true;
    size_t i;
    json_t *v;
    json_array_foreach(pins, i, v)
    {
        if (json_is_string(v) && streq(json_string_value(v), name)) return true;
    }
    return false;
}

/* Least-loaded active node the job may run on, or NULL. */
/* ASSIGNs on their way to one node at most (sent by us, not yet counted in
 * its heartbeat). Placing a million jobs at once would otherwise overrun the
 * ROUTER's send queue to the node (its high-water mark is 100,000), and
 * ZeroMQ drops what does not fit; the rest is placed as the node catches up. */
#define S_ASSIGN_WINDOW 50000
/* How many jobs more than the least-loaded eligible node a node may be
 * given (see s_pick_node). */
#define S_BALANCE_SLACK 10000

static bool s_node_has_room(const s_node_t *n)
{
    return n->state == S_NODE_ACTIVE && !n->choked &&
           (int64_t) n->jobs - (int64_t) n->held < S_ASSIGN_WINDOW;
}

static s_node_t *s_pick_node(s_cluster_t *self, s_job_t *job)
{
    s_node_t *best = NULL;
    uint32_t least = UINT32_MAX; /* jobs of the least-loaded eligible node, room or not */
    for (s_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes)) {
        if (n->state != S_NODE_ACTIVE || n->choked || !s_node_allowed(job, n->name)) continue;
        if (n->jobs < least) least = n->jobs;
        if (!s_node_has_room(n)) continue;
        if (!best || n->jobs < best->jobs) best = n;
    }
    /* A node that takes its ASSIGNs faster than another (workers report
     * progress as they go) gets at most S_BALANCE_SLACK more jobs than the
     * least-loaded one: the rest waits for that one rather than piling
     * onto the faster, so a large placement still ends up even. */
    if (best && (uint64_t) best->jobs >= (uint64_t) least + S_BALANCE_SLACK) return NULL;
    return best;
}

/* Re-run the lost runs of a job on its new holder, once each. The
 * TRIGGER follows the ASSIGN on the same connection, so the worker holds
 * the job when it arrives. */
static void s_send_recoveries(s_cluster_t *self, s_job_t *job)
{
    for (size_t i = 0; i < job->recoveries_n; i++) {
        hg_msg_t msg = {.type = HG_MSG_TRIGGER};
        msg.u.trigger.job_id = job->id;
        msg.u.trigger.epoch = job->epoch;
        msg.u.trigger.reason = "recover";
        msg.u.trigger.scheduled_ms = job->recoveries[i].scheduled_ms;
        msg.u.trigger.attempt = job->recoveries[i].attempt;
        s_send_to(self, job->node, &msg);
        char at[40];
        hg_time_format_ms(job->recoveries[i].scheduled_ms, at, sizeof at);
        hg_info("cluster: job %s: re-running the lost run scheduled at %s on %s (attempt %u)",
                hg_jobrec_name(job), at, job->node, job->recoveries[i].attempt);
    }
    free(job->recoveries);
    job->recoveries = NULL;
    job->recoveries_n = 0;
}

static void s_job_assign_to(s_cluster_t *self, s_job_t *job, s_node_t *node)
{
    job->epoch++;
    job->node = node->name;
    node->jobs++;
    s_send_assign(self, job);
    s_store_assign(self, job);
    hg_debug("cluster: job %s (id %" PRIu64 ") -> %s, epoch %" PRIu64, hg_jobrec_name(job), job->id,
             node->name, job->epoch);
    s_send_recoveries(self, job);
}

/* Give every unassigned job to a live worker. Held back for lease + margin
 * after start-up so that workers of a previous master can report (HELLO)
 * what they still hold before anything is handed out twice. */
static void s_place(s_cluster_t *self)
{
    if (!self->placement_due) return;
    /* Jobs created since we started were never held by anyone: they need
     * not wait for the workers' reports. */
    bool settled =
        hg_mono_ms() - self->started_mono_ms >= self->args->lease_ms + self->args->margin_ms;
    /* Until then only fresh jobs may go: skip the walk when there are none
     * (with a million jobs it costs a tick's worth of time). */
    if (!settled && !self->fresh_waiting) return;
    self->fresh_waiting = false;
    self->placement_due = false;
    size_t placed = 0, waiting = 0;
    /* One lap of the table, from where the last walk stopped when every
     * node was full: the placed jobs before that point are not walked
     * again on each of the dozens of rounds a million jobs take. */
    size_t slots = hg_jobtab_slots(self->jobs);
    size_t i = slots ? self->place_cursor % slots : 0;
    for (size_t walked = 0; walked < slots; walked++, i = i + 1 < slots ? i + 1 : 0) {
        s_job_t *job = hg_jobtab_at(self->jobs, i);
        if (!job || job->node[0]) continue;
        if (!settled && !job->fresh) {
            waiting++;
            continue;
        }
        s_node_t *node = s_pick_node(self, job);
        if (!node) {
            waiting++;
            if (job->fresh) self->fresh_waiting = true;
            bool room = false;
            for (s_node_t *n = zhashx_first(self->nodes); n && !room; n = zhashx_next(self->nodes))
                room = s_node_has_room(n);
            /* Every node is full, or (for a job any node may run) the one
             * with room is too far ahead: every such job waits alike; go
             * on when the nodes catch up. */
            if (!room || !job->tpl->pins) {
                self->place_cursor = i;
                break;
            }
            continue;
        }
        s_job_assign_to(self, job, node);
        placed++;
    }
    if (placed)
        hg_info("cluster: placed %zu jobs%s", placed, waiting ? "" : "; every job is assigned");
    /* A large placement has gone through a lot of short-lived buffers
     * (messages, store ops): return them once everything is placed. */
    self->placed_since_trim += placed;
    if (!waiting && self->placed_since_trim >= 10000) {
        self->placed_since_trim = 0;
        malloc_trim(0);
    }
    if (waiting) {
        hg_debug("cluster: %zu jobs wait for an eligible worker", waiting);
        self->placement_due = true;
    }
}

/* Give one unassigned job to a live worker, as the walk of s_place does;
 * false when it has to wait. Used instead of the walk when the jobs just
 * added through the API are the only unassigned ones: a walk costs the
 * whole catalogue per request. */
static bool s_place_job(s_cluster_t *self, s_job_t *job)
{
    if (job->node[0]) return true;
    bool settled =
        hg_mono_ms() - self->started_mono_ms >= self->args->lease_ms + self->args->margin_ms;
    if (!settled && !job->fresh) return false;
    s_node_t *node = s_pick_node(self, job);
    if (!node) return false;
    s_job_assign_to(self, job, node);
    self->placed_since_trim++;
    return true;
}

/* After s_place_job for every job that was unassigned: nothing is due
 * any more when all of them went. */
static void s_placed_these(s_cluster_t *self, size_t placed, bool all)
{
    if (all) {
        self->placement_due = false;
        self->fresh_waiting = false;
    }
    if (placed) hg_info("cluster: placed %zu jobs%s", placed, all ? "; every job is assigned" : "");
}

/* A plug-in job that names its plug-in by name (and version) but not by
 * hash gets the hash the store holds for it, so that workers fetch it from
 * us; with none stored it stays without, and workers look in their local
 * plug-in directory. *resolved tells whether the spec's hash is ours to
 * change (false when the job gave it). Returns true when the hash changed. */
static bool s_resolve_plugin(s_cluster_t *self, hg_assign_t *spec, bool *resolved)
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
static s_job_t *s_job_put(s_cluster_t *self, s_job_t *rec)
{
    /* The template may be new: give it the stored plug-in's hash. */
    s_resolve_plugin(self, &rec->tpl->spec, &rec->tpl->sha_resolved);
    s_job_t *old = s_job_find(self, rec->id);
    if (old) {
        rec->node = old->node;
        rec->epoch = old->epoch;
        rec->last_fire_ms = old->last_fire_ms;
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

/* Add or replace a job from its API object. Takes a reference. */
static int s_job_upsert(s_cluster_t *self, json_t *json, int64_t last_fire_ms, bool fresh)
{
    json_t *idv = json_object_get(json, "id");
    const char *status = json_string_value(json_object_get(json, "status"));
    if (!json_is_integer(idv) || !status) return HG_EINVAL;
    uint64_t id = (uint64_t) json_integer_value(idv);
    s_job_t *job = s_job_find(self, id);
    bool others_due = self->placement_due;
    if (!streq(status, "active")) {
        if (job) {
            if (job->node[0]) s_send_revoke(self, job->node, job->id, job->epoch);
            s_job_unassign(self, job);
            s_store_assign(self, job);
            hg_jobtab_remove(self->jobs, id);
        }
        return 0;
    }
    hg_assign_t spec = {0};
    int rc = hg_job_to_assign(json, &spec);
    if (rc != 0) {
        hg_assign_clear(&spec);
        return rc;
    }
    spec.last_fire_ms = last_fire_ms;
    s_job_t *rec = hg_jobtab_make(self->jobs, &spec, hg_job_pinned_nodes(json), &rc);
    if (!rec) return rc;
    rec->fresh = fresh;
    if (!(job = s_job_put(self, rec))) return HG_ENOMEM;
    if (job->node[0]) {
        s_node_t *node = zhashx_lookup(self->nodes, job->node);
        if (node && S_NODE_LIVE(node) && s_node_allowed(job, node->name)) {
            /* Same holder, new spec: a new epoch replaces the old one.
             * During a handover the epoch must stay the one being
             * revoked; the next holder gets the new spec. */
            if (!job->revoking) {
                job->epoch++;
                s_send_assign(self, job);
                s_store_assign(self, job);
            }
        } else {
            if (node) s_send_revoke(self, job->node, job->id, job->epoch);
            s_job_unassign(self, job);
        }
    } else {
        self->placement_due = true;
        if (job->fresh) self->fresh_waiting = true;
    }
    /* At start-up every job is added first and placed once afterwards:
     * placing after each one walks the whole table each time. */
    if (self->loading) return 0;
    if (others_due || job->node[0])
        s_place(self);
    else
        s_placed_these(self, s_place_job(self, job), job->node[0]);
    return 0;
}

/* ----------------------------------------------------------- node events */

/* A run of a job marked recover: true was lost: queue its re-run for the
 * job's next holder. Once only: a lost re-run is not re-run again. */
static void s_recovery_add(s_cluster_t *self, const hg_run_t *run)
{
    s_job_t *job = s_job_find(self, run->job_id);
    if (!job || !job->tpl->spec.recover || (run->reason && streq(run->reason, "recover"))) return;
    s_recovery_t *r = realloc(job->recoveries, (job->recoveries_n + 1) * sizeof *r);
    if (!r) {
        hg_error("cluster: job %s: out of memory; its lost run will not be re-run",
                 hg_jobrec_name(job));
        return;
    }
    job->recoveries = r;
    r[job->recoveries_n].scheduled_ms = run->scheduled_ms;
    r[job->recoveries_n].attempt = (run->attempt ? run->attempt : 1) + 1;
    job->recoveries_n++;
}

/* A node is gone (lost: silent past its lease window; left: it said
 * LEAVE): its jobs go to others at once, its runs in flight are closed. */
static void s_node_gone(s_cluster_t *self, s_node_t *node, s_node_state_t state, const char *why)
{
    node->state = state;
    node->leaving = false;
    node->choked = false; /* nothing is owed to it now: let it hear "send HELLO" */
    node->gone_mono_ms = hg_mono_ms();
    node->inflight = 0; /* its entries are closed below */
    size_t moved = 0;
    size_t cur = 0;
    for (s_job_t *job; (job = hg_jobtab_next(self->jobs, &cur));) {
        if (streq(job->node, node->name)) {
            s_job_unassign(self, job);
            moved++;
        }
    }
    node->jobs = 0;
    /* Close the runs it had in flight: they are "lost", not "running". If
     * the worker was only cut off and reports them later, its record
     * replaces this one (same run id). */
    zlist_t *lost = zlist_new();
    for (s_inflight_t *f = zhashx_first(self->inflight); f; f = zhashx_next(self->inflight))
        if (streq(f->node, node->name)) zlist_append(lost, (void *) zhashx_cursor(self->inflight));
    size_t lost_n = zlist_size(lost);
    if (lost_n) {
        hg_store_batch_t *batch = calloc(1, sizeof *batch);
        hg_msg_t *m = calloc(1, sizeof *m);
        hg_run_t *runs = calloc(lost_n, sizeof *runs);
        if (batch && m && runs) {
            size_t k = 0;
            for (const void *key = zlist_first(lost); key; key = zlist_next(lost)) {
                s_inflight_t *f = zhashx_lookup(self->inflight, key);
                runs[k] = f->run;
                memset(&f->run, 0, sizeof f->run);
                runs[k].status = HG_RUN_LOST;
                runs[k].finished_ms = hg_now_ms();
                char text[512];
                snprintf(text, sizeof text, "worker %s %s (%s) while the run was in flight",
                         node->name, state == S_NODE_LOST ? "was lost" : "left", why);
                runs[k].error = strdup(text);
                s_recovery_add(self, &runs[k]);
                k++;
            }
            m->type = HG_MSG_RUN_FINISHED;
            m->u.runs.runs = runs;
            m->u.runs.runs_n = k;
            snprintf(batch->node, sizeof batch->node, "%s", node->name);
            batch->msg = m;
            /* No ACK for these: the worker never sent them. It may still
             * hold its own record of the same run (it was only frozen or
             * cut off), and an ACK would make it drop that record unsent. */
            batch->no_ack = true;
            s_store_runs(self, batch);
        } else {
            free(batch);
            free(m);
            free(runs);
        }
        for (const void *key = zlist_first(lost); key; key = zlist_next(lost))
            zhashx_delete(self->inflight, key);
    }
    zlist_destroy(&lost);
    hg_log_write(state == S_NODE_LOST ? HG_LOG_WARN : HG_LOG_INFO,
                 "cluster: worker %s %s (%s); reassigning its %zu jobs, %zu runs in flight "
                 "marked lost",
                 node->name, s_node_state_names[state], why, moved, lost_n);
    s_store_node(self, node);
    self->placement_due = true;
    s_place(self);
}

/* Drop a lost or left node from the table. Jobs and the assignments on
 * their way to the store point at its name: flush those, and make sure no
 * job still points at it (none should: it lost them when it went). */
static void s_node_forget(s_cluster_t *self, s_node_t *node)
{
    s_store_flush(self);
    if (node->jobs) {
        size_t cur = 0;
        for (s_job_t *job; (job = hg_jobtab_next(self->jobs, &cur));)
            if (job->node == node->name) s_job_unassign(self, job);
    }
    hg_info("cluster: forgetting worker %s (%s for %lld s)", node->name,
            s_node_state_names[node->state],
            (long long) ((hg_mono_ms() - node->gone_mono_ms) / 1000));
    hg_peer_guard_forget(self->guard, node->name);
    self->chunk_bytes -= node->chunk_bytes;
    zhashx_delete(self->nodes, node->name);
}

/* The lost or left node gone longest that may be forgotten (an operator's
 * drain is kept), or NULL. */
static s_node_t *s_node_oldest_gone(s_cluster_t *self)
{
    s_node_t *oldest = NULL;
    for (s_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        if (!S_NODE_LIVE(n) && !n->cordoned && n->gone_mono_ms &&
            (!oldest || n->gone_mono_ms < oldest->gone_mono_ms))
            oldest = n;
    return oldest;
}

/* ------------------------------------------------------------ handover */

/* Move the jobs of draining nodes, one REVOKE handshake each: the holder
 * takes the job off its timers and acknowledges with the last scheduled
 * time it fired (s_on_revoke_ack); only then is the job placed elsewhere,
 * with that time, so the new holder's misfire policy covers the moments
 * of the handover and nothing fires twice. A job stays (and keeps firing
 * on an operator-drained node) while no other node may take it. A REVOKE
 * unanswered for a lease window is sent again; a holder that dies
 * mid-drain is handled by its lease like any lost worker. */
static void s_drain(s_cluster_t *self)
{
    bool any = false;
    for (s_node_t *n = zhashx_first(self->nodes); n && !any; n = zhashx_next(self->nodes))
        any = n->state == S_NODE_DRAINING && n->jobs > 0;
    if (!any) return;
    int64_t now = hg_mono_ms();
    int64_t resend_after = self->args->lease_ms + self->args->margin_ms;
    size_t cur = 0;
    for (s_job_t *job; (job = hg_jobtab_next(self->jobs, &cur));) {
        if (!job->node[0]) continue;
        s_node_t *holder = zhashx_lookup(self->nodes, job->node);
        if (!holder || holder->state != S_NODE_DRAINING) continue;
        if (job->revoking) {
            if (now - job->revoke_sent_mono_ms < resend_after) continue;
            hg_warn("cluster: %s has not acknowledged the REVOKE of job %s; sending it again",
                    holder->name, hg_jobrec_name(job));
        } else if (!s_pick_node(self, job)) {
            continue; /* nowhere to go yet */
        }
        job->revoking = true;
        job->revoke_sent_mono_ms = now;
        s_send_revoke(self, holder->name, job->id, job->epoch);
    }
}

/* A worker's acknowledgement of a REVOKE. Only the one for the handover
 * under way (same holder, same epoch) moves the job; acknowledgements of
 * other revokes (pause, delete, reconciliation) need nothing more. */
static void s_on_revoke_ack(s_cluster_t *self, const char *name, hg_revoke_t *ack)
{
    s_job_t *job = s_job_find(self, ack->job_id);
    if (!job || !job->revoking || !streq(job->node, name) || ack->epoch != job->epoch) {
        hg_debug("cluster: REVOKE acknowledgement of job %" PRIu64 " epoch %" PRIu64
                 " from %s needs nothing",
                 ack->job_id, ack->epoch, name);
        return;
    }
    if (ack->last_fire_ms > job->last_fire_ms) job->last_fire_ms = ack->last_fire_ms;
    char last[40] = "never";
    if (job->last_fire_ms) hg_time_format_ms(job->last_fire_ms, last, sizeof last);
    s_job_unassign(self, job);
    s_store_assign(self, job);
    s_place(self);
    hg_info("cluster: job %s handed over by %s (last scheduled fire %s) to %s", hg_jobrec_name(job),
            name, last, job->node[0] ? job->node : "(nobody yet)");
}

/* A worker announced a graceful leave (SIGTERM): it fires nothing more;
 * place nothing on it and take its jobs back now, while its runs in
 * flight finish. Its final LEAVE ends the session. */
static void s_node_leaving(s_cluster_t *self, s_node_t *node)
{
    node->leaving = true;
    node->state = S_NODE_DRAINING;
    hg_info("cluster: worker %s is leaving; handing its %u jobs over", node->name, node->jobs);
    s_store_node(self, node);
    s_drain(self);
}

/* Operator request: drain (no new placements, hand every job over) or
 * activate (take placements again). A node that is not live keeps its
 * state; the choice applies when it joins again. 0, HG_ENOTFOUND (unknown
 * node) or HG_EUNAVAIL (activate a node that is leaving). */
static int s_node_set_drain(s_cluster_t *self, const char *name, bool drain)
{
    s_node_t *node = zhashx_lookup(self->nodes, name);
    if (!node) return HG_ENOTFOUND;
    if (drain) {
        node->cordoned = true;
        if (node->state == S_NODE_ACTIVE) {
            node->state = S_NODE_DRAINING;
            hg_info("cluster: draining worker %s: handing its %u jobs over", node->name,
                    node->jobs);
            s_store_node(self, node);
        }
        s_drain(self);
        return 0;
    }
    if (node->leaving) return HG_EUNAVAIL;
    node->cordoned = false;
    if (node->state == S_NODE_DRAINING) {
        node->state = S_NODE_ACTIVE;
        hg_info("cluster: worker %s is active again", node->name);
        s_store_node(self, node);
        self->placement_due = true;
        s_place(self);
    }
    return 0;
}

/* Held jobs of a HELLO in parts, gathered until the last part. */
typedef struct {
    hg_held_t *held;         /* entries of the parts so far (owned) */
    size_t held_n;           /* entries in held */
    uint32_t parts;          /* parts so far */
    int64_t started_mono_ms; /* its first part; dropped after S_HELLO_PARTS_TTL_MS */
    size_t *total;           /* the cluster's count of held entries in all (borrowed) */
} s_hello_parts_t;

/* Held jobs one worker may report in all (a bound on what a HELLO in
 * parts makes us keep; 512 MB). */
#define S_HELLO_HELD_MAX (16u << 20)

/* Held jobs one HELLO may list: no worker holds many more jobs than the
 * master has (a job deleted while it held it is revoked at once), so the
 * bound follows the job table, with room for a small catalogue. All HELLOs
 * in parts under way together may list twice that. */
static size_t s_hello_held_cap(s_cluster_t *self)
{
    size_t cap = 2 * hg_jobtab_size(self->jobs) + 65536;
    return cap < S_HELLO_HELD_MAX ? cap : S_HELLO_HELD_MAX;
}

static void s_hello_parts_free(void **item)
{
    s_hello_parts_t *p = *item;
    if (p) {
        if (p->total) *p->total -= p->held_n;
        free(p->held);
        free(p);
        *item = NULL;
    }
}

/* HELLOs in parts that never finished (a peer that stopped half way). */
static void s_hello_parts_expire(s_cluster_t *self, int64_t now_mono_ms)
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
static bool s_hello_gather(s_cluster_t *self, const char *name, hg_hello_t *h)
{
    s_hello_parts_t *p = zhashx_lookup(self->hello_parts, name);
    if (h->part == 0) {
        zhashx_delete(self->hello_parts, name);
        if (zhashx_size(self->hello_parts) >= S_HELLO_PARTS_MAX) {
            s_send_error(self, name, HG_EUNAVAIL,
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
        s_send_error(self, name, HG_ETOOBIG, "HELLO lists too many held jobs");
        zhashx_delete(self->hello_parts, name);
        return false;
    }
    if (self->hello_held_total + h->held_n > 2 * cap) {
        s_send_error(self, name, HG_EUNAVAIL,
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
    p->parts++;
    if (h->more) return false;
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
static bool s_hello_conn_ok(s_cluster_t *self, const char *name)
{
    s_node_t *node = zhashx_lookup(self->nodes, name);
    if (!node || hg_conn_may_take(&node->conn, S_NODE_LIVE(node), &self->cur)) return true;
    hg_warn("cluster: node %s has a live session with another key; HELLO on a second "
            "connection refused",
            name);
    s_send_error(self, name, HG_EEXIST, "node has a live session with another key");
    return false;
}

/* The node's session moves to the connection of its accepted HELLO. */
static void s_node_take_conn(s_cluster_t *self, s_node_t *node)
{
    if (self->by_conn) {
        if (node->conn.id_n) hg_conn_names_forget(self->by_conn, &node->conn);
        hg_conn_names_put(self->by_conn, &self->cur, node->name);
    }
    node->conn = self->cur;
}

static void s_on_hello(s_cluster_t *self, const char *name, hg_msg_t *msg)
{
    hg_hello_t *h = &msg->u.hello;
    if (!streq(h->node, name)) {
        hg_warn("cluster: HELLO names node %s but the connection's key is registered for "
                "node %s; refused",
                h->node, name);
        s_send_error(self, name, HG_EINVAL, "HELLO node name is not the node of this key");
        return;
    }
    if (!s_hello_conn_ok(self, name)) return;
    if ((h->part > 0 || h->more) && !s_hello_gather(self, name, h)) return;
    s_node_t *node = zhashx_lookup(self->nodes, name);
    if (!node && zhashx_size(self->nodes) >= S_NODES_MAX) {
        s_node_t *oldest = s_node_oldest_gone(self);
        if (!oldest) {
            hg_error("cluster: HELLO from %s refused: the master knows %d workers already", name,
                     S_NODES_MAX);
            s_send_error(self, name, HG_ETOOBIG, "the master knows too many workers");
            return;
        }
        s_node_forget(self, oldest);
    }
    if (!node) {
        node = calloc(1, sizeof *node);
        if (!node) return;
        snprintf(node->name, sizeof node->name, "%s", name);
        zhashx_insert(self->nodes, name, node);
    }
    bool was_active = S_NODE_LIVE(node) && node->last_hb_mono_ms > 0;
    node->choked = false;
    node->gone_mono_ms = 0;
    s_node_take_conn(self, node);
    /* A new session: whatever leave it announced is over; a drain an
     * operator asked for stays until they activate the node. */
    node->leaving = false;
    node->state = node->cordoned ? S_NODE_DRAINING : S_NODE_ACTIVE;
    node->capacity = h->capacity;
    snprintf(node->version, sizeof node->version, "%s", h->version ? h->version : "");
    json_decref(node->labels);
    node->labels = json_object();
    for (size_t i = 0; i < h->labels_n; i++)
        json_object_set_new(node->labels, h->labels[i].key, json_string(h->labels[i].value));
    node->last_hb_mono_ms = hg_mono_ms();
    node->last_hb_wall_ms = hg_now_ms();
    node->unacked = h->unacked;
    node->held = (uint32_t) h->held_n;

    hg_msg_t welcome = {.type = HG_MSG_WELCOME};
    welcome.u.welcome.master = (char *) self->args->master_name;
    welcome.u.welcome.master_epoch = self->master_epoch;
    welcome.u.welcome.heartbeat_ms = (uint32_t) self->args->heartbeat_ms;
    welcome.u.welcome.lease_ms = (uint32_t) self->args->lease_ms;

    /* Reconcile what the worker says it holds with our table: keep what
     * is still ours to give (adopting it after a master restart), revoke
     * the rest. REVOKEs go out before WELCOME; the worker handles them
     * before its next lease extension. */
    size_t adopted = 0, revoked = 0;
    for (size_t i = 0; i < h->held_n; i++) {
        hg_held_t *hj = &h->held[i];
        s_job_t *job = s_job_find(self, hj->job_id);
        bool keep = false;
        if (job) {
            if (streq(job->node, name)) {
                keep = hj->epoch == job->epoch;
            } else if (!job->node[0]) {
                keep = s_node_allowed(job, name);
                if (keep) {
                    job->node = node->name;
                    node->jobs++;
                    adopted++;
                }
            }
        }
        if (keep) {
            if (hj->epoch > job->epoch) job->epoch = hj->epoch;
            if (hj->last_fire_ms > job->last_fire_ms) job->last_fire_ms = hj->last_fire_ms;
            job->kept = true; /* cleared by the walk below: job->node is this node */
            job->current = hj->version == job->version && hj->epoch == job->epoch;
        } else {
            s_send_revoke(self, name, hj->job_id, hj->epoch);
            revoked++;
        }
    }
    s_send_to(self, name, &welcome);
    /* Re-send every assignment of this node: the spec may have changed
     * while it was away, and a restarted worker holds nothing. node->jobs
     * counts them (adoptions included): when it is 0 there is nothing to
     * find, and the walk over every job is skipped (a worker repeats HELLO
     * while a master loading a million jobs cannot answer yet). */
    bool any = node->jobs > 0;
    node->jobs = 0;
    size_t cur = 0, sent = 0, deferred = 0;
    for (s_job_t *job; any && (job = hg_jobtab_next(self->jobs, &cur));) {
        if (streq(job->node, name)) {
            /* Sends never wait (s_send_to), so at most a window of ASSIGNs
             * go now, as placement does; a job the worker does not hold
             * beyond that is placed again, as the worker catches up. */
            if (!job->kept && sent >= S_ASSIGN_WINDOW) {
                hg_peer_guard_moved(self->guard, name, job->id);
                job->node = "";
                job->revoking = false;
                if (job->fresh) self->fresh_waiting = true;
                s_store_assign(self, job);
                deferred++;
                continue;
            }
            if (!job->current) sent++;
            if (!job->kept) job->epoch++;
            /* A worker that says it holds this version under this epoch
             * has the spec: after a master restart a million ASSIGNs
             * would only repeat what it holds. */
            if (!job->current) s_send_assign(self, job);
            job->kept = job->current = false;
            job->revoking = false; /* a draining node is asked again, under this epoch */
            node->jobs++;
            s_store_assign(self, job);
            s_send_recoveries(self, job); /* lost runs of a job it adopted */
        }
    }
    hg_info("cluster: worker %s %s%s (capacity %u, holds %zu, adopted %zu, revoked %zu, "
            "unacked %u, re-placed %zu)",
            name, was_active ? "re-joined" : "joined", node->cordoned ? " as draining" : "",
            node->capacity, h->held_n, adopted, revoked, h->unacked, deferred);
    s_store_node(self, node);
    self->placement_due = true;
    s_place(self);
}

static void s_on_heartbeat(s_cluster_t *self, const char *name, hg_msg_t *msg)
{
    s_node_t *node = zhashx_lookup(self->nodes, name);
    if (!node || !S_NODE_SESSION(node)) {
        /* Unknown (we restarted), declared lost or choked: its lease is not
         * renewed until it says HELLO again and we reconcile. */
        s_send_error(self, name, HG_ENOTFOUND, "no session for this node; send HELLO");
        return;
    }
    node->last_hb_mono_ms = hg_mono_ms();
    node->last_hb_wall_ms = hg_now_ms();
    s_chunks_read(self, node, msg->u.heartbeat.echo);
    node->running = msg->u.heartbeat.running;
    node->held = msg->u.heartbeat.jobs;
    node->unacked = msg->u.heartbeat.unacked;
    hg_msg_t echo = {.type = HG_MSG_HEARTBEAT};
    echo.u.heartbeat.echo = msg->seq;
    echo.u.heartbeat.jobs = node->jobs;
    s_send_to(self, name, &echo);
}

/* Remember a run as in flight, within the caps (s_node_gone closes it as
 * lost if its worker goes). */
static void s_inflight_add(s_cluster_t *self, s_node_t *node, const hg_run_t *r)
{
    s_inflight_t *old = zhashx_lookup(self->inflight, r->run_id);
    if (!old &&
        (node->inflight >= S_INFLIGHT_NODE_MAX || zhashx_size(self->inflight) >= S_INFLIGHT_MAX)) {
        if (!self->inflight_capped)
            hg_warn("cluster: too many runs in flight to track (%s has %u, %zu in all); runs "
                    "started beyond are recorded but not closed as lost with their worker",
                    node->name, node->inflight, zhashx_size(self->inflight));
        self->inflight_capped = true;
        return;
    }
    s_inflight_t *f = calloc(1, sizeof *f);
    if (!f || hg_run_copy(&f->run, r) != 0) {
        free(f);
        return;
    }
    snprintf(f->node, sizeof f->node, "%s", node->name);
    if (old) {
        s_node_t *was = zhashx_lookup(self->nodes, old->node);
        if (was && was->inflight) was->inflight--;
    }
    zhashx_update(self->inflight, r->run_id, f);
    node->inflight++;
}

/* Forget a run in flight; true when there was one. */
static bool s_inflight_remove(s_cluster_t *self, s_node_t *node, const uint8_t *run_id)
{
    s_inflight_t *f = zhashx_size(self->inflight) ? zhashx_lookup(self->inflight, run_id) : NULL;
    if (!f) return false;
    s_node_t *owner = streq(f->node, node->name) ? node : zhashx_lookup(self->nodes, f->node);
    if (owner && owner->inflight) owner->inflight--;
    zhashx_delete(self->inflight, run_id);
    if (zhashx_size(self->inflight) < S_INFLIGHT_MAX / 2) self->inflight_capped = false;
    return true;
}

/* Acknowledge refused records at once: the sender must not send them
 * again forever, and nothing of them is stored. */
static void s_ack_refused(s_cluster_t *self, const char *name, uint8_t (*ids)[HG_PROTO_RUN_ID_SIZE],
                          size_t n)
{
    if (!n) return;
    hg_msg_t ack = {.type = HG_MSG_ACK};
    ack.u.ack.run_ids_n = n;
    ack.u.ack.run_ids = ids;
    s_send_to(self, name, &ack);
}

/* Keep in runs only the records the guard accepts; the refused ones are
 * cleared, counted and (RUN_FINISHED) their ids put in refused. Returns
 * how many were refused. */
static size_t s_runs_filter(s_cluster_t *self, const char *name, hg_msg_t *msg,
                            uint8_t (*refused)[HG_PROTO_RUN_ID_SIZE])
{
    hg_runs_t *runs = &msg->u.runs;
    int64_t now = hg_now_ms(), mono = hg_mono_ms();
    size_t kept = 0, n_refused = 0;
    for (size_t i = 0; i < runs->runs_n; i++) {
        hg_run_t *r = &runs->runs[i];
        s_job_t *job = s_job_find(self, r->job_id);
        hg_peer_reason_t why = hg_peer_guard_check_run(
            self->guard, name, true, job ? job->node : NULL, r->job_id, r->scheduled_ms, now);
        if (why == HG_PEER_OK) {
            /* A run in flight belongs to the node and job that started it:
             * another may not close it (its id is no secret). */
            s_inflight_t *f =
                zhashx_size(self->inflight) ? zhashx_lookup(self->inflight, r->run_id) : NULL;
            if (f && (!streq(f->node, name) || f->run.job_id != r->job_id))
                why = HG_PEER_NOT_HOLDER;
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

static void s_on_runs(s_cluster_t *self, const char *name, hg_msg_t **msgp)
{
    hg_msg_t *msg = *msgp;
    s_node_t *node = zhashx_lookup(self->nodes, name);
    hg_runs_t *runs = &msg->u.runs;
    if (!node || !S_NODE_SESSION(node)) {
        /* Nothing is taken and nothing acknowledged: a real worker whose
         * session ended (lost, choked, master restarted) says HELLO again
         * and sends its records inside the new session. */
        for (size_t i = 0; i < runs->runs_n; i++)
            hg_peer_guard_refused(self->guard, name, HG_PEER_NO_SESSION,
                                  hg_msg_type_name(msg->type), runs->runs[i].job_id, NULL,
                                  hg_mono_ms());
        s_send_error(self, name, HG_ENOTFOUND, "no session for this node; send HELLO");
        return;
    }
    node->last_hb_mono_ms = hg_mono_ms();
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
        if (msg->type == HG_MSG_RUN_STARTED)
            s_inflight_add(self, node, r);
        else if (s_inflight_remove(self, node, r->run_id) && had_start)
            had_start[i] = 1;
        s_job_t *job = s_job_find(self, r->job_id);
        if (job && r->scheduled_ms > job->last_fire_ms && r->reason &&
            (streq(r->reason, "schedule") || streq(r->reason, "misfire")))
            job->last_fire_ms = r->scheduled_ms;
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
    s_store_runs(self, batch);
}

/* A standby serves no worker: it answers everything but ERROR with
 * ERROR {HG_EUNAVAIL, "not the leader", leader endpoint}, and the worker
 * dials the leader. Nothing from a worker is kept or acknowledged here;
 * its run records stay with it until the leader acknowledges them. */
static void s_refuse_standby(s_cluster_t *self, const char *name, hg_msg_t *msg)
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
    s_send_to(self, name, &err);
}

/* ---------------------------------------------------------- plug-ins */

/* The plug-in loader answered: plugin_serve serves whoever waited. */
static int s_on_loader(zloop_t *loop, zsock_t *sock, void *arg)
{
    s_cluster_t *self = arg;
    hg_plugin_serve_on_loader(self->pserve);
    return 0;
}

/* Resolve every template's plug-in hash again after the plug-in store
 * changed, marking the templates whose hash changed. Returns whether any
 * did. */
static bool s_resolve_templates(s_cluster_t *self)
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
static void s_plugin_put(s_cluster_t *self, const char *name, const char *version, const char *sha)
{
    if (hg_plugin_index_put(self->plugins, name, version, sha) != 0) return;
    /* Bytes of a replaced (name, version) must not be served from an old
     * open copy of another hash: copies are per hash, nothing to drop. */
    size_t moved = 0;
    bool changed = s_resolve_templates(self);
    size_t cur = 0;
    for (s_job_t *job; changed && (job = hg_jobtab_next(self->jobs, &cur));) {
        if (!job->tpl->changed || !job->node[0]) continue;
        s_node_t *node = zhashx_lookup(self->nodes, job->node);
        /* During a handover the epoch stays the one being revoked; the
         * next holder gets the new spec. */
        if (!node || !S_NODE_LIVE(node) || job->revoking) continue;
        job->epoch++;
        s_send_assign(self, job);
        s_store_assign(self, job);
        moved++;
    }
    hg_info("cluster: plug-in %s %s is sha256 %s%s", name, version, sha,
            moved ? "; jobs naming it re-assigned" : "");
}

static void s_plugin_remove(s_cluster_t *self, const char *sha)
{
    hg_plugin_index_remove(self->plugins, sha);
    hg_plugin_serve_forget(self->pserve, sha);
    bool changed = s_resolve_templates(self);
    size_t cur = 0;
    for (s_job_t *job; changed && (job = hg_jobtab_next(self->jobs, &cur));) {
        if (!job->tpl->changed || !job->node[0]) continue;
        if (job->revoking) continue; /* the next holder gets the new spec */
        job->epoch++;
        s_send_assign(self, job);
        s_store_assign(self, job);
    }
}

/* The sender's node when it has a session; else NULL, and the refusal
 * of msg is counted (and logged once per burst). */
static s_node_t *s_has_session(s_cluster_t *self, const char *name, hg_msg_t *msg)
{
    s_node_t *node = zhashx_lookup(self->nodes, name);
    if (node && S_NODE_SESSION(node)) return node;
    uint64_t job_id = msg->type == HG_MSG_REVOKE ? msg->u.revoke.job_id : 0;
    hg_peer_guard_refused(self->guard, name, HG_PEER_NO_SESSION, hg_msg_type_name(msg->type),
                          job_id, NULL, hg_mono_ms());
    return NULL;
}

/* Who sent this frame: the one place that decides which node a message
 * comes from. With CURVE, the node its key is bound to (User-Id, set by
 * the ZAP handler, zap.h); in plaintext test mode, the node of the HELLO
 * accepted on this connection, or for a HELLO the node it names. The
 * routing id the peer chose is never trusted: a peer holding worker-1's
 * key could pick "worker-2". Fills name and self->cur. Returns false when
 * the message must be dropped: a leader answers a message other than
 * HELLO from a connection that is not its node's current session with
 * ERROR ENOTFOUND, which makes a real worker say HELLO again. */
static bool s_frame_sender(s_cluster_t *self, zframe_t *id, zframe_t *body, const hg_msg_t *msg,
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
    s_node_t *node = *name ? zhashx_lookup(self->nodes, name) : NULL;
    if (*name && (!node || !node->conn.id_n || hg_conn_same(&node->conn, &self->cur))) return true;
    if (msg->type != HG_MSG_ERROR)
        s_send_error(self, name, HG_ENOTFOUND, "no session on this connection; send HELLO");
    return false;
}

static int s_on_router(zloop_t *loop, zsock_t *router, void *arg)
{
    s_cluster_t *self = arg;
    zmsg_t *z = zmsg_recv(router);
    if (!z) return 0;
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
        s_send_error(self, name, rc ? rc : HG_ETRAILING, text);
    } else if (!self->leading) {
        s_refuse_standby(self, name, msg);
    } else {
        switch (msg->type) {
        case HG_MSG_HELLO:
            s_on_hello(self, name, msg);
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
                s_send_error(self, name, HG_ENOTFOUND, "no session for this node; send HELLO");
            } else if (self->pserve) {
                hg_plugin_serve_get(self->pserve, name, &msg->u.plugin_get);
            } else {
                s_send_error(self, name, HG_EUNAVAIL, "the master cannot serve plug-ins");
            }
            break;
        case HG_MSG_LEAVE: {
            s_node_t *node = s_has_session(self, name, msg);
            if (node) {
                if (msg->u.leave.handover)
                    s_node_leaving(self, node);
                else
                    s_node_gone(self, node, S_NODE_LEFT, "graceful leave");
            }
            break;
        }
        case HG_MSG_REVOKE:
            if (s_has_session(self, name, msg)) s_on_revoke_ack(self, name, &msg->u.revoke);
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
            s_send_error(self, name, HG_EUNKNOWN, "message type not accepted by the master");
        }
    }
    self->cur_name = NULL; /* name lives on this stack */
    hg_msg_destroy(&msg);
    zframe_destroy(&id);
    zframe_destroy(&body);
    zmsg_destroy(&z);
    s_store_flush(self);
    return 0;
}

/* ------------------------------------------------------------ store side */

static int s_on_store(zloop_t *loop, zsock_t *sock, void *arg)
{
    s_cluster_t *self = arg;
    char *cmd = NULL;
    void *ptr = NULL;
    if (zsock_recv(sock, "sp", &cmd, &ptr) != 0) return 0;
    if (cmd && streq(cmd, "DONE") && ptr) {
        hg_store_batch_t *batch = ptr;
        hg_msg_t *m = batch->msg;
        if (m->type == HG_MSG_RUN_FINISHED && !batch->no_ack) {
            /* Durable now: tell the worker it may forget these records. */
            hg_msg_t ack = {.type = HG_MSG_ACK};
            ack.u.ack.run_ids_n = m->u.runs.runs_n;
            ack.u.ack.run_ids = malloc(HG_PROTO_RUN_ID_SIZE * m->u.runs.runs_n);
            if (ack.u.ack.run_ids) {
                for (size_t i = 0; i < m->u.runs.runs_n; i++)
                    memcpy(ack.u.ack.run_ids[i], m->u.runs.runs[i].run_id, HG_PROTO_RUN_ID_SIZE);
                s_send_to(self, batch->node, &ack);
                free(ack.u.ack.run_ids);
            }
        }
        hg_store_batch_destroy(&batch);
    }
    zstr_free(&cmd);
    return 0;
}

/* -------------------------------------------------------------- api side */

static json_t *s_node_json(s_node_t *n)
{
    char ts[40];
    hg_time_format_ms(n->last_hb_wall_ms, ts, sizeof ts);
    json_t *labels = n->labels ? json_incref(n->labels) : json_object();
    return json_pack("{s:s, s:s, s:o, s:i, s:s, s:s, s:i, s:i, s:i, s:i, s:b, s:b}", "name",
                     n->name, "state", s_node_state_names[n->state], "labels", labels, "capacity",
                     (json_int_t) n->capacity, "version", n->version, "last_heartbeat", ts, "jobs",
                     (json_int_t) n->jobs, "held", (json_int_t) n->held, "running",
                     (json_int_t) n->running, "unacked", (json_int_t) n->unacked, "leaving",
                     n->leaving, "drained", n->cordoned);
}

static json_t *s_nodes_json(s_cluster_t *self)
{
    json_t *arr = json_array();
    for (s_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        json_array_append_new(arr, s_node_json(n));
    return arr;
}

static int s_on_api(zloop_t *loop, zsock_t *sock, void *arg)
{
    s_cluster_t *self = arg;
    zmsg_t *req = zmsg_recv(sock);
    if (!req) return 0;
    zframe_t *id = zmsg_pop(req);
    zframe_t *empty = zmsg_pop(req);
    char *cmd = zmsg_popstr(req);
    zmsg_t *rep = zmsg_new();
    zmsg_append(rep, &id);
    zmsg_append(rep, &empty);
    if (!cmd) {
        zmsg_addstrf(rep, "%d", HG_EINVAL);
    } else if (streq(cmd, "UPSERT")) {
        char *text = zmsg_popstr(req);
        json_error_t jerr;
        json_t *job = text ? json_loads(text, 0, &jerr) : NULL;
        int rc = job ? s_job_upsert(self, job, 0, true) : HG_EINVAL;
        json_decref(job);
        zstr_free(&text);
        zmsg_addstrf(rep, "%d", rc);
    } else if (streq(cmd, "UPSERTS")) {
        /* A batch: every job first, placement once, then where each went.
         * The array comes by reference (see hg_cluster_job_upsert_many). */
        json_t *jobs = NULL;
        zframe_t *ref = zmsg_pop(req);
        if (ref && zframe_size(ref) == sizeof jobs) memcpy(&jobs, zframe_data(ref), sizeof jobs);
        zframe_destroy(&ref);
        int rc = json_is_array(jobs) ? 0 : HG_EINVAL;
        size_t i;
        json_t *job;
        bool others_due = self->placement_due;
        self->loading = true;
        json_array_foreach(jobs, i, job)
        {
            int one = s_job_upsert(self, job, 0, true);
            if (one != 0 && rc == 0) rc = one;
        }
        self->loading = false;
        if (others_due) s_place(self);
        size_t placed = 0;
        bool all = true;
        json_t *nodes = json_array();
        json_array_foreach(jobs, i, job)
        {
            s_job_t *j =
                s_job_find(self, (uint64_t) json_integer_value(json_object_get(job, "id")));
            if (j && !others_due && !j->node[0]) {
                bool went = s_place_job(self, j);
                placed += went;
                all = all && went;
            }
            json_array_append_new(nodes, j && j->node[0] ? json_string(j->node) : json_null());
        }
        if (!others_due) s_placed_these(self, placed, all);
        json_decref(jobs);
        zmsg_addstrf(rep, "%d", rc);
        zmsg_addmem(rep, &nodes, sizeof nodes); /* the caller takes it */
    } else if (streq(cmd, "REMOVE") || streq(cmd, "JOBNODE")) {
        char *text = zmsg_popstr(req);
        uint64_t job_id = text ? strtoull(text, NULL, 10) : 0;
        zstr_free(&text);
        s_job_t *job = s_job_find(self, job_id);
        if (streq(cmd, "JOBNODE")) {
            zmsg_addstr(rep, "0");
            zmsg_addstr(rep, job ? job->node : "");
        } else {
            if (job) {
                if (job->node[0]) s_send_revoke(self, job->node, job->id, job->epoch);
                s_job_unassign(self, job);
                s_store_assign(self, job);
                hg_jobtab_remove(self->jobs, job_id);
            }
            zmsg_addstr(rep, "0");
        }
    } else if (streq(cmd, "TRIGGER")) {
        char *text = zmsg_popstr(req);
        char *params = zmsg_popstr(req);
        uint64_t job_id = text ? strtoull(text, NULL, 10) : 0;
        s_job_t *job = s_job_find(self, job_id);
        s_node_t *node = job && job->node[0] ? zhashx_lookup(self->nodes, job->node) : NULL;
        if (!job) {
            zmsg_addstrf(rep, "%d", HG_ENOTFOUND);
        } else if (!node || !S_NODE_SESSION(node) || node->leaving) {
            zmsg_addstrf(rep, "%d", HG_EUNAVAIL);
        } else {
            hg_msg_t msg = {.type = HG_MSG_TRIGGER};
            msg.u.trigger.job_id = job->id;
            msg.u.trigger.epoch = job->epoch;
            msg.u.trigger.reason = "manual";
            json_t *pj = params && *params ? json_loads(params, 0, NULL) : NULL;
            size_t n = json_is_object(pj) ? json_object_size(pj) : 0;
            hg_kv_t *kv = n ? calloc(n, sizeof *kv) : NULL;
            const char *k;
            json_t *v;
            size_t i = 0;
            if (kv) {
                json_object_foreach(pj, k, v)
                {
                    if (json_is_string(v)) {
                        kv[i].key = (char *) k;
                        kv[i].value = (char *) json_string_value(v);
                        i++;
                    }
                }
            }
            msg.u.trigger.params = kv;
            msg.u.trigger.params_n = i;
            s_send_to(self, node->name, &msg);
            free(kv);
            json_decref(pj);
            zmsg_addstr(rep, "0");
            zmsg_addstr(rep, node->name);
        }
        zstr_free(&text);
        zstr_free(&params);
    } else if (streq(cmd, "PLUGIN_PUT")) {
        char *name = zmsg_popstr(req), *version = zmsg_popstr(req), *sha = zmsg_popstr(req);
        if (name && version && hg_plugin_sha256_valid(sha)) {
            s_plugin_put(self, name, version, sha);
            zmsg_addstr(rep, "0");
        } else {
            zmsg_addstrf(rep, "%d", HG_EINVAL);
        }
        zstr_free(&name);
        zstr_free(&version);
        zstr_free(&sha);
    } else if (streq(cmd, "PLUGIN_REMOVE")) {
        char *sha = zmsg_popstr(req);
        if (hg_plugin_sha256_valid(sha)) {
            s_plugin_remove(self, sha);
            zmsg_addstr(rep, "0");
        } else {
            zmsg_addstrf(rep, "%d", HG_EINVAL);
        }
        zstr_free(&sha);
    } else if (streq(cmd, "NODES")) {
        json_t *arr = s_nodes_json(self);
        char *text = json_dumps(arr, JSON_COMPACT);
        zmsg_addstr(rep, "0");
        zmsg_addstr(rep, text ? text : "[]");
        free(text);
        json_decref(arr);
    } else if (streq(cmd, "DRAIN") || streq(cmd, "ACTIVATE")) {
        char *name = zmsg_popstr(req);
        int rc = name ? s_node_set_drain(self, name, streq(cmd, "DRAIN")) : HG_EINVAL;
        zmsg_addstrf(rep, "%d", rc);
        s_node_t *node = rc == 0 ? zhashx_lookup(self->nodes, name) : NULL;
        if (node) {
            json_t *j = s_node_json(node);
            char *text = json_dumps(j, JSON_COMPACT);
            zmsg_addstr(rep, text ? text : "{}");
            free(text);
            json_decref(j);
        }
        zstr_free(&name);
    } else if (streq(cmd, "ROLE")) {
        zmsg_addstr(rep, "0");
        zmsg_addstr(rep, self->leading ? "leader" : "standby");
        zmsg_addstrf(rep, "%" PRIu64, self->master_epoch);
        zmsg_addstr(rep, self->leading ? self->args->master_name : self->leader_name);
        zmsg_addstr(rep, self->leading ? "" : self->leader_api);
    } else if (streq(cmd, "STATS")) {
        int live = 0;
        for (s_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
            live += S_NODE_LIVE(n);
        zmsg_addstr(rep, "0");
        zmsg_addstrf(rep, "%d", live);
        zmsg_addstrf(rep, "%zu", hg_jobtab_size(self->jobs));
    } else {
        zmsg_addstrf(rep, "%d", HG_EINVAL);
    }
    zstr_free(&cmd);
    zmsg_destroy(&req);
    zmsg_send(&rep, sock);
    s_store_flush(self);
    return 0;
}

/* ------------------------------------------------------------------ tick */

/* What peers made us keep, past its time: refusal bursts to sum up, HELLOs
 * in parts never finished, one node gone for longer than
 * S_NODE_FORGET_MS per tick (a forget may walk the job table). */
static void s_expire(s_cluster_t *self, int64_t now)
{
    hg_peer_guard_tick(self->guard, now);
    s_hello_parts_expire(self, now);
    s_node_t *oldest = s_node_oldest_gone(self);
    if (oldest && now - oldest->gone_mono_ms > S_NODE_FORGET_MS) s_node_forget(self, oldest);
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    s_cluster_t *self = arg;
    if (!self->leading) return 0;
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
    if (stalled)
        for (s_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
            if (S_NODE_LIVE(n)) n->last_hb_mono_ms += now - self->last_tick_mono_ms;
    self->last_tick_mono_ms = now;
    for (s_node_t *n = stalled ? NULL : zhashx_first(self->nodes); n;
         n = zhashx_next(self->nodes)) {
        if (S_NODE_LIVE(n) && now - n->last_hb_mono_ms > window) {
            char why[96];
            snprintf(why, sizeof why, "silent for %lld ms", (long long) (now - n->last_hb_mono_ms));
            s_node_gone(self, n, S_NODE_LOST, why);
            break; /* the hash was iterated inside; resume next tick */
        }
    }
    s_expire(self, now);
    s_place(self);
    s_drain(self);
    s_store_flush(self);
    return 0;
}

/* Add one job of the catalogue (API form) when we start leading. */
static void s_load_one(s_cluster_t *self, json_t *job, json_t *last_fires, size_t *loaded)
{
    char key[24];
    snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(job, "id")));
    json_t *lf = json_object_get(last_fires, key);
    if (s_job_upsert(self, job, lf ? json_integer_value(lf) : 0, false) == 0)
        (*loaded)++;
    else
        hg_error("cluster: job %s cannot be scheduled (invalid spec); skipped",
                 json_string_value(json_object_get(job, "name")));
}

/* Where the jobs of the start-up load go. */
typedef struct {
    s_cluster_t *self;  /* the actor */
    json_t *last_fires; /* job id text -> last scheduled ms (borrowed), or NULL */
    size_t *loaded;     /* jobs added so far */
} s_put_ctx_t;

static void s_load_put(void *arg, hg_jobrec_t *rec)
{
    s_put_ctx_t *ctx = arg;
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%" PRIu64, rec->id);
    json_t *lf = ctx->last_fires ? json_object_get(ctx->last_fires, idtext) : NULL;
    rec->last_fire_ms = lf ? json_integer_value(lf) : 0;
    if (s_job_put(ctx->self, rec)) {
        (*ctx->loaded)++;
        ctx->self->placement_due = true;
    }
}

/* The active jobs: from jobs when main passed them, else streamed from
 * MySQL straight into the job table (a million jobs as JSON took
 * gigabytes, and seconds of parsing). A result that breaks off is read on
 * from the last job added, a few times, before the rest is given up
 * (logged). */
static void s_load_jobs(s_cluster_t *self, json_t *jobs, json_t *last_fires, size_t *loaded)
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
static void s_load_drained(s_cluster_t *self)
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
        s_node_t *node = zhashx_lookup(self->nodes, row[0]);
        if (!node) {
            node = calloc(1, sizeof *node);
            if (!node) break;
            snprintf(node->name, sizeof node->name, "%s", row[0]);
            node->state = row[1] && streq(row[1], "left") ? S_NODE_LEFT : S_NODE_LOST;
            node->last_hb_wall_ms = row[2] ? strtoll(row[2], NULL, 10) : 0;
            zhashx_insert(self->nodes, node->name, node);
        }
        node->cordoned = true;
        if (node->state == S_NODE_ACTIVE) node->state = S_NODE_DRAINING;
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
static void s_lead(s_cluster_t *self, uint64_t epoch, json_t *jobs, json_t *last_fires,
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
    self->started_mono_ms = hg_mono_ms();
    self->store = hg_store_new(self->args->store);
    zloop_reader(self->loop, zactor_sock(self->store), s_on_store, self);
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
    json_decref(jobs);
    json_decref(last_fires);
    /* Loading leaves many freed JSON fragments behind: give them back. */
    malloc_trim(0);
    /* Workers can report what they hold only once we answer them again:
     * the wait before placing the catalogue starts now, not before loading
     * it (a million jobs take seconds). */
    self->started_mono_ms = hg_mono_ms();
    hg_info("cluster: leading (epoch %" PRIu64 "); %zu active jobs and %zu plug-ins loaded; "
            "workers on %s",
            epoch, loaded, hg_plugin_index_size(self->plugins), self->args->bind);
}

static int s_on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    s_cluster_t *self = arg;
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
        }
        for (int i = 0; i < 4; i++)
            zstr_free(&f[i]);
    }
    zstr_free(&cmd);
    zmsg_destroy(&m);
    s_store_flush(self);
    return rc;
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_cluster_t self = {0};
    self.args = arg;
    self.pipe = pipe;
    self.started_mono_ms = hg_mono_ms();
    self.nodes = zhashx_new();
    zhashx_set_destructor(self.nodes, s_node_free);
    /* Every table keyed by what peers send is hashed with a secret key
     * (hg_keyhash): chosen names or run ids cannot pile into one bucket. */
    zhashx_set_key_hasher(self.nodes, hg_keyhash_str);
    self.guard = hg_peer_guard_new(self.args->lease_ms);
    self.jobs = hg_jobtab_new();
    /* Keyed by the raw run id: formatting each id as text cost more than
     * the lookup (every finished run is looked up). */
    self.inflight = zhashx_new();
    zhashx_set_destructor(self.inflight, s_inflight_free);
    zhashx_set_key_hasher(self.inflight, hg_runid_hash);
    zhashx_set_key_comparator(self.inflight, hg_runid_compare);
    zhashx_set_key_duplicator(self.inflight, hg_runid_dup);
    zhashx_set_key_destructor(self.inflight, hg_runid_free);
    self.hello_parts = zhashx_new();
    zhashx_set_destructor(self.hello_parts, s_hello_parts_free);
    zhashx_set_key_hasher(self.hello_parts, hg_keyhash_str);
    self.plugins = hg_plugin_index_new();
    self.router = zsock_new(ZMQ_ROUTER);
    zsock_set_router_mandatory(self.router, 1);
    /* No handover: a node's identity comes from its key (s_frame_sender),
     * and a peer must not take another connection's routing id. */
    zsock_set_router_handover(self.router, 0);
    zsock_set_maxmsgsize(self.router, (int64_t) HG_PROTO_MAX_MSG);
    if (self.args->curve_cert) {
        zcert_apply(self.args->curve_cert, zsock_resolve(self.router));
        zsock_set_curve_server(self.router, 1);
    } else {
        self.by_conn = hg_conn_names_new(S_PLAIN_NAMES_MAX);
    }
    zsock_set_sndhwm(self.router, 100000);
    zsock_set_rcvhwm(self.router, 100000);
    zsock_set_linger(self.router, 0);
    self.api = zsock_new(ZMQ_ROUTER);
    if (!self.guard || zsock_bind(self.router, "%s", self.args->bind) < 0 ||
        zsock_bind(self.api, "%s", HG_CLUSTER_CLIENT_ENDPOINT) < 0) {
        hg_error("cluster: cannot bind %s: %s", self.args->bind, zmq_strerror(zmq_errno()));
        zsock_destroy(&self.router);
        zsock_destroy(&self.api);
        zhashx_destroy(&self.nodes);
        hg_jobtab_destroy(&self.jobs);
        zhashx_destroy(&self.inflight);
        zhashx_destroy(&self.hello_parts);
        hg_plugin_index_destroy(&self.plugins);
        hg_peer_guard_destroy(&self.guard);
        hg_conn_names_destroy(&self.by_conn);
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
    zloop_reader(self.loop, self.api, s_on_api, &self);
    if (self.pserve)
        zloop_reader(self.loop, hg_plugin_serve_loader_sock(self.pserve), s_on_loader, &self);
    zloop_timer(self.loop, 50, 0, s_on_tick, &self);
    zsock_signal(pipe, 0);
    hg_actor_loop_run(self.loop);

    zloop_destroy(&self.loop);
    if (self.store) {
        /* Take back the batches the store still hands over (zactor_destroy
         * would drop them unread): it answers DRAINED after its last DONE. */
        s_store_flush(&self);
        zstr_send(self.store, "DRAIN");
        for (;;) {
            char *cmd = NULL;
            void *ptr = NULL;
            if (zsock_recv(self.store, "sp", &cmd, &ptr) != 0) break;
            bool drained = cmd && streq(cmd, "DRAINED");
            if (cmd && streq(cmd, "DONE") && ptr) {
                hg_store_batch_t *batch = ptr;
                hg_store_batch_destroy(&batch);
            }
            zstr_free(&cmd);
            if (drained) break;
        }
    }
    zactor_destroy(&self.store);
    hg_plugin_serve_destroy(&self.pserve);
    hg_jobtab_destroy(&self.jobs);
    free(self.assigns);
    zhashx_destroy(&self.nodes);
    zhashx_destroy(&self.inflight);
    zhashx_destroy(&self.hello_parts);
    hg_plugin_index_destroy(&self.plugins);
    hg_peer_guard_destroy(&self.guard);
    hg_conn_names_destroy(&self.by_conn);
    zsock_destroy(&self.api);
    zsock_destroy(&self.router);
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

void hg_cluster_follow(zactor_t *cluster, const char *name, const char *endpoint,
                       const char *api_url, const char *epoch)
{
    zstr_sendx(cluster, "FOLLOW", name ? name : "", endpoint ? endpoint : "",
               api_url ? api_url : "", epoch ? epoch : "", NULL);
}

/* ---------------------------------------------------------------- client */

struct hg_cluster_client {
    zsock_t *req; /* REQ to the cluster actor */
};

hg_cluster_client_t *hg_cluster_client_new(void)
{
    hg_cluster_client_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->req = zsock_new_req(HG_CLUSTER_CLIENT_ENDPOINT);
    if (!c->req) {
        free(c);
        return NULL;
    }
    zsock_set_rcvtimeo(c->req, 5000);
    zsock_set_sndtimeo(c->req, 5000);
    return c;
}

void hg_cluster_client_destroy(hg_cluster_client_t **p)
{
    if (p && *p) {
        zsock_destroy(&(*p)->req);
        free(*p);
        *p = NULL;
    }
}

/* Send a request and receive the reply; the first reply frame is the
 * return code. A timeout leaves the REQ socket unusable, so it is
 * replaced. */
static zmsg_t *s_call(hg_cluster_client_t *c, zmsg_t *req, int *rc)
{
    if (zmsg_send(&req, c->req) != 0) {
        zmsg_destroy(&req);
        *rc = HG_EUNAVAIL;
        return NULL;
    }
    zmsg_t *rep = zmsg_recv(c->req);
    if (!rep) {
        zsock_destroy(&c->req);
        c->req = zsock_new_req(HG_CLUSTER_CLIENT_ENDPOINT);
        if (c->req) {
            zsock_set_rcvtimeo(c->req, 5000);
            zsock_set_sndtimeo(c->req, 5000);
        }
        *rc = HG_ETIMEOUT;
        return NULL;
    }
    char *code = zmsg_popstr(rep);
    *rc = code ? atoi(code) : HG_EINVAL;
    zstr_free(&code);
    return rep;
}

int hg_cluster_job_upsert(hg_cluster_client_t *c, json_t *job)
{
    char *text = json_dumps(job, JSON_COMPACT);
    if (!text) return HG_ENOMEM;
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "UPSERT");
    zmsg_addstr(req, text);
    free(text);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    zmsg_destroy(&rep);
    return rc;
}

/* The jobs go by reference, not as JSON text: a batch of 1,000 cost more
 * to print and parse again than to place. The cluster holds a reference
 * until it has read them and answers with a new array of node names,
 * also by reference. A request or reply lost with a timed-out socket
 * leaks its array: rare (the cluster stuck for seconds) and bounded. */
int hg_cluster_job_upsert_many(hg_cluster_client_t *c, json_t *jobs, json_t **nodes)
{
    if (nodes) *nodes = NULL;
    if (!json_is_array(jobs)) return HG_EINVAL;
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "UPSERTS");
    json_t *ref = json_incref(jobs);
    zmsg_addmem(req, &ref, sizeof ref);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (!rep && rc == HG_EUNAVAIL) json_decref(jobs); /* never sent */
    zframe_t *out = rep ? zmsg_pop(rep) : NULL;
    json_t *names = NULL;
    if (out && zframe_size(out) == sizeof names) memcpy(&names, zframe_data(out), sizeof names);
    zframe_destroy(&out);
    if (nodes)
        *nodes = names;
    else
        json_decref(names);
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_job_remove(hg_cluster_client_t *c, uint64_t job_id)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "REMOVE");
    zmsg_addstrf(req, "%" PRIu64, job_id);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_trigger(hg_cluster_client_t *c, uint64_t job_id, json_t *params, char *node,
                       size_t node_size)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "TRIGGER");
    zmsg_addstrf(req, "%" PRIu64, job_id);
    char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
    zmsg_addstr(req, text ? text : "");
    free(text);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0 && node) {
        char *n = zmsg_popstr(rep);
        snprintf(node, node_size, "%s", n ? n : "");
        zstr_free(&n);
    }
    zmsg_destroy(&rep);
    return rc;
}

json_t *hg_cluster_nodes(hg_cluster_client_t *c)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "NODES");
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    json_t *arr = NULL;
    if (rep && rc == 0) {
        char *text = zmsg_popstr(rep);
        arr = text ? json_loads(text, 0, NULL) : NULL;
        zstr_free(&text);
    }
    zmsg_destroy(&rep);
    return arr;
}

int hg_cluster_job_node(hg_cluster_client_t *c, uint64_t job_id, char *node, size_t node_size)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "JOBNODE");
    zmsg_addstrf(req, "%" PRIu64, job_id);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0) {
        char *n = zmsg_popstr(rep);
        snprintf(node, node_size, "%s", n ? n : "");
        zstr_free(&n);
    }
    zmsg_destroy(&rep);
    return rc;
}

json_t *hg_cluster_node_drain(hg_cluster_client_t *c, const char *name, bool drain, int *rc)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, drain ? "DRAIN" : "ACTIVATE");
    zmsg_addstr(req, name);
    zmsg_t *rep = s_call(c, req, rc);
    json_t *node = NULL;
    if (rep && *rc == 0) {
        char *text = zmsg_popstr(rep);
        node = text ? json_loads(text, 0, NULL) : NULL;
        zstr_free(&text);
        if (!node) *rc = HG_ENOMEM;
    }
    zmsg_destroy(&rep);
    return node;
}

int hg_cluster_role(hg_cluster_client_t *c, hg_cluster_role_t *role)
{
    memset(role, 0, sizeof *role);
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "ROLE");
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0) {
        char *r = zmsg_popstr(rep), *e = zmsg_popstr(rep), *n = zmsg_popstr(rep),
             *a = zmsg_popstr(rep);
        role->leading = r && streq(r, "leader");
        role->epoch = e ? strtoull(e, NULL, 10) : 0;
        snprintf(role->leader, sizeof role->leader, "%s", n ? n : "");
        snprintf(role->leader_api, sizeof role->leader_api, "%s", a ? a : "");
        zstr_free(&r);
        zstr_free(&e);
        zstr_free(&n);
        zstr_free(&a);
    }
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_stats(hg_cluster_client_t *c, int *workers, int *jobs)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "STATS");
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0) {
        char *w = zmsg_popstr(rep), *j = zmsg_popstr(rep);
        *workers = w ? atoi(w) : 0;
        *jobs = j ? atoi(j) : 0;
        zstr_free(&w);
        zstr_free(&j);
    }
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_plugin_put(hg_cluster_client_t *c, const char *name, const char *version,
                          const char *sha256)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "PLUGIN_PUT");
    zmsg_addstr(req, name);
    zmsg_addstr(req, version);
    zmsg_addstr(req, sha256);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_plugin_remove(hg_cluster_client_t *c, const char *sha256)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "PLUGIN_REMOVE");
    zmsg_addstr(req, sha256);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    zmsg_destroy(&rep);
    return rc;
}
