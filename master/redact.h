/* redact: hide the secrets a job carries (bearer tokens in HTTP headers,
 * passwords in plug-in parameters) from whoever reads it through the API,
 * and keep them when a writer sends the hidden form back.
 *
 * Secret, for every job: the headers Authorization, Proxy-Authorization,
 * Cookie and Set-Cookie; the parameters whose name contains "password",
 * "secret" or "token", or is "dsn" (all case-insensitive). Besides, for
 * one job: the header names in its "secret_headers" and the parameter
 * names in its "secret_params". A secret value reads HG_REDACTED. */
#ifndef HG_MASTER_REDACT_H
#define HG_MASTER_REDACT_H

#include <jansson.h>
#include <stdbool.h>

#define HG_REDACTED "***"

/* True when header name (any case) is secret for job. */
bool hg_redact_header_is_secret(const json_t *job, const char *name);

/* True when parameter name is secret for job. */
bool hg_redact_param_is_secret(const json_t *job, const char *name);

/* Replace every secret value of job (http.headers, params) by HG_REDACTED,
 * in place. job must not be shared with anyone who needs the values: copy
 * first (json_deep_copy) when in doubt. */
void hg_redact_job(json_t *job);

/* Redact every job of an array, in place. */
void hg_redact_jobs(json_t *jobs);
/* job as anyone but an admin asking ?reveal=true may see it, as a new
 * reference: job itself when it has nothing secret (most jobs: no copy),
 * else a redacted copy; NULL when out of memory. The caller must not
 * change what it gets. */
json_t *hg_redact_copy(json_t *job);

/* For a write that sends back what it read: every secret value of job
 * equal to HG_REDACTED takes the value stored has for the same header or
 * parameter (stored may be NULL: then nothing changes). Returns the number
 * of values restored. */
int hg_redact_restore(json_t *job, const json_t *stored);

#endif
