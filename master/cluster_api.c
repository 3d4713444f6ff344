/* cluster_api: the requests of the API threads to the cluster actor, both
 * ends. An hg_cluster_client_t (cluster.h) sends a request over inproc
 * and waits for the reply; the actor answers it in hg_cluster__on_api,
 * one small handler per request. The wire between the two, frame by
 * frame, is only in this file:
 *
 *   request:  command, arguments (strings, or a JSON pointer for UPSERTS)
 *   reply:    return code (decimal text), then what the command returns
 *
 * The actor's side runs on its thread (cluster_internal.h); the client's
 * side on the thread that created the client. */
#include "cluster.h"
#include "cluster_internal.h"
#include "cluster_route.h"
#include "hg_error.h"
#include "hg_time.h"
#include "hg_zsock.h"

#include <inttypes.h>

/* ------------------------------------------------------------- actor side */

/* A node as docs/api.md shows it. */
static json_t *s_node_json(hg_cluster_node_t *n)
{
    char ts[40];
    hg_time_format_ms(n->last_hb_wall_ms, ts, sizeof ts);
    json_t *labels = n->labels ? json_incref(n->labels) : json_object();
    return json_pack("{s:s, s:s, s:o, s:i, s:s, s:s, s:i, s:i, s:i, s:i, s:b, s:b}", "name",
                     n->name, "state", hg_cluster__node_state_name(n->state), "labels", labels,
                     "capacity", (json_int_t) n->capacity, "version", n->version, "last_heartbeat",
                     ts, "jobs", (json_int_t) n->jobs, "held", (json_int_t) n->held, "running",
                     (json_int_t) n->running, "unacked", (json_int_t) n->unacked, "leaving",
                     n->leaving, "drained", n->cordoned);
}

static json_t *s_nodes_json(hg_cluster_t *self)
{
    json_t *arr = json_array();
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        json_array_append_new(arr, s_node_json(n));
    return arr;
}

/* Append json to rep as compact text (or fallback when it cannot be
 * printed). */
static void s_add_json(zmsg_t *rep, json_t *json, const char *fallback)
{
    char *text = json_dumps(json, JSON_COMPACT);
    zmsg_addstr(rep, text ? text : fallback);
    free(text);
}

/* A request's job id argument (0 when missing). */
static uint64_t s_pop_job_id(zmsg_t *req)
{
    char *text = zmsg_popstr(req);
    uint64_t job_id = text ? strtoull(text, NULL, 10) : 0;
    zstr_free(&text);
    return job_id;
}

/* One request: its arguments are the rest of req; it appends its return
 * code and results to rep. */
typedef void(s_api_fn)(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep);

static void s_api_upsert(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    char *text = zmsg_popstr(req);
    json_error_t jerr;
    json_t *job = text ? json_loads(text, 0, &jerr) : NULL;
    int rc = job ? hg_cluster__job_upsert(self, job, 0, true) : HG_EINVAL;
    json_decref(job);
    zstr_free(&text);
    zmsg_addstrf(rep, "%d", rc);
}

/* A batch: every job first, placement once, then where each went. The
 * array comes by reference (see hg_cluster_job_upsert_many). */
static void s_api_upserts(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    json_t *jobs = NULL;
    zframe_t *ref = zmsg_pop(req);
    if (ref && zframe_size(ref) == sizeof jobs) memcpy(&jobs, zframe_data(ref), sizeof jobs);
    zframe_destroy(&ref);
    int rc = json_is_array(jobs) ? 0 : HG_EINVAL;
    size_t i;
    json_t *job;
    bool others_due = self->placement_due, fanout = false;
    self->loading = true;
    json_array_foreach(jobs, i, job)
    {
        int one = hg_cluster__job_upsert(self, job, 0, true);
        if (one != 0 && rc == 0) rc = one;
    }
    self->loading = false;
    if (others_due) hg_cluster__place(self);
    size_t placed = 0;
    bool all = true;
    json_t *nodes = json_array();
    json_array_foreach(jobs, i, job)
    {
        uint64_t id = (uint64_t) json_integer_value(json_object_get(job, "id"));
        hg_jobrec_t *j = hg_jobtab_find(self->jobs, id);
        /* A broadcast or sharded job's slots are placed by the walk. */
        if (!j && hg_cluster__route_slots(self, id, NULL, 0) >= 0) fanout = true;
        if (j && !others_due && !j->node[0]) {
            bool went = hg_cluster__place_job(self, j);
            placed += went;
            all = all && went;
        }
        json_array_append_new(nodes, j && j->node[0] ? json_string(j->node) : json_null());
    }
    if (!others_due) hg_cluster__placed_these(self, placed, all && !fanout);
    if (fanout) {
        self->placement_due = true;
        hg_cluster__place(self);
    }
    json_decref(jobs);
    zmsg_addstrf(rep, "%d", rc);
    zmsg_addmem(rep, &nodes, sizeof nodes); /* the caller takes it */
}

static void s_api_remove(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    hg_cluster__job_remove(self, s_pop_job_id(req));
    zmsg_addstr(rep, "0");
}

static void s_api_jobnode(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, s_pop_job_id(req));
    zmsg_addstr(rep, "0");
    zmsg_addstr(rep, job ? job->node : "");
}

/* Send a manual TRIGGER of job to node with params (JSON object text of
 * strings; anything else, or "", means none). */
static void s_send_trigger(hg_cluster_t *self, hg_jobrec_t *job, const char *node,
                           const char *params, bool force, const char *reason, int64_t scheduled_ms)
{
    hg_msg_t msg = {.type = HG_MSG_TRIGGER};
    msg.u.trigger.job_id = job->id;
    msg.u.trigger.epoch = job->epoch;
    msg.u.trigger.reason = (char *) (reason && *reason ? reason : "manual");
    msg.u.trigger.scheduled_ms = scheduled_ms;
    json_t *pj = params && *params ? json_loads(params, 0, NULL) : NULL;
    size_t n = json_is_object(pj) ? json_object_size(pj) : 0;
    hg_kv_t *kv = n ? calloc(n, sizeof *kv) : NULL;
    const char *k;
    json_t *v;
    size_t i = 0;
    if (kv) {
        json_object_foreach(pj, k, v)
        {
            if (json_is_string(v)) {
                kv[i].key = (char *) k;
                kv[i].value = (char *) json_string_value(v);
                i++;
            }
        }
    }
    msg.u.trigger.params = kv;
    msg.u.trigger.params_n = i;
    msg.u.trigger.force = force;
    hg_cluster__send_to(self, node, &msg);
    free(kv);
    json_decref(pj);
}

/* What a TRIGGER request asks, besides the job. */
typedef struct {
    const char *params;   /* JSON object text of string overrides, or "" */
    bool force;           /* past the overlap policy (issue 11) */
    const char *reason;   /* run reason, NULL for "manual" */
    int64_t scheduled_ms; /* scheduled time to record, 0 = now */
} s_trigger_req_t;

/* A manual TRIGGER of a broadcast or sharded job goes to every slot's
 * holder; the answer names them, comma-separated. HG_EUNAVAIL when no
 * slot has a live holder. */
static void s_trigger_slots(hg_cluster_t *self, hg_jobrec_t **slots, int n,
                            const s_trigger_req_t *tr, zmsg_t *rep)
{
    char names[1024] = "";
    size_t used = 0;
    int sent = 0;
    /* Every slot's run records one scheduled time, so that the shards of
     * a manual fire make one fire (its dependents count it once all have
     * ended: depfire_shards.h), not one per worker clock. */
    s_trigger_req_t one = *tr;
    if (!one.scheduled_ms) one.scheduled_ms = hg_now_ms();
    tr = &one;
    for (int i = 0; i < n; i++) {
        hg_cluster_node_t *node =
            slots[i]->node[0] ? zhashx_lookup(self->nodes, slots[i]->node) : NULL;
        if (!node || !HG_NODE_SESSION(node) || node->leaving) continue;
        s_send_trigger(self, slots[i], node->name, tr->params, tr->force, tr->reason,
                       tr->scheduled_ms);
        sent++;
        if (used < sizeof names && !strstr(names, node->name)) {
            int w =
                snprintf(names + used, sizeof names - used, "%s%s", used ? "," : "", node->name);
            if (w > 0) used += (size_t) w;
        }
    }
    if (!sent) {
        zmsg_addstrf(rep, "%d", HG_EUNAVAIL);
        return;
    }
    zmsg_addstr(rep, "0");
    zmsg_addstr(rep, names);
}

static void s_trigger_one(hg_cluster_t *self, uint64_t job_id, const s_trigger_req_t *tr,
                          zmsg_t *rep)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, job_id);
    hg_jobrec_t *slots[HG_ROUTE_SHARDS_MAX];
    int slots_n = job ? -1 : hg_cluster__route_slots(self, job_id, slots, HG_ROUTE_SHARDS_MAX);
    if (slots_n >= 0) {
        s_trigger_slots(self, slots, slots_n, tr, rep);
        return;
    }
    hg_cluster_node_t *node = job && job->node[0] ? zhashx_lookup(self->nodes, job->node) : NULL;
    if (!job) {
        zmsg_addstrf(rep, "%d", HG_ENOTFOUND);
    } else if (!node || !HG_NODE_SESSION(node) || node->leaving) {
        zmsg_addstrf(rep, "%d", HG_EUNAVAIL);
    } else {
        s_send_trigger(self, job, node->name, tr->params, tr->force, tr->reason, tr->scheduled_ms);
        zmsg_addstr(rep, "0");
        zmsg_addstr(rep, node->name);
    }
}

static void s_api_trigger(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    uint64_t job_id = s_pop_job_id(req);
    char *params = zmsg_popstr(req);
    char *force = zmsg_popstr(req); /* "1": past the overlap policy (issue 11) */
    /* Optional (hg_cluster_trigger_at): the reason and scheduled time. */
    char *reason = zmsg_popstr(req), *sched = zmsg_popstr(req);
    s_trigger_req_t tr = {.params = params,
                          .force = force && streq(force, "1"),
                          .reason = reason,
                          .scheduled_ms = sched ? strtoll(sched, NULL, 10) : 0};
    s_trigger_one(self, job_id, &tr, rep);
    zstr_free(&sched);
    zstr_free(&params);
    zstr_free(&force);
    zstr_free(&reason);
}

static void s_api_placement(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    json_t *placement = hg_cluster__route_placement(self, s_pop_job_id(req));
    if (!placement) {
        zmsg_addstrf(rep, "%d", HG_ENOTFOUND);
        return;
    }
    zmsg_addstr(rep, "0");
    s_add_json(rep, placement, "{}");
    json_decref(placement);
}

static void s_api_plugin_put(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    char *name = zmsg_popstr(req), *version = zmsg_popstr(req), *sha = zmsg_popstr(req);
    if (name && version && hg_plugin_sha256_valid(sha)) {
        hg_cluster__plugin_put(self, name, version, sha);
        zmsg_addstr(rep, "0");
    } else {
        zmsg_addstrf(rep, "%d", HG_EINVAL);
    }
    zstr_free(&name);
    zstr_free(&version);
    zstr_free(&sha);
}

static void s_api_plugin_remove(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    char *sha = zmsg_popstr(req);
    if (hg_plugin_sha256_valid(sha)) {
        hg_cluster__plugin_remove(self, sha);
        zmsg_addstr(rep, "0");
    } else {
        zmsg_addstrf(rep, "%d", HG_EINVAL);
    }
    zstr_free(&sha);
}

static void s_api_nodes(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    json_t *arr = s_nodes_json(self);
    zmsg_addstr(rep, "0");
    s_add_json(rep, arr, "[]");
    json_decref(arr);
}

/* DRAIN or ACTIVATE: the return code, then the node as it is now. */
static void s_api_set_drain(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep, bool drain)
{
    char *name = zmsg_popstr(req);
    int rc = name ? hg_cluster__node_set_drain(self, name, drain) : HG_EINVAL;
    zmsg_addstrf(rep, "%d", rc);
    hg_cluster_node_t *node = rc == 0 ? zhashx_lookup(self->nodes, name) : NULL;
    if (node) {
        json_t *j = s_node_json(node);
        s_add_json(rep, j, "{}");
        json_decref(j);
    }
    zstr_free(&name);
}

static void s_api_drain(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    s_api_set_drain(self, req, rep, true);
}

static void s_api_activate(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    s_api_set_drain(self, req, rep, false);
}

static void s_api_role(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    zmsg_addstr(rep, "0");
    zmsg_addstr(rep, self->leading ? "leader" : "standby");
    zmsg_addstrf(rep, "%" PRIu64, self->master_epoch);
    zmsg_addstr(rep, self->leading ? self->args->master_name : self->leader_name);
    zmsg_addstr(rep, self->leading ? "" : self->leader_api);
}

static void s_api_stats(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    int live = 0;
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes))
        live += HG_NODE_LIVE(n);
    zmsg_addstr(rep, "0");
    zmsg_addstrf(rep, "%d", live);
    zmsg_addstrf(rep, "%zu", hg_jobtab_size(self->jobs));
}

/* Every request the actor takes, by its command frame. */
static const struct {
    const char *cmd; /* first frame of the request */
    s_api_fn *fn;    /* its handler */
} s_api_requests[] = {
    {"UPSERT", s_api_upsert},         {"UPSERTS", s_api_upserts},
    {"REMOVE", s_api_remove},         {"JOBNODE", s_api_jobnode},
    {"TRIGGER", s_api_trigger},       {"CANCEL", hg_cluster__api_cancel},
    {"PLUGIN_PUT", s_api_plugin_put}, {"PLUGIN_REMOVE", s_api_plugin_remove},
    {"NODES", s_api_nodes},           {"DRAIN", s_api_drain},
    {"ACTIVATE", s_api_activate},     {"ROLE", s_api_role},
    {"STATS", s_api_stats},           {"PLACEMENT", s_api_placement},
};

int hg_cluster__on_api(zloop_t *loop, zsock_t *sock, void *arg)
{
    hg_cluster_t *self = arg;
    zmsg_t *req = zmsg_recv(sock);
    if (!req) return 0;
    zframe_t *id = zmsg_pop(req);
    zframe_t *empty = zmsg_pop(req);
    char *cmd = zmsg_popstr(req);
    zmsg_t *rep = zmsg_new();
    zmsg_append(rep, &id);
    zmsg_append(rep, &empty);
    s_api_fn *fn = NULL;
    for (size_t i = 0; cmd && !fn && i < sizeof s_api_requests / sizeof s_api_requests[0]; i++)
        if (streq(cmd, s_api_requests[i].cmd)) fn = s_api_requests[i].fn;
    if (fn)
        fn(self, req, rep);
    else
        zmsg_addstrf(rep, "%d", HG_EINVAL);
    zstr_free(&cmd);
    zmsg_destroy(&req);
    zmsg_send(&rep, sock);
    hg_cluster__store_flush(self);
    return 0;
}

/* ------------------------------------------------------------ client side */

struct hg_cluster_client {
    zsock_t *req; /* REQ to the cluster actor */
};

/* A REQ socket to the actor that waits at most 5 s either way: an API
 * thread must answer its HTTP client even when the actor is stuck. */
static zsock_t *s_req_new(void)
{
    zsock_t *req = zsock_new_req(HG_CLUSTER_CLIENT_ENDPOINT);
    /* Checked, not czmq's asserting setters: at shutdown this may fail
     * (hg_zsock.h), and the API thread then answers 503, not abort(). */
    if (req && (hg_zsock_set_int(req, ZMQ_RCVTIMEO, 5000) != 0 ||
                hg_zsock_set_int(req, ZMQ_SNDTIMEO, 5000) != 0))
        zsock_destroy(&req);
    return req;
}

hg_cluster_client_t *hg_cluster_client_new(void)
{
    hg_cluster_client_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->req = s_req_new();
    if (!c->req) {
        free(c);
        return NULL;
    }
    return c;
}

void hg_cluster_client_destroy(hg_cluster_client_t **p)
{
    if (p && *p) {
        zsock_destroy(&(*p)->req);
        free(*p);
        *p = NULL;
    }
}

/* Send a request and receive the reply; the first reply frame is the
 * return code. A timeout leaves the REQ socket unusable, so it is
 * replaced. */
static zmsg_t *s_call(hg_cluster_client_t *c, zmsg_t *req, int *rc)
{
    if (zmsg_send(&req, c->req) != 0) {
        zmsg_destroy(&req);
        *rc = HG_EUNAVAIL;
        return NULL;
    }
    zmsg_t *rep = zmsg_recv(c->req);
    if (!rep) {
        zsock_destroy(&c->req);
        c->req = s_req_new();
        *rc = HG_ETIMEOUT;
        return NULL;
    }
    char *code = zmsg_popstr(rep);
    *rc = code ? atoi(code) : HG_EINVAL;
    zstr_free(&code);
    return rep;
}

int hg_cluster_job_upsert(hg_cluster_client_t *c, json_t *job)
{
    char *text = json_dumps(job, JSON_COMPACT);
    if (!text) return HG_ENOMEM;
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "UPSERT");
    zmsg_addstr(req, text);
    free(text);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    zmsg_destroy(&rep);
    return rc;
}

/* The jobs go by reference, not as JSON text: a batch of 1,000 cost more
 * to print and parse again than to place. The cluster holds a reference
 * until it has read them and answers with a new array of node names,
 * also by reference. A request or reply lost with a timed-out socket
 * leaks its array: rare (the cluster stuck for seconds) and bounded. */
int hg_cluster_job_upsert_many(hg_cluster_client_t *c, json_t *jobs, json_t **nodes)
{
    if (nodes) *nodes = NULL;
    if (!json_is_array(jobs)) return HG_EINVAL;
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "UPSERTS");
    json_t *ref = json_incref(jobs);
    zmsg_addmem(req, &ref, sizeof ref);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (!rep && rc == HG_EUNAVAIL) json_decref(jobs); /* never sent */
    zframe_t *out = rep ? zmsg_pop(rep) : NULL;
    json_t *names = NULL;
    if (out && zframe_size(out) == sizeof names) memcpy(&names, zframe_data(out), sizeof names);
    zframe_destroy(&out);
    if (nodes)
        *nodes = names;
    else
        json_decref(names);
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_job_remove(hg_cluster_client_t *c, uint64_t job_id)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "REMOVE");
    zmsg_addstrf(req, "%" PRIu64, job_id);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_trigger(hg_cluster_client_t *c, uint64_t job_id, json_t *params, char *node,
                       size_t node_size)
{
    return hg_cluster_trigger_at(c, job_id, params, NULL, 0, false, node, node_size);
}

int hg_cluster_trigger_force(hg_cluster_client_t *c, uint64_t job_id, json_t *params, bool force,
                             char *node, size_t node_size)
{
    return hg_cluster_trigger_at(c, job_id, params, NULL, 0, force, node, node_size);
}

int hg_cluster_run_cancel(hg_cluster_client_t *c, const char *run_id, char *node, size_t node_size,
                          char *ns, size_t ns_size)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "CANCEL");
    zmsg_addstr(req, run_id);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0) {
        char *n = zmsg_popstr(rep), *s = zmsg_popstr(rep);
        snprintf(node, node_size, "%s", n ? n : "");
        snprintf(ns, ns_size, "%s", s ? s : "default");
        zstr_free(&n);
        zstr_free(&s);
    }
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_trigger_at(hg_cluster_client_t *c, uint64_t job_id, json_t *params,
                          const char *reason, int64_t scheduled_ms, bool force, char *node,
                          size_t node_size)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "TRIGGER");
    zmsg_addstrf(req, "%" PRIu64, job_id);
    char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
    zmsg_addstr(req, text ? text : "");
    zmsg_addstr(req, force ? "1" : "0");
    free(text);
    if (reason) {
        zmsg_addstr(req, reason);
        zmsg_addstrf(req, "%" PRId64, scheduled_ms);
    }
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0 && node) {
        char *n = zmsg_popstr(rep);
        snprintf(node, node_size, "%s", n ? n : "");
        zstr_free(&n);
    }
    zmsg_destroy(&rep);
    return rc;
}

json_t *hg_cluster_nodes(hg_cluster_client_t *c)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "NODES");
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    json_t *arr = NULL;
    if (rep && rc == 0) {
        char *text = zmsg_popstr(rep);
        arr = text ? json_loads(text, 0, NULL) : NULL;
        zstr_free(&text);
    }
    zmsg_destroy(&rep);
    return arr;
}

int hg_cluster_job_node(hg_cluster_client_t *c, uint64_t job_id, char *node, size_t node_size)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "JOBNODE");
    zmsg_addstrf(req, "%" PRIu64, job_id);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0) {
        char *n = zmsg_popstr(rep);
        snprintf(node, node_size, "%s", n ? n : "");
        zstr_free(&n);
    }
    zmsg_destroy(&rep);
    return rc;
}

json_t *hg_cluster_job_placement(hg_cluster_client_t *c, uint64_t job_id)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "PLACEMENT");
    zmsg_addstrf(req, "%" PRIu64, job_id);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    json_t *out = NULL;
    if (rep && rc == 0) {
        char *text = zmsg_popstr(rep);
        out = text ? json_loads(text, 0, NULL) : NULL;
        zstr_free(&text);
    }
    zmsg_destroy(&rep);
    return out;
}

json_t *hg_cluster_node_drain(hg_cluster_client_t *c, const char *name, bool drain, int *rc)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, drain ? "DRAIN" : "ACTIVATE");
    zmsg_addstr(req, name);
    zmsg_t *rep = s_call(c, req, rc);
    json_t *node = NULL;
    if (rep && *rc == 0) {
        char *text = zmsg_popstr(rep);
        node = text ? json_loads(text, 0, NULL) : NULL;
        zstr_free(&text);
        if (!node) *rc = HG_ENOMEM;
    }
    zmsg_destroy(&rep);
    return node;
}

int hg_cluster_role(hg_cluster_client_t *c, hg_cluster_role_t *role)
{
    memset(role, 0, sizeof *role);
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "ROLE");
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0) {
        char *r = zmsg_popstr(rep), *e = zmsg_popstr(rep), *n = zmsg_popstr(rep),
             *a = zmsg_popstr(rep);
        role->leading = r && streq(r, "leader");
        role->epoch = e ? strtoull(e, NULL, 10) : 0;
        snprintf(role->leader, sizeof role->leader, "%s", n ? n : "");
        snprintf(role->leader_api, sizeof role->leader_api, "%s", a ? a : "");
        zstr_free(&r);
        zstr_free(&e);
        zstr_free(&n);
        zstr_free(&a);
    }
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_stats(hg_cluster_client_t *c, int *workers, int *jobs)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "STATS");
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    if (rep && rc == 0) {
        char *w = zmsg_popstr(rep), *j = zmsg_popstr(rep);
        *workers = w ? atoi(w) : 0;
        *jobs = j ? atoi(j) : 0;
        zstr_free(&w);
        zstr_free(&j);
    }
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_plugin_put(hg_cluster_client_t *c, const char *name, const char *version,
                          const char *sha256)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "PLUGIN_PUT");
    zmsg_addstr(req, name);
    zmsg_addstr(req, version);
    zmsg_addstr(req, sha256);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    zmsg_destroy(&rep);
    return rc;
}

int hg_cluster_plugin_remove(hg_cluster_client_t *c, const char *sha256)
{
    zmsg_t *req = zmsg_new();
    zmsg_addstr(req, "PLUGIN_REMOVE");
    zmsg_addstr(req, sha256);
    int rc;
    zmsg_t *rep = s_call(c, req, &rc);
    zmsg_destroy(&rep);
    return rc;
}
