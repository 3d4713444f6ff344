/* job_walk: the SQL of one keyset page of GET /api/v1/jobs (api_console.c,
 * docs/api.md "Job pages"), with its work bounded.
 *
 * Filters that are columns of the order's index (namespace, status, a name
 * prefix) make a range of that index, and a page reads limit + 1 keys of
 * it. The others (kind, node, last run, a status beside a prefix in every
 * namespace) can only be checked row by row: a frequent range with a rare
 * such filter would read the whole index to fill one page (8 s at a million
 * jobs). So those pages walk the range in windows of `window` keys, each
 * window one bounded statement, until the page is full, the range ends, or
 * `budget_ms` of wall time has gone; then the answer says how far it read
 * (`partial`, and `next` is the last key read), and the client carries on
 * from there. At least one window is read per call, so a walk always moves
 * on. */
#ifndef HG_MASTER_JOB_WALK_H
#define HG_MASTER_JOB_WALK_H

#include "job_page.h"

#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_JOB_WALK_WINDOW_DEFAULT 5000 /* keys per window (api.scan_window) */
#define HG_JOB_WALK_WINDOW_MIN     10
#define HG_JOB_WALK_WINDOW_MAX     100000
#define HG_JOB_WALK_BUDGET_DEFAULT 200 /* ms of walk per page (api.scan_budget) */

/* Up to this many candidates, a node or last-run filter reads them all and
 * sorts them (a few ms) rather than walking the index. */
#define HG_JOB_WALK_FEW_CANDIDATES 20000

/* What to read: filters (NULL when absent, already validated: identifiers,
 * statuses, kinds), the cursor, the page size and the bounds of the walk. */
typedef struct {
    const char *ns, *prefix, *status, *kind; /* columns of jobs */
    const char *node;                        /* jobs this node holds (assignments) */
    const char *last;                        /* status of the job's latest run */
    const char *after_ns, *after_name;       /* cursor, exclusive; NULL or "" from the start */
    int32_t limit;                           /* page size, >= 1 */
    int32_t window;                          /* keys per window; 0: HG_JOB_WALK_WINDOW_DEFAULT */
    int64_t budget_ms;                       /* wall time of the walk; 0: one window */
    int32_t few_max; /* candidates read first at most; 0: HG_JOB_WALK_FEW_CANDIDATES (tests) */
} hg_job_walk_args_t;

/* A page as read. */
typedef struct {
    json_t *jobs;                             /* up to limit jobs, in order (owned) */
    char next_ns[HG_JOB_PAGE_NS_MAX + 1];     /* cursor of the next page, "" when none */
    char next_name[HG_JOB_PAGE_NAME_MAX + 1]; /* its name */
    bool partial;    /* the budget ran out before the page was full: next is the last key read */
    int64_t scanned; /* keys the windows read (exact when partial) */
} hg_job_walk_t;

/* Read one page into *page (its jobs json_decref'd by the caller, also on
 * failure). 0, HG_EINVAL (a prefix too long for its pattern), or HG_EDB
 * with the server's message in err. Without a cursor in the answer the
 * range has no more matching jobs. */
int hg_job_walk(MYSQL *db, const hg_job_walk_args_t *args, hg_job_walk_t *page, char *err,
                size_t err_size);

#endif
