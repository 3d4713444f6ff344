/* hg_proto: the master <-> worker wire protocol (DESIGN.md section 3).
 *
 * Every message is one ZeroMQ frame holding a msgpack array
 *     [protocol_version, type, seq, body-map]
 * This module is the only code that touches msgpack. Decoding never trusts
 * the peer: truncated input, wrong field types, missing required fields,
 * oversize values, unknown message types, a foreign protocol version and
 * trailing bytes are all rejected with a negative HG_E* code. Unknown keys in
 * a body map are skipped, so that a newer peer may add optional fields.
 *
 * Ownership: a decoded hg_msg_t owns every string and array it points to;
 * hg_msg_destroy frees them all. hg_msg_encode reads the message and writes
 * a malloc'ed buffer the caller frees with free().
 */
#ifndef HG_PROTO_H
#define HG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_PROTO_VERSION 1

/* Limits enforced by the decoder (and the encoder, which refuses to
 * produce what the peer would reject). */
#define HG_PROTO_MAX_MSG     (8u << 20) /* bytes in one frame */
#define HG_PROTO_MAX_STR     8192       /* names, URLs, header lines, errors */
#define HG_PROTO_MAX_BLOB    (1u << 20) /* request bodies, output excerpts */
#define HG_PROTO_MAX_ITEMS   4096       /* headers, labels, params */
#define HG_PROTO_MAX_HELD    50000      /* held jobs in one HELLO (about 2 MB); more go in parts */
#define HG_PROTO_MAX_RUNS    10000      /* run records in one message */
#define HG_PROTO_RUN_ID_SIZE 16         /* run ids are 16 raw bytes (UUIDv7) */

/* Runs in flight one HELLO lists (about 1.5 MB); more go in parts. */
#define HG_PROTO_MAX_RUNNING 50000

/* Runs of one job in flight on other workers (ASSIGN running, JOB_RUNNING):
 * the master tracks at most this many runs in flight in all. */
#define HG_PROTO_MAX_JOB_RUNNING (1u << 20)

typedef enum {
    HG_MSG_HELLO = 1,
    HG_MSG_WELCOME = 2,
    HG_MSG_HEARTBEAT = 3,
    HG_MSG_ASSIGN = 4,
    HG_MSG_REVOKE = 5,
    HG_MSG_TRIGGER = 6,
    HG_MSG_CANCEL = 7,
    HG_MSG_RUN_STARTED = 8,
    HG_MSG_RUN_FINISHED = 9,
    HG_MSG_RUN_LOG = 10,
    HG_MSG_ACK = 11,
    HG_MSG_PLUGIN_GET = 12,
    HG_MSG_PLUGIN_CHUNK = 13,
    HG_MSG_ERROR = 14,
    HG_MSG_LEAVE = 15, /* worker -> master: graceful leave (hg_leave_t) */
    /* master -> worker: runs of a held job in flight elsewhere (hg_job_running_t) */
    HG_MSG_JOB_RUNNING = 16,
} hg_msg_type_t;

/* Name of a message type ("HELLO"), or "UNKNOWN". */
const char *hg_msg_type_name(int type);

/* A string key/value pair (labels, parameters, form fields). */
typedef struct {
    char *key;   /* NUL-terminated, no embedded NUL */
    char *value; /* NUL-terminated, no embedded NUL */
} hg_kv_t;

/* A byte string that may hold NULs (bodies, output excerpts). */
typedef struct {
    uint8_t *data; /* NULL when len == 0 */
    size_t len;    /* number of bytes */
} hg_blob_t;

/* An assignment a worker still holds, reported in HELLO. */
typedef struct {
    uint64_t job_id;      /* catalogue id of the job */
    uint64_t epoch;       /* assignment epoch it was given */
    int64_t last_fire_ms; /* last scheduled time it fired, 0 if none */
    uint64_t version;     /* job version of the spec it holds, 0 = not said (older workers) */
} hg_held_t;

/* A run a worker has in flight, reported in HELLO: a new leader closes as
 * "lost" the runs the history says are running that no worker claims
 * (master/cluster_runlost.c). */
typedef struct {
    uint8_t run_id[HG_PROTO_RUN_ID_SIZE]; /* the run */
    uint64_t job_id;                      /* its job */
} hg_inflight_run_t;

typedef struct {
    char *node;        /* worker's node name (also its ZeroMQ routing id) */
    char *version;     /* worker software version */
    hg_kv_t *labels;   /* label selector values */
    size_t labels_n;   /* number of labels */
    uint32_t capacity; /* concurrent runs it accepts */
    hg_held_t *held;   /* assignments it still holds */
    size_t held_n;     /* number of held assignments */
    uint32_t unacked;  /* run records it holds that the master has not acked */
    char **plugins;    /* sha256 of the plug-ins in its cache */
    size_t plugins_n;  /* number of cached plug-ins */
    uint32_t part;     /* a worker holding more than HG_PROTO_MAX_HELD jobs sends HELLO in
                          parts 0, 1, ... back to back, each with the next held jobs */
    uint32_t more;     /* 1: further parts follow; the master answers the last one */

    /* Runs in flight (issue 15), split over the parts like held; with
     * runs_listed 1 they are every run in flight of the worker (all parts
     * together); 0: not said (an older worker), its runs are taken on trust. */
    hg_inflight_run_t *runs;
    size_t runs_n;
    uint32_t runs_listed;
} hg_hello_t;

typedef struct {
    char *master;          /* master's node id */
    uint64_t master_epoch; /* leadership (fencing) epoch */
    uint32_t heartbeat_ms; /* interval the worker should heartbeat at */
    uint32_t lease_ms;     /* lease length granted per echoed heartbeat */
} hg_welcome_t;

typedef struct {
    uint64_t echo;    /* master -> worker: seq of the heartbeat being echoed; worker ->
                         master: seq of the last message it got from the master (0: none
                         or an older worker), so the master knows what it has read */
    uint32_t running; /* worker -> master: runs in flight */
    uint32_t jobs;    /* worker -> master: assignments held */
    uint32_t unacked; /* worker -> master: run records awaiting ACK */
} hg_heartbeat_t;

/* Retry policy of a job (wire form; arithmetic in common/hg_retry.h). */
typedef struct {
    uint32_t max_attempts; /* attempts in all, the first included; 0 or 1: no retry */
    uint32_t backoff;      /* hg_backoff_t: 0 fixed, 1 exponential */
    uint32_t initial_ms;   /* delay before the second attempt */
    uint32_t factor_milli; /* exponential growth per attempt, in thousandths (2000 = x2) */
    uint32_t max_delay_ms; /* cap of any delay, Retry-After included; 0: no cap */
    uint32_t jitter;       /* hg_jitter_t: 0 none, 1 full */
    uint32_t on;           /* HG_RETRY_ON_* bits: what counts as retryable */
} hg_retry_spec_t;

/* Overlap (concurrency) policy of a job. */
typedef enum {
    HG_OVERLAP_ALLOW = 0,   /* every fire starts */
    HG_OVERLAP_FORBID = 1,  /* a fire that finds max_concurrent running is skipped ("overlap") */
    HG_OVERLAP_REPLACE = 2, /* the running runs are cancelled, then the fire starts */
    HG_OVERLAP_QUEUE = 3,   /* the fire waits for a slot, up to queue_max waiting */
} hg_overlap_t;

/* HTTP task of a job. */
typedef struct {
    char *method;      /* "GET", "POST", ... */
    char *url;         /* absolute http(s) URL */
    char **headers;    /* "Name: value" lines */
    size_t headers_n;  /* number of header lines */
    hg_blob_t body;    /* raw body (when form_n == 0) */
    hg_kv_t *form;     /* form fields, sent urlencoded */
    size_t form_n;     /* number of form fields */
    uint16_t *expect;  /* accepted status codes; none means any 2xx */
    size_t expect_n;   /* number of accepted codes */
    char *expect_body; /* substring the body must hold, or NULL */
} hg_http_spec_t;

/* Plug-in task of a job (kind "plugin"). The master resolves name and
 * version to the content hash of a stored plug-in when it has one; a worker
 * loads by hash when sha256 is set (fetching it with PLUGIN_GET if it lacks
 * it), else by name and version from its local plug-in directory. */
typedef struct {
    char *name;      /* plug-in name, e.g. "shell" */
    char *version;   /* required version, NULL for any */
    char *sha256;    /* 64 lowercase hex digits of the shared object, or NULL */
    char *isolation; /* "process" (default) or "thread" */
    /* 1: sha256 is the master's pick for a job that named neither a
     * version nor a hash; a worker's own plug-in of that name comes first,
     * so that a push never shadows it */
    uint32_t local_first;
} hg_plugin_spec_t;

typedef struct {
    uint64_t job_id;         /* catalogue id */
    uint64_t epoch;          /* assignment epoch: REVOKE and runs quote it */
    uint64_t version;        /* job version; bumps on every change */
    char *ns;                /* namespace */
    char *name;              /* job name, unique in its namespace */
    char *kind;              /* "http" or "plugin" */
    char *schedule;          /* schedule expression (hg_sched grammar) */
    char *tz;                /* IANA time zone, NULL or "" for UTC */
    int64_t start_ms;        /* no fire before, 0 = unbounded */
    int64_t end_ms;          /* no fire after, 0 = unbounded */
    int64_t last_fire_ms;    /* last scheduled time fired by anyone, 0 = none */
    char *misfire;           /* "fire_once", "skip", "fire_all" */
    uint32_t timeout_ms;     /* run deadline */
    hg_kv_t *params;         /* job parameters */
    size_t params_n;         /* number of parameters */
    hg_http_spec_t http;     /* for kind "http" */
    hg_plugin_spec_t plugin; /* for kind "plugin" */
    uint32_t recover;        /* 1: a run lost with its worker is re-run once (TRIGGER "recover") */
    /* --- retries and overlap (issue 11; common/hg_retry.h, docs/jobs.md) --- */
    hg_retry_spec_t retry;   /* retry policy; max_attempts <= 1: no retry */
    uint32_t overlap;        /* hg_overlap_t: what a fire does while the job runs */
    uint32_t max_concurrent; /* runs at once under forbid/replace/queue, 0 means 1 */
    uint32_t queue_max;      /* fires waiting under queue, 0 means 1 */
    uint32_t jitter_ms;      /* each fire waits a random 0..jitter_ms after its time, 0 = none */

    /* Routing (issue 11, master/routing.h). A sharded job is held as one
     * assignment per shard: each fire of this one runs shard shard_index
     * of shard_total (the worker tells the endpoint and the plug-in). */
    uint32_t shard_index; /* 0 .. shard_total - 1 */
    uint32_t shard_total; /* 0: not sharded */

    /* Overlap across a move (issue 11, docs/jobs.md "Overlap"): runs of
     * this job the master knows are in flight on OTHER workers (a drain,
     * a rebalance or an edit of its executor moved the job while they
     * ran). The holder counts them as running for the overlap decision
     * until a JOB_RUNNING tells it fewer remain, so `forbid` holds across
     * the move. At most HG_PROTO_MAX_JOB_RUNNING; 0 for a job that allows
     * overlap. An older worker skips the key (an unknown key in a map). */
    uint32_t running;
} hg_assign_t;

/* Master -> worker: stop firing job_id under epoch. Worker -> master: the
 * acknowledgement, sent once the job is off the worker's timers, carrying
 * the last scheduled time it fired so the next owner continues from there
 * (a drain hands jobs over without a missed or doubled firing). */
typedef struct {
    uint64_t job_id;      /* job to stop firing */
    uint64_t epoch;       /* epoch being revoked; an older ASSIGN never wins */
    int64_t last_fire_ms; /* in the acknowledgement: last scheduled time fired, 0 if none */
} hg_revoke_t;

typedef struct {
    uint64_t job_id;      /* job to run now */
    uint64_t epoch;       /* current assignment epoch */
    char *reason;         /* "manual", "retry", "child", ... */
    hg_kv_t *params;      /* parameter overrides, trigger values win */
    size_t params_n;      /* number of overrides */
    int64_t scheduled_ms; /* scheduled time to record (a recovered run keeps its own), 0 = now */
    uint32_t attempt;     /* attempt number to record, 0 means 1 */
    /* --- retries and overlap (issue 11) --- */
    uint32_t force; /* 1: start even when the overlap policy says otherwise */
    int64_t due_ms; /* reason "retry": not before this time (a pending retry handed
                       to a new holder keeps its due time); 0 = now */
    uint8_t first_run_id[HG_PROTO_RUN_ID_SIZE]; /* reason "retry": attempt 1 of the chain;
                                                   all zero = none */
} hg_trigger_t;

/* Master -> worker: cancel a run in flight (POST /api/v1/runs/{id}/cancel).
 * The worker aborts the HTTP request, or sets the plug-in's cancelled()
 * and kills its helper after plugin.grace; the run ends "cancelled". */
typedef struct {
    uint64_t job_id;                      /* job of the run */
    uint8_t run_id[HG_PROTO_RUN_ID_SIZE]; /* run to cancel */
} hg_cancel_t;

typedef enum {
    HG_RUN_RUNNING = 0,
    HG_RUN_SUCCESS = 1,
    HG_RUN_FAILED = 2,
    HG_RUN_TIMEOUT = 3,
    HG_RUN_CRASHED = 4,
    HG_RUN_LOST = 5,
    HG_RUN_SKIPPED = 6,
    HG_RUN_CANCELLED = 7, /* cancelled by an operator, or replaced (overlap "replace") */
} hg_run_status_t;

/* "running", "success", ...; NULL for an unknown value. */
const char *hg_run_status_name(int status);
/* Inverse of hg_run_status_name; -1 when unknown. */
int hg_run_status_parse(const char *name);

/* One run record: RUN_STARTED carries the first fields, RUN_FINISHED all. */
typedef struct {
    uint8_t run_id[HG_PROTO_RUN_ID_SIZE]; /* globally unique, time-ordered */
    uint64_t job_id;                      /* catalogue id */
    uint64_t epoch;                       /* assignment epoch it fired under */
    char *job_name;                       /* job name at fire time */
    int64_t scheduled_ms;                 /* scheduled fire time */
    int64_t started_ms;                   /* actual start */
    int64_t finished_ms;                  /* end, 0 while running */
    uint32_t attempt;                     /* 1 for the first attempt */
    char *reason;                         /* "schedule", "manual", "misfire", "retry", ... */
    int32_t status;                       /* hg_run_status_t */
    int32_t http_status;                  /* HTTP status, 0 if none */
    int32_t exit_code;                    /* plug-in / process exit code, 0 if none */
    char *error;                          /* error text, NULL if none */
    hg_blob_t output;                     /* bounded output excerpt */
    /* --- retries (issue 11; common/hg_retry.h) --- */
    uint8_t first_run_id[HG_PROTO_RUN_ID_SIZE]; /* attempt 1 of its retry chain; all zero
                                                   when the run is in none */
    int64_t retry_at_ms; /* due time of the next attempt; 0: this record is the fire's
                            final outcome. Inside the worker, between an executor and the
                            retry module only: the delay a Retry-After asked for */
    char *retry_reason;  /* why a retry follows ("http_5xx", "timeout", ...), with
                            retry_at_ms; an executor sets "connect" / "plugin_retry" as a hint */
    /* --- overload (issue 14; worker/backlog.h) --- */
    uint32_t fires; /* a skipped record standing for this many fires of the job (from
                       scheduled_ms on), which the worker did not run while its records
                       waited for the master; 0 or 1: the record is one fire */
} hg_run_t;

/* RUN_STARTED and RUN_FINISHED carry a batch of records. */
typedef struct {
    hg_run_t *runs; /* records */
    size_t runs_n;  /* number of records, >= 1 */
} hg_runs_t;

typedef struct {
    uint8_t (*run_ids)[HG_PROTO_RUN_ID_SIZE]; /* records now durable */
    size_t run_ids_n;                         /* number of ids */
} hg_ack_t;

#define HG_PROTO_SHA256_HEX 64           /* length of a plug-in hash in hex */
#define HG_PROTO_CHUNK      (512u << 10) /* plug-in bytes per PLUGIN_CHUNK */

/* Worker -> master: send me bytes [offset, offset + max) of a plug-in. */
typedef struct {
    char *sha256;    /* content hash, 64 lowercase hex digits */
    uint64_t offset; /* first byte wanted */
    uint32_t max;    /* bytes wanted, at most HG_PROTO_CHUNK; 0 means HG_PROTO_CHUNK */
} hg_plugin_get_t;

/* Master -> worker: one piece of a plug-in, or why there is none. */
typedef struct {
    char *sha256;    /* hash asked for */
    uint64_t offset; /* offset of data */
    uint64_t total;  /* size of the whole shared object */
    hg_blob_t data;  /* the bytes, at most HG_PROTO_CHUNK */
    int32_t code;    /* 0, or an HG_E* code (HG_ENOTFOUND: no such plug-in) */
    char *error;     /* message when code != 0 */
} hg_plugin_chunk_t;

/* Worker -> master: graceful leave, in two steps. With handover set, the
 * worker has stopped firing and asks the master to place nothing new on it
 * and to take its jobs back now (REVOKE, acknowledged with the last fire
 * time) while its runs in flight finish. Without it (the form older
 * workers send), the worker is gone: its session ends and whatever it
 * still holds moves at once. */
typedef struct {
    uint32_t handover; /* 1: stopping, hand my jobs over; 0: gone */
} hg_leave_t;

/* Master -> worker: how many runs of a held job are now in flight on other
 * workers (see hg_assign_t.running), sent to the job's holder when one of
 * them ended (its RUN_FINISHED reached the master, or it was closed as
 * lost), and afresh when the holder keeps the job across a new session
 * (after its HELLO, when no ASSIGN goes). A dedicated message rather than a repeated ASSIGN: no new
 * epoch, no spec sent again, no catalogue write for a count. The worker applies it only under the
 * epoch it holds (an older one is stale). An older worker drops it as an unknown message type (and
 * keeps the count of 0 it never left). */
typedef struct {
    uint64_t job_id;  /* the job */
    uint64_t epoch;   /* its assignment epoch at the holder */
    uint32_t running; /* runs in flight elsewhere, at most HG_PROTO_MAX_JOB_RUNNING */
} hg_job_running_t;

typedef struct {
    int32_t code;  /* HG_E* code or protocol error code */
    char *message; /* human-readable explanation */
    char *leader;  /* where the leader is, when refusing as a standby; may be NULL */
} hg_errmsg_t;

typedef struct {
    int type;     /* hg_msg_type_t */
    uint64_t seq; /* sender's sequence number */
    union {
        hg_hello_t hello;
        hg_welcome_t welcome;
        hg_heartbeat_t heartbeat;
        hg_assign_t assign;
        hg_revoke_t revoke;
        hg_trigger_t trigger;
        hg_cancel_t cancel;
        hg_runs_t runs; /* RUN_STARTED, RUN_FINISHED */
        hg_ack_t ack;
        hg_plugin_get_t plugin_get;
        hg_plugin_chunk_t plugin_chunk;
        hg_errmsg_t error;
        hg_leave_t leave;
        hg_job_running_t job_running;
    } u;
} hg_msg_t;

/* Encode msg into a new malloc'ed buffer. 0, HG_EINVAL (bad message,
 * e.g. an unknown type or a NULL required string), HG_ETOOBIG, HG_ENOMEM. */
int hg_msg_encode(const hg_msg_t *msg, uint8_t **buf, size_t *len);

/* Decode one message. On success *out is a new message the caller destroys
 * with hg_msg_destroy. On failure returns a negative HG_E* code and, when
 * detail is not NULL, writes a one-line explanation naming the field. */
int hg_msg_decode(const uint8_t *buf, size_t len, hg_msg_t **out, char *detail, size_t detail_size);

/* Free a decoded (or hand-built with malloc'ed members) message and NULL
 * the caller's pointer. Safe on NULL. */
void hg_msg_destroy(hg_msg_t **msg);

/* Free the members of one run record (not the record itself). */
void hg_run_clear(hg_run_t *run);

/* Deep-copy a run record's members into dst. 0 or HG_ENOMEM. */
int hg_run_copy(hg_run_t *dst, const hg_run_t *src);

/* Deep-copy an assignment. 0 or HG_ENOMEM. */
int hg_assign_copy(hg_assign_t *dst, const hg_assign_t *src);
/* Free the members of an assignment (not the struct itself). */
void hg_assign_clear(hg_assign_t *a);
/* Free the members of an HTTP task spec (not the struct itself) and zero
 * it. Safe on NULL. */
void hg_http_spec_clear(hg_http_spec_t *http);

#endif
