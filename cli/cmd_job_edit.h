/* cmd_job_edit: run control in the CLI (docs/jobs.md): `hourglass job
 * edit|apply|backfill|pause`, `hourglass run get`, `hourglass runs
 * --follow`, and the run-control lines of `job get`. */
#ifndef HG_CLI_CMD_JOB_EDIT_H
#define HG_CLI_CMD_JOB_EDIT_H

#include "cli.h"

extern const hg_command_t hg_cmd_job_edit, hg_cmd_job_apply, hg_cmd_job_backfill, hg_cmd_run_get;

/* The PATCH body of `job edit` from its flags (pure: no network): only
 * the members the flags set. 0 and *out (caller json_decref's), or
 * HG_EINVAL with a message naming the flag in err. */
int hg_job_edit_patch_build(const hg_args_t *args, json_t **out, char *err, size_t err_size);

/* The lines `job get` adds for run control: pause note, jitter, runs
 * left, next fires, last run. */
void hg_cli_job_print_control(hg_cli_t *cli, const json_t *job);

/* `hourglass runs --follow`: poll GET /api/v1/runs with query (its limit
 * and before are replaced) every second and print each run once it has
 * ended, oldest first, until SIGINT. Returns the exit code. */
int hg_cli_runs_follow(hg_cli_t *cli, const hg_query_t *query, size_t query_n);

#endif
