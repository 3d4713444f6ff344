/* hg_proto: encoder and decoder of the master <-> worker protocol, the only
 * code in Hourglass that touches msgpack (DESIGN.md section 3).
 *
 * Frame: msgpack array [protocol_version, type, seq, body-map].
 *
 * Body keys, per message (R = required; everything else may be absent, and
 * the encoder leaves out absent strings, empty arrays and zero integers):
 *
 *   HELLO          node R str, ver str, labels map, cap u32,
 *                  held [held-map...], unacked u32, plugins [str...],
 *                  part u32, more u32 (HELLO in parts: held split over
 *                  parts 0, 1, ...; more = 1 on all but the last),
 *                  runs [inflight-map...] (runs in flight, at most
 *                  HG_PROTO_MAX_RUNNING a part, split like held),
 *                  listed u32 (1: runs lists every run in flight)
 *     held-map     job R u64, epoch R u64, last i64, ver u64
 *     inflight-map id R bin16, job R u64
 *   WELCOME        master R str, epoch R u64, hb R u32, lease R u32
 *   HEARTBEAT      echo u64, running u32, jobs u32, unacked u32
 *   ASSIGN         job R u64, epoch R u64, ver u64, ns str, name R str,
 *                  kind R str, sched R str, tz str, start i64, end i64,
 *                  last i64, misfire str, timeout u32, params map,
 *                  http http-map, plugin plugin-map, recover u32,
 *                  retry retry-map, overlap u32, maxconc u32, qmax u32,
 *                  jitter u32, shard u32, shards u32 (a shard run: index and total),
 *                  running u32 (runs in flight on other workers, at most
 *                  HG_PROTO_MAX_JOB_RUNNING)
 *                  (the master sends http for kind "http", plugin for
 *                  kind "plugin"; the worker refuses the job otherwise)
 *     http-map     method R str, url R str, headers [str...], body bin,
 *                  form map, expect [u16...], ebody str
 *     plugin-map   name R str, ver str, sha str, iso str
 *     retry-map    max u32, backoff u32, initial u32, factor u32,
 *                  maxdelay u32, jitter u32, on u32
 *   REVOKE         job R u64, epoch R u64, last i64
 *   TRIGGER        job R u64, epoch R u64, reason str, params map,
 *                  sched i64, att u32, force u32, due i64, first bin16
 *   PLUGIN_GET     sha R str, off u64, max u32
 *   PLUGIN_CHUNK   sha R str, off u64, total u64, data bin, code i32,
 *                  err str
 *   CANCEL         job R u64, id R bin16
 *   RUN_LOG
 *                  no body fields yet (hg_msg_t has no members for them)
 *   RUN_STARTED,   runs R [run-map...], 1 .. HG_PROTO_MAX_RUNS
 *   RUN_FINISHED
 *     run-map      id R bin16, job R u64, epoch u64, name str, sched R i64,
 *                  start i64, fin i64, att u32, reason str,
 *                  status R uint (an hg_run_status_t), http i32, exit i32,
 *                  err str, out bin, first bin16, retryat i64, rreason str
 *   ACK            runs R [bin16...], 0 .. HG_PROTO_MAX_RUNS
 *   ERROR          code R i32, msg R str, leader str
 *   LEAVE          handover u32
 *   JOB_RUNNING    job R u64, epoch R u64, running u32 (at most
 *                  HG_PROTO_MAX_JOB_RUNNING)
 *
 * "map" is a msgpack map of str -> str (labels, params, form). Strings hold
 * at most HG_PROTO_MAX_STR bytes and no NUL; blobs at most
 * HG_PROTO_MAX_BLOB; maps and arrays at most HG_PROTO_MAX_ITEMS entries
 * (runs: HG_PROTO_MAX_RUNS); a u32 with a limit in its table row (S_SIZED)
 * at most that. A nil value counts as absent. Unknown keys are
 * skipped; a known key given twice is rejected.
 *
 * One descriptor table per body drives encoding, decoding, freeing and deep
 * copying, so the four cannot drift apart.
 */
#include "hg_proto.h"
#include "hg_error.h"

#include <msgpack.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest container nesting the decoder accepts. Real messages nest four
 * deep (frame, body, runs, run); the slack is for fields a newer peer may
 * add. msgpack-c's own parser stops at 32. */
#define S_MAX_DEPTH 16

/* Path segments kept for error details: "RUN_FINISHED.runs[3].status". */
#define S_MAX_PATH 8

typedef enum {
    S_U64,    /* uint64_t */
    S_U32,    /* uint32_t */
    S_I64,    /* int64_t */
    S_I32,    /* int32_t */
    S_STATUS, /* int32_t holding an hg_run_status_t */
    S_STR,    /* char *, NUL-terminated */
    S_BLOB,   /* hg_blob_t */
    S_RUNID,  /* uint8_t[HG_PROTO_RUN_ID_SIZE], bin of exactly that size */
    S_KVS,    /* hg_kv_t * + size_t count: map of str -> str */
    S_STRS,   /* char ** + size_t count: array of str */
    S_CODES,  /* uint16_t * + size_t count: array of uint */
    S_RUNIDS, /* uint8_t (*)[16] + size_t count: array of bin16 */
    S_MAPS,   /* struct * + size_t count: array of maps laid out by sub */
    S_MAP,    /* embedded struct laid out by sub */
} s_kind_t;

enum {
    S_REQ = 1,      /* absent -> HG_EMISSING; the encoder always writes it */
    S_NONEMPTY = 2, /* an array that must hold at least one element */
};

typedef struct s_table s_table_t;

typedef struct {
    const char *key;      /* wire key */
    uint8_t key_len;      /* strlen(key) */
    uint8_t kind;         /* s_kind_t */
    uint8_t flags;        /* S_REQ, S_NONEMPTY */
    uint16_t off;         /* offset of the member in its struct */
    uint16_t n_off;       /* offset of the element count (array kinds) */
    uint32_t max;         /* limit: bytes for strings and blobs, elements for arrays */
    const s_table_t *sub; /* layout of the elements (S_MAPS, S_MAP) */
} s_field_t;

struct s_table {
    const s_field_t *fields; /* at most 32, one bit each in the seen masks */
    uint8_t n;               /* number of fields */
    uint16_t size;           /* sizeof the struct the offsets refer to */
};

#define S_KEY(k) k, (uint8_t) (sizeof(k) - 1)
#define S_SCALAR(k, kind, flags, type, member)                                                     \
    {                                                                                              \
        S_KEY(k), kind, flags, offsetof(type, member), 0, 0, NULL                                  \
    }
#define S_SIZED(k, kind, flags, type, member, max)                                                 \
    {                                                                                              \
        S_KEY(k), kind, flags, offsetof(type, member), 0, max, NULL                                \
    }
#define S_ARRAY(k, kind, flags, type, member, count, max, sub)                                     \
    {                                                                                              \
        S_KEY(k), kind, flags, offsetof(type, member), offsetof(type, count), max, sub             \
    }
#define S_TABLE(fields, type)                                                                      \
    {                                                                                              \
        fields, (uint8_t) (sizeof(fields) / sizeof(fields[0])), sizeof(type)                       \
    }

static const s_field_t s_held_fields[] = {
    S_SCALAR("job", S_U64, S_REQ, hg_held_t, job_id),
    S_SCALAR("epoch", S_U64, S_REQ, hg_held_t, epoch),
    S_SCALAR("last", S_I64, 0, hg_held_t, last_fire_ms),
    S_SCALAR("ver", S_U64, 0, hg_held_t, version),
};
static const s_table_t s_held_table = S_TABLE(s_held_fields, hg_held_t);

static const s_field_t s_inflight_fields[] = {
    S_SCALAR("id", S_RUNID, S_REQ, hg_inflight_run_t, run_id),
    S_SCALAR("job", S_U64, S_REQ, hg_inflight_run_t, job_id),
};
static const s_table_t s_inflight_table = S_TABLE(s_inflight_fields, hg_inflight_run_t);

static const s_field_t s_hello_fields[] = {
    S_SIZED("node", S_STR, S_REQ, hg_hello_t, node, HG_PROTO_MAX_STR),
    S_SIZED("ver", S_STR, 0, hg_hello_t, version, HG_PROTO_MAX_STR),
    S_ARRAY("labels", S_KVS, 0, hg_hello_t, labels, labels_n, HG_PROTO_MAX_ITEMS, NULL),
    S_SCALAR("cap", S_U32, 0, hg_hello_t, capacity),
    S_ARRAY("held", S_MAPS, 0, hg_hello_t, held, held_n, HG_PROTO_MAX_HELD, &s_held_table),
    S_SCALAR("unacked", S_U32, 0, hg_hello_t, unacked),
    S_ARRAY("plugins", S_STRS, 0, hg_hello_t, plugins, plugins_n, HG_PROTO_MAX_ITEMS, NULL),
    S_SCALAR("part", S_U32, 0, hg_hello_t, part),
    S_SCALAR("more", S_U32, 0, hg_hello_t, more),
    S_ARRAY("runs", S_MAPS, 0, hg_hello_t, runs, runs_n, HG_PROTO_MAX_RUNNING, &s_inflight_table),
    S_SCALAR("listed", S_U32, 0, hg_hello_t, runs_listed),
};
static const s_table_t s_hello_table = S_TABLE(s_hello_fields, hg_hello_t);

static const s_field_t s_welcome_fields[] = {
    S_SIZED("master", S_STR, S_REQ, hg_welcome_t, master, HG_PROTO_MAX_STR),
    S_SCALAR("epoch", S_U64, S_REQ, hg_welcome_t, master_epoch),
    S_SCALAR("hb", S_U32, S_REQ, hg_welcome_t, heartbeat_ms),
    S_SCALAR("lease", S_U32, S_REQ, hg_welcome_t, lease_ms),
};
static const s_table_t s_welcome_table = S_TABLE(s_welcome_fields, hg_welcome_t);

static const s_field_t s_heartbeat_fields[] = {
    S_SCALAR("echo", S_U64, 0, hg_heartbeat_t, echo),
    S_SCALAR("running", S_U32, 0, hg_heartbeat_t, running),
    S_SCALAR("jobs", S_U32, 0, hg_heartbeat_t, jobs),
    S_SCALAR("unacked", S_U32, 0, hg_heartbeat_t, unacked),
};
static const s_table_t s_heartbeat_table = S_TABLE(s_heartbeat_fields, hg_heartbeat_t);

static const s_field_t s_http_fields[] = {
    S_SIZED("method", S_STR, S_REQ, hg_http_spec_t, method, HG_PROTO_MAX_STR),
    S_SIZED("url", S_STR, S_REQ, hg_http_spec_t, url, HG_PROTO_MAX_STR),
    S_ARRAY("headers", S_STRS, 0, hg_http_spec_t, headers, headers_n, HG_PROTO_MAX_ITEMS, NULL),
    S_SIZED("body", S_BLOB, 0, hg_http_spec_t, body, HG_PROTO_MAX_BLOB),
    S_ARRAY("form", S_KVS, 0, hg_http_spec_t, form, form_n, HG_PROTO_MAX_ITEMS, NULL),
    S_ARRAY("expect", S_CODES, 0, hg_http_spec_t, expect, expect_n, HG_PROTO_MAX_ITEMS, NULL),
    S_SIZED("ebody", S_STR, 0, hg_http_spec_t, expect_body, HG_PROTO_MAX_STR),
};
static const s_table_t s_http_table = S_TABLE(s_http_fields, hg_http_spec_t);

static const s_field_t s_plugin_fields[] = {
    S_SIZED("name", S_STR, S_REQ, hg_plugin_spec_t, name, HG_PROTO_MAX_STR),
    S_SIZED("ver", S_STR, 0, hg_plugin_spec_t, version, HG_PROTO_MAX_STR),
    S_SIZED("sha", S_STR, 0, hg_plugin_spec_t, sha256, HG_PROTO_MAX_STR),
    S_SIZED("iso", S_STR, 0, hg_plugin_spec_t, isolation, HG_PROTO_MAX_STR),
    S_SCALAR("lfirst", S_U32, 0, hg_plugin_spec_t, local_first),
};
static const s_table_t s_plugin_table = S_TABLE(s_plugin_fields, hg_plugin_spec_t);

static const s_field_t s_retry_fields[] = {
    S_SCALAR("max", S_U32, 0, hg_retry_spec_t, max_attempts),
    S_SCALAR("backoff", S_U32, 0, hg_retry_spec_t, backoff),
    S_SCALAR("initial", S_U32, 0, hg_retry_spec_t, initial_ms),
    S_SCALAR("factor", S_U32, 0, hg_retry_spec_t, factor_milli),
    S_SCALAR("maxdelay", S_U32, 0, hg_retry_spec_t, max_delay_ms),
    S_SCALAR("jitter", S_U32, 0, hg_retry_spec_t, jitter),
    S_SCALAR("on", S_U32, 0, hg_retry_spec_t, on),
};
static const s_table_t s_retry_table = S_TABLE(s_retry_fields, hg_retry_spec_t);

static const s_field_t s_assign_fields[] = {
    S_SCALAR("job", S_U64, S_REQ, hg_assign_t, job_id),
    S_SCALAR("epoch", S_U64, S_REQ, hg_assign_t, epoch),
    S_SCALAR("ver", S_U64, 0, hg_assign_t, version),
    S_SIZED("ns", S_STR, 0, hg_assign_t, ns, HG_PROTO_MAX_STR),
    S_SIZED("name", S_STR, S_REQ, hg_assign_t, name, HG_PROTO_MAX_STR),
    S_SIZED("kind", S_STR, S_REQ, hg_assign_t, kind, HG_PROTO_MAX_STR),
    S_SIZED("sched", S_STR, S_REQ, hg_assign_t, schedule, HG_PROTO_MAX_STR),
    S_SIZED("tz", S_STR, 0, hg_assign_t, tz, HG_PROTO_MAX_STR),
    S_SCALAR("start", S_I64, 0, hg_assign_t, start_ms),
    S_SCALAR("end", S_I64, 0, hg_assign_t, end_ms),
    S_SCALAR("last", S_I64, 0, hg_assign_t, last_fire_ms),
    S_SIZED("misfire", S_STR, 0, hg_assign_t, misfire, HG_PROTO_MAX_STR),
    S_SCALAR("timeout", S_U32, 0, hg_assign_t, timeout_ms),
    S_ARRAY("params", S_KVS, 0, hg_assign_t, params, params_n, HG_PROTO_MAX_ITEMS, NULL),
    {S_KEY("http"), S_MAP, 0, offsetof(hg_assign_t, http), 0, 0, &s_http_table},
    {S_KEY("plugin"), S_MAP, 0, offsetof(hg_assign_t, plugin), 0, 0, &s_plugin_table},
    S_SCALAR("recover", S_U32, 0, hg_assign_t, recover),
    /* retries and overlap (issue 11) */
    {S_KEY("retry"), S_MAP, 0, offsetof(hg_assign_t, retry), 0, 0, &s_retry_table},
    S_SCALAR("overlap", S_U32, 0, hg_assign_t, overlap),
    S_SCALAR("maxconc", S_U32, 0, hg_assign_t, max_concurrent),
    S_SCALAR("qmax", S_U32, 0, hg_assign_t, queue_max),
    S_SCALAR("jitter", S_U32, 0, hg_assign_t, jitter_ms),
    /* routing (issue 11): the shard a sharded job's slot runs */
    S_SCALAR("shard", S_U32, 0, hg_assign_t, shard_index),
    S_SCALAR("shards", S_U32, 0, hg_assign_t, shard_total),
    /* overlap across a move (issue 11) */
    S_SIZED("running", S_U32, 0, hg_assign_t, running, HG_PROTO_MAX_JOB_RUNNING),
};
static const s_table_t s_assign_table = S_TABLE(s_assign_fields, hg_assign_t);

static const s_field_t s_revoke_fields[] = {
    S_SCALAR("job", S_U64, S_REQ, hg_revoke_t, job_id),
    S_SCALAR("epoch", S_U64, S_REQ, hg_revoke_t, epoch),
    S_SCALAR("last", S_I64, 0, hg_revoke_t, last_fire_ms),
};
static const s_table_t s_revoke_table = S_TABLE(s_revoke_fields, hg_revoke_t);

static const s_field_t s_trigger_fields[] = {
    S_SCALAR("job", S_U64, S_REQ, hg_trigger_t, job_id),
    S_SCALAR("epoch", S_U64, S_REQ, hg_trigger_t, epoch),
    S_SIZED("reason", S_STR, 0, hg_trigger_t, reason, HG_PROTO_MAX_STR),
    S_ARRAY("params", S_KVS, 0, hg_trigger_t, params, params_n, HG_PROTO_MAX_ITEMS, NULL),
    S_SCALAR("sched", S_I64, 0, hg_trigger_t, scheduled_ms),
    S_SCALAR("att", S_U32, 0, hg_trigger_t, attempt),
    /* retries and overlap (issue 11) */
    S_SCALAR("force", S_U32, 0, hg_trigger_t, force),
    S_SCALAR("due", S_I64, 0, hg_trigger_t, due_ms),
    S_SCALAR("first", S_RUNID, 0, hg_trigger_t, first_run_id),
};
static const s_table_t s_trigger_table = S_TABLE(s_trigger_fields, hg_trigger_t);

static const s_field_t s_cancel_fields[] = {
    S_SCALAR("job", S_U64, S_REQ, hg_cancel_t, job_id),
    S_SCALAR("id", S_RUNID, S_REQ, hg_cancel_t, run_id),
};
static const s_table_t s_cancel_table = S_TABLE(s_cancel_fields, hg_cancel_t);

static const s_field_t s_run_fields[] = {
    S_SCALAR("id", S_RUNID, S_REQ, hg_run_t, run_id),
    S_SCALAR("job", S_U64, S_REQ, hg_run_t, job_id),
    S_SCALAR("epoch", S_U64, 0, hg_run_t, epoch),
    S_SIZED("name", S_STR, 0, hg_run_t, job_name, HG_PROTO_MAX_STR),
    S_SCALAR("sched", S_I64, S_REQ, hg_run_t, scheduled_ms),
    S_SCALAR("start", S_I64, 0, hg_run_t, started_ms),
    S_SCALAR("fin", S_I64, 0, hg_run_t, finished_ms),
    S_SCALAR("att", S_U32, 0, hg_run_t, attempt),
    S_SIZED("reason", S_STR, 0, hg_run_t, reason, HG_PROTO_MAX_STR),
    S_SCALAR("status", S_STATUS, S_REQ, hg_run_t, status),
    S_SCALAR("http", S_I32, 0, hg_run_t, http_status),
    S_SCALAR("exit", S_I32, 0, hg_run_t, exit_code),
    S_SIZED("err", S_STR, 0, hg_run_t, error, HG_PROTO_MAX_STR),
    S_SIZED("out", S_BLOB, 0, hg_run_t, output, HG_PROTO_MAX_BLOB),
    /* retries (issue 11) */
    S_SCALAR("first", S_RUNID, 0, hg_run_t, first_run_id),
    S_SCALAR("retryat", S_I64, 0, hg_run_t, retry_at_ms),
    S_SIZED("rreason", S_STR, 0, hg_run_t, retry_reason, HG_PROTO_MAX_STR),
    S_SCALAR("fires", S_U32, 0, hg_run_t, fires),
};
static const s_table_t s_run_table = S_TABLE(s_run_fields, hg_run_t);

static const s_field_t s_runs_fields[] = {
    S_ARRAY("runs", S_MAPS, S_REQ | S_NONEMPTY, hg_runs_t, runs, runs_n, HG_PROTO_MAX_RUNS,
            &s_run_table),
};
static const s_table_t s_runs_table = S_TABLE(s_runs_fields, hg_runs_t);

static const s_field_t s_ack_fields[] = {
    S_ARRAY("runs", S_RUNIDS, S_REQ, hg_ack_t, run_ids, run_ids_n, HG_PROTO_MAX_RUNS, NULL),
};
static const s_table_t s_ack_table = S_TABLE(s_ack_fields, hg_ack_t);

static const s_field_t s_plugin_get_fields[] = {
    S_SIZED("sha", S_STR, S_REQ, hg_plugin_get_t, sha256, HG_PROTO_MAX_STR),
    S_SCALAR("off", S_U64, 0, hg_plugin_get_t, offset),
    S_SCALAR("max", S_U32, 0, hg_plugin_get_t, max),
};
static const s_table_t s_plugin_get_table = S_TABLE(s_plugin_get_fields, hg_plugin_get_t);

static const s_field_t s_plugin_chunk_fields[] = {
    S_SIZED("sha", S_STR, S_REQ, hg_plugin_chunk_t, sha256, HG_PROTO_MAX_STR),
    S_SCALAR("off", S_U64, 0, hg_plugin_chunk_t, offset),
    S_SCALAR("total", S_U64, 0, hg_plugin_chunk_t, total),
    S_SIZED("data", S_BLOB, 0, hg_plugin_chunk_t, data, HG_PROTO_MAX_BLOB),
    S_SCALAR("code", S_I32, 0, hg_plugin_chunk_t, code),
    S_SIZED("err", S_STR, 0, hg_plugin_chunk_t, error, HG_PROTO_MAX_STR),
};
static const s_table_t s_plugin_chunk_table = S_TABLE(s_plugin_chunk_fields, hg_plugin_chunk_t);

static const s_field_t s_error_fields[] = {
    S_SCALAR("code", S_I32, S_REQ, hg_errmsg_t, code),
    S_SIZED("msg", S_STR, S_REQ, hg_errmsg_t, message, HG_PROTO_MAX_STR),
    S_SIZED("leader", S_STR, 0, hg_errmsg_t, leader, HG_PROTO_MAX_STR),
};
static const s_table_t s_error_table = S_TABLE(s_error_fields, hg_errmsg_t);

static const s_field_t s_leave_fields[] = {
    S_SCALAR("handover", S_U32, 0, hg_leave_t, handover),
};
static const s_table_t s_leave_table = S_TABLE(s_leave_fields, hg_leave_t);

static const s_field_t s_job_running_fields[] = {
    S_SCALAR("job", S_U64, S_REQ, hg_job_running_t, job_id),
    S_SCALAR("epoch", S_U64, S_REQ, hg_job_running_t, epoch),
    S_SIZED("running", S_U32, 0, hg_job_running_t, running, HG_PROTO_MAX_JOB_RUNNING),
};
static const s_table_t s_job_running_table = S_TABLE(s_job_running_fields, hg_job_running_t);

/* The decoder tracks the keys it has seen in one 32-bit mask per map. */
_Static_assert(sizeof s_assign_fields / sizeof s_assign_fields[0] <= 32, "too many fields");
_Static_assert(sizeof s_run_fields / sizeof s_run_fields[0] <= 32, "too many fields");

/* Messages whose body has no fields yet. */
static const s_table_t s_empty_table = {NULL, 0, 0};

typedef struct {
    const char *name;       /* "HELLO" */
    const s_table_t *table; /* body layout, offsets relative to hg_msg_t.u */
} s_type_t;

static const s_type_t s_types[] = {
    [HG_MSG_HELLO] = {"HELLO", &s_hello_table},
    [HG_MSG_WELCOME] = {"WELCOME", &s_welcome_table},
    [HG_MSG_HEARTBEAT] = {"HEARTBEAT", &s_heartbeat_table},
    [HG_MSG_ASSIGN] = {"ASSIGN", &s_assign_table},
    [HG_MSG_REVOKE] = {"REVOKE", &s_revoke_table},
    [HG_MSG_TRIGGER] = {"TRIGGER", &s_trigger_table},
    [HG_MSG_CANCEL] = {"CANCEL", &s_cancel_table},
    [HG_MSG_RUN_STARTED] = {"RUN_STARTED", &s_runs_table},
    [HG_MSG_RUN_FINISHED] = {"RUN_FINISHED", &s_runs_table},
    [HG_MSG_RUN_LOG] = {"RUN_LOG", &s_empty_table},
    [HG_MSG_ACK] = {"ACK", &s_ack_table},
    [HG_MSG_PLUGIN_GET] = {"PLUGIN_GET", &s_plugin_get_table},
    [HG_MSG_PLUGIN_CHUNK] = {"PLUGIN_CHUNK", &s_plugin_chunk_table},
    [HG_MSG_ERROR] = {"ERROR", &s_error_table},
    [HG_MSG_LEAVE] = {"LEAVE", &s_leave_table},
    [HG_MSG_JOB_RUNNING] = {"JOB_RUNNING", &s_job_running_table},
};
#define S_TYPE_MAX ((int) (sizeof(s_types) / sizeof(s_types[0])) - 1)

static const s_type_t *s_type(int type)
{
    if (type < 1 || type > S_TYPE_MAX) return NULL;
    return &s_types[type];
}

const char *hg_msg_type_name(int type)
{
    const s_type_t *t = s_type(type);
    return t ? t->name : "UNKNOWN";
}

static const char *const s_status_names[] = {
    [HG_RUN_RUNNING] = "running", [HG_RUN_SUCCESS] = "success",     [HG_RUN_FAILED] = "failed",
    [HG_RUN_TIMEOUT] = "timeout", [HG_RUN_CRASHED] = "crashed",     [HG_RUN_LOST] = "lost",
    [HG_RUN_SKIPPED] = "skipped", [HG_RUN_CANCELLED] = "cancelled",
};
#define S_STATUS_MAX ((int) (sizeof(s_status_names) / sizeof(s_status_names[0])) - 1)

const char *hg_run_status_name(int status)
{
    if (status < 0 || status > S_STATUS_MAX) return NULL;
    return s_status_names[status];
}

int hg_run_status_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i <= S_STATUS_MAX; i++) {
        if (strcmp(name, s_status_names[i]) == 0) return i;
    }
    return -1;
}

/* Pointer members of different types are read and written through memcpy,
 * so one generic routine serves them all without breaking aliasing rules. */
static void *s_ptr_get(const char *base, uint16_t off)
{
    void *p;
    memcpy(&p, base + off, sizeof p);
    return p;
}

static void s_ptr_set(char *base, uint16_t off, const void *p)
{
    memcpy(base + off, &p, sizeof p);
}

static size_t s_count_get(const char *base, uint16_t off)
{
    size_t n;
    memcpy(&n, base + off, sizeof n);
    return n;
}

static void s_count_set(char *base, uint16_t off, size_t n)
{
    memcpy(base + off, &n, sizeof n);
}

/* ---------------------------------------------------------------------
 * Freeing and copying
 */

static void s_free_table(const s_table_t *t, char *base);

static void s_free_kvs(hg_kv_t *kv, size_t n)
{
    if (!kv) return;
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

/* Free what one field owns and detach it (pointer NULL, count 0). */
static void s_free_field(const s_field_t *f, char *base)
{
    char *m = base + f->off;
    switch ((s_kind_t) f->kind) {
    case S_STR:
    case S_CODES:
    case S_RUNIDS:
        free(s_ptr_get(base, f->off));
        s_ptr_set(base, f->off, NULL);
        break;
    case S_BLOB: {
        hg_blob_t *b = (hg_blob_t *) m;
        free(b->data);
        b->data = NULL;
        b->len = 0;
        return;
    }
    case S_KVS:
        s_free_kvs(s_ptr_get(base, f->off), s_count_get(base, f->n_off));
        s_ptr_set(base, f->off, NULL);
        break;
    case S_STRS: {
        char **s = s_ptr_get(base, f->off);
        size_t n = s_count_get(base, f->n_off);
        for (size_t i = 0; s && i < n; i++)
            free(s[i]);
        free(s);
        s_ptr_set(base, f->off, NULL);
        break;
    }
    case S_MAPS: {
        char *elems = s_ptr_get(base, f->off);
        size_t n = s_count_get(base, f->n_off);
        for (size_t i = 0; elems && i < n; i++)
            s_free_table(f->sub, elems + i * f->sub->size);
        free(elems);
        s_ptr_set(base, f->off, NULL);
        break;
    }
    case S_MAP:
        s_free_table(f->sub, m);
        return;
    default:
        return;
    }
    if (f->kind != S_STR) s_count_set(base, f->n_off, 0);
}

static void s_free_table(const s_table_t *t, char *base)
{
    for (uint8_t i = 0; i < t->n; i++)
        s_free_field(&t->fields[i], base);
}

static bool s_owns_memory(const s_field_t *f)
{
    return f->kind >= S_STR && f->kind != S_RUNID;
}

/* Clear the owning members of a struct just memcpy'ed from another, so that
 * it no longer aliases the source. */
static void s_detach_table(const s_table_t *t, char *base)
{
    for (uint8_t i = 0; i < t->n; i++) {
        const s_field_t *f = &t->fields[i];
        if (!s_owns_memory(f)) continue;
        if (f->kind == S_MAP) {
            s_detach_table(f->sub, base + f->off);
        } else if (f->kind == S_BLOB) {
            hg_blob_t *b = (hg_blob_t *) (base + f->off);
            b->data = NULL;
            b->len = 0;
        } else {
            s_ptr_set(base, f->off, NULL);
            if (f->kind != S_STR) s_count_set(base, f->n_off, 0);
        }
    }
}

/* strdup that maps NULL to NULL; *failed is set on allocation failure. */
static char *s_strdup(const char *s, bool *failed)
{
    if (!s) return NULL;
    char *c = strdup(s);
    if (!c) *failed = true;
    return c;
}

static void *s_memdup(const void *p, size_t size)
{
    void *c = malloc(size ? size : 1);
    if (c && size) memcpy(c, p, size);
    return c;
}

static int s_copy_table(const s_table_t *t, char *dst, const char *src);

/* Deep-copy one owning field; dst has been detached. */
static int s_copy_field(const s_field_t *f, char *dst, const char *src)
{
    bool failed = false;
    switch ((s_kind_t) f->kind) {
    case S_STR:
        s_ptr_set(dst, f->off, s_strdup(s_ptr_get(src, f->off), &failed));
        break;
    case S_BLOB: {
        const hg_blob_t *sb = (const hg_blob_t *) (src + f->off);
        hg_blob_t *db = (hg_blob_t *) (dst + f->off);
        if (!sb->data || sb->len == 0) break;
        db->data = s_memdup(sb->data, sb->len);
        if (!db->data) return HG_ENOMEM;
        db->len = sb->len;
        break;
    }
    case S_CODES:
    case S_RUNIDS: {
        size_t n = s_count_get(src, f->n_off);
        const void *p = s_ptr_get(src, f->off);
        if (!p || n == 0) break;
        size_t elem = f->kind == S_CODES ? sizeof(uint16_t) : HG_PROTO_RUN_ID_SIZE;
        void *c = s_memdup(p, n * elem);
        if (!c) return HG_ENOMEM;
        s_ptr_set(dst, f->off, c);
        s_count_set(dst, f->n_off, n);
        break;
    }
    case S_KVS: {
        size_t n = s_count_get(src, f->n_off);
        const hg_kv_t *s = s_ptr_get(src, f->off);
        if (!s || n == 0) break;
        hg_kv_t *c = calloc(n, sizeof *c);
        if (!c) return HG_ENOMEM;
        s_ptr_set(dst, f->off, c);
        s_count_set(dst, f->n_off, n);
        for (size_t i = 0; i < n && !failed; i++) {
            c[i].key = s_strdup(s[i].key, &failed);
            c[i].value = s_strdup(s[i].value, &failed);
        }
        break;
    }
    case S_STRS: {
        size_t n = s_count_get(src, f->n_off);
        char *const *s = s_ptr_get(src, f->off);
        if (!s || n == 0) break;
        char **c = calloc(n, sizeof *c);
        if (!c) return HG_ENOMEM;
        s_ptr_set(dst, f->off, c);
        s_count_set(dst, f->n_off, n);
        for (size_t i = 0; i < n && !failed; i++)
            c[i] = s_strdup(s[i], &failed);
        break;
    }
    case S_MAPS: {
        size_t n = s_count_get(src, f->n_off);
        const char *s = s_ptr_get(src, f->off);
        if (!s || n == 0) break;
        char *c = calloc(n, f->sub->size);
        if (!c) return HG_ENOMEM;
        s_ptr_set(dst, f->off, c);
        s_count_set(dst, f->n_off, n);
        for (size_t i = 0; i < n; i++) {
            int rc = s_copy_table(f->sub, c + i * f->sub->size, s + i * f->sub->size);
            if (rc) return rc;
        }
        break;
    }
    case S_MAP:
        return s_copy_table(f->sub, dst + f->off, src + f->off);
    default:
        break;
    }
    return failed ? HG_ENOMEM : 0;
}

/* Deep copy; on failure dst is left zeroed with nothing allocated. */
static int s_copy_table(const s_table_t *t, char *dst, const char *src)
{
    memcpy(dst, src, t->size);
    s_detach_table(t, dst);
    for (uint8_t i = 0; i < t->n; i++) {
        const s_field_t *f = &t->fields[i];
        if (!s_owns_memory(f)) continue;
        if (s_copy_field(f, dst, src) != 0) {
            s_free_table(t, dst);
            memset(dst, 0, t->size);
            return HG_ENOMEM;
        }
    }
    return 0;
}

void hg_run_clear(hg_run_t *run)
{
    if (!run) return;
    s_free_table(&s_run_table, (char *) run);
    memset(run, 0, sizeof *run);
}

int hg_run_copy(hg_run_t *dst, const hg_run_t *src)
{
    if (!dst || !src) return HG_EINVAL;
    return s_copy_table(&s_run_table, (char *) dst, (const char *) src);
}

void hg_http_spec_clear(hg_http_spec_t *http)
{
    if (!http) return;
    s_free_table(&s_http_table, (char *) http);
    memset(http, 0, sizeof *http);
}

void hg_assign_clear(hg_assign_t *a)
{
    if (!a) return;
    s_free_table(&s_assign_table, (char *) a);
    memset(a, 0, sizeof *a);
}

int hg_assign_copy(hg_assign_t *dst, const hg_assign_t *src)
{
    if (!dst || !src) return HG_EINVAL;
    return s_copy_table(&s_assign_table, (char *) dst, (const char *) src);
}

void hg_msg_destroy(hg_msg_t **msg)
{
    if (!msg || !*msg) return;
    const s_type_t *t = s_type((*msg)->type);
    if (t) s_free_table(t->table, (char *) &(*msg)->u);
    free(*msg);
    *msg = NULL;
}

/* ---------------------------------------------------------------------
 * Encoding
 */

typedef struct {
    msgpack_sbuffer sbuf; /* output, grown by doubling */
    msgpack_packer pk;    /* writes into sbuf through s_enc_write */
    bool too_big;         /* output passed HG_PROTO_MAX_MSG */
} s_enc_t;

/* Stop as soon as the frame outgrows what the peer accepts, rather than
 * building a huge buffer only to throw it away. */
static int s_enc_write(void *data, const char *buf, size_t len)
{
    s_enc_t *e = data;
    if (len > HG_PROTO_MAX_MSG - e->sbuf.size) {
        e->too_big = true;
        return -1;
    }
    return msgpack_sbuffer_write(&e->sbuf, buf, len);
}

/* Map a packer failure to a code. */
static int s_enc_fail(const s_enc_t *e)
{
    return e->too_big ? HG_ETOOBIG : HG_ENOMEM;
}

#define S_PACK(e, call)                                                                            \
    do {                                                                                           \
        if ((call) != 0) return s_enc_fail(e);                                                     \
    } while (0)

static bool s_table_present(const s_table_t *t, const char *base);

/* Whether an optional field carries a value worth sending. */
static bool s_field_present(const s_field_t *f, const char *base)
{
    const char *m = base + f->off;
    switch ((s_kind_t) f->kind) {
    case S_U64:
        return *(const uint64_t *) m != 0;
    case S_U32:
        return *(const uint32_t *) m != 0;
    case S_I64:
        return *(const int64_t *) m != 0;
    case S_I32:
    case S_STATUS:
        return *(const int32_t *) m != 0;
    case S_STR:
        return s_ptr_get(base, f->off) != NULL;
    case S_BLOB:
        return ((const hg_blob_t *) m)->len != 0;
    case S_RUNID: /* an optional id is sent only when set (all zero: none) */
        if (f->flags & S_REQ) return true;
        for (int i = 0; i < HG_PROTO_RUN_ID_SIZE; i++)
            if (((const uint8_t *) m)[i]) return true;
        return false;
    case S_MAP:
        return s_table_present(f->sub, m);
    default:
        return s_count_get(base, f->n_off) != 0;
    }
}

static bool s_table_present(const s_table_t *t, const char *base)
{
    for (uint8_t i = 0; i < t->n; i++) {
        if (s_field_present(&t->fields[i], base)) return true;
    }
    return false;
}

static int s_pack_str(s_enc_t *e, const char *s, uint32_t max)
{
    if (!s) return HG_EINVAL;
    size_t len = strnlen(s, (size_t) max + 1);
    if (len > max) return HG_ETOOBIG;
    S_PACK(e, msgpack_pack_str_with_body(&e->pk, s, len));
    return 0;
}

static int s_pack_table(s_enc_t *e, const s_table_t *t, const char *base);

static int s_pack_value(s_enc_t *e, const s_field_t *f, const char *base)
{
    const char *m = base + f->off;
    msgpack_packer *pk = &e->pk;
    size_t n = 0;
    if (f->kind >= S_KVS && f->kind <= S_MAPS) {
        n = s_count_get(base, f->n_off);
        if (n > f->max) return HG_ETOOBIG;
        if (n > 0 && !s_ptr_get(base, f->off)) return HG_EINVAL;
        if (n == 0 && (f->flags & S_NONEMPTY)) return HG_EINVAL;
    }
    switch ((s_kind_t) f->kind) {
    case S_U64:
        S_PACK(e, msgpack_pack_uint64(pk, *(const uint64_t *) m));
        return 0;
    case S_U32:
        /* A limited field (S_SIZED) is refused beyond its limit, as the
         * peer's decoder would refuse it. */
        if (f->max && *(const uint32_t *) m > f->max) return HG_ERANGE;
        S_PACK(e, msgpack_pack_uint32(pk, *(const uint32_t *) m));
        return 0;
    case S_I64:
        S_PACK(e, msgpack_pack_int64(pk, *(const int64_t *) m));
        return 0;
    case S_STATUS:
        if (!hg_run_status_name(*(const int32_t *) m)) return HG_EINVAL;
        /* fall through */
    case S_I32:
        S_PACK(e, msgpack_pack_int32(pk, *(const int32_t *) m));
        return 0;
    case S_STR:
        return s_pack_str(e, s_ptr_get(base, f->off), f->max);
    case S_BLOB: {
        const hg_blob_t *b = (const hg_blob_t *) m;
        if (b->len > f->max) return HG_ETOOBIG;
        if (b->len && !b->data) return HG_EINVAL;
        S_PACK(e, msgpack_pack_bin_with_body(pk, b->data, b->len));
        return 0;
    }
    case S_RUNID:
        S_PACK(e, msgpack_pack_bin_with_body(pk, m, HG_PROTO_RUN_ID_SIZE));
        return 0;
    case S_KVS: {
        const hg_kv_t *kv = s_ptr_get(base, f->off);
        S_PACK(e, msgpack_pack_map(pk, n));
        for (size_t i = 0; i < n; i++) {
            int rc = s_pack_str(e, kv[i].key, HG_PROTO_MAX_STR);
            if (!rc) rc = s_pack_str(e, kv[i].value, HG_PROTO_MAX_STR);
            if (rc) return rc;
        }
        return 0;
    }
    case S_STRS: {
        char *const *s = s_ptr_get(base, f->off);
        S_PACK(e, msgpack_pack_array(pk, n));
        for (size_t i = 0; i < n; i++) {
            int rc = s_pack_str(e, s[i], HG_PROTO_MAX_STR);
            if (rc) return rc;
        }
        return 0;
    }
    case S_CODES: {
        const uint16_t *c = s_ptr_get(base, f->off);
        S_PACK(e, msgpack_pack_array(pk, n));
        for (size_t i = 0; i < n; i++)
            S_PACK(e, msgpack_pack_uint16(pk, c[i]));
        return 0;
    }
    case S_RUNIDS: {
        const uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_ptr_get(base, f->off);
        S_PACK(e, msgpack_pack_array(pk, n));
        for (size_t i = 0; i < n; i++)
            S_PACK(e, msgpack_pack_bin_with_body(pk, ids[i], HG_PROTO_RUN_ID_SIZE));
        return 0;
    }
    case S_MAPS: {
        const char *elems = s_ptr_get(base, f->off);
        S_PACK(e, msgpack_pack_array(pk, n));
        for (size_t i = 0; i < n; i++) {
            int rc = s_pack_table(e, f->sub, elems + i * f->sub->size);
            if (rc) return rc;
        }
        return 0;
    }
    case S_MAP:
        return s_pack_table(e, f->sub, m);
    }
    return HG_EINVAL;
}

static int s_pack_table(s_enc_t *e, const s_table_t *t, const char *base)
{
    uint32_t write = 0, n = 0;
    for (uint8_t i = 0; i < t->n; i++) {
        if ((t->fields[i].flags & S_REQ) || s_field_present(&t->fields[i], base)) {
            write |= 1u << i;
            n++;
        }
    }
    S_PACK(e, msgpack_pack_map(&e->pk, n));
    for (uint8_t i = 0; i < t->n; i++) {
        if (!(write & (1u << i))) continue;
        const s_field_t *f = &t->fields[i];
        S_PACK(e, msgpack_pack_str_with_body(&e->pk, f->key, f->key_len));
        int rc = s_pack_value(e, f, base);
        if (rc) return rc;
    }
    return 0;
}

/* Rules that span fields, shared by encoder and decoder. */
static bool s_assign_needs_http(const hg_assign_t *a)
{
    return a->kind && strcmp(a->kind, "http") == 0 && !a->http.url;
}

int hg_msg_encode(const hg_msg_t *msg, uint8_t **buf, size_t *len)
{
    if (!msg || !buf || !len) return HG_EINVAL;
    *buf = NULL;
    *len = 0;
    const s_type_t *t = s_type(msg->type);
    if (!t) return HG_EINVAL;
    if (msg->type == HG_MSG_ASSIGN && s_assign_needs_http(&msg->u.assign)) return HG_EINVAL;

    s_enc_t e = {.too_big = false};
    msgpack_sbuffer_init(&e.sbuf);
    msgpack_packer_init(&e.pk, &e, s_enc_write);
    int rc = 0;
    if (msgpack_pack_array(&e.pk, 4) != 0 || msgpack_pack_uint32(&e.pk, HG_PROTO_VERSION) != 0 ||
        msgpack_pack_int(&e.pk, msg->type) != 0 || msgpack_pack_uint64(&e.pk, msg->seq) != 0)
        rc = s_enc_fail(&e);
    if (!rc) rc = s_pack_table(&e, t->table, (const char *) &msg->u);
    if (rc) {
        msgpack_sbuffer_destroy(&e.sbuf);
        return rc;
    }
    *len = e.sbuf.size;
    *buf = (uint8_t *) msgpack_sbuffer_release(&e.sbuf);
    return 0;
}

/* ---------------------------------------------------------------------
 * Decoding
 */

typedef struct {
    char *detail;       /* caller's buffer for the explanation, or NULL */
    size_t detail_size; /* its size */
    const char *what;   /* "frame", then the message type name */
    int depth;          /* path segments in use */
    struct {
        const char *key; /* field name, or NULL for an index */
        size_t index;    /* array index when key is NULL */
    } path[S_MAX_PATH];  /* where the decoder is, for the explanation */
} s_dec_t;

static void s_push_key(s_dec_t *d, const char *key)
{
    if (d->depth < S_MAX_PATH) {
        d->path[d->depth].key = key;
        d->path[d->depth].index = 0;
    }
    d->depth++;
}

static void s_push_index(s_dec_t *d, size_t index)
{
    if (d->depth < S_MAX_PATH) {
        d->path[d->depth].key = NULL;
        d->path[d->depth].index = index;
    }
    d->depth++;
}

static void s_pop(s_dec_t *d)
{
    d->depth--;
}

/* Append to the detail buffer, truncating quietly when it is full. */
static void s_append(s_dec_t *d, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_append(s_dec_t *d, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= d->detail_size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->detail + *used, d->detail_size - *used, fmt, ap);
    va_end(ap);
    if (n > 0) *used += (size_t) n;
    if (*used >= d->detail_size) *used = d->detail_size - 1;
}

/* Record "WHAT.path: explanation" and return code. */
static int s_fail(s_dec_t *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int s_fail(s_dec_t *d, int code, const char *fmt, ...)
{
    if (!d->detail || d->detail_size == 0) return code;
    size_t used = 0;
    s_append(d, &used, "%s", d->what);
    int depth = d->depth < S_MAX_PATH ? d->depth : S_MAX_PATH;
    for (int i = 0; i < depth; i++) {
        if (d->path[i].key)
            s_append(d, &used, ".%s", d->path[i].key);
        else
            s_append(d, &used, "[%zu]", d->path[i].index);
    }
    s_append(d, &used, ": ");
    if (used + 1 < d->detail_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->detail + used, d->detail_size - used, fmt, ap);
        va_end(ap);
    }
    return code;
}

static const char *s_obj_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "a float";
    case MSGPACK_OBJECT_STR:
        return "a string";
    case MSGPACK_OBJECT_ARRAY:
        return "an array";
    case MSGPACK_OBJECT_MAP:
        return "a map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    case MSGPACK_OBJECT_EXT:
        return "ext";
    }
    return "unknown";
}

static int s_wrong_type(s_dec_t *d, const msgpack_object *o, const char *expected)
{
    return s_fail(d, HG_ETYPE, "expected %s, got %s", expected, s_obj_type_name(o));
}

static uint64_t s_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Walk the raw msgpack once before msgpack-c sees it. msgpack-c allocates
 * a container by its declared element count before reading the elements,
 * so a 5-byte frame could otherwise ask for gigabytes. The invariant kept
 * here: every declared element count fits in the bytes that remain (each
 * element takes at least one byte), every string/bin/ext fits, and nesting
 * stays within S_MAX_DEPTH. Then msgpack-c's allocations are bounded by a
 * small multiple of len (one msgpack_object per element, and each element
 * takes at least one input byte). Checking each count on arrival, rather
 * than discovering the shortfall element by element, makes a hostile
 * count fail in O(1). Also finds where the object ends, which gives
 * HG_ETRUNC and HG_ETRAILING exactly. */
static int s_scan(s_dec_t *d, const uint8_t *p, size_t len, size_t *end)
{
    uint64_t left[S_MAX_DEPTH + 1]; /* elements still to read per open container */
    int top = 0;
    size_t pos = 0;
    left[0] = 1; /* the frame itself */
    while (top >= 0) {
        if (left[top] == 0) {
            top--;
            continue;
        }
        left[top]--;
        if (pos >= len)
            return s_fail(d, HG_ETRUNC, "input ends at byte %zu inside the message", len);
        uint8_t b = p[pos++];
        size_t fixed = 0, len_bytes = 0;
        uint64_t n = 0;
        bool container = false, map = false;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            continue; /* fixint, nil, false, true */
        } else if (b <= 0x8f) {
            n = b & 0x0f, container = true, map = true; /* fixmap */
        } else if (b <= 0x9f) {
            n = b & 0x0f, container = true; /* fixarray */
        } else if (b <= 0xbf) {
            n = b & 0x1f; /* fixstr */
        } else {
            switch (b) {
            case 0xc4: /* bin 8 */
            case 0xd9: /* str 8 */
                len_bytes = 1;
                break;
            case 0xc5: /* bin 16 */
            case 0xda: /* str 16 */
                len_bytes = 2;
                break;
            case 0xc6: /* bin 32 */
            case 0xdb: /* str 32 */
                len_bytes = 4;
                break;
            case 0xc7: /* ext 8: length, type, data */
                len_bytes = 1, fixed = 1;
                break;
            case 0xc8: /* ext 16 */
                len_bytes = 2, fixed = 1;
                break;
            case 0xc9: /* ext 32 */
                len_bytes = 4, fixed = 1;
                break;
            case 0xcc: /* uint 8 */
            case 0xd0: /* int 8 */
                fixed = 1;
                break;
            case 0xcd: /* uint 16 */
            case 0xd1: /* int 16 */
            case 0xd4: /* fixext 1 */
                fixed = 2;
                break;
            case 0xd5: /* fixext 2 */
                fixed = 3;
                break;
            case 0xca: /* float 32 */
            case 0xce: /* uint 32 */
            case 0xd2: /* int 32 */
                fixed = 4;
                break;
            case 0xd6: /* fixext 4 */
                fixed = 5;
                break;
            case 0xcb: /* float 64 */
            case 0xcf: /* uint 64 */
            case 0xd3: /* int 64 */
                fixed = 8;
                break;
            case 0xd7: /* fixext 8 */
                fixed = 9;
                break;
            case 0xd8: /* fixext 16 */
                fixed = 17;
                break;
            case 0xdc: /* array 16 */
                len_bytes = 2, container = true;
                break;
            case 0xdd: /* array 32 */
                len_bytes = 4, container = true;
                break;
            case 0xde: /* map 16 */
                len_bytes = 2, container = true, map = true;
                break;
            case 0xdf: /* map 32 */
                len_bytes = 4, container = true, map = true;
                break;
            default: /* 0xc1 is never used */
                return s_fail(d, HG_ETYPE, "invalid msgpack byte 0x%02x at byte %zu", b, pos - 1);
            }
        }
        if (len_bytes) {
            if (len_bytes > len - pos)
                return s_fail(d, HG_ETRUNC, "input ends inside the header at byte %zu", pos - 1);
            n = s_be(p + pos, len_bytes);
            pos += len_bytes;
        }
        if (container) {
            uint64_t elems = map ? 2 * n : n;
            if (elems > len - pos)
                return s_fail(d, HG_ETRUNC, "%s declares %llu %s but only %zu bytes remain",
                              map ? "map" : "array", (unsigned long long) n,
                              map ? "entries" : "elements", len - pos);
            if (elems) {
                if (top == S_MAX_DEPTH)
                    return s_fail(d, HG_ETOOBIG, "nesting deeper than %d", S_MAX_DEPTH);
                left[++top] = elems;
            }
        } else {
            uint64_t need = fixed + n;
            if (need > len - pos)
                return s_fail(d, HG_ETRUNC, "value at byte %zu needs %llu bytes, %zu remain",
                              pos - 1 - len_bytes, (unsigned long long) need, len - pos);
            pos += (size_t) need;
        }
    }
    *end = pos;
    return 0;
}

static int s_get_uint(s_dec_t *d, const msgpack_object *o, uint64_t max, uint64_t *out)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return s_fail(d, HG_ERANGE, "negative value %lld for an unsigned field",
                      (long long) o->via.i64);
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_wrong_type(d, o, "an unsigned integer");
    if (o->via.u64 > max)
        return s_fail(d, HG_ERANGE, "%llu exceeds %llu", (unsigned long long) o->via.u64,
                      (unsigned long long) max);
    *out = o->via.u64;
    return 0;
}

static int s_get_int(s_dec_t *d, const msgpack_object *o, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t) INT64_MAX)
            return s_fail(d, HG_ERANGE, "%llu is out of range", (unsigned long long) o->via.u64);
        v = (int64_t) o->via.u64;
    } else {
        return s_wrong_type(d, o, "an integer");
    }
    if (v < min || v > max) return s_fail(d, HG_ERANGE, "%lld is out of range", (long long) v);
    *out = v;
    return 0;
}

static int s_get_str(s_dec_t *d, const msgpack_object *o, uint32_t max, char **out)
{
    if (o->type != MSGPACK_OBJECT_STR) return s_wrong_type(d, o, "a string");
    uint32_t size = o->via.str.size;
    if (size > max) return s_fail(d, HG_ETOOBIG, "string of %u bytes, limit %u", size, max);
    if (memchr(o->via.str.ptr, '\0', size)) return s_fail(d, HG_ETYPE, "string holds a NUL byte");
    char *s = malloc((size_t) size + 1);
    if (!s) return s_fail(d, HG_ENOMEM, "out of memory");
    memcpy(s, o->via.str.ptr, size);
    s[size] = '\0';
    *out = s;
    return 0;
}

/* Check an array or map length against the field's limit. */
static int s_check_items(s_dec_t *d, const s_field_t *f, uint32_t n)
{
    if (n > f->max) return s_fail(d, HG_ETOOBIG, "%u elements, limit %u", n, f->max);
    if (n == 0 && (f->flags & S_NONEMPTY))
        return s_fail(d, HG_EMISSING, "must hold at least one element");
    return 0;
}

static int s_decode_table(s_dec_t *d, const msgpack_object *o, const s_table_t *t, char *base);

static int s_decode_kvs(s_dec_t *d, const s_field_t *f, const msgpack_object *o, char *base)
{
    if (o->type != MSGPACK_OBJECT_MAP) return s_wrong_type(d, o, "a map of strings");
    uint32_t n = o->via.map.size;
    int rc = s_check_items(d, f, n);
    if (rc || n == 0) return rc;
    hg_kv_t *kv = calloc(n, sizeof *kv);
    if (!kv) return s_fail(d, HG_ENOMEM, "out of memory");
    /* Owned by the message from here on, so a failure below frees it. */
    s_ptr_set(base, f->off, kv);
    s_count_set(base, f->n_off, n);
    for (uint32_t i = 0; i < n; i++) {
        s_push_index(d, i);
        rc = s_get_str(d, &o->via.map.ptr[i].key, HG_PROTO_MAX_STR, &kv[i].key);
        if (!rc) rc = s_get_str(d, &o->via.map.ptr[i].val, HG_PROTO_MAX_STR, &kv[i].value);
        s_pop(d);
        if (rc) return rc;
    }
    return 0;
}

/* Arrays of strings, status codes and run ids. */
static int s_decode_list(s_dec_t *d, const s_field_t *f, const msgpack_object *o, char *base)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) return s_wrong_type(d, o, "an array");
    uint32_t n = o->via.array.size;
    int rc = s_check_items(d, f, n);
    if (rc || n == 0) return rc;
    size_t elem = f->kind == S_STRS    ? sizeof(char *)
                  : f->kind == S_CODES ? sizeof(uint16_t)
                  : f->kind == S_MAPS  ? f->sub->size
                                       : HG_PROTO_RUN_ID_SIZE;
    char *arr = calloc(n, elem);
    if (!arr) return s_fail(d, HG_ENOMEM, "out of memory");
    s_ptr_set(base, f->off, arr);
    s_count_set(base, f->n_off, n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        const msgpack_object *v = &o->via.array.ptr[i];
        s_push_index(d, i);
        if (f->kind == S_STRS) {
            rc = s_get_str(d, v, HG_PROTO_MAX_STR, &((char **) arr)[i]);
        } else if (f->kind == S_CODES) {
            uint64_t code = 0;
            rc = s_get_uint(d, v, UINT16_MAX, &code);
            ((uint16_t *) arr)[i] = (uint16_t) code;
        } else if (f->kind == S_MAPS) {
            rc = s_decode_table(d, v, f->sub, arr + i * elem);
        } else if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != HG_PROTO_RUN_ID_SIZE) {
            rc = s_wrong_type(d, v, "bin of 16 bytes");
        } else {
            memcpy(arr + i * elem, v->via.bin.ptr, HG_PROTO_RUN_ID_SIZE);
        }
        s_pop(d);
    }
    return rc;
}

static int s_decode_field(s_dec_t *d, const s_field_t *f, const msgpack_object *v, char *base)
{
    char *m = base + f->off;
    uint64_t u = 0;
    int64_t i = 0;
    int rc = 0;
    switch ((s_kind_t) f->kind) {
    case S_U64:
        rc = s_get_uint(d, v, UINT64_MAX, &u);
        if (!rc) *(uint64_t *) m = u;
        return rc;
    case S_U32:
        rc = s_get_uint(d, v, f->max ? f->max : UINT32_MAX, &u);
        if (!rc) *(uint32_t *) m = (uint32_t) u;
        return rc;
    case S_I64:
        rc = s_get_int(d, v, INT64_MIN, INT64_MAX, &i);
        if (!rc) *(int64_t *) m = i;
        return rc;
    case S_I32:
        rc = s_get_int(d, v, INT32_MIN, INT32_MAX, &i);
        if (!rc) *(int32_t *) m = (int32_t) i;
        return rc;
    case S_STATUS:
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
            v->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return s_wrong_type(d, v, "a run status");
        if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return s_fail(d, HG_ERANGE, "%lld is not a run status", (long long) v->via.i64);
        if (v->via.u64 > (uint64_t) S_STATUS_MAX)
            return s_fail(d, HG_ERANGE, "%llu is not a run status",
                          (unsigned long long) v->via.u64);
        *(int32_t *) m = (int32_t) v->via.u64;
        return 0;
    case S_STR: {
        char *s = NULL;
        rc = s_get_str(d, v, f->max, &s);
        if (!rc) s_ptr_set(base, f->off, s);
        return rc;
    }
    case S_BLOB: {
        if (v->type != MSGPACK_OBJECT_BIN) return s_wrong_type(d, v, "bin");
        uint32_t size = v->via.bin.size;
        if (size > f->max) return s_fail(d, HG_ETOOBIG, "%u bytes, limit %u", size, f->max);
        if (size == 0) return 0;
        hg_blob_t *b = (hg_blob_t *) m;
        b->data = s_memdup(v->via.bin.ptr, size);
        if (!b->data) return s_fail(d, HG_ENOMEM, "out of memory");
        b->len = size;
        return 0;
    }
    case S_RUNID:
        if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != HG_PROTO_RUN_ID_SIZE)
            return s_wrong_type(d, v, "bin of 16 bytes");
        memcpy(m, v->via.bin.ptr, HG_PROTO_RUN_ID_SIZE);
        return 0;
    case S_KVS:
        return s_decode_kvs(d, f, v, base);
    case S_STRS:
    case S_CODES:
    case S_RUNIDS:
    case S_MAPS:
        return s_decode_list(d, f, v, base);
    case S_MAP:
        return s_decode_table(d, v, f->sub, m);
    }
    return s_fail(d, HG_EINVAL, "bad field descriptor");
}

/* Find key in t, trying the field after the previous match first: peers
 * that use this encoder send keys in table order, so the search is usually
 * one comparison. */
static int s_lookup(const s_table_t *t, const msgpack_object_str *key, uint8_t *cursor)
{
    for (uint8_t k = 0; k < t->n; k++) {
        uint8_t j = (uint8_t) ((*cursor + k) % t->n);
        const s_field_t *f = &t->fields[j];
        if (f->key_len == key->size && memcmp(f->key, key->ptr, key->size) == 0) {
            *cursor = (uint8_t) (j + 1);
            return j;
        }
    }
    return -1;
}

static int s_decode_table(s_dec_t *d, const msgpack_object *o, const s_table_t *t, char *base)
{
    if (o->type != MSGPACK_OBJECT_MAP) return s_wrong_type(d, o, "a map");
    uint32_t seen = 0, present = 0;
    uint8_t cursor = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return s_fail(d, HG_ETYPE, "key %u is %s, expected a string", i,
                          s_obj_type_name(&kv->key));
        int j = t->n ? s_lookup(t, &kv->key.via.str, &cursor) : -1;
        if (j < 0) continue; /* a newer peer's field */
        const s_field_t *f = &t->fields[j];
        s_push_key(d, f->key);
        int rc = 0;
        if (seen & (1u << j)) rc = s_fail(d, HG_ETYPE, "key given twice");
        seen |= 1u << j;
        if (!rc && kv->val.type != MSGPACK_OBJECT_NIL) {
            rc = s_decode_field(d, f, &kv->val, base);
            present |= 1u << j;
        }
        s_pop(d);
        if (rc) return rc;
    }
    for (uint8_t j = 0; j < t->n; j++) {
        if ((t->fields[j].flags & S_REQ) && !(present & (1u << j))) {
            s_push_key(d, t->fields[j].key);
            return s_fail(d, HG_EMISSING, "required field missing");
        }
    }
    return 0;
}

/* The frame header: version, type, seq. Fills msg->type and msg->seq. */
static int s_decode_header(s_dec_t *d, const msgpack_object *top, hg_msg_t *msg)
{
    if (top->type != MSGPACK_OBJECT_ARRAY) return s_wrong_type(d, top, "an array");
    const msgpack_object *el = top->via.array.ptr;
    uint32_t n = top->via.array.size;
    if (n == 0) return s_fail(d, HG_ETYPE, "empty array, expected 4 elements");
    /* The version comes first, so a newer protocol with another frame
     * layout is reported as a version mismatch rather than a bad frame. */
    s_push_key(d, "version");
    int rc = 0;
    if (el[0].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        rc = s_fail(d, HG_EVERSION, "protocol version %lld, expected %d", (long long) el[0].via.i64,
                    HG_PROTO_VERSION);
    else if (el[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        rc = s_wrong_type(d, &el[0], "an integer");
    else if (el[0].via.u64 != HG_PROTO_VERSION)
        rc = s_fail(d, HG_EVERSION, "protocol version %llu, expected %d",
                    (unsigned long long) el[0].via.u64, HG_PROTO_VERSION);
    s_pop(d);
    if (rc) return rc;
    if (n != 4) return s_fail(d, HG_ETYPE, "array of %u elements, expected 4", n);

    s_push_key(d, "type");
    if (el[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (!s_type(el[1].via.u64 > (uint64_t) S_TYPE_MAX ? 0 : (int) el[1].via.u64))
            rc = s_fail(d, HG_EUNKNOWN, "unknown message type %llu",
                        (unsigned long long) el[1].via.u64);
    } else if (el[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        rc = s_fail(d, HG_EUNKNOWN, "unknown message type %lld", (long long) el[1].via.i64);
    } else {
        rc = s_wrong_type(d, &el[1], "an integer");
    }
    s_pop(d);
    if (rc) return rc;
    msg->type = (int) el[1].via.u64;

    s_push_key(d, "seq");
    uint64_t seq = 0;
    rc = s_get_uint(d, &el[2], UINT64_MAX, &seq);
    s_pop(d);
    msg->seq = seq;
    return rc;
}

int hg_msg_decode(const uint8_t *buf, size_t len, hg_msg_t **out, char *detail, size_t detail_size)
{
    s_dec_t d = {.detail = detail, .detail_size = detail_size, .what = "frame"};
    if (detail && detail_size) detail[0] = '\0';
    if (!out) return s_fail(&d, HG_EINVAL, "no output pointer");
    *out = NULL;
    if (!buf && len) return s_fail(&d, HG_EINVAL, "no input buffer");
    if (len > HG_PROTO_MAX_MSG)
        return s_fail(&d, HG_ETOOBIG, "%zu bytes, limit %u", len, HG_PROTO_MAX_MSG);
    size_t end = 0;
    int rc = s_scan(&d, buf, len, &end);
    if (rc) return rc;
    if (end != len)
        return s_fail(&d, HG_ETRAILING, "%zu bytes after the end of the message", len - end);

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(&up, (const char *) buf, len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS && ur != MSGPACK_UNPACK_EXTRA_BYTES) {
        /* s_scan accepted it, so only memory can fail here. */
        msgpack_unpacked_destroy(&up);
        return s_fail(&d, ur == MSGPACK_UNPACK_NOMEM_ERROR ? HG_ENOMEM : HG_ETYPE,
                      "msgpack parse failed (%d)", (int) ur);
    }

    hg_msg_t *msg = calloc(1, sizeof *msg);
    if (!msg) {
        msgpack_unpacked_destroy(&up);
        return s_fail(&d, HG_ENOMEM, "out of memory");
    }
    rc = s_decode_header(&d, &up.data, msg);
    if (!rc) {
        const s_type_t *t = s_type(msg->type);
        d.what = t->name;
        rc = s_decode_table(&d, &up.data.via.array.ptr[3], t->table, (char *) &msg->u);
    }
    if (!rc && msg->type == HG_MSG_ASSIGN && s_assign_needs_http(&msg->u.assign)) {
        s_push_key(&d, "http");
        rc = s_fail(&d, HG_EMISSING, "required for kind \"http\"");
    }
    msgpack_unpacked_destroy(&up);
    if (rc) {
        /* msg->type is only ever set to a known type, so this frees exactly
         * what the body decoder attached. */
        hg_msg_destroy(&msg);
        return rc;
    }
    *out = msg;
    return 0;
}
