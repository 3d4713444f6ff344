/* plugin_host: hourglass-plugin-host, the helper process that runs
 * plug-ins for a worker in process isolation. The worker's plug-in
 * executor starts it with fork+exec (posix_spawn) and talks to it over the
 * socket given as --fd (framing in plugin_host_proto.h). Whatever a plug-in
 * does here (crash, abort, loop, exhaust memory) ends this process only.
 *
 * Usage: hourglass-plugin-host --proto 1 --fd N [--as-mb N] [--cpu-s N] [--nofile N]
 * Limits of 0 are left as inherited. */
#include "plugin_host_proto.h"
#include "plugin_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
/* Let a crashing plug-in die of its signal, so the executor can name it,
 * instead of AddressSanitizer turning it into exit status 1. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:handle_sigill=0";
}
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
/* The same for UndefinedBehaviorSanitizer, which shares these flags. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:handle_sigill=0";
}
#endif

static volatile sig_atomic_t s_cancel; /* raised by HG_HOST_CANCEL_SIGNAL */

typedef struct {
    int fd;             /* socket to the executor */
    hg_host_buf_t out;  /* frame being written */
    size_t log_sent;    /* log bytes sent during this run */
    bool log_truncated; /* the log budget ran out during this run */
    uint32_t cpu_s;     /* CPU seconds per run, 0 = unlimited */
} s_host_t;

static void s_on_cancel(int sig)
{
    (void) sig;
    s_cancel = 1;
}

static int s_write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Read exactly len bytes; 0, or -1 on EOF / error. */
static int s_read_all(int fd, uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, data, len);
        if (n == 0) return -1;
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

static int s_send(s_host_t *self)
{
    if (!hg_host_finish(&self->out)) return -1;
    return s_write_all(self->fd, self->out.data, self->out.len);
}

static void s_on_log(void *arg, int level, const char *line, size_t len)
{
    s_host_t *self = arg;
    if (self->log_truncated) return;
    if (self->log_sent + len > HG_HOST_LOG_MAX) {
        /* Say once that lines were dropped, then keep quiet. */
        self->log_truncated = true;
        line = "(further log lines dropped)";
        len = strlen(line);
        level = 2;
    }
    self->log_sent += len;
    hg_host_begin(&self->out, HG_HOST_LOG);
    hg_host_put_u32(&self->out, (uint32_t) level);
    hg_host_put_str(&self->out, line, len);
    if (s_send(self) != 0) _exit(3); /* the executor is gone */
}

/* RLIMIT_CPU counts the whole life of this warm process, so before each run
 * the soft limit is moved to "used so far + the per-run budget". The hard
 * limit is left alone: lowering it could not be undone for the next run. */
static void s_cpu_budget(const s_host_t *self)
{
    if (!self->cpu_s) return;
    struct rusage ru;
    struct rlimit rl;
    if (getrusage(RUSAGE_SELF, &ru) != 0 || getrlimit(RLIMIT_CPU, &rl) != 0) return;
    rlim_t used = (rlim_t) ru.ru_utime.tv_sec + (rlim_t) ru.ru_stime.tv_sec + 1;
    rlim_t soft = used + self->cpu_s;
    if (rl.rlim_max != RLIM_INFINITY && soft > rl.rlim_max) soft = rl.rlim_max;
    rl.rlim_cur = soft;
    setrlimit(RLIMIT_CPU, &rl);
}

static void s_set_limit(int resource, rlim_t value)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0) return;
    if (rl.rlim_max != RLIM_INFINITY && value > rl.rlim_max) value = rl.rlim_max;
    rl.rlim_cur = value;
    rl.rlim_max = value;
    setrlimit(resource, &rl);
}

/* Decode one RUN body, run it and answer DONE. -1 on a protocol error. */
static int s_run(s_host_t *self, hg_plugin_runner_t *runner, const uint8_t *body, size_t len)
{
    hg_host_rd_t rd = {body, len, false};
    char *path = hg_host_get_str(&rd, NULL);
    char *want_version = hg_host_get_str(&rd, NULL);
    char *job_name = hg_host_get_str(&rd, NULL);
    char *run_id = hg_host_get_str(&rd, NULL);
    hg_plugin_call_t call;
    memset(&call, 0, sizeof(call));
    call.scheduled_ms = hg_host_get_i64(&rd);
    call.deadline_ms = hg_host_get_i64(&rd);
    call.attempt = hg_host_get_u32(&rd);
    call.shard_index = hg_host_get_u32(&rd);
    call.shard_total = hg_host_get_u32(&rd);
    uint32_t n = hg_host_get_u32(&rd);
    hg_plugin_kv_t *params = NULL;
    if (!rd.bad && n <= rd.left / 8) params = calloc(n ? n : 1, sizeof(*params));
    if (!params) rd.bad = true;
    for (uint32_t i = 0; i < n && !rd.bad; i++) {
        params[i].key = hg_host_get_str(&rd, NULL);
        params[i].value = hg_host_get_str(&rd, NULL);
    }
    int rc = -1;
    if (!rd.bad && rd.left == 0) {
        call.path = path;
        call.want_version = want_version;
        call.job_name = job_name;
        call.run_id = run_id;
        call.params = params;
        call.params_n = n;
        call.cancel = &s_cancel;
        call.on_log = s_on_log;
        call.arg = self;
        self->log_sent = 0;
        self->log_truncated = false;
        s_cancel = 0;
        s_cpu_budget(self);

        hg_plugin_outcome_t out;
        hg_plugin_runner_run(runner, &call, &out);

        hg_host_begin(&self->out, HG_HOST_DONE);
        hg_host_put_u32(&self->out, (uint32_t) out.outcome);
        hg_host_put_cstr(&self->out, out.error);
        hg_host_put_str(&self->out, out.result, out.result_len);
        free(out.result);
        rc = s_send(self);
    }
    for (uint32_t i = 0; params && i < n; i++) {
        free((char *) params[i].key);
        free((char *) params[i].value);
    }
    free(params);
    free(path);
    free(want_version);
    free(job_name);
    free(run_id);
    return rc;
}

static long s_arg_long(const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);
    return (*text && !*end && v >= 0) ? v : -1;
}

int main(int argc, char **argv)
{
    /* A crashing plug-in must die of its own signal so that the executor
     * can name it: undo any crash handler inherited or installed by a
     * runtime (sanitizers read their options from the environment too). */
    static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        signal(crash_signals[i], SIG_DFL);
    s_host_t self;
    memset(&self, 0, sizeof(self));
    self.fd = -1;
    long proto = -1, as_mb = 0, cpu_s = 0, nofile = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = s_arg_long(argv[i + 1]);
        if (strcmp(argv[i], "--fd") == 0)
            self.fd = (int) v;
        else if (strcmp(argv[i], "--proto") == 0)
            proto = v;
        else if (strcmp(argv[i], "--as-mb") == 0)
            as_mb = v;
        else if (strcmp(argv[i], "--cpu-s") == 0)
            cpu_s = v;
        else if (strcmp(argv[i], "--nofile") == 0)
            nofile = v;
    }
    if (proto != HG_HOST_PROTO_VERSION || self.fd < 0 || as_mb < 0 || cpu_s < 0 || nofile < 0) {
        fprintf(stderr, "%s: started by a worker only (protocol %d expected)\n", HG_HOST_NAME,
                HG_HOST_PROTO_VERSION);
        return 2;
    }
    /* Children a plug-in starts (shell) must not hold our socket open. */
    fcntl(self.fd, F_SETFD, FD_CLOEXEC);
    /* Die with the worker even while a plug-in is busy. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_cancel;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(HG_HOST_CANCEL_SIGNAL, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN); /* a terminal ^C is for the worker, which stops us */

#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer reserves terabytes of address space for its shadow;
     * an address-space limit would break it, so sanitized builds skip it. */
    as_mb = 0;
#endif
    if (as_mb > 0) s_set_limit(RLIMIT_AS, (rlim_t) as_mb << 20);
    if (nofile > 0) s_set_limit(RLIMIT_NOFILE, (rlim_t) nofile);
    self.cpu_s = (uint32_t) cpu_s;

    hg_plugin_runner_t *runner = hg_plugin_runner_new();
    if (!runner) return 4;
    hg_host_begin(&self.out, HG_HOST_READY);
    if (s_send(&self) != 0) return 3;

    uint8_t head[5];
    uint8_t *body = NULL;
    int rc = 0;
    while (s_read_all(self.fd, head, 4) == 0) {
        uint32_t len = hg_host_le32(head);
        if (len < 1 || len > HG_HOST_FRAME_MAX) {
            rc = 5;
            break;
        }
        body = malloc(len);
        if (!body || s_read_all(self.fd, body, len) != 0) {
            rc = 5;
            break;
        }
        if (body[0] != HG_HOST_RUN || s_run(&self, runner, body + 1, len - 1) != 0) {
            rc = 5;
            break;
        }
        free(body);
        body = NULL;
    }
    free(body);
    /* EOF: the executor let us go. Plug-ins get their fini. */
    hg_plugin_runner_destroy(&runner);
    free(self.out.data);
    return rc;
}
