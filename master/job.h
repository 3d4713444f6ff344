/* job: the job model of the master. Validation of API input, the JSON form
 * of docs/api.md, conversion to the wire ASSIGN spec, and the SQL of the
 * jobs table (prepared statements only). */
#ifndef HG_MASTER_JOB_H
#define HG_MASTER_JOB_H

#include "hg_proto.h"

#include <jansson.h>
#include <mysql.h>
#include <stdint.h>

/* Validate an API create body. On success returns a new normalized job
 * object (every default filled in, no "id"), else NULL with the offending
 * dotted field name in field and a message that starts with that name in
 * message (e.g. field "http.url", message "http.url: must start with
 * http:// or https://"). */
json_t *hg_job_validate(json_t *body, char *field, size_t field_size, char *message,
                        size_t message_size);

/* Fill out (zeroed by the caller) from a normalized job object that has
 * "id", "version" and "status". Strings are malloc'ed; free with
 * hg_assign_clear. 0 or HG_EINVAL. */
int hg_job_to_assign(json_t *job, hg_assign_t *out);

/* Pinned node names of a job (executor.nodes), borrowed from the object. */
json_t *hg_job_pinned_nodes(json_t *job);

/* SQL. All return 0 or a negative HG_E* code (HG_EDB with the server's
 * message in err where given). Returned json_t are new references. */
int hg_job_db_get(MYSQL *db, const char *ns, const char *name, json_t **job, char *err,
                  size_t err_size); /* HG_ENOTFOUND */
int hg_job_db_list(MYSQL *db, const char *ns, const char *status, int limit, int offset,
                   json_t **jobs, int64_t *total, char *err, size_t err_size);
/* Statements of the jobs table kept prepared on one connection, so that
 * creating a job does not prepare (parse) its INSERT each time. Owned by
 * the thread that owns the connection; reset it before closing that
 * connection (its statements die with it). */
typedef struct hg_job_stmts hg_job_stmts_t;
hg_job_stmts_t *hg_job_stmts_new(void);
void hg_job_stmts_reset(hg_job_stmts_t *stmts);
void hg_job_stmts_destroy(hg_job_stmts_t **stmts);

/* Insert every job of the array (normalized by hg_job_validate) with
 * multi-row INSERTs, and set *stored to a new array of the jobs as stored
 * (id, version, created_at ...), in the array's order, built from the
 * values inserted rather than read back. stmts (may be NULL) keeps the
 * statements between calls. Run a batch in a transaction: on failure some
 * rows may be in. HG_EEXIST when a name is taken, with the job named in
 * err and its index in *failed (also set for HG_EINVAL). */
int hg_job_db_create(MYSQL *db, hg_job_stmts_t *stmts, json_t *jobs, json_t **stored,
                     size_t *failed, char *err, size_t err_size);
int hg_job_db_set_status(MYSQL *db, uint64_t id, const char *status, char *err,
                         size_t err_size); /* bumps version */
int hg_job_db_delete(MYSQL *db, uint64_t id, char *err, size_t err_size);

#endif
