/* job_complete: a job whose remaining_runs are used up becomes "completed"
 * in the catalogue (issue 11, docs/jobs.md "remaining_runs").
 *
 * remaining_runs is a cut-off on the schedule (job_ext.h): every holder
 * stops at it by itself, and GET already reads such a job as completed.
 * This makes the state stored: an actor on the leader (hg_job_complete_new)
 * looks every HG_JOB_COMPLETE_EVERY_MS at the active jobs with
 * remaining_runs whose end has passed, and sets status 'completed' on each
 * whose last scheduled time has its final record (ended, no further attempt
 * due), so that no run or retry of the count is cut short. A job with
 * misfire "skip" whose last time never fired (no worker then) completes
 * once its end plus its jitter plus HG_JOB_COMPLETE_GRACE_MS has passed:
 * that time is never due again. The update is guarded by the job's
 * version, so an edit made meanwhile wins. The actor then has the cluster
 * drop the job (REVOKE); since the cluster loads only active jobs, a
 * completed job is never armed again, after a master restart or a leader
 * change either. An edit that sets remaining_runs again makes it active;
 * any other edit leaves it completed (job_edit.h). */
#ifndef HG_MASTER_JOB_COMPLETE_H
#define HG_MASTER_JOB_COMPLETE_H

#include "db.h"

#include <czmq.h>
#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#define HG_JOB_COMPLETE_EVERY_MS 2000  /* between sweeps */
#define HG_JOB_COMPLETE_BATCH    200   /* jobs looked at per sweep */
#define HG_JOB_COMPLETE_GRACE_MS 30000 /* misfire skip: end + jitter + this */

/* One sweep at now_ms: the ids of the jobs it set completed go into ids
 * (at most max). Returns how many, or HG_E* with the reason in err. */
int hg_job_complete_sweep(MYSQL *db, int64_t now_ms, uint64_t *ids, size_t max, char *err,
                          size_t err_size);

/* Start the sweeping actor (on the leader only; main starts it when this
 * master leads), with its own MySQL connection made from db (which must
 * outlive the actor). NULL when it cannot start. */
zactor_t *hg_job_complete_new(const hg_db_params_t *db);

#endif
