/* store: the store actor (store.h): batched, idempotent writes of run
 * records and cluster facts in arrival order, kept through MySQL outages
 * (retry, spill file, replay); the SQL itself is in store_sql.c. */
#include "store_internal.h"
#include "metrics.h"
#include "actor_loop.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"
#include "spill.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* After SIGTERM records are still written this long, then no more: under
 * overload the pipe may hold minutes of records, and DRAIN (the cluster's
 * last word) waits behind them. What is not written was not acknowledged:
 * the workers still hold it and resend it to the next leader. */
#define S_STOP_WRITE_MS 2000

void hg_store_batch_destroy(hg_store_batch_t **p)
{
    if (p && *p) {
        hg_msg_destroy(&(*p)->msg);
        free((*p)->had_start);
        free(*p);
        *p = NULL;
    }
}

static void s_op_destroy(hg_store_op_t **p)
{
    if (p && *p) {
        hg_store_batch_destroy(&(*p)->batch);
        free((*p)->labels);
        free((*p)->names);
        free((*p)->name_at);
        free((*p)->rows);
        free(*p);
        *p = NULL;
    }
}

static int s_on_retry(zloop_t *loop, int timer_id, void *arg);

static void s_schedule_retry(hg_store_state_t *self)
{
    if (self->opts->metrics) hg_metrics_db_error(self->opts->metrics);
    self->down = true;
    if (!self->down_since_ms) self->down_since_ms = hg_now_ms();
    self->retry_ms = self->retry_ms ? (self->retry_ms * 2 > 2000 ? 2000 : self->retry_ms * 2) : 100;
    if (self->retry_timer < 0)
        self->retry_timer = zloop_timer(self->loop, (size_t) self->retry_ms, 1, s_on_retry, self);
}

/* The connection failed while writing: note it and come back later. */
static void s_lost_connection(hg_store_state_t *self)
{
    hg_store__disconnect(self);
    s_schedule_retry(self);
}

/* An ASSIGN op from its two frames (store.h), or NULL (logged) when they
 * hold nothing or do not fit together (a row naming a node the names
 * frame does not have), or memory runs out. */
static hg_store_op_t *s_assign_op(zframe_t *names, zframe_t *rows)
{
    size_t len = names ? zframe_size(names) : 0,
           n = rows ? zframe_size(rows) / (3 * sizeof(uint64_t)) : 0;
    if (!n || !len || ((const char *) zframe_data(names))[len - 1] != '\0') {
        if (n) hg_error("store: %zu assignments came without their node names; not recorded", n);
        return NULL;
    }
    hg_store_op_t *op = calloc(1, sizeof *op);
    size_t names_n = 0;
    for (size_t i = 0; i < len; i++)
        names_n += ((const char *) zframe_data(names))[i] == '\0';
    if (op) {
        op->kind = HG_STORE_OP_ASSIGN;
        op->names = malloc(len);
        op->name_at = malloc(names_n * sizeof *op->name_at);
        op->rows = malloc(n * 3 * sizeof(uint64_t));
    }
    if (!op || !op->names || !op->name_at || !op->rows) {
        hg_error("store: out of memory; %zu assignments not recorded", n);
        s_op_destroy(&op);
        return NULL;
    }
    memcpy(op->names, zframe_data(names), len);
    for (const char *p = op->names; p < op->names + len; p += strlen(p) + 1)
        op->name_at[op->names_n++] = p;
    memcpy(op->rows, zframe_data(rows), n * 3 * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
        if (op->rows[3 * i] >= op->names_n) {
            hg_error("store: an assignment names node %" PRIu64 " of %zu; none recorded",
                     op->rows[3 * i], op->names_n);
            s_op_destroy(&op);
            return NULL;
        }
    }
    op->rows_n = n;
    return op;
}

/* Approximate memory one batch of records holds while queued. */
static size_t s_batch_bytes(const hg_store_batch_t *batch)
{
    size_t bytes = sizeof *batch + sizeof *batch->msg;
    const hg_runs_t *runs = &batch->msg->u.runs;
    for (size_t i = 0; i < runs->runs_n; i++) {
        const hg_run_t *r = &runs->runs[i];
        bytes += sizeof *r + r->output.len;
        bytes += r->job_name ? strlen(r->job_name) + 1 : 0;
        bytes += r->reason ? strlen(r->reason) + 1 : 0;
        bytes += r->error ? strlen(r->error) + 1 : 0;
    }
    return bytes;
}

/* Write what is queued, in order. Returns false when the connection was
 * lost (the rest stays queued, a retry is scheduled); nothing is
 * acknowledged that is not committed. */
static bool s_write_ops(hg_store_state_t *self)
{
    char err[512];
    if (zlist_size(self->ops) > 0) self->write_began_ms = hg_mono_ms();
    while (zlist_size(self->ops) > 0) {
        hg_store_op_t *first = zlist_first(self->ops);
        if (first->kind == HG_STORE_OP_ASSIGN) {
            const char *nodes[HG_STORE_ASSIGN_ROWS];
            uint64_t pairs[2 * HG_STORE_ASSIGN_ROWS];
            size_t count = 0;
            for (hg_store_op_t *op = first;
                 op && op->kind == HG_STORE_OP_ASSIGN && count < HG_STORE_ASSIGN_ROWS;
                 op = zlist_next(self->ops)) {
                /* Rows apply in order, so a job twice in one statement
                 * ends with its later assignment, as one at a time did. */
                for (size_t i = op->rows_done; i < op->rows_n && count < HG_STORE_ASSIGN_ROWS;
                     i++) {
                    nodes[count] = op->name_at[op->rows[3 * i]];
                    pairs[2 * count] = op->rows[3 * i + 1];
                    pairs[2 * count + 1] = op->rows[3 * i + 2];
                    count++;
                }
            }
            unsigned rc = hg_store__write_assigns(self, nodes, pairs, count, err, sizeof err);
            if (rc && (hg_db_is_conn_error(rc) || hg_db_conn_lost(self->conn))) {
                hg_error("store: lost MySQL connection: %s", err);
                s_lost_connection(self);
                return false;
            }
            if (rc) hg_error("store: cannot record %zu assignments: %s", count, err);
            while (count > 0) {
                hg_store_op_t *op = zlist_first(self->ops);
                size_t take =
                    op->rows_n - op->rows_done < count ? op->rows_n - op->rows_done : count;
                op->rows_done += take;
                count -= take;
                if (op->rows_done == op->rows_n) {
                    zlist_pop(self->ops);
                    s_op_destroy(&op);
                }
            }
            continue;
        }
        if (first->kind != HG_STORE_OP_RUNS) {
            unsigned rc = hg_store__write_fact(self, first, err, sizeof err);
            if (rc && (hg_db_is_conn_error(rc) || hg_db_conn_lost(self->conn))) {
                hg_error("store: lost MySQL connection: %s", err);
                s_lost_connection(self);
                return false;
            }
            if (rc) hg_error("store: cannot record cluster state for %s: %s", first->node, err);
            zlist_pop(self->ops);
            s_op_destroy(&first);
            continue;
        }
        /* Gather consecutive run batches up to the batch limit. */
        hg_store_op_t *group[1024];
        size_t count = 0, records = 0;
        for (hg_store_op_t *op = zlist_first(self->ops);
             op && op->kind == HG_STORE_OP_RUNS && count < 1024; op = zlist_next(self->ops)) {
            size_t n = op->batch->msg->u.runs.runs_n;
            if (count > 0 && records + n > HG_STORE_MAX_BATCH) break;
            group[count++] = op;
            records += n;
        }
        unsigned rc = hg_store__write_runs(self, group, count, records, err, sizeof err);
        if (rc) {
            /* Refused records were stored as failed runs already: only a
             * lost connection (or memory) is left, retried later. */
            hg_error("store: lost MySQL connection while writing %zu run records: %s", records,
                     err);
            s_lost_connection(self);
            return false;
        }
        self->records += records;
        self->transactions++;
        if (records > self->largest) self->largest = records;
        for (size_t i = 0; i < count; i++) {
            hg_store_op_t *op = zlist_pop(self->ops);
            self->queued_records -= op->batch->msg->u.runs.runs_n;
            self->queued_bytes -= op->bytes;
            zsock_send(self->pipe, "sp", "DONE", op->batch);
            op->batch = NULL;
            s_op_destroy(&op);
        }
    }
    return true;
}

/* ------------------------------------------------------------- spilling */

static bool s_spill_enabled(hg_store_state_t *self)
{
    return self->opts->spill_path && *self->opts->spill_path;
}

static bool s_over_buffer(hg_store_state_t *self, size_t records, size_t bytes)
{
    return records > self->opts->buffer_max || bytes > self->opts->buffer_max_bytes;
}

/* mkdir -p for the directory holding the spill file. */
static int s_make_parent_dir(const char *path, char *err, size_t err_size)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *d = dirname(dir);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", d);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) break;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_size, "cannot create directory %.300s: %s", buf, strerror(errno));
        return HG_EIO;
    }
    return 0;
}

/* While MySQL is down and the memory buffer is over its bound, move the
 * newest run batches (those past the bound) to the spill file, fsync it
 * once, then hand them back as DONE: the workers get their ACK, since the
 * records are durable on this disk. Facts (nodes, assignments) stay in
 * memory: they are few and replaced by the next change. */
static void s_spill_overflow(hg_store_state_t *self)
{
    if (!self->down || self->drained || !s_spill_enabled(self) || self->spill_failed) return;
    if (!s_over_buffer(self, self->queued_records, self->queued_bytes)) return;
    char err[512];
    if (!self->spill) {
        if (s_make_parent_dir(self->opts->spill_path, err, sizeof err) == 0)
            self->spill = hg_spill_open(self->opts->spill_path, err, sizeof err);
        if (!self->spill) {
            hg_error("store: cannot spill run records to disk: %s; they stay in memory past "
                     "store.buffer_max (the workers keep them too)",
                     err);
            self->spill_failed = true;
            return;
        }
    }
    /* Keep the oldest batches within the bound; the rest go to disk. */
    zlist_t *out = zlist_new();
    size_t records = 0, bytes = 0;
    bool over = false;
    for (hg_store_op_t *op = zlist_first(self->ops); op; op = zlist_next(self->ops)) {
        if (op->kind != HG_STORE_OP_RUNS) continue;
        records += op->batch->msg->u.runs.runs_n;
        bytes += op->bytes;
        if (!over && s_over_buffer(self, records, bytes)) over = true;
        if (over) zlist_append(out, op);
    }
    size_t n_records = 0, appended = 0;
    int rc = 0;
    for (hg_store_op_t *op = zlist_first(out); op; op = zlist_next(out)) {
        rc = hg_spill_append(self->spill, op->batch->node, op->batch->msg, err, sizeof err);
        if (rc != 0) break;
        appended++;
        n_records += op->batch->msg->u.runs.runs_n;
    }
    if (appended > 0 && hg_spill_sync(self->spill, err, sizeof err) != 0) {
        rc = HG_EIO;
        appended = 0; /* not durable: acknowledge none of them */
    }
    if (rc != 0) {
        hg_error("store: %s; run records stay in memory past store.buffer_max (the workers "
                 "keep them too)",
                 err);
        self->spill_failed = true;
    }
    size_t i = 0;
    for (hg_store_op_t *op = zlist_first(out); op && i < appended; op = zlist_next(out), i++) {
        zlist_remove(self->ops, op);
        self->queued_records -= op->batch->msg->u.runs.runs_n;
        self->queued_bytes -= op->bytes;
        zsock_send(self->pipe, "sp", "DONE", op->batch);
        op->batch = NULL;
        s_op_destroy(&op);
    }
    zlist_destroy(&out);
    if (appended > 0) {
        if (self->spilled == 0)
            hg_warn("store: memory buffer full (%zu records); spilling run records to %s",
                    self->opts->buffer_max, self->opts->spill_path);
        self->spilled += n_records;
        self->spill_pending = true;
        hg_debug("store: spilled %zu run records in %zu batches (%llu in the file)", n_records,
                 appended, (unsigned long long) self->spilled);
    }
}

/* The spill file is fully in MySQL: remove it. */
static void s_spill_done(hg_store_state_t *self, const hg_spill_stats_t *stats)
{
    hg_spill_close(&self->spill);
    if (unlink(self->opts->spill_path) != 0 && errno != ENOENT)
        hg_error("store: cannot remove the replayed spill file %s: %s", self->opts->spill_path,
                 strerror(errno));
    hg_info("store: replayed %llu run records from spill file %s into MySQL in %lld ms "
            "(%llu bad frames skipped); file removed",
            (unsigned long long) self->replayed, self->opts->spill_path,
            (long long) (hg_now_ms() - self->replay_started_ms),
            (unsigned long long) stats->bad_frames);
    self->spill_pending = false;
    self->spill_failed = false;
    self->replay_offset = 0;
    self->spilled = self->replayed = 0;
    self->replay_started_ms = 0;
}

static int s_on_replay(zloop_t *loop, int timer_id, void *arg);

/* Replay one transaction's worth of the spill file into MySQL. Returns
 * false when the connection was lost (retry scheduled). When more remains,
 * a timer brings us back, so that new records are not held up behind a
 * long replay. */
static bool s_replay_step(hg_store_state_t *self)
{
    char err[512];
    hg_spill_reader_t *r =
        hg_spill_reader_open(self->opts->spill_path, self->replay_offset, err, sizeof err);
    if (!r) {
        if (access(self->opts->spill_path, F_OK) != 0) {
            /* Gone (removed by hand): nothing left to replay. */
            hg_spill_close(&self->spill);
            self->spill_pending = false;
        } else {
            hg_error("store: cannot replay the spill file: %s; will retry", err);
            s_schedule_retry(self);
        }
        return self->spill_pending ? false : true;
    }
    if (!self->replay_started_ms) self->replay_started_ms = hg_now_ms();
    hg_store_op_t *group[1024];
    size_t count = 0, records = 0;
    int rc = 0;
    while (count < 1024 && records < HG_STORE_MAX_BATCH) {
        hg_store_op_t *op = calloc(1, sizeof *op);
        hg_store_batch_t *batch = op ? calloc(1, sizeof *batch) : NULL;
        if (!batch) {
            free(op);
            rc = HG_ENOMEM;
            snprintf(err, sizeof err, "out of memory");
            break;
        }
        rc = hg_spill_next(r, batch->node, sizeof batch->node, &batch->msg, err, sizeof err);
        if (rc != 1) {
            free(batch);
            free(op);
            break;
        }
        hg_store__check_batch(self, batch);
        op->kind = HG_STORE_OP_RUNS;
        op->batch = batch;
        group[count++] = op;
        records += batch->msg->u.runs.runs_n;
    }
    bool at_end = rc == 0;
    uint64_t offset = hg_spill_reader_offset(r);
    hg_spill_stats_t stats = *hg_spill_reader_stats(r);
    hg_spill_reader_close(&r);
    bool ok = true;
    if (rc < 0) {
        hg_error("store: replaying the spill file: %s; will retry", err);
        ok = false;
        s_schedule_retry(self);
    } else if (count > 0) {
        unsigned wrc = hg_store__write_runs(self, group, count, records, err, sizeof err);
        if (wrc) {
            hg_error("store: lost MySQL connection while replaying %zu spilled run records: %s",
                     records, err);
            s_lost_connection(self);
            ok = false;
        } else {
            self->records += records;
            self->transactions++;
        }
    }
    for (size_t i = 0; i < count; i++)
        s_op_destroy(&group[i]);
    if (!ok) return false;
    self->replay_offset = offset;
    self->replayed += records;
    if (stats.bad_frames)
        hg_error("store: spill file %s: %llu damaged frames skipped (%llu bytes); their run "
                 "records are lost",
                 self->opts->spill_path, (unsigned long long) stats.bad_frames,
                 (unsigned long long) stats.skipped_bytes);
    if (at_end) {
        s_spill_done(self, &stats);
    } else if (self->replay_timer < 0) {
        self->replay_timer = zloop_timer(self->loop, 1, 1, s_on_replay, self);
    }
    return true;
}

/* At start-up: look at a spill file a previous run left (a crash or a
 * stop while MySQL was down). A torn last frame was never acknowledged
 * (the workers resend those records): it is cut off so that appends
 * continue on a frame boundary. */
static void s_spill_recover(hg_store_state_t *self)
{
    if (!s_spill_enabled(self) || access(self->opts->spill_path, F_OK) != 0) return;
    char err[512];
    hg_spill_reader_t *r = hg_spill_reader_open(self->opts->spill_path, 0, err, sizeof err);
    if (!r) {
        char aside[4200];
        snprintf(aside, sizeof aside, "%s.unreadable", self->opts->spill_path);
        hg_error("store: %s; moved aside to %s", err, aside);
        if (rename(self->opts->spill_path, aside) != 0)
            hg_error("store: cannot move %s aside: %s; spilling is off", self->opts->spill_path,
                     strerror(errno));
        self->spill_failed = access(self->opts->spill_path, F_OK) == 0;
        return;
    }
    int rc;
    char node[192];
    hg_msg_t *msg = NULL;
    while ((rc = hg_spill_next(r, node, sizeof node, &msg, err, sizeof err)) == 1)
        hg_msg_destroy(&msg);
    hg_spill_stats_t stats = *hg_spill_reader_stats(r);
    hg_spill_reader_close(&r);
    if (rc < 0) {
        hg_error("store: %s; the spill file is kept and replay retried", err);
        self->spill_pending = true;
        return;
    }
    if (stats.torn_tail) {
        hg_warn("store: spill file %s ends in a torn frame at offset %llu (%llu bytes, a crash "
                "during an append): cut off; those records were never acknowledged, the "
                "workers resend them",
                self->opts->spill_path, (unsigned long long) stats.torn_offset,
                (unsigned long long) stats.torn_bytes);
        if (truncate(self->opts->spill_path, (off_t) stats.torn_offset) != 0)
            hg_error("store: cannot cut the torn frame off %s: %s", self->opts->spill_path,
                     strerror(errno));
    }
    if (stats.bad_frames)
        hg_error("store: spill file %s has %llu damaged frames (%llu bytes) that will be skipped",
                 self->opts->spill_path, (unsigned long long) stats.bad_frames,
                 (unsigned long long) stats.skipped_bytes);
    if (stats.frames == 0) {
        unlink(self->opts->spill_path);
        return;
    }
    hg_warn("store: spill file %s from a previous run holds %llu run records in %llu frames; "
            "replaying them into MySQL",
            self->opts->spill_path, (unsigned long long) stats.records,
            (unsigned long long) stats.frames);
    self->spill_pending = true;
    self->spilled = stats.records;
}

/* Write the memory queue, then the spill file. */
/* Whether the process is stopping (SIGTERM) and the time to write the
 * records already queued is over (S_STOP_WRITE_MS). */
static bool s_stopping(hg_store_state_t *self)
{
    if (!zsys_interrupted) return false;
    int64_t now = hg_mono_ms();
    if (!self->stop_seen_ms) {
        self->stop_seen_ms = now;
        hg_info("store: stopping; queued run records are written for at most %d ms more",
                S_STOP_WRITE_MS);
    }
    return now - self->stop_seen_ms >= S_STOP_WRITE_MS;
}

static void s_flush(hg_store_state_t *self)
{
    if (self->down || self->drained || s_stopping(self)) return;
    if (zlist_size(self->ops) == 0 && !self->spill_pending) return;
    if (hg_store__connect(self) != 0) {
        s_schedule_retry(self);
        return;
    }
    if (!s_write_ops(self)) return;
    if (self->spill_pending && !s_replay_step(self)) return;
    if (self->down_since_ms) {
        hg_info("store: MySQL is back after %lld ms; queued records written",
                (long long) (hg_now_ms() - self->down_since_ms));
        self->down_since_ms = 0;
        if (!self->spill_pending) self->spill_failed = false;
    }
    self->retry_ms = 0;
}

/* The queue and spill figures of metrics.h, after each round of work. */
static void s_metrics(hg_store_state_t *self)
{
    if (!self->opts->metrics) return;
    hg_metrics_store_set(self->opts->metrics, self->queued_records,
                         self->spill ? hg_spill_size(self->spill) : 0);
}

static int s_on_replay(zloop_t *loop, int timer_id, void *arg)
{
    hg_store_state_t *self = arg;
    self->replay_timer = -1;
    s_flush(self);
    s_metrics(self);
    return 0;
}

static int s_on_retry(zloop_t *loop, int timer_id, void *arg)
{
    hg_store_state_t *self = arg;
    self->retry_timer = -1;
    self->down = false;
    s_flush(self);
    s_spill_overflow(self);
    s_metrics(self);
    return 0;
}

static int s_on_gather(zloop_t *loop, int timer_id, void *arg)
{
    hg_store_state_t *self = arg;
    self->gather_timer = -1;
    s_flush(self);
    s_spill_overflow(self);
    s_metrics(self);
    return 0;
}

/* Write now, or (store.commit_gap) once the gap since the last round of
 * writes has passed: each transaction costs MySQL a log sync and the
 * statements' fixed cost, so records arriving a few at a time are better
 * written together. A full batch is written at once; a quiet store, whose
 * last round is long past, writes a single record at once too. */
static void s_flush_paced(hg_store_state_t *self)
{
    int64_t wait = self->write_began_ms + self->opts->commit_gap_ms - hg_mono_ms();
    if (wait > 0 && self->queued_records < HG_STORE_MAX_BATCH && !self->down) {
        if (self->gather_timer < 0)
            self->gather_timer = zloop_timer(self->loop, (size_t) wait, 1, s_on_gather, self);
        return;
    }
    if (self->gather_timer >= 0) {
        zloop_timer_end(self->loop, self->gather_timer);
        self->gather_timer = -1;
    }
    s_flush(self);
}

static int s_on_report(zloop_t *loop, int timer_id, void *arg)
{
    hg_store_state_t *self = arg;
    if (self->transactions > 0) {
        hg_info("store: committed %llu run records in %llu transactions (mean batch %.1f, "
                "largest %llu)",
                (unsigned long long) self->records, (unsigned long long) self->transactions,
                (double) self->records / (double) self->transactions,
                (unsigned long long) self->largest);
        self->records = self->transactions = self->largest = 0;
    }
    if (self->refused > 10)
        hg_error("store: %llu run records refused in the last interval (recorded as failed runs "
                 "saying why; the first %d logged)",
                 (unsigned long long) self->refused, 10);
    self->refused = self->refused_logged = 0;
    if ((self->queued_records > 0 || self->spill_pending) && self->down)
        hg_warn("store: %zu run records waiting for MySQL in memory, %llu in spill file %s",
                self->queued_records, (unsigned long long) (self->spilled - self->replayed),
                self->spill_pending ? self->opts->spill_path : "(none)");
    return 0;
}
/* Returns -1 on $TERM. */
static int s_handle_command(hg_store_state_t *self)
{
    zmsg_t *msg = zmsg_recv(self->pipe);
    if (!msg) return -1;
    char *cmd = zmsg_popstr(msg);
    int rc = 0;
    hg_store_op_t *op = NULL;
    if (!cmd || streq(cmd, "$TERM")) {
        rc = -1;
    } else if (streq(cmd, "RUNS")) {
        zframe_t *f = zmsg_pop(msg);
        hg_store_batch_t *batch =
            f && zframe_size(f) == sizeof(void *) ? *(hg_store_batch_t **) zframe_data(f) : NULL;
        zframe_destroy(&f);
        if (batch) {
            hg_store__check_batch(self, batch);
            op = calloc(1, sizeof *op);
            op->kind = HG_STORE_OP_RUNS;
            op->batch = batch;
            op->bytes = s_batch_bytes(batch);
            self->queued_records += batch->msg->u.runs.runs_n;
            self->queued_bytes += op->bytes;
        }
    } else if (streq(cmd, "DRAIN")) {
        /* The owner is stopping: every DONE goes out before DRAINED, none
         * after, so the owner can free each batch it gets back. */
        self->drained = true;
        zstr_send(self->pipe, "DRAINED");
    } else if (streq(cmd, "NODE")) {
        op = calloc(1, sizeof *op);
        op->kind = HG_STORE_OP_NODE;
        char *name = zmsg_popstr(msg), *state = zmsg_popstr(msg);
        op->labels = zmsg_popstr(msg);
        char *cap = zmsg_popstr(msg), *version = zmsg_popstr(msg);
        snprintf(op->node, sizeof op->node, "%s", name ? name : "");
        snprintf(op->state, sizeof op->state, "%s", state ? state : "");
        op->capacity = cap ? (uint32_t) strtoul(cap, NULL, 10) : 0;
        snprintf(op->version, sizeof op->version, "%s", version ? version : "");
        zstr_free(&name);
        zstr_free(&state);
        zstr_free(&cap);
        zstr_free(&version);
    } else if (streq(cmd, "ASSIGN")) {
        zframe_t *names = zmsg_pop(msg), *f = zmsg_pop(msg);
        op = s_assign_op(names, f);
        zframe_destroy(&names);
        zframe_destroy(&f);
    } else if (streq(cmd, "FORGET")) {
        op = calloc(1, sizeof *op);
        op->kind = HG_STORE_OP_FORGET;
        char *name = zmsg_popstr(msg), *cutoff = zmsg_popstr(msg);
        snprintf(op->node, sizeof op->node, "%s", name ? name : "");
        op->cutoff_ms = cutoff ? strtoll(cutoff, NULL, 10) : 0;
        zstr_free(&name);
        zstr_free(&cutoff);
    } else if (streq(cmd, "UNASSIGN")) {
        op = calloc(1, sizeof *op);
        op->kind = HG_STORE_OP_UNASSIGN;
        char *job = zmsg_popstr(msg);
        op->job_id = job ? strtoull(job, NULL, 10) : 0;
        zstr_free(&job);
    }
    if (op) zlist_append(self->ops, op);
    zstr_free(&cmd);
    zmsg_destroy(&msg);
    return rc;
}

static int s_on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    hg_store_state_t *self = arg;
    if (s_handle_command(self) < 0) return -1;
    if (s_stopping(self)) {
        /* Nothing is written any more: take every command at once, so
         * that DRAIN and $TERM are reached now, not after the backlog. */
        while (zsock_events(pipe) & ZMQ_POLLIN)
            if (s_handle_command(self) < 0) return -1;
        return 0;
    }
    /* Take whatever else is already waiting, so that a busy cluster gets
     * large batches and a quiet one gets its single record written now. */
    while (self->queued_records < HG_STORE_MAX_BATCH && (zsock_events(pipe) & ZMQ_POLLIN))
        if (s_handle_command(self) < 0) return -1;
    s_flush_paced(self);
    s_spill_overflow(self);
    s_metrics(self);
    return 0;
}

static void s_actor(zsock_t *pipe, void *args)
{
    hg_store_state_t self = {0};
    self.opts = args;
    self.params = self.opts->db;
    self.pipe = pipe;
    self.ops = zlist_new();
    self.loop = zloop_new();
    zloop_set_nonstop(self.loop, true); /* stop on $TERM only, after the cluster */
    self.retry_timer = -1;
    self.replay_timer = -1;
    self.gather_timer = -1;
    zloop_reader(self.loop, pipe, s_on_pipe, &self);
    zloop_timer(self.loop, 10000, 0, s_on_report, &self);
    s_spill_recover(&self);
    if (self.spill_pending) /* replay as soon as the loop runs */
        self.retry_timer = zloop_timer(self.loop, 1, 1, s_on_retry, &self);
    zsock_signal(pipe, 0);
    hg_actor_loop_run(self.loop);
    if (self.queued_records > 0)
        hg_warn("store: stopping with %zu run records not yet written (workers still hold them)",
                self.queued_records);
    if (self.spill_pending)
        hg_warn("store: stopping with spill file %s not fully replayed; the next start replays it",
                self.opts->spill_path);
    hg_spill_close(&self.spill);
    hg_store_op_t *op;
    while ((op = zlist_pop(self.ops)))
        s_op_destroy(&op);
    zlist_destroy(&self.ops);
    zloop_destroy(&self.loop);
    hg_store__disconnect(&self);
    free(self.binds);
    free(self.rows);
    free(self.side_binds);
    free(self.side_lens);
}

zactor_t *hg_store_new(const hg_store_opts_t *opts)
{
    return zactor_new(s_actor, (void *) opts);
}
