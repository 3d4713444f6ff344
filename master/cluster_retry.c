/* cluster_retry: the cluster actor's part in retries and run cancel
 * (issue 11; docs/jobs.md).
 *
 * Pending retries. A run record whose retry_at_ms is set announces the
 * next attempt of its chain; the holder's worker runs it when due. The
 * master keeps the same pending attempt, from the records it accepts, until
 * a record of that attempt arrives. If the job moves meanwhile (its worker
 * lost, drained or gone), the next holder gets it as TRIGGER "retry" with
 * the due time, the attempt number and the chain's first run id, and
 * continues the chain: no attempt that finished is repeated (its record
 * removed it here), none is lost. A run lost with its worker is itself
 * retried when the job's policy lists "lost" (decided here, the only place
 * that sees it).
 *
 * Hand-over. A draining or leaving node keeps a job with overlap replace
 * until its runs of that job have ended (hg_cluster__overlap_busy): the
 * holder that cancels a run must be the one running it. Under forbid and
 * queue the job moves at once, and its ASSIGN tells the next holder how
 * many of its runs are still in flight (cluster_overlap.c).
 *
 * Cancel. POST /api/v1/runs/{id}/cancel reaches the actor as CANCEL: a run
 * it knows in flight gets a CANCEL message to the worker that runs it.
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_retry.h"
#include "hg_runid.h"
#include "hg_time.h"

#include <inttypes.h>
#include <sodium.h>

#define S_PENDING_MAX 100000 /* jobs with pending retries; more are left to their worker */
/* How far back a new leader looks for chains still pending, and how long
 * the master keeps one whose next attempt it never hears of. */
#define S_LOAD_WINDOW_MS (24 * 3600 * 1000)
/* Pending retries of one job (one per fire in its chain): a peer that
 * claims more loses the oldest, not the master its memory. */
#define S_PENDING_JOB 64

typedef struct {
    int64_t scheduled_ms;                       /* the fire's scheduled time */
    int64_t due_ms;                             /* due time of the attempt */
    uint32_t attempt;                           /* attempt number */
    uint8_t first_run_id[HG_PROTO_RUN_ID_SIZE]; /* chain */
} s_pending_t;

typedef struct {
    s_pending_t *items;
    size_t n;
} s_list_t;

static void s_list_free(void **item)
{
    s_list_t *l = *item;
    if (l) {
        free(l->items);
        free(l);
    }
    *item = NULL;
}

static s_list_t *s_list(hg_cluster_t *self, uint64_t job_id, bool create)
{
    if (!self->retries) {
        if (!create) return NULL;
        self->retries = zhashx_new();
        if (!self->retries) return NULL;
        zhashx_set_destructor(self->retries, s_list_free);
    }
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    s_list_t *l = zhashx_lookup(self->retries, key);
    if (!l && create) {
        l = calloc(1, sizeof *l);
        if (l) zhashx_insert(self->retries, key, l);
    }
    return l;
}

static void s_drop_key(hg_cluster_t *self, uint64_t job_id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    zhashx_delete(self->retries, key);
}

static void s_remove(hg_cluster_t *self, uint64_t job_id, int64_t scheduled_ms, uint32_t attempt)
{
    s_list_t *l = s_list(self, job_id, false);
    if (!l) return;
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!(l->items[i].scheduled_ms == scheduled_ms && l->items[i].attempt <= attempt))
            l->items[k++] = l->items[i];
    l->n = k;
    if (k == 0) s_drop_key(self, job_id);
}

static void s_send_one(hg_cluster_t *self, hg_jobrec_t *job, const s_pending_t *p)
{
    hg_msg_t msg = {.type = HG_MSG_TRIGGER};
    msg.u.trigger.job_id = job->id;
    msg.u.trigger.epoch = job->epoch;
    msg.u.trigger.reason = "retry";
    msg.u.trigger.scheduled_ms = p->scheduled_ms;
    msg.u.trigger.attempt = p->attempt;
    msg.u.trigger.due_ms = p->due_ms;
    memcpy(msg.u.trigger.first_run_id, p->first_run_id, HG_PROTO_RUN_ID_SIZE);
    hg_cluster__send_to(self, job->node, &msg);
    char at[40];
    hg_time_format_ms(p->due_ms, at, sizeof at);
    hg_info("cluster: job %s: its pending attempt %u (due %s) goes to its holder %s",
            hg_jobrec_name(job), p->attempt, at, job->node);
}

static void s_add(hg_cluster_t *self, const hg_run_t *r, const char *from)
{
    s_list_t *l = s_list(self, r->job_id, true);
    if (!l || zhashx_size(self->retries) > S_PENDING_MAX) return;
    s_pending_t p = {.scheduled_ms = r->scheduled_ms,
                     .due_ms = r->retry_at_ms,
                     .attempt = (r->attempt ? r->attempt : 1) + 1};
    memcpy(p.first_run_id, r->first_run_id, HG_PROTO_RUN_ID_SIZE);
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].scheduled_ms == p.scheduled_ms && l->items[i].attempt >= p.attempt)
            return; /* a resend, or older than what is known */
    if (l->n >= S_PENDING_JOB) {
        memmove(l->items, l->items + 1, (l->n - 1) * sizeof *l->items);
        l->n--;
    }
    s_pending_t *a = realloc(l->items, (l->n + 1) * sizeof *a);
    if (!a) return;
    l->items = a;
    l->items[l->n++] = p;
    /* The job moved while this run was on its way (drained, revoked): its
     * holder now is another node, which must continue the chain. */
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, r->job_id);
    hg_cluster_node_t *holder = job && job->node[0] ? zhashx_lookup(self->nodes, job->node) : NULL;
    if (holder && HG_NODE_SESSION(holder) && from && !streq(from, job->node))
        s_send_one(self, job, &p);
}

void hg_cluster__retry_on_run(hg_cluster_t *self, const char *node, const hg_run_t *r,
                              bool finished)
{
    /* Any record of attempt n > 1 means attempt n is taken. */
    if (r->attempt > 1 && self->retries) s_remove(self, r->job_id, r->scheduled_ms, r->attempt);
    if (finished && r->retry_at_ms > 0) s_add(self, r, node);
}

bool hg_cluster__retry_on_lost(hg_cluster_t *self, hg_run_t *r)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, r->job_id);
    if (!job || job->tpl->spec.retry.max_attempts <= 1) return false;
    uint64_t rnd = ((uint64_t) randombytes_random() << 32) | randombytes_random();
    if (!r->finished_ms) r->finished_ms = hg_now_ms();
    if (!hg_retry_decide(&job->tpl->spec.retry, r, rnd)) return false;
    s_add(self, r, NULL);
    return true;
}

void hg_cluster__retry_send(hg_cluster_t *self, hg_jobrec_t *job)
{
    s_list_t *l = s_list(self, job->id, false);
    if (!l) return;
    /* An attempt due long ago whose record never came (its worker dropped
     * it, over max.unacked) is not started a day late: forget it. */
    int64_t oldest = hg_now_ms() - S_LOAD_WINDOW_MS;
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].due_ms < oldest) continue;
        s_send_one(self, job, &l->items[i]);
        l->items[k++] = l->items[i];
    }
    l->n = k;
    if (k == 0) s_drop_key(self, job->id);
}

bool hg_cluster__overlap_busy(hg_cluster_t *self, hg_jobrec_t *job, hg_cluster_node_t *node)
{
    if (job->tpl->spec.overlap != HG_OVERLAP_REPLACE || node->inflight == 0) return false;
    for (hg_cluster_inflight_t *f = zhashx_first(self->inflight); f;
         f = zhashx_next(self->inflight))
        if (f->job_id == job->id && streq(f->node, node->name)) return true;
    return false;
}

void hg_cluster__retry_load(hg_cluster_t *self)
{
    if (!self->args->db) return;
    char err[512] = "";
    MYSQL *conn = hg_db_connect(self->args->db, err, sizeof err);
    if (!conn) {
        hg_warn("cluster: cannot read the pending retries: %s", err);
        return;
    }
    /* Failed records that announce a next attempt none of which has a
     * record yet. runs_by_status holds the runs that did not succeed, by
     * status and (time-ordered) run id: a short range scan, not one of
     * the whole history. */
    uint8_t floor[HG_RUNID_SIZE];
    hg_runid_floor(floor, hg_now_ms() - S_LOAD_WINDOW_MS);
    char hex[2 * HG_RUNID_SIZE + 1], sql[1400];
    for (int i = 0; i < HG_RUNID_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", floor[i]);
    snprintf(
        sql, sizeof sql,
        "SELECT r.job_id, CAST(ROUND(UNIX_TIMESTAMP(r.scheduled_at) * 1000) AS SIGNED),"
        " r.attempt, CAST(ROUND(UNIX_TIMESTAMP(r.next_attempt_at) * 1000) AS SIGNED),"
        " r.first_run_id FROM runs_by_status s JOIN runs r ON r.run_id = s.run_id"
        " WHERE s.status IN ('failed', 'timeout', 'crashed', 'lost') AND s.run_id >= UNHEX('%s')"
        " AND r.next_attempt_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM runs n WHERE"
        " n.job_id = r.job_id AND n.scheduled_at = r.scheduled_at AND n.attempt > r.attempt)",
        hex);
    if (mysql_query(conn, sql) != 0) {
        hg_warn("cluster: cannot read the pending retries: %s", mysql_error(conn));
        hg_db_close(&conn);
        return;
    }
    MYSQL_RES *res = mysql_store_result(conn);
    MYSQL_ROW row;
    size_t n = 0;
    while (res && (row = mysql_fetch_row(res))) {
        unsigned long *len = mysql_fetch_lengths(res);
        if (!row[0] || !row[1] || !row[2] || !row[3]) continue;
        hg_run_t r = {.job_id = strtoull(row[0], NULL, 10),
                      .scheduled_ms = strtoll(row[1], NULL, 10),
                      .attempt = (uint32_t) strtoul(row[2], NULL, 10),
                      .retry_at_ms = strtoll(row[3], NULL, 10)};
        if (row[4] && len[4] == HG_PROTO_RUN_ID_SIZE)
            memcpy(r.first_run_id, row[4], HG_PROTO_RUN_ID_SIZE);
        s_add(self, &r, NULL);
        n++;
    }
    if (res) mysql_free_result(res);
    hg_db_close(&conn);
    if (n) hg_info("cluster: %zu pending retries found in the history", n);
}

void hg_cluster__retry_destroy(hg_cluster_t *self)
{
    zhashx_destroy(&self->retries);
}

/* CANCEL run-id-text -> code, node, namespace of the job */
void hg_cluster__api_cancel(hg_cluster_t *self, zmsg_t *req, zmsg_t *rep)
{
    char *text = zmsg_popstr(req);
    uint8_t id[HG_RUNID_SIZE];
    hg_cluster_inflight_t *f = NULL;
    if (text && hg_runid_parse(text, id) == 0 && zhashx_size(self->inflight))
        f = zhashx_lookup(self->inflight, id);
    hg_cluster_node_t *node = f ? zhashx_lookup(self->nodes, f->node) : NULL;
    hg_jobrec_t *job = f ? hg_jobtab_find(self->jobs, f->job_id) : NULL;
    if (!f) {
        zmsg_addstrf(rep, "%d", HG_ENOTFOUND);
    } else if (!node || !HG_NODE_SESSION(node)) {
        zmsg_addstrf(rep, "%d", HG_EUNAVAIL);
    } else {
        hg_msg_t msg = {.type = HG_MSG_CANCEL};
        msg.u.cancel.job_id = f->job_id;
        memcpy(msg.u.cancel.run_id, id, HG_PROTO_RUN_ID_SIZE);
        hg_cluster__send_to(self, node->name, &msg);
        hg_info("cluster: cancel of run %s of job %s sent to %s", text,
                f->job_name ? f->job_name : "?", node->name);
        zmsg_addstr(rep, "0");
        zmsg_addstr(rep, node->name);
        zmsg_addstr(rep, job && job->tpl->spec.ns ? job->tpl->spec.ns : "default");
    }
    zstr_free(&text);
}
