/* client: the CLI's HTTP client for the master's REST API (docs/api.md),
 * over the libcurl easy interface, JSON through jansson. It turns every
 * failure into one line fit for "hourglass: <line>": the API's own error
 * message, an unexpected answer, or why the master could not be reached. */
#ifndef HG_CLI_CLIENT_H
#define HG_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>

typedef struct hg_client hg_client_t;

/* One query parameter; entries whose value is NULL are left out. */
typedef struct {
    const char *key;   /* parameter name */
    const char *value; /* raw value (encoded by the client), or NULL */
} hg_query_t;

/* base_url without trailing slash ("http://127.0.0.1:8642"), or several
 * such URLs separated by commas (every master of a highly available
 * cluster); token NULL for none. Both are copied. NULL on allocation
 * failure or an empty list.
 *
 * With several URLs a call goes to the first one; when a master cannot be
 * reached (the request never left, so even a POST is safe to repeat) the
 * next one is tried. A standby answers 503 not_leader with the leader's
 * URL; the call is then repeated there, once. The URL that answered is
 * tried first by the next call. */
hg_client_t *hg_client_new(const char *base_url, const char *token);

/* Idempotent; NULLs the caller's pointer. */
void hg_client_destroy(hg_client_t **client);

/* Per-request limit, default 30 s. */
void hg_client_set_timeout_ms(hg_client_t *client, long timeout_ms);

/* Percent-encode text for a path segment or query value. Caller frees
 * with free(). NULL on allocation failure. */
char *hg_client_escape(hg_client_t *client, const char *text);

/* Send method to base_url + path (+ query), with body as JSON when not
 * NULL. On a 2xx answer whose body is JSON, returns 0 and *out holds it
 * (caller json_decref's it). Otherwise *out is NULL and err gets one line:
 *   HG_EUNAVAIL  "cannot reach master at URL: <curl error>" (with several
 *                URLs: "cannot reach any master: URL: <error>; URL: ...")
 *   HG_EIO       the API's error message, or a description of an answer
 *                that is not what the API promises
 *   HG_ENOMEM    out of memory
 * *http_status (may be NULL) gets the HTTP status, 0 when none. */
int hg_client_call(hg_client_t *client, const char *method, const char *path,
                   const hg_query_t *query, size_t query_n, json_t *body, json_t **out,
                   long *http_status, char *err, size_t err_size);

/* hg_client_call with a raw body (len bytes, may be 0) sent with
 * content_type instead of JSON: plug-in uploads. */
int hg_client_call_raw(hg_client_t *client, const char *method, const char *path,
                       const hg_query_t *query, size_t query_n, const void *data, size_t len,
                       const char *content_type, json_t **out, long *http_status, char *err,
                       size_t err_size);

/* Pull the message out of an error envelope {"error":{"code","message"}}
 * into err. Falls back to the code, then to "master answered HTTP <status>".
 * Exposed for tests. */
void hg_client_error_message(const json_t *envelope, long http_status, char *err, size_t err_size);

#endif
