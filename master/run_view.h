/* run_view: what GET /api/v1/runs/{id} adds to a run: its log lines and
 * its result, read back out of the output excerpt the worker recorded.
 * A plug-in run's output is its log lines ("[info] text", one a line)
 * followed by its result (worker/plugin_exec.c); an HTTP run's output is
 * the response body excerpt, which is its result. */
#ifndef HG_MASTER_RUN_VIEW_H
#define HG_MASTER_RUN_VIEW_H

#include <jansson.h>

/* Set "logs" (array of {level, message}) and "result" (string or null)
 * on run, from its "output" member. */
void hg_run_view_add(json_t *run);

#endif
