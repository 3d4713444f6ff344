/* audit: the record of every write through the REST API (table audit of
 * schema 005): who (token name and role), what (action, object), when,
 * from which address, and the HTTP status it got. */
#ifndef HG_MASTER_AUDIT_H
#define HG_MASTER_AUDIT_H

#include <jansson.h>
#include <mysql.h>
#include <stdint.h>

/* One write to record; strings are cut to their column sizes. */
typedef struct {
    const char *token_name; /* "-" when the request had no valid token */
    const char *role;       /* the token's role */
    const char *action;     /* "job.create", "token.revoke", ... */
    const char *object;     /* "default/ping", "worker-1", ... */
    const char *address;    /* client address */
    int status;             /* HTTP status answered */
} hg_audit_entry_t;

struct sockaddr;

/* A client's address as text ("127.0.0.1", "::1"); "" when unknown (sa
 * NULL or not IP). */
void hg_audit_address(const struct sockaddr *sa, char *buf, size_t size);

/* Insert one row. 0 or HG_EDB with the reason in err. keep, when not
 * NULL, holds the statement prepared on db between calls (NULL at first;
 * the caller closes it, and sets it NULL when db is closed); a failure
 * closes it. */
int hg_audit_record(MYSQL *db, MYSQL_STMT **keep, const hg_audit_entry_t *entry, char *err,
                    size_t err_size);

/* Rows at or after since_ms (0: any), newest first, at most limit: *out is
 * a JSON array of {"id","at","token","role","action","object","address",
 * "status"}. */
int hg_audit_list(MYSQL *db, int64_t since_ms, int limit, json_t **out, char *err, size_t err_size);

#endif
