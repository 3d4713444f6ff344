/* job_db: the SQL of the jobs table (prepared statements only). Jobs go in
 * as hg_job_validate normalized them and come out in the same API form
 * (job.h), with id, version, status and times added. */
#ifndef HG_MASTER_JOB_DB_H
#define HG_MASTER_JOB_DB_H

#include "job.h"

#include <jansson.h>
#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

/* All return 0 or a negative HG_E* code (HG_EDB with the server's
 * message in err where given). Returned json_t are new references. */
int hg_job_db_get(MYSQL *db, const char *ns, const char *name, json_t **job, char *err,
                  size_t err_size); /* HG_ENOTFOUND */
int hg_job_db_list(MYSQL *db, const char *ns, const char *status, int limit, int offset,
                   json_t **jobs, int64_t *total, char *err, size_t err_size);
/* Jobs of "SELECT <the job columns> FROM jobs <tail>", tail (WHERE,
 * ORDER BY, LIMIT) with ? bound from params (may be NULL): the seam for
 * queries built elsewhere (job_page.c's keyset pages). */
int hg_job_db_select(MYSQL *db, const char *tail, MYSQL_BIND *params, json_t **jobs, char *err,
                     size_t err_size);
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
/* Replace job id's row by job (normalized, same namespace and name) if
 * its version is still version; the version goes up by one. HG_ENOTFOUND
 * when no row has that id and version (deleted, or changed meanwhile). */
int hg_job_db_update(MYSQL *db, uint64_t id, uint64_t version, json_t *job, char *err,
                     size_t err_size);
int hg_job_db_delete(MYSQL *db, uint64_t id, char *err, size_t err_size);

#endif
