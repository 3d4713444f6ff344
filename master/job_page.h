/* job_page: the pure parts of the keyset pages of GET /api/v1/jobs
 * (api_console.c), which read the query string of anyone holding a viewer
 * token: the cursor ("namespace/name", the "next" of a previous page) and
 * the LIKE pattern of a name prefix. Fuzzed by tests/fuzz/fuzz_page.c. */
#ifndef HG_MASTER_JOB_PAGE_H
#define HG_MASTER_JOB_PAGE_H

#include <stdbool.h>
#include <stddef.h>

#define HG_JOB_PAGE_NS_MAX   64  /* jobs.namespace */
#define HG_JOB_PAGE_NAME_MAX 190 /* jobs.name */

/* 1-max of [A-Za-z0-9._-], starting with a letter or digit: the charset of
 * job names and namespaces. */
bool hg_job_page_ident(const char *s, size_t max);

/* Split a cursor "namespace/name" into ns (>= HG_JOB_PAGE_NS_MAX + 1
 * bytes) and name (>= HG_JOB_PAGE_NAME_MAX + 1 bytes). 0, or HG_EINVAL
 * when text is not one (both parts checked with hg_job_page_ident). */
int hg_job_page_cursor_parse(const char *text, char *ns, size_t ns_size, char *name,
                             size_t name_size);

/* The LIKE pattern matching names that start with prefix: "_", "%" and
 * "\" escaped, "%" appended. 0, or HG_EINVAL when it does not fit in size. */
int hg_job_page_like(const char *prefix, char *out, size_t size);

#endif
