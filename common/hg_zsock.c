/* hg_zsock: checked socket options (see hg_zsock.h). */
#include "hg_zsock.h"

#include <errno.h>
#include <string.h>

int hg_zsock_set_int(zsock_t *sock, int option, int value)
{
    void *handle = sock ? zsock_resolve(sock) : NULL;
    if (!handle) {
        errno = ENOTSOCK;
        return -1;
    }
    return zmq_setsockopt(handle, option, &value, sizeof value) == 0 ? 0 : -1;
}

int hg_zsock_set_i64(zsock_t *sock, int option, int64_t value)
{
    void *handle = sock ? zsock_resolve(sock) : NULL;
    if (!handle) {
        errno = ENOTSOCK;
        return -1;
    }
    return zmq_setsockopt(handle, option, &value, sizeof value) == 0 ? 0 : -1;
}

int hg_zsock_set_str(zsock_t *sock, int option, const char *value)
{
    void *handle = sock ? zsock_resolve(sock) : NULL;
    if (!handle || !value) {
        errno = handle ? EINVAL : ENOTSOCK;
        return -1;
    }
    return zmq_setsockopt(handle, option, value, strlen(value)) == 0 ? 0 : -1;
}
