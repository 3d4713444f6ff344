// hg-test-sources: worker/http_exec.c worker/task_pipe.c worker/cancel.c
/* Tests for the HTTP executor against a libmicrohttpd server started in the
 * test on 127.0.0.1 with a free port. Routes:
 *   /ok          200 "ok"
 *   /fail        500 "fail"
 *   /slow?ms=N   sleeps N ms (default 2000), then 200 "ok"
 *   /echo        200, the request as text: "method: M\n", one "Name: value\n"
 *                per header, then "body: " and the raw body
 *   /big         200, 100 KiB of 'a' ending in "END"
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hg_error.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "http_exec.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG_SIZE (100 * 1024)

static struct MHD_Daemon *s_daemon;
static uint16_t s_port;
static char *s_big;
static atomic_int s_slow_now;    /* /slow handlers running now */
static atomic_int s_slow_peak;   /* most /slow handlers seen at once */
static atomic_int s_connections; /* TCP connections accepted */

/* ------------------------------------------------------------ the server */

typedef struct {
    char *data; /* uploaded body */
    size_t len; /* bytes in data */
} upload_t;

typedef struct {
    char *buf;  /* echo text */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
} text_t;

static void s_text_add(text_t *t, const char *data, size_t len)
{
    if (t->len + len + 1 > t->cap) {
        t->cap = (t->len + len + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
        assert_non_null(t->buf);
    }
    memcpy(t->buf + t->len, data, len);
    t->len += len;
    t->buf[t->len] = '\0';
}

static enum MHD_Result s_echo_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    text_t *t = cls;
    s_text_add(t, key, strlen(key));
    s_text_add(t, ": ", 2);
    s_text_add(t, value, strlen(value));
    s_text_add(t, "\n", 1);
    return MHD_YES;
}

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned status, const char *body,
                               size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **state)
{
    if (!*state) {
        *state = calloc(1, sizeof(upload_t));
        return *state ? MHD_YES : MHD_NO;
    }
    upload_t *up = *state;
    if (*upload_size) {
        up->data = realloc(up->data, up->len + *upload_size);
        memcpy(up->data + up->len, upload_data, *upload_size);
        up->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/ok") == 0) return s_reply(c, 200, "ok", 2);
    if (strcmp(url, "/fail") == 0) return s_reply(c, 500, "fail", 4);
    if (strcmp(url, "/big") == 0) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(BIG_SIZE, s_big, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result rc = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return rc;
    }
    if (strcmp(url, "/slow") == 0) {
        const char *ms = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ms");
        int now = atomic_fetch_add(&s_slow_now, 1) + 1;
        int peak = atomic_load(&s_slow_peak);
        while (now > peak && !atomic_compare_exchange_weak(&s_slow_peak, &peak, now))
            ;
        usleep((useconds_t) (ms ? atoi(ms) : 2000) * 1000);
        atomic_fetch_sub(&s_slow_now, 1);
        return s_reply(c, 200, "ok", 2);
    }
    if (strcmp(url, "/echo") == 0) {
        text_t t = {0};
        char line[64];
        snprintf(line, sizeof(line), "method: %s\n", method);
        s_text_add(&t, line, strlen(line));
        MHD_get_connection_values(c, MHD_HEADER_KIND, s_echo_header, &t);
        s_text_add(&t, "body: ", 6);
        s_text_add(&t, up->data ? up->data : "", up->len);
        enum MHD_Result rc = s_reply(c, 200, t.buf, t.len);
        free(t.buf);
        return rc;
    }
    return s_reply(c, 404, "not found", 9);
}

static void s_on_completed(void *cls, struct MHD_Connection *c, void **state,
                           enum MHD_RequestTerminationCode code)
{
    upload_t *up = *state;
    if (up) {
        free(up->data);
        free(up);
        *state = NULL;
    }
}

static void s_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                            enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) atomic_fetch_add(&s_connections, 1);
}

static int s_server_start(void **state)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s_big = malloc(BIG_SIZE);
    memset(s_big, 'a', BIG_SIZE);
    memcpy(s_big + BIG_SIZE - 3, "END", 3);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s_daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
        NULL, s_on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        s_on_connection, NULL, MHD_OPTION_END);
    if (!s_daemon) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s_daemon, MHD_DAEMON_INFO_BIND_PORT);
    s_port = info ? info->port : 0;
    return s_port ? 0 : -1;
}

static int s_server_stop(void **state)
{
    MHD_stop_daemon(s_daemon);
    free(s_big);
    curl_global_cleanup();
    return 0;
}

/* ---------------------------------------------------------------- helpers */

static hg_http_task_t *s_task(const char *method, const char *path, uint64_t job_id)
{
    hg_http_task_t *task = hg_http_task_new();
    assert_non_null(task);
    if (method) task->http.method = strdup(method);
    assert_true(asprintf(&task->http.url, "http://127.0.0.1:%u%s", s_port, path) > 0);
    task->ns = strdup("default");
    task->run.job_id = job_id;
    task->run.job_name = strdup("job");
    task->run.attempt = 1;
    task->run.scheduled_ms = hg_now_ms();
    hg_runid_new(task->run.run_id, task->run.scheduled_ms);
    return task;
}

/* Next finished task, or NULL after timeout_ms. */
static hg_http_task_t *s_recv(zactor_t *exec, int timeout_ms)
{
    zpoller_t *poller = zpoller_new(exec, NULL);
    void *ready = zpoller_wait(poller, timeout_ms);
    zpoller_destroy(&poller);
    if (!ready) return NULL;
    hg_http_task_t *task = NULL;
    assert_int_equal(zsock_recv(exec, "p", &task), 0);
    return task;
}

/* Run one task on a fresh executor and return it finished. */
static hg_http_task_t *s_run_one(hg_http_task_t *task)
{
    zactor_t *exec = hg_http_exec_new(4, 0);
    assert_non_null(exec);
    assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    assert_null(task);
    task = s_recv(exec, 10000);
    assert_non_null(task);
    assert_null(s_recv(exec, 50)); /* exactly once */
    hg_http_exec_destroy(&exec);
    assert_null(exec);
    return task;
}

static void s_add_header(hg_http_task_t *task, const char *line)
{
    task->http.headers = realloc(task->http.headers, (task->http.headers_n + 1) * sizeof(char *));
    task->http.headers[task->http.headers_n++] = strdup(line);
}

static void s_output_eq(const hg_http_task_t *task, const char *text)
{
    assert_int_equal(task->run.output.len, strlen(text));
    assert_memory_equal(task->run.output.data, text, strlen(text));
}

/* The output as a NUL-terminated string (caller frees). */
static char *s_output_str(const hg_http_task_t *task)
{
    char *s = malloc(task->run.output.len + 1);
    memcpy(s, task->run.output.data, task->run.output.len);
    s[task->run.output.len] = '\0';
    return s;
}

/* ------------------------------------------------------------------ tests */

static void test_success(void **state)
{
    int64_t before = hg_now_ms();
    hg_http_task_t *task = s_run_one(s_task("GET", "/ok", 1));
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    assert_int_equal(task->run.http_status, 200);
    assert_null(task->run.error);
    s_output_eq(task, "ok");
    assert_true(task->run.started_ms >= before);
    assert_true(task->run.finished_ms >= task->run.started_ms);
    hg_http_task_destroy(&task);
    assert_null(task);
}

static void test_default_method_is_get(void **state)
{
    hg_http_task_t *task = s_run_one(s_task(NULL, "/echo", 1));
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    char *out = s_output_str(task);
    assert_non_null(strstr(out, "method: GET\n"));
    free(out);
    hg_http_task_destroy(&task);
}

static void test_status_500_fails(void **state)
{
    hg_http_task_t *task = s_run_one(s_task("GET", "/fail", 1));
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_int_equal(task->run.http_status, 500);
    assert_string_equal(task->run.error, "unexpected HTTP status 500 (expected 2xx)");
    s_output_eq(task, "fail");
    hg_http_task_destroy(&task);
}

static void test_expected_status_500_succeeds(void **state)
{
    hg_http_task_t *task = s_task("GET", "/fail", 1);
    task->http.expect = malloc(2 * sizeof(uint16_t));
    task->http.expect[0] = 503;
    task->http.expect[1] = 500;
    task->http.expect_n = 2;
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    assert_int_equal(task->run.http_status, 500);
    hg_http_task_destroy(&task);

    /* ... and then a 200 is not what was asked for. */
    task = s_task("GET", "/ok", 1);
    task->http.expect = malloc(sizeof(uint16_t));
    task->http.expect[0] = 500;
    task->http.expect_n = 1;
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_string_equal(task->run.error, "unexpected HTTP status 200 (expected 500)");
    hg_http_task_destroy(&task);
}

static void test_expect_body(void **state)
{
    hg_http_task_t *task = s_task("GET", "/ok", 1);
    task->http.expect_body = strdup("ok");
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    hg_http_task_destroy(&task);

    task = s_task("GET", "/ok", 1);
    task->http.expect_body = strdup("ready");
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_int_equal(task->run.http_status, 200);
    assert_string_equal(task->run.error, "response body does not contain \"ready\"");
    hg_http_task_destroy(&task);
}

static void test_big_body_is_capped_but_fully_searched(void **state)
{
    hg_http_task_t *task = s_task("GET", "/big", 1);
    task->http.expect_body = strdup("aaEND"); /* only at the very end, far past the cap */
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    assert_int_equal(task->run.output.len, HG_HTTP_OUTPUT_MAX);
    for (size_t i = 0; i < HG_HTTP_OUTPUT_MAX; i++)
        assert_int_equal(task->run.output.data[i], 'a');
    hg_http_task_destroy(&task);

    task = s_task("GET", "/big", 1);
    task->http.expect_body = strdup("aENDa");
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_int_equal(task->run.output.len, HG_HTTP_OUTPUT_MAX);
    hg_http_task_destroy(&task);
}

static void test_timeout(void **state)
{
    hg_http_task_t *task = s_task("GET", "/slow?ms=2000", 1);
    task->timeout_ms = 300;
    int64_t t0 = hg_mono_ms();
    task = s_run_one(task);
    int64_t elapsed = hg_mono_ms() - t0;
    assert_int_equal(task->run.status, HG_RUN_TIMEOUT);
    assert_string_equal(task->run.error, "timed out after 300 ms");
    assert_true(elapsed >= 290);
    assert_true(elapsed < 1500);
    hg_http_task_destroy(&task);
}

static void test_connection_refused(void **state)
{
    /* A port that was free a moment ago and has no listener now. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(fd, (struct sockaddr *) &addr, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &addr, &len), 0);
    close(fd);

    hg_http_task_t *task = hg_http_task_new();
    assert_true(asprintf(&task->http.url, "http://127.0.0.1:%u/ok", ntohs(addr.sin_port)) > 0);
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_int_equal(task->run.http_status, 0);
    assert_non_null(task->run.error);
    assert_non_null(strstr(task->run.error, "connection refused: "));
    assert_true(strlen(task->run.error) > strlen("connection refused: "));
    hg_http_task_destroy(&task);
}

static void test_hourglass_headers_and_raw_body(void **state)
{
    hg_http_task_t *task = s_task("post", "/echo", 7);
    free(task->ns);
    task->ns = strdup("billing");
    free(task->run.job_name);
    task->run.job_name = strdup("nightly-invoice");
    task->run.attempt = 3;
    task->run.scheduled_ms = 1795255200123; /* 2026-11-21T10:00:00.123Z */
    char id[HG_RUNID_STR_LEN + 1];
    hg_runid_format(task->run.run_id, id);
    s_add_header(task, "X-Custom: one two");
    s_add_header(task, "Content-Type: application/json");
    const char body[] = "{\"a\":1}";
    task->http.body.data = (uint8_t *) strdup(body);
    task->http.body.len = strlen(body);

    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    char *out = s_output_str(task);
    char want[128];
    assert_non_null(strstr(out, "method: POST\n"));
    assert_non_null(strstr(out, "Hourglass-Job: billing/nightly-invoice\n"));
    snprintf(want, sizeof(want), "Hourglass-Run-Id: %s\n", id);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "Hourglass-Scheduled-At: 2026-11-21T10:00:00.123Z\n"));
    assert_non_null(strstr(out, "Hourglass-Attempt: 3\n"));
    assert_non_null(strstr(out, "X-Custom: one two\n"));
    assert_non_null(strstr(out, "Content-Type: application/json\n"));
    assert_null(strstr(out, "Expect:"));
    assert_non_null(strstr(out, "\nbody: {\"a\":1}"));
    free(out);
    hg_http_task_destroy(&task);
}

static void test_default_namespace_is_not_named(void **state)
{
    hg_http_task_t *task = s_run_one(s_task("GET", "/echo", 1));
    char *out = s_output_str(task);
    assert_non_null(strstr(out, "Hourglass-Job: job\n"));
    free(out);
    hg_http_task_destroy(&task);
}

static void test_form_is_urlencoded(void **state)
{
    hg_http_task_t *task = s_task("PUT", "/echo", 1);
    task->http.form = calloc(2, sizeof(hg_kv_t));
    task->http.form[0].key = strdup("name");
    task->http.form[0].value = strdup("a b&c=d");
    task->http.form[1].key = strdup("x y");
    task->http.form[1].value = strdup("\xc3\xa9/?");
    task->http.form_n = 2;
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    char *out = s_output_str(task);
    assert_non_null(strstr(out, "method: PUT\n"));
    assert_non_null(strstr(out, "Content-Type: application/x-www-form-urlencoded\n"));
    assert_non_null(strstr(out, "\nbody: name=a%20b%26c%3Dd&x%20y=%C3%A9%2F%3F"));
    free(out);
    hg_http_task_destroy(&task);
}

static void test_other_methods(void **state)
{
    const char *methods[] = {"DELETE", "PATCH", "OPTIONS", "POST"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        hg_http_task_t *task = s_run_one(s_task(methods[i], "/echo", 1));
        assert_int_equal(task->run.status, HG_RUN_SUCCESS);
        char *out = s_output_str(task);
        char want[64];
        snprintf(want, sizeof(want), "method: %s\n", methods[i]);
        assert_non_null(strstr(out, want));
        free(out);
        hg_http_task_destroy(&task);
    }
    /* HEAD gets the status but no body. */
    hg_http_task_t *task = s_run_one(s_task("HEAD", "/ok", 1));
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    assert_int_equal(task->run.http_status, 200);
    assert_int_equal(task->run.output.len, 0);
    hg_http_task_destroy(&task);
}

static void test_bad_requests_fail_without_network(void **state)
{
    hg_http_task_t *task = s_run_one(s_task("BREW", "/ok", 1));
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_string_equal(task->run.error, "unsupported HTTP method");
    assert_true(task->run.finished_ms >= task->run.started_ms);
    hg_http_task_destroy(&task);

    task = s_task("GET", "/ok", 1);
    s_add_header(task, "X-Evil: a\r\nX-Injected: b");
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_string_equal(task->run.error, "invalid header line");
    hg_http_task_destroy(&task);

    task = s_task("GET", "/ok", 1);
    free(task->http.url);
    task->http.url = strdup("file:///etc/passwd");
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_non_null(task->run.error);
    assert_int_equal(task->run.output.len, 0);
    hg_http_task_destroy(&task);

    task = hg_http_task_new();
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_FAILED);
    assert_string_equal(task->run.error, "missing URL");
    hg_http_task_destroy(&task);

    /* Framing headers, whatever their case and spacing, are refused before
     * anything is sent (the master refuses such jobs; this is the second
     * line). */
    static const char *const framing[][2] = {
        {"Host: internal.example", "Host"},
        {"content-length : 0", "Content-Length"},
        {"Transfer-Encoding: chunked", "Transfer-Encoding"},
        {"CONNECTION: close", "Connection"},
    };
    for (size_t i = 0; i < 4; i++) {
        task = s_task("GET", "/ok", 1);
        s_add_header(task, "X-Fine: yes");
        s_add_header(task, framing[i][0]);
        task = s_run_one(task);
        assert_int_equal(task->run.status, HG_RUN_FAILED);
        char want[128];
        snprintf(want, sizeof want,
                 "header \"%s\" cannot be set by a job (the HTTP client "
                 "sets it)",
                 framing[i][1]);
        assert_string_equal(task->run.error, want);
        hg_http_task_destroy(&task);
    }
    /* A header whose name only starts like one is fine. */
    task = s_task("GET", "/ok", 1);
    s_add_header(task, "Host-Alias: x");
    task = s_run_one(task);
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    hg_http_task_destroy(&task);
}

/* Submit n tasks to path, collect them all; every one must come back exactly
 * once. Returns the wall time taken in ms. */
static int64_t s_run_many(uint32_t max_inflight, int n, const char *path)
{
    zactor_t *exec = hg_http_exec_new(max_inflight, 0);
    assert_non_null(exec);
    char *seen = calloc((size_t) n, 1);
    int64_t t0 = hg_mono_ms();
    for (int i = 0; i < n; i++) {
        hg_http_task_t *task = s_task("GET", path, (uint64_t) i);
        assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    }
    for (int i = 0; i < n; i++) {
        hg_http_task_t *task = s_recv(exec, 20000);
        assert_non_null(task);
        assert_int_equal(task->run.status, HG_RUN_SUCCESS);
        assert_true(task->run.job_id < (uint64_t) n);
        assert_int_equal(seen[task->run.job_id], 0);
        seen[task->run.job_id] = 1;
        hg_http_task_destroy(&task);
    }
    int64_t elapsed = hg_mono_ms() - t0;
    assert_null(s_recv(exec, 100));
    free(seen);
    hg_http_exec_destroy(&exec);
    return elapsed;
}

/* Wait for /slow handlers of earlier tests (whose clients gave up) to end,
 * then start counting the peak afresh. */
static void s_slow_reset(void)
{
    for (int i = 0; i < 300 && atomic_load(&s_slow_now) > 0; i++)
        zclock_sleep(10);
    assert_int_equal(atomic_load(&s_slow_now), 0);
    atomic_store(&s_slow_peak, 0);
}

static void test_200_concurrent_requests(void **state)
{
    s_slow_reset();
    int64_t elapsed = s_run_many(256, 200, "/slow?ms=200");
    /* Serialised would be 40 s; a generous bound only catches that. */
    assert_true(elapsed < 10000);
    assert_true(atomic_load(&s_slow_peak) > 2);
}

static void test_max_inflight_bounds_concurrency(void **state)
{
    s_slow_reset();
    int64_t elapsed = s_run_many(2, 10, "/slow?ms=100");
    assert_true(atomic_load(&s_slow_peak) <= 2);
    assert_true(elapsed >= 450); /* 10 requests, 2 at a time, 100 ms each */
}

static void test_connections_are_reused(void **state)
{
    int before = atomic_load(&s_connections);
    s_run_many(1, 20, "/ok");
    int opened = atomic_load(&s_connections) - before;
    assert_true(opened >= 1);
    assert_true(opened <= 2);
}

static void test_fifo_order(void **state)
{
    zactor_t *exec = hg_http_exec_new(1, 0);
    assert_non_null(exec);
    for (int i = 0; i < 8; i++) {
        hg_http_task_t *task = s_task("GET", "/ok", (uint64_t) i);
        assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    }
    for (int i = 0; i < 8; i++) {
        hg_http_task_t *task = s_recv(exec, 10000);
        assert_non_null(task);
        assert_int_equal(task->run.job_id, (uint64_t) i);
        hg_http_task_destroy(&task);
    }
    hg_http_exec_destroy(&exec);
}

/* Overload: one request in flight, two waiting; the rest come back at
 * once as skipped with a message saying why, every task exactly once, and
 * the executor takes work again once the queue has room. */
static void test_full_queue_skips_runs(void **state)
{
    enum { SUBMITTED = 8, MAX_QUEUED = 2 };
    s_slow_reset();
    zactor_t *exec = hg_http_exec_new(1, MAX_QUEUED);
    assert_non_null(exec);
    hg_http_task_t *task = s_task("GET", "/slow?ms=500", 0);
    assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    for (int i = 0; i < 100 && atomic_load(&s_slow_now) == 0; i++)
        zclock_sleep(10); /* the first request is at the server */
    for (int i = 1; i < SUBMITTED; i++) {
        task = s_task("GET", "/ok", (uint64_t) i);
        assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    }
    char seen[SUBMITTED] = {0};
    int skipped = 0, succeeded = 0, queued_done = 0;
    for (int i = 0; i < SUBMITTED; i++) {
        task = s_recv(exec, 10000);
        assert_non_null(task);
        assert_true(task->run.job_id < SUBMITTED);
        assert_int_equal(seen[task->run.job_id]++, 0);
        if (task->run.status == HG_RUN_SKIPPED) {
            skipped++;
            /* At once: before any request that waited has had its turn. */
            assert_int_equal(queued_done, 0);
            assert_string_equal(task->run.error, "worker overloaded: 2 HTTP runs already waiting");
            assert_true(task->run.job_id >= 1 + MAX_QUEUED);
            assert_true(task->run.finished_ms >= task->run.started_ms);
            assert_int_equal(task->run.http_status, 0);
        } else {
            assert_int_equal(task->run.status, HG_RUN_SUCCESS);
            succeeded++;
            if (task->run.job_id > 0) queued_done++;
        }
        hg_http_task_destroy(&task);
    }
    assert_int_equal(skipped, SUBMITTED - 1 - MAX_QUEUED);
    assert_int_equal(succeeded, 1 + MAX_QUEUED);
    assert_null(s_recv(exec, 50));
    /* Room again: a new run is accepted. */
    task = s_task("GET", "/ok", 99);
    assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    task = s_recv(exec, 10000);
    assert_non_null(task);
    assert_int_equal(task->run.status, HG_RUN_SUCCESS);
    hg_http_task_destroy(&task);
    hg_http_exec_destroy(&exec);
}

static void test_destroy_with_tasks_in_flight(void **state)
{
    /* hg_http_exec_destroy: in flight, queued, and finished-but-unread. */
    zactor_t *exec = hg_http_exec_new(4, 0);
    assert_non_null(exec);
    for (int i = 0; i < 3; i++) {
        hg_http_task_t *task = s_task("GET", "/ok", (uint64_t) i);
        assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    }
    for (int i = 0; i < 10; i++) {
        hg_http_task_t *task = s_task("GET", "/slow?ms=1000", (uint64_t) i);
        assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    }
    zclock_sleep(200); /* the /ok ones are back on the pipe, unread */
    int64_t t0 = hg_mono_ms();
    hg_http_exec_destroy(&exec);
    assert_null(exec);
    assert_true(hg_mono_ms() - t0 < 500);

    /* Plain zactor_destroy with requests still in flight. */
    exec = hg_http_exec_new(4, 0);
    assert_non_null(exec);
    for (int i = 0; i < 6; i++) {
        hg_http_task_t *task = s_task("GET", "/slow?ms=1000", (uint64_t) i);
        assert_int_equal(hg_http_exec_submit(exec, &task), 0);
    }
    zclock_sleep(50);
    zactor_destroy(&exec);
    assert_null(exec);

    hg_http_exec_destroy(&exec); /* safe on NULL */
}

static void test_arguments(void **state)
{
    assert_null(hg_http_exec_new(0, 0));
    hg_http_task_t *task = NULL;
    assert_int_equal(hg_http_exec_submit(NULL, &task), HG_EINVAL);
    zactor_t *exec = hg_http_exec_new(1, 0);
    assert_int_equal(hg_http_exec_submit(exec, NULL), HG_EINVAL);
    assert_int_equal(hg_http_exec_submit(exec, &task), HG_EINVAL);
    hg_http_exec_destroy(&exec);
    hg_http_task_destroy(&task);
    hg_http_task_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_default_method_is_get),
        cmocka_unit_test(test_status_500_fails),
        cmocka_unit_test(test_expected_status_500_succeeds),
        cmocka_unit_test(test_expect_body),
        cmocka_unit_test(test_big_body_is_capped_but_fully_searched),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_hourglass_headers_and_raw_body),
        cmocka_unit_test(test_default_namespace_is_not_named),
        cmocka_unit_test(test_form_is_urlencoded),
        cmocka_unit_test(test_other_methods),
        cmocka_unit_test(test_bad_requests_fail_without_network),
        cmocka_unit_test(test_200_concurrent_requests),
        cmocka_unit_test(test_max_inflight_bounds_concurrency),
        cmocka_unit_test(test_connections_are_reused),
        cmocka_unit_test(test_fifo_order),
        cmocka_unit_test(test_full_queue_skips_runs),
        cmocka_unit_test(test_destroy_with_tasks_in_flight),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, s_server_start, s_server_stop);
}
