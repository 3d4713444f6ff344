/* cancel: the CANCEL command of the executors' pipes (see cancel.h). */
#include "cancel.h"
#include "hg_error.h"
#include "hg_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hg_cancel_send(zactor_t *exec, uint64_t job_id, const uint8_t *run_id, const char *why)
{
    if (!exec) return HG_EINVAL;
    zmsg_t *msg = zmsg_new();
    if (!msg) return HG_EIO;
    zmsg_addstr(msg, "CANCEL");
    zmsg_addmem(msg, &job_id, sizeof job_id);
    zmsg_addmem(msg, run_id, run_id ? HG_PROTO_RUN_ID_SIZE : 0);
    zmsg_addstr(msg, why ? why : "");
    return zmsg_send(&msg, zactor_sock(exec)) == 0 ? 0 : HG_EIO;
}

bool hg_cancel_parse(zmsg_t *msg, hg_cancel_cmd_t *out)
{
    memset(out, 0, sizeof *out);
    zframe_t *job = zmsg_pop(msg), *id = zmsg_pop(msg);
    char *why = zmsg_popstr(msg);
    bool ok = job && id && zframe_size(job) == sizeof out->job_id &&
              (zframe_size(id) == 0 || zframe_size(id) == HG_PROTO_RUN_ID_SIZE);
    if (ok) {
        memcpy(&out->job_id, zframe_data(job), sizeof out->job_id);
        out->any_run = zframe_size(id) == 0;
        if (!out->any_run) memcpy(out->run_id, zframe_data(id), HG_PROTO_RUN_ID_SIZE);
        snprintf(out->why, sizeof out->why, "%s", why ? why : "");
    }
    zframe_destroy(&job);
    zframe_destroy(&id);
    zstr_free(&why);
    return ok;
}

bool hg_cancel_matches(const hg_cancel_cmd_t *c, const hg_run_t *run)
{
    if (run->job_id != c->job_id) return false;
    return c->any_run || memcmp(run->run_id, c->run_id, HG_PROTO_RUN_ID_SIZE) == 0;
}

void hg_cancel_end(const hg_cancel_cmd_t *c, hg_run_t *run)
{
    run->status = HG_RUN_CANCELLED;
    run->finished_ms = hg_now_ms();
    if (!run->started_ms) run->started_ms = run->finished_ms;
    char text[200];
    snprintf(text, sizeof text, "cancelled: %s", c->why[0] ? c->why : "by request");
    free(run->error);
    run->error = strdup(text);
}
