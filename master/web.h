/* web: the dashboard's files (master/web), built into the master by
 * cmake/embed_web.cmake and served by the API server at "/" (index.html)
 * and "/ui/<file>". They carry no data, so they need no token (auth.c's
 * route table lists them as public); every figure the dashboard shows
 * comes from /api/v1 with the user's bearer token.
 *
 * Each answer carries a strict Content-Security-Policy (scripts and styles
 * from this origin only, no inline script, no framing), nosniff, and an
 * ETag with "Cache-Control: no-cache", so a browser revalidates cheaply
 * and a new build is picked up at once. */
#ifndef HG_MASTER_WEB_H
#define HG_MASTER_WEB_H

#include <stddef.h>

struct MHD_Connection;

/* One embedded file. */
typedef struct {
    const char *path;          /* "/ui/app.js"; NULL ends the table */
    const unsigned char *data; /* its bytes */
    size_t size;               /* their count */
} hg_web_asset_t;

/* Every embedded file (generated web_assets.c), ended by a NULL path. */
extern const hg_web_asset_t hg_web_assets[];

/* The file served at path ("/" is "/ui/index.html"), or NULL. */
const hg_web_asset_t *hg_web_find(const char *path);

/* The Content-Type of path, from its extension. */
const char *hg_web_content_type(const char *path);

/* Queue the answer to method on a dashboard path: the file (GET, HEAD),
 * 304 when If-None-Match has its ETag, 404 or 405. *status gets the HTTP
 * status. Returns libmicrohttpd's MHD_YES or MHD_NO (as an int). */
int hg_web_send(struct MHD_Connection *conn, const char *method, const char *path, int *status);

#endif
