/* api_runctl: run control of issue 11 in the REST API:
 * POST /api/v1/runs/{id}/cancel (operator), and the "force" member of
 * POST /api/v1/jobs/{name}/trigger (a manual fire past the job's overlap
 * policy). See docs/api.md and docs/jobs.md "Cancelling a run". */
#include "api_internal.h"
#include "hg_error.h"
#include "hg_runid.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

bool hg_api__trigger_body(hg_api_ctx_t *c, json_t *body, bool *force)
{
    *force = false;
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "params") != 0 && strcmp(key, "force") != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "%.200s: unknown field", key);
            hg_api__invalid(c, key, msg);
            return false;
        }
    }
    json_t *f = json_object_get(body, "force");
    if (f && !json_is_null(f) && !json_is_boolean(f)) {
        hg_api__invalid(c, "force", "force: must be true or false");
        return false;
    }
    *force = json_is_true(f);
    return true;
}

void hg_api__run_cancel(hg_api_ctx_t *c, const char *id)
{
    uint8_t raw[HG_RUNID_SIZE];
    snprintf(c->object, sizeof c->object, "run/%.80s", id);
    if (hg_runid_parse(id, raw) != 0) {
        hg_api__invalid(c, "id", "id: must be a run id (as GET /api/v1/runs shows it)");
        return;
    }
    bool failed;
    json_t *body = hg_api__body_json(c, true, &failed);
    if (failed) return;
    if (body && json_object_size(body) > 0) {
        const char *key = json_object_iter_key(json_object_iter(body));
        char msg[300];
        snprintf(msg, sizeof msg, "%.200s: unknown field", key);
        hg_api__invalid(c, key, msg);
        json_decref(body);
        return;
    }
    json_decref(body);
    char node[256] = "", ns[128] = "";
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    int rc = cl ? hg_cluster_run_cancel(cl, id, node, sizeof node, ns, sizeof ns) : HG_EUNAVAIL;
    /* A token scoped to another namespace learns nothing of the run. */
    if (rc == 0 && c->who.ns[0] && strcmp(c->who.ns, ns) != 0) rc = HG_ENOTFOUND;
    if (rc == 0) {
        hg_api__reply(
            c, MHD_HTTP_ACCEPTED,
            json_pack("{s:s, s:s, s:s}", "run_id", id, "status", "cancelling", "node", node));
    } else if (rc == HG_ENOTFOUND) {
        hg_api__error(c, MHD_HTTP_CONFLICT, "not_running", "id",
                      "id: run %s is not running (it finished, never started, or belongs to "
                      "another namespace)",
                      id);
    } else if (rc == HG_EUNAVAIL) {
        hg_api__error(c, MHD_HTTP_CONFLICT, "no_worker", "id",
                      "id: the worker running %s has no session with this master; the run "
                      "will be closed as lost if it does not come back",
                      id);
    } else if (rc == HG_ETIMEOUT) {
        hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                      "the cluster did not answer in time");
    } else {
        hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "cancel failed: %s",
                      hg_strerror(rc));
    }
}
