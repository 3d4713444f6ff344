/* cluster_runlost: runs in flight that no worker claims (issue 15).
 *
 * The actor keeps every run a worker reported started and not finished
 * (self->inflight) and closes it as "lost" when its worker goes. Across a
 * leader change that was not enough: a new leader learnt of runs in flight
 * only from the workers that came back to it, so a run whose RUN_STARTED
 * the old leader committed, on a worker that then died or restarted,
 * stayed "running" in the history for good. Now:
 *
 *   - a new leader loads the recent "running" rows (runs_by_status, a short
 *     indexed range, bounded) as runs in flight of their nodes, unclaimed;
 *   - a worker lists its runs in flight in HELLO (hg_hello_t.runs): the
 *     listed ones are claimed by its session again; one the master had for
 *     it that it does not list (it restarted) becomes unclaimed;
 *   - an unclaimed run that no record ends within a lease window (lease +
 *     margin: a worker that is alive says HELLO and sends its unacknowledged
 *     records within it) is closed "lost" by the same rule as a lost
 *     worker's: its retry policy ("lost") or recover re-runs it, and the
 *     committed record feeds alerts and dependencies as any lost run.
 *
 * A worker that was only cut off and reports the run later still replaces
 * the row with its own record (same run id: finished beats lost).
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "hg_log.h"
#include "hg_runid.h"
#include "hg_time.h"

#include <inttypes.h>
#include <mysql.h>

/* How far back a new leader looks for runs left running, and how many it
 * takes at most (runs_by_status holds the runs that did not succeed, by
 * status and time-ordered run id: a range of the "running" ones only). A
 * run older than a week is beyond any timeout a job may set. */
#define S_LOAD_WINDOW_MS (7LL * 24 * 3600 * 1000)
#define S_LOAD_MAX       100000

/* ------------------------------------------------------------ closing */

/* A run of a job marked recover: true was lost: queue its re-run for the
 * job's holder (sent now when it has a live one, else with the ASSIGN of
 * the next). Once only: a lost re-run is not re-run again. */
static void s_recovery_add(hg_cluster_t *self, const hg_run_t *run)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, run->job_id);
    if (!job || !job->tpl->spec.recover || (run->reason && streq(run->reason, "recover"))) return;
    if (!hg_cluster__refire_claim(self, run)) return; /* already re-run (refire.h) */
    hg_cluster__recovery_add(self, job, run->scheduled_ms, (run->attempt ? run->attempt : 1) + 1,
                             false);
}

size_t hg_cluster__runs_close_lost(hg_cluster_t *self, const char *node, zlist_t *keys,
                                   const char *cause)
{
    size_t n = zlist_size(keys);
    if (!n) return 0;
    /* The jobs of the closed runs: a holder elsewhere hears of each. */
    uint64_t *jobs = calloc(n, sizeof *jobs);
    size_t jobs_n = 0;
    hg_store_batch_t *batch = calloc(1, sizeof *batch);
    hg_msg_t *m = calloc(1, sizeof *m);
    hg_run_t *runs = calloc(n, sizeof *runs);
    size_t k = 0;
    for (const void *key = zlist_first(keys); key && runs && m && batch; key = zlist_next(keys)) {
        hg_cluster_inflight_t *f = zhashx_lookup(self->inflight, key);
        /* The whole row, from memory: its start row may never have been
         * written (cluster_startdefer.c). */
        if (!f || hg_runtrack_to_run(f, &runs[k]) != 0) continue;
        if (jobs) jobs[jobs_n++] = runs[k].job_id;
        runs[k].status = HG_RUN_LOST;
        runs[k].finished_ms = hg_now_ms();
        /* Whether its request reached the endpoint is unknown: recover
         * re-runs it (at least once), else it is not run again (at most
         * once). */
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, runs[k].job_id);
        bool recover =
            job && job->tpl->spec.recover && !(runs[k].reason && streq(runs[k].reason, "recover"));
        char text[1024];
        snprintf(
            text, sizeof text,
            "%s while the run was in flight; whether it reached the endpoint is unknown: %s", cause,
            recover ? "run again once (recover)" : "not run again (at most once; recover re-runs)");
        free(runs[k].error);
        runs[k].error = strdup(text);
        /* A job whose retry policy lists "lost" retries it; else recover. */
        if (!hg_cluster__retry_on_lost(self, &runs[k])) s_recovery_add(self, &runs[k]);
        k++;
    }
    if (k) {
        m->type = HG_MSG_RUN_FINISHED;
        m->u.runs.runs = runs;
        m->u.runs.runs_n = k;
        snprintf(batch->node, sizeof batch->node, "%s", node);
        batch->msg = m;
        /* No ACK for these: the worker never sent them. It may still hold
         * its own record of the same run (it was only frozen or cut off),
         * and an ACK would make it drop that record unsent. */
        batch->no_ack = true;
        hg_cluster__store_runs(self, batch);
    } else {
        free(batch);
        free(m);
        free(runs);
    }
    for (const void *key = zlist_first(keys); key; key = zlist_next(keys))
        zhashx_delete(self->inflight, key);
    self->inflight_gen++;
    for (size_t i = 0; i < jobs_n; i++)
        hg_cluster__overlap_run_ended(self, jobs[i], node);
    free(jobs);
    return n;
}

/* ------------------------------------------------------------ loading */

/* One "running" row as a run in flight of its node, unclaimed. */
static void s_load_row(hg_cluster_t *self, MYSQL_ROW row, const unsigned long *len,
                       int64_t claim_by)
{
    if (!row[0] || len[0] != HG_PROTO_RUN_ID_SIZE || !row[1] || !row[3] || !row[5]) return;
    if (zhashx_lookup(self->inflight, row[0])) return;
    hg_run_t run = {0};
    memcpy(run.run_id, row[0], HG_PROTO_RUN_ID_SIZE);
    run.job_id = strtoull(row[1], NULL, 10);
    run.job_name = row[2] ? row[2] : "";
    run.epoch = row[4] ? strtoull(row[4], NULL, 10) : 0;
    run.scheduled_ms = strtoll(row[5], NULL, 10);
    run.started_ms = row[6] ? strtoll(row[6], NULL, 10) : 0;
    run.attempt = row[7] ? (uint32_t) strtoul(row[7], NULL, 10) : 1;
    run.reason = row[8] ? row[8] : "schedule";
    if (row[9] && len[9] == HG_PROTO_RUN_ID_SIZE)
        memcpy(run.first_run_id, row[9], HG_PROTO_RUN_ID_SIZE);
    hg_cluster_inflight_t *f = hg_runtrack_new(self->names, row[3], &run);
    if (!f) return;
    f->unclaimed = true;
    f->claim_by_mono_ms = claim_by;
    f->written = true; /* its row is where it came from */
    zhashx_insert(self->inflight, f->run_id, f);
    self->inflight_gen++;
}

void hg_cluster__runlost_load(hg_cluster_t *self)
{
    if (!self->args->db) return;
    char err[512] = "";
    MYSQL *conn = hg_db_connect(self->args->db, err, sizeof err);
    if (!conn) {
        hg_warn("cluster: cannot read the runs left running: %s; those of workers that do not "
                "come back stay running",
                err);
        return;
    }
    uint8_t floor[HG_RUNID_SIZE];
    hg_runid_floor(floor, hg_now_ms() - S_LOAD_WINDOW_MS);
    char hex[2 * HG_RUNID_SIZE + 1], sql[1024];
    for (int i = 0; i < HG_RUNID_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", floor[i]);
    snprintf(sql, sizeof sql,
             "SELECT r.run_id, r.job_id, r.job_name, r.node, r.epoch,"
             " CAST(ROUND(UNIX_TIMESTAMP(r.scheduled_at) * 1000) AS SIGNED),"
             " CAST(ROUND(UNIX_TIMESTAMP(r.started_at) * 1000) AS SIGNED), r.attempt,"
             " r.trigger_reason, r.first_run_id FROM runs_by_status s JOIN runs r ON"
             " r.run_id = s.run_id WHERE s.status = 'running' AND s.run_id >= UNHEX('%s')"
             " AND r.status = 'running' ORDER BY s.run_id DESC LIMIT %d",
             hex, S_LOAD_MAX);
    if (mysql_query(conn, sql) != 0) {
        hg_warn("cluster: cannot read the runs left running: %s", mysql_error(conn));
        hg_db_close(&conn);
        return;
    }
    MYSQL_RES *res = mysql_use_result(conn);
    MYSQL_ROW row;
    size_t before = zhashx_size(self->inflight);
    /* The workers of the old leader report what they run within a lease
     * window, counted from when this leader answers them: the caller
     * (s_lead) restarts that clock after loading; the tick judges from it. */
    int64_t claim_by = INT64_MAX;
    while (res && (row = mysql_fetch_row(res)))
        s_load_row(self, row, mysql_fetch_lengths(res), claim_by);
    if (res) mysql_free_result(res);
    hg_db_close(&conn);
    size_t n = zhashx_size(self->inflight) - before;
    self->runlost_pending = self->runlost_pending || n > 0;
    if (n)
        hg_info("cluster: %zu runs left running in the history; those no worker claims within "
                "%lld ms are closed as lost",
                n, (long long) (self->args->lease_ms + self->args->margin_ms));
}

/* ------------------------------------------------------------- claiming */

bool hg_cluster__runlost_gather(hg_inflight_run_t **all, size_t *all_n, const hg_hello_t *h,
                                size_t cap)
{
    if (*all_n + h->runs_n > cap) return false;
    hg_inflight_run_t *grown = realloc(*all, (*all_n + h->runs_n) * sizeof *grown);
    if (!grown) return false;
    memcpy(grown + *all_n, h->runs, h->runs_n * sizeof *grown);
    *all = grown;
    *all_n += h->runs_n;
    return true;
}

void hg_cluster__runlost_hello(hg_cluster_t *self, hg_cluster_node_t *node, const hg_hello_t *h)
{
    if (!node->inflight && !self->runlost_pending && !h->runs_n) return;
    int64_t now = hg_mono_ms();
    int64_t window = self->args->lease_ms + self->args->margin_ms;
    for (hg_cluster_inflight_t *f = zhashx_first(self->inflight); f;
         f = zhashx_next(self->inflight))
        if (streq(f->node, node->name)) f->listed = !h->runs_listed; /* older worker: trusted */
    for (size_t i = 0; i < h->runs_n; i++) {
        hg_cluster_inflight_t *f = zhashx_lookup(self->inflight, h->runs[i].run_id);
        /* Only the node that started a run may claim it (ids are no secret). */
        if (f && streq(f->node, node->name) && f->job_id == h->runs[i].job_id) f->listed = true;
    }
    size_t claimed = 0, unlisted = 0;
    for (hg_cluster_inflight_t *f = zhashx_first(self->inflight); f;
         f = zhashx_next(self->inflight)) {
        if (!streq(f->node, node->name)) continue;
        if (f->listed && f->unclaimed) {
            f->unclaimed = false;
            node->inflight++;
            claimed++;
        } else if (!f->listed) {
            /* It no longer runs it (it restarted), or finished it and holds
             * the record unacknowledged: that record, sent once we answer,
             * ends the run; else the tick closes it after a window. */
            if (!f->unclaimed && node->inflight) node->inflight--;
            f->unclaimed = true;
            if (f->claim_by_mono_ms == INT64_MAX || f->claim_by_mono_ms < now + window)
                f->claim_by_mono_ms = now + window;
            self->runlost_pending = true;
            unlisted++;
        }
    }
    if (claimed || unlisted)
        hg_info("cluster: worker %s runs %zu of the runs in flight we had for it; %zu it does "
                "not list are closed as lost unless a record ends them within %lld ms",
                node->name, claimed, unlisted, (long long) window);
}

/* ----------------------------------------------------------------- tick */

void hg_cluster__runlost_start(hg_cluster_t *self)
{
    int64_t claim_by = hg_mono_ms() + self->args->lease_ms + self->args->margin_ms;
    for (hg_cluster_inflight_t *f = zhashx_first(self->inflight); f;
         f = zhashx_next(self->inflight))
        if (f->unclaimed && f->claim_by_mono_ms == INT64_MAX) f->claim_by_mono_ms = claim_by;
}

void hg_cluster__runlost_tick(hg_cluster_t *self, int64_t now_mono_ms)
{
    if (!self->runlost_pending) return;
    zlist_t *due = zlist_new();
    if (!due) return;
    bool left = false;
    for (hg_cluster_inflight_t *f = zhashx_first(self->inflight); f;
         f = zhashx_next(self->inflight)) {
        if (!f->unclaimed) continue;
        if (now_mono_ms >= f->claim_by_mono_ms)
            zlist_append(due, (void *) zhashx_cursor(self->inflight));
        else
            left = true;
    }
    self->runlost_pending = left;
    /* One batch per node: the store writes a record for the node it names. */
    size_t closed = 0;
    zlist_t *one = zlist_new();
    while (one && zlist_size(due)) {
        const void *first = zlist_first(due);
        hg_cluster_inflight_t *f0 = zhashx_lookup(self->inflight, first);
        char node[192]; /* the entry goes while its node's runs close */
        snprintf(node, sizeof node, "%s", f0->node);
        zlist_purge(one);
        for (const void *key = zlist_first(due); key; key = zlist_next(due)) {
            hg_cluster_inflight_t *f = zhashx_lookup(self->inflight, key);
            if (streq(f->node, node)) zlist_append(one, (void *) key);
        }
        for (const void *key = zlist_first(one); key; key = zlist_next(one))
            zlist_remove(due, (void *) key);
        char cause[512];
        snprintf(cause, sizeof cause,
                 "worker %s did not claim the run within the lease window after a leader change "
                 "or its restart",
                 node);
        closed += hg_cluster__runs_close_lost(self, node, one, cause);
    }
    zlist_destroy(&one);
    zlist_destroy(&due);
    if (closed) hg_warn("cluster: %zu runs in flight that no worker claimed marked lost", closed);
}
