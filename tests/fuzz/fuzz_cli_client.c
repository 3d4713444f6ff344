/* fuzz_cli_client: a stand-in for cli/client.c in the CLI fuzz target.
 *
 * The fuzzer runs whole `hourglass` command lines, and a command line
 * picks its own --master: the real client would then reach out to any
 * address the fuzzer writes. This one answers every call as a master
 * that cannot be reached, which is an answer every command must handle.
 *
 * A command that waits for a master to come back (`runs --follow`) would
 * wait forever: its user ends it with Ctrl-C. So every call here is also
 * a Ctrl-C (SIGINT), which such a command must take as its end; the
 * harness (fuzz_cli.c) ignores the signal where no command listens. */
#include "client.h"
#include "hg_error.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hg_client {
    char *base;  /* as given (copied, like the real client) */
    char *token; /* NULL for none */
};

hg_client_t *hg_client_new(const char *base_url, const char *token)
{
    if (!base_url || !*base_url) return NULL;
    hg_client_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->base = strdup(base_url);
    c->token = token ? strdup(token) : NULL;
    if (!c->base || (token && !c->token)) hg_client_destroy(&c);
    return c;
}

void hg_client_destroy(hg_client_t **client)
{
    if (client && *client) {
        free((*client)->base);
        free((*client)->token);
        free(*client);
        *client = NULL;
    }
}

void hg_client_set_timeout_ms(hg_client_t *client, long timeout_ms)
{
    (void) client;
    (void) timeout_ms;
}

char *hg_client_escape(hg_client_t *client, const char *text)
{
    (void) client;
    size_t n = strlen(text);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            *o++ = (char) *p;
        else
            o += sprintf(o, "%%%02X", *p);
    }
    *o = '\0';
    return out;
}

int hg_client_call(hg_client_t *client, const char *method, const char *path,
                   const hg_query_t *query, size_t query_n, json_t *body, json_t **out,
                   long *http_status, char *err, size_t err_size)
{
    (void) method;
    (void) path;
    (void) body;
    /* Read what a real client would send, so that ASan sees a bad one. */
    for (size_t i = 0; i < query_n; i++)
        if (query[i].value) (void) strlen(query[i].key), (void) strlen(query[i].value);
    if (body) free(json_dumps(body, JSON_COMPACT));
    *out = NULL;
    if (http_status) *http_status = 0;
    snprintf(err, err_size, "cannot reach master at %s: fuzzing", client->base);
    raise(SIGINT);
    return HG_EUNAVAIL;
}

int hg_client_call_raw(hg_client_t *client, const char *method, const char *path,
                       const hg_query_t *query, size_t query_n, const void *data, size_t len,
                       const char *content_type, json_t **out, long *http_status, char *err,
                       size_t err_size)
{
    (void) data;
    (void) len;
    (void) content_type;
    return hg_client_call(client, method, path, query, query_n, NULL, out, http_status, err,
                          err_size);
}

void hg_client_error_message(const json_t *envelope, long http_status, char *err, size_t err_size)
{
    (void) envelope;
    snprintf(err, err_size, "master answered HTTP %ld", http_status);
}
