/* api_nodes: the cluster's side of the REST API (docs/api.md): the live
 * node list and drain/activate, which only the leading master can answer
 * (api.c's router sends a standby's callers to the leader), and /healthz,
 * the health of this master's database link and cluster actor, which any
 * master answers without a token. */
#include "api_internal.h"
#include "cluster.h"
#include "db.h"
#include "hg_error.h"

#include <jansson.h>
#include <microhttpd.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void hg_api__nodes_list(hg_api_ctx_t *c)
{
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    json_t *nodes = cl ? hg_cluster_nodes(cl) : NULL;
    if (!nodes) {
        hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                      "the cluster did not answer");
        return;
    }
    hg_api__reply(c, MHD_HTTP_OK, json_pack("{s:o}", "nodes", nodes));
}

typedef struct {
    const char *name; /* node */
    bool drain;       /* drain (true) or activate */
} s_drain_arg_t;

/* Record an operator's drain or activate in the node's row, so that the
 * next leader applies it too. The row may not be written yet (the store
 * writes it after the node's HELLO): insert it then. */
static int s_op_node_drained(MYSQL *db, void *arg, char *err, size_t err_size)
{
    const s_drain_arg_t *a = arg;
    static const char sql[] =
        "INSERT INTO nodes (name, state, labels, first_seen_at, last_seen_at, drained)"
        " VALUES (?, ?, '{}', NOW(3), NOW(3), ?) ON DUPLICATE KEY UPDATE drained = VALUES(drained)";
    MYSQL_STMT *st = mysql_stmt_init(db);
    if (!st) {
        snprintf(err, err_size, "out of memory");
        return HG_ENOMEM;
    }
    MYSQL_BIND b[3];
    memset(b, 0, sizeof b);
    unsigned long len[2];
    uint64_t drained = a->drain ? 1 : 0;
    hg_db_bind_str(&b[0], a->name, &len[0]);
    hg_db_bind_str(&b[1], a->drain ? "draining" : "active", &len[1]);
    hg_db_bind_u64(&b[2], &drained);
    int rc = 0;
    if (mysql_stmt_prepare(st, sql, sizeof sql - 1) != 0 || mysql_stmt_bind_param(st, b) != 0 ||
        mysql_stmt_execute(st) != 0) {
        snprintf(err, err_size, "%s", mysql_stmt_error(st));
        rc = HG_EDB;
    }
    mysql_stmt_close(st);
    return rc;
}

/* POST /api/v1/nodes/{name}/drain | /activate. The cluster applies it
 * first (it knows whether the node exists and may change state), then it
 * is recorded; both steps repeat harmlessly, so a failed record asks the
 * operator to repeat the request. */
void hg_api__node_drain(hg_api_ctx_t *c, const char *name, bool drain)
{
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    int rc = HG_EUNAVAIL;
    json_t *node = cl ? hg_cluster_node_drain(cl, name, drain, &rc) : NULL;
    char err[1024] = "";
    s_drain_arg_t arg = {name, drain};
    if (node && hg_api__with_db(c->api, s_op_node_drained, &arg, err, sizeof err) != 0) {
        json_decref(node);
        hg_api__error(
            c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
            "node \"%s\" is %s on this master, but it could not be recorded in MySQL (%s): "
            "a master that leads next would not know; repeat the request",
            name, drain ? "draining" : "active again", err);
    } else if (node) {
        hg_api__reply(c, MHD_HTTP_OK, node);
    } else if (rc == HG_ENOTFOUND) {
        hg_api__error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                      "node \"%s\" is not known to the master (it has not joined since the master "
                      "started)",
                      name);
    } else if (rc == HG_EUNAVAIL && cl) {
        hg_api__error(c, MHD_HTTP_CONFLICT, "node_leaving", NULL,
                      "node \"%s\" is leaving (it was stopped); it cannot take jobs again until it "
                      "rejoins",
                      name);
    } else {
        hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                      "the cluster did not answer: %s", hg_strerror(rc));
    }
}

static int s_op_ping(MYSQL *db, void *arg, char *err, size_t err_size)
{
    if (mysql_ping(db) != 0) {
        snprintf(err, err_size, "%s", mysql_error(db));
        return HG_EDB;
    }
    return 0;
}

void hg_api__healthz(hg_api_ctx_t *c)
{
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_ping, NULL, err, sizeof err);
    int workers = 0, jobs = 0;
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    int crc = cl ? hg_cluster_stats(cl, &workers, &jobs) : HG_EUNAVAIL;
    hg_cluster_role_t role;
    int rrc = cl ? hg_cluster_role(cl, &role) : HG_EUNAVAIL;
    json_t *body = json_pack("{s:s, s:s, s:i, s:i}", "status", rc == 0 ? "ok" : "degraded", "db",
                             rc == 0 ? "ok" : "down", "workers", workers, "jobs", jobs);
    if (rrc == 0) {
        json_object_set_new(body, "role", json_string(role.leading ? "leader" : "standby"));
        json_object_set_new(body, "epoch", json_integer((json_int_t) role.epoch));
        json_object_set_new(body, "leader",
                            role.leader[0] ? json_string(role.leader) : json_null());
        if (!role.leading)
            json_object_set_new(body, "leader_api",
                                role.leader_api[0] ? json_string(role.leader_api) : json_null());
    }
    if (rc != 0) json_object_set_new(body, "db_error", json_string(err));
    if (crc != 0 || rrc != 0)
        json_object_set_new(body, "cluster", json_string(hg_strerror(crc ? crc : rrc)));
    hg_api__reply(c, rc == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
}
