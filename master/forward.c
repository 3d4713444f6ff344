/* forward: a standby's server-side forward of a write to the leader (see
 * forward.h for why and the rules). Runs on the API thread of the request:
 * it blocks that thread up to HG_FORWARD_TIMEOUT_MS, never the cluster. */
#include "forward.h"
#include "api.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_URL_MAX 8192 /* leader URL, path and query, escaped */
#define S_SLOW_MS 2000 /* a forward this slow is logged */

typedef struct {
    char *buf;    /* reply body so far */
    size_t len;   /* its bytes */
    bool too_big; /* past HG_FORWARD_REPLY_MAX: the transfer is stopped */
} s_reply_t;

bool hg_forward_wanted(hg_api_ctx_t *c)
{
    const char *ask = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, HG_FORWARD_HEADER);
    const char *hop = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, HG_FORWARDED_HEADER);
    return ask && strcasecmp(ask, "leader") == 0 && !hop;
}

static size_t s_on_data(char *data, size_t size, size_t n, void *arg)
{
    s_reply_t *r = arg;
    size_t len = size * n;
    if (r->len + len > HG_FORWARD_REPLY_MAX) {
        r->too_big = true;
        return 0; /* stops the transfer */
    }
    char *buf = realloc(r->buf, r->len + len + 1);
    if (!buf) return 0;
    memcpy(buf + r->len, data, len);
    r->buf = buf;
    r->len += len;
    r->buf[r->len] = '\0';
    return len;
}

typedef struct {
    CURL *curl; /* to escape with */
    char *url;  /* being built, S_URL_MAX bytes */
    bool first; /* no argument appended yet */
    bool overflow;
} s_query_t;

/* Append one query argument, escaped again (libmicrohttpd unescaped it). */
static enum MHD_Result s_on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    s_query_t *q = cls;
    char *k = curl_easy_escape(q->curl, key, 0);
    char *v = value ? curl_easy_escape(q->curl, value, 0) : NULL;
    size_t used = strlen(q->url);
    int n = k ? snprintf(q->url + used, S_URL_MAX - used, "%s%s%s%s", q->first ? "?" : "&", k,
                         value ? "=" : "", v ? v : "")
              : -1;
    if (n < 0 || (size_t) n >= S_URL_MAX - used) q->overflow = true;
    q->first = false;
    curl_free(k);
    curl_free(v);
    return q->overflow ? MHD_NO : MHD_YES;
}

/* The leader a forward failed with, in the error body and the
 * Hourglass-Leader header. */
static void s_name_leader(hg_api_ctx_t *c, const char *leader_api)
{
    json_object_set_new(json_object_get(c->reply, "error"), "leader", json_string(leader_api));
    snprintf(c->leader, sizeof c->leader, "%s", leader_api);
}

static void s_bad_gateway(hg_api_ctx_t *c, const char *leader_api, const char *why)
{
    /* The operator of the standby sees why its dashboard's write failed
     * (the path only: its query may name a secret's job). */
    hg_warn("api: %s %s could not be passed to the leader at %s: %s", c->method, c->url, leader_api,
            why);
    hg_api__error(c, MHD_HTTP_BAD_GATEWAY, "bad_gateway", NULL,
                  "this master is a standby and could not pass the request to the leader at "
                  "%s: %s",
                  leader_api, why);
    s_name_leader(c, leader_api);
}

/* The leader has the request and gave no answer: whether it carried it
 * out is not known here, and the caller must not take the error for
 * "nothing was done" ("outcome": "unknown"). */
static void s_outcome_unknown(hg_api_ctx_t *c, const char *leader_api)
{
    json_object_set_new(json_object_get(c->reply, "error"), "outcome", json_string("unknown"));
    s_name_leader(c, leader_api);
}

static void s_gateway_timeout(hg_api_ctx_t *c, const char *leader_api)
{
    hg_warn("api: %s %s passed to the leader at %s got no answer within %d ms; the leader may "
            "still carry it out",
            c->method, c->url, leader_api, HG_FORWARD_TIMEOUT_MS);
    hg_api__error(c, MHD_HTTP_GATEWAY_TIMEOUT, "gateway_timeout", NULL,
                  "this master is a standby and passed the request to the leader at %s, which did "
                  "not answer within %d s; it may still carry it out: look before sending it again",
                  leader_api, HG_FORWARD_TIMEOUT_MS / 1000);
    s_outcome_unknown(c, leader_api);
}

/* The connection ended (reset, closed) after the leader had the request
 * and before its answer: a leader killed or restarted then. */
static void s_cut_off(hg_api_ctx_t *c, const char *leader_api, const char *why)
{
    hg_warn("api: %s %s passed to the leader at %s got no answer: %s; the leader may have carried "
            "it out",
            c->method, c->url, leader_api, why);
    hg_api__error(c, MHD_HTTP_BAD_GATEWAY, "bad_gateway", NULL,
                  "this master is a standby and passed the request to the leader at %s, whose "
                  "connection ended before it answered (%s); it may have carried it out: look "
                  "before sending it again",
                  leader_api, why);
    s_outcome_unknown(c, leader_api);
}

/* The leader's URL for this request, or NULL (reply set). Caller frees. */
static char *s_url(hg_api_ctx_t *c, CURL *curl, const char *leader_api)
{
    size_t base = strlen(leader_api);
    while (base > 0 && leader_api[base - 1] == '/')
        base--;
    char *url = calloc(1, S_URL_MAX);
    if (!url) return NULL;
    int n = snprintf(url, S_URL_MAX, "%.*s%s", (int) base, leader_api, c->url);
    s_query_t q = {.curl = curl, .url = url, .first = true};
    if (n < 0 || n >= S_URL_MAX ||
        (MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, s_on_arg, &q), q.overflow)) {
        free(url);
        hg_api__error(c, MHD_HTTP_URI_TOO_LONG, "too_long", NULL, "the request URL is too long");
        return NULL;
    }
    return url;
}

/* Headers of the forwarded request: the caller's token and content type,
 * and the mark that stops a second hop. */
static struct curl_slist *s_headers(hg_api_ctx_t *c)
{
    struct curl_slist *h = curl_slist_append(NULL, HG_FORWARDED_HEADER ": 1");
    h = curl_slist_append(h, "Expect:");
    char line[4200];
    const char *auth =
        MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *type =
        MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (auth && strlen(auth) < 4096) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        h = curl_slist_append(h, line);
    }
    if (type && strlen(type) < 200) {
        snprintf(line, sizeof line, "Content-Type: %s", type);
        h = curl_slist_append(h, line);
    }
    return h;
}

bool hg_forward_to_leader(hg_api_ctx_t *c, const char *leader_api)
{
    if (strncmp(leader_api, "http://", 7) != 0 && strncmp(leader_api, "https://", 8) != 0) {
        s_bad_gateway(c, leader_api, "its API URL is not http:// or https://");
        return false;
    }
    CURL *curl = curl_easy_init();
    char *url = curl ? s_url(c, curl, leader_api) : NULL;
    struct curl_slist *headers = url ? s_headers(c) : NULL;
    if (!curl || !url || !headers) {
        if (!c->reply)
            hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "out of memory");
        curl_slist_free_all(headers);
        free(url);
        if (curl) curl_easy_cleanup(curl);
        return false;
    }
    size_t body_len = 0;
    const uint8_t *body = hg_api__body(c, &body_len);
    s_reply_t reply = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); /* the token goes to the leader only */
    if (strcmp(c->method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L); /* no body follows a HEAD's headers */
    else
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, c->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (body_len > 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *) body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
    } else if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long) HG_FORWARD_CONNECT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) HG_FORWARD_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "hourglass-standby");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    int64_t began = hg_mono_ms();
    CURLcode rc = curl_easy_perform(curl);
    int64_t took = hg_mono_ms() - began;
    long status = 0, sent = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &sent);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (took >= S_SLOW_MS)
        hg_info("api: %s %s passed to the leader at %s took %lld ms (HTTP %ld)", c->method, c->url,
                leader_api, (long long) took, status);
    else
        hg_debug("api: %s %s forwarded to the leader at %s -> %ld", c->method, c->url, leader_api,
                 status);
    free(url); /* holds the query, never logged: it may name a secret's job */
    json_t *doc = reply.buf ? json_loadb(reply.buf, reply.len, 0, NULL) : NULL;
    free(reply.buf);
    if (!doc && rc == CURLE_OK && strcmp(c->method, "HEAD") == 0) doc = json_object();
    bool ok = rc == CURLE_OK && status >= 100 && status <= 599 && doc;
    if (ok) {
        hg_api__reply(c, (int) status, doc);
        return true;
    }
    json_decref(doc);
    if (rc == CURLE_OPERATION_TIMEDOUT && sent > 0) {
        /* The leader has the request and may carry it out yet (a frozen
         * leader did, once it ran again): not "nothing was done". */
        s_gateway_timeout(c, leader_api);
        return false;
    }
    /* Reading the answer failed: the request itself had gone out. */
    if (sent > 0 &&
        (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE)) {
        s_cut_off(c, leader_api, curl_easy_strerror(rc));
        return false;
    }
    s_bad_gateway(c, leader_api,
                  reply.too_big    ? "its reply is too large"
                  : rc != CURLE_OK ? curl_easy_strerror(rc)
                                   : "it did not answer JSON");
    return false;
}
