// hg-test-sources: master/store.c master/store_sql.c master/spill.c master/db.c
// hg-test-sources: tests/unit/db_fixture.c
// hg-test-sources: master/metrics.c
// hg-test-sources: master/routing.c
/* test_store: the store actor writing run records into the private
 * MariaDB, in its own database (hourglass_test_store, recreated on every
 * run). These tests check that every record of batches large enough to be
 * cut into several statements lands whole, that a run's RUN_STARTED and
 * RUN_FINISHED end as the finished row in either order, and that each
 * batch comes back as DONE exactly once, and that one bad record is
 * stored as a failed run saying why while the rest of its statement is
 * stored and acknowledged, and that store.commit_gap gathers records
 * between rounds of writes. An unreachable database fails the test, it
 * does not skip. */
#include "db_fixture.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_proto.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "routing.h"
#include "store.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TEST_DB "hourglass_test_store"

static struct {
    hg_db_params_t db; /* the test database */
    MYSQL *conn;       /* the test's own connection */
    hg_store_opts_t opts;
} s_fx;

static int s_setup(void **state)
{
    (void) state;
    hg_log_init("test_store", getenv("HG_TEST_VERBOSE") ? HG_LOG_DEBUG : HG_LOG_ERROR);
    s_fx.conn = hg_test_db_open("test_store", S_TEST_DB, &s_fx.db);
    if (!s_fx.conn) return -1;
    s_fx.opts.db = &s_fx.db;
    s_fx.opts.buffer_max = 100000;
    s_fx.opts.buffer_max_bytes = 64u << 20;
    return 0;
}

static int s_teardown(void **state)
{
    (void) state;
    hg_db_close(&s_fx.conn);
    return 0;
}

/* One integer from a query on the test connection. */
static long long s_count(const char *sql)
{
    assert_int_equal(mysql_query(s_fx.conn, sql), 0);
    MYSQL_RES *res = mysql_store_result(s_fx.conn);
    assert_non_null(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    assert_non_null(row);
    long long v = row[0] ? atoll(row[0]) : -1;
    mysql_free_result(res);
    return v;
}

/* A batch of n records of runs ids[first..first+n), as RUN_STARTED
 * (running) or RUN_FINISHED (success with output). */
static hg_store_batch_t *s_batch(uint8_t (*ids)[HG_PROTO_RUN_ID_SIZE], size_t first, size_t n,
                                 bool finished)
{
    hg_store_batch_t *batch = calloc(1, sizeof *batch);
    hg_msg_t *msg = calloc(1, sizeof *msg);
    hg_run_t *runs = calloc(n, sizeof *runs);
    assert_true(batch && msg && runs);
    int64_t now = hg_now_ms();
    for (size_t i = 0; i < n; i++) {
        hg_run_t *r = &runs[i];
        memcpy(r->run_id, ids[first + i], HG_PROTO_RUN_ID_SIZE);
        r->job_id = 1 + (first + i) % 50;
        r->epoch = 1;
        char name[32];
        snprintf(name, sizeof name, "job-%llu", (unsigned long long) r->job_id);
        r->job_name = strdup(name);
        r->scheduled_ms = now - 5;
        r->started_ms = now - 4;
        r->attempt = 1;
        r->reason = strdup("schedule");
        if (finished) {
            r->status = HG_RUN_SUCCESS;
            r->finished_ms = now;
            r->http_status = 200;
            r->output.data = (uint8_t *) strdup("ok");
            r->output.len = 2;
        } else {
            r->status = HG_RUN_RUNNING;
        }
    }
    msg->type = finished ? HG_MSG_RUN_FINISHED : HG_MSG_RUN_STARTED;
    msg->u.runs.runs = runs;
    msg->u.runs.runs_n = n;
    snprintf(batch->node, sizeof batch->node, "worker-1");
    batch->msg = msg;
    return batch;
}

/* Wait for `want` batches to come back DONE; returns the records in them. */
static size_t s_wait_done(zactor_t *store, size_t want)
{
    zpoller_t *poller = zpoller_new(zactor_sock(store), NULL);
    size_t records = 0, got = 0;
    while (got < want) {
        void *which = zpoller_wait(poller, 30000);
        assert_non_null(which); /* generous: a hang, not a speed limit */
        char *cmd = NULL;
        void *ptr = NULL;
        assert_int_equal(zsock_recv(zactor_sock(store), "sp", &cmd, &ptr), 0);
        if (cmd && streq(cmd, "DONE")) {
            hg_store_batch_t *batch = ptr;
            records += batch->msg->u.runs.runs_n;
            hg_store_batch_destroy(&batch);
            got++;
        }
        zstr_free(&cmd);
    }
    zpoller_destroy(&poller);
    return records;
}

/* n new run ids, with an empty runs table for them. */
static uint8_t (*s_fresh_runs(size_t n))[HG_PROTO_RUN_ID_SIZE]
{
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = calloc(n, sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++)
        hg_runid_new(ids[i], hg_now_ms());
    assert_int_equal(mysql_query(s_fx.conn, "DELETE FROM runs"), 0);
    return ids;
}

/* Thousands of runs, started and finished, sent back to back so that the
 * store gathers them into batches of several statements: every run ends
 * as one finished row with its output, none left running. */
static void test_large_batches(void **state)
{
    (void) state;
    enum { RUNS = 3000, PER = 500 };
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_fresh_runs(RUNS);

    zactor_t *store = hg_store_new(&s_fx.opts);
    assert_non_null(store);
    size_t sent = 0;
    for (size_t at = 0; at < RUNS; at += PER) {
        zsock_send(store, "sp", "RUNS", s_batch(ids, at, PER, false));
        zsock_send(store, "sp", "RUNS", s_batch(ids, at, PER, true));
        sent += 2;
    }
    assert_int_equal(s_wait_done(store, sent), 2 * RUNS);

    assert_int_equal(s_count("SELECT COUNT(*) FROM runs"), RUNS);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'success' AND"
                             " finished_at IS NOT NULL AND started_at IS NOT NULL AND"
                             " http_status = 200 AND output = 'ok' AND node = 'worker-1'"),
                     RUNS);
    /* Started runs were indexed by status, their ends took them out. */
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs_by_status"), 0);
    zactor_destroy(&store);
    free(ids);
}

/* Wait for one DONE batch; returns its records. */
static size_t s_wait_one(zactor_t *store)
{
    return s_wait_done(store, 1);
}

/* store.commit_gap: a store that wrote a moment ago gathers what arrives
 * until the gap has passed, and writes it then in one round; a quiet
 * store writes at once, and so does a full batch. The bounds checked are
 * lower bounds (never acknowledged before the gap) and one generous upper
 * bound (a full batch does not wait for it), not speeds. */
static void test_commit_gap(void **state)
{
    (void) state;
    enum { GAP = 3000, FULL = HG_STORE_MAX_BATCH };
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_fresh_runs(4 + FULL);
    hg_store_opts_t opts = s_fx.opts;
    opts.commit_gap_ms = GAP;
    zactor_t *store = hg_store_new(&opts);
    assert_non_null(store);

    int64_t t0 = hg_mono_ms();
    zsock_send(store, "sp", "RUNS", s_batch(ids, 0, 1, true));
    assert_int_equal(s_wait_one(store), 1);
    int64_t first = hg_mono_ms() - t0;
    assert_true(first < GAP); /* quiet: written at once */
    for (size_t i = 1; i < 4; i++)
        zsock_send(store, "sp", "RUNS", s_batch(ids, i, 1, true));
    assert_int_equal(s_wait_done(store, 3), 3);
    int64_t gathered = hg_mono_ms() - t0;
    assert_true(gathered >= GAP); /* its write began after t0 */
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'success'"), 4);

    int64_t t1 = hg_mono_ms();
    zsock_send(store, "sp", "RUNS", s_batch(ids, 4, FULL, true));
    assert_int_equal(s_wait_one(store), FULL);
    int64_t full = hg_mono_ms() - t1;
    assert_true(full < GAP - 500); /* a full batch does not wait */
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'success'"), 4 + FULL);
    zactor_destroy(&store);
    free(ids);
}

/* Send one ASSIGN message: names (each ended by a NUL, len bytes in all)
 * and n (name index, job id, epoch) triples. */
static void s_send_assigns(zactor_t *store, const char *names, size_t len, const uint64_t *rows,
                           size_t n)
{
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "ASSIGN");
    zmsg_addmem(m, names, len);
    zmsg_addmem(m, rows, n * 3 * sizeof(uint64_t));
    assert_int_equal(zmsg_send(&m, store), 0);
}

/* Poll until sql counts want (the store does not answer assignments). */
static void s_wait_count(const char *sql, long long want)
{
    long long got = -1;
    for (int i = 0; i < 200 && got != want; i++) {
        if (i) zclock_sleep(50);
        got = s_count(sql);
    }
    assert_int_equal(got, want);
}

/* One batch of assignments names several nodes (placement alternates
 * between them): every row lands with its own node, across statements of
 * 1,000 rows; a job assigned twice in the batch ends with the later
 * assignment; a batch with a row naming a node it does not list records
 * nothing and the store goes on. */
static void test_assign_batches(void **state)
{
    (void) state;
    enum { JOBS = 2500 };
    assert_int_equal(mysql_query(s_fx.conn, "DELETE FROM assignments"), 0);
    zactor_t *store = hg_store_new(&s_fx.opts);
    assert_non_null(store);
    static const char names[] = "worker-1\0worker-2\0worker-3"; /* and the final NUL */
    uint64_t *rows = calloc(3 * (JOBS + 1), sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < JOBS; i++) {
        rows[3 * i] = i % 3;
        rows[3 * i + 1] = 1000 + i;
        rows[3 * i + 2] = 1;
    }
    /* Job 1000 moved from worker-1 to worker-3 within the batch. */
    rows[3 * JOBS] = 2;
    rows[3 * JOBS + 1] = 1000;
    rows[3 * JOBS + 2] = 2;
    uint64_t bad[] = {0, 9000, 1, 3, 9001, 1}; /* index 3: no such name */
    s_send_assigns(store, names, sizeof names, bad, 2);
    s_send_assigns(store, names, sizeof names, rows, JOBS + 1);
    s_wait_count("SELECT COUNT(*) FROM assignments", JOBS);
    s_wait_count("SELECT COUNT(*) FROM assignments WHERE node = 'worker-2'"
                 " AND job_id % 3 = 2 AND epoch = 1",
                 JOBS / 3);
    s_wait_count("SELECT COUNT(*) FROM assignments WHERE node = 'worker-1' AND job_id % 3 = 1",
                 (JOBS + 2) / 3 - 1);
    s_wait_count("SELECT COUNT(*) FROM assignments WHERE job_id = 1000 AND node = 'worker-3'"
                 " AND epoch = 2",
                 1);
    assert_int_equal(s_count("SELECT COUNT(*) FROM assignments WHERE job_id >= 9000"), 0);
    zactor_destroy(&store);
    free(rows);
}

/* Send one batch and wait for it to come back. */
static void s_write(zactor_t *store, hg_store_batch_t *batch)
{
    size_t n = batch->msg->u.runs.runs_n;
    zsock_send(store, "sp", "RUNS", batch);
    assert_int_equal(s_wait_done(store, 1), n);
}

/* runs_by_status holds exactly the runs whose status is not success:
 * they enter running, failed or lost; an end replaces running; a lost run
 * the worker reports later as success leaves; a late running record
 * changes nothing. */
static void test_runs_by_status(void **state)
{
    (void) state;
    enum { RUNS = 300 };
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_fresh_runs(RUNS);
    assert_int_equal(mysql_query(s_fx.conn, "DELETE FROM runs_by_status"), 0);
    zactor_t *store = hg_store_new(&s_fx.opts);
    assert_non_null(store);
    s_write(store, s_batch(ids, 0, RUNS, false)); /* all running */
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs_by_status WHERE status = 'running'"), RUNS);

    hg_store_batch_t *batch = s_batch(ids, 0, RUNS, true);
    hg_run_t *runs = batch->msg->u.runs.runs;
    for (size_t i = 0; i < RUNS; i++)
        runs[i].status = i < 100 ? HG_RUN_FAILED : i < 150 ? HG_RUN_LOST : HG_RUN_SUCCESS;
    s_write(store, batch);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs_by_status"), 150);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs_by_status s JOIN runs r USING (run_id)"
                             " WHERE s.status = 'failed' AND r.status = 'failed'"),
                     100);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs_by_status s JOIN runs r USING (run_id)"
                             " WHERE s.status = 'lost' AND r.status = 'lost'"),
                     50);

    /* The lost runs end in success after all; a late start of the failed ones. */
    s_write(store, s_batch(ids, 100, 50, true));
    s_write(store, s_batch(ids, 0, 100, false));
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs_by_status"), 100);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs_by_status WHERE status = 'failed'"), 100);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'failed'"), 100);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'success'"), 200);
    zactor_destroy(&store);
    free(ids);
}

/* A late RUN_STARTED, after its RUN_FINISHED and in a later batch, does
 * not turn a finished run back into running. */
static void test_late_started_keeps_finished(void **state)
{
    (void) state;
    enum { RUNS = 600 };
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_fresh_runs(RUNS);
    zactor_t *store = hg_store_new(&s_fx.opts);
    assert_non_null(store);
    zsock_send(store, "sp", "RUNS", s_batch(ids, 0, RUNS, true));
    assert_int_equal(s_wait_done(store, 1), RUNS);
    zsock_send(store, "sp", "RUNS", s_batch(ids, 0, RUNS, false));
    assert_int_equal(s_wait_done(store, 1), RUNS);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'success'"), RUNS);
    zactor_destroy(&store);
    free(ids);
}

/* Runs of a sharded job's slots (routing.h) land under the job's own id
 * with their shard; a broadcast slot's and a plain job's have no shard. */
static void test_slot_runs(void **state)
{
    (void) state;
    enum { RUNS = 6 };
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_fresh_runs(RUNS);
    zactor_t *store = hg_store_new(&s_fx.opts);
    assert_non_null(store);
    hg_store_batch_t *batch = s_batch(ids, 0, RUNS, true);
    for (uint32_t i = 0; i < 4; i++)
        batch->msg->u.runs.runs[i].job_id = hg_route_vid(7, i, 4);
    batch->msg->u.runs.runs[4].job_id = hg_route_vid(7, 1234, 0);
    batch->msg->u.runs.runs[5].job_id = 7;
    zsock_send(store, "sp", "RUNS", batch);
    assert_int_equal(s_wait_done(store, 1), RUNS);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE job_id = 7"), RUNS);
    assert_int_equal(s_count("SELECT COUNT(DISTINCT shard_index) FROM runs WHERE job_id = 7 AND"
                             " shard_total = 4 AND shard_index BETWEEN 0 AND 3"),
                     4);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE shard_index IS NULL AND"
                             " shard_total IS NULL"),
                     2);
    zactor_destroy(&store);
    free(ids);
}

/* A record that reuses the run id of another job's run (run ids are
 * visible in the API and in the Hourglass-Run-Id header) leaves that run
 * as it was: a worker may speak only of its own jobs' runs. The same
 * worker's resend of its own record still lands. */
static void test_foreign_run_id_changes_nothing(void **state)
{
    (void) state;
    enum { RUNS = 4 };
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_fresh_runs(RUNS);
    zactor_t *store = hg_store_new(&s_fx.opts);
    assert_non_null(store);
    zsock_send(store, "sp", "RUNS", s_batch(ids, 0, RUNS, true));
    assert_int_equal(s_wait_done(store, 1), RUNS);
    /* worker-2 sends a failure for the same ids, as another job. */
    hg_store_batch_t *forged = s_batch(ids, 0, RUNS, true);
    snprintf(forged->node, sizeof forged->node, "worker-2");
    for (size_t i = 0; i < RUNS; i++) {
        hg_run_t *r = &forged->msg->u.runs.runs[i];
        r->job_id += 100;
        r->status = HG_RUN_FAILED;
        r->http_status = 500;
    }
    zsock_send(store, "sp", "RUNS", forged);
    assert_int_equal(s_wait_done(store, 1), RUNS);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'success' AND "
                             "http_status = 200 AND node = 'worker-1' AND job_id <= 50"),
                     RUNS);
    /* worker-1 itself may still change its own run. */
    hg_store_batch_t *own = s_batch(ids, 0, 1, true);
    own->msg->u.runs.runs[0].status = HG_RUN_FAILED;
    zsock_send(store, "sp", "RUNS", own);
    assert_int_equal(s_wait_done(store, 1), 1);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'failed'"), 1);
    zactor_destroy(&store);
    free(ids);
}

/* One string from a query on the test connection (caller frees). */
static char *s_string(const char *sql)
{
    assert_int_equal(mysql_query(s_fx.conn, sql), 0);
    MYSQL_RES *res = mysql_store_result(s_fx.conn);
    assert_non_null(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    assert_non_null(row);
    char *v = strdup(row[0] ? row[0] : "(null)");
    mysql_free_result(res);
    return v;
}

/* A string of n copies of c (caller frees). */
static char *s_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Wait for DONE batches until `want` records came back; fails on a hang. */
static void s_wait_records(zactor_t *store, size_t want)
{
    size_t got = 0;
    while (got < want)
        got += s_wait_done(store, 1);
    assert_int_equal(got, want);
}

/* A batch from worker-1 with one record whose job name is longer than
 * its column, and one from worker-2: every record is stored and comes
 * back DONE (so each worker gets its ACK), the bad one as a failed run
 * whose error names the field and the limit. An over-long error text is
 * only cut, with a note; bytes that are not UTF-8 become '?'. */
static void test_bad_record_isolated(void **state)
{
    (void) state;
    enum { PER = 10 };
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_fresh_runs(2 * PER);
    assert_int_equal(mysql_query(s_fx.conn, "DELETE FROM runs_by_status"), 0);
    hg_store_batch_t *a = s_batch(ids, 0, PER, true);
    hg_store_batch_t *b = s_batch(ids, PER, PER, true);
    snprintf(b->node, sizeof b->node, "worker-2");
    hg_run_t *ra = a->msg->u.runs.runs;
    free(ra[3].job_name);
    ra[3].job_name = s_repeat('n', 300);
    ra[5].status = HG_RUN_FAILED;
    ra[5].error = s_repeat('e', 100000);
    ra[6].status = HG_RUN_FAILED;
    ra[6].error = strdup("bad \xff\xfe bytes");

    zactor_t *store = hg_store_new(&s_fx.opts);
    assert_non_null(store);
    zsock_send(store, "sp", "RUNS", a);
    zsock_send(store, "sp", "RUNS", b);
    s_wait_records(store, 2 * PER);

    assert_int_equal(s_count("SELECT COUNT(*) FROM runs"), 2 * PER);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'success'"), 2 * PER - 3);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE node = 'worker-2' AND"
                             " status = 'success'"),
                     PER);
    char *err = s_string("SELECT error FROM runs WHERE CHAR_LENGTH(job_name) = 190");
    assert_string_equal(err, "run record refused by the master's store: job_name is 300 "
                             "characters long, the column holds 190");
    free(err);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'failed' AND"
                             " error LIKE 'eeee%[cut by the store: % more bytes]' AND"
                             " LENGTH(error) <= 65535 AND LENGTH(error) > 60000"),
                     1);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE error = 'bad ?? bytes'"), 1);
    assert_int_equal(s_count("SELECT COUNT(*) FROM runs_by_status WHERE status = 'failed'"), 3);
    zactor_destroy(&store);
    free(ids);
}

/* When the server refuses a multi-row statement for a reason the checks
 * did not foresee (here a column narrower than the schema's), the store
 * writes that batch row by row: the other records, of both workers, are
 * stored and come back DONE; the refused one is a failed run carrying the
 * server's reason. */
static void test_refused_statement_row_by_row(void **state)
{
    (void) state;
    enum { PER = 40 };
    uint8_t(*ids)[HG_PROTO_RUN_ID_SIZE] = s_fresh_runs(2 * PER);
    assert_int_equal(mysql_query(s_fx.conn, "DELETE FROM runs_by_status"), 0);
    assert_int_equal(mysql_query(s_fx.conn, "SET SESSION sql_mode = 'STRICT_ALL_TABLES'"), 0);
    assert_int_equal(
        mysql_query(s_fx.conn, "ALTER TABLE runs MODIFY job_name VARCHAR(20) NOT NULL"), 0);
    hg_store_batch_t *a = s_batch(ids, 0, PER, true);
    hg_store_batch_t *b = s_batch(ids, PER, PER, true);
    snprintf(b->node, sizeof b->node, "worker-2");
    free(a->msg->u.runs.runs[7].job_name);
    a->msg->u.runs.runs[7].job_name = s_repeat('j', 30); /* fits 190, not 20 */

    zactor_t *store = hg_store_new(&s_fx.opts);
    assert_non_null(store);
    zsock_send(store, "sp", "RUNS", a);
    zsock_send(store, "sp", "RUNS", b);
    s_wait_records(store, 2 * PER);
    zactor_destroy(&store);

    assert_int_equal(s_count("SELECT COUNT(*) FROM runs WHERE status = 'success'"), 2 * PER - 1);
    char *err = s_string("SELECT error FROM runs WHERE status = 'failed'");
    assert_non_null(strstr(err, "run record refused by the master's store: MySQL refused it"));
    assert_non_null(strstr(err, "job_name"));
    free(err);
    assert_int_equal(
        mysql_query(s_fx.conn, "ALTER TABLE runs MODIFY job_name VARCHAR(190) NOT NULL"), 0);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_batches),
        cmocka_unit_test(test_commit_gap),
        cmocka_unit_test(test_assign_batches),
        cmocka_unit_test(test_late_started_keeps_finished),
        cmocka_unit_test(test_slot_runs),
        cmocka_unit_test(test_foreign_run_id_changes_nothing),
        cmocka_unit_test(test_runs_by_status),
        cmocka_unit_test(test_bad_record_isolated),
        cmocka_unit_test(test_refused_statement_row_by_row),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
