/* alert_channel: webhook and e-mail delivery with libcurl
 * (alert_channel.h). */
#include "alert_channel.h"
#include "hg_error.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a receiver's answer kept for the error message. */
#define S_ANSWER_MAX 256

void hg_alert_sign(const char *secret, const char *body, size_t len, char *out, size_t out_size)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    /* The _init form takes a key of any length (HMAC hashes a long key),
     * so the channel's secret is used as given. */
    crypto_auth_hmacsha256_init(&st, (const unsigned char *) secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, out_size, "sha256=%s", hex);
    sodium_memzero(&st, sizeof st);
}

typedef struct {
    char text[S_ANSWER_MAX]; /* start of the answer */
    size_t len;              /* bytes in text */
} s_answer_t;

static size_t s_on_answer(char *data, size_t size, size_t n, void *arg)
{
    s_answer_t *a = arg;
    size_t got = size * n;
    size_t room = sizeof a->text - 1 - a->len;
    size_t take = got < room ? got : room;
    memcpy(a->text + a->len, data, take);
    a->len += take;
    a->text[a->len] = '\0';
    return got;
}

/* The curl error of rc as HG_ETIMEOUT or HG_EIO, with why in err. */
static int s_curl_error(CURLcode rc, const char *what, const char *detail, char *err,
                        size_t err_size)
{
    snprintf(err, err_size, "%s: %s%s%s", what, curl_easy_strerror(rc), detail[0] ? ": " : "",
             detail);
    return rc == CURLE_OPERATION_TIMEDOUT ? HG_ETIMEOUT : HG_EIO;
}

static int s_webhook(const hg_alert_rule_t *rule, json_t *doc, long timeout_ms, char *err,
                     size_t err_size)
{
    const char *url = json_string_value(json_object_get(rule->config, "url"));
    if (!url || !rule->secret) {
        snprintf(err, err_size, "webhook: the rule has no url or secret");
        return HG_EINVAL;
    }
    char *body = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    if (!body || !curl) {
        free(body);
        if (curl) curl_easy_cleanup(curl);
        snprintf(err, err_size, "webhook: out of memory");
        return HG_ENOMEM;
    }
    char sig[128], line[200], ev[64];
    hg_alert_sign(rule->secret, body, strlen(body), sig, sizeof sig);
    snprintf(line, sizeof line, "%s: %s", HG_ALERT_SIGNATURE_HEADER, sig);
    snprintf(ev, sizeof ev, "Hourglass-Event: %.40s",
             json_string_value(json_object_get(doc, "event")) ?: "?");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, line);
    headers = curl_slist_append(headers, ev);
    headers = curl_slist_append(headers, "Expect:");
    s_answer_t answer = {.len = 0};
    answer.text[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "hourglass-alerts");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_answer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(body);
    if (rc != CURLE_OK) return s_curl_error(rc, "webhook", "", err, err_size);
    if (status < 200 || status > 299) {
        snprintf(err, err_size, "webhook: HTTP %ld: %.200s", status, answer.text);
        return HG_EIO;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * E-mail
 * ------------------------------------------------------------------------ */

static const char *s_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Append s to the growing buffer *buf (HTML-escaped when html). */
static void s_cat(char **buf, size_t *len, const char *s, bool html)
{
    size_t add = 0;
    for (const char *p = s; *p; p++)
        add += html && strchr("<>&\"'", *p) ? 6 : 1;
    char *grown = realloc(*buf, *len + add + 1);
    if (!grown) return;
    *buf = grown;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        if (html) {
            rep = *p == '<'    ? "&lt;"
                  : *p == '>'  ? "&gt;"
                  : *p == '&'  ? "&amp;"
                  : *p == '"'  ? "&quot;"
                  : *p == '\'' ? "&#39;"
                               : NULL;
        }
        if (rep) {
            memcpy(*buf + *len, rep, strlen(rep));
            *len += strlen(rep);
        } else {
            (*buf)[(*len)++] = *p;
        }
    }
    (*buf)[*len] = '\0';
}

/* The rows of the run table: label, value. */
static void s_rows(json_t *doc, const char *rows[][2], size_t *n)
{
    json_t *run = json_object_get(doc, "run");
    json_t *job = json_object_get(doc, "job");
    size_t i = 0;
    rows[i][0] = "Event", rows[i++][1] = s_str(doc, "event");
    rows[i][0] = "Rule", rows[i++][1] = s_str(doc, "rule");
    rows[i][0] = "Namespace", rows[i++][1] = s_str(job, "namespace");
    rows[i][0] = "Job", rows[i++][1] = s_str(job, "name");
    rows[i][0] = "Run", rows[i++][1] = s_str(run, "run_id");
    rows[i][0] = "Status", rows[i++][1] = s_str(run, "status");
    rows[i][0] = "Node", rows[i++][1] = s_str(run, "node");
    rows[i][0] = "Scheduled", rows[i++][1] = s_str(run, "scheduled_at");
    rows[i][0] = "Started", rows[i++][1] = s_str(run, "started_at");
    rows[i][0] = "Finished", rows[i++][1] = s_str(run, "finished_at");
    rows[i][0] = "Error", rows[i++][1] = s_str(run, "error");
    *n = i;
}

char *hg_alert_email_text(json_t *doc, const char *link)
{
    const char *rows[16][2];
    size_t n, len = 0;
    s_rows(doc, rows, &n);
    char *buf = calloc(1, 1);
    if (!buf) return NULL;
    s_cat(&buf, &len, s_str(doc, "text"), false);
    s_cat(&buf, &len, "\r\n\r\n", false);
    for (size_t i = 0; i < n; i++) {
        if (!rows[i][1][0]) continue;
        s_cat(&buf, &len, rows[i][0], false);
        s_cat(&buf, &len, ": ", false);
        s_cat(&buf, &len, rows[i][1], false);
        s_cat(&buf, &len, "\r\n", false);
    }
    if (link && *link) {
        s_cat(&buf, &len, "\r\nDashboard: ", false);
        s_cat(&buf, &len, link, false);
        s_cat(&buf, &len, "\r\n", false);
    }
    return buf;
}

char *hg_alert_email_html(json_t *doc, const char *link)
{
    const char *rows[16][2];
    size_t n, len = 0;
    s_rows(doc, rows, &n);
    char *buf = calloc(1, 1);
    if (!buf) return NULL;
    s_cat(&buf, &len, "<html><body><p><b>", false);
    s_cat(&buf, &len, s_str(doc, "text"), true);
    s_cat(&buf, &len, "</b></p>\r\n<table>\r\n", false);
    for (size_t i = 0; i < n; i++) {
        if (!rows[i][1][0]) continue;
        s_cat(&buf, &len, "<tr><th align=\"left\">", false);
        s_cat(&buf, &len, rows[i][0], true);
        s_cat(&buf, &len, "</th><td>", false);
        s_cat(&buf, &len, rows[i][1], true);
        s_cat(&buf, &len, "</td></tr>\r\n", false);
    }
    s_cat(&buf, &len, "</table>\r\n", false);
    if (link && *link) {
        s_cat(&buf, &len, "<p><a href=\"", false);
        s_cat(&buf, &len, link, true);
        s_cat(&buf, &len, "\">Open in the dashboard</a></p>\r\n", false);
    }
    s_cat(&buf, &len, "</body></html>\r\n", false);
    return buf;
}

/* The message's headers: Subject, From, To, Date. */
static struct curl_slist *s_mail_headers(const hg_alert_rule_t *rule, json_t *doc)
{
    char line[1024];
    struct curl_slist *h = NULL;
    json_t *job = json_object_get(doc, "job");
    /* Job names and namespaces are identifiers ([A-Za-z0-9._-]) and events
     * are known words, so the subject cannot carry a line break. */
    snprintf(line, sizeof line, "Subject: [hourglass] %s: %s/%s", s_str(doc, "event"),
             s_str(job, "namespace"), s_str(job, "name"));
    h = curl_slist_append(h, line);
    snprintf(line, sizeof line, "From: %s", s_str(rule->config, "from"));
    h = curl_slist_append(h, line);
    size_t i;
    json_t *a;
    size_t used = (size_t) snprintf(line, sizeof line, "To: ");
    json_array_foreach(json_object_get(rule->config, "to"), i, a)
    {
        int w =
            snprintf(line + used, sizeof line - used, "%s%s", i ? ", " : "", json_string_value(a));
        if (w < 0 || (size_t) w >= sizeof line - used) break;
        used += (size_t) w;
    }
    h = curl_slist_append(h, line);
    return h;
}

/* A multipart/alternative body: plain text, then HTML (the preferred). */
static curl_mime *s_mail_body(CURL *curl, json_t *doc, const char *link)
{
    char *text = hg_alert_email_text(doc, link), *html = hg_alert_email_html(doc, link);
    curl_mime *mime = curl_mime_init(curl), *alt = curl_mime_init(curl);
    if (!text || !html || !mime || !alt) {
        free(text);
        free(html);
        curl_mime_free(mime);
        curl_mime_free(alt);
        return NULL;
    }
    curl_mimepart *part = curl_mime_addpart(alt);
    curl_mime_data(part, text, CURL_ZERO_TERMINATED);
    curl_mime_type(part, "text/plain; charset=utf-8");
    part = curl_mime_addpart(alt);
    curl_mime_data(part, html, CURL_ZERO_TERMINATED);
    curl_mime_type(part, "text/html; charset=utf-8");
    part = curl_mime_addpart(mime);
    curl_mime_subparts(part, alt);
    curl_mime_type(part, "multipart/alternative");
    free(text);
    free(html);
    return mime;
}

static int s_email(const hg_alert_rule_t *rule, json_t *doc, const char *link, long timeout_ms,
                   char *err, size_t err_size)
{
    const char *url = s_str(rule->config, "smtp_url"), *tls = s_str(rule->config, "starttls");
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, err_size, "email: out of memory");
        return HG_ENOMEM;
    }
    struct curl_slist *rcpt = NULL, *headers = s_mail_headers(rule, doc);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(rule->config, "to"), i, a)
    {
        rcpt = curl_slist_append(rcpt, json_string_value(a));
    }
    curl_mime *mime = s_mail_body(curl, doc, link);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, s_str(rule->config, "from"));
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     strcmp(tls, "required") == 0 ? (long) CURLUSESSL_ALL
                     : strcmp(tls, "none") == 0   ? (long) CURLUSESSL_NONE
                                                  : (long) CURLUSESSL_TRY);
    const char *user = json_string_value(json_object_get(rule->config, "username"));
    if (user) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, rule->secret ? rule->secret : "");
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = mime ? curl_easy_perform(curl) : CURLE_OUT_OF_MEMORY;
    curl_slist_free_all(rcpt);
    curl_slist_free_all(headers);
    curl_mime_free(mime);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return s_curl_error(rc, "email", "", err, err_size);
    return 0;
}

int hg_alert_channel_send(const hg_alert_rule_t *rule, json_t *doc, const char *link,
                          long timeout_ms, char *err, size_t err_size)
{
    if (strcmp(rule->channel, "webhook") == 0)
        return s_webhook(rule, doc, timeout_ms, err, err_size);
    if (strcmp(rule->channel, "email") == 0)
        return s_email(rule, doc, link, timeout_ms, err, err_size);
    snprintf(err, err_size, "unknown channel \"%s\"", rule->channel);
    return HG_EINVAL;
}
