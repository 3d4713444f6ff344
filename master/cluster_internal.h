/* cluster_internal: private to the cluster actor. What main.c passes to
 * the actor, and the state the actor's files share:
 *
 *   cluster.c            the actor: who sent a frame and the non-blocking
 *                        send (s_frame_sender, hg_cluster__send_to), the
 *                        lease rule, heartbeats, run records, the job
 *                        table, plug-ins, leading and standing by
 *   cluster_node.c       node sessions: HELLO, gone, leaving, forget,
 *                        choke, drain and the REVOKE handover
 *   cluster_placement.c  which node takes a job, and handing jobs out
 *   cluster_api.c        requests of the API threads, both ends
 *   cluster_route.c      routing: labels, strategies, broadcast and shard
 *                        slots (cluster_route.h)
 *   cluster_runlost.c    runs in flight no worker claims (across a leader
 *                        change or a worker's restart) closed as lost
 *   cluster_startdefer.c runs in flight tracked in memory, their start
 *                        rows written only when needed (issue 14)
 *
 * Everything here belongs to the actor's thread; the hg_cluster__
 * functions are called only from the actor's own handlers. */
#ifndef HG_MASTER_CLUSTER_INTERNAL_H
#define HG_MASTER_CLUSTER_INTERNAL_H

#include "alert_engine.h"
#include "assign_pace.h"
#include "conn.h"
#include "db.h"
#include "hg_proto.h"
#include "jobtab.h"
#include "peer_guard.h"
#include "plugin_serve.h"
#include "plugins.h"
#include "refire.h"
#include "runtrack.h"
#include "store.h"
#include "store_gate.h"

#include <czmq.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

typedef struct {
    const char *master_name;  /* this master's id */
    const char *bind;         /* ROUTER endpoint for workers, e.g. tcp://127.0.0.1:8643 */
    int64_t heartbeat_ms;     /* heartbeat interval told to workers */
    int64_t lease_ms;         /* lease granted per echoed heartbeat */
    int64_t margin_ms;        /* extra wait before reassigning a silent worker's jobs */
    int64_t forget_after_ms;  /* a node lost or left this long is forgotten (0: 24 h) */
    const hg_db_params_t *db; /* for the store actor */
    const char *data_dir;     /* master data directory (plug-in copies) */
    bool failed;              /* out: set when the actor could not start */

    const hg_store_opts_t *store; /* store actor settings (MySQL, spill file, buffer bounds) */

    /* The master's key pair: the workers' ROUTER is a CURVE server. NULL:
     * plaintext (insecure.plaintext, tests on loopback only). */
    zcert_t *curve_cert;

    struct hg_metrics *metrics; /* figures to feed (metrics.h); NULL: none */
} hg_cluster_args_t;

/* Start the cluster actor. zactor_new returns once the actor is up or has
 * given up; args->failed tells which (the cause is logged).
 *
 * It starts as a standby: it binds its sockets and refuses workers with
 * the leader's address. Commands from main on the actor pipe:
 *   hg_cluster_lead     we hold the leader lock: load the jobs and lead
 *   hg_cluster_follow   the leader as the leadership row names it
 *   hg_cluster_stopping this master is shutting down */
zactor_t *hg_cluster_new(hg_cluster_args_t *args);

/* Lead with fencing epoch epoch. jobs (array of active jobs in API form,
 * or NULL: the actor reads the active jobs from MySQL page by page),
 * last_fires (object job id text -> last scheduled ms) and plugins (array
 * of stored plug-in metadata) are stolen. */
void hg_cluster_lead(zactor_t *cluster, uint64_t epoch, json_t *jobs, json_t *last_fires,
                     json_t *plugins);

/* While standing by: the leader's name, worker endpoint, API URL and
 * epoch (decimal text), any of them "" when unknown. */
void hg_cluster_follow(zactor_t *cluster, const char *name, const char *endpoint,
                       const char *api_url, const char *epoch);

/* This master is shutting down (or stepping down): from now on the actor
 * judges no node and moves no job. A node silent while the process stops
 * is not lost: its lease runs on, and what the actor would decide now
 * (close its runs as lost, place its jobs elsewhere) nobody would read
 * but MySQL, where it would be wrong for the next leader. Records already
 * received are still written. */
void hg_cluster_stopping(zactor_t *cluster);

/* ------------------------------------------------- the actor's own state */

/* Node states. A draining node keeps its session and lease (its jobs
 * fire until they are handed over) but gets no new placements; its jobs
 * move one by one through the REVOKE handshake. */
typedef enum { HG_NODE_ACTIVE, HG_NODE_DRAINING, HG_NODE_LOST, HG_NODE_LEFT } hg_node_state_t;

/* A node with a session: it heartbeats and may hold jobs. */
#define HG_NODE_LIVE(n) ((n)->state == HG_NODE_ACTIVE || (n)->state == HG_NODE_DRAINING)
/* A live node we still talk to: not choked (see hg_cluster__send_to).
 * Only such a node's heartbeats, run records, plug-in requests, REVOKE
 * answers and LEAVE are taken; a choked one keeps its jobs until the
 * lease rule moves them. */
#define HG_NODE_SESSION(n) (HG_NODE_LIVE(n) && !(n)->choked)

/* Nodes one batch of assignments to the store may name (see cluster.c). */
#define HG_CLUSTER_ASSIGN_NAMES 32

/* Plug-in chunks a node may have sent to it unread (see cluster.c). */
#define HG_CLUSTER_CHUNKS_UNREAD_MAX 32

typedef struct {
    char name[192];          /* node name, from its key (plaintext: from its HELLO) */
    hg_conn_t conn;          /* connection of its current session: answers go there */
    hg_node_state_t state;   /* active / draining / lost / left */
    bool cordoned;           /* an operator drained it; it stays draining across re-joins */
    bool leaving;            /* it announced a graceful leave (SIGTERM) */
    json_t *labels;          /* object of strings */
    uint32_t capacity;       /* concurrent runs it accepts */
    char version[32];        /* software version */
    int64_t last_hb_mono_ms; /* when we last heard from it (monotonic) */
    int64_t hb_read_ms;      /* when we last read its heartbeat (monotonic) */
    int64_t last_hb_wall_ms; /* same, wall clock, for display */
    uint32_t jobs;           /* assignments it holds (by our table) */
    uint32_t running;        /* runs in flight, from its heartbeat */
    uint32_t held;           /* assignments it holds, from its heartbeat */
    uint32_t unacked;        /* records it holds unacknowledged */
    hg_assign_pace_t pace;   /* how many ASSIGNs may be on their way to it */
    bool choked;          /* session over, jobs wait for the lease (see hg_cluster__node_choke) */
    hg_conn_t removed;    /* connection whose key an admin removed: no HELLO taken from it */
    int64_t gone_mono_ms; /* when it was lost or left (monotonic), 0 while live */
    uint32_t inflight;    /* its entries in the cluster's inflight table */
    uint64_t read_seq;    /* last of our messages it says it got (heartbeat echo) */
    struct {
        uint64_t seq;                       /* our seq of the chunk */
        uint64_t bytes;                     /* its data bytes */
    } chunks[HG_CLUSTER_CHUNKS_UNREAD_MAX]; /* plug-in chunks sent, unconfirmed (a ring) */
    uint32_t chunks_head;                   /* oldest in chunks */
    uint32_t chunks_n;                      /* entries in chunks */
    uint64_t chunk_bytes;                   /* their bytes */
} hg_cluster_node_t;

/* A run a worker reported started and not yet finished: the compact
 * entry of runtrack.h (its start row may not be written yet). */
typedef hg_runtrack_t hg_cluster_inflight_t;

/* The cluster actor's state; one per actor, on its stack. */
typedef struct {
    hg_cluster_args_t *args;    /* settings */
    zsock_t *pipe;              /* to main */
    zsock_t *router;            /* workers */
    zsock_t *api;               /* hg_cluster_client_t requests */
    zsock_t *key_removed;       /* PULL: keys the ZAP handler admits no more (CURVE only) */
    zactor_t *store;            /* store writer */
    struct hg_depfire *depfire; /* dependency engine (depfire.h), while leading */
    zloop_t *loop;              /* reactor */
    zhashx_t *nodes;            /* name -> hg_cluster_node_t; never removed while running: jobs
                                   point at their names */
    hg_jobtab_t *jobs;          /* active jobs by id */
    const char *assign_names[HG_CLUSTER_ASSIGN_NAMES]; /* nodes of the assignments in assigns
                                                          (names in the node table) */
    size_t assign_names_n;                             /* entries in assign_names */
    uint64_t *assigns;     /* (index in assign_names, job id, epoch) not yet passed to the store */
    size_t assigns_n;      /* triples in assigns */
    zhashx_t *inflight;    /* raw run id -> hg_cluster_inflight_t: started, not finished */
    zhashx_t *retries;     /* job id text -> pending retries (cluster_retry.c), or NULL */
    zhashx_t *hello_parts; /* node name -> HELLO parts so far (cluster_node.c) */
    uint64_t seq;          /* our message sequence */
    int64_t started_mono_ms;    /* start time; placement waits for workers to re-HELLO */
    bool placement_due;         /* some active job is unassigned */
    uint64_t decode_errors;     /* malformed messages seen */
    uint64_t master_epoch;      /* fencing epoch: ours when leading, else the leader's as known */
    bool leading;               /* false: standby, refusing workers until "LEAD" */
    bool stopping;              /* shutting down: no node judged, no job moved */
    char leader_name[192];      /* standby: the leader's name, "" when unknown */
    char leader_endpoint[256];  /* standby: where workers should dial the leader */
    char leader_api[256];       /* standby: the leader's REST API URL */
    hg_plugin_index_t *plugins; /* stored plug-ins: (name, version) -> sha256 */
    hg_plugin_serve_t *pserve;  /* answers PLUGIN_GET from the plug-in copies */
    hg_peer_guard_t *guard;     /* what a peer may say; refusal counts and log */
    uint64_t sends_dropped;     /* messages not sent: peer gone or its queue full */
    bool inflight_capped;       /* the inflight cap was hit (logged once per filling) */
    size_t hello_held_total;    /* held entries in hello_parts, all peers */
    uint64_t chunk_bytes;       /* plug-in bytes unread, all nodes (hg_cluster_node_t.chunks) */
    bool loading;               /* adding the jobs of the catalogue at start-up */
    bool fresh_waiting;         /* a job created since start-up waits for placement */
    int64_t last_tick_mono_ms;  /* when the tick last ran */
    int64_t stall_logged_ms;    /* monotonic: when a held loop was last logged */
    int64_t gap_logged_ms;      /* monotonic: when late heartbeats were last logged */
    size_t placed_since_trim;   /* jobs placed since memory was last trimmed */
    size_t place_cursor;        /* job table slot where placement stopped last, full nodes */
    bool place_armed;           /* a timer goes on with a placement pass cut short */
    size_t pass_placed;         /* jobs placed by the slices of a pass so far */
    size_t pass_waiting;        /* jobs the slices of a pass left waiting so far */
    size_t lap_left;            /* slots a pass cut short has still to walk; 0: none */
    hg_conn_t cur;              /* connection of the message being handled */
    const char *cur_name;       /* its node name (see s_frame_sender), NULL between messages */
    hg_conn_names_t *by_conn;   /* plaintext mode: node names of connections */
    hg_alert_feed_t *alerts;    /* committed run records to the alert engine (leading only) */
    int64_t metrics_mono_ms;    /* when the tick last fed metrics.h */
    struct hg_cluster_route *route; /* routing: slots, ring, round robin (cluster_route.c) */
    hg_refire_t *refire;            /* runs already re-run (refire.h) */
    hg_store_gate_t gate;           /* back-pressure: records waiting for the store (issue 14) */
    bool runlost_pending;           /* some inflight entry is unclaimed (cluster_runlost.c) */
    uint64_t inflight_gen;          /* bumped on every change of inflight (cluster_overlap.c) */
    struct hg_cluster_overlap *overlap; /* runs in flight by job, built on demand, or NULL */
    hg_strpool_t *names;                /* interned strings of the inflight entries (runtrack.h) */
    hg_startq_t startq;                 /* start rows due later (cluster_startdefer.c) */
    uint64_t starts_deferred;           /* starts whose row was put off, ever */
    uint64_t starts_written_late;       /* of which written when due (the run was still going) */
} hg_cluster_t;

/* cluster.c: sending, the store, the job table, plug-ins */

/* Encode msg (numbered here) and send it to node without ever blocking;
 * 0, or -1 when it was dropped (a full queue chokes the node). */
int hg_cluster__send_to(hg_cluster_t *self, const char *node, hg_msg_t *msg);
/* Send ERROR {code, text} to node. */
void hg_cluster__send_error(hg_cluster_t *self, const char *node, int code, const char *text);
/* Send the job's ASSIGN to its holder. */
void hg_cluster__send_assign(hg_cluster_t *self, hg_jobrec_t *job);
/* Send REVOKE of (job_id, epoch) to node. */
void hg_cluster__send_revoke(hg_cluster_t *self, const char *node, uint64_t job_id, uint64_t epoch);
/* Pass the batched assignments to the store; before any other store write. */
void hg_cluster__store_flush(hg_cluster_t *self);
/* Record the node's state, labels, capacity and version in the store. */
void hg_cluster__store_node(hg_cluster_t *self, hg_cluster_node_t *node);
/* Remove a forgotten node's row (and old rows of gone nodes) from the store. */
void hg_cluster__store_forget(hg_cluster_t *self, const char *name);
/* Hand a batch of run records to the store (it owns the batch then). */
void hg_cluster__store_runs(hg_cluster_t *self, hg_store_batch_t *batch);
/* Record where the job is held (or that it is not) in the store. */
void hg_cluster__store_assign(hg_cluster_t *self, hg_jobrec_t *job);
/* Forget where a job is held (the caller has revoked it or its node is gone). */
void hg_cluster__job_unassign(hg_cluster_t *self, hg_jobrec_t *job);
/* Add, replace or (not active) drop a job from its API object. 0 or HG_E*. */
int hg_cluster__job_upsert(hg_cluster_t *self, json_t *json, int64_t last_fire_ms, bool fresh);
/* Put a new record into the job table, taking over what is known of the
 * record it replaces; the record in the table, or NULL (out of memory). */
hg_jobrec_t *hg_cluster__job_put(hg_cluster_t *self, hg_jobrec_t *rec);
/* After hg_cluster__job_put: re-assign, revoke, or make placement due. */
void hg_cluster__job_settle(hg_cluster_t *self, hg_jobrec_t *job);
/* Revoke a job from its holder and drop it from the table (unknown: nothing). */
void hg_cluster__job_remove(hg_cluster_t *self, uint64_t job_id);
/* A plug-in was stored: re-resolve the jobs naming it, re-assign changed ones. */
void hg_cluster__plugin_put(hg_cluster_t *self, const char *name, const char *version,
                            const char *sha);
/* A plug-in was deleted: forget its hash and copy, re-assign changed jobs. */
void hg_cluster__plugin_remove(hg_cluster_t *self, const char *sha);
/* "active", "draining", "lost" or "left". */
const char *hg_cluster__node_state_name(hg_node_state_t state);

/* cluster_node.c: node sessions */

/* Handle a HELLO from name: open (or re-open) its session and reconcile. */
void hg_cluster__on_hello(hg_cluster_t *self, const char *name, hg_msg_t *msg);
/* The node's queue is full: end its session; the lease rule moves its jobs. */
void hg_cluster__node_choke(hg_cluster_t *self, hg_cluster_node_t *node, const char *why);
/* The node is lost or left: its jobs go elsewhere, its runs close as lost. */
void hg_cluster__node_gone(hg_cluster_t *self, hg_cluster_node_t *node, hg_node_state_t state,
                           const char *why);
/* The node announced a graceful leave: hand its jobs over while it finishes. */
void hg_cluster__node_leaving(hg_cluster_t *self, hg_cluster_node_t *node);
/* Operator drain or activate of a node. 0, HG_ENOTFOUND or HG_EUNAVAIL. */
int hg_cluster__node_set_drain(hg_cluster_t *self, const char *name, bool drain);
/* Send the next REVOKEs of the handover of draining nodes' jobs. */
void hg_cluster__drain(hg_cluster_t *self);
/* A REVOKE acknowledged by name: the handover under way moves on. */
void hg_cluster__on_revoke_ack(hg_cluster_t *self, const char *name, hg_revoke_t *ack);
/* Drop HELLOs in parts never finished, and one node gone too long. */
void hg_cluster__nodes_expire(hg_cluster_t *self, int64_t now_mono_ms);
/* zhashx destructor of the hello_parts table. */
void hg_cluster__hello_parts_free(void **item);

/* cluster_placement.c: placement */

/* May the job run on node (its pins, labels, broadcast slot)? */
bool hg_cluster__node_allowed(hg_cluster_t *self, hg_jobrec_t *job, hg_cluster_node_t *node);
/* ASSIGNs on their way to n: sent by us, not yet counted in its heartbeat. */
static inline uint32_t hg_cluster__node_behind(const hg_cluster_node_t *n)
{
    return n->jobs > n->held ? n->jobs - n->held : 0;
}
/* Active, not choked, and fewer ASSIGNs on their way than its window
 * (assign_pace.h); a node that has none is noted as held back by it. */
bool hg_cluster__node_has_room(hg_cluster_node_t *n);
/* Least-loaded active node with room the job may run on (or the pick of
 * the job's routing strategy), or NULL. */
hg_cluster_node_t *hg_cluster__pick_node(hg_cluster_t *self, hg_jobrec_t *job);
/* Send the job's holder a TRIGGER for each pending re-run it was not
 * sent under the job's current epoch (cluster_refire.c). */
void hg_cluster__send_recoveries(hg_cluster_t *self, hg_jobrec_t *job);
/* Queue a re-run of the run of job scheduled at scheduled_ms (attempt,
 * refire or recover), sent now when the job's holder has a session. */
void hg_cluster__recovery_add(hg_cluster_t *self, hg_jobrec_t *job, int64_t scheduled_ms,
                              uint32_t attempt, bool refire);
/* A run record came back from node name: when it is a pending re-run's,
 * the re-run is done (it ran, or its own record decides what follows).
 * True when the re-run had been passed on to another node since (name
 * held the job before and never reported it in time): that node's record
 * decides, and this one calls for nothing more. */
bool hg_cluster__recovery_seen(hg_cluster_t *self, const char *name, const hg_run_t *run);
/* cluster_refire.c: fires a lapsed lease kept from the endpoint */

/* A finished record from node name that says its request was not sent,
 * or not known to be (refire.h): add the master's decision to its error
 * text and queue the re-run it calls for. True for a record that was not
 * sent (it then must not count as the job's last fire). handed_on: the
 * record is of a re-run passed on to another node since
 * (hg_cluster__recovery_seen); nothing is queued for it. */
bool hg_cluster__refire_check(hg_cluster_t *self, const char *name, hg_run_t *run, bool handed_on);
/* Remember that the lost run run is re-run (recover); false when a re-run
 * of its scheduled time and attempt was already queued (refire.h). */
bool hg_cluster__refire_claim(hg_cluster_t *self, const hg_run_t *run);

/* Give every unassigned job to a live worker (when placement is due). */
void hg_cluster__place(hg_cluster_t *self);
/* Place one unassigned job as hg_cluster__place would; false: it waits. */
bool hg_cluster__place_job(hg_cluster_t *self, hg_jobrec_t *job);
/* After hg_cluster__place_job for each new job: placed of them, all went or not. */
void hg_cluster__placed_these(hg_cluster_t *self, size_t placed, bool all);

/* cluster_runlost.c: runs in flight no worker claims (issue 15) */

/* Close the inflight entries keys (raw run ids) of node as lost, their
 * error "<cause> while the run was in flight; ...", with retry/recover
 * as for a lost worker; the entries are dropped. Returns how many. */
size_t hg_cluster__runs_close_lost(hg_cluster_t *self, const char *node, zlist_t *keys,
                                   const char *cause);
/* A new leader: the recent "running" rows become unclaimed runs in flight. */
void hg_cluster__runlost_load(hg_cluster_t *self);
/* Start the lease window of the loaded runs (when workers can be answered). */
void hg_cluster__runlost_start(hg_cluster_t *self);
/* Append the runs of one HELLO part to *all (at most cap); false: too many
 * or out of memory. */
bool hg_cluster__runlost_gather(hg_inflight_run_t **all, size_t *all_n, const hg_hello_t *h,
                                size_t cap);
/* The node's HELLO h: claim the runs it lists, unclaim the ones it does not. */
void hg_cluster__runlost_hello(hg_cluster_t *self, hg_cluster_node_t *node, const hg_hello_t *h);
/* Close the unclaimed runs whose window has passed (from the tick). */
void hg_cluster__runlost_tick(hg_cluster_t *self, int64_t now_mono_ms);

/* cluster_startdefer.c: runs in flight, start rows written late (issue 14) */

/* Track r (a RUN_STARTED from node) as in flight, within the caps: its
 * entry (an existing one for a start sent again), or NULL when it cannot
 * be tracked. */
hg_cluster_inflight_t *hg_cluster__inflight_add(hg_cluster_t *self, hg_cluster_node_t *node,
                                                const hg_run_t *r);
/* Forget a run in flight: -1 when it was not tracked, else whether its
 * start row was written (1) or not (0). */
int hg_cluster__inflight_remove(hg_cluster_t *self, hg_cluster_node_t *node, const uint8_t *run_id);
/* The RUN_STARTED records of msg from node: track each and keep in msg
 * only those to write now (none when !gate_open: the store sheds starts).
 * Returns how many it did not keep for the gate's sake. */
size_t hg_cluster__starts_take(hg_cluster_t *self, hg_cluster_node_t *node, hg_msg_t *msg,
                               bool gate_open);
/* Hand the store the start rows now due (from the tick). */
void hg_cluster__starts_flush(hg_cluster_t *self, int64_t now_mono_ms);

/* cluster_retry.c: pending retries and run cancel (issue 11) */

/* A run record from node (NULL: the master's own) was accepted: track the
 * pending retry it announces, or drop the one its attempt takes. */
void hg_cluster__retry_on_run(hg_cluster_t *self, const char *node, const hg_run_t *r,
                              bool finished);
/* A run lost with its worker: when the job's policy retries "lost", set
 * its retry fields, keep the pending attempt and return true. */
bool hg_cluster__retry_on_lost(hg_cluster_t *self, hg_run_t *r);
/* The job has a new holder: hand it the job's pending retries. */
void hg_cluster__retry_send(hg_cluster_t *self, hg_jobrec_t *job);
/* A new leader: read the pending retries from the history (a chain whose
 * worker dies after a master failover still has its next attempt). */
void hg_cluster__retry_load(hg_cluster_t *self);
/* Free the pending retries (actor end). */
void hg_cluster__retry_destroy(hg_cluster_t *self);
/* A job with overlap replace has runs in flight on node: a graceful
 * hand-over waits for them (the holder that cancels them must be the one
 * running them). Under forbid and queue the job moves at once and its
 * ASSIGN carries the count (cluster_overlap.c). */
bool hg_cluster__overlap_busy(hg_cluster_t *self, hg_jobrec_t *job, hg_cluster_node_t *node);
/* cluster_overlap.c: overlap across a move (issue 11) */

/* Runs of job in flight on nodes other than its holder job->node, for its
 * ASSIGN (0 for a job that allows overlap); remembers whether the holder
 * now counts some, for hg_cluster__overlap_run_ended. */
uint32_t hg_cluster__overlap_assign_count(hg_cluster_t *self, const hg_jobrec_t *job);
/* A run of job_id on run_node ended (finished or closed as lost; already
 * out of inflight): when the job is now held elsewhere, tell its holder
 * how many remain in flight elsewhere (JOB_RUNNING). */
void hg_cluster__overlap_run_ended(hg_cluster_t *self, uint64_t job_id, const char *run_node);
/* The holder of job kept it across a new session (no ASSIGN): send it the
 * count of runs elsewhere afresh (JOB_RUNNING), since a run that ended
 * meanwhile, or before a master restart, was never reported to it. */
void hg_cluster__overlap_resync(hg_cluster_t *self, hg_jobrec_t *job);
/* Every few seconds, send the holders told of runs elsewhere their count
 * again (a JOB_RUNNING the link dropped must not keep a slot closed). */
void hg_cluster__overlap_tick(hg_cluster_t *self, int64_t now_mono_ms);
/* Free the index (actor end). */
void hg_cluster__overlap_destroy(hg_cluster_t *self);
/* API request CANCEL: relay a cancel to the worker running the run. */
void hg_cluster__api_cancel(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep);
/* cluster_deps.c: the dependency engine's side of the actor */

/* Start the dependency engine (on leading). */
void hg_cluster__deps_start(hg_cluster_t *self);
/* A committed batch: the engine takes RUN_FINISHED ones (NULLs *batch). */
void hg_cluster__deps_runs(hg_cluster_t *self, hg_store_batch_t **batch);
/* cluster_metrics.c: feeding metrics.h */

/* The records of a batch the store committed. */
void hg_cluster__metrics_batch(hg_cluster_t *self, const hg_store_batch_t *batch);
/* Node figures and next fire times; once a second from the tick. */
void hg_cluster__metrics_tick(hg_cluster_t *self);

/* cluster_api.c: requests of the API threads */

/* zloop reader of self->api: answer one hg_cluster_client_t request. */
int hg_cluster__on_api(zloop_t *loop, zsock_t *sock, void *arg);

#endif
