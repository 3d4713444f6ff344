/* job: the job model of the master. Validation of API input (the JSON form
 * of docs/api.md) and conversion to the wire ASSIGN spec. The SQL of the
 * jobs table is job_db.h's. */
#ifndef HG_MASTER_JOB_H
#define HG_MASTER_JOB_H

#include "hg_proto.h"

#include <jansson.h>
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
/* The job's executor object (pins and routing), borrowed; NULL if none. */
json_t *hg_job_executor(json_t *job);

#endif
