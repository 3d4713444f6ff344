/* cluster_deps: the cluster actor's side of the dependency engine
 * (depfire.h): committed run batches go to the engine, and the fires it
 * has recorded come back as TRIGGERs (reason "dependency") to the child's
 * holder, each answered with whether it was sent. */
#include "hg_zsock.h"
#include "cluster_internal.h"
#include "depfire.h"
#include "hg_error.h"
#include "hg_log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* TRIGGER child with params (JSON object of strings) at fire_ms, the
 * scheduled time its run is recorded with. 0, or HG_ENOTFOUND (not an
 * active job here) / HG_EUNAVAIL (no live holder). */
static int s_trigger(hg_cluster_t *self, uint64_t child_id, int64_t fire_ms, const char *params)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, child_id);
    if (!job) return HG_ENOTFOUND;
    hg_cluster_node_t *node = job->node[0] ? zhashx_lookup(self->nodes, job->node) : NULL;
    if (!node || !HG_NODE_SESSION(node) || node->leaving) return HG_EUNAVAIL;
    hg_msg_t msg = {.type = HG_MSG_TRIGGER};
    msg.u.trigger.job_id = job->id;
    msg.u.trigger.epoch = job->epoch;
    msg.u.trigger.reason = "dependency";
    msg.u.trigger.scheduled_ms = fire_ms;
    json_t *pj = params ? json_loads(params, 0, NULL) : NULL;
    size_t n = json_is_object(pj) ? json_object_size(pj) : 0;
    hg_kv_t *kv = n ? calloc(n, sizeof *kv) : NULL;
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(kv ? pj : NULL, k, v)
    {
        if (!json_is_string(v)) continue;
        kv[i].key = (char *) k;
        kv[i].value = (char *) json_string_value(v);
        i++;
    }
    msg.u.trigger.params = kv;
    msg.u.trigger.params_n = i;
    int rc = hg_cluster__send_to(self, node->name, &msg) == 0 ? 0 : HG_EUNAVAIL;
    free(kv);
    json_decref(pj);
    return rc;
}

static int s_on_fire(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    hg_cluster_t *self = arg;
    char *cmd = NULL, *params = NULL;
    uint64_t child = 0, fire = 0;
    if (zsock_recv(sock, "s88s", &cmd, &child, &fire, &params) != 0) return 0;
    if (cmd && streq(cmd, "FIRE")) {
        int rc = s_trigger(self, child, (int64_t) fire, params);
        if (rc != 0)
            hg_debug("cluster: dependency fire of job %" PRIu64 " waits: %s", child,
                     hg_strerror(rc));
        char c[24], f[24], r[16];
        snprintf(c, sizeof c, "%" PRIu64, child);
        snprintf(f, sizeof f, "%" PRIu64, fire);
        snprintf(r, sizeof r, "%d", rc);
        zsock_send(sock, "ssss", "SENT", c, f, r);
    }
    zstr_free(&cmd);
    zstr_free(&params);
    return 0;
}

void hg_cluster__deps_start(hg_cluster_t *self)
{
    self->depfire = hg_depfire_new(self->args->db);
    if (!self->depfire) {
        hg_error("cluster: the dependency engine did not start; dependent jobs will not fire");
        return;
    }
    /* The actor never blocks on a send: a SENT that does not fit is
     * learnt again from the runs table (depfire.h, step 4). */
    (void) hg_zsock_set_int(hg_depfire_sock(self->depfire), ZMQ_SNDTIMEO, 0);
    zloop_reader(self->loop, hg_depfire_sock(self->depfire), s_on_fire, self);
}

void hg_cluster__deps_runs(hg_cluster_t *self, hg_store_batch_t **batch)
{
    if (self->depfire && *batch && (*batch)->msg && (*batch)->msg->type == HG_MSG_RUN_FINISHED)
        hg_depfire_runs(self->depfire, batch);
}
