/* dep_inject: a dependency fire's parent results into the HTTP request of
 * the child (issue 11). The master puts them in reserved TRIGGER
 * parameters, already shaped as the job's http.parent_results asks
 * (master/deps.h): "hourglass.header" is one "Name: value" line to add,
 * "hourglass.body" the body to send instead of the job's. The master's
 * API refuses these names in a manual trigger, so only the master's
 * dependency engine sets them. */
#ifndef HG_WORKER_DEP_INJECT_H
#define HG_WORKER_DEP_INJECT_H

#include "hg_proto.h"

#include <stddef.h>

/* Apply the reserved parameters of overrides (n of them) to http. 0, or
 * HG_ENOMEM / HG_EINVAL (a header line with CR or LF, which is refused);
 * http is unchanged on failure. */
int hg_dep_inject_http(hg_http_spec_t *http, const hg_kv_t *overrides, size_t n);

#endif
