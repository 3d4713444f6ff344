/* web: serves the dashboard's embedded files (web.h). */
#include "web.h"

#include <inttypes.h>
#include <stdbool.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* What a browser may do with a page of ours: load scripts, styles and
 * images from this origin only (no inline script, no eval), talk to this
 * origin only, never be framed (clickjacking), never submit a form
 * anywhere (the dashboard's forms are handled by script). */
#define S_CSP                                                                                      \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "                  \
    "form-action 'none'; frame-ancestors 'none'"

const hg_web_asset_t *hg_web_find(const char *path)
{
    if (!path) return NULL;
    if (strcmp(path, "/") == 0) path = "/ui/index.html";
    for (const hg_web_asset_t *a = hg_web_assets; a->path; a++)
        if (strcmp(a->path, path) == 0) return a;
    return NULL;
}

const char *hg_web_content_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (strcmp(path ? path : "", "/") == 0) return types[0].type;
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

/* A strong ETag from the bytes (FNV-1a, 64 bits): the files change only
 * with a new build, and hashing a few dozen KiB costs microseconds. */
static void s_etag(const hg_web_asset_t *a, char *buf, size_t size)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < a->size; i++) {
        h ^= a->data[i];
        h *= UINT64_C(1099511628211);
    }
    snprintf(buf, size, "\"%016" PRIx64 "\"", h);
}

static void s_headers(struct MHD_Response *resp, const char *type)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy", S_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

static int s_plain(struct MHD_Connection *conn, unsigned int status, const char *text,
                   const char *allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    s_headers(resp, "text/plain; charset=utf-8");
    if (allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

int hg_web_send(struct MHD_Connection *conn, const char *method, const char *path, int *status)
{
    bool head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        *status = MHD_HTTP_METHOD_NOT_ALLOWED;
        return s_plain(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
    }
    const hg_web_asset_t *a = hg_web_find(path);
    if (!a) {
        *status = MHD_HTTP_NOT_FOUND;
        return s_plain(conn, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
    }
    char etag[24];
    s_etag(a, etag, sizeof etag);
    const char *inm =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool fresh = inm && strstr(inm, etag);
    *status = fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    /* HEAD: libmicrohttpd sends the headers (and length) only. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        fresh ? 0 : a->size, fresh ? NULL : (void *) a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    s_headers(resp, hg_web_content_type(a->path));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int) *status, resp);
    MHD_destroy_response(resp);
    return ret;
}
