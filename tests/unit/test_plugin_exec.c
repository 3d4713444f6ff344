// hg-test-sources: worker/plugin_exec.c worker/task_pipe.c worker/cancel.c
// hg-test-sources: worker/plugin_runner.c
/* Tests for the plug-in executor: both isolation modes, crashes, timeouts,
 * limits, ABI checks, logs and results, parameters, the shipped noop and
 * shell plug-ins, and the per-run cost of each mode. Test plug-ins come
 * from tests/plugins (built into HG_TEST_PLUGIN_DIR); the helper is
 * HG_TEST_HOST_PATH. Every wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hg_error.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "plugin_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS 10000 /* longest wait for one result */

static int s_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    return 0;
#endif
}

static zactor_t *s_exec_new(uint32_t as_mb)
{
    hg_plugin_exec_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.plugin_dir = HG_TEST_PLUGIN_DIR;
    cfg.host_path = HG_TEST_HOST_PATH;
    cfg.helpers = 2;
    cfg.threads = 4;
    cfg.grace_ms = 300;
    cfg.as_mb = as_mb;
    cfg.nofile = 256;
    zactor_t *exec = hg_plugin_exec_new(&cfg);
    assert_non_null(exec);
    return exec;
}

static void s_kv_add(hg_kv_t **kv, size_t *n, const char *key, const char *value)
{
    *kv = realloc(*kv, (*n + 1) * sizeof(**kv));
    assert_non_null(*kv);
    (*kv)[*n].key = strdup(key);
    (*kv)[*n].value = strdup(value);
    (*n)++;
}

static hg_plugin_task_t *s_task(const char *plugin, int isolation)
{
    hg_plugin_task_t *task = hg_plugin_task_new();
    assert_non_null(task);
    hg_runid_new(task->run.run_id, hg_now_ms());
    task->run.job_name = strdup("job");
    task->run.scheduled_ms = hg_now_ms();
    task->run.attempt = 1;
    task->isolation = isolation;
    if (strchr(plugin, '/'))
        task->path = strdup(plugin);
    else
        task->plugin = strdup(plugin);
    return task;
}

/* Finished tasks received (the executor returns several per message) and
 * not yet handed to the test, oldest first. */
static hg_plugin_task_t *s_got[HG_TASK_PIPE_BATCH];
static size_t s_got_n, s_got_at;

static hg_plugin_task_t *s_wait(zactor_t *exec, int ms)
{
    if (s_got_at < s_got_n) return s_got[s_got_at++];
    zpoller_t *poller = zpoller_new(zactor_sock(exec), NULL);
    void *which = zpoller_wait(poller, ms);
    zpoller_destroy(&poller);
    if (!which) return NULL;
    s_got_n = hg_plugin_exec_recv(exec, s_got, HG_TASK_PIPE_BATCH);
    s_got_at = 0;
    if (s_got_n == 0) return NULL;
    return s_got[s_got_at++];
}

/* Submit one task and wait for it (fails the test after WAIT_MS). */
static hg_plugin_task_t *s_run(zactor_t *exec, hg_plugin_task_t *task)
{
    assert_int_equal(hg_plugin_exec_submit(exec, &task), 0);
    assert_null(task);
    hg_plugin_task_t *done = s_wait(exec, WAIT_MS);
    assert_non_null(done);
    return done;
}

static void s_expect(hg_plugin_task_t *task, int status, const char *error_part)
{
    if (task->run.status != status)
        print_error("status %d (want %d), error: %s\n", task->run.status, status,
                    task->run.error ? task->run.error : "(none)");
    assert_int_equal(task->run.status, status);
    if (error_part) {
        assert_non_null(task->run.error);
        if (!strstr(task->run.error, error_part))
            print_error("error \"%s\" lacks \"%s\"\n", task->run.error, error_part);
        assert_non_null(strstr(task->run.error, error_part));
    }
}

static int s_output_has(const hg_plugin_task_t *task, const char *text)
{
    const hg_blob_t *o = &task->run.output;
    return o->data && memmem(o->data, o->len, text, strlen(text)) != NULL;
}

static const int s_modes[] = {HG_PLUGIN_ISOLATION_PROCESS, HG_PLUGIN_ISOLATION_THREAD};

/* ------------------------------------------------------------------ tests */

static void test_noop_both_modes(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t =
            s_run(exec, s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_noop.so", s_modes[m]));
        s_expect(t, HG_RUN_SUCCESS, NULL);
        assert_int_equal(t->run.exit_code, 0);
        assert_true(t->run.finished_ms >= t->run.started_ms);
        assert_null(t->run.error);
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
    assert_null(exec);
}

static void test_lookup_by_name(void **state)
{
    zactor_t *exec = s_exec_new(0);
    /* hgtest_echo.so is found as "hgtest_echo"; "echo" would need hg_echo.so. */
    hg_plugin_task_t *t = s_run(exec, s_task("hgtest_echo", HG_PLUGIN_ISOLATION_PROCESS));
    s_expect(t, HG_RUN_SUCCESS, NULL);
    hg_plugin_task_destroy(&t);
    t = s_run(exec, s_task("nope", HG_PLUGIN_ISOLATION_PROCESS));
    s_expect(t, HG_RUN_FAILED, "plug-in nope not found");
    hg_plugin_task_destroy(&t);
    t = s_run(exec, s_task(".hidden", HG_PLUGIN_ISOLATION_THREAD));
    s_expect(t, HG_RUN_FAILED, "invalid plug-in name");
    hg_plugin_task_destroy(&t);
    hg_plugin_exec_destroy(&exec);
}

static void test_segv_crashes_helper_only(void **state)
{
    zactor_t *exec = s_exec_new(0);
    hg_plugin_task_t *t = s_run(exec, s_task("hgtest_segv", HG_PLUGIN_ISOLATION_PROCESS));
    s_expect(t, HG_RUN_CRASHED, "plug-in crashed: SIGSEGV (Segmentation fault)");
    assert_int_equal(t->run.exit_code, 128 + SIGSEGV);
    hg_plugin_task_destroy(&t);
    /* Both helpers replaced or still there: runs keep working. */
    for (int i = 0; i < 4; i++) {
        t = s_run(exec, s_task("hgtest_echo", HG_PLUGIN_ISOLATION_PROCESS));
        s_expect(t, HG_RUN_SUCCESS, NULL);
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
}

static void test_abort_crashes(void **state)
{
    zactor_t *exec = s_exec_new(0);
    hg_plugin_task_t *t = s_run(exec, s_task("hgtest_abort", HG_PLUGIN_ISOLATION_PROCESS));
    s_expect(t, HG_RUN_CRASHED, "SIGABRT");
    hg_plugin_task_destroy(&t);
    t = s_run(exec, s_task("hgtest_echo", HG_PLUGIN_ISOLATION_PROCESS));
    s_expect(t, HG_RUN_SUCCESS, NULL);
    hg_plugin_task_destroy(&t);
    hg_plugin_exec_destroy(&exec);
}

static void test_endless_loop_times_out(void **state)
{
    zactor_t *exec = s_exec_new(0);
    hg_plugin_task_t *t = s_task("hgtest_loop", HG_PLUGIN_ISOLATION_PROCESS);
    t->timeout_ms = 200;
    int64_t t0 = hg_mono_ms();
    t = s_run(exec, t);
    int64_t took = hg_mono_ms() - t0;
    s_expect(t, HG_RUN_TIMEOUT, "killed");
    assert_true(took >= 450 && took < 3000); /* 200 ms + 300 ms grace */
    hg_plugin_task_destroy(&t);
    /* A polite loop stops on cancellation, before the kill. */
    t = s_task("hgtest_loop", HG_PLUGIN_ISOLATION_PROCESS);
    t->timeout_ms = 200;
    s_kv_add(&t->params, &t->params_n, "polite", "1");
    t = s_run(exec, t);
    s_expect(t, HG_RUN_TIMEOUT, "stopped on cancellation");
    hg_plugin_task_destroy(&t);
    /* The helper was replaced: two runs at once still work. */
    hg_plugin_task_t *a = s_task("hgtest_echo", HG_PLUGIN_ISOLATION_PROCESS);
    hg_plugin_task_t *b = s_task("hgtest_echo", HG_PLUGIN_ISOLATION_PROCESS);
    assert_int_equal(hg_plugin_exec_submit(exec, &a), 0);
    assert_int_equal(hg_plugin_exec_submit(exec, &b), 0);
    for (int i = 0; i < 2; i++) {
        t = s_wait(exec, WAIT_MS);
        assert_non_null(t);
        s_expect(t, HG_RUN_SUCCESS, NULL);
        hg_plugin_task_destroy(&t);
    }
    /* Thread mode: a polite plug-in is judged timed out when it returns. */
    t = s_task("hgtest_loop", HG_PLUGIN_ISOLATION_THREAD);
    t->timeout_ms = 100;
    s_kv_add(&t->params, &t->params_n, "polite", "1");
    t = s_run(exec, t);
    s_expect(t, HG_RUN_TIMEOUT, NULL);
    hg_plugin_task_destroy(&t);
    hg_plugin_exec_destroy(&exec);
}

static void test_memory_blowup_is_contained(void **state)
{
    if (s_sanitized()) {
        print_message("skipped: address-space limits are off under AddressSanitizer\n");
        return;
    }
    zactor_t *exec = s_exec_new(256);
    hg_plugin_task_t *t = s_task("hgtest_hog", HG_PLUGIN_ISOLATION_PROCESS);
    t->timeout_ms = 5000;
    t = s_run(exec, t);
    assert_true(t->run.status == HG_RUN_CRASHED || t->run.status == HG_RUN_FAILED);
    assert_non_null(t->run.error);
    print_message("memory blow-up: %s (%s)\n", hg_run_status_name(t->run.status), t->run.error);
    hg_plugin_task_destroy(&t);
    t = s_run(exec, s_task("hgtest_echo", HG_PLUGIN_ISOLATION_PROCESS));
    s_expect(t, HG_RUN_SUCCESS, NULL);
    hg_plugin_task_destroy(&t);
    hg_plugin_exec_destroy(&exec);
}

static void test_wrong_abi_version(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t = s_run(exec, s_task("hgtest_badabi", s_modes[m]));
        s_expect(t, HG_RUN_FAILED,
                 "plug-in hgtest_badabi.so has ABI version 99, this worker supports ABI version 1");
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
}

static void test_missing_symbol(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t = s_run(exec, s_task("hgtest_nosym", s_modes[m]));
        s_expect(t, HG_RUN_FAILED, "plug-in hgtest_nosym.so does not export hourglass_plugin()");
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
}

static void test_not_an_elf_file(void **state)
{
    char path[] = "/tmp/hgtest_notelf_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a shared object\n", 20), 20);
    close(fd);
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t = s_run(exec, s_task(path, s_modes[m]));
        s_expect(t, HG_RUN_FAILED, "cannot load plug-in hgtest_notelf_");
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
    unlink(path);
}

static void test_log_and_result(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t = s_task("hgtest_echo", s_modes[m]);
        t->shard_index = 2;
        t->shard_total = 5;
        t->run.attempt = 3;
        char id[HG_RUNID_STR_LEN + 1], want[64];
        hg_runid_format(t->run.run_id, id);
        snprintf(want, sizeof(want), "run=%s", id);
        t = s_run(exec, t);
        s_expect(t, HG_RUN_SUCCESS, NULL);
        assert_true(s_output_has(t, "[info] hello from job\n[warn] attempt 3 shard 2/5\nrun="));
        assert_true(s_output_has(t, want));
        assert_non_null(t->result.data);
        assert_memory_equal(t->result.data, want, strlen(want));
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
}

static void test_fail_retry_and_version(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t = s_task("hgtest_echo", s_modes[m]);
        s_kv_add(&t->params, &t->params_n, "fail", "boom");
        t = s_run(exec, t);
        s_expect(t, HG_RUN_FAILED, "asked to fail: boom");
        assert_int_equal(t->run.exit_code, 1);
        assert_false(t->retry_requested);
        hg_plugin_task_destroy(&t);

        t = s_task("hgtest_echo", s_modes[m]);
        s_kv_add(&t->params, &t->params_n, "retry", "1");
        t = s_run(exec, t);
        s_expect(t, HG_RUN_FAILED, "try again later");
        assert_true(t->retry_requested);
        hg_plugin_task_destroy(&t);

        t = s_task("hgtest_echo", s_modes[m]);
        t->version = strdup("9.9");
        t = s_run(exec, t);
        s_expect(t, HG_RUN_FAILED, "is version 2.1, the job wants version 9.9");
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
}

static void test_params_and_overrides(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t = s_task("hgtest_echo", s_modes[m]);
        s_kv_add(&t->params, &t->params_n, "a", "1");
        s_kv_add(&t->params, &t->params_n, "b", "2");
        s_kv_add(&t->overrides, &t->overrides_n, "b", "3");
        s_kv_add(&t->overrides, &t->overrides_n, "c", "4");
        t = s_run(exec, t);
        s_expect(t, HG_RUN_SUCCESS, NULL);
        assert_true(s_output_has(t, " n=3 a=1 b=3 c=4"));
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
}

static hg_plugin_task_t *s_shell(int isolation, const char *script)
{
    hg_plugin_task_t *t = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_shell.so", isolation);
    s_kv_add(&t->params, &t->params_n, "command", "sh");
    s_kv_add(&t->params, &t->params_n, "arg1", "-c");
    s_kv_add(&t->params, &t->params_n, "arg2", script);
    return t;
}

static void test_shell_success_and_exit_code(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_shell.so", s_modes[m]);
        s_kv_add(&t->params, &t->params_n, "command", "echo");
        s_kv_add(&t->params, &t->params_n, "args", "hello  world");
        t = s_run(exec, t);
        s_expect(t, HG_RUN_SUCCESS, NULL);
        assert_true(s_output_has(t, "[info] exit code 0\nhello world\n"));
        hg_plugin_task_destroy(&t);

        t = s_shell(s_modes[m], "echo \"$HG_X\" in $(pwd); echo oops >&2; exit 3");
        s_kv_add(&t->params, &t->params_n, "env.HG_X", "value x");
        s_kv_add(&t->params, &t->params_n, "cwd", "/");
        t = s_run(exec, t);
        s_expect(t, HG_RUN_FAILED, "command exited with status 3");
        assert_true(s_output_has(t, "value x in /\noops\n"));
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
}

/* Output of a finished task, as a string (caller frees). */
static char *s_output_str(const hg_plugin_task_t *task)
{
    const hg_blob_t *o = &task->run.output;
    char *s = calloc(1, o->len + 1);
    assert_non_null(s);
    if (o->len) memcpy(s, o->data, o->len);
    return s;
}

/* A command run by the shell plug-in sees stdio and nothing else: not a
 * descriptor the worker left open without close-on-exec (here fd 200),
 * in either mode; and the helper process of process isolation does not
 * hold it either. */
static void test_children_inherit_no_descriptors(void **state)
{
    (void) state;
    int fd = open("/dev/null", O_RDONLY); /* deliberately inheritable */
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 200), 200);
    close(fd);
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        /* ls opens the directory it lists as fd 3. */
        hg_plugin_task_t *t = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_shell.so", s_modes[m]);
        s_kv_add(&t->params, &t->params_n, "command", "ls");
        s_kv_add(&t->params, &t->params_n, "args", "/proc/self/fd");
        t = s_run(exec, t);
        s_expect(t, HG_RUN_SUCCESS, NULL);
        char *out = s_output_str(t);
        const char *list = strstr(out, "exit code 0\n");
        assert_non_null(list);
        assert_string_equal(list, "exit code 0\n0\n1\n2\n3\n");
        free(out);
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_task_t *t = s_shell(HG_PLUGIN_ISOLATION_PROCESS, "ls /proc/$PPID/fd");
    t = s_run(exec, t);
    s_expect(t, HG_RUN_SUCCESS, NULL);
    char *out = s_output_str(t);
    assert_non_null(strstr(out, "\n3\n")); /* the helper's channel: the listing worked */
    assert_null(strstr(out, "\n200\n"));
    free(out);
    hg_plugin_task_destroy(&t);
    hg_plugin_exec_destroy(&exec);
    close(200);
}

/* Resident set size of this process, in MiB. */
static long s_rss_mb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld %ld", &pages, &rss), 2);
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE) / (1 << 20);
}

/* A helper that writes without pause (here a fake host that is `yes` on
 * its channel) is read a bounded amount at a time: its garbage is seen
 * as a bad frame at once, the helper is ended and its run fails, the
 * worker's memory does not follow the flood, and runs in thread mode
 * still work. (Whether an unbounded read would fall behind depends on
 * the machine: this checks the outcome, not that the bound is hit.) */
static void test_flooding_helper_is_bounded(void **state)
{
    (void) state;
    char dir[] = "/tmp/hg_test_flood_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char host[128];
    snprintf(host, sizeof host, "%s/host", dir);
    FILE *f = fopen(host, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nexec yes >&3\n", f);
    fclose(f);
    assert_int_equal(chmod(host, 0700), 0);

    hg_plugin_exec_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.plugin_dir = HG_TEST_PLUGIN_DIR;
    cfg.host_path = host;
    cfg.helpers = 1;
    long before = s_rss_mb();
    zactor_t *exec = hg_plugin_exec_new(&cfg);
    assert_non_null(exec);
    int64_t t0 = hg_mono_ms();
    hg_plugin_task_t *t = s_run(exec, s_task("hgtest_echo", HG_PLUGIN_ISOLATION_PROCESS));
    /* Ended by the worker: failed when yes(1) sees EPIPE first (exit 1),
     * crashed when the worker's SIGKILL lands first. */
    if (t->run.status != HG_RUN_FAILED) s_expect(t, HG_RUN_CRASHED, "SIGKILL");
    hg_plugin_task_destroy(&t);
    assert_true(hg_mono_ms() - t0 < 5000);
    assert_true(s_rss_mb() - before < 64);
    t = s_run(exec, s_task("hgtest_echo", HG_PLUGIN_ISOLATION_THREAD));
    s_expect(t, HG_RUN_SUCCESS, NULL);
    hg_plugin_task_destroy(&t);
    hg_plugin_exec_destroy(&exec);
    unlink(host);
    rmdir(dir);
}

/* Whether pid is gone (or a zombie nobody can run any more). */
static int s_gone(pid_t pid)
{
    if (kill(pid, 0) != 0 && errno == ESRCH) return 1;
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static void test_shell_timeout_kills_process_group(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        char file[] = "/tmp/hgtest_shell_XXXXXX";
        int fd = mkstemp(file);
        assert_true(fd >= 0);
        close(fd);
        char script[256];
        snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; wait", file);
        hg_plugin_task_t *t = s_shell(s_modes[m], script);
        t->timeout_ms = 300;
        t = s_run(exec, t);
        s_expect(t, HG_RUN_TIMEOUT, NULL);
        hg_plugin_task_destroy(&t);
        FILE *f = fopen(file, "r");
        assert_non_null(f);
        int pid = 0;
        assert_int_equal(fscanf(f, "%d", &pid), 1);
        fclose(f);
        unlink(file);
        assert_true(pid > 0);
        int64_t until = hg_mono_ms() + 3000;
        while (!s_gone(pid) && hg_mono_ms() < until)
            usleep(10000);
        assert_true(s_gone(pid));
    }
    hg_plugin_exec_destroy(&exec);
}

/* Overload, in both modes: with one helper (one thread) busy and
 * MAX_QUEUED runs waiting, further runs come back at once as skipped with
 * a message saying why; every run comes back exactly once, and runs are
 * accepted again once the queue has room. */
static void test_full_queue_skips_runs(void **state)
{
    enum { SUBMITTED = 7, MAX_QUEUED = 3 };
    static const char *const why[] = {
        "worker overloaded: 3 plug-in runs already waiting for a helper process",
        "worker overloaded: 3 plug-in runs already waiting for a thread",
    };
    hg_plugin_exec_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.plugin_dir = HG_TEST_PLUGIN_DIR;
    cfg.host_path = HG_TEST_HOST_PATH;
    cfg.helpers = 1;
    cfg.threads = 1;
    cfg.grace_ms = 300;
    cfg.max_queued = MAX_QUEUED;
    zactor_t *exec = hg_plugin_exec_new(&cfg);
    assert_non_null(exec);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *t = NULL;
        hg_plugin_task_t *tasks[SUBMITTED];
        for (int i = 0; i < SUBMITTED; i++) {
            /* Each run spins until its 150 ms deadline, then stops. */
            tasks[i] = s_task("hgtest_loop", s_modes[m]);
            tasks[i]->run.job_id = (uint64_t) i;
            tasks[i]->timeout_ms = 150;
            s_kv_add(&tasks[i]->params, &tasks[i]->params_n, "polite", "1");
        }
        assert_int_equal(hg_plugin_exec_submit(exec, &tasks[0]), 0);
        usleep(50000); /* the first run is on the helper / thread */
        for (int i = 1; i < SUBMITTED; i++)
            assert_int_equal(hg_plugin_exec_submit(exec, &tasks[i]), 0);
        char seen[SUBMITTED] = {0};
        int skipped = 0, ran = 0, queued_done = 0;
        for (int i = 0; i < SUBMITTED; i++) {
            t = s_wait(exec, WAIT_MS);
            assert_non_null(t);
            assert_true(t->run.job_id < SUBMITTED);
            assert_int_equal(seen[t->run.job_id]++, 0);
            if (t->run.status == HG_RUN_SKIPPED) {
                skipped++;
                /* At once: before any run that waited has had its turn. */
                assert_int_equal(queued_done, 0);
                s_expect(t, HG_RUN_SKIPPED, why[m]);
                assert_true(t->run.job_id >= MAX_QUEUED);
                assert_int_equal(t->run.exit_code, 0);
            } else {
                s_expect(t, HG_RUN_TIMEOUT, NULL);
                ran++;
                if (t->run.job_id > 0) queued_done++;
            }
            hg_plugin_task_destroy(&t);
        }
        /* A pool thread may not have taken the first run yet when the
         * others arrive (it waited then): one more skip is fair. */
        assert_true(
            skipped == SUBMITTED - 1 - MAX_QUEUED ||
            (s_modes[m] == HG_PLUGIN_ISOLATION_THREAD && skipped == SUBMITTED - MAX_QUEUED));
        assert_int_equal(ran + skipped, SUBMITTED);
        assert_null(s_wait(exec, 50));
        /* Room again. */
        t = s_run(exec, s_task("hgtest_echo", s_modes[m]));
        s_expect(t, HG_RUN_SUCCESS, NULL);
        hg_plugin_task_destroy(&t);
    }
    hg_plugin_exec_destroy(&exec);
}

static void test_destroy_with_runs_in_flight(void **state)
{
    zactor_t *exec = s_exec_new(0);
    for (int i = 0; i < 3; i++) {
        hg_plugin_task_t *t = s_task("hgtest_loop", HG_PLUGIN_ISOLATION_PROCESS);
        assert_int_equal(hg_plugin_exec_submit(exec, &t), 0);
    }
    hg_plugin_task_t *t = s_task("hgtest_echo", HG_PLUGIN_ISOLATION_THREAD);
    assert_int_equal(hg_plugin_exec_submit(exec, &t), 0);
    usleep(100000);
    int64_t t0 = hg_mono_ms();
    hg_plugin_exec_destroy(&exec);
    assert_null(exec);
    assert_true(hg_mono_ms() - t0 < 3000);
}

static void test_arguments(void **state)
{
    assert_null(hg_plugin_exec_new(NULL));
    hg_plugin_task_t *t = NULL;
    assert_int_equal(hg_plugin_exec_submit(NULL, &t), HG_EINVAL);
    hg_plugin_exec_destroy(NULL);
    hg_plugin_task_destroy(NULL);
    assert_int_equal(hg_plugin_isolation_parse(NULL), HG_PLUGIN_ISOLATION_PROCESS);
    assert_int_equal(hg_plugin_isolation_parse("thread"), HG_PLUGIN_ISOLATION_THREAD);
    assert_int_equal(hg_plugin_isolation_parse("fork"), -1);
    /* A missing helper fails process runs with a message; threads still work. */
    hg_plugin_exec_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.plugin_dir = HG_TEST_PLUGIN_DIR;
    cfg.host_path = "/nonexistent/hourglass-plugin-host";
    zactor_t *exec = hg_plugin_exec_new(&cfg);
    assert_non_null(exec);
    t = s_run(exec, s_task("hgtest_echo", HG_PLUGIN_ISOLATION_PROCESS));
    s_expect(t, HG_RUN_FAILED, "is missing or not executable");
    hg_plugin_task_destroy(&t);
    t = s_run(exec, s_task("hgtest_echo", HG_PLUGIN_ISOLATION_THREAD));
    s_expect(t, HG_RUN_SUCCESS, NULL);
    hg_plugin_task_destroy(&t);
    hg_plugin_exec_destroy(&exec);
}

/* Runs handed over many per message come back exactly once each, in both
 * modes, with several threads sharing the queue. */
static void test_submit_many(void **state)
{
    enum { RUNS = 300 };
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        hg_plugin_task_t *tasks[RUNS];
        for (int i = 0; i < RUNS; i++) {
            tasks[i] = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_noop.so", s_modes[m]);
            tasks[i]->run.job_id = (uint64_t) i;
        }
        assert_int_equal(hg_plugin_exec_submit_many(exec, tasks, 0), HG_EINVAL);
        assert_int_equal(hg_plugin_exec_submit_many(exec, tasks, HG_TASK_PIPE_BATCH + 1),
                         HG_EINVAL);
        assert_int_equal(hg_plugin_exec_submit_many(exec, tasks, HG_TASK_PIPE_BATCH), 0);
        assert_int_equal(
            hg_plugin_exec_submit_many(exec, tasks + HG_TASK_PIPE_BATCH, RUNS - HG_TASK_PIPE_BATCH),
            0);
        for (int i = 0; i < RUNS; i++)
            assert_null(tasks[i]);
        char seen[RUNS] = {0};
        for (int i = 0; i < RUNS; i++) {
            hg_plugin_task_t *t = s_wait(exec, WAIT_MS);
            assert_non_null(t);
            assert_true(t->run.job_id < RUNS);
            assert_int_equal(seen[t->run.job_id]++, 0);
            s_expect(t, HG_RUN_SUCCESS, NULL);
            hg_plugin_task_destroy(&t);
        }
        assert_null(s_wait(exec, 50));
    }
    hg_plugin_exec_destroy(&exec);
}

/* With results_endpoint, thread-mode runs come back on the owner's PULL
 * socket; runs that did not run (here: a missing plug-in) and process-mode
 * runs still come back on the pipe. Each exactly once. */
static void test_results_endpoint(void **state)
{
    enum { RUNS = 100 };
    zsock_t *pull = zsock_new(ZMQ_PULL);
    assert_non_null(pull);
    assert_int_equal(zsock_bind(pull, "inproc://test-plugin-results"), 0);
    hg_plugin_exec_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.plugin_dir = HG_TEST_PLUGIN_DIR;
    cfg.host_path = HG_TEST_HOST_PATH;
    cfg.threads = 2;
    cfg.grace_ms = 300;
    cfg.results_endpoint = "inproc://test-plugin-results";
    zactor_t *exec = hg_plugin_exec_new(&cfg);
    assert_non_null(exec);
    hg_plugin_task_t *tasks[RUNS + 2];
    for (int i = 0; i < RUNS; i++)
        tasks[i] = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_noop.so", HG_PLUGIN_ISOLATION_THREAD);
    tasks[RUNS] = s_task("no_such_plugin", HG_PLUGIN_ISOLATION_THREAD);
    tasks[RUNS + 1] = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_noop.so", HG_PLUGIN_ISOLATION_PROCESS);
    for (int i = 0; i < RUNS + 2; i++)
        tasks[i]->run.job_id = (uint64_t) i;
    assert_int_equal(hg_plugin_exec_submit_many(exec, tasks, RUNS + 2), 0);
    char seen[RUNS + 2] = {0};
    int direct = 0, piped = 0;
    zpoller_t *poller = zpoller_new(pull, zactor_sock(exec), NULL);
    for (int got = 0; got < RUNS + 2;) {
        void *which = zpoller_wait(poller, WAIT_MS);
        assert_non_null(which);
        hg_plugin_task_t *done[HG_TASK_PIPE_BATCH];
        size_t n = hg_task_pipe_recv(which, (void **) done, HG_TASK_PIPE_BATCH);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            uint64_t id = done[i]->run.job_id;
            assert_true(id < RUNS + 2);
            assert_int_equal(seen[id]++, 0);
            if (id < RUNS) {
                assert_ptr_equal(which, pull);
                s_expect(done[i], HG_RUN_SUCCESS, NULL);
                direct++;
            } else {
                assert_ptr_equal(which, zactor_sock(exec));
                piped++;
            }
            hg_plugin_task_destroy(&done[i]);
            got++;
        }
    }
    zpoller_destroy(&poller);
    assert_int_equal(direct, RUNS);
    assert_int_equal(piped, 2);
    hg_plugin_exec_destroy(&exec);
    zsock_destroy(&pull);
}

/* Thread-mode runs handed to the pool directly come back on the results
 * socket, each once; the pool looks the plug-in up itself (an unknown one
 * fails the run); a full queue refuses at once with "skipped". */
static void test_pool_submit(void **state)
{
    enum { RUNS = 100 };
    zactor_t *plain = s_exec_new(0);
    assert_null(hg_plugin_exec_pool(plain)); /* only with results_endpoint */
    hg_plugin_exec_destroy(&plain);
    zsock_t *pull = zsock_new(ZMQ_PULL);
    assert_non_null(pull);
    assert_int_equal(zsock_bind(pull, "inproc://test-pool-results"), 0);
    hg_plugin_exec_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.plugin_dir = HG_TEST_SHIPPED_PLUGIN_DIR;
    cfg.host_path = HG_TEST_HOST_PATH;
    cfg.threads = 1;
    cfg.grace_ms = 300;
    cfg.max_queued = RUNS + 1;
    cfg.results_endpoint = "inproc://test-pool-results";
    zactor_t *exec = hg_plugin_exec_new(&cfg);
    assert_non_null(exec);
    hg_plugin_pool_t *pool = hg_plugin_exec_pool(exec);
    assert_non_null(pool);
    hg_plugin_task_t *tasks[RUNS + 2], *refused[RUNS + 2];
    for (int i = 0; i <= RUNS; i++) {
        tasks[i] = s_task(i < RUNS ? "noop" : "no_such_plugin", HG_PLUGIN_ISOLATION_THREAD);
        tasks[i]->run.job_id = (uint64_t) i;
        tasks[i]->run.started_ms = hg_now_ms();
    }
    assert_int_equal(hg_plugin_pool_submit(pool, tasks, RUNS + 1, refused), 0);
    for (int i = 0; i <= RUNS; i++)
        assert_null(tasks[i]);
    char seen[RUNS + 1] = {0};
    zpoller_t *poller = zpoller_new(pull, NULL);
    for (int got = 0; got <= RUNS;) {
        assert_non_null(zpoller_wait(poller, WAIT_MS));
        hg_plugin_task_t *done[HG_TASK_PIPE_BATCH];
        size_t n = hg_task_pipe_recv(pull, (void **) done, HG_TASK_PIPE_BATCH);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++, got++) {
            uint64_t id = done[i]->run.job_id;
            assert_true(id <= RUNS);
            assert_int_equal(seen[id]++, 0);
            if (id < RUNS)
                s_expect(done[i], HG_RUN_SUCCESS, NULL);
            else
                s_expect(done[i], HG_RUN_FAILED, "plug-in no_such_plugin not found");
            hg_plugin_task_destroy(&done[i]);
        }
    }
    /* A full queue: a slow run holds the thread, then more than fit. */
    hg_plugin_task_t *slow =
        s_task(HG_TEST_PLUGIN_DIR "/hgtest_loop.so", HG_PLUGIN_ISOLATION_THREAD);
    slow->timeout_ms = 300;
    slow->run.started_ms = hg_now_ms();
    s_kv_add(&slow->params, &slow->params_n, "polite", "1");
    assert_int_equal(hg_plugin_pool_submit(pool, &slow, 1, refused), 0);
    usleep(50000);
    for (int i = 0; i < RUNS + 2; i++) {
        tasks[i] = s_task("noop", HG_PLUGIN_ISOLATION_THREAD);
        tasks[i]->run.started_ms = hg_now_ms();
    }
    size_t n = hg_plugin_pool_submit(pool, tasks, RUNS + 2, refused);
    assert_int_equal(n, 1); /* max_queued is RUNS + 1 */
    s_expect(refused[0], HG_RUN_SKIPPED, "plug-in runs already waiting for a thread");
    for (size_t i = 0; i < n; i++)
        hg_plugin_task_destroy(&refused[i]);
    for (int got = 0; got < RUNS + 3 - (int) n;) {
        assert_non_null(zpoller_wait(poller, WAIT_MS));
        hg_plugin_task_t *done[HG_TASK_PIPE_BATCH];
        size_t k = hg_task_pipe_recv(pull, (void **) done, HG_TASK_PIPE_BATCH);
        assert_true(k > 0);
        for (size_t i = 0; i < k; i++, got++)
            hg_plugin_task_destroy(&done[i]);
    }
    zpoller_destroy(&poller);
    hg_plugin_exec_destroy(&exec);
    zsock_destroy(&pull);
}

/* A slow thread-mode run never holds up runs handed over with it: with
 * two threads, the fast ones all finish (and come back) on the other
 * thread while the slow one is still running. */
static void test_slow_run_does_not_hold_others(void **state)
{
    enum { FAST = 20 };
    hg_plugin_exec_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.plugin_dir = HG_TEST_PLUGIN_DIR;
    cfg.host_path = HG_TEST_HOST_PATH;
    cfg.threads = 2;
    cfg.grace_ms = 300;
    zactor_t *exec = hg_plugin_exec_new(&cfg);
    assert_non_null(exec);
    hg_plugin_task_t *tasks[FAST + 1];
    tasks[0] = s_task("hgtest_loop", HG_PLUGIN_ISOLATION_THREAD);
    tasks[0]->timeout_ms = 1000; /* spins until its deadline */
    s_kv_add(&tasks[0]->params, &tasks[0]->params_n, "polite", "1");
    for (int i = 1; i <= FAST; i++) {
        tasks[i] = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_noop.so", HG_PLUGIN_ISOLATION_THREAD);
        tasks[i]->run.job_id = (uint64_t) i;
    }
    int64_t t0 = hg_mono_ms();
    assert_int_equal(hg_plugin_exec_submit_many(exec, tasks, FAST + 1), 0);
    for (int i = 0; i < FAST; i++) {
        hg_plugin_task_t *t = s_wait(exec, WAIT_MS);
        assert_non_null(t);
        assert_int_not_equal(t->run.job_id, 0); /* not the slow one */
        s_expect(t, HG_RUN_SUCCESS, NULL);
        hg_plugin_task_destroy(&t);
    }
    assert_true(hg_mono_ms() - t0 < 800); /* before the slow run's deadline */
    hg_plugin_task_t *t = s_wait(exec, WAIT_MS);
    assert_non_null(t);
    assert_int_equal(t->run.job_id, 0);
    s_expect(t, HG_RUN_TIMEOUT, NULL);
    hg_plugin_task_destroy(&t);
    hg_plugin_exec_destroy(&exec);
}

/* 200 noop runs per mode, all submitted at once; prints runs per second. */
static void test_200_noop_runs(void **state)
{
    enum { RUNS = 200 };
    zactor_t *exec = s_exec_new(0);
    for (size_t m = 0; m < 2; m++) {
        /* Warm up: load the plug-in in the helpers / threads. */
        for (int i = 0; i < 8; i++) {
            hg_plugin_task_t *t = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_noop.so", s_modes[m]);
            assert_int_equal(hg_plugin_exec_submit(exec, &t), 0);
        }
        for (int i = 0; i < 8; i++) {
            hg_plugin_task_t *t = s_wait(exec, WAIT_MS);
            assert_non_null(t);
            hg_plugin_task_destroy(&t);
        }
        int64_t t0 = hg_mono_us();
        for (int i = 0; i < RUNS; i++) {
            hg_plugin_task_t *t = s_task(HG_TEST_SHIPPED_PLUGIN_DIR "/hg_noop.so", s_modes[m]);
            assert_int_equal(hg_plugin_exec_submit(exec, &t), 0);
        }
        for (int i = 0; i < RUNS; i++) {
            hg_plugin_task_t *t = s_wait(exec, WAIT_MS);
            assert_non_null(t);
            s_expect(t, HG_RUN_SUCCESS, NULL);
            hg_plugin_task_destroy(&t);
        }
        double secs = (double) (hg_mono_us() - t0) / 1e6;
        print_message("noop, %s mode: %d runs in %.3f s = %.0f runs/s\n",
                      m == 0 ? "process (2 helpers)" : "thread (4 threads)", RUNS, secs,
                      RUNS / secs);
    }
    hg_plugin_exec_destroy(&exec);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noop_both_modes),
        cmocka_unit_test(test_lookup_by_name),
        cmocka_unit_test(test_segv_crashes_helper_only),
        cmocka_unit_test(test_abort_crashes),
        cmocka_unit_test(test_endless_loop_times_out),
        cmocka_unit_test(test_memory_blowup_is_contained),
        cmocka_unit_test(test_wrong_abi_version),
        cmocka_unit_test(test_missing_symbol),
        cmocka_unit_test(test_not_an_elf_file),
        cmocka_unit_test(test_log_and_result),
        cmocka_unit_test(test_fail_retry_and_version),
        cmocka_unit_test(test_params_and_overrides),
        cmocka_unit_test(test_shell_success_and_exit_code),
        cmocka_unit_test(test_shell_timeout_kills_process_group),
        cmocka_unit_test(test_children_inherit_no_descriptors),
        cmocka_unit_test(test_flooding_helper_is_bounded),
        cmocka_unit_test(test_full_queue_skips_runs),
        cmocka_unit_test(test_destroy_with_runs_in_flight),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_submit_many),
        cmocka_unit_test(test_results_endpoint),
        cmocka_unit_test(test_pool_submit),
        cmocka_unit_test(test_slow_run_does_not_hold_others),
        cmocka_unit_test(test_200_noop_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
