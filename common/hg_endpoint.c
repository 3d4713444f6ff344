/* hg_endpoint: shape checks that keep ZeroMQ endpoints and HTTP URLs
 * apart (see hg_endpoint.h). */
#include "hg_endpoint.h"
#include "hg_error.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool s_starts(const char *text, const char *prefix)
{
    return text && strncasecmp(text, prefix, strlen(prefix)) == 0;
}

bool hg_endpoint_is_zmq(const char *text)
{
    return (s_starts(text, "tcp://") && text[6]) || (s_starts(text, "ipc://") && text[6]);
}

bool hg_endpoint_is_http(const char *text)
{
    return (s_starts(text, "http://") && text[7]) || (s_starts(text, "https://") && text[8]);
}

int hg_endpoint_check_zmq_list(const char *list, const char *setting, char *err, size_t err_size)
{
    for (const char *p = list ? list : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        char one[512];
        snprintf(one, sizeof one, "%.*s", (int) len, p);
        if (len > 0 && !hg_endpoint_is_zmq(one)) {
            if (hg_endpoint_is_http(one))
                snprintf(err, err_size,
                         "%s: \"%s\" is an HTTP URL (the CLI's HOURGLASS_MASTER); a worker dials "
                         "the master's ZeroMQ endpoint, e.g. tcp://master:8643",
                         setting, one);
            else
                snprintf(err, err_size,
                         "%s: \"%s\" is not a ZeroMQ endpoint (tcp://HOST:PORT or ipc://PATH)",
                         setting, one);
            return HG_EINVAL;
        }
        p = end ? end + 1 : p + strlen(p);
    }
    return 0;
}
