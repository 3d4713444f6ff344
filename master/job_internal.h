/* job_internal: what job.c (validation, ASSIGN) and job_db.c (the jobs
 * table) share, private to them. */
#ifndef HG_MASTER_JOB_INTERNAL_H
#define HG_MASTER_JOB_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Field limits: validation refuses what the columns could not hold, and
 * job_db.c sizes its row buffers by the same numbers. */
#define HG_JOB_NAME_MAX           190                /* jobs.name column */
#define HG_JOB_NS_MAX             64                 /* jobs.namespace column */
#define HG_JOB_SCHEDULE_MAX       255                /* jobs.schedule column */
#define HG_JOB_TZ_MAX             64                 /* jobs.timezone column */
#define HG_JOB_URL_MAX            2048               /* docs/api.md */
#define HG_JOB_TIMEOUT_MAX        (24 * 3600 * 1000) /* 24h */
#define HG_JOB_NODE_MAX           190                /* nodes.name column */
#define HG_JOB_PLUGIN_NAME_MAX    128                /* plug-in names */
#define HG_JOB_PLUGIN_VERSION_MAX 64                 /* plug-in versions */

/* Where a validation error goes (job.c and the modules that validate a
 * part of a job: job_policy.c, job_ext.c, job_edit.c, deps.c). */
typedef struct {
    char *field;         /* dotted field name */
    size_t field_size;   /* its capacity */
    char *message;       /* "field: reason" */
    size_t message_size; /* its capacity */
} hg_job_err_t;

/* Record a failure on the field name: field gets the name, message
 * "name: " + the reason. Each returns HG_EINVAL, so that callers can
 * `return hg_job__fail(...)`. */
int hg_job__failv(char *field, size_t field_size, char *message, size_t message_size,
                  const char *name, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int hg_job__fail(hg_job_err_t *e, const char *name,
                                                       const char *fmt, ...);
__attribute__((format(printf, 6, 7))) int hg_job__fail_to(char *field, size_t field_size,
                                                          char *message, size_t message_size,
                                                          const char *name, const char *fmt, ...);

/* Format ms as a compact Go-style duration ("30s", "1m30s", "1s500ms"),
 * which hg_duration_parse_ms reads back: the "timeout" of a job, the same
 * whether validation normalized it or a row gave it. */
void hg_job__duration_format(int64_t ms, char *buf, size_t size);

/* The RFC 3339 time member key of a normalized job (start_at, end_at) in
 * *ms, 0 when absent or null. 0, or HG_EINVAL when not a valid time. */
int hg_job__time_field_ms(json_t *job, const char *key, int64_t *ms);

#endif
