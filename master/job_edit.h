/* job_edit: the pure parts of editing a job (PUT and PATCH
 * /api/v1/jobs/{name}, pause with a note): the version a request is
 * guarded by, the JSON merge patch of RFC 7386, and the new job an edit
 * makes from the stored one. No I/O here; api_job_edit.c does that. */
#ifndef HG_MASTER_JOB_EDIT_H
#define HG_MASTER_JOB_EDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version an edit expects, from an If-Match header (may be NULL:
 * "3", "\"3\"" or "W/\"3\"") and the body's "version" member (removed
 * from body). *version 0 when neither gives one. 0, or HG_EINVAL with the
 * field ("If-Match" or "version") and a message when one is malformed or
 * the two disagree. */
int hg_job_edit_version(const char *if_match, json_t *body, uint64_t *version, char *field,
                        size_t field_size, char *message, size_t message_size);

/* Apply patch to target in place, as RFC 7386 says: members of an object
 * patch are merged recursively, null deletes, anything else replaces. A
 * patch that is not an object replaces target: the result is returned
 * (new reference; target's reference is taken). */
json_t *hg_json_merge_patch(json_t *target, json_t *patch);

/* The body to validate for an edit of stored (the job as stored, secrets
 * in clear) by body (PUT: the whole job; PATCH: a merge patch). The name
 * and namespace cannot change: a body naming another is refused (rename
 * by creating the new job and deleting the old). Secret values sent back
 * in their redacted form keep the stored ones. Returns a new object, or
 * NULL with field and message set. */
json_t *hg_job_edit_body(json_t *stored, json_t *body, bool patch, char *field, size_t field_size,
                         char *message, size_t message_size);

/* After validation: when the edit leaves remaining_runs and what decides
 * the fire times as they were, the job keeps its stored cut-off (a PUT of
 * what GET gave must not move it). Changes job in place. */
void hg_job_edit_keep_cutoff(json_t *stored, json_t *job);

/* A completed job (its remaining_runs used up) stays completed through an
 * edit that does not set remaining_runs again (job_complete.h): call
 * hg_job_edit_done_before on the body to validate, which answers whether
 * the job stays completed and, if so, puts a placeholder count in body
 * (validation wants 1 or more); then hg_job_edit_done_after on the
 * validated job puts back the stored cut-off and status "completed". */
bool hg_job_edit_done_before(json_t *stored, json_t *body);
void hg_job_edit_done_after(json_t *stored, json_t *job);

/* True when the edit changes nothing that is stored. */
bool hg_job_edit_is_noop(json_t *stored, json_t *job);

#endif
