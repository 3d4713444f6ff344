/* bench_endpoint: the fast local HTTP endpoint of scripts/bench.
 *
 * The Python hit server of the integration tests answers a few thousand
 * requests per second, far below what the http scenario asks of a worker,
 * so the benchmark calls this one instead: libmicrohttpd on one epoll
 * thread, 200 "ok" to any request, keep-alive. For every request that
 * carries Hourglass-Scheduled-At it records the lateness (arrival minus
 * scheduled time, in microseconds) in a histogram of 100 us buckets:
 *
 *   GET  /_stats   {"count":N,"early":E,"p50_us":..,"p99_us":..,
 *                   "p999_us":..,"max_us":..,"min_us":..} since the last reset
 *   POST /_reset   forget everything recorded so far
 *
 * "early" counts requests that arrived before their scheduled time, which
 * Hourglass must never do. Usage: bench_endpoint PORT (prints "ready"). */
#include <inttypes.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_BUCKET_US 100
#define S_BUCKETS   (600 * 1000 * 1000 / S_BUCKET_US) /* 10 minutes */

/* Only the daemon's single polling thread touches these. */
static uint32_t *s_hist;    /* lateness histogram */
static uint64_t s_count;    /* requests with the header since the reset */
static uint64_t s_early;    /* of which arrived before their time */
static int64_t s_max_us;    /* largest lateness */
static int64_t s_min_us;    /* smallest lateness */
static uint64_t s_overflow; /* lateness past the histogram */
static uint64_t s_conns;    /* connections opened since the start (keep-alive reuse) */
static uint64_t s_calls;    /* calls answered since the start */
static volatile sig_atomic_t s_stop;

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* "2026-11-21T10:00:00.123Z" -> Unix microseconds; -1 when malformed. */
static int64_t s_parse_rfc3339_us(const char *text)
{
    struct tm tm = {0};
    int ms = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t) timegm(&tm) * 1000000 + (int64_t) ms * 1000;
}

static void s_reset(void)
{
    memset(s_hist, 0, sizeof *s_hist * S_BUCKETS);
    s_count = s_early = s_overflow = 0;
    s_max_us = 0;
    s_min_us = INT64_MAX;
}

static void s_record(int64_t late_us)
{
    s_count++;
    if (late_us < 0) {
        s_early++;
        late_us = 0;
    }
    if (late_us > s_max_us) s_max_us = late_us;
    if (late_us < s_min_us) s_min_us = late_us;
    int64_t b = late_us / S_BUCKET_US;
    if (b >= S_BUCKETS)
        s_overflow++;
    else
        s_hist[b]++;
}

/* Upper edge of the bucket holding quantile q (the max when past it). */
static int64_t s_quantile_us(double q)
{
    if (s_count == 0) return 0;
    uint64_t want = (uint64_t) ((double) s_count * q);
    if (want >= s_count) want = s_count - 1;
    uint64_t seen = 0;
    for (int64_t b = 0; b < S_BUCKETS; b++) {
        seen += s_hist[b];
        if (seen > want) {
            int64_t edge = (b + 1) * S_BUCKET_US;
            return edge < s_max_us ? edge : s_max_us;
        }
    }
    return s_max_us;
}

static enum MHD_Result s_answer(struct MHD_Connection *conn, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void) cls;
    (void) version;
    (void) upload_data;
    if (*con_cls == NULL) {
        *con_cls = conn; /* headers seen; answer once the body (if any) is in */
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* bodies are ignored */
        return MHD_YES;
    }
    if (strcmp(url, "/_stats") == 0) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"count\":%" PRIu64 ",\"early\":%" PRIu64 ",\"overflow\":%" PRIu64
                 ",\"min_us\":%" PRId64 ",\"p50_us\":%" PRId64 ",\"p99_us\":%" PRId64
                 ",\"p999_us\":%" PRId64 ",\"max_us\":%" PRId64 ",\"connections\":%" PRIu64
                 ",\"calls_all\":%" PRIu64 "}\n",
                 s_count, s_early, s_overflow, s_count ? s_min_us : 0, s_quantile_us(0.50),
                 s_quantile_us(0.99), s_quantile_us(0.999), s_max_us, s_conns, s_calls);
        return s_answer(conn, body);
    }
    if (strcmp(url, "/_reset") == 0 && strcmp(method, "POST") == 0) {
        s_reset();
        return s_answer(conn, "{\"reset\":true}\n");
    }
    const char *sched =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Hourglass-Scheduled-At");
    if (sched) {
        int64_t at = s_parse_rfc3339_us(sched);
        if (at > 0) s_record(s_now_us() - at);
    }
    s_calls++;
    return s_answer(conn, "{\"ok\":true}\n");
}

/* Every connection the workers open: calls per connection tell how well
 * their keep-alive reuse works. */
static void s_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe)
{
    (void) cls;
    (void) conn;
    (void) socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) s_conns++;
}

static void s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_endpoint PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    s_hist = calloc(S_BUCKETS, sizeof *s_hist);
    if (!s_hist || port <= 0 || port > 65535) {
        fprintf(stderr, "bench_endpoint: bad port or out of memory\n");
        return 2;
    }
    s_reset();
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD, (uint16_t) port, NULL, NULL, &s_handler, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int) 4096, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 120,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int) 1024, MHD_OPTION_NOTIFY_CONNECTION,
        s_on_connection, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench_endpoint: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    printf("ready\n");
    fflush(stdout);
    while (!s_stop)
        usleep(100 * 1000);
    MHD_stop_daemon(d);
    free(s_hist);
    return 0;
}
