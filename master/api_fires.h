/* api_fires: "last_fire" of GET /api/v1/jobs/{name} for broadcast and
 * sharded jobs: the latest scheduled time's runs taken together (one per
 * shard or node), a success when all of them are (docs/jobs.md). */
#ifndef HG_MASTER_API_FIRES_H
#define HG_MASTER_API_FIRES_H

#include "api_internal.h"

#include <jansson.h>

/* Set "last_fire" on job (API form) when it is broadcast or sharded:
 * {scheduled_at, status: success|running|failed, parts, succeeded}, or
 * null when it never fired. Other jobs are left alone. A database error
 * leaves the member out. */
void hg_api__job_last_fire(hg_api_t *api, json_t *job);

#endif
