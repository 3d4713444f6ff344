/* hg_error: one table of error codes for all of Hourglass, with hg_strerror.
 * Functions return 0 on success or a negative HG_E* code. */
#ifndef HG_ERROR_H
#define HG_ERROR_H

/* X-macro table: name, value, message. Values never change once shipped. */
#define HG_ERRNO_MAP(X)                                                                            \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ETRUNC, -3, "message truncated")                                                             \
    X(ETYPE, -4, "field has the wrong type")                                                       \
    X(ETOOBIG, -5, "value exceeds its size limit")                                                 \
    X(EUNKNOWN, -6, "unknown message type")                                                        \
    X(ETRAILING, -7, "trailing bytes after message")                                               \
    X(EVERSION, -8, "unsupported protocol version")                                                \
    X(EMISSING, -9, "required field missing")                                                      \
    X(ESCHEDULE, -10, "invalid schedule expression")                                               \
    X(ETZ, -11, "unknown time zone")                                                               \
    X(EDB, -12, "database error")                                                                  \
    X(ENOTFOUND, -13, "not found")                                                                 \
    X(EEXIST, -14, "already exists")                                                               \
    X(ECONFIG, -15, "invalid configuration")                                                       \
    X(EIO, -16, "input/output error")                                                              \
    X(ESCHEMA, -17, "database schema is newer than this build")                                    \
    X(ETIMEOUT, -18, "timed out")                                                                  \
    X(EUNAVAIL, -19, "service unavailable")                                                        \
    X(ERANGE, -20, "value out of range")                                                           \
    X(EBUSY, -21, "busy: send again later")

typedef enum {
#define HG_ERR_ENUM(name, value, msg) HG_##name = value,
    HG_ERRNO_MAP(HG_ERR_ENUM)
#undef HG_ERR_ENUM
} hg_error_t;

/* Human-readable message for a code; never NULL. */
const char *hg_strerror(int code);

/* Symbolic name for a code ("EINVAL"); never NULL. */
const char *hg_err_name(int code);

#endif
