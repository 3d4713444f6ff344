/* job_policy: the retry and overlap fields of a job (issue 11;
 * docs/jobs.md "Retries", "Overlap"): their validation, their normalized
 * JSON form, their place in the stored spec and on the wire (ASSIGN).
 * job.c and job_db.c call in here, one call each. */
#ifndef HG_MASTER_JOB_POLICY_H
#define HG_MASTER_JOB_POLICY_H

#include "hg_proto.h"

#include <jansson.h>
#include <stddef.h>

/* Top-level job keys this module owns, NULL-terminated. */
extern const char *const hg_job_policy_keys[];

/* Validate the policy fields of an API body and put their normalized form
 * (every default filled in) into out. 0, or HG_EINVAL with the dotted field
 * name in field and "field: reason" in message. */
int hg_job_policy_validate(json_t *body, json_t *out, char *field, size_t field_size, char *message,
                           size_t message_size);

/* Copy the policy keys from one object to another (job -> stored spec, and
 * back), filling the defaults for a spec stored before they existed. */
void hg_job_policy_copy(json_t *from, json_t *to);

/* The wire form (retry, overlap, max_concurrent, queue_max) of a
 * normalized job. 0 or HG_EINVAL. */
int hg_job_policy_to_assign(json_t *job, hg_assign_t *out);

#endif
