/* api_deps: the dependency routes of the REST API (docs/api.md): the tree
 * of a job, and what DELETE /api/v1/jobs/{name} does about dependents
 * (refused with 409 naming them, or deleted with ?cascade=true). The graph
 * itself is deps.h's. */
#include "api_internal.h"
#include "cluster.h"
#include "deps.h"
#include "job_db.h"
#include "hg_error.h"
#include "hg_log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

bool hg_api__deps_cascade_arg(hg_api_ctx_t *c, bool *cascade)
{
    const char *v = hg_api__arg(c, "cascade");
    *cascade = false;
    if (!v || strcmp(v, "false") == 0 || strcmp(v, "0") == 0) return true;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *cascade = true;
        return true;
    }
    hg_api__invalid(c, "cascade", "cascade: must be true or false");
    return false;
}

void hg_api__deps_refuse_delete(hg_api_ctx_t *c, const char *name, json_t *dependents)
{
    char list[1024] = "";
    size_t used = 0, i;
    json_t *d;
    json_array_foreach(dependents, i, d)
    {
        int w =
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", json_string_value(d));
        if (w < 0 || (size_t) w >= sizeof list - used) break;
        used += (size_t) w;
    }
    hg_api__error(c, MHD_HTTP_CONFLICT, "has_dependents", NULL,
                  "job \"%s\" has dependents: %s; edit them first or delete with cascade=true "
                  "(which deletes them too)",
                  name, list);
}

json_t *hg_api__deps_drop_cascaded(hg_api_ctx_t *c, json_t *cascaded)
{
    json_t *names = json_array();
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    size_t i;
    json_t *job;
    json_array_foreach(cascaded, i, job)
    {
        json_array_append(names, json_object_get(job, "name"));
        /* The audit row names every job the delete took, as many as fit. */
        const char *name = json_string_value(json_object_get(job, "name"));
        size_t used = strlen(c->object);
        if (name && used + 1 + strlen(name) < sizeof c->object)
            snprintf(c->object + used, sizeof c->object - used, ",%s", name);
        uint64_t id = (uint64_t) json_integer_value(json_object_get(job, "id"));
        int rc = cl ? hg_cluster_job_remove(cl, id) : HG_EUNAVAIL;
        if (rc != 0)
            hg_warn("api: cluster did not drop job %s: %s",
                    json_string_value(json_object_get(job, "name")), hg_strerror(rc));
    }
    return names;
}

typedef struct {
    const char *ns;   /* namespace */
    const char *name; /* job */
    json_t *tree;     /* out */
} s_tree_op_t;

static int s_op_tree(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_tree_op_t *a = arg;
    json_t *job = NULL;
    int rc = hg_job_db_get(db, a->ns, a->name, &job, err, err_size);
    json_decref(job);
    json_decref(a->tree);
    a->tree = NULL;
    return rc ? rc : hg_deps_db_tree(db, a->ns, a->name, &a->tree, err, err_size);
}

void hg_api__job_tree(hg_api_ctx_t *c, const char *name)
{
    bool ok;
    s_tree_op_t a = {.ns = hg_api__ns_arg(c, &ok), .name = name};
    if (!ok) return;
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_tree, &a, err, sizeof err);
    if (rc != 0)
        hg_api__db_error(c, rc, err);
    else
        hg_api__reply(c, MHD_HTTP_OK, a.tree);
    if (rc != 0) json_decref(a.tree);
}
