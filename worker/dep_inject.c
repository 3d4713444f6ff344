/* dep_inject: parent results into a dependency-fired HTTP request (see
 * dep_inject.h). */
#include "dep_inject.h"
#include "hg_error.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int hg_dep_inject_http(hg_http_spec_t *http, const hg_kv_t *overrides, size_t n)
{
    const char *header = NULL, *body = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(overrides[i].key, "hourglass.header") == 0) header = overrides[i].value;
        if (strcmp(overrides[i].key, "hourglass.body") == 0) body = overrides[i].value;
    }
    if (header && (strchr(header, '\r') || strchr(header, '\n') || !strchr(header, ':')))
        return HG_EINVAL;
    if (header) {
        char **lines = realloc(http->headers, (http->headers_n + 2) * sizeof *lines);
        char *line = strdup(header);
        if (lines) http->headers = lines;
        if (!lines || !line) {
            free(line);
            return HG_ENOMEM;
        }
        lines[http->headers_n++] = line;
    }
    if (body) {
        size_t len = strlen(body);
        uint8_t *copy = len ? malloc(len) : NULL;
        if (len && !copy) return HG_ENOMEM;
        if (len) memcpy(copy, body, len);
        free(http->body.data);
        http->body.data = copy;
        http->body.len = len;
        /* The body is JSON now: say so unless the job already does. */
        bool typed = false;
        for (size_t i = 0; i < http->headers_n && !typed; i++)
            typed = strncasecmp(http->headers[i], "Content-Type:", 13) == 0;
        if (!typed) {
            char **lines = realloc(http->headers, (http->headers_n + 1) * sizeof *lines);
            char *line = strdup("Content-Type: application/json");
            if (lines) http->headers = lines;
            if (!lines || !line) {
                free(line);
                return HG_ENOMEM;
            }
            lines[http->headers_n++] = line;
        }
    }
    return 0;
}
