/* job_scan: `hourglass job list` with the filters the master may only
 * check job by job (--prefix, --kind, --node, --last-run, --cursor), read
 * as keyset pages of GET /api/v1/jobs (docs/api.md, Job pages).
 *
 * Such a page may come back partial: the master's walk stopped after its
 * budget with the jobs found so far and the cursor it reached. A user who
 * asks for `job list --kind plugin` expects the list, not a fragment, so
 * the CLI follows the cursor, gathering up to --limit jobs, for at most
 * --search (default 30 s); when that runs out it prints what it found and
 * says where to carry on (--cursor). */
#ifndef HG_CLI_JOB_SCAN_H
#define HG_CLI_JOB_SCAN_H

#include "cli.h"

#include <jansson.h>
#include <stdbool.h>

/* The flags job list gains (cmd_job.c puts them in its table). */
#define HG_JOB_SCAN_FLAGS                                                                          \
    {"prefix", "TEXT", false, "only jobs whose name starts with TEXT"},                            \
        {"kind", "KIND", false, "only jobs of this kind (http, plugin)"},                          \
        {"node", "NODE", false, "only jobs this node holds"},                                      \
        {"last-run", "STATUS", false, "only jobs whose latest run has this status"},               \
        {"cursor", "NS/NAME", false, "carry on after this job (a \"next\" printed before)"},       \
        {"search", "DURATION", false,                                                              \
         "with the filters above: follow partial answers this long at most (default 30s; 0: "      \
         "one request)"},

/* True when args ask for one of those filters or a cursor. */
bool hg_job_scan_wanted(const hg_args_t *args);

/* Read the jobs into *doc, {"jobs": [...], "next": "ns/name"|null,
 * "partial": bool, "scanned": N} (json_decref by the caller). 0, or an
 * exit code with the message printed (HG_EXIT_USAGE for a bad flag). */
int hg_job_scan_fetch(hg_cli_t *cli, const hg_args_t *args, json_t **doc);

/* After the table, on cli->err: where more jobs may be (nothing when the
 * list is complete). */
void hg_job_scan_note(hg_cli_t *cli, const json_t *doc);

#endif
