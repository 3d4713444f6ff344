/* store_internal: private to the store actor (store.h), shared by its two
 * files:
 *
 *   store.c      the actor: the queue of writes in arrival order, outages
 *                (retry, spill file, replay), the pipe to the cluster
 *   store_sql.c  MySQL: prepared multi-row statements, the binding of run
 *                records against the runs columns (checked first, refused
 *                ones kept as failed runs), runs_by_status, cluster facts
 *
 * Everything here belongs to the store actor's thread. */
#ifndef HG_MASTER_STORE_INTERNAL_H
#define HG_MASTER_STORE_INTERNAL_H

#include "spill.h"
#include "store.h"

#include <czmq.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

/* Chunk sizes of the multi-row statements (store_sql.c): one prepared
 * statement each. */
#define HG_STORE_NCHUNKS 11

/* Assignments written in one statement at most. */
#define HG_STORE_ASSIGN_ROWS 1000

typedef enum {
    HG_STORE_OP_RUNS,
    HG_STORE_OP_NODE,
    HG_STORE_OP_ASSIGN,
    HG_STORE_OP_UNASSIGN,
    HG_STORE_OP_FORGET
} hg_store_op_kind_t;

/* One queued write, kept in arrival order. */
typedef struct {
    hg_store_op_kind_t kind; /* what to write */
    hg_store_batch_t *batch; /* RUNS: records (owned until DONE) */
    size_t bytes;            /* RUNS: approximate memory the records take */
    char node[192];          /* NODE / FORGET: node name */
    char *names;             /* ASSIGN: node names, each ended by a NUL (owned) */
    const char **name_at;    /* ASSIGN: the start of each name in names (owned) */
    size_t names_n;          /* ASSIGN: names */
    uint64_t *rows;          /* ASSIGN: (name index, job id, epoch) triples (owned) */
    size_t rows_n;           /* ASSIGN: assignments in rows */
    size_t rows_done;        /* ASSIGN: of which written */
    char state[16];          /* NODE: state */
    char *labels;            /* NODE: labels as JSON (owned) */
    uint32_t capacity;       /* NODE: capacity */
    char version[32];        /* NODE: software version */
    uint64_t job_id;         /* UNASSIGN */
    int64_t cutoff_ms;       /* FORGET: rows of gone nodes last seen before go too */
} hg_store_op_t;

struct hg_store_row; /* storage behind the binds of one row (store_sql.c) */

/* The store actor's state. */
typedef struct {
    const hg_store_opts_t *opts;               /* settings */
    const hg_db_params_t *params;              /* connection settings (opts->db) */
    MYSQL *conn;                               /* NULL while down */
    MYSQL_STMT *runs_st[HG_STORE_NCHUNKS];     /* multi-row upserts, by s_chunks */
    MYSQL_BIND *binds;                         /* s_chunks[0] rows of parameters, reused */
    struct hg_store_row *rows;                 /* storage behind them */
    MYSQL_STMT *side_up_st[HG_STORE_NCHUNKS];  /* runs_by_status upserts, by s_chunks, lazily */
    MYSQL_STMT *side_del_st[HG_STORE_NCHUNKS]; /* runs_by_status deletes, by s_chunks, lazily */
    MYSQL_BIND *side_binds;                    /* s_chunks[0] rows of (run id, status) */
    unsigned long *side_lens;                  /* lengths behind them */
    MYSQL_STMT *fact_st[4];     /* node, assign, unassign, forget (store_sql.c), lazily */
    MYSQL_STMT *assign_st[2];   /* assignment upserts of 1 and HG_STORE_ASSIGN_ROWS rows, lazily */
    zlist_t *ops;               /* queued hg_store_op_t, in order */
    size_t queued_records;      /* run records in ops */
    size_t queued_bytes;        /* their approximate size */
    hg_spill_t *spill;          /* spill file open for appending, NULL when not */
    bool spill_pending;         /* the spill file holds records not yet in MySQL */
    bool spill_failed;          /* appending failed this outage (logged once) */
    uint64_t replay_offset;     /* spill frames before this offset are in MySQL */
    uint64_t spilled, replayed; /* records spilled / replayed since the file began */
    int64_t replay_started_ms;  /* when replaying the current file began */
    int replay_timer;           /* zloop timer continuing a replay, -1 when none */
    bool down;                  /* last attempt failed; wait for the retry timer */
    int retry_ms;               /* current back-off */
    int retry_timer;            /* zloop timer id, -1 when none */
    int gather_timer;           /* zloop timer ending a commit gap, -1 when none */
    int64_t write_began_ms;     /* monotonic ms the last round of writes began */
    int64_t down_since_ms;      /* when the outage began */
    uint64_t records, transactions; /* committed since the last report */
    uint64_t largest;               /* largest batch since the last report */
    uint64_t refused;               /* records refused since the last report */
    uint64_t refused_logged;        /* of which logged one by one */
    zsock_t *pipe;                  /* to the owner */
    zloop_t *loop;                  /* our reactor */
    bool drained;                   /* DRAIN seen: write nothing more, hand nothing more back */
    int64_t stop_seen_ms;           /* monotonic ms SIGTERM was first seen, 0 before */
} hg_store_state_t;

/* store_sql.c */

/* Connect and prepare the run statements: 0 or HG_EDB (logged once per
 * outage). */
int hg_store__connect(hg_store_state_t *self);
/* Close the statements and the connection. */
void hg_store__disconnect(hg_store_state_t *self);
/* Check every record of a batch as it arrives (from a worker or the
 * spill file) against the runs columns: information is cut to fit, a
 * record that cannot be stored as it is becomes a failed run saying why. */
void hg_store__check_batch(hg_store_state_t *self, hg_store_batch_t *batch);
/* Write every record of ops[0..count) (all HG_STORE_OP_RUNS, records in
 * all) in one transaction. Returns 0 or the MySQL error number of a lost
 * connection (then nothing counts as written: the rows are upserts). */
unsigned hg_store__write_runs(hg_store_state_t *self, hg_store_op_t **ops, size_t count,
                              size_t records, char *err, size_t err_size);
/* Write a node, unassign or forget op: 0 or the MySQL error number. */
unsigned hg_store__write_fact(hg_store_state_t *self, hg_store_op_t *op, char *err,
                              size_t err_size);
/* Write n assignments (node nodes[i], job pairs[2i], epoch pairs[2i + 1])
 * in one multi-row upsert: 0 or the MySQL error number. */
unsigned hg_store__write_assigns(hg_store_state_t *self, const char **nodes, const uint64_t *pairs,
                                 size_t n, char *err, size_t err_size);

#endif
