/* client: REST calls to the master over libcurl + jansson (see client.h). */
#include "client.h"
#include "hg_error.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_RESPONSE    (64u << 20) /* the API pages its lists; more than this is not an answer */
#define S_CONNECT_MS      5000L       /* a master that does not accept in 5 s is not there */
#define S_DEFAULT_TIMEOUT 30000L

#define S_MAX_URLS 16 /* masters in one --master list */

struct hg_client {
    char *base_url;               /* the URL list as given */
    char *list;                   /* copy of base_url split in place at the commas */
    const char *urls[S_MAX_URLS]; /* each master's base URL, no trailing slash */
    size_t urls_n;                /* entries in urls (>= 1) */
    size_t current;               /* index of the URL to try first */
    char *leader;    /* URL a standby pointed to and that answered, tried first; or NULL */
    char *auth;      /* "Authorization: Bearer T" header, or NULL */
    CURL *curl;      /* reused easy handle: keeps the connection alive between calls */
    long timeout_ms; /* whole-request limit */
};

/* Growing buffer for the response body. */
typedef struct {
    char *data;     /* NUL-terminated body so far */
    size_t len;     /* bytes in data */
    bool too_large; /* stopped at S_MAX_RESPONSE */
} s_body_t;

static size_t s_on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s_body_t *body = userdata;
    size_t n = size * nmemb;
    if (body->len + n > S_MAX_RESPONSE) {
        body->too_large = true;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    char *grown = realloc(body->data, body->len + n + 1);
    if (!grown) return 0;
    memcpy(grown + body->len, ptr, n);
    body->len += n;
    grown[body->len] = '\0';
    body->data = grown;
    return n;
}

hg_client_t *hg_client_new(const char *base_url, const char *token)
{
    hg_client_t *client = calloc(1, sizeof *client);
    if (!client) return NULL;
    client->timeout_ms = S_DEFAULT_TIMEOUT;
    client->base_url = strdup(base_url);
    client->list = strdup(base_url);
    if (client->list) {
        char *save = NULL;
        for (char *tok = strtok_r(client->list, ",", &save); tok && client->urls_n < S_MAX_URLS;
             tok = strtok_r(NULL, ",", &save))
            if (*tok) client->urls[client->urls_n++] = tok;
    }
    client->curl = curl_easy_init();
    if (token && *token) {
        size_t size = strlen(token) + sizeof "Authorization: Bearer ";
        client->auth = malloc(size);
        if (client->auth) snprintf(client->auth, size, "Authorization: Bearer %s", token);
    }
    if (!client->base_url || !client->list || client->urls_n == 0 || !client->curl ||
        (token && *token && !client->auth))
        hg_client_destroy(&client);
    return client;
}

void hg_client_destroy(hg_client_t **client)
{
    if (!client || !*client) return;
    hg_client_t *c = *client;
    if (c->curl) curl_easy_cleanup(c->curl);
    free(c->base_url);
    free(c->list);
    free(c->leader);
    free(c->auth);
    free(c);
    *client = NULL;
}

void hg_client_set_timeout_ms(hg_client_t *client, long timeout_ms)
{
    client->timeout_ms = timeout_ms;
}

char *hg_client_escape(hg_client_t *client, const char *text)
{
    char *escaped = curl_easy_escape(client->curl, text, 0);
    if (!escaped) return NULL;
    char *copy = strdup(escaped); /* callers free() it, not curl_free() */
    curl_free(escaped);
    return copy;
}

/* base + path + "?k=v&..." with values encoded; NULL on allocation failure. */
static char *s_url(hg_client_t *client, const char *base, const char *path, const hg_query_t *query,
                   size_t query_n)
{
    char *url = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&url, &size);
    if (!f) return NULL;
    fprintf(f, "%s%s", base, path);
    char sep = strchr(path, '?') ? '&' : '?';
    bool ok = true;
    for (size_t i = 0; i < query_n; i++) {
        if (!query[i].value) continue;
        char *value = hg_client_escape(client, query[i].value);
        if (!value) {
            ok = false;
            break;
        }
        fprintf(f, "%c%s=%s", sep, query[i].key, value);
        sep = '&';
        free(value);
    }
    if (fclose(f) != 0 || !ok) {
        free(url);
        return NULL;
    }
    return url;
}

/* Copy text into err as one line of at most max_chars, for quoting a body
 * that is not JSON. */
static void s_one_line(const char *text, size_t max_chars, char *out, size_t out_size)
{
    size_t n = 0;
    for (; text[n] && n < max_chars && n + 1 < out_size; n++) {
        unsigned char ch = (unsigned char) text[n];
        out[n] = ch < 0x20 || ch == 0x7F ? ' ' : (char) ch;
    }
    out[n < out_size ? n : out_size - 1] = '\0';
}

void hg_client_error_message(const json_t *envelope, long http_status, char *err, size_t err_size)
{
    const json_t *error = json_is_object(envelope) ? json_object_get(envelope, "error") : NULL;
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *code = json_string_value(json_object_get(error, "code"));
    if (message && *message)
        snprintf(err, err_size, "%s", message);
    else if (code && *code)
        snprintf(err, err_size, "master answered HTTP %ld (%s)", http_status, code);
    else
        snprintf(err, err_size, "master answered HTTP %ld", http_status);
}

/* Outcome of one attempt besides its return code. */
typedef struct {
    bool unreached;   /* the request never reached a server: another may be tried */
    char leader[512]; /* a standby's 503 not_leader named this leader URL */
} s_attempt_t;

/* One request to one master (base); payload (payload_len bytes, NULL for
 * none) is sent with content_type. */
static int s_call_once(hg_client_t *client, const char *base, const char *method, const char *path,
                       const hg_query_t *query, size_t query_n, const char *payload,
                       size_t payload_len, const char *content_type, json_t **out,
                       long *http_status, char *err, size_t err_size, s_attempt_t *attempt)
{
    *out = NULL;
    if (http_status) *http_status = 0;
    memset(attempt, 0, sizeof *attempt);
    int rc = HG_ENOMEM;
    char *url = s_url(client, base, path, query, query_n);
    struct curl_slist *headers = NULL, *h;
    s_body_t response = {0};
    char curl_err[CURL_ERROR_SIZE] = "";
    char ctype[128];
    snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type ? content_type : "");
    if (!url) goto done;

    const char *fixed[] = {"Accept: application/json", payload ? ctype : NULL, client->auth};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!fixed[i]) continue;
        if (!(h = curl_slist_append(headers, fixed[i]))) goto done;
        headers = h;
    }

    CURL *curl = client->curl;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "hourglass-cli/" HG_VERSION);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, S_CONNECT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, client->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (payload) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) payload_len);
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(method, "PATCH") == 0) {
        /* An empty body still says "Content-Length: 0"; some proxies refuse
         * a POST without it. */
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }

    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        if (response.too_large) {
            snprintf(err, err_size, "answer from master at %s is larger than %u MiB", base,
                     S_MAX_RESPONSE >> 20);
            rc = HG_EIO;
        } else {
            snprintf(err, err_size, "cannot reach master at %s: %s", base,
                     curl_err[0] ? curl_err : curl_easy_strerror(cc));
            rc = HG_EUNAVAIL;
            curl_off_t connect_us = 0;
            curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
            attempt->unreached = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                                 (cc == CURLE_OPERATION_TIMEDOUT && connect_us == 0);
        }
        goto done;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (http_status) *http_status = status;

    json_error_t jerr;
    json_t *doc = response.data ? json_loads(response.data, 0, &jerr) : NULL;
    rc = HG_EIO;
    if (status >= 200 && status < 300) {
        if (doc) {
            *out = doc;
            rc = 0;
        } else if (response.len == 0) {
            snprintf(err, err_size, "master answered HTTP %ld with an empty body", status);
        } else {
            snprintf(err, err_size, "master answered HTTP %ld with a body that is not JSON: %s",
                     status, jerr.text);
        }
    } else if (doc) {
        hg_client_error_message(doc, status, err, err_size);
        const json_t *error = json_object_get(doc, "error");
        const char *code = json_string_value(json_object_get(error, "code"));
        const char *leader = json_string_value(json_object_get(error, "leader"));
        if (status == 503 && code && strcmp(code, "not_leader") == 0 && leader &&
            (strncmp(leader, "http://", 7) == 0 || strncmp(leader, "https://", 8) == 0) &&
            strlen(leader) < sizeof attempt->leader)
            snprintf(attempt->leader, sizeof attempt->leader, "%s", leader);
        json_decref(doc);
    } else {
        char excerpt[121] = "";
        if (response.data) s_one_line(response.data, 120, excerpt, sizeof excerpt);
        if (excerpt[0])
            snprintf(err, err_size, "master answered HTTP %ld: %s", status, excerpt);
        else
            snprintf(err, err_size, "master answered HTTP %ld", status);
    }

done:
    if (rc == HG_ENOMEM) snprintf(err, err_size, "%s", hg_strerror(HG_ENOMEM));
    curl_slist_free_all(headers);
    free(response.data);
    free(url);
    return rc;
}

/* One request to the masters: a leader a standby named earlier goes
 * first; then the list, from the URL that last answered. An unreachable
 * master is skipped (the request never left); a standby's 503 not_leader
 * is followed to the leader it names, once (the standby did nothing). */
static int s_call(hg_client_t *client, const char *method, const char *path,
                  const hg_query_t *query, size_t query_n, const char *payload, size_t payload_len,
                  const char *content_type, json_t **out, long *http_status, char *err,
                  size_t err_size)
{
    s_attempt_t attempt;
    if (client->leader) {
        int rc = s_call_once(client, client->leader, method, path, query, query_n, payload,
                             payload_len, content_type, out, http_status, err, err_size, &attempt);
        if (!attempt.unreached && !attempt.leader[0]) return rc;
        free(client->leader);
        client->leader = NULL;
    }
    char tried[1024] = "";
    int rc = HG_EUNAVAIL;
    for (size_t k = 0; k < client->urls_n; k++) {
        size_t i = (client->current + k) % client->urls_n;
        rc = s_call_once(client, client->urls[i], method, path, query, query_n, payload,
                         payload_len, content_type, out, http_status, err, err_size, &attempt);
        if (attempt.unreached && client->urls_n > 1) {
            /* err is "cannot reach master at URL: why"; keep "URL: why". */
            const char *what = strncmp(err, "cannot reach master at ", 23) == 0 ? err + 23 : err;
            size_t used = strlen(tried);
            snprintf(tried + used, sizeof tried - used, "%s%s", used ? "; " : "", what);
            continue;
        }
        client->current = i;
        if (!attempt.leader[0] || strcmp(attempt.leader, client->urls[i]) == 0) return rc;
        char standby_err[512];
        snprintf(standby_err, sizeof standby_err, "%s", err);
        char leader[sizeof attempt.leader];
        snprintf(leader, sizeof leader, "%s", attempt.leader);
        rc = s_call_once(client, leader, method, path, query, query_n, payload, payload_len,
                         content_type, out, http_status, err, err_size, &attempt);
        if (rc == 0 || !attempt.unreached) {
            free(client->leader);
            client->leader = strdup(leader);
        } else {
            char reach[512];
            snprintf(reach, sizeof reach, "%s", err);
            snprintf(err, err_size, "%s; and %s", standby_err, reach);
        }
        return rc;
    }
    if (client->urls_n > 1) snprintf(err, err_size, "cannot reach any master: %s", tried);
    return rc;
}

int hg_client_call(hg_client_t *client, const char *method, const char *path,
                   const hg_query_t *query, size_t query_n, json_t *body, json_t **out,
                   long *http_status, char *err, size_t err_size)
{
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !payload) {
        *out = NULL;
        if (http_status) *http_status = 0;
        snprintf(err, err_size, "%s", hg_strerror(HG_ENOMEM));
        return HG_ENOMEM;
    }
    int rc = s_call(client, method, path, query, query_n, payload, payload ? strlen(payload) : 0,
                    "application/json", out, http_status, err, err_size);
    free(payload);
    return rc;
}

int hg_client_call_raw(hg_client_t *client, const char *method, const char *path,
                       const hg_query_t *query, size_t query_n, const void *data, size_t len,
                       const char *content_type, json_t **out, long *http_status, char *err,
                       size_t err_size)
{
    /* An empty upload still goes out as a body of 0 bytes. */
    const char *payload = data ? (const char *) data : "";
    return s_call(client, method, path, query, query_n, payload, len, content_type, out,
                  http_status, err, err_size);
}
