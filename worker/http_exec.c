/* http_exec: the worker's HTTP executor. One zactor owns one curl multi
 * handle and drives it with curl_multi_socket_action from an epoll loop:
 * curl tells us which fds to watch (s_on_curl_socket) and when to wake it
 * up (s_on_curl_timer_change), epoll tells curl what happened. epoll, not
 * zloop: with thousands of connections, zloop's poll() over every fd and
 * the rebuild of its poll set on each change made the executor's cost grow
 * with the square of the requests in flight. Requests beyond
 * max_inflight wait in a FIFO ring of at most max_queued tasks; a task that
 * finds the ring full is finished at once as skipped (overload). Finished
 * tasks go back on the pipe.
 *
 * curl's own limits: the multi's total connections are capped at
 * max_inflight. Each transfer in flight needs at most one connection, so
 * curl never parks a transfer in its internal pending list (which nothing
 * here could bound or see) and the worker's sockets stay bounded too; an
 * idle cached connection is closed when a new transfer needs its place.
 *
 * Per-request state lives in a slot (s_req_t) that keeps its easy handle
 * and scratch buffers for reuse, so the steady state allocates little more
 * than curl's header list, the output excerpt and the error text. */
#include "http_exec.h"
#include "hg_error.h"
#include "hg_fence_note.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "cancel.h"
#include "overload.h"
#include "task_pipe.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_DEFAULT_TIMEOUT_MS 30000u /* deadline when the task gives none */
#define S_IDLE_MAX           32     /* idle slots (with easy handles) kept for reuse */
#define S_PIPE_BATCH         64     /* pipe commands taken per wake-up, so fds are not starved */
#define S_QUEUE_MIN          64     /* initial capacity of the waiting ring */
#define S_ERROR_MAX          512    /* bytes of an error text we compose */
#define S_FENCE_TICK_MS      100 /* how often requests on the wire are checked against the lease */
#define S_EVENTS             256 /* epoll events taken per wake-up */

typedef struct s_req s_req_t;

struct s_req {
    CURL *easy;                   /* easy handle, reset between requests */
    hg_http_task_t *task;         /* task being run; NULL while idle */
    struct curl_slist *headers;   /* request header lines of this request */
    char *form;                   /* urlencoded form body (kept for reuse) */
    size_t form_cap;              /* bytes allocated at form */
    uint32_t *fail;               /* KMP failure table of expect_body (kept for reuse) */
    size_t fail_cap;              /* entries allocated at fail */
    size_t pat_len;               /* length of expect_body, 0 when no check */
    size_t matched;               /* bytes of expect_body matched at the end of the body so far */
    bool found;                   /* expect_body seen in the body */
    bool oom;                     /* the output buffer could not be allocated */
    bool fenced;                  /* not sent: the lease it was fired under lapsed */
    bool sent;                    /* the pre-request check passed: it is on the wire */
    bool reset;                   /* aborted on the wire: lease lapsed, request unacknowledged */
    curl_socket_t fd;             /* socket curl last watched for this transfer */
    s_req_t *prev;                /* neighbours in the in-flight list, or */
    s_req_t *next;                /* next slot in the idle list */
    char errbuf[CURL_ERROR_SIZE]; /* curl's detailed message for a failure */
};

typedef struct {
    zsock_t *pipe;          /* actor pipe to the owner */
    int epfd;               /* epoll set: the pipe's fd and curl's sockets; -1 if none */
    CURLM *multi;           /* the one multi handle; holds the connection cache */
    int64_t curl_due;       /* monotonic ms when curl wants its timeout call, -1 if never */
    int64_t fence_due;      /* monotonic ms of the next lease check of requests on the wire */
    bool terminated;        /* $TERM received */
    uint32_t max_inflight;  /* bound on requests handed to curl */
    uint32_t max_queued;    /* bound on tasks waiting in the ring */
    uint32_t inflight;      /* requests handed to curl now */
    s_req_t *active;        /* in-flight slots, doubly linked */
    s_req_t *idle;          /* reusable slots, singly linked */
    size_t idle_n;          /* number of idle slots */
    hg_http_task_t **queue; /* ring of tasks waiting for a free slot */
    size_t queue_cap;       /* capacity of the ring */
    size_t queue_head;      /* index of the oldest waiting task */
    size_t queue_len;       /* number of waiting tasks */
} s_exec_t;

static const char *const s_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};

/* ---------------------------------------------------------------- tasks */

hg_http_task_t *hg_http_task_new(void)
{
    return calloc(1, sizeof(hg_http_task_t));
}

void hg_http_task_destroy(hg_http_task_t **task_p)
{
    if (!task_p || !*task_p) return;
    hg_http_task_t *task = *task_p;
    hg_run_clear(&task->run);
    hg_http_spec_clear(&task->http);
    free(task->ns);
    free(task);
    *task_p = NULL;
}

/* --------------------------------------------------------------- results */

/* Set the run's final status and error text (printf-style, may be NULL). */
static void s_run_end(hg_run_t *run, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_run_end(hg_run_t *run, int status, const char *fmt, ...)
{
    run->status = status;
    run->finished_ms = hg_now_ms();
    free(run->error);
    run->error = NULL;
    if (fmt) {
        char text[S_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        run->error = strdup(text); /* NULL on OOM: status still tells the story */
    }
}

static void s_task_free(void *task)
{
    hg_http_task_t *t = task;
    hg_http_task_destroy(&t);
}

/* Hand a finished task back to the owner (see task_pipe.h). */
static void s_return(s_exec_t *self, hg_http_task_t *task)
{
    hg_task_pipe_return(self->pipe, task, s_task_free);
}

static bool s_status_expected(const hg_http_spec_t *http, long status)
{
    if (http->expect_n == 0) return status >= 200 && status <= 299;
    for (size_t i = 0; i < http->expect_n; i++)
        if (http->expect[i] == status) return true;
    return false;
}

/* "2xx" or "200, 204" (first few codes) for an error text. */
static void s_expected_text(const hg_http_spec_t *http, char *buf, size_t size)
{
    if (http->expect_n == 0) {
        snprintf(buf, size, "2xx");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < http->expect_n && i < 8 && used < size; i++)
        used += (size_t) snprintf(buf + used, size - used, "%s%u", i ? ", " : "", http->expect[i]);
    if (http->expect_n > 8 && used < size) snprintf(buf + used, size - used, ", ...");
}

/* Judge a request curl has finished with code. */
static void s_judge(s_req_t *req, CURLcode code)
{
    hg_http_task_t *task = req->task;
    hg_run_t *run = &task->run;
    long status = 0;
    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    run->http_status = (int32_t) status;
    const char *detail = req->errbuf[0] ? req->errbuf : curl_easy_strerror(code);

    /* What happens to the scheduled time next is the master's to say: it
     * knows who holds the job now and appends its decision (refire.h). */
    if (req->fenced) {
        s_run_end(run, HG_RUN_SKIPPED, "%s", HG_FENCE_NOT_SENT);
    } else if (req->reset) {
        s_run_end(run, HG_RUN_FAILED, "%s", HG_FENCE_RESET);
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        uint32_t timeout_ms = task->timeout_ms ? task->timeout_ms : S_DEFAULT_TIMEOUT_MS;
        s_run_end(run, HG_RUN_TIMEOUT, "timed out after %u ms", timeout_ms);
    } else if (code == CURLE_WRITE_ERROR && req->oom) {
        s_run_end(run, HG_RUN_FAILED, "out of memory reading the response");
    } else if (code == CURLE_COULDNT_CONNECT) {
        long os_errno = 0;
        curl_easy_getinfo(req->easy, CURLINFO_OS_ERRNO, &os_errno);
        s_run_end(run, HG_RUN_FAILED, "%s: %s",
                  os_errno == ECONNREFUSED ? "connection refused" : "could not connect", detail);
        run->retry_reason = strdup("connect"); /* retry class hint (hg_retry_classify) */
    } else if (code == CURLE_COULDNT_RESOLVE_HOST) {
        s_run_end(run, HG_RUN_FAILED, "%s: %s", curl_easy_strerror(code), detail);
        run->retry_reason = strdup("connect");
    } else if (code != CURLE_OK) {
        s_run_end(run, HG_RUN_FAILED, "%s: %s", curl_easy_strerror(code), detail);
    } else if (!s_status_expected(&task->http, status)) {
        char expected[64];
        s_expected_text(&task->http, expected, sizeof(expected));
        s_run_end(run, HG_RUN_FAILED, "unexpected HTTP status %ld (expected %s)", status, expected);
        /* Retry-After (seconds or a date; curl reads both) for the retry
         * policy, handed over in retry_at_ms as a delay (hg_proto.h). */
        curl_off_t after = 0;
        if ((status == 429 || status == 503) &&
            curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
            run->retry_at_ms = (int64_t) (after > 86400 ? 86400 : after) * 1000;
    } else if (req->pat_len && !req->found) {
        s_run_end(run, HG_RUN_FAILED, "response body does not contain \"%.200s\"",
                  task->http.expect_body);
    } else {
        s_run_end(run, HG_RUN_SUCCESS, NULL);
    }
    /* Give back the unused part of the excerpt buffer: the record may wait
     * a while for its ACK. */
    hg_blob_t *out = &run->output;
    if (out->data && out->len < HG_HTTP_OUTPUT_MAX) {
        uint8_t *shrunk = realloc(out->data, out->len);
        if (shrunk) out->data = shrunk;
    }
}

/* ------------------------------------------------------------ body reading */

/* Build the KMP failure table for pat so the body can be searched as it
 * streams past, without keeping more than the excerpt. */
static int s_matcher_init(s_req_t *req, const char *pat)
{
    size_t m = strlen(pat);
    req->pat_len = m;
    req->matched = 0;
    req->found = m == 0;
    if (m == 0) return 0;
    if (req->fail_cap < m) {
        uint32_t *fail = realloc(req->fail, m * sizeof(*fail));
        if (!fail) return HG_ENOMEM;
        req->fail = fail;
        req->fail_cap = m;
    }
    req->fail[0] = 0;
    size_t k = 0;
    for (size_t i = 1; i < m; i++) {
        while (k > 0 && pat[i] != pat[k])
            k = req->fail[k - 1];
        if (pat[i] == pat[k]) k++;
        req->fail[i] = (uint32_t) k;
    }
    return 0;
}

static void s_matcher_feed(s_req_t *req, const char *data, size_t len)
{
    const char *pat = req->task->http.expect_body;
    size_t k = req->matched;
    for (size_t i = 0; i < len; i++) {
        while (k > 0 && data[i] != pat[k])
            k = req->fail[k - 1];
        if (data[i] == pat[k] && ++k == req->pat_len) {
            req->found = true;
            return;
        }
    }
    req->matched = k;
}

static size_t s_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    s_req_t *req = arg;
    size_t len = size * nmemb;
    hg_blob_t *out = &req->task->run.output;
    if (out->len < HG_HTTP_OUTPUT_MAX && len > 0) {
        if (!out->data) {
            out->data = malloc(HG_HTTP_OUTPUT_MAX);
            if (!out->data) {
                req->oom = true;
                return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
            }
        }
        size_t take = HG_HTTP_OUTPUT_MAX - out->len;
        if (take > len) take = len;
        memcpy(out->data + out->len, data, take);
        out->len += take;
    }
    if (req->pat_len && !req->found) s_matcher_feed(req, data, len);
    return len;
}

/* ------------------------------------------------------------ request setup */

static const char *s_method_canonical(const char *method)
{
    if (!method || !*method) return "GET";
    for (size_t i = 0; i < sizeof(s_methods) / sizeof(s_methods[0]); i++)
        if (strcasecmp(method, s_methods[i]) == 0) return s_methods[i];
    return NULL;
}

static bool s_has_header(const hg_http_spec_t *http, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < http->headers_n; i++)
        if (strncasecmp(http->headers[i], name, n) == 0 && http->headers[i][n] == ':') return true;
    return false;
}

/* Why line cannot be sent, when it sets a framing header (Host,
 * Content-Length, Transfer-Encoding, Connection), else NULL. The master refuses such jobs
 * (master/job.c); this is the second line, for a job that reached the
 * worker some other way: curl derives them from the URL and the body, and
 * one set by hand could send a request other than the URL says, or
 * smuggle a second one through a proxy. */
static const char *s_framing_header(const char *line)
{
    static const char *const names[] = {"Host", "Content-Length", "Transfer-Encoding",
                                        "Connection"};
#define S_FRAMING_WHY(h) "header \"" h "\" cannot be set by a job (the HTTP client sets it)"
    static const char *const why[] = {S_FRAMING_WHY("Host"), S_FRAMING_WHY("Content-Length"),
                                      S_FRAMING_WHY("Transfer-Encoding"),
                                      S_FRAMING_WHY("Connection")};
#undef S_FRAMING_WHY
    size_t n = strcspn(line, ":");
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncasecmp(line, names[i], n) == 0) return why[i];
    return NULL;
}

static int s_append_header(s_req_t *req, const char *line)
{
    struct curl_slist *list = curl_slist_append(req->headers, line);
    if (!list) return HG_ENOMEM;
    req->headers = list;
    return 0;
}

/* Encode the form fields as key=value&... into req->form. */
static int s_form_encode(s_req_t *req, const hg_http_spec_t *http, size_t *len_out)
{
    size_t len = 0;
    for (size_t i = 0; i < http->form_n; i++) {
        const char *parts[2] = {http->form[i].key ? http->form[i].key : "",
                                http->form[i].value ? http->form[i].value : ""};
        for (int p = 0; p < 2; p++) {
            char *esc = curl_easy_escape(req->easy, parts[p], 0);
            if (!esc) return HG_ENOMEM;
            size_t n = strlen(esc);
            if (len + n + 2 > req->form_cap) {
                size_t cap = req->form_cap ? req->form_cap : 256;
                while (cap < len + n + 2)
                    cap *= 2;
                char *form = realloc(req->form, cap);
                if (!form) {
                    curl_free(esc);
                    return HG_ENOMEM;
                }
                req->form = form;
                req->form_cap = cap;
            }
            if (p == 0 && i > 0) req->form[len++] = '&';
            memcpy(req->form + len, esc, n);
            len += n;
            if (p == 0) req->form[len++] = '=';
            curl_free(esc);
        }
    }
    *len_out = len;
    return 0;
}

static int s_on_curl_closesocket(void *arg, curl_socket_t fd);

/* curl has a connection and is about to send the request: only if the
 * lease the run was fired under still holds (see hg_http_fence_t). */
static bool s_fence_holds(const hg_http_task_t *task)
{
    const hg_http_fence_t *fence = task->fence;
    if (!fence) return true;
    /* until first, then generation: see hg_http_fence_t. */
    int64_t until = atomic_load(&fence->until_ms);
    uint64_t generation = atomic_load(&fence->generation);
    return generation == task->fence_generation && hg_mono_ms() < until;
}

static int s_on_curl_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip,
                            int conn_primary_port, int conn_local_port)
{
    s_req_t *req = arg;
    if (s_fence_holds(req->task)) {
        req->sent = true;
        return CURL_PREREQFUNC_OK;
    }
    req->fenced = true;
    return CURL_PREREQFUNC_ABORT;
}

/* Configure req->easy for req->task. Returns NULL or the reason the request
 * cannot be made (the task then fails without touching the network). */
static const char *s_req_setup(s_exec_t *self, s_req_t *req)
{
    hg_http_task_t *task = req->task;
    hg_http_spec_t *http = &task->http;
    CURL *easy = req->easy;

    const char *method = s_method_canonical(http->method);
    if (!method) return "unsupported HTTP method";
    if (!http->url || !*http->url) return "missing URL";
    if (http->expect_body && s_matcher_init(req, http->expect_body) != 0) return "out of memory";

    /* Hourglass headers first, so the job's own lines cannot hide them. */
    char line[HG_PROTO_MAX_STR + 64];
    const char *name = task->run.job_name ? task->run.job_name : "";
    if (task->ns && *task->ns && strcmp(task->ns, "default") != 0)
        snprintf(line, sizeof(line), "Hourglass-Job: %s/%s", task->ns, name);
    else
        snprintf(line, sizeof(line), "Hourglass-Job: %s", name);
    if (s_append_header(req, line) != 0) return "out of memory";
    char id[HG_RUNID_STR_LEN + 1];
    hg_runid_format(task->run.run_id, id);
    snprintf(line, sizeof(line), "Hourglass-Run-Id: %s", id);
    if (s_append_header(req, line) != 0) return "out of memory";
    char when[40];
    hg_time_format_ms(task->run.scheduled_ms, when, sizeof(when));
    snprintf(line, sizeof(line), "Hourglass-Scheduled-At: %s", when);
    if (s_append_header(req, line) != 0) return "out of memory";
    snprintf(line, sizeof(line), "Hourglass-Attempt: %u", task->run.attempt);
    if (s_append_header(req, line) != 0) return "out of memory";
    if (task->shard_total && task->shard_index < task->shard_total) {
        snprintf(line, sizeof(line), "Hourglass-Shard: %u/%u", task->shard_index,
                 task->shard_total);
        if (s_append_header(req, line) != 0) return "out of memory";
    }
    for (size_t i = 0; i < http->headers_n; i++) {
        const char *h = http->headers[i];
        if (!h || strpbrk(h, "\r\n") || !strchr(h, ':')) return "invalid header line";
        const char *framing = s_framing_header(h);
        if (framing) return framing;
        if (s_append_header(req, h) != 0) return "out of memory";
    }

    bool has_body = http->form_n > 0 || http->body.len > 0;
    /* curl would hold a larger body back for "100 Continue", which many
     * servers never send: that costs a second per request. */
    if (has_body && !s_has_header(http, "Expect") && s_append_header(req, "Expect:") != 0)
        return "out of memory";

    curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
    curl_easy_setopt(easy, CURLOPT_URL, http->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     (long) (task->timeout_ms ? task->timeout_ms : S_DEFAULT_TIMEOUT_MS));
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->errbuf);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, s_on_curl_closesocket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, self);
#if LIBCURL_VERSION_NUM >= 0x075000
    curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, s_on_curl_prereq);
    curl_easy_setopt(easy, CURLOPT_PREREQDATA, req);
#else
#error "libcurl 7.80 or newer is needed (CURLOPT_PREREQFUNCTION fences requests by lease)"
#endif
#ifdef HG_VERSION
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "hourglass-worker/" HG_VERSION);
#endif

    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (has_body || strcmp(method, "POST") == 0) {
        const char *data = (const char *) http->body.data;
        size_t len = http->body.len;
        if (http->form_n > 0) {
            if (s_form_encode(req, http, &len) != 0) return "out of memory";
            data = req->form;
        }
        /* POSTFIELDS does not copy: the task (or slot) outlives the transfer. */
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, data ? data : "");
        if (strcmp(method, "POST") != 0) curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    }
    return NULL;
}

/* ------------------------------------------------------------------ slots */

static s_req_t *s_req_take(s_exec_t *self)
{
    s_req_t *req = self->idle;
    if (req) {
        self->idle = req->next;
        self->idle_n--;
    } else {
        req = calloc(1, sizeof(*req));
        if (!req) return NULL;
        req->easy = curl_easy_init();
        if (!req->easy) {
            free(req);
            return NULL;
        }
    }
    req->prev = req->next = NULL;
    req->errbuf[0] = '\0';
    req->pat_len = 0;
    req->matched = 0;
    req->found = false;
    req->oom = false;
    req->fenced = false;
    req->sent = false;
    req->reset = false;
    req->fd = CURL_SOCKET_BAD;
    return req;
}

static void s_req_free(s_req_t *req)
{
    curl_easy_cleanup(req->easy);
    curl_slist_free_all(req->headers);
    free(req->form);
    free(req->fail);
    free(req);
}

/* Return a slot whose easy handle is not (or no longer) in the multi. */
static void s_req_release(s_exec_t *self, s_req_t *req)
{
    curl_slist_free_all(req->headers);
    req->headers = NULL;
    req->task = NULL;
    if (self->idle_n >= S_IDLE_MAX) {
        s_req_free(req);
        return;
    }
    /* Reset now rather than on reuse: no option may keep pointing at the
     * finished task's memory. Connections stay in the multi's cache. */
    curl_easy_reset(req->easy);
    req->next = self->idle;
    self->idle = req;
    self->idle_n++;
}

static void s_active_unlink(s_exec_t *self, s_req_t *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else
        self->active = req->next;
    if (req->next) req->next->prev = req->prev;
    req->prev = req->next = NULL;
    self->inflight--;
}

/* ------------------------------------------------------------ scheduling */

/* Hand a task to curl now, or finish it at once when it cannot start. */
static void s_start(s_exec_t *self, hg_http_task_t *task)
{
    /* The start the agent reported (RUN_STARTED) stays the run's start:
     * the finished record may write the whole row when the start row was
     * never written (master/cluster_startdefer.c), and the history must
     * not say two different things of one run. */
    if (!task->run.started_ms) task->run.started_ms = hg_now_ms();
    task->run.status = HG_RUN_RUNNING;
    s_req_t *req = s_req_take(self);
    if (!req) {
        s_run_end(&task->run, HG_RUN_FAILED, "out of memory starting the request");
        s_return(self, task);
        return;
    }
    req->task = task;
    const char *why = s_req_setup(self, req);
    if (!why && curl_multi_add_handle(self->multi, req->easy) != CURLM_OK)
        why = "could not start the request";
    if (why) {
        s_run_end(&task->run, HG_RUN_FAILED, "%s", why);
        s_req_release(self, req);
        s_return(self, task);
        return;
    }
    req->next = self->active;
    if (self->active) self->active->prev = req;
    self->active = req;
    self->inflight++;
}

/* Start waiting tasks while there is room, oldest first. */
static void s_pump(s_exec_t *self)
{
    while (self->queue_len > 0 && self->inflight < self->max_inflight) {
        hg_http_task_t *task = self->queue[self->queue_head];
        self->queue_head = (self->queue_head + 1) % self->queue_cap;
        self->queue_len--;
        s_start(self, task);
    }
}

static int s_enqueue(s_exec_t *self, hg_http_task_t *task)
{
    if (self->queue_len == self->queue_cap) {
        size_t cap = self->queue_cap ? self->queue_cap * 2 : S_QUEUE_MIN;
        hg_http_task_t **ring = malloc(cap * sizeof(*ring));
        if (!ring) return HG_ENOMEM;
        for (size_t i = 0; i < self->queue_len; i++)
            ring[i] = self->queue[(self->queue_head + i) % self->queue_cap];
        free(self->queue);
        self->queue = ring;
        self->queue_cap = cap;
        self->queue_head = 0;
    }
    self->queue[(self->queue_head + self->queue_len) % self->queue_cap] = task;
    self->queue_len++;
    return 0;
}

/* Collect every transfer curl has finished, then refill the slots. */
static void s_collect(s_exec_t *self)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(self->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        char *private = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private);
        s_req_t *req = (s_req_t *) private;
        s_judge(req, code);
        curl_multi_remove_handle(self->multi, easy); /* msg is invalid from here */
        hg_http_task_t *task = req->task;
        s_active_unlink(self, req);
        s_req_release(self, req);
        s_return(self, task);
    }
    s_pump(self);
}

/* A request on the wire whose lease has lapsed, with no answer yet and
 * bytes the endpoint's TCP has not acknowledged, is stuck in a broken
 * network: if it got through after the link healed, it would arrive after
 * the job's next owner fired the same time. Reset its connection (linger
 * 0: the kernel drops what it still holds and sends RST), so those bytes
 * are never delivered. A request the endpoint has acknowledged is left to
 * finish: the endpoint has it, and it may just be slow to answer. */
static bool s_stuck_on_wire(s_req_t *req)
{
    if (!req->sent || s_fence_holds(req->task)) return false;
    long status = 0;
    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 0) return false;
    if (req->fd == CURL_SOCKET_BAD) return false;
    int unacked = 0;
    if (ioctl(req->fd, SIOCOUTQ, &unacked) != 0 || unacked <= 0) return false;
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    setsockopt(req->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    return true;
}

static void s_fence_tick(s_exec_t *self)
{
    bool aborted = false;
    for (s_req_t *req = self->active, *next; req; req = next) {
        next = req->next;
        if (!s_stuck_on_wire(req)) continue;
        req->reset = true;
        s_judge(req, CURLE_ABORTED_BY_CALLBACK);
        /* An unfinished transfer's connection is closed, not cached. */
        curl_multi_remove_handle(self->multi, req->easy);
        hg_http_task_t *task = req->task;
        s_active_unlink(self, req);
        s_req_release(self, req);
        s_return(self, task);
        aborted = true;
    }
    if (aborted) s_pump(self);
}

/* Free every task still held (queued or in flight): the executor is stopping
 * and the owner is not reading any more (see http_exec.h). */
static void s_drop_all(s_exec_t *self)
{
    while (self->active) {
        s_req_t *req = self->active;
        curl_multi_remove_handle(self->multi, req->easy);
        hg_http_task_t *task = req->task;
        s_active_unlink(self, req);
        s_req_release(self, req);
        hg_http_task_destroy(&task);
    }
    while (self->queue_len > 0) {
        hg_http_task_t *task = self->queue[self->queue_head];
        self->queue_head = (self->queue_head + 1) % self->queue_cap;
        self->queue_len--;
        hg_http_task_destroy(&task);
    }
}

/* ------------------------------------------------------- curl <-> epoll */

/* One socket epoll reported ready. */
static void s_on_fd_ready(s_exec_t *self, int fd, uint32_t events)
{
    int mask = 0;
    if (events & EPOLLIN) mask |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
    /* POLLHUP comes with readable data when a server closes after its
     * response: curl must see both. */
    if (events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
    int running;
    curl_multi_socket_action(self->multi, fd, mask, &running);
}

/* curl wants fd watched for what (or no longer watched). socket_arg is
 * what we assigned when the fd was first added: non-NULL means the fd is
 * in the epoll set already. */
static int s_on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *socket_arg)
{
    s_exec_t *self = arg;
    if (self->epfd < 0) return what == CURL_POLL_REMOVE ? 0 : -1;
    if (what == CURL_POLL_REMOVE) {
        (void) epoll_ctl(self->epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(self->multi, fd, NULL);
        return 0;
    }
    /* Remember the transfer's socket (CURLINFO_ACTIVESOCKET only knows it
     * once the transfer is over): the lease check may have to reset it. */
    char *private = NULL;
    if (easy && curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private) == CURLE_OK && private)
        ((s_req_t *) private)->fd = fd;
    struct epoll_event ev = {.events = 0, .data.fd = fd};
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    int op = socket_arg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(self->epfd, op, fd, &ev) != 0) {
        /* The fd number came back with a new socket, or curl's note went
         * stale: the other operation is the right one. */
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(self->epfd, op, fd, &ev) != 0) return -1;
    }
    curl_multi_assign(self->multi, fd, self);
    return 0;
}

/* curl closes a socket: take it out of the epoll set first (closing does
 * that too, unless the fd was duplicated). */
static int s_on_curl_closesocket(void *arg, curl_socket_t fd)
{
    s_exec_t *self = arg;
    if (self->epfd >= 0) (void) epoll_ctl(self->epfd, EPOLL_CTL_DEL, fd, NULL);
    return close(fd);
}

/* curl wants to be called back after timeout_ms (-1: never). 0 means "as
 * soon as possible" and must not run curl from inside this callback: the
 * loop calls it before it next sleeps. */
static int s_on_curl_timer_change(CURLM *multi, long timeout_ms, void *arg)
{
    s_exec_t *self = arg;
    (void) multi;
    self->curl_due = timeout_ms < 0 ? -1 : hg_mono_ms() + timeout_ms;
    return 0;
}

/* curl's timeout, when due. */
static void s_curl_timeout(s_exec_t *self)
{
    if (self->curl_due < 0 || hg_mono_ms() < self->curl_due) return;
    self->curl_due = -1; /* curl may ask for a new one from inside the call */
    int running;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

/* CANCEL (cancel.h): end the matching tasks, in flight (the transfer is
 * removed, its connection closed) or waiting. */
static void s_cancel(s_exec_t *self, const hg_cancel_cmd_t *c)
{
    bool any = false;
    for (s_req_t *req = self->active, *next; req; req = next) {
        next = req->next;
        if (!hg_cancel_matches(c, &req->task->run)) continue;
        curl_multi_remove_handle(self->multi, req->easy);
        hg_http_task_t *task = req->task;
        hg_cancel_end(c, &task->run);
        s_active_unlink(self, req);
        s_req_release(self, req);
        s_return(self, task);
        any = true;
    }
    size_t kept = 0;
    for (size_t i = 0; i < self->queue_len; i++) {
        hg_http_task_t *task = self->queue[(self->queue_head + i) % self->queue_cap];
        if (hg_cancel_matches(c, &task->run)) {
            hg_cancel_end(c, &task->run);
            s_return(self, task);
        } else {
            self->queue[(self->queue_head + kept++) % self->queue_cap] = task;
        }
    }
    self->queue_len = kept;
    if (any) s_pump(self);
}

/* ------------------------------------------------------------------ pipe */

/* One command from the owner. Returns -1 on $TERM. */
static int s_on_command(void *arg, zmsg_t *msg)
{
    s_exec_t *self = arg;
    char *command = zmsg_popstr(msg);
    int rc = 0;
    if (!command) {
        /* Not ours (empty message); nothing to answer. */
    } else if (streq(command, "RUN")) {
        hg_http_task_t *task = hg_task_pipe_pop(msg);
        if (task && self->terminated) {
            s_run_end(&task->run, HG_RUN_FAILED, "worker shutting down");
            s_return(self, task);
        } else if (task && self->queue_len >= self->max_queued) {
            /* Overload: refuse now rather than grow without limit. The run
             * is recorded, so nothing disappears silently. */
            task->run.started_ms = hg_now_ms();
            s_run_end(&task->run, HG_RUN_SKIPPED, HG_OVERLOADED ": %zu HTTP runs already waiting",
                      self->queue_len);
            s_return(self, task);
        } else if (task && s_enqueue(self, task) != 0) {
            s_run_end(&task->run, HG_RUN_FAILED, "out of memory queueing the request");
            s_return(self, task);
        }
        s_pump(self);
    } else if (streq(command, "CANCEL")) {
        hg_cancel_cmd_t c;
        if (hg_cancel_parse(msg, &c)) s_cancel(self, &c);
    } else if (streq(command, "STOP")) {
        s_drop_all(self);
        zsock_signal(self->pipe, 0);
    } else if (streq(command, "$TERM")) {
        self->terminated = true;
        rc = -1;
    }
    zstr_free(&command);
    return rc;
}

/* ----------------------------------------------------------------- actor */

static void s_exec_free(s_exec_t *self)
{
    s_drop_all(self);
    /* The multi closes cached connections here and may call the socket,
     * close-socket and timer callbacks: the epoll set must still exist. */
    curl_multi_cleanup(self->multi);
    while (self->idle) {
        s_req_t *req = self->idle;
        self->idle = req->next;
        s_req_free(req);
    }
    free(self->queue);
    if (self->epfd >= 0) close(self->epfd);
    free(self);
}

/* How long the loop may sleep: until curl's timeout or the lease check,
 * not at all while commands wait on the pipe. */
static int s_wait_ms(s_exec_t *self, bool pipe_ready)
{
    if (pipe_ready) return 0;
    int64_t now = hg_mono_ms(), due = self->fence_due;
    if (self->curl_due >= 0 && self->curl_due < due) due = self->curl_due;
    return due <= now ? 0 : (int) (due - now);
}

/* The reactor: the owner's commands, curl's sockets and timeout, and the
 * lease check, until $TERM. false when it failed (not on $TERM). The
 * pipe's fd only signals edges (ZMQ_FD): its readiness is read from
 * ZMQ_EVENTS after every wake-up. */
static bool s_run(s_exec_t *self)
{
    struct epoll_event events[S_EVENTS];
    while (!self->terminated) {
        bool pipe_ready = zsock_events(self->pipe) & ZMQ_POLLIN;
        int n = epoll_wait(self->epfd, events, S_EVENTS, s_wait_ms(self, pipe_ready));
        if (n < 0 && errno != EINTR) return false;
        for (int i = 0; i < n; i++)
            if (events[i].data.fd != -1) s_on_fd_ready(self, events[i].data.fd, events[i].events);
        s_curl_timeout(self);
        s_collect(self);
        if (hg_mono_ms() >= self->fence_due) {
            self->fence_due = hg_mono_ms() + S_FENCE_TICK_MS;
            s_fence_tick(self);
        }
        if (zsock_events(self->pipe) & ZMQ_POLLIN &&
            hg_task_pipe_commands(self->pipe, S_PIPE_BATCH, s_on_command, self) == -1 &&
            !self->terminated)
            return false;
    }
    return true;
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_exec_t *self = arg;
    self->pipe = pipe;
    self->epfd = epoll_create1(EPOLL_CLOEXEC);
    int pipe_fd = zsock_fd(pipe);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = -1}; /* -1: the pipe */
    if (self->epfd < 0 || epoll_ctl(self->epfd, EPOLL_CTL_ADD, pipe_fd, &ev) != 0) {
        if (self->epfd >= 0) close(self->epfd);
        self->epfd = -1; /* the callbacks cope with no epoll set */
        zsock_signal(pipe, 0);
        goto wait_term; /* nothing runs; every RUN fails at once */
    }
    self->fence_due = hg_mono_ms() + S_FENCE_TICK_MS;
    /* Only $TERM ends us: on SIGINT/SIGTERM the owner decides when to stop. */
    zsock_signal(pipe, 0);
    (void) s_run(self); /* false: wait_term below serves the owner until $TERM */

wait_term:
    if (!self->terminated) {
        /* The reactor stopped without $TERM: hold no more requests, and
         * answer the owner until it sends $TERM, so zactor_destroy works. */
        s_drop_all(self);
        self->terminated = true;
        while (true) {
            zmsg_t *msg = zmsg_recv(pipe);
            if (!msg) {
                if (zmq_errno() == EINTR) continue;
                break;
            }
            int rc = s_on_command(self, msg);
            zmsg_destroy(&msg);
            if (rc == -1) break;
        }
    }
    s_exec_free(self);
    curl_global_cleanup();
}

zactor_t *hg_http_exec_new(uint32_t max_inflight, uint32_t max_queued)
{
    if (max_inflight == 0) return NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
    s_exec_t *self = calloc(1, sizeof(*self));
    if (self) self->multi = curl_multi_init();
    if (!self || !self->multi) {
        free(self);
        curl_global_cleanup();
        return NULL;
    }
    self->epfd = -1;
    self->curl_due = -1;
    self->max_inflight = max_inflight;
    self->max_queued = max_queued ? max_queued : HG_HTTP_QUEUE_DEFAULT;
    curl_multi_setopt(self->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) max_inflight);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, s_on_curl_socket);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, s_on_curl_timer_change);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
    zactor_t *exec = zactor_new(s_actor, self);
    if (!exec) {
        curl_multi_cleanup(self->multi);
        free(self);
        curl_global_cleanup();
    }
    return exec;
}

int hg_http_exec_submit(zactor_t *exec, hg_http_task_t **task)
{
    if (!task) return HG_EINVAL;
    int rc = hg_task_pipe_submit(exec, *task);
    if (rc == 0) *task = NULL;
    return rc;
}

int hg_http_exec_cancel(zactor_t *exec, uint64_t job_id, const uint8_t *run_id, const char *why)
{
    return hg_cancel_send(exec, job_id, run_id, why);
}

void hg_http_exec_destroy(zactor_t **exec)
{
    hg_task_pipe_destroy(exec, s_task_free);
}
