/* Unit tests for worker/run_records.c: which RUN_STARTED and RUN_FINISHED
 * records reach the master and when (at once, after the start delay, in
 * batches, urgently), that a finished record stays until acknowledged and
 * goes again with a new session, and that max.unacked bounds the records
 * kept, dropping the oldest. And for worker/timer_heap.c: jobs come out in
 * order of their next fire, and a reschedule or a removal keeps it. */
// hg-test-sources: worker/run_records.c worker/timer_heap.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hg_runid.h"
#include "hg_sched.h"
#include "hg_time.h"
#include "run_records.h"
#include "timer_heap.h"

/* What the records module sent: one entry per run record, in order. */
typedef struct {
    int types[64];     /* message type of each record */
    uint64_t jobs[64]; /* job id of each record */
    size_t n;          /* records sent */
    size_t messages;   /* messages sent */
    size_t finished;   /* RUN_FINISHED records sent, all of them */
} s_sent_t;

static int s_send(void *arg, hg_msg_t *msg)
{
    s_sent_t *sent = arg;
    sent->messages++;
    if (msg->type == HG_MSG_RUN_FINISHED) sent->finished += msg->u.runs.runs_n;
    for (size_t i = 0; i < msg->u.runs.runs_n && sent->n < 64; i++) {
        sent->types[sent->n] = msg->type;
        sent->jobs[sent->n++] = msg->u.runs.runs[i].job_id;
    }
    return 0;
}

static hg_run_t s_run(uint64_t job, int64_t started_ms)
{
    hg_run_t r = {0};
    hg_runid_new(r.run_id, started_ms);
    r.job_id = job;
    r.scheduled_ms = r.started_ms = started_ms;
    r.job_name = strdup("j");
    return r;
}

static size_t s_count(const s_sent_t *sent, int type)
{
    size_t n = 0;
    for (size_t i = 0; i < sent->n; i++)
        n += sent->types[i] == type;
    return n;
}

/* Without a start delay a RUN_STARTED goes with the next send; with one,
 * only once it is due, and not at all when the run finished first. */
static void test_started(void **state)
{
    (void) state;
    s_sent_t sent = {0};
    hg_wrecords_t *r = hg_wrecords_new(100, 0, s_send, &sent);
    assert_non_null(r);
    hg_run_t run = s_run(1, hg_now_ms());
    hg_wrecords_started(r, &run, false);
    hg_wrecords_send(r, false);
    assert_int_equal(s_count(&sent, HG_MSG_RUN_STARTED), 1);
    hg_run_clear(&run);
    hg_wrecords_destroy(&r);
    assert_null(r);

    memset(&sent, 0, sizeof sent);
    r = hg_wrecords_new(100, 60000, s_send, &sent);
    hg_run_t slow = s_run(2, hg_now_ms()), quick = s_run(3, hg_now_ms()), now = s_run(4, 0);
    hg_wrecords_started(r, &slow, false);
    hg_wrecords_started(r, &quick, false);
    hg_wrecords_started(r, &now, true); /* a recover job: at once */
    hg_wrecords_send(r, false);
    assert_int_equal(sent.n, 1);
    assert_int_equal(sent.jobs[0], 4);
    assert_true(hg_wrecords_wait_ms(r, 100000) <= 60000);
    hg_wrecords_finished(r, &quick); /* ended before its start was due */
    hg_wrecords_set_leaving(r);      /* stopping: what is queued goes now */
    hg_wrecords_send(r, false);
    assert_int_equal(s_count(&sent, HG_MSG_RUN_STARTED), 2); /* 4, then 2 only */
    assert_int_equal(s_count(&sent, HG_MSG_RUN_FINISHED), 1);
    for (size_t i = 0; i < sent.n; i++)
        assert_true(sent.types[i] != HG_MSG_RUN_STARTED || sent.jobs[i] != 3);
    hg_run_clear(&slow);
    hg_run_clear(&now);
    hg_wrecords_destroy(&r);
}

/* Finished records travel together unless urgent, stay until acknowledged,
 * and all go again after a WELCOME. */
static void test_finished_acked(void **state)
{
    (void) state;
    s_sent_t sent = {0};
    hg_wrecords_t *r = hg_wrecords_new(100, 0, s_send, &sent);
    hg_run_t a = s_run(1, 1000), b = s_run(2, 1001);
    uint8_t a_id[HG_PROTO_RUN_ID_SIZE];
    memcpy(a_id, a.run_id, sizeof a_id);
    int64_t t0 = hg_mono_ms();
    hg_wrecords_finished(r, &a);
    assert_null(a.job_name); /* its members were taken */
    assert_true(hg_wrecords_wait_ms(r, 1000) <= 10);
    hg_wrecords_send(r, false);
    /* It waits a few ms for company (unless this machine was slower). */
    bool batched = hg_mono_ms() - t0 < 10;
    if (batched) assert_int_equal(sent.n, 0);
    hg_wrecords_finished(r, &b);
    hg_wrecords_urgent(r);
    hg_wrecords_send(r, false);
    assert_int_equal(s_count(&sent, HG_MSG_RUN_FINISHED), 2);
    assert_int_equal(sent.messages, batched ? 1 : 2);
    assert_int_equal(hg_wrecords_unacked(r), 2);

    hg_ack_t ack = {.run_ids = &a_id, .run_ids_n = 1};
    hg_wrecords_on_ack(r, &ack);
    assert_int_equal(hg_wrecords_unacked(r), 1);
    memset(&sent, 0, sizeof sent);
    hg_wrecords_resend_all(r); /* a new session */
    assert_int_equal(sent.n, 1);
    assert_int_equal(sent.jobs[0], 2);
    hg_wrecords_destroy(&r);
}

/* Past max.unacked the oldest record is dropped, not the newest. */
static void test_bounded(void **state)
{
    (void) state;
    s_sent_t sent = {0};
    hg_wrecords_t *r = hg_wrecords_new(2, 0, s_send, &sent);
    for (uint64_t j = 1; j <= 3; j++) {
        hg_run_t run = s_run(j, 1000 + (int64_t) j);
        hg_wrecords_finished(r, &run);
    }
    assert_int_equal(hg_wrecords_unacked(r), 2);
    memset(&sent, 0, sizeof sent);
    hg_wrecords_resend_all(r);
    assert_int_equal(sent.n, 2); /* 2 and 3, in either order; 1 is gone */
    assert_true(sent.jobs[0] + sent.jobs[1] == 5 && sent.jobs[0] != sent.jobs[1]);
    hg_wrecords_destroy(&r);
}

/* The heap gives the earliest job first, through reschedules and removals. */
/* At most a window (20,000) of finished records is out unacknowledged;
 * the rest wait in order and go as acknowledgements make room. After the
 * master's EBUSY, what went out before goes again once the pause (250 ms)
 * is over, not before. */
static void test_window_busy(void **state)
{
    (void) state;
    enum { WINDOW = 20000, EXTRA = 5 };
    s_sent_t sent = {0};
    hg_wrecords_t *r = hg_wrecords_new(1000000, 0, s_send, &sent);
    static uint8_t ids[WINDOW + EXTRA][HG_PROTO_RUN_ID_SIZE];
    for (int i = 0; i < WINDOW + EXTRA; i++) {
        hg_run_t run = s_run(1, 1000 + i);
        memcpy(ids[i], run.run_id, HG_PROTO_RUN_ID_SIZE);
        hg_wrecords_finished(r, &run);
    }
    hg_wrecords_flush(r);
    assert_int_equal(sent.finished, WINDOW);
    assert_int_equal(hg_wrecords_unacked(r), WINDOW + EXTRA);
    hg_ack_t ack = {.run_ids = ids, .run_ids_n = 3};
    hg_wrecords_on_ack(r, &ack); /* room for 3 more, oldest first */
    assert_int_equal(sent.finished, WINDOW + 3);
    assert_int_equal(hg_wrecords_unacked(r), WINDOW + EXTRA - 3);

    int64_t mono = hg_mono_ms();
    hg_wrecords_on_busy(r, mono);
    assert_false(hg_wrecords_busy_due(r, mono + 249));
    assert_true(hg_wrecords_busy_due(r, mono + 250));
    assert_true(hg_wrecords_wait_ms(r, 1000) <= 250);
    size_t before = sent.finished;
    hg_wrecords_resend_stale(r, mono + 250);
    assert_int_equal(sent.finished - before, WINDOW); /* the window, not the waiting two */
    assert_false(hg_wrecords_busy_due(r, mono + 251));
    /* A second EBUSY soon after doubles the pause. */
    hg_wrecords_on_busy(r, mono + 300);
    assert_false(hg_wrecords_busy_due(r, mono + 300 + 499));
    assert_true(hg_wrecords_busy_due(r, mono + 300 + 500));
    hg_wrecords_destroy(&r);
}

static void test_timer_heap(void **state)
{
    (void) state;
    hg_wheap_t *h = hg_wheap_new();
    assert_non_null(h);
    assert_null(hg_wheap_top(h));
    assert_true(hg_wheap_top_ms(h) == INT64_MAX);
    hg_wjob_t *jobs[50];
    for (int i = 0; i < 50; i++) {
        jobs[i] = calloc(1, sizeof(hg_wjob_t));
        assert_non_null(jobs[i]);
        jobs[i]->id = (uint64_t) i;
        jobs[i]->heap_index = HG_WJOB_NO_HEAP;
        jobs[i]->next_ms = (int64_t) ((i * 37) % 50) * 10; /* a shuffle of 0..490 */
        hg_wheap_update(h, jobs[i]);
    }
    assert_int_equal(hg_wheap_size(h), 50);
    jobs[7]->next_ms = -5; /* rescheduled earliest */
    hg_wheap_update(h, jobs[7]);
    jobs[3]->next_ms = HG_SCHED_NEVER; /* no further fire: out */
    hg_wheap_update(h, jobs[3]);
    hg_wheap_remove(h, jobs[11]);
    hg_wheap_remove(h, jobs[11]); /* twice is harmless */
    assert_int_equal(hg_wheap_size(h), 48);
    assert_ptr_equal(hg_wheap_top(h), jobs[7]);
    int64_t last = INT64_MIN;
    while (hg_wheap_size(h)) {
        hg_wjob_t *top = hg_wheap_top(h);
        assert_true(top->next_ms == hg_wheap_top_ms(h));
        assert_true(top->next_ms >= last);
        assert_true(top != jobs[3] && top != jobs[11]);
        last = top->next_ms;
        hg_wheap_remove(h, top);
        assert_int_equal(top->heap_index, HG_WJOB_NO_HEAP);
    }
    hg_wheap_destroy(&h);
    assert_null(h);
    for (int i = 0; i < 50; i++)
        free(jobs[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_started),    cmocka_unit_test(test_finished_acked),
        cmocka_unit_test(test_bounded),    cmocka_unit_test(test_window_busy),
        cmocka_unit_test(test_timer_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
