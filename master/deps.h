/* deps: the dependency graph of jobs (issue 11). A job may name parents
 * in depends_on ([{job, on: success|failure|always}], same namespace) and
 * a trigger_rule (all|any); the dependency engine (depfire.h) fires it
 * from its parents' committed runs. This module validates those fields,
 * keeps the job_deps edge table (schema/009_deps.sql) in step with the
 * jobs, refuses cycles naming their path, refuses to delete a job with
 * dependents unless asked to cascade, and answers the tree of a job.
 *
 * The edges are stored with the child, so editing a parent never touches
 * its dependents. The SQL functions run on the caller's connection and
 * inside the caller's transaction. */
#ifndef HG_MASTER_DEPS_H
#define HG_MASTER_DEPS_H

#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_DEPS_PARENTS_MAX 32    /* parents one job may name */
#define HG_DEPS_WALK_MAX    10000 /* jobs a cycle check or a tree visits at most */
#define HG_DEPS_RESULT_MAX  4096  /* bytes of a parent's result passed to a child */

/* True when body names at least one parent (depends_on a non-empty
 * array): such a job may omit its schedule, which is then "@never". */
bool hg_deps_listed(json_t *body);

/* Check depends_on and trigger_rule of an API body and set their
 * normalized form on out (depends_on: [{job, on}] with on defaulting to
 * "success", trigger_rule defaulting to "all"). name is the job's own
 * name. 0, or HG_EINVAL with the dotted field and "field: reason" in
 * field/message. Only the shape is checked here; hg_deps_db_check checks
 * the graph. */
int hg_deps_validate(json_t *body, const char *name, json_t *out, char *field, size_t field_size,
                     char *message, size_t message_size);

/* Check http.parent_results of an HTTP task (http, the body's object)
 * and set it on out (the normalized task) when given: null, {"header":
 * NAME} (an HTTP token, not a framing header) or {"body_field": NAME}
 * (1-128 bytes; the task's body must then be null or a JSON object, and
 * it has no form). Same returns as hg_deps_validate. */
int hg_deps_validate_http(json_t *http, json_t *out, char *field, size_t field_size, char *message,
                          size_t message_size);

/* The reserved TRIGGER parameters that carry parents' results into an
 * HTTP request (worker/dep_inject.h applies them): a header line to add,
 * and a replacement body. */
#define HG_DEPS_PARAM_HEADER "hourglass.header"
#define HG_DEPS_PARAM_BODY   "hourglass.body"

/* Add to params (the parent.<job>.result of a fire) what an HTTP child
 * with http.parent_results asks for: the results as one JSON object in a
 * header (HG_DEPS_PARAM_HEADER) or as a member of its JSON body
 * (HG_DEPS_PARAM_BODY). http is the child's stored http object; nothing
 * when it asks for neither. */
void hg_deps_http_params(json_t *http, json_t *params);

/* Copy depends_on / trigger_rule between a job object and the spec
 * stored in jobs.spec (job_db.c): only when the job has parents, so that
 * other jobs' specs stay as they were; hg_deps_from_spec always sets both
 * ([] and "all" when the spec has none). */
void hg_deps_to_spec(json_t *job, json_t *spec);
void hg_deps_from_spec(json_t *spec, json_t *job);

/* The graph checks of jobs (array of normalized jobs about to be written,
 * a job may depend on another anywhere in the array): every parent
 * exists in the namespace, and no job would depend on itself through any
 * path. The definitions in jobs replace the stored edges of the same jobs
 * (so an update is checked as it will be). 0, or HG_EINVAL with field
 * (prefixed "jobs[i]." when prefix is true) and message, e.g.
 * "depends_on: would make a cycle: a -> b -> c -> a", or HG_EDB. */
int hg_deps_db_check(MYSQL *db, json_t *jobs, bool prefix, char *field, size_t field_size,
                     char *message, size_t message_size);

/* Replace the stored edges of job (normalized, with namespace and name)
 * by its depends_on. 0 or HG_EDB with err. */
int hg_deps_db_put(MYSQL *db, json_t *job, char *err, size_t err_size);

/* The jobs that depend on ns/name, directly or through others, nearest
 * first, as a new array of names in *out (empty when none). 0 or HG_EDB. */
int hg_deps_db_dependents(MYSQL *db, const char *ns, const char *name, json_t **out, char *err,
                          size_t err_size);

/* True when any job of the array has parents. */
bool hg_deps_any(json_t *jobs);

/* Store the edges of every job of the array that has parents. */
int hg_deps_db_put_all(MYSQL *db, json_t *jobs, char *err, size_t err_size);

/* Delete the jobs named in names (namespace ns) and their edges, for a
 * cascaded delete; *deleted gets the jobs as they were stored (new array,
 * to revoke them from the cluster). 0 or HG_EDB. */
int hg_deps_db_delete_jobs(MYSQL *db, const char *ns, json_t *names, json_t **deleted, char *err,
                           size_t err_size);

/* The dependency side of an update of a stored job (wired by the edit
 * lane: call it inside the update's transaction, before writing the job).
 * old_job is the job as stored, new_job the validated replacement. A
 * rename of a job others depend on is refused (HG_EEXIST, their names in
 * *dependents, new array); a new depends_on is checked like a create
 * (HG_EINVAL with field/message, e.g. a cycle with its path) and its
 * edges replace the old ones. Editing a parent without renaming it never
 * touches its dependents' edges, which are stored with them. 0, or those,
 * or HG_EDB with message. */
int hg_deps_db_on_update(MYSQL *db, json_t *old_job, json_t *new_job, json_t **dependents,
                         char *field, size_t field_size, char *message, size_t message_size);

/* Forget the edges of ns/name as a child (it is being deleted). */
int hg_deps_db_forget(MYSQL *db, const char *ns, const char *name, char *err, size_t err_size);

/* The tree of ns/name: {"job", "trigger_rule", "parents": [...],
 * "children": [...]}, each entry {"job", "on", "parents"|"children"}
 * nested to the ends of the graph (HG_DEPS_WALK_MAX entries at most). 0,
 * HG_ENOTFOUND (no such job: the caller checks that first) or HG_EDB. */
int hg_deps_db_tree(MYSQL *db, const char *ns, const char *name, json_t **out, char *err,
                    size_t err_size);

#endif
