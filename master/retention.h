/* retention: purging old history on the leader (retention.runs and its
 * per-namespace overrides), and the manual purge of POST
 * /api/v1/runs:purge (hourglass runs purge).
 *
 * A purge never stalls run inserts: it deletes in batches of at most
 * `batch` rows (2,000 by default) chosen by primary key, each batch one
 * short transaction (runs_by_status rows first, then the runs), with a
 * pause between batches at least as long as the batch took, so that the
 * store's inserts get at least half of MySQL's time. Purges yield to the
 * store: no batch starts while more than HG_RETENTION_YIELD_QUEUE run
 * records wait for MySQL, in the store's queue or unacknowledged on the
 * workers (the purge waits, up to HG_RETENTION_YIELD_MS at a time), and
 * one batch runs at a time in the whole master (the leader's rule and
 * manual purges take turns). A run is "older than the cut" when its
 * scheduled time is before it.
 *
 * The leader's housekeeping actor also counts the catalogue's jobs by
 * namespace and status for hourglass_jobs every 30 s (metrics.h). */
#ifndef HG_MASTER_RETENTION_H
#define HG_MASTER_RETENTION_H

#include "db.h"

#include <czmq.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_metrics;

/* A 10,000-row batch took MariaDB seconds of I/O with every commit synced,
 * and the store's commits queued behind it (10,000 firings/s recorded
 * 6,400/s during a purge of 10,000,000 rows). */
#define HG_RETENTION_BATCH_DEFAULT 2000
#define HG_RETENTION_YIELD_QUEUE   5000 /* records waiting for MySQL that hold a batch back */
/* Longest wait for the store before a batch goes anyway: a cluster whose
 * store is behind for another reason still purges, a batch per 5 s. */
#define HG_RETENTION_YIELD_MS 5000
#define HG_RETENTION_NS_MAX   64 /* namespaces with their own retention */

/* One purge of runs. */
typedef struct {
    int64_t before_ms;          /* runs scheduled before this go */
    const char *ns;             /* only this namespace's jobs (NULL: every job) */
    const char *job;            /* only this job of ns (NULL: every job of ns) */
    const char *const *keep_ns; /* (ns NULL only) namespaces left alone, with their own rule */
    size_t keep_n;              /* entries in keep_ns */
    size_t batch;               /* rows per statement (0: HG_RETENTION_BATCH_DEFAULT) */
    int64_t pause_min_ms;       /* least pause between statements */
    struct hg_metrics *metrics; /* run records waiting for MySQL, to yield to; NULL: none */
    /* Asked between batches: true stops the purge early (the caller is
     * shutting down). NULL: never. */
    bool (*stop)(void *arg);
    void *stop_arg;
} hg_purge_t;

/* What a purge deleted. */
typedef struct {
    uint64_t runs;           /* rows of runs */
    uint64_t runs_by_status; /* rows of runs_by_status */
    uint64_t batches;        /* statements that deleted runs (each of at most p->batch rows) */
} hg_purge_result_t;

/* Purge the runs p names, in paced batches. 0 or HG_E* with the reason in
 * err; out holds what was deleted either way. */
int hg_retention_purge_runs(MYSQL *db, const hg_purge_t *p, hg_purge_result_t *out, char *err,
                            size_t err_size);

/* A namespace's own retention. */
typedef struct {
    char ns[65];    /* namespace */
    int64_t age_ms; /* runs older than this go; 0 keeps them */
} hg_retention_ns_t;

/* Parse retention.namespaces: "ns=duration[,ns=duration...]" (durations
 * as "168h"; "0" keeps that namespace's runs). Returns the number of
 * entries put in out (at most max), or HG_EINVAL with a message naming
 * the entry in err. */
int hg_retention_ns_parse(const char *text, hg_retention_ns_t *out, size_t max, char *err,
                          size_t err_size);

/* Settings of the housekeeping actor; copied. */
typedef struct {
    const hg_db_params_t *db;   /* its own MySQL connection (must outlive the actor) */
    int64_t runs_ms;            /* retention.runs: age of runs kept; 0 keeps all */
    const char *namespaces;     /* retention.namespaces */
    int64_t interval_ms;        /* retention.interval: between purges */
    size_t batch;               /* rows per statement */
    struct hg_metrics *metrics; /* purged rows, db errors, job counts; NULL: none */
} hg_retention_args_t;

/* Start the housekeeping actor (on the leader only; main starts it when
 * this master leads). NULL on failure (bad retention.namespaces: logged). */
zactor_t *hg_retention_new(const hg_retention_args_t *args);

#endif
