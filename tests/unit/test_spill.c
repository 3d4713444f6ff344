// hg-test-sources: master/spill.c
/* Unit tests for the spill file the master writes while MySQL is down:
 * what is appended is read back intact and in order, a torn last frame is
 * reported (not replayed as garbage), a damaged frame is skipped and the
 * frames after it still come back, and a file that is not a spill file is
 * refused with a clear message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hg_error.h"
#include "hg_proto.h"
#include "spill.h"

static char s_path[128];

static int setup(void **state)
{
    snprintf(s_path, sizeof s_path, "/tmp/hg-test-spill-%d.spill", (int) getpid());
    unlink(s_path);
    return 0;
}

static int teardown(void **state)
{
    unlink(s_path);
    return 0;
}

/* A batch of n records for job job_id; record i has scheduled time
 * 1000 * i and an output excerpt of i bytes (NULs included). */
static hg_msg_t *s_batch(int type, uint64_t job_id, size_t n)
{
    hg_msg_t *m = calloc(1, sizeof *m);
    m->type = type;
    m->u.runs.runs = calloc(n, sizeof(hg_run_t));
    m->u.runs.runs_n = n;
    for (size_t i = 0; i < n; i++) {
        hg_run_t *r = &m->u.runs.runs[i];
        memset(r->run_id, (int) (job_id * 16 + i), sizeof r->run_id);
        r->job_id = job_id;
        r->epoch = 3;
        r->job_name = strdup("nightly-report");
        r->scheduled_ms = 1700000000000 + 1000 * (int64_t) i;
        r->started_ms = r->scheduled_ms + 5;
        r->attempt = 1;
        r->reason = strdup("schedule");
        r->status = type == HG_MSG_RUN_STARTED ? HG_RUN_RUNNING : HG_RUN_SUCCESS;
        if (type == HG_MSG_RUN_FINISHED) {
            r->finished_ms = r->started_ms + 20;
            r->http_status = 200;
            r->output.len = i;
            r->output.data = i ? calloc(1, i) : NULL;
        }
    }
    return m;
}

static void s_append(hg_spill_t *sp, const char *node, int type, uint64_t job_id, size_t n)
{
    hg_msg_t *m = s_batch(type, job_id, n);
    char err[256] = "";
    assert_int_equal(hg_spill_append(sp, node, m, err, sizeof err), 0);
    hg_msg_destroy(&m);
}

/* Write three frames (job ids 1, 2, 3) and return their start offsets. */
static void s_write_three(uint64_t offsets[3])
{
    char err[256] = "";
    hg_spill_t *sp = hg_spill_open(s_path, err, sizeof err);
    assert_non_null(sp);
    for (int i = 0; i < 3; i++) {
        offsets[i] = hg_spill_size(sp);
        s_append(sp, i == 1 ? "worker-2" : "worker-1",
                 i == 0 ? HG_MSG_RUN_STARTED : HG_MSG_RUN_FINISHED, (uint64_t) i + 1,
                 (size_t) i + 2);
    }
    assert_int_equal(hg_spill_sync(sp, err, sizeof err), 0);
    hg_spill_close(&sp);
    assert_null(sp);
    hg_spill_close(&sp); /* idempotent */
}

/* Read every frame; returns the job ids in order (up to 8) and the count. */
static size_t s_read_all(uint64_t offset, uint64_t jobs[8], hg_spill_stats_t *stats)
{
    char err[256] = "";
    hg_spill_reader_t *r = hg_spill_reader_open(s_path, offset, err, sizeof err);
    assert_non_null(r);
    size_t n = 0;
    char node[192];
    hg_msg_t *m = NULL;
    int rc;
    while ((rc = hg_spill_next(r, node, sizeof node, &m, err, sizeof err)) == 1) {
        if (n < 8) jobs[n] = m->u.runs.runs[0].job_id;
        n++;
        hg_msg_destroy(&m);
    }
    assert_int_equal(rc, 0);
    *stats = *hg_spill_reader_stats(r);
    hg_spill_reader_close(&r);
    assert_null(r);
    return n;
}

static void s_flip_byte(uint64_t at)
{
    FILE *f = fopen(s_path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long) at, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, (long) at, SEEK_SET), 0);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static void test_append_and_replay(void **state)
{
    uint64_t offsets[3];
    s_write_three(offsets);
    assert_int_equal(offsets[0], HG_SPILL_HEADER_SIZE);

    char err[256] = "";
    hg_spill_reader_t *r = hg_spill_reader_open(s_path, 0, err, sizeof err);
    assert_non_null(r);
    char node[192];
    hg_msg_t *m = NULL;
    assert_int_equal(hg_spill_next(r, node, sizeof node, &m, err, sizeof err), 1);
    assert_string_equal(node, "worker-1");
    assert_int_equal(m->type, HG_MSG_RUN_STARTED);
    assert_int_equal(m->u.runs.runs_n, 2);
    assert_int_equal(m->u.runs.runs[1].scheduled_ms, 1700000000000 + 1000);
    assert_string_equal(m->u.runs.runs[0].job_name, "nightly-report");
    hg_msg_destroy(&m);
    assert_int_equal(hg_spill_reader_offset(r), offsets[1]);

    assert_int_equal(hg_spill_next(r, node, sizeof node, &m, err, sizeof err), 1);
    assert_string_equal(node, "worker-2");
    assert_int_equal(m->type, HG_MSG_RUN_FINISHED);
    assert_int_equal(m->u.runs.runs_n, 3);
    assert_int_equal(m->u.runs.runs[2].output.len, 2);
    assert_int_equal(m->u.runs.runs[2].http_status, 200);
    assert_int_equal(m->u.runs.runs[2].status, HG_RUN_SUCCESS);
    hg_msg_destroy(&m);

    assert_int_equal(hg_spill_next(r, node, sizeof node, &m, err, sizeof err), 1);
    assert_int_equal(m->u.runs.runs[0].job_id, 3);
    hg_msg_destroy(&m);
    assert_int_equal(hg_spill_next(r, node, sizeof node, &m, err, sizeof err), 0);
    assert_null(m);
    const hg_spill_stats_t *st = hg_spill_reader_stats(r);
    assert_int_equal(st->frames, 3);
    assert_int_equal(st->records, 2 + 3 + 4);
    assert_int_equal(st->bad_frames, 0);
    assert_false(st->torn_tail);
    hg_spill_reader_close(&r);
}

static void test_reopen_appends_and_resumes(void **state)
{
    uint64_t offsets[3], jobs[8];
    s_write_three(offsets);
    struct stat sb;
    assert_int_equal(stat(s_path, &sb), 0);

    /* Reopening appends after what is there; the header is not rewritten. */
    char err[256] = "";
    hg_spill_t *sp = hg_spill_open(s_path, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(hg_spill_size(sp), (uint64_t) sb.st_size);
    s_append(sp, "worker-3", HG_MSG_RUN_FINISHED, 4, 1);
    assert_int_equal(hg_spill_sync(sp, err, sizeof err), 0);
    hg_spill_close(&sp);

    hg_spill_stats_t st;
    assert_int_equal(s_read_all(0, jobs, &st), 4);
    assert_int_equal(jobs[3], 4);
    /* A replay that stopped after two frames resumes at the third. */
    assert_int_equal(s_read_all(offsets[2], jobs, &st), 2);
    assert_int_equal(jobs[0], 3);
    assert_int_equal(jobs[1], 4);
}

static void test_torn_tail_is_reported_not_replayed(void **state)
{
    uint64_t offsets[3], jobs[8];
    s_write_three(offsets);
    struct stat sb;
    assert_int_equal(stat(s_path, &sb), 0);
    /* A crash in the middle of the third frame's payload. */
    assert_int_equal(truncate(s_path, sb.st_size - 7), 0);
    hg_spill_stats_t st;
    assert_int_equal(s_read_all(0, jobs, &st), 2);
    assert_int_equal(jobs[0], 1);
    assert_int_equal(jobs[1], 2);
    assert_true(st.torn_tail);
    assert_int_equal(st.torn_offset, offsets[2]);
    assert_int_equal(st.torn_bytes, (uint64_t) sb.st_size - 7 - offsets[2]);
    assert_int_equal(st.bad_frames, 0);

    /* ... and in the middle of its header. */
    assert_int_equal(truncate(s_path, (off_t) offsets[2] + 10), 0);
    assert_int_equal(s_read_all(0, jobs, &st), 2);
    assert_true(st.torn_tail);
    assert_int_equal(st.torn_offset, offsets[2]);
    assert_int_equal(st.torn_bytes, 10);

    /* Cut at the torn frame (what the master does at start-up), appends
     * continue on a frame boundary. */
    assert_int_equal(truncate(s_path, (off_t) offsets[2]), 0);
    char err[256] = "";
    hg_spill_t *sp = hg_spill_open(s_path, err, sizeof err);
    assert_non_null(sp);
    s_append(sp, "worker-1", HG_MSG_RUN_FINISHED, 9, 1);
    hg_spill_close(&sp);
    assert_int_equal(s_read_all(0, jobs, &st), 3);
    assert_int_equal(jobs[2], 9);
    assert_false(st.torn_tail);
}

static void test_checksum_error_skips_only_that_frame(void **state)
{
    uint64_t offsets[3], jobs[8];
    s_write_three(offsets);
    /* A flipped bit inside the second frame's payload. */
    s_flip_byte(offsets[1] + HG_SPILL_FRAME_HEAD + 12);
    hg_spill_stats_t st;
    assert_int_equal(s_read_all(0, jobs, &st), 2);
    assert_int_equal(jobs[0], 1);
    assert_int_equal(jobs[1], 3);
    assert_int_equal(st.bad_frames, 1);
    assert_int_equal(st.skipped_bytes, offsets[2] - offsets[1]);
    assert_false(st.torn_tail);
    assert_int_equal(st.records, 2 + 4);
}

static void test_damaged_length_resynchronises(void **state)
{
    uint64_t offsets[3], jobs[8];
    s_write_three(offsets);
    /* The length field of the first frame: it now points anywhere. */
    s_flip_byte(offsets[0] + 6);
    hg_spill_stats_t st;
    assert_int_equal(s_read_all(0, jobs, &st), 2);
    assert_int_equal(jobs[0], 2);
    assert_int_equal(jobs[1], 3);
    assert_int_equal(st.bad_frames, 1);
    assert_false(st.torn_tail);

    /* Damage in the last frame: nothing valid follows, and it is complete,
     * so it is a bad frame, not a torn one. */
    s_flip_byte(offsets[0] + 6); /* repair */
    s_flip_byte(offsets[2] + HG_SPILL_FRAME_HEAD + 3);
    assert_int_equal(s_read_all(0, jobs, &st), 2);
    assert_int_equal(jobs[1], 2);
    assert_int_equal(st.bad_frames, 1);
    assert_false(st.torn_tail);
}

static void test_foreign_file_refused(void **state)
{
    FILE *f = fopen(s_path, "w");
    fputs("this is not a spill file\n", f);
    fclose(f);
    char err[256] = "";
    assert_null(hg_spill_reader_open(s_path, 0, err, sizeof err));
    assert_non_null(strstr(err, "not a Hourglass spill file"));
    err[0] = '\0';
    assert_null(hg_spill_open(s_path, err, sizeof err));
    assert_non_null(strstr(err, "not a Hourglass spill file"));

    /* A file whose creation a crash interrupted (part of the header) is
     * started again. */
    f = fopen(s_path, "w");
    fputs("HGSP", f);
    fclose(f);
    hg_spill_t *sp = hg_spill_open(s_path, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(hg_spill_size(sp), HG_SPILL_HEADER_SIZE);
    hg_spill_close(&sp);

    assert_null(hg_spill_reader_open("/nonexistent/dir/x.spill", 0, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
}

static void test_only_run_batches_are_spilled(void **state)
{
    char err[256] = "";
    hg_spill_t *sp = hg_spill_open(s_path, err, sizeof err);
    assert_non_null(sp);
    hg_msg_t hb = {.type = HG_MSG_HEARTBEAT};
    assert_int_equal(hg_spill_append(sp, "worker-1", &hb, err, sizeof err), HG_EINVAL);
    hg_msg_t *m = s_batch(HG_MSG_RUN_FINISHED, 1, 1);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(hg_spill_append(sp, long_name, m, err, sizeof err), HG_ETOOBIG);
    hg_msg_destroy(&m);
    assert_int_equal(hg_spill_size(sp), HG_SPILL_HEADER_SIZE);
    hg_spill_close(&sp);
    uint64_t jobs[8];
    hg_spill_stats_t st;
    assert_int_equal(s_read_all(0, jobs, &st), 0);
    assert_false(st.torn_tail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_appends_and_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_reported_not_replayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checksum_error_skips_only_that_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_length_resynchronises, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_run_batches_are_spilled, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
