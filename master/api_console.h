/* api_console: the REST routes the web dashboard needs beyond the CRUD of
 * jobs, runs and nodes (docs/api.md), all public API any client may use:
 *
 * - GET /api/v1/whoami: the caller's token name, role and scope, so a
 *   client shows only what the role allows;
 * - GET /api/v1/schedule/explain: the next fire times of a schedule, with
 *   the errors a job creation would give (same fields, same messages);
 * - GET /api/v1/jobs in keyset mode (after=, prefix=, kind=): pages that
 *   cost the same at the millionth job as at the first, each job with its
 *   next fire and its last run, filtered by node= and last_run= too;
 * - GET /api/v1/runs/stats: runs per minute by status over a window, the
 *   latest failures and the latest late starts, for the overview. */
#ifndef HG_MASTER_API_CONSOLE_H
#define HG_MASTER_API_CONSOLE_H

#include "api_internal.h"

#include <stdbool.h>

void hg_api__whoami(hg_api_ctx_t *c);
void hg_api__schedule_explain(hg_api_ctx_t *c);
void hg_api__runs_stats(hg_api_ctx_t *c);

/* True when a GET /api/v1/jobs asks for keyset paging (an after=
 * argument, even empty, or prefix= or kind=); hg_api__jobs_page answers
 * it. */
bool hg_api__jobs_page_wanted(hg_api_ctx_t *c);
void hg_api__jobs_page(hg_api_ctx_t *c);

/* Add each run's job namespace ("namespace", null when the job is gone)
 * to a list of GET /api/v1/runs, so that a client links to the job. */
void hg_api__runs_add_namespace(hg_api_ctx_t *c, json_t *runs);

#endif
